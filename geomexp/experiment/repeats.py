"""Repeated measurement inside one run (``seeds=[0,1,2,3,4]``): the whole measurement once per
seed (token sample, k-means start, I_Cos pairs), then per metric and layer the mean (the plain
key), the sample standard deviation and a 95 % t-interval across the seeds.

Keys (``<m>`` a metric, ``<sfx>`` its space suffix such as ``/cluster``): ``<m><sfx>`` = mean,
``<m>_sd<sfx>``, ``<m>_seeds_ci_low<sfx>``, ``<m>_seeds_ci_high<sfx>``. Indices (metrics declared
with no direction and 0 decimals, e.g. ``cc_top1_dim``) are not averaged: the first seed's value
is kept. Every seed's values are in ``tables/per_seed.json``; the per-layer figures and tables are the first
seed's, the metric-vs-layer curves and ``tables/metrics_by_layer.json`` the means. Each seed is
measured without touching the store and the summary is published once: nothing is logged unless
every seed succeeds.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from geomexp.analyses.base import AnalysisInfo, metric_info
from geomexp.analyses.keys import MetricKey
from geomexp.experiment.measurement import Measurement, add_layer_curves

#: two-sided confidence level of the across-seed interval
SEEDS_CI_LEVEL = 0.95


def metric_kind(key: str, infos: list[AnalysisInfo]) -> str:
    """The declared ``MetricInfo.kind`` of metric ``key`` (``"value"`` when no analysis declares it)."""
    m = metric_info(infos, key)
    return m.kind if m is not None else "value"


def combined_p_value(p_values: np.ndarray) -> float:
    """Twice the median of per-seed p-values, capped at 1: a valid p-value whatever the dependence between
    the seeds (Vovk & Wang 2020, "Combining p-values via averaging", the r = 0 / median case). The mean of
    p-values is not a p-value; the per-seed values stay in ``tables/per_seed.json``."""
    return float(min(1.0, 2.0 * np.median(p_values)))


def _with_part(key: str, part: str) -> str:
    """``i_cos/cluster`` + ``_sd`` -> ``i_cos_sd/cluster`` (the space suffix stays last)."""
    return MetricKey.parse(key).with_part(part).format()


def t_quantile(level: float, df: int) -> float:
    """The two-sided ``level`` quantile of Student's t with ``df`` degrees of freedom."""
    from scipy.special import stdtrit

    return float(stdtrit(df, 0.5 + level / 2))


def summarize_seeds(
    per_seed: list[dict[tuple[str, int], float]], infos: list[AnalysisInfo]
) -> dict[tuple[str, int], float]:
    """Across-seed summary of ``per_seed`` (one ``{(key, layer): value}`` per seed, same keys).

    Returns ``{(key, layer): mean}`` plus ``_sd`` (ddof 1) and ``_seeds_ci_low/high`` (mean ±
    t * sd / sqrt(n)) per key; indices keep the first seed's value; a p-value is combined by
    ``combined_p_value`` (no sd, no interval: issue 32, it used to be averaged). A key missing from a
    seed or non-finite in one gives NaN for its summary (it is not silently dropped).
    """
    n = len(per_seed)
    t = t_quantile(SEEDS_CI_LEVEL, n - 1)
    out: dict[tuple[str, int], float] = {}
    for key, layer in per_seed[0]:
        values = np.array([m.get((key, layer), math.nan) for m in per_seed], dtype=np.float64)
        kind = metric_kind(key, infos)
        if kind == "index":
            out[(key, layer)] = float(values[0])
            continue
        if kind == "p_value":
            out[(key, layer)] = combined_p_value(values) if np.isfinite(values).all() else math.nan
            continue
        mean = float(values.mean())
        sd = float(values.std(ddof=1))
        half = t * sd / math.sqrt(n)
        out[(key, layer)] = mean
        out[(_with_part(key, "_sd"), layer)] = sd
        out[(_with_part(key, "_seeds_ci_low"), layer)] = mean - half
        out[(_with_part(key, "_seeds_ci_high"), layer)] = mean + half
    return out


def per_seed_table(seeds, per_seed: list[dict[tuple[str, int], float]]) -> dict:
    """``{"seeds": [...], "metrics": {key: {layer: [value per seed]}}}`` (JSON-ready)."""
    table: dict[str, dict[str, list[float]]] = {}
    for key, layer in per_seed[0]:
        table.setdefault(key, {})[str(layer)] = [m.get((key, layer), math.nan) for m in per_seed]
    return {"seeds": list(seeds), "metrics": table}


def measure_repeated(spec, measure) -> Measurement:
    """``measure(spec_s)`` (a ``Measurement``) for each seed ``s`` of ``spec.seeds``, summarised into one.

    Its metrics are ``summarize_seeds``'s; its tags, tables and figures the first seed's, with the
    metric-vs-layer curves and ``tables/metrics_by_layer.json`` of the means in place of the first
    seed's, ``tables/per_seed.json`` (every seed's values) and the tags ``seeds`` and ``cache_hit``
    (all seeds read the cache). Nothing is written anywhere: ``publish`` does that, once.
    """
    # the later seeds' figures would be dropped: they are not drawn
    runs = [
        measure(spec.with_seed(seed), **({"keep_figures": False} if i else {})) for i, seed in enumerate(spec.seeds)
    ]
    first = runs[0]
    per_seed = [r.metrics for r in runs]
    out = dataclasses.replace(
        first,
        metrics=summarize_seeds(per_seed, spec.infos),
        tags=dict(first.tags),
        artifacts=dict(first.artifacts),
        cache_hit=all(r.cache_hit for r in runs),
    )
    if len(out.layers) > 1:
        from geomexp.experiment import identity as ident

        add_layer_curves(out, spec, f"{ident.model_label(spec)} · {ident.subject(spec)} · mean of seeds")
    out.log_dict(per_seed_table(spec.seeds, per_seed), "tables/per_seed.json")
    out.set_tags({"seeds": ",".join(map(str, spec.seeds)), "cache_hit": str(out.cache_hit).lower()})
    return out
