"""Measuring apart from logging (issue 25, item 1): ``measure(spec)`` returns a ``Measurement`` and
touches no tracking store; ``run`` publishes the same numbers to MLflow; seeds are summarised before
anything is written."""

import json
import math

from mlflow.tracking import MlflowClient

from geomexp.config.spec import RunSpec
from geomexp.experiment import Measurement, measure, run
from geomexp.experiment.measurement import RESULTS_FORMAT, RESULTS_VERSION

SMALL = ["model=minilm", "lang=sw", "data.n_tokens=150", "analysis.isotropy.n_pairs=100", "layer.index=[3,6]"]


def test_measure_returns_what_run_logs_without_touching_a_store(make_cfg, tmp_path, store_uri):
    cfg = make_cfg(*SMALL, f"tracking.uri=sqlite:///{tmp_path / 'never.db'}")
    m = measure(RunSpec.from_config(cfg))
    assert isinstance(m, Measurement) and m.layers == [3, 6]
    assert not (tmp_path / "never.db").exists()  # no store was opened
    assert {("i_cos", 3), ("i_cos", 6), ("i_pc", 6)} <= set(m.metrics)
    assert "tables/metrics_by_layer.json" in m.artifacts and m.tags["n_tokens"] == "150"
    assert isinstance(m.artifacts["figures/by_layer/isotropy.png"], bytes)  # rendered PNG
    assert m.artifacts["figures/by_layer/isotropy.png"][:8] == b"\x89PNG\r\n\x1a\n"

    result = run(make_cfg(*SMALL))
    logged = MlflowClient(store_uri).get_run(result.run_id).data
    assert result.metrics == m.metrics
    assert {k for k, _ in m.metrics} == set(logged.metrics)
    assert all(logged.metrics[k] == m.metrics[(k, 6)] for k in logged.metrics)  # the last step: layer 6
    assert logged.tags["cache_key"] == m.cache_key and logged.tags["n_tokens"] == "150"

    results = m.to_json()
    assert results["format"] == RESULTS_FORMAT and results["version"] == RESULTS_VERSION
    assert results["metrics"]["i_cos"] == {"3": m.metrics[("i_cos", 3)], "6": m.metrics[("i_cos", 6)]}
    assert json.loads(json.dumps(results)) == results  # JSON-ready


def test_without_figures_nothing_is_drawn(make_cfg):
    m = measure(RunSpec.from_config(make_cfg(*SMALL)), keep_figures=False)
    assert not [p for p in m.artifacts if p.startswith("figures/")]
    assert "tables/metrics_by_layer.json" in m.artifacts


def test_tracking_figures_chooses_which_layers_are_drawn(make_cfg, monkeypatch):
    """Issue 30, item 1: ``tracking.figures=summary`` (the default) draws the by-layer curves and the last
    layer's figures only, ``all`` every layer's, ``none`` none; the analyses are not even asked to draw at a
    layer whose figures are not kept, and the numbers are the same whatever is drawn."""
    import geomexp.analyses.isotropy as isotropy_module

    drawn_at = []
    real = isotropy_module.pca_scatter

    def counting(X, *, title, **kw):
        drawn_at.append(title.rsplit("layer ", 1)[-1])
        return real(X, title=title, **kw)

    monkeypatch.setattr(isotropy_module, "pca_scatter", counting)
    three = [*SMALL, "layer.index=[0,3,6]"]

    def figures(choice: str) -> tuple[set, dict]:
        drawn_at.clear()
        m = measure(RunSpec.from_config(make_cfg(*three, f"tracking.figures={choice}")))
        return {p for p in m.artifacts if p.startswith("figures/")}, m.metrics

    summary, metrics = figures("summary")
    assert summary == {"figures/by_layer/isotropy.png", "figures/isotropy/layer_06/pca_2d.png"}
    assert drawn_at == ["6"]  # layers 0 and 3 were not drawn and thrown away: not drawn at all
    every, metrics_all = figures("all")
    assert every == summary | {"figures/isotropy/layer_00/pca_2d.png", "figures/isotropy/layer_03/pca_2d.png"}
    assert drawn_at == ["0", "3", "6"]
    none, metrics_none = figures("none")
    assert none == set() and drawn_at == []
    assert metrics == metrics_all == metrics_none
    assert not figures("summary")[0] - summary
    m = measure(RunSpec.from_config(make_cfg(*three, "tracking.log_figures=false")))  # the older switch
    assert not [p for p in m.artifacts if p.startswith("figures/")]


def test_seeds_are_summarised_before_anything_is_written(make_cfg, store_uri):
    cfg = make_cfg(*SMALL, "seeds=[0,1]", "layer.index=6")
    spec = RunSpec.from_config(cfg)
    one, two = (measure(spec.with_seed(s)) for s in (0, 1))
    result = run(cfg)
    mean = (one.metrics[("i_cos", 6)] + two.metrics[("i_cos", 6)]) / 2
    assert math.isclose(result.metrics[("i_cos", 6)], mean, rel_tol=1e-12)
    logged = MlflowClient(store_uri).get_run(result.run_id).data
    assert math.isclose(logged.metrics["i_cos"], mean, rel_tol=1e-12) and "i_cos_sd" in logged.metrics
    assert logged.tags["seeds"] == "0,1"


def test_the_readme_notebook_recipe_composes_and_measures(data_root, tmp_path):
    """``geomexp.config.compose`` composes as ``run.py`` would (``layer=[6,12]`` read as ``layer.index``)."""
    from geomexp.config import compose

    cfg = compose(
        [
            "model=me5_small",
            "lang=sw",
            "layer=[6,12]",
            "data.n_tokens=150",
            f"data.root={data_root}",
            f"paths.cache_dir={tmp_path / 'cache'}",
            "data.token_sampling=fewest_sentences",
        ]
    )
    m = measure(RunSpec.from_config(cfg), keep_figures=False)
    assert m.layers == [6, 12] and set(m.values(12)) >= {"i_cos", "i_pc"}


def test_a_failed_measurement_leaves_its_tags_on_the_failed_run(make_cfg, store_uri, monkeypatch):
    """What measure() learned before an error (the cache key, the sample) is still tagged on the FAILED run,
    as when the runner logged as it went (the hub test's model.commit on an interrupted download)."""
    import pytest

    import geomexp.experiment.runner as runner

    def broken(*args, **kwargs):
        raise RuntimeError("an analysis broke")

    monkeypatch.setattr(runner, "record", broken)
    with pytest.raises(RuntimeError, match="an analysis broke"):
        run(make_cfg(*SMALL))
    client = MlflowClient(store_uri)
    (failed,) = client.search_runs([client.get_experiment_by_name("geomexp").experiment_id])
    assert failed.info.status == "FAILED"
    assert failed.data.tags["cache_key"] and failed.data.tags["n_tokens"] == "150"
    assert failed.data.tags["hidden_size"] == "384" and not failed.data.metrics


def test_a_dry_run_writes_the_results_file_and_no_store(make_cfg, tmp_path, store_uri):
    """tracking.enabled=false: no MLflow store is created; the job's folder gets measurement.json, whose
    numbers are the run's, and the result carries the Measurement itself."""
    from pathlib import Path

    from geomexp.experiment.context import RunContext

    out = tmp_path / "job"
    Path(store_uri.removeprefix("sqlite:///")).unlink()  # the fixture's store file: the run must not make one
    result = run(
        make_cfg("model=minilm", "lang=sw", "data.n_tokens=200", "tracking.enabled=false"),
        RunContext(output_dir=str(out)),
    )
    assert result.run_id is None and result.measurement is not None
    assert not Path(store_uri.removeprefix("sqlite:///")).exists()
    saved = json.loads((out / "measurement.json").read_text())
    assert saved["format"] == RESULTS_FORMAT and saved["version"] == RESULTS_VERSION
    assert {(k, int(layer)): v for k, by in saved["metrics"].items() for layer, v in by.items()} == result.metrics
    assert saved["metrics"]["i_cos"]["6"] == result.metrics[("i_cos", 6)]
