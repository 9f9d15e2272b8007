"""Which runs a report tabulates, and their values at one layer.

Reads an experiment (or one sweep's child runs) through ``geomexp.tracking`` only:

- measurement runs (tag ``geomexp.kind=measurement``) that FINISHED are read; sweep parents and
  report runs never are; a resume-skipped sweep job's stand-in (``geomexp.kind=skipped``) is
  replaced by the run it names in ``geomexp.same_as``, so ``--parent`` shows every job;
- reproduce runs (tag ``reproduced_from``) are left out unless ``include_reproduce``;
- ``where`` (``key=value``, a param or a tag) keeps the runs that match every filter;
- ``layer``: ``last`` (the last step each run logged) or an integer (runs without it are left out);
- runs with the same measurement identity (``geomexp.identity``: same config, same seed) count
  once: the newest is kept.

Every run read is listed with why it was left out (``Runs.read``, the report's ``runs.csv``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from geomexp import tag_names
from geomexp.errors import GeomexpError
from geomexp.layers import parse_layer
from geomexp.report.source import as_source
from geomexp.tracking import RunRecord
from geomexp.tracking.query import META_ARTIFACT

#: run kinds that are never read (a sweep's parent run, earlier reports)
NEVER_READ = (tag_names.SWEEP, tag_names.REPORT)


@dataclass
class RunAtLayer:
    """One run as the report uses it: its record, the layer tabulated, the metric values there
    (``{"i_cos": .., "i_cos/cluster": ..}``) and its analyses' metadata (``{name: AnalysisInfo}``).

    via: the id of the skipped sweep job's stand-in that led to this run, if any.
    """

    run: RunRecord
    layer: int
    values: dict[str, float]
    infos: dict = field(default_factory=dict)
    via: str | None = None

    @property
    def run_id(self) -> str:
        return self.run.run_id

    @property
    def model(self) -> str:
        return self.run.tags.get(tag_names.MODEL) or self.run.params.get("model", "unknown")

    @property
    def subject(self) -> str:
        return self.run.tags.get(tag_names.SUBJECT) or self.run.params.get("subject", "")

    @property
    def enhancement(self) -> str:
        return self.run.tags.get(tag_names.ENHANCEMENT, "none")

    @property
    def identity(self) -> str:
        return self.run.tags.get(tag_names.IDENTITY) or self.run.run_id

    @property
    def group(self) -> str:
        return self.run.tags.get(tag_names.GROUP) or self.identity

    @property
    def seed(self) -> str:
        return self.run.params.get("seed", "")

    @property
    def analyses(self) -> list[str]:
        return [a for a in self.run.tags.get(tag_names.ANALYSES, "").split(",") if a]

    @property
    def started(self) -> str:
        return started(self.run)


@dataclass
class ReadRun:
    """A run the report read: ``shown`` or why not (``reason``); ``category`` groups the notes."""

    run: RunRecord
    shown: bool = False
    category: str = ""
    reason: str = ""
    layer: int | None = None
    via: str | None = None
    fetched: bool = False  # read only because a stand-in names it (a sweep job outside what was asked)


class Runs(list):
    """The ``RunAtLayer``s a report tabulates (oldest first), with where they came from.

    read: every run read (``ReadRun``: shown, or why not). notes: what was left out and why.
    """

    def __init__(
        self,
        items=(),
        *,
        uri: str = "",
        experiment: str = "",
        parent: str | None = None,
        layer="last",
        where=(),
        include_reproduce=False,
    ):
        super().__init__(items)
        self.uri, self.experiment, self.parent = uri, experiment, parent
        self.store = None  # the source the runs were read from (``geomexp.report.source``)
        self.layer, self.where, self.include_reproduce = layer, list(where), include_reproduce
        self.read: list[ReadRun] = []
        self.notes: list[str] = []

    @property
    def source(self) -> str:
        if self.parent:
            return f"sweep {self.parent} (experiment {self.experiment!r})"
        return f"experiment {self.experiment!r}"


#: params never listed as shared: what each row or column already says
NOT_SHARED = ("subject",)


def shared_settings(runs) -> dict[str, str]:
    """``{param: value}`` of the settings every run shown has, with one value (sampling, ``n_tokens``,
    the enhancement's k and D, dtype, seeds, the model's commit, ...), sorted by name; empty without runs.
    A report states them once, so that a table of 2,000-token runs never looks like one of 10,000."""
    if not runs:
        return {}
    params = [m.run.params for m in runs]
    keys = sorted(set.intersection(*(set(p) for p in params)) - set(NOT_SHARED))
    return {k: params[0][k] for k in keys if len({p[k] for p in params}) == 1}


def started(run: RunRecord) -> str:
    return dt.datetime.fromtimestamp(run.start_time / 1000).isoformat(timespec="seconds") if run.start_time else ""


def report_layer(layer) -> str | int:
    """``last`` or an integer layer (the one layer parser); ``all`` is not a single layer."""
    choice = parse_layer("last" if layer is None else layer, what="--layer")
    if choice == "all":
        raise GeomexpError(
            "--layer all: a report tabulates one layer; give last (default) or a layer number (0 = embeddings)"
        )
    return choice


def parse_where(where) -> list[tuple[str, str]]:
    """``["data.n_tokens=2000", ...]`` -> ``[("data.n_tokens", "2000"), ...]``."""
    out = []
    for item in where or ():
        key, sep, value = str(item).partition("=")
        if not sep or not key.strip():
            raise GeomexpError(
                f"--where {item!r}: use key=value with a param or tag key, e.g. --where data.n_tokens=2000"
            )
        out.append((key.strip(), value.strip()))
    return out


def run_value(run: RunRecord, key: str) -> str | None:
    """The param ``key`` of ``run``, else its tag ``key``, else None."""
    return run.params[key] if key in run.params else run.tags.get(key)


def pick_layer(run: RunRecord, choice) -> int | None:
    """The step tabulated: the last one the run logged, or ``choice`` (negative counts back) if logged."""
    steps = sorted({step for _, step in run.metrics})
    if not steps:
        return None
    if choice == "last":
        return steps[-1]
    n = run.tags.get("num_layers", "")
    wanted = choice % (int(n) + 1) if choice < 0 and n.isdigit() else choice
    return wanted if wanted in steps else None


def collect_runs(
    uri,
    experiment: str | None = None,
    parent: str | None = None,
    *,
    layer="last",
    where=(),
    include_reproduce: bool = False,
) -> Runs:
    """The runs to tabulate from ``experiment`` (a name) or the sweep ``parent`` (its run id), read from ``uri``
    (a tracking URI, or a source of ``geomexp.report.source``, e.g. ``geomexp.results.FileRuns``; with a
    folder of results files, neither ``experiment`` nor ``parent`` is needed: every run there is read).

    ``GeomexpError`` for a missing store, an unknown experiment or run id, a bad ``layer`` or
    ``where``, or when no finished measurement run is left (the message says what was there).
    """
    from geomexp.analyses.base import AnalysisInfo

    choice = report_layer(layer)
    filters = parse_where(where)
    store = as_source(uri)
    records = store.records(experiment=experiment, parent=parent)
    exp_name = records[0].experiment if records else (experiment or store.record(parent, with_metrics=False).experiment)
    where_text = [f"{k}={v}" for k, v in filters]
    runs = Runs(
        uri=store.describe(),
        experiment=exp_name,
        parent=parent,
        layer=choice,
        where=where_text,
        include_reproduce=include_reproduce,
    )
    runs.store = store
    if not records:
        _raise_empty(store, runs, parent)

    candidates: list[ReadRun] = []
    stand_ins: list[ReadRun] = []
    for rec in records:
        kind = rec.tags.get(tag_names.KIND)
        if kind in NEVER_READ:
            continue
        item = ReadRun(rec)
        runs.read.append(item)
        if rec.status != "FINISHED":
            item.category, item.reason = "unfinished", f"status {rec.status}"
        elif kind == tag_names.SKIPPED:
            item.category, item.reason = (
                "stand-in",
                f"skipped sweep job: stands for run {rec.tags.get(tag_names.SAME_AS)}",
            )
            stand_ins.append(item)
        elif kind != tag_names.MEASUREMENT:
            item.category = "other"
            item.reason = (
                f"{tag_names.KIND}={kind}: not a measurement"
                if kind
                else "no geomexp.kind tag: not a run of the results schema"
            )
        else:
            candidates.append(item)

    by_id = {c.run.run_id: c for c in candidates}
    for s in stand_ins:
        target = s.run.tags.get(tag_names.SAME_AS, "")
        if target in by_id:
            by_id[target].via = by_id[target].via or s.run.run_id
            continue
        try:
            rec = store.record(target)
        except GeomexpError:
            s.category, s.reason = "lost", f"skipped sweep job whose run {target!r} is not in the store"
            continue
        item = ReadRun(rec, via=s.run.run_id, fetched=True)
        runs.read.append(item)
        if rec.status != "FINISHED":
            item.category, item.reason = "unfinished", f"status {rec.status}"
        else:
            by_id[target] = item
            candidates.append(item)

    kept: list[ReadRun] = []
    for c in candidates:
        rec = c.run
        c.layer = pick_layer(rec, choice)
        if "reproduced_from" in rec.tags and not include_reproduce and not c.fetched:  # a sweep job's own run is shown
            c.category, c.reason = "reproduce", f"reproduce run of {rec.tags['reproduced_from']}"
        elif not all(run_value(rec, k) == v for k, v in filters):
            c.category, c.reason = "where", "does not match --where " + " ".join(f"{k}={v}" for k, v in filters)
        elif not rec.metrics:
            c.category, c.reason = "no metrics", "logged no metrics"
        elif c.layer is None:
            logged = sorted({s for _, s in rec.metrics})
            c.category, c.reason = "layer", f"no layer {choice} (logged: {', '.join(map(str, logged))})"
        else:
            kept.append(c)

    newest: dict[str, ReadRun] = {}
    for c in sorted(kept, key=lambda c: c.run.start_time):
        identity = c.run.tags.get(tag_names.IDENTITY) or c.run.run_id
        if identity in newest:
            old = newest[identity]
            old.category, old.reason = (
                "duplicate",
                f"same measurement (identity) as the newer run {c.run.run_id}, which is shown",
            )
        newest[identity] = c

    for c in sorted(newest.values(), key=lambda c: c.run.start_time):
        meta = store.json(c.run.run_id, META_ARTIFACT)
        if not meta:
            c.category, c.reason = "other", f"no {META_ARTIFACT}: not a run of the results schema"
            continue
        infos = {name: AnalysisInfo.from_dict(d) for name, d in meta.items()}
        values = {k: v for (k, step), v in c.run.metrics.items() if step == c.layer}
        c.shown = True
        runs.append(RunAtLayer(c.run, c.layer, values, infos, via=c.via))

    runs.notes = _notes(runs, choice)
    if not runs:
        _raise_none_left(runs, filters)
    return runs


def _notes(runs: Runs, choice) -> list[str]:
    """One line per reason runs were left out (or replaced), with their ids."""
    by_cat = defaultdict(list)
    for r in runs.read:
        if not r.shown and r.category:
            by_cat[r.category].append(r)

    def ids(items, n=6):
        shown = ", ".join(i.run.run_id[:8] for i in items[:n])
        return shown + (f" and {len(items) - n} more" if len(items) > n else "")

    text = {
        "unfinished": "{n} run(s) not FINISHED left out ({ids})",
        "stand-in": "{n} resume-skipped sweep job(s) read as the FINISHED run each names in geomexp.same_as ({ids})",
        "lost": "{n} resume-skipped sweep job(s) name a run that is no longer in the store ({ids})",
        "reproduce": "{n} reproduce run(s) left out ({ids}); --include-reproduce to include them",
        "where": "{n} run(s) not matching --where " + " ".join(runs.where) + " left out",
        "no metrics": "{n} run(s) that logged no metrics left out ({ids})",
        "layer": "{n} run(s) without layer "
        + str(choice)
        + " left out ({ids}); only runs with layer=all log every layer",
        "duplicate": "{n} run(s) measured the same as a newer run (same geomexp.identity) and count once: "
        "the newest is shown ({ids})",
        "other": "{n} run(s) not of the results schema left out ({ids})",
    }
    return [text[c].format(n=len(items), ids=ids(items)) for c, items in by_cat.items()]


def _raise_empty(store, runs: Runs, parent: str | None) -> None:
    if parent:
        rec = store.record(parent, with_metrics=False)
        sweeps = ", ".join(f"{p.run_id} ({p.run_name})" for p in getattr(store, "sweeps", list)()[:10]) or "none"
        raise GeomexpError(
            f"run {parent} ({rec.run_name!r}, {tag_names.KIND}={rec.tags.get(tag_names.KIND, 'unset')}) has no child runs: "
            f"--parent takes a sweep's parent run id (geomexp.kind=sweep); sweeps there: {sweeps}"
        )
    raise GeomexpError(f"{runs.source} in {runs.uri} holds no runs")


def _raise_none_left(runs: Runs, filters) -> None:
    counts = defaultdict(int)
    for r in runs.read:
        counts[r.category or "other"] += 1
    what = ", ".join(f"{n} {c}" for c, n in counts.items()) or "no measurement runs (only sweep parents or reports)"
    message = f"{runs.source} has no finished measurement runs to tabulate ({what})"
    for key, value in filters:
        seen = sorted({v for r in runs.read if (v := run_value(r.run, key)) is not None})
        if value not in seen:
            message += f"; --where {key}={value}: {key} among the runs: {', '.join(seen) or 'none (no run has it as a param or tag)'}"
    if counts.get("layer"):
        message += f"; --layer {runs.layer}: " + "; ".join(r.reason for r in runs.read if r.category == "layer")[:500]
    if counts.get("reproduce") and not runs.include_reproduce:
        message += "; reproduce runs are left out unless --include-reproduce"
    raise GeomexpError(message)
