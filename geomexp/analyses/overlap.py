"""Neighbourhood overlap with word identity per layer (Doimo et al. 2020; DADApy's label overlap)."""

from __future__ import annotations

import numpy as np

from geomexp.analyses.base import AnalysisResult, MetricInfo, ReportTable, analysis
from geomexp.metrics.neighbours import label_overlap, label_overlap_chance
from geomexp.validation import as_embeddings, integer


@analysis(
    "neighbourhood_overlap",
    "Neighbourhood overlap with word identity",
    metrics=[
        MetricInfo(
            "overlap_token",
            "same-word neighbours",
            3,
            headline=True,
            description="mean share of a token's k nearest neighbours that are occurrences of the same vocabulary "
            "token (Doimo et al. 2020)",
        ),
        MetricInfo(
            "overlap_token_chance",
            "same-word share by chance",
            4,
            description="the share for random neighbours: sum n_w (n_w - 1) / (N (N - 1))",
        ),
    ],
    needs=("sample",),
    tables=[
        ReportTable(
            "neighbourhood_overlap",
            "Neighbourhood overlap with word identity",
            ("overlap_token", "overlap_token_chance"),
            description="share of each token's k cosine nearest neighbours that are the same vocabulary token",
        )
    ],
    params={"k": integer(1)},
)
def neighbourhood_overlap_analysis(
    X: np.ndarray, *, sample, k: int = 10, seed: int = 0, title: str = ""
) -> AnalysisResult:
    """How much ``X`` (N, d) groups the occurrences of a word: the mean share of each row's ``k`` nearest other
    rows (cosine) that are the same vocabulary token (``sample.token_ids``; sub-word pieces are tokens of
    their own), against the share random neighbours would give. High at the embedding layer (a token's
    vector is its word's, plus position), falling where context takes over. Dimensionless; ``seed`` and
    ``title`` are unused. The overlap between two LAYERS' neighbourhoods (DADApy's data overlap) is
    ``mutual_knn`` of the ``neighbours`` analysis.
    """
    X = as_embeddings(X)
    return AnalysisResult(
        metrics={
            "overlap_token": label_overlap(X, sample.token_ids, k),
            "overlap_token_chance": label_overlap_chance(sample.token_ids),
        }
    )
