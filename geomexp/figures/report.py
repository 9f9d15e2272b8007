"""Cross-run figures of a report, built from the runs' logged metrics and metadata (``meta/analyses.json``).

Every function returns a matplotlib ``Figure`` (so a test can read back what was drawn); ``build_figures``
returns them all by file stem, ``write.py`` saves them in the report's formats.

- ``layer_curves``: a metric against layer, one line per language and one panel per model
  (``by="subject"``), or one line per model and one panel per language (``by="model"``); the raw space
  solid, an enhanced space dashed (zero-shot dotted) in the line's colour, where the runs used one
  enhancement method; a log axis where the metric declares ``log_scale`` or spans decades; the x axis
  is the layer index or, for models of different depths, the relative depth layer / L
  (``geomexp.report.depth``);
- ``method_comparison``: every enhancement method of the runs on the same axes, per model · language;
- ``sts_bars``: STS Spearman per track × mode (raw, enhanced, zero-shot) with bootstrap intervals;
- ``overlap_heatmaps``: the cross-language subspace overlap with a colour scale fitted to the data and
  the chance level D/d marked;
- dimension consistency (``geomexp.report.dimensions``): maps of the rogue and outlier dimensions;
- over training checkpoints (``geomexp.figures.checkpoints``): headline metrics against training step
  and layer x step heat maps, where a model was measured at several steps (tag ``model.step``).

Values of one line at one layer are the mean over the runs of one measurement group (runs that differ
only in the seed; the same measurement counted once); groups that differ in a setting get lines of
their own (``[group]`` in the label; `` step N`` for checkpoints of one model).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from geomexp.analyses.keys import MetricKey
from geomexp.figures.checkpoints import has_steps, step_curves, step_heatmaps, step_of
from geomexp.figures.style import panel_grid
from geomexp.report.depth import AXIS_LABELS, RELATIVE_TICKS, depth_x, num_layers_of, resolve_depth
from geomexp.report.tables import RAW, analysis_tag, language_of, space, split_key, subject_for


@dataclass
class Series:
    """One line: a metric of one (model, subject, space, group) over layers; ``values[layer]`` = mean
    over the distinct measurements (identities) of the group; ``runs``: the run ids behind it;
    ``num_layers``: the model's number of layers L (tag ``num_layers``; None if not recorded)."""

    model: str
    subject: str
    space: str
    depth: int
    group: str
    key: str
    points: dict[int, dict[str, float]] = field(default_factory=dict)  # layer -> {identity: value}
    runs: list[str] = field(default_factory=list)
    num_layers: int | None = None
    #: layer -> {identity: (low, high)}: the interval each measurement logged with the value (bootstrap
    #: ``<key>_ci_low/_ci_high``, else over seeds ``<key>_seeds_ci_low/_seeds_ci_high``)
    intervals: dict[int, dict[str, tuple[float, float]]] = field(default_factory=dict)
    #: the training step of the model's checkpoint (tag ``model.step``), None if it names none
    step: int | None = None

    def band(self) -> tuple[list[float], list[float]] | None:
        """``(lows, highs)`` over the layers, where every layer holds ONE measurement with an interval (an
        interval of a mean of several measurements is not what they logged); else None."""
        if not self.points or any(
            len(v) != 1 or set(v) != set(self.intervals.get(k, {})) for k, v in self.points.items()
        ):
            return None
        ends = [next(iter(self.intervals[k].values())) for k in self.layers]
        return [lo for lo, _ in ends], [hi for _, hi in ends]

    @property
    def layers(self) -> list[int]:
        return sorted(self.points)

    @property
    def values(self) -> list[float]:
        return [math.fsum(v.values()) / len(v) for _, v in sorted(self.points.items())]


def infos_of(runs) -> dict:
    """``{analysis name: AnalysisInfo}`` of the runs (the newest run's declaration wins), in order of appearance."""
    out = {}
    for m in runs:
        out.update(m.infos)
    return out


def series_of(runs, info, metric: str, *, all_layers: bool = True) -> list[Series]:
    """The lines of ``metric`` (a plain key, no space suffix) of analysis ``info``: its raw and enhanced
    variants in every run that logged it; ``all_layers``: every layer a run logged (else the layer
    the report tabulates)."""
    out: dict[tuple, Series] = {}
    for m in runs:
        if info.name not in m.infos:
            continue
        items = (((k, step), v) for (k, step), v in m.run.metrics.items() if all_layers or step == m.layer)
        for (key, step), value in items:
            base, suffix = split_key(key)
            if base != metric or not math.isfinite(value):
                continue
            label, depth = space(suffix, m)
            group = analysis_tag(m, "group", info.name, depth, point=True)  # a curve draws point values
            identity = analysis_tag(m, "identity", info.name, depth, point=True)
            sid = (m.model, language_of(m, info), label, group)
            s = out.setdefault(
                sid, Series(m.model, sid[1], label, depth, group, key, num_layers=num_layers_of(m), step=step_of(m))
            )
            s.points.setdefault(step, {})[identity] = value
            interval = _interval(m.run.metrics, key, step)
            if interval is not None:
                s.intervals.setdefault(step, {})[identity] = interval
            if m.run_id not in s.runs:
                s.runs.append(m.run_id)
    return list(out.values())


#: the interval families a run may log beside a value: a bootstrap's, then a repeated measurement's (seeds)
INTERVAL_PARTS = (("_ci_low", "_ci_high"), ("_seeds_ci_low", "_seeds_ci_high"))


def _interval(metrics: dict, key: str, step: int) -> tuple[float, float] | None:
    """The (low, high) interval logged for ``key`` at ``step`` (the first family of ``INTERVAL_PARTS`` there)."""
    k = MetricKey.parse(key)
    for low, high in INTERVAL_PARTS:
        lo, hi = metrics.get((k.with_part(low).format(), step)), metrics.get((k.with_part(high).format(), step))
        if lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi):
            return float(lo), float(hi)
    return None


def _order(values) -> list:
    return list(dict.fromkeys(values))


def _label_groups(series: list[Series], keys) -> dict[int, str]:
    """A suffix for series that share ``keys`` but belong to different measurement groups: `` step N`` where
    they are checkpoints of one model at distinct training steps, else ``[group]``."""
    by = defaultdict(list)
    for s in series:
        by[tuple(getattr(s, k) for k in keys)].append(s)
    out = {}
    for bucket in by.values():
        groups, steps = {s.group for s in bucket}, [s.step for s in bucket]
        by_step = None not in steps and len(set(steps)) == len(groups) == len({(s.group, s.step) for s in bucket})
        for s in bucket:
            out[id(s)] = "" if len(groups) < 2 else (f" step {s.step:,}" if by_step else f" [{s.group[:6]}]")
    return out


def use_log(mi, values) -> bool:
    """A log axis: the metric declares ``log_scale`` or its values span decades; only for positive values."""
    from geomexp.figures.plots import spans_decades

    vals = [v for v in values if v is not None and math.isfinite(v)]
    return bool(vals) and all(v > 0 for v in vals) and (mi.log_scale or spans_decades(vals))


def layer_curves(runs, info, metric: str, *, by: str = "subject", title: str = "", depth: str = "layer"):
    """``metric`` of ``info`` against layer: one line per language (``by="subject"``), one panel per model;
    or one line per model, one panel per language (``by="model"``). None if no run logged 2+ layers.

    ``depth``: the x axis (``geomexp.report.depth``): ``layer`` (the index, 0 = embeddings),
    ``relative`` (layer / L of each line's model, 0..1; models are then labelled with their L), or
    ``auto`` (relative when the runs' models have different depths).

    Each line's label is its language (or model), with `` (<space>)`` for an enhanced space; the
    raw space is solid, an enhanced one dashed, zero-shot dotted. Enhanced spaces are drawn only when
    the runs used a single enhancement method (several: see ``method_comparison``).
    """
    from geomexp.figures.plots import _layer_ticks
    from geomexp.figures.style import SPACE_LINESTYLES, colors, language_colors, paper_style

    mi = info.metric(metric)
    axis = resolve_depth(runs, depth)
    series = [s for s in series_of(runs, info, metric) if len(s.points) > 1]
    methods = {s.space for s in series if s.depth > 0}
    if len({m.split(" ")[0] for m in methods}) > 1:
        series = [s for s in series if s.depth == 0]
    if not series:
        return None
    panel_attr, line_attr = ("model", "subject") if by == "subject" else ("subject", "model")
    panels = _order(getattr(s, panel_attr) for s in series)  # every one, wrapped onto rows: none dropped
    lines = _order(getattr(s, line_attr) for s in series)
    if line_attr == "subject":  # a language has one colour in every figure
        color = language_colors(lines)
    else:
        palette = colors()
        color = {name: palette[i % len(palette)] for i, name in enumerate(lines)}
    suffix = _label_groups(series, (panel_attr, line_attr, "space"))
    log = use_log(mi, [v for s in series for v in s.values])

    def named(model: str) -> str:  # on the relative axis a model says its depth
        depths = {s.num_layers for s in series if s.model == model}
        return f"{model} (L={depths.pop()})" if axis == "relative" and len(depths) == 1 else model

    banded = False
    with paper_style():
        fig, axes = panel_grid(len(panels))
        for ax, panel in zip(axes, panels):
            for s in series:
                if getattr(s, panel_attr) != panel:
                    continue
                name = getattr(s, line_attr)
                shown = named(name) if line_attr == "model" else name
                label = shown + ("" if s.space == RAW else f" ({s.space})") + suffix[id(s)]
                x = depth_x(s.layers, s.num_layers, axis)
                ax.plot(x, s.values, marker="o", color=color[name], linestyle=SPACE_LINESTYLES[s.depth], label=label)
                band = s.band()
                if band is not None:  # the interval each measurement logged, shaded in the line's colour
                    ax.fill_between(x, *band, color=color[name], alpha=0.18, linewidth=0)
                    banded = True
            if log:
                ax.set_yscale("log")
            ax.set_title(named(panel) if panel_attr == "model" else panel)
            ax.set_xlabel(AXIS_LABELS[axis])
            ax.set_ylabel(mi.axis_label(log))
            if axis == "relative":
                ax.set_xticks(RELATIVE_TICKS)
                ax.set_xlim(-0.04, 1.04)
            else:
                _layer_ticks(ax, sorted({x for s in series if getattr(s, panel_attr) == panel for x in s.layers}))
        handles, labels = _legend_entries(axes)
        what = "language" if line_attr == "subject" else "model"
        where = "relative depth" if axis == "relative" else "layer"
        shaded = "; shaded: the interval each run logged" if banded else ""
        fig.suptitle((title or f"{mi.label} by {where}, one line per {what}") + shaded)
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 6), frameon=False)
        fig.set_layout_engine("constrained")
    return fig


def _legend_entries(axes):
    """Unique (handle, label) pairs over the axes, in order."""
    seen = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    return list(seen.values()), list(seen)


def method_comparison(runs, *, title: str = ""):
    """Every enhancement method of the runs on the same axes: one panel per headline metric (rows) and
    model · language, wrapped onto as many rows as needed (none dropped); the raw space solid and
    black, each method dashed in its colour.
    Against layer where runs logged several layers, else bars (one model per panel, so always the
    layer index). None without enhanced values."""

    from geomexp.figures.plots import _layer_ticks
    from geomexp.figures.style import method_colors, paper_style

    infos = infos_of(runs)
    rows = []  # (info, metric, [series])
    for info in infos.values():
        for key in info.headline():
            mi = info.metric(key)
            if mi is None or not mi.curve:
                continue
            series = series_of(runs, info, key, all_layers=True)
            if any(s.depth > 0 for s in series):
                rows.append((info, mi, series))
    if not rows:
        return None
    cols = _order((s.model, s.subject) for _, _, ss in rows for s in ss if s.depth > 0)  # every one: none dropped
    methods = _order(s.space for _, _, ss in rows for s in ss if s.depth > 0)
    color = method_colors([RAW, *methods])  # the same colours as the STS bars
    multi_layer = any(len(s.points) > 1 for _, _, ss in rows for s in ss)
    # one panel per metric and model · language: each metric starts a row, wrapped onto as many as needed
    ncols = min(len(cols), 4) if len(cols) > 1 else min(len(rows), 3)
    panels: list = []
    for _, mi, series in rows:
        panels += [(mi, series, col) for col in cols]
        if len(cols) > 1:
            panels += [None] * (-len(panels) % ncols)
    xlabel = "layer" if ncols > 2 else "layer (0 = embeddings)"
    with paper_style():
        fig, flat = panel_grid(len(panels), ncols_max=ncols, panel_h=2.2)
        for ax, panel in zip(flat, panels):
            if panel is None:
                ax.set_visible(False)
                continue
            mi, series, (model, subject) = panel
            mine = [s for s in series if (s.model, s.subject) == (model, subject)]
            raw = [s for s in mine if s.depth == 0][:1]  # the raw space: one line (the same measurement)
            shown = raw + [s for s in mine if s.depth > 0]
            log = use_log(mi, [v for s in shown for v in s.values])
            where = f"{model} · {subject}"
            ax.set_title(mi.label if len(cols) == 1 else (where if len(rows) == 1 else f"{mi.label}: {where}"))
            if multi_layer:
                for s in shown:
                    ax.plot(
                        s.layers,
                        s.values,
                        marker="o",
                        color=color[s.space],
                        linestyle="-" if s.depth == 0 else "--",
                        label="none (raw)" if s.depth == 0 else s.space,
                    )
                ax.set_xlabel(xlabel)
                _layer_ticks(ax, sorted({x for s in shown for x in s.layers}))
                if log:
                    ax.set_yscale("log")
                ax.set_ylabel(mi.axis_label(log))
            else:
                names = ["none" if s.depth == 0 else s.space for s in shown]
                vals = [s.values[-1] for s in shown]
                ax.barh(names[::-1], vals[::-1], color=[color[s.space] for s in shown][::-1])
                ax.grid(axis="y", visible=False)
                if log:
                    ax.set_xscale("log")
                ax.set_xlabel(mi.axis_label(log))
        if multi_layer:
            handles, labels = _legend_entries([ax for ax in flat if ax.get_visible()])
            fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 6), frameon=False)
        where = f" — {cols[0][0]} · {cols[0][1]}" if len(cols) == 1 else ""
        fig.suptitle(title or f"Isotropy enhancement methods compared{where}")
        fig.set_layout_engine("constrained")
    return fig


def sts_bars(runs, *, title: str = ""):
    """STS Spearman × 100 per track (groups) and mode (bars: raw, each enhanced space, zero-shot),
    with the bootstrap interval (``sts_spearman_ci_low/high``) as error bars where logged; one panel
    per model. None without STS runs."""
    import matplotlib.pyplot as plt

    from geomexp.figures.style import TEXT_WIDTH, method_colors, paper_style

    info = infos_of(runs).get("sts")
    if info is None:
        return None
    cells: dict[tuple, dict] = {}  # (model, track, mode) -> {identity: (value, low, high)}
    for m in runs:
        if "sts" not in m.infos:
            continue
        track = subject_for(m, info)
        for key, value in m.values.items():
            base, suffix = split_key(key)
            if base != "sts_spearman":
                continue
            label, depth = space(suffix, m)
            identity = analysis_tag(m, "identity", "sts", depth)
            low = m.values.get(f"sts_spearman_ci_low{suffix}", math.nan)
            high = m.values.get(f"sts_spearman_ci_high{suffix}", math.nan)
            cells.setdefault((m.model, track, label), {})[identity] = (value, low, high)
    if not cells:
        return None
    models = _order(k[0] for k in cells)
    tracks = _order(k[1] for k in cells)
    modes = _order(k[2] for k in sorted(cells, key=lambda k: k[2] != RAW))
    color = method_colors(modes)  # the same colours as the methods figure
    with paper_style():
        fig, axes = plt.subplots(
            len(models), 1, figsize=(TEXT_WIDTH if len(tracks) > 3 else 4.2, 0.7 + 2.1 * len(models)), squeeze=False
        )
        width = 0.8 / len(modes)
        for ax, model in zip(axes[:, 0], models):
            for i, mode in enumerate(modes):
                xs, ys, err = [], [], [[], []]
                for t, track in enumerate(tracks):
                    got = cells.get((model, track, mode))
                    if not got:
                        continue
                    vals = np.array(list(got.values()), dtype=np.float64)
                    v, lo, hi = vals[:, 0].mean(), vals[:, 1].mean(), vals[:, 2].mean()
                    xs.append(t - 0.4 + width * (i + 0.5))
                    ys.append(v)
                    err[0].append(v - lo if math.isfinite(lo) else 0.0)
                    err[1].append(hi - v if math.isfinite(hi) else 0.0)
                variant = mode != RAW and " " in mode  # zero-shot / fit on another language: hatched
                ax.bar(xs, ys, width=width * 0.95, color=color[mode], label=mode, hatch="///" if variant else None)
                if any(e > 0 for e in err[0] + err[1]):
                    ax.errorbar(xs, ys, yerr=err, fmt="none", ecolor="black", elinewidth=0.8, capsize=2)
            ax.set_xticks(range(len(tracks)), tracks)
            ax.set_ylabel("Spearman × 100")
            ax.set_title(model)
            ax.grid(axis="x", visible=False)
        handles, labels = _legend_entries(list(axes[:, 0]))
        fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 5), frameon=False)
        fig.suptitle(title or "STS 2017 by track and mode (error bars: 95 % bootstrap interval)")
        fig.set_layout_engine("constrained")
    return fig


def overlap_heatmaps(runs, *, title: str = ""):
    """Cross-language subspace overlap, one panel per model (and enhanced space), at the tabulated layer:
    colour scale fitted to the off-diagonal values of all panels, the chance level D/d marked on the
    colour bar. None without crosslingual runs."""

    from geomexp.figures.plots import draw_overlap, mark_chance, overlap_scale
    from geomexp.figures.style import paper_style
    from geomexp.report.tables import languages, split_pair

    panels: dict[tuple, tuple] = {}  # (model, space) -> (langs, {pair: value}, chance)  (newest run wins)
    for m in runs:
        if "crosslingual" not in m.infos:
            continue
        langs = languages(m)
        for key, value in m.values.items():
            base, suffix = split_key(key)
            if not base.startswith("xl_overlap."):
                continue
            label, _ = space(suffix, m)
            chance = m.values.get(f"xl_overlap_chance{suffix}", m.values.get("xl_overlap_chance"))
            entry = panels.get((m.model, label))
            if entry is None or entry[0] != langs:
                entry = panels[(m.model, label)] = (langs, {}, chance)
            entry[1][split_pair(base.partition(".")[2], langs)] = value
    if not panels:
        return None
    mats = []
    for (model, label), (langs, pairs, chance) in panels.items():
        k = len(langs)
        mat = np.eye(k)
        for (a, b), v in pairs.items():
            if a in langs and b in langs:
                i, j = langs.index(a), langs.index(b)
                mat[i, j] = mat[j, i] = v
        mats.append((f"{model}" + ("" if label == RAW else f" · {label}"), langs, mat, chance))
    off = np.concatenate([mat[~np.eye(len(langs), dtype=bool)] for _, langs, mat, _ in mats])
    chances = [c for *_, c in mats if c is not None]
    chance = chances[0] if chances and all(abs(c - chances[0]) < 1e-12 for c in chances) else None
    lo, hi = overlap_scale(off, chance)
    with paper_style():
        k = max(len(langs) for _, langs, _, _ in mats)
        fig, axes = panel_grid(len(mats), ncols_max=3, panel_h=1.1 + 0.38 * k)  # wrapped: none dropped
        im = None
        for ax, (name, langs, mat, _) in zip(axes, mats):
            im = draw_overlap(ax, mat, langs, vmin=lo, vmax=hi)
            ax.set_title(name)
        cbar = fig.colorbar(im, ax=axes, fraction=0.05, pad=0.03)
        mark_chance(cbar, chance)
        fig.suptitle(title or "Top-D principal subspace overlap between languages")
        fig.set_layout_engine("constrained")
    return fig


def curve_metrics(runs) -> list[tuple]:
    """``(info, metric key)`` of every plain (not a family) metric with a meaningful curve that some run
    logged at 2+ layers, in declaration order."""
    multi = defaultdict(set)
    nonpositive = set()  # metrics with a value <= 0 somewhere (a log axis cannot show it)
    for m in runs:
        steps = defaultdict(set)
        for (key, step), value in m.run.metrics.items():
            steps[split_key(key)[0]].add(step)
            if not value > 0:
                nonpositive.add(split_key(key)[0])
        for base, s in steps.items():
            if len(s) > 1:
                multi[base].add(m.run_id)
    out = []
    for info in infos_of(runs).values():
        for mi in info.metrics:
            if not (mi.curve and "{" not in mi.key and mi.key in multi):
                continue
            twin = info.metric(mi.twin) if mi.twin else None
            if twin is not None and twin.key in multi and not (twin.log_scale and twin.key in nonpositive):
                continue  # folded: its twin's curve shows it (its values are in the tables)
            out.append((info, mi.key))
    return out


class FigureSet(dict):
    """``{file stem: Figure}`` with ``captions`` (``{stem: text}``) for the HTML report."""

    def __init__(self):
        super().__init__()
        self.captions: dict[str, str] = {}
        #: the x axis of the layer curves (``layer`` or ``relative``)
        self.depth = "layer"

    def add(self, stem: str, fig, caption: str) -> None:
        """Add ``fig`` under a safe file stem (``stem`` may hold names from stored metadata)."""
        from geomexp.report.names import safe_name

        if fig is not None:
            stem = "/".join(safe_name(part, "figure") for part in stem.split("/"))  # subfolders stay
            self[stem] = fig
            self.captions[stem] = caption


def build_figures(runs, dimension_data=None, depth: str = "auto") -> FigureSet:
    """Every cross-run figure the runs allow (see the module docstring), by file stem
    (``curves/i_pc_by_language``, ``methods``, ...); ``dimension_data``:
    ``geomexp.report.dimensions.DimensionSets`` (dimension-consistency maps); ``depth``: the x axis of
    the layer curves (``auto``, ``relative``, ``layer``; see ``geomexp.report.depth``), resolved once for
    all of them (``FigureSet.depth``)."""
    figs = FigureSet()
    figs.depth = axis = resolve_depth(runs, depth)
    against = (
        "relative depth (layer / L of each model: 0 = embeddings, 1 = last layer)" if axis == "relative" else "layer"
    )
    n_models = len({m.model for m in runs})
    for info, key in curve_metrics(runs):
        label = info.metric(key).label
        figs.add(
            f"curves/{key}_by_language",
            layer_curves(runs, info, key, by="subject", depth=axis),
            f"{label} against {against}: one line per language, one panel per model.",
        )
        if n_models > 1:
            figs.add(
                f"curves/{key}_by_model",
                layer_curves(runs, info, key, by="model", depth=axis),
                f"{label} against {against}: one line per model, one panel per language.",
            )
    figs.add(
        "methods",
        method_comparison(runs),
        "Enhancement methods compared on the headline metrics, one panel per metric and model · language: "
        "against layer (0 = embeddings), the raw space solid and each method dashed; at one layer, one bar per "
        "space.",
    )
    figs.add("sts", sts_bars(runs), "STS 2017 Spearman × 100 per track and mode, 95 % bootstrap intervals.")
    figs.add(
        "crosslingual_overlap",
        overlap_heatmaps(runs),
        "Overlap of the languages' top-D principal subspaces (colour scale fitted to the data; chance D/d marked).",
    )
    from geomexp.report.downstream import downstream_scatter

    figs.add(
        "isotropy_vs_sts",
        downstream_scatter(runs),
        "STS Spearman against each isotropy measure: a point per layer · track · space, 95 % error bars where the "
        "runs logged intervals; ρ: Spearman over the points with its bootstrap interval.",
    )
    if has_steps(runs):  # checkpoints of a model: its headline metrics over training
        for info in infos_of(runs).values():
            for mi in info.metrics:
                if not (mi.headline and mi.curve and "{" not in mi.key):
                    continue
                figs.add(
                    f"checkpoints/{mi.key}_by_step",
                    step_curves(runs, info, mi.key),
                    f"{mi.label} against training step (tag model.step), one line per layer, a panel per model · "
                    "language.",
                )
                figs.add(
                    f"checkpoints/{mi.key}_layer_by_step",
                    step_heatmaps(runs, info, mi.key),
                    f"{mi.label} for every layer x training step, a panel per model · language.",
                )
    if dimension_data is not None:
        from geomexp.report.dimensions import dimension_figures

        for stem, (fig, caption) in dimension_figures(dimension_data).items():
            figs.add(stem, fig, caption)
    return figs
