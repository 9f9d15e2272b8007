"""The speed changes of the benchmark issue keep the results: extraction against simple reference
computations (bit for bit where the batches are the same), I_PC against scipy's logsumexp.

No timings here: speed is measured by ``benchmarks/`` (see benchmarks/README.md).
"""

import numpy as np
import pytest
import torch
from scipy.special import logsumexp

import geomexp.representations.extraction as extraction
from geomexp.metrics import i_pc, log_i_pc
from geomexp.metrics.isotropy import principal_directions
from geomexp.representations.extraction import (
    TokenSample,
    count_content_tokens,
    encode_plan,
    extract_tokens,
    tokenize_corpus,
)
from geomexp.representations.sampling import plan_sentence_sample, plan_token_sample

SENTENCES = [
    "The Moon is Earth's only natural satellite.",
    "It orbits at an average distance of 384,400 km, about 30 times the diameter of Earth.",
    "Tidal locking keeps the same side facing Earth.",
    "Apollo 11 landed in 1969.",
    "Its surface is covered in regolith and craters, formed by impacts over billions of years.",
    "Short one.",
    "The lunar maria are large, dark, basaltic plains formed by ancient volcanic eruptions.",
    "Yes.",
    "The Moon's gravity produces the tides, and it slowly lengthens the day on Earth.",
    "Astronauts left retroreflectors that still return laser pulses sent from observatories today.",
    "Eclipses happen when the Sun, Earth and Moon line up.",
]


@torch.inference_mode()
def reference_encode(model, tokenizer, tokens, plan, batch_size):
    """The extractor before this change: fixed ``batch_size``-sentence batches, all layers stacked, then gathered."""
    sent_ids = plan.sentence_ids
    hidden = np.empty((model.config.num_hidden_layers + 1, plan.n_tokens, model.config.hidden_size), dtype=np.float32)
    row_start = np.concatenate([[0], np.cumsum([o.size for o in plan.offsets])])
    positions = np.concatenate([tokens.content_positions[s][o] for s, o in zip(sent_ids, plan.offsets)])
    lengths = np.array([len(tokens.input_ids[s]) for s in sent_ids])
    order = np.argsort(-lengths, kind="stable")
    for start in range(0, order.size, batch_size):
        slots = order[start : start + batch_size]
        width = int(lengths[slots].max())
        ids = torch.full((slots.size, width), tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((slots.size, width), dtype=torch.long)
        for b, k in enumerate(slots):
            seq = tokens.input_ids[sent_ids[k]]
            ids[b, : len(seq)] = torch.tensor(seq)
            mask[b, : len(seq)] = 1
        states = torch.stack(model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states)
        b_idx = np.concatenate([np.full(plan.offsets[k].size, b) for b, k in enumerate(slots)])
        rows = np.concatenate([np.arange(row_start[k], row_start[k + 1]) for k in slots])
        hidden[:, rows] = states[:, torch.as_tensor(b_idx), torch.as_tensor(positions[rows])].numpy()
    return hidden


def reference_metadata(tokens, plan):
    """Token ids, corpus sentence ids, positions, word ids and spans of the planned rows (whole-corpus tokenization)."""
    pairs = list(zip(plan.sentence_ids, plan.offsets))
    return {
        "token_ids": np.concatenate(
            [np.asarray(tokens.input_ids[s])[tokens.content_positions[s][o]] for s, o in pairs]
        ),
        "sentence_ids": np.repeat(plan.sentence_ids, [o.size for o in plan.offsets]),
        "positions": np.concatenate([tokens.content_positions[s][o] for s, o in pairs]),
        "word_ids": np.concatenate([tokens.word_ids[s][o] for s, o in pairs]),
        "char_spans": np.concatenate([tokens.char_spans[s][o] for s, o in pairs]),
    }


def assert_metadata_equal(sample: TokenSample, expected: dict):
    for name, value in expected.items():
        np.testing.assert_array_equal(getattr(sample, name), value, err_msg=name)
        assert getattr(sample, name).dtype == np.int64, name


@pytest.mark.parametrize("add_special_tokens", [True, False])
@pytest.mark.parametrize("max_length", [512, 8])
def test_count_content_tokens_equals_tokenize_corpus_counts(tiny, add_special_tokens, max_length):
    _, tok = tiny
    expected = tokenize_corpus(
        tok, SENTENCES, add_special_tokens=add_special_tokens, max_length=max_length
    ).content_counts
    got = count_content_tokens(
        tok, SENTENCES, add_special_tokens=add_special_tokens, max_length=max_length, batch_size=4
    )
    np.testing.assert_array_equal(got, expected)
    assert got.dtype == np.int64


@pytest.mark.parametrize("batch_size, max_tokens", [(1, None), (4, None), (32, None), (4, 50), (32, 100), (8, 1)])
def test_batches_cover_every_slot_once_longest_first_within_limits(batch_size, max_tokens):
    lengths = np.random.default_rng(0).integers(1, 60, size=97)
    batches = list(extraction._batches(lengths, batch_size, max_tokens))
    flat = np.concatenate(batches)
    np.testing.assert_array_equal(flat, np.argsort(-lengths, kind="stable"))
    for slots in batches:
        assert 1 <= slots.size <= batch_size
        if max_tokens is not None and slots.size > 1:
            assert slots.size * lengths[slots].max() <= max_tokens
    if max_tokens is None:  # without a token cap: the old fixed-size batches
        order = np.argsort(-lengths, kind="stable")
        expected = [order[i : i + batch_size] for i in range(0, order.size, batch_size)]
        assert len(batches) == len(expected) and all((a == b).all() for a, b in zip(batches, expected))


@pytest.mark.parametrize("batch_size", [1, 4, 32])
def test_encode_plan_is_bit_identical_to_the_old_algorithm_on_the_same_batches(tiny, monkeypatch, batch_size):
    model, tok = tiny
    monkeypatch.setattr(extraction, "CPU_BATCH_TOKENS", 10**9)  # no token cap: the old fixed-size batches
    tokens = tokenize_corpus(tok, SENTENCES)
    plan = plan_token_sample(tokens.content_counts, 60, seed=3)
    sample = encode_plan(model, tok, tokens, plan, batch_size=batch_size, progress=False)
    expected = reference_encode(model, tok, tokens, plan, batch_size)
    assert sample.hidden.dtype == np.float32
    np.testing.assert_array_equal(sample.hidden, expected)
    assert_metadata_equal(sample, reference_metadata(tokens, plan))


@pytest.mark.parametrize("cap", [1024, 40, 1])
@pytest.mark.parametrize("how", ["tokens", "sentences"])
def test_extract_tokens_equals_per_sentence_forward_passes(tiny, monkeypatch, cap, how):
    """Default path (count, plan, tokenize only the planned sentences, token-capped batches) against
    the old whole-corpus metadata and one plain forward pass per sentence."""
    model, tok = tiny
    monkeypatch.setattr(extraction, "CPU_BATCH_TOKENS", cap)
    corpus = SENTENCES * 3  # repeated sentences: rows must still point at the right copy
    kwargs = {"n_sentences": 20} if how == "sentences" else {"n_tokens": 150}
    sample = extract_tokens(model, tok, corpus, seed=5, batch_size=8, progress=False, **kwargs)
    tokens = tokenize_corpus(tok, corpus)
    plan = (
        plan_sentence_sample(tokens.content_counts, 20, seed=5)
        if how == "sentences"
        else plan_token_sample(tokens.content_counts, 150, seed=5)
    )
    assert_metadata_equal(sample, reference_metadata(tokens, plan))
    with torch.inference_mode():
        for s in np.unique(sample.sentence_ids):
            enc = tok(corpus[s], return_tensors="pt")
            states = torch.stack(model(**enc, output_hidden_states=True).hidden_states)[:, 0].numpy()
            rows = np.flatnonzero(sample.sentence_ids == s)
            np.testing.assert_allclose(sample.hidden[:, rows], states[:, sample.positions[rows]], atol=1e-5, rtol=0)


def test_token_cap_changes_values_only_at_float_rounding(tiny, monkeypatch):
    model, tok = tiny
    tokens = tokenize_corpus(tok, SENTENCES * 4)
    plan = plan_token_sample(tokens.content_counts, 200, seed=1)
    monkeypatch.setattr(extraction, "CPU_BATCH_TOKENS", 10**9)
    a = encode_plan(model, tok, tokens, plan, batch_size=32, progress=False)
    monkeypatch.setattr(extraction, "CPU_BATCH_TOKENS", 64)
    b = encode_plan(model, tok, tokens, plan, batch_size=32, progress=False)
    np.testing.assert_allclose(a.hidden, b.hidden, atol=1e-5, rtol=0)
    for name in ("token_ids", "sentence_ids", "positions", "word_ids", "char_spans"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def reference_log_i_pc(X, signs="both"):
    """I_PC in log space the straightforward way: (N, d) projections, scipy logsumexp down the columns."""
    W = np.asarray(X, dtype=np.float64)
    Z = W @ principal_directions(W)
    log_f = logsumexp(Z, axis=0)
    if signs == "both":
        log_f = np.concatenate([log_f, logsumexp(-Z, axis=0)])
    return float(log_f.min() - log_f.max())


@pytest.mark.parametrize(
    "shape, scale, offset",
    [
        ((5000, 64), 1.0, 0.0),
        ((3000, 100), 1.0, 3.0),
        ((2000, 50), 300.0, 0.0),
        ((3, 2), 1.0, 0.0),
        ((50, 1), 1.0, 0.5),
        ((800, 33), 5.0, 1.0),
        ((4000, 97), 2.0, -1.0),
    ],
)
@pytest.mark.parametrize("signs", ["both", "single"])
def test_log_i_pc_equals_scipy_logsumexp_reference(shape, scale, offset, signs):
    X = (np.random.default_rng(shape[1]).standard_normal(shape) * scale + offset).astype(np.float32)
    expected = reference_log_i_pc(X, signs)
    got = log_i_pc(X, signs)
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert i_pc(X, signs) == pytest.approx(np.exp(expected), rel=1e-12, abs=0)
