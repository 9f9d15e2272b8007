"""STS 2017 from the Hugging Face hub: MTEB's copy, ``mteb/sts17-crosslingual-sts`` (11 subsets).

The SemEval files (``analysis=sts``) hold the six tracks the paper used; MTEB's copy adds ko-ko, en-de,
fr-en, it-en and nl-en, under the subset names MTEB reports (``en-ar``, not ``ar-en``). ``Sts17HubPairs``
reads one subset's test split at a pinned commit (``REVISION``, the one MTEB's STS17 task pins), so the
run's identity holds the commit and MTEB-shaped results of such a run name MTEB's own dataset revision.

Reading: the file ``test/<subset>.jsonl.gz`` (one JSON object a line: ``sentence1``, ``sentence2``,
``score`` in [0, 5]); a repository laid out otherwise is listed once and its test file for the subset
(``.jsonl``, ``.jsonl.gz`` or ``.parquet``) read instead. Sides: ``sentence1`` is the subset name's first
language (MTEB's metadata: ``en-ar`` = English, Arabic); for a side in a non-Latin script (ar, ko) that is
checked on the sentences, and a mismatch is an error, never a silent swap.

Offline (``HF_HUB_OFFLINE=1``) or with a hub that does not answer, the file is taken from the local
Hugging Face cache if it was downloaded before; otherwise one line says so, at once.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geomexp.errors import ConfigError, DataError, DataNotFoundError
from geomexp.tasks.pairs import Pairs

REPO = "mteb/sts17-crosslingual-sts"
#: the commit of REPO that MTEB's STS17 task pins (``dataset.revision`` in its task metadata)
REVISION = "faeb762787bd10488a50c8b5be4a3b82e411949c"
SUBSETS = ("ar-ar", "en-ar", "en-de", "en-en", "en-tr", "es-en", "es-es", "fr-en", "it-en", "ko-ko", "nl-en")
#: the script a side in this language must be written in (checked: at least half its sentences use it)
SCRIPTS = {"ar": re.compile("[\u0600-\u06ff]"), "ko": re.compile("[\uac00-\ud7a3\u1100-\u11ff]")}
COMMIT = re.compile(r"[0-9a-f]{40}")


def check_subset(subset: str) -> str:
    if subset not in SUBSETS:
        flipped = "-".join(reversed(str(subset).split("-")))
        hint = f" (MTEB names it {flipped})" if flipped in SUBSETS else ""
        raise ConfigError(
            f"analysis.sts17.subset={subset!r} is not an STS17 subset{hint}; use one of {', '.join(SUBSETS)}"
        )
    return subset


def check_revision(revision: str) -> str:
    """A full commit id (40 hex digits): a branch may move, and the run's identity must name the data."""
    if not COMMIT.fullmatch(str(revision)):
        raise ConfigError(
            f"analysis.sts17.revision={revision!r} is not a commit id: give the 40-hex commit of {REPO} "
            f"(MTEB's is {REVISION}), not a branch or tag, so the run names exactly the data it read"
        )
    return str(revision)


@dataclass(frozen=True)
class Sts17HubPairs:
    """The test pairs of one STS17 subset from the hub (``subset``: e.g. ``en-ar``) at commit ``revision``."""

    subset: str
    revision: str = REVISION

    def __post_init__(self):
        check_subset(self.subset)
        check_revision(self.revision)

    @property
    def subject(self) -> str:
        return f"sts17 {self.subset}"

    def checksums(self) -> dict[str, str]:
        """The data's identity: the repository's commit (git content-addresses every file in it)."""
        return {f"sts17.{self.subset}.hf_commit": f"{REPO}@{self.revision}"}

    def load(self, data=None) -> Pairs:
        rows = read_rows(self._download(), self.subset)
        lang_a, lang_b = self.subset.split("-")
        pairs = Pairs(
            sentences_a=tuple(r[0] for r in rows),
            sentences_b=tuple(r[1] for r in rows),
            gold=np.array([r[2] for r in rows], dtype=np.float64),
            lang_a=lang_a,
            lang_b=lang_b,
            label=self.subset,
        )
        check_sides(pairs)
        return pairs

    def _download(self) -> Path:
        from huggingface_hub import hf_hub_download

        from geomexp.encoders.hub import bound_hub_timeouts, hub_errors, probe_hub

        bound_hub_timeouts()
        state = probe_hub(REPO, self.revision, repo_type="dataset")
        local_only = state != "answers"
        name = f"test/{self.subset}.jsonl.gz"
        try:
            return Path(
                hf_hub_download(REPO, name, repo_type="dataset", revision=self.revision, local_files_only=local_only)
            )
        except hub_errors() as err:
            if local_only:
                raise DataNotFoundError(self._unreachable(state)) from None
            if not _entry_not_found(err):
                raise DataNotFoundError(self._hub_failed(err)) from None
        try:  # the repository is laid out otherwise: find the subset's test file
            return Path(hf_hub_download(REPO, self._find_file(), repo_type="dataset", revision=self.revision))
        except hub_errors() as err:
            raise DataNotFoundError(self._hub_failed(err)) from None

    def _find_file(self) -> str:
        from huggingface_hub import HfApi

        files = HfApi().list_repo_files(REPO, repo_type="dataset", revision=self.revision)
        found = [
            f
            for f in files
            if "test" in f and self.subset in re.split(r"[/_.]", f) and f.endswith((".jsonl", ".jsonl.gz", ".parquet"))
        ]
        if len(found) != 1:
            raise DataNotFoundError(
                f"{REPO}@{self.revision[:12]} has {len(found)} test files for subset {self.subset} "
                f"({', '.join(found) or 'none'}); expected one"
            )
        return found[0]

    def _unreachable(self, state: str) -> str:
        from geomexp.encoders.hub import unreachable_reason

        return (
            f"STS17 subset {self.subset} ({REPO}@{self.revision[:12]}) is not in the local Hugging Face cache "
            f"and {unreachable_reason(state)}: run once online to cache it, or use analysis=sts (the SemEval 2017 "
            "files, offline)"
        )

    def _hub_failed(self, err: Exception) -> str:
        from geomexp.encoders.hub import hub_cause, one_line

        cause = hub_cause(err) or err
        return (
            f"could not read STS17 subset {self.subset} from {REPO}@{self.revision[:12]}: "
            f"{type(cause).__name__}: {one_line(cause)}"
        )


def _entry_not_found(err: BaseException) -> bool:
    from huggingface_hub.errors import EntryNotFoundError

    from geomexp.encoders.hub import hub_cause

    return isinstance(err, EntryNotFoundError) or isinstance(hub_cause(err), EntryNotFoundError)


def read_rows(path: Path, subset: str) -> list[tuple[str, str, float]]:
    """(sentence1, sentence2, score) of a ``.jsonl``, ``.jsonl.gz`` or ``.parquet`` file of STS17 pairs."""
    path = Path(path)
    try:
        if path.name.endswith(".parquet"):
            import pyarrow.parquet as pq

            records = pq.read_table(path).to_pylist()
        else:
            opener = gzip.open if path.name.endswith(".gz") else open
            with opener(path, "rt", encoding="utf-8") as fh:
                records = [json.loads(line) for line in fh if line.strip()]
        rows = [(str(r["sentence1"]), str(r["sentence2"]), float(r["score"])) for r in records]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise DataError(
            f"STS17 subset {subset}: {path.name} is not a file of pairs with sentence1, sentence2 and score "
            f"({type(err).__name__}: {err})"
        ) from None
    if len(rows) < 3 or not all(np.isfinite(r[2]) for r in rows):
        raise DataError(f"STS17 subset {subset}: {path.name} needs at least 3 pairs with finite scores")
    return rows


def check_sides(pairs: Pairs) -> None:
    """A side whose language has its own script (``SCRIPTS``) must be written in it: the subset name says
    which side is which, and a swapped file would mislabel every zero-shot and per-side result."""
    for side, lang, sentences in (
        ("sentence1", pairs.lang_a, pairs.sentences_a),
        ("sentence2", pairs.lang_b, pairs.sentences_b),
    ):
        script = SCRIPTS.get(lang)
        if script is None:
            continue
        share = sum(bool(script.search(s)) for s in sentences) / len(sentences)
        if share < 0.5:
            raise DataError(
                f"STS17 subset {pairs.label}: {side} should be {lang} (the subset's name), but only "
                f"{share:.0%} of its sentences are in {lang}'s script"
            )
