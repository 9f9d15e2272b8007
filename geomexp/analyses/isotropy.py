"""Isotropy analysis (paper §3.1): I_Cos (sampled and exact), I_PC and a 2-D PCA view."""

from __future__ import annotations

import numpy as np

from geomexp.analyses.base import AnalysisResult, MetricInfo, ReportTable, analysis
from geomexp.metrics import i_cos, i_cos_exact, log_i_pc
from geomexp.plots import pca_scatter


@analysis(
    "isotropy",
    "Isotropy (I_Cos, I_PC)",
    metrics=[
        MetricInfo(
            "i_cos", "I_Cos", 4, "lower", headline=True, description="mean cosine of random token pairs (0 = isotropic)"
        ),
        MetricInfo("i_cos_exact", "I_Cos (all pairs)", 4, "lower", description="mean cosine over all pairs i != j"),
        MetricInfo(
            "i_pc",
            "I_PC",
            6,
            "higher",
            headline=True,
            log_scale=True,
            description="min/max partition function (1 = isotropic)",
        ),
        MetricInfo(
            "log_i_pc", "log I_PC", 3, "higher", description="natural log of I_PC (finite where I_PC underflows)"
        ),
    ],
    tables=[
        ReportTable(
            "i_cos",
            "I_Cos by language",
            ("i_cos",),
            pivot="subject",
            description="mean cosine of random token pairs; 0 = isotropic",
        ),
        ReportTable(
            "i_pc",
            "I_PC by language",
            ("i_pc",),
            pivot="subject",
            description="min/max of the partition function; 1 = isotropic",
        ),
    ],
)
def isotropy_analysis(
    X: np.ndarray,
    *,
    n_pairs: int = 1000,
    exact: bool = True,
    i_pc_signs: str = "both",
    plot: bool = True,
    plot_points: int = 2000,
    seed: int = 0,
    title: str = "",
) -> AnalysisResult:
    """Isotropy of token representations ``X`` (N, d).

    Metrics: ``i_cos`` (mean cosine of ``n_pairs`` random pairs, seeded),
    ``i_cos_exact`` (all pairs; if ``exact``), ``i_pc`` and ``log_i_pc``
    (natural log, still informative where ``i_pc`` underflows to 0).
    Figure: ``pca_2d.png``, the first two principal components of at most
    ``plot_points`` rows (if ``plot``).
    """
    log_ipc = log_i_pc(X, signs=i_pc_signs)
    metrics = {"i_cos": i_cos(X, n_pairs=n_pairs, seed=seed), "i_pc": float(np.exp(log_ipc)), "log_i_pc": log_ipc}
    if exact:
        metrics["i_cos_exact"] = i_cos_exact(X)
    figures = {}
    if plot:
        figures["pca_2d.png"] = pca_scatter(X, title=title, max_points=plot_points, seed=seed)
    return AnalysisResult(metrics=metrics, figures=figures)
