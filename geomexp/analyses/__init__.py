"""Analyses: functions ``(X: (N, d) array, **params) -> AnalysisResult``.

Each is selected in ``conf/analysis/<name>.yaml`` by ``_target_``; a new analysis
is one function here plus one YAML file.
"""

from geomexp.analyses.base import AnalysisResult
from geomexp.analyses.isotropy import isotropy_analysis

__all__ = ["AnalysisResult", "isotropy_analysis"]
