"""Principal subspaces, principal angles and subspace overlap against known answers."""

import math

import numpy as np
import pytest

from geomexp.metrics.subspace import principal_angles, subspace_overlap, top_principal_subspace
from geomexp.validation import InvalidEmbeddingsError


def random_rotation(d, seed=0):
    Q, R = np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))
    return Q * np.sign(np.diag(R))


def test_top_principal_subspace_finds_planted_directions():
    rng = np.random.default_rng(0)
    d = 10
    X = rng.standard_normal((5000, d)) * np.r_[1, 1, 20, 1, 1, 1, 10, 1, 1, 1] + 100.0  # offset: centred PCA
    B = top_principal_subspace(X, 2)
    assert B.shape == (d, 2)
    np.testing.assert_allclose(B.T @ B, np.eye(2), atol=1e-12)
    # first the variance-400 axis (2), then the variance-100 axis (6), signs fixed positive
    assert np.abs(B[:, 0]).argmax() == 2 and B[2, 0] > 0.999
    assert np.abs(B[:, 1]).argmax() == 6 and B[6, 1] > 0.999
    np.testing.assert_allclose(top_principal_subspace(X, 2), B)  # deterministic
    assert top_principal_subspace(X, d).shape == (d, d)


def test_identical_subspaces_have_zero_angles_and_overlap_one():
    A = random_rotation(12, seed=1)[:, :4]
    mix = random_rotation(4, seed=2) * np.array([1.0, 2.0, 0.5, 3.0])  # another basis of the same span
    for B in (A, A @ random_rotation(4, seed=3), A @ mix):
        np.testing.assert_allclose(principal_angles(A, B), np.zeros(4), atol=1e-7)
        assert subspace_overlap(A, B) == pytest.approx(1.0, abs=1e-12)


def test_orthogonal_subspaces_have_right_angles_and_overlap_zero():
    Q = random_rotation(9, seed=4)
    A, B = Q[:, :3], Q[:, 3:6]
    np.testing.assert_allclose(principal_angles(A, B), np.full(3, math.pi / 2), atol=1e-12)
    assert subspace_overlap(A, B) == pytest.approx(0.0, abs=1e-12)


def test_hand_computed_angles_ascending():
    # span(e1, e2) vs span(e1, cos t e2 + sin t e3): angles (0, t)
    t = 0.3
    A = np.eye(3)[:, :2]
    B = np.array([[1.0, 0.0], [0.0, math.cos(t)], [0.0, math.sin(t)]])
    np.testing.assert_allclose(principal_angles(A, B), [0.0, t], atol=1e-12)
    assert subspace_overlap(A, B) == pytest.approx((1 + math.cos(t) ** 2) / 2, rel=1e-12)
    small = 1e-9  # small angles stay accurate (arccos of the cosine alone would not)
    C = np.array([[1.0, 0.0], [0.0, math.cos(small)], [0.0, math.sin(small)]])
    assert principal_angles(A, C)[1] == pytest.approx(small, rel=1e-6)


def test_random_subspaces_overlap_about_D_over_d():
    d, D = 200, 10
    values = [
        subspace_overlap(random_rotation(d, seed=s)[:, :D], random_rotation(d, seed=100 + s)[:, :D]) for s in range(5)
    ]
    assert np.mean(values) == pytest.approx(D / d, rel=0.3)


def test_bad_input_rejected():
    A = np.eye(5)[:, :2]
    with pytest.raises(InvalidEmbeddingsError, match=r"n_components=6 is larger than the dimension d=5"):
        top_principal_subspace(np.random.default_rng(0).standard_normal((20, 5)), 6)
    with pytest.raises(InvalidEmbeddingsError, match="n_components must be a positive integer"):
        top_principal_subspace(np.ones((4, 3)), 0)
    with pytest.raises(InvalidEmbeddingsError, match="same shape"):
        principal_angles(A, np.eye(5)[:, :3])
    with pytest.raises(InvalidEmbeddingsError, match="same shape"):
        subspace_overlap(A, np.eye(4)[:, :2])
    with pytest.raises(InvalidEmbeddingsError, match="D=3 columns but only d=2 rows"):
        principal_angles(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(InvalidEmbeddingsError, match="linearly dependent"):
        principal_angles(np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 0.0]]), A[:3])
    with pytest.raises(InvalidEmbeddingsError, match="NaN or inf"):
        subspace_overlap(np.array([[1.0, 0.0], [np.nan, 1.0], [0.0, 0.0]]), A[:3])
    with pytest.raises(InvalidEmbeddingsError, match="at least 2 rows"):
        top_principal_subspace(np.ones((1, 3)), 1)
