"""Agreement of two representations ``A`` (N, d_a) and ``B`` (N, d_b) of the SAME N items (rows) by their
nearest neighbours (Huh et al. 2024, "The Platonic Representation Hypothesis").

- ``cosine_knn``: each row's ``k`` nearest other rows by cosine similarity, (N, k) indices.
- ``mutual_knn``: the mean fraction of a row's ``k`` neighbours in ``A`` that are also among its
  ``k`` neighbours in ``B``. 1 for the same neighbourhoods; ``k / (N - 1)`` expected for unrelated ones.
- ``cknna``: Centered Kernel Nearest-Neighbour Alignment: debiased CKA (the unbiased HSIC of Song et
  al. 2012) of the cosine kernels restricted to the pairs that are neighbours in both spaces.

Neighbours are found by cosine similarity (the rows are L2-normalised, as the reference pipeline
normalises features before its metrics). FAISS's exact inner-product search (float32) proposes
``k + 8`` candidates per row; their similarities are recomputed in float64 and ranked, ties broken
by the lower row index, so a last-bit difference between machines cannot reorder neighbours that
float64 tells apart. No ``N x N`` matrix is held: the kernels of CKNNA are sparse, ``N k`` entries.
Dimensionless results in float64.
"""

from __future__ import annotations

import hashlib
import weakref

import numpy as np

from geomexp.validation import InvalidEmbeddingsError, as_embeddings, check_int

#: extra candidates FAISS returns beyond the ``k`` needed (and the row itself); float64 ranks them
_MARGIN = 8
#: rows per block when candidate similarities are recomputed in float64
_BLOCK = 512
#: the neighbours of the arrays seen last: ``id -> (weakref to the array, k, fingerprint, neighbours)``; a run
#: asks for the same layer's neighbours at several layers (its previous and its last), this finds them once
_SEEN: dict[int, tuple] = {}
_SEEN_MAX = 64


def _fingerprint(X: np.ndarray) -> bytes:
    """A digest of every 64th row of ``X`` (and its shape): a changed array is not taken for the one seen."""
    step = max(1, X.shape[0] // 64)
    return hashlib.blake2b(np.ascontiguousarray(X[::step]).tobytes() + str(X.shape).encode(), digest_size=16).digest()


def unit_rows(X: np.ndarray, name: str = "X") -> np.ndarray:
    """The rows of ``X`` (N, d) float64 scaled to length 1, at any magnitude: each row is first brought to a
    largest |x| in [0.5, 1) by a power of two (exact), so its squares neither overflow (|x| ~ 1e200) nor
    underflow (|x| ~ 1e-200). ``InvalidEmbeddingsError`` for an all-zero row (its cosine is undefined)."""
    top = np.abs(X).max(axis=1)
    if not (top > 0).all():
        raise InvalidEmbeddingsError(f"{name} has an all-zero row (row {int(np.argmin(top))}): its cosine is undefined")
    Y = np.ldexp(X, -np.frexp(top)[1][:, None])
    return Y / np.linalg.norm(Y, axis=1)[:, None]


def cosine_knn(X, k: int = 10, *, name: str = "X") -> np.ndarray:
    """(N, k) int64: the indices of each row's ``k`` most cosine-similar OTHER rows of ``X`` (N, d), most
    similar first, ties by lower index. Needs ``1 <= k <= N - 1``."""
    import faiss

    raw = X if isinstance(X, np.ndarray) and X.ndim == 2 else None
    if raw is not None:
        hit = _SEEN.get(id(raw))
        if hit is not None and hit[0]() is raw and hit[1] == k and hit[2] == _fingerprint(raw):
            return hit[3]
    X = as_embeddings(X, name=name)
    n = X.shape[0]
    k = check_int(k, "k (neighbours)", minimum=1, maximum=n - 1, error=InvalidEmbeddingsError)
    U = unit_rows(X, name)
    m = min(n, k + 1 + _MARGIN)
    index = faiss.IndexFlatIP(U.shape[1])
    U32 = np.ascontiguousarray(U, dtype=np.float32)
    index.add(U32)
    _, cand = index.search(U32, m)
    out = np.empty((n, k), dtype=np.int64)
    for start in range(0, n, _BLOCK):
        rows = np.arange(start, min(n, start + _BLOCK))
        idx = cand[rows]
        sim = np.einsum("rd,rcd->rc", U[rows], U[np.clip(idx, 0, None)])
        sim[(idx == rows[:, None]) | (idx < 0)] = -np.inf  # the row itself; FAISS's -1 padding
        order = np.lexsort((idx, -sim), axis=1)  # by similarity, then by index
        out[rows] = np.take_along_axis(idx, order, axis=1)[:, :k]
    if raw is not None:
        if len(_SEEN) >= _SEEN_MAX:
            _SEEN.clear()
        _SEEN[id(raw)] = (weakref.ref(raw), k, _fingerprint(raw), out)
    return out


def _pair(A, B, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(unit A, unit B, kNN of A, kNN of B)``, checking the two have the same rows."""
    a, b = as_embeddings(A, name="A"), as_embeddings(B, name="B")
    if a.shape[0] != b.shape[0]:
        raise InvalidEmbeddingsError(
            f"A and B must hold the same items (rows): A has {a.shape[0]} rows, B has {b.shape[0]}"
        )
    return unit_rows(a, "A"), unit_rows(b, "B"), cosine_knn(A, k, name="A"), cosine_knn(B, k, name="B")


def _shared(knn_a: np.ndarray, knn_b: np.ndarray) -> np.ndarray:
    """(N, k) bool: whether each of a row's neighbours in A is also one of its neighbours in B."""
    return (knn_a[:, :, None] == knn_b[:, None, :]).any(axis=2)


def mutual_knn(A, B, k: int = 10) -> float:
    """Mutual k-NN alignment of ``A`` (N, d_a) and ``B`` (N, d_b), rows = the same items: the mean over rows of
    |kNN_A(i) ∩ kNN_B(i)| / k (cosine neighbours, self excluded). In [0, 1]; 1 when every row has the same
    neighbours; about ``k / (N - 1)`` (``mutual_knn_chance``) for unrelated representations."""
    _, _, knn_a, knn_b = _pair(A, B, k)
    return float(_shared(knn_a, knn_b).sum(axis=1).mean() / knn_a.shape[1])


def mutual_knn_chance(n: int, k: int = 10) -> float:
    """The expected ``mutual_knn`` of two unrelated representations of ``n`` items: ``k / (n - 1)``."""
    return k / (n - 1)


def _masked_kernel(U: np.ndarray, knn: np.ndarray, keep: np.ndarray):
    """Sparse (N, N) cosine kernel with the entries (i, knn[i, j]) where ``keep[i, j]``, zero elsewhere."""
    from scipy.sparse import csr_matrix

    n = U.shape[0]
    rows = np.repeat(np.arange(n), knn.shape[1])[keep.ravel()]
    cols = knn.ravel()[keep.ravel()]
    values = np.einsum("ij,ij->i", U[rows], U[cols])
    return csr_matrix((values, (rows, cols)), shape=(n, n))


def _hsic_unbiased(K, L, n: int) -> float:
    """Unbiased HSIC (Song et al. 2012, eq. 5) of two sparse kernels with zero diagonals."""
    term1 = float(K.multiply(L.T).sum())
    term2 = float(K.sum()) * float(L.sum()) / ((n - 1) * (n - 2))
    term3 = 2.0 * float(np.asarray(K.sum(axis=0)).ravel() @ np.asarray(L.sum(axis=1)).ravel()) / (n - 2)
    return (term1 + term2 - term3) / (n * (n - 3))


def cknna(A, B, k: int = 10) -> float:
    """CKNNA of ``A`` (N, d_a) and ``B`` (N, d_b), rows = the same items (Huh et al. 2024): debiased CKA of
    the cosine kernels, each kept only on the pairs (i, j) where j is among i's ``k`` neighbours in BOTH
    spaces (and, for each space's own normaliser, among its neighbours in that space). 1 for identical
    representations; near 0 for unrelated ones. NaN where a normaliser is not positive (too few pairs).

    The reference divides by ``sqrt(...) + 1e-6``; this divides by the square root alone (exact).
    Needs N >= 4.
    """
    Ua, Ub, knn_a, knn_b = _pair(A, B, k)
    n = Ua.shape[0]
    if n < 4:
        raise InvalidEmbeddingsError(f"CKNNA needs at least 4 rows (its unbiased HSIC divides by N - 3); got {n}")
    both = _shared(knn_a, knn_b)
    every = np.ones_like(both)
    kl = _hsic_unbiased(_masked_kernel(Ua, knn_a, both), _masked_kernel(Ub, knn_a, both), n)
    kk = _hsic_unbiased(_masked_kernel(Ua, knn_a, every), _masked_kernel(Ua, knn_a, every), n)
    ll = _hsic_unbiased(_masked_kernel(Ub, knn_b, every), _masked_kernel(Ub, knn_b, every), n)
    return float(kl / np.sqrt(kk * ll)) if kk > 0 and ll > 0 else float("nan")
