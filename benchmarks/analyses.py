"""Benchmark 3: seconds per analysis on a 10,000 x 768 float32 matrix (median of 3, after one warm-up call).

    python benchmarks/analyses.py            # ~30 s
    python benchmarks/analyses.py --n 20000 --d 1024

The matrix is synthetic and seeded, shaped like contextual embeddings: Gaussian rows plus a
common offset and one large "rogue" dimension (the timings do not depend on the values; the
offset keeps I_PC away from 0 so the log-space path is exercised). Every function gets the
float32 matrix, as the pipeline gives it. ``i_pc (before)`` is the pre-change implementation
(``benchmarks/legacy_metrics.py``), timed on the same matrix; the relative difference of the
two values is printed (must stay at rounding level, ~1e-15).
"""

from __future__ import annotations

import argparse

import _common  # noqa: F401  (sys.path)
import numpy as np
from _common import loadavg, machine, table, timeit, write_json


def make_matrix(n: int, d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * 0.5 + rng.standard_normal(d) * 0.3
    X[:, 7] += 6.0  # a rogue dimension
    return X.astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--d", type=int, default=768)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from legacy_metrics import legacy_i_pc

    from geomexp.metrics import cosine_contributions, i_cos, i_cos_exact, i_pc, isoscore, outlier_dimensions

    X = make_matrix(args.n, args.d)
    info = machine()
    print(f"machine: {info['cpu']}, {info['cpus']} CPUs, numpy {info['numpy']}, load {info['loadavg_1min_at_start']}")
    print(f"X: {X.shape} {X.dtype}; median of {args.repeat} runs after 1 warm-up; target < 1 s each\n")
    cases = {
        "i_cos (1000 pairs)": lambda: i_cos(X, n_pairs=1000, seed=0),
        "i_cos_exact": lambda: i_cos_exact(X),
        "i_pc (both signs)": lambda: i_pc(X),
        "i_pc (single sign)": lambda: i_pc(X, signs="single"),
        "i_pc (before, both signs)": lambda: legacy_i_pc(X),
        "cosine_contributions (1000 pairs)": lambda: cosine_contributions(X, n_pairs=1000, seed=0),
        "cosine_contributions (exact)": lambda: cosine_contributions(X, exact=True),
        "outlier_dimensions": lambda: outlier_dimensions(X),
        "isoscore": lambda: isoscore(X),
    }
    rows = []
    for name, fn in cases.items():
        t = timeit(fn, repeat=args.repeat)
        rows.append(
            {
                "analysis": name,
                "median_s": t["median_s"],
                "min_s": t["min_s"],
                "runs_s": t["runs_s"],
                "target_met": t["median_s"] < 1.0,
            }
        )
        print(f"  {name:<36} {t['median_s']:.3f} s", flush=True)
    new, old = i_pc(X), legacy_i_pc(X)
    rel = abs(new - old) / abs(old)
    before = next(r for r in rows if r["analysis"] == "i_pc (before, both signs)")["median_s"]
    after = next(r for r in rows if r["analysis"] == "i_pc (both signs)")["median_s"]
    print()
    print(
        table(
            [{k: r[k] for k in ("analysis", "median_s", "min_s", "target_met")} for r in rows],
            ["analysis", "median_s", "min_s", "target_met"],
        )
    )
    print(
        f"\ni_pc: {before:.3f} s before -> {after:.3f} s now ({before / after:.2f}x); value {new!r} vs {old!r}, relative difference {rel:.1e}"
    )
    info["loadavg_1min_at_end"] = loadavg()
    path = write_json(
        "analyses",
        {
            "machine": info,
            "args": vars(args),
            "results": rows,
            "i_pc": {"now": new, "before": old, "relative_difference": rel, "speedup": before / after},
        },
    )
    print(f"written {path}")


if __name__ == "__main__":
    main()
