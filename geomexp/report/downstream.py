"""Isotropy against downstream quality: does a more isotropic space give better STS? (issue 14, item 5)

Across every (model, STS track, layer, space) the runs measured, the Spearman rank correlation
between each isotropy measure and STS Spearman, with a bootstrap interval; a report table and a
scatter figure.

A **point** is one layer of one run that logged an isotropy measure and ``sts_spearman`` in the
same space (the same metric-key suffix: raw, ``/cluster``, ``/abtt``, ...): the isotropy of the
run's corpus sample (its ``lang``) and the STS score of its track, both at that layer and after the
same enhancement. A zero-shot STS space has no isotropy value of its own and gives no point. The
same point in several runs (e.g. the raw space of runs that differ only in the enhancement method)
counts once, as the mean of its values. Run it with ``experiment=isotropy_vs_sts`` (the monolingual
track of each language, every layer, raw and enhanced).

**Interval**: percentile bootstrap over points (``rank_correlation_interval``); where a point's
values carry their own intervals (``<key>_ci_low/high``: the token bootstrap of the isotropy
analyses, the pair bootstrap of STS) each resample also draws the point's values within them. The
layers of one model are not independent samples: read the interval as how stable the association
is over these points, not as a test that generalises to other models. Drawing points within their
intervals adds noise, which attenuates the resampled ρ towards 0: such an interval is wider than
the points' own and leans towards 0 (conservative).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from geomexp.report.tables import space, split_key, subject_for

#: the isotropy measures correlated with STS (log I_PC: I_PC has the same ranks but spans decades)
MEASURES = ("i_cos", "i_cos_exact", "log_i_pc", "isoscore")
#: the downstream score
TASK_METRIC = "sts_spearman"
#: fewest points for a correlation
MIN_POINTS = 4
#: z of a two-sided normal interval, by level (what converts a logged interval into a standard error)
_Z = {0.9: 1.6448536269514722, 0.95: 1.959963984540054, 0.99: 2.5758293035489004}


@dataclass
class Point:
    """One (model, track, layer, space): isotropy measures and STS Spearman, each ``(value, standard error)``
    (standard error 0 where no interval was logged); means over the runs that measured it."""

    model: str
    track: str
    lang: str
    layer: int
    space: str
    values: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))
    runs: list[str] = field(default_factory=list)

    def get(self, key: str) -> tuple[float, float] | None:
        vs = self.values.get(key)
        if not vs:
            return None
        return math.fsum(v for v, _ in vs) / len(vs), math.fsum(s for _, s in vs) / len(vs)


def _standard_error(metrics: dict, base: str, suffix: str, step: int, level: float) -> float:
    low, high = metrics.get((f"{base}_ci_low{suffix}", step)), metrics.get((f"{base}_ci_high{suffix}", step))
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return 0.0
    return (high - low) / (2 * _Z.get(round(level, 2), 1.959963984540054))


def _level(m, analysis: str) -> float:
    try:
        return float(m.run.params.get(f"analysis.{analysis}.ci_level", 0.95))
    except ValueError:
        return 0.95


def collect_points(runs, measures=MEASURES) -> list[Point]:
    """Every point of the runs (see the module docstring), in order of first appearance."""
    from geomexp.report.tables import language_of

    points: dict[tuple, Point] = {}
    for m in runs:
        task = m.infos.get("sts")
        owners = {mi.key: info for info in m.infos.values() for mi in info.metrics if mi.key in measures}
        if task is None or not owners:
            continue
        metrics = m.run.metrics
        for (key, step), value in metrics.items():
            base, suffix = split_key(key)
            if base != TASK_METRIC or not math.isfinite(value):
                continue
            label, _ = space(suffix, m)
            found = {}
            for measure, info in owners.items():
                v = metrics.get((f"{measure}{suffix}", step))
                if v is not None and math.isfinite(v):
                    found[measure] = (v, _standard_error(metrics, measure, suffix, step, _level(m, info.name)))
            if not found:
                continue
            lang = language_of(m, next(iter(owners.values())))
            pid = (m.model, subject_for(m, task), lang, step, label)
            p = points.setdefault(pid, Point(*pid))
            p.values[TASK_METRIC].append((value, _standard_error(metrics, TASK_METRIC, suffix, step, _level(m, "sts"))))
            for measure, v in found.items():
                p.values[measure].append(v)
            if m.run_id not in p.runs:
                p.runs.append(m.run_id)
    return list(points.values())


@dataclass
class Association:
    """The rank correlation of one measure with STS over a set of points."""

    model: str
    measure: str
    rho: float
    low: float
    high: float
    points: list[Point]
    with_point_errors: bool
    track: str = "(all tracks)"


def associations(
    points: list[Point],
    measures=MEASURES,
    *,
    by_track: bool = False,
    n_boot: int = 2000,
    level: float = 0.95,
    seed: int = 0,
):
    """``Association`` per (model, measure) and, with 2+ models, over all models (``model="(all models)"``);
    ``by_track``: per (model, track, measure) instead, within one track (its layers and spaces), which
    keeps the tracks' different STS levels out of ρ. Sets with fewer than ``MIN_POINTS`` points are left out."""
    from geomexp.metrics.bootstrap import rank_correlation_interval

    models = list(dict.fromkeys(p.model for p in points))
    if by_track:
        tracks = list(dict.fromkeys(p.track for p in points))
        scopes = [(m, t, [p for p in points if p.model == m and p.track == t]) for m in models for t in tracks]
    else:
        scopes = [(m, "(all tracks)", [p for p in points if p.model == m]) for m in models]
        if len(models) > 1:
            scopes.append(("(all models)", "(all tracks)", points))
    out = []
    for model, track, pts in scopes:
        for measure in measures:
            pairs = [(p, p.get(measure), p.get(TASK_METRIC)) for p in pts]
            pairs = [(p, g, s) for p, g, s in pairs if g is not None and s is not None]
            if len(pairs) < MIN_POINTS:
                continue
            g = np.array([v for _, v, _ in pairs])
            s = np.array([v for _, _, v in pairs])
            errors = bool(g[:, 1].any() or s[:, 1].any())
            rho, iv = rank_correlation_interval(
                g[:, 0],
                s[:, 0],
                x_sd=g[:, 1] if errors else None,
                y_sd=s[:, 1] if errors else None,
                n_boot=n_boot,
                level=level,
                seed=seed,
            )
            out.append(Association(model, measure, rho, iv.low, iv.high, [p for p, _, _ in pairs], errors, track))
    return out


def _info_of(runs, measure: str):
    for m in runs:
        for info in m.infos.values():
            mi = info.metric(measure)
            if mi is not None and mi.key == measure:
                return mi
    return None


def downstream_table(runs, points: list[Point] | None = None, measures=MEASURES, *, by_track: bool = False):
    """The report table (a ``pandas.DataFrame`` with the attrs ``write.py`` reads), or None without points;
    ``by_track``: one row per (model, track, measure) (None unless the points hold 2+ tracks)."""
    import pandas as pd

    points = collect_points(runs, measures) if points is None else points
    if by_track and len({p.track for p in points}) < 2:
        return None
    found = associations(points, measures, by_track=by_track)
    if not found:
        return None
    rows = []
    for a in found:
        mi = _info_of(runs, a.measure)
        rows.append(
            {
                "model": a.model,
                **({"track": a.track} if by_track else {}),
                "measure": mi.label if mi else a.measure,
                "isotropic when": {"higher": "higher", "lower": "lower"}.get(mi.better if mi else None, "?"),
                "Spearman ρ": a.rho,
                "95% low": a.low,
                "95% high": a.high,
                "points": len(a.points),
                "layers": len({p.layer for p in a.points}),
                **({} if by_track else {"tracks": ", ".join(dict.fromkeys(p.track for p in a.points))}),
                "spaces": ", ".join(dict.fromkeys(p.space for p in a.points)),
                "interval over": "points and their own intervals" if a.with_point_errors else "points",
            }
        )
    df = pd.DataFrame.from_records(rows)
    df.attrs.update(
        title="Isotropy against STS: rank correlation over layers and spaces, within each track"
        if by_track
        else "Isotropy against STS: rank correlation over layers, languages and spaces",
        description="Spearman ρ between an isotropy measure and STS Spearman over every (model, track, layer, space) "
        "the runs measured both in (isotropy of the run's corpus sample; raw and each enhanced space"
        + ("; one track a row, so the tracks' different STS levels stay out of ρ" if by_track else "")
        + "); 95 % percentile bootstrap over the points, drawing each point within its own interval where it has one.",
        notes=[
            "A positive ρ with a measure that is isotropic when higher (IsoScore, log I_PC), or a negative ρ with one "
            "that is isotropic when lower (I_Cos), means the more isotropic spaces scored higher on STS.",
            "The layers of one model are not independent samples: the interval describes these points, it is not a "
            "test over models.",
            "Drawing each point within its own interval attenuates the resampled ρ: such an interval leans towards 0.",
        ],
        analysis="sts",
        pivot=None,
        labels=[
            "model",
            *(["track"] if by_track else []),
            "measure",
            "isotropic when",
            *([] if by_track else ["tracks"]),
            "spaces",
            "interval over",
        ],
        settings=[],
        decimals={"Spearman ρ": 3, "95% low": 3, "95% high": 3, "points": 0, "layers": 0},
        spread={},
    )
    return df


def downstream_scatter(runs, points: list[Point] | None = None, measures=MEASURES, *, title: str = ""):
    """STS Spearman against each isotropy measure: a panel per (model, measure), colour = track, marker =
    space, error bars where a point has intervals, ρ [interval] in each panel's title. None without points."""
    import matplotlib.pyplot as plt

    from geomexp.figures.style import colors, panel_grid, paper_style

    points = collect_points(runs, measures) if points is None else points
    found = [a for a in associations(points, measures) if a.model != "(all models)"]  # all: wrapped, none dropped
    if not found:
        return None
    tracks = list(dict.fromkeys(p.track for p in points))
    spaces = list(dict.fromkeys(p.space for p in points))
    palette, markers = colors(), "os^Dv<>P*X"
    colour = {t: palette[i % len(palette)] for i, t in enumerate(tracks)}
    marker = {s: markers[i % len(markers)] for i, s in enumerate(spaces)}
    with paper_style():
        fig, axes = panel_grid(len(found), ncols_max=2, panel_h=2.2)
        for ax, a in zip(axes, found, strict=True):
            mi = _info_of(runs, a.measure)
            for p in a.points:
                (gx, gs), (sy, ss) = p.get(a.measure), p.get(TASK_METRIC)
                ax.errorbar(
                    gx,
                    sy,
                    xerr=gs * 1.96 or None,
                    yerr=ss * 1.96 or None,
                    fmt=marker[p.space],
                    color=colour[p.track],
                    ms=3.5,
                    lw=0.6,
                    alpha=0.85,
                )
            name = mi.label if mi else a.measure
            ax.set_xlabel(name)
            ax.set_ylabel("STS Spearman × 100")
            ax.set_title(f"{a.model} · {name}\nρ = {a.rho:.2f} [{a.low:.2f}, {a.high:.2f}], n = {len(a.points)}")
        handles = [plt.Line2D([], [], ls="", marker="o", color=colour[t], label=t) for t in tracks]
        handles += [plt.Line2D([], [], ls="", marker=marker[s], color="0.4", label=s) for s in spaces]
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6), frameon=False)
        fig.suptitle(title or "STS against isotropy: one point per layer · track · space")
        fig.set_layout_engine("constrained")
    return fig
