"""The report writes only inside its own folder (issue 26): names from a tracking store are data."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

from mlflow.tracking import MlflowClient

from geomexp.experiment import run
from geomexp.report import make_report
from geomexp.report.names import safe_name

SMALL = ["model=minilm", "lang=sw", "data.n_tokens=100", "analysis.isotropy.plot=false"]
HOSTILE = ["../../ESCAPED_table", "/tmp/abs_table", "javascript:alert(15)", "nul\x00byte", "x" * 400, "i_cos"]


def test_safe_name_keeps_names_in_their_folder():
    assert safe_name("../../etc/passwd") == "etc_passwd"
    assert safe_name("javascript:alert(15)") == "javascript_alert_15"
    assert safe_name("nul\x00byte") == "nul_byte"
    assert safe_name("..") == "item" and safe_name("", "table") == "table"
    assert len(safe_name("x" * 400)) == 80 and safe_name("i_cos") == "i_cos"


def test_a_planted_analyses_json_cannot_write_outside_link_scripts_or_inject_html(make_cfg, store_uri, tmp_path):
    result = run(make_cfg(*SMALL))
    root = Path(urlparse(MlflowClient(store_uri).get_run(result.run_id).info.artifact_uri).path)
    meta_path = root / "meta" / "analyses.json"
    meta = json.loads(meta_path.read_text())
    columns = meta["isotropy"]["tables"][0]["columns"]
    meta["isotropy"]["tables"] = [
        {"name": n, "title": '<img src=x onerror="alert(1)">', "columns": columns, "pivot": "subject"} for n in HOSTILE
    ]
    meta_path.write_text(json.dumps(meta))
    out = tmp_path / "deep" / "er" / "rep"
    figures = out / "figures"
    (figures / "sub").mkdir(parents=True)
    (figures / "fig1_final.svg").write_text("mine")
    (figures / "sub" / "notes.txt").write_text("mine")
    before = {p for p in tmp_path.rglob("*")}
    for _ in range(2):  # the second report replaces the first one's figures, and only those
        report = make_report(store_uri, experiment="geomexp", out_dir=out, log=False)
    written = {p for p in tmp_path.rglob("*")} - before
    assert written and all(out in p.parents for p in written), sorted(p for p in written if out not in p.parents)
    assert not list(tmp_path.rglob("ESCAPED_table*")) or all(out in p.parents for p in tmp_path.rglob("ESCAPED*"))
    assert (figures / "fig1_final.svg").read_text() == "mine" and (figures / "sub" / "notes.txt").read_text() == "mine"
    html = report.html.read_text()
    assert "javascript:" not in html.replace("javascript_alert", "")
    assert "<img" not in (out / "report.md").read_text()
    assert not any("<img" in p.read_text() for p in out.glob("*.md"))
    assert len({p.name for p in out.glob("*.csv")} - {"runs.csv"}) == len(HOSTILE)  # every table kept, none lost


def test_the_default_folder_of_a_hostile_experiment_name_stays_under_reports():
    from geomexp.config import project_root
    from geomexp.report.cli import default_out_dir

    out = default_out_dir("../../../tmp/escaped")
    assert out.parent == project_root() / "reports" and out.name == "tmp_escaped"
