"""Representation similarity between the layers of one model on the same tokens: linear CKA
(biased and debiased) and orthogonal Procrustes distance, per layer and as a layer x layer matrix."""

from __future__ import annotations

import numpy as np

from geomexp.analyses.base import AnalysisResult, MetricInfo, ReportTable, analysis, compared_layers
from geomexp.metrics.similarity import similarities_to, similarity_matrices
from geomexp.validation import flag

#: the matrices ``similarity_matrices`` returns, with their display names
_MATRICES = {"cka_debiased": "linear CKA (debiased)", "cka": "linear CKA (biased)", "procrustes": "Procrustes distance"}


@analysis(
    "similarity",
    "Layer similarity (CKA, Procrustes)",
    metrics=[
        MetricInfo(
            "cka_prev",
            "CKA with previous layer",
            3,
            description="debiased linear CKA with the previous layer of the run (Kornblith et al. 2019)",
            atol=1e-6,
        ),
        MetricInfo("cka_last", "CKA with last layer", 3, headline=True, description="debiased linear CKA", atol=1e-6),
        MetricInfo("cka_first", "CKA with first layer", 3, headline=True, description="debiased linear CKA", atol=1e-6),
        MetricInfo("cka_biased_prev", "CKA (biased) with previous layer", 3, atol=1e-6),
        MetricInfo("cka_biased_last", "CKA (biased) with last layer", 3, atol=1e-6),
        MetricInfo(
            "procrustes_prev",
            "Procrustes dist. to previous layer",
            3,
            description="orthogonal Procrustes distance in [0, 2] (Ding et al. 2021)",
        ),
        MetricInfo("procrustes_last", "Procrustes dist. to last layer", 3),
    ],
    needs=("layer", "layer_reps"),
    tables=[
        ReportTable(
            "similarity",
            "Layer similarity: debiased linear CKA and Procrustes distance",
            ("cka_prev", "cka_last", "procrustes_prev", "procrustes_last"),
            description="with the previous / last layer of each run (layer=all: layer L-1 and L)",
        )
    ],
    params={"matrix": flag(), "procrustes_matrix": flag(), "plot": flag()},
)
def similarity_analysis(
    X: np.ndarray,
    *,
    layer: int,
    layer_reps: dict[int, np.ndarray],
    matrix: bool = True,
    procrustes_matrix: bool = True,
    plot: bool = False,
    seed: int = 0,
    title: str = "",
) -> AnalysisResult:
    """Similarity of layer ``layer`` (``X``, (N, d)) to the other layers of the run, on the same tokens.

    layer_reps: ``{layer index: (N, d)}`` for every layer of the run's ``layer`` selection,
    in the same space as ``X`` (the runner's ``layer_reps`` input). "previous" and "last" are
    the previous and the last layer of that selection (with ``layer=all``: ``layer - 1`` and L),
    "first" its first.
    Metrics: ``cka_prev``, ``cka_last``, ``cka_first`` (debiased linear CKA), ``cka_biased_prev``,
    ``cka_biased_last`` (the biased estimator), ``procrustes_prev``, ``procrustes_last``
    (orthogonal Procrustes distance, [0, 2]); the ``*_prev`` keys are absent at the first layer.
    With ``matrix``, in the call for the LAST layer of the selection (so once per run and
    space): table ``layer_similarity.json`` with the (K, K) matrices and figures
    ``cka_matrix.png`` (debiased CKA heatmap) and ``procrustes_matrix.png`` (if
    ``procrustes_matrix``; one SVD of a d x d matrix per pair). ``seed`` is unused.
    """
    targets = compared_layers("similarity", layer, layer_reps)
    order = sorted(layer_reps)
    others = sorted(set(targets.values()) - {layer})
    row = similarities_to(X, [layer_reps[o] for o in others])
    values = {o: {k: float(v[i]) for k, v in row.items()} for i, o in enumerate(others)}
    values[layer] = {"cka_debiased": 1.0, "cka": 1.0, "procrustes": 0.0}
    metrics: dict[str, float] = {}
    for name, other in targets.items():
        metrics[f"cka_{name}"] = values[other]["cka_debiased"]
        if name != "first":
            metrics[f"cka_biased_{name}"] = values[other]["cka"]
            metrics[f"procrustes_{name}"] = values[other]["procrustes"]
    tables, figures = {}, {}
    if matrix and layer == order[-1] and len(order) > 1:
        full = similarity_matrices([layer_reps[o] for o in order], procrustes=procrustes_matrix)
        tables["layer_similarity.json"] = {"layers": order, **{k: v.round(8).tolist() for k, v in full.items()}}
        if plot:
            from geomexp.figures.plots import heatmap

            labels = [str(o) for o in order]
            figures["cka_matrix.png"] = heatmap(
                full["cka_debiased"], labels, title=f"{_MATRICES['cka_debiased']} by layer — {title}", vmin=0, vmax=1
            )
            if procrustes_matrix:
                figures["procrustes_matrix.png"] = heatmap(
                    full["procrustes"], labels, title=f"{_MATRICES['procrustes']} by layer — {title}", vmin=0, vmax=2
                )
    return AnalysisResult(metrics=metrics, figures=figures, tables=tables)
