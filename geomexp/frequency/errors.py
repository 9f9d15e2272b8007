"""Errors and warnings of the frequency-bias analysis."""

from __future__ import annotations

from geomexp.errors import GeomexpError


class FrequencyError(GeomexpError, ValueError):
    """Inputs of the frequency analysis are unusable (too few words, no frequencies, mismatched arrays)."""


class FrequencyFallbackWarning(UserWarning):
    """Word frequencies were counted in the corpus itself because wordfreq does not cover the language."""
