"""Results files: one JSON file per run holding what a report needs, readable without MLflow.

Every measurement run logs ``results.json`` (``RESULTS_ARTIFACT``); ``python -m geomexp.results
--experiment NAME --out DIR`` writes one per run of an experiment (building it from the store for runs
older than the file); ``python -m geomexp.report --from-files DIR`` builds a report from such a folder,
the same tables as from the store. A file (``RunResults.to_json``)::

    {"format": "geomexp.results", "version": 1, "geomexp_version": "...",
     "run": {"run_id", "run_name", "experiment", "experiment_id", "status", "start_time"},   # ms since epoch
     "params": {name: text}, "tags": {name: text},          # the run's, as MLflow holds them
     "metrics": {key: {layer: value}},                      # every value; layer = the hidden-state index
     "analyses": {name: AnalysisInfo.to_dict()},            # each metric's label, kind, tolerance, ...
     "config": {...},                                       # the resolved config (credentials redacted)
     "tables": {artifact path: JSON}}                       # the per-run tables a report reads (outliers)

NaN is written as ``NaN`` (Python's ``json``). ``load(path)`` and ``load_folder(folder)`` read them back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from geomexp import tag_names
from geomexp.errors import GeomexpError

RESULTS_FORMAT = "geomexp.results"
RESULTS_VERSION = 1
RESULTS_ARTIFACT = "results.json"
#: the artifact folders of per-run tables that a report reads (``geomexp.report.dimensions``)
REPORT_TABLES = ("tables/outliers/",)
#: the artifact holding the analyses' metadata (as ``geomexp.tracking.query.META_ARTIFACT``; not imported from
#: there: ``geomexp.tracking`` imports this module, and the reader stays free of MLflow's modules)
_META = "meta/analyses.json"


class ResultsFileError(GeomexpError):
    """A file is not a readable geomexp results file (named, with what is wrong)."""


@dataclass
class RunResults:
    """One run's results file: its ``record`` (``geomexp.tracking.RunRecord``: id, name, experiment, status,
    start time, params, tags, metrics by (key, layer)), ``analyses`` metadata, ``config`` and ``tables``."""

    record: object
    analyses: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        from geomexp import __version__

        r = self.record
        metrics: dict[str, dict[str, float]] = {}
        for (key, layer), value in sorted(r.metrics.items()):
            metrics.setdefault(key, {})[str(layer)] = float(value)
        return {
            "format": RESULTS_FORMAT,
            "version": RESULTS_VERSION,
            "geomexp_version": __version__,
            "run": {
                "run_id": r.run_id,
                "run_name": r.run_name,
                "experiment": r.experiment,
                "experiment_id": r.experiment_id,
                "status": r.status,
                "start_time": r.start_time,
            },
            "params": dict(sorted(r.params.items())),
            "tags": dict(sorted(r.tags.items())),
            "metrics": metrics,
            "analyses": self.analyses,
            "config": self.config,
            "tables": dict(sorted(self.tables.items())),
        }

    @classmethod
    def from_json(cls, doc, where: str = "results") -> RunResults:
        """The results in ``doc`` (a parsed file); ``ResultsFileError`` naming ``where`` if it is not one."""
        from geomexp.tracking.query import RunRecord

        if not isinstance(doc, dict) or doc.get("format") != RESULTS_FORMAT:
            raise ResultsFileError(f'{where} is not a geomexp results file (no "format": "{RESULTS_FORMAT}")')
        if doc.get("version") != RESULTS_VERSION:
            raise ResultsFileError(
                f"{where} is results format version {doc.get('version')!r}; this geomexp reads version "
                f"{RESULTS_VERSION}: read it with the geomexp version that wrote it ({doc.get('geomexp_version')})"
            )
        try:
            run = doc["run"]
            metrics = {
                (str(key), int(layer)): float(value)
                for key, by_layer in doc["metrics"].items()
                for layer, value in by_layer.items()
            }
            record = RunRecord(
                run_id=str(run["run_id"]),
                run_name=str(run.get("run_name") or ""),
                experiment=str(run.get("experiment") or ""),
                status=str(run.get("status") or ""),
                start_time=int(run.get("start_time") or 0),
                params={str(k): str(v) for k, v in doc["params"].items()},
                tags={str(k): str(v) for k, v in doc["tags"].items()},
                metrics=metrics,
                experiment_id=str(run.get("experiment_id") or ""),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ResultsFileError(f"{where}: a results file without a readable {err} field") from None
        return cls(
            record, dict(doc.get("analyses") or {}), dict(doc.get("config") or {}), dict(doc.get("tables") or {})
        )


def dumps(results: RunResults) -> str:
    """The file's text (indented JSON; NaN as ``NaN``)."""
    return json.dumps(results.to_json(), indent=1, allow_nan=True) + "\n"


def write(results: RunResults, path) -> Path:
    """Write ``results`` to ``path`` whole or not at all (a temporary file renamed into place)."""
    import os

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(dumps(results), encoding="utf-8")
    os.replace(tmp, path)
    return path


def load(path) -> RunResults:
    """The results file at ``path``; ``ResultsFileError`` naming it if it cannot be read as one."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ResultsFileError(f"cannot read the results file {path}: {err.strerror or err}") from None
    except json.JSONDecodeError as err:
        raise ResultsFileError(f"{path} is not JSON: {err}") from None
    return RunResults.from_json(doc, str(path))


def load_folder(folder) -> list[RunResults]:
    """Every results file below ``folder`` (``*.json`` whose ``format`` is a results file's; other JSON files
    are passed over), oldest run first. ``ResultsFileError`` for a missing folder, a broken results file, two
    files of one run, or none at all."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ResultsFileError(f"--from-files {folder}: no such folder")
    found: dict[str, tuple[Path, RunResults]] = {}
    for path in sorted(folder.rglob("*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if not isinstance(doc, dict) or doc.get("format") != RESULTS_FORMAT:
            continue
        results = RunResults.from_json(doc, str(path))
        run_id = results.record.run_id
        if run_id in found:
            raise ResultsFileError(f"{path} and {found[run_id][0]} are both the results of run {run_id}: keep one")
        found[run_id] = (path, results)
    if not found:
        raise ResultsFileError(f'{folder} holds no results file (*.json with "format": "{RESULTS_FORMAT}")')
    return sorted((r for _, r in found.values()), key=lambda r: (r.record.start_time, r.record.run_id))


class FileRuns:
    """Runs read from results files (``load_folder``): what ``geomexp.report`` reads from a store, without one."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.by_id = {r.record.run_id: r for r in load_folder(self.folder)}

    def describe(self) -> str:
        return f"results files in {self.folder}"

    def records(self, *, experiment: str | None = None, parent: str | None = None) -> list:
        """Every run's record (of ``experiment`` or of the sweep ``parent`` if given), oldest first."""
        out = [r.record for r in self.by_id.values()]
        if experiment is not None:
            out = [r for r in out if r.experiment == experiment]
        if parent is not None:
            out = [r for r in out if r.tags.get(tag_names.PARENT_RUN_ID) == parent]
        return out

    def record(self, run_id: str, *, with_metrics: bool = True):
        if run_id not in self.by_id:
            raise GeomexpError(f"run {run_id!r}: no results file of it in {self.folder}")
        return self.by_id[run_id].record

    def json(self, run_id: str, artifact: str):
        """The run's metadata (``meta/analyses.json``) or a table it carries; None if it has not that one."""
        results = self.by_id.get(run_id)
        if results is None:
            return None
        if artifact == _META:
            return results.analyses or None
        return results.tables.get(artifact)

    def config(self, run_id: str) -> dict:
        results = self.by_id.get(run_id)
        if results is None or not results.config:
            raise GeomexpError(f"run {run_id}: its results file holds no config")
        return results.config


__all__ = [
    "FileRuns",
    "REPORT_TABLES",
    "RESULTS_ARTIFACT",
    "RESULTS_FORMAT",
    "RESULTS_VERSION",
    "ResultsFileError",
    "RunResults",
    "load",
    "load_folder",
    "write",
]
