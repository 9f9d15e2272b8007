"""STS 2017 evaluation (paper §5): cosine of mean-pooled token vectors against gold scores,
before and after an isotropy enhancement fitted on the track itself ("individual") or on
English ("zero-shot")."""

from __future__ import annotations

import numpy as np

from geomexp.analyses.base import AnalysisResult
from geomexp.sts import cosine_scores, mean_pool, sts_scores


def _pooled_scores(Ya, Yb, ids_a, ids_b, n) -> np.ndarray:
    return cosine_scores(mean_pool(Ya, ids_a, n), mean_pool(Yb, ids_b, n))


def sts_analysis(
    X,
    *,
    track: str = "5",
    layer: int,
    load_sts,
    encode,
    make_enhancer,
    english_reps,
    zero_shot: bool = True,
    plot: bool = True,
    title: str = "",
) -> AnalysisResult:
    """Spearman × 100 (and Pearson) of predicted vs gold similarity on one STS 2017 track.

    A sentence is the mean of its token vectors at ``layer`` (special tokens
    excluded); the prediction is the cosine of the two sentences. ``X`` (the run's
    corpus sample) is not used. With an enhancement (``make_enhancer()`` returns a
    new unfitted one, or None):

    - ``individual``: fitted on the token vectors of the track's own sentences (both sides);
    - ``zero_shot``: fitted on English and applied to both sides: the English side of
      a cross-lingual track, or the English corpus sample (``english_reps()``) for a
      non-English monolingual track; not defined for en-en (skipped).

    Metrics: ``sts_spearman/<mode>``, ``sts_pearson/<mode>``, ``sts_gain/<mode>``
    (Spearman gain over baseline), ``sts_n_pairs``. Table ``sts_predictions.json``
    (every pair: sentences, gold, prediction per mode); figure ``sts_scatter.png``.
    Tags: ``sts_track``, ``sts_pair``, ``sts_zero_shot_fit`` (what zero-shot was fitted on).
    """
    t = load_sts(track)
    n = len(t.gold)
    sa, sb = encode(t.sentences_a), encode(t.sentences_b)
    Xa, Xb = sa.layer(layer), sb.layer(layer)
    preds = {"baseline": _pooled_scores(Xa, Xb, sa.sentence_ids, sb.sentence_ids, n)}
    tags = {"sts_track": t.track, "sts_pair": t.pair}
    if make_enhancer() is not None:
        individual = make_enhancer().fit(np.concatenate([Xa, Xb]))
        preds["individual"] = _pooled_scores(individual.transform(Xa), individual.transform(Xb), sa.sentence_ids, sb.sentence_ids, n)
        if zero_shot and not (t.lang_a == t.lang_b == "en"):
            if "en" in (t.lang_a, t.lang_b):
                fit_on, tags["sts_zero_shot_fit"] = (Xa if t.lang_a == "en" else Xb), "english side"
            else:
                fit_on, tags["sts_zero_shot_fit"] = english_reps(), "english corpus"
            zs = make_enhancer().fit(fit_on)
            preds["zero_shot"] = _pooled_scores(zs.transform(Xa), zs.transform(Xb), sa.sentence_ids, sb.sentence_ids, n)
    metrics: dict[str, float] = {"sts_n_pairs": float(n)}
    for mode, pred in preds.items():
        scores = sts_scores(pred, t.gold)
        metrics[f"sts_spearman/{mode}"] = scores["spearman"]
        metrics[f"sts_pearson/{mode}"] = scores["pearson"]
        if mode != "baseline":
            metrics[f"sts_gain/{mode}"] = scores["spearman"] - metrics["sts_spearman/baseline"]
    table = {
        "track": t.track,
        "pair": t.pair,
        "sentence_a": list(t.sentences_a),
        "sentence_b": list(t.sentences_b),
        "gold": t.gold.tolist(),
        **{f"pred_{mode}": p.round(6).tolist() for mode, p in preds.items()},
    }
    figures = {}
    if plot:
        from geomexp.plots import sts_scatter

        figures["sts_scatter.png"] = sts_scatter(t.gold, preds, {m: metrics[f"sts_spearman/{m}"] for m in preds}, title=f"STS track {t.track} ({t.pair}) — {title}")
    return AnalysisResult(metrics=metrics, figures=figures, tables={"sts_predictions.json": table}, tags=tags)


sts_analysis.uses_corpus_sample = False  # the pipeline need not sample the run's corpus for it
