"""Extending geomexp without editing the package: a toy analysis (module + YAML) from a folder of
its own is selected, run, logged to MLflow and tabulated by the report; and only
``geomexp/tracking/`` imports MLflow."""

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, compose_config, isolated_overrides
from mlflow.tracking import MlflowClient

from geomexp.experiment import run

TOY = Path(__file__).resolve().parent / "toy_extension"


def test_only_the_tracking_package_imports_mlflow():
    offenders = []
    for path in (ROOT / "geomexp").rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("geomexp/tracking/"):
            continue
        if re.search(r"^\s*(import mlflow|from mlflow)", path.read_text(), flags=re.M):
            offenders.append(rel)
    assert not offenders, f"MLflow imported outside geomexp/tracking/: {offenders}"
    assert re.search(
        r"^\s*from mlflow", (ROOT / "geomexp/tracking/store.py").read_text(), flags=re.M
    )  # the check can fail


def test_a_toy_analysis_from_its_own_config_folder(tmp_path, store_uri, data_root, monkeypatch):
    monkeypatch.syspath_prepend(str(TOY))
    overrides = isolated_overrides(tmp_path, store_uri, data_root) + [
        f"hydra.searchpath=[file://{TOY / 'conf'}]",
        "analysis=[isotropy,toy_spread]",
        "model=minilm",
        "lang=sw",
        "data.n_tokens=200",
        "analysis.isotropy.plot=false",
    ]
    result = run(compose_config(overrides))
    client = MlflowClient(store_uri)
    r = client.get_run(result.run_id)
    assert {"toy_norm", "toy_norm_sd", "i_cos"} <= set(r.data.metrics)
    assert r.data.params["analysis.toy_spread"] == "scale=2.0"
    from geomexp.cache import load_sample

    X = load_sample(str(tmp_path / "cache"), result.cache_key).layer(6).astype(np.float64)
    assert r.data.metrics["toy_norm"] == pytest.approx(2.0 * np.linalg.norm(X, axis=1).mean(), rel=1e-12)
    # the report reads the toy's metadata from the run and builds its table
    from geomexp.report import build_tables, collect_runs

    tables = build_tables(collect_runs(store_uri, experiment="geomexp"))
    assert "toy_norm" in tables
    assert "sw" in tables["toy_norm"].columns
