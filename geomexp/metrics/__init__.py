"""Pure metric functions on ``(N, d)`` NumPy arrays; no Hydra, MLflow or models."""

from geomexp.metrics.isotropy import i_cos, i_cos_exact, i_pc, log_i_pc, sample_pairs
from geomexp.metrics.validation import InvalidEmbeddingsError, as_embeddings

__all__ = ["i_cos", "i_cos_exact", "i_pc", "log_i_pc", "sample_pairs", "InvalidEmbeddingsError", "as_embeddings"]
