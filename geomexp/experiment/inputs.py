"""How a run provides the extra inputs an analysis declares (``needs=``): a registry ``name ->
provider(ctx, analysis)``. ``geomexp.analyses.base.INPUTS`` says what each input is; ``PROVIDERS``
here says how a run gets it; ``register_input`` adds one to both.

A provider is called only for an analysis that declares the input, at one layer and one space
(raw, or enhanced); what it computes for one analysis is shared with the others (``ctx.once``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from geomexp.analyses.base import INPUTS


@dataclass
class LayerContext:
    """What the analyses of one layer and space may draw on.

    spec: the ``RunSpec``; reps: its ``Representations``; sample: the run's ``TokenSample`` (None
    without a corpus); layer: the hidden-state index; layers: every layer of the run; suffix: the
    space's metric-key suffix (``""`` raw, ``"/abtt"`` enhanced); enhancer: the fitted enhancer of
    this space (None: raw); spaces(layer) -> ``[(suffix, X, enhancer)]`` of any layer (computed
    once); pairs: ``{analysis name: ModelPairSource}`` prepared for the run.
    """

    spec: object
    reps: object
    sample: object
    layer: int
    layers: list
    suffix: str
    enhancer: object
    spaces: Callable[[int], list]
    pairs: dict
    _memo: dict = field(default_factory=dict)

    def once(self, name: str, compute: Callable[[], object]):
        """``compute()`` the first time ``name`` is asked for in this context, the kept value afterwards."""
        if name not in self._memo:
            self._memo[name] = compute()
        return self._memo[name]


def lang_representations(ctx: LayerContext) -> dict:
    """``{code: (N, d)}`` for ``spec.langs`` at ``ctx.layer``, in the same space as X: zero-shot applies
    the one fitted enhancer to every language; individual fits a new enhancer on each language."""
    spec = ctx.spec
    raw = {code: ctx.reps.corpus_sample(code).layer(ctx.layer) for code in spec.langs}
    if ctx.enhancer is None:
        return raw
    if spec.enhancement.fit_lang:
        return {code: ctx.enhancer.transform(X) for code, X in raw.items()}
    return {code: spec.enhancement.build().fit_transform(X) for code, X in raw.items()}


def layer_representations(ctx: LayerContext) -> dict:
    """``{layer: (N, d)}`` for every layer of the run, the same tokens and space as X."""
    return {other: next(Y for s, Y, _ in ctx.spaces(other) if s == ctx.suffix) for other in ctx.layers}


#: name -> provider(ctx, analysis spec); the keys are those of ``INPUTS``
PROVIDERS: dict[str, Callable[[LayerContext, object], object]] = {
    "sample": lambda ctx, a: ctx.sample,
    "sentences": lambda ctx, a: ctx.reps.sources.corpus(ctx.spec.lang.code).sentences,
    "lang": lambda ctx, a: ctx.spec.lang.code,
    "lang_reps": lambda ctx, a: ctx.once("lang_reps", lambda: lang_representations(ctx)),
    "layernorm_weights": lambda ctx, a: ctx.reps.layernorm_weights(),
    "layer": lambda ctx, a: ctx.layer,
    "layer_reps": lambda ctx, a: ctx.once("layer_reps", lambda: layer_representations(ctx)),
    "model_pair": lambda ctx, a: ctx.pairs[a.name].at(ctx.layer, ctx.enhancer),
}
if set(PROVIDERS) != set(INPUTS):  # a new input is declared in both places, or by register_input
    raise RuntimeError(f"inputs without a provider or description: {sorted(set(PROVIDERS) ^ set(INPUTS))}")


def register_input(name: str, description: str, provider: Callable[[LayerContext, object], object]) -> None:
    """Make ``name`` an input analyses may declare (``needs=[name]``), provided by ``provider(ctx, a)``.

    Call it before the analysis that needs it is defined (``@analysis`` checks ``needs`` then).
    """
    if name in INPUTS and PROVIDERS.get(name) is not provider:
        raise ValueError(f"input {name!r} is already registered ({INPUTS[name]})")
    INPUTS[name] = description
    PROVIDERS[name] = provider


def inputs_for(a, ctx: LayerContext) -> dict:
    """``{name: value}`` of the inputs analysis ``a`` declares (``a.inputs``), at ``ctx``'s layer and space."""
    return {name: PROVIDERS[name](ctx, a) for name in a.inputs}
