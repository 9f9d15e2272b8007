"""A run's results file (``geomexp.results``) from what an MLflow store holds of it."""

from __future__ import annotations

import dataclasses

from geomexp.errors import GeomexpError
from geomexp.results import REPORT_TABLES, RESULTS_ARTIFACT, RunResults
from geomexp.tracking.query import META_ARTIFACT, get_run_record, load_run_config, load_run_json
from geomexp.tracking.store import client as _client


def report_table_paths(uri: str, run_id: str) -> list[str]:
    """The run's artifact paths below ``REPORT_TABLES`` (every layer's outlier table), sorted."""
    client = _client(uri)
    out, todo = [], [folder.rstrip("/") for folder in REPORT_TABLES]
    while todo:
        for item in client.list_artifacts(run_id, todo.pop()):
            if item.is_dir:
                todo.append(item.path)
            elif item.path.endswith(".json"):
                out.append(item.path)
    return sorted(out)


def store_results(
    uri: str,
    run_id: str,
    *,
    analyses: dict | None = None,
    config: dict | None = None,
    tables: dict | None = None,
    status: str | None = None,
) -> RunResults:
    """``RunResults`` of ``run_id``: its record as the store holds it (params, tags, every metric by layer) and,
    unless given, its analyses' metadata, saved config and report tables read from its artifacts.
    ``status`` replaces the stored one (a run writing its own file is still RUNNING)."""
    record = get_run_record(uri, run_id)
    if status:
        record = dataclasses.replace(record, status=status)
    if analyses is None:
        analyses = load_run_json(uri, run_id, META_ARTIFACT) or {}
    if config is None:
        try:
            config = load_run_config(uri, run_id)
        except GeomexpError:
            config = {}
    if tables is None:
        tables = {path: load_run_json(uri, run_id, path) for path in report_table_paths(uri, run_id)}
    return RunResults(record, analyses, config, tables)


def logged_results(uri: str, run_id: str) -> RunResults | None:
    """The results file the run logged (``results.json``), or None if it has none (a run older than it)."""
    doc = load_run_json(uri, run_id, RESULTS_ARTIFACT)
    return RunResults.from_json(doc, f"run {run_id}'s {RESULTS_ARTIFACT}") if doc is not None else None
