"""Linear CKA (biased, debiased) and orthogonal Procrustes distance: known answers, a plain O(N^2)
reference written from the papers' formulas, the layer x layer matrices and the analysis."""

import numpy as np
import pytest

from geomexp.analyses.similarity import similarity_analysis
from geomexp.errors import ConfigError
from geomexp.metrics.similarity import linear_cka, procrustes_distance, similarities_to, similarity_matrices
from geomexp.validation import InvalidEmbeddingsError


def hsic_unbiased(K, L):
    """Song et al. (2012), eq. 5, on (n, n) kernel matrices: the straightforward O(n^2) reference."""
    n = K.shape[0]
    K, L = K.copy(), L.copy()
    np.fill_diagonal(K, 0)
    np.fill_diagonal(L, 0)
    one = np.ones(n)
    return (
        np.trace(K @ L) + (one @ K @ one) * (one @ L @ one) / ((n - 1) * (n - 2)) - 2 / (n - 2) * (one @ K @ L @ one)
    ) / (n * (n - 3))


def hsic_biased(K, L):
    """Gretton et al. (2005): tr(K H L H) / (n - 1)^2 with the centring matrix H."""
    n = K.shape[0]
    H = np.eye(n) - 1 / n
    return np.trace(K @ H @ L @ H) / (n - 1) ** 2


def cka_reference(X, Y, hsic):
    K, L = X @ X.T, Y @ Y.T
    return hsic(K, L) / np.sqrt(hsic(K, K) * hsic(L, L))


@pytest.fixture
def pair():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 20)) + 3.0
    Y = X[:, :15] @ rng.standard_normal((15, 25)) + 0.5 * rng.standard_normal((300, 25))
    return X, Y


def test_cka_matches_the_kernel_reference_biased_and_debiased(pair):
    X, Y = pair
    assert linear_cka(X, Y) == pytest.approx(cka_reference(X, Y, hsic_biased), rel=1e-10)
    assert linear_cka(X, Y, debiased=True) == pytest.approx(cka_reference(X, Y, hsic_unbiased), rel=1e-10)
    assert 0.3 < linear_cka(X, Y, debiased=True) < 1


def test_cka_is_one_for_a_rotated_or_scaled_copy(pair):
    X, _ = pair
    Q = np.linalg.qr(np.random.default_rng(1).standard_normal((20, 20)))[0]
    for debiased in (False, True):
        assert linear_cka(X, X @ Q, debiased=debiased) == pytest.approx(1, abs=1e-12)
        assert linear_cka(X, 2 * X + 7, debiased=debiased) == pytest.approx(1, abs=1e-12)


def test_independent_gaussians_debiased_near_zero_biased_not():
    rng = np.random.default_rng(2)
    X, Y = rng.standard_normal((400, 100)), rng.standard_normal((400, 100))
    assert abs(linear_cka(X, Y, debiased=True)) < 0.01
    assert linear_cka(X, Y) > 0.15  # the biased estimator's offset at N = 400, d = 100


def test_procrustes_distance_zero_for_a_rotated_shifted_scaled_copy_and_bounded(pair):
    X, Y = pair
    Q = np.linalg.qr(np.random.default_rng(3).standard_normal((20, 20)))[0]
    assert procrustes_distance(X, 5 * X @ Q - 1) == pytest.approx(0, abs=1e-10)
    d = procrustes_distance(X, Y)
    assert 0 < d < 2
    # the definition: min over orthogonal Q of ||X - Y Q||_F^2 after centring and unit norm (zero-padded X)
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    Xc, Yc = np.hstack([Xc, np.zeros((300, 5))]) / np.linalg.norm(Xc), Yc / np.linalg.norm(Yc)
    U, _, Vt = np.linalg.svd(Yc.T @ Xc)
    assert d == pytest.approx(np.linalg.norm(Xc - Yc @ U @ Vt) ** 2, rel=1e-9)


def test_similarity_matrices_equal_the_pairwise_functions(pair):
    X, Y = pair
    Z = np.random.default_rng(4).standard_normal((300, 8))
    m = similarity_matrices([X, Y, Z])
    reps = [X, Y, Z]
    for i in range(3):
        for j in range(3):
            assert m["cka_debiased"][i, j] == pytest.approx(linear_cka(reps[i], reps[j], debiased=True), abs=1e-12)
            assert m["cka"][i, j] == pytest.approx(linear_cka(reps[i], reps[j]), abs=1e-12)
            assert m["procrustes"][i, j] == pytest.approx(procrustes_distance(reps[i], reps[j]), abs=1e-9)
    row = similarities_to(Y, [X, Z, Y])
    for key in ("cka_debiased", "cka", "procrustes"):
        np.testing.assert_allclose(row[key], m[key][1, [0, 2, 1]], atol=1e-9)


def test_bad_input_is_refused():
    X = np.random.default_rng(0).standard_normal((10, 3))
    with pytest.raises(InvalidEmbeddingsError, match="same number of rows"):
        linear_cka(X, X[:9])
    with pytest.raises(InvalidEmbeddingsError, match="no variance"):
        linear_cka(X, np.ones((10, 3)))
    with pytest.raises(InvalidEmbeddingsError, match="debiased CKA needs at least 4 rows; got 3"):
        linear_cka(X[:3], X[:3], debiased=True)
    with pytest.raises(InvalidEmbeddingsError, match="reps\\[0\\] has 10 rows, reps\\[1\\] 9"):
        similarity_matrices([X, X[:9]])


def test_analysis_per_layer_metrics_and_matrix_at_the_last_layer():
    rng = np.random.default_rng(5)
    base = rng.standard_normal((200, 16))
    layers = {i: base @ rng.standard_normal((16, 16)) * (1 + i) + i * rng.standard_normal((200, 16)) for i in range(4)}
    first = similarity_analysis(layers[0], layer=0, layer_reps=layers, title="t")
    assert set(first.metrics) == {"cka_last", "cka_first", "cka_biased_last", "procrustes_last"}
    assert first.metrics["cka_first"] == pytest.approx(1) and not first.figures and not first.tables
    mid = similarity_analysis(layers[2], layer=2, layer_reps=layers)
    assert mid.metrics["cka_prev"] == pytest.approx(linear_cka(layers[2], layers[1], debiased=True))
    assert mid.metrics["procrustes_last"] == pytest.approx(procrustes_distance(layers[2], layers[3]))
    last = similarity_analysis(layers[3], layer=3, layer_reps=layers, plot=True)
    assert last.metrics["cka_last"] == pytest.approx(1) and last.metrics["procrustes_last"] == pytest.approx(
        0, abs=1e-9
    )
    table = last.tables["layer_similarity.json"]
    assert table["layers"] == [0, 1, 2, 3]
    assert table["cka_debiased"][2][1] == pytest.approx(mid.metrics["cka_prev"], abs=1e-8)
    assert set(last.figures) == {"cka_matrix.png", "procrustes_matrix.png"}
    with pytest.raises(ConfigError, match="use layer=all"):
        similarity_analysis(layers[0], layer=0, layer_reps={0: layers[0]})
