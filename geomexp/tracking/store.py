"""The MLflow store: client, experiment creation under a lock, reachability, git state.

Only ``geomexp.tracking`` imports MLflow (a test checks it).
"""

from __future__ import annotations

import re
import subprocess
from contextlib import nullcontext
from pathlib import Path

from filelock import FileLock

from geomexp.errors import ConfigError

MAX_PARAM_CHARS = 6000


def client(uri: str):
    """An ``MlflowClient`` for ``uri``."""
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, or None for other stores."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri[len("sqlite:///") :])


#: the experiment/run tag the MLflow UI shows as its description
DESCRIPTION_TAG = "mlflow.note.content"


def ensure_experiment(uri: str, name: str, description: str | None = None) -> str:
    """Create the store and the experiment ``name`` if needed (once, under a file lock); return its id.

    For SQLite stores the artifacts go to ``mlartifacts/<name>`` beside the database. ``description``
    becomes the experiment's description in the MLflow UI (tag ``mlflow.note.content``) where it has none.
    """
    db = sqlite_path(uri)
    if db is not None:
        if not db.is_absolute():
            raise ConfigError(f"tracking.uri={uri!r}: use an absolute SQLite path (sqlite:////abs/path/mlflow.db)")
        db.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(db) + ".lock", timeout=120)
    else:
        lock = None
    with lock if lock is not None else nullcontext():
        mlflow_client = client(uri)
        exp = mlflow_client.get_experiment_by_name(name)
        if exp is not None:
            if description and not exp.tags.get(DESCRIPTION_TAG):
                mlflow_client.set_experiment_tag(exp.experiment_id, DESCRIPTION_TAG, description)
            return exp.experiment_id
        artifacts = None
        if db is not None:
            artifacts = (db.parent / "mlartifacts" / re.sub(r"[^\w.-]+", "_", name)).as_uri()
        tags = {DESCRIPTION_TAG: description} if description else None
        return mlflow_client.create_experiment(name, artifact_location=artifacts, tags=tags)


def check_store_reachable(uri: str, timeout: float = 5.0) -> None:
    """Fail fast (``ConfigError``) on a relative SQLite path or an http(s) server that does not answer."""
    db = sqlite_path(uri)
    if db is not None and not db.is_absolute():
        raise ConfigError(f"tracking.uri={uri!r}: use an absolute SQLite path (sqlite:////abs/path/mlflow.db)")
    if not uri.startswith(("http://", "https://")):
        return
    import base64
    import urllib.error
    import urllib.request
    from urllib.parse import unquote, urlsplit, urlunsplit

    parts = urlsplit(uri)
    headers = {}
    if parts.username is not None:  # http://user:pass@host: send them as basic auth, as MLflow does
        token = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(token).decode()
        parts = parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else ""))
    url = urlunsplit(parts).rstrip("/") + "/health"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout):
            return
    except urllib.error.HTTPError:
        return  # it answered (some servers have no /health)
    except (urllib.error.URLError, OSError) as err:
        raise ConfigError(
            f"tracking.uri={redact_uri(uri)} does not answer ({err}); start the server or choose another tracking.uri"
        ) from err


_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^/@\s]+)@")


def redact_uri(text: str) -> str:
    """``text`` with the user and password of every URI in it replaced by ``***`` (http://***@host)."""
    return _USERINFO.sub(lambda m: f"{m['scheme']}***@", str(text))


def redact_config(node):
    """A copy of a plain config (dicts, lists, values) with ``redact_uri`` applied to every string."""
    if isinstance(node, dict):
        return {k: redact_config(v) for k, v in node.items()}
    if isinstance(node, list):
        return [redact_config(v) for v in node]
    return redact_uri(node) if isinstance(node, str) else node


def git_state(folder: str | Path) -> dict[str, str]:
    """``git_commit`` and ``git_dirty`` of the repository at ``folder`` ("unknown" outside git)."""

    def git(*args):
        return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True, timeout=10)

    try:
        head = git("rev-parse", "HEAD")
        status = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": "unknown", "git_dirty": "unknown"}
    if head.returncode != 0:
        return {"git_commit": "unknown", "git_dirty": "unknown"}
    return {"git_commit": head.stdout.strip(), "git_dirty": str(bool(status.stdout.strip())).lower()}
