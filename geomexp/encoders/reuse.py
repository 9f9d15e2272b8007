"""The last encoder this process loaded, kept for the next job that asks for the same model.

A sweep's jobs that run in one process (Hydra's basic launcher: every job; the joblib launcher:
the jobs one worker runs) load a model once instead of once per job. At most one encoder is
kept: asking for another model drops it before the new one loads, so memory never holds two.
``GEOMEXP_REUSE_MODEL=0`` turns it off (every job loads its model; nothing is kept between jobs).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from geomexp.encoders.base import EncoderInfo, EncoderSpec

log = logging.getLogger(__name__)

_kept: dict[str, object] = {}
_used_this_job: set[str] = set()  # keys this job already loaded or was told it reuses (one line a job)
#: encoders loaded from disk by this process (what reuse saves shows here)
loads = 0


def _files_state(path: str | None) -> list:
    """Names, sizes and modification times of a model folder's files: a folder rewritten in place is a new model."""
    if not path or not Path(path).is_dir():
        return []
    return sorted((p.as_posix(), p.stat().st_size, p.stat().st_mtime_ns) for p in Path(path).rglob("*") if p.is_file())


def reuse_key(spec: EncoderSpec, info: EncoderInfo) -> str:
    """What must be equal for a loaded encoder to serve again: the spec, the model's identity, its files on disk."""
    return json.dumps([repr(spec), info.identity, _files_state(spec.path)], sort_keys=True, default=str)


def shared_encoder(spec: EncoderSpec, info: EncoderInfo):
    """``load_encoder(spec, info)``, or the encoder this process loaded last if it is the same model."""
    global loads
    from geomexp.encoders.loading import load_encoder

    if os.environ.get("GEOMEXP_REUSE_MODEL", "1") == "0":
        _kept.clear()
        loads += 1
        return load_encoder(spec, info)
    key = reuse_key(spec, info)
    if key in _kept:
        if key not in _used_this_job:  # not once per seed, nor when this very job loaded it
            log.info("model %s: reusing the copy this process loaded for an earlier job", spec.name)
            _used_this_job.add(key)
        return _kept[key]
    _kept.clear()  # drop the previous model before the next one loads
    encoder = load_encoder(spec, info)
    loads += 1
    _kept[key] = encoder
    _used_this_job.add(key)
    return encoder


def new_job() -> None:
    """A new job (run) starts in this process: its first use of a kept encoder is announced again."""
    _used_this_job.clear()


def forget() -> None:
    """Drop the kept encoder (frees its memory once nothing else holds it)."""
    _kept.clear()
