"""Sentence-pair similarity tasks over a data source (STS 2017 is one; a CSV file is another).

- ``Pairs``: what a source gives: the two sides' sentences (n,), gold scores (n,), their languages.
- a source (``PairSource``): ``load(data) -> Pairs`` (``data``: the run's ``DataSpec``: data root and
  download settings), ``checksums()`` (its files' digests: part of the run's identity) and a
  ``subject`` (names the run). ``CsvPairs`` reads a CSV file; ``geomexp.tasks.sts.Sts2017Pairs`` a track.
- ``PairTask``: the task on any source: each sentence pooled from its token vectors (``pooling``:
  mean, or the last content token), the prediction the cosine of the two sentences, scored by
  Spearman and Pearson x 100 against the gold; with an enhancement, also fitted on the pairs
  themselves ("individual", key suffix ``/<method>``) and on English ("zero-shot",
  ``/<method>/zero_shot``), with the gain over the raw space; bootstrap intervals and the paired
  test of each gain (``n_bootstrap``); a predictions table and a scatter figure. A subclass gives
  ``source()`` and its ``info`` (``pair_task_info(prefix, ...)``: metric keys ``<prefix>_spearman`` ...).
- ``CsvPairTask``: the task on a CSV file, configured from YAML alone (keys ``pairs_*``).

A new pair task from a CSV of your own, in one module + one YAML (see docs/extending.md)::

    @dataclass(frozen=True)
    class ParaphraseTask(PairTask):
        path: str = "paraphrases.csv"
        info = pair_task_info("para", "Paraphrase pairs")

        def source(self):
            return CsvPairs(self.path, lang_a="en", lang_b="en")
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

import numpy as np

from geomexp.analyses.base import AnalysisInfo, AnalysisResult, MetricInfo, ReportTable
from geomexp.analyses.keys import space_label, space_suffix
from geomexp.errors import ConfigError, DataError, DataNotFoundError
from geomexp.metrics.bootstrap import check_level
from geomexp.tasks.sts.scoring import cosine_scores, last_pool, mean_pool, sts_intervals, sts_scores
from geomexp.validation import check_choice, check_int

ZERO_SHOT_FITS = ("english_corpus", "english_side")
POOLINGS = ("mean", "last")

#: noise floor of a Spearman x 100 across CPU kinds: two predictions closer than the encoder's
#: cross-kernel noise (1e-6 and more after 6-decimal rounding) can swap ranks, and one adjacent swap
#: on a 250-pair track moves rho x 100 by up to ~0.01 (measured: 0.008 on STS track 2, torch's default
#: kernel against AVX-512). Pearson moves continuously (7e-5 measured): 1e-3.
SPEARMAN_ATOL = 0.02


@dataclass(frozen=True)
class Pairs:
    """Sentence pairs with gold scores. sentences_a/b: (n,) str; gold: (n,) float64; ``label``: which data
    (an STS track number, a file name); ``pair``: ``<lang_a>-<lang_b>``."""

    sentences_a: tuple[str, ...]
    sentences_b: tuple[str, ...]
    gold: np.ndarray
    lang_a: str
    lang_b: str
    label: str

    @property
    def pair(self) -> str:
        return f"{self.lang_a}-{self.lang_b}"


class PairSource(Protocol):
    """Where a pair task's data comes from (a hashable value: the run reads each source once)."""

    @property
    def subject(self) -> str: ...

    def load(self, data) -> Pairs: ...

    def checksums(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class CsvPairs:
    """Pairs from a CSV file (UTF-8, a header row) with the columns ``sentence_a``, ``sentence_b`` and
    ``score`` (names configurable); ``lang_a``/``lang_b``: the two sides' languages. A relative path is
    read from the folder the run started in."""

    path: str
    lang_a: str = "en"
    lang_b: str = "en"
    sentence_a: str = "sentence_a"
    sentence_b: str = "sentence_b"
    score: str = "score"

    @property
    def subject(self) -> str:
        return f"{Path(self.path).stem} {self.lang_a}-{self.lang_b}"

    def checksums(self) -> dict[str, str]:
        from geomexp.data.download import file_digest

        path = Path(self.path).expanduser()
        return {f"{path.name}.sha256": file_digest(path) if path.is_file() else "missing"}

    def load(self, data=None) -> Pairs:
        path = Path(self.path).expanduser()
        if not path.is_file():
            raise DataNotFoundError(f"pair file {path} does not exist (a CSV with {self._columns()})")
        try:
            with open(path, newline="", encoding="utf-8") as fh:
                rows = list(csv.DictReader(fh))
        except (UnicodeDecodeError, csv.Error) as err:
            raise DataError(f"pair file {path} is not a UTF-8 CSV file: {err}") from None
        missing = [c for c in (self.sentence_a, self.sentence_b, self.score) if rows and c not in rows[0]]
        if not rows or missing:
            raise DataError(f"pair file {path} needs a header and rows with {self._columns()}; missing: {missing}")
        try:
            gold = np.array([float(r[self.score]) for r in rows], dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(f"pair file {path}: column {self.score!r} must hold numbers") from None
        if len(rows) < 3 or not np.isfinite(gold).all():
            raise DataError(f"pair file {path} needs at least 3 pairs with finite scores; got {len(rows)}")
        return Pairs(
            sentences_a=tuple(r[self.sentence_a] for r in rows),
            sentences_b=tuple(r[self.sentence_b] for r in rows),
            gold=gold,
            lang_a=self.lang_a,
            lang_b=self.lang_b,
            label=path.name,
        )

    def _columns(self) -> str:
        return f"the columns {self.sentence_a!r}, {self.sentence_b!r}, {self.score!r}"


def pair_task_info(
    prefix: str, title: str, *, short: str | None = None, description: str = "", data_name: str = "data"
) -> AnalysisInfo:
    """The metadata of a pair task whose metric keys start with ``<prefix>_`` (``sts`` gives ``sts_spearman``):
    Spearman (headline) and Pearson x 100, the gain of each enhanced space, bootstrap intervals, the gain's
    p-value, the number of pairs; a table of Spearman by subject and one with intervals and gains.
    ``short``: the name in the metrics' labels (default ``title``), e.g. ``STS`` in "STS Spearman x100"."""
    p = prefix
    short = short or title
    return AnalysisInfo(
        name=p,
        title=title,
        kind="task",
        metrics=(
            MetricInfo(
                f"{p}_spearman",
                f"{short} Spearman x100",
                1,
                "higher",
                headline=True,
                description="Spearman x 100 of cosine vs gold",
                atol=SPEARMAN_ATOL,
            ),
            MetricInfo(f"{p}_pearson", f"{short} Pearson x100", 1, "higher", atol=1e-3),
            MetricInfo(
                f"{p}_gain",
                f"{short} gain",
                1,
                "higher",
                description="Spearman gain of an enhanced space over the raw one",
                atol=SPEARMAN_ATOL,
            ),
            MetricInfo(
                f"{p}_spearman_ci_low",
                "Spearman 95% low",
                1,
                description="bootstrap interval over pairs (ci_level)",
                curve=False,
                kind="bound",
                atol=SPEARMAN_ATOL,
            ),
            MetricInfo(f"{p}_spearman_ci_high", "Spearman 95% high", 1, curve=False, kind="bound", atol=SPEARMAN_ATOL),
            MetricInfo(
                f"{p}_gain_ci_low",
                "gain 95% low",
                1,
                description="paired bootstrap interval of the gain",
                curve=False,
                kind="bound",
                atol=SPEARMAN_ATOL,
            ),
            MetricInfo(f"{p}_gain_ci_high", "gain 95% high", 1, curve=False, kind="bound", atol=SPEARMAN_ATOL),
            MetricInfo(
                f"{p}_gain_p",
                "gain p",
                4,
                "lower",
                description="paired bootstrap two-sided p-value of no gain",
                kind="p_value",
            ),
            MetricInfo(f"{p}_n_pairs", "pairs", 0, curve=False, kind="count"),
        ),
        tables=(
            ReportTable(
                p,
                f"{title} by {data_name}: Spearman x 100",
                (f"{p}_spearman",),
                pivot="subject",
                description=description,
            ),
            ReportTable(
                f"{p}_gain",
                f"{short}: Spearman x 100 with its bootstrap interval, and the gain of each enhanced space",
                tuple(
                    f"{p}_{m}"
                    for m in ("spearman", "spearman_ci_low", "spearman_ci_high", "gain", "gain_ci_low", "gain_ci_high")
                )
                + (f"{p}_gain_p",),
                description="intervals: percentile bootstrap over sentence pairs; gain: paired bootstrap over the "
                "same pairs, two-sided p-value of no gain",
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
class PairTask:
    """A sentence-pair similarity task on ``source()`` (see the module docstring). Subclasses add their
    source's parameters as fields and set ``info`` (``pair_task_info``) and, to keep their tags' and
    table's names, ``label_name`` (``track`` for STS)."""

    zero_shot: bool = True
    zero_shot_fit: str = "english_corpus"
    n_bootstrap: int = 1000
    ci_level: float = 0.95
    plot: bool = False
    pooling: str = "mean"

    info: ClassVar[AnalysisInfo]
    #: what ``Pairs.label`` is called in the tags (``<prefix>_<label_name>``) and the predictions table
    label_name: ClassVar[str] = "data"

    def __post_init__(self):
        prefix = self.info.name
        check_choice(self.zero_shot_fit, f"analysis.{prefix}.zero_shot_fit", ZERO_SHOT_FITS)
        check_choice(self.pooling, f"analysis.{prefix}.pooling", POOLINGS)
        check_int(self.n_bootstrap, f"analysis.{prefix}.n_bootstrap", minimum=0)
        check_level(self.ci_level)

    def source(self) -> PairSource:
        raise NotImplementedError

    def data_checksums(self) -> dict[str, str]:
        """Checksums of the data files this task reads (part of the run's identity)."""
        return self.source().checksums()

    @property
    def subject(self) -> str:
        return self.source().subject

    def evaluate(self, reps, layer: int, enhancement=None, *, seed: int = 0, title: str = "") -> AnalysisResult:
        p = self.info.name
        t = reps.sources.pairs(self.source())
        n = len(t.gold)
        sa, sb = reps.encode(t.sentences_a), reps.encode(t.sentences_b)
        Xa, Xb = sa.layer(layer), sb.layer(layer)

        def scores(Ya, Yb):
            return cosine_scores(pool_sentences(Ya, sa, n, self.pooling), pool_sentences(Yb, sb, n, self.pooling))

        preds = {"": scores(Xa, Xb)}
        tags = {f"{p}_{self.label_name}": t.label, f"{p}_pair": t.pair, f"{p}_pooling": self.pooling}
        if enhancement is not None:
            individual = enhancement.build().fit(np.concatenate([Xa, Xb]))
            preds[space_suffix(enhancement.name)] = scores(individual.transform(Xa), individual.transform(Xb))
            side = self.zero_shot_fit == "english_side" and "en" in (t.lang_a, t.lang_b)
            if self.zero_shot and not (side and t.lang_a == t.lang_b == "en"):
                if side:
                    fit_on, tags[f"{p}_zero_shot_fit"] = (Xa if t.lang_a == "en" else Xb), "english side"
                else:
                    fit_on, tags[f"{p}_zero_shot_fit"] = reps.corpus_sample("en").layer(layer), "english corpus"
                zs = enhancement.build().fit(fit_on)
                preds[space_suffix(enhancement.name, zero_shot=True)] = scores(zs.transform(Xa), zs.transform(Xb))
        metrics: dict[str, float] = {f"{p}_n_pairs": float(n)}
        for suffix, pred in preds.items():
            scored = sts_scores(pred, t.gold)
            metrics[f"{p}_spearman{suffix}"] = scored["spearman"]
            metrics[f"{p}_pearson{suffix}"] = scored["pearson"]
            if suffix:
                metrics[f"{p}_gain{suffix}"] = scored["spearman"] - metrics[f"{p}_spearman"]
        if self.n_bootstrap:
            intervals = sts_intervals(preds, t.gold, n_boot=self.n_bootstrap, level=self.ci_level, seed=seed)
            metrics.update({p + key.removeprefix("sts"): value for key, value in intervals.items()})
        names = {suffix: space_label("x" + suffix) for suffix in preds}
        table = {
            self.label_name: t.label,
            "pair": t.pair,
            "sentence_a": list(t.sentences_a),
            "sentence_b": list(t.sentences_b),
            "gold": t.gold.tolist(),
            **{f"pred_{names[s]}": pred.round(6).tolist() for s, pred in preds.items()},
        }
        figures = {}
        if self.plot:
            from geomexp.figures.plots import sts_scatter

            figures[f"{p}_scatter.png"] = sts_scatter(
                t.gold,
                {names[s]: pred for s, pred in preds.items()},
                {names[s]: metrics[f"{p}_spearman{s}"] for s in preds},
                title=f"{self.info.title} {self.label_name} {t.label} ({t.pair}) — {title}",
            )
        return AnalysisResult(metrics=metrics, figures=figures, tables={f"{p}_predictions.json": table}, tags=tags)


@dataclass(frozen=True)
class CsvPairTask(PairTask):
    """A pair task on a CSV file (``CsvPairs``: columns ``sentence_a``, ``sentence_b``, ``score``), from YAML
    alone; metric keys ``pairs_spearman``, ``pairs_gain/<method>``, ... (one such task per run)."""

    path: str = ""
    lang_a: str = "en"
    lang_b: str = "en"

    info = pair_task_info("pairs", "Sentence pairs", data_name="file")

    def __post_init__(self):
        if not str(self.path).strip():
            raise ConfigError(
                "analysis.pairs.path is empty: give the CSV file of sentence pairs (sentence_a, sentence_b, score)"
            )
        super().__post_init__()

    def source(self) -> CsvPairs:
        return CsvPairs(self.path, lang_a=self.lang_a, lang_b=self.lang_b)
