"""The static HTML report: ``index.html`` beside the tables and ``figures/`` it shows (a folder that opens
from disk, no server, no script, no external resource), rendered with Jinja2 (autoescaped).

Every value cell links to the MLflow run behind it (``<MLflow UI>/#/experiments/<id>/runs/<run id>``)
and carries what it claims in ``data-sources`` (JSON: ``[[run id, metric key, layer], ...]``, the runs
whose mean it shows) and ``data-value`` (the full-precision value), so it can be checked against MLflow.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

#: where the MLflow UI is expected (``mlflow ui`` / ``make ui``); ``--mlflow-ui`` changes it
DEFAULT_MLFLOW_UI = "http://127.0.0.1:5000"

TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="geomexp {{ version }}">
<title>{{ title }}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 72rem;
       padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.05rem; margin-top: 1.6rem; }
table { border-collapse: collapse; margin: .6rem 0; font-size: .86rem; }
th, td { border: 1px solid #ddd; padding: .22rem .5rem; }
th { background: #f5f5f5; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.num a { color: inherit; text-decoration: none; border-bottom: 1px dotted #999; }
td.missing { color: #999; text-align: center; }
.note { color: #555; font-size: .88rem; }
nav ul { columns: 2; font-size: .9rem; }
figure { margin: 1rem 0 2rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .85rem; color: #555; }
code { background: #f5f5f5; padding: 0 .2rem; }
.prov td { font-size: .78rem; overflow-wrap: anywhere; max-width: 26rem; }
.scroll { overflow-x: auto; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
<p>{{ summary }}</p>
<p class="note">Generated {{ generated }} by geomexp {{ version }}{% if report_run %};
report run <a href="{{ report_run.url }}"><code>{{ report_run.id }}</code></a>{% endif %}.
{% if from_store %}Links go to the MLflow UI at <code>{{ mlflow_ui }}</code> (start it with
<code>mlflow ui --backend-store-uri {{ uri }}</code>).{% else %}Built from {{ uri }}; links go to an MLflow UI
at <code>{{ mlflow_ui }}</code> that holds the runs, where there is one.{% endif %}</p>
{% if shared %}<p class="note">Settings shared by every run shown (the tables' rows and footnotes say what
differs): {% for k, v in shared.items() %}<code>{{ k }}</code>={{ v }}{% if not loop.last %}; {% endif %}{% endfor %}.</p>{% endif %}
{% if notes %}<h2 id="notes">Runs left out or replaced</h2>
<ul class="note">{% for n in notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}
<nav><h2>Contents</h2><ul>
{% for t in tables %}<li><a href="#table-{{ t.name }}">{{ t.title }}</a></li>{% endfor %}
{% for g in figure_groups %}<li><a href="#figures-{{ g.id }}">Figures: {{ g.title }}</a></li>{% endfor %}
<li><a href="#provenance">Provenance</a></li>
</ul></nav>

<h2 id="tables">Tables</h2>
{% for t in tables %}
<h3 id="table-{{ t.name }}">{{ t.title }}</h3>
{% if t.description %}<p class="note">{{ t.description }}</p>{% endif %}
<div class="scroll"><table>
<thead><tr>{% for h in t.header %}<th>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in t.rows %}<tr>
{% for c in row.label_cells %}<td>{{ c }}</td>{% endfor %}
{% for c in row.value_cells %}{% if c.text == "—" %}<td class="missing">—</td>{% elif c.linked %}<td class="num" data-column="{{ c.column }}" data-value="{{ c.value }}" data-sources="{{ c.sources }}"><a href="{{ c.url }}" title="{{ c.title }}">{{ c.text }}</a></td>{% else %}<td class="num">{{ c.text }}</td>{% endif %}
{% endfor %}
<td>{% for r in row.runs %}<a href="{{ r.url }}"><code>{{ r.short }}</code></a> {% endfor %}</td>
</tr>
{% endfor %}
</tbody>
</table></div>
{% if t.notes %}<ul class="note">{% for n in t.notes %}<li>{{ n }}</li>{% endfor %}</ul>{% endif %}
<p class="note">Files: <a href="{{ t.name }}.csv">{{ t.name }}.csv</a>, <a href="{{ t.name }}.md">{{ t.name }}.md</a></p>
{% endfor %}

{% for g in figure_groups %}
<h2 id="figures-{{ g.id }}">Figures: {{ g.title }}</h2>
{% for f in g.figures %}
<figure id="figure-{{ f.id }}">
<img src="{{ f.src }}" alt="{{ f.alt }}">
<figcaption>{{ f.caption }}{% for o in f.others %} · <a href="{{ o.href }}">{{ o.fmt }}</a>{% endfor %}</figcaption>
</figure>
{% endfor %}
{% endfor %}

<h2 id="provenance">Provenance</h2>
<table class="prov">
{% for k, v in provenance %}<tr><th>{{ k }}</th><td>{{ v }}</td></tr>{% endfor %}
</table>
<h3>Runs shown</h3>
<div class="scroll"><table class="prov">
<thead><tr>{% for h in run_header %}<th>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>
{% for r in run_rows %}<tr><td><a href="{{ r.url }}"><code>{{ r.short }}</code></a></td>{% for c in r.cells %}<td>{{ c }}</td>{% endfor %}</tr>
{% endfor %}
</tbody>
</table></div>
<p class="note">Every run read, shown or not (and why): <a href="runs.csv">runs.csv</a>; the same report as Markdown:
<a href="report.md">report.md</a>.</p>
</body>
</html>
"""

#: run tags and params shown per run in the provenance table (header, key)
RUN_COLUMNS = (
    ("name", None),
    ("model", "tag:geomexp.model"),
    ("subject", "tag:geomexp.subject"),
    ("layer", None),
    ("seed", "param:seed"),
    ("config hash (identity)", "tag:geomexp.identity"),
    ("group", "tag:geomexp.group"),
    ("git commit", "tag:git_commit"),
    ("dirty", "tag:git_dirty"),
    ("corpus checksum", "tag:corpus_checksum"),
    ("cache key", "tag:cache_key"),
    ("versions", None),
    ("started", None),
)


#: MLflow 3's UI opens on its GenAI views unless the address (or a click on "Model training", which the
#: browser remembers) asks for the model-development ones: runs, metrics, charts
UI_VIEW = "workflowType=machine_learning"


def run_url(ui: str, experiment_id: str, run_id: str) -> str:
    """The MLflow UI page of a run (in the model-development view, ``UI_VIEW``)."""
    return f"{ui.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}?{UI_VIEW}"


def _fmt(value, decimals: int) -> str:
    from geomexp.report.write import format_value

    return format_value(value, decimals)


def _table_context(name: str, df, urls: dict) -> dict:
    from geomexp.report.write import format_cell

    labels = df.attrs.get("labels", [])
    decimals = df.attrs.get("decimals", {})
    spread = df.attrs.get("spread", {})
    sources = df.attrs.get("sources") or [{} for _ in range(len(df))]
    unstable = df.attrs.get("unstable") or [()] * len(df)
    noise = df.attrs.get("noise") or [{}] * len(df)
    values = list(decimals)
    rows = []
    for (_, row), src, marked, se in zip(df.iterrows(), sources, unstable, noise):
        cells = []
        for c in values:
            text = format_cell(row, c, decimals, spread, marked, se)
            cell_src = [list(s) for s in src.get(c, [])]
            first = cell_src[0][0] if cell_src else None
            v = row[c]
            cells.append(
                {
                    "column": c,
                    "text": text,
                    "value": repr(float(v)) if isinstance(v, (int, float)) and not math.isnan(float(v)) else "",
                    "sources": json.dumps(cell_src),
                    "linked": bool(cell_src),
                    "url": urls.get(first, "#"),
                    "title": "; ".join(f"{k} at layer {layer} of run {r}" for r, k, layer in cell_src),
                }
            )
        run_ids = []
        for s in src.values():
            run_ids += [r for r, _, _ in s if r not in run_ids]
        if not run_ids:  # a table built elsewhere (e.g. dimension consistency): its short ids
            shorts = str(row.get("runs", "")).split()
            run_ids = [next((u for u in urls if u.startswith(x)), x) for x in shorts]
        rows.append(
            {
                "label_cells": [row[c] for c in labels],
                "value_cells": cells,
                "runs": [{"url": urls.get(r, "#"), "short": r[:8]} for r in run_ids],
            }
        )
    return {
        "name": name,
        "title": df.attrs.get("title", name),
        "description": df.attrs.get("description", ""),
        "notes": df.attrs.get("notes", []),
        "header": [*labels, *values, "runs"],
        "rows": rows,
    }


FIGURE_GROUPS = (
    ("curves", "metrics against layer", "Metric vs layer: one line per language (panel per model) or per model."),
    ("methods", "enhancement methods", ""),
    ("sts", "STS", ""),
    ("crosslingual", "cross-language overlap", ""),
    ("dimensions", "dimension consistency", ""),
)


def _group_of(stem: str) -> str:
    head = stem.split("/")[0]
    if head.startswith("crosslingual"):
        return "crosslingual"
    return head if head in {g for g, _, _ in FIGURE_GROUPS} else "other"


def render_html(
    out_dir,
    *,
    tables: dict,
    figures: dict,
    runs,
    uri: str,
    from_store: bool = True,
    mlflow_ui: str = DEFAULT_MLFLOW_UI,
    report_run_id: str | None = None,
    experiment_id: str = "",
    provenance: list | None = None,
    captions: dict | None = None,
) -> Path:
    """Write ``<out_dir>/index.html``. ``figures``: ``{stem: [paths written]}`` (relative to ``out_dir``
    in the page; the PNG embedded as a data URI, so the page is one self-contained file, and every format
    linked). Returns its path."""
    import base64

    import jinja2

    from geomexp import __version__
    from geomexp.report.collect import shared_settings, started
    from geomexp.tracking.store import redact_uri

    out = Path(out_dir)
    urls = {}
    for r in runs.read:
        urls[r.run.run_id] = run_url(mlflow_ui, r.run.experiment_id or experiment_id, r.run.run_id)
    table_ctx = [_table_context(name, df, urls) for name, df in tables.items()]

    groups: dict[str, list] = {}
    for stem, paths in figures.items():
        paths = [Path(p) for p in paths]
        png = next((p for p in paths if p.suffix == ".png"), paths[0])
        groups.setdefault(_group_of(stem), []).append(
            {
                "id": stem.replace("/", "-"),
                # embedded: the page is one file that opens inside MLflow's artifact viewer and can be mailed
                "src": "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode("ascii"),
                "alt": (captions or {}).get(stem, stem),
                "caption": (captions or {}).get(stem, stem),
                "others": [{"fmt": p.suffix[1:].upper(), "href": p.relative_to(out).as_posix()} for p in paths],
            }
        )
    titles = {g: t for g, t, _ in FIGURE_GROUPS}
    figure_groups = [
        {"id": g, "title": titles.get(g, "other"), "figures": groups[g]} for g in [*titles, "other"] if g in groups
    ]

    run_rows = []
    for m in runs:
        tags, params = m.run.tags, m.run.params
        versions = ", ".join(f"{k.split('.', 1)[1]} {v}" for k, v in sorted(tags.items()) if k.startswith("version."))
        cells = []
        for header, key in RUN_COLUMNS[:]:
            if header == "name":
                cells.append(m.run.run_name)
            elif header == "layer":
                cells.append(m.layer)
            elif header == "versions":
                cells.append(versions)
            elif header == "started":
                cells.append(started(m.run))
            else:
                kind, _, k = key.partition(":")
                v = (tags if kind == "tag" else params).get(k, "")
                cells.append(v[:16] if header in ("config hash (identity)", "group", "cache key") else v)
        run_rows.append({"url": urls.get(m.run_id, "#"), "short": m.run_id[:8], "cells": cells})

    layer = "the last layer each run logged" if runs.layer == "last" else f"layer {runs.layer}"
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    html = env.from_string(TEMPLATE).render(
        title=f"geomexp report: {runs.experiment}" + (f" (sweep {runs.parent[:8]})" if runs.parent else ""),
        summary=f"{len(runs)} run(s) of {runs.source} shown ({len(runs.read)} read); tables at {layer}"
        + (f"; filter --where {' '.join(runs.where)}" if runs.where else "")
        + "; figures against layer use every layer the runs logged.",
        generated=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        version=__version__,
        report_run={"id": report_run_id, "url": run_url(mlflow_ui, experiment_id, report_run_id)}
        if report_run_id
        else None,
        mlflow_ui=mlflow_ui,
        uri=redact_uri(uri),
        from_store=from_store,
        notes=runs.notes,
        shared=shared_settings(runs),
        tables=table_ctx,
        figure_groups=figure_groups,
        provenance=provenance or [],
        run_header=["run", *(h for h, _ in RUN_COLUMNS)],
        run_rows=run_rows,
    )
    path = out / "index.html"
    path.write_text(html, encoding="utf-8")
    return path
