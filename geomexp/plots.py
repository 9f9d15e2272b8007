"""Matplotlib figures (Agg backend, no display needed). Each function returns a Figure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from geomexp.linalg import principal_coordinates  # noqa: E402


def pca_2d(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project ``X`` (N, d) on its first two principal components (after centring).

    Returns the (N, 2) coordinates and the fraction of variance each explains (2,).
    Axes and signs as everywhere in geomexp (``geomexp.linalg.principal_coordinates``).
    """
    X = np.asarray(X, dtype=np.float64)
    coords, _, variance = principal_coordinates(X, 2, method="svd")
    total = ((X - X.mean(axis=0)) ** 2).sum() / (X.shape[0] - 1)
    explained = variance / total if total > 0 else np.zeros(2)
    return coords, explained


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


def metric_vs_layer(layers: Sequence[int], values: Mapping[str, Sequence[float]], *, title: str = "", ylabel: str = ""):
    """Line plot of one or more metrics (name -> value per layer) against layer index."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, ys in values.items():
        ax.plot(layers, ys, marker="o", label=name)
    ax.set_xlabel("layer (0 = embeddings)")
    ax.set_ylabel(ylabel)
    ax.set_xticks(list(layers))
    ax.grid(alpha=0.3)
    if len(values) > 1:
        ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    return fig


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


def frequency_pca_plot(
    vectors: np.ndarray,
    log_freq: np.ndarray,
    *,
    title: str = "",
    max_points: int = 2000,
    seed: int = 0,
    label: str = "log10 frequency (Zipf)",
):
    """The paper's frequency figure: 2-D PCA of ``vectors`` (W, d), each point coloured by its ``log_freq`` (W,).

    At most ``max_points`` rows (seeded); the PCA is fitted on the plotted rows;
    the colour bar is labelled ``label``.
    """
    vectors = np.asarray(vectors)
    log_freq = np.asarray(log_freq, dtype=np.float64)
    if log_freq.shape != (vectors.shape[0],):
        raise ValueError(
            f"log_freq must have shape ({vectors.shape[0]},) (one value per row of vectors); got {log_freq.shape}"
        )
    if vectors.shape[0] > max_points:
        rows = np.sort(np.random.default_rng(seed).choice(vectors.shape[0], size=max_points, replace=False))
        vectors, log_freq = vectors[rows], log_freq[rows]
    coords, explained = pca_2d(vectors)
    fig, ax = plt.subplots(figsize=(5.8, 5))
    points = ax.scatter(coords[:, 0], coords[:, 1], c=log_freq, cmap="viridis", s=4, alpha=0.7, linewidths=0)
    fig.colorbar(points, ax=ax, label=label)
    _finish_pca_axes(fig, ax, explained, title or f"2-D PCA of {vectors.shape[0]} word vectors by frequency")
    return fig


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
    for code in reps:
        sel = labels == code
        ax.scatter(coords[sel, 0], coords[sel, 1], s=3, alpha=0.5, linewidths=0, label=code)
    ax.legend(markerscale=4, title="language")
    _finish_pca_axes(fig, ax, explained, title or "joint 2-D PCA by language", equal=False)
    return fig


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
