"""Mutual k-NN, CKNNA (Huh et al. 2024), RankMe (Garrido et al. 2023) and alpha-ReQ (Agrawal et al. 2022):
known answers, and agreement with faithful transcriptions of the reference formulas (issue 28)."""

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from references import (
    reference_canonical_correlations,
    reference_cknna,
    reference_knn,
    reference_mutual_knn,
    reference_pwcca,
)

from geomexp.experiment import run
from geomexp.metrics import alpha_req, cknna, cosine_knn, mutual_knn, mutual_knn_chance, rankme
from geomexp.validation import InvalidEmbeddingsError


def test_neighbours_are_the_brute_force_ones_with_ties_by_index():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 20))
    X[10] = X[3] * 2.0  # the same direction: a tie for every other row
    X[11] = X[3]
    assert np.array_equal(cosine_knn(X, 7), reference_knn(X, 7))
    assert list(cosine_knn(X, 2)[3]) == [10, 11]  # cosine 1 with both; the lower index first


def test_mutual_knn_known_answers_and_the_reference():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((2000, 48))
    assert mutual_knn(A, A, 10) == 1.0
    assert mutual_knn(A, 5 * A @ np.linalg.qr(rng.standard_normal((48, 48)))[0], 10) == pytest.approx(1.0)  # rotated
    B = rng.standard_normal((2000, 32))
    chance = mutual_knn_chance(2000, 10)
    assert chance == 10 / 1999
    # independent: a row shares Binomial-like ~ k * k / (N - 1) neighbours; the mean of 2000 rows is within 5 sd
    sd = np.sqrt(chance * (1 - chance) / 10 / 2000)
    assert abs(mutual_knn(A, B, 10) - chance) < 5 * sd
    C = A[:400] + 0.7 * rng.standard_normal((400, 48))
    assert mutual_knn(A[:400], C, 10) == pytest.approx(reference_mutual_knn(A[:400], C, 10), abs=1e-12)


def test_cknna_known_answers_and_the_reference():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((400, 40))
    assert cknna(A, 3.0 * A, 10) == pytest.approx(1.0, abs=1e-12)
    C = A + 0.6 * rng.standard_normal(A.shape)
    ours = cknna(A, C, 10)
    assert 0.1 < ours < 0.9
    assert ours == pytest.approx(reference_cknna(A, C, 10, eps=0.0), abs=1e-12)  # the formula, exactly
    assert abs(ours - reference_cknna(A, C, 10)) < 1e-3  # the reference's + 1e-6 in the denominator
    assert abs(cknna(A, rng.standard_normal((400, 30)), 10)) < 0.05  # unrelated: near 0


def test_neighbour_measures_refuse_bad_input():
    X = np.ones((5, 3)) + np.eye(5, 3)
    with pytest.raises(InvalidEmbeddingsError, match=r"k \(neighbours\) must be an integer in 1..4; got 5"):
        cosine_knn(X, 5)
    with pytest.raises(InvalidEmbeddingsError, match="same items"):
        mutual_knn(X, X[:4], 2)
    Z = X.copy()
    Z[2] = 0
    with pytest.raises(InvalidEmbeddingsError, match="all-zero row"):
        cknna(Z, X, 2)


def test_rankme_known_answers_and_the_paper_formula():
    rng = np.random.default_rng(3)
    assert rankme(rng.standard_normal((40000, 64))) == pytest.approx(64, rel=2e-3)  # isotropic, N >> d
    Q = np.linalg.qr(rng.standard_normal((500, 7)))[0]
    V = np.linalg.qr(rng.standard_normal((30, 7)))[0]
    assert rankme(Q @ V.T * 3.0, eps=0.0) == pytest.approx(7, rel=1e-12)  # 7 equal singular values
    e = 1e-7  # the paper's eps, added to each of the 30 normalised singular values (23 of them zero)
    with_eps = np.exp(-(7 * (1 / 7 + e) * np.log(1 / 7 + e) + 23 * e * np.log(e)))
    assert rankme(Q @ V.T * 3.0) == pytest.approx(with_eps, rel=1e-12)
    X = rng.standard_normal((300, 20)) @ np.diag(np.linspace(0.1, 3, 20))
    s = np.linalg.svd(X, compute_uv=False)  # Garrido et al. 2023, eq. 1, as written
    p = s / np.abs(s).sum() + 1e-7
    assert rankme(X) == pytest.approx(np.exp(-(p * np.log(p)).sum()), rel=1e-12)
    assert rankme(X * 1e-150) == pytest.approx(rankme(X), rel=1e-12)  # no underflow


def test_alpha_req_recovers_a_power_law_spectrum():
    rng = np.random.default_rng(4)
    n, d, alpha = 600, 40, 1.3
    Q = rng.standard_normal((n, d))
    Q = np.linalg.qr(Q - Q.mean(axis=0))[0]  # orthonormal, centred columns
    V = np.linalg.qr(rng.standard_normal((d, d)))[0]
    lam = np.arange(1, d + 1, dtype=float) ** -alpha
    X = (Q * np.sqrt(lam * (n - 1))) @ V.T  # covariance eigenvalues exactly lam
    assert alpha_req(X) == pytest.approx(alpha, abs=1e-9)
    assert alpha_req(variances=lam[::-1], first=3, last=20) == pytest.approx(alpha, abs=1e-12)
    with pytest.raises(InvalidEmbeddingsError, match="non-zero eigenvalue"):
        alpha_req(variances=lam, last=41)


def test_neighbours_and_spectral_run_per_layer_into_mlflow(make_cfg, store_uri):
    result = run(
        make_cfg(
            "model=minilm",
            "lang=sw",
            "data.n_tokens=300",
            "layer=all",
            "analysis=[neighbours,spectral]",
            "analysis.neighbours.k=5",
        )
    )
    assert result.layers == list(range(7))
    m = result.metrics
    assert m[("mknn_last", 6)] == 1.0 and m[("cknna_last", 6)] == 1.0 and ("mknn_prev", 0) not in m
    assert all(0 <= m[("mknn_prev", layer)] <= 1 for layer in range(1, 7))
    assert m[("mknn_prev", 6)] > m[("mknn_chance", 6)] == pytest.approx(5 / 299)  # adjacent layers agree
    assert all(1 <= m[("rankme", layer)] <= 384 and m[("alpha_req", layer)] > 0 for layer in range(7))
    logged = MlflowClient(store_uri).get_run(result.run_id).data.metrics
    assert {"mknn_prev", "mknn_last", "cknna_prev", "cknna_last", "rankme", "alpha_req"} <= set(logged)


def test_retrieval_known_answers():
    from geomexp.metrics.retrieval import retrieval_accuracy, retrieval_chance, retrieval_margin

    rng = np.random.default_rng(5)
    A = rng.standard_normal((200, 32))
    assert retrieval_accuracy(A, 2.0 * A) == (1.0, 1.0)  # identical directions: every partner found
    assert retrieval_margin(A, A) > 0
    # unrelated sides: about 1/n found; the mean of 40 draws (16,000 rows, both ways) within 5 sd of 1/n
    acc = [np.mean(retrieval_accuracy(A, rng.standard_normal((200, 32)))) for _ in range(40)]
    chance = retrieval_chance(200)
    assert abs(np.mean(acc) - chance) < 5 * np.sqrt(chance * (1 - chance) / (200 * 2 * 40))
    B = A.copy()
    B[[0, 1]] = B[[1, 0]]  # two partners swapped: those two rows miss in both directions
    assert retrieval_accuracy(A, B) == (0.99, 0.99)
    S = A @ A.T / np.outer(np.linalg.norm(A, axis=1), np.linalg.norm(A, axis=1))
    np.fill_diagonal(S, -np.inf)  # by hand: 1 - the best other cosine, both ways (the same: S is symmetric)
    assert retrieval_margin(A, A) == pytest.approx(np.mean(1 - S.max(axis=1)), abs=1e-12)
    with pytest.raises(InvalidEmbeddingsError, match="same parallel items"):
        retrieval_accuracy(A, A[:10])


@pytest.mark.slow  # ~5 s (500 sentences through me5_small); the metric's known answers are in the fast suite
def test_retrieval_task_per_layer_with_an_enhancement(make_cfg, store_uri):
    result = run(
        make_cfg(
            "model=me5_small",
            "analysis=retrieval",
            "analysis.retrieval.track=4a",
            "layer.index=[0,12]",
            "enhancement=center",
        )
    )
    m = result.metrics
    assert m[("retrieval_n_pairs", 12)] == 250 and m[("retrieval_chance", 12)] == pytest.approx(1 / 250)
    for layer in (0, 12):
        assert m[("retrieval_acc", layer)] == pytest.approx(
            (m[("retrieval_acc_ab", layer)] + m[("retrieval_acc_ba", layer)]) / 2
        )
        assert ("retrieval_acc/center", layer) in m and ("retrieval_margin/center", layer) in m
    assert m[("retrieval_acc", 12)] > 10 * m[("retrieval_chance", 12)]  # a multilingual encoder aligns es-en
    tags = MlflowClient(store_uri).get_run(result.run_id).data.tags
    assert tags["retrieval_pair"] == "es-en" and tags["geomexp.subject"] == "sts4a es-en"


def test_cca_known_answers_and_the_textbook_formula():
    from geomexp.metrics import canonical_correlations, pwcca, svcca

    rng = np.random.default_rng(6)
    X = rng.standard_normal((3000, 30))
    mapped = X @ rng.standard_normal((30, 30)) + 7.0  # an invertible linear map and a shift
    assert svcca(X, mapped) == pytest.approx(1.0, abs=1e-12) and pwcca(X, mapped) == pytest.approx(1.0, abs=1e-12)
    # planted: 5 shared directions, the rest noise -> five correlations of 1, then noise-level ones
    Z = np.hstack([X[:, :5] @ rng.standard_normal((5, 5)), rng.standard_normal((3000, 15))])
    rho = canonical_correlations(X, Z)
    assert rho.shape == (20,) and np.allclose(rho[:5], 1.0, atol=1e-12) and rho[5] < 0.2
    assert rho == pytest.approx(reference_canonical_correlations(X, Z), abs=1e-12)
    # PWCCA against the paper's formula, on a pair without tied correlations (where correlations tie, as the
    # five 1s of Z, its weights depend on the basis chosen within their subspace, in any implementation)
    noisy = X[:, :20] @ rng.standard_normal((20, 20)) + 2.0 * rng.standard_normal((3000, 20))
    assert pwcca(X, noisy) == pytest.approx(reference_pwcca(X, noisy), abs=1e-12)
    assert pwcca(noisy, X) == pytest.approx(reference_pwcca(noisy, X), abs=1e-12)  # weights from the first one
    assert pwcca(noisy, X) != pytest.approx(pwcca(X, noisy), abs=1e-6)
    # unrelated Gaussians: about sqrt(d / N)
    assert svcca(X, rng.standard_normal((3000, 20))) < 3 * np.sqrt(30 / 3000)
    # CCA does not see a rescaled column of X; PWCCA's weights (X's projections) do: with X's variance in the
    # 5 shared directions it moves towards their correlations of 1
    loud = X.copy()
    loud[:, :5] *= 100.0
    assert canonical_correlations(loud, Z) == pytest.approx(rho, abs=1e-9)
    assert pwcca(loud, Z) > 0.9 > pwcca(X, Z) + 0.4
    # SVCCA over every direction is the mean of all the canonical correlations; at 99 % of the variance X
    # keeps only its 5 loud directions (99.95 % of it), the shared ones: a mean well above the unreduced one
    assert svcca(X, Z, variance=1.0) == pytest.approx(rho.mean(), abs=1e-12)
    assert svcca(loud, Z) > 0.8 > svcca(X, Z)
    with pytest.raises(InvalidEmbeddingsError, match="same items"):
        svcca(X, Z[:10])
    with pytest.raises(InvalidEmbeddingsError, match="no variance"):
        pwcca(np.ones((10, 3)), Z[:10])


def test_per_array_memory_computes_once_and_drops_the_oldest_past_its_budget(monkeypatch):
    from geomexp.metrics import memo

    memo.forget()
    calls = []

    def compute(X):
        calls.append(id(X))
        return X * 2.0

    arrays = [np.full((10, 4), float(i)) for i in range(3)]  # 320 bytes of result each
    assert memo.per_array(arrays[0], "x2", lambda: compute(arrays[0])) is memo.per_array(
        arrays[0], "x2", lambda: compute(arrays[0])
    )
    assert len(calls) == 1  # computed once
    arrays[0][3, 0] = 9.0  # changed in place (row 3 is not in the every-64th-row fingerprint: row 0 is)
    arrays[0][0, 0] = 9.0
    memo.per_array(arrays[0], "x2", lambda: compute(arrays[0]))
    assert len(calls) == 2  # not taken for the array seen
    monkeypatch.setattr(memo, "MAX_BYTES", 700)  # room for two results
    for a in arrays:
        memo.per_array(a, "x2", lambda a=a: compute(a))
    memo.per_array(arrays[2], "x2", lambda: compute(arrays[2]))
    memo.per_array(arrays[1], "x2", lambda: compute(arrays[1]))
    assert len(calls) == 4  # arrays 1 and 2 kept ...
    memo.per_array(arrays[0], "x2", lambda: compute(arrays[0]))
    assert len(calls) == 5  # ... array 0, the least recently used, was dropped
    memo.forget()


def test_rsa_known_answers_and_scipy():
    from scipy.spatial.distance import pdist
    from scipy.stats import pearsonr, spearmanr

    from geomexp.metrics import rdm, rsa

    rng = np.random.default_rng(7)
    X = rng.standard_normal((300, 20))
    Q = np.linalg.qr(rng.standard_normal((20, 20)))[0]
    assert rsa(X, 3.0 * X @ Q) == pytest.approx(1.0, abs=1e-12)  # a rotation and a scale: the same arrangement
    assert abs(rsa(X, rng.standard_normal((300, 10)))) < 0.05  # unrelated
    assert rdm(X) == pytest.approx(pdist(X, metric="cosine"), abs=1e-12)
    Y = X[:, :10] + rng.standard_normal((300, 10))
    assert rsa(X, Y) == pytest.approx(spearmanr(pdist(X, "cosine"), pdist(Y, "cosine"))[0], abs=1e-12)
    assert rsa(X, Y, method="pearson") == pytest.approx(pearsonr(pdist(X, "cosine"), pdist(Y, "cosine"))[0], abs=1e-12)
    with pytest.raises(InvalidEmbeddingsError, match="method must be one of"):
        rsa(X, Y, method="kendall")


def test_rsa_and_cca_per_layer_into_mlflow(make_cfg):
    result = run(
        make_cfg(
            "model=minilm",
            "lang=sw",
            "data.n_tokens=400",
            "layer=all",
            "analysis=[rsa,cca]",
            "analysis.rsa.n_items=200",
        )
    )
    m = result.metrics
    assert m[("rsa_last", 6)] == 1.0 and m[("rsa_n_items", 6)] == 200 and ("rsa_prev", 0) not in m
    assert all(0 < m[("rsa_prev", layer)] <= 1 for layer in range(1, 7))
    assert m[("svcca_last", 6)] == 1.0 and ("svcca_prev", 0) not in m
    assert all(0 < m[(k, layer)] <= 1 for layer in range(1, 7) for k in ("svcca_prev", "pwcca_prev"))


def test_the_validation_matrix_agrees_at_rounding_level():
    """``benchmarks/validation_matrix.py`` (docs/validation.md): every measure within 1e-10 of its reference on
    the matrix's cases (one seed here), the reference CKNNA's + 1e-6 moving it by less than 1e-3, and GRIDE
    within its reference solver's tolerance (1e-6)."""
    import importlib.util
    import sys

    from conftest import ROOT

    sys.path.insert(0, str(ROOT / "benchmarks"))  # its _common helper; taken off again below
    try:
        spec = importlib.util.spec_from_file_location("validation_matrix", ROOT / "benchmarks" / "validation_matrix.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        table = {r["measure"]: r["max_dev"] for r in module.rows(seeds=(0,))}
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    from pypi_references import google_svcca

    assert len(table) == (16 if google_svcca() is not None else 12)
    assert table.pop("CKNNA, with the reference's + 1e-6") < 1e-3
    # Google's pwcca.py adds the neuron means back to its directions and weights uncentred activations: a
    # documented convention difference (docs/validation.md), not rounding
    assert 1e-4 < table.pop("PWCCA (Google's code as published)", 0.01) < 0.1
    # a minimiser of the likelihood (the reference's solver) places its maximum only to ~sqrt(eps) relative;
    # geomexp solves for the root of the likelihood's derivative instead
    assert table.pop("GRIDE (n1 = 1, 2, 4)") < 1e-6
    assert max(table.values()) < 1e-10, table


def test_pwcca_says_where_it_is_not_well_defined():
    """Two 40-dim spaces of 60 items share at least 40 + 40 - 59 = 21 directions: 21 canonical correlations of
    1, a tie within which PWCCA's weights are not determined (it moved by 2e-4 between CPU kinds on such a
    case); its spread over rotations within the tie says so, and is 0 with enough items."""
    from geomexp.metrics.cca import cca_similarities

    rng = np.random.default_rng(8)
    few = cca_similarities(rng.standard_normal((60, 40)), rng.standard_normal((60, 40)))
    assert few["cca_tied"] >= 21 and few["pwcca_spread"] > 1e-6
    many = cca_similarities(rng.standard_normal((3000, 40)), rng.standard_normal((3000, 40)))
    assert many["cca_tied"] == 0 and many["pwcca_spread"] == 0.0
