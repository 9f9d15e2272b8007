"""Faithful transcriptions of the reference formulas and implementations of the beyond-the-paper measures,
in dense NumPy/SciPy, each named by its source. The tests compare geomexp against them on the same arrays
(``tests/test_neighbours_spectral.py``) and ``benchmarks/validation_matrix.py`` tabulates the largest
deviation (``docs/validation.md``). Small inputs only: they hold N x N matrices.
"""

from __future__ import annotations

import numpy as np


def reference_knn(X, k):
    """Brute force: every cosine similarity in float64, self excluded, ties by lower index."""
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    S = U @ U.T
    np.fill_diagonal(S, -np.inf)
    return np.argsort(-S, axis=1, kind="stable")[:, :k]


def reference_cknna(feats_a, feats_b, topk, eps=1e-6):
    """A transcription of ``AlignmentMetrics.cknna`` (minyoungg/platonic-rep, metrics.py; unbiased=True) in
    dense NumPy, on L2-normalised features as its pipeline gives them; ``eps`` is its ``+ 1e-6``."""
    fa = feats_a / np.linalg.norm(feats_a, axis=1, keepdims=True)
    fb = feats_b / np.linalg.norm(feats_b, axis=1, keepdims=True)
    n = fa.shape[0]
    K, L = fa @ fa.T, fb @ fb.T

    def hsic_unbiased(K, L):
        m = K.shape[0]
        Kt, Lt = K.copy(), L.copy()
        np.fill_diagonal(Kt, 0)
        np.fill_diagonal(Lt, 0)
        value = (Kt * Lt.T).sum() + Kt.sum() * Lt.sum() / ((m - 1) * (m - 2)) - 2 * (Kt @ Lt).sum() / (m - 2)
        return value / (m * (m - 3))

    def similarity(K, L):
        Kh, Lh = K.copy(), L.copy()
        np.fill_diagonal(Kh, -np.inf)
        np.fill_diagonal(Lh, -np.inf)
        mask_k, mask_l = np.zeros((n, n)), np.zeros((n, n))
        np.put_along_axis(mask_k, np.argsort(-Kh, axis=1, kind="stable")[:, :topk], 1, axis=1)
        np.put_along_axis(mask_l, np.argsort(-Lh, axis=1, kind="stable")[:, :topk], 1, axis=1)
        mask = mask_k * mask_l
        return hsic_unbiased(mask * K, mask * L)

    return similarity(K, L) / (np.sqrt(similarity(K, K) * similarity(L, L)) + eps)


def reference_mutual_knn(feats_a, feats_b, topk):
    """A transcription of ``AlignmentMetrics.mutual_knn`` (platonic-rep) in dense NumPy."""
    ka, kb = reference_knn(feats_a, topk), reference_knn(feats_b, topk)
    n = ka.shape[0]
    ma, mb = np.zeros((n, n)), np.zeros((n, n))
    np.put_along_axis(ma, ka, 1, axis=1)
    np.put_along_axis(mb, kb, 1, axis=1)
    return float(((ma * mb).sum(axis=1) / topk).mean())


def reference_canonical_correlations(X, Y):
    """The textbook formula: singular values of Sxx^-1/2 Sxy Syy^-1/2 of the centred X, Y (Hotelling 1936)."""
    Xc, Yc = X - X.mean(axis=0), Y - Y.mean(axis=0)

    def inv_sqrt(S):
        w, V = np.linalg.eigh(S)
        return V @ np.diag(w**-0.5) @ V.T

    return np.linalg.svd(inv_sqrt(Xc.T @ Xc) @ (Xc.T @ Yc) @ inv_sqrt(Yc.T @ Yc), compute_uv=False)


def reference_pwcca(X, Y):
    """Morcos et al. 2018, eq. for the projection weights, from the textbook CCA: canonical weights
    w_i = Sxx^-1/2 a_i, variates h_i = Xc w_i (unit length), alpha_i = sum_j |<h_i, x_j>| over X's centred
    columns, similarity = sum alpha_i rho_i / sum alpha_i."""
    Xc, Yc = X - X.mean(axis=0), Y - Y.mean(axis=0)

    def inv_sqrt(S):
        w, V = np.linalg.eigh(S)
        return V @ np.diag(w**-0.5) @ V.T

    root = inv_sqrt(Xc.T @ Xc)
    A, rho, _ = np.linalg.svd(root @ (Xc.T @ Yc) @ inv_sqrt(Yc.T @ Yc), full_matrices=False)
    H = Xc @ root @ A
    alpha = np.abs(H.T @ Xc).sum(axis=1)
    return float(rho @ alpha / alpha.sum())


def reference_rankme(X, eps: float = 1e-7) -> float:
    """RankMe, Garrido et al. 2023, eq. 1: exp of the entropy of p_k = s_k / ||s||_1 + eps, s = svd(X) (uncentred)."""
    s = np.linalg.svd(np.asarray(X, dtype=np.float64), compute_uv=False)
    p = s / np.abs(s).sum() + eps
    return float(np.exp(-(p * np.log(p)).sum()))


def reference_alpha_req(X) -> float:
    """alpha-ReQ, Agrawal et al. 2022: minus the least-squares slope of log eigenvalue against log rank, over
    every non-zero eigenvalue of the sample covariance (numpy.cov)."""
    lam = np.sort(np.linalg.eigvalsh(np.cov(np.asarray(X, dtype=np.float64), rowvar=False)))[::-1]
    lam = lam[lam > lam[0] * lam.size * np.finfo(np.float64).eps]
    ranks = np.arange(1, lam.size + 1)
    slope = np.linalg.lstsq(np.vstack([np.log(ranks), np.ones(lam.size)]).T, np.log(lam), rcond=None)[0][0]
    return float(-slope)


def reference_rsa(X, Y) -> float:
    """RSA, Kriegeskorte et al. 2008: scipy's spearmanr of scipy's pdist(metric="cosine") of the two sides."""
    from scipy.spatial.distance import pdist
    from scipy.stats import spearmanr

    return float(spearmanr(pdist(X, "cosine"), pdist(Y, "cosine"))[0])


def reference_retrieval_accuracy(A, B) -> tuple[float, float]:
    """Top-1 retrieval by brute force: for each row, is its partner the strict arg-max of the cosines?"""
    a = A / np.linalg.norm(A, axis=1, keepdims=True)
    b = B / np.linalg.norm(B, axis=1, keepdims=True)
    S = a @ b.T
    n = len(S)

    def hits(M):
        return np.mean([M[i, i] > np.max(np.delete(M[i], i)) for i in range(n)])

    return float(hits(S)), float(hits(S.T))


def reference_gride(X, n1: int, n2: int) -> float:
    """GRIDE, Denti et al. 2022 (Sci. Rep. 12:20005), eq. 4: maximise the log-likelihood of mu = r_n2 / r_n1,
    sum_i log f(mu_i | d), f = d (mu^d - 1)^(n2-n1-1) / (B(n2-n1, n1) mu^((n2-1)d+1)), with scipy's bounded
    scalar minimiser (as DADApy does), on brute-force Euclidean distances."""
    from scipy.optimize import minimize_scalar
    from scipy.spatial.distance import cdist
    from scipy.special import betaln

    D = cdist(X, X)
    np.fill_diagonal(D, np.inf)
    r = np.sort(D, axis=1)
    mu = r[:, n2 - 1] / r[:, n1 - 1]

    def neg_loglik(d):
        return -np.sum(
            np.log(d) + (n2 - n1 - 1) * np.log(mu**d - 1) - ((n2 - 1) * d + 1) * np.log(mu) - betaln(n2 - n1, n1)
        )

    return float(minimize_scalar(neg_loglik, bounds=(1e-3, 200.0), method="bounded", options={"xatol": 1e-10}).x)


def reference_label_overlap(X, labels, k: int) -> float:
    """DADApy's ``return_label_overlap`` (Doimo et al. 2020) in dense NumPy: for each row, the share of its k
    nearest neighbours (here brute-force cosine, ``reference_knn``) with its label; the mean over rows."""
    labels = np.asarray(labels)
    nn = reference_knn(X, k)
    return float(np.mean([np.sum(labels[nn[i]] == labels[i]) / k for i in range(len(labels))]))


def svd_reduce(A, keep: float = 0.99):
    """SVCCA's first step (Raghu et al. 2017; google/svcca's tutorial): the centred rows of ``A`` on its top
    principal directions that explain ``keep`` of its variance."""
    A = A - A.mean(axis=0)
    _, s, Vt = np.linalg.svd(A, full_matrices=False)
    k = int(np.searchsorted(np.cumsum(s**2) / np.sum(s**2), keep)) + 1
    return A @ Vt[:k].T
