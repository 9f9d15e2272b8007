"""The runner: spec -> corpus -> representations (cache) -> enhancer -> analyses -> tasks -> tracking.

``run(cfg)`` is what ``run.py`` calls; ``run(spec)`` works from a notebook. Every analysis runs
on the raw space (plain metric keys, in every run) and, with an enhancement, on the enhanced
space too (keys with the suffix ``/<method>`` or ``/<method>/zero_shot``); ``step`` = layer.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from geomexp import tag_names
from geomexp.analyses.base import AnalysisResult
from geomexp.analyses.keys import space_name
from geomexp.config import project_root
from geomexp.config.spec import RunSpec
from geomexp.encoders import describe_encoder, reuse
from geomexp.encoders.checkpoints import step_tags
from geomexp.errors import ConfigError, GeomexpError
from geomexp.experiment import identity as ident
from geomexp.experiment.console import summary
from geomexp.experiment.context import RunContext
from geomexp.experiment.inputs import LayerContext, inputs_for
from geomexp.experiment.measurement import Measurement, add_layer_curves, publish
from geomexp.experiment.model_pair import prepare_model_pair
from geomexp.experiment.repeats import measure_repeated
from geomexp.experiment.representations import Representations, run_representations
from geomexp.experiment.slurm import explain_stop, requeued_run, slurm_tags
from geomexp.experiment.sources import load_corpus
from geomexp.layers import layer_label, resolve_layers
from geomexp.representations.cache import check_writable as check_cache_writable
from geomexp.results import RESULTS_ARTIFACT
from geomexp.tracking import (
    RunLogger,
    check_store_reachable,
    git_state,
    parent_run_id_for_job,
    record_skipped_job,
    redact_config,
    redact_uri,
    runs_with_tag,
    tracked_run,
)
from geomexp.tracking.query import CONFIG_ARTIFACT, META_ARTIFACT

log = logging.getLogger(__name__)
logging.getLogger("faiss.loader").setLevel(logging.WARNING)  # one INFO line per CPU feature it probes


@dataclass
class RunResult:
    """What a run produced: ``metrics[(key, layer)]``, the MLflow run id and name, the cache key and hit.

    skipped: a sweep job skipped because ``same_as`` (a FINISHED run) measured the same thing.
    """

    run_id: str | None
    run_name: str = ""
    metrics: dict[tuple[str, int], float] = field(default_factory=dict)
    cache_key: str = ""
    cache_hit: bool = False
    layers: list[int] = field(default_factory=list)
    skipped: bool = False
    same_as: str | None = None
    measurement: Measurement | None = field(default=None, repr=False)  # everything measured (None: skipped)


def run(cfg, context: RunContext | None = None) -> RunResult:
    """Run one job from a composed config (``DictConfig``/dict) or a ``RunSpec``.

    A config that fails its checks raises ``ConfigError`` before any work; in a sweep (tracking on)
    it is first recorded as a FAILED job under the sweep's parent, so the sweep shows its bad job.
    """
    context = context or RunContext()
    if isinstance(cfg, RunSpec):
        return execute(cfg, context)
    try:
        spec = RunSpec.from_config(cfg)
    except ConfigError as err:
        _record_config_error(cfg, context, err)
        raise
    return execute(spec, context)


def execute(spec: RunSpec, context: RunContext) -> RunResult:
    """Run ``spec``, top to bottom (see the module docstring)."""
    reuse.new_job()
    uri = spec.tracking.uri
    if uri:
        check_store_reachable(uri)  # unreachable, unwritable, not MLflow: one line, before any model loads
    check_cache_writable(spec.cache_dir)
    foreign = sorted({spec.lang.code, *spec.langs} - {"en"}) if spec.analyses else []
    if not spec.multilingual and foreign:
        log.warning(
            "model %r is monolingual (model.multilingual=false) but measures %s", spec.encoder.name, ", ".join(foreign)
        )
    parent = parent_run_id_for_job(context.sweep_dir) if context.is_sweep_job else None
    name = spec.tracking.run_name or ident.default_run_name(spec, ident.name_extras(list(context.overrides)))
    try:  # the model's configuration and resolved commit (part of the identity); weights load later
        info = describe_encoder(spec.encoder)
    except GeomexpError:
        info = None  # measure() describes it again inside the tracked run: the error is recorded there
    provenance = ident.provenance(spec, info.identity if info else None)
    tags = run_tags(spec, context, provenance, num_layers=info.num_layers if info else None)
    identity = tags[tag_names.IDENTITY]
    # a SLURM job restarted after a requeue resumes the run its earlier start left (one run a combination)
    reopen = requeued_run(uri, spec.tracking.experiment, identity) if uri else None
    if uri and context.is_sweep_job and spec.tracking.resume and not reopen:
        finished = runs_with_tag(uri, spec.tracking.experiment, tag_names.IDENTITY, identity, finished=True)
        if finished:
            log.info(
                "skipped: this measurement already FINISHED as run %s (tracking.resume=false to rerun)", finished[0]
            )
            stand_in = record_skipped_job(
                uri, spec.tracking.experiment, finished[0], name, parent_run_id=parent, tags=tags
            )
            return RunResult(run_id=stand_in, run_name=name, skipped=True, same_as=finished[0])
        failed = runs_with_tag(uri, spec.tracking.experiment, tag_names.IDENTITY, identity, finished=False)
        if failed:
            tags["resumed_after"] = failed[0]
    with tracked_run(
        uri,
        spec.tracking.experiment,
        name,
        parent_run_id=parent,
        tags=tags,
        experiment_description=experiment_description(spec, context),
        reopen=reopen,
        explain=explain_stop,  # a SLURM job preempted, requeued or out of time: the run says which
    ) as logger:
        logger.log_params(
            ident.run_params(
                spec,
                commit=info.identity.get("commit") if info else None,
                model_max_length=info.max_length if info else None,
            )
        )
        logger.log_dict(redact_config(spec.resolved), CONFIG_ARTIFACT)  # no credentials in artifacts
        logger.log_dict({i.name: i.to_dict() for i in spec.infos}, META_ARTIFACT)
        if context.output_dir:
            logger.log_artifacts(Path(context.output_dir) / ".hydra", "hydra")
        measure_it = functools.partial(measure, info=info, keep_figures=bool(uri))
        try:
            measurement = measure_repeated(spec, measure_it) if spec.seeds else measure_it(spec)
        except Exception as err:
            partial = getattr(err, "partial_measurement", None)
            if partial is not None:
                logger.set_tags(partial.tags)  # the failed run says what was known (commit, corpus, cache key)
            raise
        publish(measurement, logger)
        if uri:  # the results file: what the store now holds of the run, readable without MLflow
            logger.log_dict(results_file(spec, measurement, uri, logger.run_id).to_json(), RESULTS_ARTIFACT)
        result = RunResult(
            run_id=logger.run_id,
            run_name=logger.run_name or "",
            metrics=measurement.metrics,
            cache_key=measurement.cache_key,
            cache_hit=measurement.cache_hit,
            layers=measurement.layers,
            measurement=measurement,
        )
        if not uri and context.output_dir:  # a dry run: no store, the results file in the job's folder
            path = write_results_file(measurement, Path(context.output_dir))
            log.info("tracking.enabled=false: no MLflow run; results in %s", path)
        log.info(
            summary(
                result,
                spec.infos,
                title=f"{ident.model_label(spec)} · {ident.subject(spec)}",
                where=_where(logger, spec),
            )
        )
    return result


def results_file(spec: RunSpec, measurement: Measurement, uri: str, run_id: str):
    """The run's ``geomexp.results`` file: its record read back from the store (params, tags, every metric by
    layer; status FINISHED: it is written once the measurement is published), its analyses' metadata, its
    config (credentials redacted) and the per-run tables a report reads."""
    from geomexp.results import REPORT_TABLES
    from geomexp.tracking.results import store_results

    tables = {
        path: item
        for path, item in measurement.artifacts.items()
        if path.startswith(REPORT_TABLES) and not isinstance(item, bytes)
    }
    return store_results(
        uri,
        run_id,
        analyses={i.name: i.to_dict() for i in spec.infos},
        config=redact_config(spec.resolved),
        tables=tables,
        status="FINISHED",
    )


def write_results_file(measurement: Measurement, folder: Path) -> Path:
    """``folder/measurement.json``: ``measurement.to_json()`` (format ``geomexp.measurement``), written whole
    or not at all (a temporary file renamed into place)."""
    import json
    import os

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "measurement.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(measurement.to_json(), indent=1) + "\n")
    os.replace(tmp, path)
    return path


def experiment_description(spec: RunSpec, context: RunContext) -> str:
    """The MLflow experiment's description (set by its first run): what its runs measure and how they
    were made, and how to hide the report runs from metric charts. Plain text: the MLflow UI shows an
    experiment's description as written (Markdown marks appeared as raw asterisks and backticks)."""
    what = ", ".join(a.name for a in (*spec.analyses, *spec.tasks)) or "nothing"
    overrides = redact_uri(" ".join(context.overrides))  # no credentials in the description
    return (
        f"geomexp experiment {spec.tracking.experiment}: geometry of contextual embeddings "
        f"(isotropy, rogue and outlier dimensions, enhancement, STS) measured with geomexp.\n\n"
        f"- First run: {what} on {ident.model_label(spec)}, {ident.subject(spec)}, layer={spec.layer}"
        f" (python run.py {overrides}).\n"
        "- One run per job (tag geomexp.kind=measurement), metrics logged with step = layer index (the charts' "
        "x axis 'Step' is the layer); sweeps are parent runs (geomexp.kind=sweep); each run saves its "
        "resolved config (config/config.yaml).\n"
        "- Reports (python -m geomexp.report --experiment <name>) are runs named report with tag "
        "geomexp.kind=report and no metrics; hide them from the metric charts with the search filter "
        "tags.geomexp.kind = 'measurement'; their report/index.html artifact is the HTML report (one file)."
    )


def run_tags(
    spec: RunSpec, context: RunContext, provenance: dict | None = None, *, num_layers: int | None = None
) -> dict[str, str]:
    """The run's tags: the results schema's identity tags (config + ``provenance``), the method version,
    versions, git state, choices, user tags."""
    tags = {
        tag_names.KIND: tag_names.MEASUREMENT,
        **ident.identity_tags(spec, provenance, num_layers=num_layers),
        tag_names.METHOD_VERSION: str(ident.METHOD_VERSION),
        **ident.checksum_tags(provenance),
        tag_names.MODEL: ident.model_label(spec),
        tag_names.SUBJECT: ident.subject(spec),
        tag_names.LAYER: layer_label(spec.layer, spec.layer_every),
        tag_names.ANALYSES: ",".join(a.name for a in (*spec.analyses, *spec.tasks)),
        tag_names.ENHANCEMENT: spec.enhancement.label if spec.enhancement else "none",
        tag_names.MULTILINGUAL: str(spec.multilingual).lower(),
        **({"model.path": str(Path(spec.encoder.path).expanduser().resolve())} if spec.encoder.path else {}),
        **({tag_names.MODEL_FINGERPRINT: fp} if (fp := (provenance or {}).get("provenance.model.fingerprint")) else {}),
        **step_tags(spec.encoder),  # a checkpoint's training step (model.step), where its name gives one
        **slurm_tags(),  # where a SLURM job ran (job id, node, log file); nothing outside SLURM
        **ident.library_versions(),
        **ident.machine_tags(),
        **{f"choice.{k}": v for k, v in context.choices.items()},
        "overrides": " ".join(context.overrides),
        **git_state(project_root()),  # the code that ran: never a folder from a (stored) config
        **spec.tags,
    }
    return {k: redact_uri(str(v)) for k, v in tags.items()}  # no credentials in tags (user tags, overrides)


def measure(spec: RunSpec, info=None, *, keep_figures: bool = True) -> Measurement:
    """Encode (or read the cache), enhance and analyse every layer; return what that produced.

    No tracking store is touched (``publish`` writes the result to a run). ``info``: the model's
    ``EncoderInfo`` if already described (its commit resolved once per run); ``keep_figures``: render
    the figures that ``spec.tracking.figures`` asks for to PNG (False, or ``figures=none``: draw none).
    An analysis (or task) with a ``plot`` parameter is asked to draw only at the layers whose figures
    are kept (``TrackingSpec.figure_layers``), so a layer without figures costs no drawing.
    An error leaves what was found so far on the exception (``err.partial_measurement``): the run that
    failed still gets its tags (the model's commit, the corpus checksum, the cache key).
    """
    m = Measurement(keep_figures=keep_figures and spec.tracking.figures != "none")
    try:
        return _measure_into(m, spec, info)
    except Exception as err:
        err.partial_measurement = m
        raise


def _measure_into(m: Measurement, spec: RunSpec, info) -> Measurement:
    corpus = load_corpus(spec.data, spec.lang) if spec.uses_corpus else None  # a missing corpus fails first
    if corpus is not None:
        m.set_tags({"corpus_source": corpus.source, "corpus_checksum": corpus.checksum})
    info = info or describe_encoder(spec.encoder)  # the model's configuration only; weights load on a cache miss
    layers = resolve_layers(spec.layer, info.num_layers, spec.encoder.name, every=spec.layer_every)
    m.layers = list(layers)
    reps = run_representations(spec, spec.encoder, info, layers if spec.layer_extract == "selected" else None)
    if corpus is not None:
        reps.sources.add_corpus(corpus)
    check_against_model(spec, info.hidden_size)
    m.set_tags(
        {
            "num_layers": info.num_layers,
            "hidden_size": info.hidden_size,
            # decoder = causal attention: a token's vector sees only the tokens before it
            "model.architecture": info.architecture,
            **info.hub_tags(),
        }
    )
    sample = None
    if spec.uses_corpus:
        sample = reps.corpus_sample(spec.lang.code)
        _, m.cache_key, m.cache_hit = reps.fetched[0]
        m.set_tags(
            {
                "cache_key": m.cache_key,
                "cache_hit": str(m.cache_hit).lower(),
                "n_tokens": sample.n_tokens,
                "n_sentences": int(np.unique(sample.sentence_ids).size),
            }
        )
        log_truncation(
            m, sample, min(spec.sample.max_length, info.max_length), spec.lang.code, spec.sample.long_sentences
        )
    # an analysis comparing the run's model with another one: both encode the same sentences, once a run
    pairs = {
        a.name: prepare_model_pair(spec, reps, sample, a.params) for a in spec.analyses if "model_pair" in a.inputs
    }
    per_layer = len(layers) > 1
    drawn = spec.tracking.figure_layers(layers) if m.keep_figures else set()
    quiet = {t.name: without_plots(t.task) for t in spec.tasks}  # a task at a layer without figures
    title = f"{ident.model_label(spec)} · {ident.subject(spec)}"
    # an analysis that needs `layer_reps` sees every layer's space at every layer: keep them all
    kept: dict[int, list] | None = {} if any("layer_reps" in a.inputs for a in spec.analyses) else None

    def spaces(at: int) -> list:
        return layer_spaces(spec, reps, sample, at, m, kept)

    for layer in layers:
        draw = layer in drawn
        for suffix, X, enhancer in spaces(layer):
            ctx = LayerContext(spec, reps, sample, layer, list(layers), suffix, enhancer, spaces, pairs)
            where = f"{title} · layer {layer}" + (f" · after {spec.enhancement.label}" if suffix else "")
            for a in spec.analyses:
                params = a.params if draw or "plot" not in a.params else {**a.params, "plot": False}
                out = a.fn(X, seed=spec.seed, title=where, **inputs_for(a, ctx), **params)
                folder = "/".join(filter(None, (a.name, space_name(suffix))))  # isotropy/cluster_zero_shot
                record(m, out, folder, layer, suffix, per_layer, draw)
        for t in spec.tasks:
            task = t.task if draw else quiet[t.name]
            out = task.evaluate(
                reps, layer, spec.enhancement, seed=spec.seed, title=f"{ident.model_label(spec)} · layer {layer}"
            )
            record(m, out, t.name, layer, "", per_layer, draw)
    if per_layer:
        add_layer_curves(m, spec, title)
    m.set_tags({"device": str(reps.encoder().device) if reps.encoder_loaded else "none (cache hit)"})
    return m


def check_against_model(spec: RunSpec, hidden_size: int) -> None:
    """The enhancer's rules that need the model's width (e.g. removing D >= d directions), before encoding."""
    enhancer = spec.enhancement.build() if spec.enhancement else None
    if enhancer is not None and hasattr(enhancer, "check_shape"):
        try:
            enhancer.check_shape(n_dims=hidden_size)
        except ConfigError as err:
            raise ConfigError(
                f"enhancement.params.{err} (the model {spec.encoder.name} has {hidden_size} dimensions)"
            ) from None


def layer_spaces(spec: RunSpec, reps: Representations, sample, layer: int, m: Measurement, kept: dict | None):
    """``[(suffix, X, enhancer)]`` of ``layer``: the raw space and, with an enhancement, the enhanced one.

    ``kept``: None, or a dict that keeps every layer's spaces once computed (each enhancer is
    fitted and logged once per layer, whichever layer first asks for it).
    """
    if kept is not None and layer in kept:
        return kept[layer]
    spaces = [("", sample.layer(layer) if sample is not None else None, None)]
    if spec.enhancement and spec.analyses:
        spaces.append(enhanced_space(spec, reps, layer, spaces[0][1], m))
    if kept is not None:
        kept[layer] = spaces
    return spaces


def enhanced_space(spec: RunSpec, reps: Representations, layer: int, X: np.ndarray, m: Measurement):
    """(suffix, enhanced X, fitted enhancer) of ``layer``: fit on X itself, or on ``fit_lang``'s sample."""
    enh = spec.enhancement
    fit_X = reps.corpus_sample(enh.fit_lang).layer(layer) if enh.fit_lang else X
    enhancer = enh.build().fit(fit_X)
    if enh.save:
        log_enhancer(m, enhancer, layer)
    return enh.suffix, enhancer.transform(X), enhancer


def without_plots(task):
    """``task`` with its ``plot`` field off (a dataclass task that has one), else ``task`` itself."""
    if dataclasses.is_dataclass(task) and getattr(task, "plot", False):
        return dataclasses.replace(task, plot=False)
    return task


def record(
    m: Measurement, out: AnalysisResult, folder: str, layer: int, suffix: str, per_layer: bool, draw: bool = True
) -> None:
    """Add one analysis result of one layer to ``m``: metrics (key + suffix, step = layer), tables, tags and,
    with ``draw``, figures (else they are closed unrendered)."""
    m.log_metrics({f"{k}{suffix}": float(v) for k, v in out.metrics.items()}, step=layer)
    m.set_tags(out.tags)
    prefix = f"{folder}/layer_{layer:02d}" if per_layer else folder
    for fname, table in out.tables.items():
        m.log_dict(table, f"tables/{prefix}/{fname}")
    for fname, fig in out.figures.items():
        if draw:
            m.log_figure(fig, f"figures/{prefix}/{fname}")
        else:
            import matplotlib.pyplot as plt

            plt.close(fig)


def log_truncation(m: Measurement, sample, max_length: int, what: str, long_sentences: str = "cut") -> None:
    """Tag how many of the corpus's sentences were longer than ``max_length`` tokens (cut there, or skipped
    whole with ``long_sentences="skip"``) and how many content tokens that lost (``data.sentences_cut``,
    ``data.tokens_dropped``), with a warning when any were."""
    if sample.truncation is None:
        return  # a cache entry written before truncation was recorded
    total, cut, dropped = (int(v) for v in sample.truncation)
    m.set_tags({"data.sentences_cut": cut, "data.tokens_dropped": dropped, "data.long_sentences": long_sentences})
    if cut:
        done = "left out whole (data.long_sentences=skip)" if long_sentences == "skip" else "cut"
        log.warning(
            "%d of the %d sentences of the %s corpus are longer than max_length=%d tokens: %s, %d content "
            "token(s) dropped (they cannot be sampled)",
            cut,
            total,
            what,
            max_length,
            done,
            dropped,
        )


def log_enhancer(m: Measurement, enhancer, layer: int) -> None:
    """Save a fitted enhancer as ``enhancer/layer_XX.npz`` and what it did as a table."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"layer_{layer:02d}.npz"
        enhancer.save(path)
        m.log_bytes(path.read_bytes(), f"enhancer/{path.name}")
    report = {}
    for attr in ("cluster_sizes_", "components_removed_", "n_collapsed_rows_", "n_null_axes_", "policy_events_"):
        value = getattr(enhancer, attr, None)
        if value is not None:
            report[attr.rstrip("_")] = np.asarray(value).tolist() if not isinstance(value, list) else value
    if getattr(enhancer, "n_null_axes_", 0):
        m.set_tags({f"enhancement_null_axes_layer_{layer:02d}": str(enhancer.n_null_axes_)})
    if report:
        m.log_dict(report, f"tables/enhancement/layer_{layer:02d}.json")
        if report.get("policy_events"):
            m.set_tags({f"enhancement_events_layer_{layer:02d}": "; ".join(report["policy_events"])})


def _where(logger: RunLogger, spec: RunSpec) -> str | None:
    if not spec.tracking.uri:
        return None
    where = redact_uri(spec.tracking.uri)
    return f"MLflow run {logger.run_id} ({logger.run_name}) in {where} (experiment {spec.tracking.experiment!r})"


def _record_config_error(cfg, context: RunContext, err: ConfigError) -> None:
    """In a sweep, a FAILED run under the sweep's parent carrying the error and the config as given (so the
    sweep shows its bad job); outside a sweep nothing: the one-line error is the whole story, and a store
    would only collect "(config error)" runs (tracking on and a usable store only)."""
    from omegaconf import OmegaConf

    if not context.is_sweep_job:
        return
    try:
        t = cfg.tracking
        if not t.enabled:
            return
        uri = str(t.uri)
        check_store_reachable(uri)
        name = t.run_name or f"{cfg.model.name}-{cfg.lang.code} (config error)"
        parent = parent_run_id_for_job(context.sweep_dir) if context.is_sweep_job else None
        config = OmegaConf.to_container(cfg, resolve=False)
    except Exception:
        return  # the error itself is what the user must see
    try:
        with tracked_run(
            uri, str(t.experiment), name, parent_run_id=parent, tags={tag_names.KIND: tag_names.MEASUREMENT}
        ) as logger:
            logger.log_dict(redact_config(config), CONFIG_ARTIFACT)
            raise err
    except ConfigError:
        pass
    except Exception:  # noqa: BLE001 - a store that cannot take the record: the config error is what to say
        return
