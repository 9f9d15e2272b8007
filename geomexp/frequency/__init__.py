"""Frequency bias of an embedding space: word pooling, word frequencies, and bias measures.

Pure functions on NumPy arrays and strings; no Hydra, MLflow or models.
"""

from geomexp.frequency.errors import FrequencyError, FrequencyFallbackWarning
from geomexp.frequency.measures import frequency_bias, probe_r2
from geomexp.frequency.sources import FrequencyTable, word_log_frequencies, word_units, wordfreq_covers
from geomexp.frequency.words import WordReps, pool_words

__all__ = [
    "FrequencyError",
    "FrequencyFallbackWarning",
    "FrequencyTable",
    "WordReps",
    "frequency_bias",
    "pool_words",
    "probe_r2",
    "word_log_frequencies",
    "word_units",
    "wordfreq_covers",
]
