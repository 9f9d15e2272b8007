"""STS17 from the Hugging Face hub (``analysis=sts17``, ``geomexp.tasks.sts.hub``), against the local
Hub-compatible server (``tests/hub_server.py``) serving a dataset repository under MTEB's name.

The served files are built here from the SemEval 2017 files geomexp already reads (track 5 = en-en, track 2 =
MTEB's en-ar, whose first side is English in both), so the pairs from the hub must equal the pairs from
the files, and the same model must score them the same. Layouts: ``main`` as MTEB's copy is read first
(``test/<subset>.jsonl.gz``), ``v2`` as parquet files in per-subset folders (found by listing) with a
swapped en-ar file (its sides must be refused, not silently used)."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT
from hub_server import FakeHub
from test_hub import run_py, runs_of

from geomexp.tasks.sts.data import load_sts_track
from geomexp.tasks.sts.hub import REPO

LOAD = """
import hashlib, json, sys
from geomexp.tasks.sts.hub import Sts17HubPairs
try:
    p = Sts17HubPairs(sys.argv[1], sys.argv[2]).load()
except Exception as err:
    print(f"{type(err).__name__}: {err}")
    raise SystemExit(3)
print(json.dumps({"a": p.sentences_a, "b": p.sentences_b, "gold": p.gold.tolist(), "pair": p.pair}))
"""


def jsonl_gz(track) -> bytes:
    lines = [
        json.dumps({"sentence1": a, "sentence2": b, "score": float(g)}, ensure_ascii=False)
        for a, b, g in zip(track.sentences_a, track.sentences_b, track.gold)
    ]
    return gzip.compress(("\n".join(lines) + "\n").encode())


def parquet(track, *, swap=False) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    a, b = (track.sentences_b, track.sentences_a) if swap else (track.sentences_a, track.sentences_b)
    table = pa.table({"sentence1": list(a), "sentence2": list(b), "score": [float(g) for g in track.gold]})
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


@pytest.fixture(scope="module")
def tracks(data_root):
    return {"en-en": load_sts_track("5", root=data_root), "en-ar": load_sts_track("2", root=data_root)}


@pytest.fixture(scope="module")
def sts17_hub(tmp_path_factory, tracks):
    hub = FakeHub(tmp_path_factory.mktemp("fake-hub"), []).start()
    commits = hub.add_dataset(
        REPO,
        {
            "main": {f"test/{s}.jsonl.gz": jsonl_gz(t) for s, t in tracks.items()} | {"README.md": b"# STS17\n"},
            "v2": {
                "en-en/test-00000-of-00001.parquet": parquet(tracks["en-en"]),
                "en-ar/test-00000-of-00001.parquet": parquet(tracks["en-ar"], swap=True),
            },
        },
    )
    yield hub, commits
    hub.stop()


def load(subset, commit, env):
    full = {**{k: v for k, v in os.environ.items() if not k.startswith("HF_")}, **env}
    proc = subprocess.run(
        [sys.executable, "-c", LOAD, subset, commit], cwd=ROOT, env=full, capture_output=True, text=True, timeout=120
    )
    return proc.returncode, (json.loads(proc.stdout) if proc.returncode == 0 else proc.stdout.strip())


@pytest.mark.slow  # subprocesses (huggingface_hub reads HF_ENDPOINT at import): the fast suite stays under 5 minutes
def test_a_subset_comes_from_the_hub_at_its_commit_then_from_the_cache_offline(sts17_hub, tracks, tmp_path):
    hub, commits = sts17_hub
    env = hub.env(tmp_path / "hf")
    for subset, track in tracks.items():
        rc, got = load(subset, commits["main"], env)
        assert rc == 0, got
        assert got["a"] == list(track.sentences_a) and got["b"] == list(track.sentences_b)
        assert got["gold"] == track.gold.tolist() and got["pair"] == subset
    asked = hub.paths_requested("GET")
    assert f"/api/datasets/{REPO}/revision/{commits['main']}" in asked  # the one bounded probe
    assert not any("/tree/" in p for p in asked), "the known layout needs no listing"

    hub.requests.clear()
    rc, got = load("en-en", commits["main"], env | {"HF_HUB_OFFLINE": "1"})
    assert rc == 0 and got["gold"] == tracks["en-en"].gold.tolist()
    assert hub.requests == [], "offline, the cached file is read without asking the hub"

    rc, message = load("en-de", commits["main"], env | {"HF_HUB_OFFLINE": "1"})
    assert rc == 3
    assert message.startswith("DataNotFoundError: STS17 subset en-de (mteb/sts17-crosslingual-sts@")
    assert "not in the local Hugging Face cache and HF_HUB_OFFLINE is set" in message


@pytest.mark.slow
def test_another_layout_is_found_by_listing_and_swapped_sides_are_refused(sts17_hub, tracks, tmp_path):
    hub, commits = sts17_hub
    env = hub.env(tmp_path / "hf")
    rc, got = load("en-en", commits["v2"], env)
    assert rc == 0, got
    assert got["a"] == list(tracks["en-en"].sentences_a) and got["gold"] == tracks["en-en"].gold.tolist()
    assert any("/tree/" in p for p in hub.paths_requested("GET"))

    rc, message = load("en-ar", commits["v2"], env)
    assert rc == 3
    assert "sentence2 should be ar (the subset's name), but only 0% of its sentences are in ar's script" in message


def test_a_subset_missing_at_the_commit_is_one_line(sts17_hub, tmp_path):
    hub, commits = sts17_hub
    rc, message = load("ko-ko", commits["main"], hub.env(tmp_path / "hf"))
    assert rc == 3
    assert message.startswith("DataNotFoundError: ")
    assert "0 test files for subset ko-ko" in message


@pytest.mark.slow
def test_a_run_scores_the_hub_subset_as_the_semeval_track_and_exports_mtebs_revision(
    sts17_hub, tmp_path, store_uri, data_root
):
    """The same pairs through ``analysis=sts17`` (hub) and ``analysis=sts`` (files) in one run: equal scores;
    the MTEB export then names the hub commit as the dataset revision of the STS17 entry."""
    hub, commits = sts17_hub
    args = [
        "model=minilm",
        "analysis=[sts,sts17]",
        "analysis.sts.track=5",
        "analysis.sts17.subset=en-en",
        f"analysis.sts17.revision={commits['main']}",
        "analysis.sts.n_bootstrap=0",
        "analysis.sts17.n_bootstrap=0",
        "analysis.sts.plot=false",
        "analysis.sts17.plot=false",
    ]
    proc = run_py(args, tmp_path, store_uri, data_root, hub.env(tmp_path / "hf"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run,) = runs_of(store_uri)
    m, tags = run.data.metrics, run.data.tags
    assert m["sts17_spearman"] == m["sts_spearman"] and m["sts17_pearson"] == m["sts_pearson"]
    assert m["sts17_n_pairs"] == 250
    assert tags["sts17_subset"] == "en-en"
    assert tags["data.checksum.sts17.en-en.hf_commit"] == f"{REPO}@{commits['main']}"

    from geomexp.export.__main__ import main as export_main

    out = tmp_path / "mteb"
    assert export_main(["mteb", "--experiment", "geomexp", "--tracking-uri", store_uri, "--out", str(out)]) == 0
    (doc,) = [json.loads(p.read_text()) for p in out.rglob("STS17.json")]
    (entry,) = doc["scores"]["test"]
    assert entry["hf_subset"] == "en-en" and entry["main_score"] == pytest.approx(m["sts17_spearman"] / 100)
    assert doc["dataset_revision"] == commits["main"]
    assert entry["geomexp"]["source"] == f"{REPO}@{commits['main']}"
