"""The one centred-PCA helper (geomexp.linalg) and its one sign convention."""

import numpy as np
import pytest

from geomexp.errors import ConfigError
from geomexp.linalg import (
    METHODS,
    fix_signs,
    principal_axes,
    principal_coordinates,
    principal_variances,
    remove_directions,
)
from geomexp.validation import InvalidEmbeddingsError


def data(n, d=20, seed=5):
    return np.random.default_rng(seed).normal(size=(n, d)) * np.arange(1, d + 1) + 3.0


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("n_rows", [500, 20, 12])  # tall (eigh_top under auto), square, wide (svd under auto)
def test_every_method_matches_sklearn_pca(method, n_rows):
    from sklearn.decomposition import PCA

    X = data(n_rows)
    ref = PCA(3, svd_solver="full").fit(X)
    components, variance, mean = principal_axes(X, 3, method=method)
    np.testing.assert_allclose(components, ref.components_, atol=1e-8)  # sklearn's svd_flip: same signs
    np.testing.assert_allclose(variance, ref.explained_variance_, rtol=1e-8)
    np.testing.assert_allclose(mean, ref.mean_, rtol=1e-12)
    coords, components2, variance2 = principal_coordinates(X, 3, method=method)
    np.testing.assert_allclose(coords, ref.transform(X), atol=1e-8)
    np.testing.assert_array_equal(components2, components)
    np.testing.assert_array_equal(variance2, variance)


def test_sign_convention_and_shapes():
    V = np.array([[0.1, -0.9, 0.3], [0.5, 0.2, -0.4], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(fix_signs(V), [[-0.1, 0.9, -0.3], [0.5, 0.2, -0.4], [0.0, 0.0, 0.0]])
    assert fix_signs(np.zeros((0, 3))).shape == (0, 3)
    X = data(50)
    components, _, _ = principal_axes(X, 5)
    assert np.all(components[np.arange(5), np.abs(components).argmax(axis=1)] > 0)
    np.testing.assert_allclose(principal_axes(-X, 5)[0], components, atol=1e-10)  # the solver's sign does not leak
    components, variance, mean = principal_axes(X, 0)
    assert components.shape == (0, 20) and variance.shape == (0,) and mean.shape == (20,)
    assert principal_axes(X[:1], 0)[0].shape == (0, 20)  # nothing asked: one row is enough


def test_centred_input_and_full_spectrum():
    X = data(30, d=40)
    Xc = X - X.mean(axis=0)
    c1, v1, _ = principal_axes(X, 10)
    c2, v2, mean = principal_axes(Xc, 10, centred=True)
    assert not mean.any()
    np.testing.assert_allclose(c1, c2, atol=1e-10)
    np.testing.assert_allclose(v1, v2, rtol=1e-10)
    # eigh gives all d axes, beyond the N - 1 the rows span (no variance there); the rest of the methods refuse
    components, variance, _ = principal_axes(X, 40, method="eigh")
    np.testing.assert_allclose(components @ components.T, np.eye(40), atol=1e-10)
    assert np.all(variance[29:] < 1e-10 * variance[0]) and np.all(variance >= 0)
    np.testing.assert_allclose(principal_variances(X), variance, rtol=1e-10, atol=1e-10 * variance[0])
    with pytest.raises(ConfigError, match=r"method='svd' gives at most min\(N, d\) = 30 axes; got n=31"):
        principal_axes(X, 31, method="svd")
    with pytest.raises(ConfigError, match=r"n must be an integer in 0\.\.40; got 41"):
        principal_axes(X, 41, method="eigh")
    with pytest.raises(ConfigError, match=r"method must be one of"):
        principal_axes(X, 2, method="qr")
    with pytest.raises(InvalidEmbeddingsError, match="at least 2 rows"):
        principal_axes(X[:1], 1)


def test_remove_directions():
    X = data(60)
    components, _, mean = principal_axes(X, 4)
    R = remove_directions(X - mean, components)
    np.testing.assert_allclose(R @ components.T, 0.0, atol=1e-9)
    empty = np.zeros((0, 20))
    out = remove_directions(X, empty)
    np.testing.assert_array_equal(out, X)
    assert out is not X


@pytest.mark.parametrize("n_rows", [500, 12])  # tall: the top eigenpairs of XᵀX; wide: an SVD
def test_pca_2d_of_the_scatter_matches_sklearn(n_rows):
    from sklearn.decomposition import PCA

    from geomexp.figures.plots import pca_2d

    X = data(n_rows)
    ref = PCA(2, svd_solver="full").fit(X)
    coords, explained = pca_2d(X)
    np.testing.assert_allclose(coords, ref.transform(X), atol=1e-8)
    np.testing.assert_allclose(explained, ref.explained_variance_ratio_, rtol=1e-8)
