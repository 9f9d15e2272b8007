"""Benchmark 12 (issue 27): one sweep through Hydra's three launchers on this machine, from a full cache:
``basic`` (every job in one process, one after another), ``joblib`` (2 worker processes) and ``slurm``
(a real one-node SLURM cluster on loopback, ``tests/slurm_cluster.py``: one array task a job, 1 CPU each,
both CPUs used).

    python benchmarks/launchers.py                            # the 12-job offline grid, layer=all (~15 min)
    python benchmarks/launchers.py --models minilm,me5_small --langs sw,su   # 4 jobs (~5 min)

The representation cache is filled once (a basic sweep, not timed against the others); then each launcher
runs the same sweep from that cache into a new SQLite store (so nothing is skipped as already done), in
one interleaved round per ``--rounds``: wall time, wall time per job and the overhead of each launcher
against ``basic`` per job. SLURM needs ``slurm-wlm`` and ``munge`` and root (as the tests); without them
its row is left out, saying why.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (sys.path)
from _common import ROOT, loadavg, machine, offline_grid_command, run_env, table, write_json

LAUNCHERS = {
    "basic": [],
    "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
    "slurm": [
        "hydra/launcher=slurm",
        "hydra.launcher.cpus_per_task=1",
        "hydra.launcher.mem_gb=3",
        "hydra.launcher.timeout_min=30",
    ],
}


def sweep(tmp: Path, label: str, models: str | None, langs: str | None, launcher: list[str], env: dict) -> float:
    """Wall seconds of one ``run.py -m experiment=offline_geometry layer=all`` into a new store."""
    args = offline_grid_command(tmp, label, models, langs, launcher)
    t0 = time.perf_counter()
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"the {label} sweep failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=None, help="override the experiment's models (e.g. minilm)")
    ap.add_argument("--langs", default=None, help="override the experiment's languages (e.g. sw,su)")
    ap.add_argument("--rounds", type=int, default=1, help="interleaved rounds of the three launchers")
    args = ap.parse_args()
    info = machine()
    print(f"machine: {info['cpu']}, {info['cpus']} CPUs, load {info['loadavg_1min_at_start']}", flush=True)
    env = run_env()
    launchers = dict(LAUNCHERS)
    sys.path.insert(0, str(ROOT / "tests"))
    from slurm_cluster import OneNodeCluster, missing

    skipped = None
    if missing() or os.geteuid() != 0:
        skipped = f"slurm left out: {'missing ' + ', '.join(missing()) if missing() else 'needs root'}"
        launchers.pop("slurm")
    with tempfile.TemporaryDirectory(prefix="geomexp_bench_launchers_") as tmp:
        tmp = Path(tmp)
        cluster = None
        if "slurm" in launchers:
            cluster = OneNodeCluster(tmp / "slurm", cpus=os.cpu_count()).start()
            env = {**env, **cluster.env()}
        try:
            fill = sweep(tmp, "fill", args.models, args.langs, [], env)
            print(f"  cache filled (basic, not compared): {fill:.1f} s", flush=True)
            jobs = len(list((tmp / "multirun_fill").glob("*/.hydra")))
            rows = []
            for r in range(args.rounds):
                for name, overrides in launchers.items():
                    load0 = loadavg()
                    seconds = sweep(tmp, f"{name}{r}", args.models, args.langs, overrides, env)
                    rows.append(
                        {"launcher": name, "round": r, "jobs": jobs, "wall s": round(seconds, 1), "load": load0}
                    )
                    print(f"  {name}: {seconds:.1f} s", flush=True)
        finally:
            if cluster is not None:
                cluster.stop()
    best = {name: min(row["wall s"] for row in rows if row["launcher"] == name) for name in launchers}
    for row in rows:
        row["s / job"] = round(row["wall s"] / jobs, 2)
        row["overhead s / job vs basic"] = round((row["wall s"] - best["basic"]) / jobs, 2)
    print()
    print(table(rows, ["launcher", "round", "jobs", "wall s", "s / job", "overhead s / job vs basic", "load"]))
    if skipped:
        print(skipped)
    info["loadavg_1min_at_end"] = loadavg()
    path = write_json("launchers", {"machine": info, "args": vars(args), "rows": rows, "best": best, "note": skipped})
    print(f"written {path}")


if __name__ == "__main__":
    main()
