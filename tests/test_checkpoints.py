"""Training checkpoints as an axis (issue 28, item 3): the step parsed from a checkpoint's name, the run's
``model.step`` tag, and the report's figures over training step; end to end (slow) a ``-m`` sweep over
``model.revision`` of a tiny GPT-2 served at two "steps" by the local Hub-compatible server."""

from __future__ import annotations

import io

import numpy as np
import pytest
from test_report_figures import _synthetic_run, text_overlaps

from geomexp.analyses.isotropy import isotropy_analysis
from geomexp.encoders import EncoderSpec
from geomexp.encoders.checkpoints import parse_step, step_tags, training_step
from geomexp.figures.checkpoints import step_curves, step_grid, step_heatmaps
from geomexp.figures.report import build_figures, layer_curves


@pytest.mark.parametrize(
    "name, step",
    [
        ("step143000", 143000),  # Pythia
        ("step0", 0),
        ("step1000-tokens4B", 1000),  # OLMo
        ("google/multiberts-seed_0-step_20k", 20000),  # MultiBERTs
        ("checkpoint-500", 500),  # a Trainer's folder
        ("global_step1200", 1200),
        ("ckpt_3000", 3000),
        ("iter_800", 800),
        ("run-step2M", 2_000_000),
        ("main", None),
        ("v2", None),
        ("stepper", None),
        ("bert-base-multilingual-cased", None),
        ("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", None),
        (None, None),
    ],
)
def test_the_training_step_is_read_from_a_checkpoints_name(name, step):
    assert parse_step(name) == step


def test_a_models_step_comes_from_its_revision_else_its_hub_id_else_its_folder(tmp_path):
    pythia = EncoderSpec("pythia", hf_id="EleutherAI/pythia-70m", revision="step3000")
    assert training_step(pythia) == 3000 and step_tags(pythia) == {"model.step": "3000"}
    multibert = EncoderSpec("mb", hf_id="google/multiberts-seed_1-step_40k")
    assert training_step(multibert) == 40000
    folder = EncoderSpec("mine", path=str(tmp_path / "out" / "checkpoint-250"))
    assert training_step(folder) == 250
    assert step_tags(EncoderSpec("mbert", hf_id="bert-base-multilingual-cased")) == {}


def checkpoint_runs(steps=(0, 1000, 10000, 143000), subjects=("en", "sw")):
    """Synthetic isotropy runs of one model at several steps: i_cos = 0.1 + layer/10 + step/1e6."""
    runs = []
    for i, (step, subject) in enumerate((s, sub) for s in steps for sub in subjects):
        r = _synthetic_run(i, subject, {"i_cos": 0.1 + step / 1e6}, layers=(0, 1, 2, 3))
        r.run.tags.update({"model.step": str(step), "geomexp.enhancement": "none", "num_layers": "3"})
        runs.append(r)
    return runs


def test_the_step_figures_show_each_layers_value_at_each_step():
    runs = checkpoint_runs()
    grid = step_grid(runs, isotropy_analysis.info, "i_cos")
    assert set(grid) == {("m", "en"), ("m", "sw")}
    assert list(grid[("m", "en")]) == [0, 1000, 10000, 143000]
    assert grid[("m", "en")][1000][2] == pytest.approx(0.1 + 0.001 + 0.02)

    fig = step_curves(runs, isotropy_analysis.info, "i_cos")
    panels = [ax for ax in fig.axes if ax.get_visible() and ax.get_lines()]
    assert [ax.get_title() for ax in panels] == ["m · en", "m · sw"]
    lines = {line.get_label(): line for line in panels[0].get_lines()}
    assert set(lines) == {"layer 0", "layer 1", "layer 2", "layer 3"}
    assert list(lines["layer 3"].get_xdata()) == [0, 1000, 10000, 143000]
    assert np.allclose(lines["layer 3"].get_ydata(), [0.1 + s / 1e6 + 0.03 for s in (0, 1000, 10000, 143000)])
    assert panels[0].get_xscale() == "symlog"  # step 0 and four decades
    assert text_overlaps(fig) == []

    heat = step_heatmaps(runs, isotropy_analysis.info, "i_cos")
    image = [ax for ax in heat.axes if ax.get_images()][0].get_images()[0]
    matrix = np.asarray(image.get_array())
    assert matrix.shape == (4, 4)  # layers x steps
    assert matrix[3, 1] == pytest.approx(0.1 + 0.001 + 0.03)
    for figure in (fig, heat):  # both save (a colour bar added after the layout engine broke the heat map)
        figure.savefig(io.BytesIO(), format="png")


def test_the_report_draws_checkpoint_figures_and_labels_layer_curves_by_step():
    runs = checkpoint_runs(steps=(0, 1000))
    figs = build_figures(runs)
    assert {"checkpoints/i_cos_by_step", "checkpoints/i_cos_layer_by_step"} <= set(figs)
    fig = layer_curves(runs, isotropy_analysis.info, "i_cos", by="subject")
    (ax, *_) = [a for a in fig.axes if a.get_visible() and a.get_lines()]
    assert {line.get_label() for line in ax.get_lines()} == {"en step 0", "en step 1,000", "sw step 0", "sw step 1,000"}
    assert not any(stem.startswith("checkpoints/") for stem in build_figures(checkpoint_runs(steps=(5,))))


@pytest.mark.slow
def test_a_sweep_over_checkpoint_revisions_logs_each_step_and_the_report_draws_them(tmp_path, store_uri, data_root):
    from hub_server import FakeHub
    from test_hub import TINY, run_py, runs_of

    from geomexp.report import collect_runs

    hub = FakeHub(tmp_path / "hub", ["openai-community/gpt2"]).start()
    try:
        commits = hub.add_branches("openai-community/gpt2", {"step0": 10, "step1000": 12})
        args = ["-m", "model=gpt2", "lang=en", "layer=all", "model.revision=step0,step1000", *TINY]
        proc = run_py(args, tmp_path, store_uri, data_root, hub.env(tmp_path / "hf"))
    finally:
        hub.stop()
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = runs_of(store_uri)
    assert sorted(r.data.tags["model.step"] for r in runs) == ["0", "1000"]
    for r in runs:
        step = r.data.tags["model.step"]
        assert r.data.tags["model.commit"] == commits[f"step{step}"]
    assert len({r.data.tags["geomexp.identity"] for r in runs}) == 2  # other weights: other measurements
    figs = build_figures(collect_runs(store_uri, experiment="geomexp"))  # what the report draws from the store
    assert {"checkpoints/i_cos_by_step", "checkpoints/i_cos_layer_by_step"} <= set(figs), sorted(figs)
