"""What one measurement produced, apart from where it is written: ``Measurement``.

``runner.measure(spec)`` returns a ``Measurement`` and touches no tracking store; ``publish``
writes one to an MLflow run (all or nothing, through ``RunLogger.deferred``). Repeating over
seeds summarises several measurements into one (``repeats.measure_repeated``) before anything
is written, and a notebook (or ``--dry-run``) keeps the ``Measurement`` itself, or its
``to_json()`` (the versioned results file below).

A ``Measurement`` records through the same method names as a ``RunLogger`` (``set_tags``,
``log_metrics``, ``log_dict``, ``log_figure``, ``log_bytes``), so the code that measures says
what it produced once, and ``publish`` replays it.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from geomexp.analyses.keys import method_agnostic

#: ``Measurement.to_json()``'s format name and version (bumped when its layout changes)
RESULTS_FORMAT = "geomexp.measurement"
RESULTS_VERSION = 1


@dataclass
class Measurement:
    """Everything one measurement produced.

    layers: the hidden-state indices measured (the metrics' steps).
    metrics: ``{(key, layer): value}``, floats (``key`` as the results schema names it, e.g.
        ``i_cos`` or ``i_cos/cluster``).
    tags: ``{name: text}``: what the measurement found out along the way (the corpus and its
        checksum, the model's width and depth, the cache key, truncation counts, ...).
    artifacts: ``{path: JSON-ready object | bytes}``: tables (``tables/...json``), figures rendered to
        PNG (``figures/...png``) and fitted enhancers (``enhancer/layer_XX.npz``), by artifact path.
    cache_key, cache_hit: the representation cache entry of the run's own corpus sample.
    keep_figures: False drops figures unrendered (a run that logs none, or a quick notebook call).
    """

    layers: list[int] = field(default_factory=list)
    metrics: dict[tuple[str, int], float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: dict[str, object] = field(default_factory=dict)
    cache_key: str = ""
    cache_hit: bool = False
    keep_figures: bool = True

    # -- recording (the RunLogger's names) ----------------------------------------------------
    def set_tags(self, tags) -> None:
        self.tags.update({k: str(v)[:5000] for k, v in tags.items()})

    def log_metrics(self, metrics, step: int) -> None:
        for key, value in metrics.items():
            self.metrics[(key, int(step))] = float(value)

    def log_dict(self, data, artifact_file: str) -> None:
        self.artifacts[artifact_file] = data

    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        self.artifacts[artifact_file] = bytes(data)

    def log_figure(self, figure, artifact_file: str) -> None:
        """Keep ``figure`` as PNG bytes (rendered now, at 150 dpi) and close it; with ``keep_figures`` off, only close it."""
        import matplotlib.pyplot as plt

        try:
            if self.keep_figures:
                buf = io.BytesIO()
                figure.savefig(buf, format="png", dpi=150, bbox_inches="tight")
                self.artifacts[artifact_file] = buf.getvalue()
        finally:
            plt.close(figure)

    # -- reading -------------------------------------------------------------------------------
    def values(self, layer: int) -> dict[str, float]:
        """``{key: value}`` of one layer."""
        return {k: v for (k, lay), v in self.metrics.items() if lay == layer}

    def to_json(self) -> dict:
        """The results file: ``{"format", "version", "layers", "metrics": {key: {layer: value}}, "tags",
        "artifacts": [paths]}`` (JSON-ready; NaN stays NaN, as ``json.dumps`` writes it)."""
        table: dict[str, dict[str, float]] = {}
        for (key, layer), value in sorted(self.metrics.items(), key=lambda item: (item[0][0], item[0][1])):
            table.setdefault(key, {})[str(layer)] = value
        return {
            "format": RESULTS_FORMAT,
            "version": RESULTS_VERSION,
            "layers": list(self.layers),
            "metrics": table,
            "tags": dict(sorted(self.tags.items())),
            "artifacts": sorted(self.artifacts),
            "cache_key": self.cache_key,
            "cache_hit": self.cache_hit,
        }


def publish(measurement: Measurement, logger) -> None:
    """Write ``measurement`` to ``logger``'s run: all of it or nothing (``RunLogger.deferred``): artifacts
    first, then every metric (step = layer) and tag together. An enhanced space's metrics are also
    logged under ``<base>/enhanced[/zero_shot]`` (``geomexp.analyses.keys.method_agnostic``), which
    the readers of a store skip."""
    with logger.deferred():
        for path, item in measurement.artifacts.items():
            if isinstance(item, bytes):
                logger.log_bytes(item, path)
            else:
                logger.log_dict(item, path)
        for layer in sorted({layer for _, layer in measurement.metrics}):
            values = measurement.values(layer)  # and the enhanced space under method-agnostic keys (MLflow Compare)
            logger.log_metrics({**values, **method_agnostic(values)}, step=layer)
        logger.set_tags(measurement.tags)


def add_layer_curves(m: Measurement, spec, title: str) -> None:
    """Add ``tables/metrics_by_layer.json`` (every metric by layer) to ``m`` and, per analysis of ``spec``, one
    figure of its metrics against layer (``figures/by_layer/<analysis>.png``): one panel per metric that
    declares a curve means something (not an index), raw and enhanced on the same axes, labelled and scaled
    from the metric's metadata. Replaces the curves already there (a repeated run's means replace its first
    seed's)."""
    from geomexp.experiment.console import headline_keys, variants

    keys = headline_keys(spec.infos, [k for k, _ in m.metrics])
    table = {"layer": list(m.layers), **{k: [m.metrics.get((k, layer)) for layer in m.layers] for k in keys}}
    m.log_dict(table, "tables/metrics_by_layer.json")
    if not m.keep_figures:
        return
    from geomexp.figures.plots import analysis_curves

    for info in spec.infos:
        panels = []
        for mi in info.metrics:
            if not mi.curve or "{" in mi.key:
                continue
            series = {k: table[k] for k in variants(mi.key, keys) if None not in table[k]}
            if series:
                panels.append((mi, series))
        if panels:
            fig = analysis_curves(m.layers, panels, title=f"{info.title} — {title}")
            m.log_figure(fig, f"figures/by_layer/{info.name}.png")
