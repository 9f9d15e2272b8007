"""Similarity between two models on matched words (issue 14, item 2c): word alignment across two
tokenizations on a hand-made case (sub-token means computed by hand), the depth mapping, the analysis
on planted representations, and the config check of the second model."""

import numpy as np
import pytest

from geomexp.analyses.model_similarity import model_similarity_analysis, same_depth
from geomexp.errors import ConfigError
from geomexp.experiment.model_pair import ModelPair, pick_sentences
from geomexp.metrics.similarity import procrustes_distance
from geomexp.representations.word_alignment import align_words, trimmed_spans, unit_means

SENTENCES = ("Unbelievable results, indeed.", "Go home now")
#: model A cuts like BERT (punctuation is a word of its own); its tokens: (sentence, word id, start, end)
A_TOKENS = [
    (0, 0, 0, 2),  # un
    (0, 0, 2, 12),  # ##believable
    (0, 1, 13, 20),  # results
    (0, 2, 20, 21),  # ,
    (0, 3, 22, 28),  # indeed
    (0, 4, 28, 29),  # .
    (1, 0, 0, 2),  # go
    (1, 1, 3, 7),  # home
    (1, 2, 8, 11),  # now
]
#: model B cuts like XLM-R (whitespace words, offsets with the leading space) and truncates sentence 1
#: in the middle of "home" (max_length)
B_TOKENS = [
    (0, 0, 0, 8),  # ▁Unbeliev
    (0, 0, 8, 12),  # able
    (0, 1, 12, 20),  # ▁results
    (0, 1, 20, 21),  # ,
    (0, 2, 21, 28),  # ▁indeed
    (0, 2, 28, 29),  # .
    (1, 0, 0, 2),  # ▁Go
    (1, 1, 2, 5),  # ▁ho  (truncated: "me" is cut off)
]


def meta(tokens):
    t = np.array(tokens, dtype=np.int64)
    return t[:, 0], t[:, 1], t[:, 2:]


def test_trimmed_spans_drop_the_leading_space_of_sentencepiece_offsets():
    sid, _, spans = meta(B_TOKENS)
    trimmed = trimmed_spans(SENTENCES, sid, spans)
    assert trimmed[2].tolist() == [13, 20] and trimmed[7].tolist() == [3, 5] and trimmed[0].tolist() == [0, 8]


def test_words_are_matched_by_character_span_and_truncated_tails_dropped():
    al = align_words(SENTENCES, *meta(A_TOKENS), *meta(B_TOKENS))
    words = [SENTENCES[s][a:b] for s, a, b in zip(al.sentence, al.start, al.end)]
    # "home" is half cut off in B and "now" missing: both dropped; "results," joins A's two words
    assert words == ["Unbelievable", "results,", "indeed.", "Go"]
    assert al.unit_a.tolist() == [0, 0, 1, 1, 2, 2, 3, -1, -1]
    assert al.unit_b.tolist() == [0, 0, 1, 1, 2, 2, 3, -1]
    assert al.n_exact == 2  # Unbelievable and Go are one word in both
    exact = align_words(SENTENCES, *meta(A_TOKENS), *meta(B_TOKENS), exact=True)
    assert [SENTENCES[s][a:b] for s, a, b in zip(exact.sentence, exact.start, exact.end)] == ["Unbelievable", "Go"]
    assert exact.unit_a.tolist() == [0, 0, -1, -1, -1, -1, 1, -1, -1]
    assert exact.unit_b.tolist() == [0, 0, -1, -1, -1, -1, 1, -1]


def test_word_vectors_are_the_means_of_their_sub_tokens_by_hand():
    XA = np.arange(9 * 2, dtype=np.float32).reshape(9, 2)  # row k = [2k, 2k + 1]
    XB = 10 * np.arange(8 * 3, dtype=np.float32).reshape(8, 3)
    al = align_words(SENTENCES, *meta(A_TOKENS), *meta(B_TOKENS))
    WA, WB = unit_means(XA, al.unit_a, al.n_units), unit_means(XB, al.unit_b, al.n_units)
    # unit 0 = A rows 0, 1 ("un", "##believable"); unit 1 = rows 2, 3; unit 2 = rows 4, 5; unit 3 = row 6
    np.testing.assert_array_equal(WA, [[1, 2], [5, 6], [9, 10], [12, 13]])
    # B: unit 0 = rows 0, 1 -> mean of [0,10,20] and [30,40,50]; unit 3 = row 6 alone
    np.testing.assert_array_equal(WB, [[15, 25, 35], [75, 85, 95], [135, 145, 155], [180, 190, 200]])
    assert WA.dtype == np.float64


def test_same_relative_depth_rounds_half_up():
    assert [same_depth(layer, 12, 6) for layer in (0, 1, 2, 3, 11, 12)] == [0, 1, 1, 2, 6, 6]
    assert [same_depth(layer, 6, 12) for layer in (0, 1, 6)] == [0, 2, 12]


def test_pick_sentences_keeps_all_or_a_seeded_subset():
    ids = np.array([5, 3, 5, 9, 1, 3])
    assert pick_sentences(ids, 10, 0).tolist() == [1, 3, 5, 9]
    sub = pick_sentences(ids, 2, 0)
    assert sub.size == 2 and set(sub) <= {1, 3, 5, 9} and list(sub) == sorted(sub)
    assert pick_sentences(ids, 2, 0).tolist() == sub.tolist()


def _pair(own: np.ndarray, other_layers: list[np.ndarray], n_units: int) -> ModelPair:
    """Tokens of unit u are rows u, u + n_units, ... of ``own`` (N, d); the other model's word vectors are
    the same means of ``other_layers``' rows (what the run prepares once)."""
    from geomexp.representations.word_alignment import WordAlignment

    n = own.shape[0]
    idx = np.arange(n) % n_units
    words = {o: unit_means(Y, idx, n_units) for o, Y in enumerate(other_layers)}
    al = WordAlignment(idx, idx, np.zeros(n_units, dtype=np.int64), np.arange(n_units), np.arange(n_units) + 1, 0)
    return ModelPair(own, words, al, "other", 4, len(other_layers) - 1, ("x" * (n_units + 1),))


def test_analysis_on_a_rotated_copy_gives_cka_one_at_the_matching_layer_only():
    rng = np.random.default_rng(0)
    own = (rng.standard_normal((600, 10)) @ rng.standard_normal((10, 10))).astype(np.float32)
    Q = np.linalg.qr(rng.standard_normal((10, 10)))[0]
    noise = [rng.standard_normal((600, 10)) for _ in range(3)]
    other = [noise[0], own @ Q, noise[1], noise[2]]  # 3 layers: its layer 1 is the rotated copy
    out = model_similarity_analysis(own, layer=2, model_pair=_pair(own, other, 200), n_permutations=5, all_layers=True)
    m = out.metrics
    assert m["msim_other_layer"] == 2 and m["msim_best_layer"] == 1  # 2 / 4 * 3 = 1.5 -> 2; the copy is layer 1
    assert m["msim_cka_best"] == pytest.approx(1, abs=1e-6)
    assert abs(m["msim_cka"]) < 0.05 and abs(m["msim_cka_last"]) < 0.05  # noise layers
    assert m["msim_n_words"] == 200 and out.tags == {"msim_other": "other"}
    table = out.tables["model_similarity.json"]
    assert table["other_layers"] == [0, 1, 2, 3] and table["cka_debiased"][1] == pytest.approx(1, abs=1e-6)
    units = np.arange(600) % 200
    expected = procrustes_distance(unit_means(own, units, 200), unit_means(other[3], units, 200))
    assert m["msim_procrustes_last"] == pytest.approx(expected) and 0.5 < expected < 2
    matched = model_similarity_analysis(own, layer=1, model_pair=_pair(own, other, 200), n_permutations=5)
    assert matched.metrics["msim_other_layer"] == 1  # 1 / 4 * 3 = 0.75 -> 1
    assert matched.metrics["msim_cka"] == pytest.approx(1, abs=1e-6)
    assert matched.metrics["msim_procrustes"] == pytest.approx(0, abs=1e-6)
    # a rotation keeps every cosine: the same neighbourhoods (Huh et al.'s mutual k-NN 1, CKNNA 1)
    assert matched.metrics["msim_mknn"] == 1.0 and matched.metrics["msim_cknna"] == pytest.approx(1, abs=1e-9)
    assert matched.metrics["msim_mknn_chance"] == pytest.approx(10 / 199)
    assert m["msim_mknn"] < 0.2  # against a noise layer: near chance
    assert abs(matched.metrics["msim_cka_shuffled"]) < 0.05
    quick = model_similarity_analysis(
        own, layer=1, model_pair=_pair(own, other, 200), n_permutations=0, procrustes=False
    )
    assert not any("procrustes" in k or "shuffled" in k for k in quick.metrics)
    assert quick.metrics["msim_cka"] == matched.metrics["msim_cka"]


def test_analysis_refuses_too_few_matched_words():
    own = np.random.default_rng(1).standard_normal((6, 3))
    with pytest.raises(ConfigError, match="only 3 words .* match .* raise analysis.model_similarity.n_sentences"):
        model_similarity_analysis(own, layer=0, model_pair=_pair(own, [own, own], 3))


def test_the_second_model_must_be_a_model_option(make_cfg):
    from geomexp.config.spec import RunSpec

    with pytest.raises(
        ConfigError,
        match=r"model 'bogus' has no model/bogus.yaml in conf/ or a hydra.searchpath folder; known models: \[.*'minilm'",
    ):
        RunSpec.from_config(make_cfg("analysis=model_similarity", "analysis.model_similarity.other=bogus"))
    with pytest.raises(ConfigError, match="analysis.model_similarity.n_permutations must be an integer >= 0"):
        RunSpec.from_config(make_cfg("analysis=model_similarity", "analysis.model_similarity.n_permutations=-1"))
