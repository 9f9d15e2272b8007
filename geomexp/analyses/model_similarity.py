"""Representation similarity between two MODELS on the same words: linear CKA (debiased), orthogonal
Procrustes distance, mutual k-NN and CKNNA of word vectors (mean of each word's sub-tokens) matched by
character span."""

from __future__ import annotations

import numpy as np

from geomexp.analyses.base import AnalysisResult, MetricInfo, ReportTable, analysis
from geomexp.errors import ConfigError
from geomexp.metrics.neighbours import cknna, mutual_knn, mutual_knn_chance
from geomexp.metrics.similarity import Centred, paired_similarity, similarities_to
from geomexp.representations.word_alignment import unit_means
from geomexp.validation import flag, integer, text

#: units listed in the per-layer table (the first ones, in sentence order)
EXAMPLE_UNITS = 20


def same_depth(layer: int, num_layers: int, other_num_layers: int) -> int:
    """The other model's layer at the same relative depth as ``layer`` of a model of ``num_layers``:
    ``layer / num_layers * other_num_layers`` rounded half up (0 -> 0, L -> L_other)."""
    return int(np.floor(layer * other_num_layers / num_layers + 0.5))


@analysis(
    "model_similarity",
    "Model similarity on matched words (CKA, Procrustes)",
    metrics=[
        MetricInfo(
            "msim_cka",
            "CKA with other model (same depth)",
            3,
            headline=True,
            description="debiased linear CKA of word vectors with the other model's layer at the same relative "
            "depth, round(l / L * L_other) (Kornblith et al. 2019)",
            atol=1e-6,
        ),
        MetricInfo(
            "msim_cka_last",
            "CKA with other model's last layer",
            3,
            headline=True,
            description="debiased linear CKA of word vectors with the other model's last layer",
            atol=1e-6,
        ),
        MetricInfo(
            "msim_cka_shuffled",
            "CKA with other model, shuffled words",
            3,
            description="the same-depth CKA with the words randomly re-paired (mean over n_permutations): chance, ~0",
            atol=1e-6,
        ),
        MetricInfo("msim_cka_biased", "CKA (biased) with other model (same depth)", 3, atol=1e-6),
        MetricInfo(
            "msim_procrustes",
            "Procrustes dist. to other model (same depth)",
            3,
            description="orthogonal Procrustes distance in [0, 2] with the same-depth layer (Ding et al. 2021)",
        ),
        MetricInfo("msim_procrustes_last", "Procrustes dist. to other model's last layer", 3),
        MetricInfo(
            "msim_cka_best",
            "best CKA over other model's layers",
            3,
            description="the highest debiased CKA with any layer of the other model (all_layers=true)",
            atol=1e-6,
        ),
        MetricInfo(
            "msim_best_layer",
            "other model's most similar layer",
            0,
            description="the other model's layer of msim_cka_best (0 = embeddings; all_layers=true)",
            kind="index",
        ),
        MetricInfo(
            "msim_mknn",
            "mutual k-NN with other model (same depth)",
            3,
            description="mean share of a word's k nearest words (cosine) that are also its neighbours in the other "
            "model's same-depth layer (Huh et al. 2024); chance msim_mknn_chance",
        ),
        MetricInfo(
            "msim_cknna",
            "CKNNA with other model (same depth)",
            3,
            description="CKA of the cosine kernels on the pairs that are k-NN in both (Huh et al. 2024)",
        ),
        MetricInfo("msim_mknn_chance", "mutual k-NN by chance", 4, description="k / (U - 1)", curve=False),
        MetricInfo("msim_other_layer", "other model's same-depth layer", 0, curve=False, kind="index"),
        MetricInfo("msim_n_words", "matched words", 0, description="word units compared", curve=False, kind="count"),
        MetricInfo(
            "msim_exact_share",
            "share of words cut alike",
            3,
            description="share of the units that are one word with the same span in both tokenizations",
            curve=False,
        ),
    ],
    needs=("layer", "model_pair"),
    tables=[
        ReportTable(
            "model_similarity",
            "Similarity between models on matched words: debiased linear CKA and Procrustes distance",
            (
                "msim_cka",
                "msim_cka_shuffled",
                "msim_cka_last",
                "msim_procrustes",
                "msim_cka_best",
                "msim_best_layer",
                "msim_mknn",
                "msim_cknna",
                "msim_n_words",
            ),
            description="word = mean of its sub-tokens, matched across the two tokenizers by character span; "
            "same depth: the other model's layer round(l / L * L_other); the other model is the run's `other`",
        )
    ],
    params={
        "other": text(),
        "n_sentences": integer(1),
        "exact_words": flag(),
        "n_permutations": integer(0),
        "procrustes": flag(),
        "all_layers": flag(),
        "k": integer(1),
    },
)
def model_similarity_analysis(
    X: np.ndarray,
    *,
    layer: int,
    model_pair,
    other: str = "minilm",
    n_sentences: int = 300,
    exact_words: bool = False,
    n_permutations: int = 3,
    procrustes: bool = True,
    all_layers: bool = False,
    k: int = 10,
    seed: int = 0,
    title: str = "",
) -> AnalysisResult:
    """Similarity of layer ``layer`` of the run's model to another model, on the same words.

    model_pair: the runner's ``ModelPair`` (``geomexp.experiment.model_pair``): up to ``n_sentences``
    of the run's sample's sentences encoded whole by both models, words matched by character span
    (``exact_words``: only words both tokenizers cut identically; else the coarsest segmentation both
    agree on, e.g. ``results,`` against ``results`` + ``,``). A word's vector is the mean of its
    sub-tokens: W_own (U, d) from the run's model at ``layer`` (in the analysed space), W_other (U, d')
    from the other model (``other``, a conf/model option; raw space).
    Compared with the other model's layer at the SAME RELATIVE DEPTH, ``round(layer / L * L_other)``
    (rounded half up; ``msim_other_layer``), and with its LAST layer:
    ``msim_cka`` / ``msim_cka_biased`` / ``msim_procrustes`` (same depth; debiased CKA, biased CKA,
    Procrustes distance in [0, 2]), ``msim_cka_last`` / ``msim_procrustes_last`` (last layer),
    ``msim_cka_shuffled`` (same depth, words randomly re-paired: mean over ``n_permutations``
    permutations seeded by ``seed``; absent if 0), ``msim_n_words`` (U), ``msim_exact_share``.
    ``procrustes=False`` leaves out the Procrustes keys (one d x d eigensolve each). With
    ``all_layers``: also ``msim_cka_best`` / ``msim_best_layer``, the other model's most similar layer
    by debiased CKA (one more O(U d d') product per layer of the other model). Neighbourhoods (Huh et al.
    2024), same depth: ``msim_mknn`` (mutual k-NN of the word vectors, ``k`` neighbours, at most U - 1),
    ``msim_cknna`` and the chance level ``msim_mknn_chance`` = k / (U - 1). Table
    ``model_similarity.json``: the layers compared, (with ``all_layers``) the CKA row against every
    layer of the other model, and the first matched words. ``X`` (the run's sample) is not used: words need
    whole sentences.
    """
    pair = model_pair
    al = pair.alignment
    if al.n_units < 4:
        raise ConfigError(
            f"model_similarity: only {al.n_units} words of {len(pair.sentences)} sentences match between "
            f"the run's model and {pair.other_name!r}; debiased CKA needs at least 4: raise "
            f"analysis.model_similarity.n_sentences or use exact_words=false"
        )
    if not 0 <= layer <= pair.num_layers:
        raise ConfigError(f"model_similarity: layer {layer} is not in 0..{pair.num_layers}")
    W_own = unit_means(pair.own, al.unit_a, al.n_units)
    W_other = pair.other_words
    matched = same_depth(layer, pair.num_layers, pair.other_num_layers)
    last = pair.other_num_layers
    own_terms = Centred(W_own, "the run's model's words")  # its terms serve both comparisons
    values = paired_similarity(
        own_terms,
        pair.other_centred(matched),
        n_permutations=n_permutations,
        seed=seed,
        procrustes=procrustes,
        procrustes_baseline=False,
    )
    at_last = (
        values if matched == last else paired_similarity(own_terms, pair.other_centred(last), procrustes=procrustes)
    )
    metrics = {
        "msim_cka": values["cka_debiased"],
        "msim_cka_biased": values["cka"],
        "msim_cka_last": at_last["cka_debiased"],
        "msim_other_layer": float(matched),
        "msim_n_words": float(al.n_units),
        "msim_exact_share": al.n_exact / al.n_units,
    }
    k_used = min(k, al.n_units - 1)
    metrics["msim_mknn"] = mutual_knn(W_own, W_other[matched], k_used)
    metrics["msim_cknna"] = cknna(W_own, W_other[matched], k_used)
    metrics["msim_mknn_chance"] = mutual_knn_chance(al.n_units, k_used)
    if n_permutations:
        metrics["msim_cka_shuffled"] = values["cka_debiased_shuffled"]
    if procrustes:
        metrics["msim_procrustes"] = values["procrustes"]
        metrics["msim_procrustes_last"] = at_last["procrustes"]
    table = {"other": pair.other_name, "layer": layer, "same_depth_layer": matched}
    if all_layers:
        other_layers = sorted(W_other)
        row = similarities_to(W_own, [W_other[o] for o in other_layers], procrustes=False)["cka_debiased"]
        best = int(np.argmax(row))
        metrics["msim_cka_best"] = float(row[best])
        metrics["msim_best_layer"] = float(other_layers[best])
        table.update(other_layers=other_layers, cka_debiased=row.round(8).tolist())
    words = [pair.sentences[s][a:b] for s, a, b in zip(al.sentence[:EXAMPLE_UNITS], al.start[:EXAMPLE_UNITS], al.end)]
    table.update(n_words=al.n_units, n_sentences=len(pair.sentences), first_words=words)
    return AnalysisResult(
        metrics=metrics, tables={"model_similarity.json": table}, tags={"msim_other": pair.other_name}
    )
