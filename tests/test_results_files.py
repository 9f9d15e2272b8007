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
