"""Read sentence corpora: the paper's Wikipedia CSVs (one language a file) or plain text files."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from geomexp.data.download import locate_data_file
from geomexp.errors import DataError, DataNotFoundError

#: Raw files of the paper authors' repository, pinned to the commit the shared data was taken from.
DEFAULT_BASE_URL = (
    "https://raw.githubusercontent.com/Sara-Rajaee/Multilingual-Isotropy/9b8b26c6696614eb52a66d5f9446636cde0263c3/data"
)
WIKIPEDIA_DIR = "Wikipedia"
#: the paper's languages, in its order (tables and figures list languages this way, then the others)
PAPER_LANGUAGES = ("en", "es", "ar", "tr", "sw", "su")


@dataclass(frozen=True)
class Corpus:
    """Sentences of one language, with where they came from.

    sentences: the corpus, in file order.
    source: the file read.
    checksum: SHA-256 of the sentences (content identity for caching).
    """

    lang: str
    sentences: tuple[str, ...]
    source: str
    checksum: str


def sentences_checksum(sentences) -> str:
    """SHA-256 hex digest of sentences joined by newlines (order matters)."""
    h = hashlib.sha256()
    for s in sentences:
        h.update(s.encode("utf-8"))
        h.update(b"\n")
    return h.hexdigest()


def resolve_wikipedia_file(
    filename: str,
    *,
    root: str | Path | None,
    download_dir: str | Path,
    download: bool = True,
    md5: str | None = None,
    base_url: str = DEFAULT_BASE_URL,
) -> Path:
    """Path of ``Wikipedia/<filename>`` under ``root``, or in ``download_dir`` (fetched if needed).

    See ``geomexp.data.download.locate_data_file``.
    """
    rel = f"{WIKIPEDIA_DIR}/{filename}"
    return locate_data_file(rel, root=root, download_dir=download_dir, download=download, md5=md5, base_url=base_url)


def read_wikipedia_csv(path: str | Path) -> list[str]:
    """Sentences of one of the paper's Wikipedia CSVs (header ``,Sentence,Language_code``).

    Empty sentences are skipped; the text is kept as is (wiki markup included).
    """
    path = Path(path)
    text = read_utf8(path, "corpus CSV")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is None or "Sentence" not in reader.fieldnames:
        raise DataNotFoundError(
            f"{path} is not a corpus CSV: it has no 'Sentence' column (columns: {reader.fieldnames})"
        )
    return [row["Sentence"].strip() for row in reader if row["Sentence"] and row["Sentence"].strip()]


def read_utf8(path: Path, what: str) -> str:
    """The text of ``path``, or a ``DataError`` naming the file if it is not UTF-8 text (binary, another encoding)."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataError(
            f"{what} {path} is not UTF-8 text (byte {err.start}: {data[err.start : err.start + 1]!r}); "
            "convert it, e.g. iconv -f latin1 -t utf-8"
        ) from None
    if "\x00" in text:
        raise DataError(f"{what} {path} is binary, not text (a NUL byte at offset {text.index(chr(0))})")
    return text


def load_wikipedia_corpus(lang: str, filename: str, **resolve_kwargs) -> Corpus:
    """The paper's Wikipedia corpus of ``lang`` read from ``filename`` (see ``resolve_wikipedia_file``)."""
    path = resolve_wikipedia_file(filename, **resolve_kwargs)
    sentences = read_wikipedia_csv(path)
    if not sentences:
        raise DataNotFoundError(f"corpus file {path} holds no sentences")
    return Corpus(lang=lang, sentences=tuple(sentences), source=str(path), checksum=sentences_checksum(sentences))


def load_text_corpus(lang: str, path: str | Path, *, setting: str = "data.text_file") -> Corpus:
    """A corpus from a UTF-8 text file with one sentence a line (blank lines skipped); ``setting`` names
    where the path was given, for the message when the file is missing."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataNotFoundError(f"text corpus {path} not found ({setting})")
    lines = io.StringIO(read_utf8(path, "text corpus"), newline=None)  # the lines open() would give
    sentences = [line.strip() for line in lines if line.strip()]
    if not sentences:
        raise DataNotFoundError(f"text corpus {path} holds no sentences")
    return Corpus(lang=lang, sentences=tuple(sentences), source=str(path), checksum=sentences_checksum(sentences))


@dataclass(frozen=True)
class WikipediaCsv:
    """A language's corpus as the paper's Wikipedia CSV ``Wikipedia/<file>`` (checked against ``md5``),
    from the data root or a download."""

    file: str
    md5: str | None = None

    def load(self, lang: str, data) -> Corpus:
        """``data``: where files come from (``root``, ``download_dir``, ``download``, ``base_url``)."""
        return load_wikipedia_corpus(
            lang,
            self.file,
            root=data.root,
            download_dir=data.download_dir,
            download=data.download,
            md5=self.md5,
            base_url=data.base_url,
        )

    def problem(self) -> str | None:
        return None  # found or downloaded at load time (a missing file is a DataNotFoundError then)


@dataclass(frozen=True)
class TextFile:
    """A language's corpus as a UTF-8 text file, one sentence a line; ``setting`` names where its path was given."""

    path: str
    setting: str = "data.text_file"

    def load(self, lang: str, data=None) -> Corpus:
        return load_text_corpus(lang, self.path, setting=self.setting)

    def problem(self) -> str | None:
        """Why the file cannot be read, checked before any model is loaded (None: it can)."""
        path = Path(self.path).expanduser()
        return None if path.is_file() else f"its text file {path} does not exist ({self.setting})"


#: where a language's sentences come from: ``load(lang, data) -> Corpus`` and ``problem() -> str | None``
CorpusSource = WikipediaCsv | TextFile
