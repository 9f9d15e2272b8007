"""Isotropy analysis (paper §3.1): I_Cos (sampled and exact), I_PC and a 2-D PCA view."""

from __future__ import annotations

import numpy as np

from geomexp.analyses.base import AnalysisResult, MetricInfo, ReportTable, analysis, interval_infos
from geomexp.figures.plots import pca_scatter
from geomexp.metrics import i_cos, i_cos_exact, log_i_pc
from geomexp.metrics.bootstrap import bootstrap_rows, interval_metrics
from geomexp.metrics.isotropy import I_PC_SIGNS, I_PC_UNSTABLE, log_i_pc_with_spread, pair_cosines, standard_error
from geomexp.validation import check_int, flag, integer, number, one_of


@analysis(
    "isotropy",
    "Isotropy (I_Cos, I_PC)",
    metrics=[
        MetricInfo(
            "i_cos",
            "I_Cos",
            4,
            "lower",
            headline=True,
            description="mean cosine of random token pairs (0 = isotropic)",
            atol=1e-6,
            se_key="i_cos_se",
        ),
        MetricInfo(
            "i_cos_se",
            "I_Cos s.e.",
            4,
            description="standard error of I_Cos over its random pairs (sd / sqrt(n_pairs))",
            curve=False,
            atol=1e-6,
        ),
        MetricInfo(
            "i_cos_exact",
            "I_Cos (all pairs)",
            4,
            "lower",
            description="mean cosine over all pairs i != j",
            atol=1e-6,
            twin="i_cos",
        ),
        MetricInfo(
            "i_pc",
            "I_PC",
            6,
            "higher",
            headline=True,
            log_scale=True,
            description="min/max partition function (1 = isotropic)",
            spread_key="i_pc_spread",
        ),
        MetricInfo(
            "log_i_pc",
            "log I_PC",
            3,
            "higher",
            description="natural log of I_PC (finite where I_PC underflows)",
            atol=1e-4,
            spread_key="i_pc_spread",
            twin="i_pc",
        ),
        MetricInfo(
            "i_pc_spread",
            "I_PC spread (log)",
            3,
            "lower",
            description="range of log I_PC over rotations within the eigenspaces the sample does not resolve; "
            f"above {I_PC_UNSTABLE} I_PC is not well defined (e.g. after whitening)",
            atol=I_PC_UNSTABLE,
            spread_key="i_pc_spread",
        ),
        MetricInfo(
            "i_pc_unresolved",
            "unresolved eigenvalues",
            0,
            kind="count",
            description="eigenvalues of X^T X in eigenspaces the sample does not resolve (of d)",
            curve=False,
        ),
        *interval_infos("token bootstrap (analysis.isotropy.n_bootstrap)"),
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
    params={
        "n_pairs": integer(1),
        "exact": flag(),
        "i_pc_signs": one_of(*I_PC_SIGNS),
        "i_pc_rotations": integer(0),
        "plot": flag(),
        "plot_points": integer(1),
        "n_bootstrap": integer(0),
        "ci_level": number(0, exclusive=True, below=1),
    },
)
def isotropy_analysis(
    X: np.ndarray,
    *,
    n_pairs: int = 1000,
    exact: bool = True,
    i_pc_signs: str = "both",
    i_pc_rotations: int = 8,
    plot: bool = False,
    plot_points: int = 2000,
    n_bootstrap: int = 0,
    ci_level: float = 0.95,
    seed: int = 0,
    title: str = "",
) -> AnalysisResult:
    """Isotropy of token representations ``X`` (N, d).

    Metrics: ``i_cos`` (mean cosine of ``n_pairs`` random pairs, seeded),
    ``i_cos_exact`` (all pairs; if ``exact``), ``i_pc`` and ``log_i_pc``
    (natural log, still informative where ``i_pc`` underflows to 0); with ``i_pc_rotations`` > 0,
    ``i_pc_spread`` (range of log I_PC over that many random rotations within the eigenspaces the
    sample does not resolve; ``geomexp.metrics.isotropy.i_pc_spread``) and ``i_pc_unresolved``; a
    spread above ``I_PC_UNSTABLE`` sets the tag ``i_pc_unstable`` (I_PC is not well defined there).
    With ``n_bootstrap`` > 0: ``<metric>_ci_low`` / ``_ci_high``, the ``ci_level`` percentile
    interval over ``n_bootstrap`` resamples of the tokens (seeded by ``seed``; each resample
    costs about one evaluation of every metric, mostly I_PC's eigendecomposition). The intervals
    are for the population value: ``i_cos`` (random pairs) carries its own pair noise, so its
    estimate may fall just outside its interval; ``i_cos_exact`` does not.
    Figure: ``pca_2d.png``, the first two principal components of at most
    ``plot_points`` rows (if ``plot``).
    """
    check_int(n_bootstrap, "analysis.isotropy.n_bootstrap", minimum=0)
    check_int(i_pc_rotations, "analysis.isotropy.i_pc_rotations", minimum=0)
    cosines = pair_cosines(X, n_pairs=n_pairs, seed=seed)
    tags, metrics = {}, {"i_cos": float(cosines.mean()), "i_cos_se": standard_error(cosines)}
    if i_pc_rotations:  # I_PC and how well defined it is, from one eigendecomposition
        log_ipc, spread, unresolved = log_i_pc_with_spread(X, signs=i_pc_signs, n_rotations=i_pc_rotations, seed=seed)
        metrics["i_pc_spread"], metrics["i_pc_unresolved"] = spread, float(unresolved)
        if spread > I_PC_UNSTABLE:
            tags["i_pc_unstable"] = "true"
    else:
        log_ipc = log_i_pc(X, signs=i_pc_signs)
    metrics.update(i_pc=float(np.exp(log_ipc)), log_i_pc=log_ipc)
    if exact:
        metrics["i_cos_exact"] = i_cos_exact(X)
    if n_bootstrap:
        statistics = {
            "i_cos": lambda Xb: i_cos(Xb, n_pairs=n_pairs, seed=seed),
            "log_i_pc": lambda Xb: log_i_pc(Xb, signs=i_pc_signs),
        }
        if exact:
            statistics["i_cos_exact"] = i_cos_exact
        intervals = bootstrap_rows(X, statistics, n_bootstrap, seed=seed, level=ci_level)
        intervals["i_pc"] = intervals["log_i_pc"].map(np.exp)
        metrics.update(interval_metrics(intervals))
    figures = {}
    if plot:
        figures["pca_2d.png"] = pca_scatter(X, title=title, max_points=plot_points, seed=seed)
    return AnalysisResult(metrics=metrics, figures=figures, tags=tags)
