"""Run one golden case in process and return ``{"<metric>@<layer>": value}``."""

from __future__ import annotations

import hashlib
import os
import platform
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def data_root() -> Path:
    env = os.environ.get("GEOMEXP_DATA_DIR")
    return Path(env) if env else ROOT.parent / "shared" / "data" / "rajaee2022"


def environment() -> dict:
    """What the float32 encodings depend on: torch's version and the CPU (model and flags)."""
    import torch

    flags = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "model name")):
                flags += line
    except OSError:
        flags = platform.processor()
    return {"torch": torch.__version__, "cpu": hashlib.sha256(flags.encode()).hexdigest()[:16]}


def run_case(overrides: list[str], workdir: Path, cache_dir) -> dict[str, float]:
    """``{"<metric>@<layer>": value}`` of one golden case."""
    return run_case_with_infos(overrides, workdir, cache_dir)[0]


def run_case_with_infos(overrides: list[str], workdir: Path, cache_dir):
    """(``{"<metric>@<layer>": value}``, the run's ``AnalysisInfo`` list: how each metric compares)."""
    from hydra import compose, initialize_config_dir

    import geomexp.config  # noqa: F401
    from geomexp.config.spec import RunSpec
    from geomexp.experiment import run

    base = [
        f"paths.root_dir={workdir}",
        f"paths.cache_dir={cache_dir}",
        f"paths.output_dir={workdir / 'out'}",
        f"data.root={data_root()}",
        "tracking.enabled=false",
        "progress=false",
    ]
    with initialize_config_dir(version_base="1.3", config_dir=str(ROOT / "conf"), job_name="golden"):
        cfg = compose(config_name="config", overrides=base + list(overrides))
    result = run(cfg)
    values = {f"{name}@{layer}": float(value) for (name, layer), value in sorted(result.metrics.items())}
    return values, RunSpec.from_config(cfg).infos
