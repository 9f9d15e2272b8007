"""The components a stored config may name: the ``_target_``s of the project's own config options.

A config read back from a tracking store is data written by whoever can write to that store. Its
``_target_`` strings are never resolved by walking attributes from a prefix (``geomexp.`` admitted
``geomexp.tracking.store.subprocess.run``, since geomexp's modules import ``subprocess`` and ``os``):
a geomexp target must be one of the registered components, the ``_target_`` values of
``conf/analysis/*.yaml`` and ``conf/enhancement/*.yaml``; a target in a module the user trusts by
name (``reproduce --trust mypkg``) must resolve to an object DEFINED in that module.
"""

from __future__ import annotations

import importlib
from functools import lru_cache

#: config groups whose options name components by ``_target_``
COMPONENT_GROUPS = ("analysis", "enhancement")


def _targets(node) -> list[str]:
    if isinstance(node, dict):
        out = [str(node["_target_"])] if "_target_" in node else []
        return out + [t for v in node.values() for t in _targets(v)]
    if isinstance(node, list):
        return [t for v in node for t in _targets(v)]
    return []


@lru_cache(maxsize=1)
def component_targets() -> frozenset[str]:
    """Every ``_target_`` of the shipped ``conf/analysis`` and ``conf/enhancement`` options."""
    from omegaconf import OmegaConf

    from geomexp.config.schema import config_dir

    found = set()
    for group in COMPONENT_GROUPS:
        for path in sorted((config_dir() / group).glob("*.yaml")):
            found.update(_targets(OmegaConf.to_container(OmegaConf.load(path), resolve=False)))
    return frozenset(found)


def resolve_defined(path: str, prefix: str):
    """The object ``path`` (``module.name``) names, imported without walking attributes: ``module`` is
    imported and ``name`` taken from it, and the object must be defined under ``prefix`` (its
    ``__module__``), so a name a module merely imported (``subprocess``, ``os.system``) is refused.
    Raises ``LookupError`` saying why."""
    module, _, name = str(path).rpartition(".")
    if not module or not name.isidentifier():
        raise LookupError(f"{path!r} is not a dotted module.name")
    try:
        obj = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as err:
        raise LookupError(f"{path!r} cannot be imported: {err}") from err
    defined_in = getattr(obj, "__module__", None) or ""
    prefix = prefix.rstrip(".")
    if not (defined_in == prefix or defined_in.startswith(prefix + ".")):
        raise LookupError(f"{path!r} is defined in {defined_in or 'no module'}, not in {prefix}")
    return obj
