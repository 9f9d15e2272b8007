"""Hidden states of one forward pass, at the asked layers only, stopping after the deepest one.

Hidden-state index ``i`` (0 = embedding output, ``L`` = last layer) is, for ``i < L``, exactly the
tensor block ``i`` receives as input: transformers records hidden state ``i > 0`` as block ``i - 1``'s
output, and the first one as block 0's input, and the model hands each block's output to the next
block unchanged (BERT, XLM-R, GPT-2, Llama, Mistral, Qwen2, Gemma, ...). So a forward pre-hook on block
``i`` captures it, and when the deepest index asked for is ``k < L`` the hook on block ``k`` ends the
pass there (a private exception caught here): blocks ``k..L-1`` and the final norm never run, so time
and activation memory grow with the deepest layer asked for, not the model's depth. Index ``L`` is the
model's ``last_hidden_state`` (after the final norm of GPT-2 / Llama / Qwen2, as
``output_hidden_states`` gives it), so asking for it runs the whole pass.

The captured tensors are the very tensors ``output_hidden_states=True`` returns: values are bit-identical
(tested on tiny GPT-2 and BERT). A model whose blocks are not found (no ``nn.ModuleList`` of
``config.num_hidden_layers`` modules) gets the plain ``output_hidden_states=True`` pass.
"""

from __future__ import annotations


class _StopForward(Exception):
    """Raised by the pre-hook on the deepest block asked for; caught in ``layer_states``."""


def transformer_blocks(model):
    """The model's ``L = config.num_hidden_layers`` transformer blocks, in order (an ``nn.ModuleList``), or None.

    The block list is the first ``nn.ModuleList`` of ``L`` modules in the model's module tree whose
    members are all of one class (``h`` of GPT-2, ``encoder.layer`` of BERT, ``layers`` of Llama);
    where transformers names the class that records hidden states (``_can_record_outputs``), a list
    of that class is preferred.
    """
    from torch import nn

    n = int(model.config.num_hidden_layers)
    recorded = (getattr(type(model), "_can_record_outputs", None) or {}).get("hidden_states")
    candidates = [
        m
        for m in model.modules()
        if isinstance(m, nn.ModuleList) and len(m) == n and n > 0 and len({type(b) for b in m}) == 1
    ]
    if isinstance(recorded, type):
        preferred = [m for m in candidates if isinstance(m[0], recorded)]
        candidates = preferred or candidates
    return candidates[0] if candidates else None


def layer_states(model, inputs: dict, layers=None, *, stop_early: bool = True):
    """Hidden states of one forward pass of ``model`` on ``inputs`` (``input_ids``, ``attention_mask``, ...).

    layers: hidden-state indices (0 = embeddings, ``L`` = last layer); None: all ``L + 1``.
    stop_early: with ``layers`` given, capture them with forward pre-hooks and stop the pass after the
        deepest one (see the module docstring); False runs every block (for comparisons and benchmarks).
    Returns a sequence of (B, T, d) tensors in the order of ``layers`` (all of them for None), in the
    model's dtype and on the device where the model produced them.
    """
    if layers is None:
        return model(**inputs, output_hidden_states=True).hidden_states
    keep = [int(i) for i in layers]
    blocks = transformer_blocks(model) if stop_early else None
    if blocks is None:
        states = model(**inputs, output_hidden_states=True).hidden_states
        return [states[i] for i in keep]
    n = len(blocks)
    bad = [i for i in keep if not 0 <= i <= n]
    if bad:
        raise ValueError(f"layers {bad} are out of range for a model of {n} layers: use 0..{n} (0 = embeddings)")
    deepest = max(keep)
    captured = {}

    def hook_for(index: int):
        def hook(module, args, kwargs):
            captured[index] = args[0] if args else kwargs["hidden_states"]
            if index == deepest:
                raise _StopForward

        return hook

    handles = [blocks[i].register_forward_pre_hook(hook_for(i), with_kwargs=True) for i in sorted(set(keep)) if i < n]
    try:
        out = model(**inputs)
        captured[n] = out.last_hidden_state
    except _StopForward:
        pass
    finally:
        for h in handles:
            h.remove()
    return [captured[i] for i in keep]
