"""Token representations from every layer of an encoder, for a seeded sample of a corpus's tokens.

The corpus is only counted (content tokens per sentence) to plan the sample; the
planned sentences alone (those holding a sampled token) are tokenized in full and encoded. One forward pass per
batch returns all hidden states (embeddings + each layer), or only the layers asked for, stopping after
the deepest one (``geomexp.representations.hidden_states``); only the sampled tokens' rows are kept, so memory grows
with the sample, not the corpus.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np

from geomexp.representations.hidden_states import layer_states
from geomexp.representations.sampling import TokenPlan, plan_sentence_sample, plan_token_sample


@dataclass
class TokenizedCorpus:
    """Token ids of every sentence, and which are content (not special) tokens.

    input_ids: per sentence, list of token ids as fed to the model (specials included if added).
    content_positions: per sentence, (n_i,) int64 positions of the non-special tokens.
    word_ids: per sentence, (n_i,) int64 word index of each content token (-1 if unknown).
    char_spans: per sentence, (n_i, 2) int64 character [start, end) of each content token.
    """

    input_ids: list[list[int]]
    content_positions: list[np.ndarray]
    word_ids: list[np.ndarray]
    char_spans: list[np.ndarray]

    @property
    def content_counts(self) -> np.ndarray:
        """(S,) number of content tokens per sentence."""
        return np.array([p.size for p in self.content_positions], dtype=np.int64)


@dataclass
class TokenSample:
    """Representations of N sampled tokens at every layer (or at some layers).

    hidden: (L + 1, N, d) float32; hidden[0] is the embedding output, hidden[l] layer l. With
        ``layers`` set, (len(layers), N, d): hidden[k] is hidden-state index ``layers[k]``.
    token_ids, sentence_ids, positions, word_ids: (N,) int64 metadata of each row:
        vocabulary id, corpus sentence index, position in the model input, and
        word index in the sentence (-1 where the tokenizer gives none).
    char_spans: (N, 2) int64 character [start, end) of each token in its sentence.
    """

    hidden: np.ndarray
    token_ids: np.ndarray
    sentence_ids: np.ndarray
    positions: np.ndarray
    word_ids: np.ndarray
    char_spans: np.ndarray
    layers: tuple[int, ...] | None = None
    #: (3,) ``[sentences, sentences cut at the length limit, content tokens dropped]`` of the corpus the
    #: sample was drawn from (None for a cache entry written before it was recorded)
    truncation: np.ndarray | None = None

    @property
    def num_layers(self) -> int:
        """Number of transformer layers L of a sample holding every layer (hidden has L + 1 entries)."""
        if self.layers is not None:
            raise ValueError(f"this sample holds only layers {list(self.layers)}; its model's depth is not known here")
        return self.hidden.shape[0] - 1

    @property
    def layer_indices(self) -> list[int]:
        """The hidden-state indices this sample holds (0 = embeddings)."""
        return list(range(self.hidden.shape[0])) if self.layers is None else list(self.layers)

    def select(self, layers) -> TokenSample:
        """The same rows at ``layers`` only (hidden-state indices it holds; copied into memory)."""
        held = self.layer_indices
        missing = [i for i in layers if i not in held]
        if missing:
            raise KeyError(f"layers {missing} are not in this sample (it holds {held})")
        hidden = np.stack([self.layer(i) for i in layers])
        return dataclasses.replace(self, hidden=hidden, layers=tuple(int(i) for i in layers))

    @property
    def n_tokens(self) -> int:
        return self.hidden.shape[1]

    def layer(self, index: int) -> np.ndarray:
        """(N, d) float32 representations at ``index`` (0 = embeddings, L = last layer)."""
        if self.layers is None:
            return np.asarray(self.hidden[index])
        if index not in self.layers:
            raise KeyError(f"layer {index} is not in this sample (it holds only layers {list(self.layers)})")
        return np.asarray(self.hidden[self.layers.index(index)])


def _tokenized_batches(tokenizer, sentences, *, add_special_tokens: bool, max_length: int, batch_size: int, **extra):
    """Yield (start index, BatchEncoding) over ``sentences`` in batches, truncated to ``max_length``.

    The counting pass (``count_content_tokens_untruncated``) tokenizes without truncation and derives
    what truncation keeps; a test holds the two equal token for token (WordPiece, SentencePiece).
    """
    for start in range(0, len(sentences), batch_size):
        yield (
            start,
            tokenizer(
                list(sentences[start : start + batch_size]),
                add_special_tokens=add_special_tokens,
                truncation=True,
                max_length=max_length,
                return_special_tokens_mask=True,
                **extra,
            ),
        )


def tokenize_corpus(
    tokenizer, sentences, *, add_special_tokens: bool = True, max_length: int = 512, batch_size: int = 1024
) -> TokenizedCorpus:
    """Tokenize ``sentences`` with a fast tokenizer, truncated to ``max_length`` tokens."""
    input_ids, content_positions, word_ids, char_spans = [], [], [], []
    batches = _tokenized_batches(
        tokenizer,
        sentences,
        add_special_tokens=add_special_tokens,
        max_length=max_length,
        batch_size=batch_size,
        return_offsets_mapping=True,
    )
    for _, enc in batches:
        for i, ids in enumerate(enc["input_ids"]):
            mask = np.asarray(enc["special_tokens_mask"][i], dtype=bool)
            pos = np.flatnonzero(~mask)
            words = enc.word_ids(i)
            input_ids.append(list(ids))
            content_positions.append(pos.astype(np.int64))
            word_ids.append(np.array([-1 if words[p] is None else words[p] for p in pos], dtype=np.int64))
            char_spans.append(np.asarray(enc["offset_mapping"][i], dtype=np.int64).reshape(-1, 2)[pos])
    return TokenizedCorpus(input_ids, content_positions, word_ids, char_spans)


def count_content_tokens(
    tokenizer, sentences, *, add_special_tokens: bool = True, max_length: int = 512, batch_size: int = 1024
) -> np.ndarray:
    """(S,) content (non-special) tokens of each sentence, tokenized exactly as ``tokenize_corpus`` does.

    Keeps nothing else, so counting a corpus costs O(S) memory, not O(tokens).
    """
    return count_content_tokens_untruncated(
        tokenizer, sentences, add_special_tokens=add_special_tokens, max_length=max_length, batch_size=batch_size
    )[0]


def count_content_tokens_untruncated(
    tokenizer, sentences, *, add_special_tokens: bool = True, max_length: int = 512, batch_size: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """``(kept, full)``: (S,) content tokens of each sentence after truncation to ``max_length`` (as
    ``tokenize_corpus`` keeps them) and before it, from ONE untruncated tokenization.

    A single sequence is cut from its end, special tokens kept: a sentence of ``c`` content and ``s``
    special tokens keeps ``min(c, max_length - s)`` (what the tokenizer's ``truncation=True`` does).
    """
    kept = np.zeros(len(sentences), dtype=np.int64)
    full = np.zeros(len(sentences), dtype=np.int64)
    for start in range(0, len(sentences), batch_size):
        enc = tokenizer(
            list(sentences[start : start + batch_size]),
            add_special_tokens=add_special_tokens,
            truncation=False,
            return_special_tokens_mask=True,
            return_attention_mask=False,
            return_token_type_ids=False,
            verbose=False,  # no "sequence longer than the model's maximum" warning: counted instead
        )
        for i, mask in enumerate(enc["special_tokens_mask"]):
            special = int(sum(mask))
            full[start + i] = len(mask) - special
            kept[start + i] = max(0, min(full[start + i], max_length - special))
    return kept, full


#: On CPU a batch also holds at most this many tokens (padding included). Fixed sentence counts
#: make batches of long sentences large (32 x 130 tokens: ~50 MB per intermediate activation),
#: which fall out of cache and make the allocator map fresh pages on every forward pass;
#: capping at 1024 tokens made extraction 1.1-1.3x faster on a BERT-base-sized model,
#: multilingual-e5-small and MiniLM on 2 CPU cores (benchmarks/RESULTS.md). Other devices
#: keep ``batch_size`` sentences per batch. Batching changes values only at float rounding.
CPU_BATCH_TOKENS = 1024


def pad_token_id(tokenizer) -> int:
    """The id padded positions get (they are masked out): pad token, else EOS (GPT-2, Llama), else 0."""
    for tid in (tokenizer.pad_token_id, getattr(tokenizer, "eos_token_id", None)):
        if tid is not None:
            return int(tid)
    return 0


def _batches(lengths: np.ndarray, batch_size: int, max_tokens: int | None = None):
    """Slot indices grouped into batches of similar length (longest first).

    Each batch holds at most ``batch_size`` sentences and, with ``max_tokens``, at most
    ``max_tokens`` padded tokens (batch size x its longest length; always at least one sentence).
    """
    order = np.argsort(-lengths, kind="stable")
    start = 0
    while start < order.size:
        size = batch_size
        if max_tokens is not None:
            size = max(1, min(batch_size, max_tokens // max(1, int(lengths[order[start]]))))
        yield order[start : start + size]
        start += size


def _inference_mode(fn):
    """``torch.inference_mode()`` around ``fn``, importing torch only when it is called (a cache hit
    never imports torch)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import torch

        with torch.inference_mode():
            return fn(*args, **kwargs)

    return wrapper


@_inference_mode
def encode_plan(
    model,
    tokenizer,
    tokens: TokenizedCorpus,
    plan: TokenPlan,
    *,
    batch_size: int = 32,
    device="cpu",
    progress: bool = True,
    layers=None,
    padding_side: str = "right",
    stop_early: bool = True,
) -> TokenSample:
    """Run ``model`` over the planned sentences and keep the planned tokens at every layer
    (or only at ``layers``: hidden-state indices, 0 = embeddings; ``hidden`` then has one entry per
    listed layer, in that order, so memory grows with the layers kept, not the model's depth).
    With ``layers``, each forward pass stops after the deepest layer listed (``stop_early``; see
    ``geomexp.representations.hidden_states``): time and activation memory grow with that layer, not the depth, and
    the kept values are bit-identical to a full pass's.

    Padding: pad positions are masked out (attention mask 0) and never kept, so any pad id does:
    the tokenizer's pad token, else its EOS token (GPT-2 has no pad token), else 0.
    ``padding_side``: ``right`` (default; a causal decoder's content tokens then never see a pad)
    or ``left`` (position ids are then given explicitly, counted from each sentence's first token,
    so rows equal right padding's up to float rounding).

    Sentences are sorted by length and padded per batch (at most ``batch_size``
    sentences, and on CPU at most ``CPU_BATCH_TOKENS`` padded tokens, per batch);
    rows come out in the plan's order (sentence by sentence, position by position)
    whatever the batching. Only the sampled rows of each layer are gathered and copied
    (never a stacked copy of all hidden states).
    """
    import torch
    from tqdm.auto import tqdm

    sent_ids = plan.sentence_ids
    n = plan.n_tokens
    keep = list(range(model.config.num_hidden_layers + 1)) if layers is None else [int(i) for i in layers]
    d = model.config.hidden_size
    hidden = np.empty((len(keep), n, d), dtype=np.float32)
    sizes = np.array([o.size for o in plan.offsets], dtype=np.int64)
    row_start = np.concatenate([[0], np.cumsum(sizes)])
    positions = np.concatenate([tokens.content_positions[s][o] for s, o in zip(sent_ids, plan.offsets)])
    lengths = np.array([len(tokens.input_ids[s]) for s in sent_ids], dtype=np.int64)
    if padding_side not in ("right", "left"):
        raise ValueError(f"padding_side={padding_side!r}: use right or left")
    pad_id = pad_token_id(tokenizer)
    max_tokens = CPU_BATCH_TOKENS if torch.device(device).type == "cpu" else None
    # what the model works through: every token of every planned sentence (not only the sampled rows)
    bar = tqdm(total=int(lengths.sum()), unit="tok", desc=f"encode {len(sent_ids)} sentences", disable=not progress)
    for slots in _batches(lengths, batch_size, max_tokens):
        width = int(lengths[slots].max())
        ids = np.full((slots.size, width), pad_id, dtype=np.int64)
        mask = np.zeros((slots.size, width), dtype=np.int64)
        shift = (width - lengths[slots]) if padding_side == "left" else np.zeros(slots.size, dtype=np.int64)
        for b, k in enumerate(slots):
            ids[b, shift[b] : shift[b] + lengths[k]] = tokens.input_ids[sent_ids[k]]
            mask[b, shift[b] : shift[b] + lengths[k]] = 1
        inputs = {"input_ids": torch.from_numpy(ids).to(device), "attention_mask": torch.from_numpy(mask).to(device)}
        if padding_side == "left":
            inputs["position_ids"] = torch.from_numpy(np.clip(np.cumsum(mask, axis=1) - 1, 0, None)).to(device)
        states = layer_states(model, inputs, layers=None if layers is None else keep, stop_early=stop_early)
        rows = np.concatenate([np.arange(row_start[k], row_start[k + 1]) for k in slots])
        b_idx = torch.from_numpy(np.repeat(np.arange(slots.size), sizes[slots])).to(device)
        pos = torch.from_numpy(positions[rows] + np.repeat(shift, sizes[slots])).to(device)
        # the sampled rows of each layer (B, T, d) -> (L + 1, rows, d): one copy to the host
        picked = torch.stack(
            [states[i][b_idx, pos] for i in keep] if layers is None else [s[b_idx, pos] for s in states]
        )
        del states  # free this batch's activations before the next forward pass
        hidden[:, rows] = picked.float().cpu().numpy()
        bar.update(int(lengths[slots].sum()))
    bar.close()
    all_ids = np.concatenate(
        [
            np.asarray(tokens.input_ids[s], dtype=np.int64)[tokens.content_positions[s][o]]
            for s, o in zip(sent_ids, plan.offsets)
        ]
    )
    return TokenSample(
        hidden=hidden,
        layers=None if layers is None else tuple(keep),
        token_ids=all_ids,
        sentence_ids=np.repeat(sent_ids.astype(np.int64), sizes),
        positions=positions.astype(np.int64),
        word_ids=np.concatenate([tokens.word_ids[s][o] for s, o in zip(sent_ids, plan.offsets)]),
        char_spans=np.concatenate([tokens.char_spans[s][o] for s, o in zip(sent_ids, plan.offsets)]),
    )


def extract_tokens(
    model,
    tokenizer,
    sentences,
    *,
    n_tokens: int = 10_000,
    n_sentences: int | None = None,
    token_sampling: str = "uniform",
    seed: int | None = 0,
    allow_fewer: bool = False,
    add_special_tokens: bool = True,
    max_length: int = 512,
    batch_size: int = 32,
    device="cpu",
    progress: bool = True,
    what: str = "corpus",
    layers=None,
    padding_side: str = "right",
    stop_early: bool = True,
    long_sentences: str = "cut",
) -> TokenSample:
    """Sample tokens of ``sentences`` (seeded) and return their representations at every layer.

    By default ``n_tokens`` tokens drawn as ``token_sampling`` says (``plan_token_sample``:
    ``uniform`` over the corpus or from the ``fewest_sentences``); with ``n_sentences``
    every token of that many random sentences (``plan_sentence_sample``).
    Special-token rows are never kept; ``add_special_tokens=False`` feeds the
    sentences without [CLS]/[SEP] (as the paper's released notebook did). ``layers``: keep only
    these hidden states; ``padding_side``, ``stop_early``: see ``encode_plan``. ``long_sentences``:
    ``"cut"`` (a sentence longer than ``max_length`` tokens is cut there) or ``"skip"`` (it is never
    sampled); ``sample.truncation`` counts the sentences cut or skipped and the content tokens lost.

    Decoder-only models (GPT-2, Llama, Qwen2, ...) go through the same path: whatever the tokenizer
    adds (Llama's BOS; GPT-2 and Qwen2 add nothing) is flagged by its ``special_tokens_mask`` and
    dropped, and the first content token is then a row like any other.
    """
    if long_sentences not in LONG_SENTENCES:
        raise ValueError(f"long_sentences={long_sentences!r}; choose one of {LONG_SENTENCES}")
    counts, full = count_content_tokens_untruncated(
        tokenizer, sentences, add_special_tokens=add_special_tokens, max_length=max_length
    )
    if long_sentences == "skip":
        counts = np.where(full > counts, 0, counts)  # no token of a sentence that does not fit can be drawn
    if n_sentences is not None:
        plan = plan_sentence_sample(counts, n_sentences, seed=seed, allow_fewer=allow_fewer, what=what)
    else:
        plan = plan_token_sample(counts, n_tokens, method=token_sampling, seed=seed, allow_fewer=allow_fewer, what=what)
    # Only the planned sentences are tokenized in full (ids, offsets, word ids): memory grows
    # with the sample, not the corpus. They are encoded under local indices 0..S-1 (same order,
    # so the same batches) and the rows then point back at the corpus.
    chosen = plan.sentence_ids
    tokens = tokenize_corpus(
        tokenizer, [sentences[int(i)] for i in chosen], add_special_tokens=add_special_tokens, max_length=max_length
    )
    local = TokenPlan(sentence_ids=np.arange(chosen.size), offsets=plan.offsets, n_available=plan.n_available)
    sample = encode_plan(
        model,
        tokenizer,
        tokens,
        local,
        batch_size=batch_size,
        device=device,
        progress=progress,
        layers=layers,
        padding_side=padding_side,
        stop_early=stop_early,
    )
    sample.sentence_ids = chosen.astype(np.int64)[sample.sentence_ids]
    sample.truncation = truncation_counts(counts, full)
    return sample


#: what becomes of a sentence longer than the length limit: cut there (its tail never sampled) or left out whole
LONG_SENTENCES = ("cut", "skip")


def truncation_counts(kept: np.ndarray, full: np.ndarray) -> np.ndarray:
    """(3,) int64 ``[sentences, sentences cut, content tokens dropped]`` of a corpus tokenized at a
    length limit (``count_content_tokens_untruncated``)."""
    return np.array([kept.size, int(np.sum(full > kept)), int(np.sum(full - kept))], dtype=np.int64)
