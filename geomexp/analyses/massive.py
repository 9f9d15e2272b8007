"""Massive activations (Sun et al. 2024): per layer the largest-magnitude hidden-state entries, their
ratio to the median magnitude, and the tokens and dimensions where they occur. It sits beside the
outlier-dimension analysis (``outliers``: dimensions of the MEAN vector; here: single entries)."""

from __future__ import annotations

import numpy as np

from geomexp.analyses.base import AnalysisResult, MetricInfo, ReportTable, analysis
from geomexp.metrics.massive import is_delimiter, massive_activations
from geomexp.validation import flag, integer, number


@analysis(
    "massive",
    "Massive activations",
    metrics=[
        MetricInfo(
            "massive_ratio",
            "max |x| / median |x|",
            1,
            "lower",
            headline=True,
            log_scale=True,
            description="largest entry magnitude over the median entry magnitude of the layer",
        ),
        MetricInfo("massive_max_abs", "max |x|", 2, "lower", log_scale=True, description="largest entry magnitude"),
        MetricInfo("massive_median_abs", "median |x|", 4, description="median entry magnitude"),
        MetricInfo(
            "n_massive",
            "massive entries",
            0,
            "lower",
            description="entries with |x| >= min_ratio x median and >= min_abs",
            kind="count",
        ),
        MetricInfo(
            "n_massive_dims", "massive dims", 0, "lower", description="dimensions holding a massive entry", kind="count"
        ),
        MetricInfo(
            "n_massive_tokens",
            "massive tokens",
            0,
            "lower",
            description="token rows holding a massive entry",
            kind="count",
        ),
        MetricInfo(
            "massive_top_dim",
            "top dim",
            0,
            description="dimension of the largest-magnitude entry (an index)",
            kind="index",
        ),
        MetricInfo(
            "massive_top_first_share",
            "top entries at a sentence's first token",
            3,
            description="share of the top_k entries at a sentence's first content token (character 0)",
        ),
        MetricInfo(
            "massive_top_delimiter_share",
            "top entries at delimiters",
            3,
            description="share of the top_k entries at punctuation or white-space tokens",
        ),
    ],
    needs=("sample", "sentences"),
    tables=[
        ReportTable(
            "massive",
            "Massive activations: largest |x| over the median |x|, and the dimension it is at",
            ("massive_ratio", "massive_max_abs", "n_massive", "massive_top_dim"),
        )
    ],
    params={"top_k": integer(1), "min_ratio": number(0, exclusive=True), "min_abs": number(0), "plot": flag()},
)
def massive_analysis(
    X: np.ndarray,
    *,
    sample=None,
    sentences=None,
    top_k: int = 20,
    min_ratio: float = 1000.0,
    min_abs: float = 100.0,
    plot: bool = False,
    seed: int = 0,
    title: str = "",
) -> AnalysisResult:
    """Massive activations of ``X`` (N, d), the rows of ``sample`` (a ``TokenSample``; ``sentences`` are
    the corpus sentences its ``sentence_ids`` index). ``seed`` is unused (deterministic).

    Metrics: ``massive_ratio`` (max |x| / median |x|), ``massive_max_abs``, ``massive_median_abs``,
    ``n_massive`` (entries with ``|x| >= min_ratio * median`` and ``>= min_abs``; Sun et al.: 1000 and
    100), ``n_massive_dims``, ``n_massive_tokens``, ``massive_top_dim`` (dimension of the largest entry),
    ``massive_top_first_share`` / ``massive_top_delimiter_share`` (share of the ``top_k`` entries at a
    sentence's first content token / at a punctuation or white-space token).
    Note: special-token rows (BOS, [CLS]) are not in ``X``, so the first CONTENT token stands for
    "the first token"; with GPT-2 (no BOS) it is the model's first input token.
    Table ``massive.json``: the top entries (value, ratio, dimension, token id and text, sentence,
    position, kind) and the count of massive entries per dimension. Figure ``massive_activations.png``:
    the largest |x| of every dimension on a log axis, with the median and the massive threshold.
    """
    res = massive_activations(X, top_k=top_k, min_ratio=min_ratio, min_abs=min_abs)

    def token_text(row: int) -> str:
        if sentences is None:
            return ""
        start, end = (int(v) for v in sample.char_spans[row])
        return str(sentences[int(sample.sentence_ids[row])][start:end])

    def kind(row: int) -> str:
        if int(sample.char_spans[row][0]) == 0:
            return "first"
        return "delimiter" if is_delimiter(token_text(row)) else "other"

    top = []
    for r, dim, v, ratio in zip(res.top_rows, res.top_dims, res.top_values, res.top_ratios):
        r = int(r)
        entry = {"value": float(v), "ratio": float(ratio), "dim": int(dim), "row": r}
        if sample is not None:
            entry |= {
                "token_id": int(sample.token_ids[r]),
                "token": token_text(r),
                "sentence": int(sample.sentence_ids[r]),
                "position": int(sample.positions[r]),
                "kind": kind(r),
            }
        top.append(entry)
    kinds = [e.get("kind") for e in top]
    dims, counts = np.unique(res.massive_dims, return_counts=True)
    metrics = {
        "massive_ratio": res.max_ratio,
        "massive_max_abs": float(np.abs(res.top_values[0])),
        "massive_median_abs": res.median_abs,
        "n_massive": float(res.massive_rows.size),
        "n_massive_dims": float(dims.size),
        "n_massive_tokens": float(np.unique(res.massive_rows).size),
        "massive_top_dim": float(res.top_dims[0]),
    }
    if sample is not None:
        metrics["massive_top_first_share"] = kinds.count("first") / len(kinds)
        metrics["massive_top_delimiter_share"] = kinds.count("delimiter") / len(kinds)
    table = {
        "median_abs": res.median_abs,
        "threshold": res.threshold,
        "min_ratio": res.min_ratio,
        "min_abs": res.min_abs,
        "top": top,
        "massive_per_dim": {int(d): int(c) for d, c in zip(dims, counts)},
    }
    figures = {}
    if plot:
        from geomexp.figures.plots import massive_activation_plot

        figures["massive_activations.png"] = massive_activation_plot(
            res.max_abs_per_dim,
            res.median_abs,
            res.threshold,
            sorted({int(d) for d in res.top_dims[: min(5, res.top_dims.size)]}),
            title=f"{title + ': ' if title else ''}max |x| {metrics['massive_max_abs']:.3g} = "
            f"{res.max_ratio:.3g} x median",
        )
    return AnalysisResult(metrics=metrics, figures=figures, tables={"massive.json": table})
