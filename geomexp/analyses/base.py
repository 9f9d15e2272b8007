"""The value an analysis returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class AnalysisResult:
    """What one analysis computed on one layer's representations.

    metrics: scalar results, e.g. ``{"i_cos": 0.41}``; logged per layer.
    figures: matplotlib figures by file name, e.g. ``{"pca_2d.png": fig}``.
    tables: JSON-serialisable tables by file name, e.g. ``{"top_dims.json": {...}}``.
    tags: run tags, e.g. ``{"freq_source": "corpus"}``.
    """

    metrics: dict[str, float] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
