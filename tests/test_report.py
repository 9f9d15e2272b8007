"""geomexp.report: tables read back from REAL runs (``geomexp.experiment.run``) in a real SQLite store.

Experiment ``plant`` (MiniLM on Swahili, 200 tokens, unless said): two runs that differ only in the
seed (aggregated), one with 300 tokens, one on a text-file corpus, one of a tiny BERT loaded from a
folder (``model.path``), one with a toy analysis defined here, a sweep (a resume-skipped job and a
new one with 250 tokens), and a reproduce run. Experiment ``tasks``: STS track 5 with ABTT (tiny BERT),
crosslingual en+sw, IsoScore at every layer, and top dimensions before/after centring fitted on English. Experiment ``broken``: one FAILED run.
"""

from __future__ import annotations

import math
import statistics

import numpy as np
import pandas as pd
import pytest
from conftest import compose_config, isolated_overrides, store_in

from geomexp.analyses.base import AnalysisResult, MetricInfo, ReportTable, analysis
from geomexp.errors import ConfigError, GeomexpError
from geomexp.experiment import RunContext, run
from geomexp.report import build_tables, collect_runs, main, make_report, to_markdown
from geomexp.report.collect import RunAtLayer, Runs
from geomexp.tracking import RunRecord, end_parent_run, run_records, start_parent_run

BASE = ["model=minilm", "lang=sw", "data.n_tokens=200", "tracking.log_figures=false"]
SW = [*BASE, "analysis.isotropy.plot=false"]  # the default analysis: isotropy
LAST = 6  # MiniLM's last layer


@analysis(
    "toy",
    "Toy analysis",
    metrics=[MetricInfo("toy_norm", "mean norm", 2, "higher", headline=True)],
    tables=[
        ReportTable("toy", "Toy: mean token norm", ("toy_norm",), description="an analysis defined in a test module")
    ],
)
def toy_analysis(X, *, seed: int = 0, title: str = "", scale: float = 1.0) -> AnalysisResult:
    return AnalysisResult(metrics={"toy_norm": float(np.linalg.norm(X, axis=1).mean() * scale)})


@pytest.fixture(scope="module")
def store(tmp_path_factory, data_root, tiny_bert_dir, monkeypatch_module, migrated_store):
    """The planted runs (see the module docstring): ``(uri, {name: RunResult}, tmp folder)``."""
    from geomexp.reproduce import reproduce
    from geomexp.tracking import PARENT_RUN_ENV

    tmp = tmp_path_factory.mktemp("report")
    uri = store_in(tmp, migrated_store)

    def go(experiment, *overrides, context=None):
        return run(
            compose_config(isolated_overrides(tmp, uri, data_root) + [f"tracking.experiment={experiment}", *overrides]),
            context,
        )

    text = tmp / "corpus.txt"
    text.write_text(
        "\n".join(f"Sentence number {i} says that the weather in town {i % 7} was fine today." for i in range(60))
        + "\n"
    )
    r = {}
    r["seed0"] = go("plant", *SW)
    r["seed1"] = go("plant", *SW, "seed=1")
    r["n300"] = go("plant", *SW, "data.n_tokens=300")
    r["text"] = go("plant", *SW, "data.corpus=text", f"data.text_file={text}")
    r["tiny"] = go("plant", *SW, "model=bert", f"model.path={tiny_bert_dir}")
    r["toy"] = go("plant", *BASE, "analysis=[isoscore]", f"+analysis.toy._target_={__name__}.toy_analysis")
    # a sweep: its first job measured the same as seed0 (skipped: a stand-in), its second is new
    parent = start_parent_run(uri, "plant", "sweep")
    monkeypatch_module.setenv(PARENT_RUN_ENV, parent)
    job = RunContext(sweep_dir=str(tmp / "sweep"), job_num=0)
    r["skipped"] = go("plant", *SW, context=job)
    r["n250"] = go("plant", *SW, "data.n_tokens=250", context=job)
    monkeypatch_module.delenv(PARENT_RUN_ENV)
    end_parent_run(uri, parent)
    r["reproduce"], _, ok = reproduce(
        r["seed0"].run_id, uri, output_dir=str(tmp / "reproduce"), cache_dir=tmp / "cache", data_root=data_root
    )
    assert ok and r["skipped"].skipped and r["skipped"].same_as == r["seed0"].run_id

    tiny = ["model=bert", f"model.path={tiny_bert_dir}"]  # encodes the track's 500 sentences in a blink
    sts = [
        "analysis=[sts]",
        "analysis.sts.track=5",
        "analysis.sts.plot=false",
        "enhancement=abtt",
        "enhancement.save=false",
    ]
    r["sts"] = go("tasks", *tiny, *sts)
    r["xl"] = go("tasks", *BASE, "analysis=[crosslingual]", "langs=[en,sw]", "analysis.crosslingual.plot=false")
    r["all"] = go("tasks", *BASE, "analysis=[isoscore]", "layer=all")
    dims = ["analysis=[dimensions]", "analysis.dimensions.plot=false", "enhancement=center", "enhancement.fit_lang=en"]
    r["dims"] = go("tasks", *BASE, *dims)
    r["enh_none"] = go("enh", *SW)
    r["enh_abtt"] = go("enh", *SW, "enhancement=abtt", "enhancement.save=false")
    r["enh_abtt_dims"] = go(
        "enh",
        *SW,
        "enhancement=abtt",
        "enhancement.save=false",
        "analysis=[isotropy,dimensions]",
        "analysis.dimensions.plot=false",
    )
    with pytest.raises(ConfigError):
        go("broken", *SW, "layer.index=99")  # out of range: found once the model is described, in the run
    return uri, r, tmp, parent


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def value(result, key, layer=LAST):
    return result.metrics[(key, layer)]


def row(df, **where) -> pd.Series:
    hit = df
    for k, v in where.items():
        hit = hit[hit[k].astype(str) == str(v)]
    assert len(hit) == 1, f"{len(hit)} rows match {where} in\n{df}"
    return hit.iloc[0]


# --------------------------------------------------------------------------- experiment "plant"


@pytest.fixture(scope="module")
def plant(store, tmp_path_factory):
    uri, r, _, _ = store
    out = tmp_path_factory.mktemp("plant-report")
    return make_report(uri, experiment="plant", out_dir=out), r


def test_seed_only_runs_aggregate_other_settings_split_into_rows(plant, tiny_bert_dir):
    report, r = plant
    df = report.tables["i_cos"]
    assert df.attrs["settings"] == ["data.corpus", "data.n_tokens"]
    assert list(df.columns[:4]) == ["model", "data.corpus", "data.n_tokens", "layer"]
    a, b = value(r["seed0"], "i_cos"), value(r["seed1"], "i_cos")
    agg = row(df, model="minilm", **{"data.n_tokens": 200, "data.corpus": "wikipedia"})
    assert agg["sw"] == pytest.approx((a + b) / 2, rel=1e-12) and agg["sw sd"] == pytest.approx(
        statistics.stdev([a, b]), rel=1e-12
    )
    assert agg["sw n"] == 2 and set(agg["runs"].split()) == {r["seed0"].run_id[:8], r["seed1"].run_id[:8]}
    for name, n_tokens, corpus in (
        ("n300", 300, "wikipedia"),
        ("n250", 250, "wikipedia"),
        ("text", 200, "text:corpus.txt"),
    ):
        single = row(df, model="minilm", **{"data.n_tokens": n_tokens, "data.corpus": corpus})
        assert single["sw"] == value(r[name], "i_cos") and single["sw n"] == 1
    # a model.path run: labelled by the folder it loaded, not by the config name "bert"
    tiny = f"{tiny_bert_dir.parent.name}/{tiny_bert_dir.name}"
    assert set(df["model"]) == {"minilm", tiny}
    assert row(df, model=tiny)["sw"] == value(r["tiny"], "i_cos", 2)

    md = to_markdown(df)
    assert f"| {(a + b) / 2:.4f} ± {statistics.stdev([a, b]):.4f} (n=2) |" in md
    assert f"| {value(r['n300'], 'i_cos'):.4f} |" in md  # a single run: just the value
    notes = " ".join(df.attrs["notes"])
    assert "data.n_tokens: 200 vs 250 vs 300" in notes and "data.corpus: text:corpus.txt vs wikipedia" in notes
    assert "differ only in the seed" in notes
    # I_PC: 6 decimals, as its metadata declares
    assert f"| {value(r['n300'], 'i_pc'):.6f} |" in to_markdown(report.tables["i_pc"])


def test_files_runs_csv_and_the_report_run(plant, store):
    report, r = plant
    uri = store[0]
    out = report.out_dir
    names = {p.name for p in report.paths}
    assert {"report.md", "runs.csv", "i_cos.md", "i_cos.csv", "i_pc.md", "isoscore.csv", "toy.md", "toy.csv"} <= names
    csv = pd.read_csv(out / "i_cos.csv")
    assert list(csv.columns) == ["model", "data.corpus", "data.n_tokens", "layer", "sw", "sw sd", "sw n", "runs"]
    text = (out / "report.md").read_text()
    assert (
        text.startswith("# Report: experiment 'plant'")
        and f"MLflow run {report.run_id}" in text
        and "Generated 20" in text
    )
    assert "## I_Cos by language" in text and "## Toy: mean token norm" in text and "reproduce run(s) left out" in text
    # issue 31: what every run shares is stated once (what differs splits rows instead)
    shared = next(line for line in text.splitlines() if line.startswith("Settings shared by every run shown"))
    assert "`data.token_sampling`=fewest_sentences" in shared and "`data.n_tokens`" not in shared
    html = (out / "index.html").read_text()
    assert "Settings shared by every run shown" in html and "<code>data.token_sampling</code>=fewest_sentences" in html

    runs = pd.read_csv(out / "runs.csv", dtype=str).fillna("")
    by_id = runs.set_index("run_id")
    shown = set(runs.loc[runs["shown"] == "yes", "run_id"])
    assert shown == {r[k].run_id for k in ("seed0", "seed1", "n300", "text", "tiny", "toy", "n250")}
    assert by_id.loc[r["reproduce"], "reason"] == f"reproduce run of {r['seed0'].run_id}"
    assert by_id.loc[r["skipped"].run_id, "reason"] == f"skipped sweep job: stands for run {r['seed0'].run_id}"
    assert by_id.loc[r["seed0"].run_id, "stand_in"] == r["skipped"].run_id
    assert float(by_id.loc[r["seed0"].run_id, "i_cos"]) == value(r["seed0"], "i_cos")
    assert set(runs["kind"]) == {"measurement", "skipped"}  # never the sweep parent or a report

    (rec,) = [
        x
        for x in run_records(uri, experiment="plant")
        if x.tags.get("geomexp.kind") == "report" and x.run_id == report.run_id
    ]
    assert rec.status == "FINISHED" and rec.run_name.startswith("report") and rec.tags["report.n_runs"] == "7"
    again = make_report(uri, experiment="plant", out_dir=out.parent / "again", log=False)
    assert sorted(m.run_id for m in again.runs) == sorted(m.run_id for m in report.runs)  # the report run is not read


def test_toy_analysis_defined_outside_the_package_gets_its_table(plant):
    report, r = plant
    toy = report.tables["toy"]
    assert (
        toy.attrs["title"] == "Toy: mean token norm"
        and toy.attrs["description"] == "an analysis defined in a test module"
    )
    assert list(toy.columns) == ["model", "subject", "layer", "mean norm", "runs"]
    assert toy.iloc[0]["mean norm"] == value(r["toy"], "toy_norm")
    assert f"| minilm | sw | 6 | {value(r['toy'], 'toy_norm'):.2f} |" in to_markdown(toy)


def test_reproduce_runs_are_left_out_unless_asked(store):
    uri, r, _, _ = store
    runs = collect_runs(uri, experiment="plant")
    assert r["reproduce"] not in {m.run_id for m in runs}
    runs = collect_runs(uri, experiment="plant", include_reproduce=True)
    ids = {m.run_id for m in runs}
    assert r["reproduce"] in ids and r["seed0"].run_id not in ids  # same identity: counted once, the newest
    assert any("same geomexp.identity" in n for n in runs.notes)
    df = build_tables(runs)["i_cos"]
    assert row(df, model="minilm", **{"data.n_tokens": 200, "data.corpus": "wikipedia"})["sw n"] == 2


def test_where_filters_on_params_and_tags(store, tmp_path, capsys):
    uri, r, _, _ = store
    runs = collect_runs(uri, experiment="plant", where=["data.n_tokens=300"])
    assert [m.run_id for m in runs] == [r["n300"].run_id]
    df = build_tables(runs)["i_cos"]
    assert df.attrs["settings"] == [] and len(df) == 1 and df.iloc[0]["sw"] == value(r["n300"], "i_cos")
    runs = collect_runs(uri, experiment="plant", where=["geomexp.model=minilm", "seed=1"])
    assert [m.run_id for m in runs] == [r["seed1"].run_id]
    assert (
        main(["--experiment", "plant", "--tracking-uri", uri, "--where", "data.n_tokens=5", "--out", str(tmp_path)])
        == 2
    )
    err = capsys.readouterr().err
    assert "--where data.n_tokens=5: data.n_tokens among the runs: 200, 250, 300" in err
    assert main(["--experiment", "plant", "--tracking-uri", uri, "--where", "n_tokens", "--out", str(tmp_path)]) == 2
    assert "use key=value" in capsys.readouterr().err


def test_parent_shows_every_job_of_a_sweep(store, tmp_path):
    uri, r, _, parent = store
    report = make_report(uri, parent=parent, out_dir=tmp_path / "sweep", log=False)
    runs = report.runs
    assert runs.source == f"sweep {parent} (experiment 'plant')"
    assert [m.run_id for m in runs] == [r["seed0"].run_id, r["n250"].run_id]  # the skipped job as the run it stands for
    assert runs[0].via == r["skipped"].run_id
    df = report.tables["i_cos"]
    assert df["data.n_tokens"].tolist() == ["200", "250"] and "sw n" not in df  # nothing aggregated


# --------------------------------------------------------------------------- experiment "tasks"


def test_raw_values_of_enhanced_runs_share_the_raw_row(store, tmp_path):
    """The raw space of an enhanced run is the same measurement as a run without enhancement (same
    sample, same analysis settings): one raw row, counted once; what other analyses ran does not matter."""
    uri, r, _, _ = store
    df = make_report(uri, experiment="enh", out_dir=tmp_path, log=False, formats="png").tables["i_cos"]
    assert df["space"].tolist() == ["raw", "abtt"] and df["enhancement"].tolist() == ["none", "abtt D=12"]
    raw = row(df, space="raw")
    assert (
        raw["sw"]
        == value(r["enh_none"], "i_cos")
        == value(r["enh_abtt"], "i_cos")
        == value(r["enh_abtt_dims"], "i_cos")
    )
    assert "sw n" not in df.columns  # three runs, one measurement: no spread to show
    assert set(raw["runs"].split()) == {r[k].run_id[:8] for k in ("enh_none", "enh_abtt", "enh_abtt_dims")}
    assert row(df, space="abtt")["sw"] == value(r["enh_abtt"], "i_cos/abtt")
    assert df.attrs["settings"] == [] and not any("differ in" in n for n in df.attrs["notes"])
    # issue 31: MLflow also holds the enhanced space under method-agnostic keys (Compare and parallel
    # coordinates across methods); the report and every other reader of the store skip those copies
    from mlflow.tracking import MlflowClient

    logged = MlflowClient(uri).get_run(r["enh_abtt"].run_id).data.metrics
    assert logged["i_cos/enhanced"] == logged["i_cos/abtt"] and "i_cos/enhanced" not in r["enh_abtt"].metrics
    (record,) = [x for x in run_records(uri, experiment="enh") if x.run_id == r["enh_abtt"].run_id]
    assert not any("/enhanced" in key for key, _ in record.metrics) and ("i_cos/abtt", 6) in record.metrics


def test_sts_track_table_and_crosslingual_matrix(store, tmp_path, tiny_bert_dir):
    uri, r, _, _ = store
    report = make_report(uri, experiment="tasks", out_dir=tmp_path, log=False, formats="png")
    assert {"sts", "crosslingual_overlap", "curves/isoscore_by_language"} <= set(report.figures)
    sts = report.tables["sts"]
    assert list(sts.columns) == ["model", "layer", "enhancement", "space", "sts5 en-en", "runs"]
    # en-en has a zero-shot row too: it is fitted on the English corpus sample, not on the track
    assert sts["space"].tolist() == ["raw", "abtt", "abtt zero-shot"]
    assert sts["enhancement"].tolist() == ["none", "abtt D=12", "abtt D=12"]  # issue 31: the method's settings
    keys = ("sts_spearman", "sts_spearman/abtt", "sts_spearman/abtt/zero_shot")
    assert sts["sts5 en-en"].tolist() == [value(r["sts"], k, 2) for k in keys]
    tiny = f"{tiny_bert_dir.parent.name}/{tiny_bert_dir.name}"
    assert f"| {tiny} | 2 | abtt D=12 | abtt | {value(r['sts'], 'sts_spearman/abtt', 2):.1f} |" in to_markdown(sts)
    assert "tracks: 1 ar-ar" in (tmp_path / "sts.md").read_text()  # the description the task declares
    gain = report.tables["sts_gain"]  # the task's second table: intervals and the paired test, per space
    raw, zs = row(gain, space="raw"), row(gain, space="abtt zero-shot")
    assert raw["Spearman 95% low"] < raw["STS Spearman x100"] < raw["Spearman 95% high"]
    assert zs["gain p"] == value(r["sts"], "sts_gain_p/abtt/zero_shot", 2) and math.isnan(raw["gain p"])
    # the figures drawn from the same runs: STS bars per mode with their intervals, the overlap matrix
    from geomexp.figures.report import overlap_heatmaps, sts_bars

    runs = collect_runs(uri, experiment="tasks")
    ax = sts_bars(runs).axes[0]
    assert [p.get_height() for p in ax.patches] == [value(r["sts"], k, 2) for k in keys]
    # the error bars: from the bootstrap interval's low to its high end
    ends = {
        (round(float(seg[:, 1].min()), 9), round(float(seg[:, 1].max()), 9))
        for c in ax.collections
        for seg in c.get_segments()
        if len(seg)
    }
    interval = [
        (
            value(r["sts"], k.replace("sts_spearman", "sts_spearman_ci_low"), 2),
            value(r["sts"], k.replace("sts_spearman", "sts_spearman_ci_high"), 2),
        )
        for k in keys
    ]
    assert {(round(lo, 9), round(hi, 9)) for lo, hi in interval} <= ends
    fig = overlap_heatmaps(runs)
    image = fig.axes[0].get_images()[0].get_array()
    assert image[0, 1] == image[1, 0] == value(r["xl"], "xl_overlap.en_sw") and np.ma.is_masked(image[0, 0])
    chance = value(r["xl"], "xl_overlap_chance")
    assert f"chance D/d = {chance:.3f}" in fig.axes[-1].get_ylabel()

    xl = report.tables["crosslingual"]
    assert list(xl.columns) == ["model", "subject", "layer", "language", "en", "sw", "runs"]
    en, sw = row(xl, language="en"), row(xl, language="sw")
    overlap = value(r["xl"], "xl_overlap.en_sw")
    assert en["sw"] == sw["en"] == overlap and math.isnan(en["en"]) and math.isnan(sw["sw"])
    assert f"| minilm | en+sw | 6 | en | — | {overlap:.3f} |" in to_markdown(xl)
    # a layer=all run contributes its last layer by default
    assert report.tables["isoscore"].iloc[0]["sw"] == value(r["all"], "isoscore")

    # a long table (metrics as columns, labels and decimals from the metadata), raw and enhanced rows
    dims = report.tables["dimensions"]
    assert list(dims.columns) == ["model", "subject", "layer", "enhancement", "space"] + [
        "top-1 dim",
        "top-1 dim share",
        "top-2 dim",
        "top-2 share",
        "top-3 dim",
        "top-3 share",
        "runs",
    ]
    assert dims["space"].tolist() == ["raw", "center fit on en"] and dims["enhancement"].tolist() == [
        "none",
        "center fit on en",
    ]
    assert dims["top-2 share"].tolist() == [
        value(r["dims"], "cc_top2_share"),
        value(r["dims"], "cc_top2_share/center/zero_shot"),
    ]
    dim, share = value(r["dims"], "cc_top1_dim/center/zero_shot"), value(r["dims"], "cc_top1_share/center/zero_shot")
    assert f"| minilm | sw | 6 | center fit on en | center fit on en | {dim:.0f} | {share:.3f} |" in to_markdown(dims)


def test_layer_option(store, tmp_path, capsys):
    uri, r, _, _ = store
    runs = collect_runs(uri, experiment="tasks", layer=3)
    assert [(m.run_id, m.layer) for m in runs] == [(r["all"].run_id, 3)]
    assert any("without layer 3 left out" in n for n in runs.notes)
    assert build_tables(runs)["isoscore"].iloc[0]["sw"] == value(r["all"], "isoscore", 3)
    assert [m.layer for m in collect_runs(uri, experiment="tasks", layer="-1")] == [
        2,
        LAST,
        LAST,
        LAST,
    ]  # tiny BERT: 2 layers
    with pytest.raises(GeomexpError, match="--layer all"):
        collect_runs(uri, experiment="tasks", layer="all")
    assert main(["--experiment", "plant", "--tracking-uri", uri, "--layer", "3", "--out", str(tmp_path)]) == 2
    assert "no layer 3 (logged: 6)" in capsys.readouterr().err


# --------------------------------------------------------------------------- command line and errors


def test_cli_writes_logs_and_prints(store, tmp_path, capsys):
    uri = store[0]
    assert (
        main(["--experiment", "tasks", "--tracking-uri", uri, "--out", str(tmp_path / "rep"), "--formats", "png"]) == 0
    )
    printed = capsys.readouterr().out
    assert f"in {tmp_path / 'rep'}" in printed and str(tmp_path / "rep" / "sts.md") in printed
    assert "tag geomexp.kind=report" in printed
    (rep,) = [x for x in run_records(uri, experiment="tasks") if x.tags.get("geomexp.kind") == "report"]
    assert rep.tags["report.tables"] == "sts,sts_gain,crosslingual,isoscore,dimensions"
    assert rep.tags["report.layer"] == "last"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--experiment", "nope"], "experiment 'nope' not found in sqlite:///"),
        (["--experiment", "broken"], "experiment 'broken' has no finished measurement runs to tabulate (1 unfinished)"),
        (["--parent", "0123456789abcdef"], "run '0123456789abcdef' not found in the tracking store"),
    ],
)
def test_cli_errors_name_the_value_and_what_exists(store, tmp_path, capsys, args, message):
    uri, _, _, parent = store
    assert main([*args, "--tracking-uri", uri, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    if "nope" in args:
        assert "experiments there: Default, broken, enh, plant, tasks" in err
    if "--parent" in args:
        assert f"sweep parent runs there: {parent} (sweep, experiment 'plant')" in err


def test_errors_for_a_missing_store_and_a_run_that_is_no_sweep(store, tmp_path, capsys):
    uri, r, _, _ = store
    missing = f"sqlite:///{tmp_path / 'none.db'}"
    assert main(["--experiment", "plant", "--tracking-uri", missing]) == 2
    assert f"no MLflow store at {tmp_path / 'none.db'}" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()
    with pytest.raises(GeomexpError, match="has no child runs: --parent takes a sweep's parent run id"):
        collect_runs(uri, parent=r["seed0"].run_id)


# --------------------------------------------------------------------------- tables without a store


def _measurement(run_id, start, group, identity, i_cos, params=None):
    tags = {"geomexp.kind": "measurement", "geomexp.model": "m", "geomexp.subject": "sw"}
    tags.update({"geomexp.group": group, "geomexp.identity": identity})
    rec = RunRecord(
        run_id, run_id, "x", "FINISHED", start, params={"model": "m", "seed": "0", **(params or {})}, tags=tags
    )
    from geomexp.analyses.isotropy import isotropy_analysis

    return RunAtLayer(rec, 6, {"i_cos": i_cos}, {"isotropy": isotropy_analysis.info})


def test_groups_that_nothing_tells_apart_still_get_separate_rows():
    runs = Runs([_measurement("a" * 32, 1, "g1", "i1", 0.1), _measurement("b" * 32, 2, "g2", "i2", 0.3)])
    df = build_tables(runs)["i_cos"]
    assert df["group"].tolist() == ["g1", "g2"] and df["sw"].tolist() == [0.1, 0.3]
    assert any("could not be told apart" in n for n in df.attrs["notes"])


@pytest.mark.slow  # two runs that encode (about 20 s)
def test_interval_settings_never_split_the_rows_of_point_values(make_cfg, store_uri):
    """Issue 31: n_bootstrap=200 vs 0 split a table into two rows with identical point values. The point
    values now share a row (one measurement, counted once); only the interval columns say which run had them."""
    from mlflow.tracking import MlflowClient

    common = ("model=minilm", "lang=sw", "data.n_tokens=200", "analysis.isotropy.plot=false")
    plain = run(make_cfg(*common))
    boot = run(make_cfg(*common, "analysis.isotropy.n_bootstrap=20"))
    tags = [MlflowClient(store_uri).get_run(r.run_id).data.tags for r in (plain, boot)]
    assert tags[0]["geomexp.identity"] != tags[1]["geomexp.identity"]  # not the same measurement for resume
    assert tags[0]["geomexp.identity.isotropy.point"] == tags[1]["geomexp.identity.isotropy.point"]
    assert plain.metrics[("i_cos", 6)] == boot.metrics[("i_cos", 6)]
    df = build_tables(collect_runs(store_uri, experiment="geomexp"))["i_cos"]
    assert len(df) == 1 and df.attrs["settings"] == [] and "sw n" not in df
    assert df["sw"].iloc[0] == plain.metrics[("i_cos", 6)]
