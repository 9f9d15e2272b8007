"""Paper-style result tables from the runs tracked in MLflow.

    python -m geomexp.report --experiment NAME [--tracking-uri URI] [--out DIR] [--layer last|N]
    python -m geomexp.report --parent RUN_ID   (the jobs of one sweep)

Reads the FINISHED runs of an experiment (or the children of one sweep's parent
run), skipping sweep parents and earlier report runs, and writes the tables a
paper would print, each as Markdown and CSV: isotropy (I_Cos, I_PC, IsoScore,
before/after an enhancement), top-3 cosine-contributing dimensions, outlier
dimensions, frequency bias and STS per track; only the tables with data. Plus
``report.md`` (all tables), ``runs.csv`` (every run read) and ``summary.png``.
Everything is logged to a new run named ``report`` (tag ``geomexp.report=true``)
in the same experiment.

Where several runs measure the same thing (same model, language or STS track,
layer and enhancement), the most recent finished run is shown and a footnote
says so.

From a notebook::

    from geomexp.report import collect_runs, build_tables, write_report
    records = collect_runs("sqlite:////abs/mlflow.db", experiment="offline_geometry")
    tables = build_tables(records)          # {name: pandas.DataFrame}
    tables["isotropy_i_pc"]                 # rows models, columns languages
    write_report(tables, "reports/offline_geometry")
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geomexp.errors import GeomexpError

REPORT_TAG = "geomexp.report"
MODEL_ORDER = ("mbert", "mbert_uncased", "xlmr", "bert", "roberta", "minilm", "me5_small")
LANG_ORDER = ("en", "es", "ar", "tr", "sw", "su")
TRACK_ORDER = ("1", "2", "3", "4a", "4b", "5", "6")
STS_MODES = ("baseline", "individual", "zero_shot")
#: the keys of a record that are not metrics
META_KEYS = (
    "run_id",
    "run_name",
    "experiment",
    "parent_run_id",
    "start_time",
    "end_time",
    "started",
    "model",
    "lang",
    "layer",
    "layer_choice",
    "enhancement",
    "enhancement_fit",
    "track",
    "pair",
    "analyses",
)


class Records(list):
    """The list of run records from ``collect_runs``, with ``notes`` on the runs it left out."""

    def __init__(self, items=(), notes=(), source: str = "", layer: str = "last", experiment_id: str | None = None):
        super().__init__(items)
        self.notes = list(notes)
        self.source = source
        self.layer = layer
        self.experiment_id = experiment_id


# --------------------------------------------------------------------------- reading MLflow


def _client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def check_store(uri: str) -> None:
    """A ``sqlite:///`` store must exist already (MLflow would silently create an empty one)."""
    from geomexp.tracking import sqlite_path

    db = sqlite_path(uri)
    if db is not None and not db.is_file():
        raise GeomexpError(f"no MLflow store at {db} (tracking URI {uri}); run some experiments first or pass --tracking-uri")


def parse_layer(layer) -> int | None:
    """``None``/``"last"`` -> None (the last layer each run logged); an integer (string) -> int."""
    if layer is None or str(layer).strip().lower() == "last":
        return None
    try:
        return int(str(layer).strip())
    except ValueError:
        raise GeomexpError(f"--layer {layer!r} is not valid: use last or an integer layer (0 = embedding output)") from None


def _search(client, experiment_id: str, filter_string: str) -> list:
    runs, token = [], None
    while True:
        page = client.search_runs([experiment_id], filter_string=filter_string, max_results=1000, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def _is_report_or_parent(run) -> bool:
    tags = run.data.tags
    return tags.get(REPORT_TAG, "").lower() == "true" or tags.get("geomexp.sweep") == "parent"


def find_runs(uri: str, experiment: str | None = None, parent: str | None = None) -> tuple[list, str, str]:
    """The FINISHED analysis runs of ``experiment`` or of sweep ``parent``: (runs, experiment id, experiment name).

    Sweep parents and report runs are left out. Raises ``GeomexpError`` for an
    unknown experiment or run id, or when no finished run is left.
    """
    from mlflow.exceptions import MlflowException

    if (experiment is None) == (parent is None):
        raise GeomexpError("give exactly one of an experiment name (--experiment) or a sweep's parent run id (--parent)")
    check_store(uri)
    client = _client(uri)
    if parent is not None:
        try:
            parent_run = client.get_run(parent)
        except MlflowException:
            raise GeomexpError(f"run {parent!r} not found in the tracking store {uri}") from None
        exp_id = parent_run.info.experiment_id
        exp_name = client.get_experiment(exp_id).name
        children = _search(client, exp_id, f"tags.mlflow.parentRunId = '{parent}'")
        runs = [r for r in children if r.info.status == "FINISHED" and not _is_report_or_parent(r)]
        if not runs:
            what = f"{len(children)} child run(s), none FINISHED" if children else "no child runs"
            hint = "" if children else " (--parent takes the id of a sweep's parent run, tag geomexp.sweep=parent)"
            raise GeomexpError(f"run {parent} (experiment {exp_name!r}) has {what}{hint}")
        return runs, exp_id, exp_name
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        names = sorted(e.name for e in client.search_experiments())
        raise GeomexpError(f"experiment {experiment!r} not found in {uri}; experiments there: {', '.join(names) or 'none'}")
    every = _search(client, exp.experiment_id, "")
    runs = [r for r in every if r.info.status == "FINISHED" and not _is_report_or_parent(r)]
    if not runs:
        analysis = [r for r in every if not _is_report_or_parent(r)]
        raise GeomexpError(
            f"experiment {experiment!r} has no finished runs"
            + (f" ({len(analysis)} run(s), none FINISHED)" if analysis else " (it holds no analysis runs)")
        )
    return runs, exp.experiment_id, exp.name


def _int(text) -> int | None:
    try:
        return int(str(text).strip())
    except (TypeError, ValueError):
        return None


def _run_layer(choice: str, num_layers: int | None) -> int | str:
    """The layer a single-layer run analysed: ``last`` -> num_layers, negative counts back."""
    if choice == "last":
        return num_layers if num_layers is not None else "last"
    index = _int(choice)
    if index is None:
        return choice
    return index % (num_layers + 1) if index < 0 and num_layers is not None else index


def _step_values(client, run_id: str, names, step: int | None) -> tuple[dict[str, float], int | None]:
    """Every metric of ``names`` at ``step`` (None: the last step logged) and that step."""
    histories = {name: client.get_metric_history(run_id, name) for name in names}
    if step is None:
        steps = [m.step for h in histories.values() for m in h]
        if not steps:
            return {}, None
        step = max(steps)
    out = {}
    for name, history in histories.items():
        at = [m for m in history if m.step == step]
        if at:
            out[name] = max(at, key=lambda m: m.timestamp).value
    return out, step


def _record(client, run, exp_name: str, layer: int | None) -> tuple[dict | None, str | None]:
    """One flat record of ``run`` at ``layer`` (None: the last logged), or (None, why it is left out)."""
    tags, params = run.data.tags, run.data.params
    choice = tags.get("layer", params.get("layer.index", "last"))
    num_layers = _int(tags.get("num_layers"))
    analyses = tags.get("analyses", "")
    track = tags.get("sts_track") or params.get("analysis.sts.track")  # the param exists only when STS was selected
    track = str(track).strip().lower() if track not in (None, "", "None") else None
    sts_only = track is not None and analyses == "sts"  # its lang tag is only the config's default
    rec = {
        "run_id": run.info.run_id,
        "run_name": run.info.run_name,
        "experiment": exp_name,
        "parent_run_id": tags.get("mlflow.parentRunId"),
        "start_time": run.info.start_time,
        "end_time": run.info.end_time,
        "started": dt.datetime.fromtimestamp(run.info.start_time / 1000).isoformat(timespec="seconds") if run.info.start_time else None,
        "model": tags.get("model") or params.get("model.name") or "unknown",
        "lang": None if sts_only else tags.get("lang") or params.get("lang.code"),
        "layer": None,
        "layer_choice": choice,
        "enhancement": tags.get("enhancement") or params.get("enhancement.name") or "none",
        "enhancement_fit": tags.get("enhancement_fit") or params.get("enhancement.fit_lang") or "individual",
        "track": track,
        "pair": tags.get("sts_pair"),
        "analyses": analyses,
    }
    name = f"run {run.info.run_id[:8]} ({run.info.run_name})"
    if choice == "all":
        if layer is None:
            metrics = dict(run.data.metrics)  # MLflow's latest value of a metric is the one at its largest step
            _, rec["layer"] = _step_values(client, run.info.run_id, sorted(metrics)[:1], None)
        else:
            step = layer % (num_layers + 1) if layer < 0 and num_layers is not None else layer
            metrics, _ = _step_values(client, run.info.run_id, sorted(run.data.metrics), step)
            if not metrics:
                return None, f"{name} logged no metric at layer {layer}; left out"
            rec["layer"] = step
    else:
        metrics = dict(run.data.metrics)
        rec["layer"] = _run_layer(choice, num_layers)
        if layer is not None:
            wanted = layer % (num_layers + 1) if layer < 0 and num_layers is not None else layer
            if rec["layer"] != wanted:
                return None, f"{name} analysed layer {rec['layer']}, not layer {layer}; left out (only runs with layer=all have every layer)"
    rec.update(metrics)
    return rec, None


def collect_runs(uri: str, experiment: str | None = None, parent: str | None = None, layer=None) -> Records:
    """One flat record per FINISHED run of ``experiment`` (or of sweep ``parent``), oldest first.

    A record holds ``model``, ``lang``, ``layer`` (the layer tabulated), ``enhancement``,
    ``enhancement_fit``, ``track``/``pair`` (STS), run identity and times (see
    ``META_KEYS``), and every metric by name (``i_pc``, ``i_pc/before``, ``sts_spearman/baseline``...).
    Runs that logged every layer (``layer=all``) give their values at ``layer`` (an int;
    default the last step logged); single-layer runs of another layer than an explicit
    ``layer`` are left out (``Records.notes`` says which). Sweep parents and report
    runs (tag ``geomexp.report=true``) are never read.
    """
    wanted = parse_layer(layer)
    runs, exp_id, exp_name = find_runs(uri, experiment, parent)
    client = _client(uri)
    records, notes = [], []
    for run in sorted(runs, key=lambda r: (r.info.start_time or 0, r.info.end_time or 0, r.info.run_id)):
        rec, why = _record(client, run, exp_name, wanted)
        if rec is None:
            notes.append(why)
        else:
            records.append(rec)
    source = f"experiment {exp_name!r}" if parent is None else f"sweep {parent} (experiment {exp_name!r})"
    if not records:
        raise GeomexpError(
            f"none of the {len(runs)} finished runs of {source} has layer {layer} (only runs logged with layer=all "
            f"have every layer); leave --layer out to tabulate the layer each run analysed"
        )
    return Records(records, notes, source=source, layer="last" if wanted is None else str(wanted), experiment_id=exp_id)


# --------------------------------------------------------------------------- tables


@dataclass
class Column:
    """A value column: its label, the metric it shows (with ``/before``, ``/after`` handling), whether integral."""

    label: str
    metric: str
    space: str = "plain"  # plain: metric or metric/after; raw: metric or metric/before; after: metric/after
    integer: bool = False


@dataclass
class TableSpec:
    name: str
    title: str
    keys: tuple[str, ...]
    columns: list[Column] = field(default_factory=list)
    description: str = ""


ENH_KEYS = ("model", "lang", "layer", "enhancement", "enhancement_fit")
STS_KEYS = ("model", "track", "pair", "layer", "enhancement")


def _specs() -> list[TableSpec]:
    dims = []
    for rank in (1, 2, 3):
        dims += [
            Column(f"top{rank} dim", f"cc_top{rank}_dim", integer=True),
            Column(f"top{rank} CC", f"cc_top{rank}"),
            Column(f"top{rank} share", f"cc_top{rank}_share"),
        ]
    return [
        TableSpec(
            "isotropy",
            "Isotropy: I_Cos, I_PC, IsoScore",
            ENH_KEYS,
            [
                Column("I_Cos", "i_cos", "raw"),
                Column("I_PC", "i_pc", "raw"),
                Column("IsoScore", "isoscore", "raw"),
                Column("I_Cos after", "i_cos", "after"),
                Column("I_PC after", "i_pc", "after"),
                Column("IsoScore after", "isoscore", "after"),
            ],
            "I_Cos: mean cosine of random token pairs (0 = isotropic); I_PC: min/max of the partition function "
            "over principal directions (1 = isotropic); IsoScore in [0, 1] (1 = isotropic). With an enhancement, "
            "the plain columns are the raw space and the 'after' columns the enhanced one.",
        ),
        TableSpec(
            "dimensions",
            "Top-3 dimensions by cosine contribution",
            ENH_KEYS,
            dims,
            "dim: dimension index; CC: its contribution to the mean cosine (Timkey & van Schijndel 2021); "
            "share: CC / the sum over all dimensions.",
        ),
        TableSpec(
            "outliers",
            "Outlier dimensions",
            ENH_KEYS,
            [
                Column("n_outliers", "n_outliers", integer=True),
                Column("n_outliers_layernorm", "n_outliers_layernorm", integer=True),
                Column("n_outliers_both", "n_outliers_both", integer=True),
            ],
            "n_outliers: dimensions of the averaged token vector at least k_sigma standard deviations from its mean; "
            "n_outliers_layernorm: flagged by the output-LayerNorm weights (Kovaleva et al. 2021).",
        ),
        TableSpec(
            "frequency",
            "Frequency bias",
            ENH_KEYS,
            [Column("rho PC1", "freq_rho_pc1"), Column("probe R2", "freq_probe_r2")],
            "rho PC1: Spearman correlation of log word frequency with the coordinate on the first principal "
            "component; probe R2: cross-validated R² of a linear probe predicting log frequency.",
        ),
        TableSpec(
            "sts",
            "STS 2017: Spearman × 100",
            STS_KEYS,
            [Column(mode, f"sts_spearman/{mode}") for mode in STS_MODES],
            "baseline: raw mean-pooled token vectors; individual: the enhancement fitted on the track's own "
            "sentences; zero_shot: fitted on English.",
        ),
    ]


def _value(rec: dict, col: Column):
    m = col.metric
    if col.space == "after":
        v = rec.get(f"{m}/after")
    elif col.space == "raw":
        v = rec.get(m, rec.get(f"{m}/before"))
    else:
        v = rec.get(m, rec.get(f"{m}/after"))
    return None if v is None else float(v)


def _order(value, order) -> tuple:
    text = str(value)
    return (order.index(text), "") if text in order else (len(order), text)


def _sort_key(row: dict) -> tuple:
    layer = row.get("layer")
    return (
        _order(row.get("model"), MODEL_ORDER),
        _order(row.get("track"), TRACK_ORDER) if row.get("track") is not None else (0, ""),
        _order(row.get("lang"), LANG_ORDER) if row.get("lang") is not None else (0, ""),
        (0, layer, "") if isinstance(layer, int) else (1, 0, str(layer)),
        (row.get("enhancement") != "none", str(row.get("enhancement"))),
        str(row.get("enhancement_fit")),
    )


def _describe(key_names, key) -> str:
    parts = []
    for k, v in zip(key_names, key):
        if k == "layer":
            parts.append(f"layer {v}")
        elif k == "track":
            parts.append(f"STS track {v}")
        elif k == "enhancement_fit" or v is None:
            continue
        elif k == "enhancement" and v == "none":
            continue
        else:
            parts.append(str(v))
    return " · ".join(parts)


def _latest(rows: list[dict], keys: tuple[str, ...]) -> tuple[list[dict], list[str]]:
    """One row per key: the most recent run; footnotes for the keys that had several."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(row.get(k) for k in keys), []).append(row)
    kept, notes = [], []
    for key, group in groups.items():
        group.sort(key=lambda r: (r.get("start_time") or 0, r.get("end_time") or 0, r["run_id"]))
        newest = group[-1]
        kept.append(newest)
        if len(group) > 1:
            older = ", ".join(r["run_id"][:8] for r in group[:-1])
            notes.append(
                f"{_describe(keys, key)}: {len(group)} finished runs; shown: the most recent, run "
                f"{newest['run_id'][:8]} (started {newest.get('started')}); not shown: {older}"
            )
    return kept, notes


def _long_table(spec: TableSpec, records) -> "Any":
    import pandas as pd

    rows = []
    for rec in records:
        if spec.name == "sts" and rec.get("track") is None:
            continue
        values = {c.label: _value(rec, c) for c in spec.columns}
        if all(v is None for v in values.values()):
            continue
        row = {k: rec.get(k) for k in spec.keys}
        row.update(values)
        row.update(run_id=rec["run_id"], start_time=rec.get("start_time"), end_time=rec.get("end_time"), started=rec.get("started"))
        rows.append(row)
    if not rows:
        return None
    rows, notes = _latest(rows, spec.keys)
    rows.sort(key=_sort_key)
    df = pd.DataFrame(rows)
    df = df.drop(columns=["start_time", "end_time", "started"])
    for c in spec.columns:  # a column no run logged is left out
        if df[c.label].isna().all():
            df = df.drop(columns=[c.label])
        elif c.integer:
            df[c.label] = df[c.label].round().astype("Int64")
    if "enhancement" in df and spec.name != "sts" and (df["enhancement"] == "none").all():
        df = df.drop(columns=["enhancement", "enhancement_fit"])
    if "pair" in df and df["pair"].isna().all():
        df = df.drop(columns=["pair"])
    df.attrs.update(title=spec.title, notes=notes, description=spec.description)
    return df


def _varying(df, candidates) -> list[str]:
    return [c for c in candidates if c in df and df[c].astype(str).nunique() > 1]


def _pivot(long, value: str, *, columns: str, order, title: str, description: str = ""):
    """``long``'s ``value`` with one column per ``columns`` value (in ``order``), rows the model (and what varies)."""
    index = ["model"] + _varying(long, ("layer", "enhancement", "enhancement_fit"))
    sub = long[long[value].notna()]
    if sub.empty:
        return None
    wide = sub.pivot(index=index, columns=columns, values=value)
    wide = wide[sorted(wide.columns, key=lambda v: _order(v, order))]
    wide = wide.reset_index()
    wide.columns.name = None
    wide.columns = [str(c) for c in wide.columns]
    wide = wide.iloc[sorted(range(len(wide)), key=lambda i: _sort_key(wide.iloc[i].to_dict()))].reset_index(drop=True)
    wide.attrs.update(title=title, notes=list(long.attrs.get("notes", [])), description=description)
    return wide


def _isotropy_pivot(long, label: str, recency: dict):
    """``label`` (I_Cos, I_PC, IsoScore) by language: rows model (and layer if it varies) × space.

    The space is ``none`` (the raw representations: a run without enhancement, or
    the ``/before`` value of an enhanced run; the most recent run where several
    measured it) or the enhancement (``cluster``, ``cluster (fit en)``: the ``after`` values).
    """
    import pandas as pd

    if label not in long and f"{label} after" not in long:
        return None
    rows = []
    for row in long.to_dict("records"):
        base = {"model": row["model"], "layer": row["layer"], "lang": row["lang"], "_when": recency.get(row["run_id"])}
        if not _missing(row.get(label)):
            rows.append({**base, "enhancement": "none", "value": row[label]})
        if not _missing(row.get(f"{label} after")):
            enh, fit = row.get("enhancement", "none"), row.get("enhancement_fit", "individual")
            rows.append({**base, "enhancement": enh if fit in (None, "individual") else f"{enh} (fit {fit})", "value": row[f"{label} after"]})
    if not rows:
        return None
    df = pd.DataFrame(rows).sort_values("_when", kind="stable")
    df = df.drop_duplicates(["model", "layer", "lang", "enhancement"], keep="last").drop(columns="_when")
    index = ["model"] + _varying(df, ("layer", "enhancement"))
    wide = df.pivot(index=index, columns="lang", values="value")
    wide = wide[sorted(wide.columns, key=lambda v: _order(v, LANG_ORDER))].reset_index()
    wide.columns.name = None
    wide.columns = [str(c) for c in wide.columns]
    wide = wide.iloc[sorted(range(len(wide)), key=lambda i: _sort_key(wide.iloc[i].to_dict()))].reset_index(drop=True)
    what = "; enhancement none = the raw space, else after that enhancement" if "enhancement" in index else ""
    description = f"{label} per model (rows) and language (columns){what}."
    wide.attrs.update(title=f"{label} by language", notes=list(long.attrs.get("notes", [])), description=description)
    return wide


def _top3_cell(row) -> str:
    parts = []
    for rank in (1, 2, 3):
        dim, share = row.get(f"top{rank} dim"), row.get(f"top{rank} share")
        if not _missing(dim):
            parts.append(f"{int(dim)}" if _missing(share) else f"{int(dim)} ({100 * share:.1f}%)")
    return ", ".join(parts)


def _missing(value) -> bool:
    """None, NaN or pandas' NA."""
    import pandas as pd

    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _sts_by_track(long):
    import pandas as pd

    index = ["model"] + _varying(long, ("layer", "enhancement"))
    modes = [m for m in STS_MODES if m in long]
    melted = long.melt(id_vars=index + ["track"], value_vars=modes, var_name="method", value_name="spearman")
    melted = melted[melted["spearman"].notna()]
    wide = melted.pivot(index=index + ["method"], columns="track", values="spearman")
    wide = wide[sorted(wide.columns, key=lambda v: _order(v, TRACK_ORDER))]
    wide = wide.reset_index()
    wide.columns.name = None
    wide.columns = [str(c) for c in wide.columns]
    rank = {m: i for i, m in enumerate(STS_MODES)}
    order = sorted(range(len(wide)), key=lambda i: (_sort_key(wide.iloc[i].to_dict()), rank[wide.iloc[i]["method"]]))
    wide = pd.DataFrame(wide.iloc[order]).reset_index(drop=True)
    wide.attrs.update(
        title="STS 2017 by track: Spearman × 100",
        notes=list(long.attrs.get("notes", [])),
        description="Tracks: 1 ar-ar, 2 ar-en, 3 es-es, 4a es-en, 4b es-en (WMT), 5 en-en, 6 tr-en.",
    )
    return wide


def build_tables(records) -> dict[str, "Any"]:
    """The paper's tables from ``collect_runs`` records: ``{name: pandas.DataFrame}``, only those with data.

    Long tables (one row per model × language, or model × STS track, and layer and
    enhancement): ``isotropy``, ``dimensions``, ``outliers``, ``frequency``, ``sts``.
    Pivots (rows models, columns languages or tracks): ``isotropy_i_cos``,
    ``isotropy_i_pc``, ``isotropy_isoscore`` (and ``..._after`` with an enhancement),
    ``dimensions_top3``, ``outliers_n``, ``sts_by_track``. Each frame's ``attrs`` hold
    its ``title``, ``description`` and ``notes`` (footnotes: duplicate runs).
    """
    tables: dict[str, Any] = {}
    for spec in _specs():
        long = _long_table(spec, records)
        if long is None:
            continue
        tables[spec.name] = long
        if spec.name == "isotropy":
            recency = {r["run_id"]: (r.get("start_time") or 0, r.get("end_time") or 0, r["run_id"]) for r in records}
            for label in ("I_Cos", "I_PC", "IsoScore"):
                wide = _isotropy_pivot(long, label, recency)
                if wide is not None:
                    tables[f"isotropy_{label.lower()}"] = wide
        elif spec.name == "dimensions":
            compact = long.copy()
            compact["top-3 dims (share)"] = [_top3_cell(row) for row in long.to_dict("records")]
            wide = _pivot(
                compact,
                "top-3 dims (share)",
                columns="lang",
                order=LANG_ORDER,
                title="Top-3 dimensions by language: index (share of the mean cosine)",
            )
            if wide is not None:
                tables["dimensions_top3"] = wide
        elif spec.name == "outliers":
            wide = _pivot(long, "n_outliers", columns="lang", order=LANG_ORDER, title="Number of outlier dimensions by language")
            if wide is not None:
                tables["outliers_n"] = wide
        elif spec.name == "sts":
            tables["sts_by_track"] = _sts_by_track(long)
    notes = list(getattr(records, "notes", []))
    for df in tables.values():
        df.attrs["notes"] = list(df.attrs.get("notes", [])) + notes
    return tables


# --------------------------------------------------------------------------- writing


def _cell(value, column: str) -> str:
    if _missing(value):
        return "—"
    if column == "run_id":
        return str(value)[:8]
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value).replace("|", "\\|")


def to_markdown(df) -> str:
    """``df`` as a GitHub Markdown table (numbers right-aligned, 4 significant digits, — for missing)."""
    import pandas as pd

    cols = [str(c) for c in df.columns]
    numeric = [pd.api.types.is_numeric_dtype(df[c]) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---:" if n else "---" for n in numeric) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v, c) for v, c in zip(row, cols)) + " |")
    return "\n".join(lines)


def _section(name: str, df, level: str = "##") -> str:
    parts = [f"{level} {df.attrs.get('title', name)}", ""]
    if df.attrs.get("description"):
        parts += [df.attrs["description"], ""]
    parts.append(to_markdown(df))
    notes = df.attrs.get("notes") or []
    if notes:
        parts.append("")
        parts += [f"Note: {n}  " for n in notes]
    return "\n".join(parts) + "\n"


def summary_figure(tables: dict):
    """One figure: I_PC per language, grouped by model (and enhancement), and/or STS per track; None without data."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    panels = []
    if "isotropy_i_pc" in tables:
        series = _bar_series(tables["isotropy_i_pc"], suffix="")
        langs = [c for c in tables["isotropy_i_pc"].columns if c not in _INDEX_COLS]
        panels.append(("I_PC by language (1 = isotropic)", "I_PC", langs, series))
    if "sts_by_track" in tables:
        sts = tables["sts_by_track"]
        tracks = [c for c in sts.columns if c not in _INDEX_COLS + ["method"]]
        keys = [c for c in sts.columns if c in _INDEX_COLS + ["method"]]
        series = [(_series_label(row, keys), [row[t] for t in tracks]) for _, row in sts.iterrows()]
        panels.append(("STS 2017 by track", "Spearman × 100", [f"track {t}" for t in tracks], series))
    if not panels:
        return None
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 3.8 * len(panels)), squeeze=False)
    for ax, (title, ylabel, groups, series) in zip(axes[:, 0], panels):
        x = np.arange(len(groups))
        width = 0.8 / max(1, len(series))
        for i, (label, values) in enumerate(series):
            vals = np.array([np.nan if _missing(v) else float(v) for v in values])
            ax.bar(x + (i - (len(series) - 1) / 2) * width, np.nan_to_num(vals, nan=0.0), width, label=label)
        finite = np.array([float(v) for _, vs in series for v in vs if not _missing(v)])
        if ylabel == "I_PC" and finite.size and (finite > 0).all() and finite.max() / finite.min() > 100:
            ax.set_yscale("log")
        ax.set_xticks(x)
        ax.set_xticklabels(groups)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


_INDEX_COLS = ["model", "layer", "enhancement", "enhancement_fit"]


def _bar_series(wide, suffix: str) -> list[tuple[str, list]]:
    keys = [c for c in wide.columns if c in _INDEX_COLS]
    values = [c for c in wide.columns if c not in _INDEX_COLS]
    return [(_series_label(row, keys) + suffix, [row[v] for v in values]) for _, row in wide.iterrows()]


def _series_label(row, keys) -> str:
    return " · ".join(f"layer {row[k]}" if k == "layer" else str(row[k]) for k in keys)


def write_report(tables: dict, out_dir, *, header: str = "", records=None) -> list[Path]:
    """Write each table as ``<name>.md`` and ``<name>.csv``, all of them in ``report.md``, and ``summary.png``.

    ``records`` (optional): also ``runs.csv``, one row per run read. Returns the paths written.
    """
    import matplotlib.pyplot as plt
    import pandas as pd

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    sections = [header or "# Report", ""]
    for name, df in tables.items():
        csv = out / f"{name}.csv"
        df.to_csv(csv, index=False)
        md = out / f"{name}.md"
        md.write_text(_section(name, df, "#"))
        paths += [md, csv]
        sections.append(_section(name, df))
    fig = summary_figure(tables)
    if fig is not None:
        png = out / "summary.png"
        fig.savefig(png, dpi=120)
        plt.close(fig)
        paths.append(png)
        sections.append("![summary](summary.png)\n")
    report = out / "report.md"
    report.write_text("\n".join(sections))
    paths.insert(0, report)
    if records is not None:
        runs = out / "runs.csv"
        pd.DataFrame(list(records)).to_csv(runs, index=False)
        paths.append(runs)
    return paths


# --------------------------------------------------------------------------- the report run


@dataclass
class Report:
    run_id: str
    out_dir: Path
    paths: list[Path]
    tables: dict
    records: Records


def default_out_dir(experiment: str, parent: str | None) -> Path:
    from geomexp.config import project_root

    name = experiment if parent is None else f"{experiment}-{parent[:8]}"
    return project_root() / "reports" / name


def make_report(uri: str, experiment: str | None = None, parent: str | None = None, layer=None, out_dir=None) -> Report:
    """Read the runs, build the tables, write them to ``out_dir`` and log them to a new ``report`` run."""
    from geomexp.config import project_root
    from geomexp.tracking import git_state

    records = collect_runs(uri, experiment=experiment, parent=parent, layer=layer)
    tables = build_tables(records)
    if not tables:
        raise GeomexpError(
            f"none of the {len(records)} finished runs of {records.source} logged a metric the report tabulates "
            "(i_cos, i_pc, isoscore, cc_top1..3, n_outliers, freq_rho_pc1, freq_probe_r2, sts_spearman/*)"
        )
    client = _client(uri)
    exp_name = records[0]["experiment"]
    out = Path(out_dir) if out_dir else default_out_dir(exp_name, parent)
    tags = {
        "mlflow.runName": "report",
        REPORT_TAG: "true",
        "report.source": records.source,
        "report.layer": records.layer,
        "report.n_runs": str(len(records)),
        "report.tables": ",".join(tables),
        "report.out_dir": str(out),
        **git_state(project_root()),
    }
    if parent:
        tags["report.parent"] = parent
    run = client.create_run(records.experiment_id, run_name="report", tags=tags)
    run_id = run.info.run_id
    try:
        now = dt.datetime.now().isoformat(timespec="seconds")
        header = (
            f"# Report: {records.source}\n\n"
            f"{len(records)} finished run(s) from {uri}; layer: "
            + ("the last layer each run logged" if records.layer == "last" else records.layer)
            + f"; generated {now} (MLflow run {run_id})."
        )
        paths = write_report(tables, out, header=header, records=records)
        for path in paths:
            client.log_artifact(run_id, str(path), "report")
        client.log_text(run_id, "\n".join(r["run_id"] for r in records) + "\n", "report/run_ids.txt")
    except BaseException as err:
        client.set_tag(run_id, "error", f"{type(err).__name__}: {err}"[:5000])
        client.set_terminated(run_id, "FAILED")
        raise
    client.set_terminated(run_id, "FINISHED")
    return Report(run_id, out, paths, tables, records)


def main(argv=None) -> int:
    from geomexp.reproduce import default_tracking_uri

    parser = argparse.ArgumentParser(prog="python -m geomexp.report", description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--experiment", help="the MLflow experiment to tabulate (e.g. offline_geometry)")
    which.add_argument("--parent", metavar="RUN_ID", help="tabulate one sweep: the children of this parent run")
    parser.add_argument("--tracking-uri", default=None, help="default: MLFLOW_TRACKING_URI or sqlite:///<project>/mlflow.db")
    parser.add_argument("--out", default=None, help="output folder (default: reports/<experiment>/)")
    parser.add_argument("--layer", default="last", help="layer to tabulate from runs that logged every layer: last (default) or a number")
    args = parser.parse_args(argv)
    uri = args.tracking_uri or default_tracking_uri()
    try:
        report = make_report(uri, experiment=args.experiment, parent=args.parent, layer=args.layer, out_dir=args.out)
    except GeomexpError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"report of {len(report.records)} run(s) of {report.records.source}: {len(report.tables)} table(s) in {report.out_dir}")
    for path in report.paths:
        print(f"  {path}")
    for note in report.records.notes:
        print(f"note: {note}")
    print(f"MLflow run {report.run_id} (name 'report', tag {REPORT_TAG}=true) in {uri}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
