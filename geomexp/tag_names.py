"""Names of the tags geomexp writes on its MLflow runs and reads back (the results schema besides the
metric keys of ``geomexp.analyses.keys``). Only this module spells a tag name; a test greps the
package for others.

A measurement run carries ``KIND`` = ``measurement`` and the labels the report groups by (``MODEL``,
``SUBJECT``, ``LAYER``, ``ENHANCEMENT``, ``ANALYSES``), what it is the same measurement as
(``IDENTITY``; ``GROUP``: the same without the seeds), and what produced it (``METHOD_VERSION``,
``MODEL_COMMIT`` or ``MODEL_FINGERPRINT``, ``DATA_CHECKSUM`` + file, ``MACHINE`` + setting).
"""

from __future__ import annotations

KIND = "geomexp.kind"
#: values of ``KIND``
MEASUREMENT, SWEEP, SKIPPED, REPORT = "measurement", "sweep", "skipped", "report"

IDENTITY = "geomexp.identity"
GROUP = "geomexp.group"
METHOD_VERSION = "geomexp.method_version"
MODEL = "geomexp.model"
SUBJECT = "geomexp.subject"
LAYER = "geomexp.layer"
ANALYSES = "geomexp.analyses"
ENHANCEMENT = "geomexp.enhancement"
MULTILINGUAL = "geomexp.multilingual"
SAME_AS = "geomexp.same_as"  # a skipped job: the FINISHED run holding its measurement
HOST, PID = "geomexp.host", "geomexp.pid"  # the process writing a RUNNING run

MODEL_COMMIT = "model.commit"
MODEL_FINGERPRINT = "model.fingerprint"
MODEL_STEP = "model.step"  # the training step the model's revision, hub id or folder names (checkpoints)
DATA_CHECKSUM = "data.checksum."  # + a data file's name: its digest
MACHINE = "machine."  # + a setting: what kernels the numbers came from (cpu, ATEN_CPU_CAPABILITY, ...)
MACHINE_CPU = MACHINE + "cpu"

#: the two identity tags by name (``identity``: the same measurement; ``group``: the same but for the seeds)
IDENTITY_TAGS = {"identity": IDENTITY, "group": GROUP}


def of_analysis(tag: str, analysis: str, *, raw: bool = False, point: bool = False) -> str:
    """The per-analysis form of ``IDENTITY`` or ``GROUP``: ``geomexp.identity.<analysis>`` (its own numbers),
    ``... .raw`` (its raw-space numbers, the same whatever the enhancement), ``... .point`` (its point
    values, the same whatever the interval settings: ``n_bootstrap``, ``ci_level``)."""
    return f"{tag}.{analysis}" + (".raw" if raw else "") + (".point" if point else "")


#: MLflow's own tags that geomexp sets or reads
RUN_NAME = "mlflow.runName"
PARENT_RUN_ID = "mlflow.parentRunId"
DESCRIPTION = "mlflow.note.content"  # an experiment's (or run's) description in the UI
#: an experiment's kind as MLflow 3 records it (model development, not GenAI); its UI (3.17) still opens on
#: the GenAI views unless the address says ``workflowType=machine_learning`` (see ``report.html.UI_VIEW``)
EXPERIMENT_KIND, CLASSIC_KIND = "mlflow.experimentKind", "custom_model_development"
