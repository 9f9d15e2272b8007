"""Sweeps on SLURM (``hydra/launcher=slurm``: Hydra's submitit launcher), what geomexp adds to them.

- ``slurm_tags()``: in a job, where it ran: ``slurm.job_id`` (``<array job>_<task>`` for an array task),
  ``slurm.array_job_id``, ``slurm.array_task_id``, ``slurm.node``, ``slurm.partition``, ``slurm.restarts``
  (``SLURM_RESTART_COUNT``: a requeued job) and ``slurm.log`` (the job's submitit stdout file). Empty
  outside SLURM.
- ``explain_stop()``: in a job, how the scheduler stopped it becomes what its run records: put back in
  the queue (preemption, ``scontrol requeue``, or submitit's requeue at a time limit with
  ``hydra.launcher.max_num_timeout`` left) -> ``Requeued`` (the run ends KILLED saying so, and the process
  leaves no result, so the sweep waits for the restart); a time limit with no requeue left ->
  ``TimeLimitReached`` (the run ends FAILED naming the settings to raise).
- ``requeued_run()``: in a restarted job (``SLURM_RESTART_COUNT`` > 0), the run its earlier start left
  unfinished: the runner resumes it, so a combination keeps one run however often the job restarts.
- ``quiet_sacct()``: in the sweep's process, when the cluster keeps no accounting
  (``AccountingStorageType=accounting_storage/none``, as on a small or test cluster): submitit asks
  ``sacct`` for job states every few seconds, each call fails, and it printed three lines a call (30+ a
  sweep); it then reads each job's state from its result file instead. One line says so; the failed calls
  are kept off the console.
"""

from __future__ import annotations

import functools
import logging
import os
import subprocess

from geomexp.errors import Requeued, Terminated, TimeLimitReached

log = logging.getLogger(__name__)

#: environment variable -> tag, read in a job
_JOB_ENV = {
    "SLURM_ARRAY_JOB_ID": "slurm.array_job_id",
    "SLURM_ARRAY_TASK_ID": "slurm.array_task_id",
    "SLURMD_NODENAME": "slurm.node",
    "SLURM_JOB_PARTITION": "slurm.partition",
    "SLURM_RESTART_COUNT": "slurm.restarts",
}


def slurm_tags() -> dict[str, str]:
    """Tags of the SLURM job this process runs in (see the module docstring); ``{}`` outside SLURM."""
    job = os.environ.get("SLURM_JOB_ID")
    if not job:
        return {}
    tags = {tag: os.environ[var] for var, tag in _JOB_ENV.items() if os.environ.get(var)}
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    tags["slurm.job_id"] = f"{array}_{task}" if array and task else job
    try:  # submitit's job environment knows the job's log files
        import submitit

        tags["slurm.log"] = str(submitit.JobEnvironment().paths.stdout)
    except Exception:  # noqa: BLE001 - not a submitit job, or submitit changed: the log path is a nicety
        pass
    return tags


def restart_count() -> int:
    """How often SLURM restarted this job before this start (``SLURM_RESTART_COUNT``; 0 outside SLURM)."""
    value = os.environ.get("SLURM_RESTART_COUNT", "")
    return int(value) if value.isdigit() else 0


def job_state(job_id: str) -> dict[str, str]:
    """``scontrol show job -o <job_id>`` as ``{key: value}`` (``JobState``, ``Reason``, ``Restarts``, ...);
    ``{}`` if it cannot be asked (no ``scontrol``, a slow controller)."""
    try:
        out = subprocess.run(
            ["scontrol", "show", "job", "-o", job_id], capture_output=True, text=True, timeout=5
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    # the id of an array's first job lists every task of the array, a line each: keep the job's own line
    lines = [dict(item.split("=", 1) for item in line.split() if "=" in item) for line in out.splitlines()]
    return next((fields for fields in lines if fields.get("JobId") == job_id), {})


@functools.cache
def why_stopped(wait: float = 1.5) -> str | None:
    """Why SLURM is stopping this job: ``"requeued"`` (its restart count grew past this start's: the job was
    put back in the queue and will run again), ``"time limit"``, or None (cancelled, or not a SLURM job).
    The controller may count the restart a moment after it sends SIGTERM: asked again for up to ``wait`` s.
    Asked once a process (a process is stopped once; the run's close and ``run.py`` both ask)."""
    import time

    job = os.environ.get("SLURM_JOB_ID")
    if not job:
        return None
    end = time.monotonic() + wait
    while True:
        state = job_state(job)
        restarts = state.get("Restarts", "")
        if restarts.isdigit() and int(restarts) > restart_count():
            return "requeued"
        if state.get("Reason") == "TimeLimit" or state.get("JobState") == "TIMEOUT":
            return "time limit"
        if time.monotonic() >= end:
            return None
        time.sleep(0.25)


def _submitit_requeued(err: BaseException) -> bool:
    """Whether ``err`` is submitit's exit after it requeued the job (``SystemExit`` from its signal handler)."""
    if not isinstance(err, SystemExit):
        return False
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code if tb is not None else None
    return code is not None and code.co_name == "_exit" and "submitit" in code.co_filename


def explain_stop(err: BaseException) -> BaseException:
    """In a SLURM job, what ``err`` (the exception that ended a run) meant; ``err`` itself otherwise.

    - SIGTERM (``Terminated``) or submitit's exit after requeuing (``SystemExit``) while the job has been
      put back in the queue -> ``Requeued`` (KILLED; the next start resumes the run); from then on SIGTERM
      is ignored (SLURM sends it as part of the requeue), so the run closes before the job is killed;
    - SIGTERM at the time limit -> ``Terminated`` saying so;
    - submitit's ``UncompletedJobError`` (its signal before the time limit, no requeue left) ->
      ``TimeLimitReached`` (FAILED, naming the job's time limit and the settings to raise).
    """
    job = os.environ.get("SLURM_JOB_ID")
    if not job or isinstance(err, Requeued):
        return err
    if isinstance(err, (Terminated, SystemExit)):
        cause = "requeued" if _submitit_requeued(err) else why_stopped()
        if cause == "requeued":
            import signal

            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            return Requeued(
                f"requeued by SLURM (start {restart_count() + 1} of job {job} stopped: preempted, "
                "scontrol requeue, or a time limit with requeues left); the restarted job resumes this run"
            )
        if cause == "time limit" and isinstance(err, Terminated):
            return Terminated(f"{err}: the job reached its SLURM time limit")
        return err
    if type(err).__name__ == "UncompletedJobError":  # submitit's: timed out and not requeued
        limit = job_state(job).get("TimeLimit", "its time limit")
        return TimeLimitReached(
            f"time limit: the job reached {limit} (hydra.launcher.timeout_min) with no requeue left "
            f"(hydra.launcher.max_num_timeout); raise either and rerun the sweep to resume ({err})"
        )
    return err


def requeued_run(uri: str, experiment: str, identity: str) -> str | None:
    """In a restarted SLURM job: the id of the run an earlier start of this job left unfinished (same
    ``slurm.job_id`` and measurement identity, status not FINISHED), newest first; None otherwise."""
    job = slurm_tags().get("slurm.job_id")
    if not job or restart_count() == 0:
        return None
    from geomexp import tag_names
    from geomexp.tracking import runs_with_tag

    runs = runs_with_tag(uri, experiment, tag_names.IDENTITY, identity, finished=False, also={"slurm.job_id": job})
    return runs[0] if runs else None


def accounting_disabled() -> bool:
    """Whether the cluster keeps no job accounting (``scontrol show config``); False if it cannot be asked."""
    try:
        out = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return any(
        line.split("=", 1)[0].strip() == "AccountingStorageType" and "accounting_storage/none" in line
        for line in out.stdout.splitlines()
    )


class _SacctNoise(logging.Filter):
    """Drops submitit's "Bypassing sacct error" warnings (one a poll, each printed three times)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Bypassing sacct error" not in record.getMessage()


_QUIET = False


def quiet_sacct() -> bool:
    """When accounting is disabled, say so once and keep submitit's failing ``sacct`` calls (their stderr
    and its warnings) off the console; returns whether it did. Idempotent."""
    global _QUIET
    if _QUIET:
        return True
    if not accounting_disabled():
        return False
    from submitit.slurm.slurm import SlurmInfoWatcher

    make_command = SlurmInfoWatcher._make_command

    def without_stderr(self):
        command = make_command(self)  # ["sacct", ...] or None; its error text goes nowhere, its output as before
        return None if command is None else ["sh", "-c", 'exec "$0" "$@" 2>/dev/null', *command]

    SlurmInfoWatcher._make_command = without_stderr
    logging.getLogger("submitit").addFilter(_SacctNoise())
    log.warning(
        "SLURM keeps no job accounting on this cluster (AccountingStorageType=accounting_storage/none): "
        "submitit reads each job's state from its result file instead of sacct; its failed sacct calls are not shown"
    )
    _QUIET = True
    return True
