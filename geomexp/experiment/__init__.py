"""Running an experiment: ``run(cfg_or_spec)`` -> ``RunResult``.

from geomexp.experiment import run
result = run(spec)              # a geomexp.config.spec.RunSpec, or a composed config
result.metrics[("i_cos", 12)]
"""

from geomexp.experiment.context import RunContext
from geomexp.experiment.representations import Representations
from geomexp.experiment.runner import RunResult, execute, run

__all__ = ["Representations", "RunContext", "RunResult", "execute", "run"]
