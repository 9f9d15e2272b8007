"""Agreement of two representations ``A`` (N, d_a) and ``B`` (N, d_b) of the SAME N items (rows) by their
nearest neighbours (Huh et al. 2024, "The Platonic Representation Hypothesis").

- ``cosine_knn``: each row's ``k`` nearest other rows by cosine similarity, (N, k) indices.
- ``mutual_knn``: the mean fraction of a row's ``k`` neighbours in ``A`` that are also among its
  ``k`` neighbours in ``B``. 1 for the same neighbourhoods; ``k / (N - 1)`` expected for unrelated ones.
- ``cknna``: Centered Kernel Nearest-Neighbour Alignment: debiased CKA (the unbiased HSIC of Song et
  al. 2012) of the cosine kernels restricted to the pairs that are neighbours in both spaces.
- ``label_overlap``: one representation against a labelling of its rows: the mean fraction of a row's
  ``k`` neighbours with its label (Doimo et al. 2020's neighbourhood overlap; with the rows of another
  layer as the "labels" of DADApy's data overlap, that is ``mutual_knn``).

Neighbours are found by cosine similarity (the rows are L2-normalised, as the reference pipeline
normalises features before its metrics). FAISS's exact inner-product search (float32) proposes
``k + 8`` candidates per row; their similarities are recomputed in float64 and ranked, ties broken
by the lower row index, so a last-bit difference between machines cannot reorder neighbours that
float64 tells apart. No ``N x N`` matrix is held: the kernels of CKNNA are sparse, ``N k`` entries.
Dimensionless results in float64.
"""

from __future__ import annotations

import numpy as np

from geomexp.metrics.memo import per_array
from geomexp.validation import InvalidEmbeddingsError, as_embeddings, check_int, check_same_rows

#: extra candidates FAISS returns beyond the ``k`` needed (and the row itself); float64 ranks them
_MARGIN = 8
#: rows per block when candidate similarities are recomputed in float64
_BLOCK = 512


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
    similar first, ties by lower index. Needs ``1 <= k <= N - 1``. Found once per array and ``k``
    (``geomexp.metrics.memo``)."""
    return _knn(X, k, name)[0]


def _knn(X, k: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """``(indices (N, k), cosines (N, k) float64)`` of each row's neighbours, found once per array and ``k``."""
    return per_array(X, ("cosine_knn", k), lambda: _cosine_knn(X, k, name))


def _cosine_knn(X, k: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    X = as_embeddings(X, name=name)
    n = X.shape[0]
    k = check_int(k, "k (neighbours)", minimum=1, maximum=n - 1, error=InvalidEmbeddingsError)
    U = unit_rows(X, name)
    m = min(n, k + 1 + _MARGIN)
    index = faiss.IndexFlatIP(U.shape[1])
    U32 = np.ascontiguousarray(U, dtype=np.float32)
    index.add(U32)
    _, cand = index.search(U32, m)
    out, cosines = np.empty((n, k), dtype=np.int64), np.empty((n, k))
    for start in range(0, n, _BLOCK):
        rows = np.arange(start, min(n, start + _BLOCK))
        idx = cand[rows]
        sim = np.einsum("rd,rcd->rc", U[rows], U[np.clip(idx, 0, None)])
        sim[(idx == rows[:, None]) | (idx < 0)] = -np.inf  # the row itself; FAISS's -1 padding
        order = np.lexsort((idx, -sim), axis=1)[:, :k]  # by similarity, then by index
        out[rows] = np.take_along_axis(idx, order, axis=1)
        cosines[rows] = np.take_along_axis(sim, order, axis=1)
    return out, cosines


def _pair(A, B, k: int) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """``((kNN of A, their cosines), (kNN of B, their cosines))``, checking the two have the same rows."""
    check_same_rows(A, B, ("A", "B"))
    return _knn(A, k, "A"), _knn(B, k, "B")


def _shared(knn_a: np.ndarray, knn_b: np.ndarray) -> np.ndarray:
    """(N, k) bool: whether each of a row's neighbours in A is also one of its neighbours in B."""
    return (knn_a[:, :, None] == knn_b[:, None, :]).any(axis=2)


def mutual_knn(A, B, k: int = 10) -> float:
    """Mutual k-NN alignment of ``A`` (N, d_a) and ``B`` (N, d_b), rows = the same items: the mean over rows of
    |kNN_A(i) ∩ kNN_B(i)| / k (cosine neighbours, self excluded). In [0, 1]; 1 when every row has the same
    neighbours; about ``k / (N - 1)`` (``mutual_knn_chance``) for unrelated representations."""
    (knn_a, _), (knn_b, _) = _pair(A, B, k)
    return float(_shared(knn_a, knn_b).sum(axis=1).mean() / knn_a.shape[1])


def mutual_knn_chance(n: int, k: int = 10) -> float:
    """The expected ``mutual_knn`` of two unrelated representations of ``n`` items: ``k / (n - 1)``."""
    return k / (n - 1)


def _masked_kernel(knn: np.ndarray, values: np.ndarray, keep: np.ndarray):
    """Sparse (N, N) kernel holding ``values[i, j]`` at (i, knn[i, j]) where ``keep[i, j]``, zero elsewhere."""
    from scipy.sparse import csr_matrix

    n = knn.shape[0]
    rows = np.repeat(np.arange(n), knn.shape[1])[keep.ravel()]
    return csr_matrix((values.ravel()[keep.ravel()], (rows, knn.ravel()[keep.ravel()])), shape=(n, n))


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
    (knn_a, cos_a), (knn_b, cos_b) = _pair(A, B, k)
    n = knn_a.shape[0]
    if n < 4:
        raise InvalidEmbeddingsError(f"CKNNA needs at least 4 rows (its unbiased HSIC divides by N - 3); got {n}")
    same = knn_a[:, :, None] == knn_b[:, None, :]  # (N, k, k): A's j-th neighbour is B's j'-th
    both = same.any(axis=2)
    cos_b_at_a = (same * cos_b[:, None, :]).sum(axis=2)  # B's cosine of the pairs A's neighbours name
    every = np.ones_like(both)
    kl = _hsic_unbiased(_masked_kernel(knn_a, cos_a, both), _masked_kernel(knn_a, cos_b_at_a, both), n)
    kk = _hsic_unbiased(_masked_kernel(knn_a, cos_a, every), _masked_kernel(knn_a, cos_a, every), n)
    ll = _hsic_unbiased(_masked_kernel(knn_b, cos_b, every), _masked_kernel(knn_b, cos_b, every), n)
    return float(kl / np.sqrt(kk * ll)) if kk > 0 and ll > 0 else float("nan")


def _labels(X, labels) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != np.shape(X)[0]:
        raise InvalidEmbeddingsError(
            f"labels must be one per row of X: (N,) = ({np.shape(X)[0]},); got {tuple(labels.shape)}"
        )
    return labels


def label_overlap(X, labels, k: int = 10) -> float:
    """Neighbourhood overlap with a labelling (Doimo et al. 2020; DADApy's ``return_label_overlap``): the mean
    over the rows of ``X`` (N, d) of the fraction of their ``k`` nearest other rows (cosine, ``cosine_knn``)
    that carry the same label (``labels``: (N,), e.g. each token's vocabulary id). In [0, 1]; about
    ``label_overlap_chance(labels)`` when neighbourhoods ignore the labels."""
    labels = _labels(X, labels)
    knn = cosine_knn(X, k)
    return float((labels[knn] == labels[:, None]).mean())


def label_overlap_chance(labels) -> float:
    """The expected ``label_overlap`` of neighbours drawn at random: the mean over rows of the share of the
    OTHER rows with the row's label, sum_l n_l (n_l - 1) / (N (N - 1))."""
    labels = np.asarray(labels)
    n = labels.shape[0]
    if labels.ndim != 1 or n < 2:
        raise InvalidEmbeddingsError(f"labels must be (N,) with N >= 2; got {tuple(labels.shape)}")
    _, counts = np.unique(labels, return_counts=True)
    counts = counts.astype(np.float64)
    return float((counts * (counts - 1)).sum() / (n * (n - 1)))
