"""``log_i_pc`` / ``i_pc`` as they were before the benchmark issue (commit 455435d), kept for
before/after timings (``python benchmarks/analyses.py``) and for ``tests/test_perf_equivalence.py``.
Not used by geomexp itself.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from geomexp.metrics.isotropy import I_PC_SIGNS, principal_directions
from geomexp.validation import InvalidEmbeddingsError, as_embeddings


def legacy_log_i_pc(X, signs: str = "both") -> float:
    if signs not in I_PC_SIGNS:
        raise InvalidEmbeddingsError(f"signs must be one of {list(I_PC_SIGNS)}; got {signs!r}")
    W = as_embeddings(X)
    Z = W @ principal_directions(W)  # (N, d): projection of every row on every direction
    log_f = logsumexp(Z, axis=0)  # log F(u) for each eigenvector u
    if signs == "both":
        log_f = np.concatenate([log_f, logsumexp(-Z, axis=0)])
    return float(log_f.min() - log_f.max())


def legacy_i_pc(X, signs: str = "both") -> float:
    return float(np.exp(legacy_log_i_pc(X, signs)))
