"""Results files (issue 29, item 3): every run logs ``results.json``; ``python -m geomexp.results`` exports an
experiment's; ``python -m geomexp.report --from-files`` builds the same report tables from them as from the
store, without MLflow."""

import json
import math
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from geomexp.experiment import run
from geomexp.report.cli import main as report_main
from geomexp.results import RESULTS_ARTIFACT, RESULTS_FORMAT, FileRuns, ResultsFileError, load, load_folder
from geomexp.results.__main__ import main as results_main

SMALL = ["model=minilm", "data.n_tokens=150", "analysis.isotropy.n_pairs=100", "analysis.isotropy.plot=false"]


def test_a_run_logs_its_results_file_and_the_report_from_files_equals_the_one_from_the_store(
    make_cfg, store_uri, tmp_path, capsys
):
    first = run(make_cfg(*SMALL, "lang=sw", "layer.index=[3,6]", "analysis=[isotropy,outliers]"))
    run(make_cfg(*SMALL, "lang=en"))
    client = MlflowClient(store_uri)
    logged = json.loads(Path(client.download_artifacts(first.run_id, RESULTS_ARTIFACT, str(tmp_path))).read_text())
    assert logged["format"] == RESULTS_FORMAT and logged["run"]["run_id"] == first.run_id
    assert logged["run"]["status"] == "FINISHED"
    assert logged["metrics"]["i_cos"] == {"3": first.metrics[("i_cos", 3)], "6": first.metrics[("i_cos", 6)]}
    assert set(logged["tables"]) == {"tables/outliers/layer_03/outliers.json", "tables/outliers/layer_06/outliers.json"}
    stored = client.get_run(first.run_id).data
    assert logged["params"] == stored.params
    assert {k: v for k, v in stored.tags.items() if k in logged["tags"]} == logged["tags"]

    files = tmp_path / "shared"
    assert results_main(["--experiment", "geomexp", "--tracking-uri", store_uri, "--out", str(files)]) == 0
    assert "2 results file(s)" in capsys.readouterr().out
    (files / "notes.json").write_text('{"not": "a results file"}')  # passed over
    back = load(files / f"{first.run_id}.json")
    assert back.record.metrics == first.metrics and back.record.run_id == first.run_id

    from_store, from_files = tmp_path / "from_store", tmp_path / "from_files"
    argv = ["--no-figures", "--out"]
    assert (
        report_main(["--experiment", "geomexp", "--tracking-uri", store_uri, "--no-log", *argv, str(from_store)]) == 0
    )
    assert report_main(["--from-files", str(files), *argv, str(from_files)]) == 0
    tables = sorted(p.name for p in from_store.glob("*.csv"))
    assert {"i_cos.csv", "i_pc.csv", "outliers.csv", "runs.csv"} <= set(tables)
    assert tables == sorted(p.name for p in from_files.glob("*.csv"))
    for name in tables:  # the same tables, cell for cell
        assert (from_store / name).read_text() == (from_files / name).read_text(), name
    assert "results files in" in (from_files / "report.md").read_text()


def test_results_files_that_cannot_be_read_are_named(tmp_path, capsys):
    good = {
        "format": RESULTS_FORMAT,
        "version": 1,
        "run": {"run_id": "abc", "experiment": "e", "status": "FINISHED", "start_time": 1},
        "params": {},
        "tags": {},
        "metrics": {"i_cos": {"6": math.nan}},
    }
    (tmp_path / "a.json").write_text(json.dumps(good))
    results = load(tmp_path / "a.json")
    assert math.isnan(results.record.metrics[("i_cos", 6)]) and FileRuns(tmp_path).records()[0].run_id == "abc"
    (tmp_path / "b.json").write_text(json.dumps(good))
    with pytest.raises(ResultsFileError, match=r"b.json and .*a.json are both the results of run abc"):
        load_folder(tmp_path)
    (tmp_path / "b.json").write_text(json.dumps({**good, "version": 99}))
    with pytest.raises(ResultsFileError, match="results format version 99; this geomexp reads version 1"):
        load_folder(tmp_path)
    (tmp_path / "b.json").write_text(json.dumps({**good, "metrics": {"i_cos": {"six": 1.0}}}))
    with pytest.raises(ResultsFileError, match="b.json: a results file without a readable"):
        load_folder(tmp_path)
    (tmp_path / "c.json").write_text("[1]")
    with pytest.raises(ResultsFileError, match="c.json is not a geomexp results file"):
        load(tmp_path / "c.json")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert report_main(["--from-files", str(empty)]) == 2
    assert "holds no results file" in capsys.readouterr().err
    assert report_main(["--from-files", str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_sts_scores_export_as_mteb_result_files(make_cfg, store_uri, tmp_path, capsys):
    """Issue 29, item 4: one MTEB-shaped STS17.json per model and revision, read back with MTEB's field names."""
    from geomexp.export.__main__ import main as export_main

    sts = run(make_cfg("model=minilm", "analysis=sts", "analysis.sts.track=5", "analysis.sts.n_bootstrap=0"))
    out = tmp_path / "mteb"
    assert export_main(["mteb", "--experiment", "geomexp", "--tracking-uri", store_uri, "--out", str(out)]) == 0
    (path,) = out.rglob("*.json")
    fingerprint = MlflowClient(store_uri).get_run(sts.run_id).data.tags["model.fingerprint"]  # a local model's
    assert path.relative_to(out).parts == ("minilm", fingerprint, "STS17.json")
    doc = json.loads(path.read_text())
    assert doc["task_name"] == "STS17" and {"dataset_revision", "mteb_version", "evaluation_time"} <= set(doc)
    (entry,) = doc["scores"]["test"]
    assert entry["hf_subset"] == "en-en" and entry["languages"] == ["eng-Latn"]
    rho = sts.metrics[("sts_spearman", 6)] / 100  # geomexp logs rho x 100; MTEB a fraction
    assert entry["main_score"] == entry["cosine_spearman"] == pytest.approx(rho, rel=1e-12)
    assert entry["geomexp"]["layer"] == 6 and entry["geomexp"]["run_id"] == sts.run_id
    assert entry["geomexp"]["data_checksums"]["sts5.gold_md5"]

    files = tmp_path / "files"  # the same from results files, without the store
    assert results_main(["--experiment", "geomexp", "--tracking-uri", store_uri, "--out", str(files)]) == 0
    again = tmp_path / "again"
    assert export_main(["mteb", "--from-files", str(files), "--out", str(again)]) == 0
    assert json.loads((again / "minilm" / fingerprint / "STS17.json").read_text()) == doc
    capsys.readouterr()
    assert export_main(["mteb", "--experiment", "nowhere", "--tracking-uri", store_uri, "--out", str(again)]) == 2
    assert "experiment 'nowhere' not found" in capsys.readouterr().err
