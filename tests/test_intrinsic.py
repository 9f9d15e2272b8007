"""Intrinsic dimension (TwoNN, MLE) and spectrum measures (effective rank, participation ratio):
known answers, scikit-dimension on the same arrays, and bad input."""

import numpy as np
import pytest

from geomexp.analyses.intrinsic import intrinsic_analysis
from geomexp.errors import ConfigError
from geomexp.metrics.intrinsic import (
    effective_rank,
    knn_distances,
    mle_dimension,
    participation_ratio,
    twonn,
    unique_rows,
)
from geomexp.validation import InvalidEmbeddingsError


def subspace_points(n=2000, dim=5, ambient=60, seed=0):
    """Gaussian points on a random ``dim``-dimensional affine subspace of R^ambient."""
    rng = np.random.default_rng(seed)
    basis = np.linalg.qr(rng.standard_normal((ambient, dim)))[0].T  # (dim, ambient) orthonormal rows
    return rng.standard_normal((n, dim)) @ basis + rng.standard_normal(ambient)


def sphere_points(n=2000, dim=4, ambient=50, seed=0):
    """Uniform points on the unit sphere S^dim (a dim-dimensional manifold) in R^(dim+1), rotated into R^ambient."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, dim + 1))
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    Q = np.linalg.qr(rng.standard_normal((ambient, ambient)))[0]
    return np.hstack([Z, np.zeros((n, ambient - dim - 1))]) @ Q


@pytest.mark.parametrize("dim", [3, 8])
def test_twonn_and_mle_find_the_dimension_of_a_linear_subspace(dim):
    X = subspace_points(dim=dim)
    assert twonn(X) == pytest.approx(dim, rel=0.1)
    assert twonn(X, fit="mle") == pytest.approx(dim, rel=0.1)
    assert mle_dimension(X) == pytest.approx(dim, rel=0.1)


def test_twonn_and_mle_find_the_dimension_of_a_sphere_not_of_its_ambient_space():
    X = sphere_points(dim=4)
    assert twonn(X) == pytest.approx(4, rel=0.1)
    assert mle_dimension(X) == pytest.approx(4, rel=0.15)


def test_against_scikit_dimension_on_the_same_arrays():
    skdim = pytest.importorskip("skdim")
    X = subspace_points(n=800, dim=6, ambient=40, seed=3) + 0.01 * np.random.default_rng(1).standard_normal((800, 40))
    assert twonn(X) == pytest.approx(skdim.id.TwoNN().fit(X).dimension_, rel=1e-9)
    assert twonn(X, fit="mle") == pytest.approx(skdim.id.TwoNN(method="mle").fit(X).dimension_, rel=1e-9)
    assert mle_dimension(X, k=20) == pytest.approx(skdim.id.MLE().fit(X, n_neighbors=20).dimension_, rel=1e-9)
    assert mle_dimension(X, k=10, aggregate="mean") == pytest.approx(
        skdim.id.MLE().fit(X, n_neighbors=10, comb="mean").dimension_, rel=1e-9
    )


def test_knn_distances_match_brute_force_in_float64():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 16)) * 0.01 + 100.0  # large offset: float32 cancellation without centring
    D = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(axis=2))
    np.fill_diagonal(D, np.inf)
    np.testing.assert_allclose(knn_distances(X, 5), np.sort(D, axis=1)[:, :5], rtol=1e-12)


@pytest.mark.parametrize("k", [1, 4, 17])
def test_k_equal_singular_values_give_effective_rank_and_participation_ratio_k(k):
    rng = np.random.default_rng(k)
    n, d = 200, 30
    U = np.linalg.qr(rng.standard_normal((n, k)) - 0.0)[0]
    U -= U.mean(axis=0)  # centred columns (the measures centre X) ...
    U = np.linalg.qr(U)[0]  # ... and orthonormal again: k equal singular values after centring
    V = np.linalg.qr(rng.standard_normal((d, k)))[0]
    X = 3.0 * U @ V.T + rng.standard_normal(d)  # plus an offset, which centring removes
    assert effective_rank(X) == pytest.approx(k, rel=1e-9)
    assert participation_ratio(X) == pytest.approx(k, rel=1e-9)


def test_unequal_spectrum_lies_between_one_and_the_rank():
    lam = np.array([10.0, 1.0, 0.1, 0.0])
    p = np.sqrt(lam[:3]) / np.sqrt(lam[:3]).sum()
    assert effective_rank(variances=lam) == pytest.approx(np.exp(-(p * np.log(p)).sum()))
    assert participation_ratio(variances=lam) == pytest.approx(11.1**2 / 101.01)
    assert 1 < participation_ratio(variances=lam) < effective_rank(variances=lam) < 3


def test_repeated_rows_are_refused_by_the_estimators_and_dropped_by_unique_rows():
    X = subspace_points(n=200, dim=3)
    Xd = np.vstack([X, X[:10]])
    with pytest.raises(InvalidEmbeddingsError, match="repeated rows"):
        twonn(Xd)
    with pytest.raises(InvalidEmbeddingsError, match="repeated rows"):
        mle_dimension(Xd)
    kept, dropped = unique_rows(Xd)
    assert dropped == 10 and np.array_equal(kept, X)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda X: twonn(X, discard_fraction=1.0), r"discard_fraction must be in \[0, 1\); got 1.0"),
        (lambda X: twonn(X, fit="ols"), r"fit must be one of \['linear', 'mle'\]; got 'ols'"),
        (lambda X: mle_dimension(X, k=1), "k must be an integer >= 2; got 1"),
        (lambda X: mle_dimension(X, aggregate="median"), r"aggregate must be one of \['harmonic', 'mean'\]"),
        (lambda X: knn_distances(X, 50), r"k \(neighbours\) must be an integer in 1..49; got 50"),
    ],
)
def test_bad_parameters_are_named(call, match):
    with pytest.raises(InvalidEmbeddingsError, match=match):
        call(subspace_points(n=50, dim=2, ambient=5))


def test_analysis_metrics_figure_and_config_errors():
    X = subspace_points(n=500, dim=4, ambient=20).astype(np.float32)
    X = np.vstack([X, X[:5]])
    out = intrinsic_analysis(X, title="t", plot=True)
    m = out.metrics
    assert set(m) == {
        "id_twonn",
        "id_mle",
        "erank",
        "participation_ratio",
        "erank_fraction",
        "id_n_points",
        "id_n_repeated",
    }
    assert m["id_n_repeated"] == 5 and m["id_n_points"] == 500
    assert m["id_twonn"] == pytest.approx(4, rel=0.15) and m["id_mle"] == pytest.approx(4, rel=0.15)
    assert 1 <= m["participation_ratio"] <= m["erank"] <= 4 + 1e-9  # the spectrum has 4 non-zero eigenvalues
    assert set(out.figures) == {"spectrum.png"} and len(out.tables["spectrum.json"]["eigenvalues"]) == 20
    with pytest.raises(ConfigError, match="analysis.intrinsic.mle_k must be an integer >= 2; got 0"):
        intrinsic_analysis(X, mle_k=0)
    with pytest.raises(ConfigError, match=r"analysis.intrinsic.twonn_discard must be in \[0, 1\); got 1.5"):
        intrinsic_analysis(X, twonn_discard=1.5)
