"""Similarity between languages on aligned units (issue 14, item 2b): the paired-similarity metric's known
answers, and the task on a hand-made STS track (a stand-in for ``Representations`` serving fixed token
vectors: the task's own pooling, filtering and baseline are what is tested)."""

import numpy as np
import pytest

from geomexp.errors import ConfigError
from geomexp.metrics.similarity import linear_cka, paired_similarity, procrustes_distance
from geomexp.representations.extraction import TokenSample
from geomexp.tasks.language_similarity import LanguageSimilarityTask
from geomexp.tasks.sts.data import StsTrack


def test_identical_sides_give_cka_one_and_procrustes_zero():
    X = np.random.default_rng(0).standard_normal((120, 16))
    v = paired_similarity(X, X.copy())
    assert v["cka_debiased"] == pytest.approx(1, abs=1e-12) and v["cka"] == pytest.approx(1, abs=1e-12)
    assert v["procrustes"] == pytest.approx(0, abs=1e-10)
    assert set(v) == {"cka_debiased", "cka", "procrustes"}  # no baseline asked for


def test_rotated_sides_give_cka_one_and_shuffled_pairs_near_zero():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((250, 24)) @ rng.standard_normal((24, 24))  # anisotropic, as real sentence vectors
    Q = np.linalg.qr(rng.standard_normal((24, 24)))[0]
    v = paired_similarity(X, 3 * X @ Q + 2, n_permutations=20, seed=0)
    assert v["cka_debiased"] == pytest.approx(1, abs=1e-10) and v["procrustes"] == pytest.approx(0, abs=1e-9)
    assert abs(v["cka_debiased_shuffled"]) < 0.02  # pairs broken: chance level
    assert v["cka_shuffled"] > v["cka_debiased_shuffled"] + 0.02  # the biased estimator's offset
    assert 0.5 < v["procrustes_shuffled"] <= 2
    # the baseline is the mean over the seeded permutations, and reproducible
    rng2 = np.random.default_rng(0)
    perms = [rng2.permutation(250) for _ in range(20)]
    Y = 3 * X @ Q + 2
    assert v["cka_debiased_shuffled"] == pytest.approx(np.mean([linear_cka(X, Y[p], debiased=True) for p in perms]))
    assert v["procrustes_shuffled"] == pytest.approx(np.mean([procrustes_distance(X, Y[p]) for p in perms]))


class TrackReps:
    """What the task asks of ``Representations``: a track (from its sources), and the token vectors of a
    sentence list."""

    def __init__(self, track: StsTrack, tokens: dict):
        self.track, self.tokens, self.encoded = track, tokens, []
        self.sources = self  # DataSources' one method the task uses

    def sts_track(self, track):
        return self.track

    def encode(self, sentences):
        self.encoded.append(tuple(sentences))
        return self.tokens[tuple(sentences)]


def _tokens(vectors: list[np.ndarray]) -> TokenSample:
    """A one-layer TokenSample of sentences whose token rows are ``vectors[i]`` (n_i, d)."""
    X = np.concatenate(vectors).astype(np.float32)
    sid = np.concatenate([np.full(len(v), i) for i, v in enumerate(vectors)])
    pos = np.concatenate([np.arange(1, len(v) + 1) for v in vectors])
    n = X.shape[0]
    return TokenSample(
        hidden=X[None],
        token_ids=np.zeros(n, dtype=np.int64),
        sentence_ids=sid,
        positions=pos,
        word_ids=pos - 1,
        char_spans=np.zeros((n, 2), dtype=np.int64),
    )


@pytest.fixture
def rotated_track():
    """40 pairs; side B's tokens are side A's rotated by an orthogonal Q (plus per-pair noise where gold < 3)."""
    rng = np.random.default_rng(2)
    d, n = 12, 40
    Q = np.linalg.qr(rng.standard_normal((d, d)))[0]
    gold = np.where(np.arange(n) % 2 == 0, 5.0, 1.0)
    side_a = [rng.standard_normal((int(rng.integers(2, 6)), d)) + 1 for _ in range(n)]
    side_b = [a @ Q + (0 if g >= 3 else 2 * rng.standard_normal(a.shape)) for a, g in zip(side_a, gold)]
    sa, sb = tuple(f"a{i}" for i in range(n)), tuple(f"b{i}" for i in range(n))
    track = StsTrack("4a", "es-en", "es", "en", sa, sb, gold)
    return TrackReps(track, {sa: _tokens(side_a), sb: _tokens(side_b)})


def test_task_on_a_rotated_track_gives_cka_one_on_the_aligned_pairs(rotated_track):
    out = LanguageSimilarityTask(track="4a", min_gold=4, n_permutations=5).evaluate(rotated_track, 0, seed=0)
    m = out.metrics
    assert m["lsim_n_pairs"] == 20  # gold 5 only: the exactly rotated pairs
    assert m["lsim_cka"] == pytest.approx(1, abs=1e-6) and m["lsim_procrustes"] == pytest.approx(0, abs=1e-6)
    assert m["lsim_cka_shuffled"] < 0.5
    # the rotation keeps every cosine between sentences: the same neighbourhoods on both sides
    assert m["lsim_mknn"] == 1.0 and m["lsim_cknna"] == pytest.approx(1, abs=1e-9)
    assert m["lsim_mknn_chance"] == pytest.approx(10 / 19)
    assert out.tags == {"lsim_track": "4a", "lsim_pair": "es-en"}
    every = LanguageSimilarityTask(track="es-en", n_permutations=0).evaluate(rotated_track, 0)
    assert every.metrics["lsim_n_pairs"] == 40 and every.metrics["lsim_cka"] < 0.99  # the noisy pairs count
    assert "lsim_cka_shuffled" not in every.metrics


def test_task_in_an_enhanced_space_fits_on_both_sides(rotated_track):
    from geomexp.config.spec import EnhancementSpec

    enh = EnhancementSpec(name="center", target="geomexp.enhancement.linear.CenterEnhancer")
    out = LanguageSimilarityTask(track="4a", min_gold=4, n_permutations=0).evaluate(rotated_track, 0, enh)
    assert {"lsim_cka", "lsim_cka/center", "lsim_procrustes/center"} <= set(out.metrics)
    assert out.metrics["lsim_cka/center"] == pytest.approx(out.metrics["lsim_cka"], abs=1e-6)  # CKA centres anyway


@pytest.mark.parametrize(
    "params, match",
    [
        ({"track": "7"}, "STS track '7' is not known"),
        ({"min_gold": 6}, r"min_gold=6 must be a number in \[0, 5\]"),
        ({"n_permutations": -1}, "n_permutations"),
        ({"k": 0}, "analysis.language_similarity.k"),
        ({"pooling": "max"}, r"pooling must be one of \['mean', 'last'\]"),
    ],
)
def test_bad_parameters_name_the_value_and_what_is_allowed(params, match):
    with pytest.raises(ConfigError, match=match):
        LanguageSimilarityTask(**params)


def test_too_few_pairs_left_by_min_gold_is_an_error(rotated_track):
    rotated_track.track = StsTrack("4a", "es-en", "es", "en", *[rotated_track.track.sentences_a] * 2, np.zeros(40))
    with pytest.raises(ConfigError, match="min_gold=1 leaves 0 pairs"):
        LanguageSimilarityTask(track="4a", min_gold=1).evaluate(rotated_track, 0)


def test_procrustes_with_fewer_pairs_than_dimensions_matches_the_definition():
    """50 pairs in 80 and 70 dimensions take the N x N route; it must equal min_Q ||X - Y Q||_F^2 by SVD."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((50, 80))
    Y = X[:, :60] @ rng.standard_normal((60, 70)) + rng.standard_normal((50, 70))
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    Xc, Yc = Xc / np.linalg.norm(Xc), np.hstack([Yc, np.zeros((50, 10))]) / np.linalg.norm(Yc)
    U, _, Vt = np.linalg.svd(Yc.T @ Xc)
    expected = np.linalg.norm(Xc - Yc @ U @ Vt) ** 2
    v = paired_similarity(X, Y, n_permutations=2)
    assert v["procrustes"] == pytest.approx(expected, rel=1e-9) and 0.05 < expected < 2
    # the d x d route adds sqrt(rounding) for each of the d - N zero singular values: ~1e-8 here
    assert v["procrustes"] == pytest.approx(procrustes_distance(X, Y), abs=1e-6)
    assert v["procrustes_shuffled"] > v["procrustes"]
