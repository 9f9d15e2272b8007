"""Corpora: the paper's Wikipedia sentences per language, or a plain text file (a language's ``CorpusSource``)."""

from geomexp.data.corpus import (
    Corpus,
    CorpusSource,
    TextFile,
    WikipediaCsv,
    load_text_corpus,
    load_wikipedia_corpus,
    resolve_wikipedia_file,
)
from geomexp.data.download import download_file

__all__ = [
    "Corpus",
    "CorpusSource",
    "TextFile",
    "WikipediaCsv",
    "load_text_corpus",
    "load_wikipedia_corpus",
    "resolve_wikipedia_file",
    "download_file",
]
