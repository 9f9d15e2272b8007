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

import numpy as np
from omegaconf import DictConfig, OmegaConf

from geomexp.analyses.base import AnalysisResult
from geomexp.cache import cache_key, entry_lock, load_sample, save_sample
from geomexp.config import load_lang_config
from geomexp.data import Corpus, load_text_corpus, load_wikipedia_corpus
from geomexp.encoders import EncoderInfo, EncoderSpec, describe_encoder, load_encoder
from geomexp.encoders.loading import output_layernorm_weights
from geomexp.errors import ConfigError
from geomexp.extraction import TokenSample, extract_tokens
from geomexp.tracking import (
    RunLogger,
    check_store_reachable,
    config_hash,
    flatten,
    git_state,
    parent_run_id_for_job,
    runs_with_hash,
    tracked_run,
)

log = logging.getLogger(__name__)
logging.getLogger("faiss.loader").setLevel(logging.WARNING)  # one INFO line per CPU feature it probes

CORPORA = ("wikipedia", "text")
SAMPLE_UNITS = ("tokens", "sentences")
#: metrics computed on the raw space as well when an enhancement is on (logged as <name>/before)
BEFORE_METRICS = ("i_cos", "i_cos_exact", "i_pc", "log_i_pc")


@dataclass
class RunResult:
    """What a run produced: ``metrics[(name, layer)]``, the MLflow run id, the cache key and hit."""

    run_id: str | None
    metrics: dict[tuple[str, int], float] = field(default_factory=dict)
    cache_key: str = ""
    cache_hit: bool = False
    layers: list[int] = field(default_factory=list)
    skipped: bool = False


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
    new_enhancer(cfg.enhancement)  # unknown method or parameter, k < 1, D < 0: fail now
    if cfg.enhancement.fit_lang:
        load_lang_config(cfg.enhancement.fit_lang)
    k = cfg.enhancement.params.get("n_clusters")
    if cfg.enhancement.name == "cluster" and cfg.data.sample_unit == "tokens" and isinstance(k, int) and k > cfg.data.n_tokens:
        raise ConfigError(f"enhancement.params.n_clusters={k} exceeds the {cfg.data.n_tokens} sampled tokens (data.n_tokens)")
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


def new_enhancer(enhancement: DictConfig):
    """A new, unfitted enhancer for ``cfg.enhancement`` (its parameters checked), or None for ``none``."""
    from geomexp.enhancement import make_enhancer

    if enhancement.name == "none":
        return None
    params = OmegaConf.to_container(enhancement.params, resolve=True)
    return make_enhancer(enhancement.name, **params).check_params()


def check_against_model(cfg: DictConfig, info: EncoderInfo) -> None:
    """Checks that need the model's width: an enhancement removing D >= d directions."""
    D = cfg.enhancement.params.get("n_components")
    if cfg.enhancement.name in ("abtt", "cluster", "whiten") and isinstance(D, int) and D >= info.hidden_size:
        raise ConfigError(
            f"enhancement.params.n_components={D} must be below the model's {info.hidden_size} dimensions ({cfg.model.name})"
        )


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


def sample_description(cfg: DictConfig, info: EncoderInfo, corpus: Corpus, whole_corpus: bool = False) -> dict:
    """Everything that determines the sampled representations (the cache key's content).

    ``whole_corpus``: every token of every sentence (STS), instead of ``cfg.data``'s sample.
    """
    unit = "sentences" if whole_corpus else cfg.data.sample_unit
    n_sentences = len(corpus.sentences) if whole_corpus else int(cfg.data.n_sentences)
    return {
        "model": info.identity,
        "corpus": {"lang": corpus.lang, "checksum": corpus.checksum},
        "sample_unit": unit,
        "whole_corpus": whole_corpus,
        "n_tokens": int(cfg.data.n_tokens) if unit == "tokens" else None,
        "n_sentences": n_sentences if unit == "sentences" else None,
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


def get_token_sample(cfg: DictConfig, encoder: LazyEncoder, corpus: Corpus, whole_corpus: bool = False) -> tuple[TokenSample, str, bool]:
    """The sampled representations from the cache, or encoded now and cached. Returns (sample, key, hit)."""
    description = sample_description(cfg, encoder.info, corpus, whole_corpus)
    key = cache_key(description)
    sample = load_sample(cfg.paths.cache_dir, key)
    if sample is not None:
        log.info("cache hit %s", key[:12])
        return sample, key, True
    with entry_lock(cfg.paths.cache_dir, key):  # another worker may be computing this very key
        sample = load_sample(cfg.paths.cache_dir, key)
        if sample is not None:
            log.info("cache hit %s (computed by another worker meanwhile)", key[:12])
            return sample, key, True
        return encode_and_save(cfg, encoder, corpus, key, description), key, False


def encode_and_save(cfg: DictConfig, encoder: LazyEncoder, corpus: Corpus, key: str, description: dict) -> TokenSample:
    """Encode the sample ``description`` says, save it under ``key`` and return it."""
    spec = encoder.spec
    enc = encoder()
    sample = extract_tokens(
        enc.model,
        enc.tokenizer,
        corpus.sentences,
        n_tokens=description["n_tokens"],
        n_sentences=description["n_sentences"],
        seed=description["seed"],
        allow_fewer=description["allow_fewer"] or description["whole_corpus"],
        add_special_tokens=description["add_special_tokens"],
        max_length=description["max_length"],
        batch_size=int(cfg.model.batch_size),
        device=enc.device,
        progress=bool(cfg.progress),
        what=f"the {corpus.lang} corpus ({corpus.source}) tokenized by {spec.name}",
    )
    save_sample(cfg.paths.cache_dir, key, sample, description)
    return sample


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
    ``sample`` (the ``TokenSample``, for token metadata), ``sentences`` (the corpus),
    ``lang_reps`` (``{code: (N, d) array}`` of the same layer for ``cfg.langs``),
    ``layernorm_weights`` (a callable returning the (L, d) output-LayerNorm weights; loads the model),
    ``load_sts`` (track -> ``StsTrack``), ``encode`` (sentences -> ``TokenSample`` of all their
    tokens, cached), ``make_enhancer`` (-> a new unfitted enhancer of ``cfg.enhancement``, or None)
    and ``english_reps`` (-> the English corpus sample at this layer). See ``Job.context``.
    An analysis that does not use ``X`` sets ``fn.uses_corpus_sample = False``.
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
        "job_num": hc.job.get("num"),
        "choices": {k: str(v) for k, v in hc.runtime.choices.items() if not k.startswith("hydra/") and k != "hydra"},
        "overrides": list(hc.overrides.task),
        "output_dir": hc.runtime.output_dir,
        "is_sweep_job": "num" in hc.job,
    }
    if ctx["is_sweep_job"]:
        ctx["sweep_dir"] = hc.sweep.dir
    return ctx


def log_outputs(logger: RunLogger, name: str, layer: int, result: AnalysisResult, *, per_layer: bool, log_figures: bool) -> None:
    """Log the figures, tables and tags of one analysis result of one layer (``figures/<name>[/layer_XX]/...``)."""
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
    cache = ("hit" if result.cache_hit else "miss") if result.cache_key else "not used"
    lines = [f"{cfg.model.name} · {cfg.lang.code} · {len(result.layers)} layer(s) · representation cache {cache}"]
    lines.append("layer  " + "  ".join(f"{n:>12}" for n in names))
    for layer in result.layers:
        lines.append(f"{layer:>5}  " + "  ".join(f"{result.metrics.get((n, layer), float('nan')):>12.5g}" for n in names))
    if hidden:
        lines.append(f"... and {hidden} more metrics in MLflow")
    if uri:
        lines.append(f"MLflow run {result.run_id} in {uri} (experiment {cfg.tracking.experiment!r})")
    return "\n".join(lines)


class Job:
    """What one run needs along the way: the encoder (loaded lazily), samples per language, enhancers."""

    def __init__(self, cfg: DictConfig, encoder: LazyEncoder, corpus: Corpus):
        self.cfg, self.encoder, self.corpus = cfg, encoder, corpus
        self.samples: dict[str, TokenSample] = {}

    def lang_sample(self, code: str) -> TokenSample:
        """The run's sampling of language ``code``'s corpus (cached on disk and in memory)."""
        if code not in self.samples:
            corpus = self.corpus if code == self.cfg.lang.code else load_corpus(self.cfg.data, load_lang_config(code))
            self.samples[code] = get_token_sample(self.cfg, self.encoder, corpus)[0]
        return self.samples[code]

    def encode_sentences(self, sentences) -> TokenSample:
        """Every token of every sentence in ``sentences`` (e.g. one side of an STS track), cached."""
        from geomexp.data.corpus import sentences_checksum

        corpus = Corpus(lang="sentences", sentences=tuple(sentences), source="list", checksum=sentences_checksum(sentences))
        return get_token_sample(self.cfg, self.encoder, corpus, whole_corpus=True)[0]

    def load_sts(self, track):
        from geomexp.data.sts import load_sts_track

        data = self.cfg.data
        return load_sts_track(track, root=data.root or None, download_dir=data.download_dir, download=data.download, base_url=data.base_url)

    def fit_enhancer(self, layer: int, X: np.ndarray):
        """A new enhancer fitted on ``X`` (individual) or on ``enhancement.fit_lang``'s sample at ``layer``."""
        fit_lang = self.cfg.enhancement.fit_lang
        fit_X = X if not fit_lang or fit_lang == self.cfg.lang.code else self.lang_sample(fit_lang).layer(layer)
        return new_enhancer(self.cfg.enhancement).fit(fit_X)

    def context(self, layer: int) -> dict:
        """What an analysis of ``layer`` may ask for (see ``run_analysis``)."""
        cfg = self.cfg
        return {
            "seed": int(cfg.seed),
            "title": f"{cfg.model.name} · {cfg.lang.code} · layer {layer}",
            "layer": layer,
            "lang": cfg.lang.code,
            "model_name": cfg.model.name,
            "sample": self.samples.get(cfg.lang.code),
            "sentences": self.corpus.sentences,
            "lang_reps": {code: self.lang_sample(code).layer(layer) for code in cfg.langs} if "lang_reps" in analysis_needs(cfg) else {},
            "layernorm_weights": lambda: output_layernorm_weights(self.encoder().model),
            "load_sts": self.load_sts,
            "encode": self.encode_sentences,
            "make_enhancer": lambda: new_enhancer(cfg.enhancement),
            "english_reps": lambda: self.lang_sample("en").layer(layer),
        }


def default_run_name(cfg: DictConfig) -> str:
    """``<model>-<lang>-<layer>`` (``<model>-sts<track>-<layer>`` for STS), plus the enhancement if any."""
    what = f"sts{cfg.analysis.sts.track}" if "sts" in cfg.analysis and not uses_corpus_sample(cfg) else cfg.lang.code
    name = f"{cfg.model.name}-{what}-{cfg.layer.index}"
    if cfg.enhancement.name != "none":
        name += f"-{cfg.enhancement.name}" + (f"@{cfg.enhancement.fit_lang}" if cfg.enhancement.fit_lang else "")
    return name


def enhancement_label(cfg: DictConfig) -> str:
    """`` · after <method>[ fit on <lang>]`` for titles of figures drawn on the enhanced space; empty for ``none``."""
    if cfg.enhancement.name == "none":
        return ""
    return f" · after {cfg.enhancement.name}" + (f" fit on {cfg.enhancement.fit_lang}" if cfg.enhancement.fit_lang else "")


def uses_corpus_sample(cfg: DictConfig) -> bool:
    """Whether any selected analysis works on the run's corpus sample (STS does not)."""
    return any(getattr(analysis_function(n, node), "uses_corpus_sample", True) for n, node in cfg.analysis.items())


def log_enhancer(logger: RunLogger, enhancer, layer: int) -> None:
    """Save a fitted enhancer as ``enhancer/layer_XX.npz`` and what it did as a table."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"layer_{layer:02d}.npz"
        enhancer.save(path)
        logger.log_bytes(path.read_bytes(), f"enhancer/{path.name}")
    report = {}
    for attr in ("cluster_sizes_", "components_removed_", "policy_events_"):
        value = getattr(enhancer, attr, None)
        if value is not None:
            report[attr.rstrip("_")] = np.asarray(value).tolist() if not isinstance(value, list) else value
    if report:
        logger.log_dict(report, f"tables/enhancement/layer_{layer:02d}.json")
        if report.get("policy_events"):
            logger.set_tags({f"enhancement_events_layer_{layer:02d}": "; ".join(report["policy_events"])})


def previous_runs(cfg: DictConfig, uri: str | None, digest: str, hydra_ctx: dict) -> list:
    """Earlier runs of this exact config in a sweep with ``tracking.resume`` (else none)."""
    if not (uri and hydra_ctx.get("is_sweep_job") and cfg.tracking.resume):
        return []
    return runs_with_hash(uri, cfg.tracking.experiment, digest)


def skip_finished(uri: str, finished, parent: str | None, hydra_ctx: dict) -> RunResult:
    """Record that a sweep job was skipped because ``finished`` (an MLflow run) has its exact config."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    run_id = finished.info.run_id
    client.set_tag(run_id, "geomexp.skipped_in_sweep", parent or "yes")
    if parent:
        client.set_tag(parent, f"skipped.job_{hydra_ctx.get('job_num', '?')}", run_id)
    log.info("skipped: this exact config already FINISHED as run %s (tracking.resume=false to rerun)", run_id)
    metrics = {(k, 0): v for k, v in finished.data.metrics.items()}
    return RunResult(run_id=run_id, metrics=metrics, cache_key=finished.data.tags.get("cache_key", ""), skipped=True)


def run(cfg: DictConfig) -> RunResult:
    """Run one job: encode (or load from cache), enhance, analyse every selected layer, log to MLflow.

    In a sweep with ``tracking.resume`` a job whose identical config already
    FINISHED is skipped (``RunResult.skipped``); one that failed before runs again,
    tagged ``resumed_after=<failed run id>``.
    """
    hydra_ctx = hydra_context()
    uri = str(cfg.tracking.uri) if cfg.tracking.enabled else None
    if uri:
        check_store_reachable(uri)
    resolved = OmegaConf.to_container(cfg, resolve=True)
    digest = config_hash(resolved)
    parent = parent_run_id_for_job(hydra_ctx.get("sweep_dir")) if hydra_ctx.get("is_sweep_job") else None
    previous = previous_runs(cfg, uri, digest, hydra_ctx)
    finished = [r for r in previous if r.info.status == "FINISHED"]
    if finished:
        return skip_finished(uri, finished[0], parent, hydra_ctx)
    try:
        run_name = cfg.tracking.run_name or default_run_name(cfg)
    except ConfigError:
        run_name = f"{cfg.model.name}-{cfg.lang.code}"  # the run itself reports the error
    tags = {
        "model": cfg.model.name,
        "lang": cfg.lang.code,
        "layer": str(cfg.layer.index),
        "analyses": ",".join(cfg.analysis.keys()),
        "enhancement": cfg.enhancement.name,
        "enhancement_fit": cfg.enhancement.fit_lang or "individual",
        "config_hash": digest,
        **{f"choice.{k}": v for k, v in hydra_ctx.get("choices", {}).items()},
        "overrides": " ".join(hydra_ctx.get("overrides", [])),
        **git_state(cfg.paths.root_dir),
        **cfg.tags,
    }
    if previous:
        tags["resumed_after"] = previous[0].info.run_id
    with tracked_run(uri, cfg.tracking.experiment, run_name, parent_run_id=parent, tags=tags) as logger:
        logger.log_params(flatten(resolved))
        logger.log_dict(resolved, "config/config.yaml")
        if hydra_ctx.get("output_dir"):
            logger.log_artifacts(Path(hydra_ctx["output_dir"]) / ".hydra", "hydra")
        check_config(cfg)  # inside the run: a bad value ends it FAILED with the message recorded
        spec = encoder_spec(cfg)
        layer_choice = parse_layer_index(cfg.layer.index)

        corpus = load_corpus(cfg.data, cfg.lang)
        info = describe_encoder(spec)
        check_against_model(cfg, info)
        layers = resolve_layers(layer_choice, info.num_layers, spec.name)
        logger.set_tags({"corpus_source": corpus.source, "corpus_checksum": corpus.checksum, "num_layers": info.num_layers})
        job = Job(cfg, LazyEncoder(spec, info), corpus)
        result = RunResult(run_id=logger.run_id, layers=layers)
        sample = None
        if uses_corpus_sample(cfg):
            sample, result.cache_key, result.cache_hit = get_token_sample(cfg, job.encoder, corpus)
            job.samples[cfg.lang.code] = sample
            logger.set_tags({"cache_key": result.cache_key, "cache_hit": str(result.cache_hit).lower(), "n_tokens": sample.n_tokens})
        enhance = cfg.enhancement.name != "none" and sample is not None
        per_layer = layer_choice == "all"
        by_layer: dict[str, list[float]] = {}

        def record(metrics: dict, layer: int) -> None:
            logger.log_metrics(metrics, step=layer if per_layer else None)
            for metric, value in metrics.items():
                result.metrics[(metric, layer)] = value
                by_layer.setdefault(metric, []).append(value)

        with logger.deferred():  # all layers' results are written together, or none
            for layer in layers:
                X = sample.layer(layer) if sample is not None else None
                if enhance:
                    record(before_metrics(X, cfg), layer)
                    enhancer = job.fit_enhancer(layer, X)
                    X = enhancer.transform(X)
                    if cfg.enhancement.save:
                        log_enhancer(logger, enhancer, layer)
                context = job.context(layer)
                for name, node in cfg.analysis.items():
                    on_enhanced = enhance and getattr(analysis_function(name, node), "uses_corpus_sample", True)
                    title = context["title"] + enhancement_label(cfg) if on_enhanced else context["title"]
                    out = run_analysis(name, node, X, {**context, "title": title})
                    if on_enhanced:
                        out.metrics = {f"{m}/after": v for m, v in out.metrics.items()}
                    record(out.metrics, layer)
                    log_outputs(logger, name, layer, out, per_layer=per_layer, log_figures=cfg.tracking.log_figures)
            log.info(summary(result, cfg, uri))
            if per_layer:
                log_layer_curves(logger, layers, by_layer, f"{cfg.model.name} · {cfg.lang.code}" + enhancement_label(cfg), log_figures=cfg.tracking.log_figures)
    return result


def before_metrics(X: np.ndarray, cfg: DictConfig) -> dict[str, float]:
    """Isotropy of the raw (not enhanced) representations, as ``<metric>/before``."""
    from geomexp.analyses.isotropy import isotropy_analysis

    iso = cfg.analysis.get("isotropy", {})
    out = isotropy_analysis(X, n_pairs=iso.get("n_pairs", 1000), i_pc_signs=iso.get("i_pc_signs", "both"), plot=False, seed=int(cfg.seed))
    return {f"{m}/before": v for m, v in out.metrics.items() if m in BEFORE_METRICS}
