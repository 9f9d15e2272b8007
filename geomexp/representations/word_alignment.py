"""Words of the same sentences as two tokenizers cut them, matched by character span.

Each tokenizer has its own pre-tokenizer: BERT's splits ``results,`` into two words, XLM-R's keeps
it as one (and its offsets include the leading space). Word ids cannot be compared across models,
character positions can. ``align_words`` works on the token metadata of two ``TokenSample``s of the
SAME sentences (``sentence_ids`` index one shared list):

1. each token's character span is trimmed of surrounding whitespace; a word (one ``word_id`` of a
   sentence; a token without a word id is a word of its own) spans from its first to its last
   non-empty token;
2. the words of both models in a sentence are joined into UNITS: maximal runs of overlapping word
   spans, i.e. the coarsest segmentation both tokenizations agree on (a word both models cut alike
   is a unit of its own; ``results,`` of one model joins ``results`` and ``,`` of the other);
3. a unit is kept if each model has a word in it and it ends before either model's last token of
   the sentence ends (a sentence truncated at ``max_length`` loses its tail, never half a word);
   with ``exact=True`` only units that are ONE word with the same span in both models are kept.

``unit_means`` then gives each unit's vector in one model: the mean of the model's sub-tokens in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from geomexp.validation import InvalidEmbeddingsError


@dataclass(frozen=True)
class WordAlignment:
    """Units (words matched across two tokenizations) and which tokens of each model form them.

    unit_a: (n_a,) int64 unit index of each token (row) of model A's sample, -1 if in no kept unit.
    unit_b: (n_b,) the same for model B. sentence: (U,) int64 sentence of each unit; start, end: (U,)
    int64 character span [start, end) of each unit in its sentence. Units are ordered by
    (sentence, start). n_exact: units that are one word with the same span in both models.
    """

    unit_a: np.ndarray
    unit_b: np.ndarray
    sentence: np.ndarray
    start: np.ndarray
    end: np.ndarray
    n_exact: int

    @property
    def n_units(self) -> int:
        return int(self.sentence.size)


def trimmed_spans(sentences: Sequence[str], sentence_ids: np.ndarray, char_spans: np.ndarray) -> np.ndarray:
    """(N, 2) int64 ``char_spans`` (N, 2) with leading/trailing whitespace of each token's text removed
    (an all-whitespace or empty token gets start == end)."""
    out = np.asarray(char_spans, dtype=np.int64).copy()
    for i, (s, (a, b)) in enumerate(zip(np.asarray(sentence_ids).tolist(), out.tolist())):
        text = sentences[s][a:b]
        stripped = text.lstrip()
        a2 = a + len(text) - len(stripped)
        out[i] = (a2, a2 + len(stripped.rstrip()))
    return out


def _words(sentence_ids: np.ndarray, word_ids: np.ndarray, spans: np.ndarray):
    """Per token its word index (-1: no character span); per word its sentence, start and end."""
    n = sentence_ids.size
    # a token without a word id is its own word: key it by -(row + 2), unique and never a real word id
    wid = np.where(word_ids >= 0, word_ids, -(np.arange(n) + 2))
    keys = np.stack([sentence_ids, wid], axis=1)
    uniq, word_of = np.unique(keys, axis=0, return_inverse=True)
    word_of = word_of.reshape(-1)
    nonempty = spans[:, 1] > spans[:, 0]
    big = np.iinfo(np.int64).max
    start = np.full(len(uniq), big, dtype=np.int64)
    end = np.full(len(uniq), -1, dtype=np.int64)
    np.minimum.at(start, word_of[nonempty], spans[nonempty, 0])
    np.maximum.at(end, word_of[nonempty], spans[nonempty, 1])
    has_span = end >= 0
    word_of = np.where(has_span[word_of], word_of, -1)
    return word_of, uniq[:, 0], start, end, has_span


def align_words(
    sentences: Sequence[str],
    a_sentence_ids,
    a_word_ids,
    a_char_spans,
    b_sentence_ids,
    b_word_ids,
    b_char_spans,
    *,
    exact: bool = False,
) -> WordAlignment:
    """Match the words of two tokenizations of ``sentences`` (see the module docstring).

    a_*: (n_a,) sentence ids, (n_a,) word ids (-1: none) and (n_a, 2) character spans of model A's
    tokens (a ``TokenSample``'s metadata, special tokens absent); b_*: the same for model B. Both
    index ``sentences``. Cost: O((n_a + n_b) log) plus one Python pass over the tokens to trim spans.
    """
    sides = []
    for sid, wid, spans in (
        (a_sentence_ids, a_word_ids, a_char_spans),
        (b_sentence_ids, b_word_ids, b_char_spans),
    ):
        sid = np.asarray(sid, dtype=np.int64)
        wid = np.asarray(wid, dtype=np.int64)
        spans = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
        if not (sid.size == wid.size == spans.shape[0]):
            raise InvalidEmbeddingsError(
                f"token metadata disagree in length: {sid.size} sentence ids, {wid.size} word ids, {spans.shape[0]} spans"
            )
        if sid.size and (sid.min() < 0 or sid.max() >= len(sentences)):
            raise InvalidEmbeddingsError(f"sentence ids must index the {len(sentences)} sentences given")
        sides.append((sid, *_words(sid, wid, trimmed_spans(sentences, sid, spans))))
    n_sent = len(sentences)
    # how far each model's tokens reach in each sentence (truncation cut-off)
    reach = []
    for _, _, w_sent, _, w_end, has in sides:
        r = np.full(n_sent, -1, dtype=np.int64)
        np.maximum.at(r, w_sent[has], w_end[has])
        reach.append(r)
    cutoff = np.minimum(reach[0], reach[1])
    # every word of both models, sorted by (sentence, start); offset by sentence so one running maximum
    # of the ends finds the overlap runs of all sentences at once
    width = int(max(w_end.max(initial=0) for *_, w_end, _ in sides)) + 1
    model = np.concatenate([np.full(int(s[5].sum()), k) for k, s in enumerate(sides)])
    w_idx = np.concatenate([np.flatnonzero(s[5]) for s in sides])
    w_sent = np.concatenate([s[2][s[5]] for s in sides])
    w_start = np.concatenate([s[3][s[5]] for s in sides])
    w_end = np.concatenate([s[4][s[5]] for s in sides])
    order = np.lexsort((w_end, w_start, w_sent))
    model, w_idx, w_sent, w_start, w_end = (v[order] for v in (model, w_idx, w_sent, w_start, w_end))
    g_start, g_end = w_sent * width + w_start, w_sent * width + w_end
    reach_so_far = np.maximum.accumulate(g_end)
    new = np.ones(g_start.size, dtype=bool)
    new[1:] = g_start[1:] >= reach_so_far[:-1]
    comp = np.cumsum(new) - 1
    n_comp = int(comp[-1]) + 1 if comp.size else 0
    counts = np.zeros((2, n_comp), dtype=np.int64)
    np.add.at(counts, (model, comp), 1)
    c_sent = w_sent[new]
    c_start = w_start[new]
    c_end = np.zeros(n_comp, dtype=np.int64)
    np.maximum.at(c_end, comp, w_end)
    keep = (counts[0] >= 1) & (counts[1] >= 1) & (c_end <= cutoff[c_sent])
    # exact: one word per model, both spanning the whole unit (latest start = unit start, earliest end = unit end)
    last_start = np.zeros(n_comp, dtype=np.int64)
    np.maximum.at(last_start, comp, w_start)
    first_end = np.full(n_comp, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_end, comp, w_end)
    same = (counts[0] == 1) & (counts[1] == 1) & (last_start == c_start) & (first_end == c_end)
    if exact:
        keep &= same
    unit_of_comp = np.full(n_comp, -1, dtype=np.int64)
    unit_of_comp[keep] = np.arange(int(keep.sum()))
    units = []
    for k, (_, word_of, *_rest, has) in enumerate(sides):
        comp_of_word = np.full(has.size, -1, dtype=np.int64)
        mine = model == k
        comp_of_word[w_idx[mine]] = comp[mine]
        tok_comp = np.where(word_of >= 0, comp_of_word[np.maximum(word_of, 0)], -1)
        units.append(np.where(tok_comp >= 0, unit_of_comp[np.maximum(tok_comp, 0)], -1))
    return WordAlignment(
        unit_a=units[0],
        unit_b=units[1],
        sentence=c_sent[keep],
        start=c_start[keep],
        end=c_end[keep],
        n_exact=int((same & keep).sum()),
    )


def unit_means(X, unit_of: np.ndarray, n_units: int) -> np.ndarray:
    """(n_units, d) float64: the mean of the rows of ``X`` (N, d) in each unit (``unit_of`` (N,): a unit
    index per row, -1 for rows in no unit). A unit with no row raises. One sparse (n_units x N) product."""
    from scipy.sparse import csr_matrix

    X = np.asarray(X)
    unit_of = np.asarray(unit_of, dtype=np.int64)
    if X.shape[0] != unit_of.size:
        raise InvalidEmbeddingsError(f"X has {X.shape[0]} rows but {unit_of.size} unit indices were given")
    rows = np.flatnonzero(unit_of >= 0)
    counts = np.bincount(unit_of[rows], minlength=n_units)
    if counts.size != n_units or (counts == 0).any():
        raise InvalidEmbeddingsError(f"{int((counts[:n_units] == 0).sum())} of {n_units} units have no row")
    weights = 1.0 / counts[unit_of[rows]]
    mean = csr_matrix((weights, (unit_of[rows], rows)), shape=(n_units, X.shape[0]))
    return np.asarray(mean @ X.astype(np.float64, copy=False))
