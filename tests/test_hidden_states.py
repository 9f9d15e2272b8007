"""Forward passes that stop after the deepest layer asked for (``geomexp.representations.hidden_states``): the kept hidden
states are bit-identical to a full pass's, and the blocks above are never run (counted with forward hooks
on the real modules). Tiny random 4-layer GPT-2 and BERT saved with save_pretrained; 2-layer Llama/Qwen2.
"""

import numpy as np
import pytest
import torch

from geomexp.representations.extraction import extract_tokens
from geomexp.representations.hidden_states import layer_states, transformer_blocks

SENTENCES = [
    "The Moon is Earth's only natural satellite.",
    "La Luna es el único satélite natural de la Tierra.",
    "Apollo 11 landed in 1969.",
    "Mwezi ni satelaiti pekee ya asili ya Dunia, at an average distance of 384,400 km from us.",
]


@pytest.fixture(scope="module")
def deep(deep_tiny_dirs):
    from transformers import AutoModel, AutoTokenizer

    return {
        k: (AutoModel.from_pretrained(d).eval(), AutoTokenizer.from_pretrained(d)) for k, d in deep_tiny_dirs.items()
    }


def whole(model, tok, **kw):
    # batch_size=2: two forward passes, so call counts are per batch
    return extract_tokens(model, tok, SENTENCES, n_sentences=len(SENTENCES), batch_size=2, progress=False, **kw)


def count_calls(model):
    """``(counts, handles)``: forward calls of each block and of every other top-level child (e.g. ``ln_f``)."""
    counts = {}
    handles = []
    for i, block in enumerate(transformer_blocks(model)):
        handles.append(block.register_forward_hook(lambda *a, i=i: counts.__setitem__(i, counts.get(i, 0) + 1)))
    final = getattr(model, "ln_f", None)  # GPT-2's final norm: part of hidden state L only
    if final is not None:
        handles.append(final.register_forward_hook(lambda *a: counts.__setitem__("ln_f", counts.get("ln_f", 0) + 1)))
    return counts, handles


@pytest.mark.parametrize("kind", ["gpt2", "bert"])
def test_a_pass_stops_after_the_deepest_layer_and_keeps_bit_identical_values(deep, kind):
    model, tok = deep[kind]
    blocks = transformer_blocks(model)
    assert blocks is (model.h if kind == "gpt2" else model.encoder.layer) and len(blocks) == 4
    full = whole(model, tok)  # every hidden state: the plain output_hidden_states pass
    assert full.hidden.shape[0] == 5 and np.abs(full.hidden).max() > 0.1
    for layers, ran in [([0, 2], {0, 1}), ([1], {0}), ([0], set()), ([3, 1], {0, 1, 2}), ([0, 4], {0, 1, 2, 3})]:
        counts, handles = count_calls(model)
        try:
            some = whole(model, tok, layers=layers)
        finally:
            for h in handles:
                h.remove()
        assert {k for k in counts if k != "ln_f"} == ran, layers  # blocks above the deepest never run
        assert all(counts[i] == 2 for i in ran)  # once per batch
        if kind == "gpt2":
            assert counts.get("ln_f", 0) == (2 if 4 in layers else 0)
        assert some.layers == tuple(layers) and some.hidden.shape[0] == len(layers)
        for i in layers:
            np.testing.assert_array_equal(some.layer(i), full.layer(i))  # bit-identical, not close


def test_stop_early_off_runs_every_block_with_the_same_values(deep):
    model, tok = deep["gpt2"]
    counts, handles = count_calls(model)
    try:
        off = whole(model, tok, layers=[1], stop_early=False)
    finally:
        for h in handles:
            h.remove()
    assert counts == {0: 2, 1: 2, 2: 2, 3: 2, "ln_f": 2}
    np.testing.assert_array_equal(off.hidden, whole(model, tok, layers=[1]).hidden)


@pytest.mark.parametrize("kind", ["llama", "qwen2"])
def test_llama_and_qwen2_blocks_are_found_and_a_stopped_pass_matches(tiny_decoders, kind):
    model, tok = tiny_decoders[kind]
    assert transformer_blocks(model) is model.layers
    enc = (
        tok(SENTENCES[:2], return_tensors="pt", padding=True)
        if tok.pad_token
        else tok(SENTENCES[:1], return_tensors="pt")
    )
    inputs = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
    with torch.inference_mode():
        full = model(**inputs, output_hidden_states=True).hidden_states
        (one,) = layer_states(model, inputs, [1])
        two = layer_states(model, inputs, [2, 0])
    assert torch.equal(one, full[1]) and torch.equal(two[0], full[2]) and torch.equal(two[1], full[0])


def test_out_of_range_layers_are_refused(deep):
    model, tok = deep["bert"]
    inputs = dict(tok(SENTENCES[:1], return_tensors="pt"))
    with pytest.raises(ValueError, match=r"layers \[5\] are out of range .* use 0..4"):
        layer_states(model, inputs, [0, 5])
