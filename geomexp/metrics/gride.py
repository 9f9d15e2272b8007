"""GRIDE, the generalized-ratios intrinsic dimension (Denti, Doimo, Laio & Mira 2022, Scientific Reports).

For each point, ``mu_i = r_{i,n2} / r_{i,n1}`` (the distance to its ``n2``-th nearest neighbour over that to
its ``n1``-th, ``n1 < n2``). In a locally uniform ``d``-dimensional neighbourhood ``mu`` has the density

    f(mu) = d (mu^d - 1)^(n2 - n1 - 1) / (B(n2 - n1, n1) mu^((n2 - 1) d + 1)),   mu > 1,

and GRIDE is the ``d`` that maximises the likelihood of the ``mu_i``. ``n1 = 1, n2 = 2`` is TwoNN's ratio
(the estimate is then ``N / sum(log mu_i)``); larger ``n1`` probe the dimension at the scale of farther
neighbours, less sensitive to noise at the smallest distances. ``gride_scaling`` gives the estimate at
``n1 = 1, 2, 4, ...`` with ``n2 = 2 n1`` (DADApy's ``return_id_scaling_gride``), the dimension "across
scales". Results in dimensions (float64); the standard error is the asymptotic one (inverse Fisher
information of the ``mu_i`` taken as independent, which neighbouring points are not: read it as a lower
bound on the uncertainty).

Distances come from ``knn_distances`` (FAISS exact search, float64 distances); rows must be distinct
(``unique_rows``).
"""

from __future__ import annotations

import numpy as np

from geomexp.metrics.intrinsic import knn_distances, neighbour_distances
from geomexp.validation import InvalidEmbeddingsError, check_int


def _ratios(X, n1: int, n2: int, distances) -> np.ndarray:
    """(N,) ``log(r_n2 / r_n1)`` of the rows of ``X`` (or of the given (N, >= n2) ascending distances)."""
    r = neighbour_distances(X, n2, distances)
    return np.log(r[:, n2 - 1] / r[:, n1 - 1])


def _score(d: float, log_mu: np.ndarray, n1: int, n2: int) -> float:
    """d/dd of the log-likelihood: N/d + (n2-n1-1) sum(log mu / (1 - mu^-d)) - (n2-1) sum(log mu); decreasing in d.
    A ratio of exactly 1 (tied distances) contributes its limit 1/d to the middle sum."""
    tied = log_mu == 0
    with np.errstate(divide="ignore", invalid="ignore"):
        middle = np.where(tied, 1.0 / d, log_mu / -np.expm1(-d * log_mu))
    return log_mu.size / d + (n2 - n1 - 1) * middle.sum() - (n2 - 1) * log_mu.sum()


def _information(d: float, log_mu: np.ndarray, n1: int, n2: int) -> float:
    """Minus the second derivative of the log-likelihood at ``d`` (the observed Fisher information)."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        x = d * log_mu
        # (log mu)^2 mu^-d / (1 - mu^-d)^2 = (log mu)^2 / (4 sinh^2(x/2)); its limit at mu = 1 is 1/d^2
        middle = np.where(log_mu == 0, 1.0 / d**2, (log_mu / (2.0 * np.sinh(x / 2.0))) ** 2)
    return log_mu.size / d**2 + (n2 - n1 - 1) * middle.sum()


def _check_scales(n1, n2) -> tuple[int, int]:
    n1 = check_int(n1, "n1", minimum=1, error=InvalidEmbeddingsError)
    n2 = 2 * n1 if n2 is None else check_int(n2, "n2", minimum=n1 + 1, error=InvalidEmbeddingsError)
    return n1, n2


def gride_fit(X=None, *, n1: int = 1, n2: int | None = None, distances=None) -> tuple[float, float]:
    """``(dimension, standard error)`` of GRIDE at the neighbour orders ``n1 < n2`` (``n2`` default ``2 n1``) for
    the rows of ``X`` (N, D), or from ``distances`` ((N, >= n2) ascending, ``knn_distances``)."""
    from scipy.optimize import brentq

    n1, n2 = _check_scales(n1, n2)
    if distances is None:
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[0] <= n2:
            raise InvalidEmbeddingsError(f"GRIDE at n2={n2} needs more than {n2} rows; got {getattr(X, 'shape', X)}")
    log_mu = _ratios(X, n1, n2, distances)
    if not (log_mu > 0).any():
        raise InvalidEmbeddingsError(
            f"every r_{n2} equals r_{n1}: the neighbourhoods are degenerate and have no dimension"
        )
    if n2 == n1 + 1:  # a Pareto likelihood: closed form
        d = log_mu.size / (n1 * log_mu.sum())
    else:
        lo, hi = 1e-12, 1.0
        while _score(hi, log_mu, n1, n2) > 0:
            hi *= 2.0
            if hi > 1e12:
                raise InvalidEmbeddingsError("GRIDE's likelihood has no maximum below 1e12 dimensions")
        d = brentq(_score, lo, hi, args=(log_mu, n1, n2), xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=500)
    return float(d), float(1.0 / np.sqrt(_information(d, log_mu, n1, n2)))


def gride(X=None, *, n1: int = 1, n2: int | None = None, distances=None) -> float:
    """GRIDE intrinsic dimension of the rows of ``X`` (N, D) at neighbour orders ``n1 < n2`` (default ``2 n1``);
    ``distances``: precomputed (N, >= n2) ascending nearest-neighbour distances. See ``gride_fit``."""
    return gride_fit(X, n1=n1, n2=n2, distances=distances)[0]


def gride_scaling(X=None, *, max_n2: int = 64, distances=None) -> dict[str, np.ndarray]:
    """GRIDE across scales: ``n1 = 1, 2, 4, ...`` with ``n2 = 2 n1 <= max_n2``. Returns arrays (S,):
    ``n1``, ``n2``, ``dimension``, ``se`` and ``scale`` (the mean distance to the ``n2``-th neighbour, in the
    units of ``X``: the neighbourhood size each estimate describes)."""
    max_n2 = check_int(max_n2, "max_n2", minimum=2, error=InvalidEmbeddingsError)
    r = knn_distances(X, max_n2) if distances is None else np.asarray(distances, dtype=np.float64)
    n1s = [2**i for i in range(max_n2.bit_length()) if 2 ** (i + 1) <= min(max_n2, r.shape[1])]
    fits = [gride_fit(n1=n1, distances=r) for n1 in n1s]
    return {
        "n1": np.array(n1s),
        "n2": 2 * np.array(n1s),
        "dimension": np.array([f[0] for f in fits]),
        "se": np.array([f[1] for f in fits]),
        "scale": np.array([r[:, 2 * n1 - 1].mean() for n1 in n1s]),
    }
