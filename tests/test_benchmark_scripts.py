"""The GPU benchmark stays runnable where no GPU is: its CPU path at tiny sizes, as a subprocess."""

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT


@pytest.mark.slow
def test_gpu_benchmark_runs_on_the_cpu_at_tiny_sizes(data_root):
    env = {**os.environ, "GEOMEXP_DATA_DIR": str(data_root)}
    # --no-e2e: the end-to-end part is benchmark 10's sweep (benchmarks/end_to_end.py), a run.py -m subprocess;
    # left out to keep make test-full under 15 minutes
    cmd = [sys.executable, "benchmarks/gpu.py", "--device", "cpu", "--tiny", "--no-e2e", "--name", "gpu_test"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads((ROOT / "benchmarks" / "results" / "gpu_test.json").read_text())
    assert out["machine"]["device"] == "cpu"
    assert [(r["model"], r["dtype"]) for r in out["rows"]] == [("minilm", "float32"), ("minilm", "bfloat16")]
    assert all(r["tok_per_s"] > 0 and r["peak_mib"] > 0 for r in out["rows"])
    (bf16,) = out["bf16"]
    # bf16 keeps 8 bits of mantissa: the geometry moves, but by far less than its own scale
    assert out["e2e"] is None  # not asked for
    assert bf16["d i_cos_exact"] < 0.01 and bf16["d isoscore"] < 0.02 and bf16["rel d i_pc"] < 0.1
