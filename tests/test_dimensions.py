"""Cosine contributions per dimension and the dimensions analysis, against known answers."""

import json
import math

import matplotlib.pyplot as plt
import numpy as np
import pytest

from geomexp.analyses.dimensions import dimensions_analysis
from geomexp.metrics.dimensions import cosine_contributions, top_dimensions
from geomexp.metrics.isotropy import i_cos, i_cos_exact
from geomexp.validation import InvalidEmbeddingsError


def rogue(n=3000, d=32, dim=7, offset=10.0, seed=0):
    """Isotropic Gaussian plus a large constant in dimension ``dim``."""
    X = np.random.default_rng(seed).standard_normal((n, d))
    X[:, dim] += offset
    return X


def test_hand_computed_3x2_case():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    # unit rows: (1, 0), (0, 1), (1/sqrt2, 1/sqrt2); unordered pairs:
    # (0,1): CC = (0, 0); (0,2): CC = (1/sqrt2, 0); (1,2): CC = (0, 1/sqrt2)
    # mean over the 3 pairs (= over the 6 ordered pairs): (sqrt2/6, sqrt2/6)
    exact = cosine_contributions(X, exact=True)
    np.testing.assert_allclose(exact, [math.sqrt(2) / 6, math.sqrt(2) / 6], rtol=1e-12)
    assert exact.sum() == pytest.approx(math.sqrt(2) / 3, rel=1e-12)
    np.testing.assert_allclose(cosine_contributions(X, n_pairs=60000, seed=1), exact, atol=0.01)


def test_planted_rogue_dimension_is_found_first_with_its_index():
    X = rogue()
    for contrib in (cosine_contributions(X, n_pairs=2000, seed=0), cosine_contributions(X, exact=True)):
        top = top_dimensions(contrib, k=3)
        index, value, share = top[0]
        assert index == 7
        # cos ~ c^2 / (c^2 + d): almost all of it from dimension 7
        assert value == pytest.approx(100 / 132, abs=0.03)
        assert share > 0.95
        assert abs(top[1][1]) < 0.02


def test_sampled_contributions_sum_to_i_cos_over_the_same_pairs():
    X = rogue(500, 16, offset=1.5, seed=2)
    for n_pairs, seed in ((1, 0), (1000, 0), (1000, 5), (20000, 3)):  # 20000 > one chunk of pairs
        assert cosine_contributions(X, n_pairs=n_pairs, seed=seed).sum() == pytest.approx(
            i_cos(X, n_pairs=n_pairs, seed=seed), rel=1e-12, abs=1e-15
        )
    # a different seed gives different pairs, hence (almost surely) a different sum
    assert cosine_contributions(X, seed=1).sum() != pytest.approx(i_cos(X, seed=2), rel=1e-9)


def test_exact_contributions_sum_to_i_cos_exact_and_match_brute_force():
    X = np.random.default_rng(5).standard_normal((40, 7)) + 0.3
    exact = cosine_contributions(X, exact=True)
    assert exact.sum() == pytest.approx(i_cos_exact(X), rel=1e-12)
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    off = ~np.eye(40, dtype=bool)
    brute = np.array([np.outer(U[:, i], U[:, i])[off].mean() for i in range(7)])
    np.testing.assert_allclose(exact, brute, rtol=1e-12)


def test_exact_and_sampled_agree_within_sampling_error():
    X = rogue(2000, 8, offset=1.0, seed=4)
    n_pairs = 40000
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    sd = (U[:1000] * U[1000:]).std(axis=0)  # spread of one pair's contribution, per dimension
    diff = np.abs(cosine_contributions(X, n_pairs=n_pairs, seed=7) - cosine_contributions(X, exact=True))
    assert (diff < 4 * sd / math.sqrt(n_pairs)).all()


def test_top_dimensions_order_shares_ties_and_zero_sum():
    top = top_dimensions(np.array([0.1, 0.5, -0.2, 0.5, 0.1]), k=3)
    assert [i for i, _, _ in top] == [1, 3, 0]  # ties: lower index first
    assert [s for _, _, s in top] == pytest.approx([0.5 / 1.0, 0.5 / 1.0, 0.1 / 1.0])
    assert all(type(i) is int and type(v) is float for i, v, _ in top)
    zero = top_dimensions(np.array([1.0, -1.0]), k=2)
    assert [i for i, _, _ in zero] == [0, 1] and all(math.isnan(s) for _, _, s in zero)


def test_top_dimensions_k_larger_than_d_or_bad_input():
    with pytest.raises(InvalidEmbeddingsError, match=r"k=4 is larger than .* d=3"):
        top_dimensions(np.ones(3), k=4)
    with pytest.raises(InvalidEmbeddingsError, match="k must be a positive integer"):
        top_dimensions(np.ones(3), k=0)
    with pytest.raises(InvalidEmbeddingsError, match="1-D"):
        top_dimensions(np.ones((2, 3)))
    with pytest.raises(InvalidEmbeddingsError, match="NaN or inf"):
        top_dimensions(np.array([1.0, np.nan]))


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.ones((1, 4)), "at least 2 rows"),
        (np.array([[1.0, 2.0], [0.0, 0.0]]), "all-zero row"),
        (np.array([[1.0, np.nan], [1.0, 2.0]]), "NaN or inf"),
        (np.array([[1.0, np.inf], [1.0, 2.0]]), "NaN or inf"),
        (np.zeros(4), "2-D"),
    ],
)
def test_bad_embeddings_rejected(bad, match):
    for exact in (False, True):
        with pytest.raises(InvalidEmbeddingsError, match=match):
            cosine_contributions(bad, exact=exact)


def test_bad_n_pairs_rejected():
    with pytest.raises(InvalidEmbeddingsError, match="n_pairs"):
        cosine_contributions(np.eye(3), n_pairs=0)


def test_dimensions_analysis_returns_documented_metrics_tables_and_figure():
    X = rogue(1000, 24, dim=7, offset=8.0, seed=1)
    out = dimensions_analysis(X, n_pairs=500, exact=True, top_k=2, seed=3, title="t", plot=True)
    try:
        m = out.metrics
        assert set(m) == {"cc_sum", "cc_sum_exact"} | {f"cc_top{r}{s}" for r in (1, 2) for s in ("", "_dim", "_share")}
        assert all(isinstance(v, float) for v in m.values())
        assert m["cc_top1_dim"] == 7.0
        assert m["cc_sum"] == pytest.approx(i_cos(X, n_pairs=500, seed=3), rel=1e-12)
        assert m["cc_sum_exact"] == pytest.approx(i_cos_exact(X), rel=1e-12)
        assert m["cc_top1_share"] == pytest.approx(m["cc_top1"] / m["cc_sum_exact"])
        table = out.tables["top_dimensions.json"]
        json.dumps(table, allow_nan=False)
        assert table["primary"] == "exact"
        assert table["exact"]["indices"][0] == 7 and table["sampled"]["indices"][0] == 7
        assert len(table["exact"]["values"]) == len(table["sampled"]["shares"]) == 2
        assert set(out.figures) == {"cosine_contributions.png"}
    finally:
        for fig in out.figures.values():
            plt.close(fig)


def test_dimensions_analysis_sampled_only_and_no_plot():
    X = rogue(300, 12, dim=3, offset=6.0)
    out = dimensions_analysis(X, exact=False, top_k=1, plot=False)
    assert set(out.metrics) == {"cc_sum", "cc_top1", "cc_top1_dim", "cc_top1_share"}
    assert out.metrics["cc_top1_dim"] == 3.0
    assert out.tables["top_dimensions.json"]["primary"] == "sampled"
    assert "exact" not in out.tables["top_dimensions.json"]
    assert out.figures == {}
    with pytest.raises(InvalidEmbeddingsError, match="k=13"):
        dimensions_analysis(X, top_k=13, plot=False)
