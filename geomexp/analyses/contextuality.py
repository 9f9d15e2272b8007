"""Contextuality (Ethayarajh 2019): self-similarity, intra-sentence similarity and maximum
explainable variance, each also adjusted for anisotropy."""

from __future__ import annotations

import numpy as np

from geomexp.analyses.base import AnalysisResult, MetricInfo, ReportTable, analysis
from geomexp.metrics.contextuality import contextuality
from geomexp.validation import check_int, flag, integer


@analysis(
    "contextuality",
    "Contextuality (Ethayarajh 2019)",
    metrics=[
        MetricInfo(
            "ctx_self_sim_adj",
            "self-similarity (adjusted)",
            3,
            headline=True,
            description="mean cosine between a word's occurrences minus the random-pair baseline",
            atol=1e-6,
        ),
        MetricInfo(
            "ctx_intra_sim_adj",
            "intra-sentence similarity (adjusted)",
            3,
            headline=True,
            description="mean cosine of a sentence's tokens to its mean vector minus the baseline",
            atol=1e-6,
        ),
        MetricInfo(
            "ctx_mev_adj",
            "MEV (adjusted)",
            3,
            headline=True,
            description="share of a word's occurrence variance on its first singular direction minus the baseline",
            atol=1e-6,
        ),
        MetricInfo("ctx_self_sim", "self-similarity", 3, atol=1e-6),
        MetricInfo("ctx_intra_sim", "intra-sentence similarity", 3, atol=1e-6),
        MetricInfo("ctx_mev", "MEV", 3, atol=1e-6),
        MetricInfo("ctx_baseline_cos", "baseline: mean cosine of all pairs", 3, atol=1e-6),
        MetricInfo("ctx_baseline_mev", "baseline: MEV of random rows", 3, atol=1e-6),
        MetricInfo(
            "ctx_n_words", "words used", 0, description="words with >= min_occurrences occurrences", kind="count"
        ),
        MetricInfo("ctx_n_occurrences", "their occurrences", 0, kind="count"),
        MetricInfo(
            "ctx_n_sentences", "sentences used", 0, description="sentences with >= 2 sampled tokens", kind="count"
        ),
    ],
    needs=("sample", "sentences"),
    tables=[
        ReportTable(
            "contextuality",
            "Contextuality (anisotropy-adjusted)",
            ("ctx_self_sim_adj", "ctx_intra_sim_adj", "ctx_mev_adj", "ctx_n_words"),
            description="Ethayarajh 2019; lower self-similarity = more contextual; a word = a vocabulary token",
        )
    ],
    params={"min_occurrences": integer(2), "top_words": integer(0), "plot": flag()},
)
def contextuality_analysis(
    X: np.ndarray,
    *,
    sample,
    sentences,
    min_occurrences: int = 5,
    top_words: int = 30,
    plot: bool = False,
    seed: int = 0,
    title: str = "",
) -> AnalysisResult:
    """Ethayarajh's contextuality measures of ``X`` (N, d), the rows of ``sample`` (its ``TokenSample``).

    A "word" is a vocabulary token: rows with the same ``sample.token_ids`` are occurrences
    of one word (sub-word pieces count as their own words); a sentence is
    ``sample.sentence_ids``. Words with at least ``min_occurrences`` rows enter self-similarity
    and MEV; sentences with at least 2 rows enter intra-sentence similarity (the YAML samples
    whole sentences, so every token of a sentence is there). Baselines: the mean cosine of
    all pairs of distinct rows (similarities) and the MEV of random row sets of the same sizes
    (seeded with ``seed``).
    Metrics: ``ctx_self_sim``, ``ctx_intra_sim``, ``ctx_mev``, each with ``_adj`` (minus its
    baseline), ``ctx_baseline_cos``, ``ctx_baseline_mev``, ``ctx_n_words``,
    ``ctx_n_occurrences``, ``ctx_n_sentences``.
    Table ``words.json``: the ``top_words`` most frequent words used (text, count,
    self-similarity, MEV). Figure ``self_similarity.png``: histogram of the words'
    self-similarity with the baseline marked (if ``plot``).
    """
    min_occurrences = check_int(min_occurrences, "analysis.contextuality.min_occurrences", minimum=2)
    top_words = check_int(top_words, "analysis.contextuality.top_words", minimum=0)
    res = contextuality(X, sample.token_ids, sample.sentence_ids, min_occurrences=min_occurrences, seed=seed)
    metrics = res.summary()
    first = {}
    for row, tok in enumerate(sample.token_ids):
        first.setdefault(int(tok), row)
    top = np.argsort(-res.counts, kind="stable")[:top_words]

    def text(token: int) -> str:
        row = first[token]
        start, end = sample.char_spans[row]
        return sentences[sample.sentence_ids[row]][start:end]

    table = {
        "word": "vocabulary token (token id)",
        "min_occurrences": min_occurrences,
        "words": [
            {
                "token_id": int(res.words[w]),
                "text": text(int(res.words[w])),
                "count": int(res.counts[w]),
                "self_sim": float(res.self_sim[w]),
                "mev": float(res.mev[w]),
            }
            for w in top
        ],
    }
    figures = {}
    if plot:
        from geomexp.figures.plots import value_histogram

        figures["self_similarity.png"] = value_histogram(
            res.self_sim,
            {"anisotropy baseline": res.baseline_cos, "mean": metrics["ctx_self_sim"]},
            title=f"{title + ': ' if title else ''}self-similarity of {res.words.size} words",
            xlabel="self-similarity (mean cosine between a word's occurrences)",
        )
    return AnalysisResult(metrics=metrics, figures=figures, tables={"words.json": table})
