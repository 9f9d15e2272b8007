"""Results in other tools' layouts. ``mteb_files``: STS 2017 scores as MTEB result files.

MTEB (``embeddings-benchmark/results``) keeps one file per model, revision and task,
``<org>__<model>/<revision>/STS17.json``, holding ``task_name``, ``dataset_revision``,
``mteb_version``, ``evaluation_time`` and ``scores.test[]``: one entry per ``hf_subset`` (``en-ar``, ...)
with its ``languages`` (``eng-Latn``, ...), ``main_score`` and ``cosine_spearman`` (Spearman's rho of
cosine similarity with the gold scores, as a fraction), ``cosine_pearson``. geomexp's STS tracks map onto
MTEB's STS17 subsets (track 4b, the machine-translated es-en, has none and is left out, with a note).

What differs from an MTEB run, and is said in each entry's ``geomexp`` field: the scores come from
geomexp's pipeline (the mean of the sentence's token vectors at the layer ``geomexp.layer``, cosine)
on the SemEval 2017 files as geomexp reads them (their checksums in ``geomexp.data_checksums``), not
from MTEB's harness on the Hugging Face copy; ``dataset_revision`` therefore names geomexp's files,
``mteb_version`` is null. Enhanced spaces (``cluster``, ``cluster zero-shot``, ...) are extra fields
of the entry, beside the raw-space ``main_score``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from geomexp import tag_names
from geomexp.analyses.keys import base_of, space_label

#: MTEB STS17 ``hf_subset`` of each geomexp STS track (``geomexp.tasks.sts.data.TRACKS``)
MTEB_STS17_SUBSETS = {"1": "ar-ar", "2": "en-ar", "3": "es-es", "4a": "es-en", "5": "en-en", "6": "en-tr"}
#: MTEB's language codes (ISO 639-3 and script) of the languages of STS17
MTEB_LANGUAGES = {"ar": "ara-Arab", "en": "eng-Latn", "es": "spa-Latn", "tr": "tur-Latn"}
MTEB_TASK = "STS17"
#: what ``dataset_revision`` says: not MTEB's Hugging Face revision, geomexp's own copy of the files
DATASET_REVISION = "geomexp: SemEval-2017 task 1 test files (checksums per entry)"
NO_REVISION = "no_revision_available"  # MTEB's name for a model without a revision


def _model_folder(run) -> str:
    """MTEB's folder name of the run's model: the hub id with ``/`` as ``__``, else geomexp's model name."""
    name = run.run.tags.get("model.hf_id") or run.model
    return re.sub(r"[^A-Za-z0-9._-]", "_", name.replace("/", "__"))


def mteb_entry(run, subset: str) -> dict:
    """One ``scores.test[]`` entry of ``run`` (a ``geomexp.report.collect.RunAtLayer`` of an STS run)."""
    values = run.values
    spaces = {space_label(key): value / 100 for key, value in values.items() if base_of(key) == "sts_spearman"}
    rho, r = values["sts_spearman"] / 100, values.get("sts_pearson", float("nan")) / 100
    return {
        "hf_subset": subset,
        "languages": [MTEB_LANGUAGES[code] for code in dict.fromkeys(subset.split("-"))],
        "main_score": rho,
        "cosine_spearman": rho,
        "cosine_pearson": r,
        "geomexp": {
            "track": run.run.tags.get("sts_track", ""),
            "layer": run.layer,
            "pooling": run.run.tags.get("sts_pooling", "mean"),
            "spearman_by_space": spaces,
            "enhancement": run.enhancement,
            "run_id": run.run_id,
            "identity": run.identity,
            "data_checksums": {
                k.removeprefix(tag_names.DATA_CHECKSUM): v
                for k, v in run.run.tags.items()
                if k.startswith(tag_names.DATA_CHECKSUM)
            },
        },
    }


def mteb_files(runs, out_dir) -> tuple[list[Path], list[str]]:
    """Write ``<out_dir>/<model>/<revision>/STS17.json`` for the STS runs among ``runs`` (``RunAtLayer``s, e.g.
    ``collect_runs(...)``); return the files written and notes on what was left out. One entry per subset and
    file: of two runs of one subset (other settings), the newer is kept and the older named in a note."""
    from geomexp import __version__

    files: dict[tuple[str, str], dict[str, dict]] = {}
    notes: list[str] = []
    for run in runs:
        track = run.run.tags.get("sts_track")
        if track is None or "sts_spearman" not in run.values:
            continue
        subset = MTEB_STS17_SUBSETS.get(track)
        if subset is None:
            notes.append(f"run {run.run_id[:8]}: STS track {track} has no MTEB STS17 subset; left out")
            continue
        tags = run.run.tags
        revision = tags.get(tag_names.MODEL_COMMIT) or tags.get(tag_names.MODEL_FINGERPRINT) or NO_REVISION
        entries = files.setdefault((_model_folder(run), revision), {})
        if subset in entries:
            notes.append(
                f"run {entries[subset]['geomexp']['run_id'][:8]} ({subset}) replaced by the newer {run.run_id[:8]}"
            )
        entries[subset] = mteb_entry(run, subset)
    written = []
    for (model, revision), entries in sorted(files.items()):
        path = Path(out_dir) / model / revision / f"{MTEB_TASK}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {
            "dataset_revision": DATASET_REVISION,
            "task_name": MTEB_TASK,
            "mteb_version": None,
            "geomexp_version": __version__,
            "evaluation_time": None,
            "kg_co2_emissions": None,
            "scores": {"test": [entries[s] for s in sorted(entries)]},
        }
        path.write_text(json.dumps(doc, indent=2, allow_nan=True) + "\n", encoding="utf-8")
        written.append(path)
    return written, notes
