"""Where a run's data comes from: a language's corpus (its ``CorpusSource``, or ``data.text_file``),
a pair task's pairs and an STS track, each read once per run. No model and no cache here: the
representations of what is read are ``Representations``' job.
"""

from __future__ import annotations

from geomexp.config.spec import DataSpec, LangSpec
from geomexp.data import Corpus, load_text_corpus
from geomexp.errors import DataNotFoundError


def load_corpus(data: DataSpec, lang: LangSpec) -> Corpus:
    """The corpus of ``lang``: ``data.text_file`` under ``data.corpus=text``, else the language's own
    source (its Wikipedia CSV from the data root or a download, or its text file)."""
    if data.corpus == "text":
        return load_text_corpus(lang.code, data.text_file)
    source = lang.corpus_source()
    if source is None:
        raise DataNotFoundError(f"language {lang.code!r} names no corpus (wikipedia_file or text_file)")
    return source.load(lang.code, data)


class DataSources:
    """A run's data, read on first use and kept: ``corpus(code)``, ``pairs(source)``, ``sts_track(track)``.

    data: where files come from (data root, download folder, ``data.corpus``/``text_file``);
    languages: ``{code: LangSpec}`` the run resolved (``RunSpec.languages``); another code is looked
    up on the config search path (``LangSpec.load``).
    """

    def __init__(self, data: DataSpec, languages=None):
        self.data = data
        self.languages = dict(languages or {})
        self._corpora: dict[str, Corpus] = {}
        self._pairs: dict[object, object] = {}
        self._tracks: dict[str, object] = {}

    def corpus(self, code: str) -> Corpus:
        """The sentences of language ``code``."""
        if code not in self._corpora:
            lang = self.languages.get(code) or LangSpec.load(code)
            self._corpora[code] = load_corpus(self.data, lang)
        return self._corpora[code]

    def add_corpus(self, corpus: Corpus) -> None:
        """Use ``corpus`` (already loaded) for its language."""
        self._corpora[corpus.lang] = corpus

    def pairs(self, source):
        """``source.load(data)``: a pair task's ``Pairs``."""
        if source not in self._pairs:
            self._pairs[source] = source.load(self.data)
        return self._pairs[source]

    def sts_track(self, track: str):
        """The ``StsTrack`` of ``track`` from the data root or a download."""
        from geomexp.tasks.sts.data import load_sts_track

        if track not in self._tracks:
            d = self.data
            self._tracks[track] = load_sts_track(
                track, root=d.root, download_dir=d.download_dir, download=d.download, base_url=d.base_url
            )
        return self._tracks[track]
