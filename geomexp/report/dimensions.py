"""Dimension consistency (issue 14, item 4): are the rogue and outlier dimensions the same across
languages, layers and models?

- rogue dimensions: the top-k dimensions by cosine contribution (the ``dimensions`` analysis logs
  ``cc_top{r}_dim`` and ``cc_top{r}_share`` at every layer);
- outlier dimensions: the dimensions of the averaged vector >= k sigma from its mean (the ``outliers``
  analysis's table ``outliers.json`` per layer, read from the run's artifacts).

For each kind: maps (dimension × language at the tabulated layer, one panel per model; dimension ×
layer, one panel per model · language) and a table of the Jaccard overlap |A ∩ B| / |A ∪ B| of the
sets over every pair of languages (same model, layer), of layers (same model, language) and of models
(same language, layer; only meaningful for models of the same width and lineage). Raw space only.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from geomexp.report.tables import language_of

KINDS = {
    "rogue": ("dimensions", "rogue dimensions (top-k by cosine contribution)", "share of the mean cosine"),
    "outlier": ("outliers", "outlier dimensions (>= k sigma)", "|z| of the dimension's mean"),
}
SHORT = {"rogue": "Rogue dimensions", "outlier": "Outlier dimensions"}
#: most dimensions (rows) a map shows: those found most often
MAX_DIMS = 30


@dataclass
class DimSet:
    """The dimensions of one kind found in one run at one layer, with their weights (share or |z|)."""

    kind: str
    model: str
    subject: str
    layer: int
    dims: dict[int, float]
    run_id: str
    tabulated: bool  # the layer the report tabulates for that run


@dataclass
class DimensionSets:
    items: list[DimSet] = field(default_factory=list)

    def of(self, kind: str) -> list[DimSet]:
        return [s for s in self.items if s.kind == kind]


def _outlier_table(store, run_id: str, layer: int, per_layer: bool):
    path = f"tables/outliers/layer_{layer:02d}/outliers.json" if per_layer else "tables/outliers/outliers.json"
    return store.json(run_id, path)


def collect_dimensions(runs, store=None) -> DimensionSets:
    """The rogue (every layer a run logged) and outlier (from the artifacts, needs ``store``: a tracking URI or
    a source of ``geomexp.report.source``) dimension sets of the runs; the newest run of a (model, language,
    layer) counts."""
    from geomexp.report.source import as_source

    store = as_source(store) if store is not None else None
    out: dict[tuple, DimSet] = {}
    for m in runs:
        steps = sorted({step for _, step in m.run.metrics})
        if "dimensions" in m.infos:
            subject = language_of(m, m.infos["dimensions"])
            for step in steps:
                dims = {}
                for r in itertools.count(1):
                    d = m.run.metrics.get((f"cc_top{r}_dim", step))
                    if d is None:
                        break
                    share = m.run.metrics.get((f"cc_top{r}_share", step), math.nan)
                    dims[int(d)] = share
                if dims:
                    out[("rogue", m.model, subject, step)] = DimSet(
                        "rogue", m.model, subject, step, dims, m.run_id, step == m.layer
                    )
        if "outliers" in m.infos and store is not None:
            subject = language_of(m, m.infos["outliers"])
            for step in steps:
                table = _outlier_table(store, m.run_id, step, len(steps) > 1)
                if not table:
                    continue
                dims = {int(i): abs(float(z)) for i, z in zip(table.get("indices", []), table.get("z_scores", []))}
                out[("outlier", m.model, subject, step)] = DimSet(
                    "outlier", m.model, subject, step, dims, m.run_id, step == m.layer
                )
    return DimensionSets(list(out.values()))


def jaccard(a, b) -> float:
    """|A ∩ B| / |A ∪ B| of two sets (NaN for two empty sets: nothing to agree on)."""
    a, b = set(a), set(b)
    return len(a & b) / len(a | b) if a | b else math.nan


def _summary(kind: str, model: str, across: str, within: str, sets: list[DimSet]) -> dict | None:
    if len(sets) < 2:
        return None
    js = [j for x, y in itertools.combinations(sets, 2) if math.isfinite(j := jaccard(x.dims, y.dims))]
    common = set.intersection(*(set(s.dims) for s in sets))
    return {
        "model": model,
        "dimensions": kind,
        "across": across,
        "within": within,
        "compared": ", ".join(str(getattr(s, "layer" if across == "layers" else "subject")) for s in sets)
        if across != "models"
        else ", ".join(s.model for s in sets),
        "in every set": " ".join(map(str, sorted(common))) or "none",
        "sets": len(sets),
        "mean Jaccard": float(np.mean(js)) if js else math.nan,
        "min Jaccard": float(np.min(js)) if js else math.nan,
        "runs": " ".join(dict.fromkeys(s.run_id[:8] for s in sets)),
    }


def consistency_table(data: DimensionSets):
    """The Jaccard table as a report ``pandas.DataFrame`` (with the attrs ``write.py`` reads), or None."""
    import pandas as pd

    rows = []
    for kind in KINDS:
        sets = data.of(kind)
        tab = [s for s in sets if s.tabulated]
        by_model = defaultdict(list)
        for s in tab:
            by_model[s.model].append(s)
        for model, ss in by_model.items():
            layer = ", ".join(map(str, sorted({s.layer for s in ss})))
            rows.append(_summary(kind, model, "languages", f"layer {layer}", ss))
        by_model_subject = defaultdict(list)
        for s in sets:
            by_model_subject[(s.model, s.subject)].append(s)
        for (model, subject), ss in by_model_subject.items():
            rows.append(_summary(kind, model, "layers", subject, sorted(ss, key=lambda s: s.layer)))
        by_subject_layer = defaultdict(list)
        for s in tab:
            by_subject_layer[(s.subject, s.layer)].append(s)
        for (subject, layer), ss in by_subject_layer.items():
            rows.append(_summary(kind, "(models)", "models", f"{subject} · layer {layer}", ss))
    rows = [r for r in rows if r]
    if not rows:
        return None
    df = pd.DataFrame.from_records(rows)
    labels = ["model", "dimensions", "across", "within", "compared", "in every set"]
    df.attrs.update(
        title="Dimension consistency: Jaccard overlap of the rogue and outlier dimension sets",
        description="rogue: the top-k dimensions by cosine contribution; outlier: dimensions of the averaged "
        "vector >= k sigma from its mean. Jaccard |A ∩ B| / |A ∪ B| over every pair of sets "
        "(languages at one layer, layers of one language, models at one language and layer).",
        notes=[
            "Pairs of two empty sets (no outlier dimension in either) are left out of the mean; — where all are.",
            *(
                ["Dimension indices of different models are comparable only for models of one lineage and width."]
                if any(r["across"] == "models" for r in rows)
                else []
            ),
        ],
        analysis="dimensions",
        pivot=None,
        labels=labels,
        settings=[],
        decimals={"sets": 0, "mean Jaccard": 3, "min Jaccard": 3},
        spread={},
    )
    return df


def dimension_map(sets: list[DimSet], *, columns: str, panels: str, title: str, weight_label: str):
    """Dimension × (language | layer) maps: rows the dimensions found most often, columns languages or
    layers (``columns="subject"|"layer"``), colour the weight (share or |z|; blank: not in the set),
    one panel per ``panels`` value. None without sets."""
    import matplotlib.pyplot as plt

    from geomexp.figures.style import TEXT_WIDTH, paper_style

    if not sets:
        return None
    by_panel = defaultdict(list)
    for s in sets:
        key = s.model if panels == "model" else f"{s.model} · {s.subject}"
        by_panel[key].append(s)
    names = list(by_panel)[:6]
    counts = defaultdict(int)
    for n in names:
        for s in by_panel[n]:
            for d in s.dims:
                counts[d] += 1
    if not counts:
        return None
    dims = sorted(sorted(counts, key=lambda d: -counts[d])[:MAX_DIMS])
    mats = []
    for n in names:
        cols = sorted({getattr(s, columns) for s in by_panel[n]}, key=lambda c: (isinstance(c, str), c))
        if columns == "subject":
            cols = list(dict.fromkeys(s.subject for s in by_panel[n]))
        mat = np.full((len(dims), len(cols)), np.nan)
        for s in by_panel[n]:
            j = cols.index(getattr(s, columns))
            for d, w in s.dims.items():
                if d in counts and d in dims:
                    mat[dims.index(d), j] = w if math.isfinite(w) else 1.0
        mats.append((n, cols, mat))
    finite = np.concatenate([m[np.isfinite(m)] for _, _, m in mats])
    vmin, vmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if vmax - vmin < 1e-12:
        vmin, vmax = vmin - 0.5, vmax + 0.5
    with paper_style():
        n = len(mats)
        ncols = min(n, 3)
        nrows = math.ceil(n / ncols)
        widest = max(len(c) for _, c, _ in mats)
        w = min(TEXT_WIDTH, 0.9 + ncols * (0.8 + 0.22 * widest))
        h = 0.9 + nrows * (0.3 + 0.16 * len(dims))
        fig, axes = plt.subplots(nrows, ncols, figsize=(w, h), squeeze=False)
        cmap = plt.get_cmap("magma_r").with_extremes(bad="white")
        im = None
        for ax, (name, cols, mat) in zip(axes.flat, mats):
            im = ax.imshow(mat, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            ax.set_xticks(range(len(cols)), [str(c) for c in cols], rotation=90 if len(cols) > 8 else 0)
            ax.set_yticks(range(len(dims)), [str(d) for d in dims])
            ax.set_xlabel("layer" if columns == "layer" else "language")
            ax.set_ylabel("dimension")
            ax.set_title(name)
            ax.grid(False)
            ax.set_xticks(np.arange(-0.5, len(cols)), minor=True)
            ax.set_yticks(np.arange(-0.5, len(dims)), minor=True)
            ax.grid(which="minor", color="0.85", linewidth=0.4)
            ax.tick_params(which="minor", length=0)
        for ax in axes.flat[n:]:
            ax.set_visible(False)
        fig.colorbar(im, ax=[a for a in axes.flat[:n]], fraction=0.05, pad=0.03, label=weight_label)
        fig.suptitle(title)
        fig.set_layout_engine("constrained")
    return fig


def dimension_figures(data: DimensionSets) -> dict:
    """``{stem: (Figure, caption)}``: per kind, the dimension × language map (tabulated layer, a panel per model)
    where 2+ languages were measured, and the dimension × layer map where 2+ layers were."""
    figs = {}
    for kind, (_, what, weight) in KINDS.items():
        sets = data.of(kind)
        tab = [s for s in sets if s.tabulated]
        what_cap = f"{what[0].upper()}{what[1:]}"
        views = (
            # (stem, the sets drawn, the attribute along the columns, panels, title, caption after the kind)
            (
                "by_language",
                tab,
                "subject",
                "model",
                "by language",
                " at the tabulated layer: dimension × language, a panel per model",
            ),
            ("by_layer", sets, "layer", "subject", "by layer", ": dimension × layer, a panel per model · language"),
        )
        for stem, drawn, columns, panels, by, caption in views:
            if len({getattr(s, columns) for s in drawn}) < 2:
                continue
            fig = dimension_map(drawn, columns=columns, panels=panels, title=f"{what_cap} {by}", weight_label=weight)
            if fig is not None:
                figs[f"dimensions/{kind}_{stem}"] = (
                    fig,
                    f"{what_cap}{caption} (colour: {weight}; blank: not in the set).",
                )
    return figs
