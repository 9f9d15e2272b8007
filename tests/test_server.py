"""A real MLflow tracking server, the way a team shares results across machines (slow).

``mlflow server`` on 127.0.0.1 with a SQLite backend and an artifact root in a temp folder;
a joblib sweep logs to it over HTTP, ``geomexp.report`` reads it back, and
``geomexp.reproduce`` re-runs one of its runs from what the server stored.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from conftest import ROOT, isolated_overrides
from mlflow.tracking import MlflowClient

pytestmark = pytest.mark.slow

FAST = ["model=minilm", "data.n_tokens=150", "analysis.isotropy.n_pairs=100", "analysis.isotropy.plot=false"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    port = free_port()
    (tmp_path / "server").mkdir()
    with open(tmp_path / "server.log", "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlflow",
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
                "--backend-store-uri",
                f"sqlite:///{tmp_path / 'server' / 'mlflow.db'}",
                "--artifacts-destination",
                str(tmp_path / "server" / "artifacts"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2):
                break
        except OSError as err:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise AssertionError(
                    "mlflow server did not start:\n" + (tmp_path / "server.log").read_text()[-3000:]
                ) from err
            time.sleep(0.5)
    yield url
    os.killpg(proc.pid, 9)  # a throwaway server: no graceful shutdown needed (it took ~25 s)
    proc.wait(timeout=30)


def python(args, tmp_path, timeout=600):
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_RUN_ID"}
    proc = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def test_sweep_report_and_reproduce_against_a_real_tracking_server(server, tmp_path, data_root):
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
