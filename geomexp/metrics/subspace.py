"""Comparing principal subspaces, e.g. of two languages or two layers.

- ``top_principal_subspace``: orthonormal basis (d, D) of the top-D principal directions of ``X`` (N, d).
- ``principal_angles``: the D principal angles between two D-dimensional subspaces of R^d.
- ``subspace_overlap``: mean squared cosine of those angles, in [0, 1] (1 = same subspace, 0 = orthogonal).
"""

from __future__ import annotations

import numpy as np

from geomexp.linalg import principal_axes
from geomexp.validation import InvalidEmbeddingsError, as_embeddings, check_positive_int, exactly_rescaled


def top_principal_subspace(X, n_components: int) -> np.ndarray:
    """Orthonormal basis (d, D) of the top ``D = n_components`` principal directions of ``X`` (N, d).

    Centred PCA (``geomexp.linalg.principal_axes``, every eigenpair of the covariance):
    the principal directions as COLUMNS, ordered by decreasing variance, each column's
    sign fixed by ``geomexp.linalg.fix_signs`` (deterministic output). With N - 1 < D the
    trailing directions carry no variance and are arbitrary (but still orthonormal).
    """
    W = exactly_rescaled(as_embeddings(X))  # directions do not depend on scale; 1e200's squares overflow
    d = W.shape[1]
    n_components = check_positive_int(n_components, "n_components")
    if n_components > d:
        raise InvalidEmbeddingsError(f"n_components={n_components} is larger than the dimension d={d}; use 1..{d}")
    return principal_axes(W, n_components, method="eigh")[0].T


def _orthonormal_basis(A, name: str) -> np.ndarray:
    """Orthonormal basis (d, D) of the span of the columns of ``A`` (d, D); they must be independent."""
    M = exactly_rescaled(as_embeddings(A, name=name, min_rows=1))  # the span does not depend on scale
    d, D = M.shape
    if d < D:
        raise InvalidEmbeddingsError(
            f"{name} has D={D} columns but only d={d} rows; a basis of R^d has at most d vectors"
        )
    Q, R = np.linalg.qr(M)
    r = np.abs(np.diag(R))
    if r.min() <= 1e-10 * max(r.max(), np.finfo(float).tiny):
        raise InvalidEmbeddingsError(
            f"the columns of {name} are linearly dependent (or zero); they do not span a {D}-D subspace"
        )
    return Q


def _check_pair(A, B) -> tuple[np.ndarray, np.ndarray]:
    """Orthonormalised ``A`` and ``B``; both must have the same shape (d, D) with D <= d."""
    shape_a, shape_b = np.shape(A), np.shape(B)
    if len(shape_a) == 2 and len(shape_b) == 2 and shape_a != shape_b:
        raise InvalidEmbeddingsError(f"A and B must have the same shape (d, D); got {shape_a} and {shape_b}")
    return _orthonormal_basis(A, "A"), _orthonormal_basis(B, "B")


def principal_angles(A, B) -> np.ndarray:
    """The D principal angles (radians, ascending, in [0, pi/2]) between span(A) and span(B).

    A, B: (d, D) bases, columns spanning each subspace; orthonormal bases are expected
    (e.g. from ``top_principal_subspace``), any linearly independent columns work
    (they are orthonormalised first). Accurate for small angles too (scipy's
    ``subspace_angles``, which uses sines there). 0 for the same subspace, whatever
    basis of it; pi/2 for orthogonal ones.
    """
    Qa, Qb = _check_pair(A, B)
    from scipy.linalg import subspace_angles

    return np.sort(subspace_angles(Qa, Qb))


def subspace_overlap(A, B) -> float:
    """Mean squared cosine of the principal angles between span(A) and span(B), in [0, 1].

    Equals ``||Qa^T Qb||_F^2 / D`` for orthonormal bases Qa, Qb (d, D): 1 for the same
    subspace, 0 for orthogonal ones, ``D / d`` expected for random ones.
    """
    Qa, Qb = _check_pair(A, B)
    value = float(np.linalg.norm(Qa.T @ Qb) ** 2 / Qa.shape[1])
    return min(1.0, max(0.0, value))
