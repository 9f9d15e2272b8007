"""Entry point: ``python run.py [group=option ...] [key=value ...]`` (add ``-m`` to sweep).

Composes ``conf/config.yaml`` and hands the config to ``geomexp.pipeline.run``.
"""

import sys

import hydra
from omegaconf import DictConfig

import geomexp.config  # registers the config schema and resolvers
from geomexp.errors import GeomexpError


@hydra.main(version_base="1.3", config_path="conf", config_name="config")
def main(cfg: DictConfig) -> None:
    from geomexp.pipeline import hydra_context, run
    from geomexp.sweep import report_job_failure

    ctx = hydra_context()
    try:
        run(cfg)
    except Exception as err:
        if ctx.get("is_sweep_job"):  # the other jobs go on; the sweep ends non-zero, naming this one
            report_job_failure(ctx, err)
        elif isinstance(err, GeomexpError):
            print(f"error: {err}", file=sys.stderr)
            sys.exit(2)
        else:
            raise


if __name__ == "__main__":
    sys.argv[1:] = geomexp.config.rewrite_layer_overrides(sys.argv[1:])  # layer=8 -> layer.index=8
    main()
