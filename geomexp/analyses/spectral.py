"""Spectral quality per layer: RankMe (Garrido et al. 2023) and alpha-ReQ (Agrawal et al. 2022)."""

from __future__ import annotations

import numpy as np

from geomexp.analyses.base import AnalysisResult, MetricInfo, ReportTable, analysis
from geomexp.metrics.intrinsic import nonzero_eigenvalues, spectrum
from geomexp.metrics.spectral import alpha_req, rankme
from geomexp.validation import as_embeddings, integer


@analysis(
    "spectral",
    "Spectral quality (RankMe, alpha-ReQ)",
    metrics=[
        MetricInfo(
            "rankme",
            "RankMe",
            1,
            headline=True,
            log_scale=True,
            description="exp of the entropy of the normalised singular values of raw X, + 1e-7 (Garrido et al. 2023)",
        ),
        MetricInfo("rankme_fraction", "RankMe / d", 4, description="RankMe over the width d"),
        MetricInfo(
            "alpha_req",
            "alpha-ReQ",
            3,
            headline=True,
            description="decay exponent of the covariance eigenvalues, lambda_i ~ i^-alpha (Agrawal et al. 2022)",
        ),
    ],
    tables=[
        ReportTable(
            "spectral",
            "Spectral quality: RankMe and alpha-ReQ",
            ("rankme", "rankme_fraction", "alpha_req"),
            description="RankMe (Garrido et al. 2023) on raw X; alpha-ReQ (Agrawal et al. 2022) fitted over ranks "
            "alpha_first..alpha_last of the covariance eigenvalues",
        )
    ],
    params={"alpha_first": integer(1), "alpha_last": integer(2, allow_none=True)},
)
def spectral_analysis(
    X: np.ndarray, *, alpha_first: int = 1, alpha_last: int | None = None, seed: int = 0, title: str = ""
) -> AnalysisResult:
    """RankMe and alpha-ReQ of ``X`` (N, d).

    Metrics: ``rankme`` (in dimensions, singular values of the uncentred X), ``rankme_fraction``
    (= rankme / d) and ``alpha_req`` (the power-law exponent fitted over the covariance eigenvalues of
    ranks ``alpha_first..alpha_last``, 1-based; ``alpha_last`` None = the last non-zero one; a range
    past the non-zero eigenvalues is cut there). ``seed`` and ``title`` are unused.
    """
    X = as_embeddings(X)
    lam = spectrum(X)
    n_nonzero = int((nonzero_eigenvalues(lam) > 0).sum())
    last = n_nonzero if alpha_last is None else min(alpha_last, n_nonzero)
    value = rankme(X)
    metrics = {
        "rankme": value,
        "rankme_fraction": value / X.shape[1],
        "alpha_req": alpha_req(variances=lam, first=alpha_first, last=last),
    }
    return AnalysisResult(metrics=metrics)
