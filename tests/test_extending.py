"""Extending geomexp without editing the package: a toy analysis (module + YAML) from a folder of
its own is selected, run, logged to MLflow and tabulated by the report; and only
``geomexp/tracking/`` imports MLflow."""

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, all_artifacts, compose_config, isolated_overrides
from mlflow.tracking import MlflowClient

from geomexp.experiment import run

TOY = Path(__file__).resolve().parent / "toy_extension"


def test_only_the_tracking_package_imports_mlflow():
    offenders = []
    for path in (ROOT / "geomexp").rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("geomexp/tracking/"):
            continue
        if re.search(r"^\s*(import mlflow|from mlflow)", path.read_text(), flags=re.M):
            offenders.append(rel)
    assert not offenders, f"MLflow imported outside geomexp/tracking/: {offenders}"
    assert re.search(
        r"^\s*from mlflow", (ROOT / "geomexp/tracking/store.py").read_text(), flags=re.M
    )  # the check can fail


def test_a_toy_analysis_from_its_own_config_folder(tmp_path, store_uri, data_root, monkeypatch):
    monkeypatch.syspath_prepend(str(TOY))
    overrides = isolated_overrides(tmp_path, store_uri, data_root) + [
        f"hydra.searchpath=[file://{TOY / 'conf'}]",
        "analysis=[isotropy,toy_spread]",
        "model=minilm",
        "lang=sw",
        "data.n_tokens=200",
        "analysis.isotropy.plot=false",
    ]
    result = run(compose_config(overrides))
    client = MlflowClient(store_uri)
    r = client.get_run(result.run_id)
    assert {"toy_norm", "toy_norm_sd", "i_cos"} <= set(r.data.metrics)
    assert r.data.params["analysis.toy_spread"] == "scale=2.0"
    from geomexp.representations.cache import load_sample

    X = load_sample(str(tmp_path / "cache"), result.cache_key).layer(6).astype(np.float64)
    assert r.data.metrics["toy_norm"] == pytest.approx(2.0 * np.linalg.norm(X, axis=1).mean(), rel=1e-12)
    # the report reads the toy's metadata from the run and builds its table
    from geomexp.report import build_tables, collect_runs

    tables = build_tables(collect_runs(store_uri, experiment="geomexp"))
    assert "toy_norm" in tables
    assert "sw" in tables["toy_norm"].columns


def test_a_toy_analysis_declares_its_parameter_rules(tmp_path, store_uri, data_root, monkeypatch):
    """@analysis(params=...): the toy's scale must be > 0 and its parameter names are checked, both when
    the config is checked (no data read, no run logged)."""
    from geomexp.config.spec import RunSpec
    from geomexp.errors import ConfigError

    monkeypatch.syspath_prepend(str(TOY))
    base = isolated_overrides(tmp_path, store_uri, data_root) + [
        f"hydra.searchpath=[file://{TOY / 'conf'}]",
        "analysis=[toy_spread]",
    ]
    with pytest.raises(ConfigError, match=r"analysis.toy_spread.scale must be a finite number > 0; got -1"):
        RunSpec.from_config(compose_config([*base, "analysis.toy_spread.scale=-1"]))
    with pytest.raises(
        ConfigError, match=r"analysis.toy_spread.scael is not a parameter of toy_spread; allowed: \['scale'\]"
    ):
        RunSpec.from_config(compose_config([*base, "+analysis.toy_spread.scael=2"]))


PARAPHRASE = '''\
from dataclasses import dataclass

from geomexp.tasks.pairs import CsvPairs, PairTask, pair_task_info


@dataclass(frozen=True)
class ParaphraseTask(PairTask):
    """Paraphrase pairs from a CSV file (sentence_a, sentence_b, score)."""

    path: str = "paraphrases.csv"

    info = pair_task_info("para", "Paraphrase pairs")

    def source(self):
        return CsvPairs(self.path, lang_a="en", lang_b="en")
'''


def write_pairs_csv(path: Path, n: int = 40) -> Path:
    """``n`` English sentence pairs whose gold score falls with how many words they share."""
    import csv

    words = [
        "river",
        "town",
        "bridge",
        "market",
        "school",
        "garden",
        "harbour",
        "castle",
        "forest",
        "valley",
        "mountain",
        "village",
    ]
    rng = np.random.default_rng(0)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["sentence_a", "sentence_b", "score"])
        for i in range(n):
            a = rng.choice(words, size=6, replace=False)
            keep = i % 6
            b = np.concatenate([a[:keep], rng.choice(words, size=6 - keep)])
            out.writerow([f"the {' '.join(a)}", f"the {' '.join(b)}", keep / 5 * 5])
    return path


def test_a_pair_task_from_a_csv_in_two_small_files_gets_enhancement_modes_bootstrap_and_a_report_table(
    tmp_path, store_uri, data_root, monkeypatch
):
    """Issue 25: a sentence-pair task from a CSV took 62 lines and lost pooling, enhancement modes, the
    bootstrap, the table and the figure. Now: one module of <= 30 lines (PARAPHRASE) and one YAML."""
    from geomexp.tasks.pairs import CsvPairs

    ext = tmp_path / "ext"
    (ext / "conf" / "analysis").mkdir(parents=True)
    (ext / "paraphrase.py").write_text(PARAPHRASE)
    csv_file = write_pairs_csv(tmp_path / "paraphrases.csv")
    (ext / "conf" / "analysis" / "paraphrase.yaml").write_text(
        f"para:\n  _target_: paraphrase.ParaphraseTask\n  path: {csv_file}\n  n_bootstrap: 200\n  plot: true\n"
    )
    assert len(PARAPHRASE.splitlines()) <= 30
    monkeypatch.syspath_prepend(str(ext))
    overrides = isolated_overrides(tmp_path, store_uri, data_root) + [
        f"hydra.searchpath=[file://{ext / 'conf'}]",
        "analysis=[paraphrase]",
        "model=minilm",
        "lang=en",
        "data.n_tokens=300",
        "enhancement=abtt",
        "enhancement.params.n_components=2",
    ]
    result = run(compose_config(overrides))
    r = MlflowClient(store_uri).get_run(result.run_id)
    logged = set(r.data.metrics)
    for key in ("para_spearman", "para_spearman/abtt", "para_spearman/abtt/zero_shot", "para_gain/abtt"):
        assert key in logged, key
    assert {"para_spearman_ci_low", "para_gain_p/abtt", "para_n_pairs"} <= logged
    assert r.data.metrics["para_n_pairs"] == 40
    assert r.data.tags["para_data"] == "paraphrases.csv" and r.data.tags["para_zero_shot_fit"] == "english corpus"
    assert r.data.tags["geomexp.subject"] == "paraphrases en-en"
    checksum = CsvPairs(str(csv_file)).checksums()["paraphrases.csv.sha256"]
    assert r.data.tags["data.checksum.paraphrases.csv.sha256"] == checksum  # the file is in the identity
    from geomexp.report import build_tables, collect_runs

    tables = build_tables(collect_runs(store_uri, experiment="geomexp"))
    assert "para" in tables and "paraphrases en-en" in tables["para"].columns


def test_a_csv_pair_task_from_yaml_alone(tmp_path, store_uri, data_root):
    """The built-in CsvPairTask: a CSV file and the override analysis=[pairs] +analysis.pairs.path=..."""
    csv_file = write_pairs_csv(tmp_path / "mine.csv", n=30)
    overrides = isolated_overrides(tmp_path, store_uri, data_root) + [
        "analysis=[pairs]",
        f"analysis.pairs.path={csv_file}",
        "analysis.pairs.n_bootstrap=0",
        "model=minilm",
        "lang=en",
    ]
    result = run(compose_config(overrides))
    metrics = MlflowClient(store_uri).get_run(result.run_id).data.metrics
    assert metrics["pairs_n_pairs"] == 30 and -100 <= metrics["pairs_spearman"] <= 100


@pytest.mark.slow
def test_a_language_from_a_text_file_in_a_folder_of_its_own(tmp_path, store_uri, data_root):
    """Issue 25, item 4: one YAML naming a text file beside it makes a language that works as lang=,
    in langs=[...] (a language comparison) and as enhancement.fit_lang (zero-shot), with no edit of
    the package; its column appears in the report."""
    from geomexp.data.corpus import read_wikipedia_csv
    from geomexp.data.download import file_digest

    folder = tmp_path / "mine" / "lang"
    folder.mkdir(parents=True)
    sentences = read_wikipedia_csv(Path(data_root) / "Wikipedia" / "Spanish.csv")[:120]  # any text will do
    (folder / "xx.txt").write_text("\n".join(sentences) + "\n", encoding="utf-8")
    (folder / "xx.yaml").write_text("code: xx\nname: My language\ntext_file: xx.txt\n")
    base = isolated_overrides(tmp_path, store_uri, data_root) + [
        f"hydra.searchpath=[file://{tmp_path / 'mine'}]",
        "model=minilm",
        "data.n_tokens=200",
    ]
    quiet = "analysis.isotropy.plot=false"
    client = MlflowClient(store_uri)
    own = client.get_run(run(compose_config([*base, quiet, "lang=xx"])).run_id)
    assert own.data.tags["geomexp.subject"] == "xx" and "i_cos" in own.data.metrics
    assert own.data.tags["corpus_source"] == str(folder / "xx.txt")
    digest = file_digest(folder / "xx.txt")  # the text's bytes are in the measurement's identity
    assert own.data.tags["data.checksum.lang.xx.text_sha256"] == digest
    compared = run(compose_config([*base, "lang=sw", "analysis=[crosslingual]", "langs=[sw,xx]", "layer.index=6"]))
    metrics = client.get_run(compared.run_id).data.metrics
    assert "xl_overlap_mean" in metrics and any(k.startswith("xl_overlap") and "xx" in k for k in metrics)
    zero_shot = run(compose_config([*base, quiet, "lang=sw", "enhancement=abtt", "enhancement.fit_lang=xx"]))
    r = client.get_run(zero_shot.run_id)
    assert "i_cos/abtt/zero_shot" in r.data.metrics and r.data.params["enhancement.fit_lang"] == "xx"
    assert r.data.tags["data.checksum.lang.xx.text_sha256"] == digest
    from geomexp.report import build_tables, collect_runs

    tables = build_tables(collect_runs(store_uri, experiment="geomexp"))
    assert "xx" in tables["i_cos"].columns and "sw" in tables["i_cos"].columns


TOY_ENHANCER = '''\
import numpy as np

from geomexp.enhancement import Enhancer
from geomexp.validation import number


class ToyScaler(Enhancer):
    """Centre, then multiply by ``factor``."""

    name = "toy_scale"
    _parameter_constraints = {"factor": number(0, exclusive=True)}

    def __init__(self, factor: float = 2.0):
        self.factor = factor

    def _fit(self, X):
        self.mean_ = X.mean(axis=0)

    def _transform(self, X):
        return (X - self.mean_) * self.factor
'''


@pytest.mark.slow
def test_an_enhancer_from_two_files_in_a_folder_of_its_own(tmp_path, store_uri, data_root, monkeypatch):
    """The README's claim for an enhancer: a module with one estimator class and its YAML, no edit of the
    package; its space's metrics reach MLflow (centred: I_Cos about 0, as with center: cosines do not
    see the scale),
    its fitted state is saved, its rule holds before any load, and the report has its row."""
    from geomexp.config.spec import RunSpec
    from geomexp.errors import ConfigError

    ext = tmp_path / "ext"
    (ext / "conf" / "enhancement").mkdir(parents=True)
    (ext / "toy_scale.py").write_text(TOY_ENHANCER)
    (ext / "conf" / "enhancement" / "toy_scale.yaml").write_text(
        "name: toy_scale\nparams:\n  _target_: toy_scale.ToyScaler\n  factor: 3.0\nfit_lang: null\n"
    )
    monkeypatch.syspath_prepend(str(ext))
    base = isolated_overrides(tmp_path, store_uri, data_root) + [
        f"hydra.searchpath=[file://{ext / 'conf'}]",
        "model=minilm",
        "lang=sw",
        "data.n_tokens=300",
        "analysis.isotropy.plot=false",
        "enhancement=toy_scale",
    ]
    with pytest.raises(ConfigError, match=r"factor must be a finite number > 0; got -1"):
        RunSpec.from_config(compose_config([*base, "enhancement.params.factor=-1"]))
    result = run(compose_config(base))
    r = MlflowClient(store_uri).get_run(result.run_id)
    m = r.data.metrics
    assert abs(m["i_cos/toy_scale"]) < 0.05 < m["i_cos"]  # centring removes the common direction
    centred = run(compose_config([*base, "enhancement=center"])).metrics
    for key in ("i_cos/toy_scale", "i_cos_exact/toy_scale"):  # cosines do not see the scale: as centred
        assert m[key] == pytest.approx(centred[(key.replace("toy_scale", "center"), 6)], abs=1e-6)
    assert "enhancer/layer_06.npz" in all_artifacts(MlflowClient(store_uri), result.run_id)  # its fitted state
    from geomexp.enhancement import Enhancer

    saved = MlflowClient(store_uri).download_artifacts(result.run_id, "enhancer/layer_06.npz", str(tmp_path))
    loaded = Enhancer.load(saved)
    assert type(loaded).__name__ == "ToyScaler" and loaded.factor == 3.0 and loaded.mean_.shape == (384,)
    from geomexp.report import build_tables, collect_runs

    table = build_tables(collect_runs(store_uri, experiment="geomexp"))["i_cos"]
    assert any("toy_scale" in str(v) for v in table.reset_index().astype(str).to_numpy().ravel())
