"""STS evaluation on token representations: mean-pooled sentences, cosine scores, Spearman × 100."""

from __future__ import annotations

import numpy as np

from geomexp.metrics.correlation import pearson, spearman


def mean_pool(X: np.ndarray, sentence_ids: np.ndarray, n_sentences: int) -> np.ndarray:
    """Sentence vectors (n_sentences, d) float64: the mean of each sentence's token rows of ``X`` (N, d).

    ``sentence_ids`` (N,) says which sentence each row belongs to (0..n_sentences-1);
    special tokens are expected to be absent already. A sentence with no row raises.
    """
    ids = np.asarray(sentence_ids)
    counts = np.bincount(ids, minlength=n_sentences)
    if counts.size != n_sentences or (counts == 0).any():
        missing = np.flatnonzero(counts[:n_sentences] == 0)
        raise ValueError(f"{missing.size} sentence(s) have no token (first: {missing[:5].tolist()})")
    sums = np.zeros((n_sentences, X.shape[1]))
    np.add.at(sums, ids, np.asarray(X, dtype=np.float64))
    return sums / counts[:, None]


def cosine_scores(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two (n, d) arrays -> (n,)."""
    num = np.einsum("nd,nd->n", A, B)
    return num / (np.linalg.norm(A, axis=1) * np.linalg.norm(B, axis=1))


def sts_scores(pred: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    """``{"spearman": ρ × 100, "pearson": r × 100}`` of predicted vs gold similarities."""
    return {"spearman": 100 * spearman(pred, gold), "pearson": 100 * pearson(pred, gold)}
