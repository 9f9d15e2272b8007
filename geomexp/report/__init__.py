"""Report: tables and figures of the runs tracked in MLflow, built from the metadata each run logged,
and a static HTML page of them.

    python -m geomexp.report --experiment NAME [--layer last|N] [--where key=value ...]
                             [--formats png,pdf,svg] [--no-figures] [--mlflow-ui URL]
    python -m geomexp.report --parent RUN_ID   (the jobs of one sweep)

- ``collect``: which runs (measurement runs; stand-ins of skipped sweep jobs resolved; reproduce
  runs left out by default; ``--where``; one layer; same identity counted once), read through
  ``geomexp.tracking`` only;
- ``tables``: one table per ``ReportTable`` the analyses declare (``meta/analyses.json``): runs that
  differ only in the seed aggregated (mean ± sd, n), competing settings split into rows and noted;
- ``figures``: cross-run figures (metric vs layer per language / per model, enhancement methods,
  STS bars with intervals, cross-language overlap), each a function returning a ``Figure``;
- ``dimensions``: dimension consistency (rogue and outlier dimension maps, Jaccard table);
- ``write``: ``<name>.md`` + ``<name>.csv`` per table, ``report.md``, ``runs.csv``, ``figures/``;
- ``html``: ``index.html`` (Jinja2, autoescaped; cells link to their MLflow runs; provenance);
- ``cli``: ``make_report`` (all of it, logged to a run named ``report``, tag ``geomexp.kind=report``)
  and the command line.

From a notebook::

    from geomexp.report import collect_runs, build_tables, write_report
    runs = collect_runs("sqlite:////abs/mlflow.db", experiment="offline_geometry")
    tables = build_tables(runs)     # {name: pandas.DataFrame}; df.attrs: title, description, notes
    tables["i_pc"]                  # rows models (and differing settings), columns languages
    write_report(tables, "reports/offline_geometry", runs=runs)
"""

from geomexp.report.cli import Report, default_out_dir, main, make_report
from geomexp.report.collect import RunAtLayer, Runs, collect_runs
from geomexp.report.tables import build_tables
from geomexp.report.write import to_markdown, write_report

__all__ = [
    "RunAtLayer",
    "Report",
    "Runs",
    "build_tables",
    "collect_runs",
    "default_out_dir",
    "main",
    "make_report",
    "to_markdown",
    "write_report",
]
