"""Methods and their names on a figure: one look per method (colour and marker shape, the same in every figure
of a report), direct labels, each name set where it overlaps no other name and no point, and the figure that
needs both, accuracy against cost (chapter 07)."""
from __future__ import annotations

import numpy as np
from matplotlib.transforms import Bbox

from ..evaluate.metrics import method_name, metric_name
from . import style
from .outfits import _axes


def method_styles(methods) -> dict:
    """Each method's look, ``{method: {"color", "marker", "ls"}}``, the same in every figure of the series
    (:func:`~xfashion.viz.style.method_look`): IFIV black, random grey, the others fixed by the book's method
    list, not by the subset a figure draws."""
    return {m: style.method_look(m) for m in methods}


def place_labels(ax, x, y, labels, pad: float = 2.0) -> list:
    """Name each point ``(x[k], y[k])`` of ``ax`` at the first place around it, nearest first, where the name
    overlaps no other name, no point and stays inside the axes; a name set further out gets a thin line to
    its point. Call it once the axes' limits and the figure's layout are final. Returns the texts."""
    renderer = ax.figure.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    points = ax.transData.transform(np.c_[x, y])
    taken = [Bbox.from_extents(px - 7, py - 7, px + 7, py + 7) for px, py in points]
    texts = []
    # the most crowded points choose first, while there is room around them
    crowd = [int((np.hypot(*(points - p).T) < 60).sum()) for p in points]
    for k in sorted(range(len(labels)), key=lambda k: -crowd[k]):
        for dist in (7, 16, 28, 42, 60):
            for dx, dy in ((1, 0), (-1, 0), (0.7, 0.8), (0.7, -0.8), (-0.7, 0.8), (-0.7, -0.8), (0, 1), (0, -1)):
                where = {"xytext": (dx * dist, dy * dist), "textcoords": "offset points", "fontsize": style.MIN_FONT,
                         "ha": "left" if dx > 0 else "right" if dx < 0 else "center",
                         "va": "center" if dy == 0 else "bottom" if dy > 0 else "top"}
                text = ax.annotate(labels[k], (x[k], y[k]), **where)  # measured without its line, which ends
                box = text.get_window_extent(renderer).padded(pad)  # at the point and so would always collide
                text.remove()
                inside = frame.containsx(box.x0) and frame.containsx(box.x1) and frame.containsy(box.y0) \
                    and frame.containsy(box.y1)
                if inside and not any(box.overlaps(other) for other in taken):
                    taken.append(box)
                    line = {"arrowstyle": "-", "color": "0.35", "lw": 0.8, "shrinkA": 0, "shrinkB": 4}
                    texts.append(ax.annotate(labels[k], (x[k], y[k]), **where, arrowprops=line if dist > 7 else None))
                    break
            else:
                continue
            break
        else:  # nowhere free: beside the point, overlapping (said, not hidden)
            texts.append(ax.annotate(labels[k], (x[k], y[k]), xytext=(7, 0), textcoords="offset points",
                                     va="center", fontsize=style.MIN_FONT))
    return texts


def _apart(ax, x, y, gap: float = 10.0) -> np.ndarray:
    """``x`` (data) with markers that would overlap on the page moved right, leftmost first, until no two centres
    lie within ``gap`` points; ``y`` never moves. Call it once the axes' limits and layout are final."""
    at = ax.transData.transform(np.c_[x, np.nan_to_num(y)])
    gap *= ax.figure.dpi / 72
    order = [k for k in np.argsort(at[:, 0], kind="stable") if not np.isnan(y[k])]
    for i, k in enumerate(order):
        moved = True
        while moved:  # a step clear of one earlier marker may land on another
            moved = False
            for j in order[:i]:
                dy = abs(at[k, 1] - at[j, 1])
                if dy < gap and at[k, 0] < at[j, 0] + np.sqrt(gap ** 2 - dy ** 2) - 1e-9:
                    at[k, 0], moved = at[j, 0] + np.sqrt(gap ** 2 - dy ** 2), True
    return ax.transData.inverted().transform(at)[:, 0]


def plot_accuracy_vs_cost(report, metric: str = "item_top1", ax=None):
    """Detection accuracy against milliseconds per outfit (log scale), one marker per method, named beside it.

    Each method keeps its look of the deletion curves (:func:`method_styles`: IFIV black, random grey, the
    others the series' categorical colours and a marker shape each). Markers that would overlap (Grad-CAM and
    exact Shapley in chapter 07, IFIV and feature ablation on some data seeds) are set apart along the time
    axis only, by a marker's width or two, far less than the timings move from run to run (a factor of two or
    three); accuracy is never moved. Every name takes the first place around its marker that overlaps no
    other name or marker, with a thin line to the marker when it has to sit further out.
    """
    fig, ax = _axes(ax, size=(style.MAX_WIDTH, 4.8))
    acc = report.per_case.groupby("method")[metric].mean()
    ms = report.cost["ms_per_outfit"]
    looks = method_styles(ms.index)
    x, y = np.log10(ms.to_numpy(dtype=float)), acc.reindex(ms.index).to_numpy(dtype=float)
    ceiling, floor = acc.get("oracle", np.nan), report.random_expected[metric]
    ax.axhline(ceiling, color="k", ls=":", lw=1)
    ax.axhline(floor, color="0.4", ls="--", lw=1)
    ax.set_xscale("log")
    ax.set_xlim(10 ** (np.nanmin(x) - 0.5), 10 ** (np.nanmax(x) + 1.3))  # room for the names on either side
    ax.set_ylim(min(floor, np.nanmin(y)) - 0.06, (ceiling if ceiling == ceiling else np.nanmax(y)) + 0.06)
    ax.set_xlabel("ms per outfit, this CPU (log scale) ↓", fontsize=style.MIN_FONT)
    ax.set_ylabel(f"{metric_name(metric, arrow=True)} (all cases)", fontsize=style.MIN_FONT)
    ax.tick_params(labelsize=style.MIN_FONT)
    right = ax.get_xlim()[1]
    if ceiling == ceiling:
        ax.text(right, ceiling, "oracle (the ceiling) ", ha="right", va="bottom", fontsize=style.MIN_FONT)
    ax.text(right, floor, "chance: a random ranking ", ha="right", va="top", fontsize=style.MIN_FONT, color="0.3")
    fig.tight_layout()
    at = _apart(ax, ms.to_numpy(dtype=float), y)
    for k, m in enumerate(ms.index):
        ax.scatter(at[k], acc[m], s=55, color=looks[m]["color"], marker=looks[m]["marker"], edgecolor="k",
                   linewidth=0.5, zorder=3 + k)
    keep = ~np.isnan(y)
    place_labels(ax, at[keep], y[keep], [method_name(m) for m in ms.index[keep]])
    return fig, ax
