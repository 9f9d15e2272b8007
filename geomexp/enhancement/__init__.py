"""Isotropy enhancers with scikit-learn's estimator shape: ``fit(X)``, ``transform(X)``, ``save``/``load``.

No Hydra, MLflow, files (except ``save``/``load``) or models here: plain NumPy
``(N, d)`` arrays in, ``(M, d')`` arrays out (float32 for float32 input, else
float64). Fit on one set and transform another of any size (zero-shot).

    from geomexp.enhancement import make_enhancer, load_enhancer
    enh = make_enhancer("cluster", n_clusters=27, n_components=12).fit(X_en)
    Y_sw = enh.transform(X_sw)
    enh.save("cluster.npz"); same = load_enhancer("cluster.npz")
"""

from geomexp.enhancement.base import Enhancer, EnhancerFileError, NotFittedError
from geomexp.enhancement.cluster import SMALL_CLUSTER_POLICIES, ClusterEnhancer, SmallClusterError
from geomexp.enhancement.linear import ABTTEnhancer, CenterEnhancer, IdentityEnhancer, WhiteningEnhancer
from geomexp.enhancement.registry import enhancers, load_enhancer, make_enhancer

__all__ = [
    "SMALL_CLUSTER_POLICIES",
    "ABTTEnhancer",
    "CenterEnhancer",
    "ClusterEnhancer",
    "Enhancer",
    "EnhancerFileError",
    "IdentityEnhancer",
    "NotFittedError",
    "SmallClusterError",
    "WhiteningEnhancer",
    "enhancers",
    "load_enhancer",
    "make_enhancer",
]
