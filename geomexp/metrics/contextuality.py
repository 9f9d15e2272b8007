"""How contextual token representations are (Ethayarajh 2019, "How Contextual are Contextualized
Word Representations?"), from rows ``X`` (N, d) labelled by word and by sentence.

- self-similarity of a word: the mean cosine between its occurrences (i != j);
- intra-sentence similarity of a sentence: the mean cosine of its tokens to the sentence's mean vector;
- maximum explainable variance (MEV) of a word: ``sigma_1^2 / sum sigma_i^2`` of its (uncentred)
  occurrence matrix, the share of its occurrences' variation a single direction explains;
- anisotropy baselines (Ethayarajh's adjustment): the mean cosine over ALL pairs of distinct
  rows (closed form, no sampling) for the two similarities, and for MEV the MEV of random
  sets of rows of the same sizes as the words' occurrence sets (seeded).

Values are cosines / shares in [-1, 1] / [0, 1], float64; averages are unweighted over
words (sentences), as in the paper.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geomexp.metrics.isotropy import i_cos_exact, unit_rows
from geomexp.validation import InvalidEmbeddingsError, as_embeddings, check_int, exactly_rescaled


@dataclass
class Contextuality:
    """Per-word and per-sentence values, their means and the anisotropy baselines.

    words: (W,) labels of the words used (those with >= min_occurrences rows); counts: (W,) their rows;
    self_sim, mev: (W,) per word; sentences: (S,) labels of sentences with >= 2 rows; intra_sim: (S,);
    baseline_cos: mean cosine over all pairs of distinct rows; baseline_mev: mean MEV of random row sets
    of the words' sizes.
    """

    words: np.ndarray
    counts: np.ndarray
    self_sim: np.ndarray
    mev: np.ndarray
    sentences: np.ndarray
    intra_sim: np.ndarray
    baseline_cos: float
    baseline_mev: float

    def summary(self) -> dict[str, float]:
        """The means and their anisotropy-adjusted values (mean - baseline), by metric key."""
        self_sim, intra, mev = float(self.self_sim.mean()), float(self.intra_sim.mean()), float(self.mev.mean())
        return {
            "ctx_self_sim": self_sim,
            "ctx_self_sim_adj": self_sim - self.baseline_cos,
            "ctx_intra_sim": intra,
            "ctx_intra_sim_adj": intra - self.baseline_cos,
            "ctx_mev": mev,
            "ctx_mev_adj": mev - self.baseline_mev,
            "ctx_baseline_cos": self.baseline_cos,
            "ctx_baseline_mev": self.baseline_mev,
            "ctx_n_words": float(self.words.size),
            "ctx_n_occurrences": float(self.counts.sum()),
            "ctx_n_sentences": float(self.sentences.size),
        }


def _groups(labels: np.ndarray, min_size: int) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """(labels with >= min_size rows, their sizes, row indices of each), in label order."""
    order = np.argsort(labels, kind="stable")
    uniq, start, counts = np.unique(labels[order], return_index=True, return_counts=True)
    keep = counts >= min_size
    rows = [order[s : s + c] for s, c in zip(start[keep], counts[keep])]
    return uniq[keep], counts[keep], rows


def self_similarity(U: np.ndarray, rows: list[np.ndarray]) -> np.ndarray:
    """(W,) mean cosine over ordered pairs i != j of each group's unit rows ``U[rows[w]]``: ``(||sum u||^2 - n) / (n (n - 1))``."""
    out = np.empty(len(rows))
    for w, r in enumerate(rows):
        s = U[r].sum(axis=0)
        out[w] = (s @ s - r.size) / (r.size * (r.size - 1))
    return out


def max_explainable_variance(A: np.ndarray) -> float:
    """``sigma_1^2 / sum sigma_i^2`` of the uncentred matrix ``A`` (n, d), in [1 / min(n, d), 1]."""
    G = A @ A.T if A.shape[0] <= A.shape[1] else A.T @ A
    lam = np.linalg.eigvalsh(G)
    total = lam.sum()
    if total <= 0:
        raise InvalidEmbeddingsError("MEV of an all-zero occurrence matrix is undefined")
    return float(lam[-1] / total)


#: occurrence sets up to this size share one batched dense eigensolver call per size; larger ones
#: get the top eigenvalue alone from ARPACK (Lanczos), which costs a few products instead of O(n^3)
_MEV_DENSE_MAX = 64


def _top_eigenvalue(A: np.ndarray) -> float:
    """``sigma_1(A)^2`` of ``A`` (n, d): Lanczos on the smaller of ``A^T A`` / ``A A^T`` without forming it
    (two products with ``A`` per step; deterministic start), dense fallback if it does not converge."""
    from scipy.sparse.linalg import ArpackNoConvergence, LinearOperator, eigsh

    n, d = A.shape
    if min(n, d) < 3:  # ARPACK needs k=1 < the operator's size (and is pointless that small)
        return float(np.linalg.svd(A, compute_uv=False)[0] ** 2)
    if d <= n:
        op = LinearOperator((d, d), matvec=lambda v: A.T @ (A @ v), dtype=np.float64)
    else:
        op = LinearOperator((n, n), matvec=lambda v: A @ (A.T @ v), dtype=np.float64)
    try:
        return float(eigsh(op, k=1, which="LA", v0=np.ones(op.shape[0]), return_eigenvectors=False)[0])
    except ArpackNoConvergence:
        return float(np.linalg.svd(A, compute_uv=False)[0] ** 2)


def _mev_of_sets(X: np.ndarray, sets: list[np.ndarray]) -> np.ndarray:
    """(len(sets),) MEV of ``X[rows]`` for each row set: ``lambda_max(A^T A) / ||A||_F^2``.

    Small sets of one size share one batched dense eigensolver call; a larger set's top
    eigenvalue comes from Lanczos on its smaller Gram matrix (same value to rounding).
    """
    out = np.empty(len(sets))
    sizes = np.array([r.size for r in sets])
    for size in np.unique(sizes):
        which = np.flatnonzero(sizes == size)
        if size <= min(_MEV_DENSE_MAX, X.shape[1]):
            A = X[np.stack([sets[w] for w in which])]  # (m, size, d)
            lam = np.linalg.eigvalsh(A @ A.transpose(0, 2, 1))
            top, total = lam[:, -1], np.einsum("mij,mij->m", A, A)
        else:
            top, total = np.empty(which.size), np.empty(which.size)
            for i, w in enumerate(which):
                A = X[sets[w]]
                top[i] = _top_eigenvalue(A)
                total[i] = np.einsum("ij,ij->", A, A)
        if (total <= 0).any():
            raise InvalidEmbeddingsError("MEV of an all-zero occurrence matrix is undefined")
        out[which] = top / total
    return out


def intra_sentence_similarity(X: np.ndarray, U: np.ndarray, rows: list[np.ndarray]) -> np.ndarray:
    """(S,) per sentence: mean over its rows of the cosine between the row and the sentence's mean vector."""
    out = np.empty(len(rows))
    for s, r in enumerate(rows):
        m = X[r].mean(axis=0)
        norm = np.linalg.norm(m)
        if norm == 0:
            raise InvalidEmbeddingsError("a sentence's mean vector is zero; its cosines are undefined")
        out[s] = float((U[r] @ (m / norm)).mean())
    return out


def contextuality(X, word_ids, sentence_ids, *, min_occurrences: int = 5, seed: int = 0) -> Contextuality:
    """Self-similarity, intra-sentence similarity and MEV of ``X`` (N, d) with their baselines.

    word_ids, sentence_ids: (N,) integer labels of each row's word (e.g. its vocabulary id)
    and sentence. Words with at least ``min_occurrences`` rows (>= 2) enter self-similarity
    and MEV; sentences with at least 2 rows enter intra-sentence similarity. ``seed``: the
    random row sets of the MEV baseline.
    """
    X = exactly_rescaled(as_embeddings(X, nonzero_rows=True))  # all three are scale-invariant; 1e200 overflows
    n = X.shape[0]
    min_occurrences = check_int(min_occurrences, "min_occurrences", minimum=2, error=InvalidEmbeddingsError)
    word_ids, sentence_ids = np.asarray(word_ids), np.asarray(sentence_ids)
    for name, labels in (("word_ids", word_ids), ("sentence_ids", sentence_ids)):
        if labels.shape != (n,):
            raise InvalidEmbeddingsError(f"{name} must have shape ({n},) (one label per row of X); got {labels.shape}")
    words, counts, word_rows = _groups(word_ids, min_occurrences)
    if words.size == 0:
        most = int(np.unique(word_ids, return_counts=True)[1].max())
        raise InvalidEmbeddingsError(
            f"no word occurs min_occurrences={min_occurrences} times (the most frequent occurs {most} times); "
            "lower min_occurrences or sample more tokens"
        )
    sentences, _, sentence_rows = _groups(sentence_ids, 2)
    if sentences.size == 0:
        raise InvalidEmbeddingsError("no sentence has 2 or more rows: intra-sentence similarity needs whole sentences")
    U = unit_rows(X)
    rng = np.random.default_rng(seed)
    baseline_mev = _mev_of_sets(X, [rng.choice(n, size=c, replace=False) for c in counts]).mean()
    return Contextuality(
        words=words,
        counts=counts,
        self_sim=self_similarity(U, word_rows),
        mev=_mev_of_sets(X, word_rows),
        sentences=sentences,
        intra_sim=intra_sentence_similarity(X, U, sentence_rows),
        baseline_cos=i_cos_exact(X),
        baseline_mev=float(baseline_mev),
    )
