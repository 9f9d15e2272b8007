"""Cross-lingual alignment by retrieval: ``A`` (n, d) and ``B`` (n, d) hold the vectors of n parallel items,
row i of each the same item (a sentence and its translation).

- ``retrieval_accuracy``: the share of rows i whose own partner is the strictly most cosine-similar row
  of the other side (a tie counts as a miss), A -> B and B -> A. 1 for identical sides; 1/n expected
  by chance (``retrieval_chance``).
- ``retrieval_margin``: the mean over rows of cos(a_i, b_i) - max_{j != i} cos(a_i, b_j), both directions
  averaged: > 0 where the partner stands out, in [-2, 2].

Dimensionless, float64; the n x n cosine matrix is held (n is a few hundred sentence pairs).
"""

from __future__ import annotations

import numpy as np

from geomexp.metrics.neighbours import unit_rows
from geomexp.validation import InvalidEmbeddingsError, as_embeddings


def _cosines(A, B) -> np.ndarray:
    a, b = as_embeddings(A, name="A", nonzero_rows=True), as_embeddings(B, name="B", nonzero_rows=True)
    if a.shape != b.shape:
        raise InvalidEmbeddingsError(f"A and B must hold the same parallel items: shapes {a.shape} and {b.shape}")
    return unit_rows(a, "A") @ unit_rows(b, "B").T


def _best_other(S: np.ndarray) -> np.ndarray:
    """Each row's largest entry off the diagonal, (n,)."""
    off = S.copy()
    np.fill_diagonal(off, -np.inf)
    return off.max(axis=1)


def retrieval_accuracy(A, B) -> tuple[float, float]:
    """``(A -> B, B -> A)`` top-1 retrieval accuracy of the partners (cosine; ties are misses)."""
    S = _cosines(A, B)
    own = np.diag(S)
    return float(np.mean(own > _best_other(S))), float(np.mean(own > _best_other(S.T)))


def retrieval_margin(A, B) -> float:
    """Mean of cos(partner) - cos(best other) over the rows of both directions."""
    S = _cosines(A, B)
    own = np.diag(S)
    return float(np.mean(np.concatenate([own - _best_other(S), own - _best_other(S.T)])))


def retrieval_chance(n: int) -> float:
    """The expected top-1 accuracy of unrelated sides of ``n`` items: ``1 / n``."""
    return 1.0 / n
