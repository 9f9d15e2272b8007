"""On-disk cache of token representations, keyed by content.

The key covers what determines the representations: model identity, corpus
checksum, sampling settings, seed, special-token mode and ``CACHE_VERSION``,
but NOT the layer or the analysis, so a layer or analysis sweep encodes once.
Each entry is a folder written under a temporary name and renamed into place
(atomic); readers memory-map ``hidden.npy`` and read only the layers they use.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from geomexp.errors import GeomexpError
from geomexp.extraction import TokenSample

#: bump when extraction changes what it returns for the same inputs
CACHE_VERSION = 2
_META_FIELDS = ("token_ids", "sentence_ids", "positions", "word_ids", "char_spans")


def cache_key(description: dict) -> str:
    """SHA-256 hex of a JSON-serialisable description (sorted keys) plus ``CACHE_VERSION``."""
    payload = json.dumps({"cache_version": CACHE_VERSION, **description}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def entry_dir(cache_dir: str | Path, key: str) -> Path:
    """Folder of the cache entry ``key``."""
    return Path(cache_dir) / "reps" / key[:2] / key


def load_sample(cache_dir: str | Path, key: str) -> TokenSample | None:
    """The cached sample for ``key`` (hidden states memory-mapped), or None if absent."""
    folder = entry_dir(cache_dir, key)
    if not (folder / "info.json").is_file():
        return None
    hidden = np.load(folder / "hidden.npy", mmap_mode="r")
    with np.load(folder / "meta.npz") as meta:
        fields = {name: meta[name] for name in _META_FIELDS}
    return TokenSample(hidden=hidden, **fields)


def save_sample(cache_dir: str | Path, key: str, sample: TokenSample, description: dict) -> Path:
    """Write ``sample`` under ``key`` atomically; if another writer got there first, keep theirs."""
    folder = entry_dir(cache_dir, key)
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=folder.parent))
    except OSError as err:
        raise GeomexpError(f"cannot write the cache under {folder.parent}: {err}") from err
    try:
        np.save(tmp / "hidden.npy", np.ascontiguousarray(sample.hidden, dtype=np.float32))
        np.savez(tmp / "meta.npz", **{name: getattr(sample, name) for name in _META_FIELDS})
        (tmp / "info.json").write_text(json.dumps({"key": key, "cache_version": CACHE_VERSION, **description}, indent=2, default=str))
        try:
            os.rename(tmp, folder)
        except OSError:
            if not (folder / "info.json").is_file():
                raise
    except OSError as err:
        raise GeomexpError(f"cannot write the cache entry {folder}: {err}") from err
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return folder
