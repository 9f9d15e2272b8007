"""Regenerate the docs' gallery from a real run of the offline encoders.

    python docs/gallery.py            # sweep + report into a temporary folder, then copy the figures
    python docs/gallery.py --keep DIR # keep the sweep's store, outputs and report in DIR
    python docs/gallery.py --keep DIR --no-sweep   # redo the report and the copies from that store

What it runs (both offline encoders, English and Swahili, every layer, the default 10,000-token
uniform draw, the 2022 paper's cluster enhancement k = 7, D = 12), into its own SQLite store:

    python run.py -m model=me5_small,minilm lang=en,sw layer=all enhancement=cluster
        enhancement.params.n_clusters=7 'analysis=[isotropy,dimensions,outliers,isoscore]'
        tracking.experiment=gallery
    python -m geomexp.report --experiment gallery --formats png

It then copies the figures listed in ``FIGURES`` (from the runs' artifacts and the report) into
``docs/gallery/``, writes ``docs/gallery.md`` (the page: each figure with its caption, the commands
and the date), and takes a screenshot of the report's HTML page with headless Chromium into
``docs/images/report.png`` (the README shows it). Every image in the gallery is this script's output.
About 5 minutes on 2 cores from an empty representation cache.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one line per copied figure, no bars
from geomexp.experiment.identity import machine_tags  # noqa: E402
from geomexp.tag_names import MACHINE_CPU  # noqa: E402

GALLERY = ROOT / "docs" / "gallery"
PAGE = ROOT / "docs" / "gallery.md"
SCREENSHOT = ROOT / "docs" / "images" / "report.png"
EXPERIMENT = "gallery"
SWEEP = [
    "-m",
    "model=me5_small,minilm",
    "lang=en,sw",
    "layer=all",
    "enhancement=cluster",
    "enhancement.params.n_clusters=7",
    "analysis=[isotropy,dimensions,outliers,isoscore]",
    f"tracking.experiment={EXPERIMENT}",
    "enhancement.save=false",
    "progress=false",
]
#: (source, file name in docs/gallery/, caption). A source is "report:<path under the report folder>" or
#: "run:<model>-<lang>:<artifact path>" (an artifact of that sweep job).
FIGURES = [
    (
        "report:figures/curves/i_cos_by_language.png",
        "i_cos_by_language.png",
        "I_Cos against relative depth (layer / L: me5_small has 12 layers, minilm 6), one line per language and a "
        "panel per model; the cluster-enhanced space dashed beside the raw one (report figure).",
    ),
    (
        "report:figures/curves/isoscore_by_language.png",
        "isoscore_by_language.png",
        "IsoScore against relative depth (report figure).",
    ),
    (
        "report:figures/curves/i_cos_by_model.png",
        "i_cos_by_model.png",
        "The same I_Cos, one line per model and a panel per language (report figure).",
    ),
    (
        "report:figures/dimensions/rogue_by_layer.png",
        "rogue_by_layer.png",
        "Which dimensions are rogue (top cosine contributors) in which layer and language (report figure).",
    ),
    (
        "report:figures/dimensions/outlier_by_layer.png",
        "outlier_by_layer.png",
        "Which dimensions are outlier dimensions of the averaged vector in which layer and language (report figure).",
    ),
    (
        "run:me5_small-sw:figures/by_layer/isotropy.png",
        "me5_small_sw_isotropy_by_layer.png",
        "One run's own curves: me5_small on Swahili, every isotropy metric against layer, raw and enhanced "
        "(per-run figure, `figures/by_layer/isotropy.png`).",
    ),
    (
        "run:me5_small-sw:figures/isotropy/layer_12/pca_2d.png",
        "me5_small_sw_pca.png",
        "The last layer's token representations on their first two principal components (per-run figure).",
    ),
    (
        "run:me5_small-sw:figures/dimensions/layer_12/cosine_contributions.png",
        "me5_small_sw_cosine_contributions.png",
        "Each dimension's contribution to the mean cosine at the last layer: the rogue dimensions stand out "
        "(per-run figure).",
    ),
]


def run(cmd: list[str], env: dict) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=ROOT, env=env, check=True)


def job_run_id(store: str, model: str, lang: str) -> str:
    """The id of the finished measurement run of ``model`` on ``lang`` in the gallery store."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=store)
    experiment = client.get_experiment_by_name(EXPERIMENT)
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=(
            f"tags.`geomexp.kind` = 'measurement' and tags.`geomexp.model` = '{model}' "
            f"and tags.`geomexp.subject` = '{lang}' and attributes.status = 'FINISHED'"
        ),
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs:
        raise SystemExit(f"error: no finished {model} run on {lang} in {store}")
    return runs[0].info.run_id


def artifact(store: str, run_id: str, path: str) -> Path:
    """One artifact of a run, downloaded into a temporary folder."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=store)
    try:
        return Path(client.download_artifacts(run_id, path, tempfile.mkdtemp()))
    except Exception as error:  # MLflow raises its own exception kinds for a missing path
        raise SystemExit(f"error: run {run_id} has no artifact {path}: {error}") from None


def screenshot(html: Path, out: Path) -> None:
    """The top of the report page as a browser shows it (headless Chromium, 1200 × 900)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        print("no chromium on PATH: the report screenshot was not retaken", file=sys.stderr)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1200,900"]
        + [f"--screenshot={out}", html.as_uri()],
        check=True,
        capture_output=True,
    )


def page(commands: list[str]) -> str:
    cpu = machine_tags()[MACHINE_CPU]
    lines = [
        "# Gallery",
        "",
        "Figures of one real sweep of the two offline encoders (me5_small: multilingual-e5-small; minilm:",
        "all-MiniLM-L6-v2, English-only) on the paper's English and Swahili Wikipedia corpora, every layer,",
        "10,000 tokens drawn uniformly per run, raw and after the 2022 paper's cluster enhancement",
        "(k = 7 clusters, D = 12 directions removed). Nothing here is drawn by hand: `python docs/gallery.py`",
        f"reran the commands below and copied these figures ({datetime.date.today().isoformat()}, {cpu}).",
        "",
        "```bash",
        *commands,
        "```",
        "",
        "The report's page as a browser shows it (the top of `reports/gallery/index.html`):",
        "",
        "![The report's HTML page](images/report.png)",
        "",
    ]
    for _, name, caption in FIGURES:
        lines += [f"![{caption}](gallery/{name})", "", caption, ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="keep the sweep's store, outputs and report in this folder")
    parser.add_argument("--no-sweep", action="store_true", help="reuse the sweep already in the --keep folder")
    args = parser.parse_args(argv)
    work = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="geomexp-gallery-"))
    work.mkdir(parents=True, exist_ok=True)
    store = f"sqlite:///{work / 'mlflow.db'}"
    env = dict(os.environ, MLFLOW_TRACKING_URI=store)
    report_dir = work / "report"
    sweep = [sys.executable, "run.py", *SWEEP, f"hydra.sweep.dir={work / 'multirun'}"]
    report = [sys.executable, "-m", "geomexp.report", "--experiment", EXPERIMENT, "--formats", "png", "--no-log"]
    if args.no_sweep and not (work / "mlflow.db").is_file():
        raise SystemExit(f"error: --no-sweep needs the store of an earlier --keep run in {work}")
    if not args.no_sweep:
        run(sweep, env)
    run(report + ["--out", str(report_dir)], env)

    GALLERY.mkdir(parents=True, exist_ok=True)
    for old in GALLERY.glob("*.png"):
        old.unlink()
    run_ids: dict[str, str] = {}
    for source, name, _ in FIGURES:
        kind, _, rest = source.partition(":")
        if kind == "report":
            src = report_dir / rest
        else:
            job, _, path = rest.partition(":")
            if job not in run_ids:
                model, lang = job.rsplit("-", 1)
                run_ids[job] = job_run_id(store, model, lang)
            src = artifact(store, run_ids[job], path)
        if not src.is_file():
            raise SystemExit(f"error: the sweep made no {source} (looked for {src})")
        shutil.copyfile(src, GALLERY / name)
        print(f"  {src} -> docs/gallery/{name}")
    screenshot(report_dir / "index.html", SCREENSHOT)
    shown = ["python run.py " + " ".join(a if "[" not in a else f"'{a}'" for a in SWEEP)]
    shown.append("python -m geomexp.report --experiment gallery --formats png")
    PAGE.write_text(page(shown))
    print(f"wrote {PAGE.relative_to(ROOT)}, {len(FIGURES)} figures in docs/gallery/, {SCREENSHOT.relative_to(ROOT)}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
