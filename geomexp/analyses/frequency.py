"""Frequency bias (the paper's frequency analysis): do the dominant directions of the space encode word frequency?

Token rows are pooled into words (mean of each word's pieces), each word gets
a Zipf-scale log-frequency (wordfreq, or counted in the corpus where wordfreq
does not cover the language), and the word vectors are compared with it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from geomexp.analyses.base import AnalysisResult, MetricInfo, ReportTable, analysis
from geomexp.figures.plots import frequency_pca_plot
from geomexp.frequency.errors import FrequencyError
from geomexp.frequency.measures import frequency_bias
from geomexp.frequency.sources import MIN_CORPUS_WORDS, word_log_frequencies
from geomexp.frequency.words import WordReps, pool_words
from geomexp.linalg import principal_coordinates
from geomexp.validation import check_positive_int, flag, integer


def _words_table(
    reps: WordReps, log_freq: np.ndarray, pc1: np.ndarray, *, rows: int, seed: int, source: str, note: str
) -> dict:
    """At most ``rows`` words (seeded sample), most frequent first, with log-frequency and PC1 coordinate."""
    n = len(reps)
    pick = np.arange(n) if n <= rows else np.random.default_rng(seed).choice(n, size=rows, replace=False)
    pick = pick[np.argsort(-log_freq[pick], kind="stable")]
    return {
        "source": source,
        "note": note,
        "n_words": n,
        "n_shown": int(pick.size),
        "words": [
            {
                "word": reps.words[i],
                "log_freq": round(float(log_freq[i]), 4),
                "pc1": round(float(pc1[i]), 6),
                "n_pieces": int(reps.n_pieces[i]),
                "sentence_id": int(reps.sentence_ids[i]),
            }
            for i in pick.tolist()
        ],
    }


@analysis(
    "frequency",
    "Frequency bias",
    metrics=[
        MetricInfo(
            "freq_rho_pc1",
            "rho(freq, PC1)",
            3,
            headline=True,
            description="Spearman of log frequency with PC1",
            atol=1e-6,
        ),
        MetricInfo(
            "freq_probe_r2",
            "probe R2",
            3,
            headline=True,
            description="cross-validated R2 of a linear probe for log frequency",
            atol=1e-6,
        ),
        MetricInfo("freq_rho_pc{k}", "rho(freq, PC{k})", 3, atol=1e-6),
        MetricInfo("freq_abs_rho_pc_max", "max |rho(freq, PC)|", 3, atol=1e-6),
        MetricInfo("freq_rho_norm", "rho(freq, norm)", 3, atol=1e-6),
        MetricInfo("freq_rho_mean_dir", "rho(freq, mean direction)", 3, atol=1e-6),
        MetricInfo("freq_n_words", "words used", 0, curve=False, kind="count"),
        MetricInfo("freq_n_dropped", "words without a frequency", 0, curve=False, kind="count"),
        MetricInfo("freq_mean_pieces", "tokens per word", 2, curve=False),
    ],
    needs=("sample", "sentences", "lang"),
    tables=[
        ReportTable(
            "frequency",
            "Frequency bias",
            ("freq_rho_pc1", "freq_probe_r2"),
            description="Spearman rho of log word frequency with PC1; R2 of a linear probe",
        )
    ],
    params={
        "n_components": integer(1),
        "cv_folds": integer(2),
        "min_words": integer(1),
        "min_corpus_words": integer(1),
        "plot": flag(),
        "plot_points": integer(1),
        "table_rows": integer(0),
    },
)
def frequency_analysis(
    X: np.ndarray,
    *,
    sample,
    sentences: Sequence[str],
    lang: str,
    seed: int = 0,
    title: str = "",
    n_components: int = 5,
    cv_folds: int = 5,
    min_words: int = 50,
    min_corpus_words: int = MIN_CORPUS_WORDS,
    plot: bool = False,
    plot_points: int = 2000,
    table_rows: int = 500,
) -> AnalysisResult:
    """Frequency bias of the words in ``X`` (N, d), one layer of ``sample`` (a ``TokenSample``).

    ``sample.sentence_ids/word_ids/char_spans`` index ``sentences`` (the whole
    corpus, also used to count frequencies when wordfreq lacks ``lang``).
    Words without a frequency (punctuation, words unknown to the source) are
    left out and counted; fewer than ``min_words`` left raises ``FrequencyError``.

    Metrics (see ``frequency_bias``): ``freq_rho_pc1`` .. ``freq_rho_pc<n_components>``,
    ``freq_abs_rho_pc_max``, ``freq_rho_norm``, ``freq_rho_mean_dir``, ``freq_probe_r2``;
    counts ``freq_n_words`` (words used), ``freq_n_dropped`` (words without a
    frequency), ``freq_mean_pieces`` (tokens per word used).
    Figure: ``frequency_pca.png`` (if ``plot``): the PCA of all words used, on the axes (and signs) of
    ``freq_rho_pc1``, so the plot and the logged rho agree (``geomexp.figures.plots.frequency_pca_plot``). Table: ``frequency_words.json``
    (at most ``table_rows`` words). Tag: ``freq_source`` (``wordfreq`` or ``corpus``).
    """
    min_words = check_positive_int(min_words, "min_words")
    table_rows = check_positive_int(table_rows, "table_rows")
    n_rows = np.asarray(X).shape[0] if np.ndim(X) == 2 else None
    if n_rows != sample.n_tokens:
        raise FrequencyError(f"X must be one layer of `sample`, shape ({sample.n_tokens}, d); got {np.shape(X)}")
    reps = pool_words(X, sample.sentence_ids, sample.word_ids, sample.char_spans, sentences)
    freqs = word_log_frequencies(reps.words, lang, sentences, min_corpus_words=min_corpus_words)
    known = freqs.known
    n_known = int(known.sum())
    if n_known < min_words:
        raise FrequencyError(
            f"only {n_known} of {len(reps)} words have a frequency ({freqs.note}); "
            f"the frequency analysis needs at least min_words={min_words}: sample more tokens"
        )
    used = reps.subset(known)
    log_freq = freqs.log_freq[known]
    measures = frequency_bias(used.vectors, log_freq, n_components=n_components, cv_folds=cv_folds, seed=seed)
    metrics = {f"freq_{k}": v for k, v in measures.items()}
    metrics.update(
        freq_n_words=float(n_known),
        freq_n_dropped=float(len(reps) - n_known),
        freq_mean_pieces=float(used.n_pieces.mean()),
    )
    pc1 = principal_coordinates(used.vectors, 1)[0][:, 0]
    words = _words_table(used, log_freq, pc1, rows=table_rows, seed=seed, source=freqs.source, note=freqs.note)
    figures = {}
    if plot:
        origin = "wordfreq Zipf" if freqs.source == "wordfreq" else "corpus count"
        figures["frequency_pca.png"] = frequency_pca_plot(
            used.vectors,
            log_freq,
            title=title or f"{n_known} words by frequency ({freqs.source})",
            max_points=plot_points,
            seed=seed,
            label=f"log10 freq. per 1e9 words ({origin})",
            rho=metrics.get("freq_rho_pc1"),
        )
    return AnalysisResult(
        metrics=metrics, figures=figures, tables={"frequency_words.json": words}, tags={"freq_source": freqs.source}
    )
