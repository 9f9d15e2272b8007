"""``compose(overrides)``: the config ``python run.py <overrides>`` would run, composed without running
(Hydra's compose API on the project's ``conf/``), for a notebook or a script."""

from __future__ import annotations

from geomexp.config.schema import config_dir, register_configs
from geomexp.layers import rewrite_layer_overrides


def compose(overrides: list[str] | tuple[str, ...] = ()):
    """The composed ``DictConfig`` of ``overrides`` (as on the command line: ``["model=me5_small", "layer=6"]``;
    ``layer=N`` is read as ``layer.index=N``, as ``run.py`` does). Hand it to ``RunSpec.from_config``."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir

    register_configs()
    with initialize_config_dir(version_base="1.3", config_dir=str(config_dir()), job_name="notebook"):
        cfg = hydra_compose(
            config_name="config", overrides=rewrite_layer_overrides(list(overrides)), return_hydra_config=True
        )
    return without_hydra_node(cfg)


def without_hydra_node(cfg):
    """``cfg`` (composed with ``return_hydra_config=True``) without its ``hydra`` node, whose search path
    is kept for later lookups: ``langs=[...]``, ``fit_lang`` and model options are then found in the
    ``hydra.searchpath`` folders as ``lang=``/``model=`` were."""
    from omegaconf import open_dict

    from geomexp.config.lookup import remember_search_path, search_path_of

    remember_search_path(search_path_of(cfg.hydra))
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg
