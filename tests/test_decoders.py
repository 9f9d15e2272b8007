"""Decoder-only models (GPT-2, Llama, Qwen2) through AutoModel: tiny random ones saved with save_pretrained.

Their tokenizers are byte-level BPEs trained in the fixture with the ``tokenizers`` library
(``conftest.save_tiny_decoder``): no download, and each adds (or not) a BOS and has (or not) a pad
token as the real family does.
"""

import numpy as np
import pytest
import torch

from geomexp.encoders import EncoderSpec, describe_encoder
from geomexp.representations.extraction import extract_tokens

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
    from types import SimpleNamespace

    from geomexp.encoders.base import architecture_of

    for kind, archs in [("mistral", []), ("gpt_neox", []), ("newlm", ["NewLMForCausalLM"])]:
        assert architecture_of(SimpleNamespace(model_type=kind, architectures=archs)) == "decoder"
    for kind, archs in [("xlm-roberta", ["XLMRobertaModel"]), ("bert", ["BertLMHeadModel"]), ("electra", [])]:
        assert architecture_of(SimpleNamespace(model_type=kind, architectures=archs)) == "encoder"


def test_tiny_gpt2_through_the_pipeline_records_causal_attention(make_cfg, store_uri, tiny_decoder_dirs, tmp_path):
    from mlflow.tracking import MlflowClient

    from geomexp.experiment import run

    gpt2 = tiny_decoder_dirs["gpt2"]
    result = run(
        make_cfg(
            "model=gpt2",
            f"model.path={gpt2}",
            "lang=en",
            "data.n_tokens=100",
            "layer.index=[0,2]",
            "layer.extract=selected",  # only hidden states 0 and 2 are kept and cached
            "analysis=[isotropy,massive,sts]",
            "analysis.isotropy.plot=false",
            "analysis.sts.pooling=last",
            "analysis.sts.n_bootstrap=0",
            "tracking.log_figures=false",
        )
    )
    assert result.layers == [0, 2] and not result.cache_hit
    assert all(np.isfinite(v) for v in result.metrics.values())
    assert ("i_cos", 2) in result.metrics and ("sts_spearman", 2) in result.metrics
    assert result.metrics[("massive_ratio", 0)] > 1 and ("massive_top_first_share", 2) in result.metrics
    r = MlflowClient(store_uri).get_run(result.run_id)
    assert r.data.tags["model.architecture"] == "decoder" and r.data.tags["num_layers"] == "2"
    assert r.data.tags["sts_pooling"] == "last" and "pooling=last" in r.data.params["analysis.sts"]
    assert r.data.tags["geomexp.layer"] == "0,2" and r.data.params["layer"] == "0,2"
    from geomexp.representations.cache import load_sample

    assert load_sample(tmp_path / "cache", result.cache_key).layers == (0, 2)


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


def test_only_the_asked_layers_are_kept_and_they_equal_the_full_extraction(tiny_decoders):
    model, tok = tiny_decoders["llama"]
    full = whole(model, tok)
    some = whole(model, tok, layers=[0, 2])
    assert some.hidden.shape == (2, full.n_tokens, 32) and some.layers == (0, 2)
    np.testing.assert_array_equal(some.layer(2), full.layer(2))
    np.testing.assert_array_equal(some.layer(0), full.layer(0))
    with pytest.raises(KeyError, match="only layers"):
        some.layer(1)
    np.testing.assert_array_equal(full.select([2]).layer(2), full.layer(2))


def test_layer_aware_cache_keys_and_an_all_layers_entry_serves_a_subset(tiny_decoder_dirs, tmp_path):
    from geomexp.config.spec import DataSpec, SampleSpec
    from geomexp.experiment.representations import Representations
    from geomexp.experiment.sources import DataSources

    spec = EncoderSpec(name="gpt2", path=str(tiny_decoder_dirs["gpt2"]), device="cpu")
    info = describe_encoder(spec)

    def reps(layers, cache="cache"):
        kw = {"cache_dir": str(tmp_path / cache), "progress": False, "layers": layers}
        return Representations(spec, info, SampleSpec(), DataSources(DataSpec()), **kw)

    sub = reps([2])
    s = sub.encode(SENTENCES)
    ((_, sub_key, hit),) = sub.fetched
    assert not hit and s.layers == (2,) and s.hidden.shape[0] == 1
    again = reps([2])
    assert again.encode(SENTENCES).layers == (2,) and again.fetched[0][1:] == (sub_key, True)
    full = reps(None)  # every layer: a key of its own (no "layers" in it), not served by the subset entry
    f = full.encode(SENTENCES)
    ((_, full_key, hit),) = full.fetched
    assert not hit and full_key != sub_key and f.layers is None and f.hidden.shape[0] == 3
    assert reps([0, 1, 2]).layers is None  # asking for every layer is the all-layers entry
    other = reps([0, 1])  # not cached as such: read from the all-layers entry
    o = other.encode(SENTENCES)
    assert other.fetched[0][1:] == (full_key, True) and o.layers == (0, 1)
    np.testing.assert_array_equal(o.layer(1), f.layer(1))
    np.testing.assert_array_equal(s.layer(2), f.layer(2))


def test_bfloat16_on_cpu_runs_close_to_float32(tiny_decoder_dirs):
    """bfloat16 weights and activations on the CPU; its deviation from float32 is measured and bounded."""
    from geomexp.encoders import load_encoder

    out = {}
    for dtype in ("float32", "bfloat16"):
        spec = EncoderSpec(name="gpt2", path=str(tiny_decoder_dirs["gpt2"]), device="cpu", dtype=dtype)
        enc = load_encoder(spec)
        assert next(enc.model.parameters()).dtype == getattr(torch, dtype)
        out[dtype] = whole(enc.model, enc.tokenizer)
        assert describe_encoder(spec).identity["dtype"] == dtype  # in the cache key
    a, b = out["float32"], out["bfloat16"]
    assert b.hidden.dtype == np.float32 and np.isfinite(b.hidden).all()
    rel = np.linalg.norm(b.hidden - a.hidden, axis=-1) / np.linalg.norm(a.hidden, axis=-1)
    # bfloat16 keeps 8 bits of mantissa (relative step 2^-8 = 0.4 %); measured on the tiny GPT-2:
    # median 0.35 %, max 0.7 % of a row's norm (float16: 0.04 % and 0.09 %; Llama and Qwen2 alike)
    assert 0 < np.median(rel) < 0.01 and rel.max() < 0.05, (np.median(rel), rel.max())
