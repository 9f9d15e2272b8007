"""Representation similarity between two languages at one layer, on aligned units: the two sides of
the sentence pairs of an STS 2017 track (cross-lingual tracks 2 ar-en, 4a es-en, 4b es-en WMT, 6 tr-en).

Row i of side A and row i of side B are the same pair, so linear CKA and Procrustes distance between
the two sides' sentence vectors say how alike the two languages' spaces are on matched content, and
mutual k-NN and CKNNA (Huh et al. 2024) whether a sentence's neighbours are its partner's neighbours; the
same pairs shuffled give CKA's chance level (~0), k / (n - 1) is mutual k-NN's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geomexp.analyses.base import AnalysisInfo, AnalysisResult, MetricInfo, ReportTable
from geomexp.analyses.keys import space_suffix
from geomexp.errors import ConfigError
from geomexp.metrics.neighbours import cknna, mutual_knn, mutual_knn_chance
from geomexp.metrics.similarity import paired_similarity
from geomexp.tasks.sts.data import track_checksums, track_id, track_info
from geomexp.tasks.sts.task import POOLINGS, pool_sentences
from geomexp.validation import check_choice, check_int

LSIM_INFO = AnalysisInfo(
    name="language_similarity",
    title="Language similarity on STS pairs (CKA, Procrustes)",
    kind="task",
    metrics=(
        MetricInfo(
            "lsim_cka",
            "CKA between languages",
            3,
            headline=True,
            description="debiased linear CKA of the two sides' sentence vectors, row i = pair i (Kornblith et al. 2019)",
            atol=1e-6,
        ),
        MetricInfo(
            "lsim_cka_shuffled",
            "CKA, shuffled pairs",
            3,
            headline=True,
            description="the same on randomly re-paired sentences (mean over n_permutations): the chance level, ~0",
            atol=1e-6,
        ),
        MetricInfo("lsim_cka_biased", "CKA (biased) between languages", 3, description="biased estimator", atol=1e-6),
        MetricInfo(
            "lsim_procrustes",
            "Procrustes dist. between languages",
            3,
            description="orthogonal Procrustes distance in [0, 2] of the aligned sentence vectors (Ding et al. 2021)",
        ),
        MetricInfo(
            "lsim_procrustes_shuffled",
            "Procrustes dist., shuffled pairs",
            3,
            description="the same on randomly re-paired sentences (mean over n_permutations)",
        ),
        MetricInfo(
            "lsim_mknn",
            "mutual k-NN between languages",
            3,
            description="mean share of a sentence's k nearest sentences (cosine) on its side whose partners are "
            "the partner's k nearest on the other side (Huh et al. 2024); chance lsim_mknn_chance",
        ),
        MetricInfo(
            "lsim_cknna",
            "CKNNA between languages",
            3,
            description="CKA of the cosine kernels on the pairs that are k-NN on both sides (Huh et al. 2024)",
        ),
        MetricInfo("lsim_mknn_chance", "mutual k-NN by chance", 4, description="k / (n - 1)", curve=False),
        MetricInfo(
            "lsim_n_pairs", "pairs", 0, description="sentence pairs used (gold >= min_gold)", curve=False, kind="count"
        ),
    ),
    tables=(
        ReportTable(
            "language_similarity",
            "Similarity between languages on STS pairs: debiased linear CKA by track",
            ("lsim_cka",),
            pivot="subject",
            description="sentence vectors of the two sides of each pair; tracks 2 ar-en, 4a es-en, 4b es-en (WMT), 6 tr-en",
        ),
        ReportTable(
            "language_similarity_detail",
            "Similarity between languages on STS pairs, with the shuffled-pairs baseline",
            (
                "lsim_cka",
                "lsim_cka_shuffled",
                "lsim_procrustes",
                "lsim_procrustes_shuffled",
                "lsim_mknn",
                "lsim_cknna",
                "lsim_n_pairs",
            ),
            description="shuffled: the same sentences randomly re-paired (chance level)",
        ),
    ),
)


def paired_sentence_vectors(reps, track: str, layer: int, enhancement, *, min_gold: float, pooling: str, task: str):
    """``(track, {suffix: (A, B)})``: the sentence vectors (n, d) of the two sides of an STS track's pairs with gold
    >= ``min_gold`` at ``layer``, row i = pair i, pooled (``pooling``) from the token vectors; the raw space
    (suffix ``""``) and, with ``enhancement``, its space (``/<method>``) fitted on the track's own token
    vectors of both sides. ``ConfigError`` (naming ``analysis.<task>.min_gold``) if fewer than 4 pairs are left."""
    t = reps.sources.sts_track(track)
    keep = np.flatnonzero(np.asarray(t.gold) >= min_gold)
    if keep.size < 4:
        raise ConfigError(
            f"analysis.{task}.min_gold={min_gold:g} leaves {keep.size} pairs of track {t.track} ({t.pair}); "
            "at least 4 are needed: lower min_gold"
        )
    n = len(t.gold)
    sa, sb = reps.encode(t.sentences_a), reps.encode(t.sentences_b)
    Xa, Xb = sa.layer(layer), sb.layer(layer)
    token_spaces = {"": (Xa, Xb)}
    if enhancement is not None:
        enhancer = enhancement.build().fit(np.concatenate([Xa, Xb]))
        token_spaces[space_suffix(enhancement.name)] = (enhancer.transform(Xa), enhancer.transform(Xb))
    return t, {
        suffix: (pool_sentences(Ya, sa, n, pooling)[keep], pool_sentences(Yb, sb, n, pooling)[keep])
        for suffix, (Ya, Yb) in token_spaces.items()
    }


@dataclass(frozen=True)
class StsTrackPairsTask:
    """The settings and identity every task on the two sides of an STS track's pairs shares: ``track`` (a
    number or a pair name, normalised to the number), ``min_gold`` (keep pairs whose gold score, 0-5, is at
    least this) and ``pooling`` (``mean`` or ``last``); ``paired_sentence_vectors`` gives their vectors."""

    track: str = "2"
    min_gold: float = 0.0
    pooling: str = "mean"

    def __post_init__(self):
        object.__setattr__(self, "track", track_id(self.track))  # a pair name becomes its number
        task = self.info.name
        check_choice(self.pooling, f"analysis.{task}.pooling", POOLINGS)
        if (
            isinstance(self.min_gold, bool)
            or not isinstance(self.min_gold, (int, float))
            or not 0 <= self.min_gold <= 5
        ):
            raise ConfigError(
                f"analysis.{task}.min_gold={self.min_gold!r} must be a number in [0, 5] (the STS gold scale; 0 keeps "
                "every pair)"
            )

    def data_checksums(self) -> dict[str, str]:
        """Checksums of the data files this task reads (part of the run's identity)."""
        return track_checksums(self.track)

    @property
    def subject(self) -> str:
        info = track_info(self.track)
        return f"sts{self.track} {info.pair}" + (f" gold>={self.min_gold:g}" if self.min_gold else "")

    def sentence_vectors(self, reps, layer: int, enhancement):
        """``paired_sentence_vectors`` of this task's track and settings."""
        return paired_sentence_vectors(
            reps, self.track, layer, enhancement, min_gold=self.min_gold, pooling=self.pooling, task=self.info.name
        )


@dataclass(frozen=True)
class LanguageSimilarityTask(StsTrackPairsTask):
    """CKA and Procrustes distance between the two sides of an STS track's pairs, per layer.

    track: 1, 2, 3, 4a, 4b, 5, 6 or a pair name (``ar-en``, ``es-en-wmt``, ...); the cross-lingual
    ones are 2, 4a, 4b, 6 (a same-language track compares two sets of paired sentences of one language).
    Sentence vectors: the mean of each sentence's content tokens at the layer (``pooling=mean``, as the
    STS task pools) or its last content token (``pooling=last``); side A (n, d) against side B (n, d),
    row i = pair i. ``min_gold``: keep only the pairs whose gold score (0-5) is at least this (5: the
    two sides mean the same; 0 keeps every pair). ``n_permutations``: random re-pairings of the same
    sentences (seeded by the run's seed) whose mean is the chance baseline (0: none).

    Metrics: ``lsim_cka`` (debiased linear CKA), ``lsim_cka_biased``, ``lsim_procrustes`` ([0, 2]),
    ``lsim_cka_shuffled``, ``lsim_procrustes_shuffled`` (with ``n_permutations`` > 0), ``lsim_mknn`` and
    ``lsim_cknna`` (the neighbourhoods of ``k`` sentences, at most n - 1; Huh et al. 2024) with the chance
    level ``lsim_mknn_chance`` = k / (n - 1), ``lsim_n_pairs``.
    With an enhancement: the same keys with suffix ``/<method>``, the enhancer fitted on the track's own
    token vectors (both sides, as the STS task's "individual" setting); no zero-shot variant.
    Tags ``lsim_track``, ``lsim_pair``.
    """

    n_permutations: int = 10
    k: int = 10

    info = LSIM_INFO

    def __post_init__(self):
        super().__post_init__()
        check_int(self.n_permutations, "analysis.language_similarity.n_permutations", minimum=0)
        check_int(self.k, "analysis.language_similarity.k", minimum=1)

    def evaluate(self, reps, layer: int, enhancement=None, *, seed: int = 0, title: str = "") -> AnalysisResult:
        t, spaces = self.sentence_vectors(reps, layer, enhancement)
        n = len(spaces[""][0])
        k = min(self.k, n - 1)
        metrics: dict[str, float] = {"lsim_n_pairs": float(n), "lsim_mknn_chance": mutual_knn_chance(n, k)}
        for suffix, (A, B) in spaces.items():
            metrics[f"lsim_mknn{suffix}"] = mutual_knn(A, B, k)
            metrics[f"lsim_cknna{suffix}"] = cknna(A, B, k)
            values = paired_similarity(A, B, n_permutations=self.n_permutations, seed=seed)
            metrics[f"lsim_cka{suffix}"] = values["cka_debiased"]
            metrics[f"lsim_cka_biased{suffix}"] = values["cka"]
            metrics[f"lsim_procrustes{suffix}"] = values["procrustes"]
            if self.n_permutations:
                metrics[f"lsim_cka_shuffled{suffix}"] = values["cka_debiased_shuffled"]
                metrics[f"lsim_procrustes_shuffled{suffix}"] = values["procrustes_shuffled"]
        tags = {"lsim_track": t.track, "lsim_pair": f"{t.lang_a}-{t.lang_b}"}
        return AnalysisResult(metrics=metrics, tags=tags)
