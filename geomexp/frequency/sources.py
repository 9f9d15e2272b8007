"""Log-frequency of words: from wordfreq where it covers the language, else counted in the corpus.

Both sources are on the Zipf scale, log10 of occurrences per billion words
(wordfreq's ``zipf_frequency``; "the" in English is 7.7, a word seen once per
million words is 3.0):

- ``"wordfreq"``: ``wordfreq.zipf_frequency(word, lang)`` on the word's text
  (wordfreq lower-cases and tokenises it itself), for ``lang`` in
  ``wordfreq.available_languages()``. wordfreq 3.1.1 does NOT cover ``sw`` or
  ``su`` and, asked for them, silently answers with English (sw) or Indonesian
  (su) frequencies; an unknown code raises ``LookupError``. Membership is
  therefore checked first.
- ``"corpus"``: ``log10(count / total * 1e9)`` where counts are taken over
  all of ``sentences`` after :func:`word_units` tokenisation (case-folded, NFC,
  maximal runs of letters, combining marks and digits). On a corpus of
  ``total`` words the rarest word (count 1) sits at ``9 - log10(total)``
  (5.1 for the 7,965 words of the Swahili corpus), so corpus values are compressed at the top and
  coarse at the bottom: compare rank statistics across sources, not levels.

A word made of several units (``Earth's`` -> ``earth``, ``s``) gets the
combined frequency ``1 / sum(1 / f_i)``, wordfreq's rule for multi-token text.

Words without a frequency get ``NaN`` (never a guessed value), and the table
counts them: ``n_nonword`` have no letter or digit (punctuation, symbols);
``n_unknown`` have letters but no frequency (zero in wordfreq, e.g. rare names
and numbers like ``384,400``; or, in the corpus source, a unit not in the
corpus, e.g. a word truncated by the sample). Callers drop them and report it.
Mixing in corpus counts for wordfreq's unknown words is avoided on purpose:
a count of 1 in a small corpus is Zipf ~5, which would rank a rare word as common.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from geomexp.frequency.errors import FrequencyError, FrequencyFallbackWarning

#: Zipf scale: log10 of occurrences per 10**ZIPF_EXPONENT words (a billion)
ZIPF_EXPONENT = 9
#: fewest corpus words (units) the corpus fallback accepts
MIN_CORPUS_WORDS = 1000
SOURCES = ("wordfreq", "corpus")


@dataclass
class FrequencyTable:
    """Log-frequency of each word of a list.

    log_freq: (W,) float64 Zipf-scale log10 frequency; NaN where the word has none.
    source: ``"wordfreq"`` or ``"corpus"``.
    note: one human-readable line on where the numbers come from and what is missing.
    n_nonword: words with no letter or digit (NaN). n_unknown: other words without a frequency (NaN).
    """

    log_freq: np.ndarray
    source: str
    note: str
    n_nonword: int = 0
    n_unknown: int = 0

    @property
    def known(self) -> np.ndarray:
        """(W,) bool: the words that have a frequency."""
        return np.isfinite(self.log_freq)


@functools.lru_cache(maxsize=1)
def _unit_pattern() -> re.Pattern:
    """Maximal runs of Unicode letters, digits and combining marks (``\\w`` alone splits at Arabic/Indic marks)."""
    ranges: list[list[int]] = []
    for c in range(sys.maxunicode + 1):
        if unicodedata.category(chr(c))[0] == "M":
            if ranges and ranges[-1][1] == c - 1:
                ranges[-1][1] = c
            else:
                ranges.append([c, c])
    marks = "".join(re.escape(chr(a)) + ("" if a == b else "-" + re.escape(chr(b))) for a, b in ranges)
    return re.compile(f"(?:[^\\W_]|[{marks}])+")


def word_units(text: str) -> list[str]:
    """The corpus source's tokenisation of ``text``: NFC, case-folded runs of letters, marks and digits.

    ``"Earth's 384,400 km."`` -> ``["earth", "s", "384", "400", "km"]``.
    """
    return _unit_pattern().findall(unicodedata.normalize("NFC", text).casefold())


@functools.lru_cache(maxsize=8)
def _corpus_counts(sentences: tuple[str, ...]) -> tuple[Counter, int]:
    """Unit counts over ``sentences`` and their total (cached: called once per layer)."""
    counts: Counter = Counter()
    for sentence in sentences:
        counts.update(word_units(sentence))
    return counts, sum(counts.values())


def wordfreq_covers(lang: str) -> bool:
    """Whether wordfreq has its own word list for ``lang`` (no silent fallback to another language)."""
    import wordfreq

    return lang in wordfreq.available_languages()


def _combine(freqs) -> float:
    """Frequency of a multi-unit word, ``1 / sum(1 / f_i)`` (0 if any unit has frequency 0)."""
    freqs = list(freqs)
    if not freqs or min(freqs) <= 0:
        return 0.0
    return 1.0 / sum(1.0 / f for f in freqs)


def _corpus_table(
    words: Sequence[str], lang: str, sentences: Sequence[str], min_corpus_words: int, why: str
) -> FrequencyTable:
    counts, total = _corpus_counts(tuple(sentences))
    if total < min_corpus_words:
        raise FrequencyError(
            f"no word frequencies for lang={lang!r}: {why}, and the corpus is too small to count them "
            f"({total} words in {len(sentences)} sentences; at least min_corpus_words={min_corpus_words} needed)"
        )
    log_freq = np.full(len(words), np.nan)
    n_nonword = n_unknown = 0
    for i, word in enumerate(words):
        units = word_units(word)
        if not units:
            n_nonword += 1
            continue
        f = _combine(counts.get(u, 0) for u in units)
        if f > 0:
            log_freq[i] = np.log10(f / total) + ZIPF_EXPONENT
        else:
            n_unknown += 1
    warnings.warn(
        f"word frequencies for lang={lang!r} counted in the corpus ({total} words): {why}",
        FrequencyFallbackWarning,
        stacklevel=3,
    )
    note = (
        f"counted in the corpus ({total} words, {len(counts)} distinct; {why}); "
        f"Zipf = log10(count / {total} * 1e9); "
        f"{n_nonword} non-word(s) and {n_unknown} unknown word(s) of {len(words)} have no frequency"
    )
    return FrequencyTable(log_freq, "corpus", note, n_nonword, n_unknown)


def _wordfreq_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("wordfreq")
    except PackageNotFoundError:
        return "(version unknown)"


def _wordfreq_table(words: Sequence[str], lang: str) -> FrequencyTable:
    import wordfreq

    log_freq = np.full(len(words), np.nan)
    n_nonword = n_unknown = 0
    cache: dict[str, float] = {}
    for i, word in enumerate(words):
        if not word_units(word):
            n_nonword += 1
            continue
        if word not in cache:
            cache[word] = wordfreq.zipf_frequency(word, lang)
        if cache[word] > 0:
            log_freq[i] = cache[word]
        else:
            n_unknown += 1
    note = (
        f"wordfreq {_wordfreq_version()} zipf_frequency(word, {lang!r}); "
        f"{n_nonword} non-word(s) and {n_unknown} word(s) unknown to wordfreq of {len(words)} have no frequency"
    )
    return FrequencyTable(log_freq, "wordfreq", note, n_nonword, n_unknown)


def word_log_frequencies(
    words: Sequence[str], lang: str, sentences: Sequence[str], *, min_corpus_words: int = MIN_CORPUS_WORDS
) -> FrequencyTable:
    """Zipf-scale log-frequency of each of ``words`` in language ``lang`` (see the module docstring).

    wordfreq is used when it covers ``lang``; otherwise (sw, su, an unknown
    code, or a wordfreq lookup that fails) frequencies are counted in
    ``sentences`` and a ``FrequencyFallbackWarning`` is emitted. Raises
    ``FrequencyError`` if the corpus then holds fewer than ``min_corpus_words`` words.
    """
    if not isinstance(lang, str) or not lang:
        raise FrequencyError(f"lang must be a language code such as 'en' or 'sw'; got {lang!r}")
    if isinstance(words, str):
        raise FrequencyError("words must be a sequence of strings, not one string")
    if isinstance(sentences, str):
        raise FrequencyError("sentences must be a sequence of strings (the corpus), not one string")
    if not wordfreq_covers(lang):
        why = f"wordfreq does not cover {lang!r} (it would silently answer with another language's list)"
        return _corpus_table(words, lang, sentences, min_corpus_words, why)
    try:
        return _wordfreq_table(words, lang)
    except Exception as err:  # e.g. an optional tokenizer wordfreq needs for zh/ja is missing
        return _corpus_table(words, lang, sentences, min_corpus_words, f"wordfreq failed for {lang!r}: {err}")
