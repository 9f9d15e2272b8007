"""GRIDE (Denti et al. 2022) and the neighbourhood overlap with labels (Doimo et al. 2020) against known answers
and their reference transcriptions (``tests/references.py``), and their analyses."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from references import reference_gride, reference_label_overlap

from geomexp.analyses.gride import gride_analysis
from geomexp.analyses.overlap import neighbourhood_overlap_analysis
from geomexp.errors import ConfigError
from geomexp.metrics import (
    InvalidEmbeddingsError,
    gride,
    gride_fit,
    gride_scaling,
    knn_distances,
    label_overlap,
    label_overlap_chance,
    twonn,
)


def embedded(n: int, d: int, D: int = 40, seed: int = 0) -> np.ndarray:
    """(n, D): a d-dimensional Gaussian rotated into D dimensions."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((D, D)))
    return rng.standard_normal((n, d)) @ Q[:d]


def test_gride_at_the_first_two_neighbours_is_twonns_maximum_likelihood():
    """n1 = 1, n2 = 2: mu = r2 / r1 is Pareto(d), whose MLE is N / sum(log mu) (hand-derived)."""
    X = embedded(1500, 6)
    r = knn_distances(X, 2)
    by_hand = X.shape[0] / np.log(r[:, 1] / r[:, 0]).sum()
    assert gride(X, n1=1) == pytest.approx(by_hand, rel=1e-13)
    # twonn's MLE divides by N - 1 (with nothing discarded)
    assert gride(X, n1=1) == pytest.approx(twonn(X, fit="mle", discard_fraction=0.0) * 1500 / 1499, rel=1e-12)
    d, se = gride_fit(X, n1=1)
    assert se == pytest.approx(d / np.sqrt(1500), rel=1e-12)  # the Pareto's Fisher information N / d^2


@pytest.mark.parametrize("d", [2, 5, 9])
def test_gride_recovers_the_dimension_of_a_planted_subspace(d):
    X = embedded(4000, d, seed=d)
    for n1 in (1, 2):
        est, se = gride_fit(X, n1=n1)
        assert abs(est - d) / d < 0.06, (n1, est)
        assert 0 < se < 0.05 * d


def test_gride_matches_the_papers_likelihood_maximised_by_another_solver():
    X = embedded(300, 7, seed=3) + 0.01 * np.random.default_rng(1).standard_normal((300, 40))
    for n1, n2 in ((1, 2), (2, 4), (4, 8), (3, 7)):
        assert gride(X, n1=n1, n2=n2) == pytest.approx(reference_gride(X, n1, n2), rel=1e-6)


def test_gride_is_invariant_to_rotation_and_scale():
    X = embedded(800, 4, D=12, seed=5)
    Q, _ = np.linalg.qr(np.random.default_rng(2).standard_normal((12, 12)))
    assert gride(X @ Q * 1e-3, n1=4) == pytest.approx(gride(X, n1=4), rel=1e-9)


def test_gride_scaling_steps_through_doubling_scales_with_growing_neighbourhoods():
    X = embedded(2000, 3, seed=7)
    s = gride_scaling(X, max_n2=32)
    assert s["n1"].tolist() == [1, 2, 4, 8, 16] and s["n2"].tolist() == [2, 4, 8, 16, 32]
    assert (np.diff(s["scale"]) > 0).all()
    assert np.allclose(s["dimension"], 3, rtol=0.08)
    assert s["dimension"][2] == pytest.approx(gride(X, n1=4), rel=1e-12)


def test_gride_refuses_repeated_rows_degenerate_neighbourhoods_and_bad_orders():
    X = embedded(100, 3)
    with pytest.raises(InvalidEmbeddingsError, match="repeated rows"):
        gride(np.vstack([X, X[:5]]))
    lattice = np.array([[i, j] for i in range(12) for j in range(12)], dtype=float)  # r1 = r2 = r3 = r4 = 1
    with pytest.raises(InvalidEmbeddingsError, match="degenerate"):
        gride(lattice, n1=1)
    with pytest.raises(InvalidEmbeddingsError, match="n2"):
        gride(X, n1=4, n2=3)
    with pytest.raises(InvalidEmbeddingsError, match="more than 8 rows"):
        gride(X[:6], n1=4)


def test_label_overlap_known_answers():
    # four unit vectors at 0, 10, 90 and 100 degrees, k = 1: each one's nearest is its 10-degree partner
    angles = np.deg2rad([0.0, 10.0, 90.0, 100.0])
    X = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    assert label_overlap(X, [0, 0, 1, 1], k=1) == 1.0
    assert label_overlap(X, [0, 1, 0, 1], k=1) == 0.0
    assert label_overlap(X, [0, 0, 0, 1], k=1) == 0.5  # rows 2 and 3 are each other's nearest
    assert label_overlap_chance([0, 0, 1]) == pytest.approx(1 / 3)
    assert label_overlap_chance([5] * 7) == 1.0


def test_label_overlap_is_one_for_label_clusters_and_chance_for_unrelated_labels():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((20, 30)) * 10
    labels = np.repeat(np.arange(20), 50)
    X = centres[labels] + rng.standard_normal((1000, 30))
    assert label_overlap(X, labels, k=10) == 1.0
    shuffled = rng.permutation(labels)
    chance = label_overlap_chance(shuffled)
    assert chance == pytest.approx(49 / 999)
    assert abs(label_overlap(X, shuffled, k=10) - chance) < 0.02
    assert label_overlap(X, labels, k=10) == pytest.approx(reference_label_overlap(X, labels, 10), abs=1e-15)
    with pytest.raises(InvalidEmbeddingsError, match="one per row"):
        label_overlap(X, labels[:-1])


def test_the_analyses_log_their_metrics_tables_and_figure():
    X = embedded(600, 5, seed=11).astype(np.float32)
    res = gride_analysis(X, n1=2, max_n2=16, plot=True, title="t")
    assert res.metrics["id_gride"] == pytest.approx(gride(X.astype(np.float64), n1=2), rel=1e-12)
    assert res.metrics["id_gride_min"] <= res.metrics["id_gride"] <= res.metrics["id_gride_max"]
    assert res.metrics["gride_n_points"] == 600 and res.metrics["gride_n_repeated"] == 0
    assert res.tables["gride_scaling.json"]["n1"] == [1, 2, 4, 8] and "gride_scaling.png" in res.figures
    with pytest.raises(ConfigError, match="max_n2 >= 2 n1"):
        gride_analysis(X, n1=16, max_n2=16)

    sample = SimpleNamespace(token_ids=np.arange(600) % 3)
    out = neighbourhood_overlap_analysis(X, sample=sample, k=5)
    assert out.metrics["overlap_token_chance"] == pytest.approx(199 / 599)
    assert out.metrics["overlap_token"] == label_overlap(X, sample.token_ids, 5)
