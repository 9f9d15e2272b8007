"""Where a run was started from: Hydra's job (overrides, output folder, sweep) or a notebook."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RunContext:
    """What the entry point knows besides the config. All empty for a run from a notebook.

    overrides: the job's command-line overrides (run names say what differs from the defaults).
    output_dir: Hydra's output folder (its ``.hydra/`` is logged). sweep_dir / job_num: set in a sweep job.
    """

    overrides: tuple[str, ...] = ()
    choices: dict = field(default_factory=dict, hash=False)
    output_dir: str | None = None
    sweep_dir: str | None = None
    job_num: int | None = None

    @property
    def is_sweep_job(self) -> bool:
        return self.sweep_dir is not None

    @classmethod
    def from_hydra(cls) -> RunContext:
        """The context of the current Hydra job (an empty one outside Hydra)."""
        try:
            from hydra.core.hydra_config import HydraConfig

            if not HydraConfig.initialized():
                return cls()
            hc = HydraConfig.get()
        except Exception:
            return cls()
        in_sweep = "num" in hc.job  # HydraConfig.mode is None under Hydra's in-process test runner
        return cls(
            overrides=tuple(hc.overrides.task),
            choices={k: str(v) for k, v in hc.runtime.choices.items() if not k.startswith("hydra/") and k != "hydra"},
            output_dir=hc.runtime.output_dir,
            sweep_dir=str(hc.sweep.dir) if in_sweep else None,
            job_num=hc.job.get("num") if in_sweep else None,
        )
