"""Canonical correlation between the layers of one model on the same tokens: SVCCA (Raghu et al. 2017) and
PWCCA (Morcos et al. 2018), with the previous and the last layer of the run."""

from __future__ import annotations

import numpy as np

from geomexp.analyses.base import AnalysisResult, MetricInfo, ReportTable, analysis, compared_layers
from geomexp.metrics.cca import SVCCA_VARIANCE, cca_similarities
from geomexp.validation import number

_ATOL = 1e-6  # float32 inputs: canonical correlations move at rounding level between CPU kinds


@analysis(
    "cca",
    "Layer similarity (SVCCA, PWCCA)",
    metrics=[
        MetricInfo(
            "svcca_prev",
            "SVCCA with previous layer",
            3,
            description="mean canonical correlation of the top principal directions (99 % of variance; Raghu et al. 2017)",
            atol=_ATOL,
        ),
        MetricInfo("svcca_last", "SVCCA with last layer", 3, headline=True, atol=_ATOL),
        MetricInfo(
            "pwcca_prev",
            "PWCCA with previous layer",
            3,
            description="canonical correlations weighted by how much of the layer each accounts for (Morcos et al. 2018)",
            atol=_ATOL,
            spread_key="pwcca_prev_spread",
        ),
        MetricInfo("pwcca_last", "PWCCA with last layer", 3, headline=True, atol=_ATOL, spread_key="pwcca_last_spread"),
        MetricInfo(
            "pwcca_prev_spread",
            "PWCCA spread (previous layer)",
            4,
            "lower",
            description="range of PWCCA over rotations within tied canonical correlations (its weights are not "
            "determined there: N not much larger than the width gives many correlations of 1); 0 = well defined",
            atol=_ATOL,
            curve=False,
            spread_key="pwcca_prev_spread",
        ),
        MetricInfo(
            "pwcca_last_spread",
            "PWCCA spread (last layer)",
            4,
            "lower",
            atol=_ATOL,
            curve=False,
            spread_key="pwcca_last_spread",
        ),
        MetricInfo(
            "cca_tied_last",
            "tied canonical correlations (last layer)",
            0,
            description="correlations within 1e-6 of another: r_x + r_y - (N - 1) are forced to 1 when N is small",
            curve=False,
            kind="count",
        ),
    ],
    needs=("layer", "layer_reps"),
    tables=[
        ReportTable(
            "cca",
            "Layer similarity: SVCCA and PWCCA",
            ("svcca_prev", "svcca_last", "pwcca_prev", "pwcca_last"),
            description="with the previous / last layer of each run (layer=all: layer L-1 and L)",
        )
    ],
    params={"svcca_variance": number(0, exclusive=True, below=1.0000001)},
)
def cca_analysis(
    X: np.ndarray,
    *,
    layer: int,
    layer_reps: dict[int, np.ndarray],
    svcca_variance: float = SVCCA_VARIANCE,
    seed: int = 0,
    title: str = "",
) -> AnalysisResult:
    """SVCCA and PWCCA of layer ``layer`` (``X``, (N, d)) with the previous and the last layer of the run.

    layer_reps: ``{layer index: (N, d)}`` for every layer of the run, the same tokens in the same space.
    Metrics: ``svcca_prev``, ``svcca_last`` (each side reduced to the principal directions explaining
    ``svcca_variance`` of its variance), ``pwcca_prev``, ``pwcca_last`` (weights from this layer); the
    ``*_prev`` keys are absent at the first layer; with the layer itself: 1), ``pwcca_prev_spread``,
    ``pwcca_last_spread`` (PWCCA's range over rotations within tied canonical correlations, seeded by
    ``seed``: > 0 where it is not well defined, e.g. fewer tokens than twice the width) and
    ``cca_tied_last``. Each layer's principal basis is computed once a run. ``title`` is unused.
    """
    targets = compared_layers("cca", layer, layer_reps)
    targets.pop("first")
    here = layer_reps[layer]  # the array the run keeps: its basis is computed once
    metrics = {}
    for name, other in targets.items():
        if other == layer:
            values = {"svcca": 1.0, "pwcca": 1.0, "pwcca_spread": 0.0, "cca_tied": 0.0}
        else:
            values = cca_similarities(here, layer_reps[other], variance=svcca_variance, seed=seed)
        metrics[f"svcca_{name}"], metrics[f"pwcca_{name}"] = values["svcca"], values["pwcca"]
        metrics[f"pwcca_{name}_spread"] = values["pwcca_spread"]
        if name == "last":
            metrics["cca_tied_last"] = values["cca_tied"]
    return AnalysisResult(metrics=metrics)
