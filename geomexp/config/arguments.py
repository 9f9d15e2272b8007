"""Command-line arguments checked before Hydra parses them, for mistakes its grammar reports cryptically."""

from __future__ import annotations


def split_list_message(args: list[str]) -> str | None:
    """A one-line error if the shell split a bracketed list at a space (``analysis=[isotropy, isoscore]``
    arrives as ``analysis=[isotropy,`` and ``isoscore]``; Hydra says "no viable alternative at input"),
    else None."""
    for i, arg in enumerate(args):
        if "=" in arg and arg.count("[") > arg.count("]"):
            parts = [arg]
            for more in args[i + 1 :]:
                parts.append(more)
                if "".join(parts).count("[") <= "".join(parts).count("]"):
                    break
            joined = "".join(parts)
            return (
                f"{' '.join(repr(p) for p in parts)} is one list split by the shell at a space: "
                f"write {joined} (no spaces) or quote it: '{' '.join(parts)}'"
            )
    return None
