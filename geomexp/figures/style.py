"""One figure style for every geomexp figure (per-run and report): sizes that survive a two-column paper.

Figures are drawn at their printed size (``COLUMN_WIDTH`` = one column of a two-column paper,
``TEXT_WIDTH`` = both columns), with 8 pt text, so a figure placed at 100 % width keeps its fonts
legible; PNG at ``PNG_DPI`` for MLflow and the HTML report, PDF/SVG (text kept as text: TrueType
fonts in PDF, ``<text>`` in SVG) for papers.

    with paper_style():
        fig, ax = plt.subplots(figsize=figsize(1))
    save_figure(fig, "reports/x/figures/i_pc_by_language", ("png", "pdf"))
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from geomexp.data.corpus import PAPER_LANGUAGES  # noqa: E402

#: inches: one column / the full text width of a two-column paper (ACL: 3.3 in / 6.9 in)
COLUMN_WIDTH = 3.3
TEXT_WIDTH = 6.9
#: the formats figures can be saved in, and the default of a report
FORMATS = ("png", "pdf", "svg")
DEFAULT_FORMATS = ("png", "pdf")
PNG_DPI = 150

RC = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.title_fontsize": 7,
    "figure.titlesize": 9,
    "lines.linewidth": 1.3,
    "lines.markersize": 3.5,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(
        color=[
            "#0072B2",  # Okabe-Ito: distinguishable with colour-vision deficiency and in grey
            "#D55E00",
            "#009E73",
            "#CC79A7",
            "#E69F00",
            "#56B4E9",
            "#000000",
            "#F0E442",
        ]
    ),
    "pdf.fonttype": 42,  # TrueType: editable text in PDF
    "ps.fonttype": 42,
    "svg.fonttype": "none",  # text stays text in SVG
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.03,
    "figure.dpi": 100,
}

#: line styles of the spaces of one curve: the raw space solid, an enhanced one dashed, zero-shot dotted
SPACE_LINESTYLES = {0: "-", 1: "--", 2: ":"}


def colors() -> list[str]:
    """The style's colour cycle."""
    return list(RC["axes.prop_cycle"].by_key()["color"])


#: the paper's languages, each with its own Okabe-Ito colour in every figure (en and su were both blues
#: when colours followed the order languages were seen); other languages take the remaining colours
LANGUAGE_COLORS = dict(zip(PAPER_LANGUAGES, ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#000000")))


def language_colors(codes) -> dict[str, str]:
    """``{code: colour}``: the paper's languages their fixed colour, any other the next unused one of the cycle
    (in the order given; the cycle repeats past eight languages)."""
    spare = [c for c in colors() if c not in LANGUAGE_COLORS.values()]
    out, i = {}, 0
    for code in dict.fromkeys(codes):
        if code in LANGUAGE_COLORS:
            out[code] = LANGUAGE_COLORS[code]
        else:
            out[code] = spare[i % len(spare)] if spare else colors()[i % len(colors())]
            i += 1
    return out


#: each enhancement method's colour in every figure of a report (the raw space black); a variant of a method
#: ("cluster zero-shot", "cluster fit on en") takes its method's colour and is told apart by hatching or line style
METHOD_COLORS = {"raw": "#000000", "center": "#56B4E9", "abtt": "#D55E00", "whiten": "#009E73", "cluster": "#0072B2"}


def method_colors(spaces) -> dict[str, str]:
    """``{space label: colour}``: a method's fixed colour by its first word (``cluster zero-shot`` -> cluster's),
    an unknown method the next unused colour of the cycle."""
    spare = [c for c in colors() if c not in METHOD_COLORS.values()]
    base: dict[str, str] = {}
    out = {}
    for label in dict.fromkeys(spaces):
        method = label.split(" ")[0]
        if method not in METHOD_COLORS and method not in base:
            base[method] = spare[len(base) % len(spare)]
        out[label] = METHOD_COLORS.get(method) or base[method]
    return out


@contextmanager
def paper_style():
    """Matplotlib settings of every geomexp figure, for the figures created (and saved) inside the block."""
    with matplotlib.rc_context(RC):
        yield


def figsize(columns: float = 1, aspect: float = 0.72) -> tuple[float, float]:
    """(width, height) in inches: ``columns`` column widths (2 = the full text width), height = width * aspect."""
    width = TEXT_WIDTH if columns >= 2 else COLUMN_WIDTH * columns
    return width, width * aspect


def parse_formats(formats) -> tuple[str, ...]:
    """``"png,pdf"`` or ``["png", "pdf"]`` -> ``("png", "pdf")``; ``ValueError`` naming the allowed ones."""
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    out = tuple(dict.fromkeys(str(f).strip().lower().lstrip(".") for f in items if str(f).strip()))
    bad = [f for f in out if f not in FORMATS]
    if bad or not out:
        raise ValueError(f"figure formats {bad or list(items)!r}: choose among {', '.join(FORMATS)} (e.g. png,pdf)")
    return out


def save_figure(fig, stem, formats=DEFAULT_FORMATS, *, close: bool = True) -> list[Path]:
    """Save ``fig`` as ``<stem>.<format>`` for every format (PNG at ``PNG_DPI``); return the paths."""
    import matplotlib.pyplot as plt

    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = []
    with paper_style():
        for fmt in parse_formats(formats):
            path = stem.with_name(f"{stem.name}.{fmt}")
            meta = {"Creator": "geomexp"} if fmt in ("pdf", "svg") else None
            fig.savefig(path, format=fmt, dpi=PNG_DPI if fmt == "png" else None, metadata=meta)
            paths.append(path)
    if close:
        plt.close(fig)
    return paths


def panel_grid(n: int, ncols_max: int = 3, panel_h: float = 2.0):
    """A figure of ``n`` panels (at most ``ncols_max`` a row, ``panel_h`` inches tall each), one column wide for
    a single column, the text width otherwise: ``(figure, [n axes])``, the unused cells hidden."""
    import matplotlib.pyplot as plt

    ncols = min(n, ncols_max)
    nrows = math.ceil(n / ncols)
    width = COLUMN_WIDTH + 0.5 if ncols == 1 else TEXT_WIDTH
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, 0.55 + panel_h * nrows), squeeze=False, sharey=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])
