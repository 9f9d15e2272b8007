"""Pure metric functions on ``(N, d)`` NumPy arrays; no Hydra, MLflow or models."""

from geomexp.metrics.cca import canonical_correlations, pwcca, svcca
from geomexp.metrics.contextuality import Contextuality, contextuality
from geomexp.metrics.correlation import pearson, spearman
from geomexp.metrics.dimensions import cosine_contributions, top_dimensions
from geomexp.metrics.gride import gride, gride_fit, gride_scaling
from geomexp.metrics.intrinsic import effective_rank, knn_distances, mle_dimension, participation_ratio, twonn
from geomexp.metrics.isoscore import isoscore
from geomexp.metrics.isotropy import i_cos, i_cos_exact, i_pc, log_i_pc, sample_pairs
from geomexp.metrics.neighbours import (
    cknna,
    cosine_knn,
    label_overlap,
    label_overlap_chance,
    mutual_knn,
    mutual_knn_chance,
)
from geomexp.metrics.outliers import OutlierResult, layernorm_outlier_dimensions, outlier_dimensions
from geomexp.metrics.retrieval import retrieval_accuracy, retrieval_chance, retrieval_margin
from geomexp.metrics.rsa import rdm, rsa
from geomexp.metrics.similarity import linear_cka, procrustes_distance, similarities_to, similarity_matrices
from geomexp.metrics.spectral import alpha_req, rankme
from geomexp.metrics.subspace import principal_angles, subspace_overlap, top_principal_subspace
from geomexp.validation import InvalidEmbeddingsError, as_embeddings

__all__ = [
    "i_cos",
    "i_cos_exact",
    "i_pc",
    "log_i_pc",
    "sample_pairs",
    "cosine_contributions",
    "top_dimensions",
    "isoscore",
    "OutlierResult",
    "outlier_dimensions",
    "layernorm_outlier_dimensions",
    "principal_angles",
    "subspace_overlap",
    "top_principal_subspace",
    "contextuality",
    "Contextuality",
    "twonn",
    "mle_dimension",
    "knn_distances",
    "effective_rank",
    "participation_ratio",
    "gride",
    "gride_fit",
    "gride_scaling",
    "linear_cka",
    "procrustes_distance",
    "similarity_matrices",
    "similarities_to",
    "cosine_knn",
    "mutual_knn",
    "mutual_knn_chance",
    "cknna",
    "label_overlap",
    "label_overlap_chance",
    "retrieval_accuracy",
    "retrieval_margin",
    "retrieval_chance",
    "canonical_correlations",
    "svcca",
    "pwcca",
    "rdm",
    "rsa",
    "rankme",
    "alpha_req",
    "pearson",
    "spearman",
    "InvalidEmbeddingsError",
    "as_embeddings",
]
