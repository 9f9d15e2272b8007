"""Choose which tokens of a corpus to represent: seeded; uniform over the corpus, or from few sentences."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from geomexp.errors import ConfigError


class NotEnoughTokensError(ConfigError):
    """The corpus has fewer tokens than the sample asks for."""


class SmallerSampleWarning(UserWarning):
    """``data.allow_fewer``: the corpus holds less than asked for, so all of it is used."""


@dataclass(frozen=True)
class TokenPlan:
    """Which tokens to keep.

    sentence_ids: (S,) corpus indices of the sentences to encode, in sampling order.
    offsets: list of S int64 arrays; offsets[k] are the sorted indices, among the
        content (non-special) tokens of sentence ``sentence_ids[k]``, to keep.
    n_available: content tokens in the whole corpus.
    """

    sentence_ids: np.ndarray
    offsets: list[np.ndarray]
    n_available: int

    @property
    def n_tokens(self) -> int:
        """Number of tokens the plan keeps."""
        return int(sum(len(o) for o in self.offsets))


#: How ``n_tokens`` tokens are drawn from a corpus (``data.token_sampling``).
TOKEN_SAMPLINGS = ("uniform", "fewest_sentences")


def plan_token_sample(
    token_counts,
    n_tokens: int,
    *,
    method: str = "uniform",
    seed: int = 0,
    allow_fewer: bool = False,
    what: str = "corpus",
) -> TokenPlan:
    """Sample ``n_tokens`` content tokens without replacement, seeded.

    token_counts: (S_total,) content tokens per sentence (special tokens excluded).
    method:
      ``uniform`` (default, as the paper's code): every content token of the corpus is
        equally likely; the planned sentences are those holding a drawn token, in corpus
        order, so most of a corpus may need encoding when ``n_tokens`` is a large share.
      ``fewest_sentences``: sentences are visited in a seeded random order until they hold
        ``n_tokens`` tokens, then ``n_tokens`` of those are drawn. Encodes far fewer
        sentences, but the sample is clustered by sentence (on me5_small, English, last
        layer it biased IsoScore about 13 % low; see docs/sampling-and-uncertainty.md).
    If the whole corpus holds fewer, raise ``NotEnoughTokensError`` naming the count, or
    with ``allow_fewer`` keep every token.
    """
    counts = np.asarray(token_counts, dtype=np.int64)
    if isinstance(n_tokens, bool) or int(n_tokens) != n_tokens or n_tokens < 1:
        raise ConfigError(f"data.n_tokens must be a positive integer; got {n_tokens!r}")
    if method not in TOKEN_SAMPLINGS:
        raise ConfigError(f"data.token_sampling={method!r} is not known; choose one of {list(TOKEN_SAMPLINGS)}")
    rng = np.random.default_rng(seed)
    # fewest_sentences visits sentences in a seeded random order; uniform takes the corpus in order
    order = rng.permutation(counts.size) if method == "fewest_sentences" else np.arange(counts.size)
    cum = np.cumsum(counts[order])
    available = int(cum[-1]) if cum.size else 0
    if available < n_tokens:
        if not allow_fewer or available == 0:
            raise NotEnoughTokensError(
                f"{what} has only {available} tokens (special tokens excluded) but data.n_tokens={n_tokens} "
                f"were asked for. Lower data.n_tokens (<= {available}) or set data.allow_fewer=true to use all of them."
            )
        warnings.warn(
            SmallerSampleWarning(f"{what} has only {available} tokens; using all of them (data.n_tokens={n_tokens})"),
            stacklevel=2,
        )
        n_tokens = available
    # the pool of sentences the tokens are drawn from: all of them, or the fewest holding n_tokens
    n_sent = counts.size if method == "uniform" else int(np.searchsorted(cum, n_tokens)) + 1
    chosen = order[:n_sent]
    pool = int(cum[n_sent - 1])
    picked = np.sort(rng.choice(pool, size=n_tokens, replace=False))
    starts = np.concatenate([[0], cum[: n_sent - 1]])
    which = np.searchsorted(starts, picked, side="right") - 1  # sentence slot of each picked token
    bounds = np.cumsum(np.bincount(which, minlength=n_sent))[:-1]
    offsets = np.split(picked - starts[which], bounds)
    keep = [k for k in range(n_sent) if offsets[k].size]
    return TokenPlan(sentence_ids=chosen[keep], offsets=[offsets[k] for k in keep], n_available=available)


def plan_sentence_sample(
    token_counts, n_sentences: int, *, seed: int | None = 0, allow_fewer: bool = False, what: str = "corpus"
) -> TokenPlan:
    """Keep every content token of ``n_sentences`` sentences drawn in a seeded random order
    (``seed`` None: the first ``n_sentences`` in corpus order, as a task's data is encoded whole).

    token_counts: (S_total,) content tokens per sentence; sentences without any
    are skipped. Whole sentences keep whole words (needed to pool sub-tokens into
    words). Too few sentences: ``NotEnoughTokensError`` naming the count, or with
    ``allow_fewer`` all of them.
    """
    counts = np.asarray(token_counts, dtype=np.int64)
    if isinstance(n_sentences, bool) or int(n_sentences) != n_sentences or n_sentences < 1:
        raise ConfigError(f"data.n_sentences must be a positive integer; got {n_sentences!r}")
    order = np.arange(counts.size) if seed is None else np.random.default_rng(seed).permutation(counts.size)
    order = order[counts[order] > 0]
    if order.size < n_sentences:
        if not allow_fewer or order.size == 0:
            raise NotEnoughTokensError(
                f"{what} has only {order.size} non-empty sentences but data.n_sentences={n_sentences} were asked for. "
                f"Lower data.n_sentences (<= {order.size}) or set data.allow_fewer=true to use all of them."
            )
        warnings.warn(
            SmallerSampleWarning(
                f"{what} has only {order.size} non-empty sentences; using all of them (data.n_sentences={n_sentences})"
            ),
            stacklevel=2,
        )
        n_sentences = order.size
    chosen = order[:n_sentences]
    return TokenPlan(
        sentence_ids=chosen,
        offsets=[np.arange(counts[s], dtype=np.int64) for s in chosen],
        n_available=int(counts.sum()),
    )
