"""Results in other tools' layouts. ``mteb_files``: STS 2017 scores as MTEB result files.

MTEB (``embeddings-benchmark/results``) keeps one file per model, revision and task,
``<org>__<model>/<revision>/STS17.json``, holding ``task_name``, ``dataset_revision``,
``mteb_version``, ``evaluation_time`` and ``scores.test[]``: one entry per ``hf_subset`` (``en-ar``, ...)
with its ``languages`` (``eng-Latn``, ...), ``main_score`` and ``cosine_spearman`` (Spearman's rho of
cosine similarity with the gold scores, as a fraction), ``cosine_pearson``. geomexp's STS tracks map onto
MTEB's STS17 subsets (track 4b, the machine-translated es-en, has none and is left out, with a note).

What differs from an MTEB run, and is said in each entry's ``geomexp`` field: the scores come from
geomexp's pipeline (the mean of the sentence's token vectors at the layer ``geomexp.layer``, cosine)
on the SemEval 2017 files as geomexp reads them (their checksums in ``geomexp.data_checksums``) or, for
``analysis=sts17``, on MTEB's Hugging Face copy at a pinned commit, not from MTEB's harness;
``dataset_revision`` names that commit when every entry of the file was scored on it, geomexp's files
otherwise; ``mteb_version`` is null. Enhanced spaces (``cluster``, ``cluster zero-shot``, ...) are extra fields
of the entry, beside the raw-space ``main_score``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from geomexp import tag_names
from geomexp.analyses.keys import base_of, space_label

#: MTEB STS17 ``hf_subset`` of each geomexp STS track (``geomexp.tasks.sts.data.TRACKS``)
MTEB_STS17_SUBSETS = {"1": "ar-ar", "2": "en-ar", "3": "es-es", "4a": "es-en", "5": "en-en", "6": "en-tr"}
#: MTEB's language codes (ISO 639-3 and script) of the languages of STS17
MTEB_LANGUAGES = {
    "ar": "ara-Arab",
    "de": "deu-Latn",
    "en": "eng-Latn",
    "es": "spa-Latn",
    "fr": "fra-Latn",
    "it": "ita-Latn",
    "ko": "kor-Hang",
    "nl": "nld-Latn",
    "tr": "tur-Latn",
}
MTEB_TASK = "STS17"
#: what ``dataset_revision`` says for scores on the SemEval files: not a Hugging Face revision
DATASET_REVISION = "geomexp: SemEval-2017 task 1 test files (checksums per entry)"
NO_REVISION = "no_revision_available"  # MTEB's name for a model without a revision


@dataclass(frozen=True)
class StsScores:
    """Where one run's STS17 entry comes from: the metric prefix (``sts``: the SemEval files; ``sts17``: MTEB's
    copy on the hub), the subset, and the data's source (the hub repository@commit; empty for the files)."""

    prefix: str
    subset: str
    source: str = ""


def sts_scores(run) -> tuple[list[StsScores], list[str]]:
    """The STS17 entries ``run`` holds (a run of ``analysis=[sts,sts17]`` holds two) and notes on what it
    holds that MTEB has no subset for."""
    found, notes = [], []
    tags = run.run.tags
    track = tags.get("sts_track")
    if track is not None and "sts_spearman" in run.values:
        subset = MTEB_STS17_SUBSETS.get(track)
        if subset is None:
            notes.append(f"run {run.run_id[:8]}: STS track {track} has no MTEB STS17 subset; left out")
        else:
            found.append(StsScores("sts", subset))
    subset = tags.get("sts17_subset")
    if subset is not None and "sts17_spearman" in run.values:
        source = tags.get(f"{tag_names.DATA_CHECKSUM}sts17.{subset}.hf_commit", "")
        found.append(StsScores("sts17", subset, source))
    return found, notes


def _model_folder(run) -> str:
    """MTEB's folder name of the run's model: the hub id with ``/`` as ``__``, else geomexp's model name."""
    name = run.run.tags.get("model.hf_id") or run.model
    return re.sub(r"[^A-Za-z0-9._-]", "_", name.replace("/", "__"))


def mteb_entry(run, scores: StsScores) -> dict:
    """One ``scores.test[]`` entry of ``run`` (a ``geomexp.report.collect.RunAtLayer`` of an STS run)."""
    values, p, subset = run.values, scores.prefix, scores.subset
    spaces = {space_label(key): value / 100 for key, value in values.items() if base_of(key) == f"{p}_spearman"}
    rho, r = values[f"{p}_spearman"] / 100, values.get(f"{p}_pearson", float("nan")) / 100
    return {
        "hf_subset": subset,
        "languages": [MTEB_LANGUAGES[code] for code in dict.fromkeys(subset.split("-"))],
        "main_score": rho,
        "cosine_spearman": rho,
        "cosine_pearson": r,
        "geomexp": {
            "track": run.run.tags.get("sts_track", "") if p == "sts" else "",
            "source": scores.source or "SemEval-2017 task 1 files",
            "layer": run.layer,
            "pooling": run.run.tags.get(f"{p}_pooling", "mean"),
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
    file: scores on MTEB's own copy (``analysis=sts17``) are kept over scores on the SemEval files of the same
    subset; of two of the same kind, the newer run's; each one replaced is named in a note. A file whose
    entries all come from one hub commit names it as ``dataset_revision`` (as MTEB does)."""
    from geomexp import __version__

    files: dict[tuple[str, str], dict[str, tuple[StsScores, dict]]] = {}
    notes: list[str] = []
    for run in runs:
        found, left_out = sts_scores(run)
        notes += left_out
        tags = run.run.tags
        revision = tags.get(tag_names.MODEL_COMMIT) or tags.get(tag_names.MODEL_FINGERPRINT) or NO_REVISION
        entries = files.setdefault((_model_folder(run), revision), {})
        for scores in found:
            held = entries.get(scores.subset)
            if held is not None and held[0].source and not scores.source:
                notes.append(f"run {run.run_id[:8]} ({scores.subset}, SemEval files) left out: MTEB's copy is scored")
                continue
            if held is not None:
                notes.append(f"run {held[1]['geomexp']['run_id'][:8]} ({scores.subset}) replaced by {run.run_id[:8]}")
            entries[scores.subset] = (scores, mteb_entry(run, scores))
    written = []
    for (model, revision), entries in sorted(files.items()):
        if not entries:
            continue
        path = Path(out_dir) / model / revision / f"{MTEB_TASK}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        sources = {scores.source for scores, _ in entries.values()}
        dataset_revision = DATASET_REVISION
        if len(sources) == 1 and (only := sources.pop()):
            dataset_revision = only.rpartition("@")[2]
        doc = {
            "dataset_revision": dataset_revision,
            "task_name": MTEB_TASK,
            "mteb_version": None,
            "geomexp_version": __version__,
            "evaluation_time": None,
            "kg_co2_emissions": None,
            "scores": {"test": [entries[s][1] for s in sorted(entries)]},
        }
        path.write_text(json.dumps(doc, indent=2, allow_nan=True) + "\n", encoding="utf-8")
        written.append(path)
    return written, notes
