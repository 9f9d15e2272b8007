"""Reference implementations from PyPI, for the validation tests: the original code of Google's SVCCA and
PWCCA (``google/svcca``: ``cca_core.py``, ``pwcca.py``) and yuanli2333's linear CKA (``CKA.py``), as vendored
by the ``similarity-repository`` package (0.0.1; ``requirements-references.txt``).

That package's ``similarity/__init__`` and ``similarity/backend/__init__`` import backends missing from its
archive, so the files are loaded on their own, as a private package (``pwcca.py``'s ``from . import cca_core``
then finds its sibling). ``None`` where the package is not installed (the tests then skip, saying so).
"""

from __future__ import annotations

import sys
import types
from importlib import metadata, util
from pathlib import Path

DISTRIBUTION = "similarity-repository"
SKIP_REASON = f"{DISTRIBUTION} is not installed (pip install --no-deps --require-hashes -r requirements-references.txt)"


def _backend_folder(name: str) -> Path | None:
    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
    folder = Path(dist.locate_file(f"similarity/backend/{name}"))
    return folder if folder.is_dir() else None


def _load(package: str, folder: Path, names: tuple[str, ...]) -> dict[str, types.ModuleType]:
    if package not in sys.modules:
        pkg = types.ModuleType(package)
        pkg.__path__ = [str(folder)]
        sys.modules[package] = pkg
    out = {}
    for name in names:
        full = f"{package}.{name}"
        if full not in sys.modules:
            spec = util.spec_from_file_location(full, folder / f"{name}.py")
            module = util.module_from_spec(spec)
            sys.modules[full] = module
            spec.loader.exec_module(module)
        out[name] = sys.modules[full]
    return out


def google_svcca() -> tuple[types.ModuleType, types.ModuleType] | None:
    """``(cca_core, pwcca)``: Google's modules (their arrays are (neurons, data points)), or None."""
    folder = _backend_folder("svcca")
    if folder is None:
        return None
    mods = _load("_reference_google_svcca", folder, ("cca_core", "pwcca"))
    return mods["cca_core"], mods["pwcca"]


def yuanli2333_cka() -> types.ModuleType | None:
    """yuanli2333's ``CKA.py`` (``linear_CKA(X, Y)``, rows = data points), or None."""
    folder = _backend_folder("yuanli2333")
    return None if folder is None else _load("_reference_yuanli2333", folder, ("CKA",))["CKA"]
