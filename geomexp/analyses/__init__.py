"""Analyses: functions ``(X: (N, d) array, **params) -> AnalysisResult``.

Each is selected in ``conf/analysis/<name>.yaml`` by ``_target_``; a new analysis
is one function here plus one YAML file. Besides ``X`` and its parameters, an
analysis receives the pipeline context it names (see ``geomexp.pipeline.run_analysis``).
"""

from geomexp.analyses.base import AnalysisResult
from geomexp.analyses.crosslingual import crosslingual_analysis
from geomexp.analyses.dimensions import dimensions_analysis
from geomexp.analyses.frequency import frequency_analysis
from geomexp.analyses.isoscore import isoscore_analysis
from geomexp.analyses.isotropy import isotropy_analysis
from geomexp.analyses.outliers import outliers_analysis

__all__ = [
    "AnalysisResult",
    "crosslingual_analysis",
    "dimensions_analysis",
    "frequency_analysis",
    "isoscore_analysis",
    "isotropy_analysis",
    "outliers_analysis",
]
