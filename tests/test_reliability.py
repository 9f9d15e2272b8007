"""Reliability: determinism, tracking-store failures, a fresh SQLite store under parallel workers."""

import subprocess
import sys

import pytest
from conftest import ROOT

from geomexp.errors import ConfigError
from geomexp.experiment import run
from geomexp.representations.cache import load_sample

SMALL = [
    "model=minilm",
    "lang=sw",
    "data.n_tokens=300",
    "analysis.isotropy.n_pairs=200",
    "analysis.isotropy.plot=false",
    "layer=all",
]


@pytest.mark.slow  # 5 s: the fast suite stays under 5 minutes; the golden cases compare runs bit for bit too
def test_same_config_and_seed_give_identical_metrics_across_fresh_caches(make_cfg, tmp_path):
    a = run(make_cfg(*SMALL, f"paths.cache_dir={tmp_path / 'cache_a'}"))
    b = run(make_cfg(*SMALL, f"paths.cache_dir={tmp_path / 'cache_b'}"))
    assert not a.cache_hit and not b.cache_hit
    assert a.metrics == b.metrics  # bit-identical on CPU
    hit = run(make_cfg(*SMALL, f"paths.cache_dir={tmp_path / 'cache_a'}"))
    assert hit.cache_hit and hit.metrics == a.metrics


def test_different_seeds_sample_different_tokens(make_cfg, tmp_path):
    cfgs = [make_cfg(*SMALL, f"seed={s}") for s in (0, 1)]
    results = [run(c) for c in cfgs]
    samples = [load_sample(c.paths.cache_dir, r.cache_key) for c, r in zip(cfgs, results)]
    assert set(samples[0].sentence_ids.tolist()) != set(samples[1].sentence_ids.tolist())
    assert results[0].metrics[("i_cos", 6)] != results[1].metrics[("i_cos", 6)]


def test_unanswering_http_tracking_server_fails_before_any_model_load(make_cfg, monkeypatch):
    import geomexp.experiment.runner as runner

    def no_model(*a, **k):
        raise AssertionError("the model must not be touched")

    monkeypatch.setattr(runner, "describe_encoder", no_model)
    with pytest.raises(ConfigError, match=r"tracking.uri=http://127.0.0.1:9 does not answer"):
        run(make_cfg(*SMALL, "tracking.uri=http://127.0.0.1:9"))


def test_relative_sqlite_path_is_refused_and_creates_nothing(make_cfg, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="absolute SQLite path"):
        run(make_cfg(*SMALL, "tracking.uri=sqlite:///relative.db"))
    assert not (tmp_path / "relative.db").exists()


TRACKED = r"""
import sys, time
sys.path.insert(0, {root!r})
from geomexp.tracking import tracked_run
import mlflow.store.tracking.sqlalchemy_store  # imported before the start line, so all start together
start = float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
with tracked_run(sys.argv[1], "race", "r") as logger:
    logger.log_metrics({{"m": 1.0}}, step=0)
print(logger.run_id)
"""


@pytest.mark.slow
def test_whole_runs_started_at_once_on_a_fresh_sqlite_store_all_succeed(tmp_path):
    """Issue 16 item 5: the client itself (not only the experiment) is created under the store's lock."""
    import time

    script = tmp_path / "tracked.py"
    script.write_text(TRACKED.format(root=str(ROOT)))
    for trial in range(2):
        uri = f"sqlite:///{tmp_path / f'fresh{trial}' / 'mlflow.db'}"
        start = time.time() + 5  # after every interpreter has imported mlflow (~2 s)
        procs = [
            subprocess.Popen(
                [sys.executable, str(script), uri, str(start)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        outs = [p.communicate(timeout=120) for p in procs]
        assert all(p.returncode == 0 for p in procs), [o[1][-800:] for o in outs]


def test_running_runs_whose_process_is_gone_are_marked_abandoned_by_the_next_run(store_uri):
    """Issue 16 item 8: a run of this host whose pid is dead, or of another host RUNNING for longer than
    the bound, ends FAILED ("abandoned") when the next run of the experiment starts; live ones stay."""
    import os
    import socket
    import time

    from mlflow.tracking import MlflowClient

    from geomexp.tracking import ensure_experiment, tracked_run

    dead = subprocess.Popen(["true"])
    dead.wait()
    client = MlflowClient(store_uri)
    exp = ensure_experiment(store_uri, "abandon")
    host = socket.gethostname()
    hours_ago = int((time.time() - 100 * 3600) * 1000)

    def running(tags, start_time=None):
        return client.create_run(exp, tags=tags, start_time=start_time).info.run_id

    killed_here = running({"geomexp.host": host, "geomexp.pid": str(dead.pid)})
    alive_here = running({"geomexp.host": host, "geomexp.pid": str(os.getpid())}, hours_ago)
    old_elsewhere = running({"geomexp.host": "node-17", "geomexp.pid": "4242"}, hours_ago)
    recent_elsewhere = running({"geomexp.host": "node-17", "geomexp.pid": "4243"})
    with tracked_run(store_uri, "abandon", "next") as logger:
        tags = client.get_run(logger.run_id).data.tags
        assert tags["geomexp.host"] == host and tags["geomexp.pid"] == str(os.getpid())
    status = {r: client.get_run(r).info.status for r in (killed_here, alive_here, old_elsewhere, recent_elsewhere)}
    assert status == {
        killed_here: "FAILED",
        alive_here: "RUNNING",
        old_elsewhere: "FAILED",
        recent_elsewhere: "RUNNING",
    }
    assert client.get_run(killed_here).data.tags["error"] == f"abandoned: its process {dead.pid} on {host} is gone"
    assert "RUNNING for 100 h on node-17" in client.get_run(old_elsewhere).data.tags["error"]


def no_model(monkeypatch):
    import geomexp.experiment.runner as runner

    def fail(*a, **k):
        raise AssertionError("the model must not be touched")

    monkeypatch.setattr(runner, "describe_encoder", fail)


def test_unwritable_cache_or_store_is_one_line_before_any_model_load(make_cfg, tmp_path, monkeypatch):
    """Issue 16 item 10 (as root, chmod cannot make a folder read-only: a file stands in the way)."""
    from geomexp.errors import GeomexpError

    no_model(monkeypatch)
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(GeomexpError, match=r"cannot write the cache folder .*a-file/cache/reps .*paths.cache_dir="):
        run(make_cfg(*SMALL, f"paths.cache_dir={blocker / 'cache'}"))
    with pytest.raises(ConfigError, match=r"cannot create the store .*a-file/mlflow.db .*tracking.uri="):
        run(make_cfg(*SMALL, f"tracking.uri=sqlite:///{blocker / 'mlflow.db'}"))
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(ConfigError, match=r"dir.db is not a database file"):
        run(make_cfg(*SMALL, f"tracking.uri=sqlite:///{tmp_path / 'dir.db'}"))


@pytest.mark.skipif(
    not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0, reason="root writes anyway"
)
def test_read_only_store_and_cache_folders_are_one_line(make_cfg, tmp_path, monkeypatch):
    no_model(monkeypatch)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    with pytest.raises(ConfigError, match="cannot create the store"):
        run(make_cfg(*SMALL, f"tracking.uri=sqlite:///{ro / 'mlflow.db'}"))
    with pytest.raises(Exception, match="cannot write the cache folder"):
        run(make_cfg(*SMALL, f"paths.cache_dir={ro / 'cache'}"))


def test_a_plain_http_server_answering_404_is_one_line(make_cfg, tmp_path, monkeypatch):
    import functools
    import http.server
    import threading

    no_model(monkeypatch)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        uri = f"http://127.0.0.1:{server.server_port}"
        with pytest.raises(ConfigError) as err:
            run(make_cfg(*SMALL, f"tracking.uri={uri}"))
    finally:
        server.shutdown()
    message = str(err.value)
    assert f"tracking.uri={uri} is not an MLflow tracking server" in message and "HTTP 404" in message
    assert "\n" not in message


def test_a_full_disk_while_publishing_leaves_no_half_logged_run(make_cfg, store_uri, monkeypatch):
    """Issue 16 item 10: artifacts are written first, then all metrics in one batch; an artifact that
    cannot be written (ENOSPC) deletes those written before it, and no metric is logged."""
    from conftest import all_artifacts
    from mlflow.store.artifact.local_artifact_repo import LocalArtifactRepository
    from mlflow.tracking import MlflowClient

    real, calls = LocalArtifactRepository.log_artifact, []

    def filling_disk(self, local_file, artifact_path=None):
        calls.append(artifact_path)
        if (artifact_path or "").startswith("figures"):  # after the table of every layer's metrics
            raise OSError(28, "No space left on device")
        return real(self, local_file, artifact_path)

    monkeypatch.setattr(LocalArtifactRepository, "log_artifact", filling_disk)
    with pytest.raises(OSError, match="No space left"):
        run(make_cfg(*SMALL))
    client = MlflowClient(store_uri)
    (failed,) = client.search_runs([client.get_experiment_by_name("geomexp").experiment_id])
    assert failed.info.status == "FAILED" and "No space left on device" in failed.data.tags["error"]
    assert failed.data.metrics == {}
    left = all_artifacts(client, failed.info.run_id)
    assert "tables" in calls and not [a for a in left if a.startswith(("tables", "figures"))], left
