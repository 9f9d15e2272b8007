"""Matplotlib figures (Agg backend, no display needed). Each function returns a Figure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def pca_2d(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project ``X`` (N, d) on its first two principal components (after centring).

    Returns the (N, 2) coordinates and the fraction of variance each explains (2,).
    """
    Xc = np.asarray(X, dtype=np.float64)
    Xc = Xc - Xc.mean(axis=0)
    _, s, vt = np.linalg.svd(Xc, full_matrices=False)
    var = s**2
    total = var.sum()
    explained = var[:2] / total if total > 0 else np.zeros(2)
    return Xc @ vt[:2].T, explained


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
    ax.set_xlabel(f"PC1 ({100 * explained[0]:.1f} % var.)")
    ax.set_ylabel(f"PC2 ({100 * explained[1]:.1f} % var.)")
    ax.set_title(title or f"2-D PCA of {X.shape[0]} token vectors")
    ax.set_aspect("equal", adjustable="datalim")
    fig.tight_layout()
    return fig


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
