"""The experiment pipeline: config -> corpus -> encoder -> cached token representations
-> (enhancement) -> analyses -> MLflow.

``run(cfg)`` is what ``run.py`` calls; it is also usable without Hydra, on any
config that matches ``geomexp.config.Config``.
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from geomexp.analyses.base import AnalysisResult
from geomexp.cache import cache_key, load_sample, save_sample
from geomexp.config import load_lang_config
from geomexp.data import Corpus, load_text_corpus, load_wikipedia_corpus
from geomexp.encoders import EncoderInfo, EncoderSpec, describe_encoder, load_encoder
from geomexp.encoders.loading import output_layernorm_weights
from geomexp.errors import ConfigError
from geomexp.extraction import TokenSample, extract_tokens
from geomexp.tracking import RunLogger, flatten, git_state, parent_run_id_for_job, tracked_run

log = logging.getLogger(__name__)

CORPORA = ("wikipedia", "text")
SAMPLE_UNITS = ("tokens", "sentences")
ENHANCEMENTS = ("none",)


@dataclass
class RunResult:
    """What a run produced: ``metrics[(name, layer)]``, the MLflow run id, the cache key and hit."""

    run_id: str | None
    metrics: dict[tuple[str, int], float] = field(default_factory=dict)
    cache_key: str = ""
    cache_hit: bool = False
    layers: list[int] = field(default_factory=list)


def parse_layer_index(index: str) -> str | int:
    """``"last"``/``"all"`` or an int from ``layer.index``; raise ``ConfigError`` otherwise."""
    text = str(index).strip().lower()
    if text in ("last", "all"):
        return text
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"layer.index={index!r} is not valid: use last, all, or an integer layer (0 = embeddings)") from None


def resolve_layers(index: str | int, num_layers: int, model_name: str) -> list[int]:
    """Layer indices to analyse, given ``num_layers`` transformer layers (0 = embeddings, negative counts back)."""
    if index == "all":
        return list(range(num_layers + 1))
    if index == "last":
        return [num_layers]
    if not -(num_layers + 1) <= index <= num_layers:
        raise ConfigError(
            f"layer.index={index} is out of range for model {model_name!r}, which has {num_layers} layers: "
            f"use 0..{num_layers} (0 = embedding output), last or all"
        )
    return [index % (num_layers + 1)]


def check_config(cfg: DictConfig) -> None:
    """Cheap checks of values the schema cannot express; each error names the value and what is allowed."""
    if cfg.data.corpus not in CORPORA:
        raise ConfigError(f"data.corpus={cfg.data.corpus!r} is not known; choose one of {list(CORPORA)}")
    if cfg.data.corpus == "text" and not cfg.data.text_file:
        raise ConfigError("data.corpus=text needs data.text_file=<path to a file with one sentence a line>")
    if cfg.data.corpus == "wikipedia" and not cfg.lang.wikipedia_file:
        raise ConfigError(f"lang={cfg.lang.code!r} has no wikipedia_file; use data.corpus=text with data.text_file=...")
    if cfg.data.sample_unit not in SAMPLE_UNITS:
        raise ConfigError(f"data.sample_unit={cfg.data.sample_unit!r} is not known; choose one of {list(SAMPLE_UNITS)}")
    for key in ("data.n_tokens", "data.n_sentences", "data.max_length", "model.batch_size"):
        value = OmegaConf.select(cfg, key)
        if value < 1:
            raise ConfigError(f"{key} must be a positive integer; got {value}")
    if cfg.enhancement.name not in ENHANCEMENTS:
        raise ConfigError(f"enhancement={cfg.enhancement.name!r} is not known; choose one of {list(ENHANCEMENTS)}")
    if not cfg.analysis:
        raise ConfigError("no analysis selected: use e.g. analysis=[isotropy]")
    for name, node in cfg.analysis.items():
        if "_target_" not in node:
            raise ConfigError(f"analysis.{name} has no _target_ (the function to call)")
        for key, value in node.items():
            is_count = key.startswith("n_") or key.endswith("_points")
            if is_count and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ConfigError(f"analysis.{name}.{key} must be a positive integer; got {value!r}")
    parse_layer_index(cfg.layer.index)
    needs = analysis_needs(cfg)
    if "lang_reps" in needs and len(cfg.langs) < 2:
        raise ConfigError(f"analysis {sorted(cfg.analysis.keys())} compares languages: give two or more, e.g. langs=[en,es,ar,tr,sw,su]")
    for code in cfg.langs:
        load_lang_config(code)


def encoder_spec(cfg: DictConfig) -> EncoderSpec:
    """The ``EncoderSpec`` of ``cfg.model``."""
    m = cfg.model
    return EncoderSpec(name=m.name, source=m.source, hf_id=m.hf_id, path=m.path, revision=m.revision, dtype=m.dtype, device=m.device)


def load_corpus(data: DictConfig, lang: DictConfig) -> Corpus:
    """The corpus of language ``lang`` as ``data`` (``cfg.data``) says: data root, download, or a text file."""
    if data.corpus == "text":
        return load_text_corpus(lang.code, data.text_file)
    return load_wikipedia_corpus(
        lang.code,
        lang.wikipedia_file,
        root=data.root or None,
        download_dir=data.download_dir,
        download=data.download,
        md5=lang.wikipedia_md5,
        base_url=data.base_url,
    )


def sample_description(cfg: DictConfig, info: EncoderInfo, corpus: Corpus) -> dict:
    """Everything that determines the sampled representations (the cache key's content)."""
    return {
        "model": info.identity,
        "corpus": {"lang": corpus.lang, "checksum": corpus.checksum},
        "sample_unit": cfg.data.sample_unit,
        "n_tokens": int(cfg.data.n_tokens) if cfg.data.sample_unit == "tokens" else None,
        "n_sentences": int(cfg.data.n_sentences) if cfg.data.sample_unit == "sentences" else None,
        "allow_fewer": bool(cfg.data.allow_fewer),
        "seed": int(cfg.seed),
        "add_special_tokens": bool(cfg.data.add_special_tokens),
        "max_length": int(min(cfg.data.max_length, info.max_length)),
    }


class LazyEncoder:
    """Loads the encoder the first time it is needed (never on a full cache hit), then keeps it."""

    def __init__(self, spec: EncoderSpec, info: EncoderInfo):
        self.spec, self.info, self._encoder = spec, info, None

    def __call__(self):
        if self._encoder is None:
            self._encoder = load_encoder(self.spec, self.info)
        return self._encoder


def get_token_sample(cfg: DictConfig, encoder: LazyEncoder, corpus: Corpus) -> tuple[TokenSample, str, bool]:
    """The sampled representations from the cache, or encoded now and cached. Returns (sample, key, hit)."""
    spec, info = encoder.spec, encoder.info
    description = sample_description(cfg, info, corpus)
    key = cache_key(description)
    sample = load_sample(cfg.paths.cache_dir, key)
    if sample is not None:
        log.info("cache hit %s", key[:12])
        return sample, key, True
    enc = encoder()
    sample = extract_tokens(
        enc.model,
        enc.tokenizer,
        corpus.sentences,
        n_tokens=description["n_tokens"],
        n_sentences=description["n_sentences"],
        seed=description["seed"],
        allow_fewer=description["allow_fewer"],
        add_special_tokens=description["add_special_tokens"],
        max_length=description["max_length"],
        batch_size=int(cfg.model.batch_size),
        device=enc.device,
        progress=bool(cfg.progress),
        what=f"the {corpus.lang} corpus ({corpus.source}) tokenized by {spec.name}",
    )
    save_sample(cfg.paths.cache_dir, key, sample, description)
    return sample, key, False


def accepted_kwargs(fn, available: dict) -> dict:
    """The entries of ``available`` that ``fn`` takes as keyword arguments (all of them if it has ``**kwargs``)."""
    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return dict(available)
    return {k: v for k, v in available.items() if k in params}


def analysis_function(name: str, node: DictConfig):
    """The function named by ``analysis.<name>._target_``."""
    from hydra.utils import get_method

    try:
        return get_method(node._target_)
    except Exception as err:
        raise ConfigError(f"analysis.{name}._target_={node._target_!r} cannot be imported: {err}") from err


def analysis_needs(cfg: DictConfig) -> set[str]:
    """Names of the keyword arguments that the selected analyses accept (what context to prepare)."""
    return {p for name, node in cfg.analysis.items() for p in inspect.signature(analysis_function(name, node)).parameters}


def run_analysis(name: str, node: DictConfig, X, context: dict) -> AnalysisResult:
    """Call the function named by ``node._target_`` on ``X`` (N, d).

    The node's other keys are its parameters; from ``context`` the function gets
    those it names among: ``seed``, ``title``, ``layer``, ``lang``, ``model_name``,
    ``sample`` (the ``TokenSample``, for token metadata), ``sentences`` (the corpus)
    ``lang_reps`` (``{code: (N, d) array}`` of the same layer for ``cfg.langs``) and
    ``layernorm_weights`` (a callable returning the (L, d) output-LayerNorm weights; loads the model).
    """
    fn = analysis_function(name, node)
    params = OmegaConf.to_container(node, resolve=True)
    params.pop("_target_")
    return fn(X, **accepted_kwargs(fn, context), **params)


def hydra_context() -> dict:
    """Tags and locations from Hydra when running under it: choices, overrides, output dir, sweep."""
    try:
        from hydra.core.hydra_config import HydraConfig

        if not HydraConfig.initialized():
            return {}
        hc = HydraConfig.get()
    except Exception:
        return {}
    ctx = {
        "choices": {k: str(v) for k, v in hc.runtime.choices.items() if not k.startswith("hydra/") and k != "hydra"},
        "overrides": list(hc.overrides.task),
        "output_dir": hc.runtime.output_dir,
        "is_sweep_job": "num" in hc.job,
    }
    if ctx["is_sweep_job"]:
        ctx["sweep_dir"] = hc.sweep.dir
    return ctx


def log_results(logger: RunLogger, name: str, layer: int, result: AnalysisResult, *, per_layer: bool, log_figures: bool) -> None:
    """Log one analysis result of one layer: metrics (step=layer if ``per_layer``), figures, tables."""
    logger.log_metrics(result.metrics, step=layer if per_layer else None)
    logger.set_tags(result.tags)
    prefix = f"{name}/layer_{layer:02d}" if per_layer else name
    for fname, table in result.tables.items():
        logger.log_dict(table, f"tables/{prefix}/{fname}")
    for fname, fig in result.figures.items():
        if log_figures:
            logger.log_figure(fig, f"figures/{prefix}/{fname}")
        else:
            import matplotlib.pyplot as plt

            plt.close(fig)


def log_layer_curves(logger: RunLogger, layers: list[int], by_layer: dict[str, list[float]], title: str, *, log_figures: bool) -> None:
    """The numbers as ``tables/metrics_by_layer.json`` and (if ``log_figures``) one metric-vs-layer figure per metric."""
    from geomexp.plots import metric_vs_layer

    logger.log_dict({"layer": layers, **by_layer}, "tables/metrics_by_layer.json")
    for metric, values in by_layer.items() if log_figures else ():
        fig = metric_vs_layer(layers, {metric: values}, title=f"{metric} — {title}", ylabel=metric)
        logger.log_figure(fig, f"figures/by_layer/{metric.replace('/', '_')}.png")


def summary(result: RunResult, cfg: DictConfig, uri: str | None) -> str:
    """A few lines for the console: the metrics per layer and where the run was logged."""
    names = sorted({name for name, _ in result.metrics})
    hidden = max(0, len(names) - 8)
    names = names[:8]
    lines = [f"{cfg.model.name} · {cfg.lang.code} · {len(result.layers)} layer(s) · cache {'hit' if result.cache_hit else 'miss'}"]
    lines.append("layer  " + "  ".join(f"{n:>12}" for n in names))
    for layer in result.layers:
        lines.append(f"{layer:>5}  " + "  ".join(f"{result.metrics.get((n, layer), float('nan')):>12.5g}" for n in names))
    if hidden:
        lines.append(f"... and {hidden} more metrics in MLflow")
    if uri:
        lines.append(f"MLflow run {result.run_id} in {uri} (experiment {cfg.tracking.experiment!r})")
    return "\n".join(lines)


def run(cfg: DictConfig) -> RunResult:
    """Run one job: encode (or load from cache), analyse every selected layer, log to MLflow."""
    check_config(cfg)
    spec = encoder_spec(cfg)
    layer_choice = parse_layer_index(cfg.layer.index)
    hydra_ctx = hydra_context()
    run_name = cfg.tracking.run_name or f"{cfg.model.name}-{cfg.lang.code}-{cfg.layer.index}"
    parent = parent_run_id_for_job(hydra_ctx.get("sweep_dir")) if hydra_ctx.get("is_sweep_job") else None
    tags = {
        "model": cfg.model.name,
        "lang": cfg.lang.code,
        "layer": str(cfg.layer.index),
        "analyses": ",".join(cfg.analysis.keys()),
        "enhancement": cfg.enhancement.name,
        **{f"choice.{k}": v for k, v in hydra_ctx.get("choices", {}).items()},
        "overrides": " ".join(hydra_ctx.get("overrides", [])),
        **git_state(cfg.paths.root_dir),
        **cfg.tags,
    }
    uri = str(cfg.tracking.uri) if cfg.tracking.enabled else None
    resolved = OmegaConf.to_container(cfg, resolve=True)
    with tracked_run(uri, cfg.tracking.experiment, run_name, parent_run_id=parent, tags=tags) as logger:
        logger.log_params(flatten(resolved))
        logger.log_dict(resolved, "config/config.yaml")
        if hydra_ctx.get("output_dir"):
            logger.log_artifacts(Path(hydra_ctx["output_dir"]) / ".hydra", "hydra")

        corpus = load_corpus(cfg.data, cfg.lang)
        info = describe_encoder(spec)
        layers = resolve_layers(layer_choice, info.num_layers, spec.name)
        logger.set_tags({"corpus_source": corpus.source, "corpus_checksum": corpus.checksum, "num_layers": info.num_layers})
        encoder = LazyEncoder(spec, info)
        sample, key, hit = get_token_sample(cfg, encoder, corpus)
        logger.set_tags({"cache_key": key, "cache_hit": str(hit).lower(), "n_tokens": sample.n_tokens})
        lang_samples = {}
        if "lang_reps" in analysis_needs(cfg):
            for code in cfg.langs:
                if code == cfg.lang.code:
                    lang_samples[code] = sample
                else:
                    other = load_corpus(cfg.data, load_lang_config(code))
                    lang_samples[code] = get_token_sample(cfg, encoder, other)[0]

        per_layer = layer_choice == "all"
        by_layer: dict[str, list[float]] = {}
        result = RunResult(run_id=logger.run_id, cache_key=key, cache_hit=hit, layers=layers)
        with logger.deferred():  # all layers' results are written together, or none
            for layer in layers:
                X = sample.layer(layer)
                context = {
                    "seed": int(cfg.seed),
                    "title": f"{cfg.model.name} · {cfg.lang.code} · layer {layer}",
                    "layer": layer,
                    "lang": cfg.lang.code,
                    "model_name": cfg.model.name,
                    "sample": sample,
                    "sentences": corpus.sentences,
                    "lang_reps": {code: s.layer(layer) for code, s in lang_samples.items()},
                    "layernorm_weights": lambda: output_layernorm_weights(encoder().model),
                }
                for name, node in cfg.analysis.items():
                    out = run_analysis(name, node, X, context)
                    log_results(logger, name, layer, out, per_layer=per_layer, log_figures=cfg.tracking.log_figures)
                    for metric, value in out.metrics.items():
                        result.metrics[(metric, layer)] = value
                        by_layer.setdefault(metric, []).append(value)
            log.info(summary(result, cfg, uri))
            if per_layer:
                log_layer_curves(logger, layers, by_layer, f"{cfg.model.name} · {cfg.lang.code}", log_figures=cfg.tracking.log_figures)
    return result
