"""Bootstrap intervals and the paired bootstrap test: coverage on a known sampling distribution,
power on a planted gain, calibration on no gain, determinism, and the vectorised Spearman."""

import math

import numpy as np
import pytest
from scipy.stats import spearmanr

from geomexp.errors import ConfigError
from geomexp.metrics.bootstrap import paired_p_value, percentile_interval, resample_indices, spearman_rows
from geomexp.tasks.sts.scoring import sts_intervals


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


def planted_mean_direction(rng, n, d=8, shift=0.6):
    """Rows = a shared offset along e_0 + isotropic Gaussian noise (mean cosine clearly above 0)."""
    X = rng.normal(size=(n, d))
    X[:, 0] += shift
    return X


def test_row_bootstrap_interval_of_i_cos_covers_the_population_value_about_95_percent():
    """The population mean cosine is estimated on 400,000 rows; intervals from 200-row samples
    (100 resamples each) cover it in about 95 % of 200 seeded repetitions."""
    from geomexp.metrics.bootstrap import bootstrap_rows
    from geomexp.metrics.isotropy import i_cos_exact

    truth = i_cos_exact(planted_mean_direction(np.random.default_rng(12345), 400_000))
    covered = 0
    for rep in range(200):
        X = planted_mean_direction(np.random.default_rng(rep), 200)
        iv = bootstrap_rows(X, {"c": i_cos_exact}, 100, seed=rep)["c"]
        covered += iv.low <= truth <= iv.high
    assert 0.89 <= covered / 200 <= 0.99, covered


def test_row_bootstrap_is_seeded_brackets_the_estimate_and_narrows_with_more_rows():
    from geomexp.metrics.bootstrap import bootstrap_rows
    from geomexp.metrics.isoscore import isoscore
    from geomexp.metrics.isotropy import log_i_pc

    X = planted_mean_direction(np.random.default_rng(1), 2000)
    stats = {"isoscore": isoscore, "log_i_pc": log_i_pc}
    a = bootstrap_rows(X, stats, 100, seed=7)
    b = bootstrap_rows(X, stats, 100, seed=7)
    c = bootstrap_rows(X, stats, 100, seed=8)
    assert a == b and a != c  # bit-identical for the same seed
    for name, f in stats.items():  # near the estimate (IsoScore's resamples are biased low: duplicated rows)
        width = a[name].high - a[name].low
        assert width > 0 and a[name].n_boot == 100
        assert a[name].low - width <= f(X) <= a[name].high + width, name
    small = bootstrap_rows(X[:200], stats, 100, seed=7)
    for name in stats:  # width ~ 1/sqrt(N): 10x the rows, about a third of the width
        assert (a[name].high - a[name].low) < 0.6 * (small[name].high - small[name].low)


def test_isotropy_and_isoscore_analyses_log_intervals_only_when_asked():
    from geomexp.analyses.isoscore import isoscore_analysis
    from geomexp.analyses.isotropy import isotropy_analysis

    X = planted_mean_direction(np.random.default_rng(2), 500)
    plain = isotropy_analysis(X, plot=False).metrics
    assert not any("_ci_" in k for k in plain)
    m = isotropy_analysis(X, plot=False, n_bootstrap=50, ci_level=0.9).metrics
    for key in ("i_cos", "i_cos_exact", "i_pc", "log_i_pc"):
        assert m[f"{key}_ci_low"] < m[f"{key}_ci_high"], key
        assert plain[key] == m[key]  # the point estimates do not move
    assert m["i_cos_exact_ci_low"] <= m["i_cos_exact"] <= m["i_cos_exact_ci_high"]
    assert m["i_pc_ci_low"] == pytest.approx(math.exp(m["log_i_pc_ci_low"]), rel=1e-12)
    s = isoscore_analysis(X, n_bootstrap=50).metrics
    assert s["isoscore_ci_low"] < s["isoscore_ci_high"] and s["isoscore"] == isoscore_analysis(X).metrics["isoscore"]
    with pytest.raises(ConfigError, match=r"analysis.isotropy.n_bootstrap must be.*-1"):
        isotropy_analysis(X, plot=False, n_bootstrap=-1)
    with pytest.raises(ConfigError, match="ci_level"):
        isoscore_analysis(X, n_bootstrap=5, ci_level=1.5)
