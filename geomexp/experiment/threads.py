"""Thread pools sized to the CPUs a job may use, so that jobs sharing a node do not oversubscribe it.

A SLURM job asked for ``cpus_per_task`` CPUs, but where the cluster does not bind jobs to their CPUs (no
``task/affinity`` or ``task/cgroup`` plugin, as on small clusters and the test cluster) OpenBLAS, OpenMP
and torch each start one thread per core of the node: two 1-CPU jobs on a 2-core node ran 4 threads, and
the me5_small jobs of a cached sweep took 54 s instead of ~12 s (``benchmarks/RESULTS.md`` §12). A
container's CPU quota (cgroup ``cpu.max``) is the same case.

``usable_cpus()`` is the smallest of: the CPUs of this process's affinity mask, ``SLURM_CPUS_PER_TASK``,
and the cgroup quota rounded up. ``limit_threads()`` (called by ``run.py`` before a job) caps the thread
pools to it where it is below the machine's core count; it never raises them, and leaves a pool the user
sized (``OMP_NUM_THREADS`` and friends) alone.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

#: the environment variables the BLAS and OpenMP runtimes read when they load
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def _cgroup_quota(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """CPUs allowed by a cgroup v2 quota (``cpu.max``: ``quota period``), rounded up; None without one."""
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return max(1, math.ceil(int(quota) / int(period)))


def usable_cpus(environ=os.environ) -> int:
    """How many CPUs this process may use (see the module docstring); at least 1."""
    counts = [len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1]
    slurm = environ.get("SLURM_CPUS_PER_TASK", "")
    if slurm.isdigit() and int(slurm) > 0:
        counts.append(int(slurm))
    quota = _cgroup_quota()
    if quota is not None:
        counts.append(quota)
    return max(1, min(counts))


def limit_threads(environ=os.environ) -> int | None:
    """Cap the BLAS, OpenMP and torch thread pools at ``usable_cpus()`` where that is below the machine's
    core count and the user set none of ``THREAD_VARIABLES``. Returns the cap, or None where nothing was
    changed. Libraries not loaded yet read the environment variables set here; loaded ones are capped
    through threadpoolctl (and ``torch.set_num_threads`` if torch is loaded)."""
    cpus = usable_cpus(environ)
    if cpus >= (os.cpu_count() or 1) or any(environ.get(v) for v in THREAD_VARIABLES):
        return None
    for variable in THREAD_VARIABLES:
        environ[variable] = str(cpus)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=cpus)  # the pools already loaded (numpy's OpenBLAS), for the rest of the process
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(cpus)
    return cpus
