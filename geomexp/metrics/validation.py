"""Input validation shared by the metric functions."""

from __future__ import annotations

import numpy as np

from geomexp.errors import GeomexpError


class InvalidEmbeddingsError(GeomexpError, ValueError):
    """The array given to a metric is not a usable ``(N, d)`` matrix."""


def as_embeddings(X, *, name: str = "X", min_rows: int = 2, nonzero_rows: bool = False) -> np.ndarray:
    """Return ``X`` as a C-contiguous float64 ``(N, d)`` array, or raise a clear error.

    Rejects non-2-D input, non-numeric dtypes, fewer than ``min_rows`` rows, zero
    columns, NaN/inf entries and (with ``nonzero_rows``) all-zero rows, whose cosine
    is undefined. Integer and float16/float32 input is converted to float64.
    """
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise InvalidEmbeddingsError(f"{name} must be a 2-D array of shape (N, d); got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        raise InvalidEmbeddingsError(f"{name} must hold real numbers; got dtype {arr.dtype}")
    n, d = arr.shape
    if n < min_rows:
        raise InvalidEmbeddingsError(f"{name} needs at least {min_rows} rows (vectors); got {n}")
    if d < 1:
        raise InvalidEmbeddingsError(f"{name} needs at least 1 column (dimension); got {d}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    finite = np.isfinite(arr).all(axis=1)
    if not finite.all():
        bad = np.flatnonzero(~finite)
        raise InvalidEmbeddingsError(
            f"{name} has {bad.size} row(s) with NaN or inf values (first: row {bad[0]})"
        )
    if nonzero_rows:
        zero = ~arr.any(axis=1)
        if zero.any():
            bad = np.flatnonzero(zero)
            raise InvalidEmbeddingsError(
                f"{name} has {bad.size} all-zero row(s) (first: row {bad[0]}); their cosine is undefined"
            )
    return arr


def check_positive_int(value, name: str) -> int:
    """Return ``value`` as an int if it is a positive integer, else raise ``ValueError`` naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InvalidEmbeddingsError(f"{name} must be a positive integer; got {value!r}")
    return int(value)
