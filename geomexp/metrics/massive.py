"""Massive activations (Sun et al. 2024, "Massive Activations in Large Language Models"): a few
hidden-state entries, at a few fixed dimensions and at particular tokens (the first token, delimiters
such as "." or a newline), many orders of magnitude above the typical entry.

``massive_activations(X)`` ranks the N x d entries of one layer's token matrix by magnitude and
compares them with the median magnitude; an entry is *massive* when ``|x| >= min_ratio * median|X|``
and ``|x| >= min_abs`` (Sun et al.: about 1000 times the median and above 100).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geomexp.validation import InvalidEmbeddingsError, as_embeddings, check_int, check_positive_real


@dataclass(frozen=True)
class MassiveResult:
    """What ``massive_activations`` found in X (N, d).

    median_abs: median of |x| over all N x d entries.
    top_rows, top_dims: (k,) row and dimension of the k largest-magnitude entries, largest first.
    top_values: (k,) their signed values; top_ratios: (k,) |value| / median_abs.
    massive_rows, massive_dims: (m,) row and dimension of every massive entry, largest first.
    max_abs_per_dim: (d,) the largest |x| of each dimension.
    """

    median_abs: float
    top_rows: np.ndarray
    top_dims: np.ndarray
    top_values: np.ndarray
    top_ratios: np.ndarray
    massive_rows: np.ndarray
    massive_dims: np.ndarray
    max_abs_per_dim: np.ndarray
    min_ratio: float
    min_abs: float

    @property
    def threshold(self) -> float:
        """The magnitude an entry must reach to be massive."""
        return max(self.min_ratio * self.median_abs, self.min_abs)

    @property
    def max_ratio(self) -> float:
        return float(self.top_ratios[0]) if self.top_ratios.size else 0.0


def massive_activations(X, *, top_k: int = 10, min_ratio: float = 1000.0, min_abs: float = 100.0) -> MassiveResult:
    """The ``top_k`` largest-magnitude entries of ``X`` (N, d) and the massive ones (see the module doc).

    A median magnitude of 0 (more than half the entries exactly 0) gives ratios of ``inf`` for the
    non-zero entries; an all-zero ``X`` is refused (no entry stands out, every ratio would be 0 / 0).
    """
    X = as_embeddings(X)
    if not X.any():
        raise InvalidEmbeddingsError(
            "X is all zeros: no entry stands out, so massive activations (|x| / median |x|) are undefined"
        )
    top_k = check_int(top_k, "top_k", minimum=1)
    min_ratio = check_positive_real(min_ratio, "min_ratio")
    min_abs = float(min_abs)
    A = np.abs(X)
    median = float(np.median(A))
    flat = A.ravel()
    k = min(top_k, flat.size)
    top = np.argpartition(-flat, k - 1)[:k]
    top = top[np.argsort(-flat[top], kind="stable")]
    rows, dims = np.unravel_index(top, A.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = flat[top] / median if median > 0 else np.full(k, np.inf)
    threshold = max(min_ratio * median, min_abs)
    hit = np.flatnonzero(flat >= threshold) if threshold > 0 else np.empty(0, dtype=np.int64)
    hit = hit[np.argsort(-flat[hit], kind="stable")]
    m_rows, m_dims = np.unravel_index(hit, A.shape)
    return MassiveResult(
        median_abs=median,
        top_rows=rows.astype(np.int64),
        top_dims=dims.astype(np.int64),
        top_values=X.ravel()[top],
        top_ratios=np.asarray(ratios, dtype=np.float64),
        massive_rows=m_rows.astype(np.int64),
        massive_dims=m_dims.astype(np.int64),
        max_abs_per_dim=A.max(axis=0),
        min_ratio=min_ratio,
        min_abs=min_abs,
    )


def is_delimiter(text: str) -> bool:
    """Whether a token's text is only punctuation and/or white space (".", ",", "\\n", ...), not empty."""
    import unicodedata

    stripped = text.strip()
    if not text:
        return False
    return not stripped or all(unicodedata.category(c).startswith("P") for c in stripped)
