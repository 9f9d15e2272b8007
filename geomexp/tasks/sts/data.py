"""SemEval-2017 Task 1 (STS 2017) evaluation tracks: sentence pairs with gold similarity 0-5.

Read from ``<data root>/multilingual sts/`` (the authors' repository layout) or
downloaded from the same place. The language of each side was checked on the
files: cross-lingual tracks do not all put the non-English side first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geomexp.data.corpus import DEFAULT_BASE_URL
from geomexp.data.download import locate_data_file
from geomexp.errors import ConfigError, DataNotFoundError

STS_DIR = "multilingual sts"


@dataclass(frozen=True)
class TrackInfo:
    """One STS 2017 track: its file pair, the language of each side, checksums, scored lines."""

    pair: str
    lang_a: str
    lang_b: str
    input_md5: str
    gold_md5: str
    n_scored: int = 250

    def files(self, track: str) -> tuple[str, str]:
        """Relative paths of the input and gold files under the data root."""
        return (
            f"{STS_DIR}/STS2017.eval.v1.1/STS.input.track{track}.{self.pair}.txt",
            f"{STS_DIR}/STS2017.gs/STS.gs.track{track}.{self.pair}.txt",
        )


#: Track 6 has 500 input lines; the gold scores belong to the first 250.
TRACKS = {
    "1": TrackInfo("ar-ar", "ar", "ar", "49a22fd28e3dee8bba113522f9c0bcff", "8ad1bd2f7175829b7c2392d4fbc3385b"),
    "2": TrackInfo("ar-en", "en", "ar", "11708add5f60d6eb972cc1d715321601", "b34ccf416f63cc45ca6d413889f05bc7"),
    "3": TrackInfo("es-es", "es", "es", "7b775bafaf3aa3a55a2ceca16eb0486d", "8da7ebdbc89970587dcd50e41b300a80"),
    "4a": TrackInfo("es-en", "es", "en", "07fa26c46c39bae2c79254e76c1bb00b", "1fbbfc3e80d257eef37b2ee26e50be7c"),
    "4b": TrackInfo("es-en", "en", "es", "0c9f8208136959d4d8054b2ea5f603b7", "5413dc3e31d89f1bd80e7f020d851dc5"),
    "5": TrackInfo("en-en", "en", "en", "42b54536c6fa85593f6673d7ceeab18e", "fb54fe0787fd0e64a116aa88d07fa4bf"),
    "6": TrackInfo("tr-en", "en", "tr", "6d4b32be83515a5197b2ab82e87eb2c6", "ddda5aec51ddc49eb464e7af562bc259"),
}


@dataclass(frozen=True)
class StsTrack:
    """Sentence pairs of one track. sentences_a/b: (n,) str; gold: (n,) float64 in [0, 5]."""

    track: str
    pair: str
    lang_a: str
    lang_b: str
    sentences_a: tuple[str, ...]
    sentences_b: tuple[str, ...]
    gold: np.ndarray

    @property
    def cross_lingual(self) -> bool:
        return self.lang_a != self.lang_b


#: tracks by language pair (either order): es-en is track 4a (SNLI); its WMT sibling 4b is es-en-wmt;
#: a language code names its monolingual track (``analysis.sts.track=${lang.code}`` follows the run's language)
TRACK_ALIASES = {
    "ar": "1",
    "es": "3",
    "en": "5",
    "ar-ar": "1",
    "ar-en": "2",
    "en-ar": "2",
    "es-es": "3",
    "es-en": "4a",
    "en-es": "4a",
    "es-en-wmt": "4b",
    "en-es-wmt": "4b",
    "en-en": "5",
    "tr-en": "6",
    "en-tr": "6",
}


def track_id(track) -> str:
    """The track number (``1``..``6``, ``4a``, ``4b``) of ``track``, given as a number or a language pair
    (``ar-en``, ``en-ar``, ``es-en-wmt``, ...); a ``ConfigError`` listing both forms otherwise."""
    key = str(track).strip().lower()
    key = TRACK_ALIASES.get(key, key)
    if key not in TRACKS:
        raise ConfigError(
            f"STS track {track!r} is not known; choose one of {list(TRACKS)}, a pair "
            f"({sorted(k for k in TRACK_ALIASES if '-' in k)}) or a language with a monolingual track "
            f"({sorted(k for k in TRACK_ALIASES if '-' not in k)})"
        )
    return key


def track_info(track) -> TrackInfo:
    """The ``TrackInfo`` of ``track`` (a number or a pair, see ``track_id``)."""
    return TRACKS[track_id(track)]


def parse_track(
    track: str, input_text: str, gold_text: str, n_scored: int = 250
) -> tuple[list[str], list[str], np.ndarray]:
    """Split the input (``a<TAB>b`` a line) and gold (one score a line) texts of a track.

    Keeps the first ``n_scored`` input lines when the input has more (track 6).
    Raises ``DataNotFoundError`` on mismatched lengths, malformed lines, empty
    sentences or scores outside [0, 5].
    """
    lines = input_text.splitlines()
    gold_lines = [g for g in gold_text.splitlines() if g.strip()]
    if len(lines) > len(gold_lines) == n_scored:
        lines = lines[:n_scored]
    if len(lines) != len(gold_lines):
        raise DataNotFoundError(f"STS track {track}: {len(lines)} input lines but {len(gold_lines)} gold scores")
    a, b = [], []
    for number, line in enumerate(lines, 1):
        parts = line.split("\t")
        if len(parts) < 2:
            raise DataNotFoundError(f"STS track {track}, line {number}: expected 'sentence1<TAB>sentence2'")
        s1, s2 = parts[0].strip(), parts[1].strip()
        if not s1 or not s2:
            raise DataNotFoundError(f"STS track {track}, line {number}: empty sentence")
        a.append(s1)
        b.append(s2)
    try:
        gold = np.array([float(g) for g in gold_lines])
    except ValueError as err:
        raise DataNotFoundError(f"STS track {track}: a gold score is not a number ({err})") from err
    if gold.min() < 0 or gold.max() > 5:
        raise DataNotFoundError(f"STS track {track}: gold scores must lie in [0, 5]; got {gold.min()}..{gold.max()}")
    return a, b, gold


def load_sts_track(
    track, *, root=None, download_dir=".", download: bool = True, base_url: str = DEFAULT_BASE_URL
) -> StsTrack:
    """STS 2017 ``track`` (``1``, ``2``, ``3``, ``4a``, ``4b``, ``5``, ``6`` or a pair such as ``ar-en``)
    from ``root`` or downloaded."""
    key = track_id(track)
    info = TRACKS[key]
    in_rel, gold_rel = info.files(key)
    kwargs = dict(root=root, download_dir=download_dir, download=download, base_url=base_url)
    input_path = locate_data_file(in_rel, md5=info.input_md5, **kwargs)
    gold_path = locate_data_file(gold_rel, md5=info.gold_md5, **kwargs)
    a, b, gold = parse_track(
        key, input_path.read_text(encoding="utf-8"), gold_path.read_text(encoding="utf-8"), info.n_scored
    )
    return StsTrack(key, info.pair, info.lang_a, info.lang_b, tuple(a), tuple(b), gold)


def track_checksums(track: str) -> dict[str, str]:
    """The MD5s of the files STS track ``track`` is read from (checked when they are read), by role:
    ``{"sts<track>.input_md5": .., "sts<track>.gold_md5": ..}`` (a run's provenance)."""
    info, tid = track_info(track), track_id(track)
    return {f"sts{tid}.input_md5": info.input_md5, f"sts{tid}.gold_md5": info.gold_md5}
