"""Writing a report: every table as ``<name>.md`` and ``<name>.csv``, all of them in ``report.md``,
``runs.csv`` (one row per run read: shown, or why not) and the figures as ``figures/<stem>.<format>``
(``write_figures``; the HTML page is ``html.render_html``).

Markdown shows each metric with the decimals its analysis declares, and a cell that aggregates
runs (same measurement but the seed) as ``0.6616 ± 0.0012 (n=3)``. CSV keeps full precision, with
``<col> sd`` and ``<col> n`` beside such columns.
"""

from __future__ import annotations

import math
from pathlib import Path

from geomexp import tag_names

FIGURES_DIR = "figures"

#: the ``runs`` column of a Markdown table lists at most this many ids (else a count)
MAX_IDS = 3


def format_value(value, decimals: int) -> str:
    """``0.66161`` -> ``"0.6616"`` (4 decimals); missing -> ``"—"``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    try:
        return f"{float(value):.{decimals}f}"
    except (TypeError, ValueError):
        return str(value)


def format_cell(row, column: str, decimals: dict, spread: dict, unstable=(), noise=None) -> str:
    """One value cell: the mean, and ``± sd (n=k)`` where it aggregates k > 1 runs; marked ``†`` when
    ``column`` is in ``unstable`` (the row's not-well-defined values, ``attrs["unstable"]``); ``± se``
    when ``noise`` (the row's ``attrs["noise"]``) gives the value's standard error (it is within 2 of 0)."""
    from geomexp.report.tables import UNSTABLE_MARK

    d = decimals[column]
    text = format_value(row[column], d)
    if noise and column in noise:
        text += f" ± {format_value(noise[column], d)} se"
    if column in spread:
        sd, n = spread[column]
        count = row[n]
        if not _missing(count) and int(count) > 1:
            text += f" ± {format_value(row[sd], d)} (n={int(count)})"
    return f"{text} {UNSTABLE_MARK}" if column in unstable else text


def _missing(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def _escape(text) -> str:
    """Text from the store as one Markdown table cell or line: no column break, no line break, no HTML."""
    return (
        str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("|", "\\|").replace("\n", " ")
    )


def to_markdown(df) -> str:
    """A table as Markdown, formatted with its ``attrs`` (decimals, spread)."""
    labels = df.attrs.get("labels", [])
    decimals = df.attrs.get("decimals", {})
    spread = df.attrs.get("spread", {})
    values = list(decimals)
    header = labels + values + (["runs"] if "runs" in df else [])
    rule = ["---" if h in labels or h == "runs" else "---:" for h in header]
    lines = ["| " + " | ".join(_escape(h) for h in header) + " |", "|" + "|".join(rule) + "|"]
    unstable = df.attrs.get("unstable") or [()] * len(df)
    noise = df.attrs.get("noise") or [{}] * len(df)
    for (_, row), marked, se in zip(df.iterrows(), unstable, noise):
        cells = [_escape(row[c]) for c in labels] + [format_cell(row, c, decimals, spread, marked, se) for c in values]
        if "runs" in df:
            ids = str(row["runs"]).split()
            cells.append(" ".join(ids) if len(ids) <= MAX_IDS else f"{len(ids)} runs")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def section(df, level: str = "##") -> str:
    """Title, description, table and notes of one table."""
    parts = [f"{level} {_escape(df.attrs.get('title', ''))}".rstrip()]
    if df.attrs.get("description"):
        parts.append(_escape(df.attrs["description"]))
    parts.append(to_markdown(df))
    notes = df.attrs.get("notes", [])
    if notes:
        parts.append("\n".join(f"- {_escape(n)}" for n in notes))
    return "\n\n".join(parts) + "\n"


def runs_frame(runs):
    """One row per run read: id, name, shown or why not, what it measured, its params and (if shown)
    its metric values at the tabulated layer."""
    import pandas as pd

    from geomexp.report.collect import started

    shown = {m.run_id: m for m in runs}
    records = []
    for r in runs.read:
        rec, m = r.run, shown.get(r.run.run_id)
        row = {
            "run_id": rec.run_id,
            "run_name": rec.run_name,
            "shown": "yes" if m is not None else "no",
            "reason": r.reason if m is None else "",
            "stand_in": r.via or "",
            "started": started(rec),
            "status": rec.status,
            "kind": rec.tags.get(tag_names.KIND, ""),
            "model": rec.tags.get(tag_names.MODEL, rec.params.get("model", "")),
            "subject": rec.tags.get(tag_names.SUBJECT, ""),
            "layer": m.layer if m is not None else (r.layer if r.layer is not None else ""),
            "enhancement": rec.tags.get(tag_names.ENHANCEMENT, ""),
            "seed": rec.params.get("seed", ""),
            "identity": rec.tags.get(tag_names.IDENTITY, ""),
            "group": rec.tags.get(tag_names.GROUP, ""),
            "reproduced_from": rec.tags.get("reproduced_from", ""),
            **{f"param.{k}": v for k, v in sorted(rec.params.items())},
        }
        if m is not None:
            row.update(dict(sorted(m.values.items())))
        records.append(row)
    df = pd.DataFrame.from_records(records)
    fixed = [c for c in df.columns if c in records[0] and not c.startswith("param.")] if records else []
    params = sorted(c for c in df.columns if c.startswith("param."))
    metrics = sorted(c for c in df.columns if c not in fixed and c not in params)
    return df[fixed + params + metrics]


def write_report(tables: dict, out_dir, *, header: str = "", runs=None) -> list[Path]:
    """Write ``<name>.md`` + ``<name>.csv`` per table, ``report.md`` and (given ``runs``) ``runs.csv``
    to ``out_dir``; return the paths written (``report.md`` first)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    sections = [header.rstrip() + "\n"] if header else []
    if runs is not None and runs.notes:
        sections.append("Runs left out or replaced:\n\n" + "\n".join(f"- {n}" for n in runs.notes) + "\n")
    for name, df in tables.items():
        md, csv = out / f"{name}.md", out / f"{name}.csv"
        md.write_text(section(df, "#"), encoding="utf-8")
        df.to_csv(csv, index=False)
        paths += [md, csv]
        sections.append(section(df) + f"\nFiles: [{md.name}]({md.name}), [{csv.name}]({csv.name})\n")
    if runs is not None:
        path = out / "runs.csv"
        runs_frame(runs).to_csv(path, index=False)
        paths.append(path)
        sections.append(f"Every run read, shown or not (and why): [runs.csv](runs.csv) ({len(runs.read)} runs).\n")
    report = out / "report.md"
    report.write_text("\n".join(sections), encoding="utf-8")
    return [report, *paths]


#: the list of figure files a report wrote (so the next report removes those, and nothing else)
MANIFEST = ".geomexp-figures"


def write_figures(figures: dict, out_dir, formats) -> dict[str, list[Path]]:
    """Save every figure (``{stem: Figure}``) as ``<out_dir>/figures/<stem>.<format>`` in each of
    ``formats`` and close it. The files a previous report listed in ``figures/.geomexp-figures`` are
    removed first, and nothing else: a file of your own in ``figures/`` stays (issue 26: the whole
    folder was deleted). Returns ``{stem: [paths]}``."""
    from geomexp.figures.style import save_figure

    folder = Path(out_dir) / FIGURES_DIR
    manifest = folder / MANIFEST
    if manifest.is_file():
        inside = folder.resolve()
        for name in manifest.read_text(encoding="utf-8").splitlines():
            path = (folder / name).resolve()
            safe = name and not name.startswith("/") and ".." not in name.split("/") and inside in path.parents
            if safe and path.is_file():
                path.unlink()
    written = {stem: save_figure(fig, folder / stem, formats) for stem, fig in figures.items()}
    folder.mkdir(parents=True, exist_ok=True)
    listed = "".join(f"{p.relative_to(folder).as_posix()}\n" for ps in written.values() for p in ps)
    manifest.write_text(listed, encoding="utf-8")
    return written
