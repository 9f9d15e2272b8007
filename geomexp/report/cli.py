"""``make_report`` (collect, tabulate, write, log to MLflow) and the command line.

python -m geomexp.report --experiment NAME | --parent RUN_ID [--tracking-uri URI] [--out DIR]
                         [--layer last|N] [--where key=value ...] [--include-reproduce]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import dataclass, field
from pathlib import Path

from geomexp.errors import GeomexpError
from geomexp.tracking.store import redact_uri

REPORT_RUN_NAME = "report"


@dataclass
class Report:
    """What ``make_report`` produced: the report run's id (None if not logged), the folder, the files,
    the tables and the runs they were built from."""

    run_id: str | None
    out_dir: Path
    paths: list[Path]
    tables: dict
    runs: list = field(default_factory=list)


def default_out_dir(experiment: str, parent: str | None = None) -> Path:
    """``<project>/reports/<experiment>`` (``<experiment>-<parent id[:8]>`` for one sweep)."""
    from geomexp.config import project_root

    name = experiment if parent is None else f"{experiment}-{parent[:8]}"
    return project_root() / "reports" / name


def header(runs, uri: str, run_id: str | None) -> str:
    """The top of ``report.md``: source, layer, filters, run counts, time, version, report run."""
    from geomexp import __version__

    layer = "the last layer each run logged" if runs.layer == "last" else f"layer {runs.layer}"
    where = f"; filter: --where {' '.join(runs.where)}" if runs.where else ""
    reproduce = "included" if runs.include_reproduce else "left out"
    now = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    logged = f" (MLflow run {run_id})" if run_id else ""
    return (
        f"# Report: {runs.source}\n\n"
        f"Source: {redact_uri(uri)}, {runs.source}; {len(runs)} run(s) shown of {len(runs.read)} read; layer: {layer}{where}; "
        f"reproduce runs {reproduce}.\n\nGenerated {now} by geomexp {__version__}{logged}.\n"
    )


def make_report(
    uri: str,
    experiment: str | None = None,
    parent: str | None = None,
    *,
    layer="last",
    where=(),
    include_reproduce: bool = False,
    out_dir=None,
    log: bool = True,
) -> Report:
    """Collect the runs, build the tables, write them to ``out_dir`` (default ``default_out_dir``) and,
    with ``log``, log every file to a new run named ``report`` (tag ``geomexp.kind=report``) in the
    same experiment. ``GeomexpError`` for what ``collect_runs`` rejects or when no table has data."""
    from geomexp.report.collect import collect_runs
    from geomexp.report.tables import build_tables
    from geomexp.report.write import write_report

    runs = collect_runs(
        uri, experiment=experiment, parent=parent, layer=layer, where=where, include_reproduce=include_reproduce
    )
    tables = build_tables(runs)
    if not tables:
        raise GeomexpError(
            f"none of the {len(runs)} run(s) of {runs.source} logged a metric of a report table at the layer tabulated"
        )
    out = Path(out_dir) if out_dir else default_out_dir(runs.experiment, parent)
    if not log:
        return Report(None, out, write_report(tables, out, header=header(runs, uri, None), runs=runs), tables, runs)

    from geomexp.config import project_root
    from geomexp.tracking import git_state, tracked_run

    tags = {
        "geomexp.kind": "report",
        "report.source": runs.source,
        "report.layer": str(runs.layer),
        "report.where": " ".join(runs.where),
        "report.include_reproduce": str(include_reproduce).lower(),
        "report.n_runs": str(len(runs)),
        "report.tables": ",".join(tables),
        "report.out_dir": str(out),
        **({"report.parent": parent} if parent else {}),
        **git_state(project_root()),
    }
    with tracked_run(uri, runs.experiment, REPORT_RUN_NAME, tags=tags) as logger:
        paths = write_report(tables, out, header=header(runs, uri, logger.run_id), runs=runs)
        for path in paths:
            logger.log_bytes(path.read_bytes(), f"report/{path.name}")
        logger.log_text("\n".join(m.run_id for m in runs) + "\n", "report/run_ids.txt")
    return Report(logger.run_id, out, paths, tables, runs)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m geomexp.report",
        description="Tables (Markdown + CSV) of the runs tracked in MLflow, built from each analysis's own metadata.",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--experiment", help="the MLflow experiment to tabulate (e.g. offline_geometry)")
    which.add_argument("--parent", metavar="RUN_ID", help="tabulate one sweep: the jobs of this parent run")
    p.add_argument("--tracking-uri", default=None, help="default: MLFLOW_TRACKING_URI or sqlite:///<project>/mlflow.db")
    p.add_argument("--out", default=None, help="output folder (default: reports/<experiment>/)")
    p.add_argument("--layer", default="last", help="last (default: the last layer each run logged) or a layer number")
    p.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="keep runs whose param or tag KEY equals VALUE (repeatable)",
    )
    p.add_argument("--include-reproduce", action="store_true", help="also read reproduce runs (tag reproduced_from)")
    p.add_argument("--no-log", action="store_true", help="write the files only; log no report run")
    return p


def main(argv=None) -> int:
    """Exit status 0 on success, 2 on a user error (printed as one line)."""
    from geomexp.reproduce import default_tracking_uri

    args = parser().parse_args(argv)
    uri = args.tracking_uri or default_tracking_uri()
    try:
        report = make_report(
            uri,
            experiment=args.experiment,
            parent=args.parent,
            layer=args.layer,
            where=args.where,
            include_reproduce=args.include_reproduce,
            out_dir=args.out,
            log=not args.no_log,
        )
    except GeomexpError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    runs = report.runs
    print(f"report of {len(runs)} run(s) of {runs.source}: {len(report.tables)} table(s) in {report.out_dir}")
    for path in report.paths:
        print(f"  {path}")
    for note in runs.notes:
        print(f"note: {note}")
    if report.run_id:
        print(f"MLflow run {report.run_id} (name '{REPORT_RUN_NAME}', tag geomexp.kind=report) in {uri}")
    return 0
