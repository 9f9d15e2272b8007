"""Benchmark 4: FAISS k-means vs scikit-learn KMeans, and the whole ClusterEnhancer, on 100,000 x 768.

    python benchmarks/clustering.py          # ~2-3 min
    python benchmarks/clustering.py --n 50000 --repeat 1

Data: 100,000 x 768 float32, seeded: Gaussian rows plus a common offset, without cluster
structure, so Lloyd does not converge before the 20 iterations and both libraries do the same
work (scikit-learn stops early on converged labels; its ``n_iter_`` is printed to check). Both get k = 27, 20 iterations, one
start (n_init/nredo = 1), the same initialisation kind (``random`` = k rows drawn at random,
``k-means++``), every row used for training (faiss ``max_points_per_centroid = ceil(N/k)``,
as ``ClusterEnhancer`` does), the same number of threads (all cores: faiss via
``omp_set_num_threads``, scikit-learn via its OpenMP pool), ``tol=0`` for scikit-learn.
Also FAISS with ONE thread (``ClusterEnhancer``'s default ``n_threads=1``, bit-reproducible), and
``ClusterEnhancer(n_clusters=27, n_components=12)`` fit + transform on the same matrix with
n_threads=1 (the default) and None (all cores). Median of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import math
import os

import _common  # noqa: F401  (sys.path)
import numpy as np
from _common import loadavg, machine, table, timeit, write_json

K, N_ITER = 27, 20


def make_data(n: int, d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) + rng.standard_normal(d) * 0.5  # a common offset, as in contextual embeddings
    return X.astype(np.float32)


def read_bandwidth(X: np.ndarray, repeat: int = 5) -> float:
    """GB/s of one streaming read of ``X`` (a column sum), the best of ``repeat``."""
    import time

    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        np.add.reduce(X, axis=0)
        best = min(best, time.perf_counter() - t0)
    return X.nbytes / best / 1e9


def faiss_kmeans(X, init: str, threads: int):
    import faiss

    from geomexp.enhancement.cluster import INIT_METHODS

    faiss.omp_set_num_threads(threads)
    km = faiss.Kmeans(
        X.shape[1],
        K,
        niter=N_ITER,
        nredo=1,
        seed=0,
        max_points_per_centroid=math.ceil(X.shape[0] / K),
        min_points_per_centroid=1,
        init_method=getattr(faiss, INIT_METHODS[init]),
        verbose=False,
    )
    km.train(X)
    return km


def sklearn_kmeans(X, init: str):
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=K, init=init, n_init=1, max_iter=N_ITER, tol=0.0, algorithm="lloyd", random_state=0)
    km.fit(X)
    return km


def inertia(X, centroids) -> float:
    """Sum of squared distances of the rows to their nearest centroid (float64)."""
    import faiss

    index = faiss.IndexFlatL2(X.shape[1])
    index.add(np.ascontiguousarray(centroids, dtype=np.float32))
    dist, _ = index.search(X, 1)
    return float(dist.astype(np.float64).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--d", type=int, default=768)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import faiss

    from geomexp.enhancement.cluster import ClusterEnhancer

    cores = len(os.sched_getaffinity(0))
    info = machine()
    print(
        f"machine: {info['cpu']}, {info['cpus']} CPUs, faiss {info.get('faiss')}, scikit-learn {info.get('sklearn')}, load {info['loadavg_1min_at_start']}"
    )
    X = make_data(args.n, args.d)
    bandwidth = read_bandwidth(X)
    # Lloyd reads X twice per iteration (distances, then the centroid update); its GEMM does
    # 2 N k d FLOPs per iteration, with 2 k = 54 FLOPs per 4-byte value read: memory-bound here.
    floor = 2 * N_ITER * X.nbytes / (bandwidth * 1e9)
    print(
        f"X: {X.shape} {X.dtype} ({X.nbytes / 1e6:.0f} MB), k={K}, {N_ITER} iterations, n_init=1, median of {args.repeat}"
    )
    print(f"streaming read {bandwidth:.1f} GB/s: 20 Lloyd iterations reading X twice each take >= {floor:.2f} s\n")
    default_threads = faiss.omp_get_max_threads()
    rows, by = [], {}
    for init in ("random", "k-means++"):
        for label, fn in (
            (f"faiss ({cores} threads)", lambda: faiss_kmeans(X, init, cores)),
            ("faiss (1 thread)", lambda: faiss_kmeans(X, init, 1)),
            (f"sklearn ({cores} threads)", lambda: sklearn_kmeans(X, init)),
        ):
            t = timeit(fn, repeat=args.repeat)
            model = t["result"]
            if label.startswith("sklearn"):
                n_iter, cost = int(model.n_iter_), inertia(X, model.cluster_centers_)
            else:
                n_iter, cost = N_ITER, inertia(X, model.centroids)
            row = {
                "init": init,
                "method": label,
                "median_s": t["median_s"],
                "min_s": t["min_s"],
                "iterations": n_iter,
                "inertia": cost,
                "runs_s": t["runs_s"],
            }
            rows.append(row)
            by[(init, label.split(" ")[0] + (" 1" if "1 thread" in label else ""))] = t["median_s"]
            print(
                f"  {init:<9} {label:<20} {t['median_s']:.2f} s  ({n_iter} iterations, inertia {cost:.6g})", flush=True
            )
    faiss.omp_set_num_threads(default_threads)
    ratios = {init: by[(init, "sklearn")] / by[(init, "faiss")] for init in ("random", "k-means++")}
    ratios_1 = {init: by[(init, "sklearn")] / by[(init, "faiss 1")] for init in ("random", "k-means++")}

    enh_rows = []
    for threads in (1, None):

        def fit_transform():
            return ClusterEnhancer(n_clusters=K, n_components=12, random_state=0, n_threads=threads).fit(X).transform(X)

        t = timeit(fit_transform, repeat=args.repeat)
        fitted = ClusterEnhancer(n_clusters=K, n_components=12, random_state=0, n_threads=threads)
        fit_t = timeit(lambda: fitted.fit(X), repeat=1, warmup=0)["median_s"]
        tr_t = timeit(lambda: fitted.transform(X), repeat=1, warmup=0)["median_s"]
        label = "ClusterEnhancer fit+transform (n_threads=%s)" % threads
        enh_rows.append(
            {"method": label, "median_s": t["median_s"], "fit_s": fit_t, "transform_s": tr_t, "runs_s": t["runs_s"]}
        )
        print(f"  {label:<46} {t['median_s']:.2f} s (one run: fit {fit_t:.2f} s, transform {tr_t:.2f} s)", flush=True)

    print()
    print(table(rows, ["init", "method", "median_s", "iterations", "inertia"]))
    print()
    print(table(enh_rows, ["method", "median_s", "fit_s", "transform_s"]))
    for init in ratios:
        print(
            f"sklearn / faiss, init={init}: {ratios[init]:.2f}x with {cores} threads each, "
            f"{ratios_1[init]:.2f}x against faiss on 1 thread (target faiss >= 3x faster)"
        )
    info["loadavg_1min_at_end"] = loadavg()
    print(f"memory-bandwidth floor of 20 iterations (2 reads of X each): {floor:.2f} s")
    path = write_json(
        "clustering",
        {
            "machine": info,
            "args": vars(args),
            "read_gb_s": bandwidth,
            "lloyd_floor_s": floor,
            "kmeans": rows,
            "enhancer": enh_rows,
            "sklearn_over_faiss": ratios,
            "sklearn_over_faiss_1_thread": ratios_1,
        },
    )
    print(f"written {path}")


if __name__ == "__main__":
    main()
