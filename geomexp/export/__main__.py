"""python -m geomexp.export mteb --experiment NAME | --parent RUN_ID | --from-files DIR --out DIR
                                [--tracking-uri URI] [--layer last|N]

Writes the STS 2017 scores of the finished runs as MTEB result files (``geomexp.export``), at the last layer
each run logged (or ``--layer``), chosen as the report chooses runs (duplicates counted once, the newest).
"""

from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    from geomexp.errors import print_one_line
    from geomexp.reproduce import default_tracking_uri

    p = argparse.ArgumentParser(prog="python -m geomexp.export", description="Results in other tools' layouts.")
    sub = p.add_subparsers(dest="layout", required=True)
    m = sub.add_parser("mteb", help="STS 2017 scores as MTEB result files (<model>/<revision>/STS17.json)")
    which = m.add_mutually_exclusive_group(required=True)
    which.add_argument("--experiment", help="the MLflow experiment of the STS runs")
    which.add_argument("--parent", metavar="RUN_ID", help="one sweep: the jobs of this parent run")
    which.add_argument("--from-files", metavar="DIR", help="results files (python -m geomexp.results) instead")
    m.add_argument("--tracking-uri", default=None, help="default: MLFLOW_TRACKING_URI or sqlite:///<project>/mlflow.db")
    m.add_argument("--layer", default="last", help="last (default: the last layer each run logged) or a layer number")
    m.add_argument("--out", required=True, help="the folder of the MTEB-shaped files")
    args = p.parse_args(argv)
    try:
        from geomexp.export import mteb_files
        from geomexp.report.collect import collect_runs

        source = args.tracking_uri or default_tracking_uri()
        if args.from_files:
            from geomexp.results import FileRuns

            source = FileRuns(args.from_files)
        runs = collect_runs(source, experiment=args.experiment, parent=args.parent, layer=args.layer)
        paths, notes = mteb_files(runs, args.out)
    except Exception as err:
        if not print_one_line(err):
            raise
        return 2
    print(f"{len(paths)} MTEB result file(s) in {args.out}")
    for path in paths:
        print(f"  {path}")
    for note in (*notes, *([] if paths else ["no STS run among the runs read (analysis=sts)"])):
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
