"""Isotropy against STS (``geomexp.report.downstream``, issue 14 item 5) and the rank-correlation interval.

Known answers: a monotone relation has ρ = ±1 with the interval collapsed on it, independent data an
interval around 0, per-point errors widen the interval. The report's points are checked on planted run
records (which keys pair with which, what counts once), and end to end (slow) on a real sweep of
``experiment=isotropy_vs_sts`` in a real SQLite store.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import compose_config, isolated_overrides

from geomexp.errors import ConfigError
from geomexp.metrics.bootstrap import rank_correlation_interval
from geomexp.report.collect import RunAtLayer, Runs
from geomexp.report.downstream import associations, collect_points, downstream_scatter, downstream_table
from geomexp.tracking import RunRecord

Z95 = 1.959963984540054


def test_monotone_relation_gives_rho_one_and_a_collapsed_interval():
    x = np.linspace(0, 1, 20)
    rho, iv = rank_correlation_interval(x, np.exp(3 * x), n_boot=300)
    assert rho == pytest.approx(1.0, abs=1e-12) and iv.low == pytest.approx(1.0) and iv.high == pytest.approx(1.0)
    rho, iv = rank_correlation_interval(x, -(x**3), n_boot=300)
    assert rho == pytest.approx(-1.0, abs=1e-12) and iv.high == pytest.approx(-1.0)


def test_independent_data_interval_covers_zero_and_is_seeded():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal(300), rng.standard_normal(300)
    rho, iv = rank_correlation_interval(x, y, n_boot=1000, seed=3)
    assert abs(rho) < 0.15 and iv.low < 0 < iv.high and iv.high - iv.low < 0.35
    assert rank_correlation_interval(x, y, n_boot=1000, seed=3)[1] == iv  # same seed, same interval


def test_point_errors_widen_the_interval():
    rng = np.random.default_rng(2)
    x = np.arange(30.0)
    y = x + rng.standard_normal(30) * 3
    _, tight = rank_correlation_interval(x, y, n_boot=1000)
    _, wide = rank_correlation_interval(x, y, y_sd=np.full(30, 10.0), n_boot=1000)
    assert wide.low < tight.low - 0.1 and tight.low > 0.8


def test_rank_correlation_rejects_short_or_mismatched_input():
    with pytest.raises(ConfigError, match="n >= 3"):
        rank_correlation_interval([1, 2], [1, 2])
    with pytest.raises(ConfigError, match="shapes"):
        rank_correlation_interval([1, 2, 3], [1, 2, 3, 4])


def _spearman_by_hand(x, y) -> float:
    """Pearson correlation of mid-ranks (ties share the mean of their ranks)."""

    def ranks(v):
        v = np.asarray(v, dtype=float)
        r = np.empty(v.size)
        for i, value in enumerate(v):
            r[i] = (v < value).sum() + ((v == value).sum() + 1) / 2
        return r

    return float(np.corrcoef(ranks(x), ranks(y))[0, 1])


def _record(run_id: str, lang: str, track: str, metrics: dict, enhancement: str = "cluster") -> RunAtLayer:
    from geomexp.analyses.isoscore import isoscore_analysis
    from geomexp.analyses.isotropy import isotropy_analysis
    from geomexp.tasks.sts.task import STS_INFO

    tags = {
        "geomexp.kind": "measurement",
        "geomexp.model": "m",
        "geomexp.subject": f"{lang}, {track}",
        "geomexp.analyses": "isotropy,isoscore,sts",
        "geomexp.enhancement": enhancement,
        "choice.lang": lang,
    }
    rec = RunRecord(run_id, run_id, "x", "FINISHED", 1, params={"model": "m"}, tags=tags, metrics=metrics)
    infos = {"isotropy": isotropy_analysis.info, "isoscore": isoscore_analysis.info, "sts": STS_INFO}
    return RunAtLayer(rec, 6, {}, infos)


def _planted(enhancement: str, run_id: str, shift: float = 0.0) -> RunAtLayer:
    """Layers 0-6: I_Cos falls and STS rises with the layer (raw), the enhanced space likewise, shifted."""
    metrics = {}
    for layer in range(7):
        metrics[("i_cos", layer)] = 0.5 - 0.05 * layer
        metrics[("sts_spearman", layer)] = 60.0 + layer
        metrics[(f"i_cos/{enhancement}", layer)] = 0.1 - 0.01 * layer - shift
        metrics[(f"sts_spearman/{enhancement}", layer)] = 70.0 + layer
        metrics[(f"sts_spearman/{enhancement}/zero_shot", layer)] = 10.0  # no isotropy value: no point
        metrics[("isoscore", layer)] = 0.1 + 0.01 * layer
        metrics[("isoscore_ci_low", layer)] = 0.1 + 0.01 * layer - 0.02
        metrics[("isoscore_ci_high", layer)] = 0.1 + 0.01 * layer + 0.02
    return _record(run_id, "en", "sts5 en-en", metrics, enhancement)


def test_points_pair_the_same_layer_and_space_and_count_a_shared_raw_space_once():
    runs = Runs([_planted("cluster", "a" * 32), _planted("abtt", "b" * 32, shift=0.005)])
    points = collect_points(runs)
    spaces = sorted({p.space for p in points})
    assert spaces == ["abtt", "cluster", "raw"]  # zero-shot spaces gave none
    assert len(points) == 3 * 7  # the raw space of both runs counts once per layer
    raw3 = next(p for p in points if p.space == "raw" and p.layer == 3)
    assert raw3.runs == ["a" * 32, "b" * 32] and raw3.get("i_cos") == (pytest.approx(0.35), 0.0)
    value, se = raw3.get("isoscore")
    assert value == pytest.approx(0.13) and se == pytest.approx(0.04 / (2 * Z95))  # from the logged interval
    assert raw3.track == "sts5 en-en" and raw3.lang == "en"
    (a_cos,) = associations(points, ("i_cos",))
    # within each space I_Cos falls as STS rises; the enhanced spaces are lower in I_Cos and higher in STS
    x = [0.5 - 0.05 * k for k in range(7)] + [0.1 - 0.01 * k for k in range(7)] + [0.095 - 0.01 * k for k in range(7)]
    y = [60.0 + k for k in range(7)] + [70.0 + k for k in range(7)] * 2
    assert len(a_cos.points) == 21 and a_cos.rho == pytest.approx(_spearman_by_hand(x, y))
    assert a_cos.rho < -0.5


def test_table_and_scatter_show_every_point():
    runs = Runs([_planted("cluster", "a" * 32)])
    df = downstream_table(runs)
    assert df["measure"].tolist() == ["I_Cos", "IsoScore"]  # the measures the runs logged, in order
    assert df["points"].tolist() == [14, 7] and df["layers"].tolist() == [7, 7]  # IsoScore: raw space only
    assert df["interval over"].tolist() == ["points", "points and their own intervals"]
    assert df["isotropic when"].tolist() == ["lower", "higher"]
    x = [0.5 - 0.05 * k for k in range(7)] + [0.1 - 0.01 * k for k in range(7)]
    y = [60.0 + k for k in range(7)] + [70.0 + k for k in range(7)]
    assert df["Spearman ρ"].tolist() == [pytest.approx(_spearman_by_hand(x, y)), pytest.approx(1.0)]
    assert df["95% low"].iloc[1] < 0.95 < df["95% high"].iloc[1] <= 1  # the per-point errors open the interval
    fig = downstream_scatter(runs)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 2 and "ρ =" in panels[0].get_title()
    assert sum(len(c.get_children()) > 0 for c in panels[0].containers) == 14  # one errorbar container per point


def test_no_points_without_both_measures():
    metrics = {("i_cos", 0): 0.1, ("i_cos", 1): 0.2}
    runs = Runs([_record("c" * 32, "en", "sts5 en-en", metrics)])
    assert collect_points(runs) == [] and downstream_table(runs) is None and downstream_scatter(runs) is None


def test_language_code_names_its_monolingual_track():
    from geomexp.tasks.sts.data import track_id

    assert [track_id(c) for c in ("ar", "es", "en")] == ["1", "3", "5"]
    with pytest.raises(ConfigError, match="monolingual track"):
        track_id("tr")


@pytest.mark.slow
def test_isotropy_vs_sts_experiment_end_to_end(tmp_path, data_root, store_uri):
    """``experiment=isotropy_vs_sts`` for MiniLM on en and es (every layer, cluster-enhanced), then the report:
    28 points (2 languages × 7 layers × raw/cluster), each value as logged."""
    from geomexp.experiment import run
    from geomexp.report import collect_runs, make_report

    uri = store_uri
    small = [
        "experiment=isotropy_vs_sts",
        "model=minilm",
        "data.n_tokens=600",
        "analysis.sts.n_bootstrap=50",
        "enhancement.params.n_clusters=3",
        "enhancement.params.n_components=2",
        "analysis.isotropy.plot=false",
        "analysis.sts.plot=false",
        "tracking.log_figures=false",
    ]
    results = {}
    for lang in ("en", "es"):
        cfg = compose_config(isolated_overrides(tmp_path, uri, data_root) + [*small, f"lang={lang}"])
        assert cfg.analysis.sts.track == lang  # follows the run's language
        results[lang] = run(cfg)
    report = make_report(uri, experiment="isotropy_vs_sts", out_dir=tmp_path / "report", formats="png", log=False)
    df = report.tables["isotropy_vs_sts"]
    row = df[df["measure"] == "I_Cos"].iloc[0]
    assert row["points"] == 28 and row["layers"] == 7
    assert row["tracks"] == "sts5 en-en, sts3 es-es" and row["spaces"] == "raw, cluster"
    assert row["95% low"] <= row["Spearman ρ"] <= row["95% high"]
    assert "isotropy_vs_sts" in report.figures
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    runs = collect_runs(uri, experiment="isotropy_vs_sts")
    points = collect_points(runs)
    for lang, res in results.items():
        track = "sts5 en-en" if lang == "en" else "sts3 es-es"
        for key, space in (("i_cos", "raw"), ("i_cos/cluster", "cluster")):
            logged = {h.step: h.value for h in client.get_metric_history(res.run_id, key)}
            got = {p.layer: p.get("i_cos")[0] for p in points if p.track == track and p.space == space}
            assert got == logged and len(got) == 7
    assert all(math.isfinite(p.get("sts_spearman")[0]) for p in points)


def test_by_track_keeps_the_tracks_levels_out_of_rho():
    """Two tracks where, WITHIN each, more isotropy (lower I_Cos) goes with better STS (ρ = -1), but the
    more isotropic track scores lower overall: pooled, ρ turns positive; by track it is -1 in both."""

    def track_run(run_id, lang, track, iso0, sts0):
        metrics = {}
        for layer in range(7):
            metrics[("i_cos", layer)] = iso0 - 0.01 * layer
            metrics[("sts_spearman", layer)] = sts0 + layer
        return _record(run_id, lang, track, metrics)

    runs = Runs(
        [track_run("a" * 32, "en", "sts5 en-en", 0.9, 80.0), track_run("b" * 32, "ar", "sts1 ar-ar", 0.2, 40.0)]
    )
    pooled = downstream_table(runs)
    assert pooled["Spearman ρ"].iloc[0] > 0.5 and pooled["points"].iloc[0] == 14
    by_track = downstream_table(runs, by_track=True)
    assert by_track["track"].tolist() == ["sts5 en-en", "sts1 ar-ar"] and by_track["points"].tolist() == [7, 7]
    assert by_track["Spearman ρ"].tolist() == [pytest.approx(-1.0), pytest.approx(-1.0)]
    assert "tracks" not in by_track.columns
    # one track only: no by-track table (it would repeat the pooled one)
    assert downstream_table(Runs([track_run("c" * 32, "en", "sts5 en-en", 0.9, 80.0)]), by_track=True) is None
