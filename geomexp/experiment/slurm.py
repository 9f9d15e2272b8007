"""Sweeps on SLURM (``hydra/launcher=slurm``: Hydra's submitit launcher), what geomexp adds to them.

- ``slurm_tags()``: in a job, where it ran: ``slurm.job_id`` (``<array job>_<task>`` for an array task),
  ``slurm.array_job_id``, ``slurm.array_task_id``, ``slurm.node``, ``slurm.partition``, ``slurm.restarts``
  (``SLURM_RESTART_COUNT``: a requeued job) and ``slurm.log`` (the job's submitit stdout file). Empty
  outside SLURM.
- ``quiet_sacct()``: in the sweep's process, when the cluster keeps no accounting
  (``AccountingStorageType=accounting_storage/none``, as on a small or test cluster): submitit asks
  ``sacct`` for job states every few seconds, each call fails, and it printed three lines a call (30+ a
  sweep); it then reads each job's state from its result file instead. One line says so; the failed calls
  are kept off the console.
"""

from __future__ import annotations

import logging
import os
import subprocess

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
