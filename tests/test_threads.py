"""Thread pools sized to the CPUs a job may use (issue 27's benchmark: 1-CPU SLURM jobs ran a thread per core)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT

from geomexp.experiment.threads import THREAD_VARIABLES, usable_cpus

PROBE = """
import json, numpy
from geomexp.experiment.threads import limit_threads
cap = limit_threads()
import torch
from threadpoolctl import threadpool_info
blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
print(json.dumps({"cap": cap, "blas": blas, "torch": torch.get_num_threads(), "omp": __import__("os").environ.get("OMP_NUM_THREADS")}))
"""


def _probe(**env) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES and not k.startswith("SLURM_")}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_usable_cpus_is_the_smallest_of_affinity_and_slurms_cpus_per_task():
    mask = len(os.sched_getaffinity(0))
    assert usable_cpus({}) <= mask
    assert usable_cpus({"SLURM_CPUS_PER_TASK": "1"}) == 1
    assert usable_cpus({"SLURM_CPUS_PER_TASK": str(mask + 8)}) == usable_cpus({})  # never more than the mask
    assert usable_cpus({"SLURM_CPUS_PER_TASK": "0"}) == usable_cpus({"SLURM_CPUS_PER_TASK": "x"}) == usable_cpus({})


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="needs 2 cores to cap a pool below them")
def test_a_one_cpu_slurm_job_runs_one_blas_one_torch_and_one_openmp_thread():
    got = _probe(SLURM_CPUS_PER_TASK="1")
    assert got == {"cap": 1, "blas": [1] * len(got["blas"]), "torch": 1, "omp": "1"} and got["blas"]
    # the user's own setting is left alone, and outside SLURM nothing changes
    assert _probe(SLURM_CPUS_PER_TASK="1", OMP_NUM_THREADS="2")["cap"] is None
    free = _probe()
    assert free["cap"] is None and free["torch"] == min(os.cpu_count(), len(os.sched_getaffinity(0)))
