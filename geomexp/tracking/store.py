"""The MLflow store: client, experiment creation under a lock, reachability, git state.

Only ``geomexp.tracking`` imports MLflow (a test checks it).
"""

from __future__ import annotations

import os
import re
import subprocess
from contextlib import nullcontext
from pathlib import Path

from filelock import FileLock

from geomexp import tag_names
from geomexp.errors import ConfigError

MAX_PARAM_CHARS = 6000


def client(uri: str):
    """An ``MlflowClient`` for ``uri``.

    Creating a client on a SQLite store creates the database and runs MLflow's schema
    migrations; two processes doing that at once on a fresh file crash (``duplicate column
    name``), so for SQLite it happens under the store's file lock (``<db>.lock``).
    """
    with store_lock(uri):
        return _new_client(uri)


def _new_client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def store_lock(uri: str):
    """The file lock serialising creation of a SQLite store (a no-op context for other stores)."""
    db = sqlite_path(uri)
    if db is None:
        return nullcontext()
    if not db.is_absolute():
        raise ConfigError(f"tracking.uri={uri!r}: use an absolute SQLite path (sqlite:////abs/path/mlflow.db)")
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"tracking.uri={uri}: cannot create the folder {db.parent} ({err.strerror})") from err
    return FileLock(str(db) + ".lock", timeout=120)


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, or None for other stores."""
    if not uri.startswith("sqlite:///"):
        return None
    return Path(uri[len("sqlite:///") :])


#: the experiment/run tag the MLflow UI shows as its description
DESCRIPTION_TAG = tag_names.DESCRIPTION


def ensure_experiment(uri: str, name: str, description: str | None = None) -> str:
    """Create the store and the experiment ``name`` if needed (once, under a file lock); return its id.

    For SQLite stores the artifacts go to ``mlartifacts/<name>`` beside the database. ``description``
    becomes the experiment's description in the MLflow UI (tag ``mlflow.note.content``) where it has none.
    A new experiment is recorded as model development (``tag_names.EXPERIMENT_KIND``), not GenAI; the kind
    of an existing one (perhaps chosen in the UI) is left alone.
    """
    from mlflow.exceptions import MlflowException

    db = sqlite_path(uri)
    with store_lock(uri):  # (not client(): a second lock on the same file would wait for this one)
        mlflow_client = _new_client(uri)
        exp = mlflow_client.get_experiment_by_name(name)
        if exp is None:
            artifacts = None
            if db is not None:
                artifacts = (db.parent / "mlartifacts" / re.sub(r"[^\w.-]+", "_", name)).as_uri()
            tags = {tag_names.EXPERIMENT_KIND: tag_names.CLASSIC_KIND}
            if description:
                tags[DESCRIPTION_TAG] = description
            try:
                return mlflow_client.create_experiment(name, artifact_location=artifacts, tags=tags)
            except MlflowException:  # a server's other client created it first (no file lock over http)
                exp = mlflow_client.get_experiment_by_name(name)
                if exp is None:
                    raise
        if description and not exp.tags.get(DESCRIPTION_TAG):
            try:
                mlflow_client.set_experiment_tag(exp.experiment_id, DESCRIPTION_TAG, description)
            except MlflowException:  # set by a parallel worker in between (a unique key on a server's store)
                if not mlflow_client.get_experiment(exp.experiment_id).tags.get(DESCRIPTION_TAG):
                    raise
        return exp.experiment_id


def check_store_reachable(uri: str, timeout: float = 5.0) -> None:
    """Fail fast, in one line (``ConfigError``), where MLflow would retry for minutes or print a traceback.

    SQLite: a relative path, or a database (or its folder) that cannot be written. http(s): a
    server that does not answer, that is not an MLflow tracking server (its REST API answers
    404), or that refuses the credentials.
    """
    db = sqlite_path(uri)
    if db is not None:
        check_sqlite_writable(uri, db)
        return
    if not uri.startswith(("http://", "https://")):
        return
    import json
    import urllib.error
    import urllib.request

    url, headers = _http_probe(uri)
    shown = redact_uri(uri)
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout) as answer:
            body = answer.read(65536)
    except urllib.error.HTTPError as err:
        if err.code in (401, 403):
            raise ConfigError(
                f"tracking.uri={shown} refused access (HTTP {err.code}): give credentials with "
                "MLFLOW_TRACKING_USERNAME/MLFLOW_TRACKING_PASSWORD or MLFLOW_TRACKING_TOKEN"
            ) from None
        raise ConfigError(
            f"tracking.uri={shown} is not an MLflow tracking server (GET {redact_uri(url)} answered HTTP {err.code}); "
            "check the scheme, host, port and path, or start one: mlflow server --backend-store-uri ..."
        ) from None
    except (urllib.error.URLError, OSError) as err:
        raise ConfigError(
            f"tracking.uri={shown} does not answer ({getattr(err, 'reason', err)}); "
            "start the server or choose another tracking.uri"
        ) from None
    try:
        json.loads(body or b"{}")
    except ValueError:
        raise ConfigError(
            f"tracking.uri={shown} is not an MLflow tracking server (GET {redact_uri(url)} did not answer JSON); "
            "check the scheme, host, port and path"
        ) from None


def _http_probe(uri: str) -> tuple[str, dict]:
    """The URL of a cheap MLflow REST call on ``uri``'s server and the headers MLflow would send.

    Credentials: user and password in the URI, else MLflow's own variables
    (``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD`` or ``MLFLOW_TRACKING_TOKEN``).
    """
    import base64
    import os
    from urllib.parse import unquote, urlsplit, urlunsplit

    parts = urlsplit(uri)
    headers = {}
    user, password = os.environ.get("MLFLOW_TRACKING_USERNAME"), os.environ.get("MLFLOW_TRACKING_PASSWORD")
    if parts.username is not None:  # http://user:pass@host: sent as basic auth, as MLflow does
        user, password = unquote(parts.username), unquote(parts.password or "")
        parts = parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else ""))
    if user is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password or ''}".encode()).decode()
    elif os.environ.get("MLFLOW_TRACKING_TOKEN"):
        headers["Authorization"] = "Bearer " + os.environ["MLFLOW_TRACKING_TOKEN"]
    base = urlunsplit(parts._replace(query="", fragment="")).rstrip("/")
    return base + "/api/2.0/mlflow/experiments/search?max_results=1", headers


def check_sqlite_writable(uri: str, db: Path) -> None:
    """One-line ``ConfigError`` if the SQLite store ``db`` cannot be created or written (read-only file or
    folder, a folder in its place), checked with a real write lock that is released at once."""
    import sqlite3

    if not db.is_absolute():
        raise ConfigError(f"tracking.uri={uri!r}: use an absolute SQLite path (sqlite:////abs/path/mlflow.db)")
    fix = "make it writable or choose another store: tracking.uri=sqlite:////abs/path/mlflow.db"
    if db.exists():
        if not db.is_file():
            raise ConfigError(f"tracking.uri={uri}: {db} is not a database file; {fix}")
        _check_folder_writable(uri, db.parent, fix)  # SQLite's journal and the store's lock file go there
        lock = Path(str(db) + ".lock")
        for path in (db, lock):
            if path.exists() and not os.access(path, os.W_OK):  # a read-only file, or file system (EROFS)
                raise ConfigError(f"tracking.uri={uri}: {path} is read-only; {fix}")
        try:
            conn = sqlite3.connect(db.as_uri() + "?mode=rw", uri=True, timeout=10)
            try:
                conn.execute("BEGIN IMMEDIATE")  # takes the write lock: fails on a read-only file or folder
                conn.rollback()
            finally:
                conn.close()
        except sqlite3.Error as err:
            if "locked" in str(err):
                return  # busy, not read-only: MLflow waits for it
            raise ConfigError(f"tracking.uri={uri}: cannot write the store {db} ({err}); {fix}") from None
        return
    folder = next((p for p in (db.parent, *db.parent.parents) if p.exists()), None)
    _check_folder_writable(uri, folder, fix, f"cannot create the store {db} in")


def _check_folder_writable(
    uri: str, folder: Path | None, fix: str, what: str = "cannot write in the store's folder"
) -> None:
    """One-line ``ConfigError`` unless a file can be created in ``folder`` (created and removed at once)."""
    import tempfile

    try:
        if folder is None or not folder.is_dir():
            raise NotADirectoryError(f"{folder} is not a folder")
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".geomexp-write-check-"):
            pass
    except OSError as err:
        raise ConfigError(f"tracking.uri={uri}: {what} {folder} ({err.strerror or err}); {fix}") from None


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
    """``git_commit`` and ``git_dirty`` of the repository at ``folder`` ("unknown" outside git).

    Callers pass the project's own folder, never one from a config. git runs with its file-system
    monitor switched off (``-c core.fsmonitor=``): a repository's ``core.fsmonitor`` is a command git
    would run (issue 26: a planted ``.git/config`` ran one).
    """

    def git(*args):
        return subprocess.run(
            ["git", "-c", "core.fsmonitor=", "-C", str(folder), *args], capture_output=True, text=True, timeout=10
        )

    try:
        head = git("rev-parse", "HEAD")
        status = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": "unknown", "git_dirty": "unknown"}
    if head.returncode != 0:
        return {"git_commit": "unknown", "git_dirty": "unknown"}
    return {"git_commit": head.stdout.strip(), "git_dirty": str(bool(status.stdout.strip())).lower()}
