"""Composition of every config option, and clear failures for wrong names, keys and types."""

import dataclasses
import re

import pytest
from conftest import CONF, compose_config
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf.errors import ConfigKeyError, ValidationError

from geomexp.config import rewrite_layer_overrides, validate
from geomexp.config.spec import RunSpec
from geomexp.errors import ConfigError
from geomexp.layers import parse_layer


def check_config(cfg):
    return RunSpec.from_config(cfg)


MODELS = sorted(p.stem for p in (CONF / "model").glob("*.yaml"))
LANGS = sorted(p.stem for p in (CONF / "lang").glob("*.yaml"))
EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))


def test_expected_options_exist():
    assert set(MODELS) >= {"mbert", "mbert_uncased", "xlmr", "bert", "roberta", "minilm", "me5_small"}
    assert set(LANGS) >= {"en", "es", "ar", "tr", "sw", "su"}


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("lang", LANGS)
def test_every_model_and_language_composes_and_passes_checks(make_cfg, model, lang):
    from geomexp.data import TextFile, WikipediaCsv

    cfg = make_cfg(f"model={model}", f"lang={lang}")
    spec = check_config(cfg)
    assert cfg.model.name == model and cfg.lang.code == lang
    source = spec.lang.corpus_source()  # every language names a corpus that can be read
    assert isinstance(source, (WikipediaCsv, TextFile)) and source.problem() is None
    if isinstance(source, WikipediaCsv):
        assert source.file.endswith(".csv") and len(source.md5) == 32


@pytest.mark.parametrize(
    "override, expected", [("layer=last", "last"), ("layer=all", "all"), ("layer.index=8", 8), ("layer.index=-2", -2)]
)
def test_layer_options(make_cfg, override, expected):
    assert parse_layer(make_cfg(override).layer.index) == expected
    assert check_config(make_cfg(override)).layer == expected


def test_layer_list_and_stride(make_cfg):
    from geomexp.errors import ConfigError
    from geomexp.layers import resolve_layers

    (override,) = rewrite_layer_overrides(["layer=[0,8,-1]"])
    spec = check_config(make_cfg(override, "layer.extract=selected"))
    assert spec.layer == (0, 8, -1) and spec.layer_extract == "selected"
    assert resolve_layers(spec.layer, 12) == [0, 8, 12]
    spec = check_config(make_cfg("layer.every=4"))
    assert resolve_layers(spec.layer, 10, every=spec.layer_every) == [0, 4, 8, 10]
    with pytest.raises(ConfigError, match="layer.every"):
        check_config(make_cfg("layer.every=0"))
    with pytest.raises(ConfigError, match="layer.extract"):
        check_config(make_cfg("layer.extract=some"))


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes(make_cfg, experiment):
    cfg = make_cfg(f"experiment={experiment}")
    check_config(cfg)
    assert cfg.tracking.experiment == experiment


def test_the_faithful_preset_makes_the_authors_five_choices_and_yields_to_the_command_line(make_cfg):
    """experiment=rp2022_faithful (docs/guide-paper.md): the notebook's choices; a group given on the command
    line (an offline model, one layer) still wins, as docs/faithful_table.py relies on."""
    spec = check_config(make_cfg("experiment=rp2022_faithful", "enhancement=cluster"))
    assert spec.encoder.name == "mbert_uncased" and spec.layer == "all"
    assert spec.sample.add_special_tokens is False and spec.batch_size == 1
    iso, dims = ({a.name: a for a in spec.analyses}[n].params for n in ("isotropy", "dimensions"))
    assert iso["i_pc_signs"] == "single" and iso["n_pairs"] == 1000
    assert dims["exact"] is False and dims["n_pairs"] == 1000
    assert spec.enhancement.params["init"] == "random" and spec.enhancement.params["n_iter"] == 10
    spec = check_config(make_cfg("experiment=rp2022_faithful", "model=me5_small", "layer=last"))
    assert spec.encoder.name == "me5_small" and spec.layer == "last"


def test_debug_and_analysis_list(make_cfg):
    cfg = make_cfg("debug=fast", "analysis=[isotropy]", "analysis.isotropy.n_pairs=50")
    assert cfg.data.n_tokens == 1000 and cfg.analysis.isotropy.n_pairs == 50


def test_unknown_group_option_lists_what_exists(make_cfg):
    with pytest.raises(MissingConfigException) as err:
        make_cfg("model=gpt5")
    assert "mbert" in str(err.value.options) or "mbert" in str(err.value)
    with pytest.raises(MissingConfigException):
        make_cfg("lang=xx")
    with pytest.raises(MissingConfigException):
        make_cfg("analysis=[isotropy,nonsense]")


def test_layer_number_on_the_command_line_becomes_layer_index(make_cfg):
    args = rewrite_layer_overrides(["layer=8", "layer=0,6,12", "layer=all", "model=mbert", "layer=-1"])
    assert args == ["layer.index=8", "layer.index=0,6,12", "layer=all", "model=mbert", "layer.index=-1"]
    assert str(make_cfg(*rewrite_layer_overrides(["layer=8"])).layer.index) == "8"  # an int since lists are allowed


def test_wrong_key_fails_at_composition(make_cfg):
    with pytest.raises(ConfigCompositionException, match="nmae"):
        make_cfg("model.nmae=x")


def test_wrong_type_fails_at_composition(make_cfg):
    with pytest.raises(ConfigCompositionException, match="n_tokens"):
        make_cfg("data.n_tokens=many")


def test_saved_config_is_validated_against_the_schema():
    with pytest.raises(ConfigKeyError, match="bacth_size"):
        validate({"model": {"bacth_size": 3}})
    with pytest.raises(ValidationError):
        validate({"seed": "zero"})


@pytest.mark.parametrize(
    "override, match",
    [
        ("data.n_tokens=0", "data.n_tokens must be a positive integer"),
        ("model.batch_size=-1", "model.batch_size must be a positive integer"),
        ("data.corpus=books", r"data.corpus must be one of \['wikipedia', 'text'\]; got 'books'"),
        ("data.sample_unit=words", r"data.sample_unit must be one of \['tokens', 'sentences'\]; got 'words'"),
        ("data.token_sampling=random", r"data.token_sampling must be one of \['uniform', 'fewest_sentences'\]"),
        ("data.long_sentences=keep", r"data.long_sentences must be one of \['cut', 'skip'\]; got 'keep' \(cut: "),
        ("data.max_length=0", "data.max_length must be a positive integer; got 0"),
        ("layer.every=0", "layer.every must be a positive integer or None; got 0"),
        ("seeds=[1,1]", r"seeds must list two or more distinct integers >= 0, e.g. seeds=\[0,1,2,3,4\]"),
        ("seeds=[3]", r"seeds must list two or more distinct integers"),
        ("data.corpus=text", "data.text_file"),
        ("layer.index=middle", "layer.index='middle' is not valid"),
        (
            "enhancement.name=magic",
            r"enhancement.name='magic' has no params._target_.*\['abtt', 'center', 'cluster', 'none', 'whiten'\]",
        ),
        (
            "enhancement=center enhancement.params._target_=geomexp.nothing.Here",
            r"enhancement.params._target_='geomexp.nothing.Here' cannot be imported",
        ),
        ("analysis.isotropy._target_=numpy.mean", r"analysis.isotropy._target_='numpy.mean' declares no AnalysisInfo"),
        ("analysis.isotropy.n_pairs=0", "analysis.isotropy.n_pairs must be a positive integer; got 0"),
        ("analysis=sts analysis.sts.n_bootstrap=-1", r"analysis.sts.n_bootstrap must be an integer >= 0; got -1"),
        ("analysis=sts analysis.sts.ci_level=95", r"ci_level must be between 0 and 1 \(e.g. 0.95\); got 95"),
        ("analysis=sts analysis.sts.track=fr-en", r"STS track 'fr-en' is not known"),
        ("analysis.isotropy.plot_points=-5", "analysis.isotropy.plot_points must be a positive integer"),
        # each analysis declares its parameters' rules (issue 25, item 5): all checked before any load
        ("analysis.isotropy.ci_level=1.5", r"analysis.isotropy.ci_level must be in \(0, 1\); got 1.5"),
        ("analysis.isotropy.i_pc_signs=one", r"analysis.isotropy.i_pc_signs must be one of \['both', 'single'\]"),
        ("analysis.isotropy.exact=1", "analysis.isotropy.exact must be true or false; got 1"),
        (
            "+analysis.isotropy.n_pair=5",
            r"analysis.isotropy.n_pair is not a parameter of isotropy; allowed: \['ci_level'",
        ),
        ("analysis=intrinsic analysis.intrinsic.twonn_fit=cubic", r"twonn_fit must be one of \['linear', 'mle'\]"),
        ("analysis=intrinsic analysis.intrinsic.twonn_discard=1.0", r"twonn_discard must be in \[0, 1\); got 1.0"),
        ("analysis=outliers analysis.outliers.k_sigma=0", "analysis.outliers.k_sigma must be a finite number > 0"),
        ("analysis=massive analysis.massive.top_k=0", "analysis.massive.top_k must be a positive integer; got 0"),
        ("enhancement=center enhancement.name=enhanced", "enhancement.name='enhanced' is reserved"),
    ],
)
def test_bad_values_fail_with_a_message_naming_them(make_cfg, override, match):
    with pytest.raises(ValueError, match=match):
        check_config(make_cfg(*override.split()))


def _yaml_params():
    """(file, name, params) of every analysis and enhancer YAML that names a ``_target_``."""
    from omegaconf import OmegaConf

    out = []
    for path in sorted((CONF / "analysis").glob("*.yaml")) + sorted((CONF / "enhancement").glob("*.yaml")):
        node = OmegaConf.to_container(OmegaConf.load(path))
        if path.parent.name == "enhancement":
            if node.get("params"):
                out.append((path.name, path.stem, node["params"]))
        else:
            out += [(path.name, name, params) for name, params in node.get("analysis", node).items()]
    return out


@pytest.mark.parametrize("file, name, params", _yaml_params(), ids=lambda v: v if isinstance(v, str) else "")
def test_yaml_values_are_the_library_defaults(file, name, params):
    """One source of defaults: a value in conf/ equals the default of the function or class it configures,
    except ``plot``: a run draws its figures (``plot: true`` in conf/), a notebook call draws none unless
    asked (``plot=False`` in the library: figures no longer leak into a notebook, issue 25)."""
    import inspect

    from geomexp.config.spec import load_target

    target = load_target(params["_target_"], name)
    signature = inspect.signature(target)
    for key, value in params.items():
        if key == "_target_" or (isinstance(value, str) and value.startswith("${")):
            continue  # interpolations (random_state: ${seed}) follow the run's seed
        if key == "plot":
            assert value is True and signature.parameters[key].default is False, f"{file}: plot"
            continue
        assert key in signature.parameters, f"{file}: {key} is not a parameter of {params['_target_']}"
        assert signature.parameters[key].default == value, (
            f"{file}: {key}={value!r}, library default {signature.parameters[key].default!r}"
        )


# --------------------------------------------------------------------------- issue 16, items 11-14


@pytest.mark.parametrize("max_length", [1, 2])
def test_a_max_length_that_leaves_no_content_token_is_refused(make_cfg, max_length):
    """HF's tokenizer does not truncate at all below its special tokens (it only warns): max_length=1
    gave the results of 512. Refused; 3 (one content token) is honoured."""
    from geomexp.config.spec import RunSpec
    from geomexp.errors import ConfigError

    with pytest.raises(ConfigError, match=rf"data.max_length={max_length} leaves no room for a content token"):
        RunSpec.from_config(make_cfg(f"data.max_length={max_length}"))
    assert RunSpec.from_config(make_cfg("data.max_length=1", "data.add_special_tokens=false")).sample.max_length == 1


def test_max_length_3_keeps_exactly_one_content_token(tiny):
    from geomexp.representations.extraction import tokenize_corpus

    _, tok = tiny
    tokens = tokenize_corpus(tok, ["a rather long sentence of several words"], max_length=3)
    assert len(tokens.input_ids[0]) == 3 and len(tokens.content_positions[0]) == 1


def test_a_text_corpus_cannot_stand_for_another_language(make_cfg, tmp_path):
    """data.corpus=text with enhancement.fit_lang=en fitted on the same file and tagged the run as fit on en."""
    from geomexp.config.spec import RunSpec
    from geomexp.errors import ConfigError

    text = tmp_path / "s.txt"
    text.write_text("one sentence\n")
    base = ["data.corpus=text", f"data.text_file={text}"]
    with pytest.raises(ConfigError, match="enhancement.fit_lang=en needs a corpus per language"):
        RunSpec.from_config(make_cfg(*base, "enhancement=cluster", "enhancement.fit_lang=en"))
    with pytest.raises(ConfigError, match="needs a corpus per language"):
        RunSpec.from_config(make_cfg(*base, "analysis=[crosslingual]", "langs=[en,es]"))
    assert RunSpec.from_config(make_cfg(*base, "enhancement=cluster")).enhancement.fit_lang is None


@pytest.mark.parametrize("content", [b"\xff\xfe\x00b\x00i\x00n", "caf\xe9 au lait\n".encode("latin-1")])
def test_a_binary_or_non_utf8_text_file_is_a_clear_error_naming_it(tmp_path, content):
    from geomexp.data import load_text_corpus
    from geomexp.errors import DataError

    path = tmp_path / "corpus.txt"
    path.write_bytes(content)
    with pytest.raises(DataError, match=rf"text corpus {path} is (not UTF-8 text|binary)"):
        load_text_corpus("en", path)


def test_an_unknown_device_is_refused_before_the_cache(make_cfg):
    """model.device=tpu was accepted on a cache hit (the device is resolved only to load the model)."""
    from geomexp.config.spec import RunSpec
    from geomexp.errors import ConfigError

    with pytest.raises(
        ConfigError, match="model.device must be a torch device: auto, cpu, cuda, cuda:0, mps; got 'tpu'"
    ):
        RunSpec.from_config(make_cfg("model.device=tpu"))
    assert RunSpec.from_config(make_cfg("model.device=cuda:1")).encoder.device == "cuda:1"


def test_two_sweeps_started_in_the_same_second_get_different_folders(tmp_path):
    """Issue 16 item 6: they shared multirun/<date>/<H-M-S> (one sweep's summary named the other's jobs)."""
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    def sweep_dir():
        with initialize_config_dir(version_base="1.3", config_dir=str(CONF), job_name="test"):
            cfg = compose(config_name="config", overrides=[f"paths.root_dir={tmp_path}"], return_hydra_config=True)
        first = OmegaConf.select(cfg, "hydra.sweep.dir")
        assert OmegaConf.select(cfg, "hydra.sweep.dir") == first  # one folder per sweep: drawn once
        return first

    import re

    a, b = sweep_dir(), sweep_dir()
    assert re.fullmatch(rf"{tmp_path}/multirun/\d{{4}}-\d\d-\d\d/\d\d-\d\d-\d\d-[0-9a-f]{{6}}", a)
    assert a != b  # even within one second


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("+data.n_token=5", r"data.n_token is not a geomexp setting; did you mean data.n_tokens\?"),
        ("+model.nmae=x", r"model.nmae is not a geomexp setting; did you mean model.name\?"),
        ("+foo=bar", r"foo is not a geomexp setting; known: \['analysis', 'data'"),
    ],
)
def test_a_key_geomexp_does_not_know_is_an_error_naming_the_closest(make_cfg, override, message):
    from geomexp.errors import ConfigError

    """Issue 26: `+data.n_token=5` (a typo with Hydra's `+`) ran, named the run `n_token=5` and sampled 10,000."""
    from geomexp.config.spec import RunSpec

    with pytest.raises(ConfigError, match=message):
        RunSpec.from_config(make_cfg("model=minilm", "lang=sw", override))
    RunSpec.from_config(make_cfg("model=minilm", "lang=sw", "+tags.note=free-form"))  # tags stay free-form


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("seed=-1", r"seed must be an integer in 0..2147483646; got -1"),
        ("tracking.uri=ftp://host/x", r"tracking.uri='ftp://host/x' is not a tracking store geomexp can use"),
        ("tracking.experiment=", r"tracking.experiment must be a non-empty string; got ''"),
    ],
)
def test_bad_seed_uri_and_experiment_are_one_line_before_any_work(override, message, tmp_path, data_root):
    """Issue 26: these gave 30- to 51-line tracebacks (seed=-1 only after the cache lookup)."""
    import subprocess
    import sys

    from conftest import ROOT, isolated_overrides

    overrides = [o for o in isolated_overrides(tmp_path, f"sqlite:///{tmp_path / 'm.db'}", data_root)]
    proc = subprocess.run(
        [sys.executable, "run.py", *overrides, "model=minilm", "lang=sw", override],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    own = [line for line in proc.stderr.splitlines() if "INFO mlflow" not in line and line.strip()]  # store set-up
    assert proc.returncode == 2 and len(own) == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert re.search(message, own[0])


def test_reproduce_checks_rtol_before_running(capsys):
    from geomexp.reproduce import main

    assert main(["no-such-run", "--rtol", "-1"]) == 2
    assert "--rtol -1.0 must be a finite number >= 0" in capsys.readouterr().err


def test_a_compared_language_without_a_corpus_is_refused_before_any_load(tmp_path):
    """Issue 25: langs=[en,de] with a de.yaml that names no corpus passed validation and failed late
    ("Wikipedia/None not found"); so did enhancement.fit_lang=de. Its YAML is in a user's folder."""
    from geomexp.config.spec import RunSpec
    from geomexp.errors import ConfigError

    (tmp_path / "conf" / "lang").mkdir(parents=True)
    (tmp_path / "conf" / "lang" / "de.yaml").write_text("code: de\nname: German\n")
    path = f"hydra.searchpath=[file://{tmp_path / 'conf'}]"
    cfg = compose_config([path, "analysis=[crosslingual]", "langs=[en,de]"])
    with pytest.raises(ConfigError, match=r"^langs: language 'de' names no corpus in lang/de.yaml"):
        RunSpec.from_config(cfg)
    cfg = compose_config([path, "enhancement=abtt", "enhancement.fit_lang=de"])
    with pytest.raises(ConfigError, match=r"^enhancement.fit_lang: language 'de' names no corpus"):
        RunSpec.from_config(cfg)
    (tmp_path / "conf" / "lang" / "de.yaml").write_text("code: de\nname: German\ntext_file: de.txt\n")
    cfg = compose_config([path, "analysis=[crosslingual]", "langs=[en,de]"])
    with pytest.raises(ConfigError, match=r"^langs: language 'de': its text file .*de.txt does not exist"):
        RunSpec.from_config(cfg)
    (tmp_path / "conf" / "lang" / "de.txt").write_text("Ein Satz.\n")
    spec = RunSpec.from_config(compose_config([path, "analysis=[crosslingual]", "langs=[en,de]"]))
    assert spec.languages["de"].text_file == str(tmp_path / "conf" / "lang" / "de.txt")  # beside its YAML
    assert spec.languages["en"].wikipedia_file == "English.csv"


def test_an_analysis_checks_its_declared_parameters_in_a_notebook_too():
    """The rules declared with @analysis(params=...) hold at every call, not only for a configured run."""
    import numpy as np

    from geomexp.analyses import isotropy_analysis
    from geomexp.errors import ConfigError

    X = np.random.default_rng(0).normal(size=(50, 8))
    with pytest.raises(ConfigError, match=r"analysis.isotropy.ci_level must be in \(0, 1\); got 2"):
        isotropy_analysis(X, n_bootstrap=10, ci_level=2)
    assert isotropy_analysis(X, n_pairs=np.int64(100)).metrics["i_cos"] > -1  # numpy ints pass, as ints
    assert dict(isotropy_analysis.info.params).keys() >= {"n_pairs", "ci_level", "i_pc_signs"}


def test_a_language_is_found_in_a_process_that_never_started_hydra():
    """``python -m geomexp.reproduce`` looks up the run's language before Hydra ever ran in its process;
    Hydra's config-source registry was empty there ("No config source registered for schema file")."""
    import subprocess
    import sys

    code = "from geomexp.config.lookup import load_lang_config as f; print(f('sw').wikipedia_file)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=CONF.parent)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "sawahili.csv"


def test_each_spec_is_built_from_its_schema_section_by_field_name():
    """Issue 25, item 5 (one config layer): a spec built from a config section reads it by field name, so every
    field of the spec must be a setting of that section (or given by the builder); a spec field the schema
    lacks would silently keep its default whatever the YAML says."""
    import dataclasses

    from geomexp.config.schema import DataConfig, ModelConfig, TrackingConfig
    from geomexp.config.spec import DataSpec, SampleSpec, TrackingSpec
    from geomexp.encoders.base import EncoderSpec

    for spec, section, given in (
        (EncoderSpec, ModelConfig, set()),
        (DataSpec, DataConfig, set()),
        (SampleSpec, DataConfig, {"seed"}),
        (TrackingSpec, TrackingConfig, set()),
    ):
        settings = {f.name for f in dataclasses.fields(section)}
        missing = {f.name for f in dataclasses.fields(spec)} - settings - given
        assert not missing, f"{spec.__name__} fields {sorted(missing)} are not settings of {section.__name__}"


def test_a_settings_rule_is_declared_on_its_schema_field_and_checked_in_a_notebook_too():
    """The rules live on the schema (``rule(default, check)``); ``checked`` applies them to a plain dict (no
    Hydra), and a spec built directly checks the relations it holds (``SampleSpec``'s max_length)."""
    from geomexp.config.schema import DataConfig, checked
    from geomexp.config.spec import SampleSpec

    rules = {f.name for f in dataclasses.fields(DataConfig) if "check" in f.metadata}
    assert {"corpus", "sample_unit", "token_sampling", "n_tokens", "n_sentences", "max_length"} <= rules
    assert checked({"data": {"n_tokens": 5, "corpus": "text"}}) == {"data": {"n_tokens": 5, "corpus": "text"}}
    with pytest.raises(ConfigError, match="data.n_tokens must be a positive integer; got 0"):
        checked({"data": {"n_tokens": 0}})
    with pytest.raises(ConfigError, match="data.max_length=2 leaves no room"):
        SampleSpec(max_length=2)
    assert SampleSpec(max_length=2, add_special_tokens=False).max_length == 2


@pytest.mark.parametrize("analysis", ["similarity", "neighbours", "cca", "rsa"])
def test_an_analysis_comparing_layers_on_one_layer_fails_before_any_work(analysis, make_cfg):
    """It failed at its first layer, after the corpus was encoded; now at spec build, naming what to use."""
    with pytest.raises(ConfigError, match=rf"analysis={analysis} compares the layers of a run, but layer=last is one"):
        RunSpec.from_config(make_cfg(f"analysis={analysis}"))
    with pytest.raises(ConfigError, match="layer=6 is one layer"):
        RunSpec.from_config(make_cfg(f"analysis={analysis}", "layer.index=6"))
    for ok in ("layer=all", "layer.index=[0,6]", "layer.every=3"):
        RunSpec.from_config(make_cfg(f"analysis={analysis}", ok))
