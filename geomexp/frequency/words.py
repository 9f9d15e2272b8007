"""Pool sub-word token vectors into word vectors, with each word's text recovered from the sentence.

Word boundaries are the tokenizer's own (``word_ids`` of a fast tokenizer), so
what a "word" is depends on its pre-tokenizer:

- WordPiece (BERT): whitespace AND punctuation split words, so ``Earth's`` is
  three words (``Earth``, ``'``, ``s``) and ``384,400`` is three.
- SentencePiece (XLM-R, Metaspace): only whitespace splits words, so a word
  keeps its punctuation (``satellite.``, ``(mostly)!``). Its offsets include
  the leading space of a ``▁``-piece (``" Moon"``), hence the ``strip()``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from geomexp.frequency.errors import FrequencyError
from geomexp.validation import as_embeddings


@dataclass
class WordReps:
    """Word vectors pooled from token vectors.

    vectors: (W, d) float64 mean of the token rows of each word.
    words: W strings, each word's text in its sentence (outer whitespace stripped).
    sentence_ids: (W,) int64 corpus sentence of each word.
    n_pieces: (W,) int64 number of token rows averaged into each word.
    Words are ordered by (sentence id, word index in the sentence).
    """

    vectors: np.ndarray
    words: list[str]
    sentence_ids: np.ndarray
    n_pieces: np.ndarray

    def __len__(self) -> int:
        return len(self.words)

    def subset(self, mask) -> WordReps:
        """The words where the (W,) boolean ``mask`` is true."""
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (len(self),):
            raise FrequencyError(f"mask must have shape ({len(self)},); got {mask.shape}")
        return WordReps(
            vectors=self.vectors[mask],
            words=[w for w, keep in zip(self.words, mask.tolist()) if keep],
            sentence_ids=self.sentence_ids[mask],
            n_pieces=self.n_pieces[mask],
        )


def _int_array(values, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """``values`` as an int64 array of ``shape``, or a clear error."""
    arr = np.asarray(values)
    if arr.shape != shape:
        raise FrequencyError(f"{name} must have shape {shape} (one entry per row of X); got {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise FrequencyError(f"{name} must hold integers; got dtype {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def _check_spans(spans: np.ndarray, sid: np.ndarray, sentences: Sequence[str]) -> None:
    """Every [start, end) must lie inside its sentence; otherwise ``sentences`` is not the sample's corpus."""
    if sid.min() < 0 or sid.max() >= len(sentences):
        bad = int(sid[(sid < 0) | (sid >= len(sentences))][0])
        raise FrequencyError(
            f"sentence_ids must index `sentences` (0 <= id < {len(sentences)}); got {bad}. "
            f"Pass the corpus the sample was drawn from."
        )
    lengths = np.fromiter((len(s) for s in sentences), dtype=np.int64, count=len(sentences))
    ok = (spans[:, 0] >= 0) & (spans[:, 0] <= spans[:, 1]) & (spans[:, 1] <= lengths[sid])
    if not ok.all():
        r = int(np.flatnonzero(~ok)[0])
        raise FrequencyError(
            f"char_spans row {r} = [{spans[r, 0]}, {spans[r, 1]}) does not fit sentence {sid[r]} "
            f"(length {lengths[sid[r]]}); do `sentences` match the sample?"
        )


def pool_words(X, sentence_ids, word_ids, char_spans, sentences: Sequence[str]) -> WordReps:
    """Average the token rows of each word, and read each word's text from its sentence.

    X: (N, d) token representations of one layer. sentence_ids, word_ids: (N,)
    int metadata of the same rows (word id -1 = no word, e.g. a special token:
    skipped). char_spans: (N, 2) character [start, end) of each row in its
    sentence. sentences: the corpus the rows were drawn from (indexed by
    ``sentence_ids``).

    Rows are grouped by (sentence id, word id); a word's vector is the float64
    mean of its rows and its text is ``sentence[min start : max end].strip()``.
    A word with only some of its pieces present gets the mean of those and the
    text they span.
    """
    if isinstance(sentences, str) or not isinstance(sentences, Sequence):
        raise FrequencyError(f"sentences must be a sequence of strings (the corpus); got {type(sentences).__name__}")
    X = as_embeddings(X, name="X", min_rows=1)
    n = X.shape[0]
    sid = _int_array(sentence_ids, "sentence_ids", (n,))
    wid = _int_array(word_ids, "word_ids", (n,))
    spans = _int_array(char_spans, "char_spans", (n, 2))
    keep = wid >= 0
    if not keep.any():
        raise FrequencyError(f"no row belongs to a word: all {n} word_ids are -1 (special or unaligned tokens)")
    X, sid, wid, spans = X[keep], sid[keep], wid[keep], spans[keep]
    _check_spans(spans, sid, sentences)

    key = sid * (int(wid.max()) + 1) + wid  # unique per (sentence, word); sorted like (sid, wid)
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    order = np.argsort(inverse.ravel(), kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    vectors = np.add.reduceat(X[order], starts, axis=0) / counts[:, None]
    begin = np.minimum.reduceat(spans[order, 0], starts)
    end = np.maximum.reduceat(spans[order, 1], starts)
    word_sid = sid[order][starts]
    words = [sentences[s][a:b].strip() for s, a, b in zip(word_sid.tolist(), begin.tolist(), end.tolist())]
    return WordReps(vectors=vectors, words=words, sentence_ids=word_sid, n_pieces=counts.astype(np.int64))
