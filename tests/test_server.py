"""A real MLflow tracking server, the way a team shares results across machines (slow).

``mlflow server`` on 127.0.0.1 with a SQLite backend and an artifact root in a temp folder;
a joblib sweep logs to it over HTTP, ``geomexp.report`` reads it back, and
``geomexp.reproduce`` re-runs one of its runs from what the server stored.
"""

import os
import subprocess
import sys

import pytest
from conftest import ROOT, isolated_overrides
from mlflow.tracking import MlflowClient

pytestmark = pytest.mark.slow

FAST = ["model=minilm", "data.n_tokens=150", "analysis.isotropy.n_pairs=100", "analysis.isotropy.plot=false"]


def python(args, tmp_path, timeout=600):
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_RUN_ID"}
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def test_sweep_report_and_reproduce_against_a_real_tracking_server(mlflow_server, tmp_path, data_root):
    server = mlflow_server
    overrides = isolated_overrides(tmp_path, server, data_root)
    python(
        ["run.py", "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "lang=en,sw", *FAST, *overrides], tmp_path
    )

    client = MlflowClient(server)
    exp = client.get_experiment_by_name("geomexp")
    runs = client.search_runs([exp.experiment_id])
    (parent,) = [r for r in runs if r.data.tags.get("geomexp.kind") == "sweep"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert parent.info.status == "FINISHED" and len(children) == 2
    assert all(c.info.status == "FINISHED" and "i_cos" in c.data.metrics for c in children)
    assert all(c.info.artifact_uri.startswith("mlflow-artifacts:") for c in children)  # served over HTTP

    report = python(
        [
            "-m",
            "geomexp.report",
            "--parent",
            parent.info.run_id,
            "--tracking-uri",
            server,
            "--out",
            str(tmp_path / "rep"),
        ],
        tmp_path,
    )
    assert "report of 2 run(s)" in report.stdout
    assert any(p.suffix == ".md" for p in (tmp_path / "rep").iterdir())

    repro = python(
        ["-m", "geomexp.reproduce", children[0].info.run_id, "--tracking-uri", server]
        + ["--cache-dir", str(tmp_path / "cache"), "--data-root", str(data_root)],
        tmp_path,
    )
    assert "all metrics equal" in repro.stdout
