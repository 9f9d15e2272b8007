"""Configuration: the structured schema of ``conf/`` (``schema``) and the typed run spec (``spec``).

``geomexp.config`` registers the schema in Hydra's ConfigStore and the ``${geomexp_root:}``
resolver on import; ``RunSpec.from_config(cfg)`` turns a composed config into frozen,
checked dataclasses once, and nothing below the entry point sees a ``DictConfig``.
"""

from geomexp.config.compose import compose
from geomexp.config.lookup import find_option, known_options, load_lang_config, load_model_config
from geomexp.config.schema import (
    Config,
    DataConfig,
    EnhancementConfig,
    LangConfig,
    LayerConfig,
    ModelConfig,
    PathsConfig,
    TrackingConfig,
    config_dir,
    project_root,
    register_configs,
    register_resolvers,
    validate,
)
from geomexp.layers import rewrite_layer_overrides

__all__ = [
    "Config",
    "compose",
    "DataConfig",
    "EnhancementConfig",
    "LangConfig",
    "LayerConfig",
    "ModelConfig",
    "PathsConfig",
    "TrackingConfig",
    "config_dir",
    "find_option",
    "known_options",
    "load_lang_config",
    "load_model_config",
    "project_root",
    "register_configs",
    "register_resolvers",
    "rewrite_layer_overrides",
    "validate",
]
