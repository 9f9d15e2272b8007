"""STS 2017 (Cer et al.): its files (``data``), how sentences are scored against the gold
(``scoring``: pooling, cosines, Spearman x 100, intervals) and the task (``task``: ``StsTask``).

``geomexp.tasks.sts.StsTask`` (the ``_target_`` of ``conf/analysis/sts.yaml`` and of stored runs'
configs) is loaded on first use, so importing ``data`` or ``scoring`` stays cheap and cycle-free.
"""

_TASK_NAMES = ("STS_INFO", "STS17_INFO", "Sts2017Pairs", "StsTask", "Sts17Task")


def __getattr__(name: str):
    if name in _TASK_NAMES:
        from geomexp.tasks.sts import task

        return getattr(task, name)
    raise AttributeError(f"module 'geomexp.tasks.sts' has no attribute {name!r}")
