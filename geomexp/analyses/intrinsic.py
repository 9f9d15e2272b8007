"""Intrinsic dimension and spectrum per layer: TwoNN, MLE (Levina–Bickel), effective rank, participation ratio."""

from __future__ import annotations

import numpy as np

from geomexp.analyses.base import AnalysisResult, MetricInfo, ReportTable, analysis
from geomexp.errors import ConfigError
from geomexp.metrics.intrinsic import (
    MLE_AGGREGATES,
    TWONN_FITS,
    effective_rank,
    knn_distances,
    mle_dimension,
    participation_ratio,
    spectrum,
    twonn,
    unique_rows,
)
from geomexp.validation import as_embeddings, check_choice, check_float, check_int, flag, integer, number, one_of


@analysis(
    "intrinsic",
    "Intrinsic dimension and spectrum",
    metrics=[
        MetricInfo("id_twonn", "TwoNN dimension", 1, headline=True, description="Facco et al. 2017"),
        MetricInfo("id_mle", "MLE dimension", 1, description="Levina & Bickel 2005, k neighbours"),
        MetricInfo(
            "erank",
            "effective rank",
            1,
            headline=True,
            log_scale=True,
            description="exp of the entropy of the normalised singular values (Roy & Vetterli 2007)",
        ),
        MetricInfo(
            "participation_ratio",
            "participation ratio",
            1,
            log_scale=True,
            description="(sum lambda)^2 / sum lambda^2 of the covariance eigenvalues",
        ),
        MetricInfo("erank_fraction", "effective rank / d", 4, description="effective rank over the width d"),
        MetricInfo("id_n_points", "distinct points", 0, description="rows used by TwoNN and MLE", kind="count"),
        MetricInfo("id_n_repeated", "repeated rows dropped", 0, kind="count"),
    ],
    tables=[
        ReportTable(
            "intrinsic",
            "Intrinsic dimension and spectrum",
            ("id_twonn", "id_mle", "erank", "participation_ratio"),
            description="TwoNN (Facco 2017), MLE (Levina–Bickel), effective rank (Roy & Vetterli), participation ratio",
        )
    ],
    params={
        "mle_k": integer(2),
        "mle_aggregate": one_of(*MLE_AGGREGATES),
        "twonn_discard": number(0, below=1),
        "twonn_fit": one_of(*TWONN_FITS),
        "plot": flag(),
    },
)
def intrinsic_analysis(
    X: np.ndarray,
    *,
    mle_k: int = 20,
    mle_aggregate: str = "harmonic",
    twonn_discard: float = 0.1,
    twonn_fit: str = "linear",
    plot: bool = False,
    seed: int = 0,
    title: str = "",
) -> AnalysisResult:
    """Intrinsic dimension (TwoNN, MLE) and spectrum measures (effective rank, participation ratio) of ``X`` (N, d).

    Exactly repeated rows are counted once for TwoNN and MLE (``id_n_repeated`` says how
    many were dropped: the embedding layer repeats a token at the same position); one FAISS
    search of ``mle_k`` neighbours serves both. The spectrum uses every row.
    Metrics: ``id_twonn``, ``id_mle``, ``erank``, ``participation_ratio`` (all in dimensions),
    ``erank_fraction`` (= erank / d), ``id_n_points``, ``id_n_repeated``.
    Table ``spectrum.json``: the covariance eigenvalues. Figure ``spectrum.png``: the
    normalised eigenvalues on log axes with the effective rank and participation ratio marked.
    ``seed`` is unused (deterministic).
    """
    mle_k = check_int(mle_k, "analysis.intrinsic.mle_k", minimum=2)
    check_choice(mle_aggregate, "analysis.intrinsic.mle_aggregate", MLE_AGGREGATES)
    check_choice(twonn_fit, "analysis.intrinsic.twonn_fit", TWONN_FITS)
    discard = check_float(twonn_discard, "analysis.intrinsic.twonn_discard", minimum=0.0)
    if discard >= 1:
        raise ConfigError(f"analysis.intrinsic.twonn_discard must be in [0, 1); got {twonn_discard!r}")
    X = as_embeddings(X)
    points, repeated = unique_rows(X)
    k = min(mle_k, points.shape[0] - 1)
    T = knn_distances(points, max(k, 2))
    lam = spectrum(X)
    erank = effective_rank(variances=lam)
    pr = participation_ratio(variances=lam)
    metrics = {
        "id_twonn": twonn(points, discard_fraction=discard, fit=twonn_fit, distances=T),
        "id_mle": mle_dimension(points, k=k, aggregate=mle_aggregate, distances=T),
        "erank": erank,
        "participation_ratio": pr,
        "erank_fraction": erank / X.shape[1],
        "id_n_points": float(points.shape[0]),
        "id_n_repeated": float(repeated),
    }
    figures = {}
    if plot:
        from geomexp.figures.plots import spectrum_plot

        figures["spectrum.png"] = spectrum_plot(
            lam,
            {
                "effective rank": erank,
                "participation ratio": pr,
                "TwoNN": metrics["id_twonn"],
                "MLE": metrics["id_mle"],
            },
            title=f"{title + ': ' if title else ''}covariance spectrum",
        )
    tables = {"spectrum.json": {"eigenvalues": lam.tolist(), "mle_k": k, "mle_aggregate": mle_aggregate}}
    return AnalysisResult(metrics=metrics, figures=figures, tables=tables)
