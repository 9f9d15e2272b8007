"""Models of different depths and widths compared in one sweep: the report's layer curves on the relative
depth axis layer / L (``geomexp.report.depth``).

Two tiny random models saved with save_pretrained: a 4-layer, 48-dim GPT-2 and a 2-layer, 32-dim BERT.
Two real runs (every layer, isotropy) under one sweep parent in a real SQLite store, in-process, and
the same comparison as a real ``python run.py -m model=A,B`` sweep (the two models as YAML entries on
Hydra's search path) with the report's command line; the figures' x data are read back from the
matplotlib objects. Those are slow (a store and runs: ~10 s); the axis arithmetic and the option's
checks are fast.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import pytest
from conftest import ROOT, compose_config, isolated_overrides, store_in
from mlflow.tracking import MlflowClient

from geomexp.errors import ConfigError, GeomexpError
from geomexp.experiment import RunContext, run
from geomexp.figures.report import build_figures, layer_curves
from geomexp.report import collect_runs
from geomexp.report.depth import AXIS_LABELS, check_depth, depth_x, resolve_depth
from geomexp.tracking import PARENT_RUN_ENV, end_parent_run, start_parent_run

SMALL = [
    "lang=en",
    "layer=all",
    "data.n_tokens=100",
    "analysis=isotropy",
    "analysis.isotropy.n_pairs=100",
    "analysis.isotropy.plot=false",
    "tracking.log_figures=false",
]
#: model -> (number of layers L, hidden size)
SHAPES = {"gpt2": (4, 48), "bert": (2, 32)}


def test_depth_axis_values_and_option_checks():
    assert depth_x([0, 1, 2, 3, 4], 4, "relative") == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert depth_x([0, 6, 12], 24, "relative") == [0.0, 0.25, 0.5]
    assert depth_x([0, 6, 12], 24, "layer") == [0, 6, 12]
    with pytest.raises(ValueError, match="number of layers"):
        depth_x([0, 1], None, "relative")
    assert [check_depth(d) for d in ("auto", "relative", "layer")] == ["auto", "relative", "layer"]
    with pytest.raises(ConfigError, match=r"--depth 'Relative' is not a depth axis: use auto .* relative .* or layer"):
        check_depth("Relative")
    assert resolve_depth([], "auto") == "layer" and resolve_depth([], "relative") == "relative"


@pytest.fixture(scope="module")
def compared(tmp_path_factory, deep_tiny_dirs, tiny_bert_dir, data_root, migrated_store):
    """``(uri, parent id, {kind: RunResult})``: the 4-layer GPT-2 and the 2-layer BERT, one run each."""
    tmp = tmp_path_factory.mktemp("compare")
    uri = store_in(tmp, migrated_store)
    parent = start_parent_run(uri, "geomexp", "sweep")
    folders = {"gpt2": deep_tiny_dirs["gpt2"], "bert": tiny_bert_dir}
    mp = pytest.MonkeyPatch()
    mp.setenv(PARENT_RUN_ENV, parent)
    try:
        results = {}
        for num, (kind, folder) in enumerate(folders.items()):
            model = [f"model={kind}", f"model.path={folder}"]
            cfg = compose_config(isolated_overrides(tmp, uri, data_root) + model + SMALL)
            results[kind] = run(cfg, RunContext(sweep_dir=str(tmp / "sweep"), job_num=num))
    finally:
        mp.undo()
    end_parent_run(uri, parent)
    return uri, parent, results


def close_all(figs):
    """Close the figures once the test has read them (pyplot keeps them open otherwise)."""
    import matplotlib.pyplot as plt

    for fig in figs.values():
        plt.close(fig)


def logged(uri, run_id, key="i_cos") -> list[float]:
    history = MlflowClient(uri).get_metric_history(run_id, key)
    return [h.value for h in sorted(history, key=lambda h: h.step)]


@pytest.mark.slow
def test_layer_curves_of_models_of_different_depths_are_on_the_relative_depth_axis(compared):
    uri, parent, results = compared
    runs = collect_runs(uri, parent=parent)
    by_run = {m.run_id: m for m in runs}
    labels = {kind: by_run[r.run_id].model for kind, r in results.items()}
    for kind, r in results.items():
        tags = MlflowClient(uri).get_run(r.run_id).data.tags
        assert (int(tags["num_layers"]), int(tags["hidden_size"])) == SHAPES[kind]
    assert resolve_depth(runs) == "relative"  # auto: the depths differ
    figs = build_figures(runs)
    close_all(figs)
    assert figs.depth == "relative" and "relative depth" in figs.captions["curves/i_cos_by_model"]
    (ax,) = [a for a in figs["curves/i_cos_by_model"].axes if a.get_visible()]  # one language: one panel
    assert ax.get_title() == "en" and ax.get_xlabel() == AXIS_LABELS["relative"]
    assert list(ax.get_xticks()) == [0, 0.25, 0.5, 0.75, 1]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) == {f"{labels['gpt2']} (L=4)", f"{labels['bert']} (L=2)"}
    gpt2, bert = lines[f"{labels['gpt2']} (L=4)"], lines[f"{labels['bert']} (L=2)"]
    assert list(gpt2.get_xdata()) == [0, 0.25, 0.5, 0.75, 1]  # layer / 4
    assert list(bert.get_xdata()) == [0, 0.5, 1]  # layer / 2
    assert list(gpt2.get_ydata()) == logged(uri, results["gpt2"].run_id)
    assert list(bert.get_ydata()) == logged(uri, results["bert"].run_id)
    # one panel per model, titled with its depth, on the same axis
    panels = [a for a in figs["curves/i_cos_by_language"].axes if a.get_visible()]
    assert sorted(a.get_title() for a in panels) == sorted([f"{labels['gpt2']} (L=4)", f"{labels['bert']} (L=2)"])
    assert {a.get_xlabel() for a in panels} == {AXIS_LABELS["relative"]}


@pytest.mark.slow
def test_the_layer_axis_on_request_and_auto_for_one_depth(compared):
    uri, parent, results = compared
    runs = collect_runs(uri, parent=parent)
    figs = build_figures(runs, depth="layer")
    close_all(figs)
    assert figs.depth == "layer"
    (ax,) = [a for a in figs["curves/i_cos_by_model"].axes if a.get_visible()]
    assert ax.get_xlabel() == AXIS_LABELS["layer"]
    assert sorted(list(line.get_xdata()) for line in ax.get_lines()) == [[0, 1, 2], [0, 1, 2, 3, 4]]
    assert not any("(L=" in line.get_label() for line in ax.get_lines())
    one = [m for m in runs if m.run_id == results["gpt2"].run_id]
    assert resolve_depth(one) == "layer"  # auto, one depth: the layer index
    info = one[0].infos["isotropy"]
    fig = layer_curves(one, info, "i_cos", depth="relative")  # asked for: relative
    close_all({"one": fig})
    (line,) = fig.axes[0].get_lines()
    assert list(line.get_xdata()) == [0, 0.25, 0.5, 0.75, 1]


@pytest.mark.slow
def test_bad_depth_values_and_runs_without_a_depth_are_refused(compared):
    uri, parent, _ = compared
    runs = collect_runs(uri, parent=parent)
    with pytest.raises(
        ConfigError, match=r"--depth 'depthwise' is not a depth axis: use auto .*, relative .* or layer"
    ):
        build_figures(runs, depth="depthwise")
    no_depth = dataclasses.replace(runs[0].run, tags={k: v for k, v in runs[0].run.tags.items() if k != "num_layers"})
    stripped = [dataclasses.replace(runs[0], run=no_depth), runs[1]]
    with pytest.raises(GeomexpError, match=rf"1 run\(s\) lack it \({runs[0].run_id[:8]}\): use --depth layer"):
        resolve_depth(stripped, "relative")
    assert resolve_depth(stripped, "auto") == "layer"  # one depth known: nothing to align


@pytest.mark.slow
def test_report_command_line_depth_option(compared, tmp_path, capsys):
    from geomexp.report.cli import main

    uri, parent, _ = compared
    argv = ["--parent", parent, "--tracking-uri", uri, "--no-log", "--formats", "png"]
    assert main([*argv, "--out", str(tmp_path / "auto")]) == 0
    assert "relative depth axis layer / L" in capsys.readouterr().out
    text = (tmp_path / "auto" / "report.md").read_text()
    assert "Layer curves are drawn against the relative depth layer / L" in text
    assert main([*argv, "--out", str(tmp_path / "index"), "--depth", "layer"]) == 0
    assert "relative depth" not in capsys.readouterr().out
    assert "relative depth" not in (tmp_path / "index" / "report.md").read_text()
    with pytest.raises(SystemExit):
        main([*argv, "--depth", "depthwise"])
    assert "invalid choice: 'depthwise'" in capsys.readouterr().err


@pytest.mark.slow
def test_a_real_sweep_over_two_models_of_different_depths_and_its_report(
    tmp_path, store_uri, data_root, deep_tiny_dirs, tiny_bert_dir
):
    """``python run.py -m model=tiny_gpt2,tiny_bert``: model entries of a user's config folder on Hydra's
    search path; then ``python -m geomexp.report --parent <sweep>`` draws the curves on layer / L."""
    model_dir = tmp_path / "myconf" / "model"
    model_dir.mkdir(parents=True)
    for kind, folder in (("gpt2", deep_tiny_dirs["gpt2"]), ("bert", tiny_bert_dir)):
        (model_dir / f"tiny_{kind}.yaml").write_text(f"name: tiny_{kind}\nsource: hf\npath: {folder}\n")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_RUN_ID"}
    args = ["-m", "model=tiny_gpt2,tiny_bert", f"hydra.searchpath=[file://{tmp_path / 'myconf'}]", *SMALL]
    cmd = [sys.executable, "run.py", *args, *isolated_overrides(tmp_path, store_uri, data_root)]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    client = MlflowClient(store_uri)
    exp = client.get_experiment_by_name("geomexp")
    every = client.search_runs([exp.experiment_id])
    (parent,) = [r for r in every if r.data.tags.get("geomexp.kind") == "sweep"]
    children = [r for r in every if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert sorted((r.data.tags["choice.model"], r.data.tags["num_layers"]) for r in children) == [
        ("tiny_bert", "2"),
        ("tiny_gpt2", "4"),
    ]
    report = subprocess.run(
        [sys.executable, "-m", "geomexp.report", "--parent", parent.info.run_id, "--tracking-uri", store_uri]
        + ["--out", str(tmp_path / "report"), "--formats", "png", "--no-log"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert report.returncode == 0, report.stderr[-3000:]
    assert "relative depth axis layer / L" in report.stdout
    assert (tmp_path / "report" / "figures" / "curves" / "i_cos_by_model.png").stat().st_size > 5000
    figs = build_figures(collect_runs(store_uri, parent=parent.info.run_id))
    (ax,) = [a for a in figs["curves/i_cos_by_model"].axes if a.get_visible()]
    xs = {line.get_label().rsplit(" ", 1)[-1]: list(line.get_xdata()) for line in ax.get_lines()}
    assert xs == {"(L=4)": [0, 0.25, 0.5, 0.75, 1], "(L=2)": [0, 0.5, 1]}
