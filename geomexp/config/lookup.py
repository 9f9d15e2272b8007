"""Find a config group's option (``lang/sw``, ``model/minilm``) the way Hydra does: along its config
search path, so a language or model in a user's folder (``hydra.searchpath=[file://...]``) is found
by ``langs=[...]``, ``enhancement.fit_lang`` and ``analysis...other`` as it is by ``lang=``/``model=``.

Inside a Hydra app (``run.py`` and its sweep jobs) the search path is the app's. Outside one (a
notebook), it is the one the last ``geomexp.config.compose(...)`` used (its ``hydra.searchpath``
folders included: ``remember_search_path`` took them), else the package's ``conf/`` alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from geomexp.config.schema import config_dir
from geomexp.errors import ConfigError


@dataclass(frozen=True)
class FoundOption:
    """An option's YAML as read: ``node`` (a plain dict), ``folder`` it lies in (None when it is not a
    file on disk, e.g. a ``pkg://`` source) and ``where`` (the source's address, for messages)."""

    node: dict
    folder: Path | None
    where: str


_remembered: list[tuple[str, str]] = []  # (scheme, path) of the last compose()'s search path


def _active_search_path() -> list[tuple[str, str]]:
    """(scheme, path) of the running Hydra job's config sources, in search order (empty outside a job)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return []
    return search_path_of(HydraConfig.get())


def search_path_of(hydra_node) -> list[tuple[str, str]]:
    """(scheme, path) of the config sources a composed ``hydra`` node lists (``hydra.runtime.config_sources``)."""
    return [(str(s.schema), str(s.path)) for s in hydra_node.runtime.config_sources if s.schema in ("file", "pkg")]


def remember_search_path(search_path: list[tuple[str, str]]) -> None:
    """Keep a composition's search path (``search_path_of(cfg.hydra)``) for lookups made outside any
    Hydra job, e.g. ``RunSpec.from_config`` on the config ``geomexp.config.compose`` returned."""
    _remembered[:] = list(search_path)


def _search_order() -> list:
    """Config sources to look in, in order: the job's (or the last composition's), then the package's."""
    from hydra._internal.sources_registry import SourcesRegistry
    from hydra.core.plugins import Plugins

    Plugins.instance()  # registers the file:// and pkg:// sources (a process that never started Hydra has none)
    entries = _active_search_path() or list(_remembered)
    if ("file", str(config_dir())) not in entries:
        entries.append(("file", str(config_dir())))  # a compose() over another primary folder still sees it
    sources = []
    for scheme, path in entries:
        source = SourcesRegistry.instance().resolve(scheme)(provider="geomexp", path=f"{scheme}://{path}")
        if source.available():
            sources.append(source)
    return sources


def known_options(group: str) -> list[str]:
    """Sorted names of ``group``'s options on the search path (``known_options("lang")`` → ``['ar', 'en', ...]``)."""
    from hydra.core.object_type import ObjectType

    names = set()
    for source in _search_order():
        if source.is_group(group):
            names.update(source.list(group, ObjectType.CONFIG))
    return sorted(names)


def find_option(group: str, name: str) -> FoundOption:
    """The YAML of option ``name`` of ``group``, from the first source of the search path holding it.

    ``ConfigError`` naming the option, the group and the known options when no source holds it.
    """
    from omegaconf import OmegaConf

    path = f"{group}/{name}"
    for source in _search_order():
        if source.is_config(path):
            result = source.load_config(path)
            folder = Path(source.path) / group if source.scheme() == "file" else None
            node = OmegaConf.to_container(result.config, resolve=False)
            node.pop("defaults", None)
            return FoundOption(node=node, folder=folder, where=f"{source.scheme()}://{source.path}/{path}.yaml")
    one, many = NOUNS.get(group, (f"{group} option", f"{group} options"))
    raise ConfigError(
        f"{one} {name!r} has no {group}/{name}.yaml in conf/ or a hydra.searchpath folder; "
        f"known {many}: {known_options(group)}"
    )


#: how messages name an option of a group
NOUNS = {
    "lang": ("language", "languages"),
    "model": ("model", "models"),
    "enhancement": ("enhancement", "enhancements"),
}


#: a language option's name: ISO 639 letters, optionally a suffix (``sw``, ``zh_tw``); never a path
LANG_CODE = r"[a-z]{2,3}(_[a-z0-9]+)?"


def load_lang_config(code: str):
    """The ``lang/<code>.yaml`` of a language (search path), checked against ``LangConfig``; a relative
    ``text_file`` is made absolute against the YAML's folder."""
    import re

    from omegaconf import OmegaConf

    from geomexp.config.schema import LangConfig

    if not isinstance(code, str) or not re.fullmatch(LANG_CODE, code):
        raise ConfigError(
            f"language code {code!r} is not valid (ISO 639 letters, e.g. sw); known languages: {known_options('lang')}"
        )
    found = find_option("lang", code)
    node = OmegaConf.merge(OmegaConf.structured(LangConfig), found.node)
    if node.text_file and found.folder is not None:
        node.text_file = str(resolve_beside(node.text_file, found.folder))
    return node


def resolve_beside(path: str, folder: Path) -> Path:
    """``path`` as given if absolute (``~`` expanded), else relative to ``folder`` where it exists there,
    else relative to the working directory."""
    p = Path(path).expanduser()
    if p.is_absolute():
        return p
    return (folder / p).resolve() if (folder / p).exists() else p.resolve()


def load_model_config(name: str):
    """The ``model/<name>.yaml`` of a model option (search path), checked against ``ModelConfig``."""
    from omegaconf import OmegaConf

    from geomexp.config.schema import ModelConfig

    if not isinstance(name, str) or "/" in name or name.startswith("."):
        raise ConfigError(f"model {name!r} is not an option name; known models: {known_options('model')}")
    return OmegaConf.merge(OmegaConf.structured(ModelConfig), find_option("model", name).node)
