"""Analysis inputs come from a registry (issue 25, item 6): every declared input has a provider, a new
one is registered in one call and reaches an analysis that declares it, and an unknown one is refused."""

import numpy as np
import pytest

from geomexp.analyses.base import INPUTS, AnalysisResult, MetricInfo, analysis
from geomexp.config.spec import AnalysisSpec
from geomexp.experiment import inputs


def test_every_input_has_a_provider_and_a_description():
    assert set(inputs.PROVIDERS) == set(INPUTS)
    assert {"sample", "lang_reps", "layer_reps", "model_pair"} <= set(INPUTS)


def _ctx(**kw):
    base = dict(spec=None, reps=None, sample=None, layer=3, layers=[0, 3], suffix="", enhancer=None, spaces=None)
    return inputs.LayerContext(**{**base, "pairs": {}, **kw})


@pytest.fixture
def registry():
    """INPUTS and PROVIDERS as they were, after the test."""
    before = dict(INPUTS), dict(inputs.PROVIDERS)
    yield
    for table, saved in zip((INPUTS, inputs.PROVIDERS), before):
        table.clear()
        table.update(saved)


def test_a_registered_input_reaches_the_analysis_that_declares_it(registry):
    calls = []

    def provider(ctx, a):
        calls.append(a.name)
        return ctx.once("twice_layer", lambda: 2 * ctx.layer)

    inputs.register_input("twice_layer", "the layer index times two", provider)

    @analysis("uses_it", "Uses it", metrics=[MetricInfo("doubled", "doubled", 0)], needs=["twice_layer"])
    def uses_it(X, *, seed=0, title="", twice_layer):
        return AnalysisResult(metrics={"doubled": float(twice_layer)})

    a = AnalysisSpec(name="uses_it", target="t", fn=uses_it)
    ctx = _ctx(layer=5)
    got = inputs.inputs_for(a, ctx)
    assert got == {"twice_layer": 10} and calls == ["uses_it"]
    assert uses_it(np.zeros((2, 2)), **got).metrics == {"doubled": 10.0}
    with pytest.raises(ValueError, match="input 'twice_layer' is already registered"):
        inputs.register_input("twice_layer", "again", lambda ctx, a: 0)


def test_an_unknown_input_is_refused_when_the_analysis_is_defined():
    with pytest.raises(ValueError, match=r"analysis 'bad' needs unknown inputs \['no_such_input'\]; known: \["):
        analysis("bad", "Bad", needs=["no_such_input"])


def test_layer_reps_come_from_the_same_space_of_every_layer():
    spaces = {0: [("", "raw0", None), ("/abtt", "abtt0", "e0")], 3: [("", "raw3", None), ("/abtt", "abtt3", "e3")]}
    ctx = _ctx(suffix="/abtt", spaces=lambda layer: spaces[layer])
    assert inputs.layer_representations(ctx) == {0: "abtt0", 3: "abtt3"}
