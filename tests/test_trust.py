"""A tracking store that others can write to must not run code here: reproduce imports only
``_target_``s of geomexp (or of modules the user trusts) and refuses interpolations in a stored config."""

from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml
from mlflow.tracking import MlflowClient

from geomexp.config.spec import UntrustedTargetError
from geomexp.errors import GeomexpError
from geomexp.experiment import run
from geomexp.reproduce import reproduce

SMALL = ["model=minilm", "lang=sw", "data.n_tokens=100", "analysis.isotropy.plot=false"]

EVIL = """
from pathlib import Path
Path({marker!r}).write_text("imported")  # what an attacker's module would do on import
def payload(X, **kw):
    raise AssertionError("never called")
"""


def stored_config(store_uri, run_id) -> Path:
    """The file of a run's ``config/config.yaml`` artifact (an attacker with write access edits it)."""
    root = urlparse(MlflowClient(store_uri).get_run(run_id).info.artifact_uri).path
    return Path(root) / "config" / "config.yaml"


@pytest.fixture
def tampered(make_cfg, store_uri, tmp_path, monkeypatch):
    result = run(make_cfg(*SMALL))
    marker = tmp_path / "imported.txt"
    (tmp_path / "evil_mod.py").write_text(EVIL.format(marker=str(marker)))
    monkeypatch.syspath_prepend(str(tmp_path))
    path = stored_config(store_uri, result.run_id)
    config = yaml.safe_load(path.read_text())
    return result.run_id, path, config, marker


def test_reproduce_refuses_a_target_outside_geomexp_before_importing_it(tampered, store_uri, tmp_path):
    run_id, path, config, marker = tampered
    config["analysis"]["evil"] = {"_target_": "evil_mod.payload"}
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(
        UntrustedTargetError, match=r"analysis.evil._target_='evil_mod.payload' is not imported.*--trust evil_mod"
    ):
        reproduce(run_id, store_uri, output_dir=str(tmp_path / "r1"))
    assert not marker.exists()
    config["analysis"].pop("evil")
    config["enhancement"] = {"name": "x", "params": {"_target_": "evil_mod.payload"}, "fit_lang": None, "save": False}
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(UntrustedTargetError, match=r"enhancement.params._target_='evil_mod.payload'"):
        reproduce(run_id, store_uri, output_dir=str(tmp_path / "r2"))
    assert not marker.exists()
    with pytest.raises(GeomexpError):  # trusted on purpose: imported (the gate is what stopped it above)
        reproduce(run_id, store_uri, output_dir=str(tmp_path / "r3"), trust=("evil_mod",))
    assert marker.read_text() == "imported"


def test_reproduce_refuses_interpolations_in_a_stored_config(tampered, store_uri, tmp_path):
    run_id, path, config, _ = tampered
    config["tags"] = {"leak": "${oc.env:HOME}"}
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(GeomexpError, match=r"holds interpolations \(at \['tags.leak'\]\)"):
        reproduce(run_id, store_uri, output_dir=str(tmp_path / "r"))


def test_data_file_names_and_language_codes_cannot_leave_their_folders(make_cfg):
    from geomexp.errors import ConfigError

    with pytest.raises(ConfigError, match=r"'Wikipedia/../../../../etc/passwd' resolves outside its data folder"):
        run(make_cfg(*SMALL, "lang.wikipedia_file=../../../../etc/passwd"))
    with pytest.raises(ConfigError, match=r"language code '../model/minilm' is not valid.*known languages: \['ar'"):
        run(make_cfg(*SMALL, "enhancement=center", "enhancement.fit_lang=../model/minilm"))


def test_credentials_in_uris_are_redacted_and_sent_as_basic_auth(make_cfg, store_uri, tmp_path):
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from geomexp.experiment import RunContext
    from geomexp.tracking import check_store_reachable, redact_uri

    assert (
        redact_uri("see http://alice:s3cret@host:5000/x and https://tok@h")
        == "see http://***@host:5000/x and https://***@h"
    )
    seen = []

    class Health(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.path, self.headers.get("Authorization")))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        check_store_reachable(f"http://alice:s3cret@127.0.0.1:{server.server_port}")  # was "does not answer"
    finally:
        server.shutdown()
    # the probe is a cheap MLflow REST call (a plain web server answering 404 is refused)
    assert seen == [("/api/2.0/mlflow/experiments/search?max_results=1", "Basic YWxpY2U6czNjcmV0")]  # alice:s3cret

    secret = "http://alice:s3cret@example.org/api"
    context = RunContext(overrides=(f"+tags.note={secret}",))
    result = run(make_cfg(*SMALL, f"+tags.note={secret}"), context)
    client = MlflowClient(store_uri)
    r = client.get_run(result.run_id)
    stored = stored_config(store_uri, result.run_id).read_text()
    assert "s3cret" not in stored and "http://***@example.org/api" in stored
    assert r.data.tags["note"] == "http://***@example.org/api" and "s3cret" not in r.data.tags["overrides"]
    assert not [v for v in (*r.data.tags.values(), *r.data.params.values()) if "s3cret" in v]
