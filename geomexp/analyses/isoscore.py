"""IsoScore (Rudman et al. 2022): how evenly the variance of ``X`` spreads over its dimensions."""

from __future__ import annotations

import numpy as np

from geomexp.analyses.base import AnalysisResult, MetricInfo, ReportTable, analysis
from geomexp.metrics.isoscore import isoscore


@analysis(
    "isoscore",
    "IsoScore",
    metrics=[
        MetricInfo(
            "isoscore",
            "IsoScore",
            4,
            "higher",
            headline=True,
            description="uniformity of the variance over dimensions (1 = isotropic)",
        )
    ],
    tables=[
        ReportTable("isoscore", "IsoScore by language", ("isoscore",), pivot="subject", description="1 = isotropic")
    ],
)
def isoscore_analysis(X: np.ndarray, *, seed: int = 0, title: str = "") -> AnalysisResult:
    """Metric ``isoscore`` of ``X`` (N, d), in [0, 1] (1 = isotropic). ``seed`` and ``title`` are unused."""
    return AnalysisResult(metrics={"isoscore": isoscore(X)})
