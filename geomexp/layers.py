"""The one layer parser: ``last``, ``all``, an integer (0 = embedding output, negative counts back) or a
list of integers (``layer=[0,8,16]``); ``every`` (``layer.every=4``) takes a stride instead.

Used by the command line (``layer=8``), the run spec and the report (``--layer``).
"""

from __future__ import annotations

from geomexp.errors import ConfigError

LayerChoice = str | int | tuple  # "last", "all", an int, or a tuple of ints


def parse_layer(value, *, what: str = "layer.index", allow_list: bool = False) -> LayerChoice:
    """``"last"``/``"all"`` (any case) or an int from ``value`` (with ``allow_list``, also a list of ints:
    a tuple); ``ConfigError`` naming ``what`` otherwise."""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "ListConfig":
        if not allow_list:
            raise ConfigError(f"{what}={list(value)!r}: a list of layers is not accepted here")
        items = tuple(parse_layer(v, what=what) for v in value)
        if not items or not all(isinstance(i, int) for i in items):
            raise ConfigError(f"{what}={list(value)!r}: a list of layers holds integers, e.g. [0,8,16]")
        return items
    text = str(value).strip().lower()
    if text in ("last", "all"):
        return text
    try:
        return int(text)
    except ValueError:
        raise ConfigError(
            f"{what}={value!r} is not valid: use last, all, or an integer layer (0 = embeddings)"
        ) from None


def layer_label(choice: LayerChoice, every: int | None = None) -> str:
    """How a layer choice reads in tags, params and run names: ``last``, ``all``, ``8``, ``0,8,16``, ``every4``."""
    if every:
        return f"every{every}"
    return ",".join(map(str, choice)) if isinstance(choice, tuple) else str(choice)


def resolve_layers(
    choice: LayerChoice, num_layers: int, model_name: str = "the model", every: int | None = None
) -> list[int]:
    """Layer indices for ``choice`` in a model of ``num_layers`` transformer layers (0..num_layers).

    ``every=k`` (replaces ``choice``): layers 0, k, 2k, ... and the last layer.
    """
    if every is not None:
        if int(every) < 1:
            raise ConfigError(
                f"layer.every={every} must be a positive stride (e.g. 4: layers 0, 4, 8, ... and the last)"
            )
        return sorted(set(range(0, num_layers + 1, int(every))) | {num_layers})
    if isinstance(choice, tuple):
        out = []
        for c in choice:
            (i,) = resolve_layers(c, num_layers, model_name)
            if i not in out:
                out.append(i)
        return sorted(out)
    if choice == "all":
        return list(range(num_layers + 1))
    if choice == "last":
        return [num_layers]
    if not -(num_layers + 1) <= choice <= num_layers:
        raise ConfigError(
            f"layer.index={choice} is out of range for model {model_name!r}, which has {num_layers} layers: "
            f"use 0..{num_layers} (0 = embedding output), last or all"
        )
    return [choice % (num_layers + 1)]


def rewrite_layer_overrides(args: list[str]) -> list[str]:
    """Turn ``layer=8`` / ``layer=0,6,12`` (a sweep) / ``layer=[0,8,16]`` (one run) on a command line into
    ``layer.index=...``.

    ``layer`` is a config group (``last``, ``all``), so Hydra itself rejects a
    number there; every other argument is returned unchanged.
    """
    out = []
    for arg in args:
        key, sep, value = arg.partition("=")
        listed = value.strip().removeprefix("[").removesuffix("]") if value.strip().startswith("[") else value
        if key == "layer" and sep and listed and all(v.strip().lstrip("-").isdigit() for v in listed.split(",")):
            arg = f"layer.index={value}"
        out.append(arg)
    return out
