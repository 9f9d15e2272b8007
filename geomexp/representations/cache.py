"""On-disk cache of token representations, keyed by content.

The key covers what determines the representations: model identity, corpus
checksum, sampling settings, seed, special-token mode and ``CACHE_VERSION``,
but NOT the layer or the analysis, so a layer or analysis sweep encodes once. An entry of some
layers only (``layer.extract=selected``) has them in its description (``layers``); an entry of
every layer (no ``layers`` in its key) also serves such a request.
Each entry is a folder written under a temporary name and renamed into place
(atomic), with every file's size and SHA-256 in ``info.json``; a reader checks
them (a damaged entry is discarded and recomputed) and memory-maps
``hidden.npy``. ``entry_lock`` makes concurrent workers compute a key once.

Self-healing: an entry that cannot be one (a folder without ``info.json``, a plain file at
its path) is moved aside and recomputed; temporary folders left by a killed writer
(``.<key>.<random>``) are removed once older than ``STALE_TEMP_SECONDS``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from geomexp.data.download import file_digest
from geomexp.errors import GeomexpError
from geomexp.representations.extraction import TokenSample

#: bump when extraction changes what it returns for the same inputs
CACHE_VERSION = 4
#: a writer's temporary folder older than this is a dead writer's leftover (writing takes seconds)
STALE_TEMP_SECONDS = 3600
_META_FIELDS = ("token_ids", "sentence_ids", "positions", "word_ids", "char_spans")


def cache_key(description: dict) -> str:
    """SHA-256 hex of a JSON-serialisable description (sorted keys) plus ``CACHE_VERSION``."""
    payload = json.dumps({"cache_version": CACHE_VERSION, **description}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def entry_dir(cache_dir: str | Path, key: str) -> Path:
    """Folder of the cache entry ``key``."""
    return Path(cache_dir) / "reps" / key[:2] / key


class CorruptCacheEntry(GeomexpError):
    """A cache entry whose files do not match what was written (truncated, altered)."""


def verify_entry(folder: Path) -> dict:
    """The entry's ``info.json`` after checking every file's size and SHA-256 against it."""
    try:
        info = json.loads((folder / "info.json").read_text())
        files = info["files"]
    except (OSError, ValueError, KeyError) as err:
        raise CorruptCacheEntry(f"cache entry {folder}: unreadable info.json ({err})") from err
    for name, expected in files.items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != expected["size"]:
            got = path.stat().st_size if path.is_file() else "missing"
            raise CorruptCacheEntry(
                f"cache entry {folder}: {name} has size {got}, expected {expected['size']} (truncated?)"
            )
        if file_digest(path) != expected["sha256"]:
            raise CorruptCacheEntry(f"cache entry {folder}: {name} does not match its checksum (corrupted)")
    return info


def discard_entry(folder: Path) -> None:
    """Remove a cache entry: renamed away first (readers never see half of it), then deleted."""
    trash = folder.with_name(f".{folder.name}.discarded-{os.getpid()}")
    try:
        os.rename(folder, trash)
    except OSError:
        return
    if trash.is_dir() and not trash.is_symlink():
        shutil.rmtree(trash, ignore_errors=True)
    else:
        trash.unlink(missing_ok=True)


def remove_stale_temps(parent: Path, max_age: float = STALE_TEMP_SECONDS) -> list[Path]:
    """Remove writers' leftovers in ``parent`` (``.<key>.<random>`` folders) older than ``max_age`` seconds."""
    import time

    removed = []
    try:
        candidates = [p for p in parent.iterdir() if p.name.startswith(".") and not p.name.endswith(".lock")]
    except OSError:
        return removed
    now = time.time()
    for path in candidates:
        try:
            if not path.is_dir() or now - path.stat().st_mtime < max_age:
                continue
        except OSError:
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _heal(folder: Path) -> bool:
    """Move aside whatever sits at an entry's path without being an entry (no ``info.json``, a file).

    Safe while other writers run: complete entries appear by rename with their ``info.json``
    inside, so a folder without one is never work in progress. Returns whether it healed.
    """
    import warnings

    if not os.path.lexists(folder) or (folder / "info.json").is_file():
        return False
    what = "a folder without info.json" if folder.is_dir() else "not a folder"
    warnings.warn(f"cache entry {folder} is {what}; moving it aside and recomputing it", stacklevel=3)
    discard_entry(folder)
    return True


def load_sample(cache_dir: str | Path, key: str, *, verify: bool = True) -> TokenSample | None:
    """The cached sample for ``key`` (hidden states memory-mapped), or None if absent.

    With ``verify`` every file is checked against the sizes and SHA-256 sums
    recorded when it was written; a damaged entry is reported (warning),
    removed, and None is returned so that the caller recomputes it.
    """
    import warnings

    folder = entry_dir(cache_dir, key)
    if not (folder / "info.json").is_file():
        _heal(folder)
        return None
    try:
        if verify:
            verify_entry(folder)
        hidden = np.load(folder / "hidden.npy", mmap_mode="r")
        with np.load(folder / "meta.npz") as meta:
            fields = {name: meta[name] for name in _META_FIELDS}
            if "layers" in meta:  # an entry of some layers only (layer.extract=selected)
                fields["layers"] = tuple(int(i) for i in meta["layers"])
            if "truncation" in meta:  # entries written before it was recorded lack it
                fields["truncation"] = np.asarray(meta["truncation"], dtype=np.int64)
    except (CorruptCacheEntry, OSError, ValueError, KeyError) as err:
        warnings.warn(f"discarding damaged cache entry and recomputing it: {err}", stacklevel=2)
        discard_entry(folder)
        return None
    return TokenSample(hidden=hidden, **fields)


def check_writable(cache_dir: str | Path) -> None:
    """A one-line ``GeomexpError`` naming the folder and the fix if the cache cannot be written there
    (read-only, a file in the way), so that a run fails at once, before any model loads."""
    folder = Path(cache_dir) / "reps"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-"):
            pass
    except OSError as err:
        raise GeomexpError(
            f"cannot write the cache folder {folder} ({err.strerror or err}); make it writable or choose "
            "another: paths.cache_dir=/path or GEOMEXP_CACHE_DIR=/path"
        ) from None


def entry_lock(cache_dir: str | Path, key: str, timeout: float = 6 * 3600):
    """An exclusive lock for computing entry ``key`` (so two workers compute it once).

    It is an OS file lock (``flock``): the kernel releases it when its holder
    dies, so a killed worker leaves no stale lock behind.
    """
    from filelock import FileLock

    folder = entry_dir(cache_dir, key)
    folder.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(folder.parent / f".{key}.lock"), timeout=timeout)


def save_sample(cache_dir: str | Path, key: str, sample: TokenSample, description: dict) -> Path:
    """Write ``sample`` under ``key`` atomically (temp folder, then rename), with file sizes and checksums.

    If another writer got there first, theirs is kept. An unwritable or full disk
    raises ``GeomexpError`` and leaves nothing behind.
    """
    folder = entry_dir(cache_dir, key)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(folder.parent)
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=folder.parent))
    except OSError as err:
        raise GeomexpError(
            f"cannot write the cache under {folder.parent}: {err} (set paths.cache_dir or GEOMEXP_CACHE_DIR)"
        ) from err
    try:
        np.save(tmp / "hidden.npy", np.ascontiguousarray(sample.hidden, dtype=np.float32))
        meta = {name: getattr(sample, name) for name in _META_FIELDS}
        if sample.layers is not None:
            meta["layers"] = np.asarray(sample.layers, dtype=np.int64)
        if sample.truncation is not None:
            meta["truncation"] = np.asarray(sample.truncation, dtype=np.int64)
        np.savez(tmp / "meta.npz", **meta)
        files = {
            n: {"size": (tmp / n).stat().st_size, "sha256": file_digest(tmp / n)} for n in ("hidden.npy", "meta.npz")
        }
        info = {"key": key, "cache_version": CACHE_VERSION, "files": files, **description}
        (tmp / "info.json").write_text(json.dumps(info, indent=2, default=str))
        _heal(folder)
        try:
            os.rename(tmp, folder)
        except OSError:
            if not (folder / "info.json").is_file():
                raise
    except OSError as err:
        raise GeomexpError(
            f"cannot write the cache entry {folder}: {err} (set paths.cache_dir or GEOMEXP_CACHE_DIR)"
        ) from err
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder
