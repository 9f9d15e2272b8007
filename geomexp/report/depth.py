"""The x axis of the report's cross-run layer curves: the layer index, or the relative depth layer / L.

Models of different depths (a 12-layer encoder beside a 24-layer decoder) are compared on the relative
depth ``layer / L``, where ``L`` is the run's number of transformer layers (tag ``num_layers``, logged by
every measurement run): 0 is the embedding output, 1 the last layer, 0.5 halfway up, whatever the depth.

- ``auto`` (default): ``relative`` when the runs' models have different depths, else ``layer``;
- ``relative``: always layer / L (every run needs its ``num_layers`` tag);
- ``layer``: the layer index (0 = embeddings).
"""

from __future__ import annotations

from geomexp.errors import ConfigError, GeomexpError

#: the values ``--depth`` (``make_report(depth=...)``) takes
DEPTH_AXES = ("auto", "relative", "layer")

#: axis labels of the two resolved axes
AXIS_LABELS = {
    "layer": "layer (0 = embeddings)",
    "relative": "relative depth (layer / L)",  # 0 = embeddings, 1 = last layer: said in the caption and header
}

#: ticks of the relative axis
RELATIVE_TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)


def check_depth(depth: str) -> str:
    """``depth`` if it is one of ``DEPTH_AXES``, else ``ConfigError`` naming it and what is allowed."""
    if depth not in DEPTH_AXES:
        raise ConfigError(
            f"--depth {depth!r} is not a depth axis: use auto (relative when the models' depths differ), "
            "relative (layer / L) or layer (the layer index)"
        )
    return depth


def num_layers_of(m) -> int | None:
    """The number of transformer layers L of a report ``RunAtLayer`` (its ``num_layers`` tag), or None."""
    text = m.run.tags.get("num_layers", "")
    return int(text) if text.isdigit() and int(text) > 0 else None


def model_depths(runs) -> dict[str, set[int]]:
    """``{model label: {L, ...}}`` over the runs that recorded their depth."""
    out: dict[str, set[int]] = {}
    for m in runs:
        n = num_layers_of(m)
        if n is not None:
            out.setdefault(m.model, set()).add(n)
    return out


def resolve_depth(runs, depth: str = "auto") -> str:
    """``relative`` or ``layer``: the axis ``depth`` (one of ``DEPTH_AXES``) gives for these runs.

    ``auto`` is ``relative`` when the runs hold two or more different depths L, else ``layer``.
    ``relative`` needs every run's ``num_layers`` tag: ``GeomexpError`` naming the runs without it.
    """
    check_depth(depth)
    if depth == "layer":
        return "layer"
    if depth == "auto":
        return "relative" if len(set().union(*model_depths(runs).values())) > 1 else "layer"
    missing = [m.run_id for m in runs if num_layers_of(m) is None]
    if missing:
        raise GeomexpError(
            f"--depth relative needs each run's number of layers (tag num_layers); {len(missing)} run(s) lack it "
            f"({', '.join(i[:8] for i in missing[:6])}): use --depth layer, or leave those runs out with --where"
        )
    return "relative"


def depth_x(layers, num_layers: int | None, axis: str) -> list[float]:
    """The x values of hidden-state indices ``layers`` on ``axis``: the indices themselves (``layer``) or
    ``layer / num_layers`` (``relative``; dimensionless, 0..1)."""
    if axis == "layer":
        return [int(x) for x in layers]
    if not num_layers:
        raise ValueError("a relative depth axis needs the model's number of layers")
    return [int(x) / num_layers for x in layers]
