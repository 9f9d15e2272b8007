"""IsoScore (Rudman, Gillman, Rayne & Eickhoff 2022, "IsoScore: Measuring the Uniformity of
Embedding Space Utilization", Findings of ACL), Algorithm 1.

For a point cloud ``X`` (N, d), with n = d:

1. reorient: PCA of the centred points (rotate onto the principal axes);
2. variance vector ``v`` (d,) of the reoriented coordinates (the covariance eigenvalues,
   ``geomexp.linalg.principal_variances``);
3. normalise: ``v_hat = sqrt(n) v / ||v||``;
4. isotropy defect: ``delta = ||v_hat - 1|| / sqrt(2 (n - sqrt(n)))``, in [0, 1];
5. fraction of dimensions used: ``phi = (n - delta^2 (n - sqrt(n)))^2 / n^2``, in [1/n, 1];
6. IsoScore: ``iota = (n phi - 1) / (n - 1)``, in [0, 1]:
   1 when the variance is spread evenly over all d directions, 0 when it lies on one.

Unlike I_Cos and I_PC it ignores the mean (a common offset does not lower it) and it
is invariant to rotation, uniform scaling and translation. With N <= d the sample
covariance has rank < d, which caps the score (IsoScore* of the same authors addresses
that); treat values from fewer points than dimensions with care.
"""

from __future__ import annotations

import math

import numpy as np

from geomexp.linalg import principal_variances
from geomexp.validation import InvalidEmbeddingsError, as_embeddings, exactly_rescaled


def isoscore_from_variances(variances) -> float:
    """IsoScore from the variance vector (d,) of the PCA-reoriented points (steps 3-6), in [0, 1]."""
    v = np.asarray(variances, dtype=np.float64)
    n = v.size
    if v.ndim != 1 or n < 2:
        raise InvalidEmbeddingsError(f"IsoScore needs at least 2 dimensions; got variances of shape {v.shape}")
    norm = float(np.linalg.norm(v))
    if norm == 0:
        raise InvalidEmbeddingsError(
            "all points are identical (zero variance in every direction); IsoScore is undefined"
        )
    v_hat = math.sqrt(n) * v / norm
    defect = float(np.linalg.norm(v_hat - 1.0)) / math.sqrt(2 * (n - math.sqrt(n)))
    phi = (n - defect**2 * (n - math.sqrt(n))) ** 2 / n**2
    score = (n * phi - 1) / (n - 1)
    return float(min(1.0, max(0.0, score)))  # clip rounding just outside [0, 1]


def isoscore(X) -> float:
    """IsoScore of the point cloud ``X`` (N, d) (points as ROWS), in [0, 1]; 1 = isotropic.

    Needs d >= 2 and points that are not all identical. See the module docstring for
    the algorithm; it equals ``IsoScore.IsoScore.IsoScore(X)`` of the authors' package
    (version 2.0.1, which also takes points as rows).
    """
    W = exactly_rescaled(as_embeddings(X))  # scale-invariant: |x| ~ 1e-200 is not "all identical"
    if W.shape[1] < 2:
        raise InvalidEmbeddingsError(f"IsoScore needs at least 2 dimensions (columns); got d={W.shape[1]}")
    return isoscore_from_variances(principal_variances(W))
