"""Ill-defined numbers are flagged, not reported as exact (issue 23): I_PC over a degenerate spectrum."""

from __future__ import annotations

import numpy as np
import pytest

from geomexp.metrics.isotropy import I_PC_UNSTABLE, i_pc_spread, log_i_pc, unresolved_eigenspaces


def test_unresolved_eigenspaces_are_the_runs_of_close_eigenvalues():
    values = np.array([10.0, 9.99, 5.0, 1.0, 0.999, 0.998, 0.1])
    assert unresolved_eigenspaces(values, 0.01) == [(0, 2), (3, 6)]
    assert unresolved_eigenspaces(values, 1e-6) == []
    assert unresolved_eigenspaces(np.ones(4), 0.0) == [(0, 4)]


def test_a_whitened_sample_has_an_i_pc_spread_and_a_resolved_spectrum_has_none():
    rng = np.random.default_rng(0)
    N, d = 3000, 16
    # every eigenvalue well apart (a factor 2 between neighbours, far beyond sqrt(2/N) = 0.026): defined
    X = rng.standard_normal((N, d)) * 2.0 ** -np.arange(d) + 0.5
    spread, unresolved = i_pc_spread(X)
    assert spread == 0.0 and unresolved == 0
    # whitened: X^T X = (N - 1) I exactly up to rounding; any basis is "the" eigenvectors
    Z = rng.standard_normal((N, d))
    Z -= Z.mean(axis=0)
    W = Z @ np.linalg.inv(np.linalg.cholesky(np.cov(Z.T))).T
    spread, unresolved = i_pc_spread(W)
    assert unresolved == d and spread > I_PC_UNSTABLE
    # the spread is what another eigensolver basis would give: a random rotation moves log I_PC within it
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    assert abs(log_i_pc(W @ Q) - log_i_pc(W)) < 3 * spread
    assert i_pc_spread(W, seed=0) == i_pc_spread(W, seed=0)  # seeded


def test_the_report_marks_a_whitened_i_pc_cell_as_not_well_defined(make_cfg, store_uri):
    from geomexp.experiment import run
    from geomexp.report import build_tables, collect_runs
    from geomexp.report.write import to_markdown

    result = run(
        make_cfg("model=minilm", "lang=en", "layer.index=6", "data.n_tokens=400", "enhancement=whiten",
                 "analysis.isotropy.plot=false")
    )  # fmt: skip
    assert result.metrics[("i_pc_spread/whiten", 6)] > I_PC_UNSTABLE
    assert result.metrics[("i_pc_spread", 6)] <= I_PC_UNSTABLE
    df = build_tables(collect_runs(store_uri, experiment="geomexp"))["i_pc"]
    text = to_markdown(df)
    raw = next(line for line in text.splitlines() if "| raw |" in line)
    whitened = next(line for line in text.splitlines() if "whiten" in line)
    assert "†" in whitened and "†" not in raw
    assert any("not well defined" in n for n in df.attrs["notes"])


@pytest.mark.parametrize("signs", ["both", "single"])
def test_spread_needs_positive_rotations(signs):
    with pytest.raises(ValueError, match="n_rotations"):
        i_pc_spread(np.random.default_rng(0).standard_normal((50, 4)), signs=signs, n_rotations=0)


def _eigen_projections(X):
    """(eigenvalues decreasing, Zt: the rows of X projected on the eigenvectors of X^T X), as the metric."""
    from geomexp.metrics.isotropy import exactly_rescaled

    S = exactly_rescaled(X)
    values, vecs = np.linalg.eigh(S.T @ S)
    values, vecs = values[::-1], vecs[:, ::-1]
    return values, np.ascontiguousarray(vecs.T) @ X.T


#: (N, d) samples: some eigenvalues resolved and some not, (a) where rotations move I_PC and (b) a common
#: direction, where the extremes of F are resolved directions and no rotation can move them
MIXED = np.random.default_rng(3).standard_normal((3000, 40)) * np.r_[np.linspace(4, 2, 20), np.ones(20)] + 0.3
OFFSET = np.random.default_rng(4).standard_normal((3000, 40)) * np.r_[np.linspace(4, 2, 20), np.ones(20)] + 2.0


@pytest.mark.parametrize("signs", ["both", "single"])
@pytest.mark.parametrize("name", ["mixed", "offset"])
def test_the_spread_keeps_the_rows_a_rotation_leaves_alone_bit_for_bit(signs, name):
    """The spread recomputes log F(u) only for the directions of the unresolved eigenspaces (the others do
    not move), and skips the rotations where bounds show none can move I_PC: equal, to the last bit, to
    recomputing every direction under every rotation."""
    from geomexp.metrics.isotropy import (
        _log_i_pc_of,
        _log_partition_bounds,
        _log_partitions,
        _within,
        log_i_pc_with_spread,
    )

    X = {"mixed": MIXED, "offset": OFFSET}[name]
    values, Zt = _eigen_projections(X)
    runs = unresolved_eigenspaces(values, float(np.sqrt(2.0 / len(X))))
    assert runs and sum(b - a for a, b in runs) < 40  # some directions kept, some rotated
    logs, draw = [_log_i_pc_of(Zt, signs)], np.random.default_rng(0)
    for _ in range(8):  # every direction recomputed under every rotation
        Z = Zt.copy()
        for a, b in runs:
            q, r = np.linalg.qr(draw.standard_normal((b - a, b - a)))
            Z[a:b] = (q * np.sign(np.diag(r))).T @ Zt[a:b]
        logs.append(_log_i_pc_of(Z, signs))
    expected = (logs[0], max(logs) - min(logs), sum(b - a for a, b in runs))
    assert log_i_pc_with_spread(X, signs, 8, 0) == expected
    # which path it took: the offset sample's rotations are skipped (its spread is exactly 0), the mixed one's not
    kept = np.delete(_log_partitions(Zt, signs), np.r_[tuple(np.arange(a, b) for a, b in runs)], axis=-1)
    largest = float(np.linalg.norm(X, axis=1).max())
    skipped = all(_within(_log_partition_bounds(Zt[a:b]), kept.min(), kept.max(), largest) for a, b in runs)
    assert skipped == (name == "offset" and signs == "both")
    assert (expected[1] == 0.0) if skipped else expected[1] > 0


def test_the_bounds_on_log_f_hold_for_every_direction_of_an_eigenspace():
    """``_log_partition_bounds`` of a block of projections: log F(u) of 200 random unit directions u (and
    -u) in that span lies between them; the upper bound is reached where all rows point one way."""
    from geomexp.metrics.isotropy import _log_partition, _log_partition_bounds

    rng = np.random.default_rng(5)
    values, Zt = _eigen_projections(MIXED)
    block = Zt[20:40]
    low, high = _log_partition_bounds(block)
    q = rng.standard_normal((20, 200))
    q /= np.linalg.norm(q, axis=0)
    log_f = np.r_[_log_partition(q.T @ block), _log_partition(q.T @ block, negate=True)]
    assert low <= log_f.min() and log_f.max() <= high
    same = np.outer([1.0, 0.0], np.full(50, 2.0))  # 50 rows at 2 along the first direction of a 2-D span
    assert _log_partition_bounds(same) == pytest.approx((np.log(50) - 2.0, np.log(50) + 2.0))


def test_the_null_space_of_fewer_rows_than_dimensions_is_one_eigenspace_whatever_the_rounding():
    """N < d leaves d - N eigenvalues at rounding noise; their relative gaps are noise, and counting runs
    among them moved i_pc_unresolved (363 vs 359) between 1 and 2 BLAS threads. They are one eigenspace."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 64)) * 2.0 ** -(np.arange(64) ** 0.5)
    spread, unresolved = i_pc_spread(X)
    noisy = X * (1 + 1e-15 * rng.standard_normal(X.shape))
    assert i_pc_spread(noisy)[1] == unresolved >= 64 - 30
    assert unresolved_eigenspaces(np.array([5.0, 1.0, 3e-16, 1e-16, -2e-16]), 1e-3, floor=1e-12) == [(2, 5)]


def test_i_cos_standard_error_of_an_isotropic_sample_is_one_over_sqrt_d_n_pairs():
    from geomexp.metrics.isotropy import i_cos, i_cos_se

    X = np.random.default_rng(0).standard_normal((5000, 64))
    se = i_cos_se(X, n_pairs=4000, seed=1)
    assert se == pytest.approx(1 / np.sqrt(64 * 4000), rel=0.05)  # cosines of random pairs: sd 1/sqrt(d)
    assert abs(i_cos(X, n_pairs=4000, seed=1)) < 3 * se


def test_a_value_below_its_sampling_noise_is_shown_with_its_error_on_the_console_and_in_the_report(make_cfg, store_uri):
    """Issue 23: I_Cos after centring is ~0 by construction; 0.0012 printed as 4 significant digits reads
    as a measurement. Within 2 standard errors of 0 it is shown as v ± se."""
    from geomexp.analyses.isotropy import isotropy_analysis
    from geomexp.experiment import run
    from geomexp.experiment.console import summary
    from geomexp.report import build_tables, collect_runs
    from geomexp.report.write import to_markdown

    result = run(
        make_cfg("model=minilm", "lang=en", "layer.index=6", "data.n_tokens=400", "enhancement=center",
                 "analysis.isotropy.plot=false")
    )  # fmt: skip
    raw, centred, se = (result.metrics[(k, 6)] for k in ("i_cos", "i_cos/center", "i_cos_se/center"))
    assert abs(centred) < 2 * se < abs(raw)
    text = summary(result, [isotropy_analysis.info], title="t", where=None)
    assert "±" in text.splitlines()[2] and f"{raw:.5g}" in text
    md = to_markdown(build_tables(collect_runs(store_uri, experiment="geomexp"))["i_cos"])
    center = next(line for line in md.splitlines() if "center" in line)
    raw_line = next(line for line in md.splitlines() if "| raw |" in line)
    assert " se" in center and "±" in center and "±" not in raw_line
