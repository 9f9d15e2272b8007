"""Centred PCA with one sign convention: the one implementation the whole package uses.

Every principal direction in geomexp comes from ``principal_axes`` (or
``principal_coordinates``, the same plus the projected rows): PCA figures,
frequency axes, the bases compared across languages, the directions the
enhancers remove, the whitening axes. Every sign comes from ``fix_signs``;
``principal_variances`` gives the variances alone (IsoScore), and
``remove_directions`` takes directions out of centred rows (ABTT, cluster).

The uncentred eigenbasis of ``X^T X`` that I_PC uses
(``geomexp.metrics.isotropy.principal_directions``) is not a PCA and keeps the
solver's signs on purpose: its ``signs="single"`` variant reproduces the
paper's code, which used them.

Conventions
-----------
- Rows are observations: ``X`` is (N, d). All arithmetic is in float64.
- Centred: the column mean ``X.mean(axis=0)`` is subtracted first, unless the
  caller passes rows that are already centred (``centred=True``).
- ``components`` (n, d): orthonormal ROWS, by decreasing variance.
- ``explained_variance`` (n,): the variance of the data along each component,
  ``ddof=1`` (the eigenvalues of the sample covariance ``Xc^T Xc / (N - 1)``),
  clipped at 0 against rounding.
- Signs (``fix_signs``, as scikit-learn's ``svd_flip``): each component's
  largest-magnitude coordinate is positive (the first such coordinate on a
  tie). Reproducible whatever sign the solver returned, but a convention: the
  sign of anything measured along a component (e.g. a correlation with it)
  follows it.

Methods (``method=``), all giving the same directions up to rounding:

- ``"svd"``: thin SVD of the centred data (``numpy.linalg.svd``), the most
  accurate; needs ``n <= min(N, d)``.
- ``"eigh"``: every eigenpair of the (d, d) sample covariance
  (``numpy.linalg.eigh``), the top ``n`` kept; any ``n <= d`` (beyond the
  ``N - 1`` directions the rows span, the components carry no variance and are
  an arbitrary orthonormal completion). What whitening needs (all eigenvalues).
- ``"eigh_top"``: only the top ``n`` eigenpairs of the scatter ``Xc^T Xc``
  (LAPACK ``syevr`` through scipy, the scatter formed by scipy's BLAS
  ``dsyrk``), divided by ``N - 1``; the fastest for tall data (N >= d) and a
  small n. Forming the scatter with scipy's BLAS keeps a hot loop inside ONE
  BLAS library: alternating numpy's and scipy's OpenBLAS thread pools made it
  several times slower on 2 cores.
- ``"auto"`` (default): ``"svd"`` when N < d, else ``"eigh_top"``.
"""

from __future__ import annotations

import numpy as np

from geomexp.errors import ConfigError
from geomexp.validation import InvalidEmbeddingsError, check_choice, check_int

METHODS = ("auto", "svd", "eigh", "eigh_top")


def fix_signs(V: np.ndarray) -> np.ndarray:
    """Rows of ``V`` (n, d), each multiplied by -1 if its largest-|.| entry is negative (new array).

    The one sign convention of geomexp (scikit-learn's ``svd_flip`` on rows). A
    zero row and an empty (0, d) array are returned unchanged.
    """
    if V.shape[0] == 0:
        return V
    pivots = V[np.arange(V.shape[0]), np.abs(V).argmax(axis=1)]
    return V * np.where(pivots < 0, -1.0, 1.0)[:, None]


def principal_axes(
    X, n: int, *, method: str = "auto", centred: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The top ``n`` principal axes of the rows of ``X`` (N, d), N >= 2.

    Returns ``(components, explained_variance, mean)``: (n, d) orthonormal rows
    by decreasing variance with signs fixed by ``fix_signs``, (n,) variances
    along them (``ddof=1``), and the (d,) mean that was subtracted (zeros with
    ``centred=True``). ``n`` in ``0..d`` (``0..min(N, d)`` for ``"svd"``);
    ``n = 0`` gives (0, d) and (0,) arrays (and needs no second row). See the
    module docstring for ``method``. ``X`` is not checked for NaN/inf: validate
    it first (e.g. ``geomexp.validation.as_embeddings``).
    """
    X = np.asarray(X, dtype=np.float64)
    N, d = X.shape
    check_choice(method, "method", METHODS)
    n = check_int(n, "n", minimum=0, maximum=d)
    if centred:
        mean, Xc = np.zeros(d), X
    else:
        mean = X.mean(axis=0)
        Xc = X - mean
    if n == 0:
        return np.zeros((0, d)), np.zeros(0), mean
    if N < 2:
        raise InvalidEmbeddingsError(f"principal axes need at least 2 rows (a variance); got N={N}")
    if method == "auto":
        method = "svd" if d > N else "eigh_top"
    if method == "svd":
        if n > min(N, d):
            raise ConfigError(f"method='svd' gives at most min(N, d) = {min(N, d)} axes; got n={n} (use method='eigh')")
        _, s, vt = np.linalg.svd(Xc, full_matrices=False)
        V, variance = vt[:n], s[:n] ** 2 / (N - 1)
    elif method == "eigh":
        values, vectors = np.linalg.eigh(_covariance(Xc))
        V, variance = vectors[:, ::-1][:, :n].T, np.clip(values[::-1][:n], 0.0, None)
    else:  # eigh_top
        from scipy.linalg import blas, eigh

        scatter = blas.dsyrk(1.0, Xc.T)  # upper triangle of Xc^T Xc
        values, vectors = eigh(scatter, lower=False, subset_by_index=[d - n, d - 1], driver="evr")
        V, variance = vectors[:, ::-1].T, np.clip(values[::-1], 0.0, None) / (N - 1)
    return fix_signs(np.ascontiguousarray(V)), variance, mean


def principal_variances(X) -> np.ndarray:
    """All d variances (d,) of the rows of ``X`` (N, d), N >= 2, along their principal axes, largest first.

    The ``explained_variance`` of ``principal_axes(X, d, method="eigh")`` without
    the axes: eigenvalues of the sample covariance (``ddof=1``, LAPACK without
    eigenvectors, so cheaper), clipped at 0.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.shape[0] < 2:
        raise InvalidEmbeddingsError(f"principal variances need at least 2 rows; got N={X.shape[0]}")
    return np.clip(np.linalg.eigvalsh(_covariance(X - X.mean(axis=0)))[::-1], 0.0, None)


def _covariance(Xc: np.ndarray) -> np.ndarray:
    """The (d, d) sample covariance ``Xc^T Xc / (N - 1)`` of centred rows ``Xc`` (N, d)."""
    return (Xc.T @ Xc) / (Xc.shape[0] - 1)


def remove_directions(Xc: np.ndarray, V: np.ndarray) -> np.ndarray:
    """``Xc - (Xc V^T) V``: rows ``Xc`` (M, d) less their projection on orthonormal rows ``V`` (n, d); new array."""
    if V.shape[0] == 0:
        return Xc.copy()
    return Xc - (Xc @ V.T) @ V


def principal_coordinates(X, n: int, *, method: str = "auto") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``X`` (N, d) on its top ``n`` principal axes: ``(coords (N, n), components (n, d), explained_variance (n,))``.

    ``coords = (X - mean) @ components.T``; everything else as in ``principal_axes``.
    """
    X = np.asarray(X, dtype=np.float64)
    components, variance, mean = principal_axes(X, n, method=method)
    return (X - mean) @ components.T, components, variance
