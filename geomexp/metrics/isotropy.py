"""Isotropy measures of a set of token representations ``X`` of shape ``(N, d)``.

- ``i_cos``: mean cosine similarity of random pairs of distinct rows (0 for an
  isotropic space, near 1 when all vectors share a direction).
- ``i_cos_exact``: the same mean over ALL pairs i != j, in closed form.
- ``i_pc``: Mu & Viswanath's partition-function measure
  ``min_u F(u) / max_u F(u)`` with ``F(u) = sum_i exp(u . x_i)`` over the
  principal directions ``u`` of the raw (uncentred) matrix (1 = isotropic).
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


def i_cos(X, n_pairs: int = 1000, seed: int | None = 0) -> float:
    """Mean cosine similarity of ``n_pairs`` random pairs of distinct rows of ``X`` (N, d).

    Pairs are drawn with ``sample_pairs(N, n_pairs, seed)``; same seed, same pairs.
    """
    n_pairs = check_positive_int(n_pairs, "n_pairs")
    U = unit_rows(as_embeddings(X, nonzero_rows=True))
    i, j = sample_pairs(U.shape[0], n_pairs, seed)
    return float(np.einsum("pd,pd->p", U[i], U[j]).mean())


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


def log_i_pc(X, signs: str = "both") -> float:
    """Natural log of ``i_pc(X, signs)``; finite even where ``i_pc`` underflows to 0."""
    check_choice(signs, "signs", I_PC_SIGNS, error=InvalidEmbeddingsError)
    W = as_embeddings(X)
    if not W.any():
        raise InvalidEmbeddingsError("X is all zeros: every direction is a principal one, I_PC is undefined")
    # (d, N): projection of every row on every direction, one float64 GEMM; rows are contiguous,
    # so each direction's log F(u) reduces along memory.
    Zt = np.ascontiguousarray(principal_directions(W).T) @ W.T
    log_f = _log_partition(Zt)  # log F(u) for each eigenvector u
    if signs == "both":
        log_f = np.concatenate([log_f, _log_partition(Zt, negate=True)])
    return float(log_f.min() - log_f.max())


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
