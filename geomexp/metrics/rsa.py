"""Representational similarity analysis (Kriegeskorte et al. 2008) of two representations ``X`` (n, d_x) and
``Y`` (n, d_y) of the SAME n items: how alike the two arrangements of the items are, whatever the spaces.

- ``rdm``: the representational dissimilarity matrix of X, condensed: the cosine distance ``1 - cos`` of
  every pair of rows i < j, (n (n - 1) / 2,) in the order of ``scipy.spatial.distance.pdist``.
- ``rsa``: the Spearman (default) or Pearson correlation of the two RDMs. 1 for representations equal up to
  a rotation and a scale; about 0 for unrelated ones.

Dimensionless, float64; an RDM holds n^2 / 2 numbers, so n is a subsample (a few thousand items at most).
"""

from __future__ import annotations

import numpy as np

from geomexp.metrics.correlation import pearson, spearman
from geomexp.metrics.neighbours import unit_rows
from geomexp.validation import InvalidEmbeddingsError, as_embeddings, check_choice, check_same_rows

RSA_METHODS = ("spearman", "pearson")


def rdm(X, *, name: str = "X") -> np.ndarray:
    """(n (n - 1) / 2,) cosine distances of the row pairs i < j of ``X`` (n, d), pdist's order."""
    U = unit_rows(as_embeddings(X, name=name, nonzero_rows=True), name)
    iu = np.triu_indices(U.shape[0], k=1)
    return 1.0 - (U @ U.T)[iu]


def rsa(X, Y, *, method: str = "spearman") -> float:
    """The ``method`` correlation of the RDMs of ``X`` (n, d_x) and ``Y`` (n, d_y), rows = the same items."""
    check_choice(method, "method", RSA_METHODS, error=InvalidEmbeddingsError)
    check_same_rows(X, Y)
    n = np.shape(X)[0] if np.ndim(X) else None
    if n is not None and n < 3:
        raise InvalidEmbeddingsError(f"RSA needs at least 3 items (2 pairs to correlate); got {n}")
    return (spearman if method == "spearman" else pearson)(rdm(X, name="X"), rdm(Y, name="Y"))
