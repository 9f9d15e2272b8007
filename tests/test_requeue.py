"""A run stopped by a scheduler (issue 27): resumed as the same run after a requeue, closed even when
SIGTERM arrives while it is being closed, and submitit's exit after a requeue told from any other exit.
The SLURM cluster itself is exercised in ``tests/test_slurm.py`` (slow)."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest
from mlflow.tracking import MlflowClient

from geomexp import errors
from geomexp.errors import Requeued, Terminated
from geomexp.experiment.slurm import _submitit_requeued, explain_stop
from geomexp.tracking import tracked_run

TAGS = {"geomexp.identity": "abc", "slurm.job_id": "7_1"}


def _requeued(err: BaseException) -> BaseException:
    return Requeued("requeued by SLURM (preempted)") if isinstance(err, SystemExit) else err


def test_a_requeued_run_ends_killed_and_the_restart_resumes_it_as_one_run(store_uri):
    client = MlflowClient(store_uri)
    with pytest.raises(Requeued), tracked_run(store_uri, "rq", "job", tags=TAGS, explain=_requeued) as first:
        first.log_params({"model": "minilm"})
        raise SystemExit(-1)  # what submitit's signal handler raises after requeuing the job
    killed = client.get_run(first.run_id)
    assert killed.info.status == "KILLED"
    assert killed.data.tags["error"] == "Requeued: requeued by SLURM (preempted)"
    assert [a.path for a in client.list_artifacts(first.run_id)] == []  # no error.txt: not an error

    with tracked_run(store_uri, "rq", "job again", tags={**TAGS, "slurm.restarts": "1"}, reopen=first.run_id) as again:
        again.log_params({"model": "minilm"})  # the same value again is allowed
        again.log_metrics({"i_cos": 0.5}, step=0)
    assert again.run_id == first.run_id and again.run_name == "job"  # the same run, its name kept
    run = client.get_run(first.run_id)
    assert run.info.status == "FINISHED" and run.data.metrics == {"i_cos": 0.5}
    assert "error" not in run.data.tags and run.data.tags["slurm.restarts"] == "1"
    assert run.data.tags["requeued"] == "requeued by SLURM (preempted)"  # why the earlier start stopped
    assert run.data.tags["geomexp.pid"] == str(os.getpid())
    exp = client.get_experiment_by_name("rq")
    assert len(client.search_runs([exp.experiment_id])) == 1


@pytest.fixture
def sigterm_raises():
    """``raise_on_sigterm()`` in this process for one test; the handler and the state put back after."""
    before_handler = signal.getsignal(signal.SIGTERM)
    before_state = dict(errors._termination)
    errors.raise_on_sigterm()
    yield
    signal.signal(signal.SIGTERM, before_handler)
    errors._termination.clear()
    errors._termination.update(before_state)


def test_a_sigterm_while_a_failed_run_is_closed_lets_it_close_then_stops(store_uri, sigterm_raises):
    """SLURM's SIGTERM can arrive while the run of a job that submitit made exit is being closed: raised there,
    it left the run RUNNING. Now it is noted, the run ends with what ended it, and then it is raised."""

    def explain_slowly(err):
        os.kill(os.getpid(), signal.SIGTERM)  # arrives at the next bytecode, inside the closing
        time.sleep(0.05)
        return err

    closed = pytest.raises(Terminated, match="received SIGTERM while the run was closed")
    with closed as stopped, tracked_run(store_uri, "rq", "job", explain=explain_slowly) as logger:
        raise ValueError("bad input")
    assert isinstance(stopped.value.__cause__, ValueError)
    run = MlflowClient(store_uri).get_run(logger.run_id)
    assert run.info.status == "FAILED" and run.data.tags["error"] == "ValueError: bad input"
    assert errors.pop_deferred_sigterm() is None  # raised once, then forgotten


def test_submitits_exit_after_a_requeue_is_told_from_any_other_exit(tmp_path, monkeypatch):
    from submitit.core.job_environment import SignalHandler
    from submitit.core.utils import DelayedSubmission, JobPaths

    handler = SignalHandler(None, JobPaths(tmp_path), DelayedSubmission(print))  # _exit needs no job
    with pytest.raises(SystemExit) as by_submitit:
        handler._exit()  # what it calls after ``scontrol requeue`` succeeded
    with pytest.raises(SystemExit) as other:
        sys.exit(-1)
    assert _submitit_requeued(by_submitit.value) and not _submitit_requeued(other.value)
    # outside a SLURM job nothing is reinterpreted
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    assert explain_stop(by_submitit.value) is by_submitit.value
