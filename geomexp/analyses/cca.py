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
        ),
        MetricInfo("pwcca_last", "PWCCA with last layer", 3, headline=True, atol=_ATOL),
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
    ``*_prev`` keys are absent at the first layer; with the layer itself: 1. Each layer's principal basis
    is computed once a run. ``seed`` and ``title`` are unused (deterministic, no figure).
    """
    targets = compared_layers("cca", layer, layer_reps)
    targets.pop("first")
    here = layer_reps[layer]  # the array the run keeps: its basis is computed once
    metrics = {}
    for name, other in targets.items():
        values = (
            {"svcca": 1.0, "pwcca": 1.0}
            if other == layer
            else cca_similarities(here, layer_reps[other], variance=svcca_variance)
        )
        metrics[f"svcca_{name}"], metrics[f"pwcca_{name}"] = values["svcca"], values["pwcca"]
    return AnalysisResult(metrics=metrics)
