"""Bootstrap intervals and the paired bootstrap test, seeded and vectorised.

A statistic is resampled over its n items (e.g. STS sentence pairs) with replacement; the
interval is the percentile interval of the resampled values. The paired test resamples the
SAME items for two systems, so the interval and p-value of their difference account for the
items they share (Koehn 2004; Berg-Kirkpatrick et al. 2012).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geomexp.errors import ConfigError
from geomexp.validation import check_float, check_int


@dataclass(frozen=True)
class Interval:
    """A percentile bootstrap interval: ``low``..``high`` at ``level`` from ``n_boot`` resamples."""

    low: float
    high: float
    level: float
    n_boot: int

    def map(self, f) -> Interval:
        """The interval of ``f(statistic)`` for an increasing ``f`` (e.g. ``exp`` of a log interval)."""
        return Interval(float(f(self.low)), float(f(self.high)), self.level, self.n_boot)


def resample_indices(n: int, n_boot: int, seed: int = 0) -> np.ndarray:
    """(n_boot, n) int64 indices drawn with replacement, seeded (the same seed, the same draws)."""
    check_int(n, "n", minimum=1)
    check_int(n_boot, "n_bootstrap", minimum=1)
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> Interval:
    """The central ``level`` interval of bootstrap ``samples`` (B,) (NaN resamples ignored)."""
    check_level(level)
    s = np.asarray(samples, dtype=np.float64)
    s = s[np.isfinite(s)]
    if s.size == 0:
        return Interval(float("nan"), float("nan"), level, 0)
    alpha = (1 - level) / 2
    low, high = np.quantile(s, [alpha, 1 - alpha])
    return Interval(float(low), float(high), level, int(s.size))


def check_level(level) -> float:
    """``level`` as a float strictly between 0 and 1, else ``ConfigError``."""
    value = check_float(level, "ci_level", minimum=0.0, exclusive=True)
    if value >= 1:
        raise ConfigError(f"ci_level must be between 0 and 1 (e.g. 0.95); got {level!r}")
    return value


def paired_p_value(differences: np.ndarray) -> float:
    """Two-sided bootstrap p-value of "no difference", from resampled differences d (B,).

    k = min(#(d <= 0), #(d >= 0)); p = min(1, 2 (1 + k) / (1 + B)). Small when nearly every
    resample keeps the sign of the observed difference; near 1 when the signs are balanced.
    """
    d = np.asarray(differences, dtype=np.float64)
    d = d[np.isfinite(d)]
    if d.size == 0:
        return float("nan")
    k = min(int((d <= 0).sum()), int((d >= 0).sum()))
    return float(min(1.0, 2 * (1 + k) / (1 + d.size)))


def spearman_rows(P: np.ndarray, G: np.ndarray) -> np.ndarray:
    """Spearman correlation of each row pair of (B, n) arrays -> (B,) (NaN where a row is constant)."""
    from scipy.stats import rankdata

    rp = rankdata(P, axis=1)
    rg = rankdata(G, axis=1)
    rp -= rp.mean(axis=1, keepdims=True)
    rg -= rg.mean(axis=1, keepdims=True)
    denom = np.sqrt((rp * rp).sum(axis=1) * (rg * rg).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (rp * rg).sum(axis=1) / denom, np.nan)


def interval_metrics(intervals: dict[str, Interval]) -> dict[str, float]:
    """``{name: Interval}`` -> ``{"<name>_ci_low": low, "<name>_ci_high": high}`` (metric keys)."""
    out = {}
    for name, iv in intervals.items():
        out[f"{name}_ci_low"], out[f"{name}_ci_high"] = iv.low, iv.high
    return out


def bootstrap_rows(X, statistics: dict, n_boot: int, *, seed: int = 0, level: float = 0.95) -> dict[str, Interval]:
    """Percentile intervals of several statistics of the rows of ``X`` (N, d), on the same resamples.

    statistics: ``{name: f}`` with ``f((N, d) float64 array) -> float``. Each of the ``n_boot``
    resamples draws N rows with replacement (seeded: the same seed gives bit-identical intervals)
    and evaluates every statistic on it. Cost: ``n_boot`` times the statistics' own cost.
    """
    check_int(n_boot, "n_bootstrap", minimum=1)
    check_level(level)
    X = np.asarray(X, dtype=np.float64)
    n = X.shape[0]
    rng = np.random.default_rng(seed)
    values = {name: np.empty(n_boot) for name in statistics}
    for b in range(n_boot):
        Xb = X[rng.integers(0, n, size=n)]
        for name, f in statistics.items():
            values[name][b] = f(Xb)
    return {name: percentile_interval(v, level) for name, v in values.items()}


def rank_correlation_interval(
    x, y, *, x_sd=None, y_sd=None, n_boot: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, Interval]:
    """Spearman correlation of ``x`` and ``y`` ((n,) each) and its percentile bootstrap interval.

    Each of the ``n_boot`` resamples draws n points with replacement; where ``x_sd`` / ``y_sd``
    ((n,), 0 for a point without one) give a point's own standard error (e.g. from its bootstrap
    interval), the resample also draws that point's values from a normal around them, so the
    interval covers the choice of points and each point's uncertainty. Seeded: the same seed gives
    bit-identical intervals. Needs n >= 3.
    """
    check_int(n_boot, "n_bootstrap", minimum=1)
    check_level(level)
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or x.size < 3:
        raise ConfigError(f"a rank correlation needs two (n,) arrays with n >= 3; got shapes {x.shape} and {y.shape}")
    rho = float(spearman_rows(x[None], y[None])[0])
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    X, Y = x[idx], y[idx]
    for M, sd in ((X, x_sd), (Y, y_sd)):
        if sd is not None:
            M += rng.standard_normal(M.shape) * np.asarray(sd, dtype=np.float64)[idx]
    return rho, percentile_interval(spearman_rows(X, Y), level)
