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

    try:
        run(cfg)
    except GeomexpError as err:
        if hydra_context().get("is_sweep_job"):
            raise
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    sys.argv[1:] = geomexp.config.rewrite_layer_overrides(sys.argv[1:])  # layer=8 -> layer.index=8
    main()
