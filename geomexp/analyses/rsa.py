"""Representational similarity between the layers of one model on the same tokens (RSA: the correlation of
the two layers' dissimilarity matrices), with the previous and the last layer of the run."""

from __future__ import annotations

import numpy as np

from geomexp.analyses.base import AnalysisResult, MetricInfo, ReportTable, analysis, compared_layers
from geomexp.metrics.rsa import RSA_METHODS, rsa
from geomexp.validation import integer, one_of


@analysis(
    "rsa",
    "Layer similarity (RSA)",
    metrics=[
        MetricInfo(
            "rsa_prev",
            "RSA with previous layer",
            3,
            description="correlation of the two layers' cosine-distance matrices on n_items tokens "
            "(Kriegeskorte et al. 2008)",
            atol=1e-6,
        ),
        MetricInfo("rsa_last", "RSA with last layer", 3, headline=True, atol=1e-6),
        MetricInfo("rsa_n_items", "tokens compared", 0, curve=False, kind="count"),
    ],
    needs=("layer", "layer_reps"),
    tables=[
        ReportTable(
            "rsa",
            "Layer similarity: RSA",
            ("rsa_prev", "rsa_last"),
            description="Spearman correlation of cosine-distance matrices, with the previous / last layer of each run",
        )
    ],
    params={"n_items": integer(3), "method": one_of(*RSA_METHODS)},
)
def rsa_analysis(
    X: np.ndarray,
    *,
    layer: int,
    layer_reps: dict[int, np.ndarray],
    n_items: int = 1000,
    method: str = "spearman",
    seed: int = 0,
    title: str = "",
) -> AnalysisResult:
    """RSA of layer ``layer`` (``X``, (N, d)) with the previous and the last layer of the run, on the same
    ``n_items`` tokens (drawn without replacement with ``seed``, the same at every layer; all N if fewer).

    Metrics: ``rsa_prev``, ``rsa_last`` (``method`` correlation of the cosine-distance matrices; the
    ``*_prev`` key is absent at the first layer; with the layer itself: 1) and ``rsa_n_items``.
    """
    targets = compared_layers("rsa", layer, layer_reps)
    targets.pop("first")
    n = X.shape[0]
    rows = np.sort(np.random.default_rng(seed).choice(n, size=n_items, replace=False)) if n_items < n else slice(None)
    metrics = {"rsa_n_items": float(min(n_items, n))}
    for name, other in targets.items():
        metrics[f"rsa_{name}"] = (
            1.0 if other == layer else rsa(layer_reps[layer][rows], layer_reps[other][rows], method=method)
        )
    return AnalysisResult(metrics=metrics)
