"""A run's identity is everything that changes its numbers (issue 23): the config, the method version,
the data files' contents, the model's resolved commit and the numeric libraries' versions."""

from __future__ import annotations

import pytest
from conftest import compose_config, isolated_overrides
from mlflow.tracking import MlflowClient

from geomexp.config.spec import RunSpec
from geomexp.errors import GeomexpError
from geomexp.experiment import RunContext, run
from geomexp.experiment import identity as ident

TINY = ["model=minilm", "layer.index=2", "data.n_tokens=150", "analysis.isotropy.plot=false"]


def write_corpus(path, town: str) -> None:
    path.write_text(
        "\n".join(f"Sentence {i} says that the weather in {town} {i % 7} was fine." for i in range(40)) + "\n"
    )


def text_corpus_config(tmp_path, store_uri, data_root):
    """(config of a tracked run on a text corpus, the corpus file, written with "town")."""
    text = tmp_path / "corpus.txt"
    write_corpus(text, "town")
    overrides = isolated_overrides(tmp_path, store_uri, data_root)
    return compose_config(overrides + [*TINY, "lang=en", "data.corpus=text", f"data.text_file={text}"]), text


def test_a_method_version_bump_makes_a_resumed_sweep_run_the_job_again(make_cfg, tmp_path, monkeypatch):
    """A bug fix that moves numbers bumps METHOD_VERSION: the sweep's finished job is then NOT skipped."""
    cfg = make_cfg(*TINY, "lang=sw")
    job = RunContext(sweep_dir=str(tmp_path / "sweep"), job_num=0)
    first = run(cfg, job)
    assert not first.skipped
    assert run(cfg, job).skipped  # same identity: resumed, skipped
    monkeypatch.setattr(ident, "METHOD_VERSION", ident.METHOD_VERSION + 1)
    third = run(cfg, job)
    assert not third.skipped and third.run_id != first.run_id
    client = MlflowClient(cfg.tracking.uri)
    tags = [client.get_run(r.run_id).data.tags for r in (first, third)]
    assert tags[0]["geomexp.identity"] != tags[1]["geomexp.identity"]
    assert int(tags[1]["geomexp.method_version"]) == int(tags[0]["geomexp.method_version"]) + 1


def test_editing_a_text_corpus_gives_a_new_identity_and_the_report_keeps_the_runs_apart(tmp_path, store_uri, data_root):
    from geomexp.report import build_tables, collect_runs

    cfg, text = text_corpus_config(tmp_path, store_uri, data_root)
    spec = RunSpec.from_config(cfg)
    before = ident.identity_tags(spec, ident.provenance(spec))
    first = run(cfg)
    write_corpus(text, "village")  # same path, same config, other sentences
    after = ident.identity_tags(spec, ident.provenance(spec))
    assert ident.identity_tags(spec) == ident.identity_tags(spec)  # the config alone cannot tell them apart ...
    assert before["geomexp.identity"] != after["geomexp.identity"]  # ... the content checksum does
    assert before["geomexp.group.isotropy"] != after["geomexp.group.isotropy"]
    second = run(cfg)
    tags = [MlflowClient(store_uri).get_run(r.run_id).data.tags for r in (first, second)]
    assert tags[0]["data.checksum.text_sha256"] != tags[1]["data.checksum.text_sha256"]
    df = build_tables(collect_runs(store_uri, experiment="geomexp"))["i_cos"]
    assert len(df) == 2  # two rows, never one cell of two corpora
    assert {first.metrics[("i_cos", 2)], second.metrics[("i_cos", 2)]} == set(df["en"])


def test_reproduce_refuses_a_corpus_that_changed_naming_the_file(tmp_path, store_uri, data_root):
    from geomexp.reproduce import reproduce

    cfg, text = text_corpus_config(tmp_path, store_uri, data_root)
    first = run(cfg)
    write_corpus(text, "village")
    with pytest.raises(GeomexpError, match=rf"data file {text} changed since the run: data.checksum.text_sha256"):
        reproduce(first.run_id, store_uri, output_dir=str(tmp_path / "r"), cache_dir=tmp_path / "cache",
                  data_root=data_root, text_file=text)  # fmt: skip


def test_provenance_holds_the_method_version_library_versions_and_sts_checksums(make_cfg):
    spec = RunSpec.from_config(make_cfg("model=me5_small", "analysis=[sts]", "analysis.sts.track=2"))
    p = ident.provenance(spec, {"source": "hub", "id": "x/y", "commit": "abc", "path": "/local", "dtype": "float32"})
    assert p["provenance.method_version"] == ident.METHOD_VERSION
    assert p["provenance.model.commit"] == "abc" and "provenance.model.path" not in p  # no machine-local paths
    assert p["provenance.data.sts2.input_md5"] == "11708add5f60d6eb972cc1d715321601"
    assert p["provenance.version.torch"].count(".") == 1  # major.minor
    # a revision name is not identity once its commit is known: main and a tag on the same commit are one
    at_main = ident.identity_tags(spec, p)
    spec_tag = RunSpec.from_config(
        make_cfg("model=me5_small", "analysis=[sts]", "analysis.sts.track=2", "model.revision=v1")
    )
    assert ident.identity_tags(spec_tag, p) == at_main


def test_a_named_local_model_is_labelled_by_its_name_a_path_override_by_its_folder(tmp_path, tiny_bert_dir):
    """Issue 25: a model option's ``name`` was ignored once ``path`` was set. A user's model/tiny.yaml
    naming its own folder is 'tiny'; ``model=bert model.path=<folder>`` is still the folder (not 'bert')."""
    (tmp_path / "mine" / "model").mkdir(parents=True)
    (tmp_path / "mine" / "model" / "tiny.yaml").write_text(f"name: tiny\nsource: hf\npath: {tiny_bert_dir}\n")
    search = f"hydra.searchpath=[file://{tmp_path / 'mine'}]"
    named = RunSpec.from_config(compose_config([search, "model=tiny", "tracking.enabled=false"]))
    assert named.model_named and ident.model_label(named) == "tiny"
    over = RunSpec.from_config(compose_config([search, "model=bert", f"model.path={tiny_bert_dir}"]))
    label = f"{tiny_bert_dir.parent.name}/{tiny_bert_dir.name}"
    assert not over.model_named and ident.model_label(over) == label


def test_layer_aliases_and_interval_settings_share_the_point_identity(make_cfg):
    """Issue 31: layer=last and layer=6 of a 6-layer model (the same measurement) were two report rows, as
    were n_bootstrap=0 and 200. Their point-value tags (``.point``) are equal; the full identity is not."""

    def tags(*overrides, num_layers=6):
        spec = RunSpec.from_config(make_cfg("model=minilm", *overrides))
        return ident.identity_tags(spec, num_layers=num_layers)

    last, six, five = tags("layer=last"), tags("layer.index=6"), tags("layer.index=5")
    boot = tags("layer.index=6", "analysis.isotropy.n_bootstrap=200")
    point, raw_point = "geomexp.group.isotropy.point", "geomexp.identity.isotropy.raw.point"
    assert last["geomexp.identity"] != six["geomexp.identity"] != boot["geomexp.identity"]
    assert last[point] == six[point] == boot[point] and last[raw_point] == six[raw_point]
    assert five[point] != six[point]
    undescribed = tags("layer=last", num_layers=None)  # the model not described: no layer resolution
    assert undescribed[point] != last[point]
    assert tags("layer.index=99")["geomexp.identity"]  # out of range: tagged; the run itself reports it
