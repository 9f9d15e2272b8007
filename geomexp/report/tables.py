"""Report tables, built from the metadata the runs logged (``meta/analyses.json``): every analysis's
``ReportTable``s (or, for one that declares none, a table of its metrics), metric labels and decimals.

Rows are models (``geomexp.model``) and the space a value was measured in; columns are metrics
(``pivot=None``), subjects (``pivot="subject"``: languages or STS tracks) or languages (``pivot="pair"``:
the matrix of a ``{pair}`` metric family). Runs with the same ``geomexp.group`` (they differ only in
the seed) share a cell: mean ± sd over them, with n. Where different groups compete for a cell, the
table gets a column per setting that tells them apart (the params that differ, else the saved configs)
and a note says which settings differ.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass

from geomexp import tag_names
from geomexp.analyses.keys import MetricKey, split_key
from geomexp.data.corpus import PAPER_LANGUAGES
from geomexp.errors import GeomexpError

RAW = "raw"
NOT_SET = "(not set)"
#: the mark of a cell whose value is not well defined (its spread metric above NOT_WELL_DEFINED)
UNSTABLE_MARK = "†"
#: params a row already shows (model, subject, enhancement) or that cells aggregate over (seed)
ROW_PARAMS = ("model", "subject", "enhancement", "enhancement.fit_lang", "seed")
#: label columns in their order (settings that tell competing runs apart come after ``model``)
LABELS = ("model", "subject", "metric", "layer", "enhancement", "space", "language")


@dataclass
class Entry:
    """One value of one run in one cell of a table (before settings are added and cells aggregated)."""

    m: object  # collect.RunAtLayer
    row: dict
    column: str
    base: str
    value: float
    depth: int = 0  # 0 raw, 1 enhanced (individual), 2 zero-shot
    analysis: str = ""
    key: str = ""  # the metric key the value was logged as (``i_cos/cluster``)

    def _tag(self, kind: str) -> str:
        """``analysis_tag`` of this value (its ``.point`` form unless it is an interval's end)."""
        info = self.m.infos.get(self.analysis)
        mi = info.metric(self.base) if info is not None else None
        return analysis_tag(self.m, kind, self.analysis, self.depth, point=mi is not None and mi.kind != "bound")

    @property
    def group(self) -> str:
        """Entries of one group differ only in the seed (one cell, mean ± sd)."""
        return self._tag("group")

    @property
    def identity(self) -> str:
        """Entries of one identity are the same measurement (counted once, the newest)."""
        return self._tag("identity")

    def unstable(self, info) -> bool:
        """Whether this value is not well defined: its metric declares a ``spread_key`` (I_PC: ``i_pc_spread``)
        and that spread, in the same space and layer, exceeds ``geomexp.compare.NOT_WELL_DEFINED``."""
        from geomexp.compare import NOT_WELL_DEFINED, companion_key

        mi = info.metric(self.base)
        if mi is None or not mi.spread_key:
            return False
        spread = self.m.values.get(companion_key(self.key, mi.spread_key))
        return spread is not None and spread > NOT_WELL_DEFINED

    def noise(self, info) -> float | None:
        """This value's standard error when it lies within 2 of them of 0 (``geomexp.compare.within_noise``)."""
        from geomexp.compare import within_noise

        return within_noise(info.metric(self.base), self.key, self.m.values)

    def params(self) -> dict:
        """The run's params that bear on this value: not the row's own, not the other analyses', and
        for a raw-space value not the enhancement's."""
        out = {}
        for k, v in self.m.run.params.items():
            if k in ROW_PARAMS or (k.startswith("analysis.") and k != f"analysis.{self.analysis}"):
                continue
            if self.depth == 0 and k.startswith("enhancement"):
                continue
            out[k] = v
        return out


def analysis_tag(m, kind: str, analysis: str, depth: int, *, point: bool = False) -> str:
    """Run ``m``'s per-analysis ``kind`` (``identity`` or ``group``) tag of a value at ``depth``:
    ``geomexp.<kind>.<analysis>[.raw][.point]`` (``point``: of a point value, the same whatever the interval
    settings and layer aliases, where the run has it), else the run's own ``geomexp.<kind>``."""
    name, raw = tag_names.IDENTITY_TAGS[kind], depth == 0
    found = m.run.tags.get(tag_names.of_analysis(name, analysis, raw=raw, point=True)) if point else None
    found = found or m.run.tags.get(tag_names.of_analysis(name, analysis, raw=raw))
    return found or (m.group if kind == "group" else m.identity)


def seeds_spread(e: Entry) -> tuple[float, int] | None:
    """(sd, number of seeds) of a value from a run with ``seeds=[...]`` (its ``<key>_sd`` metric), else None."""
    seeds = e.m.run.tags.get("seeds")
    base, suffix = split_key(e.key)
    sd = e.m.values.get(f"{base}_sd{suffix}")
    if not seeds or sd is None:
        return None
    return float(sd), len(seeds.split(","))


def _pattern(key: str) -> re.Pattern:
    """A regex for a metric key or family (``cc_top{rank}_dim``) with one named group per placeholder."""
    parts = re.split(r"\{(\w+)\}", key)
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/]+)" for i, p in enumerate(parts))
    return re.compile(regex)


def matches(column: str, base: str) -> dict | None:
    """The placeholder values if metric ``base`` is ``column`` (or a member of its family), else None."""
    m = _pattern(column).fullmatch(base)
    return m.groupdict() if m else None


def metric_label(info, base: str) -> str:
    """The declared label of ``base``, with a family's placeholders filled in (``top-2 dim``)."""
    mi = info.metric(base)
    if mi is None:
        return base
    found = matches(mi.key, base) or {}
    try:
        return mi.label.format(**found)
    except (KeyError, IndexError, ValueError):
        return mi.label


def metric_decimals(info, base: str) -> int:
    mi = info.metric(base)
    return mi.decimals if mi is not None else 4


def space(suffix: str, m) -> tuple[str, int]:
    """Label and depth of the space a value was measured in: ``raw``, ``cluster``, ``cluster fit on en``,
    ``abtt zero-shot`` (from the metric key's suffix and the run's ``geomexp.enhancement``)."""
    k = MetricKey.parse(suffix)  # a suffix parses as a key with an empty base
    if k.method is None:
        return RAW, 0
    if k.zero_shot:
        return (m.enhancement if " fit on " in m.enhancement else f"{k.method} zero-shot"), 2
    return k.method, 1


def subject_for(m, info) -> str:
    """The part of the run's subject an analysis or task measured (``sw, sts5 en-en`` -> ``sw`` or ``sts5 en-en``)."""
    parts = m.subject.split(", ")
    if len(parts) == 1:
        return m.subject
    names = [n for n in m.analyses if n in m.infos] or list(m.infos)
    kinds = {n: m.infos[n].kind for n in names}
    has_analysis = any(k != "task" for k in kinds.values())
    if info.kind != "task":
        return parts[0]
    tasks = [n for n in names if kinds[n] == "task"]
    i = tasks.index(info.name) + int(has_analysis) if info.name in tasks else -1
    return parts[i] if 0 <= i < len(parts) else m.subject


def language_of(m, info) -> str:
    """The subject of a value of analysis ``info`` in run ``m``: its language (or STS track). A run that
    also compared languages (subject ``en+sw+ar``) measured its per-language analyses on its own
    language: Hydra's ``choice.lang`` tag says which."""
    subject = subject_for(m, info)
    if "+" in subject and info.name != "crosslingual" and info.kind != "task":
        return m.run.tags.get("choice.lang") or subject
    return subject


def languages(m) -> list[str]:
    """Languages a cross-language run compared (its subject ``en+sw+ar``)."""
    return [p for p in m.subject.split(", ")[0].split("+") if p]


def split_pair(pair: str, langs: list[str]) -> tuple[str, str]:
    """``"en_sw"`` -> ``("en", "sw")``, using the run's languages where a code holds ``_``."""
    for i, ch in enumerate(pair):
        if ch == "_" and pair[:i] in langs and pair[i + 1 :] in langs:
            return pair[:i], pair[i + 1 :]
    a, _, b = pair.partition("_")
    return a, b


def table_specs(runs) -> list[tuple[object, object, str]]:
    """``(AnalysisInfo, ReportTable, table name)`` for every analysis the runs logged, in order of first
    appearance (the newest run's declaration wins); an analysis without tables gets one of its metrics."""
    from geomexp.analyses.base import ReportTable

    infos, order = {}, []
    for m in runs:
        for name, info in m.infos.items():
            if name not in infos:
                order.append(name)
            infos[name] = info
    from geomexp.report.names import safe_name

    specs, used = [], set()
    for name in order:
        info = infos[name]
        tables = info.tables
        if not tables:
            plain = tuple(mi.key for mi in info.metrics if "{" not in mi.key) or tuple(mi.key for mi in info.metrics)
            tables = (ReportTable(info.name, info.title, plain),)
        for t in tables:
            tname = safe_name(t.name, "table")  # a file name, from stored metadata: never a path or a scheme
            if tname in used:
                tname = safe_name(f"{name}_{t.name}", "table")
            base, i = tname, 2
            while tname in used:
                tname, i = f"{base}_{i}", i + 1
            used.add(tname)
            specs.append((info, t, tname))
    return specs


def entries_of(runs, info, table) -> tuple[list[Entry], list[str], dict[str, int]]:
    """The table's entries, its value columns in order, and their decimals."""
    out: list[Entry] = []
    columns: dict[str, int] = {}  # column -> decimals, in order
    mine = [m for m in runs if info.name in m.infos]
    if table.pivot is None:
        present = sorted({split_key(k)[0] for m in mine for k in m.values}, key=_natural)
        bases = []
        for c in table.columns:
            bases += [b for b in present if matches(c, b) is not None and b not in bases]
        labels = {b: metric_label(info, b) for b in bases}
        if len(set(labels.values())) < len(labels):
            labels = {b: b for b in bases}
        for b in bases:
            columns[labels[b]] = metric_decimals(info, b)
        for m in mine:
            for key, value in m.values.items():
                base, suffix = split_key(key)
                if base in labels:
                    label, depth = space(suffix, m)
                    row = {
                        "model": m.model,
                        "subject": subject_for(m, info),
                        "layer": m.layer,
                        "enhancement": _enh(m, depth),
                        "space": label,
                    }
                    out.append(Entry(m, row, labels[base], base, value, depth, info.name, key))
        return out, list(columns), columns
    metric = table.columns[0]
    family = "{" in metric
    for m in mine:
        for key, value in m.values.items():
            base, suffix = split_key(key)
            found = matches(metric, base)
            if found is None:
                continue
            label, depth = space(suffix, m)
            decimals = metric_decimals(info, base)
            if table.pivot == "pair":
                a, b = split_pair(next(iter(found.values()), base), languages(m))
                common = {
                    "model": m.model,
                    "subject": subject_for(m, info),
                    "layer": m.layer,
                    "enhancement": _enh(m, depth),
                    "space": label,
                }
                for x, y in ((a, b), (b, a)):
                    out.append(Entry(m, {**common, "language": x}, y, base, value, depth, info.name, key))
                    columns.setdefault(x, decimals)
                    columns.setdefault(y, decimals)
            else:  # "subject" (or another run attribute: its values become the columns)
                if table.pivot == "subject":
                    attr = subject_for(m, info)
                else:
                    attr = str(getattr(m, table.pivot, "") or m.run.tags.get(table.pivot, ""))
                row = {"model": m.model, **({"metric": metric_label(info, base)} if family else {})}
                row.update(layer=m.layer, enhancement=_enh(m, depth), space=label)
                out.append(Entry(m, row, attr, base, value, depth, info.name, key))
                columns.setdefault(attr, decimals)
    return out, sorted(columns, key=column_order), columns


def column_order(name: str) -> tuple:
    """Sort key of a table's language (or track) columns: the paper's languages in its order, then the
    rest in natural order (``sts2 ar-en`` before ``sts10 ...``), whatever order the runs came in."""
    if name in PAPER_LANGUAGES:
        return (0, PAPER_LANGUAGES.index(name))
    return (1, _natural(name))


def _enh(m, depth: int) -> str:
    """The row's enhancement: ``none`` for a raw-space value (whatever else the run enhanced), else the
    method with the settings the paper names it by, ``cluster k=27 D=12`` (``fit on en`` after them)."""
    if depth == 0:
        return "none"
    method, _, rest = m.enhancement.partition(" ")
    params = dict(m.run.params)
    compact = params.get("enhancement.params", "")  # logged as one string when the params were many
    params.update(dict(p.split("=", 1) for p in compact.split() if "=" in p))
    said = [
        f"{short}={params.get(f'enhancement.{name}', params.get(name))}"
        for name, short in METHOD_SETTINGS
        if params.get(f"enhancement.{name}", params.get(name)) not in (None, "None", "null")
    ]
    return " ".join([method, *said, *([rest] if rest else [])])


#: an enhancement's settings named in its row label, as the paper writes them (k clusters, D directions)
METHOD_SETTINGS = (("n_clusters", "k"), ("n_components", "D"))


def _natural(text) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", str(text))]


def _row_key(row: dict) -> tuple:
    return tuple(row.items())


def _differing(settings: list[dict]) -> list[str]:
    keys = []
    for s in settings:
        keys += [k for k in s if k not in keys]
    return [k for k in keys if len({s.get(k, NOT_SET) for s in settings}) > 1]


def _config_settings(m, store) -> dict:
    """The run's saved config, flattened, minus what never changes numbers and the seeds (``config.<key>``);
    ``store``: where the runs were read (``geomexp.report.source``; a tracking URI is one), None for none."""
    if not store:
        return {}
    from geomexp.experiment.identity import DISPLAY_PARAMS, NON_RESULT_KEYS, SEED_KEYS, flatten
    from geomexp.report.source import as_source

    try:
        flat = flatten(as_source(store).config(m.run_id))
    except GeomexpError:  # a run without a saved config: its params are all there is
        return {}
    skip = (*NON_RESULT_KEYS, *SEED_KEYS)
    return {
        f"config.{k}": str(v)
        for k, v in flat.items()
        if not any(k == p or k.startswith(p + ".") for p in skip) and k.rsplit(".", 1)[-1] not in DISPLAY_PARAMS
    }


def _describe(row: dict, column: str) -> str:
    """``minilm · layer 6 · sw``: a cell in words (the raw space and no enhancement left unsaid)."""
    parts = []
    for k, v in row.items():
        if not ((k == "enhancement" and v == "none") or (k == "space" and v == RAW)):
            parts.append(f"layer {v}" if k == "layer" else str(v))
    return " · ".join(parts + [column])


def resolve_conflicts(entries: list[Entry], uri: str | None) -> tuple[list[str], list[str]]:
    """Add to every entry's row the settings that tell apart groups competing for one cell.

    Returns the setting keys added and the notes saying which settings differ where.
    """
    cells = defaultdict(dict)
    for e in entries:
        cells[(_row_key(e.row), e.column)][e.group] = e  # runs are oldest first: the newest of a group
    conflicts = [(cell, list(groups.values())) for cell, groups in cells.items() if len(groups) > 1]
    if not conflicts:
        return [], []
    keys: list[str] = []
    configs: dict[str, dict] = {}
    by_diff = defaultdict(lambda: ([], defaultdict(set)))
    for (row, column), es in conflicts:
        settings = [e.params() for e in es]
        diff = _differing(settings)
        if not diff:
            for e in es:
                configs.setdefault(e.m.run_id, _config_settings(e.m, uri))
            settings = [configs[e.m.run_id] for e in es]
            diff = _differing(settings)
        cells_, values = by_diff[tuple(diff)]
        cells_.append(_describe(dict(row), column))
        for k in diff:
            values[k] |= {s.get(k, NOT_SET) for s in settings}
        keys += [k for k in diff if k not in keys]

    def value(e, key):
        if key.startswith("config."):
            if e.m.run_id not in configs:
                configs[e.m.run_id] = _config_settings(e.m, uri)
            return configs[e.m.run_id].get(key, NOT_SET)
        return e.params().get(key, NOT_SET)

    for e in entries:
        e.row = _with_settings(e.row, {k: value(e, k) for k in keys})
    notes = []
    for diff, (where, values) in by_diff.items():
        what = "; ".join(f"{k}: {' vs '.join(sorted(values[k], key=_natural))}" for k in diff)
        what = what or "a setting logged neither as a param nor in the config"
        more = f" and {len(where) - 3} more" if len(where) > 3 else ""
        notes.append(f"Separate rows for runs that differ in {what} (at {'; '.join(where[:3])}{more}).")
    # groups still sharing a cell (nothing saved tells them apart): one row per group
    cells = defaultdict(set)
    for e in entries:
        cells[(_row_key(e.row), e.column)].add(e.group)
    if any(len(g) > 1 for g in cells.values()):
        keys.append("group")
        for e in entries:
            e.row = _with_settings(e.row, {"group": e.group[:8]})
        notes.append(
            "Runs of different measurement groups could not be told apart by their params or configs: rows by geomexp.group."
        )
    if any(k.startswith("config.") for k in keys):
        notes.append("config.<key>: a setting of the saved config (config/config.yaml) that is not logged as a param.")
    return keys, notes


def _with_settings(row: dict, settings: dict) -> dict:
    """``row`` with ``settings`` after ``model`` (a setting named like a label column gets `` (setting)``)."""
    out = {"model": row["model"]}
    for k, v in settings.items():
        out[f"{k} (setting)" if k in LABELS else k] = v
    out.update({k: v for k, v in row.items() if k != "model"})
    return out


def build_table(runs, info, table, uri: str | None = None):
    """One table as a ``pandas.DataFrame`` (or None without data); see ``build_tables``."""
    import pandas as pd

    entries, columns, decimals = entries_of(runs, info, table)
    if not entries:
        return None
    _, notes = resolve_conflicts(entries, uri)

    # order of rows: by first appearance (runs are oldest first), raw space first, numbers numerically
    first: dict[str, dict] = defaultdict(dict)
    depth: dict[str, int] = {}
    for e in entries:
        for k, v in e.row.items():
            first[k].setdefault(v, len(first[k]))
        depth[e.row.get("space", RAW)] = e.depth
    first["enhancement"] = {**first.get("enhancement", {}), "none": -1}

    def order(k, v):
        if k == "space":
            return (depth.get(v, 0), first[k].get(v, 0), "")
        if k == "layer" or (isinstance(v, str) and _is_number(v) and all(_is_number(x) for x in first[k])):
            return (0, float(v), "")
        return (1, first[k].get(v, 0), str(v))

    cells: dict[tuple, dict[str, dict]] = defaultdict(lambda: defaultdict(dict))
    sources: dict[tuple, dict[str, dict]] = defaultdict(lambda: defaultdict(dict))
    rows: dict[tuple, dict] = {}
    runs_of: dict[tuple, list[str]] = defaultdict(list)
    in_run: dict[tuple, dict[str, tuple]] = defaultdict(dict)  # a seeds=[...] run's own (sd, n seeds)
    unstable: dict[tuple, set] = defaultdict(set)
    noise: dict[tuple, dict[str, float]] = defaultdict(dict)
    for e in entries:  # oldest first: of entries with one identity (the same measurement) the newest counts
        key = _row_key(e.row)
        rows.setdefault(key, e.row)
        cells[key][e.column][e.identity] = e.value
        spread_in_run = seeds_spread(e)
        if spread_in_run:
            in_run[key][e.column] = spread_in_run
        sources[key][e.column][e.identity] = (e.m.run_id, e.key, e.m.layer)
        if e.unstable(info):
            unstable[key].add(e.column)
        se = e.noise(info)
        if se is not None:
            noise[key][e.column] = max(se, noise[key].get(e.column, 0.0))
        if e.m.run_id not in runs_of[key]:
            runs_of[key].append(e.m.run_id)
    keys = sorted(rows, key=lambda key: [order(k, v) for k, v in key])

    records, spread, cell_sources = [], {}, []
    for key in keys:
        rec = dict(rows[key])
        for c in columns:
            values = list(cells[key].get(c, {}).values())
            n = len(values)
            rec[c] = math.fsum(values) / n if n else math.nan
            rec[f"{c} sd"] = statistics.stdev(values) if n > 1 else math.nan
            rec[f"{c} n"] = n
            if n == 1 and c in in_run[key]:  # one run that repeated its measurement: its spread over seeds
                rec[f"{c} sd"], rec[f"{c} n"] = in_run[key][c]
            if rec[f"{c} n"] > 1:
                spread[c] = (f"{c} sd", f"{c} n")
        rec["runs"] = " ".join(r[:8] for r in runs_of[key])
        records.append(rec)
        cell_sources.append({c: list(sources[key][c].values()) for c in columns if sources[key].get(c)})
    df = pd.DataFrame.from_records(records)
    labels = [k for k in rows[keys[0]]]
    drop = []
    if set(df.get("enhancement", [])) <= {"none"} and set(df.get("space", [])) <= {RAW}:
        drop += ["enhancement", "space"]
    if "metric" in df and df["metric"].nunique() <= 1:
        drop.append("metric")
    labels = [k for k in labels if k not in drop]
    value_cols = []
    for c in columns:
        value_cols += [c, *spread.get(c, ())]
    df = df[labels + value_cols + ["runs"]].copy()
    df, labels = _fold_wide_settings(df, labels, notes)
    for _, n in spread.values():
        df[n] = df[n].astype("Int64")
    if spread:
        notes.insert(
            0,
            "mean ± sd (n) over runs that differ only in the seed, or over the seeds of one run with "
            "seeds=[...] (sd: sample standard deviation).",
        )
    if any(noise.values()):
        notes.append(
            "v ± se: the value lies within 2 standard errors of 0 (se: its own sampling error, e.g. I_Cos over "
            "its random pairs): indistinguishable from 0 at this sample size, not a measured difference."
        )
    if any(unstable.values()):
        notes.append(
            f"{UNSTABLE_MARK} not well defined: the value moves by more than 1 % with the arbitrary choice of "
            "eigenvectors within eigenspaces the sample does not resolve (i_pc_spread above 0.01; e.g. I_PC after "
            "whitening). Do not compare it across runs."
        )
    df.attrs.update(
        title=table.title,
        description=table.description,
        notes=notes,
        analysis=info.name,
        pivot=table.pivot,
        labels=labels,
        settings=[k for k in labels if k not in LABELS],
        decimals={c: decimals[c] for c in columns},
        spread=spread,
        sources=cell_sources,
        unstable=[sorted(unstable[key]) for key in keys],
        noise=[dict(noise[key]) for key in keys],
    )
    return df


#: settings columns beyond this many, or a value longer than this, go to a footnote (a lettered column)
MAX_SETTING_COLUMNS, MAX_SETTING_WIDTH = 3, 24


def _fold_wide_settings(df, labels: list[str], notes: list[str]):
    """``(df, labels)`` with the settings columns (labels that are not ``LABELS``) replaced by one column
    ``settings`` of letters, and a note saying what each letter stands for, when they are more than
    ``MAX_SETTING_COLUMNS`` or a value is wider than ``MAX_SETTING_WIDTH`` (they overflowed the HTML table
    and pushed the language columns out of sight); else unchanged."""
    settings = [k for k in labels if k not in LABELS]
    if not settings or (
        len(settings) <= MAX_SETTING_COLUMNS and all(len(str(v)) <= MAX_SETTING_WIDTH for k in settings for v in df[k])
    ):
        return df, labels
    combos = list(dict.fromkeys(tuple(str(v) for v in row) for row in df[settings].itertuples(index=False)))
    letter = {combo: _letters(i) for i, combo in enumerate(combos)}
    column = [letter[tuple(str(v) for v in row)] for row in df[settings].itertuples(index=False)]
    at = labels.index(settings[0])
    df = df.drop(columns=settings)
    df.insert(at, "settings", column)
    for combo in combos:
        said = "; ".join(f"{k}={v}" for k, v in zip(settings, combo))
        notes.append(f"settings {letter[combo]}: {said}.")
    kept = [k for k in labels if k not in settings]
    return df, [*kept[:at], "settings", *kept[at:]]


def _letters(i: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA, ..."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def _is_number(v) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


def build_tables(runs) -> dict:
    """``{table name: pandas.DataFrame}`` for every table with data, from the runs' own metadata.

    ``runs``: a ``collect.Runs`` (or any list of ``RunAtLayer``). Each frame has label columns
    (``model``, settings that tell competing runs apart, ``subject``/``layer``/``enhancement``/
    ``space``/``language`` as the table needs), value columns (mean over the runs of a cell) with
    ``<col> sd`` and ``<col> n`` after those where a cell aggregates runs, and ``runs`` (their ids).
    ``attrs``: ``title``, ``description``, ``notes``, ``decimals`` ({value column: decimals}),
    ``spread`` ({column: (sd column, n column)}), ``labels``, ``settings``, ``analysis``, ``pivot``,
    ``sources`` (per row, ``{value column: [(run id, metric key, layer), ...]}``: what each cell averages).
    """
    uri = getattr(runs, "store", None)  # where the runs were read (None: a plain list of runs)
    out = {}
    for info, table, name in table_specs(runs):
        df = build_table(runs, info, table, uri)
        if df is not None:
            out[name] = df
    return out
