"""Intrinsic dimension across neighbourhood scales per layer: GRIDE (Denti et al. 2022)."""

from __future__ import annotations

import numpy as np

from geomexp.analyses.base import AnalysisResult, MetricInfo, ReportTable, analysis
from geomexp.errors import ConfigError
from geomexp.metrics.gride import gride_fit, gride_scaling
from geomexp.metrics.intrinsic import knn_distances, unique_rows
from geomexp.validation import as_embeddings, flag, integer


@analysis(
    "gride",
    "Intrinsic dimension across scales (GRIDE)",
    metrics=[
        MetricInfo(
            "id_gride",
            "GRIDE dimension",
            1,
            headline=True,
            description="maximum likelihood of r_n2 / r_n1, n2 = 2 n1 (Denti et al. 2022)",
        ),
        MetricInfo("id_gride_se", "GRIDE standard error", 2, description="asymptotic (inverse Fisher information)"),
        MetricInfo("id_gride_min", "GRIDE min over scales", 1, description="smallest estimate over n1 = 1, 2, 4, ..."),
        MetricInfo("id_gride_max", "GRIDE max over scales", 1, description="largest estimate over n1 = 1, 2, 4, ..."),
        MetricInfo("gride_n_points", "distinct points", 0, kind="count"),
        MetricInfo("gride_n_repeated", "repeated rows dropped", 0, kind="count"),
    ],
    tables=[
        ReportTable(
            "gride",
            "Intrinsic dimension across scales (GRIDE)",
            ("id_gride", "id_gride_se", "id_gride_min", "id_gride_max"),
            description="GRIDE (Denti et al. 2022) at neighbour orders n1 and 2 n1; min and max over the scales",
        )
    ],
    params={"n1": integer(1), "max_n2": integer(2), "plot": flag()},
)
def gride_analysis(
    X: np.ndarray, *, n1: int = 4, max_n2: int = 64, plot: bool = False, seed: int = 0, title: str = ""
) -> AnalysisResult:
    """GRIDE intrinsic dimension of ``X`` (N, d) at neighbour orders ``n1`` and ``2 n1`` (``id_gride``, its
    asymptotic standard error ``id_gride_se``), and at every scale ``n1 = 1, 2, 4, ...`` with ``2 n1 <= max_n2``
    (``id_gride_min``/``_max``; table ``gride_scaling.json``: n1, n2, dimension, se and the mean distance to
    the n2-th neighbour). Exactly repeated rows are counted once (``gride_n_repeated``); one FAISS search of
    ``max(max_n2, 2 n1)`` neighbours serves every scale. Figure ``gride_scaling.png``: the dimension against
    the neighbourhood size (if ``plot``). All in dimensions; ``seed`` is unused (deterministic).
    """
    if 2 * n1 > max_n2:
        raise ConfigError(f"analysis.gride.n1={n1} needs max_n2 >= 2 n1 = {2 * n1}; got max_n2={max_n2}")
    X = as_embeddings(X)
    points, repeated = unique_rows(X)
    k = min(max_n2, points.shape[0] - 1)
    if k < 2 * n1:
        raise ConfigError(f"analysis.gride.n1={n1} needs more than {2 * n1} distinct rows; got {points.shape[0]}")
    r = knn_distances(points, k)
    dim, se = gride_fit(n1=n1, distances=r)
    scaling = gride_scaling(max_n2=k, distances=r)
    metrics = {
        "id_gride": dim,
        "id_gride_se": se,
        "id_gride_min": float(scaling["dimension"].min()),
        "id_gride_max": float(scaling["dimension"].max()),
        "gride_n_points": float(points.shape[0]),
        "gride_n_repeated": float(repeated),
    }
    table = {key: values.tolist() for key, values in scaling.items()} | {"chosen_n1": n1}
    figures = {}
    if plot:
        from geomexp.figures.plots import gride_scaling_plot

        figures["gride_scaling.png"] = gride_scaling_plot(scaling, n1, title=title)
    return AnalysisResult(metrics=metrics, tables={"gride_scaling.json": table}, figures=figures)
