"""How strongly the geometry of word vectors follows word frequency.

Rank correlations (Spearman) of log-frequency with the dominant directions of
the space, and a cross-validated linear probe that predicts log-frequency
from the whole vector.
"""

from __future__ import annotations

import numpy as np

from geomexp.frequency.errors import FrequencyError
from geomexp.linalg import principal_coordinates
from geomexp.validation import as_embeddings, check_positive_int

#: fewest words any measure accepts
MIN_WORDS = 10
#: ridge penalties tried by the probe (features scaled to unit RMS entry; chosen by exact LOO inside each training fold)
PROBE_ALPHAS = np.logspace(-2, 5, 15)


def as_log_freq(log_freq, n: int) -> np.ndarray:
    """``log_freq`` as a finite, non-constant float64 (n,) vector, or a clear error."""
    f = np.asarray(log_freq)
    if f.shape != (n,):
        raise FrequencyError(f"log_freq must have shape ({n},) (one value per word vector); got {f.shape}")
    if not (np.issubdtype(f.dtype, np.floating) or np.issubdtype(f.dtype, np.integer)):
        raise FrequencyError(f"log_freq must hold real numbers; got dtype {f.dtype}")
    f = f.astype(np.float64)
    bad = ~np.isfinite(f)
    if bad.any():
        raise FrequencyError(
            f"log_freq has {int(bad.sum())} NaN/inf value(s) (first: word {int(np.flatnonzero(bad)[0])}); "
            f"drop the words without a frequency first (FrequencyTable.known)"
        )
    if np.ptp(f) == 0:
        raise FrequencyError(f"log_freq is constant (all {n} words have {f[0]:g}); a correlation with it is undefined")
    return f


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rho of two (n,) vectors; NaN if ``x`` is (numerically) constant."""
    scale = np.abs(x).max()
    if scale == 0 or np.ptp(x) <= 1e-12 * scale:
        return float("nan")
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic)


def ridge_loo_fit(X: np.ndarray, y: np.ndarray, alphas=PROBE_ALPHAS) -> tuple[np.ndarray, float, float]:
    """Ridge regression of ``y`` (n,) on ``X`` (n, d) with an unpenalised intercept, penalty chosen by exact LOO.

    For every alpha the leave-one-out residuals are ``e_i / (1 - h_i)`` with
    leverage ``h_i = 1/n + sum_j q_ij^2 / (s_j^2 + alpha)`` (q: centred X in the
    eigenbasis of its scatter matrix, s_j^2 the eigenvalues); the alpha with the
    smallest mean squared LOO residual wins (what RidgeCV's GCV does, without
    its per-alpha n x d x d cost). Returns coefficients (d,), intercept, alpha.
    """
    x_mean, y_mean = X.mean(axis=0), y.mean()
    Xc, yc = X - x_mean, y - y_mean
    evals, evecs = np.linalg.eigh(Xc.T @ Xc)
    evals = np.clip(evals, 0.0, None)
    Q = Xc @ evecs  # (n, d)
    Qy = Q.T @ yc
    Q2 = Q**2
    best = (np.inf, None, None)
    for alpha in np.asarray(alphas, dtype=np.float64):
        shrink = 1.0 / (evals + alpha)
        resid = yc - Q @ (shrink * Qy)
        leverage = 1.0 / X.shape[0] + Q2 @ shrink
        loo = np.mean((resid / (1.0 - leverage)) ** 2)
        if loo < best[0]:
            best = (loo, alpha, evecs @ (shrink * Qy))
    _, alpha, coef = best
    return coef, float(y_mean - x_mean @ coef), float(alpha)


def probe_r2(vectors: np.ndarray, log_freq: np.ndarray, *, cv_folds: int = 5, seed: int = 0) -> float:
    """Out-of-fold R² of a ridge probe predicting ``log_freq`` (W,) from ``vectors`` (W, d).

    KFold(cv_folds, shuffle, random_state=seed); in each training fold the
    penalty is chosen among ``PROBE_ALPHAS`` by exact leave-one-out
    (``ridge_loo_fit``; features centred and divided by one global RMS, which
    keeps the geometry). R² = 1 - SSE / SST over all out-of-fold predictions:
    1 = frequency is linearly readable, <= 0 = not at all.
    """
    Z = vectors - vectors.mean(axis=0)
    rms = np.sqrt(np.mean(Z**2))
    Z = Z / rms if rms > 0 else Z
    pred = np.empty_like(log_freq)
    from sklearn.model_selection import KFold

    for train, test in KFold(n_splits=cv_folds, shuffle=True, random_state=seed).split(Z):
        coef, intercept, _ = ridge_loo_fit(Z[train], log_freq[train])
        pred[test] = Z[test] @ coef + intercept
    sst = np.sum((log_freq - log_freq.mean()) ** 2)
    return float(1.0 - np.sum((log_freq - pred) ** 2) / sst)


def frequency_bias(vectors, log_freq, n_components: int = 5, cv_folds: int = 5, seed: int = 0) -> dict[str, float]:
    """Frequency bias of word ``vectors`` (W, d) given their ``log_freq`` (W,).

    Returns (Spearman rho, signed, in [-1, 1]; NaN where the projection is constant):
      ``rho_pc1`` .. ``rho_pc<k>``: with the coordinate on each of the top
        ``n_components`` principal components of the centred vectors (signs as
        in ``geomexp.linalg.fix_signs``); ``abs_rho_pc_max``: the largest ``|rho_pcK|``;
      ``rho_norm``: with the Euclidean norm of each (raw) vector;
      ``rho_mean_dir``: with the projection on the unit mean of the raw vectors;
      ``probe_r2``: cross-validated R² of a linear probe (see ``probe_r2``).
    Needs W >= max(10, 2 * cv_folds, n_components + 1) and n_components <= d.
    """
    V = as_embeddings(vectors, name="vectors", min_rows=2)
    W, d = V.shape
    f = as_log_freq(log_freq, W)
    n_components = check_positive_int(n_components, "n_components")
    cv_folds = check_positive_int(cv_folds, "cv_folds")
    if cv_folds < 2:
        raise FrequencyError(f"cv_folds must be at least 2; got {cv_folds}")
    need = max(MIN_WORDS, 2 * cv_folds, n_components + 1)
    if need > W:
        raise FrequencyError(
            f"frequency_bias needs at least {need} words (max of {MIN_WORDS}, 2 x cv_folds={cv_folds}, "
            f"n_components+1={n_components + 1}); got {W}"
        )
    if n_components > d:
        raise FrequencyError(f"n_components={n_components} exceeds the vector dimension d={d}")

    coords, _, variance = principal_coordinates(V, n_components)
    out = {}
    for k in range(n_components):
        degenerate = variance[k] <= 1e-20 * variance[0]  # singular value ratio <= 1e-10
        out[f"rho_pc{k + 1}"] = float("nan") if degenerate else _spearman(coords[:, k], f)
    rhos = np.array([out[f"rho_pc{k + 1}"] for k in range(n_components)])
    out["abs_rho_pc_max"] = float(np.nanmax(np.abs(rhos))) if np.isfinite(rhos).any() else float("nan")
    out["rho_norm"] = _spearman(np.linalg.norm(V, axis=1), f)
    mean = V.mean(axis=0)
    mean_norm = np.linalg.norm(mean)
    out["rho_mean_dir"] = _spearman(V @ (mean / mean_norm), f) if mean_norm > 0 else float("nan")
    out["probe_r2"] = probe_r2(V, f, cv_folds=cv_folds, seed=seed)
    return out
