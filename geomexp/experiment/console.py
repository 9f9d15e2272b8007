"""The few lines a run prints: headline metrics per layer first, then how many more were logged."""

from __future__ import annotations

from geomexp.analyses.base import metric_info
from geomexp.analyses.keys import is_variant

MAX_COLUMNS = 8


def variants(head: str, keys) -> list[str]:
    """``head`` and its enhanced variants (``head/<method>[/zero_shot]``) among ``keys``, in their order."""
    return [k for k in keys if is_variant(k, head)]


def headline_keys(infos, keys) -> list[str]:
    """``keys`` ordered: each analysis's headline metrics (raw, then enhanced variants) first, the rest after."""
    keys = list(dict.fromkeys(keys))
    first = []
    for info in infos:
        for head in info.headline():
            first += variants(head, keys)
    first = list(dict.fromkeys(first))
    return first + sorted((k for k in keys if k not in first), key=_reading_order)


def _reading_order(key: str) -> str:
    """Sort key: alphabetical, but an interval's low end before its high end (``_ci_low``, ``_ci_high``)."""
    return key.replace("_ci_low", "_ci_0").replace("_ci_high", "_ci_1")


def _cell(key: str, layer: int, result, infos, width: int) -> str:
    """One value, 5 significant digits; ``v±se`` when it lies within 2 standard errors of 0."""
    from geomexp.compare import within_noise

    value = result.metrics.get((key, layer), float("nan"))
    info = metric_info(infos, key)
    if info is not None and info.se_key:
        at_layer = {k: v for (k, lay), v in result.metrics.items() if lay == layer}
        se = within_noise(info, key, at_layer)
        if se is not None:
            return f"{f'{value:.1e}±{se:.0e}':>{width}}"
    return f"{value:>{width}.5g}"


def summary(result, infos, *, title: str, where: str | None) -> str:
    """Headline metrics per layer (at most ``MAX_COLUMNS`` columns), the count of the rest, and where they went.
    A value below its own sampling noise (within 2 standard errors of 0) is printed ``v±se``."""
    ordered = headline_keys(infos, [k for k, _ in result.metrics])
    shown, hidden = ordered[:MAX_COLUMNS], len(ordered) - MAX_COLUMNS
    cache = ("hit" if result.cache_hit else "miss") if result.cache_key else "not used"
    lines = [f"{title} · {len(result.layers)} layer(s) · representation cache {cache}"]
    width = max([12, *(len(k) for k in shown)])
    lines.append("layer  " + "  ".join(f"{k:>{width}}" for k in shown))
    for layer in result.layers:
        lines.append(f"{layer:>5}  " + "  ".join(_cell(k, layer, result, infos, width) for k in shown))
    if hidden > 0:
        lines.append(f"... and {hidden} more metrics in MLflow")
    if where:
        lines.append(where)
    return "\n".join(lines)
