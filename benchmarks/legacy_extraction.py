"""The extraction code as it was before the benchmark issue (commit 455435d), kept verbatim for
before/after measurements (``python benchmarks/extraction.py --legacy``) and for
``tests/test_perf_equivalence.py``. Not used by geomexp itself.
"""

from __future__ import annotations

import numpy as np
import torch
from tqdm.auto import tqdm

from geomexp.representations.extraction import TokenizedCorpus, TokenSample, tokenize_corpus  # unchanged types
from geomexp.representations.sampling import TokenPlan, plan_sentence_sample, plan_token_sample


def _batches(lengths: np.ndarray, batch_size: int):
    """Slot indices grouped into batches of similar length (longest first)."""
    order = np.argsort(-lengths, kind="stable")
    for start in range(0, order.size, batch_size):
        yield order[start : start + batch_size]


@torch.inference_mode()
def legacy_encode_plan(
    model,
    tokenizer,
    tokens: TokenizedCorpus,
    plan: TokenPlan,
    *,
    batch_size: int = 32,
    device="cpu",
    progress: bool = True,
) -> TokenSample:
    """Run ``model`` over the planned sentences and keep the planned tokens at every layer.

    Sentences are sorted by length and padded per batch; rows come out in the
    plan's order (sentence by sentence, position by position) whatever the batch size.
    """
    sent_ids = plan.sentence_ids
    n = plan.n_tokens
    num_hidden = model.config.num_hidden_layers + 1
    d = model.config.hidden_size
    hidden = np.empty((num_hidden, n, d), dtype=np.float32)
    row_start = np.concatenate([[0], np.cumsum([o.size for o in plan.offsets])])
    positions = np.concatenate([tokens.content_positions[s][o] for s, o in zip(sent_ids, plan.offsets)])
    lengths = np.array([len(tokens.input_ids[s]) for s in sent_ids])
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    bar = tqdm(total=n, unit="tok", desc="encode", disable=not progress)
    for slots in _batches(lengths, batch_size):
        width = int(lengths[slots].max())
        ids = torch.full((slots.size, width), pad_id, dtype=torch.long)
        mask = torch.zeros((slots.size, width), dtype=torch.long)
        for b, k in enumerate(slots):
            seq = tokens.input_ids[sent_ids[k]]
            ids[b, : len(seq)] = torch.tensor(seq)
            mask[b, : len(seq)] = 1
        out = model(input_ids=ids.to(device), attention_mask=mask.to(device), output_hidden_states=True)
        states = torch.stack(out.hidden_states)  # (L + 1, B, T, d)
        b_idx = np.concatenate([np.full(plan.offsets[k].size, b) for b, k in enumerate(slots)])
        rows = np.concatenate([np.arange(row_start[k], row_start[k + 1]) for k in slots])
        picked = states[:, torch.as_tensor(b_idx), torch.as_tensor(positions[rows])]
        hidden[:, rows] = picked.float().cpu().numpy()
        bar.update(rows.size)
    bar.close()
    all_ids = np.concatenate(
        [
            np.asarray(tokens.input_ids[s], dtype=np.int64)[tokens.content_positions[s][o]]
            for s, o in zip(sent_ids, plan.offsets)
        ]
    )
    return TokenSample(
        hidden=hidden,
        token_ids=all_ids,
        sentence_ids=np.repeat(sent_ids.astype(np.int64), [o.size for o in plan.offsets]),
        positions=positions.astype(np.int64),
        word_ids=np.concatenate([tokens.word_ids[s][o] for s, o in zip(sent_ids, plan.offsets)]),
        char_spans=np.concatenate([tokens.char_spans[s][o] for s, o in zip(sent_ids, plan.offsets)]),
    )


def legacy_extract_tokens(
    model,
    tokenizer,
    sentences,
    *,
    n_tokens: int = 10_000,
    n_sentences: int | None = None,
    seed: int = 0,
    allow_fewer: bool = False,
    add_special_tokens: bool = True,
    max_length: int = 512,
    batch_size: int = 32,
    device="cpu",
    progress: bool = True,
    what: str = "corpus",
) -> TokenSample:
    """Sample tokens of ``sentences`` (seeded) and return their representations at every layer.

    By default ``n_tokens`` tokens (``plan_token_sample``); with ``n_sentences``
    every token of that many random sentences (``plan_sentence_sample``).
    Special-token rows are never kept; ``add_special_tokens=False`` feeds the
    sentences without [CLS]/[SEP] (as the paper's released notebook did).
    """
    tokens = tokenize_corpus(tokenizer, sentences, add_special_tokens=add_special_tokens, max_length=max_length)
    if n_sentences is not None:
        plan = plan_sentence_sample(tokens.content_counts, n_sentences, seed=seed, allow_fewer=allow_fewer, what=what)
    else:
        plan = plan_token_sample(tokens.content_counts, n_tokens, seed=seed, allow_fewer=allow_fewer, what=what)
    return legacy_encode_plan(model, tokenizer, tokens, plan, batch_size=batch_size, device=device, progress=progress)
