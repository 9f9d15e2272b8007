"""Per-dimension share of the cosine similarity of a set of token representations ``X`` (N, d).

- ``cosine_contributions``: Timkey & van Schijndel (2021)'s cosine contribution of
  every dimension, ``CC_i(x, y) = x_i y_i / (||x|| ||y||)``, averaged over pairs of
  distinct rows. Over the same pairs the d contributions sum to the mean cosine
  (``i_cos`` sampled, ``i_cos_exact`` exact), so a "rogue" dimension shows up as
  one entry that carries most of that sum.
- ``top_dimensions``: the k largest contributions with their indices and shares.
"""

from __future__ import annotations

import numpy as np

from geomexp.metrics.isotropy import sample_pairs, unit_rows
from geomexp.validation import InvalidEmbeddingsError, as_embeddings, check_positive_int

# Pairs handled at once in the sampled mode: bounds memory at CHUNK x d floats.
_CHUNK = 8192


def _sampled_contributions(U: np.ndarray, n_pairs: int, seed: int | None) -> np.ndarray:
    """Mean of ``U[i] * U[j]`` (d,) over ``sample_pairs(N, n_pairs, seed)``, in chunks."""
    i, j = sample_pairs(U.shape[0], n_pairs, seed)
    total = np.zeros(U.shape[1])
    for start in range(0, n_pairs, _CHUNK):
        stop = start + _CHUNK
        total += (U[i[start:stop]] * U[j[start:stop]]).sum(axis=0)
    return total / n_pairs


def _exact_contributions(U: np.ndarray) -> np.ndarray:
    """Mean of ``U[k] * U[l]`` (d,) over all N (N - 1) ordered pairs k != l, in O(N d)."""
    n = U.shape[0]
    s = U.sum(axis=0)
    sq = np.einsum("nd,nd->d", U, U)
    return (s * s - sq) / (n * (n - 1))


def cosine_contributions(X, n_pairs: int = 1000, seed: int | None = 0, exact: bool = False) -> np.ndarray:
    """Mean cosine contribution of every dimension of ``X`` (N, d); returns a float64 (d,) array.

    ``CC_i(x, y) = x_i y_i / (||x|| ||y||)``, so ``sum_i CC_i(x, y) = cos(x, y)``.

    exact=False (default): averaged over ``n_pairs`` random pairs i != j drawn with
        ``sample_pairs(N, n_pairs, seed)``, the same pairs as ``i_cos(X, n_pairs, seed)``;
        hence ``cosine_contributions(X, n_pairs, seed).sum() == i_cos(X, n_pairs, seed)``
        up to rounding.
    exact=True: averaged over all N (N - 1) ordered pairs i != j in closed form: with
        unit rows u_k, ``CC_i = ((sum_k u_k)_i^2 - sum_k u_{k,i}^2) / (N (N - 1))``; O(N d),
        no N x N matrix; ``n_pairs`` and ``seed`` are ignored. The sum is ``i_cos_exact(X)``.

    Rows must be non-zero (a cosine with a zero vector is undefined).
    """
    n_pairs = check_positive_int(n_pairs, "n_pairs")
    U = unit_rows(as_embeddings(X, nonzero_rows=True))
    if exact:
        return _exact_contributions(U)
    return _sampled_contributions(U, n_pairs, seed)


def top_dimensions(contrib, k: int = 3) -> list[tuple[int, float, float]]:
    """The ``k`` dimensions with the largest contribution in ``contrib`` (d,), largest first.

    Returns a list of ``(index, value, share)`` tuples (Python int, float, float) with
    ``share = value / sum(contrib)``: the fraction of the mean cosine the dimension
    carries (the shares of all d dimensions sum to 1). Ties keep the lower index first.

    Sign caveat: contributions can be negative and their sum (the mean cosine) can be
    close to 0, e.g. for a nearly isotropic space. Then shares are large, can exceed 1
    or be negative, and mean little; read the values instead. If the sum is exactly 0
    every share is ``nan``.
    """
    c = np.asarray(contrib)
    if c.ndim != 1 or c.size == 0:
        raise InvalidEmbeddingsError(f"contrib must be a non-empty 1-D array of shape (d,); got shape {c.shape}")
    if not (np.issubdtype(c.dtype, np.floating) or np.issubdtype(c.dtype, np.integer)):
        raise InvalidEmbeddingsError(f"contrib must hold real numbers; got dtype {c.dtype}")
    c = c.astype(np.float64)
    if not np.isfinite(c).all():
        first = np.flatnonzero(~np.isfinite(c))[0]
        raise InvalidEmbeddingsError(f"contrib has NaN or inf values (first at index {first})")
    k = check_positive_int(k, "k")
    if k > c.size:
        raise InvalidEmbeddingsError(
            f"k={k} is larger than the number of dimensions d={c.size}; use 1 <= k <= {c.size}"
        )
    total = float(c.sum())
    order = np.argsort(-c, kind="stable")[:k]
    return [(int(i), float(c[i]), float(c[i] / total) if total != 0 else float("nan")) for i in order]
