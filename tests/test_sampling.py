"""Token sampling plan: exact size, seeded, uniform over the corpus or from the fewest sentences, clear errors."""

import numpy as np
import pytest

from geomexp.errors import ConfigError
from geomexp.metrics.isoscore import isoscore
from geomexp.representations.sampling import (
    NotEnoughTokensError,
    SmallerSampleWarning,
    plan_sentence_sample,
    plan_token_sample,
)

COUNTS = np.array([3, 5, 2, 7, 1, 0, 4, 6, 9, 2])
FEWEST = {"method": "fewest_sentences"}


@pytest.mark.parametrize("method", ["uniform", "fewest_sentences"])
def test_plan_keeps_exactly_n_distinct_tokens_within_sentences(method):
    plan = plan_token_sample(COUNTS, 20, seed=0, method=method)
    assert plan.n_tokens == 20
    assert plan.n_available == COUNTS.sum()
    assert len(set(plan.sentence_ids.tolist())) == len(plan.sentence_ids)
    for s, offs in zip(plan.sentence_ids, plan.offsets):
        assert offs.size > 0
        assert (np.diff(offs) > 0).all() and offs.min() >= 0 and offs.max() < COUNTS[s]


def test_plan_uses_the_fewest_sentences_of_the_seeded_order():
    plan = plan_token_sample(COUNTS, 20, seed=0, **FEWEST)
    order = np.random.default_rng(0).permutation(COUNTS.size)
    needed = int(np.searchsorted(np.cumsum(COUNTS[order]), 20)) + 1
    assert set(plan.sentence_ids) <= set(order[:needed])
    assert COUNTS[order[: needed - 1]].sum() < 20 <= COUNTS[order[:needed]].sum()


@pytest.mark.parametrize("method", ["uniform", "fewest_sentences"])
def test_same_seed_same_plan_other_seed_other_plan(method):
    a, b = plan_token_sample(COUNTS, 15, seed=4, method=method), plan_token_sample(COUNTS, 15, seed=4, method=method)
    assert (a.sentence_ids == b.sentence_ids).all()
    assert all((x == y).all() for x, y in zip(a.offsets, b.offsets))
    c = plan_token_sample(COUNTS, 15, seed=5, method=method)
    same_sentences = len(a.sentence_ids) == len(c.sentence_ids) and (a.sentence_ids == c.sentence_ids).all()
    assert not (same_sentences and all((x.size == y.size and (x == y).all()) for x, y in zip(a.offsets, c.offsets)))


def test_every_token_is_equally_likely_within_the_pool():
    counts = np.array([10, 10])
    hits = np.zeros(20)
    for seed in range(400):
        plan = plan_token_sample(counts, 15, seed=seed, **FEWEST)  # needs both sentences: pool of 20
        for s, offs in zip(plan.sentence_ids, plan.offsets):
            hits[s * 10 + offs] += 1
    assert hits.min() > 0.85 * hits.mean()


def test_not_enough_tokens_names_the_count():
    with pytest.raises(NotEnoughTokensError, match=r"only 39 tokens.*n_tokens=100.*allow_fewer"):
        plan_token_sample(COUNTS, 100)


def test_allow_fewer_keeps_everything_and_says_so():
    with pytest.warns(SmallerSampleWarning, match="only 39 tokens; using all of them"):
        plan = plan_token_sample(COUNTS, 100, allow_fewer=True)
    assert plan.n_tokens == COUNTS.sum()
    n = int((COUNTS > 0).sum())
    with pytest.warns(SmallerSampleWarning, match=f"only {n} non-empty sentences"):
        plan = plan_sentence_sample(COUNTS, 100, allow_fewer=True)
    assert plan.sentence_ids.size == n


@pytest.mark.parametrize("n", [0, -3, 2.5, True])
def test_non_positive_sizes_rejected(n):
    with pytest.raises(ConfigError, match="n_tokens"):
        plan_token_sample(COUNTS, n)


def test_sentence_plan_keeps_whole_non_empty_sentences():
    plan = plan_sentence_sample(COUNTS, 4, seed=3)
    order = np.random.default_rng(3).permutation(COUNTS.size)
    expected = [s for s in order if COUNTS[s] > 0][:4]
    assert plan.sentence_ids.tolist() == expected
    for s, offs in zip(plan.sentence_ids, plan.offsets):
        assert offs.tolist() == list(range(COUNTS[s]))
    assert plan.n_tokens == COUNTS[expected].sum()


def test_sentence_plan_too_few_sentences():
    with pytest.raises(NotEnoughTokensError, match=r"only 9 non-empty sentences.*n_sentences=50"):
        plan_sentence_sample(COUNTS, 50)
    assert len(plan_sentence_sample(COUNTS, 50, allow_fewer=True).sentence_ids) == 9
    with pytest.raises(ConfigError, match="n_sentences"):
        plan_sentence_sample(COUNTS, 0)


def test_unknown_method_lists_the_choices():
    with pytest.raises(ConfigError, match=r"token_sampling='sentence'.*uniform.*fewest_sentences"):
        plan_token_sample(COUNTS, 5, method="sentence")


def test_uniform_plan_keeps_every_token_equally_likely_over_the_whole_corpus():
    """Each of the 39 content tokens is drawn with probability n / 39, so a sentence's share of the
    sample follows its length (the sentence-first draw would favour the sentences visited first)."""
    n, reps = 13, 3000
    hits = np.zeros(COUNTS.sum())
    starts = np.concatenate([[0], np.cumsum(COUNTS)[:-1]])
    for seed in range(reps):
        plan = plan_token_sample(COUNTS, n, seed=seed)
        assert (np.diff(plan.sentence_ids) > 0).all()  # corpus order
        for s, offs in zip(plan.sentence_ids, plan.offsets):
            hits[starts[s] + offs] += 1
    expected = reps * n / COUNTS.sum()  # 1000 per token; binomial sd about 26
    assert np.abs(hits - expected).max() < 0.12 * expected
    per_sentence = np.add.reduceat(hits, starts[COUNTS > 0])
    np.testing.assert_allclose(per_sentence, expected * COUNTS[COUNTS > 0], rtol=0.08)


def planted_sentence_corpus(rng, n_sentences=3000, length=20, d=32, offset_scale=3.0):
    """Token vectors = a per-sentence offset (shared by the sentence's tokens) + small noise."""
    offsets = rng.normal(scale=offset_scale, size=(n_sentences, d))
    noise = rng.normal(scale=0.3, size=(n_sentences, length, d))
    return offsets[:, None, :] + noise  # (S, length, d)


def sample_rows(tokens, plan):
    return np.concatenate([tokens[s, offs] for s, offs in zip(plan.sentence_ids, plan.offsets)])


def test_sentence_first_draw_biases_isoscore_low_and_the_uniform_draw_does_not():
    """With sentence-level offsets, 400 tokens from the fewest sentences cover 20 offsets (a low-rank
    sample: low IsoScore); 400 uniform tokens come from ~375 different sentences and score like 400
    tokens taken one per random sentence (the reference), and both far above the sentence-first draw."""
    rng = np.random.default_rng(0)
    tokens = planted_sentence_corpus(rng)
    S, length, _ = tokens.shape
    counts = np.full(S, length)
    reference = []
    for s in range(5):
        r = np.random.default_rng(100 + s)
        reference.append(isoscore(tokens[r.choice(S, 400, replace=False), r.integers(0, length, 400)]))
    uniform = [isoscore(sample_rows(tokens, plan_token_sample(counts, 400, seed=s))) for s in range(5)]
    fewest = [isoscore(sample_rows(tokens, plan_token_sample(counts, 400, seed=s, **FEWEST))) for s in range(5)]
    assert abs(np.mean(uniform) - np.mean(reference)) < 0.02, (uniform, reference)
    assert max(fewest) < min(uniform) - 0.4, (fewest, uniform)
