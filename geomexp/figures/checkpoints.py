"""Report figures over training checkpoints: a metric against training step, and layer x step heat maps.

Runs of one model at several checkpoints carry ``model.step`` (``geomexp.encoders.checkpoints``); for
every model · language whose runs span two or more steps:

- ``step_curves``: the metric (raw space) against the training step, one line per layer (at most
  ``MAX_LINES``: the first, the last and evenly spaced ones between), one panel per model · language;
  a symmetric-log x axis when the steps span decades (step 0 stays on it);
- ``step_heatmaps``: the metric for every layer (rows) and step (columns), one panel per model · language.

Values at one (step, layer) are the mean over the runs there (seeds).
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from geomexp import tag_names
from geomexp.report.tables import split_key

#: layers drawn as lines in ``step_curves`` (the heat map shows them all)
MAX_LINES = 5


def step_of(run) -> int | None:
    """The training step a report run (``RunAtLayer``) was tagged with, None without one."""
    value = run.run.tags.get(tag_names.MODEL_STEP)
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def step_grid(runs, info, metric: str) -> dict[tuple[str, str], dict[int, dict[int, float]]]:
    """``{(model, subject): {step: {layer: mean value}}}`` of ``metric`` (raw space) of analysis ``info``,
    for the model · language pairs whose runs logged it at two or more steps."""
    values: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for m in runs:
        step = step_of(m)
        if step is None or info.name not in m.infos:
            continue
        for (key, layer), value in m.run.metrics.items():
            base, suffix = split_key(key)
            if base == metric and not suffix and math.isfinite(value):
                values[(m.model, m.subject)][step][layer].append(value)
    return {
        panel: {
            step: {layer: float(np.mean(v)) for layer, v in sorted(by_layer.items())}
            for step, by_layer in sorted(steps.items())
        }
        for panel, steps in values.items()
        if len(steps) > 1
    }


def has_steps(runs) -> bool:
    """Whether some model · language of the runs was measured at two or more training steps."""
    seen = defaultdict(set)
    for m in runs:
        step = step_of(m)
        if step is not None:
            seen[(m.model, m.subject)].add(step)
    return any(len(s) > 1 for s in seen.values())


def _lines(layers: list[int]) -> list[int]:
    if len(layers) <= MAX_LINES:
        return layers
    picks = np.linspace(0, len(layers) - 1, MAX_LINES).round().astype(int)
    return [layers[i] for i in dict.fromkeys(picks)]


def _step_axis(ax, steps: list[int]) -> None:
    """A log axis (symmetric-log where step 0 is among them) when the steps span two decades, ticks at the
    steps measured."""
    from matplotlib.ticker import NullLocator

    positive = [s for s in steps if s > 0]
    if len(positive) > 1 and max(positive) / min(positive) >= 100:
        if min(steps) <= 0:
            ax.set_xscale("symlog", linthresh=min(positive), linscale=0.5)
        else:
            ax.set_xscale("log")
    ax.set_xticks(
        steps,
        [f"{s:,}" for s in steps],
        rotation=45 if len(steps) > 3 else 0,
        ha="right" if len(steps) > 3 else "center",
    )
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("training step" + (" (log scale)" if ax.get_xscale() != "linear" else ""))


def step_curves(runs, info, metric: str, *, title: str = ""):
    """``metric`` against training step (see the module docstring); None without two steps."""
    from geomexp.figures.style import colors, panel_grid, paper_style

    grid = step_grid(runs, info, metric)
    if not grid:
        return None
    mi = info.metric(metric)
    palette = colors()
    with paper_style():
        fig, axes = panel_grid(len(grid))
        for ax, ((model, subject), by_step) in zip(axes, grid.items()):
            steps = list(by_step)
            layers = sorted({layer for v in by_step.values() for layer in v})
            for i, layer in enumerate(_lines(layers)):
                xs = [s for s in steps if layer in by_step[s]]
                ax.plot(
                    xs,
                    [by_step[s][layer] for s in xs],
                    marker="o",
                    color=palette[i % len(palette)],
                    label=f"layer {layer}",
                )
            _step_axis(ax, steps)
            ax.set_ylabel(mi.label)
            ax.set_title(f"{model} · {subject}")
            ax.legend(fontsize=6)
        fig.suptitle(title or f"{mi.label} over training, one line per layer")
        fig.set_layout_engine("constrained")
    return fig


def step_heatmaps(runs, info, metric: str, *, title: str = ""):
    """``metric`` for every layer x training step (see the module docstring); None without two steps and two
    layers."""
    from geomexp.figures.style import panel_grid, paper_style

    grid = {p: g for p, g in step_grid(runs, info, metric).items() if len({k for v in g.values() for k in v}) > 1}
    if not grid:
        return None
    mi = info.metric(metric)
    with paper_style():
        fig, axes = panel_grid(len(grid), panel_h=2.4)
        fig.set_layout_engine("constrained")  # before the colour bars: they take their room from the layout
        for ax, ((model, subject), by_step) in zip(axes, grid.items()):
            steps = list(by_step)
            layers = sorted({layer for v in by_step.values() for layer in v})
            matrix = np.full((len(layers), len(steps)), np.nan)
            for j, step in enumerate(steps):
                for i, layer in enumerate(layers):
                    matrix[i, j] = by_step[step].get(layer, np.nan)
            image = ax.imshow(matrix, aspect="auto", origin="lower", cmap="viridis", interpolation="nearest")
            ax.grid(False)
            ax.set_xticks(range(len(steps)), [f"{s:,}" for s in steps], rotation=45, ha="right")
            ax.set_yticks(range(len(layers)), [str(layer) for layer in layers])
            ax.set_xlabel("training step")
            ax.set_ylabel("layer")
            ax.set_title(f"{model} · {subject}")
            fig.colorbar(image, ax=ax, label=mi.label)
        fig.suptitle(title or f"{mi.label}: layer x training step")
    return fig
