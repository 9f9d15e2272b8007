"""Entry point: ``python run.py [group=option ...] [key=value ...]`` (add ``-m`` to sweep).

Composes ``conf/config.yaml`` and hands it to ``geomexp.experiment.run``.
"""

import sys

import hydra
from omegaconf import DictConfig

import geomexp.config  # registers the config schema and resolvers
from geomexp.errors import GeomexpError


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> None:
    from geomexp.experiment import RunContext, run
    from geomexp.sweep import report_job_failure

    context = RunContext.from_hydra()
    try:
        run(cfg, context)
    except Exception as err:
        if context.is_sweep_job:  # the other jobs go on; the sweep ends non-zero, naming this one
            report_job_failure(context, err)
        elif isinstance(err, GeomexpError):
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)
        else:
            raise


if __name__ == "__main__":
    sys.argv[1:] = geomexp.config.rewrite_layer_overrides(sys.argv[1:])  # layer=8 -> layer.index=8
    main()
