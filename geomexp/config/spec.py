"""The typed run spec: the composed config resolved and checked ONCE into frozen dataclasses.

``RunSpec.from_config(cfg)`` (a ``DictConfig`` or a plain dict matching ``geomexp.config.Config``)
is the only place that reads a config; the runner, tasks and tracking take specs. One config
layer: each setting's rule is declared on its schema field (``geomexp.config.schema.rule``), the
specs are built from the checked nodes by field name (``spec_of``), a relation between settings is
checked by the spec that holds them (``__post_init__``), and what a component asks of the run
(an analysis's parameters, an enhancer's, an input's) by that component. Every check raises
``ConfigError`` naming the bad value and what is allowed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geomexp.analyses.base import AnalysisInfo, check_analysis_params
from geomexp.analyses.keys import ENHANCED, space_suffix
from geomexp.config.schema import ModelConfig, checked, tracking_uri
from geomexp.encoders.base import EncoderSpec
from geomexp.errors import ConfigError
from geomexp.layers import LayerChoice, layer_label, parse_layer

if TYPE_CHECKING:
    from geomexp.data.corpus import CorpusSource


def spec_of(cls, node: dict, **given):
    """``cls`` (a spec dataclass) built from the entries of ``node`` (a checked config section) that name
    its fields, and the ``given`` ones; keys the spec does not hold are not read."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in node.items() if k in names and k not in given}, **given)


class UntrustedTargetError(ConfigError):
    """A config names a ``_target_`` outside the modules the caller trusts (e.g. a stored config)."""


def check_trusted(path: str, trusted: tuple[str, ...] | None, what: str) -> None:
    """Refuse ``path`` unless the caller trusts it (None: the caller trusts any, a config you composed).

    With ``trusted`` (a stored config): a geomexp target must be a registered component (the
    ``_target_`` of a shipped config option, ``geomexp.config.registry``), and a target in another
    trusted module must name an object defined in that module; never an attribute walk such as
    ``geomexp.tracking.store.subprocess.run``.
    """
    if trusted is None:
        return
    from geomexp.config.registry import component_targets, resolve_defined

    path = str(path)
    prefix = next(
        (t.rstrip(".") for t in trusted if path == t.rstrip(".") or path.startswith(t.rstrip(".") + ".")), None
    )
    if prefix is None:
        raise UntrustedTargetError(
            f"{what}._target_={path!r} is not imported: only targets in {sorted(trusted)} are trusted here; "
            f"if this is your own code, pass --trust {path.split('.')[0]}"
        )
    if prefix == "geomexp":
        if path not in component_targets():
            raise UntrustedTargetError(
                f"{what}._target_={path!r} is not a registered geomexp component (the _target_ of an option in "
                f"conf/analysis or conf/enhancement); a stored config may name only those"
            )
        return
    try:
        resolve_defined(path, prefix)
    except LookupError as err:
        raise UntrustedTargetError(f"{what}._target_ refused: {err}") from err


def check_known_keys(resolved: dict) -> None:
    """``ConfigError`` for a key the schema does not know (``+data.n_token=5`` ran and sampled the
    default 10,000 tokens; issue 26), naming the closest known key."""
    import difflib

    from geomexp.config.schema import unknown_keys

    for key, known in unknown_keys(resolved):
        leaf = key.rsplit(".", 1)[-1]
        close = difflib.get_close_matches(leaf, known, n=1)
        where = key.rpartition(".")[0]
        hint = f"did you mean {(where + '.' if where else '') + close[0]}?" if close else f"known: {known}"
        raise ConfigError(f"{key} is not a geomexp setting; {hint}")


def load_target(path: str, what: str):
    """The object named by the dotted ``path`` (a ``_target_``), or a ``ConfigError`` naming ``what``."""
    from hydra.utils import get_object

    try:
        return get_object(str(path))
    except Exception as err:
        raise ConfigError(f"{what}._target_={path!r} cannot be imported: {err}") from err


@dataclass(frozen=True)
class LangSpec:
    """A language: ISO code, name, and its corpus: the paper's Wikipedia CSV (``wikipedia_file``, with
    MD5) or a ``text_file`` (absolute path, one sentence a line; it wins when both are set)."""

    code: str
    name: str
    wikipedia_file: str | None = None
    wikipedia_md5: str | None = None
    text_file: str | None = None

    @classmethod
    def load(cls, code: str) -> LangSpec:
        """The spec of ``lang/<code>.yaml`` on the config search path (``conf/`` and ``hydra.searchpath``;
        ``ConfigError`` listing the known codes otherwise)."""
        from omegaconf import OmegaConf

        from geomexp.config.lookup import load_lang_config

        return cls(**OmegaConf.to_container(load_lang_config(code)))

    def corpus_source(self) -> CorpusSource | None:
        """Where this language's sentences come from (None: it names no corpus)."""
        from geomexp.data.corpus import TextFile, WikipediaCsv

        if self.text_file:
            return TextFile(self.text_file, setting=f"text_file of language {self.code}")
        if self.wikipedia_file:
            return WikipediaCsv(self.wikipedia_file, self.wikipedia_md5)
        return None

    def check_corpus(self, why: str) -> None:
        """``ConfigError`` unless this language has a corpus that can be read (``why``: the setting asking)."""
        source = self.corpus_source()
        if source is None:
            raise ConfigError(
                f"{why}: language {self.code!r} names no corpus in lang/{self.code}.yaml; give it one "
                "(wikipedia_file and wikipedia_md5, or text_file: a file with one sentence a line) or "
                + ("use data.corpus=text with data.text_file=..." if why == "lang" else "leave it out")
            )
        problem = source.problem()
        if problem:
            raise ConfigError(f"{why}: language {self.code!r}: {problem}")


def run_language(node: dict) -> LangSpec:
    """The run's own language from its composed ``lang`` node: a relative ``text_file`` is read beside the
    language's YAML (as ``LangSpec.load`` reads it), else from the working directory."""
    node = dict(node)
    if node.get("text_file") and not Path(node["text_file"]).expanduser().is_absolute():
        from geomexp.config.lookup import find_option, resolve_beside

        try:
            folder = find_option("lang", node["code"]).folder
        except ConfigError:
            folder = None
        node["text_file"] = str(resolve_beside(node["text_file"], folder or Path.cwd()))
    return LangSpec(**node)


def encoder_option(name: str, *, device: str = "auto", dtype: str | None = None) -> EncoderSpec:
    """The ``EncoderSpec`` of model option ``name`` (``conf/model/<name>.yaml``; ``ConfigError`` listing the
    known ones otherwise), on ``device`` and, if given, in ``dtype`` (else the option's own)."""
    from omegaconf import OmegaConf

    from geomexp.config.lookup import load_model_config

    m = checked(OmegaConf.to_container(load_model_config(name)), ModelConfig, "model.")
    return spec_of(EncoderSpec, m, device=device, dtype=dtype or m["dtype"])


@dataclass(frozen=True)
class DataSpec:
    """Where corpora and STS files come from (none of it changes results, only availability)."""

    corpus: str = "wikipedia"
    root: str | None = None
    download_dir: str = "."
    download: bool = True
    base_url: str = ""
    text_file: str | None = None

    def __post_init__(self):
        if not self.root:
            object.__setattr__(self, "root", None)  # an empty data.root is none

    def check_uses(self, *, analyses: bool, fit_lang: str | None, compares: bool) -> None:
        """``ConfigError`` where the run needs what this corpus choice cannot give: one text file read for
        every language cannot serve a run that compares languages or fits on another one."""
        if self.corpus != "text" or not analyses:
            return
        if not self.text_file:
            raise ConfigError("data.corpus=text needs data.text_file=<path to a file with one sentence a line>")
        if fit_lang:
            raise ConfigError(
                f"enhancement.fit_lang={fit_lang} needs a corpus per language, but data.corpus=text "
                "reads the one data.text_file for every language: use data.corpus=wikipedia (each language's "
                "own corpus), or enhancement.fit_lang=null to fit on the text file itself"
            )
        if compares:
            raise ConfigError(
                "comparing languages (langs=...) needs a corpus per language, but data.corpus=text reads the "
                "one data.text_file for every language: use data.corpus=wikipedia (each language's own corpus)"
            )


@dataclass(frozen=True)
class SampleSpec:
    """Which tokens are sampled: ``n_tokens`` tokens (drawn as ``token_sampling`` says) or every
    token of ``n_sentences`` sentences (``sample_unit``)."""

    sample_unit: str = "tokens"
    n_tokens: int = 10000
    token_sampling: str = "uniform"
    n_sentences: int = 500
    allow_fewer: bool = False
    add_special_tokens: bool = True
    max_length: int = 512
    long_sentences: str = "cut"
    seed: int = 0

    def __post_init__(self):
        if self.add_special_tokens and self.max_length < 3:  # HF would not truncate at all (it warns only)
            raise ConfigError(
                f"data.max_length={self.max_length} leaves no room for a content token beside the 2 special "
                "tokens ([CLS]/[SEP], <s>/</s>): use 3 or more (or data.add_special_tokens=false)"
            )


@dataclass(frozen=True)
class EnhancementSpec:
    """An isotropy enhancement: the estimator class ``target`` with ``params``; ``fit_lang`` None = individual."""

    name: str
    target: str
    params: dict = field(default_factory=dict, hash=False)
    fit_lang: str | None = None
    save: bool = True

    def build(self):
        """A new, unfitted enhancer (sklearn estimator shape: ``fit(X)``, ``transform(X)``)."""
        cls = load_target(self.target, "enhancement.params")
        try:
            return cls(**self.params)
        except TypeError as err:
            allowed = sorted(cls._get_param_names()) if hasattr(cls, "_get_param_names") else "see its docstring"
            raise ConfigError(f"enhancement {self.name!r}: {err}; its parameters: {allowed}") from err

    @property
    def suffix(self) -> str:
        """Metric-key suffix of values measured in the enhanced space: ``/<name>`` or ``/<name>/zero_shot``."""
        return space_suffix(self.name, zero_shot=bool(self.fit_lang))

    @property
    def label(self) -> str:
        """``cluster`` or ``cluster fit on en`` (titles)."""
        return self.name + (f" fit on {self.fit_lang}" if self.fit_lang else "")


@dataclass(frozen=True)
class AnalysisSpec:
    """One selected analysis: its function, its parameters and its declared ``info``."""

    name: str
    target: str
    fn: Any = field(hash=False, compare=False)
    params: dict = field(default_factory=dict, hash=False)

    @property
    def info(self) -> AnalysisInfo:
        return self.fn.info

    @property
    def inputs(self) -> set[str]:
        return self.info.inputs(self.params)


@dataclass(frozen=True)
class TaskSpec:
    """One selected task (see ``geomexp.tasks``): the task object built from its parameters."""

    name: str
    target: str
    task: Any = field(hash=False, compare=False)
    params: dict = field(default_factory=dict, hash=False)

    @property
    def info(self) -> AnalysisInfo:
        return self.task.info


@dataclass(frozen=True)
class TrackingSpec:
    """MLflow: where runs go (``uri``: None when tracking is off) and how they are named and resumed."""

    enabled: bool = True
    uri: str | None = None
    experiment: str = "geomexp"
    run_name: str | None = None
    figures: str = "summary"
    log_figures: bool = True
    resume: bool = True

    def __post_init__(self):
        uri = tracking_uri(self.uri, "tracking.uri") if self.enabled else None  # unused when tracking is off
        object.__setattr__(self, "uri", uri)
        if not self.log_figures:
            object.__setattr__(self, "figures", "none")  # the older switch says the same

    def figure_layers(self, layers) -> set[int]:
        """The layers (of ``layers``, in run order) whose per-layer figures are drawn."""
        layers = list(layers)
        if self.figures == "all":
            return set(layers)
        return {layers[-1]} if self.figures == "summary" and layers else set()


@dataclass(frozen=True)
class RunSpec:
    """One run, fully resolved. ``resolved`` is the whole resolved config (logged as an artifact)."""

    encoder: EncoderSpec
    batch_size: int
    lang: LangSpec
    langs: tuple[str, ...]
    layer: LayerChoice
    data: DataSpec
    sample: SampleSpec
    enhancement: EnhancementSpec | None
    analyses: tuple[AnalysisSpec, ...]
    tasks: tuple[TaskSpec, ...]
    tracking: TrackingSpec
    root_dir: str
    cache_dir: str
    output_dir: str | None
    progress: bool = True
    tags: dict = field(default_factory=dict, hash=False)
    multilingual: bool = False
    seeds: tuple[int, ...] | None = None
    layer_every: int | None = None
    layer_extract: str = "all"
    languages: dict = field(default_factory=dict, hash=False)  # code -> LangSpec: lang, langs and fit_lang
    model_named: bool = False  # model.path is the one its model option's YAML names (a named local model)
    resolved: dict = field(default_factory=dict, hash=False, compare=False, repr=False)

    @property
    def seed(self) -> int:
        return self.sample.seed

    def with_seed(self, seed: int) -> RunSpec:
        """This run with another seed and no ``seeds``: the sample, the analyses' seed and the
        enhancement's ``random_state`` where it is the run's seed (``${seed}``, the default)."""
        enh = self.enhancement
        if enh is not None and enh.params.get("random_state") == self.seed:
            enh = dataclasses.replace(enh, params={**enh.params, "random_state": seed})
        sample = dataclasses.replace(self.sample, seed=seed)
        return dataclasses.replace(self, sample=sample, enhancement=enh, seeds=None)

    @property
    def uses_corpus(self) -> bool:
        """Whether the run samples its language's corpus (any analysis; tasks encode their own data)."""
        return bool(self.analyses)

    @property
    def corpus_languages(self) -> tuple[str, ...]:
        """Codes of the languages whose own corpus (their ``lang/<code>.yaml`` source) the run reads."""
        codes = [self.lang.code] if self.uses_corpus and self.data.corpus == "wikipedia" else []
        codes += list(self.langs) if self.compares_languages else []
        codes += [self.enhancement.fit_lang] if self.enhancement and self.enhancement.fit_lang else []
        return tuple(dict.fromkeys(codes))

    @property
    def compares_languages(self) -> bool:
        """Whether an analysis needs every language of ``langs`` (``lang_reps``), e.g. crosslingual."""
        return any("lang_reps" in a.inputs for a in self.analyses)

    @property
    def infos(self) -> list[AnalysisInfo]:
        return [a.info for a in self.analyses] + [t.info for t in self.tasks]

    @classmethod
    def from_config(cls, cfg, *, trusted: tuple[str, ...] | None = None) -> RunSpec:
        """Resolve and check a composed config (``DictConfig`` or dict); raises ``ConfigError``.

        trusted: module prefixes whose ``_target_``s may be imported (e.g. ``("geomexp",)`` for a
        config read back from a tracking store); None trusts every target (a config you composed).
        """
        from omegaconf import DictConfig, OmegaConf

        from geomexp.config.schema import validate

        cfg = validate(cfg) if not isinstance(cfg, DictConfig) else cfg.copy()
        if OmegaConf.select(cfg, "paths.output_dir", throw_on_resolution_failure=False) is None:
            cfg.paths.output_dir = None  # Hydra's output dir is unset under the compose API
        resolved = OmegaConf.to_container(cfg, resolve=True)
        check_known_keys(resolved)
        return cls._build(resolved, trusted)

    @classmethod
    def _build(cls, c: dict, trusted: tuple[str, ...] | None = None) -> RunSpec:
        """The spec of a resolved config ``c`` (kept as ``resolved``; a scalar ``layer.index`` is written back
        as a string and a task's normalised parameters into its node, so the identity reads what ran)."""
        if not isinstance(c["layer"]["index"], list):  # a scalar reads as before lists were allowed (identity)
            c["layer"]["index"] = str(c["layer"]["index"])
        ok = checked(c)  # every setting by its schema rule
        encoder = spec_of(EncoderSpec, ok["model"])
        data = spec_of(DataSpec, ok["data"])
        sample = spec_of(SampleSpec, ok["data"], seed=ok["seed"])
        lang = run_language(c["lang"])
        analyses, tasks = _analyses_and_tasks(c["analysis"], trusted)
        enhancement = _enhancement(c["enhancement"], sample, trusted)
        langs = tuple(c["langs"])
        compares = any("lang_reps" in a.inputs for a in analyses)
        fit_lang = enhancement.fit_lang if enhancement else None
        data.check_uses(analyses=bool(analyses), fit_lang=fit_lang, compares=compares)
        needs_corpus = {  # languages whose own corpus the run reads: checked before any load
            **({lang.code: "lang"} if analyses and data.corpus == "wikipedia" else {}),
            **({code: "langs" for code in langs} if compares else {}),
            **({fit_lang: "enhancement.fit_lang"} if fit_lang else {}),
        }
        languages = {lang.code: lang}
        for code in dict.fromkeys((*langs, *needs_corpus)):
            languages.setdefault(code, LangSpec.load(code))
        for code, why in needs_corpus.items():
            languages[code].check_corpus(why)
        layer = parse_layer(c["layer"]["index"], allow_list=True)
        for a in analyses:  # what an input asks of the run, checked by the input's own rule
            for name in sorted(a.inputs & set(INPUT_CHECKS)):
                INPUT_CHECKS[name](a, langs=langs, encoder=encoder, layer=layer, layer_every=ok["layer"]["every"])
        p = c["paths"]
        return cls(
            seeds=tuple(ok["seeds"]) if ok["seeds"] is not None else None,
            encoder=encoder,
            batch_size=ok["model"]["batch_size"],
            lang=lang,
            langs=langs,
            languages=languages,
            layer=layer,
            layer_every=ok["layer"]["every"],
            layer_extract=ok["layer"]["extract"],
            data=data,
            sample=sample,
            enhancement=enhancement,
            analyses=analyses,
            tasks=tasks,
            tracking=spec_of(TrackingSpec, ok["tracking"]),
            root_dir=str(p["root_dir"]),
            cache_dir=str(p["cache_dir"]),
            output_dir=p.get("output_dir"),
            progress=ok["progress"],
            tags={str(k): str(v) for k, v in (c.get("tags") or {}).items()},
            multilingual=bool(ok["model"].get("multilingual", False)),
            model_named=_names_its_folder(encoder),
            resolved=c,
        )


def _names_its_folder(encoder: EncoderSpec) -> bool:
    """Whether ``encoder.path`` is the folder its model option's YAML names (``name: tiny_gpt2`` with
    ``path: ...`` in a user's ``model/tiny_gpt2.yaml``), not one set over another option (``model=bert
    model.path=/models/x``): then the run is labelled by the option's name, else by the folder."""
    if not encoder.path:
        return False
    from geomexp.config.lookup import find_option

    try:
        own = find_option("model", encoder.name).node.get("path")
    except ConfigError:
        return False
    if not isinstance(own, str) or "${" in own:
        return False
    return Path(own).expanduser().resolve() == Path(encoder.path).expanduser().resolve()


def _check_compared_languages(a: AnalysisSpec, *, langs, **_) -> None:
    """``lang_reps``: two or more languages to compare (each one's corpus is checked with the others)."""
    if len(langs) < 2:
        raise ConfigError(f"analysis {a.name!r} compares languages: give two or more, e.g. langs=[en,es,ar,tr,sw,su]")


def _check_other_model(a: AnalysisSpec, *, encoder: EncoderSpec, **_) -> None:
    """``model_pair``: the analysis's ``other`` names a model option (conf/ or hydra.searchpath)."""
    other = a.params.get("other")
    if not isinstance(other, str) or not other:
        raise ConfigError(
            f"analysis.{a.name}.other must name a model option of conf/model (e.g. minilm); got {other!r}"
        )
    encoder_option(other, device=encoder.device)


def _check_compared_layers(a: AnalysisSpec, *, layer, layer_every, **_) -> None:
    """``layer_reps``: two or more layers to compare (``layer=all``, a list, or ``layer.every``), said before
    any model loads rather than at the first layer."""
    one = layer == "last" or isinstance(layer, int) or (isinstance(layer, tuple) and len(set(layer)) < 2)
    if layer_every is None and one:
        raise ConfigError(
            f"analysis={a.name} compares the layers of a run, but layer={layer_label(layer)} is one layer: use "
            "layer=all, a list (layer=[0,6,12]) or layer.every=N"
        )


#: input -> check(analysis spec, langs=..., encoder=..., layer=..., layer_every=...) of what the input needs
#: from the run's config
INPUT_CHECKS = {
    "lang_reps": _check_compared_languages,
    "model_pair": _check_other_model,
    "layer_reps": _check_compared_layers,
}


def _analyses_and_tasks(nodes: dict, trusted=None) -> tuple[tuple[AnalysisSpec, ...], tuple[TaskSpec, ...]]:
    """Split ``cfg.analysis`` into analyses (functions with ``info``) and tasks (classes with ``evaluate``)."""
    if not nodes:
        raise ConfigError("no analysis selected: use e.g. analysis=[isotropy]")
    analyses, tasks = [], []
    for name, node in nodes.items():
        if not isinstance(node, dict) or "_target_" not in node:
            raise ConfigError(f"analysis.{name} has no _target_ (the function or task class to call)")
        params = {k: v for k, v in node.items() if k != "_target_"}
        check_trusted(str(node["_target_"]), trusted, f"analysis.{name}")
        target = load_target(node["_target_"], f"analysis.{name}")
        info = getattr(target, "info", None)
        if not isinstance(info, AnalysisInfo):
            raise ConfigError(
                f"analysis.{name}._target_={node['_target_']!r} declares no AnalysisInfo: decorate the function with "
                "@geomexp.analyses.base.analysis(...) or give the task class an `info` (see docs/extending.md)"
            )
        if info.kind != "task":  # each analysis declares its parameters' rules; a task checks its own when built
            params = check_analysis_params(name, target, params)
        if info.kind == "task":
            try:
                task = target(**params)
            except TypeError as err:
                raise ConfigError(f"analysis.{name}: {err}") from err
            if dataclasses.is_dataclass(
                task
            ):  # its parameters as the task normalised them (a track alias -> its number)
                params = {f.name: getattr(task, f.name) for f in dataclasses.fields(task)}
                node.update(params)  # the resolved config (and so the measurement identity) says the same
            tasks.append(TaskSpec(name=name, target=node["_target_"], task=task, params=params))
        else:
            analyses.append(AnalysisSpec(name=name, target=node["_target_"], fn=target, params=params))
    return tuple(analyses), tuple(tasks)


def _enhancement(node: dict, sample: SampleSpec, trusted=None) -> EnhancementSpec | None:
    """The enhancement spec (None for ``none``), its parameters checked by building one."""
    if node["name"] == "none":
        return None
    if node["name"] == ENHANCED:
        raise ConfigError(
            f"enhancement.name={ENHANCED!r} is reserved (the method-agnostic name of an enhanced space in MLflow); "
            "name the method, e.g. enhancement.name=my_method"
        )
    params = dict(node.get("params") or {})
    target = params.pop("_target_", None)
    if not target:
        from geomexp.config.schema import config_dir

        known = sorted(p.stem for p in (config_dir() / "enhancement").glob("*.yaml"))
        raise ConfigError(
            f"enhancement.name={node['name']!r} has no params._target_ (the enhancer class): "
            f"choose enhancement=<option> from conf/enhancement: {known}"
        )
    check_trusted(str(target), trusted, "enhancement.params")
    spec = EnhancementSpec(
        name=node["name"], target=target, params=params, fit_lang=node["fit_lang"] or None, save=bool(node["save"])
    )
    enhancer = spec.build()
    if hasattr(enhancer, "check_params"):
        enhancer.check_params()  # unknown method or parameter, k < 1, D < 0: fail now
    if sample.sample_unit == "tokens" and hasattr(enhancer, "check_shape"):  # its rules on the rows, e.g. k <= rows
        try:
            enhancer.check_shape(n_rows=sample.n_tokens)
        except ConfigError as err:
            raise ConfigError(
                f"enhancement.params.{err} (its rows: the data.n_tokens={sample.n_tokens} sampled tokens)"
            ) from None
    return spec
