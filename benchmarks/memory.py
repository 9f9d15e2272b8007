"""Benchmark 5: peak memory (max RSS) of a run as the corpus grows 1x -> 5x -> 10x, sample fixed at 10,000 tokens.

    python benchmarks/memory.py              # ~2 min
    python benchmarks/memory.py --legacy     # also with the pre-change extractor (before/after)

Corpora: the paper's English Wikipedia sentences (4,951) written 1x, 5x and 10x over to text
files (one sentence a line). Each is a real ``python run.py model=me5_small lang=en
data.corpus=text data.text_file=<file> data.n_tokens=10000`` subprocess with an empty cache
and a temp SQLite store; its peak resident set size is read from ``os.wait4`` (ru_maxrss of
that child), its wall time around it. ``--legacy`` runs the same through
``benchmarks/_run_legacy.py`` (run.py with the extractor as it was before this issue, which
tokenized the whole corpus and kept every sentence's token ids, offsets and word ids).
Target: max RSS at 10x within 10 % of 1x.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (sys.path)
from _common import HERE, ROOT, english_sentences, loadavg, machine, run_env, table, write_json


def run_rss(cmd: list[str], env: dict) -> tuple[float, float]:
    """(max RSS in MiB, wall seconds) of the subprocess ``cmd``."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{out.decode(errors='replace')[-3000:]}")
    return usage.ru_maxrss / 1024, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--factors", default="1,5,10")
    ap.add_argument("--model", default="me5_small")
    ap.add_argument("--legacy", action="store_true", help="also run with the pre-change extractor")
    args = ap.parse_args()
    info = machine()
    print(
        f"machine: {info['cpu']}, {info['cpus']} CPUs, {info.get('memory_gib')} GiB, load {info['loadavg_1min_at_start']}"
    )
    tmp = Path(tempfile.mkdtemp(prefix="geomexp_bench_mem_"))
    env = run_env()
    sentences = [" ".join(s.split()) for s in english_sentences()]
    variants = {"now": [sys.executable, "run.py"]}
    if args.legacy:
        variants["before"] = [sys.executable, str(HERE / "_run_legacy.py")]
    rows = []
    for factor in (int(f) for f in args.factors.split(",")):
        text = tmp / f"en_x{factor}.txt"
        text.write_text("\n".join(sentences * factor) + "\n", encoding="utf-8")
        for variant, prefix in variants.items():
            cmd = [
                *prefix,
                f"model={args.model}",
                "lang=en",
                "data.corpus=text",
                f"data.text_file={text}",
                "data.n_tokens=10000",
                f"paths.cache_dir={tmp / f'cache_{variant}_{factor}'}",
                f"tracking.uri=sqlite:///{tmp / 'mlflow.db'}",
                "progress=false",
                f"hydra.run.dir={tmp / 'out' / f'{variant}_{factor}'}",
            ]
            rss, wall = run_rss(cmd, env)
            rows.append(
                {
                    "code": variant,
                    "corpus": f"{factor}x",
                    "sentences": len(sentences) * factor,
                    "file_MB": text.stat().st_size / 1e6,
                    "max_rss_MiB": rss,
                    "wall_s": wall,
                }
            )
            print(
                f"  {variant:<6} {factor:>2}x ({len(sentences) * factor} sentences): max RSS {rss:.0f} MiB, {wall:.1f} s",
                flush=True,
            )
    for r in rows:
        base = next(b for b in rows if b["code"] == r["code"] and b["corpus"] == rows[0]["corpus"])
        r["vs_1x_%"] = 100 * (r["max_rss_MiB"] / base["max_rss_MiB"] - 1)
    print()
    print(table(rows, ["code", "corpus", "sentences", "file_MB", "max_rss_MiB", "vs_1x_%", "wall_s"]))
    print("target: 10x within 10 % of 1x")
    info["loadavg_1min_at_end"] = loadavg()
    path = write_json("memory", {"machine": info, "args": vars(args), "results": rows})
    print(f"written {path}")
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
