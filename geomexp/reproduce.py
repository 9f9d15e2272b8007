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
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
from pathlib import Path

from geomexp.config import validate
from geomexp.errors import GeomexpError


def default_tracking_uri() -> str:
    """``MLFLOW_TRACKING_URI`` or the project's SQLite store (as ``conf/tracking/default.yaml``)."""
    import os

    from geomexp.config import project_root

    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{project_root() / 'mlflow.db'}"


def compare(original: dict, again: dict, rtol: float) -> tuple[list[tuple], bool]:
    """Rows (name, step, original, reproduced, equal) over the union of keys, and whether all are equal."""
    rows, ok = [], True
    for key in sorted(set(original) | set(again), key=lambda k: (k[0], k[1])):
        a, b = original.get(key), again.get(key)
        same = (
            a is not None
            and b is not None
            and (math.isclose(a, b, rel_tol=rtol, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b)))
        )
        ok &= same
        rows.append((key[0], key[1], a, b, same))
    return rows, ok


#: tags whose difference explains metrics that differ (besides the config, which is the same)
ENVIRONMENT_TAGS = (
    "model.commit",
    "geomexp.method_version",
    "machine.cpu",
    "machine.ATEN_CPU_CAPABILITY",
    "machine.OPENBLAS_CORETYPE",
    "machine.FAISS_OPT_LEVEL",
)


def check_data_checksums(tags: dict, spec) -> None:
    """``GeomexpError`` naming the first data file whose checksum now differs from the one ``tags`` logged."""
    from geomexp.experiment.identity import provenance

    now = {k.replace("provenance.data.", "data.checksum."): v for k, v in provenance(spec).items() if ".data." in k}
    for key, logged in sorted(tags.items()):
        if key.startswith("data.checksum.") and key in now and str(now[key]) != logged:
            what = spec.data.text_file if key.endswith("text_sha256") else key.removeprefix("data.checksum.")
            raise GeomexpError(
                f"data file {what} changed since the run: {key} was {logged}, is {now[key]} now; "
                "the run cannot be reproduced from this file"
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
):
    """Re-run ``run_id`` from its saved config; return (new run id, comparison rows, all equal).

    ``fresh`` ignores the representation cache (a temporary one is used), so the
    encoding itself is redone and checked. A tracking store that others can write to must not
    run code or read secrets here: the stored config may name ``_target_``s only in geomexp or
    in the modules of ``trust`` (else ``UntrustedTargetError``, before anything is imported),
    and may hold no interpolation (a saved config is resolved; ``${oc.env:...}`` would read the
    environment).
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
    original = get_run_record(uri, run_id, with_metrics=False)
    commit = original.tags.get("model.commit")
    if commit and not cfg.model.path:
        cfg.model.revision = commit  # the weights the run measured, not wherever its branch points now
    cfg.tracking.uri = uri
    cfg.tracking.enabled = True
    cfg.tracking.run_name = f"reproduce {original_name}"
    cfg.tags = {**cfg.tags, "reproduced_from": run_id}
    cfg.paths.output_dir = output_dir or str(Path(cfg.paths.root_dir) / "outputs" / "reproduce" / run_id)
    with tempfile.TemporaryDirectory(prefix="geomexp-fresh-cache-") as tmp_cache:
        if fresh:
            cfg.paths.cache_dir = tmp_cache
        spec = RunSpec.from_config(cfg, trusted=(*TRUSTED, *trust))
        check_data_checksums(original.tags, spec)
        result = run(spec, RunContext())
    rows, ok = compare(run_metrics(uri, run_id), run_metrics(uri, result.run_id), rtol)
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
        "--trust",
        action="append",
        default=[],
        metavar="MODULE",
        help="also import _target_s from this module (your own analyses); default: geomexp only",
    )
    args = parser.parse_args(argv)
    try:
        new_id, rows, ok = reproduce(
            args.run_id, args.tracking_uri, args.rtol, fresh=args.fresh, trust=tuple(args.trust)
        )
    except GeomexpError as err:
        print(f"error: {err}", file=sys.stderr)
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
