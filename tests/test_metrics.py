"""Isotropy metrics against cases whose answer is known."""

import math

import numpy as np
import pytest

from geomexp.metrics import InvalidEmbeddingsError, i_cos, i_cos_exact, i_pc, log_i_pc, sample_pairs


def isotropic(n=5000, d=64, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d))


def test_hand_computed_i_cos():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    # pairs: (0,1) -> 0, (0,2) -> 1/sqrt2, (1,2) -> 1/sqrt2
    assert i_cos_exact(X) == pytest.approx(math.sqrt(2) / 3, rel=1e-12)
    assert i_cos(X, n_pairs=20000, seed=1) == pytest.approx(math.sqrt(2) / 3, abs=0.01)


def test_hand_computed_i_pc_both_signs_and_single():
    X = np.array([[2.0, 0.0], [0.0, 1.0]])  # X^T X = diag(4, 1): eigenvectors are the axes
    # F(e1)=e^2+1, F(e2)=e+1, F(-e1)=e^-2+1, F(-e2)=e^-1+1
    assert i_pc(X) == pytest.approx((1 + math.exp(-2)) / (1 + math.exp(2)), rel=1e-12)
    # single sign: whichever sign the solver returned for each axis
    values = {
        (a1 / a2 if a1 < a2 else a2 / a1)
        for a1 in (math.exp(2) + 1, math.exp(-2) + 1)
        for a2 in (math.e + 1, math.exp(-1) + 1)
    }
    assert any(i_pc(X, signs="single") == pytest.approx(v, rel=1e-12) for v in values)


def test_isotropic_gaussian_is_near_isotropic():
    X = isotropic()
    assert abs(i_cos(X, n_pairs=5000, seed=0)) < 0.03
    assert abs(i_cos_exact(X)) < 0.001
    # Known finite-sample value of I_PC for an isotropic Gaussian at N=5000, d=64: ~0.79
    assert 0.70 < i_pc(X) < 0.90


def test_planted_common_direction_is_anisotropic():
    X = isotropic(2000, 32) + 10.0 * np.eye(32)[0]  # every vector shares a large offset along e0
    expected = 10.0**2 / (10.0**2 + 32)  # cos ~ c^2 / (c^2 + d) for offset c and unit noise in d dims
    assert i_cos_exact(X) == pytest.approx(expected, abs=0.02)
    assert i_cos(X, seed=3) == pytest.approx(expected, abs=0.03)
    assert i_pc(X) < 1e-6
    assert i_pc(X) < i_pc(isotropic(2000, 32))


def test_sampled_i_cos_agrees_with_exact_within_sampling_error():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3000, 16)) + 0.7
    exact = i_cos_exact(X)
    n_pairs = 20000
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    sd = (U[:500] @ U[500:1000].T).std()  # spread of one pair's cosine
    assert abs(i_cos(X, n_pairs=n_pairs, seed=7) - exact) < 4 * sd / math.sqrt(n_pairs)


def test_i_cos_exact_matches_brute_force():
    X = np.random.default_rng(5).standard_normal((40, 7)) + 0.3
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    C = U @ U.T
    brute = (C.sum() - np.trace(C)) / (40 * 39)
    assert i_cos_exact(X) == pytest.approx(brute, rel=1e-12)


def test_sample_pairs_are_distinct_uniform_and_seeded():
    i, j = sample_pairs(5, 50000, seed=2)
    assert (i != j).all()
    counts = np.bincount(i * 5 + j, minlength=25).reshape(5, 5)
    assert (np.diag(counts) == 0).all()
    off = counts[~np.eye(5, dtype=bool)]
    assert off.min() > 0.8 * off.mean()  # 20 ordered pairs, each ~2500 times
    i2, j2 = sample_pairs(5, 50000, seed=2)
    assert (i == i2).all() and (j == j2).all()
    assert not (i == sample_pairs(5, 50000, seed=3)[0]).all()


def test_i_pc_does_not_overflow_on_float32_activations():
    # Entries of +-100 overflow exp() in float32 (max ~88). Answer by hand:
    # axes are the eigenvectors; F(+-e1) = e^100 + e^-100 + 2, F(+-e2) = e^99 + e^-99 + 2.
    X = np.array([[100, 0], [-100, 0], [0, 99], [0, -99]], dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp(X @ np.eye(2, dtype=np.float32)).sum(axis=0)
        assert not np.isfinite(naive).all()  # the naive float32 way breaks
    assert i_pc(X) == pytest.approx(math.exp(-1), rel=1e-9)
    # and where the ratio itself underflows, the log stays exact
    Y = np.array([[1000.0, 0.0], [0.0, 1.0]])
    assert i_pc(Y) == 0.0
    assert log_i_pc(Y) == pytest.approx(math.log1p(math.exp(-1000)) - 1000 - math.log1p(math.exp(-1000)), abs=1e-9)


def test_i_pc_is_invariant_to_eigenvector_sign_with_both_signs():
    X = np.random.default_rng(1).standard_normal((500, 8)) + 0.5
    assert i_pc(X) == pytest.approx(i_pc(-X), rel=1e-9)


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros(5), "2-D"),
        (np.ones((1, 4)), "at least 2 rows"),
        (np.array([[1.0, np.nan], [1.0, 2.0]]), "NaN or inf"),
        (np.array([[1.0, np.inf], [1.0, 2.0]]), "NaN or inf"),
        (np.array([["a", "b"], ["c", "d"]]), "real numbers"),
        (np.ones((3, 0)), "at least 1 column"),
    ],
)
def test_bad_input_is_rejected_clearly(bad, match):
    for fn in (i_cos, i_cos_exact, i_pc):
        with pytest.raises(InvalidEmbeddingsError, match=match):
            fn(bad)


def test_zero_rows_are_rejected_for_cosines():
    X = np.array([[1.0, 2.0], [0.0, 0.0], [3.0, 1.0]])
    with pytest.raises(InvalidEmbeddingsError, match="all-zero row"):
        i_cos(X)
    with pytest.raises(InvalidEmbeddingsError, match="all-zero row"):
        i_cos_exact(X)


def test_non_positive_pairs_and_bad_signs_rejected():
    X = isotropic(10, 3)
    with pytest.raises(InvalidEmbeddingsError, match="n_pairs"):
        i_cos(X, n_pairs=0)
    with pytest.raises(InvalidEmbeddingsError, match="signs"):
        i_pc(X, signs="neither")


def test_integer_float16_and_non_contiguous_inputs_work():
    X = isotropic(300, 6, seed=4)
    ref = i_cos_exact(X.astype(np.float16).astype(np.float64))
    assert i_cos_exact(X.astype(np.float16)) == pytest.approx(ref, rel=1e-12)
    assert np.isfinite(i_pc(np.arange(12).reshape(4, 3)))
    wide = np.asfortranarray(np.concatenate([X, X], axis=1))[:, ::2]
    assert i_cos_exact(wide) == pytest.approx(i_cos_exact(np.ascontiguousarray(wide)), rel=1e-12)


def test_cosines_of_tiny_and_huge_vectors_do_not_underflow_or_overflow():
    X = np.array([[1.0, 2.0], [2.0, 1.0], [-1.0, 0.5]])
    for scale in (1e-184, 1e-300, 1e200):  # squares under/overflow float64
        assert i_cos_exact(X * scale) == pytest.approx(i_cos_exact(X), rel=1e-12)
        assert i_cos(X * scale, n_pairs=100) == pytest.approx(i_cos(X, n_pairs=100), rel=1e-12)
