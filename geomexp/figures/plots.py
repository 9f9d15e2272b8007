"""Matplotlib figures of one run (Agg backend, no display needed). Each function returns a Figure,
drawn in the one geomexp style (``geomexp.figures.style``)."""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from geomexp.analyses.keys import MetricKey, space_label  # noqa: E402
from geomexp.figures.style import SPACE_LINESTYLES, TEXT_WIDTH, language_colors, paper_style  # noqa: E402
from geomexp.linalg import principal_coordinates  # noqa: E402


def styled(fn):
    """Draw the figure of ``fn`` in the geomexp style."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with paper_style():
            return fn(*args, **kwargs)

    return wrapper


def pca_2d(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project ``X`` (N, d) on its first two principal components (after centring).

    Returns the (N, 2) coordinates and the fraction of variance each explains (2,).
    Axes and signs as everywhere in geomexp (``geomexp.linalg.principal_coordinates``).
    """
    X = np.asarray(X, dtype=np.float64)
    coords, _, variance = principal_coordinates(X, 2)  # top-2 eigenpairs of XᵀX, not a full SVD (~10x less time)
    total = ((X - X.mean(axis=0)) ** 2).sum() / (X.shape[0] - 1)
    explained = variance / total if total > 0 else np.zeros(2)
    return coords, explained


@styled
def pca_scatter(X: np.ndarray, *, title: str = "", max_points: int = 2000, seed: int = 0):
    """Scatter of the first two principal components of ``X`` (N, d), at most ``max_points`` rows.

    The PCA is fitted on the plotted rows; the axes show the explained variance.
    """
    X = np.asarray(X)
    if X.shape[0] > max_points:
        rows = np.random.default_rng(seed).choice(X.shape[0], size=max_points, replace=False)
        X = X[np.sort(rows)]
    coords, explained = pca_2d(X)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.scatter(coords[:, 0], coords[:, 1], s=3, alpha=0.5, linewidths=0)
    _finish_pca_axes(fig, ax, explained, title or f"2-D PCA of {X.shape[0]} token vectors")
    return fig


def _finish_pca_axes(fig, ax, explained, title: str, equal: bool = True) -> None:
    """Axis labels with the explained variance of PC1/PC2, title, aspect and layout."""
    ax.set_xlabel(f"PC1 ({100 * explained[0]:.1f} % var.)")
    ax.set_ylabel(f"PC2 ({100 * explained[1]:.1f} % var.)")
    ax.set_title(title)
    if equal:
        ax.set_aspect("equal", adjustable="datalim")
    fig.tight_layout()


def _label_offset(value: float) -> tuple[int, int]:
    """Offset in points for a bar's label: above a bar that points up, below one that points down."""
    return (3, 4) if value >= 0 else (3, -10)


def _index_bars(ax, values: np.ndarray, **kwargs) -> None:
    """Bars of ``values`` (d,) over dimension index 0..d-1 (thin lines when d is large, for speed)."""
    x = np.arange(values.size)
    if values.size <= 128:
        ax.bar(x, values, width=0.8, **kwargs)
    else:
        ax.vlines(x, 0.0, values, linewidth=1.0, **kwargs)
    ax.axhline(0.0, color="black", linewidth=0.5)
    ax.set_xlim(-1, values.size)
    ax.margins(y=0.15)  # room for the index labels


@styled
def cosine_contribution_bars(contrib: np.ndarray, top: Sequence[int] = (), *, title: str = "", ylabel: str = ""):
    """Bar plot of the cosine contribution of every dimension (``contrib``, (d,)); ``top`` indices labelled."""
    contrib = np.asarray(contrib, dtype=np.float64)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    _index_bars(ax, contrib, color="tab:blue")
    top = [int(i) for i in top]
    if top:
        ax.scatter(top, contrib[top], color="tab:red", s=18, zorder=3)
        for i in top:
            offset = _label_offset(contrib[i])
            ax.annotate(str(i), (i, contrib[i]), textcoords="offset points", xytext=offset, fontsize=8, color="tab:red")
    ax.set_xlabel("dimension")
    ax.set_ylabel(ylabel or "mean cosine contribution")
    ax.set_title(title or f"Cosine contribution per dimension (d = {contrib.size})")
    fig.tight_layout()
    return fig


@styled
def outlier_dimension_bars(
    mean_vector: np.ndarray,
    center: float,
    threshold: float,
    indices: Sequence[int] = (),
    *,
    title: str = "",
    band_label: str = "",
):
    """The paper's outlier figure: the averaged token vector (d,) as bars over dimension index.

    The band ``center +- threshold`` is shaded; dimensions in ``indices`` are marked and labelled.
    """
    mean_vector = np.asarray(mean_vector, dtype=np.float64)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    ax.axhspan(center - threshold, center + threshold, color="tab:gray", alpha=0.2, label=band_label or "mean ± k·σ")
    _index_bars(ax, mean_vector, color="tab:blue")
    idx = [int(i) for i in indices]
    if idx:
        ax.scatter(idx, mean_vector[idx], color="tab:red", s=18, zorder=3, label="outliers")
        for i in idx:
            offset = _label_offset(mean_vector[i] - center)
            y = mean_vector[i]
            ax.annotate(str(i), (i, y), textcoords="offset points", xytext=offset, fontsize=8, color="tab:red")
    ax.set_xlabel("dimension")
    ax.set_ylabel("mean over tokens")
    ax.set_title(title or f"Averaged token vector (d = {mean_vector.size}), {len(idx)} outlier dimension(s)")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


@styled
def frequency_pca_plot(
    vectors: np.ndarray,
    log_freq: np.ndarray,
    *,
    title: str = "",
    max_points: int = 2000,
    seed: int = 0,
    label: str = "log10 frequency (Zipf)",
    rho: float | None = None,
):
    """The paper's frequency figure: 2-D PCA of ``vectors`` (W, d), each point coloured by its ``log_freq`` (W,).

    The PCA is fitted on ALL W rows, with geomexp's one sign convention
    (``geomexp.linalg.principal_coordinates``: each axis's largest-|.| loading positive), the same
    axes on which ``frequency_bias`` computes ``rho_pc1``; so the logged ``freq_rho_pc1`` (``rho``,
    shown in the title) is the Spearman correlation of the plotted x coordinate with the colour:
    rho < 0 means frequent words lie to the left. At most ``max_points`` rows are drawn (seeded).
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    log_freq = np.asarray(log_freq, dtype=np.float64)
    if log_freq.shape != (vectors.shape[0],):
        raise ValueError(
            f"log_freq must have shape ({vectors.shape[0]},) (one value per row of vectors); got {log_freq.shape}"
        )
    coords, _, variance = principal_coordinates(vectors, 2)
    total = ((vectors - vectors.mean(axis=0)) ** 2).sum() / (vectors.shape[0] - 1)
    explained = variance / total if total > 0 else np.zeros(2)
    if vectors.shape[0] > max_points:
        rows = np.sort(np.random.default_rng(seed).choice(vectors.shape[0], size=max_points, replace=False))
        coords, log_freq = coords[rows], log_freq[rows]
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    points = ax.scatter(coords[:, 0], coords[:, 1], c=log_freq, cmap="viridis", s=4, alpha=0.7, linewidths=0)
    fig.colorbar(points, ax=ax, label=label)
    head = title or f"2-D PCA of {vectors.shape[0]} word vectors by frequency"
    if rho is not None and math.isfinite(rho):
        head += f"\nρ(freq, PC1) = {rho:+.2f} (PCA of all {vectors.shape[0]} words)"
    _finish_pca_axes(fig, ax, explained, head)
    return fig


@styled
def language_pca_scatter(reps: Mapping[str, np.ndarray], *, title: str = "", max_points: int = 1000, seed: int = 0):
    """One 2-D PCA of several languages' vectors (code -> (N, d)), coloured by language.

    At most ``max_points`` rows per language are plotted; the PCA is fitted on them all together.
    """
    rng = np.random.default_rng(seed)
    parts, labels = [], []
    for code, X in reps.items():
        X = np.asarray(X)
        if X.shape[0] > max_points:
            X = X[np.sort(rng.choice(X.shape[0], size=max_points, replace=False))]
        parts.append(X)
        labels.extend([code] * X.shape[0])
    coords, explained = pca_2d(np.concatenate(parts))
    labels = np.array(labels)
    fig, ax = plt.subplots(figsize=(6, 5))
    color = language_colors(reps)
    for code in reps:
        sel = labels == code
        ax.scatter(coords[sel, 0], coords[sel, 1], s=3, alpha=0.5, linewidths=0, label=code, color=color[code])
    ax.legend(markerscale=4, title="language")
    _finish_pca_axes(fig, ax, explained, title or "joint 2-D PCA by language", equal=False)
    return fig


@styled
def heatmap(matrix: np.ndarray, labels: Sequence[str], *, title: str = "", vmin=None, vmax=None, fmt: str = ".2f"):
    """A square matrix (k, k) as an annotated heatmap with ``labels`` on both axes."""
    matrix = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(1.0 + 0.7 * len(labels), 0.6 + 0.7 * len(labels)))
    im = ax.imshow(matrix, vmin=vmin, vmax=vmax, cmap="viridis")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), labels)
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            ax.text(
                j,
                i,
                format(matrix[i, j], fmt),
                ha="center",
                va="center",
                color="w" if matrix[i, j] < (vmax or 1) * 0.6 else "k",
                fontsize=8,
            )
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


@styled
def sts_scatter(gold: np.ndarray, preds: Mapping[str, np.ndarray], spearman: Mapping[str, float], *, title: str = ""):
    """Predicted similarity (cosine) against gold score (0-5), one colour per mode, Spearman in the legend."""
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for mode, pred in preds.items():
        ax.scatter(gold, pred, s=8, alpha=0.6, linewidths=0, label=f"{mode} (ρ×100 = {spearman[mode]:.1f})")
    ax.set_xlabel("gold similarity (0–5)")
    ax.set_ylabel("cosine of mean-pooled sentence vectors")
    ax.legend(markerscale=2, fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def spectrum_plot(variances: np.ndarray, marks: Mapping[str, float] | None = None, *, title: str = ""):
    """Covariance eigenvalues (d,), normalised to sum 1, against their rank on log-log axes.

    ``marks``: name -> a number of dimensions (effective rank, participation ratio, ...),
    drawn as vertical lines at that rank.
    """
    lam = np.asarray(variances, dtype=np.float64)
    share = lam / lam.sum()
    rank = np.arange(1, lam.size + 1)
    fig, ax = plt.subplots(figsize=(6, 4))
    pos = share > 0
    ax.loglog(rank[pos], share[pos], color="tab:blue", linewidth=1.2, label="eigenvalue / sum")
    for (name, value), color in zip((marks or {}).items(), ("tab:red", "tab:green", "tab:orange", "tab:purple")):
        ax.axvline(value, color=color, linestyle="--", linewidth=1, label=f"{name} = {value:.1f}")
    ax.set_xlabel("rank of the principal axis")
    ax.set_ylabel("share of the variance")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax.set_title(title or f"Covariance spectrum (d = {lam.size})", fontsize=9)
    fig.tight_layout()
    return fig


@styled
def gride_scaling_plot(scaling: Mapping[str, np.ndarray], chosen_n1: int | None = None, *, title: str = ""):
    """GRIDE's dimension (with +-1 standard error) against the neighbour order n2 = 2 n1 on a log axis
    (``scaling``: ``geomexp.metrics.gride.gride_scaling``'s arrays); the headline scale ``chosen_n1`` marked."""
    n2, dim, se = (np.asarray(scaling[key], dtype=np.float64) for key in ("n2", "dimension", "se"))
    fig, ax = plt.subplots(figsize=(3.4, 2.4))
    ax.errorbar(n2, dim, yerr=se, marker="o", markersize=3, linewidth=1, capsize=2)
    if chosen_n1 is not None and 2 * chosen_n1 in n2:
        ax.axvline(2 * chosen_n1, color="0.5", linestyle="--", linewidth=0.8, label=f"n1 = {chosen_n1}")
        ax.legend()
    ax.set_xscale("log", base=2)
    ax.set_xlabel("neighbour order n2 = 2 n1 (log scale)")
    ax.set_ylabel("GRIDE dimension")
    ax.grid(alpha=0.3)
    ax.set_title(title or "Intrinsic dimension across scales")
    fig.tight_layout()
    return fig


def space_depth(key: str) -> int:
    """0 for a raw-space metric key, 1 for an enhanced one (``i_cos/cluster``), 2 for zero-shot."""
    return MetricKey.parse(key).depth


def spans_decades(values, decades: float = 2.0) -> bool:
    """Whether positive ``values`` span at least ``decades`` orders of magnitude (then a log axis reads better)."""
    v = np.asarray([x for x in values if x is not None and np.isfinite(x)], dtype=np.float64)
    return v.size > 1 and bool((v > 0).all()) and np.log10(v.max() / v.min()) >= decades


@styled
def analysis_curves(layers: Sequence[int], panels: Sequence[tuple], *, title: str = ""):
    """One run's metrics of one analysis against layer, one panel per metric.

    panels: ``(metric_info, {key: values per layer})`` with the raw key (solid) and its enhanced
    variants (``key/<method>`` dashed, ``key/<method>/zero_shot`` dotted); the y label is the metric's
    label, on a log axis (said in the label) where it declares ``log_scale`` or its values span decades.
    """
    n = len(panels)
    ncols = 2 if n == 4 else min(n, 3)
    nrows = math.ceil(n / ncols)
    width = TEXT_WIDTH * (0.75 if ncols == 2 else 1) if ncols > 1 else 3.6
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, 0.3 + 2.1 * nrows), squeeze=False)
    for ax, (mi, series) in zip(axes.flat, panels):
        values = [v for ys in series.values() for v in ys]
        log = (mi.log_scale or spans_decades(values)) and all(v is not None and v > 0 for v in values)
        for key, ys in series.items():
            space = space_label(key)
            ax.plot(layers, ys, marker="o", linestyle=SPACE_LINESTYLES[space_depth(key)], label=space)
        if log:
            ax.set_yscale("log")
        ax.set_ylabel(mi.axis_label(log))
        ax.set_xlabel("layer")
        _layer_ticks(ax, layers)
        if len(series) > 1 and ax is axes.flat[0]:  # one legend: the spaces are the same in every panel
            ax.legend()
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def value_histogram(values: np.ndarray, marks: Mapping[str, float] | None = None, *, title: str = "", xlabel: str = ""):
    """Histogram of ``values`` (n,) with vertical lines at ``marks`` (name -> value)."""
    values = np.asarray(values, dtype=np.float64)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist(values, bins=min(50, max(10, values.size // 5)), color="tab:blue", alpha=0.8)
    for (name, value), color in zip((marks or {}).items(), ("tab:red", "tab:green", "tab:orange", "tab:purple")):
        ax.axvline(value, color=color, linestyle="--", linewidth=1, label=f"{name} = {value:.3f}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("count")
    ax.grid(alpha=0.3)
    if marks:
        ax.legend(fontsize=8)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def _layer_ticks(ax, layers: Sequence[int]) -> None:
    """Integer layer ticks, at most about 8 of them."""
    layers = sorted(set(int(x) for x in layers))
    if not layers:
        return
    step = max(1, math.ceil(len(layers) / 8))
    ax.set_xticks(layers[::step])


def draw_overlap(ax, matrix: np.ndarray, labels: Sequence[str], *, vmin=None, vmax=None):
    """A subspace-overlap matrix on ``ax``: the diagonal (1 by definition) left blank, the colour scale
    fitted to the off-diagonal values (or ``vmin``/``vmax``), each cell annotated. Returns the image."""
    matrix = np.asarray(matrix, dtype=np.float64)
    k = matrix.shape[0]
    off = ~np.eye(k, dtype=bool)
    shown = np.where(off, matrix, np.nan)
    finite = shown[np.isfinite(shown)]
    lo = vmin if vmin is not None else (float(finite.min()) if finite.size else 0.0)
    hi = vmax if vmax is not None else (float(finite.max()) if finite.size else 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.01, hi + 0.01
    cmap = plt.get_cmap("viridis").with_extremes(bad="#f0f0f0")
    im = ax.imshow(shown, vmin=lo, vmax=hi, cmap=cmap)
    ax.set_xticks(range(k), labels)
    ax.set_yticks(range(k), labels)
    ax.grid(False)
    for i in range(k):
        for j in range(k):
            if i == j:
                ax.text(j, i, "—", ha="center", va="center", color="0.5", fontsize=7)
            elif np.isfinite(matrix[i, j]):
                dark = (matrix[i, j] - lo) / (hi - lo) < 0.55
                ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", color="w" if dark else "k", fontsize=7)
    return im


def overlap_scale(values, chance: float | None = None) -> tuple[float, float]:
    """(vmin, vmax) of an overlap colour scale: the range of the off-diagonal ``values``, stretched down
    (or up) to the chance level where that costs at most the data's own range, so chance can be marked."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, 1.0)
    if chance is not None and np.isfinite(chance):
        span = hi - lo
        if lo - span <= chance < lo:
            lo = chance - 0.05 * (hi - chance)  # the mark a little above the bottom, visible
        elif hi < chance <= hi + span:
            hi = chance + 0.05 * (chance - lo)
    return lo, hi


def mark_chance(colorbar, chance: float | None) -> None:
    """Mark the chance level D/d on a colour bar (a line where it lies on the scale, else said below it)."""
    if chance is None or not np.isfinite(chance):
        return
    lo, hi = colorbar.mappable.get_clim()
    if lo <= chance <= hi:
        colorbar.ax.axhline(chance, color="red", linewidth=1.5)
        colorbar.set_label(f"overlap (red: chance D/d = {chance:.3f})")
    else:
        where = "below" if chance < lo else "above"
        colorbar.set_label(f"overlap (chance D/d = {chance:.3f}, {where} scale)")


@styled
def overlap_heatmap(matrix: np.ndarray, labels: Sequence[str], *, chance: float | None = None, title: str = ""):
    """Subspace overlap between languages (k, k): colour scale fitted to the off-diagonal values,
    the chance level D/d of random subspaces marked on the colour bar."""
    k = len(labels)
    size = 1.6 + 0.42 * k
    fig, ax = plt.subplots(figsize=(size + 1.2, size))
    matrix = np.asarray(matrix, dtype=np.float64)
    lo, hi = overlap_scale(matrix[~np.eye(k, dtype=bool)], chance)
    im = draw_overlap(ax, matrix, labels, vmin=lo, vmax=hi)
    cbar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    mark_chance(cbar, chance)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def massive_activation_plot(
    max_abs_per_dim: np.ndarray, median: float, threshold: float, top: Sequence[int] = (), *, title: str = ""
):
    """The largest |x| of every dimension (d,) on a log axis, the median |x| and the massive threshold as
    lines; dimensions in ``top`` marked and labelled."""
    values = np.asarray(max_abs_per_dim, dtype=np.float64)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    x = np.arange(values.size)
    floor = max(float(values[values > 0].min()) if (values > 0).any() else 1e-6, 1e-12) / 2
    ax.vlines(x, floor, np.maximum(values, floor), linewidth=1.0, color="tab:blue")
    ax.set_yscale("log")
    if median > 0:
        ax.axhline(median, color="tab:gray", linestyle="--", linewidth=1, label=f"median |x| = {median:.3g}")
    if threshold > 0:
        ax.axhline(threshold, color="tab:red", linestyle=":", linewidth=1, label=f"massive from {threshold:.3g}")
    for i in (int(i) for i in top):
        ax.scatter([i], [values[i]], color="tab:red", s=18, zorder=3)
        ax.annotate(str(i), (i, values[i]), textcoords="offset points", xytext=(3, 3), fontsize=8, color="tab:red")
    ax.set_xlim(-1, values.size)
    ax.set_xlabel("dimension")
    ax.set_ylabel("max |x| over tokens")
    ax.set_title(title or f"Largest magnitude per dimension (d = {values.size})")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig
