"""Contextuality (Ethayarajh 2019) on planted cases: identical occurrences, random vectors,
hand-checked values, and the analysis with a TokenSample."""

import numpy as np
import pytest

from geomexp.analyses.contextuality import contextuality_analysis
from geomexp.errors import ConfigError
from geomexp.metrics.contextuality import contextuality, max_explainable_variance
from geomexp.representations.extraction import TokenSample
from geomexp.validation import InvalidEmbeddingsError


def labelled(n_words=40, per_word=6, per_sentence=8, d=32, seed=0, offset=2.0):
    """Random anisotropic rows (a common offset), word and sentence labels."""
    rng = np.random.default_rng(seed)
    n = n_words * per_word
    X = rng.standard_normal((n, d)) + offset
    words = np.repeat(np.arange(n_words), per_word)
    rng.shuffle(words)
    sentences = np.arange(n) // per_sentence
    return X, words, sentences


def test_identical_occurrences_give_self_similarity_one_and_mev_one():
    X, words, sentences = labelled()
    rng = np.random.default_rng(1)
    prototypes = rng.standard_normal((40, X.shape[1]))
    X = prototypes[words] * rng.uniform(0.5, 2.0, size=(X.shape[0], 1))  # each word: one direction, any length
    res = contextuality(X, words, sentences)
    np.testing.assert_allclose(res.self_sim, 1.0, atol=1e-12)
    np.testing.assert_allclose(res.mev, 1.0, atol=1e-12)
    assert res.words.size == 40 and res.counts.sum() == X.shape[0]


def test_random_vectors_are_about_zero_after_the_anisotropy_adjustment():
    X, words, sentences = labelled(n_words=100, per_word=8, d=64, offset=1.5)
    s = contextuality(X, words, sentences, seed=0).summary()
    assert s["ctx_baseline_cos"] > 0.5  # the offset makes every raw similarity large ...
    assert s["ctx_self_sim"] > 0.5 and s["ctx_mev"] > 0.5
    assert abs(s["ctx_self_sim_adj"]) < 0.02  # ... and the adjustment takes it away
    assert abs(s["ctx_mev_adj"]) < 0.03
    assert s["ctx_n_words"] == 100 and s["ctx_n_occurrences"] == 800 and s["ctx_n_sentences"] == 100


def test_hand_checked_values():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0]])
    words = np.array([7, 7, 3, 3])
    sentences = np.array([0, 0, 1, 1])
    res = contextuality(X, words, sentences, min_occurrences=2)
    assert res.words.tolist() == [3, 7]
    np.testing.assert_allclose(res.self_sim, [np.sqrt(0.5), 0.0])
    np.testing.assert_allclose(res.mev, [max_explainable_variance(X[[2, 3]]), 0.5])
    # sentence 0: mean (0.5, 0.5), each row at 45 degrees to it
    assert res.intra_sim[0] == pytest.approx(np.sqrt(0.5))
    cos = X @ X.T / np.outer(np.linalg.norm(X, axis=1), np.linalg.norm(X, axis=1))
    assert res.baseline_cos == pytest.approx((cos.sum() - 4) / 12)


def test_min_occurrences_filters_words_and_bad_input_is_named():
    X, words, sentences = labelled()
    assert contextuality(X, words, sentences, min_occurrences=6).words.size == 40
    with pytest.raises(InvalidEmbeddingsError, match="no word occurs min_occurrences=7 times"):
        contextuality(X, words, sentences, min_occurrences=7)
    with pytest.raises(InvalidEmbeddingsError, match="min_occurrences must be an integer >= 2; got 1"):
        contextuality(X, words, sentences, min_occurrences=1)
    with pytest.raises(InvalidEmbeddingsError, match=r"word_ids must have shape \(240,\)"):
        contextuality(X, words[:5], sentences)


def test_analysis_uses_token_ids_as_words_and_names_them():
    X, words, sentences = labelled(n_words=10, per_word=6, per_sentence=4, d=8)
    n = X.shape[0]
    texts = [" ".join(f"w{words[i]}" for i in range(s * 4, s * 4 + 4)) for s in range(n // 4)]
    spans = []
    for text in texts:
        start = 0
        for tok in text.split():
            spans.append((start, start + len(tok)))
            start += len(tok) + 1
    sample = TokenSample(
        hidden=X[None].astype(np.float32),
        token_ids=words + 100,
        sentence_ids=sentences,
        positions=np.arange(n) % 4,
        word_ids=np.arange(n) % 4,
        char_spans=np.array(spans),
    )
    out = contextuality_analysis(X, sample=sample, sentences=texts, title="t", plot=True)
    assert out.metrics["ctx_n_words"] == 10 and out.metrics["ctx_n_sentences"] == n // 4
    listed = out.tables["words.json"]["words"]
    assert {w["text"] for w in listed} == {f"w{i}" for i in range(10)}
    assert all(w["token_id"] == int(w["text"][1:]) + 100 and w["count"] == 6 for w in listed)
    assert set(out.figures) == {"self_similarity.png"}
    with pytest.raises(ConfigError, match="analysis.contextuality.min_occurrences must be an integer >= 2; got 0"):
        contextuality_analysis(X, sample=sample, sentences=texts, min_occurrences=0)
