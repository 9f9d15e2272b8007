"""MLflow run lifecycle: one run per job (``tracked_run``), one parent run per sweep, skipped jobs.

It uses ``MlflowClient`` with explicit run ids (never a process-global active run), so a
failing job cannot leak its run into the next one.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import traceback
from collections.abc import Callable, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from geomexp import tag_names
from geomexp.errors import Requeued, Terminated, pop_deferred_sigterm, sigterm_deferred, termination_delivered
from geomexp.tracking.store import MAX_PARAM_CHARS, ensure_experiment
from geomexp.tracking.store import client as _client

#: environment variable through which a sweep's jobs learn their parent run id
PARENT_RUN_ENV = "GEOMEXP_PARENT_RUN_ID"
PARENT_RUN_FILE = "mlflow_parent_run_id.txt"
#: a RUNNING run started on ANOTHER host (whose process cannot be checked) is abandoned after this
#: many hours (environment variable GEOMEXP_ABANDONED_AFTER_HOURS); on this host a dead pid suffices
ABANDONED_AFTER_HOURS = 48.0
HOST_TAG, PID_TAG = tag_names.HOST, tag_names.PID

log = logging.getLogger(__name__)


def process_tags() -> dict[str, str]:
    """Where this process runs (``geomexp.host``, ``geomexp.pid``): lets a later run tell a dead run."""
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def abandoned_reason(run, now_ms: int, max_hours: float) -> str | None:
    """Why the RUNNING ``run`` is abandoned (its process is gone), or None if it may still be alive."""
    tags = run.data.tags
    host, pid = tags.get(HOST_TAG), tags.get(PID_TAG)
    if host == socket.gethostname() and pid and pid.isdigit():
        if int(pid) == os.getpid() or _pid_alive(int(pid)):
            return None
        return f"abandoned: its process {pid} on {host} is gone"
    hours = (now_ms - (run.info.start_time or now_ms)) / 3.6e6
    if hours > max_hours:
        where = f"on {host} (pid {pid})" if host else "(no host recorded)"
        return f"abandoned: RUNNING for {hours:.0f} h {where}, longer than {max_hours:g} h"
    return None


def mark_abandoned_runs(client, experiment_id: str) -> list[str]:
    """Mark FAILED (tag ``error=abandoned: ...``) the RUNNING runs of the experiment whose process is gone.

    A run of this host whose pid is no longer alive is abandoned at once; a run of another host
    (or without host/pid tags) once it has been RUNNING longer than ``ABANDONED_AFTER_HOURS``.
    Returns their ids.
    """
    max_hours = float(os.environ.get("GEOMEXP_ABANDONED_AFTER_HOURS", ABANDONED_AFTER_HOURS))
    now = int(time.time() * 1000)
    marked = []
    for run in client.search_runs([experiment_id], filter_string="attributes.status = 'RUNNING'", max_results=1000):
        reason = abandoned_reason(run, now, max_hours)
        if reason is None:
            continue
        client.set_tag(run.info.run_id, "error", reason)
        client.set_terminated(run.info.run_id, "FAILED")
        log.warning("run %s (%s) marked FAILED: %s", run.info.run_id, run.info.run_name, reason)
        marked.append(run.info.run_id)
    return marked


class RunLogger:
    """Logs to one MLflow run (with ``client=None``: logs nothing; the runner keeps its own results).

    Inside ``with logger.deferred():`` metrics, tags, tables and figures are held back (figures
    rendered to PNG at once) and written only when the block ends without an error, so a failing
    analysis leaves no half-logged results. They are written artifacts first, then all metrics
    and tags together in as few ``log_batch`` calls as the store allows (one transaction each;
    one for up to 1000 metrics and 100 tags): if an artifact cannot be written (a full disk),
    the artifacts written so far are deleted and no metric is logged.
    """

    def __init__(self, client=None, run_id: str | None = None, run_name: str | None = None):
        self.client = client
        self.run_id = run_id
        self.run_name = run_name
        self._pending: dict | None = None

    @contextmanager
    def deferred(self):
        """Hold back what is logged in the block; write it all at its end, or nothing on an error."""
        self._pending = {"artifacts": [], "metrics": [], "tags": {}}
        try:
            yield self
            pending, self._pending = self._pending, None
            self._publish(pending)
        finally:
            self._pending = None

    def _publish(self, pending: dict) -> None:
        from mlflow.entities import RunTag

        written = []
        try:
            for path, op in pending["artifacts"]:
                op()
                written.append(path)
        except BaseException:
            self._delete_artifacts(written)
            raise
        metrics, tags = pending["metrics"], [RunTag(k, v) for k, v in pending["tags"].items()]
        while metrics or tags:  # MLflow's limits per batch: 1000 metrics, 100 tags
            self.client.log_batch(self.run_id, metrics=metrics[:1000], tags=tags[:100], synchronous=True)
            metrics, tags = metrics[1000:], tags[100:]

    def _delete_artifacts(self, paths: list[str]) -> None:
        """Best effort: remove artifacts written by an interrupted ``deferred`` block."""
        if not paths:
            return
        try:
            from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

            repo = get_artifact_repository(self.client.get_run(self.run_id).info.artifact_uri)
            for top in sorted({p.split("/")[0] for p in paths}):
                repo.delete_artifacts(top)
        except Exception as err:
            log.warning("could not delete the partial artifacts %s of run %s: %s", paths, self.run_id, err)

    def _artifact(self, path: str, op) -> None:
        if self.client is None:
            return
        if self._pending is None:
            op()
        else:
            self._pending["artifacts"].append((path, op))

    def log_params(self, params: Mapping[str, Any]) -> None:
        if self.client is None:
            return
        from mlflow.entities import Param

        items = [Param(k, str(v)[:MAX_PARAM_CHARS]) for k, v in params.items()]
        for start in range(0, len(items), 100):
            self.client.log_batch(self.run_id, params=items[start : start + 100], synchronous=True)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        if self.client is None:
            return
        tags = {k: str(v)[:5000] for k, v in tags.items()}
        if self._pending is not None:
            self._pending["tags"].update(tags)
            return
        for k, v in tags.items():
            self.client.set_tag(self.run_id, k, v)

    def log_metrics(self, metrics: Mapping[str, float], step: int) -> None:
        """Log scalar metrics at ``step`` (the layer index)."""
        if self.client is None:
            return
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(k, float(v), now, int(step)) for k, v in metrics.items()]
        if self._pending is not None:
            self._pending["metrics"].extend(batch)
        elif batch:
            self.client.log_batch(self.run_id, metrics=batch, synchronous=True)

    def log_figure(self, figure, artifact_file: str) -> None:
        """Log a matplotlib figure as a PNG (rendered now) and close it."""
        import io

        import matplotlib.pyplot as plt

        try:
            if self.client is None:
                return
            buf = io.BytesIO()
            figure.savefig(buf, format="png", dpi=150, bbox_inches="tight")
        finally:
            plt.close(figure)
        self.log_bytes(buf.getvalue(), artifact_file)

    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        """Log raw bytes as the artifact ``artifact_file``."""
        self._artifact(artifact_file, lambda: self._write_bytes(data, artifact_file))

    def _write_bytes(self, data: bytes, artifact_file: str) -> None:
        import tempfile

        path = Path(artifact_file)
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / path.name
            local.write_bytes(data)
            self.client.log_artifact(self.run_id, str(local), path.parent.as_posix() or None)

    def log_dict(self, data, artifact_file: str) -> None:
        self._artifact(artifact_file, lambda: self.client.log_dict(self.run_id, data, artifact_file))

    def log_text(self, text: str, artifact_file: str) -> None:
        self._artifact(artifact_file, lambda: self.client.log_text(self.run_id, text, artifact_file))

    def log_artifacts(self, folder: str | Path, artifact_path: str) -> None:
        if Path(folder).is_dir():
            self._artifact(artifact_path, lambda: self.client.log_artifacts(self.run_id, str(folder), artifact_path))


def unique_run_name(client, experiment_id: str, name: str) -> str:
    """``name``, or ``name #2``, ``#3``, ... if runs of the experiment already carry it."""
    quoted = name.replace("'", "\\'")
    taken = {
        r.info.run_name
        for r in client.search_runs(
            [experiment_id], filter_string=f"attributes.run_name LIKE '{quoted}%'", max_results=5000
        )
    }
    if name not in taken:
        return name
    n = 2
    while f"{name} #{n}" in taken:
        n += 1
    return f"{name} #{n}"


@contextmanager
def tracked_run(
    uri: str | None,
    experiment: str,
    run_name: str,
    *,
    parent_run_id: str | None = None,
    tags: Mapping[str, Any] | None = None,
    experiment_description: str | None = None,
    reopen: str | None = None,
    explain: Callable[[BaseException], BaseException] | None = None,
):
    """Open an MLflow run for one job and yield its ``RunLogger``; ``uri=None`` tracks nothing.

    The run ends FINISHED, or FAILED with the error message in the ``error``
    tag and the traceback in ``error.txt``, and the exception propagates; KILLED on
    Ctrl-C or SIGTERM (``geomexp.errors.Terminated``). It is tagged with its host and pid,
    and RUNNING runs of the experiment whose process is gone are first marked FAILED
    (``mark_abandoned_runs``). ``experiment_description``: the experiment's description, set
    where it has none. ``reopen``: the id of an unfinished run of the same measurement to resume
    instead (a requeued SLURM job): it keeps its name, gets this start's tags, loses its ``error``
    tag and is RUNNING again. ``explain``: maps the exception that ended the run to the one recorded and
    raised (a scheduler's signal to what it meant). ``Requeued`` ends a run KILLED, without ``error.txt``.
    """
    if uri is None:
        yield RunLogger(run_name=run_name)
        return
    client = _client(uri)
    exp_id = ensure_experiment(uri, experiment, experiment_description)
    mark_abandoned_runs(client, exp_id)
    earlier = client.get_run(reopen) if reopen else None  # the run to resume, read once
    run_name = earlier.info.run_name if earlier else unique_run_name(client, exp_id, run_name)
    all_tags = {
        tag_names.RUN_NAME: run_name,
        **process_tags(),
        **{k: str(v)[:5000] for k, v in (tags or {}).items()},
    }
    if parent_run_id:
        all_tags[tag_names.PARENT_RUN_ID] = parent_run_id
    run_id = None
    try:
        if earlier:
            run_id = _resume_run(client, earlier, all_tags)
        else:
            run_id = client.create_run(exp_id, run_name=run_name, tags=all_tags).info.run_id
        yield RunLogger(client, run_id, run_name)
    except BaseException as raised:
        with sigterm_deferred():  # a SIGTERM now (SLURM's, after submitit's exit) must not leave the run RUNNING
            if isinstance(raised, Terminated):
                termination_delivered()  # before ``explain``, which may take seconds: no SIGTERM re-sent meanwhile
            err = explain(raised) if explain else raised
            if run_id is not None:
                try:
                    client.set_tag(run_id, "error", f"{type(err).__name__}: {err}"[:5000])
                    if not isinstance(err, Requeued):  # not an error: the restarted job resumes this run
                        client.log_text(run_id, traceback.format_exc(), "error.txt")
                finally:
                    killed = isinstance(err, (KeyboardInterrupt, Terminated))
                    client.set_terminated(run_id, "KILLED" if killed else "FAILED")
        noted = pop_deferred_sigterm()
        if noted and not isinstance(err, Terminated):  # asked to stop while the run was closed: stop now
            raise Terminated(f"received {noted} while the run was closed") from err
        if err is raised:
            raise
        raise err from raised
    with sigterm_deferred():
        client.set_terminated(run_id, "FINISHED")
    if noted := pop_deferred_sigterm():
        raise Terminated(f"received {noted} as the run finished")


def _resume_run(client, run, tags: Mapping[str, str]) -> str:
    """Make the unfinished MLflow ``run`` RUNNING again with this start's ``tags``; its ``error`` tag (why
    the earlier start stopped) becomes ``requeued``. Returns its id."""
    from mlflow.entities import RunTag
    from mlflow.exceptions import MlflowException

    run_id = run.info.run_id
    previous = run.data.tags.get("error", "")
    if previous:
        tags = {**tags, "requeued": previous.removeprefix(f"{Requeued.__name__}: ")}
    items = [RunTag(k, v) for k, v in tags.items()]
    for start in range(0, len(items), 100):  # the stores' limit of tags a batch
        client.log_batch(run_id, tags=items[start : start + 100])
    with suppress(MlflowException):  # it had none
        client.delete_tag(run_id, "error")
    client.update_run(run_id, status="RUNNING")  # after the tags: never RUNNING with the old start's pid
    return run_id


def runs_with_tag(
    uri: str, experiment: str, key: str, value: str, *, finished: bool, also: Mapping[str, str] | None = None
) -> list[str]:
    """Ids of the runs of ``experiment`` tagged ``key=value`` (and every tag of ``also``), newest first:
    the FINISHED measurement runs (``finished=True``) or the runs that did not finish (``finished=False``)."""
    client = _client(uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return []
    status = (
        "attributes.status = 'FINISHED' and tags.`geomexp.kind` = 'measurement'"
        if finished
        else "attributes.status != 'FINISHED'"
    )
    runs = client.search_runs(
        [exp.experiment_id],
        filter_string=" and ".join([*(f"tags.`{k}` = '{v}'" for k, v in {key: value, **(also or {})}.items()), status]),
        order_by=["attributes.start_time DESC"],
        max_results=50,
    )
    return [r.info.run_id for r in runs]


def record_skipped_job(
    uri: str,
    experiment: str,
    finished_run_id: str,
    run_name: str,
    *,
    parent_run_id: str | None,
    tags: Mapping[str, Any],
) -> str:
    """A FINISHED child run standing for a sweep job skipped because ``finished_run_id`` measured the same.

    Tagged ``geomexp.kind=skipped`` and ``geomexp.same_as=<finished run id>`` (the report follows it).
    Returns its run id.
    """
    client = _client(uri)
    exp_id = ensure_experiment(uri, experiment)
    name = unique_run_name(client, exp_id, f"{run_name} (skipped)")
    all_tags = {
        **{k: str(v)[:5000] for k, v in tags.items()},
        tag_names.RUN_NAME: name,
        tag_names.KIND: tag_names.SKIPPED,
        tag_names.SAME_AS: finished_run_id,
    }
    if parent_run_id:
        all_tags[tag_names.PARENT_RUN_ID] = parent_run_id
    run = client.create_run(exp_id, run_name=name, tags=all_tags)
    client.set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id


def start_parent_run(uri: str, experiment: str, run_name: str, tags: Mapping[str, Any] | None = None) -> str:
    """Create the parent run of a sweep (left RUNNING) and return its id."""
    client = _client(uri)
    exp_id = ensure_experiment(uri, experiment)
    mark_abandoned_runs(client, exp_id)
    tags = {
        tag_names.RUN_NAME: run_name,
        tag_names.KIND: tag_names.SWEEP,
        **process_tags(),
        **{k: str(v) for k, v in (tags or {}).items()},
    }
    return client.create_run(exp_id, run_name=run_name, tags=tags).info.run_id


def end_parent_run(uri: str, run_id: str, failed_jobs: int = 0, killed: str | None = None) -> str:
    """End a sweep's parent run: FAILED if any child run or job failed, else FINISHED. Returns the status.

    ``killed``: the reason the sweep was stopped; the parent then ends KILLED with it in ``error``.
    Tags: ``children`` (runs nested under it, skipped jobs' stand-ins included), ``children_failed``,
    ``skipped`` (jobs skipped because the same measurement had FINISHED before), ``failed_jobs``.
    """
    client = _client(uri)
    run = client.get_run(run_id)
    children = client.search_runs(
        [run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{run_id}'", max_results=10000
    )
    failed = [c for c in children if c.info.status != "FINISHED"]
    skipped = [c for c in children if c.data.tags.get(tag_names.KIND) == tag_names.SKIPPED]
    client.set_tag(run_id, "children", str(len(children)))
    client.set_tag(run_id, "children_failed", str(len(failed)))
    client.set_tag(run_id, "skipped", str(len(skipped)))
    client.set_tag(run_id, "failed_jobs", str(failed_jobs))
    status = "FAILED" if failed or failed_jobs or not (children or skipped) else "FINISHED"
    if killed:  # the sweep itself was stopped (SIGTERM, Ctrl-C)
        client.set_tag(run_id, "error", killed)
        status = "KILLED"
    client.set_terminated(run_id, status)
    return status


def parent_run_id_for_job(sweep_dir: str | Path | None) -> str | None:
    """The parent run id of the current sweep job: from the environment, else the sweep folder's file."""
    if os.environ.get(PARENT_RUN_ENV):
        return os.environ[PARENT_RUN_ENV]
    if sweep_dir is not None:
        f = Path(sweep_dir) / PARENT_RUN_FILE
        if f.is_file():
            return f.read_text().strip() or None
    return None
