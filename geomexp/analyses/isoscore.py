"""IsoScore (Rudman et al. 2022): how evenly the variance of ``X`` spreads over its dimensions."""

from __future__ import annotations

import numpy as np

from geomexp.analyses.base import AnalysisResult, MetricInfo, ReportTable, analysis, interval_infos
from geomexp.metrics.bootstrap import bootstrap_rows, interval_metrics
from geomexp.metrics.isoscore import isoscore
from geomexp.validation import check_int, integer, number


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
            atol=1e-6,
        ),
        *interval_infos("token bootstrap (analysis.isoscore.n_bootstrap)"),
    ],
    tables=[
        ReportTable("isoscore", "IsoScore by language", ("isoscore",), pivot="subject", description="1 = isotropic")
    ],
    params={"n_bootstrap": integer(0), "ci_level": number(0, exclusive=True, below=1)},
)
def isoscore_analysis(
    X: np.ndarray, *, n_bootstrap: int = 0, ci_level: float = 0.95, seed: int = 0, title: str = ""
) -> AnalysisResult:
    """Metric ``isoscore`` of ``X`` (N, d), in [0, 1] (1 = isotropic); ``title`` is unused.

    With ``n_bootstrap`` > 0 also ``isoscore_ci_low`` / ``_ci_high``: the ``ci_level`` percentile
    interval over ``n_bootstrap`` resamples of the tokens, seeded by ``seed``. Resamples repeat
    rows, which lowers IsoScore a little: the interval sits slightly below the estimate (most
    visibly near 1 and for small N); read it as the sampling spread, not an unbiased range.
    """
    check_int(n_bootstrap, "analysis.isoscore.n_bootstrap", minimum=0)
    metrics = {"isoscore": isoscore(X)}
    if n_bootstrap:
        intervals = bootstrap_rows(X, {"isoscore": isoscore}, n_bootstrap, seed=seed, level=ci_level)
        metrics.update(interval_metrics(intervals))
    return AnalysisResult(metrics=metrics)
