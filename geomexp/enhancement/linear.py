"""Global (one-for-all) isotropy enhancers: identity, centring, all-but-the-top, whitening.

All share the contract of ``geomexp.enhancement.base.Enhancer``: ``fit(X)`` on
(N, d), ``transform(X)`` on any (M, d), float64 arithmetic, float32 out for
float32 in, else float64.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from geomexp.enhancement.base import Enhancer
from geomexp.errors import ConfigError
from geomexp.linalg import principal_axes, remove_directions
from geomexp.validation import InvalidEmbeddingsError, check_n_components, integer, number


class IdentityEnhancer(Enhancer):
    """No enhancement (``none``): ``transform`` returns a copy of ``X`` (M, d).

    Fitted: ``n_features_in_`` (= ``n_features_out_`` = d). Useful as the
    baseline arm of a sweep, with the same fit/transform checks as the others.
    """

    name = "none"

    def __init__(self):
        pass

    def _fit(self, X: np.ndarray) -> None:
        pass

    def _transform(self, X: np.ndarray) -> np.ndarray:
        return X.copy()


class CenterEnhancer(Enhancer):
    """Subtract the fitted global mean (``center``).

    Fitted: ``mean_`` (d,): the mean row of the fit data.
    """

    name = "center"

    def __init__(self):
        pass

    def _fit(self, X: np.ndarray) -> None:
        self.mean_ = X.mean(axis=0)

    def _transform(self, X: np.ndarray) -> np.ndarray:
        return X - self.mean_


class ABTTEnhancer(Enhancer):
    """All-but-the-top (``abtt``; Mu & Viswanath, ICLR 2018).

    ``transform(X) = (X - mean_) - ((X - mean_) V^T) V`` with ``V = components_``
    (D, d): the top D principal directions of the CENTRED fit data. The output
    keeps all d columns.

    Parameters
    ----------
    n_components : int, default 12
        D, the number of dominant directions removed; ``0 <= D < d`` and
        ``D <= N - 1`` (N fit rows span at most N - 1 centred directions).
        D = 0 is plain centring. Mu & Viswanath suggest about d / 100; the
        default 12 matches ``ClusterEnhancer``'s, so that ``abtt`` equals
        ``cluster`` with ``n_clusters=1`` at default settings.

    Fitted attributes
    -----------------
    mean_ : (d,) mean row of the fit data.
    components_ : (D, d) orthonormal rows, by decreasing variance; the sign of
        each row is fixed (largest-|.| entry positive).
    explained_variance_ : (D,) variance of the fit data along each row of
        ``components_`` (``ddof=1``).
    """

    name = "abtt"

    def __init__(self, n_components: int = 12):
        self.n_components = n_components

    _parameter_constraints: ClassVar[dict] = {"n_components": integer(0)}

    def _check_shape(self, n: int | None, d: int | None) -> None:
        if d is not None:
            check_n_components(self.n_components, d, n_rows=n)

    def _fit(self, X: np.ndarray) -> None:
        self.components_, self.explained_variance_, self.mean_ = principal_axes(X, int(self.n_components))

    def _transform(self, X: np.ndarray) -> np.ndarray:
        return remove_directions(X - self.mean_, self.components_)


class WhiteningEnhancer(Enhancer):
    """BERT-whitening (``whiten``; Su et al. 2021).

    ``transform(X) = ((X - mean_) @ components_.T) * scale_``: centre on the fit
    mean, rotate onto the eigenvectors of the fit covariance (``ddof=1``, as
    ``np.cov``), scale each axis by ``1 / sqrt(lambda_i + eps * lambda_max)``
    and keep the first ``n_components`` axes (largest variance first).
    On the fit data the covariance of the output is ``diag(lambda_i / (lambda_i
    + eps * lambda_max))``: the identity up to a relative error ``eps *
    lambda_max / lambda_i``.

    Null axes (issue 23): an eigenvalue at or below ``null_floor_`` is not resolved by the data, and
    its eigenvector is arbitrary: whitening would blow that axis up to unit variance. Such axes are
    DROPPED from the output (``n_null_axes_`` counts them; ``n_features_out_`` = d' - that count).
    The floor is the larger of two resolutions: the input's rounding, ``100 * eps_in**2 *
    max_j mean_i(x_ij**2)`` (eps_in = the machine epsilon of the fit input's dtype, 1.2e-7 for
    float32: the variance that rounding the inputs adds along any axis is below eps_in**2 / 12 times
    the largest raw second moment), and the eigensolver's, ``10 * d * eps_64 * lambda_max``. A
    post-LayerNorm layer has one such axis (its outputs obey one linear constraint per token;
    measured 1.6e-15 x lambda_max on me5_small, layer 12), as does any covariance of fewer rows than
    dimensions. A real axis of an anisotropic float32 layer at 1e-6 x lambda_max is kept.

    ``eps`` regularises the kept axes: each is scaled by ``1 / sqrt(lambda_i + eps * lambda_max)``.
    ``eps = 0`` gives exact whitening of the kept axes.

    Parameters
    ----------
    n_components : int or None, default None
        d', the number of output columns (``1 <= d' <= d``); None keeps all d.
    eps : float, default 1e-12
        Regulariser, RELATIVE to the largest eigenvalue (so the result does not
        depend on the scale of X); ``>= 0``. An axis with ``lambda_i / lambda_max
        = 1e-6`` (a strongly anisotropic BERT layer) is still whitened to within 1e-6.

    Fitted attributes
    -----------------
    mean_ : (d,) mean row of the fit data.
    components_ : (d', d) eigenvectors of the covariance as rows, by decreasing
        eigenvalue, signs fixed (largest-|.| entry positive).
    explained_variance_ : (d',) the eigenvalues (covariance, ddof=1) of the kept axes.
    scale_ : (d',) ``1 / sqrt(explained_variance_ + eps * lambda_max)``.
    null_floor_ : float, the eigenvalue at or below which an axis is null (see above).
    n_null_axes_ : int, axes among the first ``n_components`` dropped as null.
    n_features_out_ : d', the kept axes.
    """

    name = "whiten"

    def __init__(self, n_components: int | None = None, eps: float = 1e-12):
        self.n_components = n_components
        self.eps = eps

    _parameter_constraints: ClassVar[dict] = {"n_components": integer(1, allow_none=True), "eps": number(0)}

    def _check_shape(self, n: int | None, d: int | None) -> None:
        if d is not None and self.n_components is not None and self.n_components > d:
            raise ConfigError(
                f"n_components={self.n_components} (output columns) cannot exceed the d={d} input dimensions; "
                f"allowed: 1..{d} or None"
            )

    def fit(self, X, y=None) -> WhiteningEnhancer:
        """Learn the whitening from ``X`` (N, d) (its dtype sets the rounding floor of null axes). Returns self."""
        dtype = np.asarray(X).dtype
        self._input_eps = float(np.finfo(dtype).eps) if np.issubdtype(dtype, np.floating) else 0.0
        return super().fit(X, y)

    def _fit(self, X: np.ndarray) -> None:
        n_out = X.shape[1] if self.n_components is None else int(self.n_components)
        vectors, values, self.mean_ = principal_axes(X, X.shape[1], method="eigh")  # all d eigenpairs
        if values[0] <= 0.0:
            raise InvalidEmbeddingsError("X has zero variance (all rows are equal); it cannot be whitened")
        self.null_floor_ = null_floor(X, values[0], getattr(self, "_input_eps", 0.0))
        resolved = int(np.sum(values[:n_out] > self.null_floor_))
        self.n_null_axes_ = n_out - resolved
        kept = values[:resolved]
        floor = float(self.eps) * values[0]
        self.components_ = vectors[:resolved]
        self.explained_variance_ = kept
        self.scale_ = 1.0 / np.sqrt(kept + floor)
        self.n_features_out_ = resolved

    def _transform(self, X: np.ndarray) -> np.ndarray:
        return ((X - self.mean_) @ self.components_.T) * self.scale_


def null_floor(X: np.ndarray, lambda_max: float, input_eps: float) -> float:
    """The covariance eigenvalue at or below which an axis of ``X`` (N, d) is not resolved (see
    ``WhiteningEnhancer``): the larger of the input's rounding, ``100 * input_eps**2 * max_j mean(x_j**2)``
    (raw, uncentred second moments), and the eigensolver's, ``10 * d * eps_64 * lambda_max``."""
    rounding = 100.0 * input_eps**2 * float(np.max(np.mean(np.square(X), axis=0)))
    solver = 10.0 * X.shape[1] * float(np.finfo(np.float64).eps) * float(lambda_max)
    return max(rounding, solver)
