"""Benchmark 2: cost of a sweep step: a first run (empty cache) against a second run that hits the cache.

    python benchmarks/sweep.py            # ~1-2 min

Both are real ``python run.py`` subprocesses, wall time measured around each:

1. cold:  ``run.py model=me5_small lang=sw layer=last`` with an empty cache folder and a new
   SQLite MLflow store (temp folder): loads the model, encodes 10,000 Swahili tokens, caches them;
2. warm:  the same with ``layer=6``: the representation cache hits (the key ignores the layer),
   the model is never loaded;
3. the warm run again under ``cProfile`` (not timed against the others) to show where its time
   goes; plus, in fresh interpreters, the time of ``python -c pass`` and of importing what a run
   imports;
4. an in-process sweep, ``run.py -m layer.index=last,0,3,6,9`` with a new cache folder (Hydra's basic
   launcher runs the jobs one after another in ONE process: the first job encodes, the other
   four hit the cache and pay no start-up): the marginal cost of a cache-hit job is
   (sweep wall - cold wall) / 4.

5. ``--reuse-langs sw,su``: a language sweep from an empty cache, ``run.py -m lang=sw,su``, once with
   the loaded model kept between jobs (the default) and once with ``GEOMEXP_REUSE_MODEL=0`` (each job
   loads it): the difference is what one model load per process saves (issue 15, item 2).

Target: cold / warm >= 20x (both as separate processes, as asked); cold / marginal in-process
job is also reported.
"""

from __future__ import annotations

import argparse
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (sys.path)
from _common import ROOT, loadavg, machine, run_env, table, write_json

IMPORTS = {
    "python -c pass": "pass",
    "import torch": "import torch",
    "import transformers (BertModel)": "from transformers import BertModel",
    "import mlflow": "import mlflow",
    "import hydra + geomexp.config": "import hydra, geomexp.config",
    "import geomexp.experiment": "import geomexp.experiment",
    "import matplotlib.pyplot": "import matplotlib.pyplot",
    "all of the above": "import torch, mlflow, hydra, geomexp.config, geomexp.experiment, matplotlib.pyplot; from transformers import BertModel",
}

# (label, substring of the pstats function key "file:line(name)") for the profile summary
PROFILE_POINTS = [
    ("whole run (run.py main)", "run.py", "main"),
    ("geomexp.experiment.run", "runner.py", "run"),
    ("RunSpec.from_config (imports analyses, enhancers)", "spec.py", "from_config"),
    ("git_state", "store.py", "git_state"),
    ("tracked_run: create/end the MLflow run", "run.py", "tracked_run"),
    ("log_params", "run.py", "log_params"),
    ("load_corpus", "sources.py", "load_corpus"),
    ("describe_encoder", "loading.py", "describe_encoder"),
    ("corpus_sample (cache read)", "representations.py", "corpus_sample"),
    ("analyses (isotropy + figure)", "isotropy.py", "isotropy_analysis"),
    ("record (figures, tables to the logger)", "runner.py", "record"),
]


def run(cmd: list[str], env: dict) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return wall, proc.stdout + proc.stderr


def profile_summary(path: Path) -> list[dict]:
    stats = pstats.Stats(str(path))
    total = max(ct for (_, _, _), (_, _, _, ct, _) in stats.stats.items())
    rows = []
    for label, file_part, func in PROFILE_POINTS:
        ct = max(
            (v[3] for (f, _, name), v in stats.stats.items() if name == func and f.endswith(file_part)), default=0.0
        )
        rows.append({"part": label, "seconds": ct})
    imports = max((v[3] for (f, _, name), v in stats.stats.items() if name == "_find_and_load"), default=0.0)
    rows.append(
        {"part": "all imports inside the run (cumulative _find_and_load, overlaps the above)", "seconds": imports}
    )
    rows.append({"part": "profiled process total", "seconds": total})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="me5_small")
    ap.add_argument("--lang", default="sw")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder")
    ap.add_argument("--reuse-langs", default="sw,su", help="languages of the model-reuse sweep ('' to skip)")
    args = ap.parse_args()
    info = machine()
    print(f"machine: {info['cpu']}, {info['cpus']} CPUs, load {info['loadavg_1min_at_start']}")
    tmp = Path(tempfile.mkdtemp(prefix="geomexp_bench_sweep_"))
    env = run_env()

    def cmd(layer: str, extra: list[str] | None = None) -> list[str]:
        return [
            sys.executable,
            *(extra or []),
            "run.py",
            f"model={args.model}",
            f"lang={args.lang}",
            f"layer={layer}",
            f"paths.cache_dir={tmp / 'cache'}",
            f"tracking.uri=sqlite:///{tmp / 'mlflow.db'}",
            "progress=false",
            f"hydra.run.dir={tmp / 'outputs' / layer}",
        ]

    cold, cold_log = run(cmd("last"), env)
    print(f"  cold run (layer=last, empty cache, new store): {cold:.1f} s", flush=True)
    warm, warm_log = run(cmd("6"), env)
    print(f"  warm run (layer=6, cache hit):                 {warm:.1f} s", flush=True)
    if "cache hit" not in warm_log:
        print("  WARNING: the second run did not report a cache hit")
    prof = tmp / "warm.prof"
    prof_wall, _ = run(cmd("6", ["-m", "cProfile", "-o", str(prof)]), env)
    breakdown = profile_summary(prof)
    sweep_layers = ["last", "0", "3", "6", "9"]
    sweep_cmd = [
        sys.executable,
        "run.py",
        "-m",
        f"model={args.model}",
        f"lang={args.lang}",
        f"layer.index={','.join(sweep_layers)}",
        f"paths.cache_dir={tmp / 'cache_sweep'}",
        f"tracking.uri=sqlite:///{tmp / 'mlflow_sweep.db'}",
        "progress=false",
        f"hydra.sweep.dir={tmp / 'multirun'}",
    ]
    sweep_wall, sweep_log = run(sweep_cmd, env)
    marginal = (sweep_wall - cold) / (len(sweep_layers) - 1)
    print(
        f"  in-process sweep of {len(sweep_layers)} layers (-m):  {sweep_wall:.1f} s -> {marginal:.2f} s per cache-hit job",
        flush=True,
    )
    reuse = []
    for keep in ("1", "0") if args.reuse_langs else ():
        wall, log = run(
            [
                sys.executable,
                "run.py",
                "-m",
                f"model={args.model}",
                f"lang={args.reuse_langs}",
                f"paths.cache_dir={tmp / f'cache_reuse{keep}'}",
                f"tracking.uri=sqlite:///{tmp / f'mlflow_reuse{keep}.db'}",
                "progress=false",
                f"hydra.sweep.dir={tmp / f'multirun_reuse{keep}'}",
            ],
            {**env, "GEOMEXP_REUSE_MODEL": keep},
        )
        jobs = len(args.reuse_langs.split(","))
        reused = log.count("reusing the copy this process loaded")
        reuse.append({"model kept between jobs": keep == "1", "jobs": jobs, "loads": jobs - reused, "wall s": wall})
        print(f"  language sweep {args.reuse_langs}, GEOMEXP_REUSE_MODEL={keep}: {wall:.1f} s, {jobs - reused} load(s)")
    imports = []
    for label, code in IMPORTS.items():
        t, _ = run([sys.executable, "-c", code], env)
        imports.append({"fresh interpreter": label, "seconds": t})

    print(f"\ncold / warm = {cold / warm:.2f}x as separate processes (target >= 20x)")
    print(f"cold / marginal cache-hit job inside one -m sweep = {cold / marginal:.1f}x\n")
    print("where the warm run's time goes (cProfile, cumulative seconds; profiling adds overhead):")
    print(table(breakdown, ["part", "seconds"]))
    if reuse:
        print("\nmodel loads in a language sweep from an empty cache (one process, basic launcher):")
        print(table(reuse, ["model kept between jobs", "jobs", "loads", "wall s"]))
    print("\nstart-up costs (each in a fresh interpreter, wall seconds):")
    print(table(imports, ["fresh interpreter", "seconds"]))
    info["loadavg_1min_at_end"] = loadavg()
    path = write_json(
        "sweep",
        {
            "machine": info,
            "args": vars(args),
            "cold_s": cold,
            "warm_s": warm,
            "ratio": cold / warm,
            "profiled_warm_wall_s": prof_wall,
            "sweep_layers": sweep_layers,
            "sweep_wall_s": sweep_wall,
            "marginal_hit_job_s": marginal,
            "ratio_in_process": cold / marginal,
            "warm_breakdown": breakdown,
            "imports": imports,
            "reuse": reuse,
        },
    )
    print(f"written {path}")
    if not args.keep:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"kept {tmp}")


if __name__ == "__main__":
    main()
