"""geomexp.report: paper-style tables read back from a real SQLite MLflow store.

Runs come from the real pipeline (offline MiniLM, tiny samples) or, where a case
needs exact control (duplicates, steps, tracks, sweeps), are logged with
MlflowClient the way the pipeline names its tags and metrics.
"""

import re
import subprocess
import sys

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

from conftest import CONF, ROOT, all_artifacts, compose_config, isolated_overrides
from geomexp.errors import GeomexpError
from geomexp.pipeline import check_config, run
from geomexp.report import build_tables, collect_runs, main, make_report, to_markdown, write_report
from geomexp.tracking import ensure_experiment

SMALL = ["model=minilm", "data.n_tokens=150", "analysis.isotropy.n_pairs=100", "analysis.isotropy.plot=false", "tracking.log_figures=false"]


def report_runs(uri, experiment):
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id], filter_string="tags.`geomexp.report` = 'true'", order_by=["attributes.start_time ASC"])


def read_csv(path):
    return pd.read_csv(path, dtype={"track": str, "lang": str})


# --------------------------------------------------------------------------- real pipeline runs


@pytest.fixture(scope="module")
def real_store(tmp_path_factory, data_root, tiny_bert_dir):
    """Three real runs in experiment ``real``: MiniLM isotropy+IsoScore on en and sw, and STS track 5
    with the cluster enhancement (a tiny random BERT: encoding the track's 500 sentences stays fast)."""
    tmp = tmp_path_factory.mktemp("report-real")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    base = isolated_overrides(tmp, uri, data_root) + ["tracking.experiment=real"]
    results = {}
    for lang in ("en", "sw"):
        results[lang] = run(compose_config(base + SMALL + [f"lang={lang}", "analysis=[isotropy,isoscore]"]))
    sts = ["model=bert", f"model.path={tiny_bert_dir}", "analysis=sts", "analysis.sts.track=5", "analysis.sts.plot=false"]
    sts += ["enhancement=cluster", "enhancement.params.n_clusters=5", "enhancement.params.n_components=4", "enhancement.save=false"]
    results["sts5"] = run(compose_config(base + sts))
    return uri, results


def test_report_of_real_runs_tables_files_and_mlflow_run(real_store, tmp_path, capsys):
    uri, results = real_store
    out = tmp_path / "rep"
    assert main(["--experiment", "real", "--tracking-uri", uri, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"in {out}" in printed and str(out / "isotropy.md") in printed and "MLflow run" in printed

    iso = read_csv(out / "isotropy.csv")
    assert list(iso.columns) == ["model", "lang", "layer", "I_Cos", "I_PC", "IsoScore", "run_id"]
    assert iso["lang"].tolist() == ["en", "sw"] and iso["layer"].tolist() == [6, 6]
    for lang in ("en", "sw"):
        row = iso[iso["lang"] == lang].iloc[0]
        m = results[lang].metrics
        assert row["I_Cos"] == m[("i_cos", 6)] and row["I_PC"] == m[("i_pc", 6)] and row["IsoScore"] == m[("isoscore", 6)]
        assert row["run_id"] == results[lang].run_id
    pivot = read_csv(out / "isotropy_i_pc.csv")
    assert list(pivot.columns) == ["model", "en", "sw"]
    assert pivot.iloc[0].tolist() == ["minilm", results["en"].metrics[("i_pc", 6)], results["sw"].metrics[("i_pc", 6)]]

    sts = read_csv(out / "sts.csv")
    assert list(sts.columns) == ["model", "track", "pair", "layer", "enhancement", "baseline", "individual", "run_id"]  # en-en: no zero-shot
    (row,) = sts.to_dict("records")
    m = results["sts5"].metrics
    assert (row["model"], row["track"], row["pair"], row["layer"], row["enhancement"]) == ("bert", "5", "en-en", 2, "cluster")
    assert row["baseline"] == m[("sts_spearman/baseline", 2)] and row["individual"] == m[("sts_spearman/individual", 2)]
    by_track = read_csv(out / "sts_by_track.csv")
    assert by_track["method"].tolist() == ["baseline", "individual"] and list(by_track.columns) == ["model", "method", "5"]

    md = (out / "isotropy.md").read_text()
    assert "| model | lang | layer | I_Cos | I_PC | IsoScore | run_id |" in md
    en = results["en"]
    assert f"| minilm | en | 6 | {en.metrics[('i_cos', 6)]:.4g} | {en.metrics[('i_pc', 6)]:.4g} | {en.metrics[('isoscore', 6)]:.4g} | {en.run_id[:8]} |" in md
    report_md = (out / "report.md").read_text()
    assert "## STS 2017: Spearman × 100" in report_md and "## I_PC by language" in report_md and "![summary](summary.png)" in report_md
    assert not (out / "dimensions.md").exists() and not (out / "outliers.csv").exists()  # no data, no table
    assert (out / "summary.png").stat().st_size > 1000

    (rep,) = report_runs(uri, "real")
    assert rep.info.status == "FINISHED" and rep.info.run_name == "report"
    assert rep.data.tags["report.n_runs"] == "3" and rep.data.tags["report.layer"] == "last"
    files = all_artifacts(MlflowClient(uri), rep.info.run_id)
    for name in ("report.md", "isotropy.md", "isotropy.csv", "sts.csv", "sts_by_track.md", "summary.png", "runs.csv", "run_ids.txt"):
        assert f"report/{name}" in files

    # a second report reads the same three runs, not the first report run
    second = make_report(uri, experiment="real", out_dir=tmp_path / "again")
    assert sorted(r["run_id"] for r in second.records) == sorted(r.run_id for r in results.values())
    assert rep.info.run_id not in {r["run_id"] for r in second.records}
    assert [r.info.run_id for r in report_runs(uri, "real")] == [rep.info.run_id, second.run_id]
    assert read_csv(tmp_path / "again" / "isotropy.csv").equals(iso)


# --------------------------------------------------------------------------- runs logged directly


T0 = 1_700_000_000_000


def log_run(uri, experiment, *, metrics=None, tags=None, params=None, start=T0, status="FINISHED", steps=None, name="run"):
    """A run as the pipeline would log it; ``steps``: {step: {metric: value}} for a layer=all run."""
    client = MlflowClient(uri)
    exp_id = ensure_experiment(uri, experiment)
    base = {"model": "minilm", "lang": "en", "layer": "last", "enhancement": "none", "enhancement_fit": "individual", "num_layers": "6"}
    run_ = client.create_run(exp_id, start_time=start, tags={"mlflow.runName": name, **base, **(tags or {})})
    rid = run_.info.run_id
    batch = [Metric(k, v, start, 0) for k, v in (metrics or {}).items()]
    batch += [Metric(k, v, start, step) for step, values in (steps or {}).items() for k, v in values.items()]
    client.log_batch(rid, metrics=batch, params=[Param(k, v) for k, v in (params or {}).items()])
    client.set_terminated(rid, status, end_time=start + 500)
    return rid


def test_duplicates_take_the_most_recent_finished_run_and_say_so(store_uri, tmp_path):
    old = log_run(store_uri, "dup", metrics={"i_cos": 0.5, "i_pc": 0.1}, start=T0)
    new = log_run(store_uri, "dup", metrics={"i_cos": 0.6, "i_pc": 0.2}, start=T0 + 1000)
    log_run(store_uri, "dup", metrics={"i_cos": 0.9, "i_pc": 0.9}, start=T0 + 2000, status="FAILED")
    sw = log_run(store_uri, "dup", metrics={"i_cos": 0.7, "i_pc": 0.3}, tags={"lang": "sw"}, start=T0 + 100)
    log_run(store_uri, "dup", metrics={"i_pc": 0.99}, tags={"geomexp.report": "true"}, start=T0 + 3000, name="report")
    log_run(store_uri, "dup", tags={"geomexp.sweep": "parent"}, start=T0 + 4000, name="sweep-x")

    records = collect_runs(store_uri, experiment="dup")
    assert [r["run_id"] for r in records] == [old, sw, new]  # oldest first; failed, report and parent runs left out
    tables = build_tables(records)
    iso = tables["isotropy"]
    assert iso[["lang", "I_Cos", "I_PC"]].values.tolist() == [["en", 0.6, 0.2], ["sw", 0.7, 0.3]]
    assert iso["run_id"].tolist() == [new, sw]
    (note,) = iso.attrs["notes"]
    assert note.startswith("minilm · en · layer 6: 2 finished runs; shown: the most recent, run " + new[:8]) and note.endswith(old[:8])
    assert tables["isotropy_i_pc"].values.tolist() == [["minilm", 0.2, 0.3]]
    paths = write_report(tables, tmp_path / "out")
    assert "Note: minilm · en · layer 6: 2 finished runs" in (tmp_path / "out" / "isotropy.md").read_text()
    assert {p.name for p in paths} >= {"report.md", "isotropy.md", "isotropy.csv", "isotropy_i_pc.csv", "summary.png"}


def test_enhancement_before_after_dimensions_outliers_and_frequency(store_uri):
    dims = {"cc_top1_dim": 588.0, "cc_top1": 0.3, "cc_top1_share": 0.6, "cc_top2_dim": 21.0, "cc_top2": 0.1, "cc_top2_share": 0.2}
    dims |= {"cc_top3_dim": 300.0, "cc_top3": 0.05, "cc_top3_share": 0.1}
    log_run(store_uri, "geo", metrics={"i_cos": 0.4, "i_pc": 0.01, "isoscore": 0.2, **dims, "n_outliers": 2.0, "n_outliers_layernorm": 1.0})
    log_run(store_uri, "geo", metrics={"freq_rho_pc1": -0.42, "freq_probe_r2": 0.31}, tags={"lang": "sw"}, start=T0 + 10)
    enhanced = {"i_cos/before": 0.45, "i_pc/before": 0.02, "i_cos/after": 0.01, "i_pc/after": 0.8, "isoscore/after": 0.5, "n_outliers/after": 0.0}
    log_run(store_uri, "geo", metrics=enhanced, tags={"lang": "sw", "enhancement": "cluster"}, start=T0 + 20)
    tables = build_tables(collect_runs(store_uri, experiment="geo"))

    iso = tables["isotropy"]
    cols = ["lang", "enhancement", "I_Cos", "I_PC", "IsoScore", "I_Cos after", "I_PC after", "IsoScore after"]
    assert iso[cols].fillna(-1).values.tolist() == [["en", "none", 0.4, 0.01, 0.2, -1, -1, -1], ["sw", "cluster", 0.45, 0.02, -1, 0.01, 0.8, 0.5]]
    pc = tables["isotropy_i_pc"]  # raw space ("none") and after the enhancement, per language
    assert list(pc.columns) == ["model", "enhancement", "en", "sw"]
    assert pc.fillna(-1).values.tolist() == [["minilm", "none", 0.01, 0.02], ["minilm", "cluster", -1, 0.8]]

    d = tables["dimensions"]
    assert d[["top1 dim", "top2 dim", "top3 dim"]].values.tolist() == [[588, 21, 300]] and str(d["top1 dim"].dtype) == "Int64"
    assert d[["top1 CC", "top1 share", "top3 share"]].values.tolist() == [[0.3, 0.6, 0.1]]
    assert tables["dimensions_top3"].values.tolist() == [["minilm", "588 (60.0%), 21 (20.0%), 300 (10.0%)"]]
    out = tables["outliers"]
    assert out[["lang", "enhancement", "n_outliers"]].values.tolist() == [["en", "none", 2], ["sw", "cluster", 0]]
    assert out["n_outliers_layernorm"].tolist()[0] == 1 and out["n_outliers_layernorm"].isna().tolist() == [False, True]
    assert tables["frequency"][["lang", "rho PC1", "probe R2"]].values.tolist() == [["sw", -0.42, 0.31]]
    assert "sts" not in tables
    assert "n_outliers_both" not in out  # never logged: no column
    assert "| minilm | sw | 6 | cluster | individual | 0 | — |" in to_markdown(out)


def test_layer_choice_for_runs_that_logged_every_layer(store_uri):
    steps = {s: {"i_pc": s / 10, "i_cos": 1 - s / 10} for s in range(7)}
    every = log_run(store_uri, "layers", tags={"layer": "all"}, steps=steps)
    single = log_run(store_uri, "layers", metrics={"i_pc": 0.55}, tags={"lang": "sw"}, start=T0 + 10)
    last = build_tables(collect_runs(store_uri, experiment="layers"))["isotropy"]
    assert last[["lang", "layer", "I_PC"]].values.tolist() == [["en", 6, 0.6], ["sw", 6, 0.55]]
    records = collect_runs(store_uri, experiment="layers", layer=2)
    assert [(r["run_id"], r["layer"], r["i_pc"], r["i_cos"]) for r in records] == [(every, 2, 0.2, 0.8)]
    assert records.notes == [f"run {single[:8]} (run) analysed layer 6, not layer 2; left out (only runs with layer=all have every layer)"]
    assert [r["layer"] for r in collect_runs(store_uri, experiment="layers", layer=-1)] == [6, 6]
    with pytest.raises(GeomexpError, match="none of the 2 finished runs of experiment 'layers' has layer 9"):
        collect_runs(store_uri, experiment="layers", layer=9)


def test_sts_tracks_in_the_paper_order(store_uri):
    for i, track in enumerate(["6", "4b", "1", "5", "4a", "3", "2"]):
        tags = {"sts_track": track, "sts_pair": "x-y", "analyses": "sts"} if track != "3" else {"analyses": "sts"}
        metrics = {"sts_spearman/baseline": 50.0 + i, "sts_spearman/individual": 60.0 + i}
        if track != "5":
            metrics["sts_spearman/zero_shot"] = 70.0 + i
        log_run(store_uri, "sts", metrics=metrics, tags={**tags, "enhancement": "cluster"}, params={"analysis.sts.track": track}, start=T0 + i)
    tables = build_tables(collect_runs(store_uri, experiment="sts"))
    assert tables["sts"]["track"].tolist() == ["1", "2", "3", "4a", "4b", "5", "6"]
    wide = tables["sts_by_track"]
    assert list(wide.columns) == ["model", "method", "1", "2", "3", "4a", "4b", "5", "6"]
    assert wide["method"].tolist() == ["baseline", "individual", "zero_shot"]
    assert wide.iloc[0, 2:].tolist() == [52.0, 56.0, 55.0, 54.0, 51.0, 53.0, 50.0]
    assert pd.isna(wide.iloc[2]["5"])  # en-en has no zero-shot


def test_parent_reports_one_sweep(store_uri, tmp_path):
    p1 = log_run(store_uri, "sweeps", tags={"geomexp.sweep": "parent"}, name="sweep-1")
    p2 = log_run(store_uri, "sweeps", tags={"geomexp.sweep": "parent"}, name="sweep-2")
    a = log_run(store_uri, "sweeps", metrics={"i_pc": 0.1}, tags={"mlflow.parentRunId": p1})
    b = log_run(store_uri, "sweeps", metrics={"i_pc": 0.2}, tags={"mlflow.parentRunId": p1, "lang": "sw"}, start=T0 + 10)
    log_run(store_uri, "sweeps", metrics={"i_pc": 0.3}, tags={"mlflow.parentRunId": p2})
    log_run(store_uri, "sweeps", metrics={"i_pc": 0.4}, tags={"mlflow.parentRunId": p1, "lang": "ar"}, status="FAILED")
    report = make_report(store_uri, parent=p1, out_dir=tmp_path / "r")
    assert [r["run_id"] for r in report.records] == [a, b]
    assert report.tables["isotropy_i_pc"].values.tolist() == [["minilm", 0.1, 0.2]]
    tags = MlflowClient(store_uri).get_run(report.run_id).data.tags
    assert tags["report.parent"] == p1 and tags["geomexp.report"] == "true" and "mlflow.parentRunId" not in tags
    assert len(collect_runs(store_uri, experiment="sweeps")) == 3  # the whole experiment: every finished child


@pytest.mark.parametrize(
    "case, match",
    [
        ("unknown_experiment", r"error: experiment 'nope' not found in sqlite:///.*; experiments there: Default, bad"),
        ("no_finished_runs", r"error: experiment 'bad' has no finished runs \(1 run\(s\), none FINISHED\)"),
        ("unknown_parent", r"error: run '0123abc' not found in the tracking store sqlite:///"),
        ("not_a_parent", r"error: run \w+ \(experiment 'bad'\) has no child runs \(--parent takes the id of a sweep's parent run"),
        ("no_store", r"error: no MLflow store at .*missing\.db"),
        ("bad_layer", r"error: --layer 'top' is not valid: use last or an integer layer"),
    ],
)
def test_bad_input_is_one_clear_line(store_uri, tmp_path, capsys, case, match):
    failed = log_run(store_uri, "bad", metrics={"i_pc": 0.1}, status="FAILED")
    args = {
        "unknown_experiment": ["--experiment", "nope"],
        "no_finished_runs": ["--experiment", "bad"],
        "unknown_parent": ["--parent", "0123abc"],
        "not_a_parent": ["--parent", failed],
        "no_store": ["--experiment", "bad", "--tracking-uri", f"sqlite:///{tmp_path / 'missing.db'}"],
        "bad_layer": ["--experiment", "bad", "--layer", "top"],
    }[case]
    if "--tracking-uri" not in args:
        args += ["--tracking-uri", store_uri]
    capsys.readouterr()  # MLflow's own lines from creating the store above
    assert main([*args, "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
    assert re.fullmatch(match + ".*", captured.err.strip()), captured.err
    assert not (tmp_path / "out").exists() and not (tmp_path / "missing.db").exists()
    assert report_runs(store_uri, "bad") == []


def test_the_command_line_exits_2_without_a_traceback(store_uri):
    log_run(store_uri, "cli", metrics={"i_pc": 0.1})
    proc = subprocess.run(
        [sys.executable, "-m", "geomexp.report", "--experiment", "nope", "--tracking-uri", store_uri],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"error: experiment 'nope' not found in {store_uri}; experiments there: Default, cli"


def test_no_tabulated_metric_is_an_error(store_uri):
    log_run(store_uri, "other", metrics={"something_else": 1.0})
    with pytest.raises(GeomexpError, match="none of the 1 finished runs of experiment 'other' logged a metric the report tabulates"):
        make_report(store_uri, experiment="other")


# --------------------------------------------------------------------------- experiment files


@pytest.mark.parametrize(
    "experiment, analyses, enhancement, sweep",
    [
        ("paper_sts", ["sts"], "cluster", {"model": "mbert,xlmr", "analysis.sts.track": "1,2,3,4a,4b,5,6"}),
        ("offline_sts", ["sts"], "cluster", {"model": "me5_small", "analysis.sts.track": "1,2,3,4a,4b,5,6"}),
        ("offline_geometry", ["isotropy", "dimensions", "outliers", "isoscore"], "none", {"model": "minilm,me5_small", "lang": "en,es,ar,tr,sw,su"}),
    ],
)
def test_report_experiments_compose_with_their_sweeps(tmp_path, store_uri, data_root, experiment, analyses, enhancement, sweep):
    overrides = isolated_overrides(tmp_path, store_uri, data_root) + [f"experiment={experiment}"]
    with initialize_config_dir(version_base="1.3", config_dir=str(CONF), job_name="test"):
        cfg = compose(config_name="config", overrides=overrides, return_hydra_config=True)
    assert list(cfg.analysis) == analyses and cfg.enhancement.name == enhancement
    assert cfg.layer.index == "last" and cfg.tracking.experiment == experiment
    assert {k: str(v) for k, v in cfg.hydra.sweeper.params.items()} == sweep
    check_config(compose_config(overrides))
