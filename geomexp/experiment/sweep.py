"""Hydra sweeps: one MLflow parent run per ``-m`` sweep, failure isolation and a closing summary.

A sweep job that raises is recorded (its MLflow run ends FAILED; a line goes to
``<sweep dir>/failures/<job>.json``) and the sweep goes on. When all jobs are
done, the callback ends the parent run, prints which jobs failed and exits
non-zero if any did.

A sweep stopped by SIGTERM or Ctrl-C ends its parent run KILLED (at exit). Its jobs in
other processes on this machine (joblib workers) watch the sweep's process and stop,
ending their runs KILLED, when it is gone (``watch_sweep_process``).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import socket
import sys
import threading
import time
from pathlib import Path

from hydra.experimental.callback import Callback
from omegaconf import OmegaConf

from geomexp.config import project_root
from geomexp.tracking import PARENT_RUN_ENV, PARENT_RUN_FILE, end_parent_run, git_state, redact_uri, start_parent_run

log = logging.getLogger(__name__)
FAILURES_DIR = "failures"
#: the sweep's own process (host:pid), which its jobs in worker processes watch
SWEEP_PROCESS_ENV = "GEOMEXP_SWEEP_PROCESS"


def record_job_failure(sweep_dir: str | Path, job_num, overrides: list[str], err: BaseException) -> Path:
    """Write ``<sweep_dir>/failures/<job_num>.json`` (job, overrides, error) and return its path."""
    folder = Path(sweep_dir) / FAILURES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{job_num}.json"
    path.write_text(json.dumps({"job": job_num, "overrides": overrides, "error": f"{type(err).__name__}: {err}"}))
    return path


def read_failures(sweep_dir: str | Path) -> list[dict]:
    """The failure records of a sweep, by job number."""
    folder = Path(sweep_dir) / FAILURES_DIR
    records = [json.loads(p.read_text()) for p in folder.glob("*.json")] if folder.is_dir() else []
    return sorted(records, key=lambda r: int(r["job"]) if str(r["job"]).isdigit() else 0)


def failure_summary(failures: list[dict], n_jobs: int | None = None) -> str:
    """Lines naming each failed job, its overrides and its error."""
    total = f" of {n_jobs}" if n_jobs else ""
    lines = [f"{len(failures)}{total} sweep job(s) failed:"]
    for f in failures:
        lines.append(f"  job {f['job']} ({' '.join(f['overrides'])}): {f['error']}")
    return "\n".join(lines)


#: tries to create a sweep's parent run, and the pause before the n-th retry (n x this many seconds)
PARENT_TRIES = 3
PARENT_RETRY_S = 5.0


def stop_sweep(message: str) -> None:
    """End the sweep before any job starts, with one line. Hydra turns an exception raised in a callback
    into a warning and launches the jobs anyway (issue 26: they ran un-nested), so this exits."""
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


class SweepParentCallback(Callback):
    """Hydra callback for ``-m`` sweeps (configured in ``conf/hydra/default.yaml``).

    Before any job starts it creates the MLflow store, the experiment and the
    sweep's parent run (so parallel workers do not race on a fresh SQLite file);
    jobs find the parent id in ``GEOMEXP_PARENT_RUN_ID`` or
    ``<sweep dir>/mlflow_parent_run_id.txt``. At the end it closes the parent
    (FAILED if a job failed), prints the failed jobs, and exits with status 1 if any.
    """

    def __init__(self):
        self.uri = None
        self.run_id = None

    def on_multirun_start(self, config, **kwargs) -> None:
        from geomexp.errors import raise_on_sigterm

        raise_on_sigterm()
        os.environ[SWEEP_PROCESS_ENV] = f"{socket.gethostname()}:{os.getpid()}"  # inherited by worker processes
        sweep_dir = Path(str(config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        if "SlurmLauncher" in str(config.hydra.launcher.get("_target_", "")):
            from geomexp.experiment.slurm import quiet_sacct

            quiet_sacct()
        for stale in (sweep_dir / FAILURES_DIR).glob("*.json"):  # from an earlier sweep into the same folder
            stale.unlink()
        if not config.tracking.enabled:
            return
        from geomexp.errors import GeomexpError
        from geomexp.tracking import check_store_reachable

        self.uri = str(config.tracking.uri)
        try:
            check_store_reachable(self.uri)
        except GeomexpError as err:
            stop_sweep(f"{err}; no job was started")
        overrides = list(OmegaConf.to_container(config.hydra.overrides.task, resolve=True))
        tags = {
            "sweep_dir": sweep_dir,
            "overrides": redact_uri(" ".join(overrides)),
            **git_state(project_root()),
        }
        name = f"sweep-{sweep_dir.name}"
        for attempt in range(1, PARENT_TRIES + 1):  # a store lock held by another sweep, a slow server
            try:
                self.run_id = start_parent_run(self.uri, str(config.tracking.experiment), name, tags)
                break
            except Exception as err:  # noqa: BLE001 - whatever the store raised: retried, then one line
                if attempt == PARENT_TRIES:
                    stop_sweep(
                        f"could not create the sweep's parent run in {redact_uri(self.uri)} after {attempt} tries "
                        f"({type(err).__name__}: {err}); no job was started (un-nested jobs would be lost in the store)"
                    )
                log.warning("creating the sweep's parent run failed (%s); retrying (%d/%d)", err, attempt, PARENT_TRIES)
                time.sleep(PARENT_RETRY_S * attempt)
        os.environ[PARENT_RUN_ENV] = self.run_id
        (sweep_dir / PARENT_RUN_FILE).write_text(self.run_id + "\n")
        atexit.register(self._close_if_stopped)

    def _close_if_stopped(self) -> None:
        """At exit: a parent run still open means the sweep was stopped before its end; end it KILLED."""
        if self.run_id is None:
            return
        from geomexp.errors import termination_delivered

        termination_delivered()
        run_id, self.run_id = self.run_id, None
        try:
            end_parent_run(self.uri, run_id, killed="the sweep stopped before its end (SIGTERM, Ctrl-C or a crash)")
        except Exception as err:  # the store may be what failed
            print(f"could not close the sweep's parent run {run_id}: {err}", file=sys.stderr)

    def on_multirun_end(self, config, **kwargs) -> None:
        failures = read_failures(str(config.hydra.sweep.dir))
        if self.run_id is not None:
            os.environ.pop(PARENT_RUN_ENV, None)
            run_id, self.run_id = self.run_id, None
            status = end_parent_run(self.uri, run_id, failed_jobs=len(failures))
            log.info("sweep parent run %s ended %s", run_id, status)
        if failures:
            print(failure_summary(failures), file=sys.stderr)
            sys.exit(1)


def report_job_failure(context, err: BaseException) -> None:
    """In a sweep job (``context``: a ``RunContext``): log the error and record it for the closing summary."""
    log.error("job %s failed: %s: %s", context.job_num, type(err).__name__, err)
    record_job_failure(context.sweep_dir, context.job_num, list(context.overrides), err)


def watch_sweep_process(poll: float = 1.0, grace: float = 60.0) -> threading.Thread | None:
    """In a sweep job running in a worker process of this machine: stop when the sweep's process is gone.

    A daemon thread polls the process named in ``GEOMEXP_SWEEP_PROCESS`` (set by the sweep);
    when it is gone, the job gets SIGTERM (its run ends KILLED), and the worker exits after
    ``grace`` seconds at the latest. Does nothing in the sweep's own process or on another host
    (SLURM jobs: the cluster stops those). Returns the thread, if one was started.
    """
    from geomexp.tracking.run import _pid_alive

    host, _, pid = os.environ.get(SWEEP_PROCESS_ENV, "").rpartition(":")
    if not pid.isdigit() or host != socket.gethostname() or int(pid) == os.getpid():
        return None
    if os.environ.get("SUBMITIT_EXECUTOR") == "slurm":  # on the sweep's host or not, the cluster owns the job
        return None
    sweep_pid, first_ppid = int(pid), os.getppid()

    def gone() -> bool:
        return not _pid_alive(sweep_pid) or (first_ppid == sweep_pid and os.getppid() != first_ppid)

    def watch() -> None:
        import signal

        while not gone():
            time.sleep(poll)
        log.error("the sweep's process %s is gone: stopping this job", sweep_pid)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(grace)
        os._exit(1)

    thread = threading.Thread(target=watch, name="geomexp-sweep-watch", daemon=True)
    thread.start()
    return thread
