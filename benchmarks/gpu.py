"""Benchmark 8: extraction on an accelerator (or the CPU) at fp32 and bf16: tokens/s, peak memory,
and how far bf16 moves the geometry measures. One command on a GPU machine:

    python benchmarks/gpu.py                          # cuda if present: 3 models x fp32/bf16 x batch sizes,
                                                      # then `run.py -m experiment=offline_geometry layer=all`
    python benchmarks/gpu.py --device cpu --tiny      # the same code path on the CPU, tiny sizes (~1 min)

For each model (``bert_base`` = BERT-base-shaped random init, ``me5_small``, ``minilm``; see
extraction.py), dtype and batch size: ``extract_tokens`` over the first ``--sentences`` English
Wikipedia sentences (every token, all layers), best of ``--rounds``; tokens/s counts the tokens
fed; peak memory is ``torch.cuda.max_memory_allocated`` on CUDA and the process's peak RSS on the
CPU. Deviation of bf16 from fp32, on the same tokens at the last layer: I_Cos (all pairs), log
I_PC and IsoScore, as |bf16 - fp32| (absolute; relative for log I_PC's exp). The end-to-end part
times the 12-job sweep as a subprocess (``--no-e2e`` skips it; ``--tiny`` runs one language).
"""

from __future__ import annotations

import argparse
import resource
import time

import _common  # noqa: F401  (sys.path)
from _common import english_sentences, loadavg, machine, table, write_json
from extraction import load

DTYPES = ("float32", "bfloat16")


def peak_memory_mib(device) -> float:
    import torch

    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def geometry(X) -> dict:
    from geomexp.metrics.isoscore import isoscore
    from geomexp.metrics.isotropy import i_cos_exact, log_i_pc

    return {"i_cos_exact": i_cos_exact(X), "log_i_pc": log_i_pc(X), "isoscore": isoscore(X)}


def bench(name: str, dtype: str, batch_sizes, sentences, device, rounds: int) -> list[dict]:
    import torch

    from geomexp.representations.extraction import extract_tokens

    model, tokenizer, _ = load(name)
    model = model.to(device=device, dtype=getattr(torch, dtype)).eval()
    n_fed = sum(len(ids) for ids in tokenizer(sentences, truncation=True, max_length=512)["input_ids"])
    extract_tokens(model, tokenizer, sentences[:8], n_sentences=8, device=device, progress=False)  # warm-up
    rows = []
    for bs in batch_sizes:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
            torch.cuda.reset_peak_memory_stats(device)
        best, sample = float("inf"), None
        for _ in range(rounds):
            t0 = time.perf_counter()
            sample = extract_tokens(
                model, tokenizer, sentences, n_sentences=len(sentences), batch_size=bs, device=device, progress=False
            )
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            best = min(best, time.perf_counter() - t0)
        rows.append(
            {
                "model": name,
                "dtype": dtype,
                "batch": bs,
                "seconds": round(best, 3),
                "tok_per_s": round(n_fed / best),
                "peak_mib": round(peak_memory_mib(device)),
                "_last": sample.layer(sample.num_layers).astype("float64"),
            }
        )
    del model
    return rows


def end_to_end(tiny: bool) -> dict:
    """Wall time of the offline_geometry sweep (layer=all) as a subprocess, in a temp store and cache
    (``end_to_end.sweep``, benchmark 10)."""
    import tempfile
    from pathlib import Path

    from end_to_end import sweep

    with tempfile.TemporaryDirectory() as tmp:
        if tiny:
            row = sweep(Path(tmp), "empty", "minilm", "sw", extra=["data.n_tokens=500"])
        else:
            row = sweep(Path(tmp), "empty", None, None)
    command = "run.py -m experiment=offline_geometry layer=all" + (" (tiny)" if tiny else "")
    return {"command": command, "seconds": row["wall s"], "peak_rss_mib": row["peak RSS MiB"]}


def main() -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto", help="auto (cuda if present), cuda, cuda:1, cpu")
    ap.add_argument("--models", default="bert_base,me5_small,minilm")
    ap.add_argument("--batch-sizes", default="16,64,256")
    ap.add_argument("--sentences", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--tiny", action="store_true", help="minilm, 24 sentences, batch 8, one round, tiny sweep")
    ap.add_argument("--no-e2e", action="store_true", help="skip the end-to-end sweep")
    ap.add_argument("--name", default="gpu", help="results file: benchmarks/results/<name>.json")
    args = ap.parse_args()
    if args.tiny:
        args.models, args.batch_sizes, args.sentences, args.rounds = "minilm", "8", 24, 1
    auto = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(auto if args.device == "auto" else args.device)
    info = machine()
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    info["device"] = str(device)
    print(f"device {device} ({info.get('gpu', info['cpu'])}), torch {info['torch']}, load {loadavg()}")
    sentences = english_sentences(args.sentences)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    rows, deviation = [], []
    for name in args.models.split(","):
        by_dtype = {dtype: bench(name, dtype, batch_sizes, sentences, device, args.rounds) for dtype in DTYPES}
        for dtype in DTYPES:
            rows += by_dtype[dtype]
            print(table(by_dtype[dtype], ["model", "dtype", "batch", "seconds", "tok_per_s", "peak_mib"]), flush=True)
        ref, half = geometry(by_dtype["float32"][0]["_last"]), geometry(by_dtype["bfloat16"][0]["_last"])
        speed = max(r["tok_per_s"] for r in by_dtype["bfloat16"]) / max(r["tok_per_s"] for r in by_dtype["float32"])
        deviation.append(
            {
                "model": name,
                "bf16/fp32 tok/s": round(speed, 2),
                **{f"{k} fp32": v for k, v in ref.items()},
                "d i_cos_exact": abs(half["i_cos_exact"] - ref["i_cos_exact"]),
                "rel d i_pc": abs(half["log_i_pc"] - ref["log_i_pc"]),  # |log ratio| ~ relative change of I_PC
                "d isoscore": abs(half["isoscore"] - ref["isoscore"]),
            }
        )
    print("\nbf16 against fp32 (same tokens, last layer):")
    print(table(deviation, list(deviation[0])))
    e2e = None if args.no_e2e else end_to_end(args.tiny)
    if e2e:
        print(f"\nend to end: {e2e['command']}: {e2e['seconds']} s")
    for r in rows:
        r.pop("_last")
    info["loadavg_1min_at_end"] = loadavg()
    out = write_json(args.name, {"machine": info, "args": vars(args), "rows": rows, "bf16": deviation, "e2e": e2e})
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
