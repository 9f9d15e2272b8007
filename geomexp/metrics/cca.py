"""Canonical correlation between two representations ``X`` (N, d_x) and ``Y`` (N, d_y) of the SAME N items.

- ``canonical_correlations``: the canonical correlations of the centred X and Y, largest first: the
  singular values of ``U_x^T U_y``, ``U`` an orthonormal basis of each one's centred column space
  (from the eigenvectors of ``X^T X``; directions whose variance is below the solver's resolution are
  dropped, so a rank-deficient X is handled). In [0, 1].
- ``svcca``: SVCCA (Raghu et al. 2017): each side reduced first to its top principal directions that
  explain ``variance`` (0.99, the paper's choice) of its variance, then the mean canonical correlation.
- ``pwcca``: projection-weighted CCA (Morcos et al. 2018): the canonical correlations weighted by how
  much of X each canonical variate accounts for, ``alpha_i = sum_j |<h_i, x_j>|`` over X's centred
  columns ``x_j`` (h_i: the i-th canonical variate of X, unit length), normalised to sum 1. The reference
  code (google/svcca, pwcca.py) projects the UNcentred activations onto orthonormalised canonical
  directions and weights the smaller of the two representations; here the weights come from X (the first
  argument) and its centred columns, as the paper's formula reads. Where canonical correlations tie (a
  shared subspace reproduced exactly), the weights depend on the basis chosen within it, in any
  implementation; layers of a model have no exact ties.

1 for representations equal up to an invertible linear map; about ``sqrt(d / N)`` for unrelated Gaussian
ones. Dimensionless, float64. Each side's basis is computed once per array (``geomexp.metrics.memo``).
"""

from __future__ import annotations

import numpy as np

from geomexp.metrics.intrinsic import nonzero_eigenvalues
from geomexp.metrics.memo import per_array
from geomexp.validation import InvalidEmbeddingsError, as_embeddings, check_float, check_same_rows, exactly_rescaled

#: the share of variance SVCCA keeps (Raghu et al. 2017)
SVCCA_VARIANCE = 0.99


def _whitened(X, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(U, shares, P)``: U (N, r) orthonormal columns along the centred X's principal directions (largest
    variance first, r = its rank), ``shares`` (r,) the cumulative share of variance they explain, and
    ``P = U^T Xc`` (r, d) (= diag(sqrt(lambda)) V^T: each direction's projections of X's centred columns)."""
    W = exactly_rescaled(as_embeddings(X, name=name))
    Xc = W - W.mean(axis=0)
    lam, V = np.linalg.eigh(Xc.T @ Xc)
    lam, V = lam[::-1], V[:, ::-1]
    r = int(np.sum(nonzero_eigenvalues(lam) > 0))
    if r == 0:
        raise InvalidEmbeddingsError(
            f"{name} has no variance (every row the same): its canonical correlations are undefined"
        )
    root = np.sqrt(lam[:r])
    return (Xc @ V[:, :r]) / root, np.cumsum(lam[:r]) / lam[:r].sum(), root[:, None] * V[:, :r].T


def _kept(shares: np.ndarray, variance: float | None) -> int:
    """How many leading directions explain ``variance`` of the variance (None: all)."""
    return shares.size if variance is None else min(shares.size, int(np.searchsorted(shares, variance - 1e-12)) + 1)


def _cross(X, Y):
    """``(whitened X, whitened Y, M = U_x^T U_y)``; each side's whitened basis is computed once per array."""
    check_same_rows(X, Y)
    wx = per_array(X, "cca_whitened", lambda: _whitened(X, "X"))
    wy = per_array(Y, "cca_whitened", lambda: _whitened(Y, "Y"))
    return wx, wy, wx[0].T @ wy[0]


def _check_variance(variance):
    if variance is None:
        return None
    variance = check_float(variance, "variance", minimum=0.0, exclusive=True, error=InvalidEmbeddingsError)
    if variance > 1:
        raise InvalidEmbeddingsError(f"variance must be a share in (0, 1]; got {variance!r}")
    return variance


def canonical_correlations(X, Y, *, variance: float | None = None) -> np.ndarray:
    """(m,) canonical correlations of ``X`` (N, d_x) and ``Y`` (N, d_y), largest first, m = min of their ranks
    (of their top directions explaining ``variance`` of each one's variance, if given)."""
    variance = _check_variance(variance)
    (_, sx, _), (_, sy, _), M = _cross(X, Y)
    return np.clip(np.linalg.svd(M[: _kept(sx, variance), : _kept(sy, variance)], compute_uv=False), 0.0, 1.0)


#: canonical correlations closer than this are one tie: float32 inputs (rounded differently on another CPU
#: kind) do not tell their canonical directions apart, and PWCCA's weights depend on which are chosen
CCA_TIE_GAP = 1e-6
#: random rotations within each tie that measure PWCCA's spread
PWCCA_ROTATIONS = 8


def _ties(rho: np.ndarray) -> list[tuple[int, int]]:
    """Runs ``[a, b)`` (b - a >= 2) of the descending ``rho`` whose adjacent gaps are at most ``CCA_TIE_GAP``."""
    runs, start = [], 0
    for i in range(1, rho.size + 1):
        if i == rho.size or rho[i - 1] - rho[i] > CCA_TIE_GAP:
            if i - start >= 2:
                runs.append((start, i))
            start = i
    return runs


def cca_similarities(X, Y, *, variance: float = SVCCA_VARIANCE, seed: int = 0) -> dict[str, float]:
    """``{"svcca", "pwcca", "pwcca_spread", "cca_tied"}`` of X to Y from one product of their bases.

    ``pwcca_spread``: the range of PWCCA over the canonical directions as returned and ``PWCCA_ROTATIONS``
    random rotations (``seed``) within each tie of canonical correlations (``CCA_TIE_GAP``), where its
    weights are not determined; 0 without ties. ``cca_tied``: how many correlations lie in ties (e.g.
    ``r_x + r_y - (N - 1)`` forced correlations of 1 when the two spaces have more directions than the
    N items span). SVCCA, a mean of correlations, does not depend on the choice."""
    variance = _check_variance(variance)
    (_, sx, P), (_, sy, _), M = _cross(X, Y)
    rho_reduced = np.linalg.svd(M[: _kept(sx, variance), : _kept(sy, variance)], compute_uv=False)
    A, rho, _ = np.linalg.svd(M, full_matrices=False)
    rho = np.clip(rho, 0.0, 1.0)

    def weighted(A):
        alpha = np.abs(A.T @ P).sum(axis=1)  # sum_j |<h_i, x_j>|, h_i = U_x A[:, i] the canonical variates of X
        return float(rho @ alpha / alpha.sum())

    value, ties = weighted(A), _ties(rho)
    values = [value]
    rng = np.random.default_rng(seed)
    for _ in range(PWCCA_ROTATIONS if ties else 0):
        R = A.copy()
        for a, b in ties:
            q, r = np.linalg.qr(rng.standard_normal((b - a, b - a)))
            R[:, a:b] = A[:, a:b] @ (q * np.sign(np.diag(r)))  # a Haar-random rotation within the tie
        values.append(weighted(R))
    return {
        "svcca": float(np.clip(rho_reduced, 0.0, 1.0).mean()),
        "pwcca": value,
        "pwcca_spread": float(max(values) - min(values)),
        "cca_tied": float(sum(b - a for a, b in ties)),
    }


def svcca(X, Y, *, variance: float = SVCCA_VARIANCE) -> float:
    """SVCCA similarity: the mean canonical correlation of X and Y reduced to the top principal directions
    explaining ``variance`` of each one's variance."""
    return float(canonical_correlations(X, Y, variance=variance).mean())


def pwcca(X, Y) -> float:
    """PWCCA similarity of X to Y: the canonical correlations weighted by X's projection weights."""
    return cca_similarities(X, Y)["pwcca"]
