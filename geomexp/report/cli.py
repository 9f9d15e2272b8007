"""``make_report`` (collect, tabulate, draw, write, log to MLflow) and the command line.

python -m geomexp.report --experiment NAME | --parent RUN_ID | --from-files DIR [--tracking-uri URI] [--out DIR]
                         [--layer last|N] [--where key=value ...] [--include-reproduce]
                         [--formats png,pdf,svg] [--no-figures] [--depth auto|relative|layer]
                         [--mlflow-ui URL] [--no-log]
"""

from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from geomexp import tag_names
from geomexp.errors import GeomexpError, print_one_line

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
    #: ``{stem: [paths written]}`` of the cross-run figures
    figures: dict = field(default_factory=dict)
    html: Path | None = None
    #: the x axis of the layer curves: ``layer`` or ``relative`` (None without figures)
    depth: str | None = None


def default_out_dir(experiment: str, parent: str | None = None) -> Path:
    """``<project>/reports/<experiment>`` (``<experiment>-<parent id[:8]>`` for one sweep)."""
    from geomexp.config import project_root
    from geomexp.report.names import safe_name

    name = experiment if parent is None else f"{experiment}-{parent[:8]}"
    return project_root() / "reports" / safe_name(name, "report")  # an experiment name is stored data


def header(runs, uri: str, run_id: str | None, depth: str | None = None) -> str:
    """The top of ``report.md``: source, layer, filters, run counts, time, version, report run, and the
    x axis of the layer curves (``depth``: ``layer``, ``relative`` or None without figures)."""
    from geomexp import __version__
    from geomexp.report.collect import shared_settings

    layer = "the last layer each run logged" if runs.layer == "last" else f"layer {runs.layer}"
    where = f"; filter: --where {' '.join(runs.where)}" if runs.where else ""
    shared = shared_settings(runs)
    common = (
        "\nSettings shared by every run shown (the tables' rows and footnotes say what differs): "
        + "; ".join(f"`{k}`={v}" for k, v in shared.items())
        + ".\n"
        if shared
        else ""
    )
    reproduce = "included" if runs.include_reproduce else "left out"
    now = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    logged = f" (MLflow run {run_id})" if run_id else ""
    return (
        f"# Report: {runs.source}\n\n"
        f"Source: {uri}, {runs.source}; {len(runs)} run(s) shown of {len(runs.read)} read; layer: {layer}{where}; "
        f"reproduce runs {reproduce}.\n\nGenerated {now} by geomexp {__version__}{logged}.\n{common}"
    ) + (
        "\nLayer curves are drawn against the relative depth layer / L (L = each model's number of layers; "
        "0 = embeddings, 1 = last layer).\n"
        if depth == "relative"
        else ""
    )


def make_report(
    uri,
    experiment: str | None = None,
    parent: str | None = None,
    *,
    layer="last",
    where=(),
    include_reproduce: bool = False,
    out_dir=None,
    log: bool = True,
    formats=None,
    figures: bool = True,
    mlflow_ui: str | None = None,
    depth: str = "auto",
) -> Report:
    """Collect the runs, build the tables and cross-run figures, write them to ``out_dir`` (default
    ``default_out_dir``): Markdown + CSV tables, ``figures/<stem>.<format>`` (``formats``, default PNG +
    PDF), ``index.html`` (the static report, linking cells to ``mlflow_ui``) and, with ``log``, log every
    file under ``report/`` of a new run named ``report`` (tag ``geomexp.kind=report``) in the same
    experiment. ``depth``: the x axis of the layer curves, ``auto`` (relative depth layer / L when the
    runs' models have different depths L, else the layer index), ``relative`` or ``layer``
    (``geomexp.report.depth``). ``GeomexpError`` for what ``collect_runs`` rejects, a bad ``depth`` or
    when there is nothing to show.

    ``uri``: a tracking URI, or a source of ``geomexp.report.source`` such as ``geomexp.results.FileRuns``
    (results files: the same tables as from the store they came from; no report run is logged)."""
    from geomexp.figures.report import build_figures
    from geomexp.figures.style import DEFAULT_FORMATS, parse_formats
    from geomexp.report.collect import collect_runs
    from geomexp.report.depth import check_depth
    from geomexp.report.dimensions import collect_dimensions, consistency_table
    from geomexp.report.downstream import downstream_table
    from geomexp.report.html import DEFAULT_MLFLOW_UI
    from geomexp.report.tables import build_tables

    try:
        formats = parse_formats(formats or DEFAULT_FORMATS)
    except ValueError as err:
        raise GeomexpError(f"--formats: {err}") from None
    check_depth(depth)
    runs = collect_runs(
        uri, experiment=experiment, parent=parent, layer=layer, where=where, include_reproduce=include_reproduce
    )
    tables = build_tables(runs)
    dims = collect_dimensions(runs, runs.store)
    log = log and isinstance(uri, str)  # results files have no store to log a report run in
    consistency = consistency_table(dims)
    if consistency is not None:
        tables["dimension_consistency"] = consistency
    for name, by_track in (("isotropy_vs_sts", False), ("isotropy_vs_sts_by_track", True)):
        table = downstream_table(runs, by_track=by_track)
        if table is not None:
            tables[name] = table
    figs = build_figures(runs, dims, depth=depth) if figures else {}
    axis = getattr(figs, "depth", None)
    if not tables and not figs:
        raise GeomexpError(
            f"none of the {len(runs)} run(s) of {runs.source} logged a metric of a report table at the layer tabulated"
        )
    out = Path(out_dir) if out_dir else default_out_dir(runs.experiment, parent)
    ui = mlflow_ui or DEFAULT_MLFLOW_UI
    experiment_id = runs[0].run.experiment_id if runs else ""

    from geomexp.config import project_root
    from geomexp.tracking import git_state

    git = git_state(project_root())

    def produce(run_id):
        paths = write_report(tables, out, header=header(runs, runs.uri, run_id, axis), runs=runs)
        written = write_figures(figs, out, formats)
        html = render_html(
            out,
            tables=tables,
            figures=written,
            runs=runs,
            uri=runs.uri,
            from_store=isinstance(uri, str),
            mlflow_ui=ui,
            report_run_id=run_id,
            experiment_id=experiment_id,
            provenance=provenance(runs, runs.uri, formats, git, experiment_id, axis),
            captions=getattr(figs, "captions", {}),
        )
        return [html, *paths, *(p for ps in written.values() for p in ps)], written, html

    from geomexp.report.html import render_html
    from geomexp.report.write import write_figures, write_report

    if not log:
        paths, written, html = produce(None)
        return Report(None, out, paths, tables, runs, written, html, axis)

    from geomexp.tracking import tracked_run

    tags = {
        tag_names.KIND: tag_names.REPORT,
        "mlflow.note.content": (
            f"geomexp report of {runs.source}: tables, figures and `report/index.html` (the static HTML "
            "report: download the `report/` folder and open it). No metrics: hide report runs from metric "
            "charts with the filter `tags.geomexp.kind = 'measurement'`."
        ),
        "report.source": runs.source,
        "report.layer": str(runs.layer),
        "report.where": " ".join(runs.where),
        "report.include_reproduce": str(include_reproduce).lower(),
        "report.n_runs": str(len(runs)),
        "report.tables": ",".join(tables),
        "report.figures": str(len(figs)),
        "report.formats": ",".join(formats),
        "report.depth": f"{depth} ({axis})" if axis else depth,
        "report.out_dir": str(out),
        **({"report.parent": parent} if parent else {}),
        **git,
    }
    with tracked_run(uri, runs.experiment, REPORT_RUN_NAME, tags=tags) as logger:
        paths, written, html = produce(logger.run_id)
        for path in paths:
            logger.log_bytes(path.read_bytes(), f"report/{path.relative_to(out).as_posix()}")
        logger.log_text("\n".join(m.run_id for m in runs) + "\n", "report/run_ids.txt")
    return Report(logger.run_id, out, paths, tables, runs, written, html, axis)


def provenance(runs, uri: str, formats, git: dict, experiment_id: str, depth=None) -> list[tuple[str, str]]:
    """What the HTML report says it was made from: source, store, code, versions, data checksums, and
    ``depth``, the x axis its layer curves were drawn on (None: no figures)."""
    from importlib.metadata import PackageNotFoundError, version

    from geomexp import __version__

    def ver(dist):
        try:
            return version(dist)
        except PackageNotFoundError:
            return "not installed"

    def distinct(key, tag=True):
        vals = sorted({(m.run.tags if tag else m.run.params).get(key, "") for m in runs} - {""})
        return ", ".join(vals) or "not recorded"

    return [
        ("source", runs.source),
        ("experiment id", experiment_id),
        ("tracking store", uri),
        ("layer tabulated", "the last layer each run logged" if runs.layer == "last" else str(runs.layer)),
        ("filter", " ".join(runs.where) or "none"),
        ("reproduce runs", "included" if runs.include_reproduce else "left out"),
        (
            "report made by",
            f"geomexp {__version__}, git commit {git.get('git_commit')} (dirty: {git.get('git_dirty')})",
        ),
        (
            "report libraries",
            f"matplotlib {ver('matplotlib')}, jinja2 {ver('jinja2')}, pandas {ver('pandas')}, mlflow {ver('mlflow')}",
        ),
        ("runs' git commits", distinct("git_commit")),
        ("runs' library versions", "; ".join(f"{k}: {distinct(k)}" for k in _version_tags(runs)) or "not recorded"),
        ("data: corpus checksums", distinct("corpus_checksum")),
        ("data: corpus sources", distinct("corpus_source")),
        ("figure formats", ", ".join(formats)),
        ("layer curves against", _depth_text(runs, depth)),
    ]


def _depth_text(runs, depth) -> str:
    from geomexp.report.depth import model_depths

    if depth is None:
        return "no figures drawn"
    if depth == "layer":
        return "the layer index (0 = embeddings)"
    depths = ", ".join(f"{model} L={'/'.join(map(str, sorted(n)))}" for model, n in model_depths(runs).items())
    return f"relative depth layer / L ({depths})"


def _version_tags(runs) -> list[str]:
    return sorted({k for m in runs for k in m.run.tags if k.startswith("version.")})


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m geomexp.report",
        description="Tables (Markdown + CSV) of the runs tracked in MLflow, built from each analysis's own metadata.",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--experiment", help="the MLflow experiment to tabulate (e.g. offline_geometry)")
    which.add_argument("--parent", metavar="RUN_ID", help="tabulate one sweep: the jobs of this parent run")
    which.add_argument(
        "--from-files",
        metavar="DIR",
        help="tabulate the results files in DIR (python -m geomexp.results writes them; no MLflow needed)",
    )
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
    p.add_argument(
        "--formats",
        default="png,pdf",
        help="figure formats, comma-separated among png, pdf, svg (default: png,pdf; PNG is what the HTML shows)",
    )
    p.add_argument("--no-figures", action="store_true", help="tables and HTML only, no cross-run figures")
    p.add_argument(
        "--depth",
        default="auto",
        choices=["auto", "relative", "layer"],
        help="x axis of the layer curves: relative = layer / L (L = the model's number of layers, 0 = embeddings, "
        "1 = last layer), layer = the layer index; auto (default): relative when the models' depths differ",
    )
    p.add_argument(
        "--mlflow-ui",
        default=None,
        metavar="URL",
        help="where the HTML report's links to runs point (default: http://127.0.0.1:5000, as `mlflow ui`)",
    )
    return p


def main(argv=None) -> int:
    """Exit status 0 on success, 2 on a user error (printed as one line)."""
    from geomexp.reproduce import default_tracking_uri

    args = parser().parse_args(argv)
    uri = args.tracking_uri or default_tracking_uri()
    try:
        if args.from_files:
            from geomexp.results import FileRuns

            uri = FileRuns(args.from_files)
        report = make_report(
            uri,
            experiment=args.experiment,
            parent=args.parent,
            layer=args.layer,
            where=args.where,
            include_reproduce=args.include_reproduce,
            out_dir=args.out,
            log=not args.no_log,
            formats=args.formats,
            figures=not args.no_figures,
            mlflow_ui=args.mlflow_ui,
            depth=args.depth,
        )
    except Exception as err:
        if not print_one_line(err):
            raise
        return 2
    runs = report.runs
    print(
        f"report of {len(runs)} run(s) of {runs.source}: {len(report.tables)} table(s), "
        f"{len(report.figures)} figure(s) in {report.out_dir}"
    )
    if report.html:
        print(f"  {report.html}  (open it in a browser)")
    for path in report.paths:
        if path != report.html and path.parent == report.out_dir:
            print(f"  {path}")
    if report.figures:
        print(f"  {report.out_dir / 'figures'}/ ({sum(len(p) for p in report.figures.values())} files)")
        if report.depth == "relative":
            print(
                "  layer curves on the relative depth axis layer / L (models of different depths; --depth layer for the index)"
            )
    for note in runs.notes:
        print(f"note: {note}")
    if report.run_id:
        print(f"MLflow run {report.run_id} (name '{REPORT_RUN_NAME}', tag geomexp.kind=report) in {uri}")
    return 0
