"""Similarity between languages (STS pairs) and between models (matched words) end to end: real Hydra
composition, the packaged offline encoders (me5_small as the run's model, minilm as the other one),
a small sample of the paper's English corpus, STS track 4a (es-en), a real SQLite MLflow store and
the report read back from it. Slow: me5_small encodes the track's 500 sentences."""

import pytest
from conftest import all_artifacts, compose_config, isolated_overrides, store_in
from mlflow.tracking import MlflowClient

from geomexp.experiment import run
from geomexp.report import make_report

pytestmark = pytest.mark.slow
LAYERS = [0, 6, 12]


@pytest.fixture(scope="module")
def similarity_run(tmp_path_factory, data_root, migrated_store):
    tmp = tmp_path_factory.mktemp("similarity")
    uri = store_in(tmp, migrated_store)
    cfg = compose_config(
        isolated_overrides(tmp, uri, data_root)
        + [
            "model=me5_small",
            "lang=en",
            "layer.index=[0,6,12]",
            "analysis=[model_similarity,language_similarity]",
            "data.n_tokens=300",
            "analysis.model_similarity.other=minilm",
            "analysis.model_similarity.n_sentences=20",
            "analysis.model_similarity.all_layers=true",
            "analysis.language_similarity.track=4a",
            "tracking.experiment=sim",
        ]
    )
    result = run(cfg)
    client = MlflowClient(uri)
    return result, client, uri, tmp


def history(client, run_id, key):
    return {h.step: h.value for h in client.get_metric_history(run_id, key)}


def test_languages_on_aligned_pairs_beat_their_shuffled_baseline(similarity_run):
    result, client, _, _ = similarity_run
    cka = history(client, result.run_id, "lsim_cka")
    shuffled = history(client, result.run_id, "lsim_cka_shuffled")
    assert sorted(cka) == LAYERS and sorted(shuffled) == LAYERS
    assert all(abs(v) < 0.05 for v in shuffled.values())  # re-paired sentences: chance level
    assert all(cka[k] > shuffled[k] + 0.1 for k in LAYERS)  # a multilingual model aligns es and en
    proc, proc_shuffled = (history(client, result.run_id, k) for k in ("lsim_procrustes", "lsim_procrustes_shuffled"))
    assert all(0 < proc[k] < proc_shuffled[k] <= 2 for k in LAYERS)
    assert set(history(client, result.run_id, "lsim_n_pairs").values()) == {250.0}
    tags = client.get_run(result.run_id).data.tags
    assert tags["lsim_pair"] == "es-en" and "sts4a es-en" in tags["geomexp.subject"]


def test_two_models_on_matched_words(similarity_run):
    result, client, _, _ = similarity_run
    assert history(client, result.run_id, "msim_other_layer") == {0: 0.0, 6: 3.0, 12: 6.0}  # minilm has 6 layers
    cka = history(client, result.run_id, "msim_cka")
    shuffled = history(client, result.run_id, "msim_cka_shuffled")
    assert all(cka[k] > 0.2 and abs(shuffled[k]) < 0.05 for k in LAYERS)
    assert history(client, result.run_id, "msim_cka_last")[12] == pytest.approx(cka[12])  # last vs last
    best = history(client, result.run_id, "msim_cka_best")
    assert all(best[k] >= cka[k] - 1e-12 for k in LAYERS)
    assert all(0 < v < 2 for v in history(client, result.run_id, "msim_procrustes").values())
    share = history(client, result.run_id, "msim_exact_share")[0]
    assert 0.3 < share < 1  # WordPiece and SentencePiece cut some words alike, not all (punctuation)
    assert history(client, result.run_id, "msim_n_words")[0] > 100
    files = all_artifacts(client, result.run_id)
    assert "tables/model_similarity/layer_12/model_similarity.json" in files
    assert "figures/by_layer/model_similarity.png" in files and "figures/by_layer/language_similarity.png" in files


def test_report_has_both_tables(similarity_run):
    result, _, uri, tmp = similarity_run
    report = make_report(uri, experiment="sim", out_dir=tmp / "report", log=False, formats="png")
    lsim = report.tables["language_similarity"]
    assert "sts4a es-en" in lsim.columns
    detail = report.tables["language_similarity_detail"]
    assert {"CKA between languages", "CKA, shuffled pairs"} <= set(detail.columns)
    msim = report.tables["model_similarity"]
    assert {"CKA with other model (same depth)", "matched words"} <= set(msim.columns)
    assert msim.iloc[0]["CKA with other model (same depth)"] == pytest.approx(
        result.metrics[("msim_cka", 12)], abs=1e-3
    )
