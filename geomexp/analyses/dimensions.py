"""Dimension-level cosine analysis: which dimensions carry the mean cosine (Timkey & van Schijndel 2021)."""

from __future__ import annotations

import numpy as np

from geomexp.analyses.base import AnalysisResult, MetricInfo, ReportTable, analysis
from geomexp.figures.plots import cosine_contribution_bars
from geomexp.metrics.dimensions import cosine_contributions, top_dimensions
from geomexp.validation import check_positive_int, flag, integer


def _table(top: list[tuple[int, float, float]]) -> dict:
    """``top_dimensions`` output as JSON-ready lists (a ``nan`` share becomes ``None``)."""
    return {
        "indices": [i for i, _, _ in top],
        "values": [v for _, v, _ in top],
        "shares": [None if np.isnan(s) else s for _, _, s in top],
    }


@analysis(
    "dimensions",
    "Cosine contribution per dimension",
    metrics=[
        MetricInfo(
            "cc_top1_share",
            "top-1 dim share",
            3,
            "lower",
            headline=True,
            description="share of the mean cosine carried by the top dimension",
            atol=1e-6,
        ),
        MetricInfo(
            "cc_top{rank}_dim", "top-{rank} dim", 0, description="index of the dimension", curve=False, kind="index"
        ),
        MetricInfo(
            "cc_top{rank}_share",
            "top-{rank} share",
            3,
            "lower",
            description="its fraction of the mean cosine",
            atol=1e-6,
        ),
        MetricInfo("cc_top{rank}", "top-{rank} CC", 4, description="its mean cosine contribution", atol=1e-6),
        MetricInfo(
            "cc_sum",
            "sum of CC (sampled)",
            4,
            description="equals the sampled I_Cos over the same pairs",
            curve=False,
            atol=1e-6,
        ),
        MetricInfo(
            "cc_sum_exact", "sum of CC (all pairs)", 4, description="equals the exact I_Cos", curve=False, atol=1e-6
        ),
    ],
    tables=[
        ReportTable(
            "dimensions",
            "Top-3 dimensions by cosine contribution",
            ("cc_top1_dim", "cc_top1_share", "cc_top2_dim", "cc_top2_share", "cc_top3_dim", "cc_top3_share"),
            description="dim: dimension index; share: its contribution / the mean cosine (Timkey & van Schijndel 2021)",
        )
    ],
    params={"n_pairs": integer(1), "exact": flag(), "top_k": integer(1), "plot": flag()},
)
def dimensions_analysis(
    X: np.ndarray,
    *,
    n_pairs: int = 1000,
    exact: bool = True,
    top_k: int = 3,
    plot: bool = False,
    seed: int = 0,
    title: str = "",
) -> AnalysisResult:
    """Cosine contribution of every dimension of ``X`` (N, d) and the ``top_k`` largest.

    The ranking ("primary" contributions) uses the exact mean over all pairs if
    ``exact`` (no sampling noise), else the ``n_pairs`` random pairs (seeded).

    Metrics: for r = 1..top_k, ``cc_top{r}_dim`` (the dimension index, as a float),
    ``cc_top{r}`` (its mean contribution) and ``cc_top{r}_share`` (its fraction of the
    mean cosine; see the sign caveat of ``top_dimensions``), all from the primary
    contributions; ``cc_sum``: the sum of the sampled contributions, equal to the
    sampled I_Cos over the same pairs; ``cc_sum_exact`` (if ``exact``): equal to the exact I_Cos.
    Table: ``top_dimensions.json`` with indices, values and shares of the top_k, for
    ``sampled`` and (if ``exact``) ``exact``, and which one is ``primary``.
    Figure: ``cosine_contributions.png``, all d primary contributions, top_k labelled (if ``plot``).
    """
    top_k = check_positive_int(top_k, "top_k")
    sampled = cosine_contributions(X, n_pairs=n_pairs, seed=seed)
    metrics = {"cc_sum": float(sampled.sum())}
    tables = {"sampled": _table(top_dimensions(sampled, top_k)), "n_pairs": int(n_pairs), "seed": int(seed)}
    primary, which = sampled, "sampled"
    if exact:
        primary, which = cosine_contributions(X, exact=True), "exact"
        metrics["cc_sum_exact"] = float(primary.sum())
        tables["exact"] = _table(top_dimensions(primary, top_k))
    tables["primary"] = which
    top = top_dimensions(primary, top_k)
    for rank, (index, value, share) in enumerate(top, start=1):
        metrics[f"cc_top{rank}_dim"] = float(index)
        metrics[f"cc_top{rank}"] = value
        metrics[f"cc_top{rank}_share"] = share
    figures = {}
    if plot:
        label = "exact mean over all pairs" if which == "exact" else f"mean over {n_pairs} random pairs"
        figures["cosine_contributions.png"] = cosine_contribution_bars(
            primary,
            [i for i, _, _ in top],
            title=f"{title + ': ' if title else ''}cosine contribution per dimension ({label})",
            ylabel="mean cosine contribution",
        )
    return AnalysisResult(metrics=metrics, figures=figures, tables={"top_dimensions.json": tables})
