"""Shared helpers of the benchmark scripts: machine description, timing, the English corpus, JSON output."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:  # run as `python benchmarks/<name>.py` from the project folder
    sys.path.insert(0, str(ROOT))
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "rajaee2022"


def data_root() -> Path:
    """``GEOMEXP_DATA_DIR`` or ``../shared/data/rajaee2022``."""
    root = Path(os.environ.get("GEOMEXP_DATA_DIR") or DEFAULT_DATA)
    if not (root / "Wikipedia" / "English.csv").is_file():
        sys.exit(f"the paper's data is not at {root}: set GEOMEXP_DATA_DIR=<...>/rajaee2022")
    return root


def english_sentences(n: int | None = None) -> list[str]:
    """The first ``n`` sentences (all if None) of the paper's English Wikipedia corpus, in file order."""
    from geomexp.data.corpus import read_wikipedia_csv

    sentences = read_wikipedia_csv(data_root() / "Wikipedia" / "English.csv")
    return sentences if n is None else sentences[:n]


def run_env() -> dict:
    """Environment for ``run.py`` subprocesses: the shared data, quiet warnings, no outside tracking URI."""
    import os

    env = {**os.environ, "GEOMEXP_DATA_DIR": str(data_root()), "PYTHONWARNINGS": "ignore"}
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


def loadavg() -> float:
    """1-minute load average (other jobs on the machine skew timings; it is recorded with each result)."""
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return float("nan")


def machine() -> dict:
    """CPU model, cores, memory, library versions, date."""
    import numpy as np

    info = {
        "date": _dt.datetime.now().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        fields = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
        info["cpu"] = fields.get("Model name", "?").strip()
        info["cpus"] = int(fields.get("CPU(s)", "0").strip() or 0)
    except OSError:
        info["cpu"], info["cpus"] = platform.processor(), os.cpu_count()
    try:
        mem_kb = int(
            next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1]
        )
        info["memory_gib"] = round(mem_kb / 2**20, 1)
    except (OSError, StopIteration):
        pass
    for mod in ("torch", "scipy", "sklearn", "faiss", "transformers", "mlflow"):
        try:
            info[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001 - optional
            pass
    try:
        import torch

        info["torch_threads"] = torch.get_num_threads()
    except Exception:  # noqa: BLE001
        pass
    info["loadavg_1min_at_start"] = loadavg()
    return info


def timeit(fn, repeat: int = 3, warmup: int = 1) -> dict:
    """Run ``fn`` ``warmup`` + ``repeat`` times; seconds of each timed run, median and min, last result."""
    for _ in range(warmup):
        fn()
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return {"median_s": statistics.median(times), "min_s": min(times), "runs_s": times, "result": result}


def gemm_gflops(n: int = 2048, repeat: int = 5) -> float:
    """Best fp32 GEMM rate (GFLOP/s) of ``torch.matmul`` on n x n matrices, with torch's thread count."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.matmul(a, b)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        torch.matmul(a, b)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def write_json(name: str, payload: dict) -> Path:
    """Write ``benchmarks/results/<name>.json`` (next to RESULTS.md) and return its path."""
    out = HERE / "results" / f"{name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    return out


def table(rows: list[dict], columns: list[str]) -> str:
    """A plain-text table of ``rows`` (dicts) with ``columns``."""

    def fmt(v):
        if isinstance(v, float):
            return f"{v:.4g}" if abs(v) < 1e5 else f"{v:.3e}"
        return str(v)

    cells = [[fmt(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def offline_grid_command(tmp, label: str, models: str | None, langs: str | None, extra=()) -> list[str]:
    """``run.py -m experiment=offline_geometry layer=all`` (``models``/``langs`` override the grid's) with the
    cache in ``tmp/cache`` and a new SQLite store and sweep folder named after ``label``; ``extra`` overrides."""
    import sys

    args = [sys.executable, "run.py", "-m", "experiment=offline_geometry", "layer=all", "progress=false"]
    args += [f"model={models}"] if models else []
    args += [f"lang={langs}"] if langs else []
    return [
        *args,
        f"paths.cache_dir={tmp / 'cache'}",
        f"paths.output_dir={tmp / 'out'}",
        f"hydra.sweep.dir={tmp / f'multirun_{label}'}",
        f"tracking.uri=sqlite:///{tmp / f'mlflow_{label}.db'}",
        *extra,
    ]
