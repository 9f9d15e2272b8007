"""Enhancers by name, for configs: ``make_enhancer("cluster", n_clusters=27)``, ``load_enhancer(path)``."""

from __future__ import annotations

from geomexp.enhancement.base import Enhancer
from geomexp.enhancement.cluster import ClusterEnhancer
from geomexp.enhancement.linear import ABTTEnhancer, CenterEnhancer, IdentityEnhancer, WhiteningEnhancer
from geomexp.errors import ConfigError

ENHANCERS: dict[str, type[Enhancer]] = {
    "none": IdentityEnhancer,
    "center": CenterEnhancer,
    "abtt": ABTTEnhancer,
    "whiten": WhiteningEnhancer,
    "cluster": ClusterEnhancer,
}


def make_enhancer(name: str, **params) -> Enhancer:
    """A new, unfitted enhancer ``ENHANCERS[name](**params)``; clear ConfigError for an unknown name or parameter."""
    if name not in ENHANCERS:
        raise ConfigError(f"unknown enhancer {name!r}; known: {sorted(ENHANCERS)}")
    cls = ENHANCERS[name]
    allowed = sorted(cls._get_param_names())
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ConfigError(f"enhancer {name!r} has no parameter(s) {unknown}; allowed: {allowed or 'none'}")
    return cls(**params)


def load_enhancer(path) -> Enhancer:
    """The enhancer saved at ``path`` by ``save``, as an instance of the class recorded in the file."""
    return Enhancer.load(path)
