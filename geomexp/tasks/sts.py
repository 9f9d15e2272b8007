"""STS 2017 (paper §5): cosine of mean-pooled token vectors against gold scores, raw and after an
isotropy enhancement fitted on the track itself ("individual") or on English ("zero-shot")."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geomexp.analyses.base import AnalysisInfo, AnalysisResult, MetricInfo, ReportTable
from geomexp.analyses.keys import space_suffix
from geomexp.data.sts import track_checksums, track_id, track_info
from geomexp.metrics.bootstrap import check_level
from geomexp.sts import cosine_scores, last_pool, mean_pool, sts_intervals, sts_scores
from geomexp.validation import check_choice, check_int

ZERO_SHOT_FITS = ("english_corpus", "english_side")
POOLINGS = ("mean", "last")

#: noise floor of a Spearman x 100 across CPU kinds: two predictions closer than the encoder's
#: cross-kernel noise (1e-6 and more after 6-decimal rounding) can swap ranks, and one adjacent swap
#: on a 250-pair track moves rho x 100 by up to ~0.01 (measured: 0.008 on track 2, torch's default
#: kernel against AVX-512). Pearson moves continuously (7e-5 measured): 1e-3.
SPEARMAN_ATOL = 0.02

STS_INFO = AnalysisInfo(
    name="sts",
    title="STS 2017",
    kind="task",
    metrics=(
        MetricInfo(
            "sts_spearman",
            "STS Spearman x100",
            1,
            "higher",
            headline=True,
            description="Spearman x 100 of cosine vs gold",
            atol=SPEARMAN_ATOL,
        ),
        MetricInfo("sts_pearson", "STS Pearson x100", 1, "higher", atol=1e-3),
        MetricInfo(
            "sts_gain",
            "STS gain",
            1,
            "higher",
            description="Spearman gain of an enhanced space over the raw one",
            atol=SPEARMAN_ATOL,
        ),
        MetricInfo(
            "sts_spearman_ci_low",
            "Spearman 95% low",
            1,
            description="bootstrap interval over pairs (ci_level)",
            curve=False,
            kind="bound",
            atol=SPEARMAN_ATOL,
        ),
        MetricInfo("sts_spearman_ci_high", "Spearman 95% high", 1, curve=False, kind="bound", atol=SPEARMAN_ATOL),
        MetricInfo(
            "sts_gain_ci_low",
            "gain 95% low",
            1,
            description="paired bootstrap interval of the gain",
            curve=False,
            kind="bound",
            atol=SPEARMAN_ATOL,
        ),
        MetricInfo("sts_gain_ci_high", "gain 95% high", 1, curve=False, kind="bound", atol=SPEARMAN_ATOL),
        MetricInfo(
            "sts_gain_p",
            "gain p",
            4,
            "lower",
            description="paired bootstrap two-sided p-value of no gain",
            kind="p_value",
        ),
        MetricInfo("sts_n_pairs", "pairs", 0, curve=False, kind="count"),
    ),
    tables=(
        ReportTable(
            "sts",
            "STS 2017 by track: Spearman x 100",
            ("sts_spearman",),
            pivot="subject",
            description="tracks: 1 ar-ar, 2 ar-en, 3 es-es, 4a es-en, 4b es-en (WMT), 5 en-en, 6 tr-en",
        ),
        ReportTable(
            "sts_gain",
            "STS: Spearman x 100 with its bootstrap interval, and the gain of each enhanced space",
            (
                "sts_spearman",
                "sts_spearman_ci_low",
                "sts_spearman_ci_high",
                "sts_gain",
                "sts_gain_ci_low",
                "sts_gain_ci_high",
                "sts_gain_p",
            ),
            description="intervals: percentile bootstrap over sentence pairs; gain: paired bootstrap over the same pairs, "
            "two-sided p-value of no gain",
        ),
    ),
)


def pool_sentences(X, sample, n: int, pooling: str) -> np.ndarray:
    """(n, d) sentence vectors of the rows ``X`` (N, d) of ``sample``: the mean of each sentence's content
    tokens (``pooling="mean"``) or its last content token (``"last"``)."""
    if pooling == "last":
        return last_pool(X, sample.sentence_ids, sample.positions, n)
    return mean_pool(X, sample.sentence_ids, n)


@dataclass(frozen=True)
class StsTask:
    """One STS 2017 track. ``track``: 1, 2, 3, 4a, 4b, 5, 6 or a pair (``ar-en``, ``es-en-wmt``, ...).

    A sentence is the mean of its token vectors at a layer (special tokens excluded; ``pooling=mean``,
    the paper's) or its last content token's vector (``pooling=last``, usual for causal decoders); the
    prediction is the cosine of the two sentences. With an enhancement (``enhancement`` not None):

    - individual (key suffix ``/<method>``): fitted on the track's own token vectors (both sides);
    - zero-shot (suffix ``/<method>/zero_shot``, if ``zero_shot``): fitted on English data and
      applied to both sides. ``zero_shot_fit`` says which, the same rule for every track:
      ``english_corpus`` (default): the run's sample of the English Wikipedia corpus (never the
      track's own test sentences); ``english_side``: the English side of the track where it has one
      (cross-lingual tracks; en-en is then skipped), else the English corpus.

    Metrics: ``sts_spearman``, ``sts_pearson`` (raw space) and with the suffixes above,
    ``sts_gain/<...>`` (Spearman gain over the raw space), ``sts_n_pairs``; with ``n_bootstrap`` > 0
    (seeded by the run's seed) ``sts_spearman_ci_low``/``_high`` (percentile bootstrap over sentence
    pairs at ``ci_level``) and, per enhanced space, ``sts_gain_ci_low``/``_high`` and ``sts_gain_p``
    (paired bootstrap over the same pairs; two-sided p-value of no gain). Table
    ``sts_predictions.json``; figure ``sts_scatter.png``. Tags ``sts_track``, ``sts_pair``,
    ``sts_zero_shot_fit``.
    """

    track: str = "5"
    zero_shot: bool = True
    zero_shot_fit: str = "english_corpus"
    n_bootstrap: int = 1000
    ci_level: float = 0.95
    plot: bool = False
    pooling: str = "mean"

    info = STS_INFO

    def __post_init__(self):
        object.__setattr__(self, "track", track_id(self.track))  # a pair name becomes its number
        check_choice(self.zero_shot_fit, "analysis.sts.zero_shot_fit", ZERO_SHOT_FITS)
        check_choice(self.pooling, "analysis.sts.pooling", POOLINGS)
        check_int(self.n_bootstrap, "analysis.sts.n_bootstrap", minimum=0)
        check_level(self.ci_level)

    def data_checksums(self) -> dict[str, str]:
        """Checksums of the data files this task reads (part of the run's identity)."""
        return track_checksums(self.track)

    @property
    def subject(self) -> str:
        info = track_info(self.track)
        return f"sts{self.track} {info.pair}"

    def evaluate(self, reps, layer: int, enhancement=None, *, seed: int = 0, title: str = "") -> AnalysisResult:
        t = reps.sts_track(self.track)
        n = len(t.gold)
        sa, sb = reps.encode(t.sentences_a), reps.encode(t.sentences_b)
        Xa, Xb = sa.layer(layer), sb.layer(layer)

        def scores(Ya, Yb):
            return cosine_scores(pool_sentences(Ya, sa, n, self.pooling), pool_sentences(Yb, sb, n, self.pooling))

        preds = {"": scores(Xa, Xb)}
        tags = {"sts_track": t.track, "sts_pair": t.pair, "sts_pooling": self.pooling}
        if enhancement is not None:
            individual = enhancement.build().fit(np.concatenate([Xa, Xb]))
            preds[space_suffix(enhancement.name)] = scores(individual.transform(Xa), individual.transform(Xb))
            side = self.zero_shot_fit == "english_side" and "en" in (t.lang_a, t.lang_b)
            if self.zero_shot and not (side and t.lang_a == t.lang_b == "en"):
                if side:
                    fit_on, tags["sts_zero_shot_fit"] = (Xa if t.lang_a == "en" else Xb), "english side"
                else:
                    fit_on, tags["sts_zero_shot_fit"] = reps.corpus_sample("en").layer(layer), "english corpus"
                zs = enhancement.build().fit(fit_on)
                preds[space_suffix(enhancement.name, zero_shot=True)] = scores(zs.transform(Xa), zs.transform(Xb))
        metrics: dict[str, float] = {"sts_n_pairs": float(n)}
        for suffix, pred in preds.items():
            scores = sts_scores(pred, t.gold)
            metrics[f"sts_spearman{suffix}"] = scores["spearman"]
            metrics[f"sts_pearson{suffix}"] = scores["pearson"]
            if suffix:
                metrics[f"sts_gain{suffix}"] = scores["spearman"] - metrics["sts_spearman"]
        if self.n_bootstrap:
            metrics.update(sts_intervals(preds, t.gold, n_boot=self.n_bootstrap, level=self.ci_level, seed=seed))
        names = {suffix: suffix.lstrip("/").replace("/", " ") or "raw" for suffix in preds}
        table = {
            "track": t.track,
            "pair": t.pair,
            "sentence_a": list(t.sentences_a),
            "sentence_b": list(t.sentences_b),
            "gold": t.gold.tolist(),
            **{f"pred_{names[s]}": p.round(6).tolist() for s, p in preds.items()},
        }
        figures = {}
        if self.plot:
            from geomexp.plots import sts_scatter

            figures["sts_scatter.png"] = sts_scatter(
                t.gold,
                {names[s]: p for s, p in preds.items()},
                {names[s]: metrics[f"sts_spearman{s}"] for s in preds},
                title=f"STS track {t.track} ({t.pair}) — {title}",
            )
        return AnalysisResult(metrics=metrics, figures=figures, tables={"sts_predictions.json": table}, tags=tags)
