"""Running an experiment: ``run(cfg_or_spec)`` -> ``RunResult`` (measured and logged to MLflow), or
``measure(spec)`` -> ``Measurement`` (measured only: no tracking store is touched).

from geomexp.experiment import measure, run
result = run(spec)              # a geomexp.config.spec.RunSpec, or a composed config
result.metrics[("i_cos", 12)]
m = measure(spec)               # the same numbers, tables and figures, written nowhere
m.metrics[("i_cos", 12)], m.to_json()
"""

from geomexp.experiment.context import RunContext
from geomexp.experiment.measurement import Measurement, publish
from geomexp.experiment.representations import Representations
from geomexp.experiment.runner import RunResult, execute, measure, run

__all__ = ["Measurement", "Representations", "RunContext", "RunResult", "execute", "measure", "publish", "run"]
