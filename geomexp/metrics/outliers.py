"""Outlier dimensions of token representations ``X`` (N, d) and of LayerNorm weights.

- ``outlier_dimensions``: the paper's rule (Rajaee & Pilehvar 2022, after Kovaleva et
  al. 2021): average the N token vectors; dimension i is an outlier if its mean lies
  at least ``k_sigma`` standard deviations from the mean. Which standard deviation is
  a choice (``sigma=``): over all N x d entries (the authors' notebook) or over the d
  per-dimension means.
- ``layernorm_outlier_dimensions``: Kovaleva et al. (2021) / Puccetti et al. (2022):
  dimensions whose LayerNorm weight is extreme in many layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from geomexp.validation import (
    InvalidEmbeddingsError,
    as_embeddings,
    check_choice,
    check_positive_real,
    exactly_rescaled,
)

SIGMA_CONVENTIONS = ("entries", "means")


@dataclass(frozen=True)
class OutlierResult:
    """What ``outlier_dimensions`` found.

    mean_vector: (d,) the average of the N token vectors.
    center: the reference mean (the mean of all N x d entries, which equals the mean of ``mean_vector``).
    sigma: the standard deviation the rule uses (see ``convention``).
    threshold: ``k_sigma * sigma``; a dimension is an outlier if ``|mean_vector[i] - center| >= threshold``.
    indices: (m,) sorted int64 indices of the outlier dimensions.
    values: (m,) ``mean_vector[indices]``.
    k_sigma: the multiplier used.
    convention: ``"entries"`` or ``"means"``: where ``sigma`` was taken.
    """

    mean_vector: np.ndarray
    center: float
    sigma: float
    threshold: float
    indices: np.ndarray
    values: np.ndarray
    k_sigma: float
    convention: str

    def z_scores(self) -> np.ndarray:
        """``(mean_vector - center) / sigma`` (d,); all zeros when ``sigma`` is 0."""
        if self.sigma == 0:
            return np.zeros_like(self.mean_vector)
        return (self.mean_vector - self.center) / self.sigma


def _flag(values: np.ndarray, center: float, sigma: float, k_sigma: float) -> np.ndarray:
    """Boolean mask ``|values - center| >= k_sigma * sigma``; nothing is flagged when ``sigma`` is 0."""
    if sigma <= 0:
        return np.zeros(values.shape, dtype=bool)
    return np.abs(values - center) >= k_sigma * sigma


def outlier_dimensions(X, k_sigma: float = 3.0, sigma: str = "entries") -> OutlierResult:
    """Dimensions of ``X`` (N, d) whose mean over the N rows lies ``>= k_sigma * sigma`` from the mean.

    ``mean_vector = X.mean(axis=0)`` (d,); ``center = X.mean()`` (the same under both
    conventions, since the mean of the d means is the mean of all entries).

    sigma:
        ``"entries"`` (default, the authors' notebook): sigma is the standard deviation
            of ALL N x d entries of ``X``. It includes the token-to-token spread, so it
            is large and only dimensions with a strong, consistent offset are flagged;
            an isotropic Gaussian sample flags none.
        ``"means"``: sigma is the standard deviation of the d entries of
            ``mean_vector``. It is much smaller, so more dimensions are flagged; note
            that even for a pure Gaussian sample about 0.27 % of the d means lie beyond
            3 sigma (a Gaussian tail), and a very large outlier inflates sigma itself.
    Both standard deviations are population ones (ddof=0). If sigma is 0 (all compared
    values equal) nothing is flagged.
    """
    check_choice(sigma, "sigma", SIGMA_CONVENTIONS, error=InvalidEmbeddingsError)
    k_sigma = check_positive_real(k_sigma, "k_sigma")
    W = as_embeddings(X)
    S = exactly_rescaled(W)  # the test is scale-invariant; sigma's squares must not overflow (1e200)
    scale = float(np.frexp(np.abs(W).max())[1] - np.frexp(np.abs(S).max())[1]) if S is not W else 0.0
    mean_s = S.mean(axis=0)
    spread_s = float(S.std()) if sigma == "entries" else float(mean_s.std())
    mask = _flag(mean_s, float(mean_s.mean()), spread_s, k_sigma)
    mean_vector = np.ldexp(mean_s, int(scale)) if scale else mean_s
    center = float(mean_vector.mean())
    spread = float(np.ldexp(spread_s, int(scale))) if scale else spread_s
    indices = np.flatnonzero(mask).astype(np.int64)
    return OutlierResult(
        mean_vector=mean_vector,
        center=center,
        sigma=spread,
        threshold=k_sigma * spread,
        indices=indices,
        values=mean_vector[indices],
        k_sigma=k_sigma,
        convention=sigma,
    )


def _as_weight_matrix(ln_weights) -> np.ndarray:
    """The LayerNorm weights as a float64 (L, d) array, or a clear error."""
    try:
        layers = [np.asarray(w) for w in ln_weights]
    except TypeError:
        raise InvalidEmbeddingsError(
            f"ln_weights must be a sequence of (d,) arrays, one per layer; got {type(ln_weights).__name__}"
        ) from None
    if not layers:
        raise InvalidEmbeddingsError("ln_weights is empty; give one (d,) weight vector per layer")
    for li, w in enumerate(layers):
        if w.ndim != 1 or w.size < 2:
            raise InvalidEmbeddingsError(
                f"ln_weights[{li}] must be a 1-D array of at least 2 weights; got shape {w.shape}"
            )
        if w.size != layers[0].size:
            raise InvalidEmbeddingsError(
                f"ln_weights[{li}] has {w.size} weights but ln_weights[0] has {layers[0].size}; "
                "all layers need the same d"
            )
    # exactly rescaled: the per-layer z-scores do not depend on scale, and squares of 1e200 overflow
    return exactly_rescaled(as_embeddings(np.stack(layers), name="ln_weights", min_rows=1))


def layernorm_outlier_dimensions(ln_weights: Sequence, k_sigma: float = 3.0, min_layers: int = 3) -> np.ndarray:
    """Dimensions whose LayerNorm weight is an outlier in MORE THAN ``min_layers`` layers.

    ln_weights: a sequence of L arrays of shape (d,) (one LayerNorm weight vector
        per layer; an (L, d) array works too).
    In layer l, dimension i is flagged if ``|w_l[i] - mean(w_l)| >= k_sigma * std(w_l)``
    (mean and population std over the d weights of that layer; a layer whose weights
    are all equal flags nothing). Dimension i is returned if it is flagged in
    strictly more than ``min_layers`` layers, i.e. in at least ``min_layers + 1``:
    with the default 3, a dimension flagged in exactly 3 layers is NOT returned.
    ``min_layers`` must be in ``0 .. L - 1`` (otherwise nothing could ever be returned).

    Returns the sorted int64 indices (m,).
    """
    k_sigma = check_positive_real(k_sigma, "k_sigma")
    W = _as_weight_matrix(ln_weights)
    n_layers = W.shape[0]
    if isinstance(min_layers, bool) or not isinstance(min_layers, (int, np.integer)) or not 0 <= min_layers < n_layers:
        raise InvalidEmbeddingsError(
            f"min_layers must be an integer in 0..{n_layers - 1} (a dimension must be flagged in MORE than "
            f"min_layers of the {n_layers} layers given); got {min_layers!r}"
        )
    flags = np.stack([_flag(w, float(w.mean()), float(w.std()), k_sigma) for w in W])
    return np.flatnonzero(flags.sum(axis=0) > min_layers).astype(np.int64)
