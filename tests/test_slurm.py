"""Sweeps on a REAL SLURM cluster (issue 27): a one-node cluster on loopback (``tests/slurm_cluster.py``:
munged, slurmctld, slurmd from Debian's ``slurm-wlm``/``munge``, which ``.ci/run`` installs), and
``run.py -m hydra/launcher=slurm`` submitting to it through Hydra's submitit launcher, as on a cluster.

Covered: the mission's sweep logging to a shared MLflow server; the signal SLURM sends before a time
limit (sent here with ``scancel --signal=USR2``, as SLURM does ``signal_delay_s`` before the limit) with a
requeue left (the job restarts and resumes its run) and without (the run FAILS saying "time limit");
``scontrol requeue`` (what preemption does: the job restarts and resumes its run); ``scancel``; two jobs
sharing one encoding. Skipped, with one line naming the missing programs, where SLURM is not installed.
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


def _open_run(store_uri: str, task: str):
    """The RUNNING MLflow run of array task ``task``, or None."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(store_uri)
    exp = client.get_experiment_by_name("geomexp")
    if exp is None:
        return None
    runs = client.search_runs(
        [exp.experiment_id],
        filter_string=f"tags.`slurm.array_task_id` = '{task}' and attributes.status = 'RUNNING'",
    )
    return runs[0] if runs else None


def _squeue(env: dict) -> dict[str, tuple[str, str]]:
    """``{job id: (state, reason)}`` of the cluster's jobs."""
    out = subprocess.run(["squeue", "-h", "-o", "%i %T %r"], env=env, capture_output=True, text=True).stdout
    return {f[0]: (f[1], f[2]) for f in (line.split() for line in out.splitlines()) if len(f) == 3}


def _when_running(task: str, env: dict, store_uri: str, act, restarts: int = 0, deadline: float = 180.0):
    """Once array task ``_<task>`` runs and its MLflow run is open (RUNNING, tagged ``slurm.restarts``
    ``restarts`` times restarted), ``act(job_id)`` and return the job id; None if that never happens. (A job
    stopped before its run exists leaves nothing to check: a cold start takes seconds longer.)"""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        jobs = [j for j, (state, _) in _squeue(env).items() if state == "RUNNING" and j.endswith(f"_{task}")]
        run = _open_run(store_uri, task) if jobs else None
        if run is not None and int(run.data.tags.get("slurm.restarts", "0")) == restarts:
            act(jobs[0])
            return jobs[0]
        time.sleep(0.2)
    return None


def _release_requeued(job: str, task: str, env: dict, store_uri: str, deadline: float = 60.0) -> bool:
    """A requeued job waits two minutes before it may start again (SLURM's begin time, which lets its
    earlier start finish closing): as the cluster's admin, let it start as soon as that start's step is
    gone and its run is closed. Whether it was seen waiting."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        waiting = _squeue(env).get(job, ("", ""))[1] == "BeginTime"
        steps = subprocess.run(["squeue", "-h", "-s", "-j", job], env=env, capture_output=True, text=True).stdout
        if waiting and not steps.strip() and _open_run(store_uri, task) is None:
            time.sleep(2.0)  # slurmd refuses a start in the second its earlier start was killed ("credential revoked")
            subprocess.run(["scontrol", "update", f"JobId={job}", "StartTime=now"], env=env, check=True)
            return True
        time.sleep(0.2)
    return False


def _signal(job: str, env: dict, name: str) -> None:
    """Send ``name`` to the job's steps, as SLURM does ``hydra.launcher.signal_delay_s`` before its time limit."""
    subprocess.run(["scancel", f"--signal={name}", job], env=env, check=True)


def test_the_missions_sweep_on_slurm_logs_to_a_server_and_requeued_jobs_resume_their_runs(
    cluster, tmp_path, mlflow_server, data_root
):
    """The mission's sweep shape, the jobs logging to a shared MLflow server. While they run, job 2 gets the
    signal SLURM sends before a time limit (submitit requeues it: ``max_num_timeout=1``) and job 3 is
    requeued by the cluster (``scontrol requeue``, what preemption does): each ends its run KILLED saying so,
    restarts, resumes the same run and finishes. One FINISHED run a combination, one array, one parent."""
    import os

    env = {**os.environ, **cluster.env()}
    args = [
        "-m",
        *SLURM,
        "hydra.launcher.max_num_timeout=1",
        "model=minilm,me5_small",
        "lang=en,sw",
        *FAST,
        "data.n_tokens=3000",  # long enough to be stopped while its run is open
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    ]
    stopped: dict[str, str | None] = {}

    def stop(task: str, act) -> None:
        stopped[task] = _when_running(task, env, mlflow_server, act)
        stopped[f"{task} released"] = stopped[task] and _release_requeued(stopped[task], task, env, mlflow_server)

    stoppers = [
        threading.Thread(target=stop, args=("2", lambda job: _signal(job, env, "USR2"))),
        threading.Thread(
            target=stop, args=("3", lambda job: subprocess.run(["scontrol", "requeue", job], env=env, check=True))
        ),
    ]
    for s in stoppers:
        s.start()
    try:
        proc = run_py(args, tmp_path, mlflow_server, data_root, env=cluster.env(), timeout=240)
    except subprocess.TimeoutExpired as err:  # a job that never restarted leaves the sweep waiting: say which
        states = subprocess.run(["scontrol", "show", "job", "-o"], env=env, capture_output=True, text=True).stdout
        raise AssertionError(f"the sweep did not end; the cluster's jobs:\n{states}") from err
    for s in stoppers:
        s.join()
    assert stopped["2"] and stopped["3"], f"jobs not seen running: {stopped}"
    assert stopped["2 released"] and stopped["3 released"], f"requeued jobs not seen waiting: {stopped}"
    assert proc.returncode == 0, proc.stderr[-3000:]
    parents, children = sweep_runs(mlflow_server)
    (parent,) = parents
    assert parent.info.status == "FINISHED" and parent.data.tags["children"] == "4"
    assert {(c.data.params["model"], c.data.params["subject"]) for c in children} == {
        (m, lang) for m in ("minilm", "me5_small") for lang in ("en", "sw")
    }  # one run a combination: the requeued jobs resumed theirs
    jobs = {c.data.tags["slurm.job_id"] for c in children}
    (array,) = {c.data.tags["slurm.array_job_id"] for c in children}  # one job array
    assert jobs == {f"{array}_{i}" for i in range(4)}  # one task a job
    for c in children:
        assert c.info.status == "FINISHED" and "i_cos" in c.data.metrics and "error" not in c.data.tags
        assert c.data.tags["slurm.node"] == cluster.node
        assert Path(c.data.tags["slurm.log"]).is_file()  # the job's own stdout, as submitit wrote it
    by_task = {c.data.tags["slurm.array_task_id"]: c for c in children}
    for task in ("2", "3"):
        resumed = by_task[task].data.tags
        assert resumed["slurm.restarts"] == "1" and resumed["slurm.job_id"] == stopped[task]
        assert resumed["requeued"].startswith("requeued by SLURM"), resumed  # the start it resumed said why
    assert all("slurm.restarts" not in by_task[t].data.tags for t in ("0", "1"))
    # a cluster without accounting: one line says so, not three warnings per poll of sacct
    console = proc.stdout + proc.stderr
    assert console.count("SLURM keeps no job accounting") == 1
    assert "Bypassing sacct error" not in console and "accounting storage is disabled" not in console


def test_scancel_kills_a_run_a_time_limit_fails_one_the_others_finish_and_share_one_encoding(
    cluster, tmp_path, store_uri, data_root
):
    """Job 0 (most of the English corpus) is cancelled while it runs: its run ends KILLED. Job 3 (the same)
    gets the signal SLURM sends before its time limit, with no requeue left (``max_num_timeout=0``): its run
    ends FAILED saying "time limit". The sweep ends FAILED (exit 1) naming both. Jobs 1 and 2 need the same
    representations (the same sample): one encodes, the other waits on the cache's lock (or comes later)
    and reads what it wrote."""
    import os

    env = {**os.environ, **cluster.env()}
    args = [
        "-m",
        *SLURM,
        "hydra.launcher.max_num_timeout=0",
        "model=minilm",
        "lang=en",
        "data.n_tokens=40000,150,150,40000",  # 0, 3: most of the English corpus (stopped); 1, 2: the same sample
        "analysis.isotropy.plot=false",
        "tracking.resume=false",  # jobs 1 and 2 (0 and 3) are the same measurement: none may skip as done
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    ]
    stopped: dict[str, str | None] = {}
    stoppers = [
        threading.Thread(
            target=lambda: stopped.update(
                cancelled=_when_running("0", env, store_uri, lambda job: subprocess.run(["scancel", job], env=env))
            )
        ),
        threading.Thread(
            target=lambda: stopped.update(
                timed_out=_when_running("3", env, store_uri, lambda j: _signal(j, env, "USR2"))
            )
        ),
    ]
    for s in stoppers:
        s.start()
    proc = run_py(args, tmp_path, store_uri, data_root, env=cluster.env(), timeout=400)
    for s in stoppers:
        s.join()
    assert stopped["cancelled"] and stopped["timed_out"], f"jobs not seen running: {stopped}"
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "2 sweep job(s) failed:" in proc.stderr and "received SIGTERM" in proc.stderr
    assert "job 0 (" in proc.stderr and "job 3 (" in proc.stderr and "time limit" in proc.stderr
    parents, children = sweep_runs(store_uri)
    (parent,) = parents
    assert parent.info.status == "FAILED"
    by_job = {c.data.tags["slurm.array_task_id"]: c for c in children}
    assert by_job["0"].info.status == "KILLED" and "SIGTERM" in by_job["0"].data.tags["error"]
    assert by_job["0"].data.tags["slurm.job_id"] == stopped["cancelled"]
    assert by_job["3"].info.status == "FAILED" and by_job["3"].data.tags["slurm.job_id"] == stopped["timed_out"]
    assert by_job["3"].data.tags["error"].startswith("TimeLimitReached: time limit: the job reached 00:10:00")
    assert "max_num_timeout" in by_job["3"].data.tags["error"]
    shared = [by_job["1"], by_job["2"]]
    assert all(c.info.status == "FINISHED" for c in shared)
    assert shared[0].data.tags["cache_key"] == shared[1].data.tags["cache_key"]
    assert sorted(c.data.tags["cache_hit"] for c in shared) == ["false", "true"]  # encoded once
