"""Representation similarity of two sets of vectors for the SAME N items: ``X`` (N, d1), ``Y`` (N, d2).

- ``linear_cka``: linear centred kernel alignment (Kornblith et al. 2019), in [0, 1] for the
  biased estimator (1 = the same up to rotation and isotropic scaling); ``debiased=True``
  uses the unbiased HSIC estimator (Song et al. 2012) in every term, as Kornblith's
  ``feature_space_linear_cka(debiased=True)``, so independent data give ~0 (it can be slightly
  negative) rather than a positive value that shrinks with N.
- ``procrustes_distance``: orthogonal Procrustes distance (Ding et al. 2021, "Grounding
  representation similarity"): rows centred, each matrix scaled to unit Frobenius norm,
  ``min_Q ||X - Y Q||_F^2 = 2 - 2 ||X^T Y||_*`` over orthogonal ``Q``, in [0, 2]
  (0 = the same up to rotation, translation and scale).

Both work in feature space (``d x d`` cross-products, O(N d^2)); no ``N x N`` Gram matrix is
formed. ``similarity_matrices`` computes every pair of a list of matrices (e.g. the layers of
one model on the same tokens), each cross-product once. All arithmetic is float64.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np

from geomexp.validation import InvalidEmbeddingsError, as_embeddings, check_same_rows, exactly_rescaled


def _centred(X, name: str) -> np.ndarray:
    """The centred rows of ``X`` (N, d) in float64, exactly rescaled by a power of two before and after
    centring where |x| is beyond 1e+-100: every measure here is invariant to each side's isotropic
    scale, and the products of 1e200 overflow and of 1e-200 underflow."""
    X = exactly_rescaled(as_embeddings(X, name=name))
    return exactly_rescaled(X - X.mean(axis=0))


class _Stats:
    """What one centred matrix contributes to every pair: its rows' squared norms and its self-HSIC terms."""

    def __init__(self, Xc: np.ndarray):
        self.n = Xc.shape[0]
        self.row_sq = np.einsum("ij,ij->i", Xc, Xc)  # (N,) ||x_i||^2
        self.sq_norm = float(self.row_sq.sum())  # ||Xc||_F^2 = tr K


def _hsic(xty_sq: float, a: _Stats, b: _Stats, debiased: bool) -> float:
    """HSIC numerator from ``||Xc^T Yc||_F^2`` (scaled: constant factors that cancel in CKA are left out)."""
    if not debiased:
        return xty_sq
    n = a.n
    return xty_sq - n / (n - 2) * float(a.row_sq @ b.row_sq) + a.sq_norm * b.sq_norm / ((n - 1) * (n - 2))


def _cka(xty_sq: float, xx_sq: float, yy_sq: float, a: _Stats, b: _Stats, debiased: bool) -> float:
    num = _hsic(xty_sq, a, b, debiased)
    den_sq = _hsic(xx_sq, a, a, debiased) * _hsic(yy_sq, b, b, debiased)
    if den_sq <= 0:
        raise InvalidEmbeddingsError("CKA is undefined: a matrix has no variance (all rows equal after centring)")
    return float(num / np.sqrt(den_sq))


def linear_cka(X, Y, *, debiased: bool = False) -> float:
    """Linear CKA of ``X`` (N, d1) and ``Y`` (N, d2), rows = the same items; needs N >= 4 with ``debiased``.

    ``||Xc^T Yc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F)`` of the centred rows (biased), or the
    same with each HSIC replaced by its unbiased estimate (``debiased``, Kornblith's
    feature-space formula). Invariant to orthogonal transforms and isotropic scaling of either side.
    """
    Xc, Yc = _centred(X, "X"), _centred(Y, "Y")
    check_same_rows(Xc, Yc)
    if debiased and Xc.shape[0] < 4:
        raise InvalidEmbeddingsError(f"debiased CKA needs at least 4 rows; got {Xc.shape[0]}")
    a, b = _Stats(Xc), _Stats(Yc)
    return _cka(_fro_sq(Xc.T @ Yc), _fro_sq(Xc.T @ Xc), _fro_sq(Yc.T @ Yc), a, b, debiased)


def procrustes_distance(X, Y) -> float:
    """Orthogonal Procrustes distance of ``X`` (N, d1) and ``Y`` (N, d2), in [0, 2] (Ding et al. 2021).

    Rows centred, each matrix divided by its Frobenius norm (zero-padded to the wider
    width, which changes nothing): ``2 - 2 * (sum of the singular values of X^T Y)``.
    """
    Xc, Yc = _centred(X, "X"), _centred(Y, "Y")
    check_same_rows(Xc, Yc)
    nx, ny = np.linalg.norm(Xc), np.linalg.norm(Yc)
    if nx == 0 or ny == 0:
        raise InvalidEmbeddingsError("Procrustes distance is undefined: a matrix has no variance")
    return _procrustes_from_cross(Xc.T @ Yc, nx * ny)


def _fro_sq(M: np.ndarray) -> float:
    return float(np.einsum("ij,ij->", M, M))


def _procrustes_from_cross(cross: np.ndarray, scale: float) -> float:
    # nuclear norm = sum of sqrt(eigenvalues of cross^T cross): a symmetric eigensolver, 2-6x faster
    # than an SVD here (far more when other jobs load the CPUs); the small singular values lose
    # relative precision, which moves the sum by ~1e-8 of the largest at most
    small = cross.T @ cross if cross.shape[0] >= cross.shape[1] else cross @ cross.T
    nuclear = float(np.sqrt(np.clip(np.linalg.eigvalsh(small), 0.0, None)).sum()) / scale
    return float(max(0.0, 2.0 - 2.0 * nuclear))


def similarity_matrices(
    reps: Sequence[np.ndarray], *, debiased: bool = True, biased: bool = True, procrustes: bool = True
) -> dict[str, np.ndarray]:
    """Every pair of ``reps`` (a list of K matrices (N, d_k) for the same N items), each cross-product once.

    Returns (K, K) float64 matrices: ``"cka_debiased"`` (if ``debiased``), ``"cka"`` (the
    biased estimator, if ``biased``), ``"procrustes"`` (if ``procrustes``); symmetric, with
    1 (CKA) or 0 (Procrustes) on the diagonal. Memory: two centred float64 matrices at a
    time plus (d, d) products; time: K (K + 1) / 2 products of O(N d^2).
    """
    k = len(reps)
    if k == 0:
        raise InvalidEmbeddingsError("similarity_matrices needs at least one matrix")
    n = np.asarray(reps[0]).shape[0]
    if debiased and n < 4:
        raise InvalidEmbeddingsError(f"debiased CKA needs at least 4 rows; got {n}")

    def centred(i: int) -> np.ndarray:
        Xc = _centred(reps[i], f"reps[{i}]")
        if Xc.shape[0] != n:
            raise InvalidEmbeddingsError(
                f"reps must describe the same items; reps[0] has {n} rows, reps[{i}] {Xc.shape[0]}"
            )
        return Xc

    stats, self_sq = [], []
    out = {name: np.eye(k) for name, on in (("cka_debiased", debiased), ("cka", biased)) if on}
    if procrustes:
        out["procrustes"] = np.zeros((k, k))
    norms = np.empty(k)
    for i in range(k):
        Xc = centred(i)
        stats.append(_Stats(Xc))
        self_sq.append(_fro_sq(Xc.T @ Xc))
        norms[i] = np.sqrt(stats[i].sq_norm)
        if norms[i] == 0:
            raise InvalidEmbeddingsError(f"reps[{i}] has no variance (all rows equal); similarity is undefined")
    for i in range(k):
        Xi = centred(i)
        for j in range(i + 1, k):
            cross = Xi.T @ centred(j)
            sq = _fro_sq(cross)
            if debiased:
                v = _cka(sq, self_sq[i], self_sq[j], stats[i], stats[j], True)
                out["cka_debiased"][i, j] = out["cka_debiased"][j, i] = v
            if biased:
                v = _cka(sq, self_sq[i], self_sq[j], stats[i], stats[j], False)
                out["cka"][i, j] = out["cka"][j, i] = v
            if procrustes:
                v = _procrustes_from_cross(cross, norms[i] * norms[j])
                out["procrustes"][i, j] = out["procrustes"][j, i] = v
    return out


def similarities_to(X, others: Sequence[np.ndarray], *, procrustes: bool = True) -> dict[str, np.ndarray]:
    """Similarity of ``X`` (N, d) to each of ``others`` (matrices (N, d_k) for the same N items): one row of
    ``similarity_matrices([X, *others])`` without the pairs among ``others``.

    Returns (K,) float64 arrays ``"cka_debiased"``, ``"cka"`` and (if ``procrustes``) ``"procrustes"``.
    """
    X = Centred(X, "X")  # its terms serve every pair
    if X.Xc.shape[0] < 4:
        raise InvalidEmbeddingsError(f"debiased CKA needs at least 4 rows; got {X.Xc.shape[0]}")
    rows = [paired_similarity(X, Centred(Y, f"others[{j}]"), procrustes=procrustes) for j, Y in enumerate(others)]
    keys = ("cka_debiased", "cka", "procrustes") if procrustes else ("cka_debiased", "cka")
    return {k: np.array([r[k] for r in rows], dtype=np.float64) for k in keys}


def _procrustes(Yc: np.ndarray, cross: np.ndarray, scale: float, root_kx: np.ndarray | None) -> float:
    """Procrustes distance from ``cross`` = Xc^T Yc, or (``root_kx`` = (Xc Xc^T)^1/2 given, and N below Yc's
    width too) from N x N matrices: the nuclear norm is sum sqrt eig(Kx^1/2 Ky Kx^1/2), Ky = Yc Yc^T."""
    if root_kx is None or Yc.shape[0] >= Yc.shape[1]:
        return _procrustes_from_cross(cross, scale)
    eig = np.linalg.eigvalsh(root_kx @ (Yc @ Yc.T) @ root_kx)
    nuclear = float(np.sqrt(np.clip(eig, 0.0, None)).sum()) / scale
    return float(max(0.0, 2.0 - 2.0 * nuclear))


def _psd_sqrt(K: np.ndarray) -> np.ndarray:
    """The symmetric square root of a positive semi-definite matrix (negative rounding clipped to 0)."""
    w, V = np.linalg.eigh(K)
    return (V * np.sqrt(np.clip(w, 0.0, None))) @ V.T


class Centred:
    """A matrix's share of every pairing, computed once: ``Xc`` (N, d) its centred rows (float64), ``stats``
    (row norms), ``self_sq`` = ``||Xc^T Xc||_F^2``. Pass it to ``paired_similarity`` in place of the matrix
    when it meets several others (one O(N d^2) product saved per reuse; the same numbers)."""

    def __init__(self, X, name: str = "X"):
        self.Xc = _centred(X, name)
        self.stats = _Stats(self.Xc)
        self.self_sq = _fro_sq(self.Xc.T @ self.Xc)


def paired_similarity(
    X, Y, *, n_permutations: int = 0, seed: int = 0, procrustes: bool = True, procrustes_baseline: bool = True
) -> dict[str, float]:
    """Similarity of ``X`` (N, d1) and ``Y`` (N, d2) whose rows are ALIGNED units (row i of each is the
    same sentence pair, the same word), and the same on shuffled pairings as a chance baseline.

    Returns floats: ``"cka_debiased"``, ``"cka"`` (biased) and (if ``procrustes``) ``"procrustes"`` of
    the aligned rows; with ``n_permutations`` > 0 also ``"cka_debiased_shuffled"``, ``"cka_shuffled"``
    and (if ``procrustes`` and ``procrustes_baseline``) ``"procrustes_shuffled"``: their means over
    ``n_permutations`` random permutations of ``Y``'s rows (seeded by ``seed``), which break the
    alignment and keep both sets of points: debiased CKA ~0 there.
    Time: one O(N d1 d2) cross-product per pairing (a permutation leaves Y's own terms unchanged, so
    they are computed once), and one symmetric eigensolve of size min(N, d1, d2) per Procrustes distance.
    """
    X = X if isinstance(X, Centred) else Centred(X, "X")
    Y = Y if isinstance(Y, Centred) else Centred(Y, "Y")
    (Xc, a, xx), (Yc, b, yy) = (X.Xc, X.stats, X.self_sq), (Y.Xc, Y.stats, Y.self_sq)
    check_same_rows(Xc, Yc)
    n = Xc.shape[0]
    if n < 4:
        raise InvalidEmbeddingsError(f"debiased CKA needs at least 4 rows; got {n}")
    scale = np.sqrt(a.sq_norm * b.sq_norm)
    if scale == 0:
        raise InvalidEmbeddingsError("similarity is undefined: a matrix has no variance (all rows equal)")
    root_kx = _psd_sqrt(Xc @ Xc.T) if procrustes and n < min(Xc.shape[1], Yc.shape[1]) else None

    def measure(Yp: np.ndarray, bp: _Stats, with_procrustes: bool) -> dict[str, float]:
        cross = Xc.T @ Yp
        sq = _fro_sq(cross)
        out = {"cka_debiased": _cka(sq, xx, yy, a, bp, True), "cka": _cka(sq, xx, yy, a, bp, False)}
        if with_procrustes:
            out["procrustes"] = _procrustes(Yp, cross, scale, root_kx)
        return out

    out = measure(Yc, b, procrustes)
    if n_permutations:
        rng = np.random.default_rng(seed)
        runs = []
        for _ in range(n_permutations):
            perm = rng.permutation(n)
            bp = copy.copy(b)
            bp.row_sq = b.row_sq[perm]
            runs.append(measure(Yc[perm], bp, procrustes and procrustes_baseline))
        out.update({f"{k}_shuffled": float(np.mean([r[k] for r in runs])) for k in runs[0]})
    return out
