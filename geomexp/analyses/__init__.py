"""Analyses: functions ``(X: (N, d) array, **params) -> AnalysisResult``.

Each is selected in ``conf/analysis/<name>.yaml`` by ``_target_`` and declares its metadata with
``@analysis(...)`` (``geomexp.analyses.base``); a new analysis is one module plus one YAML file,
inside the package or not. Besides ``X`` and its parameters, an analysis receives ``seed``,
``title`` and the inputs it declares in ``needs`` (``geomexp.analyses.base.INPUTS``). Called from a
notebook they draw no figure unless asked (``plot=True``); a run's YAML asks.
"""

from geomexp.analyses.base import AnalysisResult
from geomexp.analyses.cca import cca_analysis
from geomexp.analyses.contextuality import contextuality_analysis
from geomexp.analyses.crosslingual import crosslingual_analysis
from geomexp.analyses.dimensions import dimensions_analysis
from geomexp.analyses.frequency import frequency_analysis
from geomexp.analyses.gride import gride_analysis
from geomexp.analyses.intrinsic import intrinsic_analysis
from geomexp.analyses.isoscore import isoscore_analysis
from geomexp.analyses.isotropy import isotropy_analysis
from geomexp.analyses.massive import massive_analysis
from geomexp.analyses.model_similarity import model_similarity_analysis
from geomexp.analyses.neighbours import neighbours_analysis
from geomexp.analyses.outliers import outliers_analysis
from geomexp.analyses.overlap import neighbourhood_overlap_analysis
from geomexp.analyses.rsa import rsa_analysis
from geomexp.analyses.similarity import similarity_analysis
from geomexp.analyses.spectral import spectral_analysis

__all__ = [
    "AnalysisResult",
    "cca_analysis",
    "contextuality_analysis",
    "crosslingual_analysis",
    "dimensions_analysis",
    "frequency_analysis",
    "gride_analysis",
    "intrinsic_analysis",
    "isoscore_analysis",
    "isotropy_analysis",
    "massive_analysis",
    "model_similarity_analysis",
    "neighbourhood_overlap_analysis",
    "neighbours_analysis",
    "outliers_analysis",
    "rsa_analysis",
    "similarity_analysis",
    "spectral_analysis",
]
