"""Cross-language comparison: known subspace geometry, and a real multi-language run."""

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from geomexp.analyses import crosslingual_analysis
from geomexp.errors import ConfigError
from geomexp.experiment import run


def planted(direction_dims, n=600, d=20, seed=0):
    """Isotropic noise plus strong variance along the given coordinate axes."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[:, direction_dims] *= 10
    return X


def test_same_dominant_directions_overlap_fully_and_disjoint_ones_not_at_all():
    reps = {"a": planted([0, 1], seed=1), "b": planted([0, 1], seed=2), "c": planted([5, 6], seed=3)}
    out = crosslingual_analysis(reps["a"], lang_reps=reps, n_components=2, plot=False)
    assert out.metrics["xl_overlap.a_b"] == pytest.approx(1.0, abs=0.01)
    assert out.metrics["xl_overlap.a_c"] == pytest.approx(0.0, abs=0.01)
    assert out.metrics["xl_overlap_min"] == pytest.approx(0.0, abs=0.01)
    assert out.metrics["xl_overlap_chance"] == pytest.approx(2 / 20)
    table = out.tables["crosslingual.json"]
    assert table["langs"] == ["a", "b", "c"]
    assert table["mean_principal_angle_deg"][0][2] == pytest.approx(90.0, abs=1.0)


def test_needs_two_languages_and_a_valid_subspace_size():
    X = planted([0])
    with pytest.raises(ConfigError, match="at least two languages"):
        crosslingual_analysis(X, lang_reps={"a": X}, plot=False)
    with pytest.raises(ConfigError, match="n_components must be in 1..19"):
        crosslingual_analysis(X, lang_reps={"a": X, "b": X}, n_components=20, plot=False)


def test_crosslingual_run_reads_every_language(make_cfg, store_uri):
    result = run(make_cfg("model=minilm", "lang=sw", "analysis=crosslingual", "langs=[en,sw,su]", "data.n_tokens=200"))
    r = MlflowClient(store_uri).get_run(result.run_id)
    assert {"xl_overlap.en_sw", "xl_overlap.en_su", "xl_overlap.sw_su", "xl_overlap_mean"} <= set(r.data.metrics)
    assert (
        r.data.tags["geomexp.subject"] == "en+sw+su" and r.info.run_name == "minilm-en+sw+su-last"
    )  # not the default lang
    files = [a.path for a in MlflowClient(store_uri).list_artifacts(result.run_id, "figures/crosslingual")]
    assert "figures/crosslingual/joint_pca.png" in files and "figures/crosslingual/subspace_overlap.png" in files


def test_crosslingual_without_langs_fails_before_any_work(make_cfg):
    with pytest.raises(ConfigError, match=r"give two or more, e.g. langs="):
        run(make_cfg("model=minilm", "analysis=crosslingual"))
    with pytest.raises(
        ConfigError,
        match=r"language 'xx' has no lang/xx.yaml in conf/ or a hydra.searchpath folder; known languages: \['ar'",
    ):
        run(make_cfg("model=minilm", "analysis=crosslingual", "langs=[en,xx]"))
