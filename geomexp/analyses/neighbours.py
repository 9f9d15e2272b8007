"""Neighbourhood agreement between the layers of one model on the same tokens: mutual k-NN alignment and
CKNNA (Huh et al. 2024), with the previous and the last layer of the run."""

from __future__ import annotations

import numpy as np

from geomexp.analyses.base import AnalysisResult, MetricInfo, ReportTable, analysis, compared_layers
from geomexp.errors import ConfigError
from geomexp.metrics.neighbours import cknna, mutual_knn, mutual_knn_chance
from geomexp.validation import integer

#: a neighbour set changes where two similarities tie to float32 rounding (inputs differing in their last
#: bits between CPU kinds): one flip moves mutual k-NN by 1 / (N k); this allows a hundred at N k = 1e5
_KNN_ATOL = 1e-3


@analysis(
    "neighbours",
    "Layer neighbourhoods (mutual k-NN, CKNNA)",
    metrics=[
        MetricInfo(
            "mknn_prev",
            "mutual k-NN with previous layer",
            3,
            description="mean share of each token's k cosine neighbours kept from the previous layer (Huh et al. 2024)",
            atol=_KNN_ATOL,
        ),
        MetricInfo(
            "mknn_last",
            "mutual k-NN with last layer",
            3,
            headline=True,
            description="mean share of each token's k cosine neighbours shared with the last layer",
            atol=_KNN_ATOL,
        ),
        MetricInfo(
            "cknna_prev",
            "CKNNA with previous layer",
            3,
            description="debiased CKA of the cosine kernels on mutual neighbours (Huh et al. 2024)",
            atol=_KNN_ATOL,
        ),
        MetricInfo("cknna_last", "CKNNA with last layer", 3, headline=True, atol=_KNN_ATOL),
        MetricInfo(
            "mknn_chance",
            "mutual k-NN by chance",
            5,
            description="k / (N - 1): the expected mutual k-NN of unrelated representations",
            curve=False,
        ),
    ],
    needs=("layer", "layer_reps"),
    tables=[
        ReportTable(
            "neighbours",
            "Layer neighbourhoods: mutual k-NN and CKNNA",
            ("mknn_prev", "mknn_last", "cknna_prev", "cknna_last"),
            description="with the previous / last layer of each run (layer=all: layer L-1 and L); chance: k/(N-1)",
        )
    ],
    params={"k": integer(1)},
)
def neighbours_analysis(
    X: np.ndarray, *, layer: int, layer_reps: dict[int, np.ndarray], k: int = 10, seed: int = 0, title: str = ""
) -> AnalysisResult:
    """Mutual k-NN and CKNNA of layer ``layer`` (``X``, (N, d)) with the previous and the last layer of the run.

    layer_reps: ``{layer index: (N, d)}`` for every layer of the run, the same tokens in the same space.
    Neighbours: each token's ``k`` most cosine-similar other tokens of its layer (FAISS, ranked in
    float64; each layer's found once a run). Metrics: ``mknn_prev``, ``mknn_last``, ``cknna_prev``,
    ``cknna_last`` (the ``*_prev`` keys are absent at the first layer; with the layer itself: 1) and
    ``mknn_chance`` = k / (N - 1). ``seed`` and ``title`` are unused (deterministic, no figure).
    """
    targets = compared_layers("neighbours", layer, layer_reps)
    targets.pop("first")
    n = X.shape[0]
    if not 1 <= k <= n - 1:
        raise ConfigError(f"analysis.neighbours.k={k} must be in 1..{n - 1} (N - 1 for the run's {n} tokens)")
    metrics = {"mknn_chance": mutual_knn_chance(n, k)}
    here = layer_reps[layer]  # the array the run keeps: its neighbours are found once
    for name, other in targets.items():
        same = other == layer
        metrics[f"mknn_{name}"] = 1.0 if same else mutual_knn(here, layer_reps[other], k)
        metrics[f"cknna_{name}"] = 1.0 if same else cknna(here, layer_reps[other], k)
    return AnalysisResult(metrics=metrics)
