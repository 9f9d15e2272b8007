"""Talking to the Hugging Face hub (or the Hub-compatible server named by ``HF_ENDPOINT``): bounded waits,
one probe before any retrying client, one line for each way it can fail.

- ``bound_hub_timeouts()``: every request of huggingface_hub's shared HTTP client (which transformers
  uses) gets a connect timeout of ``HF_HUB_ETAG_TIMEOUT`` seconds and a read timeout of
  ``HF_HUB_DOWNLOAD_TIMEOUT`` seconds (both huggingface_hub's own settings, default 10 s). Its default
  client has none: a hub that accepts connections and never answers hung a run forever.
- ``probe_hub(hf_id, revision)``: ONE request (the repository's info at ``revision``) with that timeout
  and no retries: ``"answers"`` (any HTTP answer, 404 and 401 included: the real call then reports
  it), ``"offline"`` (``HF_HUB_OFFLINE``), ``"down"`` (no connection) or ``"stalled"`` (connected, no
  answer in time). The hub client's retries (5, with back-off) only start on a hub that answered.
- ``hub_error(...)``: one line with the fix for a misspelt id, a missing revision, a gated or private
  repository, a server that is not a hub, anything else (its message on one line).
"""

from __future__ import annotations

import functools
import os
import urllib.error
import urllib.parse
import urllib.request

from geomexp.encoders.base import OFFLINE_MODELS
from geomexp.errors import ModelUnavailableError, exception_chain


def hub_timeouts() -> tuple[float, float]:
    """(connect, read) timeouts in seconds: ``HF_HUB_ETAG_TIMEOUT`` and ``HF_HUB_DOWNLOAD_TIMEOUT``."""
    from huggingface_hub import constants

    return float(constants.HF_HUB_ETAG_TIMEOUT), float(constants.HF_HUB_DOWNLOAD_TIMEOUT)


@functools.cache
def bound_hub_timeouts() -> None:
    """Give huggingface_hub's shared client a connect and a read timeout (``hub_timeouts``); once per process."""
    import httpx2
    from huggingface_hub import set_client_factory
    from huggingface_hub.utils._http import default_client_factory

    connect, read = hub_timeouts()

    def bounded():
        client = default_client_factory()
        client.timeout = httpx2.Timeout(read, connect=connect)
        return client

    set_client_factory(bounded)


def hub_endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "0").lower() in ("1", "true", "yes", "on")


#: probes that found no answer, by (endpoint, repo type, id, revision): a process asks a dead or stalled hub once
_UNANSWERED: dict[tuple[str, str, str, str], str] = {}


def probe_hub(hf_id: str, revision: str, *, repo_type: str = "model") -> str:
    """``"answers"``, ``"offline"``, ``"down"`` or ``"stalled"``: one GET of ``hf_id``'s info at ``revision``
    (the token, if any, sent as huggingface_hub would), bounded by ``hub_timeouts``, never retried; a hub
    that did not answer is not asked again by this process. ``repo_type``: ``model`` or ``dataset``."""
    if _offline():
        return "offline"
    key = (hub_endpoint(), repo_type, hf_id, revision)
    if key not in _UNANSWERED:
        state = _probe_once(hf_id, revision, repo_type)
        if state == "answers":
            return state
        _UNANSWERED[key] = state
    return _UNANSWERED[key]


def _probe_once(hf_id: str, revision: str, repo_type: str = "model") -> str:
    from huggingface_hub.utils import build_hf_headers

    connect, read = hub_timeouts()
    quoted = urllib.parse.quote(revision, safe="")
    url = f"{hub_endpoint().rstrip('/')}/api/{repo_type}s/{hf_id}/revision/{quoted}"
    request = urllib.request.Request(url, headers=build_hf_headers())
    try:
        with urllib.request.urlopen(request, timeout=max(connect, read)):
            return "answers"
    except urllib.error.HTTPError:
        return "answers"  # 401, 404, 500...: the hub client's own call reports it, in one line (hub_error)
    except TimeoutError:
        return "stalled"
    except urllib.error.URLError as err:
        return "stalled" if isinstance(err.reason, TimeoutError) else "down"
    except OSError:
        return "down"


def unreachable_reason(state: str) -> str:
    """Why the hub cannot be used, for a ``probe_hub`` state other than ``answers`` (offline, down, stalled)."""
    connect, read = hub_timeouts()
    return {
        "offline": "HF_HUB_OFFLINE is set",
        "down": f"the hub ({hub_endpoint()}) cannot be reached",
        "stalled": (
            f"the hub ({hub_endpoint()}) accepted the connection but did not answer within {max(connect, read):g} s "
            "(HF_HUB_ETAG_TIMEOUT / HF_HUB_DOWNLOAD_TIMEOUT set the wait)"
        ),
    }[state]


def unreachable_message(name: str, hf_id: str, state: str, *, cached: bool = False) -> str:
    """One line for a hub in ``state`` (``probe_hub``) when ``hf_id`` is needed and not (all) in the local cache."""
    why = unreachable_reason(state)
    have = "is only partly in the local Hugging Face cache" if cached else "is not in the local Hugging Face cache"
    return (
        f"model {name!r} ({hf_id}) {have} and {why}. Use an offline model "
        f"(model={' or model='.join(OFFLINE_MODELS)}), or point model.path= at a local folder holding the model "
        "(config.json, weights, tokenizer)."
    )


def hub_cause(err: BaseException) -> BaseException | None:
    """The hub client's own error behind ``err``, None if there is none (transformers re-raises it as an
    OSError with a message of its own, e.g. "does not appear to have a file named pytorch_model.bin" for a
    download cut mid-file)."""
    from huggingface_hub.errors import HfHubHTTPError
    from huggingface_hub.utils import httpx

    return next((e for e in exception_chain(err) if isinstance(e, (HfHubHTTPError, httpx.HTTPError))), None)


def hub_errors() -> tuple[type[BaseException], ...]:
    """What the hub client raises for a failed request or download (HTTP status, network, resolution)."""
    from huggingface_hub.errors import HfHubHTTPError, RevisionResolutionError
    from huggingface_hub.utils import httpx

    return (OSError, HfHubHTTPError, RevisionResolutionError, httpx.HTTPError)


def is_http_answer(err: BaseException) -> bool:
    """Whether ``err`` is the hub's HTTP answer (an error status), not a failed connection or transfer."""
    from huggingface_hub.errors import HfHubHTTPError

    return isinstance(err, HfHubHTTPError) and getattr(err, "response", None) is not None


def one_line(err: BaseException) -> str:
    """``err``'s message on one line (the hub client's messages run over several)."""
    return " ".join(str(err).split())


def hub_error(name: str, hf_id: str, revision: str, err: Exception) -> ModelUnavailableError:
    """One clear line for a hub error: a misspelt id, a missing revision, a gated or private repository,
    a server that is not a Hugging Face hub, anything else (its message on one line)."""
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError

    where = hub_endpoint()
    err = hub_cause(err) or err
    if isinstance(err, GatedRepoError):
        return ModelUnavailableError(
            f"model {name!r}: {hf_id!r} is a gated repository on {where}: accept its conditions on its page "
            f"({where.rstrip('/')}/{hf_id}), then log in (`hf auth login`) or set HF_TOKEN"
        )
    response = getattr(err, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(err, RepositoryNotFoundError):
        if status == 401:  # the hub answers 401 for a private repository (and a missing one) without a token
            return ModelUnavailableError(
                f"model {name!r}: {where} refused {hf_id!r} without a token (HTTP 401): a private repository "
                "needs one (`hf auth login` or HF_TOKEN); otherwise check the spelling of model.hf_id"
            )
        return ModelUnavailableError(
            f"model {name!r}: model.hf_id={hf_id!r} was not found on the hub ({where}); check its "
            f"spelling (a private or gated repository also needs a token: `hf auth login` or HF_TOKEN)"
        )
    if isinstance(err, RevisionNotFoundError):
        return ModelUnavailableError(
            f"model {name!r}: model.revision={revision!r} does not exist in {hf_id!r} ({where}); "
            f"use a branch, tag or commit id of that repository"
        )
    if isinstance(err, HfHubHTTPError) and status == 404 and type(err) is HfHubHTTPError:
        return ModelUnavailableError(
            f"model {name!r}: the server at {where} answered HTTP 404 for {hf_id!r} without the hub's error "
            "code: is HF_ENDPOINT a Hugging Face hub (or a mirror of one)?"
        )
    if isinstance(err, HfHubHTTPError) and status in (401, 403):
        return ModelUnavailableError(
            f"model {name!r}: {where} refused access to {hf_id!r} (HTTP {response.status_code}); "
            "log in (`hf auth login`) or set HF_TOKEN with a token that may read it"
        )
    detail = one_line(err)
    return ModelUnavailableError(
        f"could not load model {hf_id!r} (revision {revision}) from {where}: {type(err).__name__}: {detail}"
    )


def resolve_commit(hf_id: str, revision: str, *, local_files_only: bool) -> str:
    """The commit ``revision`` (branch, tag or commit) of ``hf_id`` points to: on the hub, or as last
    fetched into the local cache (``local_files_only``)."""
    from huggingface_hub import HfApi

    return HfApi().resolve_revision(hf_id, revision=revision, local_files_only=local_files_only).resolved
