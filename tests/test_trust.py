"""A tracking store that others can write to must not run code here: reproduce imports only
``_target_``s of geomexp (or of modules the user trusts) and refuses interpolations in a stored config."""

import json
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
        reproduce(run_id, store_uri, output_dir=str(tmp_path / "r1"), cache_dir=tmp_path / "cache")
    assert not marker.exists()
    config["analysis"].pop("evil")
    config["enhancement"] = {"name": "x", "params": {"_target_": "evil_mod.payload"}, "fit_lang": None, "save": False}
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(UntrustedTargetError, match=r"enhancement.params._target_='evil_mod.payload'"):
        reproduce(run_id, store_uri, output_dir=str(tmp_path / "r2"), cache_dir=tmp_path / "cache")
    assert not marker.exists()
    with pytest.raises(GeomexpError):  # trusted on purpose: imported (the gate is what stopped it above)
        reproduce(run_id, store_uri, output_dir=str(tmp_path / "r3"), trust=("evil_mod",), cache_dir=tmp_path / "cache")
    assert marker.read_text() == "imported"


def test_reproduce_refuses_interpolations_in_a_stored_config(tampered, store_uri, tmp_path):
    run_id, path, config, _ = tampered
    config["tags"] = {"leak": "${oc.env:HOME}"}
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(GeomexpError, match=r"holds interpolations \(at \['tags.leak'\]\)"):
        reproduce(run_id, store_uri, output_dir=str(tmp_path / "r"), cache_dir=tmp_path / "cache")


@pytest.mark.parametrize(
    ("where", "target"),
    [("enhancement", "geomexp.tracking.store.subprocess.run"), ("analysis", "geomexp.representations.cache.os.system")],
)
def test_reproduce_never_walks_attributes_to_a_function_geomexp_imported(tampered, store_uri, tmp_path, where, target):
    """Issue 26: a `geomexp.` prefix admitted geomexp.tracking.store.subprocess.run (hydra's get_object walks
    attributes): a stored config ran `sh -c ...` under reproduce. Only registered components resolve now."""
    run_id, path, config, _ = tampered
    marker = tmp_path / "ran.txt"
    node = {"_target_": target, "args": ["sh", "-c", f"touch {marker}"]}
    if where == "enhancement":
        config["enhancement"] = {"name": "evil", "params": node, "fit_lang": None, "save": False}
    else:
        config["analysis"]["evil"] = {"_target_": target, "command": f"touch {marker}"}
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(UntrustedTargetError, match=rf"_target_='{target}' is not a registered geomexp component"):
        reproduce(run_id, store_uri, output_dir=str(tmp_path / "r"), cache_dir=tmp_path / "cache")
    assert not marker.exists()


def test_a_trusted_module_resolves_only_what_it_defines(tampered, store_uri, tmp_path):
    run_id, path, config, marker = tampered
    (tmp_path / "evil_mod.py").write_text(EVIL.format(marker=str(marker)) + "import subprocess\n")
    config["analysis"]["evil"] = {"_target_": "evil_mod.subprocess.run"}
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(UntrustedTargetError, match=r"'evil_mod.subprocess.run' cannot be imported"):
        reproduce(run_id, store_uri, output_dir=str(tmp_path / "r"), trust=("evil_mod",), cache_dir=tmp_path / "c")


def test_reproduce_takes_no_machine_local_setting_from_the_store(make_cfg, store_uri, tmp_path, data_root, capsys):
    """Issue 26: reproduce kept a stored cache dir (wrote where the store said), ran git in a stored root
    (a planted core.fsmonitor ran), downloaded from a stored base_url without the md5, and read a stored
    text_file. Machine-local keys now come from this machine; a differing stored value is reported."""
    import subprocess

    from geomexp.reproduce import main

    result = run(make_cfg(*SMALL))
    path = stored_config(store_uri, result.run_id)
    config = yaml.safe_load(path.read_text())
    planted = tmp_path / "planted"
    (planted / ".git").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(planted)], check=True)
    fsmonitor_ran = tmp_path / "fsmonitor_ran"
    subprocess.run(["git", "-C", str(planted), "config", "core.fsmonitor", f"touch {fsmonitor_ran}; false"], check=True)
    config["paths"].update(root_dir=str(planted), cache_dir=str(planted / "cache"))
    config["data"].update(root=str(planted / "data"), download_dir=str(planted / "dl"), base_url="http://127.0.0.1:9")
    config["lang"]["wikipedia_md5"] = None
    path.write_text(yaml.safe_dump(config))
    here = tmp_path / "here-cache"
    rc = main([result.run_id, "--tracking-uri", store_uri, "--cache-dir", str(here), "--data-root", str(data_root)])
    out = capsys.readouterr()
    assert rc == 0, out.out[-2000:] + out.err[-2000:]
    assert "all metrics equal" in out.out
    assert f"stored paths.cache_dir={str(planted / 'cache')!r} not used" in out.err
    assert "stored data.base_url='http://127.0.0.1:9' not used" in out.err
    assert not (planted / "cache").exists() and not (planted / "dl").exists() and not fsmonitor_ran.exists()
    assert (here / "reps").is_dir()  # this machine's cache was used


def test_reproduce_reads_a_text_corpus_only_from_the_file_given(make_cfg, store_uri, tmp_path, data_root):
    text = tmp_path / "corpus.txt"
    text.write_text("\n".join(f"line {i} of a small text about rivers and towns" for i in range(40)) + "\n")
    result = run(make_cfg("model=minilm", "lang=en", "data.n_tokens=100", "data.corpus=text", f"data.text_file={text}"))
    with pytest.raises(
        GeomexpError, match=r"read a text corpus \(corpus.txt\); a stored path is not read: pass --text-file"
    ):
        reproduce(result.run_id, store_uri, cache_dir=tmp_path / "c", data_root=data_root)
    new_id, _, ok = reproduce(result.run_id, store_uri, cache_dir=tmp_path / "c", data_root=data_root, text_file=text)
    assert ok and new_id != result.run_id


def test_reproduce_loads_a_model_folder_only_from_the_path_given(make_cfg, store_uri, tmp_path, tiny_bert_dir):
    """Issue 26: a stored model.path was loaded as it stood (an attacker could point it at any folder).
    Now it must be given (--model-path) and its fingerprint must match the one the run logged."""
    import shutil

    from mlflow.tracking import MlflowClient

    own = tmp_path / "models" / "tiny"
    shutil.copytree(tiny_bert_dir, own)
    result = run(make_cfg("model=bert", f"model.path={own}", "lang=sw", "data.n_tokens=100"))
    assert MlflowClient(store_uri).get_run(result.run_id).data.tags["model.fingerprint"]
    with pytest.raises(
        GeomexpError, match=r"loaded the model folder tiny; a stored path is not read: pass --model-path"
    ):
        reproduce(result.run_id, store_uri, cache_dir=tmp_path / "c")
    other = tmp_path / "other"
    shutil.copytree(tiny_bert_dir, other)
    config = json.loads((other / "config.json").read_text())
    (other / "config.json").write_text(json.dumps({**config, "layer_norm_eps": 1e-5}))
    with pytest.raises(GeomexpError, match=r"model folder .*other is not the one the run measured: model.fingerprint"):
        reproduce(result.run_id, store_uri, cache_dir=tmp_path / "c", model_path=other)
    copy = tmp_path / "copy"
    shutil.copytree(own, copy)  # the same files elsewhere on this machine: reproduces
    new_id, _, ok = reproduce(result.run_id, store_uri, cache_dir=tmp_path / "c", model_path=copy)
    assert ok and new_id != result.run_id


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


def test_a_model_folder_that_needs_its_own_code_is_refused_in_one_line_without_running_it(tmp_path, tiny_bert_dir):
    """trust_remote_code=False is passed explicitly: transformers would otherwise ask on stdin (and a
    'y' ran the repository's Python). The code in the folder must never run."""
    import shutil

    from geomexp.encoders import EncoderSpec, load_encoder
    from geomexp.errors import ModelUnavailableError

    folder = tmp_path / "custom"
    shutil.copytree(tiny_bert_dir, folder)
    marker = tmp_path / "ran.txt"
    (folder / "modeling_evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    config = json.loads((folder / "config.json").read_text())
    config.update(model_type="evil", auto_map={"AutoModel": "modeling_evil.EvilModel", "AutoConfig": "modeling_evil.C"})
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelUnavailableError, match=r"needs its own Python code .* never runs"):
        load_encoder(EncoderSpec(name="evil", source="hf", path=str(folder)))
    assert not marker.exists()


def test_a_model_folder_whose_weights_miss_layers_of_its_config_is_refused(tmp_path, tiny_bert_dir):
    """Issue 26: a config of 12 layers over 6 layers of weights ran to FINISHED on random layers 6-11."""
    import shutil

    from geomexp.encoders import EncoderSpec, load_encoder
    from geomexp.errors import ModelUnavailableError

    folder = tmp_path / "deeper"
    shutil.copytree(tiny_bert_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    config["num_hidden_layers"] += 2
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        ModelUnavailableError, match=r"checkpoint lacks \d+ weight\(s\) its config needs .*encoder.layer"
    ):
        load_encoder(EncoderSpec(name="deeper", source="hf", path=str(folder)))
    load_encoder(EncoderSpec(name="tiny", source="hf", path=str(tiny_bert_dir)))  # the matching folder loads


def test_a_checkpoint_without_a_pooler_loads_without_transformers_load_report(tmp_path, minilm_dir, capfd):
    """Issue 24, item 7: transformers printed its "LOAD REPORT ... pooler.dense.weight | MISSING" table on
    stderr for XLM-R-type repositories; the pooler sits after the last layer, so geomexp says nothing and
    check_weights_cover_config still refuses weights that matter."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    from geomexp.encoders import EncoderSpec, load_encoder

    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    folder = tmp_path / "no-pooler"
    BertModel(config, add_pooling_layer=False).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    capfd.readouterr()
    encoder = load_encoder(EncoderSpec(name="no-pooler", source="hf", path=str(folder), device="cpu"))
    out = capfd.readouterr()
    assert encoder.model.config.num_hidden_layers == 2
    assert "LOAD REPORT" not in out.err + out.out and "MISSING" not in out.err + out.out
