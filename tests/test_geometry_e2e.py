"""Contextuality, layer similarity, intrinsic dimension and model similarity end to end: real Hydra
composition, the packaged MiniLM encoder on the paper's English corpus (30 sentences, every layer), a
real SQLite MLflow store. One run, shared by the tests of this module."""

import json

import pytest
from conftest import all_artifacts, compose_config, isolated_overrides, store_in
from mlflow.tracking import MlflowClient

from geomexp.experiment import run

LAYERS = list(range(7))  # MiniLM: embeddings + 6 layers


@pytest.fixture(scope="module")
def geometry_run(tmp_path_factory, data_root, migrated_store):
    tmp = tmp_path_factory.mktemp("geometry")
    uri = store_in(tmp, migrated_store)
    cfg = compose_config(
        isolated_overrides(tmp, uri, data_root)
        + [
            "model=minilm",
            "lang=en",
            "layer=all",
            "analysis=[contextuality,similarity,intrinsic,model_similarity]",
            "analysis.model_similarity.other=minilm",  # against itself: a known answer, and a cache hit
            "analysis.model_similarity.procrustes=false",  # (a d x d eigensolve per layer; the slow suite has it)
            "analysis.model_similarity.n_permutations=1",
            "analysis.model_similarity.n_sentences=10",
            "analysis.model_similarity.all_layers=true",
            "data.n_sentences=30",
            "analysis.contextuality.min_occurrences=3",
            "analysis.contextuality.plot=false",
            "analysis.intrinsic.plot=false",
            "analysis.similarity.procrustes_matrix=false",
        ]
    )
    result = run(cfg)
    client = MlflowClient(uri)
    return result, client, client.get_run(result.run_id)


def history(client, run_id, key):
    return {h.step: h.value for h in client.get_metric_history(run_id, key)}


def test_contextuality_lands_in_mlflow_per_layer(geometry_run):
    result, client, r = geometry_run
    assert r.info.status == "FINISHED" and r.data.tags["n_sentences"] == "30"  # the YAML samples whole sentences
    for key in ("ctx_self_sim", "ctx_self_sim_adj", "ctx_intra_sim_adj", "ctx_mev_adj", "ctx_n_words"):
        assert sorted(history(client, result.run_id, key)) == LAYERS
    words = history(client, result.run_id, "ctx_n_words")
    assert len(set(words.values())) == 1 and words[0] >= 10  # the same words at every layer
    adj = history(client, result.run_id, "ctx_self_sim_adj")
    raw, base = history(client, result.run_id, "ctx_self_sim"), history(client, result.run_id, "ctx_baseline_cos")
    assert all(adj[k] == pytest.approx(raw[k] - base[k]) for k in LAYERS)
    assert adj[6] < adj[0]  # the last layer is more contextual than the embedding layer (Ethayarajh's finding)
    assert "tables/contextuality/layer_06/words.json" in all_artifacts(client, result.run_id)


def test_layer_similarity_lands_in_mlflow_with_the_matrix(geometry_run):
    result, client, _ = geometry_run
    prev = history(client, result.run_id, "cka_prev")
    assert sorted(prev) == LAYERS[1:] and all(0 < v <= 1 for v in prev.values())
    last = history(client, result.run_id, "cka_last")
    assert last[6] == pytest.approx(1) and last[0] < last[5]
    files = all_artifacts(client, result.run_id)
    assert "figures/similarity/layer_06/cka_matrix.png" in files
    assert "figures/by_layer/similarity.png" in files  # one curves figure per analysis (its metrics as panels)
    with open(client.download_artifacts(result.run_id, "tables/similarity/layer_06/layer_similarity.json")) as f:
        table = json.load(f)
    assert table["layers"] == LAYERS and "procrustes" not in table
    assert table["cka_debiased"][5][6] == pytest.approx(prev[6], abs=1e-7)


def test_intrinsic_dimension_lands_in_mlflow_with_report_tables(geometry_run):
    result, client, _ = geometry_run
    for key in ("id_twonn", "id_mle", "erank", "participation_ratio"):
        values = history(client, result.run_id, key)
        assert sorted(values) == LAYERS and all(1 <= v <= 384 for v in values.values())
    assert history(client, result.run_id, "id_n_repeated")[0] > 0  # the embedding layer repeats token + position
    with open(client.download_artifacts(result.run_id, "meta/analyses.json")) as f:
        meta = json.load(f)
    assert {t["name"] for a in meta.values() for t in a["tables"]} == {
        "contextuality",
        "similarity",
        "intrinsic",
        "model_similarity",
    }


def test_model_similarity_of_a_model_with_itself_is_one_at_every_layer(geometry_run):
    """The second model's sentences are the run model's own (same encoder, same sentences: one cache entry),
    so every word matches exactly and each layer equals its same-depth layer of the 'other' model."""
    result, client, r = geometry_run
    cka = history(client, result.run_id, "msim_cka")
    assert sorted(cka) == LAYERS and all(v == pytest.approx(1, abs=1e-9) for v in cka.values())
    assert history(client, result.run_id, "msim_best_layer") == {k: float(k) for k in LAYERS}
    assert set(history(client, result.run_id, "msim_exact_share").values()) == {1.0}
    shuffled = history(client, result.run_id, "msim_cka_shuffled")
    assert all(abs(v) < 0.1 for v in shuffled.values())
    words = history(client, result.run_id, "msim_n_words")
    assert len(set(words.values())) == 1 and words[0] > 80  # 10 of the 30 sentences' words, the same at every layer
    assert r.data.tags["msim_other"] == "minilm"
    assert "tables/model_similarity/layer_03/model_similarity.json" in all_artifacts(client, result.run_id)
