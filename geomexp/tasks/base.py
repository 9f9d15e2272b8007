"""The interface of a task (see ``geomexp.tasks``)."""

from __future__ import annotations

from typing import Protocol

from geomexp.analyses.base import AnalysisInfo, AnalysisResult


class Task(Protocol):
    """A task: declared metadata, what it measures, and one evaluation per layer."""

    info: AnalysisInfo

    @property
    def subject(self) -> str:
        """What the task measures, e.g. ``"sts2 ar-en"`` (names and titles the run instead of ``lang``)."""

    def evaluate(self, reps, layer: int, enhancement, *, seed: int = 0, title: str = "") -> AnalysisResult:
        """Encode the task's data with ``reps`` at ``layer``, score it raw and (if ``enhancement``) enhanced."""
