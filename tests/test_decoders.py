"""Decoder-only models (GPT-2, Llama, Qwen2) through AutoModel: tiny random ones saved with save_pretrained.

Their tokenizers are byte-level BPEs trained in the fixture with the ``tokenizers`` library
(``conftest.save_tiny_decoder``): no download, and each adds (or not) a BOS and has (or not) a pad
token as the real family does.
"""

import numpy as np
import pytest
import torch

from geomexp.encoders import EncoderSpec, describe_encoder
from geomexp.extraction import extract_tokens

KINDS = ("gpt2", "llama", "qwen2")
SENTENCES = [
    "The Moon is Earth's only natural satellite.",
    "La Luna es el único satélite natural de la Tierra.",
    "Apollo 11 landed in 1969.",
    "Mwezi ni satelaiti pekee ya asili ya Dunia, at an average distance of 384,400 km from us.",
    "Short one.",
]


def whole(model, tok, **kw):
    """Every content token of every sentence (sentence-first sampling of all sentences)."""
    return extract_tokens(model, tok, SENTENCES, n_sentences=len(SENTENCES), progress=False, **kw)


@pytest.mark.parametrize("kind", KINDS)
def test_special_rows_are_dropped_and_rows_equal_one_sentence_at_a_time(tiny_decoders, kind):
    model, tok = tiny_decoders[kind]
    sample = whole(model, tok, batch_size=8)  # one padded batch of 5 sentences of different lengths
    specials = set(tok.all_special_ids)
    assert not specials & set(sample.token_ids.tolist())
    n_content = sum(len(tok(s, add_special_tokens=False)["input_ids"]) for s in SENTENCES)
    assert sample.n_tokens == n_content
    first = tok(SENTENCES[0])["input_ids"]
    if kind == "llama":  # the BOS is fed (position 0) and its row dropped
        assert first[0] == tok.bos_token_id and sample.positions.min() == 1
    else:  # GPT-2 and Qwen2 add nothing: the first content token is at position 0 and kept
        assert tok.bos_token_id not in first and sample.positions.min() == 0
    for s, sentence in enumerate(SENTENCES):
        enc = tok(sentence, return_tensors="pt")  # no padding at all
        with torch.no_grad():
            states = model(**enc, output_hidden_states=True).hidden_states
        rows = np.flatnonzero(sample.sentence_ids == s)
        for layer in range(3):
            np.testing.assert_allclose(
                sample.hidden[layer, rows], states[layer][0, sample.positions[rows]].numpy(), atol=1e-5
            )


@pytest.mark.parametrize("kind", KINDS)
def test_left_and_right_padding_give_the_same_rows(tiny_decoders, kind):
    model, tok = tiny_decoders[kind]
    right = whole(model, tok, batch_size=8, padding_side="right")
    left = whole(model, tok, batch_size=8, padding_side="left")
    assert (right.positions == left.positions).all() and (right.token_ids == left.token_ids).all()
    np.testing.assert_allclose(left.hidden, right.hidden, atol=1e-5)
    assert np.abs(right.hidden).max() > 0.1  # not trivially equal


def test_decoders_are_described_as_such(tiny_decoder_dirs, tiny_bert_dir):
    for kind, folder in tiny_decoder_dirs.items():
        info = describe_encoder(EncoderSpec(name=kind, path=str(folder)))
        assert info.architecture == "decoder" and info.num_layers == 2 and info.hidden_size == 32
    assert describe_encoder(EncoderSpec(name="tiny", path=str(tiny_bert_dir))).architecture == "encoder"


def test_tiny_gpt2_through_the_pipeline_records_causal_attention(make_cfg, store_uri, tiny_decoder_dirs):
    from mlflow.tracking import MlflowClient

    from geomexp.experiment import run

    gpt2 = tiny_decoder_dirs["gpt2"]
    result = run(
        make_cfg(
            "model=gpt2",
            f"model.path={gpt2}",
            "lang=en",
            "data.n_tokens=100",
            "layer=all",
            "analysis=[isotropy,sts]",
            "analysis.isotropy.plot=false",
            "analysis.sts.pooling=last",
            "analysis.sts.n_bootstrap=0",
            "tracking.log_figures=false",
        )
    )
    assert result.layers == [0, 1, 2] and not result.cache_hit
    assert all(np.isfinite(v) for v in result.metrics.values())
    assert ("i_cos", 2) in result.metrics and ("sts_spearman", 2) in result.metrics
    r = MlflowClient(store_uri).get_run(result.run_id)
    assert r.data.tags["model.architecture"] == "decoder" and r.data.tags["num_layers"] == "2"
    assert r.data.tags["sts_pooling"] == "last" and "pooling=last" in r.data.params["analysis.sts"]


@pytest.mark.parametrize("name", ["gpt2", "qwen2_0_5b"])
def test_hub_decoders_without_network_fail_fast(monkeypatch, tmp_path, name):
    import yaml
    from conftest import CONF

    from geomexp.errors import ModelUnavailableError

    cfg = yaml.safe_load((CONF / "model" / f"{name}.yaml").read_text())
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError, match="model.path="):
        describe_encoder(EncoderSpec(name=name, hf_id=cfg["hf_id"], revision=cfg["revision"]))
