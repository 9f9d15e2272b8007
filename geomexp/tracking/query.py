"""Reading tracked runs back (reproduce, report): saved configs, metric histories, run records."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field

from geomexp import tag_names
from geomexp.analyses.keys import is_method_agnostic
from geomexp.errors import GeomexpError
from geomexp.tracking.store import client as _client
from geomexp.tracking.store import sqlite_path

CONFIG_ARTIFACT = "config/config.yaml"
META_ARTIFACT = "meta/analyses.json"


def check_store_exists(uri: str) -> None:
    """A ``sqlite:///`` store must exist already (MLflow would silently create an empty one)."""
    db = sqlite_path(uri)
    if db is not None and not db.is_file():
        raise GeomexpError(
            f"no MLflow store at {db} (tracking URI {uri}); run some experiments first or pass --tracking-uri"
        )


def get_run(uri: str, run_id: str):
    """The MLflow run ``run_id`` or a ``GeomexpError`` naming it and the store."""
    from mlflow.exceptions import MlflowException

    check_store_exists(uri)
    try:
        return _client(uri).get_run(run_id)
    except MlflowException as err:
        raise GeomexpError(f"run {run_id!r} not found in the tracking store {uri}") from err


def load_run_config(uri: str, run_id: str) -> dict:
    """The resolved config saved with ``run_id`` (artifact ``config/config.yaml``) as a plain dict."""
    from mlflow.exceptions import MlflowException
    from omegaconf import OmegaConf

    get_run(uri, run_id)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = _client(uri).download_artifacts(run_id, CONFIG_ARTIFACT, tmp)
        except (MlflowException, OSError) as err:
            raise GeomexpError(f"run {run_id} has no saved config (artifact {CONFIG_ARTIFACT})") from err
        return OmegaConf.to_container(OmegaConf.load(path))


def run_metrics(uri: str, run_id: str) -> dict[tuple[str, int], float]:
    """Every metric value of a run, keyed by (name, step = layer) (as a ``RunRecord`` holds them)."""
    client = _client(uri)
    return _record_metrics(client, client.get_run(run_id))


@dataclass
class RunRecord:
    """A tracked run as plain data: identity, params, tags and every metric value by (key, layer)."""

    run_id: str
    run_name: str
    experiment: str
    status: str
    start_time: int
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[tuple[str, int], float] = field(default_factory=dict)
    experiment_id: str = ""


def _search_all(client, experiment_ids: list[str], filter_string: str = "", order_by: list[str] | None = None) -> list:
    """Every run matching ``filter_string``, paging through the search results."""
    runs, token = [], None
    while True:
        page = client.search_runs(
            experiment_ids, filter_string=filter_string, max_results=1000, order_by=order_by, page_token=token
        )
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def _record_metrics(client, run) -> dict[tuple[str, int], float]:
    """Every metric value of ``run`` by (key, step). A single-layer run (tag ``geomexp.layer`` not
    ``all``) logs every metric at one step: one history read tells it; others read every history."""
    latest = {k: v for k, v in run.data.metrics.items() if not is_method_agnostic(k)}  # copies: skipped
    if not latest:
        return {}
    run_id = run.info.run_id
    names = sorted(latest)
    first = client.get_metric_history(run_id, names[0])
    steps = {m.step for m in first}
    if run.data.tags.get(tag_names.LAYER, "all") != "all" and len(steps) == 1:
        step = steps.pop()
        return {(name, step): float(value) for name, value in latest.items()}
    out: dict[tuple[str, int], float] = {}
    for name in names:
        history = first if name == names[0] else client.get_metric_history(run_id, name)
        for m in sorted(history, key=lambda m: m.timestamp):  # a value logged twice at a step: the newest
            out[(name, m.step)] = float(m.value)
    return out


def _to_record(client, run, experiment_name: str, with_metrics: bool = True) -> RunRecord:
    return RunRecord(
        run_id=run.info.run_id,
        run_name=run.info.run_name or "",
        experiment=experiment_name,
        status=run.info.status,
        start_time=int(run.info.start_time or 0),
        params=dict(run.data.params),
        tags=dict(run.data.tags),
        metrics=_record_metrics(client, run) if with_metrics else {},
        experiment_id=str(run.info.experiment_id),
    )


def _experiments(client) -> list:
    """Every (active) experiment of the store, paging through the search results."""
    out, token = [], None
    while True:
        page = client.search_experiments(max_results=1000, page_token=token)
        out.extend(page)
        token = page.token
        if not token:
            return out


def experiment_names(uri: str) -> list[str]:
    """Names of the experiments in the store, sorted."""
    check_store_exists(uri)
    return sorted(e.name for e in _experiments(_client(uri)))


def sweep_parents(uri: str) -> list[RunRecord]:
    """The sweeps' parent runs (tag ``geomexp.kind=sweep``) of every experiment, newest first (no metrics)."""
    check_store_exists(uri)
    client = _client(uri)
    exps = {e.experiment_id: e.name for e in _experiments(client)}
    if not exps:
        return []
    runs = _search_all(client, list(exps), "tags.`geomexp.kind` = 'sweep'", ["attributes.start_time DESC"])
    return [_to_record(client, r, exps[r.info.experiment_id], with_metrics=False) for r in runs]


def get_run_record(uri: str, run_id: str, *, with_metrics: bool = True) -> RunRecord:
    """The run ``run_id`` as a ``RunRecord``; ``GeomexpError`` naming it (and the sweeps there) if unknown."""
    run = _get_run_naming_sweeps(uri, run_id)
    client = _client(uri)
    return _to_record(client, run, client.get_experiment(run.info.experiment_id).name, with_metrics)


def _get_run_naming_sweeps(uri: str, run_id: str):
    try:
        return get_run(uri, run_id)
    except GeomexpError as err:
        parents = sweep_parents(uri)
        known = ", ".join(f"{p.run_id} ({p.run_name}, experiment {p.experiment!r})" for p in parents[:10])
        raise GeomexpError(f"{err}; sweep parent runs there: {known or 'none'}") from None


def run_records(uri: str, *, experiment: str | None = None, parent: str | None = None) -> list[RunRecord]:
    """Every run of ``experiment`` (by name), or every child run of the sweep parent run ``parent``,
    oldest first, with params, tags and all metric values by (key, step = layer).

    Every status and kind is returned (the caller chooses). ``GeomexpError``: no SQLite store at the
    URI, an unknown experiment (naming those there), an unknown run id (naming the sweeps there).
    """
    if (experiment is None) == (parent is None):
        raise GeomexpError("give exactly one of an experiment name or a sweep's parent run id")
    check_store_exists(uri)
    client = _client(uri)
    if parent is not None:
        exp_id = _get_run_naming_sweeps(uri, parent).info.experiment_id
        name = client.get_experiment(exp_id).name
        runs = _search_all(client, [exp_id], f"tags.mlflow.parentRunId = '{parent}'", ["attributes.start_time ASC"])
    else:
        exp = client.get_experiment_by_name(experiment)
        if exp is None:
            raise GeomexpError(
                f"experiment {experiment!r} not found in {uri}; experiments there: {', '.join(experiment_names(uri)) or 'none'}"
            )
        name, runs = exp.name, _search_all(client, [exp.experiment_id], "", ["attributes.start_time ASC"])
    return [_to_record(client, r, name) for r in runs]


def load_run_json(uri: str, run_id: str, artifact: str):
    """The JSON artifact ``artifact`` of ``run_id`` (e.g. ``meta/analyses.json``), or None if it has none."""
    import json
    import os

    from mlflow.exceptions import MlflowException

    quiet = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    before = os.environ.get(quiet)
    os.environ[quiet] = "false"  # one small file: no progress bar on the console
    try:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                path = _client(uri).download_artifacts(run_id, artifact, tmp)
            except (MlflowException, OSError):
                return None
            with open(path, encoding="utf-8") as f:
                return json.load(f)
    finally:
        if before is None:
            os.environ.pop(quiet, None)
        else:
            os.environ[quiet] = before
