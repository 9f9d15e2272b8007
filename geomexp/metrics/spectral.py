"""Spectral quality of a set of representations ``X`` (N, d): how many directions it uses and how fast its
spectrum decays.

- ``rankme``: RankMe (Garrido et al. 2023, eq. 1): ``exp`` of the entropy of ``p_k = s_k / sum(s) + eps``,
  ``s`` the singular values of the raw (uncentred) ``X``; ``eps = 1e-7`` as in the paper. About ``d``
  for an isotropic Gaussian sample with N >> d; exactly ``r`` (up to eps) for r equal singular values.
- ``alpha_req``: alpha-ReQ (Agrawal et al. 2022): the decay exponent ``alpha`` of the covariance
  eigenvalues, ``lambda_i ~ i^-alpha``, by a least-squares line through ``(log i, log lambda_i)`` over
  the ranks ``first..last`` of the non-zero eigenvalues. A spectrum that is exactly a power law gives
  its ``alpha`` back.

Dimensionless, float64. Eigenvalues below the solver's resolution (``numpy.linalg.matrix_rank``'s
tolerance) count as zero.
"""

from __future__ import annotations

import numpy as np

from geomexp.linalg import principal_variances
from geomexp.metrics.intrinsic import nonzero_eigenvalues
from geomexp.validation import InvalidEmbeddingsError, as_embeddings, check_float, check_int, exactly_rescaled

#: the paper's epsilon added to each normalised singular value
RANKME_EPS = 1e-7


def rankme(X, *, eps: float = RANKME_EPS) -> float:
    """RankMe of ``X`` (N, d): ``exp(-sum p log p)``, ``p_k = s_k / ||s||_1 + eps`` over the min(N, d) singular
    values ``s`` of the uncentred ``X``. In (0, min(N, d)]; an effective number of directions."""
    W = exactly_rescaled(as_embeddings(X))  # singular values scale with X: p does not
    eps = check_float(eps, "eps", minimum=0.0, error=InvalidEmbeddingsError)
    lam = nonzero_eigenvalues(np.linalg.eigvalsh(W.T @ W if W.shape[0] >= W.shape[1] else W @ W.T)[::-1])
    s = np.sqrt(lam)
    if s.sum() <= 0:
        raise InvalidEmbeddingsError("RankMe of an all-zero X is undefined")
    p = s / s.sum() + eps
    p = p[p > 0]  # 0 log 0 = 0 (eps = 0)
    return float(np.exp(-(p * np.log(p)).sum()))


def alpha_req(X=None, *, variances: np.ndarray | None = None, first: int = 1, last: int | None = None) -> float:
    """alpha-ReQ of ``X`` (N, d): minus the slope of ``log lambda_i`` against ``log i`` (least squares) for the
    covariance eigenvalues ``lambda_i`` (largest first, ``i`` from 1), over the ranks ``first..last``
    (1-based, inclusive; ``last`` None = the last non-zero eigenvalue). ``variances``: the eigenvalues, if
    already computed. Needs two or more non-zero eigenvalues in the range."""
    lam = principal_variances(exactly_rescaled(as_embeddings(X))) if variances is None else np.asarray(variances)
    lam = nonzero_eigenvalues(np.sort(np.asarray(lam, dtype=np.float64).ravel())[::-1])
    n_nonzero = int((lam > 0).sum())
    first = check_int(first, "first", minimum=1, error=InvalidEmbeddingsError)
    last = n_nonzero if last is None else check_int(last, "last", minimum=first + 1, error=InvalidEmbeddingsError)
    if last > n_nonzero or last - first + 1 < 2:
        raise InvalidEmbeddingsError(
            f"alpha-ReQ fits ranks {first}..{last} but X has {n_nonzero} non-zero eigenvalue(s): use last <= "
            f"{n_nonzero} and at least two ranks"
        )
    ranks = np.arange(first, last + 1, dtype=np.float64)
    slope = np.polyfit(np.log(ranks), np.log(lam[first - 1 : last]), 1)[0]
    return float(-slope)
