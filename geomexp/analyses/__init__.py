"""Analyses: functions ``(X: (N, d) array, **params) -> AnalysisResult``.

Each is selected in ``conf/analysis/<name>.yaml`` by ``_target_`` and declares its metadata with
``@analysis(...)`` (``geomexp.analyses.base``); a new analysis is one module plus one YAML file,
inside the package or not. Besides ``X`` and its parameters, an analysis receives ``seed``,
``title`` and the inputs it declares in ``needs`` (``geomexp.analyses.base.INPUTS``).
"""

from geomexp.analyses.base import AnalysisResult
from geomexp.analyses.crosslingual import crosslingual_analysis
from geomexp.analyses.dimensions import dimensions_analysis
from geomexp.analyses.frequency import frequency_analysis
from geomexp.analyses.isoscore import isoscore_analysis
from geomexp.analyses.isotropy import isotropy_analysis
from geomexp.analyses.massive import massive_analysis
from geomexp.analyses.outliers import outliers_analysis

__all__ = [
    "AnalysisResult",
    "crosslingual_analysis",
    "dimensions_analysis",
    "frequency_analysis",
    "isoscore_analysis",
    "isotropy_analysis",
    "massive_analysis",
    "outliers_analysis",
]
