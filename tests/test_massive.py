"""Massive activations: a planted huge entry is found at its token and dimension."""

import numpy as np
import pytest

from geomexp.analyses.massive import massive_analysis
from geomexp.metrics.massive import is_delimiter, massive_activations
from geomexp.representations.extraction import TokenSample

SENTENCES = [f"word{i} other{i}." for i in range(20)]  # tokens: "word<i>" (first), "other<i>", "." (delimiter)


def planted(n_sent=20, d=16, seed=0):
    """Rows of 20 three-token sentences (N = 60, d = 16), N(0, 1) entries."""
    spans, sids, pos, tids = [], [], [], []
    for s, text in enumerate(SENTENCES[:n_sent]):
        a, b = text.index(" "), text.index(".")
        for p, span in enumerate([(0, a), (a + 1, b), (b, b + 1)]):
            spans.append(span), sids.append(s), pos.append(p + 1), tids.append(100 * s + p)
    n = len(sids)
    X = np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)
    sample = TokenSample(
        hidden=X[None],
        token_ids=np.array(tids),
        sentence_ids=np.array(sids),
        positions=np.array(pos),
        word_ids=np.zeros(n, dtype=np.int64),
        char_spans=np.array(spans),
    )
    return X, sample


def test_planted_entries_are_found_at_their_token_and_dimension():
    X, sample = planted()
    X[3 * 7, 5] = 5000.0  # sentence 7's first token, dimension 5
    X[3 * 12 + 2, 9] = -3000.0  # sentence 12's ".", dimension 9
    out = massive_analysis(X, sample=sample, sentences=SENTENCES, top_k=2, plot=True)
    m, table = out.metrics, out.tables["massive.json"]
    median = np.median(np.abs(X))
    assert m["massive_top_dim"] == 5 and m["massive_max_abs"] == 5000.0
    assert m["massive_ratio"] == pytest.approx(5000.0 / median)
    assert m["n_massive"] == 2 and m["n_massive_dims"] == 2 and m["n_massive_tokens"] == 2
    first, second = table["top"][:2]
    assert (first["dim"], first["row"], first["token"], first["kind"]) == (5, 21, "word7", "first")
    assert (first["token_id"], first["sentence"], first["position"]) == (700, 7, 1)
    assert (second["dim"], second["value"], second["token"], second["kind"]) == (9, -3000.0, ".", "delimiter")
    assert m["massive_top_first_share"] == 0.5 and m["massive_top_delimiter_share"] == 0.5
    assert table["massive_per_dim"] == {5: 1, 9: 1}
    assert "massive_activations.png" in out.figures


def test_no_massive_entry_in_a_gaussian_matrix_and_the_thresholds_count():
    X, sample = planted()
    m = massive_analysis(X, sample=sample, sentences=SENTENCES, plot=False).metrics
    assert m["n_massive"] == 0 and m["massive_ratio"] < 10
    X[0, 0] = 50.0  # ~75x the median: massive with min_ratio=20, min_abs=10, not with the defaults
    assert massive_activations(X).massive_rows.size == 0
    r = massive_activations(X, min_ratio=20, min_abs=10)
    assert r.massive_rows.tolist() == [0] and r.massive_dims.tolist() == [0]


def test_delimiters():
    assert is_delimiter(".") and is_delimiter(" ,") and is_delimiter("\n") and is_delimiter("،")
    assert not is_delimiter("a.") and not is_delimiter("")
