"""Isotropy measures of a set of token representations ``X`` of shape ``(N, d)``.

- ``i_cos``: mean cosine similarity of random pairs of distinct rows (0 for an
  isotropic space, near 1 when all vectors share a direction).
- ``i_cos_exact``: the same mean over ALL pairs i != j, in closed form.
- ``i_pc``: Mu & Viswanath's partition-function measure
  ``min_u F(u) / max_u F(u)`` with ``F(u) = sum_i exp(u . x_i)`` over the
  principal directions ``u`` of the raw (uncentred) matrix (1 = isotropic).
- ``i_pc_spread``: how far I_PC is from well defined: the range of log I_PC over random
  rotations of the eigenvectors within the eigenspaces of ``X^T X`` that the sample does not
  resolve (0 where every eigenvalue is resolved).

What I_PC means after whitening (and what it does not): whitening makes the covariance the
identity, so all eigenvalues of ``X^T X`` are (nearly) equal and "the principal directions" are
any orthonormal basis: I_PC then depends on which basis the eigensolver happened to return (it
moved 0.324 -> 0.484 between two CPU kinds on the same data). Such a value is reported with its
``i_pc_spread`` and flagged (``I_PC_UNSTABLE``); it says only that F(u) varies by about that much
over the unit sphere's directions that were tried, not how isotropic the space is.
"""

from __future__ import annotations

import numpy as np

from geomexp.validation import (
    InvalidEmbeddingsError,
    as_embeddings,
    check_choice,
    check_positive_int,
    exactly_rescaled,
)

I_PC_SIGNS = ("both", "single")
#: an ``i_pc_spread`` (in log I_PC) above this marks I_PC as not well defined (it moves by over 1 %
#: with the arbitrary choice of eigenvectors within unresolved eigenspaces)
I_PC_UNSTABLE = 0.01


def unit_rows(X: np.ndarray) -> np.ndarray:
    """Rows of ``X`` (N, d) scaled to unit L2 norm, float64."""
    # Divide by each row's largest |entry| first: squaring tiny (or huge) entries
    # would underflow (overflow) and make the norm 0 (inf).
    X = X / np.abs(X).max(axis=1, keepdims=True)
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def sample_pairs(n: int, n_pairs: int, seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n_pairs`` index pairs ``(i, j)`` drawn uniformly from ``0..n-1`` with ``i != j``.

    Returns two int64 arrays of length ``n_pairs``. Pairs are drawn with
    replacement, so ``n_pairs`` may exceed ``n (n - 1)``.
    """
    rng = np.random.default_rng(seed)
    i = rng.integers(0, n, size=n_pairs)
    j = rng.integers(0, n - 1, size=n_pairs)
    j = j + (j >= i)  # skip i itself: uniform over the other n - 1 rows
    return i, j


def pair_cosines(X, n_pairs: int = 1000, seed: int | None = 0) -> np.ndarray:
    """Cosines (n_pairs,) of ``n_pairs`` random pairs of distinct rows of ``X`` (N, d) (``sample_pairs``)."""
    n_pairs = check_positive_int(n_pairs, "n_pairs")
    U = unit_rows(as_embeddings(X, nonzero_rows=True))
    i, j = sample_pairs(U.shape[0], n_pairs, seed)
    return np.einsum("pd,pd->p", U[i], U[j])


def i_cos(X, n_pairs: int = 1000, seed: int | None = 0) -> float:
    """Mean cosine similarity of ``n_pairs`` random pairs of distinct rows of ``X`` (N, d).

    Pairs are drawn with ``sample_pairs(N, n_pairs, seed)``; same seed, same pairs.
    """
    return float(pair_cosines(X, n_pairs, seed).mean())


def i_cos_se(X, n_pairs: int = 1000, seed: int | None = 0) -> float:
    """Standard error of ``i_cos(X, n_pairs, seed)`` from its random pairs: their cosines' sd / sqrt(n_pairs).

    After centring or an enhancement I_Cos is ~0 by construction, and a value such as 0.0012 is below
    this error: only ``i_cos ± 2 se`` is meaningful then (the console and the report show it so)."""
    return standard_error(pair_cosines(X, n_pairs, seed))


def standard_error(values: np.ndarray) -> float:
    """Standard error of the mean of ``values`` (n,): sd (ddof 1) / sqrt(n); NaN for fewer than 2."""
    return float(values.std(ddof=1) / np.sqrt(values.size)) if values.size > 1 else float("nan")


def i_cos_exact(X) -> float:
    """Mean cosine similarity over all N (N - 1) ordered pairs i != j of rows of ``X`` (N, d).

    Closed form with unit rows u_i: ``(||sum_i u_i||^2 - N) / (N (N - 1))``; O(N d).
    """
    U = unit_rows(as_embeddings(X, nonzero_rows=True))
    n = U.shape[0]
    s = U.sum(axis=0)
    return float((s @ s - n) / (n * (n - 1)))


def principal_directions(X: np.ndarray) -> np.ndarray:
    """Eigenvectors of ``X^T X`` for the raw (uncentred) ``X`` (N, d), as the COLUMNS of a (d, d) array.

    Ordered by decreasing eigenvalue. Computed on an exactly rescaled copy where ``X^T X`` would
    overflow or underflow (the directions do not depend on scale).
    """
    S = exactly_rescaled(X)
    _, vecs = np.linalg.eigh(S.T @ S)
    return vecs[:, ::-1]


#: directions per block in ``_log_partition``: a (block, N) float64 scratch buffer stays cache-sized
_LSE_BLOCK = 32


def _log_partition(Zt: np.ndarray, negate: bool = False) -> np.ndarray:
    """Row-wise log-sum-exp of ``Zt`` (d, N) (of ``-Zt`` with ``negate``): log F(u) per direction, (d,).

    Shifted by each row's maximum (every term <= 1, the largest exactly 1: no overflow,
    no underflow of the sum), exponentiated in place in a reused block buffer.
    """
    d, n = Zt.shape
    out = np.empty(d)
    buf = np.empty((min(_LSE_BLOCK, d), n))
    for a in range(0, d, _LSE_BLOCK):
        block = Zt[a : a + _LSE_BLOCK]
        t = buf[: block.shape[0]]
        if negate:  # rows of -block, shifted by their maximum -min(block)
            low = block.min(axis=1)
            np.subtract(low[:, None], block, out=t)
            shift = -low
        else:
            shift = block.max(axis=1)
            np.subtract(block, shift[:, None], out=t)
        np.exp(t, out=t)
        out[a : a + block.shape[0]] = np.log(t.sum(axis=1)) + shift
    return out


def _log_partitions(Zt: np.ndarray, signs: str) -> np.ndarray:
    """log F(u) of the directions whose projections are the rows of ``Zt`` (d, N): (d,), or (2, d) with
    ``signs="both"`` (the second row for -u)."""
    log_f = _log_partition(Zt)
    return np.stack([log_f, _log_partition(Zt, negate=True)]) if signs == "both" else log_f


def _log_i_pc_of(Zt: np.ndarray, signs: str) -> float:
    """log(min F / max F) over the directions whose projections are the rows of ``Zt`` (d, N)."""
    log_f = _log_partitions(Zt, signs)
    return float(log_f.min() - log_f.max())


def _checked_rows(X, signs: str) -> np.ndarray:
    check_choice(signs, "signs", I_PC_SIGNS, error=InvalidEmbeddingsError)
    W = as_embeddings(X)
    if not W.any():
        raise InvalidEmbeddingsError("X is all zeros: every direction is a principal one, I_PC is undefined")
    return W


def log_i_pc(X, signs: str = "both") -> float:
    """Natural log of ``i_pc(X, signs)``; finite even where ``i_pc`` underflows to 0."""
    W = _checked_rows(X, signs)
    # (d, N): projection of every row on every direction, one float64 GEMM; rows are contiguous,
    # so each direction's log F(u) reduces along memory.
    Zt = np.ascontiguousarray(principal_directions(W).T) @ W.T
    return _log_i_pc_of(Zt, signs)


def unresolved_eigenspaces(values: np.ndarray, gap_tol: float, floor: float = 0.0) -> list[tuple[int, int]]:
    """Runs ``[a, b)`` (b - a >= 2) of eigenvalues ``values`` (d,), in decreasing order, whose adjacent
    relative gaps ``(values[i] - values[i+1]) / values[i]`` are all at most ``gap_tol``: the eigenspaces
    within which the eigenvectors are not determined (any rotation of them is as valid).

    Eigenvalues at or below ``floor`` (the eigensolver's resolution) are zero: they form one null
    eigenspace, whatever their rounding noise (their relative gaps are noise, and counting runs among
    them moved with the BLAS thread count)."""
    values = np.asarray(values, dtype=np.float64)
    n_above = int(np.sum(values > floor))
    runs, start = [], 0
    for i in range(n_above - 1):
        if values[i] - values[i + 1] > gap_tol * abs(values[i]):
            if i + 1 - start >= 2:
                runs.append((start, i + 1))
            start = i + 1
    if n_above - start >= 2:
        runs.append((start, n_above))
    if len(values) - n_above >= 2:
        runs.append((n_above, len(values)))
    return runs


def log_i_pc_with_spread(
    X, signs: str = "both", n_rotations: int = 8, seed: int | None = 0, gap_tol: float | None = None
) -> tuple[float, float, int]:
    """``(log_i_pc(X, signs), spread, n_unresolved)`` from ONE eigendecomposition of ``X^T X``; see
    ``i_pc_spread`` for the spread and the count. The first value is bit-identical to ``log_i_pc``."""
    W = _checked_rows(X, signs)
    n_rotations = check_positive_int(n_rotations, "n_rotations")
    tol = float(np.sqrt(2.0 / W.shape[0])) if gap_tol is None else float(gap_tol)
    S = exactly_rescaled(W)
    values, vecs = np.linalg.eigh(S.T @ S)
    values, vecs = values[::-1], vecs[:, ::-1]
    Zt = np.ascontiguousarray(vecs.T) @ W.T  # as log_i_pc computes it (principal_directions)
    log_f = _log_partitions(Zt, signs)  # (d,) or (2, d): log F(u) of every direction (and of -u)
    log_ipc = float(log_f.min() - log_f.max())  # = _log_i_pc_of(Zt, signs)
    floor = 10.0 * len(values) * float(np.finfo(np.float64).eps) * max(float(values[0]), 0.0)
    runs = unresolved_eigenspaces(values, tol, floor)
    if not runs:
        return log_ipc, 0.0, 0
    # a rotation changes only the rows of the unresolved eigenspaces: the others keep their log F
    rotated = np.zeros(len(values), dtype=bool)
    for a, b in runs:
        rotated[a:b] = True
    n_unresolved = int(rotated.sum())
    kept = log_f[..., ~rotated]
    kept_min = kept.min() if kept.size else np.inf
    kept_max = kept.max() if kept.size else -np.inf
    largest_row = float(np.sqrt(np.einsum("ij,ij->j", Zt, Zt).max()))  # max |x_i|: the projections' rounding scale
    if all(_within(_log_partition_bounds(Zt[a:b]), kept_min, kept_max, largest_row) for a, b in runs):
        return log_ipc, 0.0, n_unresolved  # no rotation can move the min or the max
    logs = [log_ipc]
    rng = np.random.default_rng(seed)
    Z = np.empty((n_unresolved, Zt.shape[1]))
    for _ in range(n_rotations):
        row = 0
        for a, b in runs:
            q, r = np.linalg.qr(rng.standard_normal((b - a, b - a)))
            Z[row : row + b - a] = (q * np.sign(np.diag(r))).T @ Zt[a:b]  # a Haar-random rotation of the eigenspace
            row += b - a
        log_z = _log_partitions(Z, signs)
        logs.append(float(min(log_z.min(), kept_min) - max(log_z.max(), kept_max)))
    return log_ipc, float(max(logs) - min(logs)), n_unresolved


def _log_partition_bounds(Zt_block: np.ndarray) -> tuple[float, float]:
    """``(low, high)`` bounding log F(u) for EVERY unit u (and -u) in the span of the directions whose
    projections are the rows of ``Zt_block`` (m, N), whatever the rotation: with p_i the projection of
    row i on that span, ``|u . x_i| <= |p_i|`` gives ``log F(u) <= logsumexp(|p_i|)``, and Jensen
    (``F(u) >= N exp(u . mean x)``) gives ``log F(u) >= log N - |mean p|``."""
    norms = np.sqrt(np.einsum("ij,ij->j", Zt_block, Zt_block))
    top = float(norms.max())
    high = top + float(np.log(np.exp(norms - top).sum()))
    low = float(np.log(Zt_block.shape[1]) - np.linalg.norm(Zt_block.mean(axis=1)))
    return low, high


def _within(bounds: tuple[float, float], kept_min: float, kept_max: float, largest_row: float) -> bool:
    """Whether ``bounds`` lie inside ``[kept_min, kept_max]`` by a margin far above the float64 rounding
    of a computed log F (about d eps times the largest row norm ``largest_row`` plus eps |log F|; the margin
    is 1e-9 of the largest of these scales), so that no computed rotated value could reach either end."""
    low, high = bounds
    margin = 1e-9 * (1.0 + max(abs(low), abs(high), abs(kept_min), abs(kept_max), largest_row))
    return low - margin > kept_min and high + margin < kept_max


def i_pc_spread(X, signs: str = "both", n_rotations: int = 8, seed: int | None = 0, gap_tol: float | None = None):
    """How well defined I_PC of ``X`` (N, d) is: the range (max - min) of log I_PC over the eigenvectors
    as returned and ``n_rotations`` random rotations (seeded) within each unresolved eigenspace of ``X^T X``.

    An eigenspace is unresolved where adjacent eigenvalues differ by at most ``gap_tol`` relative
    (default ``sqrt(2 / N)``: the relative standard error of an eigenvalue of an N-row sample
    covariance): the sample cannot tell those directions apart, and neither can a last-bit change of
    the inputs. Eigenvalues below the eigensolver's resolution (``10 d eps lambda_max``) form one null
    eigenspace (N < d leaves d - N of them). Returns ``(spread, n_unresolved)``: the spread in log
    I_PC (0 where every eigenvalue is resolved) and how many of the d eigenvalues lie in unresolved
    eigenspaces. Cost: about ``n_rotations`` times sum(m^2) N flops for eigenspaces of sizes m, plus
    one I_PC; none of the rotations where bounds on log F over each eigenspace (whatever its rotation)
    lie inside the range of the other directions' log F: then no rotation can move I_PC and the spread
    is exactly 0, as computing them would give (common in anisotropic layers, where the extremes of F
    are the resolved top directions).
    """
    _, spread, unresolved = log_i_pc_with_spread(X, signs, n_rotations, seed, gap_tol)
    return spread, unresolved


def i_pc(X, signs: str = "both") -> float:
    """I_PC of ``X`` (N, d): ``min F(u) / max F(u)``, ``F(u) = sum_i exp(u . x_i)``, in [0, 1].

    ``u`` ranges over the eigenvectors of ``X^T X`` (raw, uncentred ``X``).
    Computed in float64 and in log space, so large activations do not overflow.

    signs:
        ``"both"`` (default) evaluates F at ``u`` and ``-u`` for every eigenvector
        (2d candidates): invariant to the arbitrary sign an eigensolver returns.
        ``"single"`` uses each eigenvector with the sign the solver returned, as
        the paper's released code did; the value can depend on that sign.
    """
    return float(np.exp(log_i_pc(X, signs)))
