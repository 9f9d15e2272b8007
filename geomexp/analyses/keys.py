"""The grammar of metric keys, in one place: ``<base>[/<method>[/zero_shot]]``.

- ``<base>``: what was measured (``i_cos``, ``sts_spearman``, ``cc_top1_dim``, ``xl_overlap.en_ar``);
  a metric's companions add a part to it (``i_cos_sd``, ``i_pc_spread``), before the space.
- ``/<method>``: measured in the space an enhancement made (``i_cos/cluster``), fitted on the data
  itself (individually);
- ``/<method>/zero_shot``: the enhancement was fitted on another language (``enhancement.fit_lang``) or
  on English data for a cross-lingual task, and applied here.

Only this module builds or parses a key's space (a test greps the package for other attempts).
"""

from __future__ import annotations

from dataclasses import dataclass

SEPARATOR = "/"
ZERO_SHOT = "zero_shot"
#: the method-agnostic name of an enhanced space, logged to MLflow beside each method's own key
#: (``i_cos/abtt`` is also ``i_cos/enhanced``), so runs of different methods share metric columns in
#: MLflow's Compare view and parallel-coordinates plot; never a method's name; never read back
ENHANCED = "enhanced"


@dataclass(frozen=True)
class MetricKey:
    """A parsed metric key: ``base``, the enhancement ``method`` (None: the raw space) and ``zero_shot``."""

    base: str
    method: str | None = None
    zero_shot: bool = False

    @classmethod
    def parse(cls, key: str) -> MetricKey:
        """``"i_cos/cluster/zero_shot"`` -> ``MetricKey("i_cos", "cluster", True)``."""
        base, *space = key.split(SEPARATOR)
        zero_shot = len(space) > 1 and space[-1] == ZERO_SHOT
        return cls(base, space[0] if space else None, zero_shot)

    def format(self) -> str:
        return self.base + self.suffix

    def __str__(self) -> str:
        return self.format()

    @property
    def suffix(self) -> str:
        """The space part: ``""``, ``"/cluster"`` or ``"/cluster/zero_shot"``."""
        return space_suffix(self.method, self.zero_shot)

    @property
    def depth(self) -> int:
        """0 for the raw space, 1 for an enhanced one, 2 for zero-shot (line styles, table order)."""
        return 0 if self.method is None else 2 if self.zero_shot else 1

    def companion(self, base: str) -> MetricKey:
        """Metric ``base`` in the same space (``i_pc/whiten`` -> ``i_pc_spread/whiten``)."""
        return MetricKey(base, self.method, self.zero_shot)

    def with_part(self, part: str) -> MetricKey:
        """``base + part`` in the same space (``i_cos/cluster`` + ``_sd`` -> ``i_cos_sd/cluster``)."""
        return self.companion(self.base + part)


def space_suffix(method: str | None, zero_shot: bool = False) -> str:
    """The key suffix of values measured in ``method``'s space: ``""`` (None), ``/<method>``, ``/<method>/zero_shot``."""
    if method is None:
        return ""
    return SEPARATOR + method + (SEPARATOR + ZERO_SHOT if zero_shot else "")


def base_of(key: str) -> str:
    """The measured quantity of a key, without its space (``i_cos/cluster`` -> ``i_cos``)."""
    return MetricKey.parse(key).base


def split_key(key: str) -> tuple[str, str]:
    """``"i_cos/cluster/zero_shot"`` -> ``("i_cos", "/cluster/zero_shot")``."""
    k = MetricKey.parse(key)
    return k.base, k.suffix


def companion_key(key: str, metric: str) -> str:
    """The key of ``metric`` in the same space as ``key``: ``("i_pc/whiten", "i_pc_spread")`` ->
    ``"i_pc_spread/whiten"`` (a metric's ``spread_key`` or ``se_key``; the space suffix stays last)."""
    return MetricKey.parse(key).companion(metric).format()


def is_variant(key: str, head: str) -> bool:
    """Whether ``key`` is metric ``head`` in some space (raw or enhanced)."""
    return base_of(key) == head


def space_label(key: str) -> str:
    """``raw``, ``cluster`` or ``cluster zero_shot``: the space of a key, in words."""
    k = MetricKey.parse(key)
    return "raw" if k.method is None else k.method + (" " + ZERO_SHOT if k.zero_shot else "")


def method_agnostic(values: dict[str, float]) -> dict[str, float]:
    """``{key: value}`` of the enhanced spaces' values under ``ENHANCED`` in place of the method
    (``{"i_cos/abtt": v}`` -> ``{"i_cos/enhanced": v}``); raw values have none."""
    out = {}
    for key, value in values.items():
        k = MetricKey.parse(key)
        if k.method is not None:
            out[MetricKey(k.base, ENHANCED, k.zero_shot).format()] = value
    return out


def is_method_agnostic(key: str) -> bool:
    """Whether ``key`` is a ``method_agnostic`` copy (readers skip it: the method's own key holds the value)."""
    return MetricKey.parse(key).method == ENHANCED


def space_name(suffix: str) -> str:
    """A key suffix as one file-name part: ``"/cluster/zero_shot"`` -> ``"cluster_zero_shot"`` (``""`` stays)."""
    return suffix.strip(SEPARATOR).replace(SEPARATOR, "_")
