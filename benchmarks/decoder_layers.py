"""Benchmark 9: extraction from a random 24-layer x 1024 decoder (GPT-2 architecture), keeping 3 hidden
states (``layers=[0, 12, 24]``) vs all 25, and 3 of the lower half (``layers=[0, 6, 12]``) with the
forward pass stopped after layer 12 (the default) vs run through all 24 blocks (``stop_early=False``):
peak memory and tokens/s.

    python benchmarks/decoder_layers.py                        # 4 modes, ~5 min on 2 loaded cores
    python benchmarks/decoder_layers.py --n-tokens 2000        # quicker
    python benchmarks/decoder_layers.py --modes half,half-full  # only the early-stop comparison

Each mode runs in its own subprocess (so peak RSS, ``ru_maxrss`` of that child, is its own):
build the model (seeded, fp32, ~300 M parameters, 1.2 GB), a byte-level BPE tokenizer trained on the
English corpus (vocabulary 5,000), then ``extract_tokens`` of ``--n-tokens`` tokens of the paper's
English Wikipedia (sentence-first draw). Reported: tokens/s of the extraction, RSS after the model is
built, peak RSS, and the peak minus the post-build RSS (what extraction added), and the size of the
returned sample. The 1-minute load average is recorded: other jobs share the machine, so compare the
two modes of one invocation rather than absolute figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import _common  # noqa: F401  (sys.path)
from _common import english_sentences, loadavg, machine, table, write_json

LAYERS, WIDTH = 24, 1024

#: mode -> (hidden-state indices kept (None: all), stop the pass after the deepest one)
MODES = {
    "3": ([0, LAYERS // 2, LAYERS], True),
    "all": (None, True),
    "half": ([0, LAYERS // 4, LAYERS // 2], True),
    "half-full": ([0, LAYERS // 4, LAYERS // 2], False),
}


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child(mode: str, n_tokens: int) -> dict:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import GPT2Config, GPT2Model, PreTrainedTokenizerFast

    from geomexp.representations.extraction import extract_tokens

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    sentences = english_sentences()
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=5000, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(sentences, trainer)
    eot = "<|endoftext|>"
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=eot, eos_token=eot, unk_token=eot)
    torch.manual_seed(0)
    config = GPT2Config(n_layer=LAYERS, n_embd=WIDTH, n_head=16, n_positions=512, vocab_size=len(tokenizer))
    model = GPT2Model(config).eval()
    after_build = rss_mib()
    layers, stop_early = MODES[mode]
    t0 = time.perf_counter()
    sample = extract_tokens(
        model,
        tokenizer,
        sentences,
        n_tokens=n_tokens,
        token_sampling="fewest_sentences",
        layers=layers,
        stop_early=stop_early,
        progress=False,
    )
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "mode": mode,
        "layers_kept": sample.hidden.shape[0],
        "blocks_run": LAYERS if layers is None or not stop_early else min(max(layers), LAYERS),
        "n_tokens": sample.n_tokens,
        "seconds": seconds,
        "tokens_per_s": sample.n_tokens / seconds,
        "rss_after_build_mib": after_build,
        "peak_rss_mib": peak,
        "extraction_added_mib": peak - after_build,
        "sample_mib": sample.hidden.nbytes / 2**20,
        "load_avg": loadavg(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-tokens", type=int, default=4000)
    ap.add_argument("--modes", default=",".join(MODES), help=f"comma-separated among {', '.join(MODES)}")
    ap.add_argument("--child", choices=list(MODES))
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.n_tokens)))
        return
    modes = [m for m in args.modes.split(",") if m]
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        sys.exit(f"--modes {args.modes!r}: unknown {unknown}; use a comma-separated list among {', '.join(MODES)}")
    rows = []
    for mode in modes:
        cmd = [sys.executable, __file__, "--child", mode, "--n-tokens", str(args.n_tokens)]
        out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        if out.returncode != 0:
            sys.exit(out.stderr[-3000:])
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    cols = ["mode", "layers_kept", "blocks_run", "n_tokens", "seconds", "tokens_per_s", "rss_after_build_mib"]
    print(table(rows, [*cols, "peak_rss_mib", "extraction_added_mib", "sample_mib", "load_avg"]))
    by = {r["mode"]: r for r in rows}
    for big, small in (("all", "3"), ("half-full", "half")):
        if big in by and small in by:
            a, b = by[big], by[small]
            print(
                f"{big}/{small}: extraction memory x{a['extraction_added_mib'] / b['extraction_added_mib']:.2f}, "
                f"sample x{a['sample_mib'] / b['sample_mib']:.2f}, seconds x{a['seconds'] / b['seconds']:.2f}"
            )
    path = write_json("decoder_layers", {"machine": machine(), "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
