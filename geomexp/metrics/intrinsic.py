"""Intrinsic dimension and spectrum of a set of token representations ``X`` of shape ``(N, d)``.

- ``twonn``: TwoNN (Facco et al. 2017), from the ratio ``mu = r2 / r1`` of each point's
  second to first nearest-neighbour distance (Pareto with exponent = the dimension).
- ``mle_dimension``: the maximum-likelihood estimator of Levina & Bickel (2005) from the
  ``k`` nearest neighbours, averaged over points as MacKay & Ghahramani (2005) suggest
  (``aggregate="harmonic"``, scikit-dimension's default) or as the paper did (``"mean"``).
- ``effective_rank``: Roy & Vetterli (2007), ``exp`` of the Shannon entropy of the
  normalised singular values of the centred ``X``.
- ``participation_ratio``: ``(sum lambda)^2 / sum lambda^2`` of the covariance eigenvalues.

All results are dimensionless counts of dimensions (floats), computed in float64. The
nearest neighbours come from FAISS (exact ``IndexFlatL2``, on the centred rows in float32)
and their distances are then recomputed exactly in float64 in blocks of rows: no ``N x N``
matrix is ever held.
"""

from __future__ import annotations

import numpy as np

from geomexp.linalg import principal_variances
from geomexp.validation import (
    InvalidEmbeddingsError,
    as_embeddings,
    binary_exponent,
    check_choice,
    check_float,
    check_int,
    exactly_rescaled,
)

MLE_AGGREGATES = ("harmonic", "mean")
TWONN_FITS = ("linear", "mle")

#: extra candidates FAISS returns beyond the ``k + 1`` needed; their float64 distances re-rank them,
#: so a float32 rounding near a tie cannot change which neighbours are kept
_KNN_MARGIN = 8
#: rows per block when distances to the candidates are recomputed in float64 (block x candidates x d floats)
_KNN_BLOCK = 256


def unique_rows(X) -> tuple[np.ndarray, int]:
    """``(rows of X (M, d) each kept once, number of repeated rows dropped)``, float64, first-seen order.

    Repeated rows (e.g. the same token at the same position at the embedding layer) are at
    distance 0 from each other, which makes ``r2 / r1`` and ``log(T_k / T_j)`` undefined.
    """
    X = as_embeddings(X)
    _, first = np.unique(X, axis=0, return_index=True)
    first.sort()
    return X[first], X.shape[0] - first.size


def knn_distances(X, k: int) -> np.ndarray:
    """(N, k) float64 Euclidean distances from each row of ``X`` (N, d) to its ``k`` nearest OTHER rows, ascending.

    FAISS exact search (``IndexFlatL2``) on the centred rows in float32 gives ``k + 1 + 8``
    candidates per row; their distances are recomputed in float64 (blocks of 256 rows) and
    re-sorted, and the row itself is dropped. Needs ``1 <= k <= N - 1``. The search runs on ``X``
    times the power of two that brings its largest |x| into [0.5, 1) and the distances are scaled
    back: exact, and float32's squares neither overflow (|x| ~ 1e30) nor underflow (|x| ~ 1e-30).
    """
    import faiss

    X = as_embeddings(X)
    n = X.shape[0]
    k = check_int(k, "k (neighbours)", minimum=1, maximum=n - 1, error=InvalidEmbeddingsError)
    exponent = binary_exponent(X)
    X = np.ldexp(X, -exponent)
    Xc = X - X.mean(axis=0)
    m = min(n, k + 1 + _KNN_MARGIN)
    index = faiss.IndexFlatL2(Xc.shape[1])
    index.add(np.ascontiguousarray(Xc, dtype=np.float32))
    _, cand = index.search(np.ascontiguousarray(Xc, dtype=np.float32), m)
    out = np.empty((n, k), dtype=np.float64)
    for start in range(0, n, _KNN_BLOCK):
        rows = np.arange(start, min(n, start + _KNN_BLOCK))
        idx = cand[rows]
        dist = np.sqrt(((Xc[idx] - Xc[rows, None, :]) ** 2).sum(axis=2))
        dist[idx == rows[:, None]] = np.inf  # the row itself
        dist[idx < 0] = np.inf  # FAISS pads with -1 when it finds fewer candidates
        dist.sort(axis=1)
        out[rows] = dist[:, :k]
    return np.ldexp(out, exponent)


def neighbour_distances(X, k: int, distances=None) -> np.ndarray:
    """(N, >= k) float64 ascending distances from each row of ``X`` (N, d) to its nearest OTHER rows: the given
    ``distances`` (checked), else ``knn_distances(X, k)``. ``InvalidEmbeddingsError`` for too few columns, or
    where the rows are not distinct (a nearest neighbour at distance 0: drop them with ``unique_rows``)."""
    r = knn_distances(X, k) if distances is None else np.asarray(distances, dtype=np.float64)
    if r.ndim != 2 or r.shape[1] < k:
        raise InvalidEmbeddingsError(f"distances must be (N, >= {k}) nearest-neighbour distances; got {r.shape}")
    if (r[:, 0] <= 0).any():
        raise InvalidEmbeddingsError(
            "X has repeated rows (a nearest neighbour at distance 0); drop them with unique_rows"
        )
    return r


def twonn(X, *, discard_fraction: float = 0.1, fit: str = "linear", distances: np.ndarray | None = None) -> float:
    """TwoNN intrinsic dimension of the rows of ``X`` (N, d) (Facco et al. 2017).

    ``mu_i = r2_i / r1_i``; the largest ``discard_fraction`` of the ``mu`` are discarded;
    ``fit="linear"``: slope through the origin of ``-log(1 - F(mu))`` against ``log(mu)``
    with the empirical ``F = i / N`` (the paper; scikit-dimension's ``TwoNN()``);
    ``fit="mle"``: the closed-form maximum likelihood with the discarded tail censored.
    Rows must be distinct (see ``unique_rows``). ``distances``: precomputed (N, >=2)
    ascending nearest-neighbour distances (``knn_distances``), to share one search.
    """
    check_choice(fit, "fit", TWONN_FITS, error=InvalidEmbeddingsError)
    discard = check_float(discard_fraction, "discard_fraction", minimum=0.0, error=InvalidEmbeddingsError)
    if discard >= 1:
        raise InvalidEmbeddingsError(f"discard_fraction must be in [0, 1); got {discard_fraction!r}")
    r = neighbour_distances(X, 2, distances)
    mu = np.sort(r[:, 1] / r[:, 0])
    n = mu.size
    keep = int(n * (1 - discard))
    if keep < 2:
        raise InvalidEmbeddingsError(f"TwoNN needs at least 2 points after discarding; got {keep} of {n}")
    log_mu = np.log(mu[:keep])
    if fit == "mle":
        return float((keep - 1) / (log_mu.sum() + (n - keep) * log_mu[-1]))
    y = -np.log(1.0 - np.arange(1, keep + 1) / n)
    return float((log_mu @ y) / (log_mu @ log_mu))


def mle_dimension(X, *, k: int = 20, aggregate: str = "harmonic", distances: np.ndarray | None = None) -> float:
    """Levina–Bickel maximum-likelihood intrinsic dimension of the rows of ``X`` (N, d).

    Per point ``m_i = (k - 1) / sum_{j<k} log(T_k / T_j)`` over its ``k`` nearest
    neighbours' distances ``T_1 <= ... <= T_k``; ``aggregate="harmonic"``: ``1 / mean(1 / m_i)``
    (MacKay & Ghahramani 2005; scikit-dimension's ``MLE()`` default), ``"mean"``: ``mean(m_i)``
    (Levina & Bickel 2005). Rows must be distinct (see ``unique_rows``). ``distances``:
    precomputed (N, >=k) ascending distances (``knn_distances``).
    """
    check_choice(aggregate, "aggregate", MLE_AGGREGATES, error=InvalidEmbeddingsError)
    k = check_int(k, "k", minimum=2, error=InvalidEmbeddingsError)
    T = neighbour_distances(X, k, distances)[:, :k]
    inv = np.log(T[:, -1:] / T[:, :-1]).sum(axis=1) / (k - 1)  # 1 / m_i
    if aggregate == "harmonic":
        return float(1.0 / inv.mean())
    with np.errstate(divide="ignore"):
        return float(np.mean(1.0 / inv))


def spectrum(X) -> np.ndarray:
    """(d,) eigenvalues of the sample covariance of ``X`` (N, d), largest first, clipped at 0 (variances per axis)."""
    return principal_variances(as_embeddings(X))


def _scale_free_spectrum(X) -> np.ndarray:
    """``spectrum`` of ``X`` exactly rescaled (a power of two): the same shape of spectrum, whose
    squares neither overflow (|x| ~ 1e200) nor underflow (|x| ~ 1e-200); for ratios of eigenvalues."""
    return principal_variances(exactly_rescaled(as_embeddings(X)))


def nonzero_eigenvalues(lam: np.ndarray) -> np.ndarray:
    """Eigenvalues with rounding noise set to 0: below ``max(lam) * len(lam) * eps`` (``numpy.linalg.matrix_rank``'s
    tolerance), an eigenvalue is not told apart from 0; left in, its square root (~1e-8 of the largest
    singular value) would add to the entropy of the effective rank."""
    lam = np.clip(lam, 0.0, None)
    return np.where(lam > lam.max(initial=0.0) * lam.size * np.finfo(np.float64).eps, lam, 0.0)


def _given_variances(variances) -> np.ndarray:
    """Eigenvalues passed in by the caller, (d,) float64 and finite, exactly rescaled (only ratios matter)."""
    lam = np.asarray(variances, dtype=np.float64).ravel()
    if lam.size == 0 or not np.isfinite(lam).all():
        raise InvalidEmbeddingsError("variances must be a non-empty array of finite eigenvalues")
    return exactly_rescaled(lam)


def effective_rank(X=None, *, variances: np.ndarray | None = None) -> float:
    """Effective rank (Roy & Vetterli 2007) of the centred ``X`` (N, d): ``exp(H(p))``, ``p = s / sum(s)``.

    ``s``: the singular values of the centred matrix (square roots of ``variances``, the
    covariance eigenvalues, if those are given instead of ``X``). In [1, rank]; ``k``
    equal non-zero singular values give exactly ``k``.
    """
    lam = nonzero_eigenvalues(_scale_free_spectrum(X) if variances is None else _given_variances(variances))
    s = np.sqrt(lam)
    if s.sum() <= 0:
        raise InvalidEmbeddingsError("effective rank of a matrix whose centred rows are all zero is undefined")
    p = s[s > 0] / s.sum()
    return float(np.exp(-(p * np.log(p)).sum()))


def participation_ratio(X=None, *, variances: np.ndarray | None = None) -> float:
    """Participation ratio ``(sum lambda)^2 / sum lambda^2`` of the covariance eigenvalues of ``X`` (N, d).

    In [1, rank]; ``k`` equal non-zero eigenvalues give exactly ``k``. ``variances``: the
    eigenvalues, if already computed.
    """
    lam = nonzero_eigenvalues(_scale_free_spectrum(X) if variances is None else _given_variances(variances))
    q = (lam**2).sum()
    if q <= 0:
        raise InvalidEmbeddingsError("participation ratio of a matrix whose centred rows are all zero is undefined")
    return float(lam.sum() ** 2 / q)
