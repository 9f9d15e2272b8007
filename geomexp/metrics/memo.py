"""Per-array memory for the layer-comparing measures: a run asks for what one layer's array gives (its
neighbours, its whitened basis) at several layers (as the previous and as the last layer), and
``per_array`` computes it once.

An entry is keyed by the array object (a weak reference: it goes with the array), what is asked
(``key``) and a fingerprint of the array's contents (every 64th row and the shape), so an array
changed in place is not taken for the one seen. The least recently used entries are dropped once
the kept values pass ``MAX_BYTES`` (a layer comparison needs three at a time: this layer's, the
previous one's and the last one's).
"""

from __future__ import annotations

import hashlib
import weakref
from collections import OrderedDict

import numpy as np

#: the most the kept values may hold (bytes of their arrays); the newest entry is kept whatever its size
MAX_BYTES = 1 << 30
_SEEN: OrderedDict[tuple[int, object], tuple] = OrderedDict()


def fingerprint(X: np.ndarray) -> bytes:
    """A digest of every 64th row of ``X`` and its shape."""
    step = max(1, X.shape[0] // 64)
    return hashlib.blake2b(np.ascontiguousarray(X[::step]).tobytes() + str(X.shape).encode(), digest_size=16).digest()


def _nbytes(value) -> int:
    items = value if isinstance(value, tuple) else (value,)
    return sum(getattr(v, "nbytes", 0) for v in items)


def per_array(X, key, compute):
    """``compute()``, remembered for the 2-D ndarray ``X`` and ``key``; anything else is computed each time."""
    if not (isinstance(X, np.ndarray) and X.ndim == 2):
        return compute()
    slot, digest = (id(X), key), fingerprint(X)
    hit = _SEEN.get(slot)
    if hit is not None and hit[0]() is X and hit[1] == digest:
        _SEEN.move_to_end(slot)
        return hit[2]
    value = compute()
    _SEEN.pop(slot, None)
    _SEEN[slot] = (weakref.ref(X), digest, value)
    while len(_SEEN) > 1 and sum(_nbytes(v[2]) for v in _SEEN.values()) > MAX_BYTES:
        _SEEN.popitem(last=False)
    return value


def forget(X=None) -> None:
    """Drop the entries of the array ``X``, or every entry (benchmarks time a first computation with it)."""
    if X is None:
        _SEEN.clear()
        return
    for slot in [slot for slot in _SEEN if slot[0] == id(X)]:
        del _SEEN[slot]
