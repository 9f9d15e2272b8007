"""IsoScore against known answers, invariances and (when installed) the authors' package."""

import math

import numpy as np
import pytest

from geomexp.analyses.isoscore import isoscore_analysis
from geomexp.linalg import principal_variances
from geomexp.metrics.isoscore import isoscore, isoscore_from_variances
from geomexp.validation import InvalidEmbeddingsError


def gaussian(n=20000, d=32, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d))


def random_rotation(d, seed=0):
    Q, R = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return Q * np.sign(np.diag(R))


def test_large_isotropic_gaussian_is_near_one():
    assert isoscore(gaussian()) == pytest.approx(1.0, abs=0.01)


def test_rank_one_cloud_is_zero():
    rng = np.random.default_rng(1)
    direction = rng.standard_normal(16)
    X = rng.standard_normal((500, 1)) * direction + 3.0  # points on one line (offset does not matter)
    assert isoscore(X) == pytest.approx(0.0, abs=1e-6)


def test_hand_computed_from_variances():
    # k equal variances out of n: the paper's fraction of dimensions used is k/n, so IsoScore = (k - 1)/(n - 1)
    for n, k in ((4, 1), (4, 2), (9, 3), (10, 10)):
        v = np.r_[np.ones(k), np.zeros(n - k)]
        assert isoscore_from_variances(v) == pytest.approx((k - 1) / (n - 1), abs=1e-12)
    # step by step for v = (3, 1): v_hat = sqrt2 (3, 1) / sqrt10; defect, fraction used, score
    v_hat = math.sqrt(2) * np.array([3.0, 1.0]) / math.sqrt(10)
    defect = np.linalg.norm(v_hat - 1) / math.sqrt(2 * (2 - math.sqrt(2)))
    phi = (2 - defect**2 * (2 - math.sqrt(2))) ** 2 / 4
    assert isoscore_from_variances([3.0, 1.0]) == pytest.approx(2 * phi - 1, rel=1e-12)


def test_planted_anisotropy_lowers_the_score_monotonically():
    X = gaussian(5000, 16, seed=2)
    scores = [isoscore(X * np.r_[s, np.ones(15)]) for s in (1.0, 3.0, 10.0, 100.0)]
    assert all(a > b for a, b in zip(scores, scores[1:]))
    assert scores[-1] < 0.01


def test_invariant_to_rotation_scaling_and_translation():
    X = gaussian(3000, 12, seed=3) * np.linspace(0.5, 3.0, 12)
    ref = isoscore(X)
    assert 0.2 < ref < 0.95
    assert isoscore(X @ random_rotation(12, seed=4)) == pytest.approx(ref, rel=1e-9)
    assert isoscore(7.5 * X) == pytest.approx(ref, rel=1e-9)
    assert isoscore(X + 40.0) == pytest.approx(ref, rel=1e-9)


def test_principal_variances_are_covariance_eigenvalues():
    X = gaussian(400, 5, seed=5) * np.array([5.0, 4.0, 3.0, 2.0, 1.0])
    np.testing.assert_allclose(principal_variances(X), np.sort(np.linalg.eigvalsh(np.cov(X.T)))[::-1], rtol=1e-10)


@pytest.mark.parametrize(
    "X, match",
    [
        (np.ones((1, 4)), "at least 2 rows"),
        (np.ones((5, 1)), "at least 2 dimensions"),
        (np.full((5, 3), 2.0), "all points are identical"),
        (np.array([[1.0, np.nan], [1.0, 2.0]]), "NaN or inf"),
    ],
)
def test_bad_input_rejected(X, match):
    with pytest.raises(InvalidEmbeddingsError, match=match):
        isoscore(X)


def test_isoscore_analysis_metric():
    X = gaussian(2000, 8, seed=6)
    out = isoscore_analysis(X, seed=1, title="t")
    assert out.metrics == {"isoscore": pytest.approx(isoscore(X))}
    assert out.figures == {} and out.tables == {}


def test_equals_reference_package():
    try:
        from IsoScore.IsoScore import IsoScore as reference
    except ImportError:
        pytest.skip("reference package not installed: pip install --no-deps isoscore==2.0.1 (needs torch, present)")
    rng = np.random.default_rng(7)
    clouds = [
        gaussian(3000, 10, seed=8),
        rng.standard_normal((1000, 24)) * np.geomspace(0.1, 10, 24),
        rng.standard_normal((500, 6)) @ rng.standard_normal((6, 6)) + 5.0,  # correlated, offset
        rng.standard_normal((40, 64)),  # fewer points than dimensions
    ]
    for X in clouds:
        # IsoScore 2.0.1 takes points as ROWS (num_samples, dimension), like ours. It computes some
        # constants in float32, hence agreement to ~1e-8 rather than to float64 rounding.
        assert isoscore(X) == pytest.approx(float(reference(X)), rel=1e-6, abs=1e-7)
