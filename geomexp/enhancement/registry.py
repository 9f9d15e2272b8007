"""Enhancers by their short name, for notebooks: ``make_enhancer("cluster", n_clusters=27)``, ``load_enhancer(path)``.

There is one registry, ``ENHANCER_CLASSES`` (every ``Enhancer`` subclass, filled when the class is
defined); ``enhancers()`` views it by each class's ``name``. Configs name the class itself
(``params._target_`` in ``conf/enhancement/<name>.yaml``).
"""

from __future__ import annotations

from geomexp.enhancement.base import ENHANCER_CLASSES, Enhancer
from geomexp.errors import ConfigError


def enhancers() -> dict[str, type[Enhancer]]:
    """``{short name: class}`` of every defined enhancer with a ``name`` (none, center, abtt, whiten, cluster, ...)."""
    return {cls.name: cls for cls in ENHANCER_CLASSES.values() if cls.name}


def make_enhancer(name: str, **params) -> Enhancer:
    """A new, unfitted enhancer ``enhancers()[name](**params)``; clear ConfigError for an unknown name or parameter."""
    known = enhancers()
    if name not in known:
        raise ConfigError(f"unknown enhancer {name!r}; known: {sorted(known)}")
    cls = known[name]
    allowed = sorted(cls._get_param_names())
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ConfigError(f"enhancer {name!r} has no parameter(s) {unknown}; allowed: {allowed or 'none'}")
    return cls(**params)


def load_enhancer(path) -> Enhancer:
    """The enhancer saved at ``path`` by ``save``, as an instance of the class recorded in the file."""
    return Enhancer.load(path)
