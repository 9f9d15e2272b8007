"""MLflow tracking: the store, one run per job, one parent run per sweep.

Only this module talks to MLflow. It uses ``MlflowClient`` with explicit run
ids (never a process-global active run), so a failing job cannot leak its run
into the next one.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import traceback
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock

from geomexp.errors import ConfigError

#: environment variable through which a sweep's jobs learn their parent run id
PARENT_RUN_ENV = "GEOMEXP_PARENT_RUN_ID"
PARENT_RUN_FILE = "mlflow_parent_run_id.txt"
MAX_PARAM_CHARS = 6000


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, or None for other stores."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri[len("sqlite:///") :])


def _client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def ensure_experiment(uri: str, name: str) -> str:
    """Create the store and the experiment ``name`` if needed (once, under a file lock); return its id.

    For SQLite stores the artifacts go to ``mlartifacts/<name>`` beside the database.
    """
    db = sqlite_path(uri)
    if db is not None:
        if not db.is_absolute():
            raise ConfigError(f"tracking.uri={uri!r}: use an absolute SQLite path (sqlite:////abs/path/mlflow.db)")
        db.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(db) + ".lock", timeout=120)
    else:
        lock = None
    with lock if lock is not None else _nullcontext():
        client = _client(uri)
        exp = client.get_experiment_by_name(name)
        if exp is not None:
            return exp.experiment_id
        artifacts = None
        if db is not None:
            artifacts = (db.parent / "mlartifacts" / re.sub(r"[^\w.-]+", "_", name)).as_uri()
        return client.create_experiment(name, artifact_location=artifacts)


@contextmanager
def _nullcontext():
    yield


#: config keys that do not change a run's results (left out of its config hash)
VOLATILE_KEYS = ("paths.output_dir", "progress", "tracking.run_name", "tracking.resume", "tracking.log_figures", "tags")


def config_hash(resolved: Mapping) -> str:
    """SHA-256 of a resolved config without ``VOLATILE_KEYS``: equal hashes, same results."""
    import hashlib

    flat = {k: v for k, v in flatten(resolved).items() if not any(k == v_ or k.startswith(v_ + ".") for v_ in VOLATILE_KEYS)}
    return hashlib.sha256(json.dumps(flat, sort_keys=True).encode()).hexdigest()


def runs_with_hash(uri: str, experiment: str, digest: str) -> list:
    """Runs of ``experiment`` tagged ``config_hash=digest``, newest first (none if the experiment is absent)."""
    client = _client(uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return []
    return client.search_runs([exp.experiment_id], filter_string=f"tags.config_hash = '{digest}'", order_by=["attributes.start_time DESC"], max_results=50)


def check_store_reachable(uri: str, timeout: float = 5.0) -> None:
    """Fail fast (``ConfigError``) on a relative SQLite path or an http(s) server that does not answer."""
    db = sqlite_path(uri)
    if db is not None and not db.is_absolute():
        raise ConfigError(f"tracking.uri={uri!r}: use an absolute SQLite path (sqlite:////abs/path/mlflow.db)")
    if not uri.startswith(("http://", "https://")):
        return
    import urllib.error
    import urllib.request

    url = uri.rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return
    except urllib.error.HTTPError:
        return  # it answered (some servers have no /health)
    except (urllib.error.URLError, OSError) as err:
        raise ConfigError(f"tracking.uri={uri} does not answer ({err}); start the server or choose another tracking.uri") from err


def flatten(cfg: Mapping, prefix: str = "") -> dict[str, str]:
    """``{"model": {"name": "x"}}`` -> ``{"model.name": "x"}``; values as strings cut to MLflow's limit."""
    out = {}
    for key, value in cfg.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, name + "."))
        else:
            text = json.dumps(value) if isinstance(value, (list, tuple)) else str(value)
            out[re.sub(r"[+=]", "_", name)] = text[:MAX_PARAM_CHARS]
    return out


def git_state(folder: str | Path) -> dict[str, str]:
    """``git_commit`` and ``git_dirty`` of the repository at ``folder`` ("unknown" outside git)."""
    def git(*args):
        return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10)

    try:
        head = git("rev-parse", "HEAD")
        status = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": "unknown", "git_dirty": "unknown"}
    if head.returncode != 0:
        return {"git_commit": "unknown", "git_dirty": "unknown"}
    return {"git_commit": head.stdout.strip(), "git_dirty": str(bool(status.stdout.strip())).lower()}


class RunLogger:
    """Logs to one MLflow run (or, with ``client=None``, only keeps metrics in memory).

    Inside ``with logger.deferred():`` metrics, tags, tables and figures are held
    back (figures rendered to PNG at once) and written only when the block ends
    without an error, so a failing analysis leaves no half-logged results.
    """

    def __init__(self, client=None, run_id: str | None = None):
        self.client = client
        self.run_id = run_id
        self.metrics: dict[tuple[str, int | None], float] = {}
        self._pending: list | None = None

    def _do(self, op) -> None:
        if self.client is None:
            return
        if self._pending is None:
            op()
        else:
            self._pending.append(op)

    @contextmanager
    def deferred(self):
        """Hold back what is logged in the block; write it all at its end, or nothing on an error."""
        self._pending, staged = [], dict(self.metrics)
        try:
            yield self
            ops, self._pending = self._pending, None
            for op in ops:
                op()
        except BaseException:
            self.metrics = staged
            raise
        finally:
            self._pending = None

    def log_params(self, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, str(v)[:MAX_PARAM_CHARS]) for k, v in params.items()]
        for start in range(0, len(items), 100):
            chunk = items[start : start + 100]
            self._do(lambda chunk=chunk: self.client.log_batch(self.run_id, params=chunk, synchronous=True))

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        for k, v in tags.items():
            self._do(lambda k=k, v=v: self.client.set_tag(self.run_id, k, str(v)[:5000]))

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log scalar metrics; ``step`` (e.g. the layer) or 0."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = []
        for k, v in metrics.items():
            self.metrics[(k, step)] = float(v)
            batch.append(Metric(k, float(v), now, step or 0))
        if batch:
            self._do(lambda: self.client.log_batch(self.run_id, metrics=batch, synchronous=True))

    def log_figure(self, figure, artifact_file: str) -> None:
        """Log a matplotlib figure as a PNG (rendered now) and close it."""
        import io

        import matplotlib.pyplot as plt

        try:
            if self.client is None:
                return
            buf = io.BytesIO()
            figure.savefig(buf, format="png", dpi=120)
        finally:
            plt.close(figure)
        self.log_bytes(buf.getvalue(), artifact_file)

    def log_bytes(self, data: bytes, artifact_file: str) -> None:
        """Log raw bytes as the artifact ``artifact_file``."""
        self._do(lambda: self._write_bytes(data, artifact_file))

    def _write_bytes(self, data: bytes, artifact_file: str) -> None:
        import tempfile

        path = Path(artifact_file)
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / path.name
            local.write_bytes(data)
            self.client.log_artifact(self.run_id, str(local), path.parent.as_posix() or None)

    def log_dict(self, data, artifact_file: str) -> None:
        self._do(lambda: self.client.log_dict(self.run_id, data, artifact_file))

    def log_text(self, text: str, artifact_file: str) -> None:
        self._do(lambda: self.client.log_text(self.run_id, text, artifact_file))

    def log_artifacts(self, folder: str | Path, artifact_path: str) -> None:
        if Path(folder).is_dir():
            self._do(lambda: self.client.log_artifacts(self.run_id, str(folder), artifact_path))


@contextmanager
def tracked_run(uri: str | None, experiment: str, run_name: str, *, parent_run_id: str | None = None, tags: Mapping[str, Any] | None = None):
    """Open an MLflow run for one job and yield its ``RunLogger``; ``uri=None`` tracks nothing.

    The run ends FINISHED, or FAILED with the error message in the ``error``
    tag and the traceback in ``error.txt``, and the exception propagates.
    """
    if uri is None:
        yield RunLogger()
        return
    client = _client(uri)
    exp_id = ensure_experiment(uri, experiment)
    all_tags = {"mlflow.runName": run_name, **{k: str(v) for k, v in (tags or {}).items()}}
    if parent_run_id:
        all_tags["mlflow.parentRunId"] = parent_run_id
    run = client.create_run(exp_id, run_name=run_name, tags=all_tags)
    logger = RunLogger(client, run.info.run_id)
    try:
        yield logger
    except BaseException as err:
        message = f"{type(err).__name__}: {err}"
        try:
            client.set_tag(logger.run_id, "error", message[:5000])
            client.log_text(logger.run_id, traceback.format_exc(), "error.txt")
        finally:
            client.set_terminated(logger.run_id, "KILLED" if isinstance(err, KeyboardInterrupt) else "FAILED")
        raise
    client.set_terminated(logger.run_id, "FINISHED")


def start_parent_run(uri: str, experiment: str, run_name: str, tags: Mapping[str, Any] | None = None) -> str:
    """Create the parent run of a sweep (left RUNNING) and return its id."""
    client = _client(uri)
    exp_id = ensure_experiment(uri, experiment)
    tags = {"mlflow.runName": run_name, "geomexp.sweep": "parent", **{k: str(v) for k, v in (tags or {}).items()}}
    return client.create_run(exp_id, run_name=run_name, tags=tags).info.run_id


def end_parent_run(uri: str, run_id: str, failed_jobs: int = 0) -> str:
    """End a sweep's parent run: FAILED if any child run or job failed, else FINISHED. Returns the status.

    Tags: ``children`` (runs nested under it), ``children_failed``, ``skipped``
    (jobs skipped because their config had FINISHED before), ``failed_jobs``.
    """
    client = _client(uri)
    run = client.get_run(run_id)
    children = client.search_runs([run.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{run_id}'", max_results=10000)
    failed = [c for c in children if c.info.status != "FINISHED"]
    skipped = [k for k in run.data.tags if k.startswith("skipped.")]
    client.set_tag(run_id, "children", str(len(children)))
    client.set_tag(run_id, "children_failed", str(len(failed)))
    client.set_tag(run_id, "skipped", str(len(skipped)))
    client.set_tag(run_id, "failed_jobs", str(failed_jobs))
    status = "FAILED" if failed or failed_jobs or not (children or skipped) else "FINISHED"
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

