"""Property-based tests: every public metric and enhancer either gives a sane answer or a clear error."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from geomexp.enhancement import enhancers, make_enhancer
from geomexp.metrics import (
    InvalidEmbeddingsError,
    cosine_contributions,
    i_cos,
    i_cos_exact,
    i_pc,
    isoscore,
    outlier_dimensions,
)

# derandomize: CI sees the same examples every run (run with --hypothesis-seed=<n> to explore more)
SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
DTYPES = st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.int32])


@st.composite
def matrices(draw, min_rows=1, max_rows=30, max_cols=6, finite=True):
    """(N, d) arrays of assorted dtypes, sometimes non-contiguous (a column-strided view)."""
    dtype = draw(DTYPES)
    n = draw(st.integers(min_rows, max_rows))
    d = draw(st.integers(1, max_cols))
    if np.issubdtype(dtype, np.integer):
        elements = st.integers(-50, 50)
    else:
        width = 16 if dtype == np.float16 else 32 if dtype == np.float32 else 64
        elements = st.floats(-100, 100, width=width)
        if not finite:
            elements = elements | st.sampled_from([np.nan, np.inf, -np.inf])
    X = draw(arrays(dtype, (n, 2 * d), elements=elements))
    return X[:, ::2] if draw(st.booleans()) else np.ascontiguousarray(X[:, :d])


def usable_for_cosine(X):
    Xf = np.asarray(X, dtype=np.float64)
    return Xf.shape[0] >= 2 and np.isfinite(Xf).all() and Xf.any(axis=1).all()


@SETTINGS
@given(matrices())
def test_cosine_metrics_answer_in_range_or_refuse_clearly(X):
    if not usable_for_cosine(X):
        with pytest.raises(InvalidEmbeddingsError):
            i_cos_exact(X)
        return
    for value in (i_cos(X, n_pairs=50, seed=0), i_cos_exact(X)):
        assert -1 - 1e-9 <= value <= 1 + 1e-9
    assert cosine_contributions(X, n_pairs=50, seed=0).sum() == pytest.approx(i_cos(X, n_pairs=50, seed=0), abs=1e-9)


@SETTINGS
@given(matrices())
def test_i_pc_is_a_ratio_in_0_1_or_refuses(X):
    Xf = np.asarray(X, dtype=np.float64)
    if Xf.shape[0] < 2 or not np.isfinite(Xf).all() or not Xf.any():  # all zeros: refused, as i_cos does
        with pytest.raises(InvalidEmbeddingsError):
            i_pc(X)
        return
    assert 0.0 <= i_pc(X) <= 1.0


@SETTINGS
@given(matrices(finite=False, min_rows=2))
def test_nan_and_inf_are_always_refused(X):
    if np.isfinite(np.asarray(X, dtype=np.float64)).all():
        return
    for fn in (i_cos_exact, i_pc, outlier_dimensions):
        with pytest.raises(InvalidEmbeddingsError, match="NaN or inf"):
            fn(X)


@SETTINGS
@given(matrices(min_rows=2))
def test_outliers_and_isoscore_are_sane_or_refuse(X):
    res = outlier_dimensions(X)
    assert set(res.indices.tolist()) <= set(range(X.shape[1]))
    try:
        score = isoscore(X)
    except InvalidEmbeddingsError:
        return  # d = 1 or identical points: documented refusals
    assert 0.0 <= score <= 1.0 + 1e-9


@SETTINGS
@given(matrices(min_rows=8, max_rows=40, max_cols=5), st.sampled_from(sorted(enhancers())))
def test_enhancers_keep_shape_and_finiteness_or_refuse(X, name):
    params = {"cluster": {"n_clusters": 2, "n_components": 1}, "abtt": {"n_components": 1}}.get(name, {})
    if name == "abtt" and X.shape[1] < 2 or name == "cluster" and X.shape[1] < 2:
        with pytest.raises(ValueError):
            make_enhancer(name, **params).fit(X)
        return
    try:
        Y = make_enhancer(name, **params).fit(X).transform(X)
    except ValueError as err:  # e.g. whitening a matrix with no variance: a clear, named refusal
        assert str(err)
        return
    assert Y.shape[0] == X.shape[0] and np.isfinite(Y).all()


def test_d_equals_one_and_too_few_rows():
    with pytest.raises(InvalidEmbeddingsError, match="at least 2 rows"):
        i_cos(np.ones((1, 3)))
    X = np.array([[1.0], [2.0], [-3.0]])
    assert i_cos_exact(X) == pytest.approx(-1 / 3)  # pairs: (1,2)=1, (1,3)=-1, (2,3)=-1
    assert 0 < i_pc(X) <= 1


# --------------------------------------------------------------------------- extreme magnitudes (issue 16, item 15)

GAUSS = np.random.default_rng(0).standard_normal((60, 6)) + np.array([4.0, 0, 0, 0, 0, 0])


@pytest.mark.parametrize("scale", [1e200, 1e120, 1e-160, 1e-200])
def test_extreme_magnitudes_give_the_scale_invariant_answers_or_finite_ones(scale):
    """Metrics answer at any magnitude: the scale-invariant ones (IsoScore, cosines, outlier
    dimensions) as for the unscaled matrix (IsoScore said "all identical" at 1e-160 and 0.1 at 1e120);
    I_PC and its log stay defined (LinAlgError at 1e200 before)."""
    from geomexp.metrics import log_i_pc

    X = GAUSS * scale
    assert isoscore(X) == pytest.approx(isoscore(GAUSS), rel=1e-12)
    assert i_cos_exact(X) == pytest.approx(i_cos_exact(GAUSS), rel=1e-12)
    out, ref = outlier_dimensions(X, sigma="means", k_sigma=2), outlier_dimensions(GAUSS, sigma="means", k_sigma=2)
    assert out.indices.tolist() == ref.indices.tolist() == [0]
    assert out.z_scores() == pytest.approx(ref.z_scores(), rel=1e-12)
    assert np.isfinite(out.threshold) and out.threshold == pytest.approx(ref.threshold * scale, rel=1e-12)
    assert 0.0 <= i_pc(X) <= 1.0 and np.isfinite(log_i_pc(X))
    if scale > 1:
        assert log_i_pc(X) == pytest.approx(log_i_pc(GAUSS) * scale, rel=0.05)  # exp(u.x) scales in the exponent


@pytest.mark.parametrize("scale", [1e200, 1e-200])
@pytest.mark.parametrize("name", ["whiten", "abtt", "center"])
def test_enhancers_refuse_magnitudes_whose_covariance_overflows_or_underflows(scale, name):
    with pytest.raises(InvalidEmbeddingsError, match=r"largest \|value\| is .* rescale X"):
        make_enhancer(name).fit(GAUSS * scale)


def test_i_pc_refuses_an_all_zero_matrix_as_i_cos_does():
    zeros = np.zeros((10, 4))
    for metric in (i_pc, i_cos_exact):
        with pytest.raises(InvalidEmbeddingsError, match="zero"):
            metric(zeros)


def test_cluster_enhancer_on_huge_values_is_a_clear_error_not_an_abort():
    """faiss aborted the whole process (exit 134) on values >= 1e19: now checked before faiss sees X."""
    import subprocess
    import sys

    from conftest import ROOT

    code = (
        "import numpy as np\n"
        "from geomexp.enhancement.cluster import ClusterEnhancer\n"
        "from geomexp.metrics import InvalidEmbeddingsError\n"
        "try:\n"
        "    ClusterEnhancer(n_clusters=3, n_components=1).fit(np.random.default_rng(0).standard_normal((200, 8)) * 1e19)\n"
        "except InvalidEmbeddingsError as err:\n"
        "    print(err)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-500:]
    assert "ClusterEnhancer (faiss works in float32): X's largest |value| is" in proc.stdout


# --------------------------------------------------------------------------- every public function (issue 26, item 6)

from geomexp import metrics  # noqa: E402
from geomexp.metrics.massive import massive_activations  # noqa: E402
from geomexp.metrics.similarity import paired_similarity  # noqa: E402

_R = np.random.default_rng(1)
BASE = _R.standard_normal((60, 6)) + np.array([3.0, 0, 0, 0, 0, 0])
OTHER = BASE @ _R.standard_normal((6, 6)) + 0.1 * _R.standard_normal((60, 6))
GOLD = _R.standard_normal(60)


def _labels(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(word_ids, sentence_ids) for n rows: 3 words, sentences of 3 rows."""
    return np.arange(n) % 3, np.arange(n) // 3


def _k(X) -> int:
    return min(5, np.shape(X)[0] - 1)


#: every public function, called on one matrix X (N, d); ``view(result, s)`` maps a result on ``X * s`` to
#: what must equal the result on ``X`` (None: the function is not scale-free, only finiteness is checked)
INVARIANT = staticmethod(lambda r, s: r)
PUBLIC = {
    "i_cos": (lambda X: i_cos(X, n_pairs=200, seed=0), INVARIANT),
    "i_cos_exact": (i_cos_exact, INVARIANT),
    "i_pc": (i_pc, None),
    "log_i_pc": (metrics.log_i_pc, None),
    "sample_pairs": (lambda X: metrics.sample_pairs(np.shape(X)[0], 10, seed=0), INVARIANT),
    "cosine_contributions": (lambda X: cosine_contributions(X, n_pairs=200, seed=0), INVARIANT),
    "top_dimensions": (lambda X: metrics.top_dimensions(cosine_contributions(X, exact=True), k=2), INVARIANT),
    "isoscore": (isoscore, INVARIANT),
    "outlier_dimensions": (outlier_dimensions, lambda r, s: (r.indices, r.z_scores(), r.threshold / s)),
    "layernorm_outlier_dimensions": (lambda X: metrics.layernorm_outlier_dimensions(X, min_layers=0), INVARIANT),
    "top_principal_subspace": (lambda X: metrics.top_principal_subspace(X, 1), INVARIANT),
    "principal_angles": (lambda X: metrics.principal_angles(X[:, :1], BASE[:, 1:2]), INVARIANT),
    "subspace_overlap": (lambda X: metrics.subspace_overlap(X[:, :1], BASE[:, 1:2]), INVARIANT),
    "contextuality": (lambda X: metrics.contextuality(X, *_labels(X.shape[0]), min_occurrences=2).summary(), INVARIANT),
    "knn_distances": (lambda X: metrics.knn_distances(X, _k(X)), lambda r, s: r / s),
    "twonn": (metrics.twonn, INVARIANT),
    "mle_dimension": (lambda X: metrics.mle_dimension(X, k=_k(X)), INVARIANT),
    "effective_rank": (metrics.effective_rank, INVARIANT),
    "participation_ratio": (metrics.participation_ratio, INVARIANT),
    "gride": (lambda X: metrics.gride(X, n1=2), INVARIANT),
    "gride_fit": (lambda X: metrics.gride_fit(X, n1=1), lambda r, s: r),
    "gride_scaling": (
        lambda X: metrics.gride_scaling(X, max_n2=min(8, len(X) - 1)),
        lambda r, s: {**r, "scale": r["scale"] / s},
    ),
    "linear_cka": (lambda X: metrics.linear_cka(X, OTHER[: len(X), : X.shape[1]], debiased=len(X) >= 4), INVARIANT),
    "procrustes_distance": (lambda X: metrics.procrustes_distance(X, OTHER[: len(X), : X.shape[1]]), INVARIANT),
    "similarity_matrices": (lambda X: metrics.similarity_matrices([X, OTHER[: len(X)]]), INVARIANT),
    "similarities_to": (lambda X: metrics.similarities_to(X, [OTHER[: len(X)]]), INVARIANT),
    "paired_similarity": (lambda X: paired_similarity(X, OTHER[: len(X)], n_permutations=2), INVARIANT),
    "pearson": (lambda X: metrics.pearson(X[:, 0], GOLD[: len(X)]), INVARIANT),
    "spearman": (lambda X: metrics.spearman(X[:, 0], GOLD[: len(X)]), INVARIANT),
    "cosine_knn": (lambda X: metrics.cosine_knn(X, _k(X)), INVARIANT),
    "mutual_knn": (lambda X: metrics.mutual_knn(X, OTHER[: len(X), : X.shape[1]], _k(X)), INVARIANT),
    "mutual_knn_chance": (lambda X: metrics.mutual_knn_chance(len(X), _k(X)), INVARIANT),
    "cknna": (lambda X: metrics.cknna(X, OTHER[: len(X), : X.shape[1]], _k(X)), INVARIANT),
    "label_overlap": (lambda X: metrics.label_overlap(X, np.arange(len(X)) % 3, _k(X)), INVARIANT),
    "label_overlap_chance": (lambda X: metrics.label_overlap_chance(np.arange(len(X)) % 3), INVARIANT),
    "canonical_correlations": (lambda X: metrics.canonical_correlations(X, OTHER[: len(X), : X.shape[1]]), INVARIANT),
    "svcca": (lambda X: metrics.svcca(X, OTHER[: len(X), : X.shape[1]]), INVARIANT),
    "pwcca": (lambda X: metrics.pwcca(X, OTHER[: len(X), : X.shape[1]]), INVARIANT),
    "rdm": (metrics.rdm, INVARIANT),
    "rsa": (lambda X: metrics.rsa(X, OTHER[: len(X), : X.shape[1]]), INVARIANT),
    "rankme": (metrics.rankme, INVARIANT),
    "alpha_req": (metrics.alpha_req, INVARIANT),
    "retrieval_accuracy": (lambda X: metrics.retrieval_accuracy(X, OTHER[: len(X), : X.shape[1]]), INVARIANT),
    "retrieval_margin": (lambda X: metrics.retrieval_margin(X, OTHER[: len(X), : X.shape[1]]), INVARIANT),
    "retrieval_chance": (lambda X: metrics.retrieval_chance(len(X)), INVARIANT),
    "massive_activations": (
        massive_activations,
        lambda r, s: (r.top_rows, r.top_dims, r.top_values / s, r.top_ratios, r.median_abs / s),
    ),
}
#: the documented non-finite answers: a correlation with a constant side is NaN (STS reports it as such);
#: a median magnitude of 0 (but not an all-zero X, which is refused) gives |x| / median = inf
CONSTANT_IS_NAN = {"pearson", "spearman"}
#: CKNNA is NaN where a space's own kernel on its neighbours has no positive unbiased HSIC (a handful of rows)
#: RSA is a correlation: NaN where one side's distances are all equal (e.g. 3 points on a line, as 2 of them)
DOCUMENTED_NON_FINITE = CONSTANT_IS_NAN | {"massive_activations", "cknna", "rsa"}


def _numbers(result) -> np.ndarray:
    """Every number in a result (float, array, tuple, list, dict, dataclass) as one flat float64 array."""
    import dataclasses

    if dataclasses.is_dataclass(result):
        result = [v for v in vars(result).values() if not isinstance(v, str)]
    if isinstance(result, dict):
        result = list(result.values())
    if isinstance(result, (list, tuple)):
        parts = [_numbers(r) for r in result]
        return np.concatenate(parts) if parts else np.zeros(0)
    return np.atleast_1d(np.asarray(result, dtype=np.float64)).ravel()


def test_the_hostile_input_table_covers_every_public_function():
    public = {n for n in metrics.__all__ if callable(getattr(metrics, n)) and n[0].islower() and n != "as_embeddings"}
    assert public | {"massive_activations", "paired_similarity"} == set(PUBLIC)


@pytest.mark.parametrize("scale", [1e30, 1e200, 1e-30, 1e-200])
@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_public_function_at_extreme_magnitudes(name, scale):
    """Scale-free functions give the unscaled answer at 1e+-30 (float32 FAISS) and 1e+-200 (float64
    squares); TwoNN/MLE were NaN at 1e30, knn distances zeros at 1e-200, CKA NaN and the spectra
    LinAlgError at 1e200, and "repeated rows"/"zero variance" refusals at 1e-200. The others stay finite."""
    fn, view = PUBLIC[name]
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # an overflow or 0/0 inside fails
        result = fn(BASE * scale)
    got = _numbers(result if view is None else view(result, scale))
    assert np.isfinite(got).all()
    if view is not None:
        want = _numbers(view(fn(BASE), 1.0))
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_public_function_on_all_zeros_answers_or_refuses_clearly(name):
    fn, _ = PUBLIC[name]
    try:
        result = fn(np.zeros_like(BASE))
    except InvalidEmbeddingsError as err:
        assert len(str(err)) > 20 and "\n" not in str(err)
        return
    numbers = _numbers(result)
    assert np.isfinite(numbers).all() or name in CONSTANT_IS_NAN  # massive_activations: inf ratios before


@pytest.mark.parametrize("name", sorted(PUBLIC))
@settings(SETTINGS, max_examples=60)
@given(X=matrices(min_rows=2, max_rows=24, max_cols=5))
def test_every_public_function_on_random_matrices_answers_or_refuses_clearly(name, X):
    """0 aborts, 0 uncaught errors of another kind, 0 silent non-finite answers."""
    fn, _ = PUBLIC[name]
    try:
        with np.errstate(all="ignore"):
            result = fn(X)
    except InvalidEmbeddingsError as err:
        assert str(err)
        return
    numbers = _numbers(result)
    assert np.isfinite(numbers).all() or name in DOCUMENTED_NON_FINITE, (name, numbers)
