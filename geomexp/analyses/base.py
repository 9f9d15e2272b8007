"""What an analysis returns and what it declares about itself, in one place.

An analysis is a pure function ``fn(X, *, <inputs it needs>, seed, title, **params) -> AnalysisResult``
of one layer's token representations ``X`` (N, d), decorated with ``@analysis(...)``, which
attaches an ``AnalysisInfo``: the metrics it produces (display name, decimals, which direction is
better, headline or not), the extra inputs it needs (see ``INPUTS``) and its report tables. The
runner reads ``needs`` to prepare the inputs, the console reads ``headline``, the report reads the
rest: its tables come from the declarations (two report figures do name metrics: the isotropy-vs-STS
scatter, ``report/downstream.py``, and the STS bars, ``figures/report.py``). Add an analysis: one
module + one ``conf/analysis/*.yaml``.
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from geomexp.analyses.keys import base_of

#: what sort of number a metric is (``MetricInfo.kind``)
METRIC_KINDS = ("value", "bound", "index", "count", "p_value")

#: extra inputs an analysis may declare in ``needs`` (``X``, ``seed`` and ``title`` are always given)
INPUTS = {
    "sample": "TokenSample of the run's corpus sample: row metadata (sentence_ids, word_ids, char_spans, ...)",
    "sentences": "tuple of the corpus's sentences (what sample.sentence_ids index)",
    "lang": "the run's language code",
    "lang_reps": "{code: (N_code, d) array} of the same model, layer and space for every language of `langs`",
    "layernorm_weights": "(L, d) float64 output-LayerNorm weights of the model (loads the model)",
    "layer": "index of the layer X comes from (0 = embedding output)",
    "layer_reps": "{layer: (N, d)} every layer of the run's `layer` selection, the same tokens and space as X",
    "model_pair": "ModelPair (geomexp.experiment.model_pair): the run's model and the model named by the "
    "analysis's `other` parameter on the same corpus sentences, words matched by character span",
}


@dataclass
class AnalysisResult:
    """What one analysis computed on one layer's representations.

    metrics: scalar results, e.g. ``{"i_cos": 0.41}``; logged per layer (step = layer).
    figures: matplotlib figures by file name, e.g. ``{"pca_2d.png": fig}``.
    tables: JSON-serialisable tables by file name, e.g. ``{"top_dims.json": {...}}``.
    tags: run tags, e.g. ``{"freq_source": "corpus"}``.
    """

    metrics: dict[str, float] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricInfo:
    """One metric (or a family: ``{name}`` placeholders, e.g. ``cc_top{rank}_dim``).

    label: display name. decimals: fixed decimals in tables (0 for counts and indices).
    better: ``"higher"``, ``"lower"`` or None (no direction, e.g. an index).
    headline: shown first on the console. log_scale: spans decades (plot on a log axis).
    curve: a curve of it against layer means something (False for a dimension index or the end
    of an interval: no per-run or report curve is drawn for it).
    kind: what sort of number it is, which says how two measurements of it compare (``compare``):
    ``"value"`` (a continuous estimate), ``"bound"`` (the end of an interval: continuous too),
    ``"index"`` (a dimension or layer number), ``"count"`` (how many of something) or ``"p_value"``
    (never averaged: seeds combine it by a valid rule, see ``geomexp.experiment.repeats``). An index
    or count is equal or not; it is compared only between runs on bit-equal inputs, since a last-bit
    change of the inputs can move a point across its threshold or a near-tie.
    atol: the absolute noise floor of a value: differences below it are float32 rounding of the
    encoder (different CPU kernels), not a change. Needed for values that are ~0 by construction
    (I_Cos after centring: a relative tolerance is meaningless there); 0 = relative only.
    spread_key: the metric (same layer and space) that measures how well defined this one is, e.g.
    ``i_pc_spread`` for I_PC: two measurements may differ by that much (in log for a log-scale metric).
    se_key: the metric (same layer and space) holding this one's standard error, e.g. ``i_cos_se``: a
    value within 2 of its standard errors of 0 is shown with it (``value ± se``), not as if exact.
    twin: a metric whose curve against layer shows this one too (``log_i_pc``: ``i_pc`` on its log axis;
    ``i_cos_exact``: ``i_cos``): the report draws this one's curve only where the twin's cannot show it
    (a twin on a log axis with a value <= 0, e.g. an I_PC that underflowed); its values stay in the tables.
    """

    key: str
    label: str
    decimals: int = 4
    better: str | None = None
    headline: bool = False
    log_scale: bool = False
    description: str = ""
    curve: bool = True
    kind: str = "value"
    atol: float = 0.0
    spread_key: str = ""
    se_key: str = ""
    twin: str = ""

    def __post_init__(self):
        if self.kind not in METRIC_KINDS:
            raise ValueError(f"MetricInfo {self.key!r}: kind={self.kind!r}; allowed: {list(METRIC_KINDS)}")

    @property
    def discrete(self) -> bool:
        """An index or a count: compared for equality, and only on bit-equal inputs."""
        return self.kind in ("index", "count")

    def axis_label(self, log: bool | None = None, width: int = 30) -> str:
        """The label of an axis showing this metric: ``"I_PC (log scale)"`` on a log axis; a label longer
        than ``width`` characters is wrapped onto lines (so it stays inside its panel of a grid)."""
        log = self.log_scale if log is None else log
        text = f"{self.label} (log scale)" if log else self.label
        return textwrap.fill(text, width) if len(text) > width else text

    def matches(self, key: str) -> bool:
        """Whether the metric ``key`` (without a space suffix) is this metric or a member of its family."""
        if "{" not in self.key:
            return key == self.key
        pattern = re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(self.key))
        return re.fullmatch(pattern, key) is not None


def interval_infos(how: str) -> tuple[MetricInfo, MetricInfo]:
    """The ``<metric>_ci_low`` / ``<metric>_ci_high`` family of an analysis's bootstrap intervals."""
    return (
        MetricInfo(
            "{metric}_ci_low",
            "interval low",
            4,
            description=f"lower end of the interval ({how})",
            curve=False,
            kind="bound",
        ),
        MetricInfo(
            "{metric}_ci_high",
            "interval high",
            4,
            description=f"upper end of the interval ({how})",
            curve=False,
            kind="bound",
        ),
    )


@dataclass(frozen=True)
class ReportTable:
    """A table of the report: one row per model (and differing settings), ``columns`` are metric keys.

    pivot: ``None`` (a long table, the metrics as columns) or the run attribute whose values
    become columns for the FIRST metric of ``columns`` (``"subject"``: languages or STS tracks).
    """

    name: str
    title: str
    columns: tuple[str, ...]
    pivot: str | None = None
    description: str = ""


@dataclass(frozen=True)
class AnalysisInfo:
    """Everything the runner, console and report need to know about an analysis or task."""

    name: str
    title: str
    metrics: tuple[MetricInfo, ...] = ()
    needs: frozenset[str] = frozenset()
    tables: tuple[ReportTable, ...] = ()
    kind: str = "analysis"  # "analysis" (a function of X) or "task" (encodes its own data)
    #: inputs needed only when a boolean parameter is true, e.g. {"layernorm_weights": "layernorm_rule"}
    needs_when: tuple[tuple[str, str], ...] = ()
    #: (parameter, check) rules of its parameters (``analysis(params=...)``); not part of ``to_dict``
    params: tuple = field(default=(), compare=False, repr=False)

    def inputs(self, params: dict) -> set[str]:
        """The inputs to prepare for a call with ``params``."""
        return set(self.needs) | {inp for inp, flag in self.needs_when if params.get(flag)}

    def metric(self, key: str) -> MetricInfo | None:
        """The declared ``MetricInfo`` of metric ``key`` (a space suffix such as ``/cluster`` is ignored)."""
        base = base_of(key)
        return next((m for m in self.metrics if m.matches(base)), None)

    def headline(self) -> list[str]:
        """Keys of the headline metrics, in declaration order."""
        return [m.key for m in self.metrics if m.headline]

    def to_dict(self) -> dict:
        """JSON-ready form, logged with every run (``meta/analyses.json``) for the report to read."""
        out = asdict(dataclasses.replace(self, params=()))
        out.pop("params")
        out["needs"] = sorted(self.needs)
        out["needs_when"] = [list(p) for p in self.needs_when]
        return out

    @classmethod
    def from_dict(cls, data: dict) -> AnalysisInfo:
        return cls(
            name=data["name"],
            title=data.get("title", data["name"]),
            metrics=tuple(
                MetricInfo(**{k: v for k, v in m.items() if k in _METRIC_FIELDS}) for m in data.get("metrics", ())
            ),
            needs=frozenset(data.get("needs", ())),
            tables=tuple(ReportTable(**{**t, "columns": tuple(t["columns"])}) for t in data.get("tables", ())),
            kind=data.get("kind", "analysis"),
            needs_when=tuple(tuple(p) for p in data.get("needs_when", ())),
        )


_METRIC_FIELDS = {f.name for f in fields(MetricInfo)}


def compared_layers(analysis_name: str, layer: int, layer_reps: dict) -> dict[str, int]:
    """The layers an analysis comparing the layers of a run (``layer_reps``: ``{layer: (N, d)}``) compares
    ``layer`` with: ``{"first": ..., "last": ..., "prev": ...}`` (no ``prev`` at the first layer);
    ``ConfigError`` if the run has one layer, or ``layer`` is not one of its layers."""
    from geomexp.errors import ConfigError

    order = sorted(layer_reps)
    if len(order) < 2:
        raise ConfigError(
            f"analysis={analysis_name} compares the layers of a run: use layer=all (this run has only layer {order})"
        )
    if layer not in layer_reps:
        raise ConfigError(f"{analysis_name}: layer {layer} is not among the run's layers {order}")
    pos = order.index(layer)
    return {"last": order[-1], "first": order[0], **({"prev": order[pos - 1]} if pos > 0 else {})}


def metric_info(infos, key: str) -> MetricInfo | None:
    """The ``MetricInfo`` the first of ``infos`` (``AnalysisInfo``s) that declares metric ``key`` gives it, or None."""
    return next((m for m in (i.metric(key) for i in infos) if m is not None), None)


def analysis(name: str, title: str, *, metrics=(), needs=(), tables=(), needs_when=None, params=None):
    """Decorator: attach ``AnalysisInfo`` to an analysis function as ``fn.info``.

    needs_when: ``{input: boolean parameter}`` for inputs needed only when that parameter is true.
    params: ``{parameter: check}`` (``geomexp.validation.integer(1)``, ``number(0, below=1)``, ``one_of(...)``,
    ``flag()``): each parameter's rule, checked when a run's config is checked (before any data is
    read) and at every call (a notebook's too), as ``ConfigError("analysis.<name>.<parameter> must ...")``.
    """
    import functools
    import inspect

    from geomexp.validation import check_declared

    needs_when = tuple((needs_when or {}).items())
    unknown = (set(needs) | {i for i, _ in needs_when}) - set(INPUTS)
    if unknown:
        raise ValueError(f"analysis {name!r} needs unknown inputs {sorted(unknown)}; known: {sorted(INPUTS)}")
    constraints = dict(params or {})

    def attach(fn):
        undeclared = set(constraints) - set(inspect.signature(fn).parameters)
        if undeclared:
            raise ValueError(f"analysis {name!r} declares rules for parameters it does not take: {sorted(undeclared)}")
        checked = fn
        if constraints:

            @functools.wraps(fn)
            def checked(X, **kwargs):
                return fn(X, **check_declared(constraints, kwargs, f"analysis.{name}."))

        checked.info = AnalysisInfo(
            name=name,
            title=title,
            metrics=tuple(metrics),
            needs=frozenset(needs),
            tables=tuple(tables),
            needs_when=needs_when,
            params=tuple(constraints.items()),
        )
        return checked

    return attach


def check_analysis_params(name: str, fn, params: dict) -> dict:
    """``params`` of analysis ``name`` (the function ``fn``) checked: each must be a parameter ``fn`` takes
    (not an input or ``X``/``seed``/``title``), and follow the rule its ``info.params`` declares.
    Returns them normalised; ``ConfigError`` naming the parameter and what is allowed otherwise."""
    import inspect

    from geomexp.errors import ConfigError
    from geomexp.validation import check_declared

    signature = inspect.signature(fn).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.values()):
        given_by_run = {"X", "seed", "title", *INPUTS}
        allowed = sorted(k for k in signature if k not in given_by_run)
        for key in params:
            if key not in allowed:
                raise ConfigError(f"analysis.{name}.{key} is not a parameter of {name}; allowed: {allowed}")
    return check_declared(dict(fn.info.params), params, f"analysis.{name}.")
