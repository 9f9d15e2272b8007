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


def last_pool(X: np.ndarray, sentence_ids: np.ndarray, positions: np.ndarray, n_sentences: int) -> np.ndarray:
    """Sentence vectors (n_sentences, d) float64: each sentence's LAST content token row of ``X`` (N, d).

    The last token is the row of the largest input position (``positions`` (N,)) among the sentence's
    rows (special tokens absent already): for a causal decoder, the one token that has seen the whole
    sentence. A sentence with no row raises.
    """
    ids, pos = np.asarray(sentence_ids), np.asarray(positions)
    counts = np.bincount(ids, minlength=n_sentences)
    if counts.size != n_sentences or (counts == 0).any():
        missing = np.flatnonzero(counts[:n_sentences] == 0)
        raise ValueError(f"{missing.size} sentence(s) have no token (first: {missing[:5].tolist()})")
    order = np.lexsort((pos, ids))  # by sentence, then position: each sentence's last row closes its run
    last = order[np.cumsum(counts) - 1]
    return np.asarray(X, dtype=np.float64)[last]


#: decimals STS predictions (cosines) are rounded to before they are scored. Cosines of sentence vectors
#: pooled from float32 encodings differ across CPU kernels at ~1e-7, and identical sentences give
#: 1 +- 1e-15: unrounded, which of two such predictions ranks first was decided by rounding and moved
#: Spearman by up to 0.025 points (issue 32). At 6 decimals those are ties (mean ranks), and the score
#: equals the one recomputed from the stored ``sts_predictions.json`` (also 6 decimals).
SCORE_DECIMALS = 6


def cosine_scores(A: np.ndarray, B: np.ndarray, decimals: int | None = SCORE_DECIMALS) -> np.ndarray:
    """Row-wise cosine similarity of two (n, d) arrays -> (n,), rounded to ``decimals`` (None: unrounded)."""
    num = np.einsum("nd,nd->n", A, B)
    cos = num / (np.linalg.norm(A, axis=1) * np.linalg.norm(B, axis=1))
    return cos if decimals is None else np.round(cos, decimals)


def sts_scores(pred: np.ndarray, gold: np.ndarray) -> dict[str, float]:
    """``{"spearman": ρ × 100, "pearson": r × 100}`` of predicted vs gold similarities."""
    return {"spearman": 100 * spearman(pred, gold), "pearson": 100 * pearson(pred, gold)}


def sts_intervals(
    preds: dict[str, np.ndarray], gold: np.ndarray, *, n_boot: int = 1000, level: float = 0.95, seed: int = 0
) -> dict[str, float]:
    """Bootstrap intervals over sentence pairs for the Spearman x 100 of every prediction, and the paired
    bootstrap of each enhanced prediction's gain over the raw one (``preds[""]``).

    preds: ``{metric-key suffix: (n,) predicted similarities}``; the same resampled pairs serve all.
    Returns ``sts_spearman_ci_low<suffix>``, ``sts_spearman_ci_high<suffix>`` and, for every suffix but
    ``""``, ``sts_gain_ci_low<suffix>``, ``sts_gain_ci_high<suffix>``, ``sts_gain_p<suffix>`` (two-sided).
    """
    from geomexp.metrics.bootstrap import paired_p_value, percentile_interval, resample_indices, spearman_rows

    gold = np.asarray(gold, dtype=np.float64)
    idx = resample_indices(gold.size, n_boot, seed)
    G = gold[idx]
    resampled = {s: 100 * spearman_rows(np.asarray(p, dtype=np.float64)[idx], G) for s, p in preds.items()}
    out = {}
    for suffix, values in resampled.items():
        ci = percentile_interval(values, level)
        out[f"sts_spearman_ci_low{suffix}"], out[f"sts_spearman_ci_high{suffix}"] = ci.low, ci.high
        if suffix:
            gain = values - resampled[""]
            ci = percentile_interval(gain, level)
            out[f"sts_gain_ci_low{suffix}"], out[f"sts_gain_ci_high{suffix}"] = ci.low, ci.high
            out[f"sts_gain_p{suffix}"] = paired_p_value(gain)
    return out
