"""Rank and linear correlation, as STS evaluations report them (× 100)."""

from __future__ import annotations

import numpy as np

from geomexp.validation import InvalidEmbeddingsError, exactly_rescaled


def _paired(pred, gold) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred, dtype=np.float64).ravel()
    g = np.asarray(gold, dtype=np.float64).ravel()
    if p.shape != g.shape:
        raise InvalidEmbeddingsError(f"predictions and gold differ in length: {p.size} vs {g.size}")
    if p.size < 3:
        raise InvalidEmbeddingsError(f"a correlation needs at least 3 pairs; got {p.size}")
    if not (np.isfinite(p).all() and np.isfinite(g).all()):
        raise InvalidEmbeddingsError("predictions or gold scores hold NaN or inf")
    return p, g


def pearson(pred, gold) -> float:
    """Pearson correlation of two (n,) arrays; NaN if either is constant (the correlation is undefined).

    Each array is exactly rescaled (a power of two) before and after centring: the correlation does
    not depend on either scale, and products of 1e200 overflow and of 1e-200 underflow."""
    p, g = (exactly_rescaled(v) for v in _paired(pred, gold))
    p, g = exactly_rescaled(p - p.mean()), exactly_rescaled(g - g.mean())
    denom = np.sqrt((p @ p) * (g @ g))
    return float(p @ g / denom) if denom > 0 else float("nan")


def spearman(pred, gold) -> float:
    """Spearman rank correlation of two (n,) arrays: Pearson of their ranks (ties get mean ranks)."""
    p, g = _paired(pred, gold)
    from scipy.stats import rankdata  # scipy.stats takes ~0.5 s to import: only when used

    return pearson(rankdata(p), rankdata(g))
