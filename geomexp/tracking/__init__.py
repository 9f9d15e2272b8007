"""Tracking: the only package that imports MLflow (a test checks it).

- ``store``: the client, experiment creation under a lock, reachability checks, git state;
- ``run``: one run per job (``tracked_run`` + ``RunLogger`` with deferred, all-or-nothing
  logging), sweep parent runs, stand-ins for resume-skipped jobs;
- ``query``: reading runs back (saved configs, metric histories, ``RunRecord``s of an experiment
  or a sweep, JSON artifacts) for reproduce and report.
"""

from geomexp.tracking.query import (
    RunRecord,
    experiment_names,
    get_run_record,
    load_run_config,
    load_run_json,
    run_metrics,
    run_records,
    sweep_parents,
)
from geomexp.tracking.run import (
    PARENT_RUN_ENV,
    PARENT_RUN_FILE,
    RunLogger,
    end_parent_run,
    parent_run_id_for_job,
    record_skipped_job,
    runs_with_tag,
    start_parent_run,
    tracked_run,
)
from geomexp.tracking.store import (
    check_store_reachable,
    ensure_experiment,
    git_state,
    redact_config,
    redact_uri,
    sqlite_path,
)

__all__ = [
    "PARENT_RUN_ENV",
    "PARENT_RUN_FILE",
    "RunLogger",
    "RunRecord",
    "check_store_reachable",
    "end_parent_run",
    "ensure_experiment",
    "experiment_names",
    "get_run_record",
    "git_state",
    "load_run_config",
    "load_run_json",
    "parent_run_id_for_job",
    "record_skipped_job",
    "redact_config",
    "redact_uri",
    "runs_with_tag",
    "run_metrics",
    "run_records",
    "sqlite_path",
    "start_parent_run",
    "sweep_parents",
    "tracked_run",
]
