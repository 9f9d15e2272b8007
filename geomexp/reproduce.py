"""Re-run a tracked run from the config saved with it and compare the metrics.

    python -m geomexp.reproduce <run_id> [--tracking-uri URI] [--rtol 1e-9] [--fresh]

Reads ``config/config.yaml`` (the resolved config) from the run, validates it against the
schema, runs it as a new run tagged ``reproduced_from=<run_id>`` (same experiment; the report
leaves such runs out by default), and prints every metric side by side. Exits 0 when all
metrics agree within ``rtol``, 1 otherwise.

Exact or says why not (issue 23): a hub model is loaded at the COMMIT the run logged
(``model.commit``), not at its branch, which may have moved; the data files' checksums the run
logged (``data.checksum.*``: a text corpus, the STS files) must match the files read now, else one
line names the file and nothing runs; when metrics differ, what differs between the two runs'
environments is printed (model commit, method version, library versions, CPU kind, kernel switches).

A stored run is data, never code or paths (issue 26): its ``_target_``s resolve only to registered
components (``geomexp.config.registry``) or to objects defined in a module passed with ``--trust``;
machine-local settings (``MACHINE_KEYS``: the project, cache and output folders, the data root,
download folder and URL) come from THIS machine (``--cache-dir``, ``--data-root``, or
``GEOMEXP_CACHE_DIR``/``GEOMEXP_DATA_DIR``), never from the store, and a stored value that differs is
reported, not used; a language's file and checksum come from this project's ``conf/lang/``; a text
corpus is read only from ``--text-file`` (its checksum must match the one the run logged), a model
folder only from ``--model-path`` (its fingerprint must match the one the run logged).
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import tempfile
from pathlib import Path

from geomexp import tag_names
from geomexp.config import validate
from geomexp.errors import GeomexpError, print_one_line

log = logging.getLogger("geomexp.reproduce")


def default_tracking_uri() -> str:
    """``MLFLOW_TRACKING_URI`` or the project's SQLite store (as ``conf/tracking/default.yaml``)."""
    import os

    from geomexp.config import project_root

    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{project_root() / 'mlflow.db'}"


def compare(original: dict, again: dict, rtol: float, infos=()) -> tuple[list[tuple], bool]:
    """Rows (name, step, original, reproduced, equal) over the union of keys, and whether all are equal.

    Each metric compares as its ``MetricInfo`` says (``geomexp.compare.agree``, ``infos``: the run's
    ``AnalysisInfo``s): within ``rtol`` plus its absolute noise floor and its own spread, an index or a
    count exactly; a value that is not well defined (its spread above 0.01, e.g. whitened I_PC, which
    moves with the BLAS thread count) is not compared. Metrics no analysis declares: ``rtol`` alone.
    """
    from geomexp.analyses.base import metric_info
    from geomexp.compare import agree, companion_key

    rows, ok = [], True
    for key in sorted(set(original) | set(again), key=lambda k: (k[0], k[1])):
        a, b = original.get(key), again.get(key)
        name, step = key
        info = metric_info(infos, name)
        spread = 0.0
        if info is not None and info.spread_key:
            skey = (companion_key(name, info.spread_key), step)
            spread = max(original.get(skey, 0.0), again.get(skey, 0.0))
        same = (
            a is not None
            and b is not None
            and (
                agree(info, a, b, rtol=rtol, same_inputs=True, spread=spread)
                if info is not None
                else (math.isclose(a, b, rel_tol=rtol, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b)))
            )
        )
        ok &= same
        rows.append((name, step, a, b, same))
    return rows, ok


#: settings of the machine a run ran on: never taken from a stored config (``machine_settings``)
MACHINE_KEYS = (
    "paths.root_dir",
    "paths.cache_dir",
    "paths.output_dir",
    "data.root",
    "data.download_dir",
    "data.download",
    "data.base_url",
)


def machine_settings(run_id: str, *, cache_dir=None, data_root=None, output_dir=None) -> dict:
    """THIS machine's values of ``MACHINE_KEYS`` for reproducing ``run_id``: the arguments given, else
    ``GEOMEXP_CACHE_DIR`` / ``GEOMEXP_DATA_DIR``, else the project's defaults."""
    import os

    from geomexp.config import project_root
    from geomexp.config.schema import DEFAULT_BASE_URL

    root = project_root()
    cache = Path(cache_dir or os.environ.get("GEOMEXP_CACHE_DIR") or root / ".cache").expanduser().resolve()
    data = data_root or os.environ.get("GEOMEXP_DATA_DIR")
    return {
        "paths.root_dir": str(root),
        "paths.cache_dir": str(cache),
        "paths.output_dir": str(output_dir or root / "outputs" / "reproduce" / run_id),
        "data.root": str(Path(data).expanduser().resolve()) if data else None,
        "data.download_dir": str(cache / "data" / "rajaee2022"),
        "data.download": True,
        "data.base_url": DEFAULT_BASE_URL,
    }


def apply_machine_settings(cfg, here: dict) -> list[str]:
    """Set ``cfg``'s machine-local keys to ``here``; return a line for each stored value not used."""
    from omegaconf import OmegaConf

    notes = []
    for key, value in here.items():
        stored = OmegaConf.select(cfg, key, default=None)
        if stored is not None and key != "paths.output_dir" and str(stored) != str(value):
            notes.append(f"stored {key}={stored!r} not used (a stored run is data): this machine's is {value!r}")
        OmegaConf.update(cfg, key, value, merge=False)
    return notes


def apply_current_languages(cfg) -> None:
    """Take the run's language from this project's ``conf/lang/`` (its file name and checksum), not the store."""
    from omegaconf import OmegaConf

    from geomexp.config.lookup import load_lang_config

    cfg.lang = OmegaConf.merge(cfg.lang, load_lang_config(str(cfg.lang.code)))


#: tags whose difference explains metrics that differ (besides the config, which is the same)
ENVIRONMENT_TAGS = (
    tag_names.MODEL_COMMIT,
    tag_names.METHOD_VERSION,
    tag_names.MACHINE_CPU,
    tag_names.MACHINE + "ATEN_CPU_CAPABILITY",
    tag_names.MACHINE + "OPENBLAS_CORETYPE",
    tag_names.MACHINE + "FAISS_OPT_LEVEL",
)


def check_data_checksums(tags: dict, spec) -> None:
    """``GeomexpError`` naming the first data file whose checksum now differs from the one ``tags`` logged."""
    from geomexp.experiment.identity import checksum_tags, provenance

    now = checksum_tags(provenance(spec))
    for key, logged in sorted(tags.items()):
        if key.startswith(tag_names.DATA_CHECKSUM) and key in now and str(now[key]) != logged:
            what = spec.data.text_file if key.endswith("text_sha256") else key.removeprefix(tag_names.DATA_CHECKSUM)
            raise GeomexpError(
                f"data file {what} changed since the run: {key} was {logged}, is {now[key]} now; "
                "the run cannot be reproduced from this file"
            )


def check_model_fingerprint(tags: dict, spec) -> None:
    """``GeomexpError`` if the run logged a model folder's fingerprint and ``spec``'s folder has another one."""
    logged = tags.get(tag_names.MODEL_FINGERPRINT)
    if not logged or not spec.encoder.path:
        return
    from geomexp.encoders.loading import folder_fingerprint

    folder = Path(spec.encoder.path)
    now = folder_fingerprint(folder) if folder.is_dir() else "missing"
    if now != logged:
        raise GeomexpError(
            f"model folder {folder} is not the one the run measured: model.fingerprint was {logged[:12]}, is "
            f"{now[:12]} here (config.json's bytes and the files' names and sizes); pass the run's own copy"
        )


def environment_differences(original: dict, again: dict) -> list[str]:
    """``"<tag>: <original> -> <reproduced>"`` for each environment tag (``ENVIRONMENT_TAGS``, ``version.*``,
    ``model.dtype``) that differs between two runs' tags."""
    keys = sorted({*ENVIRONMENT_TAGS, *(k for k in {*original, *again} if k.startswith("version."))})
    return [
        f"{k}: {original.get(k, '(not logged)')} -> {again.get(k, '(not logged)')}"
        for k in keys
        if original.get(k) != again.get(k)
    ]


#: modules whose ``_target_``s a stored config may name without ``--trust``
TRUSTED = ("geomexp",)


def interpolations(node, path: str = "") -> list[str]:
    """Keys of a plain config whose string values hold an interpolation (``${...}``)."""
    if isinstance(node, dict):
        return [k for key, value in node.items() for k in interpolations(value, f"{path}{key}.")]
    if isinstance(node, list):
        return [k for i, value in enumerate(node) for k in interpolations(value, f"{path}{i}.")]
    return [path.rstrip(".")] if isinstance(node, str) and "${" in node else []


def reproduce(
    run_id: str,
    uri: str | None = None,
    rtol: float = 1e-9,
    output_dir: str | None = None,
    fresh: bool = False,
    trust: tuple[str, ...] = (),
    cache_dir=None,
    data_root=None,
    text_file=None,
    model_path=None,
):
    """Re-run ``run_id`` from its saved config; return (new run id, comparison rows, all equal).

    ``cache_dir``, ``data_root``, ``output_dir``: this machine's folders (module docstring);
    ``text_file``: the corpus file of a ``data.corpus=text`` run (required for one); ``model_path``: the
    model folder of a ``model.path`` run (required for one).

    ``fresh`` ignores the representation cache (a temporary one is used), so the
    encoding itself is redone and checked. A tracking store that others can write to must not
    run code or read secrets here: the stored config may name only registered geomexp components or
    objects defined in the modules of ``trust`` (else ``UntrustedTargetError``, before anything is
    imported), may hold no interpolation (a saved config is resolved; ``${oc.env:...}`` would read the
    environment), and its machine-local settings are replaced by this machine's (``MACHINE_KEYS``).
    """
    from geomexp.config.spec import RunSpec
    from geomexp.experiment import RunContext, run
    from geomexp.tracking import get_run_record, load_run_config, run_metrics
    from geomexp.tracking.query import get_run

    uri = uri or default_tracking_uri()
    original_name = get_run(uri, run_id).info.run_name
    stored = load_run_config(uri, run_id)
    unresolved = interpolations(stored)
    if unresolved:
        raise GeomexpError(
            f"run {run_id}'s saved config holds interpolations (at {unresolved[:5]}); a saved config is resolved, refused"
        )
    cfg = validate(stored)
    for line in apply_machine_settings(
        cfg, machine_settings(run_id, cache_dir=cache_dir, data_root=data_root, output_dir=output_dir)
    ):
        log.warning(line)
    apply_current_languages(cfg)
    if cfg.data.corpus == "text":
        if not text_file:
            raise GeomexpError(
                f"run {run_id} read a text corpus ({Path(str(cfg.data.text_file)).name}); a stored path is not read: "
                "pass --text-file PATH (its checksum must match the one the run logged)"
            )
        cfg.data.text_file = str(Path(text_file).expanduser().resolve())
    original = get_run_record(uri, run_id, with_metrics=False)
    if cfg.model.path:
        if not model_path:
            raise GeomexpError(
                f"run {run_id} loaded the model folder {Path(str(cfg.model.path)).name}; a stored path is not read: "
                "pass --model-path PATH (this machine's copy; its fingerprint must match the one the run logged)"
            )
        cfg.model.path = str(Path(model_path).expanduser().resolve())
    commit = original.tags.get(tag_names.MODEL_COMMIT)
    if commit and not cfg.model.path:
        cfg.model.revision = commit  # the weights the run measured, not wherever its branch points now
    cfg.tracking.uri = uri
    cfg.tracking.enabled = True
    cfg.tracking.run_name = f"reproduce {original_name}"
    cfg.tags = {**cfg.tags, "reproduced_from": run_id}
    with tempfile.TemporaryDirectory(prefix="geomexp-fresh-cache-") as tmp_cache:
        if fresh:
            cfg.paths.cache_dir = tmp_cache
        spec = RunSpec.from_config(cfg, trusted=(*TRUSTED, *trust))
        check_data_checksums(original.tags, spec)
        check_model_fingerprint(original.tags, spec)
        result = run(spec, RunContext())
    rows, ok = compare(run_metrics(uri, run_id), run_metrics(uri, result.run_id), rtol, spec.infos)
    return result.run_id, rows, ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m geomexp.reproduce", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_id")
    parser.add_argument(
        "--tracking-uri", default=None, help="default: MLFLOW_TRACKING_URI or sqlite:///<project>/mlflow.db"
    )
    parser.add_argument("--rtol", type=float, default=1e-9, help="relative tolerance for equal metrics")
    parser.add_argument("--fresh", action="store_true", help="re-encode instead of reading the representation cache")
    parser.add_argument(
        "--cache-dir", default=None, help="this machine's cache (default: GEOMEXP_CACHE_DIR or .cache/)"
    )
    parser.add_argument("--data-root", default=None, help="this machine's data folder (default: GEOMEXP_DATA_DIR)")
    parser.add_argument("--text-file", default=None, help="the corpus file of a data.corpus=text run")
    parser.add_argument("--model-path", default=None, help="this machine's model folder, for a model.path run")
    parser.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="MODULE",
        help="also import _target_s from this module (your own analyses); default: geomexp only",
    )
    args = parser.parse_args(argv)
    if not (args.rtol >= 0 and math.isfinite(args.rtol)):
        print(f"error: --rtol {args.rtol} must be a finite number >= 0 (checked before anything runs)", file=sys.stderr)
        return 2
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("note: %(message)s"))
        log.addHandler(handler)
    try:
        new_id, rows, ok = reproduce(
            args.run_id,
            args.tracking_uri,
            args.rtol,
            fresh=args.fresh,
            trust=tuple(args.trust),
            cache_dir=args.cache_dir,
            data_root=args.data_root,
            text_file=args.text_file,
            model_path=args.model_path,
        )
    except Exception as err:
        if not print_one_line(err):
            raise
        return 2
    print(f"reproduced run {args.run_id} as {new_id}")
    print(f"{'metric':<24}{'step':>6}  {'original':>22}  {'reproduced':>22}  equal")
    for name, step, a, b, same in rows:
        print(f"{name:<24}{step:>6}  {a!s:>22}  {b!s:>22}  {'yes' if same else 'NO'}")
    print("all metrics equal" if ok else "METRICS DIFFER")
    if not ok:
        from geomexp.tracking import get_run_record

        uri = args.tracking_uri or default_tracking_uri()
        before = get_run_record(uri, args.run_id, with_metrics=False).tags
        after = get_run_record(uri, new_id, with_metrics=False).tags
        diffs = environment_differences(before, after)
        print("what differs between the two runs' environments:" if diffs else "the two runs' environments match")
        for line in diffs:
            print(f"  {line}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
