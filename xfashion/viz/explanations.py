"""Figures of explanations and their evaluation (chapters 04-09), one function each.

Same conventions as :mod:`xfashion.viz.outfits`: data in, ``(fig, ax)`` or ``(fig, axes)`` out,
an optional ``ax``; ``explain_view`` is the plain view the explanation explorer calls.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch.nn.functional as F
from PIL import Image

from ..data import CATEGORIES, COLOR_NAMES, PALETTE, SLOTS, Catalog, to_display
from ..evaluate.oracle import faulted_pairs
from ..explain import attribute, with_images
from ..explain.gradient import input_gradients
from ..explain.pairs import attribute_pairs
from ..groups import COLOR_GROUP
from ..outfits import outfit_violations
from ..scorer import outfit_features, score
from ..utils import check_count
from .outfits import _axes, heatmap, plot_outfit


# ----------------------------------------------------------------------------- explanations (04, 05)
def _bar_colors(values):
    return ["seagreen" if v >= 0 else "crimson" for v in values]


def _attribution_strip(images: list, names: list, vals: np.ndarray, groups: list, framed: int | None,
                       ylabel: str):
    """Item pictures over per-group signed bars on one shared scale; item ``framed`` gets a red frame."""
    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(max(3.8, 1.9 * n), 4.2), squeeze=False,
                             gridspec_kw={"height_ratios": [1.1, 1]})
    lim = max(1e-9, np.abs(vals).max()) * 1.15
    for k in range(n):
        axes[0, k].imshow(images[k])
        axes[0, k].set_xticks([])
        axes[0, k].set_yticks([])
        axes[0, k].set_title(names[k], fontsize=8)
        if k == framed:
            for side in axes[0, k].spines.values():
                side.set_edgecolor("crimson")
                side.set_linewidth(2.5)
        axes[1, k].bar(range(len(groups)), vals[k], color=_bar_colors(vals[k]))
        axes[1, k].axhline(0, color="k", lw=0.6)
        axes[1, k].set_ylim(-lim, lim)
        axes[1, k].set_xticks(range(len(groups)), [g.replace("_", "-\n") for g in groups], fontsize=7)
        if k:
            axes[1, k].set_yticklabels([])
    axes[1, 0].set_ylabel(ylabel)
    return fig, axes


def plot_explanation(catalog: Catalog, items, attribution, b: int = 0, colors=None, title: str | None = None,
                     prefix: str = "", score: float | None = None):
    """An outfit strip with each item's attribution per group as signed bars (red lowers, green raises).

    The culprit gets a red frame only when the outfit is bad: its logit ``score`` is below zero or,
    without a score, the oracle finds a violation; a good outfit has a lowest item, not a culprit.
    ``title`` replaces the default title (method, culprit, oracle verdict); ``prefix`` goes before it.
    """
    items = np.asarray(items)
    items = items[items >= 0]
    colors = catalog.color[items] if colors is None else np.asarray(colors)
    groups = attribution.groups
    pair_item, pair_group = (int(x[b]) for x in attribution.culprit())
    culprit_item = int(attribution.culprit_item()[b])
    verdict = outfit_violations(catalog, items, colors)
    framed = (score < 0) if score is not None else bool(verdict)
    images = list(to_display(catalog.render(items, colors)))
    names = [f"{COLOR_NAMES[c]}\n{CATEGORIES[catalog.category[i]]}" for i, c in zip(items, colors)]
    fig, axes = _attribution_strip(images, names, attribution.values[b, : len(items)].numpy(), groups,
                                   culprit_item if framed else None, attribution.method)
    oracle = "good" if not verdict else "bad: " + ", ".join(sorted({v.rule for v in verdict}))
    pair = "" if attribution.item_level else f", lowest pair: item {pair_item} {groups[pair_group]}"
    lead = "culprit" if framed else "lowest"
    fig.suptitle(prefix + (title or f"{attribution.method}: {lead} item {culprit_item}{pair} | oracle: {oracle}"),
                 fontsize=9)
    fig.tight_layout()
    return fig, axes


def plot_photo_explanation(data, feats, batch, attribution, b: int = 0, score: float | None = None):
    """A Polyvore outfit's product photos over its attribution bars (chapter 07).

    ``batch`` comes from :func:`xfashion.polyvore.outfit_batch` (its ``items`` are feature-table rows);
    unreadable photos show as grey. The lowest item is framed when ``score`` is below zero.
    """

    rows = batch.items[b][batch.mask[b]].tolist()
    item_of = {row: item for item, row in feats.index.items()}
    images = []
    for r in rows:
        try:
            with Image.open(data.image_path(item_of[r])) as im:
                images.append(np.asarray(im.convert("RGB").resize((96, 96))))
        except OSError:
            images.append(np.full((96, 96, 3), 200, np.uint8))
    names = [f"{data.items.slot[item_of[r]]}\n{item_of[r]}" for r in rows]
    culprit = int(attribution.culprit_item()[b])
    fig, axes = _attribution_strip(images, names, attribution.values[b, : len(rows)].numpy(), attribution.groups,
                                   culprit if score is not None and score < 0 else None,
                                   f"{attribution.method} (logit units)")
    verdict = "" if score is None else f" | logit {score:+.2f}: {'bad, culprit framed' if score < 0 else 'good'}"
    # the generated stand-in is labelled as such: its drawings are not Polyvore's photos
    where = "a Polyvore outfit" if data.is_real else "a fixture outfit (generated, not Polyvore)"
    fig.suptitle(f"{attribution.method} on {where}{verdict}", fontsize=9)
    fig.tight_layout()
    return fig, axes


def _heat_values(attribution, b: int) -> tuple:
    """One outfit's values and column names: an item-level method gets one column, its item values."""
    vals = attribution.values[b, : int(attribution.mask[b].sum())].numpy()
    if attribution.item_level:  # its groups only split one item value: one column says what it knows
        return vals.sum(-1, keepdims=True), ["item"]
    return vals, list(attribution.groups)


def plot_attribution_heatmap(attribution, b: int = 0, item_labels=None, ax=None, lim: float | None = None,
                             cbar: bool = False):
    """Items x groups heat map of one outfit's attributions (diverging, centred on zero).

    ``lim`` sets a symmetric colour range (default: this outfit's largest magnitude); an item-level
    method (Grad-CAM, pixel IG) shows one column of item values.
    """
    fig, ax = _axes(ax, size=(3.6, 3))
    vals, columns = _heat_values(attribution, b)
    lim = lim or max(1e-9, np.abs(vals).max())
    heatmap(vals, annot=True, fmt=".2f", cmap="RdYlGn", vmin=-lim, vmax=lim, cbar=cbar,
            xticklabels=[c.replace("_", "-\n") for c in columns],
            yticklabels=item_labels or [f"item {i}" for i in range(len(vals))], ax=ax, annot_kws={"fontsize": 8})
    ax.set_title(attribution.method)
    return fig, ax


def plot_pair_matrix(catalog: Catalog, items, pairs: dict, b: int = 0, colors=None, truth=None):
    """Pair values of one outfit, one heat map per method, the items' pictures on both axes.

    Each panel has its own symmetric colour scale centred on zero, with a colour bar (methods differ
    in units); red lowers the score. ``truth`` (i, j) frames the stylist's faulted pair.
    """
    items = np.asarray(items)
    n = len(items)
    cols = catalog.color[items] if colors is None else np.asarray(colors)
    thumbs = list(to_display(catalog.render(items, cols)))
    fig, axes = plt.subplots(1, len(pairs), figsize=(3.3 * len(pairs) + 0.6, 3.4), squeeze=False)
    for ax, (name, attr) in zip(axes[0], pairs.items()):
        vals = attr.values[b, :n, :n].numpy()
        lim = max(1e-9, float(np.abs(vals).max()))
        image = ax.imshow(vals, cmap="RdBu", vmin=-lim, vmax=lim)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
        for i in range(n):
            for j in range(n):
                if i != j:
                    ax.text(j, i, f"{vals[i, j]:.2f}", ha="center", va="center", fontsize=7)
        if truth is not None:
            for i, j in (truth, truth[::-1]):
                ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=2.2, ec="black"))
        ax.set_xticks(range(n), [""] * n)
        ax.set_yticks(range(n), [""] * n)
        for k, thumb in enumerate(thumbs):  # the items themselves, on both margins
            ax.imshow(thumb, extent=(k - 0.45, k + 0.45, n - 0.5 + 0.95, n - 0.5 + 0.05), clip_on=False)
            ax.imshow(thumb, extent=(-1.45, -0.55, k + 0.45, k - 0.45), clip_on=False)
        ax.set_xlim(-1.5, n - 0.5)
        ax.set_ylim(n + 0.5, -0.5)
        ax.set_frame_on(False)
        ax.set_title(name.replace("_", " "), fontsize=9)
    fig.tight_layout()
    return fig, axes


def plot_methods_panel(attributions: dict, b: int = 0, item_labels=None, ncols: int = 5):
    """Heat maps of several methods for one outfit, ``ncols`` to a row.

    The methods of one row share one symmetric colour range, shown by the row's colour bar, so their
    colours compare; item-level methods show one column of item values.
    """
    check_count(ncols, "ncols")
    n = len(attributions)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(2.5 * ncols + 0.8, 3.0 * nrows), squeeze=False,
                             layout="constrained")
    items = list(attributions.items())
    for r in range(nrows):
        row = items[r * ncols:(r + 1) * ncols]
        lim = max(max(1e-9, float(np.abs(_heat_values(a, b)[0]).max())) for _, a in row)
        for c, (name, attr) in enumerate(row):
            ax = axes[r, c]
            labels = item_labels if c == 0 else [""] * int(attr.mask[b].sum())
            plot_attribution_heatmap(attr, b, labels, ax=ax, lim=lim)
            ax.set_title(name.replace("_", " "), fontsize=9)
            ax.tick_params(axis="x", labelsize=8)
        mappable = plt.cm.ScalarMappable(plt.Normalize(-lim, lim), "RdYlGn")
        fig.colorbar(mappable, ax=axes[r, :].tolist(), shrink=0.85, pad=0.01, label="value (row scale)")
    for ax in list(axes.flat)[n:]:
        ax.set_axis_off()
    return fig, axes


def plot_gradcam(catalog: Catalog, items, attribution, b: int = 0, colors=None):
    """Grad-CAM maps (on the shape-texture CNN's last convolution) over each item, with a colour bar.

    The top row shows the items in their colours; the bottom row draws the signed map over a grey
    copy, in purple (lowers the score) and orange (raises it), so the map never mixes with the
    garment's own hue.
    """
    items = np.asarray(items)
    items = items[items >= 0]
    colors = catalog.color[items] if colors is None else np.asarray(colors)
    maps = attribution.extras["maps"][b, : len(items)]
    item_values = attribution.values[b, : len(items)].sum(-1)
    up = F.interpolate(maps[:, None], size=(28, 28), mode="bilinear", align_corners=False)[:, 0].numpy()
    lim = max(1e-9, np.abs(up).max())
    fig, axes = plt.subplots(2, len(items), figsize=(2.6 * len(items) + 1.0, 5.6), squeeze=False,
                             layout="constrained")
    imgs = to_display(catalog.render(items, colors))
    grey = imgs.mean(-1)
    for k in range(len(items)):
        axes[0, k].imshow(imgs[k])
        axes[0, k].set_title(f"{COLOR_NAMES[colors[k]]} {CATEGORIES[catalog.category[items[k]]]}", fontsize=9)
        axes[1, k].imshow(grey[k], cmap="gray", vmin=0, vmax=1)
        shown = axes[1, k].imshow(up[k], cmap="PuOr_r", vmin=-lim, vmax=lim, alpha=0.6)
        axes[1, k].set_title(f"item value {float(item_values[k]):+.2f}", fontsize=9)
        for ax in axes[:, k]:
            ax.set_axis_off()
    fig.colorbar(shown, ax=axes[1, :].tolist(), shrink=0.9, pad=0.01, label="Grad-CAM (signed)")
    fig.suptitle("Grad-CAM (signed, no ReLU) over a grey copy: purple regions lower the score, orange raise it",
                 fontsize=10)
    return fig, axes


def plot_color_drivers(model, batch, b: int = 0, item: int = 0, top: int = 3):
    """Inside one item's colour group: contribution (x * d score / dx) next to sensitivity (d score / dx).

    The colour histogram of an item is nearly one-hot, so the contribution sits on the item's own
    colour; the gradient over the whole palette says which colour would raise the score, to first
    order (the item's own colour is outlined).
    """
    groups = list(model.groups.names)
    grad = input_gradients(model, batch, groups)[COLOR_GROUP][b, item].numpy()
    x = batch.features[COLOR_GROUP][b, item].numpy()
    contrib, own = x * grad, int(np.argmax(x))
    fig, axes = plt.subplots(1, 2, figsize=(9, 2.9), gridspec_kw={"width_ratios": [1, 2.2]})
    order = np.argsort(np.abs(contrib))[::-1][:top]
    axes[0].barh([COLOR_NAMES[i] for i in order][::-1], contrib[order][::-1],
                 color=[PALETTE[i].rgb for i in order][::-1], edgecolor="k")
    axes[0].axvline(0, color="k", lw=0.6)
    axes[0].set_xlabel("x * d score / dx")
    axes[0].set_title(f"contribution: top {top} colours\n(sum = item {item}'s colour IFIV)", fontsize=9)
    axes[1].bar(range(len(PALETTE)), grad, color=[c.rgb for c in PALETTE],
                edgecolor=["crimson" if i == own else "k" for i in range(len(PALETTE))],
                linewidth=[2.5 if i == own else 0.6 for i in range(len(PALETTE))])
    axes[1].axhline(0, color="k", lw=0.6)
    axes[1].set_xticks(range(len(PALETTE)), COLOR_NAMES, rotation=60, ha="right", fontsize=7)
    axes[1].set_ylabel("d score / dx")
    axes[1].set_title(f"sensitivity: adding which colour would raise the score? (own colour {COLOR_NAMES[own]} "
                      "outlined)", fontsize=9)
    fig.tight_layout()
    return fig, axes


def explain_view(wb, index: int = 0, position: int = 0, color: str = "keep", replacement: int = -1,
                 method: str = "ifiv", split: str = "test"):
    """Explain a test outfit after an optional edit of one item (pure function behind the explorer).

    Parameters
    ----------
    wb : Workbench
    index : outfit index in ``split``
    position : which item to edit
    colour : a palette name, or 'keep'
    replacement : index into the same-slot items of ``split`` (-1 keeps the item)
    method : attribution method for the bars; Grad-CAM overlays are drawn too

    Returns
    -------
    (explanation figure, Grad-CAM figure, verdict): the verdict is a sentence on what the model and
    the stylist say of the edited outfit, and where they or the explanation disagree.
    """
    catalog = wb.catalog
    items, colors, batch = _edited_outfit(wb, index, position, color, replacement, split)
    batch = with_images(batch, catalog, colors[None])
    logit = float(score(wb.model, batch)[0])
    attr = attribute(wb.model, batch, method, **wb.options())
    fig, _ = plot_explanation(catalog, items, attr, 0, colors, score=logit,
                              prefix=f"logit {logit:+.2f} (p(good) {p_good(logit):.2f}) | ")
    cam = attribute(wb.model, batch, "grad_cam", **wb.options())
    fig2, _ = plot_gradcam(catalog, items, cam, 0, colors)
    return fig, fig2, verdict(catalog, items, colors, logit, attr)


def p_good(logit):
    """The sigmoid of a logit, without overflow for very bad outfits (float32 exp overflows past 88)."""
    return 0.5 * (1 + np.tanh(np.asarray(logit, dtype=np.float64) / 2))


def item_name(catalog: Catalog, item: int, color: int | None = None, slot: bool = True) -> str:
    """An item as a reader names it: 'shoes: Sneaker (red)', or 'Sneaker (red)' without its ``slot``."""
    color = catalog.color[item] if color is None else color
    name = f"{CATEGORIES[catalog.category[item]]} ({COLOR_NAMES[color]})"
    return f"{SLOTS[catalog.slot[item]]}: {name}" if slot else name


def swap_pool(catalog: Catalog, item: int, split: str = "test") -> np.ndarray:
    """The items of ``split`` in ``item``'s slot: what the explorer's ``replacement`` indexes."""
    pool = catalog.find(split=split)
    return pool[catalog.slot[pool] == catalog.slot[item]]


def verdict(catalog: Catalog, items, colors, logit: float, attr) -> str:
    """What the model and the stylist say of an outfit, and where they, or the explanation, disagree."""
    broken = outfit_violations(catalog, items, colors)
    model = f"The model says {'good' if logit > 0 else 'bad'} (p(good) {p_good(logit):.2f})"
    stylist = ("the stylist says good" if not broken else "the stylist says bad: " + ", ".join(
        f"{v.rule} ({v.group.replace('_', '-')}, " + " + ".join(item_name(catalog, items[k], colors[k], slot=False)
                                                           for k in v.items) + ")" for v in broken))
    sentence = f"{model}; {stylist}."
    if (logit > 0) == (not broken):
        sentence += " They agree."
    else:
        sentence += (" They disagree: the model misses the stylist's rule, so the explanation explains the "
                     "model's mistake, not the rule." if broken else
                     " They disagree: the model calls a good outfit bad; the explanation shows what it objects to.")
    if broken:  # also when the model misses the rule: its explanation then points elsewhere, and we say where
        (pos,), (group,) = (t.tolist() for t in attr.culprit())
        groups, named = {v.group for v in broken}, {k for v in broken for k in v.items}
        if not attr.item_level and attr.groups[group] not in groups:
            sentence += (f" Note: the explanation's lowest (item, group) is the {attr.groups[group].replace('_', '-')}"
                         f" of {item_name(catalog, items[pos], colors[pos])}, but the stylist's rule is about "
                         f"{' and '.join(sorted(g.replace('_', '-') for g in groups))}.")
        elif attr.item_level and pos not in named:
            sentence += (f" Note: the explanation's lowest item is {item_name(catalog, items[pos], colors[pos])}, "
                         "which no broken rule involves.")
    return sentence


def _edited_outfit(wb, index: int, position: int, color: str, replacement: int, split: str) -> tuple:
    """Outfit ``index`` of ``split`` after the explorer's edit: (items, colours, feature batch)."""
    catalog = wb.catalog
    items = wb.splits[split].outfit(index).copy()
    position = min(position, len(items) - 1)
    colors = catalog.color[items].copy()
    if replacement >= 0:
        pool = swap_pool(catalog, items[position], split)
        items[position] = pool[replacement % len(pool)]
        colors[position] = catalog.color[items[position]]
    if color != "keep":
        colors[position] = COLOR_NAMES.index(color)
    return items, colors, outfit_features(catalog, wb.feats, items, colors)


def pair_view(wb, index: int = 0, position: int = 0, color: str = "keep", replacement: int = -1,
              method: str = "second_order_ifiv", split: str = "test"):
    """The pair matrix of the same edited outfit as :func:`explain_view` (chapter 08's view in the explorer).

    The stylist's faulted pair, if exactly one, is framed; its pair rules are named in the title.
    """
    items, colors, batch = _edited_outfit(wb, index, position, color, replacement, split)
    pairs = attribute_pairs(wb.model, batch, method, means=wb.means)
    faulted = faulted_pairs(wb.catalog, items, colors)
    fig, axes = plot_pair_matrix(wb.catalog, items, {method: pairs}, colors=colors,
                                 truth=faulted[0][:2] if len(faulted) == 1 else None)
    said = ", ".join(f"{r} {list(p)}" for *p, r in faulted) or "no pair rule broken"
    axes[0, 0].set_title(f"{method.replace('_', ' ')} | the stylist: {said}", fontsize=8)
    return fig


def plot_repair(catalog: Catalog, repair: dict):
    """Before, after re-colouring and after replacement of the culprit, with scores and verdicts."""
    items, colors = np.asarray(repair["replace"][0]), np.asarray(repair["recolour"][1])
    original = repair["attribution"]
    rows = [("before", repair["recolour"][0], None), ("re-coloured", repair["recolour"][0], colors),
            ("replaced", items, repair["replace"][1])]
    n = int((np.asarray(repair["recolour"][0]) >= 0).sum())
    fig, axes = plt.subplots(3, n, figsize=(max(4.5, 1.75 * n), 6.6), squeeze=False)
    for row, (name, its, cols), (_, r) in zip(axes, rows, repair["table"].iterrows()):
        plot_outfit(catalog, its, cols, title=f"{name}: score {r.score:+.2f}", axes=row, show_blame=False)
    fig.suptitle(f"repair from the {original.method} culprit (item {repair['culprit']})", fontsize=10)
    fig.tight_layout()
    return fig, axes


# ----------------------------------------------------------------------------- swap evaluation (06)
def plot_swap_case(catalog: Catalog, cases, c: int, attributions: dict | None = None):
    """One swap case: the outfit after the swap (swapped item framed) and each method's culprit."""
    items, colors = cases.items[c], cases.colors[c]
    n = int((items >= 0).sum())
    fig, axes = plot_outfit(catalog, items[:n], colors[:n], show_blame=True,
                            title=f"{cases.kind[c]} swap of item {cases.position[c]} "
                                  f"(logit {cases.before[c]:+.1f} -> {cases.after[c]:+.1f})")
    for side in np.ravel(axes)[cases.position[c]].spines.values():
        side.set_edgecolor("royalblue")
        side.set_linewidth(3)
    if attributions:
        verdicts = [f"{m}: item {int(a.culprit_item()[c])}" for m, a in attributions.items()]
        fig.text(0.5, -0.02, " | ".join(verdicts), ha="center", va="top", fontsize=7, wrap=True)
    return fig, axes


# one colour per swap kind and per slot, the same in every figure
