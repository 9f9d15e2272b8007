"""Outlier dimensions (paper §3.2): dimensions whose mean over tokens lies >= k sigma from the mean."""

from __future__ import annotations

import numpy as np

from geomexp.analyses.base import AnalysisResult, MetricInfo, ReportTable, analysis
from geomexp.figures.plots import outlier_dimension_bars
from geomexp.metrics.outliers import SIGMA_CONVENTIONS, layernorm_outlier_dimensions, outlier_dimensions
from geomexp.validation import flag, integer, number, one_of


@analysis(
    "outliers",
    "Outlier dimensions",
    metrics=[
        MetricInfo(
            "n_outliers",
            "outlier dims",
            0,
            "lower",
            headline=True,
            description="dimensions of the averaged vector >= k sigma from its mean",
            kind="count",
        ),
        MetricInfo("outlier_max_abs_z", "max |z|", 2, "lower", description="largest |mean_i - center| / sigma"),
        MetricInfo(
            "n_outliers_layernorm",
            "LayerNorm outlier dims",
            0,
            description="flagged by the output-LayerNorm weights",
            kind="count",
        ),
        MetricInfo("n_outliers_both", "found by both rules", 0, kind="count"),
    ],
    needs_when={"layernorm_weights": "layernorm_rule"},
    tables=[ReportTable("outliers", "Number of outlier dimensions by language", ("n_outliers",), pivot="subject")],
    params={
        "k_sigma": number(0, exclusive=True),
        "sigma": one_of(*SIGMA_CONVENTIONS),
        "plot": flag(),
        "layernorm_rule": flag(),
        "layernorm_min_layers": integer(0),
    },
)
def outliers_analysis(
    X: np.ndarray,
    *,
    k_sigma: float = 3.0,
    sigma: str = "entries",
    plot: bool = False,
    layernorm_rule: bool = False,
    layernorm_min_layers: int = 3,
    layernorm_weights=None,
    seed: int = 0,
    title: str = "",
) -> AnalysisResult:
    """Outlier dimensions of ``X`` (N, d) by ``outlier_dimensions(X, k_sigma, sigma)``.

    ``sigma="entries"``: the std of all N x d entries (the authors' notebook);
    ``"means"``: the std of the d per-dimension means. ``seed`` is unused (deterministic).

    Metrics: ``n_outliers``; ``outlier_max_abs_z``: the largest ``|mean_i - center| / sigma``
    over all d dimensions (in units of the chosen sigma; >= k_sigma iff there is an outlier).
    Table: ``outliers.json`` (indices, values, z-scores, convention, center, sigma, k_sigma, threshold).
    Figure: ``outlier_dimensions.png``, the averaged vector as bars, the band
    ``center +- k_sigma sigma`` shaded, outliers labelled with their index (if ``plot``).

    With ``layernorm_rule`` also the data-free rule of Kovaleva et al. 2021 (dimensions
    whose output-LayerNorm weight is a ``k_sigma`` outlier in more than
    ``layernorm_min_layers`` layers): ``layernorm_weights`` is the (L, d) weights
    (the runner passes them); metrics ``n_outliers_layernorm`` and
    ``n_outliers_both`` (found by both rules), table ``layernorm_outliers.json``.
    """
    res = outlier_dimensions(X, k_sigma=k_sigma, sigma=sigma)
    z = res.z_scores()
    metrics = {"n_outliers": float(res.indices.size), "outlier_max_abs_z": float(np.abs(z).max())}
    table = {
        "indices": res.indices.tolist(),
        "values": res.values.tolist(),
        "z_scores": z[res.indices].tolist(),
        "convention": res.convention,
        "center": res.center,
        "sigma": res.sigma,
        "k_sigma": res.k_sigma,
        "threshold": res.threshold,
        "d": int(res.mean_vector.size),
    }
    figures = {}
    if plot:
        figures["outlier_dimensions.png"] = outlier_dimension_bars(
            res.mean_vector,
            res.center,
            res.threshold,
            res.indices,
            title=f"{title + ': ' if title else 'Averaged token vector: '}{res.indices.size} outlier dimension(s)",
            band_label=f"mean ± {res.k_sigma:g}σ (σ over {res.convention})",
        )
    tables = {"outliers.json": table}
    if layernorm_rule:
        if layernorm_weights is None:
            raise ValueError("layernorm_rule=true needs the model's LayerNorm weights (layernorm_weights)")
        ln = layernorm_outlier_dimensions(layernorm_weights, k_sigma=k_sigma, min_layers=layernorm_min_layers)
        metrics["n_outliers_layernorm"] = float(ln.size)
        metrics["n_outliers_both"] = float(np.intersect1d(ln, res.indices).size)
        tables["layernorm_outliers.json"] = {
            "indices": ln.tolist(),
            "k_sigma": k_sigma,
            "min_layers": layernorm_min_layers,
        }
    return AnalysisResult(metrics=metrics, figures=figures, tables=tables)
