"""Outlier dimensions (paper rule, both sigma conventions), the LayerNorm rule and the analysis."""

import json

import matplotlib.pyplot as plt
import numpy as np
import pytest

from geomexp.analyses.outliers import outliers_analysis
from geomexp.metrics.outliers import OutlierResult, layernorm_outlier_dimensions, outlier_dimensions
from geomexp.validation import InvalidEmbeddingsError


def gaussian(n=4000, d=64, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d))


def test_hand_computed_both_conventions():
    # mean_vector = (0, 0, 0, 4), center 1 under both conventions.
    # all 8 entries: deviations 0,-2,-1,3,-2,0,-1,3 -> variance 28/8 = 3.5
    # the 4 means: deviations -1,-1,-1,3 -> variance 12/4 = 3
    X = np.array([[1.0, -1.0, 0.0, 4.0], [-1.0, 1.0, 0.0, 4.0]])
    e = outlier_dimensions(X, k_sigma=1.5, sigma="entries")
    assert e.center == pytest.approx(1.0)
    assert e.sigma == pytest.approx(np.sqrt(3.5))
    assert e.threshold == pytest.approx(1.5 * np.sqrt(3.5))
    assert e.indices.tolist() == [3] and e.values.tolist() == [4.0]
    m = outlier_dimensions(X, k_sigma=1.5, sigma="means")
    assert m.center == pytest.approx(1.0)
    assert m.sigma == pytest.approx(np.sqrt(3.0))
    assert m.indices.tolist() == [3]
    # |4 - 1| = 3: beyond 1.65 sigma of the means (2.86), within 1.65 sigma of the entries (3.09)
    assert outlier_dimensions(X, k_sigma=1.65, sigma="means").indices.tolist() == [3]
    assert outlier_dimensions(X, k_sigma=1.65, sigma="entries").indices.tolist() == []
    assert outlier_dimensions(X, k_sigma=1.75, sigma="means").indices.tolist() == []  # z = sqrt(3) = 1.732
    np.testing.assert_allclose(m.z_scores(), [-1 / np.sqrt(3)] * 3 + [3 / np.sqrt(3)])


@pytest.mark.parametrize("sigma", ["entries", "means"])
def test_planted_outlier_found_under_both_conventions(sigma):
    X = gaussian()
    X[:, 7] += 5.0
    res = outlier_dimensions(X, sigma=sigma)
    assert isinstance(res, OutlierResult)
    assert res.indices.tolist() == [7]
    assert res.values[0] == pytest.approx(5.0, abs=0.1)
    assert res.mean_vector.shape == (64,)
    assert res.convention == sigma and res.k_sigma == 3.0
    assert res.indices.dtype == np.int64


def test_sigma_conventions_differ_as_documented():
    X = gaussian()
    X[:, 20] += 0.5  # a small consistent offset: far out among the means, within the entries' spread
    e, m = outlier_dimensions(X, sigma="entries"), outlier_dimensions(X, sigma="means")
    assert e.center == pytest.approx(m.center, abs=1e-12)
    assert e.sigma > 0.9 and m.sigma < 0.1  # entries include the token-to-token spread
    assert e.indices.tolist() == []
    assert m.indices.tolist() == [20]
    # masking under "means": a much larger outlier inflates sigma and hides the small one
    X[:, 7] += 5.0
    assert outlier_dimensions(X, sigma="means").indices.tolist() == [7]


def test_no_outliers_on_isotropic_sample():
    X = gaussian(4000, 768, seed=1)
    res = outlier_dimensions(X, sigma="entries")
    assert res.indices.size == 0 and res.values.size == 0
    # the "means" convention flags about 0.27 % of the dimensions of a pure Gaussian (its 3-sigma tail)
    assert outlier_dimensions(X, sigma="means").indices.size <= 8  # expected ~2 of 768
    assert outlier_dimensions(gaussian(4000, 32, seed=2), sigma="means").indices.size == 0


def test_constant_input_flags_nothing():
    res = outlier_dimensions(np.full((5, 4), 2.0))
    assert res.sigma == 0 and res.indices.size == 0
    assert (res.z_scores() == 0).all()


def test_bad_input_rejected():
    X = gaussian(10, 4)
    with pytest.raises(InvalidEmbeddingsError, match="sigma must be one of .*'rows'"):
        outlier_dimensions(X, sigma="rows")
    for bad in (0, -1.0, float("nan"), float("inf"), "3", True):
        with pytest.raises(InvalidEmbeddingsError, match="k_sigma must be a finite number > 0"):
            outlier_dimensions(X, k_sigma=bad)
    with pytest.raises(InvalidEmbeddingsError, match="at least 2 rows"):
        outlier_dimensions(X[:1])
    with pytest.raises(InvalidEmbeddingsError, match="NaN or inf"):
        outlier_dimensions(np.array([[1.0, np.nan], [0.0, 1.0]]))


def synthetic_ln_weights(n_layers=6, d=64, seed=0):
    """LayerNorm-like weights around 1; dimension 5 extreme in 5 layers, 9 in 4, 11 in 3, 13 in 1."""
    rng = np.random.default_rng(seed)
    W = 1.0 + 0.05 * rng.standard_normal((n_layers, d))
    W[:5, 5] = 3.0
    W[1:5, 9] = -2.0  # low counts too (absolute deviation)
    W[:3, 11] = 3.0
    W[2, 13] = 3.0
    return [w for w in W]


def test_layernorm_rule_counts_more_than_min_layers():
    weights = synthetic_ln_weights()
    assert layernorm_outlier_dimensions(weights).tolist() == [5, 9]  # > 3 layers: 5 and 4, not exactly 3
    assert layernorm_outlier_dimensions(weights, min_layers=2).tolist() == [5, 9, 11]
    assert layernorm_outlier_dimensions(weights, min_layers=4).tolist() == [5]
    assert layernorm_outlier_dimensions(weights, min_layers=0).tolist() == [5, 9, 11, 13]
    assert layernorm_outlier_dimensions(np.stack(weights)).tolist() == [5, 9]  # (L, d) array works too
    assert layernorm_outlier_dimensions(weights, k_sigma=100.0, min_layers=0).tolist() == []


def test_layernorm_rule_bad_input():
    weights = synthetic_ln_weights()
    with pytest.raises(InvalidEmbeddingsError, match="min_layers must be an integer in 0..5"):
        layernorm_outlier_dimensions(weights, min_layers=6)
    with pytest.raises(InvalidEmbeddingsError, match="min_layers"):
        layernorm_outlier_dimensions(weights, min_layers=-1)
    with pytest.raises(InvalidEmbeddingsError, match="empty"):
        layernorm_outlier_dimensions([])
    with pytest.raises(InvalidEmbeddingsError, match=r"ln_weights\[1\] has 3 weights"):
        layernorm_outlier_dimensions([np.ones(4), np.ones(3)], min_layers=0)
    with pytest.raises(InvalidEmbeddingsError, match="NaN or inf"):
        layernorm_outlier_dimensions([np.ones(4), np.array([1.0, np.nan, 1.0, 1.0])], min_layers=0)
    with pytest.raises(InvalidEmbeddingsError, match="k_sigma"):
        layernorm_outlier_dimensions(weights, k_sigma=0)
    # a layer with all-equal weights (LayerNorm at initialisation) flags nothing
    assert layernorm_outlier_dimensions([np.ones(8)] * 2, min_layers=0).tolist() == []


def test_outliers_analysis_returns_documented_metrics_table_and_figure():
    X = gaussian(2000, 48, seed=3)
    X[:, 7] += 5.0
    out = outliers_analysis(X, k_sigma=3.0, sigma="entries", title="t", plot=True)
    try:
        assert set(out.metrics) == {"n_outliers", "outlier_max_abs_z"}
        assert out.metrics["n_outliers"] == 1.0
        assert out.metrics["outlier_max_abs_z"] == pytest.approx(5.0 / outlier_dimensions(X).sigma, rel=0.05)
        table = out.tables["outliers.json"]
        json.dumps(table, allow_nan=False)
        assert table["indices"] == [7] and table["convention"] == "entries"
        assert table["threshold"] == pytest.approx(3.0 * table["sigma"])
        assert table["values"][0] == pytest.approx(5.0, abs=0.15)
        assert set(out.figures) == {"outlier_dimensions.png"}
    finally:
        for fig in out.figures.values():
            plt.close(fig)
    none = outliers_analysis(gaussian(2000, 48, seed=4), sigma="means", plot=False)
    assert none.figures == {}
    assert none.metrics["n_outliers"] == 0.0 and none.metrics["outlier_max_abs_z"] < 3.0
