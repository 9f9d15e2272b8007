"""Figures: one style for all of them (``style``), the per-run figures analyses draw (``plots``),
and the report's cross-run figures (``report``).
"""
