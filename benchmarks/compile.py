"""Benchmark 13 (issue 30, item 3): ``torch.compile`` (inductor, CPU) against eager fp32 on geomexp's
extraction: tokens/s, share of the fp32 GEMM rate, compile time, and the largest deviation of the rows.

    python benchmarks/compile.py minilm        # also me5_small, bert_base (~1-2 min each)

The 300 English sentences of ``benchmarks/extraction.py``, every token, every layer; the compiled model
(``torch.compile(model, dynamic=True)``) is timed after its first pass (which compiles), three
interleaved rounds, best of each.
"""

import sys
import time

import _common  # noqa: F401  (sys.path)
import numpy as np
import torch
from _common import english_sentences, gemm_gflops
from extraction import flops_per_sentence, load

from geomexp.representations.extraction import extract_tokens

name = sys.argv[1] if len(sys.argv) > 1 else "minilm"
model, tok, _ = load(name)
sents = english_sentences(300)
lengths = np.array([len(i) for i in tok(sents, truncation=True, max_length=512)["input_ids"]])
flops = float(flops_per_sentence(model.config, lengths).sum())
n = int(lengths.sum())


def run(m):
    return extract_tokens(m, tok, sents, n_sentences=len(sents), seed=0, progress=False)


extract_tokens(model, tok, sents[:16], n_sentences=16, progress=False)
t0 = time.perf_counter()
compiled = torch.compile(model, dynamic=True)
run(compiled)
tc = time.perf_counter() - t0
print(f"{name}: compile + first pass {tc:.1f} s", flush=True)
times = {"eager": [], "compiled": []}
outs = {}
for _ in range(3):
    for k, m in (("eager", model), ("compiled", compiled)):
        t0 = time.perf_counter()
        outs[k] = run(m)
        times[k].append(time.perf_counter() - t0)
g = max(gemm_gflops() for _ in range(3))
for k, ts in times.items():
    b = min(ts)
    print(f"  {k}: {n / b:,.0f} tok/s, {flops / b / 1e9:.0f} GFLOP/s = {flops / b / 1e9 / g:.1%} of GEMM ({g:.0f})")
e, c = outs["eager"], outs["compiled"]
diffs = [np.abs(e.layer(i) - c.layer(i)).max() / np.abs(e.layer(i)).max() for i in e.layer_indices]
print(
    f"  compiled / eager = {min(times['eager']) / min(times['compiled']):.2f}x; max |diff| / max |value| over layers = {max(diffs):.2e}"
)
