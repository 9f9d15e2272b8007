"""Sweeps on a REAL SLURM cluster (issue 27): a one-node cluster on loopback (``tests/slurm_cluster.py``:
munged, slurmctld, slurmd from Debian's ``slurm-wlm``/``munge``, which ``.ci/run`` installs), and
``run.py -m hydra/launcher=slurm`` submitting to it through Hydra's submitit launcher, as on a cluster.

Skipped, with one line naming the missing programs, where SLURM is not installed. Not covered here:
time limits and requeue (``max_num_timeout``) and preemption; see docs/guide-clusters.md.
"""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest
from slurm_cluster import OneNodeCluster, missing
from test_cli import FAST, run_py, sweep_runs

pytestmark = pytest.mark.slow

SLURM = [
    "hydra/launcher=slurm",
    "hydra.launcher.cpus_per_task=1",
    "hydra.launcher.mem_gb=2",
    "hydra.launcher.timeout_min=10",
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    import os

    absent = missing()
    if absent:
        pytest.skip(f"SLURM is not installed here (missing {', '.join(absent)}): apt-get install slurm-wlm munge")
    if os.geteuid() != 0:
        pytest.skip("starting slurmd (which launches the jobs) needs root here")
    c = OneNodeCluster(tmp_path_factory.mktemp("slurm"), cpus=2).start()
    yield c
    c.stop()


def test_the_missions_sweep_runs_on_slurm_one_job_each_tagged_with_its_job_and_log(
    cluster, tmp_path, store_uri, data_root
):
    args = ["-m", *SLURM, "model=minilm,me5_small", "lang=en,sw", *FAST, f"hydra.sweep.dir={tmp_path / 'sweep'}"]
    proc = run_py(args, tmp_path, store_uri, data_root, env=cluster.env(), timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    parents, children = sweep_runs(store_uri)
    (parent,) = parents
    assert parent.info.status == "FINISHED" and parent.data.tags["children"] == "4"
    assert {(c.data.params["model"], c.data.params["subject"]) for c in children} == {
        (m, lang) for m in ("minilm", "me5_small") for lang in ("en", "sw")
    }
    jobs = {c.data.tags["slurm.job_id"] for c in children}
    (array,) = {c.data.tags["slurm.array_job_id"] for c in children}  # one job array
    assert jobs == {f"{array}_{i}" for i in range(4)}  # one task a job
    for c in children:
        assert c.info.status == "FINISHED" and c.data.tags["slurm.node"] == cluster.node
        assert Path(c.data.tags["slurm.log"]).is_file()  # the job's own stdout, as submitit wrote it
    # a cluster without accounting: one line says so, not three warnings per poll of sacct
    console = proc.stdout + proc.stderr
    assert console.count("SLURM keeps no job accounting") == 1
    assert "Bypassing sacct error" not in console and "accounting storage is disabled" not in console


def _cancel_when_running(task: str, env: dict, store_uri: str, deadline: float = 180.0) -> list[str]:
    """Wait until array task ``_<task>`` runs and its MLflow run is open (RUNNING), then ``scancel`` it; the job
    ids cancelled. (Cancelled before its run exists, a job leaves no run to check: a cold start, e.g. in a
    fresh clone, takes seconds longer.)"""
    from mlflow.tracking import MlflowClient

    end = time.monotonic() + deadline
    while time.monotonic() < end:
        out = subprocess.run(["squeue", "-h", "-o", "%i %T"], env=env, capture_output=True, text=True).stdout
        target = [
            line.split()[0]
            for line in out.splitlines()
            if line.endswith("RUNNING") and line.split()[0].endswith(f"_{task}")
        ]
        if target:
            client = MlflowClient(store_uri)
            exp = client.get_experiment_by_name("geomexp")
            runs = (
                []
                if exp is None
                else client.search_runs(
                    [exp.experiment_id],
                    filter_string=f"tags.`slurm.array_task_id` = '{task}' and attributes.status = 'RUNNING'",
                )
            )
            if runs:
                time.sleep(1.0)
                subprocess.run(["scancel", target[0]], env=env, check=True)
                return [target[0]]
        time.sleep(0.5)
    return []


def test_scancel_ends_that_run_killed_the_others_finish_and_share_one_encoding(cluster, tmp_path, store_uri, data_root):
    """Job 0 encodes most of the English corpus and is cancelled while it runs: its run ends KILLED, the
    sweep ends FAILED (exit 1) naming it. Jobs 1 and 2 need the same representations (the same sample):
    run side by side on the node, one encodes, the other waits on the cache's
    lock and reads what it wrote."""
    import os

    env = {**os.environ, **cluster.env()}
    args = [
        "-m",
        *SLURM,
        "model=minilm",
        "lang=en",
        "data.n_tokens=40000,150,150",  # 0: most of the English corpus (cancelled); 1 and 2: the same sample
        "analysis.isotropy.plot=false",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    ]
    cancelled: list[str] = []
    canceller = threading.Thread(target=lambda: cancelled.extend(_cancel_when_running("0", env, store_uri)))
    canceller.start()
    proc = run_py(args, tmp_path, store_uri, data_root, env=cluster.env(), timeout=400)
    canceller.join()
    assert cancelled, "job 0 was never seen running"
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "1 sweep job(s) failed:" in proc.stderr and "job 0 (" in proc.stderr and "received SIGTERM" in proc.stderr
    parents, children = sweep_runs(store_uri)
    (parent,) = parents
    assert parent.info.status == "FAILED"
    by_job = {c.data.tags["slurm.array_task_id"]: c for c in children}
    assert by_job["0"].info.status == "KILLED" and "SIGTERM" in by_job["0"].data.tags["error"]
    assert by_job["0"].data.tags["slurm.job_id"] == cancelled[0]
    shared = [by_job["1"], by_job["2"]]
    assert all(c.info.status == "FINISHED" for c in shared)
    assert shared[0].data.tags["cache_key"] == shared[1].data.tags["cache_key"]
    assert sorted(c.data.tags["cache_hit"] for c in shared) == ["false", "true"]  # encoded once
