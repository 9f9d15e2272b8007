"""Cluster-based isotropy enhancement (Rajaee & Pilehvar, ACL 2021), with FAISS k-means.

fit(X (N, d)):
  1. k-means with ``faiss.Kmeans`` (seeded, k-means++ initialisation by default;
     on ALL N rows unless ``max_points_per_centroid`` says otherwise), then every fit row is assigned
     to its nearest final centroid (exact L2 search, ``faiss.IndexFlatL2``).
  2. Clusters with fewer than D + 2 members (D = ``n_components``), empty ones
     included, are handled by ``small_cluster_policy`` (below); what happened is
     recorded in ``policy_events_``. Why D + 2: the centred members of a cluster of
     size s span at most s - 1 directions; removing D of them must leave at least
     one, else every member collapses to rounding noise (rows of norm ~1e-16 of the
     input, whose cosines are noise). Until issue 32 the bound was D + 1, and a
     cluster of exactly D + 1 members survived and collapsed.
  3. For each kept cluster c: ``means_[c]`` = the mean of its members; the
     members are centred on it; ``components_[c]`` = the top D_c principal
     directions of the centred members (D_c = D unless the policy reduced it).

transform(X (M, d)): each row goes to its nearest kept centroid (same faiss
search), loses that cluster's mean (the mean is NOT added back) and its
projection on that cluster's directions. Nothing in transform depends on the
fit rows themselves, so fit on one language and transform another (zero-shot)
is ``ClusterEnhancer().fit(X_en).transform(X_sw)``.

Small or empty clusters (``small_cluster_policy``):
  - ``"reduce"``: keep the cluster and remove as many directions as leave one of
    its span, ``D_c = max(0, min(D, size - 2))``. A cluster of one row still maps
    that row to the zero vector (minus its own mean): watch for zero rows
    downstream (cosine is undefined for them).
  - ``"merge"`` (default): drop the cluster's centroid and send its rows to the nearest
    remaining centroid; repeated, smallest cluster first (ties: lowest k-means
    id), until no cluster is small. If a single cluster is left and is still
    small (N < D + 2), it is reduced as above (recorded).
  - ``"error"``: raise ``SmallClusterError`` listing the small clusters.
  An EMPTY cluster (no fit row nearest its centroid) has no mean to subtract: it
  is dropped under "reduce" and "merge" alike (recorded), so transform never
  sends a row to it; "error" raises.

Numerics: k-means and the nearest-centroid search run in float32 (faiss works
in float32 only); means, PCA and the subtraction run in float64. Faiss runs with
``n_threads`` OpenMP threads (default 1) while fitting and transforming, so the
same ``random_state`` gives bit-identical results.

Collapsed rows: after fit, the fit rows whose enhanced norm is below ``COLLAPSE_FLOOR``
times their input norm are counted (``n_collapsed_rows_``, and a line in
``policy_events_`` when there are any): their directions are rounding noise. Under the
default policy this happens only for duplicated rows (a cluster of identical rows).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from geomexp.enhancement.base import Enhancer, faiss_threads
from geomexp.errors import ConfigError, GeomexpError
from geomexp.linalg import principal_axes, remove_directions
from geomexp.validation import (
    InvalidEmbeddingsError,
    check_magnitude,
    check_n_components,
    integer,
    one_of,
    resolve_seed,
)

SMALL_CLUSTER_POLICIES = ("reduce", "merge", "error")
#: an enhanced fit row shorter than this fraction of its input row has collapsed to rounding noise
COLLAPSE_FLOOR = 1e-8
# k-means initialisations -> name of the faiss ``ClusteringInitMethod`` constant.
INIT_METHODS = {
    "k-means++": "ClusteringInitMethod_KMEANS_PLUS_PLUS",
    "random": "ClusteringInitMethod_RANDOM",
    "afk-mc2": "ClusteringInitMethod_AFK_MC2",
}


class SmallClusterError(GeomexpError, ValueError):
    """k-means left a cluster with fewer than n_components + 1 members and the policy is "error"."""


def as_float32(X: np.ndarray) -> np.ndarray:
    """``X`` (N, d) as a C-contiguous float32 array for faiss; error if values overflow float32, or if
    squared distances would (faiss then aborts the whole process: checked before it sees X)."""
    high = 0.5 * float(np.sqrt(np.finfo(np.float32).max / max(X.shape[1], 1)))  # (2|x|)^2 d < float32 max
    check_magnitude(X, "ClusterEnhancer (faiss works in float32)", low=1e-15, high=high)
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    if not np.isfinite(X32).all():
        raise InvalidEmbeddingsError("X has values beyond the float32 range (|x| > 3.4e38); faiss works in float32")
    return X32


def nearest_centroid(X32: np.ndarray, centroids32: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row of ``X32`` (N, d): the nearest row of ``centroids32`` (k, d).

    Returns (index (N,) int64, squared L2 distance (N,) float32); exact search
    with ``faiss.IndexFlatL2``, in float32.
    """
    import faiss

    index = faiss.IndexFlatL2(centroids32.shape[1])
    index.add(np.ascontiguousarray(centroids32, dtype=np.float32))
    dist, idx = index.search(X32, 1)
    return idx[:, 0].astype(np.int64), dist[:, 0]


def faiss_kmeans(
    X32: np.ndarray, k: int, *, n_iter: int, n_init: int, seed: int, max_points_per_centroid: int, init: str
) -> np.ndarray:
    """Centroids (k, d) float32 of ``faiss.Kmeans`` on ``X32`` (N, d), initialised by ``init`` (a key of INIT_METHODS).

    Faiss trains on a random subsample of ``k * max_points_per_centroid`` rows
    when N is larger; pass ``ceil(N / k)`` or more to train on all rows.
    ``min_points_per_centroid`` is set to 1 (our own checks replace faiss's
    "too few points" warning).
    """
    import faiss

    km = faiss.Kmeans(
        X32.shape[1],
        k,
        niter=n_iter,
        nredo=n_init,
        seed=seed,
        max_points_per_centroid=max_points_per_centroid,
        min_points_per_centroid=1,
        init_method=getattr(faiss, INIT_METHODS[init]),
        verbose=False,
    )
    km.train(X32)
    return np.asarray(km.centroids, dtype=np.float32).reshape(k, X32.shape[1])


class ClusterEnhancer(Enhancer):
    """Cluster-based isotropy enhancement (``cluster``; Rajaee & Pilehvar, ACL 2021). See the module docstring.

    Parameters
    ----------
    n_clusters : int, default 27
        k, the number of k-means clusters; ``1 <= k <= N`` (27 for BERT-base in the paper).
    n_components : int, default 12
        D, the number of dominant directions removed per cluster; ``0 <= D < d``.
    random_state : int or None, default 0
        Seed of faiss k-means (``0 <= seed < 2**31 - 1``); None draws a fresh
        seed, recorded in ``seed_``.
    n_iter : int, default 20
        k-means iterations (faiss ``niter``).
    n_init : int, default 1
        k-means restarts, the best kept (faiss ``nredo``).
    init : {"k-means++", "random", "afk-mc2"}, default "k-means++"
        k-means initialisation (faiss ``init_method``). faiss's own default and
        the authors' code use "random" (k rows drawn at random), which often
        leaves two centroids in one of several well-separated groups (measured:
        wrong partition for 5 of 5 seeds on 5 separated blobs, k-means++ right
        for 5 of 5); "k-means++" costs about one extra k-means iteration.
        Use "random" to mimic the paper's code exactly.
    max_points_per_centroid : int or None, default None
        None: k-means trains on ALL fit rows (faiss's own default would
        subsample to 256 rows per centroid). An int m: faiss trains on a
        seeded random subsample of ``k * m`` rows when N is larger (as faiss
        does by default with m = 256). All rows are still assigned and used for
        the means and directions.
    small_cluster_policy : {"reduce", "merge", "error"}, default "merge"
        What to do with a cluster of fewer than D + 2 fit rows (or none);
        see the module docstring.
    n_threads : int or None, default 1
        OpenMP threads faiss may use during fit/transform (restored after).
        1 makes results bit-for-bit reproducible; None leaves faiss's setting
        (faster on many cores).

    Fitted attributes (k_ = ``n_clusters_`` kept clusters; k_ = k unless clusters were dropped)
    ------------------------------------------------------------------------------------------
    centroids_ : (k_, d) float64 (float32 values) k-means centroids that transform assigns to.
    means_ : (k_, d) mean of each kept cluster's fit rows (subtracted in transform).
    components_ : list of k_ arrays (D_c, d): each cluster's removed directions
        (orthonormal rows, by decreasing variance, signs fixed).
    components_removed_ : (k_,) int, D_c per cluster (D unless reduced).
    n_collapsed_rows_ : int, fit rows whose enhanced norm is below ``COLLAPSE_FLOOR`` x their input norm.
    cluster_sizes_ : (k_,) int, fit rows per kept cluster (after merging).
    cluster_ids_ : (k_,) int, the k-means cluster number of each kept cluster.
    labels_ : (N,) int, index into ``centroids_`` of each fit row.
    kmeans_centroids_ : (k, d) all k-means centroids, before the policy.
    kmeans_sizes_ : (k,) int, fit rows nearest each k-means centroid, before the policy.
    policy_events_ : list of str, one human-readable line per cluster the
        policy touched (empty when no cluster was small).
    n_clusters_ : int, k_.
    n_train_points_ : int, rows k-means trained on.
    inertia_ : float, sum of squared (float32) distances of the fit rows to
        their nearest k-means centroid.
    seed_ : int, the seed used.
    """

    name = "cluster"

    def __init__(
        self,
        n_clusters: int = 27,
        n_components: int = 12,
        random_state: int | None = 0,
        n_iter: int = 20,
        n_init: int = 1,
        init: str = "k-means++",
        max_points_per_centroid: int | None = None,
        small_cluster_policy: str = "merge",
        n_threads: int | None = 1,
    ):
        self.n_clusters = n_clusters
        self.n_components = n_components
        self.random_state = random_state
        self.n_iter = n_iter
        self.n_init = n_init
        self.init = init
        self.max_points_per_centroid = max_points_per_centroid
        self.small_cluster_policy = small_cluster_policy
        self.n_threads = n_threads

    # -- validation ----------------------------------------------------------------------

    _parameter_constraints: ClassVar[dict] = {
        "n_clusters": integer(1),
        "n_components": integer(0),
        "n_iter": integer(1),
        "n_init": integer(1),
        "init": one_of(*INIT_METHODS),
        "max_points_per_centroid": integer(1, allow_none=True),
        "small_cluster_policy": one_of(*SMALL_CLUSTER_POLICIES),
        "n_threads": integer(1, allow_none=True),
        "random_state": integer(0, 2**31 - 2, allow_none=True),
    }

    def _check_shape(self, n: int | None, d: int | None) -> None:
        if n is not None and self.n_clusters > n:
            raise ConfigError(
                f"n_clusters={self.n_clusters} exceeds the {n} rows of X: k-means needs at least one row "
                f"per cluster; allowed: 1..{n}"
            )
        if d is not None:
            check_n_components(self.n_components, d)

    # -- fit -----------------------------------------------------------------------------

    def _fit(self, X: np.ndarray) -> None:
        n, _ = X.shape
        k, D = int(self.n_clusters), int(self.n_components)
        seed = resolve_seed(self.random_state)
        mppc = self.max_points_per_centroid
        mppc = -(-n // k) if mppc is None else int(mppc)  # ceil(n / k): every row counts
        X32 = as_float32(X)
        with faiss_threads(self.n_threads):
            centroids32 = faiss_kmeans(
                X32,
                k,
                n_iter=int(self.n_iter),
                n_init=int(self.n_init),
                seed=seed,
                max_points_per_centroid=mppc,
                init=self.init,
            )
            labels, dist = nearest_centroid(X32, centroids32)
            kmeans_sizes = np.bincount(labels, minlength=k)
            kept, labels, events = self._apply_policy(X32, centroids32, labels, D)

        sizes = np.bincount(labels, minlength=len(kept))
        means, components = [], []
        for c, size in enumerate(sizes):
            members = X[labels == c]
            mean = members.mean(axis=0)
            n_dirs = max(0, min(D, int(size) - 2))
            if n_dirs < D:
                tag = (
                    "small_cluster_policy='merge', but only one cluster is left: fell back to 'reduce'"
                    if self.small_cluster_policy == "merge"
                    else "small_cluster_policy='reduce'"
                )
                events.append(
                    f"k-means cluster {kept[c]} has {size} member(s), fewer than n_components + 2 = {D + 2}: "
                    f"removing its top {n_dirs} direction(s) instead of {D} [{tag}]"
                )
            means.append(mean)
            components.append(principal_axes(members - mean, n_dirs, centred=True)[0])

        self.kmeans_centroids_ = centroids32.astype(np.float64)
        self.kmeans_sizes_ = kmeans_sizes
        self.cluster_ids_ = np.asarray(kept, dtype=np.int64)
        self.centroids_ = self.kmeans_centroids_[self.cluster_ids_]
        self.means_ = np.stack(means)
        self.components_ = components
        self.components_removed_ = np.array([V.shape[0] for V in components], dtype=np.int64)
        self.cluster_sizes_ = sizes.astype(np.int64)
        self.labels_ = labels
        self.policy_events_ = events
        self.n_clusters_ = len(kept)
        self.n_train_points_ = min(n, k * mppc)
        self.inertia_ = float(dist.astype(np.float64).sum())
        self.seed_ = seed
        self.n_collapsed_rows_ = self._count_collapsed(X)
        if self.n_collapsed_rows_:
            events.append(
                f"{self.n_collapsed_rows_} of {n} fit row(s) collapsed below {COLLAPSE_FLOOR:g} of their input norm "
                "(their enhanced directions are rounding noise; duplicated rows or a reduced cluster)"
            )

    def _count_collapsed(self, X: np.ndarray) -> int:
        """Fit rows (N, d) whose enhanced norm is below ``COLLAPSE_FLOOR`` times their input norm."""
        out = self._enhance(X, self.labels_)
        return int(np.sum(np.linalg.norm(out, axis=1) < COLLAPSE_FLOOR * np.linalg.norm(X, axis=1)))

    def _apply_policy(
        self, X32: np.ndarray, centroids32: np.ndarray, labels: np.ndarray, D: int
    ) -> tuple[list[int], np.ndarray, list[str]]:
        """Drop empty clusters and (policy "merge") merge small ones; or raise (policy "error").

        Returns (kept k-means ids, labels (N,) indexing the kept list, events).
        Reduction of the directions of small clusters happens later, in ``_fit``.
        """
        policy = self.small_cluster_policy
        kept = list(range(centroids32.shape[0]))
        sizes = np.bincount(labels, minlength=len(kept))
        if policy == "error":
            small = [f"cluster {c} ({s} member(s))" for c, s in zip(kept, sizes) if s < D + 2]
            if small:
                raise SmallClusterError(
                    f"k-means left {len(small)} cluster(s) with fewer than n_components + 2 = {D + 2} members: "
                    f"{', '.join(small)}; use small_cluster_policy='reduce' or 'merge', fewer clusters "
                    f"or a smaller n_components"
                )
            return kept, labels, []

        events: list[str] = []
        empty = [c for c in kept if sizes[c] == 0]
        if empty:
            for c in empty:
                events.append(
                    f"k-means cluster {c} is empty (no fit row is nearest its centroid): dropped; "
                    f"transform never assigns to it [small_cluster_policy={policy!r}]"
                )
            kept = [c for c in kept if sizes[c] > 0]
            labels, _ = nearest_centroid(X32, centroids32[kept])
        if policy != "merge":
            return kept, labels, events

        while len(kept) > 1:
            sizes = np.bincount(labels, minlength=len(kept))
            small = [i for i in range(len(kept)) if sizes[i] < D + 2]
            if not small:
                break
            i = min(small, key=lambda j: (sizes[j], kept[j]))
            gone, members = kept[i], labels == i
            kept = kept[:i] + kept[i + 1 :]
            labels, _ = nearest_centroid(X32, centroids32[kept])
            targets = sorted({kept[j] for j in np.unique(labels[members])})
            events.append(
                f"k-means cluster {gone} has {sizes[i]} member(s), fewer than n_components + 2 = {D + 2}: "
                f"merged (its rows moved to the nearest other centroid: cluster(s) {targets}) and dropped "
                f"[small_cluster_policy='merge']"
            )
        return kept, labels, events

    # -- transform -----------------------------------------------------------------------

    def predict(self, X) -> np.ndarray:
        """Index into ``centroids_`` (M,) of the nearest kept centroid of each row of ``X`` (M, d)."""
        return self._assign(self._check_input(X))

    def _assign(self, X: np.ndarray) -> np.ndarray:
        with faiss_threads(self.n_threads):
            labels, _ = nearest_centroid(as_float32(X), self.centroids_.astype(np.float32))
        return labels

    def _transform(self, X: np.ndarray) -> np.ndarray:
        return self._enhance(X, self._assign(X))

    def _enhance(self, X: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Rows of ``X`` (M, d) minus their cluster's mean and its directions, ``labels`` (M,) giving the
        cluster (index into ``centroids_``) of each row."""
        order = np.argsort(labels, kind="stable")
        bounds = np.concatenate([[0], np.cumsum(np.bincount(labels, minlength=self.n_clusters_))])
        out = np.empty_like(X)
        for c, V in enumerate(self.components_):
            rows = order[bounds[c] : bounds[c + 1]]
            if rows.size:
                block = X[rows] - self.means_[c]
                out[rows] = remove_directions(block, V)
        return out

    # -- persistence of the ragged components_ ---------------------------------------------

    def _state(self, skip=()):
        arrays, values = super()._state(skip=(*skip, "components_"))
        arrays["components_"] = np.concatenate(self.components_, axis=0)
        return arrays, values

    def _set_state(self, arrays, values) -> None:
        super()._set_state(arrays, values)
        stacked = arrays["components_"]
        bounds = np.cumsum(self.components_removed_)[:-1]
        self.components_ = [np.ascontiguousarray(V) for V in np.split(stacked, bounds, axis=0)]
