"""Training checkpoints as an axis: the training step a model's revision, hub id or folder names.

``training_step`` reads it from the names checkpoints are published under: Pythia's and OLMo's revisions
(``step143000``, ``step1000-tokens4B``), MultiBERTs' repositories (``google/multiberts-seed_0-step_20k``),
a Trainer's folders (``checkpoint-500``), ``global_step1200``, ``ckpt_3000``, ``iter_800``; ``k``/``M``
suffixes multiply by 1,000 / 1,000,000. A run of such a model is tagged ``model.step`` (``step_tags``),
and the report draws its metrics against training step when the runs of a model span several steps.
"""

from __future__ import annotations

import re
from pathlib import Path

from geomexp import tag_names

_PATTERNS = (
    re.compile(r"(?:^|[^a-z0-9])(?:global[_-]?)?step[_-]?(\d+)([km]?)(?![a-z0-9])", re.I),
    re.compile(r"(?:^|[^a-z0-9])checkpoint[_-]?(\d+)([km]?)(?![a-z0-9])", re.I),
    re.compile(r"(?:^|[^a-z0-9])ckpt[_-]?(\d+)([km]?)(?![a-z0-9])", re.I),
    re.compile(r"(?:^|[^a-z0-9])iter(?:ation)?[_-]?(\d+)([km]?)(?![a-z0-9])", re.I),
)
_SCALE = {"": 1, "k": 1_000, "m": 1_000_000}


def parse_step(name: str | None) -> int | None:
    """The training step in ``name`` (a revision, hub id or folder name), None if it names none."""
    if not name:
        return None
    for pattern in _PATTERNS:
        match = pattern.search(str(name))
        if match:
            return int(match.group(1)) * _SCALE[match.group(2).lower()]
    return None


def training_step(encoder) -> int | None:
    """The step of a model (``EncoderSpec``): from its revision, else its hub id, else its folder's name."""
    path_name = Path(str(encoder.path)).expanduser().name if encoder.path else None
    for name in (encoder.revision if encoder.revision != "main" else None, encoder.hf_id, path_name):
        step = parse_step(name)
        if step is not None:
            return step
    return None


def step_tags(encoder) -> dict[str, str]:
    """``{"model.step": "<step>"}`` for a model whose name gives its training step; else empty."""
    step = training_step(encoder)
    return {} if step is None else {tag_names.MODEL_STEP: str(step)}
