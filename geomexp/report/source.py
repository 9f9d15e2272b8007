"""Where a report reads runs from: an MLflow store (``StoreRuns``) or a folder of results files
(``geomexp.results.FileRuns``). Both answer the same questions: the runs of an experiment or a sweep,
one run by id, one of its JSON artifacts, its saved config."""

from __future__ import annotations

from geomexp.tracking import get_run_record, load_run_config, load_run_json, run_records, sweep_parents
from geomexp.tracking.store import redact_uri


class StoreRuns:
    """The runs of the MLflow store at ``uri``."""

    def __init__(self, uri: str):
        self.uri = uri

    def describe(self) -> str:
        return redact_uri(self.uri)

    def records(self, *, experiment: str | None = None, parent: str | None = None) -> list:
        return run_records(self.uri, experiment=experiment, parent=parent)

    def record(self, run_id: str, *, with_metrics: bool = True):
        return get_run_record(self.uri, run_id, with_metrics=with_metrics)

    def json(self, run_id: str, artifact: str):
        return load_run_json(self.uri, run_id, artifact)

    def config(self, run_id: str) -> dict:
        return load_run_config(self.uri, run_id)

    def sweeps(self) -> list:
        """The sweeps' parent runs, newest first (for a message naming them)."""
        return sweep_parents(self.uri)


def as_source(where):
    """``where`` as a run source: a tracking URI (``str``) is a ``StoreRuns``; a source is itself."""
    return StoreRuns(where) if isinstance(where, str) else where
