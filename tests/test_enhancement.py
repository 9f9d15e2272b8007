"""Isotropy enhancers against cases whose answer is known (planted directions, closed forms, scikit-learn)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import adjusted_rand_score

import geomexp.enhancement.cluster as cluster_module
from geomexp.enhancement import (
    ABTTEnhancer,
    CenterEnhancer,
    ClusterEnhancer,
    EnhancerFileError,
    IdentityEnhancer,
    NotFittedError,
    SmallClusterError,
    WhiteningEnhancer,
    enhancers,
    load_enhancer,
    make_enhancer,
)
from geomexp.errors import ConfigError
from geomexp.metrics import i_pc
from geomexp.validation import InvalidEmbeddingsError


def anisotropic(n=400, d=12, seed=0):
    """Gaussian rows with very different variances per (rotated) axis plus an offset: far from isotropic."""
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.standard_normal((d, d)))[0]
    return (rng.standard_normal((n, d)) * np.geomspace(20, 0.5, d)) @ Q.T + 3.0


def planted_blobs(n=600, d=16, seed=0):
    """3 blobs 40 apart along orthonormal q0..q2; blob c has unit noise plus N(0, 10^2) along its own q_{3+c}.

    Returns (X (3n, d), y (3n,) blob of each row, U (3, d) the planted directions).
    """
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.standard_normal((d, d)))[0]
    centers, U = 40.0 * Q[:, :3].T, Q[:, 3:6].T
    blobs = [centers[c] + rng.standard_normal((n, d)) + 10.0 * rng.standard_normal((n, 1)) * U[c] for c in range(3)]
    X = np.vstack(blobs)
    return X, np.repeat(np.arange(3), n), U


def small_cluster_data(d=10, seed=0, n_far=3):
    """Two blobs of 200 rows (12 apart) and one far blob of ``n_far`` rows (the last rows)."""
    rng = np.random.default_rng(seed)
    shift = np.zeros(d)
    far = np.zeros(d)
    shift[0], far[1] = 12.0, 500.0
    return np.vstack(
        [rng.standard_normal((200, d)), rng.standard_normal((200, d)) + shift, rng.standard_normal((n_far, d)) + far]
    )


def fitted_examples(X):
    """One fitted enhancer of every registered kind (small settings)."""
    params = {
        "abtt": {"n_components": 2},
        "whiten": {"n_components": 5},
        "cluster": {"n_clusters": 3, "n_components": 2},
    }
    return {name: make_enhancer(name, **params.get(name, {})).fit(X) for name in enhancers()}


# --------------------------------------------------------------------------- cluster-based: known answers


def test_cluster_removes_each_clusters_planted_direction_and_reaches_isotropic_i_pc():
    X, y, U = planted_blobs()
    enh = ClusterEnhancer(n_clusters=3, n_components=1)
    Y = enh.fit_transform(X)
    assert adjusted_rand_score(y, enh.labels_) == 1.0
    for c in range(3):
        before = X[y == c] @ U[c]
        after = Y[y == c] @ U[c]
        assert before.std() > 9.0  # the planted spread (10)
        assert np.abs(after).max() < 0.2  # removed: what is left is estimation error of the direction
        assert abs(after.mean()) < 0.05  # the cluster's own mean is gone too
    iso = i_pc(np.random.default_rng(1).standard_normal(X.shape))  # ~0.77-0.81 at this shape
    assert i_pc(X) < 1e-6
    # margin: within 0.1 of an isotropic Gaussian sample of the same shape (measured: 0.759 vs 0.766)
    assert i_pc(Y) > iso - 0.1
    # the global method cannot do this: one direction for all clusters
    assert i_pc(ABTTEnhancer(n_components=1).fit_transform(X)) < 1e-6


def test_one_cluster_equals_all_but_the_top():
    X = anisotropic()
    for D in (0, 1, 4):
        a = ABTTEnhancer(n_components=D).fit(X)
        c = ClusterEnhancer(n_clusters=1, n_components=D).fit(X)
        np.testing.assert_allclose(c.transform(X), a.transform(X), atol=1e-10)
        np.testing.assert_allclose(c.means_[0], a.mean_, atol=1e-12)
        # projectors agree (sign-free comparison of the removed subspaces)
        np.testing.assert_allclose(c.components_[0].T @ c.components_[0], a.components_.T @ a.components_, atol=1e-10)


def test_abtt_removes_planted_global_direction_and_centres():
    rng = np.random.default_rng(0)
    u = np.linalg.qr(rng.standard_normal((8, 8)))[0][:, 0]
    X = rng.standard_normal((1000, 8)) + 20.0 * rng.standard_normal((1000, 1)) * u + 5.0
    enh = ABTTEnhancer(n_components=1).fit(X)
    Y = enh.transform(X)
    assert abs(abs(enh.components_[0] @ u) - 1) < 1e-3
    assert np.abs(Y @ u).max() < 0.3
    np.testing.assert_allclose(Y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(CenterEnhancer().fit_transform(X), X - X.mean(axis=0))
    np.testing.assert_array_equal(IdentityEnhancer().fit_transform(X), X)


# --------------------------------------------------------------------------- whitening


def test_whitening_gives_identity_covariance_on_fit_data():
    X = anisotropic(n=500, d=12)
    Y = WhiteningEnhancer(eps=0.0).fit_transform(X)
    assert Y.shape == X.shape
    np.testing.assert_allclose(Y.mean(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(np.cov(Y.T), np.eye(12), atol=1e-10)
    # with eps > 0 the covariance is diag(lambda / (lambda + eps * lambda_max)), as documented
    enh = WhiteningEnhancer(eps=1e-3).fit(X)
    lam = enh.explained_variance_
    np.testing.assert_allclose(np.cov(enh.transform(X).T), np.diag(lam / (lam + 1e-3 * lam[0])), atol=1e-10)
    np.testing.assert_allclose(np.cov(WhiteningEnhancer().fit_transform(X).T), np.eye(12), atol=1e-8)
    cut = WhiteningEnhancer(n_components=5).fit(X)
    Z = cut.transform(X)
    assert Z.shape == (500, 5) and cut.n_features_out_ == 5
    np.testing.assert_allclose(np.cov(Z.T), np.eye(5), atol=1e-6)
    # the kept axes are the largest-variance ones: first 5 columns of the full whitening (up to sign)
    np.testing.assert_allclose(np.abs(Z), np.abs(Y[:, :5]), atol=1e-8)


def test_whitening_singular_covariance_is_handled():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((10, 20))  # rank of the centred rows: 9 < 20
    enh = WhiteningEnhancer().fit(X)
    Y = enh.transform(X)
    assert enh.n_null_axes_ == 11 and Y.shape == (10, 9)  # the 11 null directions are dropped, not blown up
    np.testing.assert_allclose(np.cov(Y.T), np.eye(9), atol=1e-6)
    np.testing.assert_allclose(np.cov(WhiteningEnhancer(n_components=9).fit_transform(X).T), np.eye(9), atol=1e-6)
    np.testing.assert_allclose(np.cov(WhiteningEnhancer(eps=0.0).fit_transform(X).T), np.eye(9), atol=1e-9)
    with pytest.raises(InvalidEmbeddingsError, match="zero variance"):
        WhiteningEnhancer().fit(np.ones((5, 3)))


def test_whitening_drops_the_null_axis_of_a_layernorm_output_and_keeps_small_real_axes():
    """Issue 23: a LayerNorm output obeys sum_j (y_j - beta_j) / gamma_j = 0 for every token, so its
    covariance has one eigenvalue at float32 noise; whitening must drop that axis, not scale it up."""
    rng = np.random.default_rng(0)
    N, d = 2000, 24
    Z = rng.standard_normal((N, d)) * np.geomspace(1.0, 1e-3, d)  # real axes down to 1e-6 x lambda_max
    Z -= Z.mean(axis=1, keepdims=True)  # the LayerNorm constraint: each row sums to 0
    gamma, beta = rng.uniform(0.5, 2.0, d), rng.standard_normal(d)
    Y = (Z * gamma + beta).astype(np.float32)
    enh = WhiteningEnhancer().fit(Y)
    assert enh.n_null_axes_ == 1 and enh.n_features_out_ == d - 1
    W = enh.transform(Y)
    assert np.abs(W).max() < 20  # the noise axis would be scaled to unit variance: |values| up to ~1e4 x
    # float64 input with a real axis at 1e-6 x lambda_max and no constraint: every axis is kept
    enh64 = WhiteningEnhancer().fit(rng.standard_normal((N, d)) * np.geomspace(1.0, 1e-3, d))
    assert enh64.n_null_axes_ == 0 and enh64.explained_variance_[-1] / enh64.explained_variance_[0] < 1e-5


# --------------------------------------------------------------------------- k-means: seeds, vs scikit-learn, zero-shot


def test_same_seed_identical_output_different_seed_differs():
    X = np.random.default_rng(0).standard_normal((2000, 16)).astype(np.float32)  # no structure: seeds matter
    first = ClusterEnhancer(n_clusters=6, n_components=2, random_state=3).fit(X)
    again = ClusterEnhancer(n_clusters=6, n_components=2, random_state=3).fit(X)
    np.testing.assert_array_equal(first.centroids_, again.centroids_)
    np.testing.assert_array_equal(first.transform(X), again.transform(X))
    others = [ClusterEnhancer(n_clusters=6, n_components=2, random_state=s).fit(X) for s in (4, 5)]
    assert any(not np.array_equal(first.centroids_, o.centroids_) for o in others)


def test_faiss_partition_matches_sklearn_kmeans_on_separated_blobs():
    X, y = make_blobs(n_samples=900, centers=5, n_features=8, cluster_std=0.5, center_box=(-50, 50), random_state=0)
    ours = ClusterEnhancer(n_clusters=5, n_components=1).fit(X)
    theirs = KMeans(n_clusters=5, n_init=10, random_state=0).fit(X)
    assert adjusted_rand_score(theirs.labels_, ours.labels_) == 1.0
    assert adjusted_rand_score(y, ours.labels_) == 1.0
    # same partition -> same centroids, up to the label permutation (float32 k-means vs float64)
    match = [int(np.argmin(np.linalg.norm(theirs.cluster_centers_ - c, axis=1))) for c in ours.centroids_]
    np.testing.assert_allclose(ours.centroids_, theirs.cluster_centers_[match], atol=1e-3)


def test_zero_shot_rows_go_to_nearest_fitted_centroid():
    X, _, _ = planted_blobs(n=300)
    enh = ClusterEnhancer(n_clusters=3, n_components=2).fit(X)
    rng = np.random.default_rng(7)
    Z = X[rng.choice(len(X), 250, replace=False)] + rng.normal(0, 3.0, (250, X.shape[1]))  # another "language"
    labels = enh.predict(Z)
    dist = ((Z[:, None, :] - enh.centroids_[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(labels, dist.argmin(axis=1))
    expected = np.empty_like(Z)
    for i, c in enumerate(labels):
        v = Z[i] - enh.means_[c]
        V = enh.components_[c]
        expected[i] = v - V.T @ (V @ v)
    out = enh.transform(Z)
    assert out.shape == (250, X.shape[1])
    np.testing.assert_allclose(out, expected, atol=1e-10)
    assert enh.transform(Z[:1]).shape == (1, X.shape[1])  # a single row is fine


def test_all_points_count_unless_told_otherwise():
    X = np.random.default_rng(0).standard_normal((3000, 4)) + 1.0
    assert ClusterEnhancer(n_clusters=2, n_components=1).fit(X).n_train_points_ == 3000
    assert ClusterEnhancer(n_clusters=2, n_components=1, max_points_per_centroid=100).fit(X).n_train_points_ == 200
    # k = 1: the k-means centroid is the mean of the rows it trained on
    everyone = ClusterEnhancer(n_clusters=1, n_components=1).fit(X)
    np.testing.assert_allclose(everyone.kmeans_centroids_[0], X.mean(axis=0), atol=1e-5)
    subsample = ClusterEnhancer(n_clusters=1, n_components=1, max_points_per_centroid=100).fit(X)
    assert np.abs(subsample.kmeans_centroids_[0] - X.mean(axis=0)).max() > 0.01  # 100 rows: error ~ 0.1
    np.testing.assert_allclose(subsample.means_[0], X.mean(axis=0), atol=1e-12)  # all rows still assigned


# --------------------------------------------------------------------------- small and empty clusters


def test_small_cluster_policy_reduce_keeps_it_with_fewer_directions():
    X = small_cluster_data()
    enh = ClusterEnhancer(n_clusters=3, n_components=5, small_cluster_policy="reduce").fit(X)
    assert sorted(enh.kmeans_sizes_.tolist()) == [3, 200, 200]  # precondition: the far blob is its own cluster
    small = int(np.flatnonzero(enh.cluster_sizes_ == 3)[0])
    assert enh.n_clusters_ == 3
    # 3 centred rows span 2 directions: removing 1 leaves one of them (removing both would leave noise)
    assert enh.components_removed_[small] == 1 and enh.components_[small].shape == (1, 10)
    assert [int(r) for i, r in enumerate(enh.components_removed_) if i != small] == [5, 5]
    assert len(enh.policy_events_) == 1
    assert "3 member(s)" in enh.policy_events_[0] and "top 1 direction(s) instead of 5" in enh.policy_events_[0]
    assert "'reduce'" in enh.policy_events_[0]
    assert enh.n_collapsed_rows_ == 0
    out = enh.transform(X)[-3:]
    assert np.all(np.linalg.norm(out, axis=1) > 1e-6 * np.linalg.norm(X[-3:], axis=1))  # not rounding noise


@pytest.mark.parametrize("policy", ["merge", "reduce"])
def test_cluster_of_exactly_d_plus_one_members_does_not_collapse(policy):
    """Issue 32: a cluster of D + 1 members used to survive the merge and lose all D directions its
    centred rows span, leaving rows of norm ~1e-16 of the input (noise). Now it is merged (or keeps one)."""
    D = 5
    X = small_cluster_data(n_far=D + 1)
    enh = ClusterEnhancer(n_clusters=3, n_components=D, small_cluster_policy=policy).fit(X)
    assert sorted(enh.kmeans_sizes_.tolist()) == [D + 1, 200, 200]  # precondition: the far blob is its own cluster
    if policy == "merge":
        assert enh.n_clusters_ == 2 and sorted(enh.cluster_sizes_.tolist()) == [200, 200 + D + 1]
    else:
        assert sorted(enh.components_removed_.tolist()) == [D - 1, D, D]
    assert enh.n_collapsed_rows_ == 0
    norms = np.linalg.norm(enh.transform(X), axis=1) / np.linalg.norm(X, axis=1)
    assert norms.min() > 1e-6  # no row is rounding noise (it was ~1e-16 with the old bound)


def test_small_cluster_policy_merge_moves_rows_to_nearest_other_centroid():
    X = small_cluster_data()
    enh = ClusterEnhancer(n_clusters=3, n_components=5, small_cluster_policy="merge").fit(X)
    assert sorted(enh.kmeans_sizes_.tolist()) == [3, 200, 200]
    gone = int(np.flatnonzero(enh.kmeans_sizes_ == 3)[0])
    assert enh.n_clusters_ == 2 and gone not in enh.cluster_ids_.tolist()
    assert sorted(enh.cluster_sizes_.tolist()) == [200, 203]
    assert enh.components_removed_.tolist() == [5, 5]
    dist = ((X[-3:, None, :] - enh.centroids_[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(enh.labels_[-3:], dist.argmin(axis=1))
    assert len(enh.policy_events_) == 1
    assert f"cluster {gone} has 3 member(s)" in enh.policy_events_[0] and "merged" in enh.policy_events_[0]


def test_small_cluster_policy_error_and_merge_fallback():
    X = small_cluster_data()
    with pytest.raises(SmallClusterError, match=r"3 member\(s\).*small_cluster_policy='reduce' or 'merge'"):
        ClusterEnhancer(n_clusters=3, n_components=5, small_cluster_policy="error").fit(X)
    # one cluster of 4 rows cannot merge anywhere: reduced instead, and said so
    tiny = np.random.default_rng(0).standard_normal((4, 10))
    enh = ClusterEnhancer(n_clusters=1, n_components=6, small_cluster_policy="merge").fit(tiny)
    assert enh.components_removed_.tolist() == [2]
    assert "fell back to 'reduce'" in enh.policy_events_[0]


def test_empty_cluster_is_dropped_and_recorded():
    a, b = np.eye(6)[0], 5 * np.eye(6)[1]
    X = np.vstack([np.tile(a, (10, 1)), np.tile(b, (10, 1))])  # 2 distinct points, 3 clusters asked
    for policy in ("reduce", "merge"):
        enh = ClusterEnhancer(n_clusters=3, n_components=1, small_cluster_policy=policy).fit(X)
        assert sorted(enh.kmeans_sizes_.tolist()) == [0, 10, 10]
        assert enh.n_clusters_ == 2 and enh.centroids_.shape == (2, 6) and enh.cluster_sizes_.tolist() == [10, 10]
        assert "empty" in enh.policy_events_[0]
        np.testing.assert_allclose(enh.transform(X), 0, atol=1e-12)  # identical rows: minus their mean
        assert enh.n_collapsed_rows_ == 20 and "20 of 20 fit row(s) collapsed" in enh.policy_events_[1]
    with pytest.raises(SmallClusterError, match=r"0 member\(s\)"):
        ClusterEnhancer(n_clusters=3, n_components=1, small_cluster_policy="error").fit(X)


# --------------------------------------------------------------------------- persistence and dtypes


def test_save_load_round_trip_every_enhancer(tmp_path):
    X = anisotropic(n=300, d=12).astype(np.float32)
    Z = anisotropic(n=50, d=12, seed=1)
    for name, enh in fitted_examples(X).items():
        path = enh.save(tmp_path / f"{name}.npz")
        back = load_enhancer(path)
        assert type(back) is type(enh) and back.get_params() == enh.get_params()
        np.testing.assert_array_equal(back.transform(X), enh.transform(X))
        np.testing.assert_array_equal(back.transform(Z), enh.transform(Z))
        assert type(enh).load(path).n_features_out_ == enh.n_features_out_
    cl = load_enhancer(tmp_path / "cluster.npz")
    assert [V.shape for V in cl.components_] == [(2, 12)] * 3 and isinstance(cl.policy_events_, list)
    with pytest.raises(EnhancerFileError, match="holds a ABTTEnhancer, not a ClusterEnhancer"):
        ClusterEnhancer.load(tmp_path / "abtt.npz")
    unfitted = load_enhancer(ClusterEnhancer(n_clusters=4).save(tmp_path / "unfitted.npz"))
    assert unfitted.n_clusters == 4 and not unfitted.is_fitted
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(EnhancerFileError, match="not a saved enhancer"):
        load_enhancer(tmp_path / "other.npz")


def test_output_dtype_follows_input():
    X = anisotropic(n=200, d=8)
    for enh in fitted_examples(X).values():
        assert enh.transform(X.astype(np.float32)).dtype == np.float32
        assert enh.transform(X).dtype == np.float64
        assert enh.transform(np.rint(X).astype(np.int64)).dtype == np.float64
        assert enh.transform(X.astype(np.float16)).dtype == np.float64


# --------------------------------------------------------------------------- bad input


def test_bad_cluster_parameters_fail_before_kmeans(monkeypatch):
    def no_kmeans(*args, **kwargs):
        raise AssertionError("k-means ran before the parameters were checked")

    monkeypatch.setattr(cluster_module, "faiss_kmeans", no_kmeans)
    X = np.random.default_rng(0).standard_normal((20, 5))
    cases = [
        ({"n_clusters": 21}, r"n_clusters=21 exceeds the 20 rows.*allowed: 1\.\.20"),
        ({"n_clusters": 0}, r"n_clusters must be a positive integer; got 0"),
        ({"n_clusters": 2.5}, r"n_clusters must be a positive integer; got 2\.5"),
        ({"n_components": 5}, r"n_components=5 must be smaller than .* d=5.*allowed: 0\.\.4"),
        ({"n_components": -1}, r"n_components must be an integer >= 0; got -1"),
        ({"small_cluster_policy": "drop"}, r"small_cluster_policy must be one of \['reduce', 'merge', 'error'\]"),
        ({"init": "kmeans++"}, r"init must be one of"),
        ({"random_state": -3}, r"random_state must be an integer in 0\.\.2147483646 or None; got -3"),
    ]
    for params, message in cases:
        with pytest.raises(ConfigError, match=message):
            ClusterEnhancer(**{"n_clusters": 2, "n_components": 1, **params}).fit(X)


def test_bad_input_and_usage_errors():
    X = np.random.default_rng(0).standard_normal((30, 6))
    for enh in (make_enhancer(name) for name in enhancers()):
        with pytest.raises(NotFittedError, match="not fitted yet"):
            enh.transform(X)
    for enh in fitted_examples(X).values():
        with pytest.raises(InvalidEmbeddingsError, match="X has 5 features, but .* is expecting 6 features as input"):
            enh.transform(X[:, :5])
    known = r"\['abtt', 'center', 'cluster', 'none', 'whiten'\]"
    with pytest.raises(ConfigError, match=rf"unknown enhancer 'pca'; known: {known}"):
        make_enhancer("pca")
    with pytest.raises(ConfigError, match=r"has no parameter\(s\) \['n_clusters'\]"):
        make_enhancer("abtt", n_clusters=3)
    with pytest.raises(ConfigError, match=r"n_components=4 needs at least 5 rows"):
        ABTTEnhancer(n_components=4).fit(X[:4])
    with pytest.raises(ConfigError, match=r"n_components=7 \(output columns\) cannot exceed the d=6"):
        WhiteningEnhancer(n_components=7).fit(X)
    with pytest.raises(InvalidEmbeddingsError, match="NaN"):
        ClusterEnhancer(n_clusters=2, n_components=1).fit(np.where(X > 2, np.nan, X))
    with pytest.raises(InvalidEmbeddingsError, match="2-D"):
        CenterEnhancer().fit(X[0])
