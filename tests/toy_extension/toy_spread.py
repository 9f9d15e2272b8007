"""A toy analysis that lives OUTSIDE the geomexp package (tests/test_extending.py adds it from a
temporary config folder): the mean row norm of X and its spread, per layer."""

import numpy as np

from geomexp.analyses.base import AnalysisResult, MetricInfo, ReportTable, analysis
from geomexp.validation import number


@analysis(
    "toy_spread",
    "Toy: row norms",
    metrics=[
        MetricInfo("toy_norm", "mean row norm", 3, headline=True),
        MetricInfo("toy_norm_sd", "sd of row norms", 3),
    ],
    tables=[ReportTable("toy_norm", "Mean row norm by language", ("toy_norm",), pivot="subject")],
    params={"scale": number(0, exclusive=True)},  # its rule: checked before any data is read
)
def toy_spread(X, *, seed=0, title="", scale=1.0):
    """Metrics ``toy_norm`` (mean Euclidean row norm of ``X`` (N, d) times ``scale``) and ``toy_norm_sd``."""
    norms = np.linalg.norm(np.asarray(X, dtype=np.float64), axis=1) * scale
    return AnalysisResult(metrics={"toy_norm": float(norms.mean()), "toy_norm_sd": float(norms.std())})
