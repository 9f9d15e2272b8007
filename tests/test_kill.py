"""Killed processes (issue 16, item 8 and 9): real processes and real signals, each bounded in time.

SIGTERM ends a run KILLED with the reason; kill -9 leaves a RUNNING run that the next run marks
FAILED ("abandoned"); a killed joblib sweep leaves no worker running.
"""

import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import ROOT, isolated_overrides
from mlflow.tracking import MlflowClient

from geomexp.tracking.store import client as locked_client

pytestmark = pytest.mark.slow

#: big enough that the run is still encoding when the signal comes
SLOW_RUN = ["model=minilm", "lang=en", "data.n_tokens=20000", "analysis.isotropy.plot=false"]


def start(args, tmp_path, store_uri, data_root):
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_RUN_ID"}
    cmd = [sys.executable, "run.py", *args, *isolated_overrides(tmp_path, store_uri, data_root)]
    # output to files: orphaned workers keep inherited pipes open, so reading a pipe to its end would hang
    with open(tmp_path / "stdout.txt", "w") as out, open(tmp_path / "stderr.txt", "w") as err:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=err, start_new_session=True)


def finish(proc, tmp_path, timeout):
    """Wait for ``proc`` (bounded) and return its stderr."""
    proc.wait(timeout=timeout)
    return (tmp_path / "stderr.txt").read_text()


def wait_for_running(store_uri, n=1, timeout=120, kind="measurement"):
    """The first ``n`` RUNNING runs (of ``kind``) in the store, waiting up to ``timeout`` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(store_uri[len("sqlite:///") :]):
            client = locked_client(store_uri)  # the store may be being created right now
            exp = client.get_experiment_by_name("geomexp")
            if exp is not None:
                runs = client.search_runs([exp.experiment_id], "attributes.status = 'RUNNING'")
                runs = [r for r in runs if r.data.tags.get("geomexp.kind") == kind]
                if len(runs) >= n:
                    return runs
        time.sleep(0.2)
    raise AssertionError(f"no {n} RUNNING run(s) within {timeout} s")


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sigterm_ends_the_run_killed_with_the_reason(tmp_path, store_uri, data_root):
    proc = start(SLOW_RUN, tmp_path, store_uri, data_root)
    try:
        (run,) = wait_for_running(store_uri)
        time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        err = finish(proc, tmp_path, 60)
    finally:
        proc.kill()
    assert proc.returncode == 143, err[-2000:]
    assert "Traceback" not in err and "error: terminated (received SIGTERM)" in err
    after = MlflowClient(store_uri).get_run(run.info.run_id)
    assert after.info.status == "KILLED"
    assert after.data.tags["error"] == "Terminated: received SIGTERM"


def test_kill_9_leaves_a_run_the_next_run_marks_abandoned(tmp_path, store_uri, data_root):
    proc = start(SLOW_RUN, tmp_path, store_uri, data_root)
    try:
        (run,) = wait_for_running(store_uri)
        proc.send_signal(signal.SIGKILL)
        finish(proc, tmp_path, 30)
    finally:
        proc.kill()
    client = MlflowClient(store_uri)
    assert client.get_run(run.info.run_id).info.status == "RUNNING"  # nothing could mark it
    from geomexp.tracking import tracked_run

    with tracked_run(store_uri, "geomexp", "next"):
        pass
    after = client.get_run(run.info.run_id)
    assert after.info.status == "FAILED"
    assert after.data.tags["error"].startswith(f"abandoned: its process {proc.pid} on ")


def test_a_killed_joblib_sweep_leaves_no_worker_running(tmp_path, store_uri, data_root):
    args = ["-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", *SLOW_RUN[:1], "lang=en,sw", *SLOW_RUN[2:]]
    proc = start(args, tmp_path, store_uri, data_root)
    try:
        runs = wait_for_running(store_uri, n=2, timeout=180)
        workers = [int(r.data.tags["geomexp.pid"]) for r in runs]
        assert proc.pid not in workers
        proc.send_signal(signal.SIGKILL)  # the sweep's process only: its workers are orphaned
        finish(proc, tmp_path, 30)
        deadline = time.time() + 45
        while any(alive(w) for w in workers) and time.time() < deadline:
            time.sleep(0.5)
        left = [w for w in workers if alive(w)]
    finally:
        proc.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the session
    assert not left, f"workers {left} still running 45 s after the sweep's process was killed"
    client = MlflowClient(store_uri)
    assert {client.get_run(r.info.run_id).info.status for r in runs} == {"KILLED"}
