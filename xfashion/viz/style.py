"""The series' one visual language: every figure of signed attributions draws through here.

The conventions, shown on the book's page "Notation and visual conventions":

* **Sign**: what lowers the score is red, what raises it is blue, everywhere (bars, heat maps,
  pair matrices, Grad-CAM overlays); white is zero. :data:`CMAP` is that diverging map.
* **Scale**: centred at zero and symmetric (:func:`signed_limit`); the panels of a figure that
  invites comparison share one scale and one colour bar.
* **Markers** (:func:`mark`), one each, never re-used for anything else: the *method's culprit*
  is a thick black frame; the item the *stylist blames* carries a purple "blamed" tag; the
  *swapped* item carries an orange "swapped" tag.
* **Text**: at least :data:`MIN_FONT` points, in black or white, whichever reads better on the
  colour beneath it (:func:`text_color`); no figure is wider than :data:`MAX_WIDTH` inches.
* **Categories** (swap kinds, slots, methods: anything that is neither a sign nor a marker) take
  :data:`CATEGORICAL`'s colours, which avoid the sign colours (red, blue) and the markers' (orange,
  purple); :func:`category_colors` hands them out in a fixed order. A *method* keeps one colour and marker
  in every figure of the series (:func:`method_look`).
* **Items** sit on a light grey (:data:`ITEM_BACKGROUND`, :func:`item_pixels`), so a white garment shows.

With the plumbing every figure module shares (``_axes``, :func:`heatmap`).
"""
from __future__ import annotations

import zlib

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch
from matplotlib.colors import to_rgb
from seaborn import matrix as sns_matrix

CMAP = "RdBu"  # red for negative values (lowers the score), blue for positive (raises it)
LOWERS = mpl.colormaps[CMAP](0.12)  # the bars' colours: the map's two ends, a little inside
RAISES = mpl.colormaps[CMAP](0.88)
MIN_FONT = 10  # points; legible when a figure of the book's width is projected
MAX_WIDTH = 9.0  # inches: the book's column at 100 dpi is 900 px
CULPRIT = {"color": "black", "linewidth": 4.5}  # the method's culprit: a frame
TAGS = {  # a word on a coloured box, drawn inside the item's picture
    "blamed": {"text": "blamed", "face": "#7b3294", "ink": "white"},  # the stylist blames this item
    "swapped": {"text": "swapped", "face": "#e69f00", "ink": "black"},  # the swap test changed this item
}
# teal, brown, green, grey, magenta, olive: none is a sign colour (red, blue) or a marker's (orange, purple)
CATEGORICAL = ("#1b9e77", "#a6761d", "#66a61e", "#666666", "#e7298a", "#bcbd22")
TERMS = {
    "culprit item": "the item whose values, summed over its feature groups, are the lowest of the outfit",
    "culprit (item, group)": "the (item, feature group) cell with the lowest value of the outfit",
    "blamed": "an item the stylist's oracle holds responsible for a broken rule (its blame is above zero)",
    "unique culprit": "the only item whose change alone repairs the outfit (the swap test's ground truth)",
}


# every item picture sits on this light grey, so a white garment (0.96) shows against it; the
# mask's holes (near-black pixels of the grey original) show the same grey
ITEM_BACKGROUND = 0.76


def item_pixels(rgba: torch.Tensor) -> np.ndarray:
    """Rendered items (..., 4, 28, 28) composited on :data:`ITEM_BACKGROUND`, as (..., 28, 28, 3) for imshow."""
    rgb, alpha = rgba[..., :3, :, :], rgba[..., 3:, :, :]
    return (rgb + ITEM_BACKGROUND * (1 - alpha)).clamp(0, 1).movedim(-3, -1).detach().cpu().numpy()


def _axes(ax, n=1, size=(2.0, 2.2)):
    if ax is not None:
        return ax.figure if not isinstance(ax, np.ndarray) else ax.flat[0].figure, ax
    fig, ax = plt.subplots(1, n, figsize=(size[0] * n, size[1]), squeeze=False)
    return fig, ax[0] if n > 1 else ax[0, 0]


def heatmap(data, **kwargs):
    """``seaborn.heatmap(data, **kwargs)`` without its full-figure draw: every heat map of the book goes through here.

    seaborn's heatmap draws the whole figure on every call, to see whether its tick labels overlap
    (``seaborn.matrix._HeatMapper.plot`` calls ``seaborn.utils._draw_figure`` unconditionally, seaborn
    0.13), so a figure of n heat maps is drawn n times before it is shown, layout included: chapter
    05's panel of 14 heat maps took 9.6 of its 9.9 s there. The overlap test still runs, on the label
    extents as they stand; only the draw before it is skipped.
    """
    draw, sns_matrix._draw_figure = sns_matrix._draw_figure, lambda fig: None
    try:
        return sns.heatmap(data, **kwargs)
    finally:
        sns_matrix._draw_figure = draw


def signed_limit(*values, floor: float = 1e-9) -> float:
    """The symmetric colour limit shared by ``values``: the largest magnitude among them.

    Parameters
    ----------
    *values : array-like
        Every array drawn on the one scale (e.g. all panels of a figure).
    floor : float
        The smallest limit returned, so an all-zero explanation still gets a valid scale.
    """
    return max([floor] + [float(np.nanmax(np.abs(np.asarray(v, dtype=float)))) for v in values if np.size(v)])


def bar_colors(values) -> list:
    """One colour per value: :data:`LOWERS` below zero, :data:`RAISES` at or above it."""
    return [LOWERS if v < 0 else RAISES for v in np.ravel(values)]


def text_color(value: float, lim: float) -> str:
    """Black or white text, whichever contrasts more with the colour map's colour for ``value``."""
    r, g, b = to_rgb(mpl.colormaps[CMAP](0.5 + 0.5 * float(np.clip(value / lim, -1, 1))))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "black" if luminance > 0.45 else "white"


def annotate_cells(ax, values, lim: float, fmt: str = "{:.2f}", skip=None) -> None:
    """Write each value on its cell of a heat map drawn with :data:`CMAP` on ``[-lim, lim]``.

    ``skip(i, j)`` returns True for cells left blank (e.g. a pair matrix's diagonal).
    """
    values = np.asarray(values)
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            if skip is None or not skip(i, j):
                ax.text(j + 0.5 if _seaborn_cells(ax) else j, i + 0.5 if _seaborn_cells(ax) else i,
                        fmt.format(values[i, j]), ha="center", va="center", fontsize=MIN_FONT,
                        color=text_color(values[i, j], lim))


def _seaborn_cells(ax) -> bool:
    # seaborn's heatmap puts cell (i, j) at [j, j+1] x [i, i+1]; imshow centres it on (j, i)
    return not ax.images


def mark(ax, kind: str, cell: tuple | None = None) -> None:
    """Mark the item drawn in ``ax``: ``'culprit'`` (frame), ``'blamed'`` or ``'swapped'`` (tags).

    Tags stack from the picture's lower edge, so an item both blamed and swapped shows both. With
    ``cell=(row, column)``, ``ax`` is a heat map (:func:`heatmap`) and the mark a frame in the marker's
    colour: the culprit's around the cell, a blamed one inside it (as in chapter 08's pair matrices).
    """
    if kind != "culprit" and kind not in TAGS:
        raise ValueError(f"Unknown marker {kind!r}; the markers are 'culprit', {', '.join(map(repr, TAGS))}.")
    if cell is not None:
        i, j = cell
        inset = 0 if kind == "culprit" else 0.12
        ax.add_patch(plt.Rectangle((j + inset, i + inset), 1 - 2 * inset, 1 - 2 * inset, fill=False, gid=kind,
                                   lw=CULPRIT["linewidth"] if kind == "culprit" else 3,
                                   ec=CULPRIT["color"] if kind == "culprit" else TAGS[kind]["face"]))
        return
    if kind == "culprit":
        for side in ax.spines.values():
            side.set_visible(True)
            side.set_edgecolor(CULPRIT["color"])
            side.set_linewidth(CULPRIT["linewidth"])
        return
    tag = TAGS[kind]
    level = getattr(ax, "_xfashion_tags", 0)
    ax._xfashion_tags = level + 1
    ax.text(0.5, 0.03 + 0.2 * level, tag["text"], transform=ax.transAxes, ha="center", va="bottom",
            fontsize=MIN_FONT, color=tag["ink"], fontweight="bold",
            bbox={"boxstyle": "round,pad=0.2", "facecolor": tag["face"], "edgecolor": "none"}, gid=f"tag:{kind}")


def marker_legend(fig, kinds=("culprit", "blamed", "swapped"), y: float = 0.0) -> None:
    """A one-line key under ``fig`` for the markers it uses."""
    from matplotlib.patches import Patch

    handles = []
    for kind in kinds:
        if kind == "culprit":
            handles.append(Patch(facecolor="none", edgecolor=CULPRIT["color"], linewidth=3,
                                 label="the method's culprit"))
        else:
            who = "the stylist blames it" if kind == "blamed" else "the swapped item"
            handles.append(Patch(facecolor=TAGS[kind]["face"], label=f"'{TAGS[kind]['text']}': {who}"))
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, y), ncol=len(handles), frameon=False,
               fontsize=MIN_FONT)


def plot_key():
    """The series' visual language on one figure: the sign colours, the shared scale and the three markers."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(MAX_WIDTH, 2.6))
    bar = fig.add_axes((0.12, 0.62, 0.76, 0.12))
    bar.imshow(np.linspace(-1, 1, 256)[None], cmap=CMAP, aspect="auto", extent=(-1, 1, 0, 1))
    bar.set_yticks([])
    bar.set_xticks([-1, 0, 1], ["lowers the score", "0", "raises the score"], fontsize=MIN_FONT)
    for label, align in zip(bar.get_xticklabels(), ("left", "center", "right")):
        label.set_horizontalalignment(align)
    bar.set_title("signed attributions: one map, centred at zero, one scale per figure", fontsize=MIN_FONT + 1)
    for k, (kind, words) in enumerate((("culprit", "the method's culprit"), ("blamed", "the stylist blames it"),
                                       ("swapped", "the swap test changed it"))):
        ax = fig.add_axes((0.03 + 0.32 * k, 0.04, 0.09, 0.36))
        ax.set_facecolor("#eeeeee")
        ax.set_xticks([])
        ax.set_yticks([])
        mark(ax, kind)
        fig.text(0.13 + 0.32 * k, 0.22, words, fontsize=MIN_FONT, va="center")
    return fig


def category_colors(keys) -> dict:
    """One colour of :data:`CATEGORICAL` per key, in order (a key's colour is fixed by its place in ``keys``)."""
    keys = list(keys)
    if len(keys) > len(CATEGORICAL):
        raise ValueError(f"{len(keys)} categories, but the palette holds {len(CATEGORICAL)} colours; "
                         "group the rarest categories, or draw them as separate panels.")
    return dict(zip(keys, CATEGORICAL))


# The book's attribution methods in a fixed order: each keeps one look in every figure of the series, whichever
# subset a figure draws. Chapter 07's deletion curves (saliency, IG, feature ablation, exact Shapley, Grad-CAM) take
# five different colours, none the grey that is near random's; the rest repeat a colour with another marker
BOOK_METHODS = ("saliency", "integrated_gradients", "feature_ablation", "gradient_shap", "exact_shapley",
                "grad_cam", "integrated_gradients_mean", "shapley_sampling", "pixel_ig", "input_x_gradient",
                "deeplift", "ifiv_mean")
METHOD_MARKS = ("s", "^", "D", "v", "P", "X", "*", "h")  # a marker shape per method, beside its colour
_FIXED_LOOKS = {"ifiv": {"color": "black", "marker": "o", "ls": "-"},
                "random": {"color": "0.6", "marker": "o", "ls": "--"},
                "oracle": {"color": "black", "marker": "*", "ls": ":"}}


def method_look(name: str) -> dict:
    """One method's look, ``{"color", "marker", "ls"}``, fixed for the whole series: IFIV black, random grey, the
    oracle a black star; the others of :data:`BOOK_METHODS` take :data:`CATEGORICAL` in order, a marker shape
    each, and dash-dotted lines once the colours repeat (so no two methods share colour and marker). A method
    outside the book's list gets a look from its name, the same on every run."""
    if name in _FIXED_LOOKS:
        return dict(_FIXED_LOOKS[name])
    known = name in BOOK_METHODS
    k = BOOK_METHODS.index(name) if known else len(BOOK_METHODS) + zlib.crc32(name.encode()) % 36
    return {"color": CATEGORICAL[k % len(CATEGORICAL)], "marker": METHOD_MARKS[k % len(METHOD_MARKS)],
            "ls": "-" if k < len(CATEGORICAL) else "-."}


def fit_width(width: float) -> float:
    """``width`` in inches, capped at the book's column (:data:`MAX_WIDTH`)."""
    return min(float(width), MAX_WIDTH)


__all__ = ["CMAP", "LOWERS", "RAISES", "MIN_FONT", "MAX_WIDTH", "TERMS", "signed_limit", "bar_colors",
           "text_color", "annotate_cells", "mark", "marker_legend", "plot_key", "fit_width", "method_look"]
