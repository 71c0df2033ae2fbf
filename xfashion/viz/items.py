"""One item up close (chapters 01-02): what the texture score measures, what the colour histogram's
temperature does, what the shape-texture embedding holds, and the sentences those chapters say of their run.

Plain functions (data in, a figure or a sentence out) and chapter 02's two explorers, over :func:`tau_view` and
:func:`~xfashion.viz.outfits.recolor_view`, so a headless run draws the same view the controls redraw.
"""
from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from IPython.display import display
from matplotlib.patches import Patch, Rectangle

from ..analysis import embedding_map
from ..data import CATEGORIES, COLOR_NAMES, GARMENT_SLOTS, PALETTE, SLOTS, Catalog
from ..evaluate.sentences import group_name, item_name, rule_name
from ..features import SHADE_LEVELS, ColorHistogram
from ..outfits import outfit_violations
from ..rendering import garment_alpha
from ..training import roc_auc
from . import style
from .outfits import recolor_view
from .widgets import Explorer, say

PACKAGE_TAU = 60.0  # the temperature xf.ColorHistogram uses by default (its squared Delta E)
TAUS = (1, 2, 5, 10, 20, 60, 100, 200, 600, 1000, 3000)  # about evenly spaced in log tau; 600 is the chapter's other


# ----------------------------------------------------------------------------- the texture score (chapter 01)
def texture_map(images) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pixel, what the texture score averages: ``(energy, inside, garment)``, each (n, 28, 28).

    ``energy`` is |pixel - mean of its 3 x 3 neighbourhood| on the image scaled to its brightest
    pixel; ``garment`` the pixels brighter than the black background; ``inside`` the garment eroded
    by two pixels (the silhouette's edge is not a print). The texture score is ``energy`` averaged
    over ``inside``: :func:`xfashion.data.texture_score`.
    """
    grey = torch.as_tensor(np.asarray(images), dtype=torch.float32).reshape(-1, 1, 28, 28) / 255.0
    g = grey / grey.flatten(1).amax(1).clamp_min(1e-3)[:, None, None, None]
    blur = F.avg_pool2d(F.pad(g, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    garment = (grey > 0.02).float()
    inside = (-F.max_pool2d(-garment, 5, stride=1, padding=2)).clamp(0, 1)
    return (g - blur).abs()[:, 0].numpy(), inside[:, 0].numpy(), garment[:, 0].numpy()


def mask_holes(images) -> np.ndarray:
    """Per image, the pixels inside the garment's silhouette that the rendering's alpha mask leaves out (alpha
    below one half): the holes through which an item picture's grey background shows. Bool, (n, 28, 28)."""
    from scipy.ndimage import binary_fill_holes

    alpha = garment_alpha(torch.as_tensor(np.asarray(images), dtype=torch.float32).reshape(-1, 28, 28) / 255.0)
    kept = alpha.numpy() >= 0.5
    return np.stack([binary_fill_holes(k) & ~k for k in kept])


def plot_busy(catalog: Catalog, examples: dict, per_row: int = 4):
    """Garments along the texture score, each as its real grey photo beside the map the score averages.

    ``examples`` maps a row's name to item ids (:func:`xfashion.analysis.busy_examples`); the
    first ``per_row`` of each are drawn. One colour scale for every map, so a brighter map is a busier
    print; garment pixels the score leaves out (the outline, and stripes as dark as the background) are faded.
    """
    rows = {name: np.asarray(items)[:per_row] for name, items in examples.items()}
    fig, axes = plt.subplots(len(rows), 2 * per_row, figsize=(style.MAX_WIDTH, 1.75 * len(rows) + 0.5),
                             squeeze=False, layout="constrained")
    maps = {name: texture_map(catalog.images[items]) for name, items in rows.items()}
    norm = plt.Normalize(0, max(float((e * g).max()) for e, _, g in maps.values()))
    for row, (name, items) in zip(axes, rows.items()):
        for k, (i, e, inside, garment) in enumerate(zip(items, *maps[name])):
            photo, heat = row[2 * k], row[2 * k + 1]
            photo.imshow(catalog.images[i], cmap="gray", vmin=0, vmax=255)
            weight = (inside + 0.25 * (garment - inside))[..., None]  # 1 averaged, 0.25 left out, 0 background
            heat.imshow(plt.get_cmap("magma")(norm(e * garment))[..., :3] * weight
                        + style.ITEM_BACKGROUND * (1 - weight))
            photo.set_title(f"{CATEGORIES[catalog.category[i]]}\ntexture {catalog.texture[i]:.3f}",
                            fontsize=style.MIN_FONT, loc="left", fontweight="bold" if catalog.busy[i] else "normal")
            for ax in (photo, heat):
                ax.set_xticks([])
                ax.set_yticks([])
        row[0].set_ylabel(name, fontsize=style.MIN_FONT + 1)
    bar = fig.colorbar(plt.cm.ScalarMappable(norm, "magma"), ax=axes, shrink=0.7, pad=0.01)
    bar.set_label("pixel's distance from its 3 x 3 mean", fontsize=style.MIN_FONT)
    bar.ax.tick_params(labelsize=style.MIN_FONT)
    fig.suptitle("each garment: its photo, then the map its texture score averages (faded: left out)\n"
                 f"busy: a score of {catalog.busy_threshold:.3f} or more, in bold", fontsize=style.MIN_FONT + 1)
    return fig, axes


def negative_sentence(catalog: Catalog, original, negative, position: int, violations, draws: int) -> str:
    """What chapter 01's hand-made negative came to: the draws it took, the rules the new item breaks, whom
    the stylist blames beside it."""
    name = lambda i: f"{COLOR_NAMES[catalog.color[i]]} {CATEGORIES[catalog.category[i]]}"  # noqa: E731
    others = sorted({int(k) for v in violations for k in v.items if k != position})
    rules = " and ".join(f"`{r}`" for r in sorted({v.rule for v in violations}))
    said = (f"It took {draws} draw{'s' * (draws != 1)}: the {name(negative[position])} that replaced the "
            f"{name(original[position])} breaks {rules}. ")
    if not others:
        return said + "The stylist blames the new item alone."
    also = " and the ".join(name(negative[k]) for k in others)
    return said + (f"The stylist blames the new item, and also the {also}, "
                   f"which {'was' if len(others) == 1 else 'were'} in the good outfit already: from the outfit alone, "
                   "nobody can tell which item of a clash came last.")


def blame_shares(catalog: Catalog, items) -> pd.DataFrame:
    """The oracle's blame of one outfit, violation by violation: a row per violation with each item's share of its
    one unit, a last row of the shares summed per item, and a ``total`` column (1 per violation)."""
    items = np.asarray(items)
    found = outfit_violations(catalog, items)
    rows = [[1 / len(v.items) if k in v.items else 0.0 for k in range(len(items))] for v in found]
    table = pd.DataFrame(rows + [np.sum(rows, 0) if rows else [0.0] * len(items)],
                         index=[f"{rule_name(v.rule)} ({group_name(v.group)})" for v in found] + ["blame per item"],
                         columns=[f"{k}: {COLOR_NAMES[catalog.color[i]]} {CATEGORIES[catalog.category[i]]}"
                                  for k, i in enumerate(items)])
    return table.assign(total=table.sum(axis=1))


# ----------------------------------------------------------------------------- the colour histogram (chapter 02)
def pixel_votes(catalog: Catalog, item: int, tau: float) -> tuple[np.ndarray, np.ndarray]:
    """Each garment pixel's soft vote over the palette at temperature ``tau``: ``(votes (28, 28, 13), alpha)``.

    The alpha-weighted mean of ``votes`` is ``xf.ColorHistogram(tau)`` of the item (the tests check it).
    """
    if not tau > 0:
        raise ValueError(f"tau is a temperature in squared Delta E and must be above 0; got {tau}")
    rgba = catalog.render([item])[0]
    alpha = rgba[3]
    rgb = (rgba[:3] / alpha.clamp_min(1e-3)).clamp(0, 1).permute(1, 2, 0)
    with torch.no_grad():
        return ColorHistogram(tau)._votes(rgb).numpy(), alpha.numpy()


def palette_sentence(apart, level: int, k: int, k2: int, tau: float = PACKAGE_TAU) -> str:
    """How far apart the palette's colours lie in units of ``tau``: ``apart`` (shades, colours, colours) holds the
    squared Delta E from each shade of a colour to another colour's nearest shade; (level, k, k2) is its minimum."""
    apart = torch.as_tensor(apart)
    d, typical = float(apart[level, k, k2]), float(apart[torch.isfinite(apart)].median())
    shade = "" if SHADE_LEVELS[level] == 1 else f"the {SHADE_LEVELS[level]:.0%} shade of "
    return (f"The two closest palette colours are {shade}{COLOR_NAMES[k]} and {COLOR_NAMES[k2]}: {d:.0f} squared "
            f"Delta E apart, {d / tau:.1f} temperatures at tau = {tau:g}, so a pixel exactly on the first gives the "
            f"second {np.exp(-d / tau):.0%} of the weight it gives the first. The median pair lies {typical:,.0f} "
            f"apart, {typical / tau:.0f} temperatures: a weight of {np.exp(-typical / tau):.0e}"
            + (", nothing." if typical / tau > 15 else "."))


def tau_items(catalog: Catalog, split: str = "test") -> list:
    """Menu entries (name, item): per palette colour, the garment whose histogram at the package's tau
    keeps the least mass on its own colour (its shades lie farthest from the palette's)."""
    hist, out = ColorHistogram(PACKAGE_TAU), []
    for c, colour in enumerate(COLOR_NAMES):
        pool = catalog.find(color=colour, split=split)[:300]
        if len(pool):
            with torch.no_grad():
                own = hist(catalog.render(pool))[:, c]
            out.append((item_name(catalog, int(pool[int(own.argmin())]), slot=False), int(pool[int(own.argmin())])))
    return out


def tau_view(catalog: Catalog, item: int, tau: float = PACKAGE_TAU):
    """One item's colour histogram at temperature ``tau`` against the package's (tau = 60), and where the
    garment's pixels split their vote. Returns (figure, sentence)."""
    votes, alpha = pixel_votes(catalog, item, tau)
    share = (votes * alpha[..., None]).sum((0, 1)) / alpha.sum()
    base_votes, _ = pixel_votes(catalog, item, PACKAGE_TAU)
    base = (base_votes * alpha[..., None]).sum((0, 1)) / alpha.sum()
    own = int(catalog.color[item])
    fig, (pic, where, bars) = plt.subplots(1, 3, figsize=(style.MAX_WIDTH, 3.4), layout="constrained",
                                           gridspec_kw={"width_ratios": [1, 1.25, 2.6]})
    pic.imshow(style.item_pixels(catalog.render([item]))[0])
    pic.set_title(item_name(catalog, item, slot=False), fontsize=style.MIN_FONT)
    # an unsigned share: grey, as the series draws unsigned maps (docs/conventions.md)
    shown = where.imshow(np.where(alpha > 0, votes[..., own], np.nan), cmap="Greys", vmin=0, vmax=1, zorder=1)
    # no garment there (background, holes): hatched, so that it never reads as white, a vote of zero
    where.add_patch(Rectangle((-0.5, -0.5), 28, 28, facecolor="white", edgecolor="0.6", hatch="////", lw=0, zorder=0))
    where.set_title(f"each pixel's vote for {COLOR_NAMES[own]}\n(hatched: no garment)", fontsize=style.MIN_FONT)
    for ax in (pic, where):
        ax.set_axis_off()
    fig.colorbar(shown, ax=where, shrink=0.8).ax.tick_params(labelsize=style.MIN_FONT)
    x = np.arange(len(COLOR_NAMES))
    bars.bar(x, share, color=[c.rgb for c in PALETTE], edgecolor="0.2", linewidth=0.8)
    bars.bar(x, base, fill=False, edgecolor="k", linewidth=1.6, linestyle="--")
    bars.set_xticks(x, COLOR_NAMES, rotation=90, fontsize=style.MIN_FONT)
    bars.set_ylim(0, 1)
    bars.set_ylabel("share of garment", fontsize=style.MIN_FONT)
    bars.tick_params(axis="y", labelsize=style.MIN_FONT)
    bars.legend(handles=[Patch(facecolor=PALETTE[own].rgb, edgecolor="0.2", label=f"tau = {tau:g}"),
                         Patch(fill=False, edgecolor="k", linewidth=1.6, linestyle="--",
                               label=f"tau = {PACKAGE_TAU:g} (the package's)")],
                fontsize=style.MIN_FONT, loc="upper left" if own > 6 else "upper right")
    low, high = np.percentile(votes[..., own][alpha >= 0.5], [5, 95])  # the middle panel's range, bar stray pixels
    order = np.argsort(-np.where(x == own, -1, share))
    second = int(order[0])
    spread = int((share > 0.01).sum())
    said = (f"At tau = {tau:g}, {share[own]:.0%} of the {COLOR_NAMES[own]} {CATEGORIES[catalog.category[item]]} votes "
            f"{COLOR_NAMES[own]} "
            f"({base[own]:.0%} at the package's tau = {PACKAGE_TAU:g}); "
            + (f"no other colour gets more than {max(share[second], 0.001):.1%}." if share[second] < 0.01 else
               f"the largest other share goes to {COLOR_NAMES[second]}, {share[second]:.0%}, and {spread} of the 13 "
               f"colours hold more than 1%.")
            + f" In the middle panel, nine in ten of the garment's pixels give {COLOR_NAMES[own]} {low:.0%} to "
            f"{high:.0%} of their vote.")
    return fig, said


def leak_table(color: int, tau: float) -> pd.DataFrame:
    """Why a colour's votes leak where they do: for a pixel of ``color`` at the darkest and at the full shading
    level, the three other palette colours nearest in CIELAB (at their nearest shade), the squared Delta E to each
    and the weight ``tau`` gives it beside ``color``'s own, exp(-distance / tau)."""
    refs = ColorHistogram(tau).refs  # (shades, colours, 3) in CIELAB
    color = int(color)
    d2 = ((refs[:, color, None, None] - refs[None]) ** 2).sum(-1).amin(1)  # pixel's shade x colour, nearest shade
    rows = []
    for level, words in ((0, f"shaded to {SHADE_LEVELS[0]:.0%}"), (-1, "unshaded")):
        for k in [int(k) for k in d2[level].argsort() if k != color][:3]:
            d = float(d2[level, k])
            rows.append({f"{COLOR_NAMES[color]} pixel": words, "nearest colour": COLOR_NAMES[k],
                         "squared Delta E": round(d), f"weight at tau = {tau:g}": f"{np.exp(-d / tau):.0%}"})
    return pd.DataFrame(rows).set_index([f"{COLOR_NAMES[color]} pixel", "nearest colour"])


TAU_HINT = ("Try: pick an item, slide tau up from the package's 60 (the slider's readout marks it) to 3000, then "
            "down to 1. Each step multiplies tau (by 1.7 to 3) rather than adding to it, because tau divides each "
            "distance: a vote changes with tau's ratio to the distances, so every step changes the votes about alike. "
            "You should see, as tau grows, the bar of the item's own colour shrink and its mass spread to the palette "
            "colours nearest in CIELAB, the map of votes fading first where the garment's shading lies nearest another "
            "palette colour; as tau falls, the last leaks vanish and the histogram turns one-hot. One-hot is the right "
            "answer for an item dyed one colour; the softness is there so that a gradient can pass (chapter 05): with "
            "tau too small each pixel's vote is a step with no slope, with tau too large the colours blur together.")


def tau_explorer(catalog: Catalog, split: str = "test"):
    """ipywidgets: an item (per colour, its softest garment) and the temperature tau; :func:`tau_view` redraws.
    The slider's readout names the package's tau (60) when it stands there."""
    options = tau_items(catalog, split)
    start = next((i for name, i in options if name.endswith("(white)")), options[0][1])
    item = widgets.Dropdown(options=options, value=start, description="item", layout=widgets.Layout(width="320px"))
    steps = [(f"{t} (package)" if t == PACKAGE_TAU else str(t), t) for t in TAUS]
    tau = widgets.SelectionSlider(options=steps, value=int(PACKAGE_TAU), description="tau",
                                  layout=widgets.Layout(width="560px"), style={"description_width": "40px"})

    def view(item=start, tau=int(PACKAGE_TAU)):
        say(TAU_HINT)
        fig, said = tau_view(catalog, item, tau)
        say(said)
        display(fig)
        plt.close(fig)

    return Explorer(view, item=item, tau=tau)


RECOLOR_HINT = ("Try: slide to another item, then pick colours from the menu, the item's own among them. You should "
                "see the colour group's mass leave the grey bars (the original colour) for the bar of the colour you "
                "picked, while the shape-texture group's two lines lie on top of each other, a relative change of "
                "float rounding: the CNN sees the colour divided out. Picking the item's own colour moves nothing.")


def recolor_explorer(catalog: Catalog, extractor, items=None, item: int | None = None, color: str = "red"):
    """ipywidgets: an item (the slider reads out its catalog id) and a colour; both feature groups redraw.

    ``items`` defaults to the first 500 test items; ``item`` and ``color`` are where the explorer opens (an
    ``item`` outside ``items`` is put first), so a notebook opens it on the view it draws without a kernel.
    """
    items = [int(i) for i in (np.flatnonzero(catalog.split == "test")[:500] if items is None else items)]
    item = items[0] if item is None else int(item)
    items = items if item in items else [item, *items]
    if color not in COLOR_NAMES:
        raise ValueError(f"color must be a palette colour, one of {', '.join(COLOR_NAMES)}; got {color!r}.")

    def view(item=item, color=color):
        say(RECOLOR_HINT)
        fig, _ = recolor_view(catalog, extractor, item, color)
        display(fig)
        plt.close(fig)

    return Explorer(view, item=widgets.SelectionSlider(options=[(str(i), i) for i in items], index=items.index(item),
                                                       description="item"),
                    color=widgets.Dropdown(options=COLOR_NAMES, value=color, description="colour"))


# ----------------------------------------------------------------------------- the shape-texture embedding (chapter 02)
def plot_embedding_map(catalog: Catalog, table, n: int = 3000, axes=None):
    """The shape-texture embedding in two PCA dimensions, one small panel per category over all the points in grey.

    A category's points take its region's colour (garments, shoes, bags): regions apart, categories mixing.
    """
    if axes is None:
        _, axes = plt.subplots(2, 5, figsize=(style.MAX_WIDTH, 4.4), sharex=True, sharey=True)
    fig = axes.flat[0].figure
    coords, rows = embedding_map(table, n)
    category, slot = catalog.category[rows], np.array(SLOTS)[catalog.slot[rows]]
    region = np.where(np.isin(slot, GARMENT_SLOTS), "garment", slot)
    color = style.category_colors(["garment", "shoes", "bag"])
    order = ["T-shirt/top", "Shirt", "Pullover", "Coat", "Dress", "Trouser", "Sandal", "Sneaker", "Ankle boot", "Bag"]
    for name, ax in zip(order, axes.flat):  # the tops and the coat, which mix, side by side
        ax.scatter(*coords.T, s=2, color="0.85", linewidth=0, rasterized=True)
        own = category == CATEGORIES.index(name)
        ax.scatter(*coords[own].T, s=3, color=color[region[own][0]] if own.any() else "k", linewidth=0,
                   rasterized=True)
        ax.set_title(name, fontsize=style.MIN_FONT)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.supxlabel("first principal component", fontsize=style.MIN_FONT)
    fig.supylabel("second principal component", fontsize=style.MIN_FONT)
    fig.suptitle("Shape-texture embedding (PCA): each category's items over all items (grey)", fontsize=style.MIN_FONT)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    fig.legend(handles=[Patch(color=c, label=r) for r, c in color.items()], loc="upper center", ncol=3,
               bbox_to_anchor=(0.5, 0.955), frameon=False, fontsize=style.MIN_FONT)
    return fig, axes


def map_neighbours(catalog: Catalog, table, k: int = 10, seed: int = 0) -> tuple[pd.Series, pd.Series]:
    """On the embedding's 2-D map (:func:`xfashion.analysis.embedding_map`, the points drawn), the mean share of a
    point's ``k`` nearest neighbours in its own region (garment, shoes, bag) and in its own category."""
    coords, rows = embedding_map(table, seed=seed)
    category = np.array(CATEGORIES)[catalog.category[rows]]
    region = np.where(np.isin(catalog.slot[rows], [SLOTS.index(s) for s in GARMENT_SLOTS]), "garment",
                      np.array(SLOTS)[catalog.slot[rows]])
    near = torch.cdist(torch.tensor(coords), torch.tensor(coords)).topk(k + 1, largest=False).indices[:, 1:].numpy()
    own_region = pd.Series((region[near] == region[:, None]).mean(1)).groupby(region).mean()
    own_category = pd.Series((category[near] == category[:, None]).mean(1)).groupby(category).mean()
    return own_region, own_category.reindex(CATEGORIES)


def map_sentence(own_region: pd.Series, own_category: pd.Series, k: int = 10) -> str:
    """:func:`map_neighbours`'s shares, said."""
    regions = ", ".join(f"{own_region[r]:.0%} for {name}" for r, name in
                        [("garment", "garments"), ("shoes", "shoes"), ("bag", "bags")])
    kinds = ", ".join(f"{own_category[c]:.0%} for {name}" for c, name in
                      [("Trouser", "trousers"), ("Dress", "dresses"), ("Coat", "coats"), ("Pullover", "pullovers"),
                       ("Shirt", "shirts")])
    return (f"Of a point's {k} nearest neighbours on the map, the share in its own region averages {regions}; the "
            f"share in its own category, {kinds}.")


def linear_probe(x, target, busy, folds: int = 5, ridge: float = 1.0, seed: int = 0):
    """Ridge regression from features ``x`` to ``target``, cross-validated over ``folds`` random folds.

    Each fold's weights solve (X'X + ridge I) w = X'y on the other folds (X with a bias column).
    Returns (per-fold DataFrame with ``R²`` of ``target`` and ``AUC busy`` of the prediction as a ranking of
    ``busy`` against the rest, the held-out prediction of every row).
    """
    x = torch.cat([torch.as_tensor(x).double(), torch.ones(len(x), 1, dtype=torch.float64)], 1)
    target, busy = torch.as_tensor(target).double(), np.asarray(busy)
    fold = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed)) % folds
    pred, rows = torch.empty(len(x), dtype=torch.float64), []
    for f in range(folds):
        fit, held = fold != f, fold == f
        w = torch.linalg.solve(x[fit].T @ x[fit] + ridge * torch.eye(x.shape[1], dtype=x.dtype), x[fit].T @ target[fit])
        pred[held] = x[held] @ w
        y = target[held]
        rows.append({"R²": 1 - float(((y - pred[held]) ** 2).sum() / ((y - y.mean()) ** 2).sum()),
                     "AUC busy": roc_auc(pred[held], busy[held.numpy()])})
    return pd.DataFrame(rows), pred.numpy()


def busy_probes(catalog: Catalog, tables, items, seed: int = 0) -> tuple[dict, np.ndarray]:
    """Chapter 02's three probes of the texture score over ``items``: from the shape-texture group, from the
    colour group, and from the shape-texture group against shuffled scores (chance). Returns (folds per probe,
    the shape-texture probe's held-out prediction)."""
    items = np.asarray(items)
    texture, busy = catalog.texture[items], catalog.busy[items]
    shuffle = torch.randperm(len(items), generator=torch.Generator().manual_seed(seed)).numpy()
    (st, predicted), (col, _), (chance, _) = (
        linear_probe(tables["shape_texture"][items], texture, busy, seed=seed),
        linear_probe(tables["color"][items], texture, busy, seed=seed),
        linear_probe(tables["shape_texture"][items], texture[shuffle], busy[shuffle], seed=seed))
    return {"shape_texture": st, "color": col, "chance (shuffled scores)": chance}, predicted


def probe_sentence(probes: dict, predicted, busy, threshold: float) -> str:
    """Chapter 02's linear probes of the texture score, said: ``probes`` maps a probe's name to its folds
    (columns ``R²`` and ``AUC busy``); ``predicted`` is the shape-texture probe's held-out prediction."""
    st, col, chance = (probes[k].mean() for k in ("shape_texture", "color", "chance (shuffled scores)"))
    called = np.asarray(predicted) >= threshold  # the probe's own busy flag
    busy = np.asarray(busy, dtype=bool)
    return (f"The shape-texture embedding carries the texture score: a linear probe explains {st['R²']:.0%} of its "
            f"variance on held-out garments and ranks busy above plain with AUC {st['AUC busy']:.3f}; the colour group "
            f"gives R² {col['R²']:.3f} and AUC {col['AUC busy']:.3f}, shuffled scores R² {chance['R²']:.3f} and AUC "
            f"{chance['AUC busy']:.3f}. But busy is a threshold, and the garments near it are the hard ones: calling a "
            f"garment busy when its predicted score passes the threshold, the probe misses "
            f"{(~called[busy]).mean():.0%} of the busy garments and flags {called[~busy].mean():.0%} of the plain "
            "ones.")


def probe_table(probes: dict) -> pd.DataFrame:
    """Each probe's mean over its folds, ± the standard error (the folds' standard deviation / sqrt(folds))."""
    return pd.DataFrame({name: {k: f"{v.mean():.3f} ± {v.std(ddof=1) / len(v) ** 0.5:.3f}" for k, v in folds.items()}
                         for name, folds in probes.items()}).T
