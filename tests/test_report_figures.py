"""The report's cross-run figures, files and HTML page, read back from a tiny REAL sweep: MiniLM on
English and Swahili, every layer, 1,000 tokens, isotropy + top dimensions, two jobs under one sweep
parent run in a real SQLite store; the report drawn from it in PNG, PDF and SVG and logged to MLflow.

What a figure shows is read from the matplotlib ``Figure`` objects (line data), never from pixels;
the HTML page is parsed and every claim it makes (values, run links, images) checked against MLflow
and the disk. Opening it in headless Chromium is the slow test at the end.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
from conftest import compose_config, isolated_overrides, store_in
from mlflow.tracking import MlflowClient

from geomexp.experiment import RunContext, run
from geomexp.figures.report import layer_curves
from geomexp.report import collect_runs, make_report
from geomexp.report.dimensions import collect_dimensions, jaccard
from geomexp.report.write import format_value
from geomexp.tracking import PARENT_RUN_ENV, end_parent_run, start_parent_run

LANGS = ("en", "sw")
LAYERS = list(range(7))  # MiniLM: embeddings + 6 layers
SWEEP = [
    "model=minilm",
    "layer=all",
    "data.n_tokens=1000",
    "analysis=[isotropy,dimensions]",
    "analysis.isotropy.plot=false",
    "analysis.dimensions.plot=false",
    "tracking.log_figures=false",
    "tracking.experiment=curves",
]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory, data_root, migrated_store):
    """``(uri, parent run id, {lang: RunResult}, report)``: the sweep and its report (PNG, logged)."""
    tmp = tmp_path_factory.mktemp("curves")
    uri = store_in(tmp, migrated_store)
    parent = start_parent_run(uri, "curves", "sweep")
    mp = pytest.MonkeyPatch()
    mp.setenv(PARENT_RUN_ENV, parent)
    try:
        results = {}
        for num, lang in enumerate(LANGS):
            cfg = compose_config(isolated_overrides(tmp, uri, data_root) + [*SWEEP, f"lang={lang}"])
            results[lang] = run(cfg, RunContext(sweep_dir=str(tmp / "sweep"), job_num=num))
    finally:
        mp.undo()
    end_parent_run(uri, parent)
    report = make_report(uri, parent=parent, out_dir=tmp / "report", formats="png")
    return uri, parent, results, report


def logged(uri, run_id, key) -> list[float]:
    """The metric's values by layer, read straight from MLflow."""
    history = MlflowClient(uri).get_metric_history(run_id, key)
    return [h.value for h in sorted(history, key=lambda h: h.step)]


def test_layer_curves_one_line_per_language_equal_to_the_logged_metrics(sweep):
    uri, parent, results, _ = sweep
    runs = collect_runs(uri, parent=parent)
    infos = runs[0].infos
    for key in ("i_cos", "i_pc", "cc_top1_share"):
        info = next(i for i in infos.values() if i.metric(key) is not None)
        fig = layer_curves(runs, info, key, by="subject")
        (ax,) = [a for a in fig.axes if a.get_visible()]  # one model: one panel
        assert ax.get_title() == "minilm"
        lines = ax.get_lines()
        assert sorted(line.get_label() for line in lines) == sorted(LANGS)  # exactly one line per language
        for line in lines:
            lang = line.get_label()
            assert list(line.get_xdata()) == LAYERS
            assert list(line.get_ydata()) == logged(uri, results[lang].run_id, key)
        if key == "i_pc":  # declared log_scale: a log axis, and the label says so
            assert ax.get_yscale() == "log" and ax.get_ylabel() == "I_PC (log scale)"
        else:
            assert ax.get_yscale() == "linear" and "(log scale)" not in ax.get_ylabel()
    # the transpose: one panel per language, one line (the model) in each
    info = next(i for i in infos.values() if i.metric("i_cos") is not None)
    fig = layer_curves(runs, info, "i_cos", by="model")
    panels = [a for a in fig.axes if a.get_visible()]
    assert sorted(a.get_title() for a in panels) == sorted(LANGS)
    for ax in panels:
        (line,) = ax.get_lines()
        assert line.get_label() == "minilm"
        assert list(line.get_ydata()) == logged(uri, results[ax.get_title()].run_id, "i_cos")


def test_report_figures_and_no_curve_of_an_index(sweep):
    _, _, _, report = sweep
    stems = set(report.figures)
    assert {"curves/i_cos_by_language", "curves/i_pc_by_language", "curves/cc_top1_share_by_language"} <= stems
    assert {"dimensions/rogue_by_layer", "dimensions/rogue_by_language"} <= stems
    assert not any("_dim" in s for s in stems)  # cc_top1_dim is a dimension index: no curve of it
    assert not any(s.endswith("_by_model") for s in stems)  # one model: no transpose
    for paths in report.figures.values():
        (png,) = paths
        assert png.suffix == ".png" and png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 5000


def test_figures_as_pdf_and_svg_and_the_formats_option(sweep, tmp_path, capsys):
    from geomexp.figures.style import save_figure
    from geomexp.report import main

    uri, parent, _, _ = sweep
    runs = collect_runs(uri, parent=parent)
    info = runs[0].infos["isotropy"]
    paths = save_figure(layer_curves(runs, info, "i_pc"), tmp_path / "i_pc", "png,pdf,svg")
    assert [p.name for p in paths] == ["i_pc.png", "i_pc.pdf", "i_pc.svg"]
    pdf, svg = paths[1].read_bytes(), paths[2].read_text(encoding="utf-8")
    assert pdf.startswith(b"%PDF-") and len(pdf) > 5000
    assert svg.lstrip().startswith("<?xml") and svg.rstrip().endswith("</svg>")
    assert "I_PC (log scale)" in svg  # text stays text (svg.fonttype none): labels searchable, editable
    assert main(["--parent", parent, "--tracking-uri", uri, "--formats", "png,tiff", "--no-log"]) == 2
    assert "--formats" in capsys.readouterr().err


def test_dimension_consistency_table_from_the_logged_top_dimensions(sweep):
    uri, parent, results, report = sweep
    df = report.tables["dimension_consistency"]
    top = {
        (lang, layer): {int(v) for r in (1, 2, 3) for v in [logged(uri, results[lang].run_id, f"cc_top{r}_dim")[layer]]}
        for lang in LANGS
        for layer in LAYERS
    }
    across = df[(df["dimensions"] == "rogue") & (df["across"] == "languages")].iloc[0]
    assert across["mean Jaccard"] == jaccard(top[("en", 6)], top[("sw", 6)])
    common = sorted(top[("en", 6)] & top[("sw", 6)])
    assert across["in every set"] == (" ".join(map(str, common)) or "none")
    for lang in LANGS:
        row = df[(df["dimensions"] == "rogue") & (df["across"] == "layers") & (df["within"] == lang)].iloc[0]
        pairs = [jaccard(top[(lang, a)], top[(lang, b)]) for a in LAYERS for b in LAYERS if a < b]
        assert row["mean Jaccard"] == pytest.approx(float(np.mean(pairs)), abs=1e-15) and row["sets"] == 7
    data = collect_dimensions(collect_runs(uri, parent=parent), uri)
    assert len(data.of("rogue")) == 14 and not data.of("outlier")


class Page(HTMLParser):
    """The value cells, links and images of the report page."""

    def __init__(self):
        super().__init__()
        self.cells, self.links, self.images, self.texts = [], [], [], []
        self._cell = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "td" and "data-sources" in a:
            self._cell = {**a, "text": ""}
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "img":
            self.images.append(a.get("src"))

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data
        self.texts.append(data)

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.cells.append(self._cell)
            self._cell = None


def test_html_report_cells_links_and_images_are_what_they_claim(sweep):
    uri, _, results, report = sweep
    html = report.html
    assert html == report.out_dir / "index.html"
    page = Page()
    page.feed(html.read_text(encoding="utf-8"))
    client = MlflowClient(uri)
    # every value cell: the mean of the metrics it names, formatted as the table says
    assert len(page.cells) >= 2 * 4  # i_cos, i_pc (two languages) and more
    checked = set()
    for cell in page.cells:
        sources = json.loads(cell["data-sources"])
        assert sources, cell
        values = []
        for run_id, key, layer in sources:
            history = {h.step: h.value for h in client.get_metric_history(run_id, key)}
            values.append(history[layer])
            checked.add(key)
        mean = math.fsum(values) / len(values)
        assert float(cell["data-value"]) == mean
        decimals = len(cell["text"].split(".")[1]) if "." in cell["text"] else 0
        assert cell["text"] == format_value(mean, decimals)
    assert {"i_cos", "i_pc", "cc_top1_dim", "cc_top1_share"} <= checked
    # every link to a run points at a run that exists
    run_links = [h for h in page.links if "/runs/" in h]
    linked = {h.rsplit("/runs/", 1)[1].split("?")[0] for h in run_links}
    assert all(h.endswith("?workflowType=machine_learning") for h in run_links)  # MLflow 3: the runs view
    assert {results["en"].run_id, results["sw"].run_id, report.run_id} <= linked
    for run_id in linked:
        assert client.get_run(run_id).info.run_id == run_id
    # every image is embedded (one self-contained page: it opens inside MLflow) and is the PNG it links to
    import base64

    assert len(page.images) == len(report.figures)
    pngs = [h for h in page.links if h.endswith(".png")]
    assert len(pngs) == len(page.images)
    for src, png in zip(page.images, pngs):
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]) == (html.parent / png).read_bytes()
        assert (html.parent / png).stat().st_size > 2000
    for href in page.links:
        if "://" not in href and not href.startswith("#"):
            assert (html.parent / href).is_file(), href
    # provenance: the runs' commit, the corpus checksums, the config hashes
    text = " ".join(page.texts)
    tags = client.get_run(results["sw"].run_id).data.tags
    assert tags["corpus_checksum"] in text and tags["git_commit"] in text and tags["geomexp.identity"][:16] in text
    # logged with the report run: the page and its figures, at the same relative paths
    files = {a.path for a in client.list_artifacts(report.run_id, "report")}
    assert {"report/index.html", "report/figures"} <= files
    names = {a.path for a in client.list_artifacts(report.run_id, "report/figures/curves")}
    assert "report/figures/curves/i_pc_by_language.png" in names


def test_experiment_description_and_report_run_tags(sweep):
    uri, _, _, report = sweep
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("curves")
    note = exp.tags["mlflow.note.content"]
    assert "geomexp experiment curves:" in note and "isotropy, dimensions on minilm" in note
    assert "**" not in note and "`" not in note  # plain text: the UI shows it as written
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"  # model development, not GenAI
    assert "tags.geomexp.kind = 'measurement'" in note
    rep = client.get_run(report.run_id)
    assert rep.data.tags["geomexp.kind"] == "report" and rep.data.metrics == {}
    filtered = client.search_runs([exp.experiment_id], "tags.`geomexp.kind` = 'measurement'")
    assert report.run_id not in {r.info.run_id for r in filtered} and len(filtered) == 2


def _chromium() -> str | None:
    return next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


#: appended to a copy of the page: after load, the DOM records the images the browser could not draw
PROBE = (
    "<script>window.addEventListener('load', () => document.body.setAttribute('data-broken', "
    "[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src'))"
    ".join(' ') || 'none'));</script>"
)


@pytest.mark.slow
def test_html_report_renders_in_headless_chromium(sweep, tmp_path):
    """The page opens in a real browser: every figure is drawn (the DOM after load, with a probe script
    added to a copy of the page, lists no broken image; a copy with an image corrupted does), the
    screenshot is not blank, and the page alone, without its figures/ folder beside it, still shows
    every figure (they are embedded: it opens inside MLflow's artifact viewer and by e-mail)."""
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine (Debian: apt-get install -y chromium)")
    report = sweep[3]
    folder = tmp_path / "report"
    shutil.copytree(report.out_dir, folder)
    page = folder / "index.html"
    (folder / "probe.html").write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"))
    base = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000"]

    def broken_images() -> str:
        dom = subprocess.run(
            [*base, "--dump-dom", (folder / "probe.html").as_uri()], capture_output=True, text=True, timeout=120
        )
        found = re.search(r'<body[^>]*data-broken="([^"]*)"', dom.stdout)
        assert found, f"no probe result in the DOM: {dom.stdout[:500]} {dom.stderr[-1000:]}"
        assert dom.stdout.count("<img") == len(report.figures) and "Provenance" in dom.stdout
        return found.group(1)

    assert broken_images() == "none"
    shot = tmp_path / "page.png"
    subprocess.run(
        [*base, f"--screenshot={shot}", "--window-size=1280,2400", page.as_uri()], capture_output=True, timeout=120
    )
    assert shot.is_file() and shot.stat().st_size > 20_000
    shutil.rmtree(folder / "figures")  # the page alone: nothing beside it
    assert broken_images() == "none"
    # the check can fail: one embedded image corrupted
    text = (folder / "probe.html").read_text(encoding="utf-8")
    start = text.index("data:image/png;base64,")
    end = text.index('"', start)
    (folder / "probe.html").write_text(text[:start] + "data:image/png;base64,AAAA" + text[end:], encoding="utf-8")
    assert broken_images() == "data:image/png;base64,AAAA"


def test_long_axis_labels_wrap_inside_their_panel():
    from geomexp.analyses.base import MetricInfo

    long = MetricInfo("msim_cka_last", "CKA with other model's last layer")
    assert long.axis_label().replace("\n", " ") == "CKA with other model's last layer"
    assert all(len(line) <= 30 for line in long.axis_label().split("\n")) and "\n" in long.axis_label()
    assert MetricInfo("i_pc", "I_PC", log_scale=True).axis_label() == "I_PC (log scale)"  # short: one line


def _synthetic_run(i: int, subject: str, values: dict, layers=(0, 1, 2)):
    """A RunAtLayer of an isotropy run on ``subject`` with an abtt enhancement, without any store."""
    from geomexp.analyses.isotropy import isotropy_analysis
    from geomexp.report.collect import RunAtLayer
    from geomexp.tracking.query import RunRecord

    tags = {"geomexp.model": "m", "geomexp.subject": subject, "geomexp.enhancement": "abtt", "num_layers": "2"}
    tags["geomexp.identity"] = tags["geomexp.group"] = f"id{i}"
    metrics = {(k, layer): v + 0.01 * layer for k, v in values.items() for layer in layers}
    record = RunRecord(f"r{i}", f"run{i}", "e", "FINISHED", i, tags=tags, metrics=metrics)
    return RunAtLayer(record, layers[-1], {k: v for (k, lay), v in metrics.items() if lay == layers[-1]},
                      {"isotropy": isotropy_analysis.info})  # fmt: skip


@pytest.mark.parametrize("n_subjects", [1, 7])
def test_the_methods_figure_draws_every_model_and_language(n_subjects):
    """Issue 31: method_comparison kept the first 4 model · language columns and silently dropped the rest."""
    from geomexp.figures.report import method_comparison

    subjects = ["en", "es", "ar", "tr", "sw", "su", "de"][:n_subjects]
    runs = [
        _synthetic_run(i, s, {"i_cos": 0.5, "i_cos/abtt": 0.01, "i_pc": 0.1, "i_pc/abtt": 0.6})
        for i, s in enumerate(subjects)
    ]
    fig = method_comparison(runs)
    shown = [ax for ax in fig.axes if ax.get_visible() and ax.get_lines()]
    assert len(shown) == 2 * n_subjects  # I_Cos and I_PC for every language
    if n_subjects > 1:
        titles = " ".join(ax.get_title() for ax in shown)
        assert all(f"m · {s}" in titles for s in subjects)
    for ax in shown:  # the raw space and the method on every panel
        assert {line.get_label() for line in ax.get_lines()} == {"none (raw)", "abtt"}


def test_a_language_and_a_method_keep_one_colour_across_figures():
    """Issue 31: colours followed the order things were seen, so en and su were both blue in the joint PCA
    and raw/cluster differed between the methods figure and the STS bars."""
    from geomexp.figures.style import language_colors, method_colors

    paper = language_colors(["su", "en", "es", "ar", "tr", "sw"])
    assert paper == language_colors(["en", "es", "ar", "tr", "sw", "su"])  # order does not matter
    assert len(set(paper.values())) == 6 and paper["en"] != paper["su"]
    assert not {paper["en"], paper["su"]} <= {"#0072B2", "#56B4E9"}  # never two blues
    more = language_colors(["en", "de", "fr"])
    assert len(set(more.values())) == 3 and not {more["de"], more["fr"]} & set(paper.values())
    methods = method_colors(["raw", "cluster", "cluster zero-shot", "abtt", "mine"])
    assert methods["raw"] == "#000000" and methods["cluster"] == methods["cluster zero-shot"]
    assert len({methods[k] for k in ("raw", "cluster", "abtt", "mine")}) == 4
    runs = [_synthetic_run(0, "en", {"i_cos": 0.5, "i_cos/abtt": 0.01, "i_pc": 0.1, "i_pc/abtt": 0.6})]
    from geomexp.figures.report import method_comparison

    (ax, *_) = [a for a in method_comparison(runs).axes if a.get_lines()]
    drawn = {line.get_label(): line.get_color() for line in ax.get_lines()}
    assert drawn == {"none (raw)": "#000000", "abtt": methods["abtt"]}


def text_overlaps(fig) -> list[tuple[str, str]]:
    """Pairs of texts of DIFFERENT panels (axis labels, titles, tick labels) whose drawn boxes intersect."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = []
    for i, ax in enumerate(a for a in fig.axes if a.get_visible()):
        texts = [ax.xaxis.label, ax.yaxis.label, ax.title]
        for axis in (ax.xaxis, ax.yaxis):  # the tick labels drawn: those of ticks inside the view
            lo, hi = sorted(axis.get_view_interval())
            pad = 1e-9 * max(abs(lo), abs(hi), 1.0)
            texts += [t for t, loc in zip(axis.get_ticklabels(), axis.get_ticklocs()) if lo - pad <= loc <= hi + pad]
        for t in texts:
            if t.get_visible() and t.get_text().strip():
                boxes.append((i, t.get_text(), t.get_window_extent(renderer).shrunk(0.98, 0.9)))
    return [
        (a, b)
        for n, (i, a, box_a) in enumerate(boxes)
        for j, b, box_b in boxes[n + 1 :]
        if i != j and box_a.overlaps(box_b)
    ]


def test_no_panel_labels_overlap_on_the_relative_depth_axis():
    """Issue 31: in every *_by_model figure the x label 'relative depth: layer / L (0 = embeddings, 1 = last
    layer)' ran into the next panel's."""
    from geomexp.analyses.isotropy import isotropy_analysis
    from geomexp.figures.report import layer_curves

    runs = []
    for i, (model, depth) in enumerate([("bert-base-multilingual-cased", 12), ("minilm", 6)]):
        for j, lang in enumerate(["en", "es", "ar", "tr", "sw", "su"]):
            r = _synthetic_run(10 * i + j, lang, {"i_cos": 0.5 + 0.01 * j}, layers=tuple(range(depth + 1)))
            r.run.tags.update({"geomexp.model": model, "num_layers": str(depth), "geomexp.enhancement": "none"})
            runs.append(r)
    for by in ("model", "subject"):
        fig = layer_curves(runs, isotropy_analysis.info, "i_cos", by=by, depth="relative")
        assert text_overlaps(fig) == [], by


def test_no_labels_overlap_in_any_figure_of_a_real_report_or_the_methods_figure(sweep):
    from geomexp.figures.report import build_figures, method_comparison

    uri, parent, _, _ = sweep
    figs = build_figures(collect_runs(uri, parent=parent))
    assert len(figs) >= 3  # the check can see something
    for stem, fig in figs.items():
        assert text_overlaps(fig) == [], stem
    runs = [
        _synthetic_run(i, s, {"i_cos": 0.5, "i_cos/abtt": 0.01})
        for i, s in enumerate(["en", "es", "ar", "tr", "sw", "su"])
    ]
    assert text_overlaps(method_comparison(runs)) == []


def test_language_columns_come_in_the_papers_order_then_alphabetical():
    """Issue 31: languages came in the order the runs were seen."""
    from geomexp.report import build_tables

    seen = ["sw", "xx", "en", "de", "su", "es"]
    runs = [_synthetic_run(i, s, {"i_cos": 0.5}) for i, s in enumerate(seen)]
    for r in runs:
        r.run.tags["geomexp.enhancement"] = "none"
    table = build_tables(runs)["i_cos"]
    languages = [c for c in table.columns if c in seen]
    assert languages == ["en", "es", "sw", "su", "de", "xx"]


def test_near_duplicate_curves_are_folded_into_their_twin():
    """Issue 31: I_Cos vs I_Cos (all pairs) and I_PC on a log axis vs log I_PC were figure pairs that made
    the page 8,400-15,700 px long. The twin's curve shows them; log I_PC comes back where I_PC underflowed."""
    from geomexp.figures.report import curve_metrics

    values = {"i_cos": 0.5, "i_cos_exact": 0.5, "i_pc": 0.1, "log_i_pc": -2.3}
    drawn = [key for _, key in curve_metrics([_synthetic_run(0, "en", values)])]
    assert "i_cos" in drawn and "i_pc" in drawn and "i_cos_exact" not in drawn and "log_i_pc" not in drawn
    underflow = _synthetic_run(1, "sw", {**values, "i_pc": 0.0, "log_i_pc": -900.0})
    drawn = [key for _, key in curve_metrics([_synthetic_run(0, "en", values), underflow])]
    assert "log_i_pc" in drawn and "i_cos_exact" not in drawn


def test_wide_settings_go_to_a_footnote_not_columns():
    """Issue 31: a 5-line settings column overflowed the HTML table and cut off a language. More than three
    settings columns (or a value wider than 24 characters) become one lettered column and a footnote."""
    from geomexp.report import build_tables

    runs = []
    for i, n in enumerate((100, 200)):
        r = _synthetic_run(i, "sw", {"i_cos": 0.5 + i})
        r.run.tags["geomexp.enhancement"] = "none"
        r.run.params.update({"data.n_tokens": str(n), "data.max_length": str(n), "seed": "0"})
        r.run.params.update({"data.corpus": f"text:{'x' * 30}{i}.txt", "data.sample_unit": "tokens"})
        runs.append(r)
    table = build_tables(runs)["i_cos"]
    assert list(table.columns[:2]) == ["model", "settings"] and list(table["settings"]) == ["A", "B"]
    assert table.attrs["settings"] == ["settings"] and "data.corpus" not in table
    notes = table.attrs["notes"]
    assert any(n.startswith("settings A: ") and "data.n_tokens=100" in n for n in notes)
    assert any(n.startswith("settings B: ") and f"data.corpus=text:{'x' * 30}1.txt" in n for n in notes)
    assert list(table["sw"]) == pytest.approx([0.52, 1.52])  # (values at the last layer, 2)


def test_a_method_row_says_its_settings():
    """Issue 31: rows said 'cluster' whether k=27 or k=7. They now say 'cluster k=27 D=12' (as the paper
    names its settings), a method fitted on another language 'cluster k=7 D=12 fit on en'."""
    from geomexp.report import build_tables

    runs = []
    for i, (k, label) in enumerate(((27, "cluster"), (7, "cluster"), (7, "cluster fit on en"))):
        key = "i_cos/cluster/zero_shot" if "fit on" in label else "i_cos/cluster"
        r = _synthetic_run(i, "sw", {"i_cos": 0.5, key: 0.01 * (i + 1)})
        r.run.tags.update({"geomexp.enhancement": label, "geomexp.identity.isotropy.raw": "same sample"})
        r.run.tags["geomexp.group.isotropy.raw"] = "same sample"  # one raw measurement under all three
        r.run.params.update({"enhancement.n_clusters": str(k), "enhancement.n_components": "12"})
        runs.append(r)
    table = build_tables(runs)["i_cos"]
    assert list(table["enhancement"]) == ["none", "cluster k=27 D=12", "cluster k=7 D=12", "cluster k=7 D=12 fit on en"]
    assert table.attrs["settings"] == []  # the label tells them apart: no settings column needed


def test_layer_curves_shade_the_interval_each_run_logged(make_cfg, store_uri):
    """Issue 29, item 5: a run with bootstrap intervals gets a band between its ``_ci_low`` and ``_ci_high`` at
    every layer; a run without intervals gets a line only."""
    from matplotlib.collections import PolyCollection

    common = ["model=minilm", "layer.index=[0,3,6]", "data.n_tokens=300", "analysis.isotropy.plot=false"]
    with_ci = run(make_cfg(*common, "lang=en", "analysis.isotropy.n_bootstrap=20"))
    run(make_cfg(*common, "lang=sw"))
    runs = collect_runs(store_uri, experiment="geomexp")
    info = next(m.infos["isotropy"] for m in runs)
    fig = layer_curves(runs, info, "i_cos")
    (ax,) = [a for a in fig.axes if a.get_lines()]
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 1 and len(ax.get_lines()) == 2  # en shaded, sw not
    ys = bands[0].get_paths()[0].vertices[:, 1]
    lows = [with_ci.metrics[("i_cos_ci_low", layer)] for layer in (0, 3, 6)]
    highs = [with_ci.metrics[("i_cos_ci_high", layer)] for layer in (0, 3, 6)]
    assert np.allclose(sorted(set(np.round(ys, 12))), sorted(set(np.round(lows + highs, 12))))
    assert "shaded" in fig._suptitle.get_text()


def _text_boxes(fig):
    """``[(axes index, text, bbox)]`` of every visible label of every panel (tick labels, axis labels, title)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    out = []
    for i, ax in enumerate(a for a in fig.axes if a.get_visible()):
        texts = [ax.xaxis.label, ax.yaxis.label, ax.title, *ax.get_xticklabels(), *ax.get_yticklabels()]
        out += [(i, t.get_text(), t.get_window_extent(renderer)) for t in texts if t.get_visible() and t.get_text()]
    return out


@pytest.mark.parametrize(("by", "depth"), [("subject", "layer"), ("model", "layer"), ("model", "relative")])
def test_small_multiples_have_no_overlapping_labels(sweep, by, depth):
    """Issue 29, item 5: no label of one panel runs into a label of another (the long relative-depth x label
    did, across panels); checked on the drawn figure's text boxes, in every layout the report draws."""
    uri, parent, _, _ = sweep
    runs = collect_runs(uri, parent=parent)
    info = next(m.infos["isotropy"] for m in runs)
    fig = layer_curves(runs, info, "i_cos", by=by, depth=depth)
    boxes = _text_boxes(fig)
    assert len({i for i, _, _ in boxes}) == (2 if by == "model" else 1)
    clashes = [
        (a, b)
        for n, (i, a, box_a) in enumerate(boxes)
        for j, b, box_b in boxes[n + 1 :]
        if i != j and box_a.overlaps(box_b)
    ]
    assert not clashes
