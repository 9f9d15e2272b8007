"""STS scoring pieces against hand-computed values and scipy."""

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr

from geomexp.metrics.correlation import pearson, spearman
from geomexp.tasks.sts.scoring import cosine_scores, mean_pool, sts_scores
from geomexp.validation import InvalidEmbeddingsError


def test_spearman_on_a_hand_made_set_equals_scipy_and_the_hand_value():
    pred = np.array([0.1, 0.4, 0.35, 0.8, 0.8])
    gold = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    # ranks: pred -> [1, 3, 2, 4.5, 4.5], gold -> [1..5]; Pearson of the ranks by hand:
    r = np.array([1, 3, 2, 4.5, 4.5]) - 3
    g = np.arange(1, 6) - 3
    assert spearman(pred, gold) == pytest.approx((r @ g) / np.sqrt((r @ r) * (g @ g)), rel=1e-12)
    assert spearman(pred, gold) == pytest.approx(spearmanr(pred, gold).statistic, rel=1e-12)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=200), rng.normal(size=200)
    assert spearman(x, y) == pytest.approx(spearmanr(x, y).statistic, rel=1e-10)
    assert pearson(x, y) == pytest.approx(pearsonr(x, y).statistic, rel=1e-10)
    assert sts_scores(gold, gold) == {"spearman": pytest.approx(100.0), "pearson": pytest.approx(100.0)}


def test_correlation_bad_input():
    with pytest.raises(InvalidEmbeddingsError, match="differ in length"):
        spearman([1, 2, 3], [1, 2])
    with pytest.raises(InvalidEmbeddingsError, match="at least 3"):
        spearman([1, 2], [1, 2])
    with pytest.raises(InvalidEmbeddingsError, match="NaN"):
        pearson([1, np.nan, 3], [1, 2, 3])


def test_mean_pool_averages_each_sentence_rows():
    X = np.array([[1.0, 0.0], [3.0, 2.0], [5.0, 5.0], [0.0, 4.0]])
    ids = np.array([0, 0, 2, 1])
    np.testing.assert_allclose(mean_pool(X, ids, 3), [[2.0, 1.0], [0.0, 4.0], [5.0, 5.0]])
    with pytest.raises(ValueError, match="1 sentence"):
        mean_pool(X, ids, 4)


def test_cosine_scores():
    A = np.array([[1.0, 0.0], [1.0, 1.0]])
    B = np.array([[0.0, 2.0], [2.0, 2.0]])
    np.testing.assert_allclose(cosine_scores(A, B), [0.0, 1.0])


def test_last_pool_takes_each_sentence_row_of_largest_position():
    from geomexp.tasks.sts.scoring import last_pool

    X = np.arange(12.0).reshape(6, 2)
    ids = np.array([1, 0, 1, 0, 2, 1])  # rows in any order
    pos = np.array([3, 1, 5, 4, 1, 2])
    np.testing.assert_allclose(last_pool(X, ids, pos, 3), [X[3], X[2], X[4]])
    with pytest.raises(ValueError, match="no token"):
        last_pool(X, ids, pos, 4)


def test_sts_pooling_is_checked():
    from geomexp.errors import ConfigError
    from geomexp.tasks.sts.task import StsTask

    assert StsTask().pooling == "mean"
    with pytest.raises(ConfigError, match="analysis.sts.pooling"):
        StsTask(pooling="cls")


def _pairs_with_identical_sentences(seed=0, n=80, n_same=8, d=32):
    """(A, B, gold): sentence vectors as float32, the first ``n_same`` pairs identical sentences with
    different gold scores (their cosines are 1 +- rounding, as in STS tracks 1, 3 and 4b)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d)).astype(np.float32)
    B = (A + rng.standard_normal((n, d)).astype(np.float32) * rng.uniform(0.2, 3, (n, 1))).astype(np.float32)
    B[:n_same] = A[:n_same]
    gold = np.concatenate([rng.uniform(4, 5, n_same), rng.uniform(0, 5, n - n_same)])
    return A, B, gold


def test_sts_ranks_identical_sentence_pairs_as_ties_whatever_the_last_bits():
    """Issue 32: which of the identical-sentence pairs (cosine 1 +- 1e-15) ranks first was decided by
    rounding. Predictions are rounded to SCORE_DECIMALS: a last-bit change of the float32 embeddings
    leaves Spearman bit-identical, and it equals the value recomputed from the stored 6-decimal file."""
    import json

    from geomexp.tasks.sts.scoring import SCORE_DECIMALS

    A, B, gold = _pairs_with_identical_sentences()
    raw = cosine_scores(A.astype(np.float64), B.astype(np.float64), decimals=None)
    assert np.ptp(raw[:8]) > 0 and np.all(np.abs(raw[:8] - 1) < 1e-12)  # the ties exist only up to rounding
    base = sts_scores(cosine_scores(A.astype(np.float64), B.astype(np.float64)), gold)["spearman"]
    rng = np.random.default_rng(1)
    for _ in range(5):  # flip the last bit of 10 % of the entries, as another CPU kernel would
        mask = rng.random(A.shape) < 0.1
        A2 = np.where(mask, np.nextafter(A, np.float32(np.inf)), A).astype(np.float64)
        B2 = np.where(mask[::-1], np.nextafter(B, np.float32(-np.inf)), B).astype(np.float64)
        assert sts_scores(cosine_scores(A2, B2), gold)["spearman"] == base
    stored = json.loads(json.dumps(cosine_scores(A.astype(np.float64), B.astype(np.float64)).round(6).tolist()))
    assert SCORE_DECIMALS == 6 and 100 * spearman(stored, gold) == base
