"""run.py as a user runs it: subprocesses, real `-m` sweeps with the basic, joblib and submitit launchers."""

import os
import subprocess
import sys

import pytest
from conftest import ROOT, isolated_overrides
from mlflow.tracking import MlflowClient

FAST = ["data.n_tokens=150", "analysis.isotropy.n_pairs=100", "analysis.isotropy.plot=false"]


def run_py(args, tmp_path, store_uri, data_root, env=None, timeout=600, flags=()):
    full_env = {**os.environ, **(env or {})}
    full_env.pop("MLFLOW_RUN_ID", None)
    cmd = [sys.executable, "run.py", *args, *isolated_overrides(tmp_path, store_uri, data_root), *flags]
    return subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout)


def test_hub_model_offline_fails_fast_with_one_clear_line(tmp_path, store_uri, data_root):
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "HF_HUB_CACHE": str(tmp_path / "hf" / "hub")}
    proc = run_py(["model=mbert", "lang=en"], tmp_path, store_uri, data_root, env=env)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "error: model 'mbert' (bert-base-multilingual-cased)" in proc.stderr
    assert "model.path=" in proc.stderr and "model=minilm or model=me5_small" in proc.stderr


def test_unknown_model_lists_the_options(tmp_path, store_uri, data_root):
    proc = run_py(["model=gpt5"], tmp_path, store_uri, data_root)
    assert proc.returncode != 0
    assert "Could not find 'model/gpt5'" in proc.stderr
    assert "me5_small" in proc.stderr and "xlmr" in proc.stderr


def sweep_runs(store_uri, experiment="geomexp"):
    client = MlflowClient(store_uri)
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], max_results=100)
    parents = [r for r in runs if r.data.tags.get("geomexp.kind") == "sweep"]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return parents, children


def check_sweep(store_uri, expected_jobs):
    parents, children = sweep_runs(store_uri)
    assert len(parents) == 1
    parent = parents[0]
    assert parent.info.status == "FINISHED" and parent.data.tags["children"] == str(len(expected_jobs))
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parent.info.run_id}
    assert {(c.data.params["model"], c.data.params["subject"]) for c in children} == expected_jobs
    for c in children:
        assert c.info.status == "FINISHED"
        assert {"i_cos", "i_pc", "i_cos_exact"} <= set(c.data.metrics)
        assert c.data.tags["choice.model"] == c.data.params["model"]
    return parent, children


@pytest.mark.slow
def test_sweep_basic_launcher_one_parent_four_children(tmp_path, store_uri, data_root):
    proc = run_py(["-m", "model=minilm,me5_small", "lang=en,sw", *FAST], tmp_path, store_uri, data_root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    parent, _ = check_sweep(store_uri, {(m, lang) for m in ("minilm", "me5_small") for lang in ("en", "sw")})
    sweep_dirs = list((tmp_path / "multirun").glob("*/*"))
    assert len(sweep_dirs) == 1
    assert (sweep_dirs[0] / "mlflow_parent_run_id.txt").read_text().strip() == parent.info.run_id
    assert sorted(p.name for p in sweep_dirs[0].iterdir() if p.is_dir()) == ["0", "1", "2", "3"]


@pytest.mark.slow
def test_sweep_submitit_local_launcher(tmp_path, store_uri, data_root):
    """The submitit launcher's code path without a cluster. Where SLURM is installed (as on CI),
    ``tests/test_slurm.py`` runs the same launcher against a real one-node cluster instead, and this test
    steps aside to keep ``make test-full`` under 15 minutes."""
    from slurm_cluster import missing

    if not missing():
        pytest.skip("SLURM is installed: tests/test_slurm.py covers the submitit launcher on a real cluster")
    args = ["-m", "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10", "model=minilm", "lang=en,sw", *FAST]
    proc = run_py(args, tmp_path, store_uri, data_root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    check_sweep(store_uri, {("minilm", "en"), ("minilm", "sw")})


def test_slurm_launcher_config_composes(tmp_path, store_uri, data_root):
    proc = run_py(
        ["hydra/launcher=slurm"],
        tmp_path,
        store_uri,
        data_root,
        flags=["--cfg", "hydra", "--package", "hydra.launcher"],
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "SlurmLauncher" in proc.stdout and "timeout_min: 120" in proc.stdout
    assert "gpus_per_node: 0" in proc.stdout and "cpus_per_task: 4" in proc.stdout  # CPU only: it schedules anywhere
    gpu = run_py(
        ["hydra/launcher=slurm_gpu"],
        tmp_path,
        store_uri,
        data_root,
        flags=["--cfg", "hydra", "--package", "hydra.launcher"],
    )
    assert gpu.returncode == 0 and "gpus_per_node: 1" in gpu.stdout and "timeout_min: 120" in gpu.stdout


def test_a_slurm_job_tags_where_it_ran_and_sacct_noise_is_filtered(monkeypatch):
    import logging

    from geomexp.experiment.slurm import _SacctNoise, slurm_tags

    for var in ("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID", "SLURMD_NODENAME", "SLURM_RESTART_COUNT"):
        monkeypatch.delenv(var, raising=False)
    assert slurm_tags() == {}
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "40")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "2")
    monkeypatch.setenv("SLURMD_NODENAME", "node7")
    tags = slurm_tags()
    assert tags["slurm.job_id"] == "40_2" and tags["slurm.node"] == "node7" and tags["slurm.array_task_id"] == "2"
    noise = logging.LogRecord("submitit", logging.WARNING, "", 0, "Call #1 - Bypassing sacct error %s", ("x",), None)
    other = logging.LogRecord("submitit", logging.WARNING, "", 0, "Bypassing signal SIGCONT", (), None)
    assert not _SacctNoise().filter(noise) and _SacctNoise().filter(other)


def jobs_by_layer(store_uri):
    _, children = sweep_runs(store_uri)
    return children


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["joblib"])  # basic: the first sweep of the rerun test below
def test_a_failing_job_does_not_stop_the_sweep(tmp_path, fresh_store_uri, data_root, launcher):
    """joblib runs the jobs two at a time in worker processes on a store that does not exist yet (they
    create it and the experiment together); one fails, the others finish."""
    store_uri = fresh_store_uri
    args = [
        "-m",
        f"hydra/launcher={launcher}",
        "hydra.launcher.n_jobs=2",
        "model=minilm",
        "lang=sw",
        "layer.index=2,9,4",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        *FAST,
    ]
    proc = run_py(args, tmp_path, store_uri, data_root)
    assert proc.returncode == 1
    assert "1 sweep job(s) failed:" in proc.stderr
    assert "job 1 (model=minilm lang=sw layer.index=9" in proc.stderr and "out of range" in proc.stderr
    parents, children = sweep_runs(store_uri)
    assert parents[0].info.status == "FAILED" and parents[0].data.tags["failed_jobs"] == "1"
    status = {c.data.params["layer"]: c.info.status for c in children}
    assert status == {"2": "FINISHED", "9": "FAILED", "4": "FINISHED"}
    failed = next(c for c in children if c.info.status == "FAILED")
    assert "layer.index=9 is out of range" in failed.data.tags["error"]


@pytest.mark.slow
def test_rerunning_a_sweep_skips_finished_jobs_and_reruns_failed_ones(tmp_path, store_uri, data_root):
    base = ["-m", "model=minilm", "lang=sw", "layer.index=2,9,4", *FAST]
    first = run_py([*base, f"hydra.sweep.dir={tmp_path / 's1'}"], tmp_path, store_uri, data_root)
    # a failing job does not stop the sweep (basic launcher; joblib: the test above)
    assert first.returncode == 1 and "1 sweep job(s) failed:" in first.stderr
    assert "job 1 (model=minilm lang=sw layer.index=9" in first.stderr and "out of range" in first.stderr
    parents, children = sweep_runs(store_uri)
    assert parents[0].info.status == "FAILED" and parents[0].data.tags["failed_jobs"] == "1"
    assert {c.data.params["layer"]: c.info.status for c in children} == {
        "2": "FINISHED",
        "9": "FAILED",
        "4": "FINISHED",
    }
    assert "layer.index=9 is out of range" in next(c for c in children if c.info.status == "FAILED").data.tags["error"]
    second = run_py([*base, f"hydra.sweep.dir={tmp_path / 's2'}"], tmp_path, store_uri, data_root)
    assert second.returncode == 1 and "skipped: this measurement already FINISHED" in second.stdout + second.stderr
    client = MlflowClient(store_uri)
    runs = client.search_runs([client.get_experiment_by_name("geomexp").experiment_id], max_results=100)
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    by_layer = {}
    for r in children:
        by_layer.setdefault(r.data.tags.get("geomexp.layer"), []).append(r)
    measured = [r for r in by_layer["2"] if r.data.tags["geomexp.kind"] == "measurement"]
    stand_ins = [r for r in by_layer["2"] if r.data.tags["geomexp.kind"] == "skipped"]
    assert len(measured) == 1  # not run again ...
    assert (
        len(stand_ins) == 1 and stand_ins[0].data.tags["geomexp.same_as"] == measured[0].info.run_id
    )  # ... but still in sweep 2
    assert stand_ins[0].data.tags["mlflow.parentRunId"] != measured[0].data.tags["mlflow.parentRunId"]
    assert len(by_layer["9"]) == 2  # the failed one ran again, and says so
    newest = max(by_layer["9"], key=lambda r: r.info.start_time)
    oldest = min(by_layer["9"], key=lambda r: r.info.start_time)
    assert newest.data.tags["resumed_after"] == oldest.info.run_id
    parents = sorted((r for r in runs if r.data.tags.get("geomexp.kind") == "sweep"), key=lambda r: r.info.start_time)
    assert parents[1].data.tags["skipped"] == "2"
    third = run_py(
        [*base, "tracking.resume=false", f"hydra.sweep.dir={tmp_path / 's3'}"], tmp_path, store_uri, data_root
    )
    assert third.returncode == 1
    layer2 = [
        r
        for r in client.search_runs([runs[0].info.experiment_id], max_results=100)
        if r.data.params.get("layer") == "2"
    ]
    assert len(layer2) == 2  # resume switched off: run again


@pytest.mark.slow
def test_layer_sweep_logs_each_run_at_its_layer_step(tmp_path, store_uri, data_root):
    proc = run_py(["-m", "model=minilm", "lang=sw", "layer=0,3,6", *FAST], tmp_path, store_uri, data_root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    client = MlflowClient(store_uri)
    _, children = sweep_runs(store_uri)
    steps = {
        c.data.params["layer"]: [m.step for m in client.get_metric_history(c.info.run_id, "i_pc")] for c in children
    }
    assert steps == {"0": [0], "3": [3], "6": [6]}


@pytest.mark.slow
def test_enhancement_sweep_gives_every_run_the_same_raw_keys(tmp_path, store_uri, data_root):
    methods = ["none", "center", "abtt", "whiten", "cluster"]
    proc = run_py(
        ["-m", "model=minilm", "lang=sw", f"enhancement={','.join(methods)}", *FAST], tmp_path, store_uri, data_root
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    _, children = sweep_runs(store_uri)
    metrics = {c.data.params["enhancement"]: c.data.metrics for c in children}
    keys = {method: set(m) for method, m in metrics.items()}
    assert set(keys) == set(methods)
    raw = keys["none"]
    assert raw >= {"i_cos", "i_cos_exact", "i_pc", "log_i_pc"}
    for method in methods[1:]:
        # raw keys in every run, enhanced ones suffixed, and (issue 31: MLflow's Compare and parallel
        # coordinates line up across methods) the same values under method-agnostic keys
        assert keys[method] == raw | {f"{k}/{method}" for k in raw} | {f"{k}/enhanced" for k in raw}, method
        assert all(metrics[method][f"{k}/enhanced"] == metrics[method][f"{k}/{method}"] for k in raw)
    assert all(len(c.data.params) <= 25 for c in children)
    names = [c.info.run_name for c in children]
    assert len(set(names)) == len(names)


def test_a_sweep_whose_store_cannot_be_created_stops_before_any_job_in_one_line(tmp_path, data_root):
    """Issue 26: Hydra turned the parent-run callback's error into a warning and launched every job, each
    failing the same way (or, with a lock timeout, running un-nested). Now: one line, exit 2, no job."""
    (tmp_path / "afile").write_text("")
    store = f"sqlite:///{tmp_path / 'afile' / 'mlflow.db'}"
    proc = run_py(["-m", "model=minilm", "lang=en,sw", *FAST], tmp_path, store, data_root)
    lines = [line for line in proc.stderr.splitlines() if line.strip() and "INFO" not in line]
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: tracking.uri="), proc.stderr
    assert "no job was started" in lines[0] and "Launching" not in proc.stdout + proc.stderr


def test_a_list_split_by_the_shell_is_one_clear_line():
    """Issue 31: ``analysis=[isotropy, isoscore]`` unquoted reached Hydra as two arguments and failed with
    "no viable alternative at input"; run.py now says what happened and how to write it."""
    from geomexp.config.arguments import split_list_message

    assert split_list_message(["langs=[en,sw]", "analysis=[isotropy]", "-m"]) is None
    message = split_list_message(["model=x", "langs=[en,", "sw,", "ar]"])
    assert message == (
        "'langs=[en,' 'sw,' 'ar]' is one list split by the shell at a space: write langs=[en,sw,ar] "
        "(no spaces) or quote it: 'langs=[en, sw, ar]'"
    )
    proc = subprocess.run(
        [sys.executable, "run.py", "analysis=[isotropy,", "isoscore]"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        "error: 'analysis=[isotropy,' 'isoscore]' is one list split by the shell at a space: write "
        "analysis=[isotropy,isoscore] (no spaces) or quote it: 'analysis=[isotropy, isoscore]'"
    ]


def test_the_console_prints_an_interval_low_end_before_its_high_end():
    from geomexp.analyses.isotropy import isotropy_analysis
    from geomexp.experiment.console import headline_keys

    keys = ["i_pc_ci_high", "i_cos_ci_high", "i_cos", "i_pc_ci_low", "i_cos_ci_low", "i_pc"]
    order = headline_keys([isotropy_analysis.info], keys)
    assert order.index("i_cos_ci_low") < order.index("i_cos_ci_high") < order.index("i_pc_ci_low")
    assert order.index("i_pc_ci_low") < order.index("i_pc_ci_high")
