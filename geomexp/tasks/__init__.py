"""Tasks: things that encode their own data and score it (STS; similarity and retrieval between languages on STS
pairs).

A task is a class with ``info`` (an ``AnalysisInfo`` with ``kind="task"``), a ``subject``
(what it measures, for run names and titles) and
``evaluate(reps, layer, enhancement, *, seed, title) -> AnalysisResult``, where ``reps`` is a
``geomexp.experiment.Representations`` (``encode(sentences)``, ``corpus_sample(lang)``,
``sources``: the run's ``DataSources``) and ``enhancement`` a ``geomexp.config.spec.EnhancementSpec`` or None. It is
selected like an analysis, by ``_target_`` in ``conf/analysis/<name>.yaml``.
"""

from geomexp.tasks.base import Task
from geomexp.tasks.language_similarity import LanguageSimilarityTask
from geomexp.tasks.pairs import CsvPairs, CsvPairTask, Pairs, PairTask, pair_task_info
from geomexp.tasks.retrieval import RetrievalTask
from geomexp.tasks.sts.task import Sts2017Pairs, StsTask

__all__ = [
    "CsvPairTask",
    "CsvPairs",
    "LanguageSimilarityTask",
    "PairTask",
    "Pairs",
    "RetrievalTask",
    "Sts2017Pairs",
    "StsTask",
    "Task",
    "pair_task_info",
]
