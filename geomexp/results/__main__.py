"""python -m geomexp.results --experiment NAME | --parent RUN_ID [--tracking-uri URI] --out DIR

Writes ``DIR/<run id>.json``, the results file of every finished measurement run of an experiment (or of
one sweep): the ``results.json`` the run logged, or, for a run older than that file, one built from what
the store holds of it. Share the folder; ``python -m geomexp.report --from-files DIR`` reports it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def export(uri: str, out_dir, *, experiment: str | None = None, parent: str | None = None) -> list[Path]:
    """Write the results file of each FINISHED measurement run of ``experiment`` (or the sweep ``parent``) into
    ``out_dir``; return the paths written. ``GeomexpError`` for an unknown store, experiment or run."""
    import os

    from geomexp import tag_names
    from geomexp.results import write
    from geomexp.tracking import run_records
    from geomexp.tracking.results import logged_results, store_results

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one small file a run: no bars
    paths = []
    for rec in run_records(uri, experiment=experiment, parent=parent):
        if rec.status != "FINISHED" or rec.tags.get(tag_names.KIND) != tag_names.MEASUREMENT:
            continue
        results = logged_results(uri, rec.run_id) or store_results(uri, rec.run_id)
        paths.append(write(results, Path(out_dir) / f"{rec.run_id}.json"))
    return paths


def main(argv=None) -> int:
    from geomexp.errors import print_one_line
    from geomexp.reproduce import default_tracking_uri

    p = argparse.ArgumentParser(prog="python -m geomexp.results", description=__doc__.split("\n\n")[1])
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--experiment", help="the MLflow experiment whose runs to export")
    which.add_argument("--parent", metavar="RUN_ID", help="export one sweep: the jobs of this parent run")
    p.add_argument("--tracking-uri", default=None, help="default: MLFLOW_TRACKING_URI or sqlite:///<project>/mlflow.db")
    p.add_argument("--out", required=True, help="the folder to write <run id>.json files into")
    args = p.parse_args(argv)
    uri = args.tracking_uri or default_tracking_uri()
    try:
        paths = export(uri, args.out, experiment=args.experiment, parent=args.parent)
    except Exception as err:
        if not print_one_line(err):
            raise
        return 2
    print(f"{len(paths)} results file(s) in {args.out}")
    if not paths:
        print("note: no FINISHED measurement run there")
    return 0


if __name__ == "__main__":
    sys.exit(main())
