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


def md5_of(path: Path, chunk: int = 1 << 20) -> str:
    """Hex MD5 of a file's bytes."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


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
