"""Bootstrap intervals and the paired bootstrap test: coverage on a known sampling distribution,
power on a planted gain, calibration on no gain, determinism, and the vectorised Spearman."""

import math

import numpy as np
import pytest
from scipy.stats import spearmanr

from geomexp.errors import ConfigError
from geomexp.metrics.bootstrap import paired_p_value, percentile_interval, resample_indices, spearman_rows
from geomexp.sts import sts_intervals


def population_spearman(rho: float) -> float:
    """Spearman's rho of a bivariate normal with Pearson correlation ``rho``: (6/pi) asin(rho/2)."""
    return 6 / math.pi * math.asin(rho / 2)


def bivariate(rng, n, rho):
    x = rng.normal(size=n)
    y = rho * x + math.sqrt(1 - rho**2) * rng.normal(size=n)
    return x, y


def test_spearman_rows_equals_scipy_row_by_row():
    rng = np.random.default_rng(0)
    P, G = rng.normal(size=(5, 40)), rng.normal(size=(5, 40))
    P[1, :10] = 0.3  # ties
    expected = [spearmanr(p, g).statistic for p, g in zip(P, G)]
    np.testing.assert_allclose(spearman_rows(P, G), expected, rtol=1e-12)
    assert np.isnan(spearman_rows(np.ones((1, 5)), G[:1, :5]))[0]  # a constant row


def test_spearman_interval_covers_the_true_value_about_95_percent_of_the_time():
    rho = 0.6
    truth = population_spearman(rho)
    rng = np.random.default_rng(1)
    hits, reps = 0, 200
    for rep in range(reps):
        x, y = bivariate(rng, 250, rho)
        idx = resample_indices(250, 400, seed=rep)
        ci = percentile_interval(spearman_rows(x[idx], y[idx]), 0.95)
        hits += ci.low <= truth <= ci.high
    assert 0.89 <= hits / reps <= 0.99, hits / reps


def test_paired_bootstrap_finds_a_planted_gain_and_rarely_a_null_one():
    rng = np.random.default_rng(2)
    gold = rng.normal(size=250)
    better = gold + 0.5 * rng.normal(size=250)
    worse = gold + 1.5 * rng.normal(size=250)
    out = sts_intervals({"": worse, "/enh": better}, gold, n_boot=1000, seed=0)
    assert out["sts_gain_p/enh"] < 0.01 and out["sts_gain_ci_low/enh"] > 0
    rejections = 0
    for rep in range(100):
        a, b = gold + rng.normal(size=250), gold + rng.normal(size=250)  # equally good: no real gain
        rejections += sts_intervals({"": a, "/enh": b}, gold, n_boot=300, seed=rep)["sts_gain_p/enh"] < 0.05
    assert rejections <= 12, rejections  # about 5 expected


def test_intervals_are_seeded_and_bracket_the_estimate():
    rng = np.random.default_rng(3)
    gold = rng.normal(size=100)
    preds = {"": gold + rng.normal(size=100), "/m": gold + 0.3 * rng.normal(size=100)}
    a, b = sts_intervals(preds, gold, seed=7), sts_intervals(preds, gold, seed=7)
    assert a == b  # bit-identical
    assert sts_intervals(preds, gold, seed=8) != a
    rho = 100 * spearmanr(preds["/m"], gold).statistic
    assert a["sts_spearman_ci_low/m"] < rho < a["sts_spearman_ci_high/m"]
    assert set(a) == {
        "sts_spearman_ci_low", "sts_spearman_ci_high", "sts_spearman_ci_low/m", "sts_spearman_ci_high/m",
        "sts_gain_ci_low/m", "sts_gain_ci_high/m", "sts_gain_p/m",
    }  # fmt: skip


def test_p_value_and_level_edges():
    assert paired_p_value(np.ones(99)) == pytest.approx(2 / 100)  # every resample gains: p = 2/(B+1)
    assert paired_p_value(np.zeros(10)) == 1.0
    for bad in (0, 1, 1.5, "high"):
        with pytest.raises(ConfigError, match="ci_level"):
            percentile_interval(np.arange(5.0), bad)
