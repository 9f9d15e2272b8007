"""Cross-lingual alignment by retrieval, per layer, on the two sides of an STS 2017 track's sentence pairs:
does a sentence's vector find its partner's among all the other side's sentences?"""

from __future__ import annotations

from dataclasses import dataclass

from geomexp.analyses.base import AnalysisInfo, AnalysisResult, MetricInfo, ReportTable
from geomexp.metrics.retrieval import retrieval_accuracy, retrieval_chance, retrieval_margin
from geomexp.tasks.language_similarity import StsTrackPairsTask

#: a hit turns into a miss where the partner's cosine and the best other's tie to float32 rounding (inputs that
#: differ in their last bits between CPU kinds): one such flip moves the accuracy by 1/n (0.004 at 250 pairs)
_FLIP_ATOL = 0.01

RETRIEVAL_INFO = AnalysisInfo(
    name="retrieval",
    title="Cross-lingual retrieval on STS pairs",
    kind="task",
    metrics=(
        MetricInfo(
            "retrieval_acc",
            "retrieval accuracy",
            3,
            better="higher",
            headline=True,
            description="share of sentences whose partner is the most cosine-similar sentence of the other side "
            "(top-1, both directions averaged)",
            atol=_FLIP_ATOL,
        ),
        MetricInfo("retrieval_acc_ab", "retrieval accuracy A->B", 3, better="higher", atol=_FLIP_ATOL),
        MetricInfo("retrieval_acc_ba", "retrieval accuracy B->A", 3, better="higher", atol=_FLIP_ATOL),
        MetricInfo(
            "retrieval_margin",
            "retrieval margin",
            3,
            better="higher",
            headline=True,
            description="mean cos(partner) - max cos(other sentence): > 0 where the partner stands out",
            atol=1e-6,
        ),
        MetricInfo("retrieval_chance", "retrieval by chance", 4, description="1 / pairs: unrelated sides", curve=False),
        MetricInfo("retrieval_n_pairs", "pairs", 0, description="pairs (gold >= min_gold)", curve=False, kind="count"),
    ),
    tables=(
        ReportTable(
            "retrieval",
            "Cross-lingual retrieval on STS pairs: top-1 accuracy and margin",
            ("retrieval_acc", "retrieval_margin", "retrieval_chance", "retrieval_n_pairs"),
            description="each sentence looks for its partner among all the other side's sentences (cosine)",
        ),
    ),
)


@dataclass(frozen=True)
class RetrievalTask(StsTrackPairsTask):
    """Top-1 retrieval of each pair's partner between the two sides of an STS track, per layer.

    track: 1, 2, 3, 4a, 4b, 5, 6 or a pair name; the cross-lingual ones are 2 ar-en, 4a es-en, 4b es-en
    (WMT), 6 tr-en. Sentence vectors pooled as ``analysis=sts`` pools them (``pooling``: mean or last);
    ``min_gold``: keep pairs whose gold score (0-5) is at least this (5: the sides mean the same, the
    closest to translations). Metrics: ``retrieval_acc`` (mean of ``retrieval_acc_ab`` and ``_ba``),
    ``retrieval_margin``, ``retrieval_chance`` (1/n), ``retrieval_n_pairs``; with an enhancement, the
    accuracies and margin also with suffix ``/<method>`` (fitted on the track's own token vectors, both
    sides). Tags ``retrieval_track``, ``retrieval_pair``. ``seed`` is unused (deterministic).
    """

    info = RETRIEVAL_INFO

    def evaluate(self, reps, layer: int, enhancement=None, *, seed: int = 0, title: str = "") -> AnalysisResult:
        t, spaces = self.sentence_vectors(reps, layer, enhancement)
        n = len(spaces[""][0])
        metrics: dict[str, float] = {"retrieval_n_pairs": float(n), "retrieval_chance": retrieval_chance(n)}
        for suffix, (A, B) in spaces.items():
            ab, ba = retrieval_accuracy(A, B)
            metrics[f"retrieval_acc{suffix}"] = (ab + ba) / 2
            metrics[f"retrieval_acc_ab{suffix}"] = ab
            metrics[f"retrieval_acc_ba{suffix}"] = ba
            metrics[f"retrieval_margin{suffix}"] = retrieval_margin(A, B)
        return AnalysisResult(
            metrics=metrics, tags={"retrieval_track": t.track, "retrieval_pair": f"{t.lang_a}-{t.lang_b}"}
        )
