"""Download a file with a progress bar and an MD5 check; nothing is left behind on failure."""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from geomexp.errors import DataNotFoundError


def file_digest(path: Path, algorithm: str = "sha256", chunk: int = 1 << 22) -> str:
    """Hex digest (``hashlib`` algorithm name) of a file's bytes, read in chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def md5_of(path: Path) -> str:
    """Hex MD5 of a file's bytes (the checksums the data's README publishes)."""
    return file_digest(path, "md5")


def download_file(url: str, dest: Path, *, md5: str | None = None, timeout: float = 30.0) -> Path:
    """Fetch ``url`` into ``dest`` atomically (temp file, then rename), checking ``md5`` if given.

    Raises ``DataNotFoundError`` naming the URL when the fetch fails or the
    checksum differs; no partial file is left at ``dest``.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as resp:
                    total = int(resp.headers.get("Content-Length") or 0) or None
                    with tqdm(total=total, unit="B", unit_scale=True, desc=f"download {dest.name}") as bar:
                        while block := resp.read(1 << 16):
                            out.write(block)
                            bar.update(len(block))
            except (urllib.error.URLError, OSError) as err:
                raise DataNotFoundError(f"could not download {url}: {err}") from err
        if md5 is not None:
            got = md5_of(tmp)
            if got != md5:
                raise DataNotFoundError(f"checksum mismatch for {url}: expected md5 {md5}, got {got}")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def confined(base: Path, rel: str) -> Path:
    """``base / rel``, refusing a ``rel`` that leaves ``base`` (``..``, an absolute path, a link out)."""
    from geomexp.errors import ConfigError

    path = base / rel
    if Path(rel).is_absolute() or not path.resolve().is_relative_to(base.resolve()):
        raise ConfigError(f"data file {rel!r} resolves outside its data folder {base}; give a file name inside it")
    return path


def locate_data_file(
    rel: str, *, root, download_dir, download: bool = True, md5: str | None = None, base_url: str
) -> Path:
    """Path of ``rel`` (a path inside the data folder), downloading it when needed.

    With ``root`` set (e.g. ``GEOMEXP_DATA_DIR``: the ``data/`` folder of a clone
    of the authors' repository) the file must be there. Without it the file is
    looked up in ``download_dir`` and, if ``download``, fetched from
    ``<base_url>/<rel>`` with its ``md5`` checked.
    """
    from urllib.parse import quote

    if root is not None:
        root = Path(root).expanduser()
        if not root.is_dir():
            raise DataNotFoundError(
                f"data root {root} does not exist. Set GEOMEXP_DATA_DIR (or data.root=) to the 'data' folder "
                f"of a clone of github.com/Sara-Rajaee/Multilingual-Isotropy, or unset it to download the files."
            )
        path = confined(root, rel)
        if not path.is_file():
            raise DataNotFoundError(f"{path} not found in data root {root} (expected {rel})")
        return path
    path = confined(Path(download_dir).expanduser(), rel)
    if path.is_file() and (md5 is None or md5_of(path) == md5):
        return path
    if not download:
        raise DataNotFoundError(
            f"{path} not found and data.download=false. Set GEOMEXP_DATA_DIR to a data folder "
            f"or allow the download (data.download=true)."
        )
    try:
        return download_file(f"{base_url.rstrip('/')}/{quote(rel)}", path, md5=md5)
    except DataNotFoundError as err:
        if "could not download" not in str(err):
            raise  # a checksum mismatch says what it is
        raise DataNotFoundError(
            f"{err}. Offline, point geomexp at a copy of the data: GEOMEXP_DATA_DIR=<folder> or data.root=<folder> "
            "(the 'data' folder of a clone of github.com/Sara-Rajaee/Multilingual-Isotropy; `make setup` records "
            "one found at ../shared/data/rajaee2022 in conf/local/default.yaml)"
        ) from err.__cause__
