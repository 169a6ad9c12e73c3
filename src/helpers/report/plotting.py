"""One plotting style for every chapter, with CJK fonts so Chinese labels never render as boxes."""
from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns
from matplotlib import font_manager

# Tried in order; matplotlib falls back glyph by glyph through the list (Debian's Noto CJK,
# then the usual Windows and macOS CJK fonts on analysts' machines).
CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Zen Hei",
             "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC", "Arial Unicode MS"]
PALETTE = "deep"


def available_cjk_fonts() -> list[str]:
    """The CJK fonts of ``CJK_FONTS`` present here. A font installed after matplotlib built its
    font cache (as set-up does) is registered from the system font folders."""
    installed = {f.name for f in font_manager.fontManager.ttflist}
    if not installed.intersection(CJK_FONTS):
        for path in font_manager.findSystemFonts():
            if "CJK" in path or "wqy" in path.lower():
                font_manager.fontManager.addfont(path)
        installed = {f.name for f in font_manager.fontManager.ttflist}
    return [name for name in CJK_FONTS if name in installed]


def setup_style() -> None:
    """Seaborn's clean grid style, readable sizes, a CJK fallback font, and text shown as written.

    Labels come from the customer's data (industries, products, regions), so ``$...$`` in them
    must not be parsed as mathtext: ``$\\alert{x}$`` would make the chart fail, ``$5 to $9``
    would print in italics. ``text.parse_math`` turns that off for every text created
    afterwards; no chart of the project uses mathtext."""
    sns.set_theme(style="whitegrid", palette=PALETTE, context="notebook")
    plt.rcParams.update({
        "figure.figsize": (8, 4.2),
        "figure.dpi": 96,
        "axes.titlesize": 13,
        "axes.titleweight": "bold",
        "axes.labelsize": 11,
        # A list of families makes matplotlib fall back glyph by glyph (Latin in DejaVu, Chinese in CJK).
        "font.family": ["DejaVu Sans", *available_cjk_fonts()],
        "axes.unicode_minus": False,
        "text.parse_math": False,
    })


def new_axes(ax=None, figsize: tuple[float, float] | None = None):
    """The given axes, or a fresh figure's."""
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=figsize or plt.rcParams["figure.figsize"])
    return ax


def label(ax, title: str, xlabel: str, ylabel: str):
    """Every chart has a title and both axes labelled with units."""
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax
