"""Enhancers follow scikit-learn's conventions (issue 25, item 8): every enhancer passes
``sklearn.utils.estimator_checks.check_estimator`` (47 checks each), and the fitted state that is
saved is every attribute ending in ``_``: an enhancer that declares nothing saves and reloads whole
(it used to save nothing, reload as "fitted" and raise AttributeError)."""

import numpy as np
import pytest
from sklearn.utils.estimator_checks import check_estimator

from geomexp.enhancement import enhancers, make_enhancer
from geomexp.enhancement.base import Enhancer, EnhancerFileError
from geomexp.errors import GeomexpError

SMALL_PARAMS = {"cluster": {"n_clusters": 2, "n_components": 1}, "abtt": {"n_components": 1}}


@pytest.mark.parametrize("name", sorted(enhancers()))
def test_every_enhancer_passes_scikit_learns_estimator_checks(name):
    results = check_estimator(make_enhancer(name, **SMALL_PARAMS.get(name, {})), on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:300]) for r in results if r["status"] == "failed"]
    assert len(results) >= 40 and failed == []


@pytest.fixture
def toy():
    """A toy enhancer that declares no list of fitted attributes (rows divided by the fitted scale), and a
    variant holding something unsaveable; registered for the test only (the registry lists every subclass)."""
    from geomexp.enhancement.base import ENHANCER_CLASSES

    class Scaler(Enhancer):
        name = "toy_scaler"

        def __init__(self, power: float = 1.0):
            self.power = power

        def _fit(self, X):
            self.scale_ = np.abs(X).max(axis=0) ** self.power
            self.note_ = {"rows": int(X.shape[0])}

        def _transform(self, X):
            return X / self.scale_

    class Holder(Scaler):
        name = "toy_holder"

        def _fit(self, X):
            super()._fit(X)
            self.handle_ = object()

    yield Scaler, Holder
    for cls in (Scaler, Holder):
        ENHANCER_CLASSES.pop(cls.__name__, None)


def test_the_fitted_state_saved_is_every_attribute_ending_in_an_underscore(tmp_path, toy):
    Scaler, _ = toy
    X = np.random.default_rng(0).standard_normal((20, 3))
    fitted = Scaler(power=0.5).fit(X)
    again = Enhancer.load(fitted.save(tmp_path / "scaler.npz"))
    assert isinstance(again, Scaler) and again.power == 0.5 and again.note_ == {"rows": 20}
    np.testing.assert_array_equal(again.transform(X), fitted.transform(X))
    assert again.n_features_in_ == 3


def test_fitted_state_that_cannot_be_saved_is_refused_in_one_line(tmp_path, toy):
    _, Holder = toy
    with pytest.raises(GeomexpError, match=r"Holder.handle_ is a object, neither an array nor a JSON value"):
        Holder().fit(np.ones((4, 2)) + np.arange(4)[:, None]).save(tmp_path / "h.npz")


def test_a_saved_state_naming_a_method_is_refused(toy):
    Scaler, _ = toy
    fitted = Scaler().fit(np.arange(12.0).reshape(4, 3) + 1)
    arrays, values = fitted._state()
    with pytest.raises(EnhancerFileError, match="not a fitted attribute"):
        Scaler()._set_state(arrays, {**values, "transform": 1})
