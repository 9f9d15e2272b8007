"""Benchmark 10: the whole geometry sweep, `run.py -m experiment=offline_geometry layer=all` (12 jobs),
from an empty cache and again from the full cache.

    python benchmarks/end_to_end.py                    # ~15-30 min on 2 cores (whole corpora are encoded)
    python benchmarks/end_to_end.py --models minilm --langs sw,su    # a smaller sweep
    python benchmarks/end_to_end.py --figures all,summary,none      # the full-cache sweep once per choice
    python benchmarks/end_to_end.py --also analysis.isotropy.i_pc_rotations=0    # and once more with overrides

Both are real ``run.py -m`` subprocesses (Hydra's basic launcher: every job in one process), each
with a new SQLite store in a temp folder (so the second is not skipped as already done); the second
uses the cache the first filled (once per ``tracking.figures`` choice of ``--figures``, in one
run, so their ratio is taken under the same load). Wall time and peak RSS (the largest resident set of the
subprocess, ``ru_maxrss`` of the children) of each, with the 1-minute load average before and after.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (sys.path)
from _common import ROOT, loadavg, machine, offline_grid_command, run_env, table, write_json

#: runs argv[1:] and prints the largest resident set of its children (KiB, Linux)
_PEAK = (
    "import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:]).returncode; "
    "print('PEAK_RSS_KIB=%d' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
    "sys.exit(rc)"
)


def sweep(tmp: Path, label: str, models: str | None, langs: str | None, extra=()) -> dict:
    """One ``run.py -m experiment=offline_geometry layer=all`` in ``tmp``'s cache and a new store."""
    args = offline_grid_command(tmp, label, models, langs, extra)
    load0 = loadavg()
    t0 = time.perf_counter()
    # through a fresh wrapper process, so that its children's peak RSS is this sweep's alone
    proc = subprocess.run([sys.executable, "-c", _PEAK, *args], cwd=ROOT, env=run_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"the sweep failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    log = proc.stdout + proc.stderr
    peak_kib = int(log.rsplit("PEAK_RSS_KIB=", 1)[1].split()[0])
    return {
        "cache": label,
        "jobs": log.count("MLflow run "),
        "cache hits": log.count("representation cache hit"),
        "wall s": round(seconds, 1),
        "peak RSS MiB": round(peak_kib / 1024),
        "load before": load0,
        "load after": loadavg(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=None, help="override the experiment's models (e.g. minilm)")
    ap.add_argument("--langs", default=None, help="override the experiment's languages (e.g. sw,su)")
    ap.add_argument(
        "--figures", default="summary", help="tracking.figures choices to time on the full cache (e.g. all,summary)"
    )
    ap.add_argument(
        "--also",
        action="append",
        default=[],
        help="space-separated overrides for one more full-cache sweep (figures=summary); repeatable",
    )
    args = ap.parse_args()
    info = machine()
    print(f"machine: {info['cpu']}, {info['cpus']} CPUs, load {info['loadavg_1min_at_start']}", flush=True)
    with tempfile.TemporaryDirectory(prefix="geomexp_bench_e2e_") as tmp:
        rows = [sweep(Path(tmp), "empty", args.models, args.langs)]
        print(f"  empty cache: {rows[-1]['wall s']} s, {rows[-1]['jobs']} jobs", flush=True)
        for choice in args.figures.split(","):
            rows.append(sweep(Path(tmp), f"full_{choice}", args.models, args.langs, [f"tracking.figures={choice}"]))
            rows[-1]["figures"] = choice
            print(f"  full cache, figures={choice}: {rows[-1]['wall s']} s, {rows[-1]['jobs']} jobs", flush=True)
        for i, overrides in enumerate(args.also):
            rows.append(sweep(Path(tmp), f"full_also{i}", args.models, args.langs, overrides.split()))
            rows[-1]["figures"] = f"summary, {overrides}"
            print(f"  full cache, {overrides}: {rows[-1]['wall s']} s, {rows[-1]['jobs']} jobs", flush=True)
    rows[0]["figures"] = "summary"
    print()
    cols = ["cache", "figures", "jobs", "cache hits", "wall s", "peak RSS MiB", "load before", "load after"]
    print(table(rows, cols))
    ratio = rows[0]["wall s"] / rows[1]["wall s"]
    print(f"\nempty / full cache = {ratio:.1f}x")
    for row in rows[2:]:
        print(
            f"full cache, figures={rows[1]['figures']} / figures={row['figures']} = {rows[1]['wall s'] / row['wall s']:.2f}x"
        )
    info["loadavg_1min_at_end"] = loadavg()
    path = write_json("end_to_end", {"machine": info, "args": vars(args), "rows": rows, "ratio": ratio})
    print(f"written {path}")


if __name__ == "__main__":
    main()
