"""STS 2017 (paper §5): cosine of mean-pooled token vectors against gold scores, raw and after an
isotropy enhancement fitted on the track itself ("individual") or on English ("zero-shot")."""

from __future__ import annotations

from dataclasses import dataclass

from geomexp.tasks.pairs import (  # noqa: F401  (re-exported: the STS names other modules import)
    POOLINGS,
    SPEARMAN_ATOL,
    ZERO_SHOT_FITS,
    Pairs,
    PairTask,
    pair_task_info,
    pool_sentences,
)
from geomexp.tasks.sts.data import track_checksums, track_id, track_info

STS_INFO = pair_task_info(
    "sts",
    "STS 2017",
    short="STS",
    description="tracks: 1 ar-ar, 2 ar-en, 3 es-es, 4a es-en, 4b es-en (WMT), 5 en-en, 6 tr-en",
    data_name="track",
)


@dataclass(frozen=True)
class Sts2017Pairs:
    """The pairs of one STS 2017 track (``track``: its number), from the data root or a download."""

    track: str

    @property
    def subject(self) -> str:
        return f"sts{self.track} {track_info(self.track).pair}"

    def checksums(self) -> dict[str, str]:
        return track_checksums(self.track)

    def load(self, data) -> Pairs:
        from geomexp.tasks.sts.data import load_sts_track

        t = load_sts_track(
            self.track, root=data.root, download_dir=data.download_dir, download=data.download, base_url=data.base_url
        )
        return Pairs(t.sentences_a, t.sentences_b, t.gold, t.lang_a, t.lang_b, label=t.track)


@dataclass(frozen=True)
class StsTask(PairTask):
    """One STS 2017 track (paper §5), a ``PairTask`` on ``Sts2017Pairs``. ``track``: 1, 2, 3, 4a, 4b, 5, 6 or
    a pair (``ar-en``, ``es-en-wmt``, ...).

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
    ``sts_pooling``, ``sts_zero_shot_fit``.
    """

    track: str = "5"

    info = STS_INFO
    label_name = "track"

    def __post_init__(self):
        object.__setattr__(self, "track", track_id(self.track))  # a pair name becomes its number
        super().__post_init__()

    def source(self) -> Sts2017Pairs:
        return Sts2017Pairs(self.track)


STS17_INFO = pair_task_info(
    "sts17",
    "STS17 (Hugging Face hub)",
    short="STS17",
    description="MTEB's copy of STS 2017 (mteb/sts17-crosslingual-sts): ar-ar, en-ar, en-de, en-en, en-tr, "
    "es-en, es-es, fr-en, it-en, ko-ko, nl-en",
    data_name="subset",
)


@dataclass(frozen=True)
class Sts17Task(PairTask):
    """One STS17 subset from the Hugging Face hub (``geomexp.tasks.sts.hub``: MTEB's copy at a pinned
    commit), scored exactly as ``StsTask`` scores a track; metric keys ``sts17_spearman``, ... and the tags
    ``sts17_subset``, ``sts17_pair``. Needs the hub once (then the local Hugging Face cache)."""

    subset: str = "en-en"
    revision: str = ""

    info = STS17_INFO
    label_name = "subset"

    def __post_init__(self):
        from geomexp.tasks.sts.hub import REVISION

        if not self.revision:
            object.__setattr__(self, "revision", REVISION)
        self.source()  # checks the subset and the revision before any model loads
        super().__post_init__()

    def source(self):
        from geomexp.tasks.sts.hub import Sts17HubPairs

        return Sts17HubPairs(self.subset, self.revision)
