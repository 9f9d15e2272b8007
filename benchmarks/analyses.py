"""Benchmark 3: seconds per analysis on a 10,000 x 768 float32 matrix (median of 3, after one warm-up call).

    python benchmarks/analyses.py            # ~30 s, then the issue-14 analyses (~1-2 min)
    python benchmarks/analyses.py --n 20000 --d 1024
    python benchmarks/analyses.py --only geometry   # only the issue-14 analyses
    python benchmarks/analyses.py --only beyond     # only the issue-28 analyses (neighbours, spectral, cca, rsa, gride, overlap)

Issue 14 (contextuality, layer similarity, intrinsic dimension, model and language similarity): the
same 10,000 x 768 matrix, with 13 "layers" for the layer x layer similarity (the matrix plus a growing
random rotation and noise per layer; also the "other model" of the model similarity, one token per
word) and, for contextuality, word and sentence labels drawn like a corpus sample (Zipf-distributed
token ids, sentences of 25 tokens). The word alignment aligns two synthetic tokenizations of 10,000
words (sub-token cuts and punctuation differ); the language similarity takes 250 rows as STS pairs.

The matrix is synthetic and seeded, shaped like contextual embeddings: Gaussian rows plus a
common offset and one large "rogue" dimension (the timings do not depend on the values; the
offset keeps I_PC away from 0 so the log-space path is exercised). Every function gets the
float32 matrix, as the pipeline gives it. ``i_pc (before)`` is the pre-change implementation
(``benchmarks/legacy_metrics.py``), timed on the same matrix; the relative difference of the
two values is printed (must stay at rounding level, ~1e-15).
"""

from __future__ import annotations

import argparse

import _common  # noqa: F401  (sys.path)
import numpy as np
from _common import loadavg, machine, table, timeit, write_json


def make_matrix(n: int, d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * 0.5 + rng.standard_normal(d) * 0.3
    X[:, 7] += 6.0  # a rogue dimension
    return X.astype(np.float32)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--d", type=int, default=768)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--layers", type=int, default=13, help="layers of the layer x layer similarity")
    ap.add_argument("--only", choices=["all", "geometry", "beyond"], default="all")
    args = ap.parse_args()
    if args.only == "geometry":
        geometry(args)
        return
    if args.only == "beyond":
        beyond(args)
        return

    from legacy_metrics import legacy_i_pc

    from geomexp.metrics import cosine_contributions, i_cos, i_cos_exact, i_pc, isoscore, outlier_dimensions

    X = make_matrix(args.n, args.d)
    info = machine()
    print(f"machine: {info['cpu']}, {info['cpus']} CPUs, numpy {info['numpy']}, load {info['loadavg_1min_at_start']}")
    print(f"X: {X.shape} {X.dtype}; median of {args.repeat} runs after 1 warm-up; target < 1 s each\n")
    cases = {
        "i_cos (1000 pairs)": lambda: i_cos(X, n_pairs=1000, seed=0),
        "i_cos_exact": lambda: i_cos_exact(X),
        "i_pc (both signs)": lambda: i_pc(X),
        "i_pc (single sign)": lambda: i_pc(X, signs="single"),
        "i_pc (before, both signs)": lambda: legacy_i_pc(X),
        "cosine_contributions (1000 pairs)": lambda: cosine_contributions(X, n_pairs=1000, seed=0),
        "cosine_contributions (exact)": lambda: cosine_contributions(X, exact=True),
        "outlier_dimensions": lambda: outlier_dimensions(X),
        "isoscore": lambda: isoscore(X),
    }
    rows = []
    for name, fn in cases.items():
        t = timeit(fn, repeat=args.repeat)
        rows.append(
            {
                "analysis": name,
                "median_s": t["median_s"],
                "min_s": t["min_s"],
                "runs_s": t["runs_s"],
                "target_met": t["median_s"] < 1.0,
            }
        )
        print(f"  {name:<36} {t['median_s']:.3f} s", flush=True)
    new, old = i_pc(X), legacy_i_pc(X)
    rel = abs(new - old) / abs(old)
    before = next(r for r in rows if r["analysis"] == "i_pc (before, both signs)")["median_s"]
    after = next(r for r in rows if r["analysis"] == "i_pc (both signs)")["median_s"]
    print()
    print(
        table(
            [{k: r[k] for k in ("analysis", "median_s", "min_s", "target_met")} for r in rows],
            ["analysis", "median_s", "min_s", "target_met"],
        )
    )
    print(
        f"\ni_pc: {before:.3f} s before -> {after:.3f} s now ({before / after:.2f}x); value {new!r} vs {old!r}, relative difference {rel:.1e}"
    )
    info["loadavg_1min_at_end"] = loadavg()
    path = write_json(
        "analyses",
        {
            "machine": info,
            "args": vars(args),
            "results": rows,
            "i_pc": {"now": new, "before": old, "relative_difference": rel, "speedup": before / after},
        },
    )
    print(f"written {path}")
    geometry(args)
    beyond(args)


def time_cases(cases: dict, repeat: int, width: int) -> list[dict]:
    """Time each ``name: (fn, target seconds or None)`` (median of ``repeat``), printing as it goes; the rows."""
    rows = []
    for name, (fn, target) in cases.items():
        t = timeit(fn, repeat=repeat)
        met = None if target is None else t["median_s"] < target
        rows.append({"analysis": name, "median_s": t["median_s"], "min_s": t["min_s"], "target_s": target, "met": met})
        print(
            f"  {name:<{width}} {t['median_s']:.3f} s" + ("" if target is None else f"  (target < {target:g} s)"),
            flush=True,
        )
    return rows


def layer_stack(X: np.ndarray, n_layers: int, seed: int = 0) -> dict[int, np.ndarray]:
    """``{layer: (N, d)}``: X, then each layer the previous one rotated a little, plus noise (float32)."""
    rng = np.random.default_rng(seed)
    d = X.shape[1]
    layers, cur = {0: X}, X.astype(np.float64)
    for i in range(1, n_layers):
        Q = np.linalg.qr(np.eye(d) + 0.1 * rng.standard_normal((d, d)))[0]
        cur = cur @ Q + 0.2 * rng.standard_normal(cur.shape)
        layers[i] = cur.astype(np.float32)
    return layers


def corpus_labels(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(token ids, sentence ids) of ``n`` rows: Zipf-distributed ids over 30,000 types, 25 tokens a sentence."""
    rng = np.random.default_rng(seed)
    tokens = np.minimum(rng.zipf(1.2, size=n), 30_000).astype(np.int64)
    return tokens, np.arange(n, dtype=np.int64) // 25


def word_alignment_case(n_words: int, seed: int = 0):
    """A callable aligning two tokenizations of ``n_words`` words (sentences of 25 words): model A cuts each
    word in 1-3 sub-tokens, model B in 1-2 with SentencePiece-style offsets (leading space) and punctuation
    glued to the word before it; then the word means of a (tokens, 768) matrix of each model."""
    from geomexp.representations.word_alignment import align_words, unit_means

    rng = np.random.default_rng(seed)
    n_sent = max(1, n_words // 25)
    sentences = [
        " ".join(f"w{rng.integers(10**5)}{',' if k % 7 == 6 else ''}" for k in range(25)) for _ in range(n_sent)
    ]

    def tokens(glue_punct: bool, max_pieces: int, leading_space: bool):
        sid, wid, spans = [], [], []
        for s, text in enumerate(sentences):
            pos, w = 0, 0
            for word in text.split(" "):
                parts = [word[:-1], word[-1]] if (word.endswith(",") and not glue_punct) else [word]
                for part in parts:
                    cuts = np.sort(
                        rng.choice(np.arange(1, len(part)), size=min(len(part) - 1, max_pieces - 1), replace=False)
                    )
                    edges = [0, *cuts.tolist(), len(part)]
                    for i in range(len(edges) - 1):
                        a = pos + edges[i] - (1 if (leading_space and i == 0 and pos > 0) else 0)
                        sid.append(s), wid.append(w), spans.append((a, pos + edges[i + 1]))
                    pos += len(part)
                    w += 1 if not glue_punct or part is parts[-1] else 0
                pos += 1
        return np.array(sid), np.array(wid), np.array(spans)

    a, b = tokens(False, 3, False), tokens(True, 2, True)
    XA = rng.standard_normal((a[0].size, 768)).astype(np.float32)
    XB = rng.standard_normal((b[0].size, 768)).astype(np.float32)

    def run():
        al = align_words(sentences, *a, *b)
        return unit_means(XA, al.unit_a, al.n_units), unit_means(XB, al.unit_b, al.n_units)

    return run


def model_pair_case(X: np.ndarray, layers: dict):
    """A ``ModelPair`` of ``X`` (N words of one token each) and an 'other model' whose word vectors at its
    layers are ``layers`` (what a run computes once, before the per-layer calls)."""
    from geomexp.experiment.model_pair import ModelPair
    from geomexp.representations.word_alignment import WordAlignment

    n = X.shape[0]
    ids = np.arange(n, dtype=np.int64)
    words = {i: Y.astype(np.float64) for i, Y in layers.items()}
    alignment = WordAlignment(ids, ids, ids // 25, ids % 25, ids % 25 + 1, n)
    return ModelPair(X, words, alignment, "other", len(layers) - 1, len(layers) - 1, ("x" * 26,) * (n // 25 + 1))


def geometry(args) -> None:
    """Issue 14: each new analysis's computation on the benchmark matrix (median of ``repeat`` runs)."""
    from geomexp.metrics.contextuality import contextuality
    from geomexp.metrics.intrinsic import effective_rank, knn_distances, mle_dimension, spectrum, twonn, unique_rows
    from geomexp.metrics.similarity import (
        linear_cka,
        paired_similarity,
        procrustes_distance,
        similarities_to,
        similarity_matrices,
    )

    X = make_matrix(args.n, args.d)
    layers = layer_stack(X, args.layers)
    tokens, sentences = corpus_labels(args.n)
    info = machine()
    print(f"\nissue 14 analyses; machine: {info['cpu']}, {info['cpus']} CPUs, load {info['loadavg_1min_at_start']}")
    print(
        f"X: {X.shape}; {args.layers} layers for the similarity matrix; median of {args.repeat} runs after 1 warm-up\n"
    )

    def intrinsic_all():
        points, _ = unique_rows(X)
        T = knn_distances(points, 20)
        lam = spectrum(X)
        return twonn(points, distances=T), mle_dimension(points, distances=T), effective_rank(variances=lam)

    def similarity_pair():  # what the analysis computes per layer: CKA/Procrustes with the previous, first, last layer
        return similarities_to(layers[6], [layers[0], layers[5], layers[args.layers - 1]])

    word_case = word_alignment_case(args.n)
    pair = model_pair_case(X, layers)
    pairs_a, pairs_b = X[:250], layers[6][:250]  # an STS track: 250 sentence pairs

    def model_similarity_layer(all_layers: bool = False):  # what analysis=model_similarity computes per layer
        from geomexp.analyses.model_similarity import model_similarity_analysis

        # as at a run's layer after its first: the other model's last layer is prepared (once per run),
        # its same-depth layer is not (each layer of the run meets a different one)
        pair.other_terms.pop(6, None)
        if all_layers:
            pair.other_terms.clear()
        return model_similarity_analysis(X, layer=6, model_pair=pair, n_permutations=3, all_layers=all_layers)

    cases = {
        "contextuality (self-sim, intra-sim, MEV + baselines)": (lambda: contextuality(X, tokens, sentences), 1.0),
        "intrinsic: kNN (FAISS, k=20) + float64 re-rank": (lambda: knn_distances(unique_rows(X)[0], 20), None),
        "intrinsic: spectrum (erank, PR)": (lambda: effective_rank(X), None),
        "intrinsic (whole analysis: TwoNN + MLE + spectrum)": (intrinsic_all, 1.0),
        "linear_cka (debiased), one pair": (lambda: linear_cka(layers[0], layers[1], debiased=True), None),
        "procrustes_distance, one pair": (lambda: procrustes_distance(layers[0], layers[1]), None),
        "similarity per layer (to prev, first, last layer)": (similarity_pair, 1.0),
        f"similarity matrix {args.layers} layers, CKA only": (
            lambda: similarity_matrices(list(layers.values()), procrustes=False),
            3.0,
        ),
        f"similarity matrix {args.layers} layers, CKA + Procrustes": (
            lambda: similarity_matrices(list(layers.values())),
            3.0,
        ),
        f"word alignment of two tokenizations ({args.n:,} words) + word means": (word_case, 1.0),
        f"model similarity per layer ({args.n:,} words: same depth + last, 3 shuffles)": (
            model_similarity_layer,
            1.0,
        ),
        f"model similarity per layer, all_layers (+ CKA with {args.layers} layers)": (
            lambda: model_similarity_layer(all_layers=True),
            3.0,
        ),
        "language similarity per layer (250 STS pairs, 10 shuffles)": (
            lambda: paired_similarity(pairs_a, pairs_b, n_permutations=10),
            1.0,
        ),
    }
    rows = time_cases(cases, args.repeat, width=58)
    print()
    print(table(rows, ["analysis", "median_s", "min_s", "target_s", "met"]))
    info["loadavg_1min_at_end"] = loadavg()
    path = write_json("analyses_geometry", {"machine": info, "args": vars(args), "results": rows})
    print(f"written {path}")


def beyond(args) -> None:
    """Issue 28: the neighbourhood and spectral measures on the benchmark matrix (median of ``repeat`` runs)."""
    from geomexp.analyses.neighbours import neighbours_analysis
    from geomexp.analyses.spectral import spectral_analysis
    from geomexp.metrics import memo, neighbours

    X = make_matrix(args.n, args.d)
    layers = layer_stack(X, 3)
    last = {0: layers[0], 1: layers[1], 2: layers[2]}
    info = machine()
    print(f"\nissue 28 analyses; machine: {info['cpu']}, {info['cpus']} CPUs, load {info['loadavg_1min_at_start']}")

    def knn_fresh():
        memo.forget()
        return neighbours.cosine_knn(X, 10)

    def neighbours_layer():  # at a run's layer: its own neighbours are new, the previous and last layer's known
        memo.forget(layers[1])
        neighbours.cosine_knn(layers[0], 10), neighbours.cosine_knn(layers[2], 10)  # found once, then remembered
        return neighbours_analysis(layers[1], layer=1, layer_reps=last, k=10)

    def neighbours_known():  # every layer's neighbours known: the overlaps and CKNNA's sparse kernels only
        return neighbours_analysis(layers[1], layer=1, layer_reps=last, k=10)

    from geomexp.analyses.cca import cca_analysis
    from geomexp.analyses.rsa import rsa_analysis

    def cca_layer():  # at a run's layer: its own basis is new, the previous and last layer's known
        memo.forget(layers[1])
        return cca_analysis(layers[1], layer=1, layer_reps=last)

    from types import SimpleNamespace

    from geomexp.analyses.gride import gride_analysis
    from geomexp.analyses.overlap import neighbourhood_overlap_analysis

    zipf = SimpleNamespace(token_ids=np.random.default_rng(1).zipf(1.3, size=X.shape[0]) % 30_000)

    def overlap_layer():  # at a run's layer: its k-NN new
        memo.forget(X)
        return neighbourhood_overlap_analysis(X, sample=zipf, k=10)

    cases = {
        "cosine k-NN (FAISS, k=10) + float64 re-rank": (knn_fresh, None),
        "gride per layer (n1=4; exact 64-NN, 5 scales)": (lambda: gride_analysis(X, n1=4, max_n2=64), 1.0),
        "gride per layer, max_n2=8 (exact 8-NN, 3 scales)": (lambda: gride_analysis(X, n1=4, max_n2=8), 1.0),
        "neighbourhood overlap per layer (its k-NN new, k=10)": (overlap_layer, 1.0),
        "cca per layer (its basis new; SVCCA + PWCCA with prev, last)": (cca_layer, 1.0),
        "neighbours per layer (its k-NN new; mutual k-NN + CKNNA with prev, last)": (neighbours_layer, 1.0),
        "neighbours per layer, every k-NN known": (neighbours_known, None),
        "spectral (RankMe + alpha-ReQ)": (lambda: spectral_analysis(X), 1.0),
        "rsa per layer (1,000 tokens, with prev, last)": (
            lambda: rsa_analysis(layers[1], layer=1, layer_reps=last),
            1.0,
        ),
    }
    rows = time_cases(cases, args.repeat, width=72)
    print()
    print(table(rows, ["analysis", "median_s", "min_s", "target_s", "met"]))
    info["loadavg_1min_at_end"] = loadavg()
    print(f"written {write_json('analyses_beyond', {'machine': info, 'args': vars(args), 'results': rows})}")


if __name__ == "__main__":
    main()
