"""Token sampling plan: exact size, seeded, fewest sentences, clear errors."""

import numpy as np
import pytest

from geomexp.errors import ConfigError
from geomexp.sampling import NotEnoughTokensError, SmallerSampleWarning, plan_sentence_sample, plan_token_sample

COUNTS = np.array([3, 5, 2, 7, 1, 0, 4, 6, 9, 2])


def test_plan_keeps_exactly_n_distinct_tokens_within_sentences():
    plan = plan_token_sample(COUNTS, 20, seed=0)
    assert plan.n_tokens == 20
    assert plan.n_available == COUNTS.sum()
    assert len(set(plan.sentence_ids.tolist())) == len(plan.sentence_ids)
    for s, offs in zip(plan.sentence_ids, plan.offsets):
        assert offs.size > 0
        assert (np.diff(offs) > 0).all() and offs.min() >= 0 and offs.max() < COUNTS[s]


def test_plan_uses_the_fewest_sentences_of_the_seeded_order():
    plan = plan_token_sample(COUNTS, 20, seed=0)
    order = np.random.default_rng(0).permutation(COUNTS.size)
    needed = int(np.searchsorted(np.cumsum(COUNTS[order]), 20)) + 1
    assert set(plan.sentence_ids) <= set(order[:needed])
    assert COUNTS[order[: needed - 1]].sum() < 20 <= COUNTS[order[:needed]].sum()


def test_same_seed_same_plan_other_seed_other_plan():
    a, b = plan_token_sample(COUNTS, 15, seed=4), plan_token_sample(COUNTS, 15, seed=4)
    assert (a.sentence_ids == b.sentence_ids).all()
    assert all((x == y).all() for x, y in zip(a.offsets, b.offsets))
    c = plan_token_sample(COUNTS, 15, seed=5)
    assert not (len(a.sentence_ids) == len(c.sentence_ids) and (a.sentence_ids == c.sentence_ids).all())


def test_every_token_is_equally_likely_within_the_pool():
    counts = np.array([10, 10])
    hits = np.zeros(20)
    for seed in range(400):
        plan = plan_token_sample(counts, 15, seed=seed)  # needs both sentences: pool of 20
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
