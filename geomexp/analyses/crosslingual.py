"""Cross-language comparison of dominant directions (paper §3: degenerated directions differ
across languages, yet the spaces are partly alike), made measurable."""

from __future__ import annotations

import numpy as np

from geomexp.analyses.base import AnalysisResult, MetricInfo, ReportTable, analysis
from geomexp.errors import ConfigError
from geomexp.metrics.subspace import principal_angles, subspace_overlap, top_principal_subspace
from geomexp.validation import as_embeddings, flag, integer


@analysis(
    "crosslingual",
    "Cross-language subspaces",
    metrics=[
        MetricInfo(
            "xl_overlap_mean",
            "subspace overlap (mean)",
            3,
            headline=True,
            description="mean over language pairs of the top-D PC subspace overlap",
            atol=1e-6,
        ),
        MetricInfo("xl_overlap_min", "subspace overlap (min)", 3, atol=1e-6),
        MetricInfo("xl_overlap_chance", "overlap by chance (D/d)", 3, curve=False, atol=1e-6),
        MetricInfo("xl_mean_cos_mean", "cosine of mean vectors", 3, atol=1e-6),
        MetricInfo(
            "xl_overlap.{pair}",
            "overlap {pair}",
            3,
            description="overlap of two languages' top-D PC subspaces",
            atol=1e-6,
        ),
    ],
    needs=("lang_reps",),
    tables=[ReportTable("crosslingual", "Subspace overlap between languages", ("xl_overlap.{pair}",), pivot="pair")],
    params={"n_components": integer(1), "plot": flag(), "plot_points": integer(1)},
)
def crosslingual_analysis(
    X: np.ndarray,
    *,
    lang_reps: dict[str, np.ndarray],
    lang: str = "",
    n_components: int = 10,
    plot: bool = False,
    plot_points: int = 1000,
    seed: int = 0,
    title: str = "",
) -> AnalysisResult:
    """Compare the top-``n_components`` principal subspaces of several languages' token vectors.

    lang_reps: ``{code: (N_code, d)}`` representations of the same model and layer
    (the run's own language among them; ``X`` is not used beyond a shape check).
    Metrics: ``xl_overlap.<a>_<b>`` for every pair (subspace overlap, mean squared
    cosine of the principal angles: 1 = same subspace, 0 = orthogonal),
    ``xl_overlap_mean`` / ``xl_overlap_min`` over pairs, ``xl_overlap_chance``
    (= D / d, the expected overlap of random subspaces), and
    ``xl_mean_cos_mean``: mean cosine between the languages' mean vectors.
    Tables: ``crosslingual.json`` (matrices, angles in degrees). Figures: joint PCA
    coloured by language, heatmap of overlaps.
    """
    codes = list(lang_reps)
    if len(codes) < 2:
        raise ConfigError(f"crosslingual needs at least two languages; got {codes}")
    reps = {c: as_embeddings(lang_reps[c], name=f"representations of {c!r}") for c in codes}
    dims = {c: r.shape[1] for c, r in reps.items()}
    if len(set(dims.values()) | {np.asarray(X).shape[1]}) != 1:
        raise ConfigError(f"languages have different dimensions: {dims}")
    d = next(iter(dims.values()))
    if not 1 <= n_components < d:
        raise ConfigError(f"analysis.crosslingual.n_components must be in 1..{d - 1}; got {n_components}")
    bases = {c: top_principal_subspace(r, n_components) for c, r in reps.items()}
    means = {c: r.mean(axis=0) for c, r in reps.items()}
    k = len(codes)
    overlap, mean_cos, angle_deg = np.eye(k), np.eye(k), np.zeros((k, k))
    metrics: dict[str, float] = {}
    for i in range(k):
        for j in range(i + 1, k):
            a, b = codes[i], codes[j]
            ov = subspace_overlap(bases[a], bases[b])
            mc = float(means[a] @ means[b] / (np.linalg.norm(means[a]) * np.linalg.norm(means[b])))
            ang = float(np.degrees(principal_angles(bases[a], bases[b]).mean()))
            overlap[i, j] = overlap[j, i] = ov
            mean_cos[i, j] = mean_cos[j, i] = mc
            angle_deg[i, j] = angle_deg[j, i] = ang
            metrics[f"xl_overlap.{a}_{b}"] = ov
    upper = np.triu_indices(k, 1)
    metrics.update(
        xl_overlap_mean=float(overlap[upper].mean()),
        xl_overlap_min=float(overlap[upper].min()),
        xl_overlap_chance=n_components / d,
        xl_mean_cos_mean=float(mean_cos[upper].mean()),
    )
    tables = {
        "crosslingual.json": {
            "langs": codes,
            "n_components": n_components,
            "subspace_overlap": overlap.round(6).tolist(),
            "mean_principal_angle_deg": angle_deg.round(3).tolist(),
            "mean_vector_cosine": mean_cos.round(6).tolist(),
        }
    }
    figures = {}
    if plot:
        from geomexp.figures.plots import language_pca_scatter, overlap_heatmap

        where = title
        figures["joint_pca.png"] = language_pca_scatter(
            lang_reps, title=f"joint 2-D PCA of {', '.join(codes)} — {where}", max_points=plot_points, seed=seed
        )
        figures["subspace_overlap.png"] = overlap_heatmap(
            overlap, codes, chance=n_components / d, title=f"top-{n_components} PC subspace overlap\n{where}"
        )
    return AnalysisResult(metrics=metrics, figures=figures, tables=tables)
