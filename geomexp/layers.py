"""The one layer parser: ``last``, ``all`` or an integer (0 = embedding output, negative counts back).

Used by the command line (``layer=8``), the run spec and the report (``--layer``).
"""

from __future__ import annotations

from geomexp.errors import ConfigError

LayerChoice = str | int  # "last", "all" or an int


def parse_layer(value, *, what: str = "layer.index") -> LayerChoice:
    """``"last"``/``"all"`` (any case) or an int from ``value``; ``ConfigError`` naming ``what`` otherwise."""
    text = str(value).strip().lower()
    if text in ("last", "all"):
        return text
    try:
        return int(text)
    except ValueError:
        raise ConfigError(
            f"{what}={value!r} is not valid: use last, all, or an integer layer (0 = embeddings)"
        ) from None


def resolve_layers(choice: LayerChoice, num_layers: int, model_name: str = "the model") -> list[int]:
    """Layer indices for ``choice`` in a model of ``num_layers`` transformer layers (0..num_layers)."""
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
    """Turn ``layer=8`` / ``layer=0,6,12`` on a command line into ``layer.index=...``.

    ``layer`` is a config group (``last``, ``all``), so Hydra itself rejects a
    number there; every other argument is returned unchanged.
    """
    out = []
    for arg in args:
        key, sep, value = arg.partition("=")
        if key == "layer" and sep and value and all(v.strip().lstrip("-").isdigit() for v in value.split(",")):
            arg = f"layer.index={value}"
        out.append(arg)
    return out
