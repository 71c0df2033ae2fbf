"""Figures of explanations and their evaluation (chapters 04-09), one function each.

Same conventions as :mod:`xfashion.viz.outfits`: data in, ``(fig, ax)`` or ``(fig, axes)`` out,
an optional ``ax``; ``explain_view`` is the plain view the explanation explorer calls.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch.nn.functional as F
from PIL import Image

from ..data import CATEGORIES, COLOR_NAMES, DEBIAN_DIR, PALETTE, Catalog
from ..evaluate.oracle import faulted_pairs
from ..evaluate.sentences import group_name, kind_name, p_good, rule_name, verdict
from ..explain import attribute, with_images
from ..explain.gradient import input_gradients
from ..explain.pairs import attribute_pairs
from ..groups import COLOR_GROUP
from ..outfits import outfit_blame, outfit_violations
from ..scorer import outfit_features, score
from ..utils import check_count
from . import style
from .evaluation import method_name, pair_row_name
from .outfits import _axes, heatmap, item_pixels, plot_outfit


# ----------------------------------------------------------------------------- explanations (04, 05)
def _group_label(group: str) -> str:
    return group_name(group).replace("-", "-\n")  # 'colour', 'shape-\ntexture': the prose's spelling


def _attribution_strip(images: list, names: list, vals: np.ndarray, groups: list, framed: int | None,
                       ylabel: str, blamed=(), swapped: int | None = None):
    """Item pictures over per-group signed bars on one shared scale, with the series' markers.

    ``framed`` is the method's culprit item (a black frame), ``blamed`` the items the stylist blames
    and ``swapped`` the swapped item (tags); see :mod:`xfashion.viz.style`.
    """
    n = len(images)
    fig, axes = plt.subplots(2, n, figsize=(style.fit_width(max(4.6, 1.9 * n)), 4.9), squeeze=False,
                             gridspec_kw={"height_ratios": [1.1, 1]})
    lim = style.signed_limit(vals) * 1.15
    for k in range(n):
        axes[0, k].imshow(images[k])
        axes[0, k].set_xticks([])
        axes[0, k].set_yticks([])
        axes[0, k].set_title(names[k], fontsize=style.MIN_FONT)
        if k == framed:
            style.mark(axes[0, k], "culprit")
        if k in blamed:
            style.mark(axes[0, k], "blamed")
        if k == swapped:
            style.mark(axes[0, k], "swapped")
        axes[1, k].bar(range(len(groups)), vals[k], color=style.bar_colors(vals[k]))
        axes[1, k].axhline(0, color="k", lw=0.6)
        axes[1, k].set_ylim(-lim, lim)
        axes[1, k].set_xticks(range(len(groups)), [_group_label(g) for g in groups], fontsize=style.MIN_FONT)
        axes[1, k].tick_params(axis="y", labelsize=style.MIN_FONT)
        if k:
            axes[1, k].set_yticklabels([])
    axes[1, 0].set_ylabel(ylabel, fontsize=style.MIN_FONT)
    kinds = [kind for kind, used in (("culprit", framed is not None), ("blamed", len(blamed) > 0),
                                      ("swapped", swapped is not None)) if used]
    return fig, axes, kinds


def plot_explanation(catalog: Catalog, items, attribution, b: int = 0, colors=None, title: str | None = None,
                     prefix: str = "", score: float | None = None, swapped: int | None = None):
    """An outfit strip with each item's attribution per group as signed bars (red lowers, blue raises).

    The method's culprit item (the lowest sum over its groups) gets a black frame only when the
    outfit is bad: its logit ``score`` is below zero or, without a score, the oracle finds a
    violation; a good outfit has a lowest item, not a culprit. Items the stylist blames carry a
    "blamed" tag, and item ``swapped`` (the swap test's) a "swapped" tag. ``title`` replaces the
    default title (method, culprit, oracle verdict); ``prefix`` goes before it.
    """
    items = np.asarray(items)
    items = items[items >= 0]
    colors = catalog.color[items] if colors is None else np.asarray(colors)
    groups = attribution.groups
    cell_item, cell_group = (int(x[b]) for x in attribution.culprit())
    culprit_item = int(attribution.culprit_item()[b])
    verdict = outfit_violations(catalog, items, colors)
    framed = (score < 0) if score is not None else bool(verdict)
    blamed = set(np.flatnonzero(outfit_blame(catalog, items, colors).sum(1) > 0).tolist())
    images = list(item_pixels(catalog.render(items, colors)))
    names = [f"{k}: {COLOR_NAMES[c]}\n{CATEGORIES[catalog.category[i]]}" for k, (i, c) in enumerate(zip(items, colors))]
    fig, axes, kinds = _attribution_strip(images, names, attribution.values[b, : len(items)].numpy(), groups,
                                          culprit_item if framed else None, method_name(attribution.method), blamed,
                                          swapped)
    oracle = "good" if not verdict else "bad: " + ", ".join(sorted({rule_name(v.rule) for v in verdict}))
    group = group_name(groups[cell_group])
    lead = "culprit" if framed else "lowest"  # a good outfit has a lowest item and cell, no culprit
    pair = "" if attribution.item_level else f"; {lead} (item, group): item {cell_item}'s {group}"
    fig.suptitle(prefix + (title or f"{method_name(attribution.method)}: {lead} item {culprit_item}{pair}\n"
                                    f"stylist: {oracle}"), fontsize=style.MIN_FONT + 1)
    fig.tight_layout()
    if kinds:
        style.marker_legend(fig, kinds, y=0.0)
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
    fig, axes, kinds = _attribution_strip(images, names, attribution.values[b, : len(rows)].numpy(),
                                          attribution.groups, culprit if score is not None and score < 0 else None,
                                          f"{attribution.method} (logit units)")
    verdict = "" if score is None else f" | logit {score:+.2f}: {'bad, culprit framed' if score < 0 else 'good'}"
    # the generated stand-in is labelled as such: its drawings are not Polyvore's photos
    where = "a Polyvore outfit" if data.is_real else "a fixture outfit (generated, not Polyvore)"
    fig.suptitle(f"{attribution.method} on {where}{verdict}", fontsize=style.MIN_FONT + 1)
    fig.tight_layout()
    if kinds:
        style.marker_legend(fig, kinds, y=0.0)
    return fig, axes


def _heat_values(attribution, b: int) -> tuple:
    """One outfit's values and column names: an item-level method gets one column, its item values."""
    vals = attribution.values[b, : int(attribution.mask[b].sum())].numpy()
    if attribution.item_level:  # its groups only split one item value: one column says what it knows
        return vals.sum(-1, keepdims=True), ["item"]
    return vals, list(attribution.groups)


def plot_attribution_heatmap(attribution, b: int = 0, item_labels=None, ax=None, lim: float | None = None,
                             cbar: bool = False):
    """Items x groups heat map of one outfit's attributions (red lowers, blue raises, centred on zero).

    ``lim`` sets the symmetric colour range (default: this outfit's largest magnitude); pass one
    shared ``lim`` to panels that invite comparison. The method's culprit cell (its lowest value)
    gets the culprit's black frame. An item-level method (Grad-CAM, pixel IG) shows one column of
    item values, and its frame marks the culprit item.
    """
    fig, ax = _axes(ax, size=(3.8, 3.2))
    vals, columns = _heat_values(attribution, b)
    lim = lim or style.signed_limit(vals)
    heatmap(vals, annot=False, cmap=style.CMAP, vmin=-lim, vmax=lim, cbar=cbar,
            xticklabels=[_group_label(c) for c in columns],
            yticklabels=item_labels or [f"item {i}" for i in range(len(vals))], ax=ax)
    style.annotate_cells(ax, vals, lim)
    i, j = np.unravel_index(int(np.argmin(vals)), vals.shape)
    ax.add_patch(plt.Rectangle((j, i), 1, 1, fill=False, lw=style.CULPRIT["linewidth"],
                               ec=style.CULPRIT["color"], gid="culprit"))
    ax.tick_params(labelsize=style.MIN_FONT)
    ax.set_title(method_name(attribution.method), fontsize=style.MIN_FONT + 1)
    return fig, ax


def plot_pair_matrix(catalog: Catalog, items, pairs: dict, b: int = 0, colors=None, truth=None):
    """Pair values of one outfit, one matrix per method (two to a row), the items' pictures on both axes. One
    symmetric colour scale centred on zero (pair methods give logits), red lowers the score and blue
    raises it; the method's lowest pair gets the culprit's black frame where it is negative (a pair that
    raises the score is no culprit); ``truth`` (i, j), the stylist's faulted pair, a purple one ("blamed").
    """
    items, n = np.asarray(items), len(items)
    cols = catalog.color[items] if colors is None else np.asarray(colors)
    thumbs = list(item_pixels(catalog.render(items, cols)))
    values = {name: attr.values[b, :n, :n].numpy() for name, attr in pairs.items()}
    lim = style.signed_limit(*[v[~np.eye(n, dtype=bool)] for v in values.values()])
    ncol, rows = min(len(pairs), 2), -(-len(pairs) // 2)  # two to a row: each cell wide enough for its value
    width = style.fit_width(3.4 * ncol + 0.9) - 0.2  # the colour bar's label reaches past the edge
    fig, axes = plt.subplots(rows, ncol, figsize=(width, rows * (width / ncol + 0.5)), squeeze=False,
                             layout="constrained")
    axes.flat[-1].set_visible(len(pairs) == rows * ncol)  # an odd count leaves the last place empty
    for ax, (name, vals) in zip(axes.flat, values.items()):
        image = ax.imshow(vals, cmap=style.CMAP, vmin=-lim, vmax=lim)
        style.annotate_cells(ax, vals, lim, skip=lambda i, j: i == j)
        off = np.where(np.eye(n, dtype=bool), np.inf, vals)
        low = np.unravel_index(int(np.argmin(off)), off.shape)
        for i, j in (low, low[::-1]) if vals[low] < 0 else ():  # a culprit pair lowers the score
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, lw=style.CULPRIT["linewidth"],
                                       ec=style.CULPRIT["color"], gid="culprit"))
        if truth is not None:
            for i, j in (truth, truth[::-1]):
                ax.add_patch(plt.Rectangle((j - 0.36, i - 0.36), 0.72, 0.72, fill=False, lw=3,
                                           ec=style.TAGS["blamed"]["face"], gid="blamed"))
        ax.set_xticks(range(n), [str(k) for k in range(n)], fontsize=style.MIN_FONT)  # the prose's item numbers
        ax.set_yticks(range(n), [str(k) for k in range(n)], fontsize=style.MIN_FONT)
        ax.tick_params(length=0)  # labels only: the pictures stand between them and the cells
        for k, thumb in enumerate(thumbs):  # the items themselves, on both margins
            ax.imshow(thumb, extent=(k - 0.45, k + 0.45, n - 0.5 + 0.95, n - 0.5 + 0.05), clip_on=False)
            ax.imshow(thumb, extent=(-1.45, -0.55, k + 0.45, k - 0.45), clip_on=False)
        ax.set(xlim=(-1.5, n - 0.5), ylim=(n + 0.5, -0.5), xlabel="item")  # no y label: panels sit side by side
        ax.set_frame_on(False)
        ax.set_title(pair_row_name(name), fontsize=style.MIN_FONT + 1)
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, pad=0.01,
                 label="pair value (red lowers the score)").ax.tick_params(labelsize=style.MIN_FONT)
    return fig, axes


def plot_methods_panel(attributions: dict, b: int = 0, item_labels=None, ncols: int = 4, own_scale=()):
    """Heat maps of several methods for one outfit on one shared scale, ``ncols`` to a row.

    Every panel shares one symmetric colour range with one colour bar, so a colour means the same
    value in every panel; each panel frames its method's culprit cell; item-level methods show one
    column of item values. The panels named in ``own_scale`` (a method whose values are not in
    logit units, such as Grad-CAM's) get a symmetric scale and a colour bar of their own.
    """
    check_count(ncols, "ncols")
    unknown = set(own_scale) - set(attributions)
    if unknown:
        raise ValueError(f"own_scale names panels that are not drawn: {sorted(unknown)}; panels: {list(attributions)}")
    n = len(attributions)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(style.fit_width(2.3 * ncols + 1.2), 3.1 * nrows), squeeze=False,
                             layout="constrained")
    lim = style.signed_limit(*[_heat_values(a, b)[0] for m, a in attributions.items() if m not in own_scale])
    for k, (name, attr) in enumerate(attributions.items()):
        ax = axes.flat[k]
        labels = item_labels if k % ncols == 0 else [""] * int(attr.mask[b].sum())
        own = style.signed_limit(_heat_values(attr, b)[0]) if name in own_scale else lim
        plot_attribution_heatmap(attr, b, labels, ax=ax, lim=own)
        ax.set_title(method_name(name), fontsize=style.MIN_FONT + 1)
        if name in own_scale:
            bar = fig.colorbar(plt.cm.ScalarMappable(plt.Normalize(-own, own), style.CMAP), ax=ax, shrink=0.9,
                               location="bottom", pad=0.02, label="its own scale")
            bar.ax.tick_params(labelsize=style.MIN_FONT)
    mappable = plt.cm.ScalarMappable(plt.Normalize(-lim, lim), style.CMAP)
    bar = fig.colorbar(mappable, ax=[a for a, m in zip(axes.flat, attributions) if m not in own_scale], shrink=0.85,
                       pad=0.01, label="logits (one scale; red lowers the score)")
    bar.ax.tick_params(labelsize=style.MIN_FONT)
    for ax in list(axes.flat)[n:]:
        ax.set_axis_off()
    return fig, axes


def plot_gradcam(catalog: Catalog, items, attribution, b: int = 0, colors=None):
    """Grad-CAM maps (on the shape-texture CNN's last convolution) over each item, with a colour bar.

    The top row shows the items in their colours; the bottom row draws the signed map (red lowers the score,
    blue raises it; one scale for all items) half transparent over a grey copy with the garment's outline, so
    that no map hides the garment; the method's culprit item (lowest map sum) is framed.
    """
    items = np.asarray(items)[np.asarray(items) >= 0]  # padding (-1) dropped
    colors = catalog.color[items] if colors is None else np.asarray(colors)
    maps = attribution.extras["maps"][b, : len(items)]
    item_values = attribution.values[b, : len(items)].sum(-1)
    up = F.interpolate(maps[:, None], size=(28, 28), mode="bilinear", align_corners=False)[:, 0].numpy()
    lim = style.signed_limit(up)
    fig, axes = plt.subplots(2, len(items), figsize=(style.fit_width(2.1 * len(items) + 1.2), 5.2), squeeze=False,
                             layout="constrained")
    rgba = catalog.render(items, colors)
    imgs, grey, garment = item_pixels(rgba), item_pixels(rgba).mean(-1), rgba[:, 3].detach().cpu().numpy()
    culprit = int(np.argmin(item_values.numpy()))
    for k in range(len(items)):
        axes[0, k].imshow(imgs[k])
        axes[0, k].set_title(f"{k}: {COLOR_NAMES[colors[k]]}\n{CATEGORIES[catalog.category[items[k]]]}",
                             fontsize=style.MIN_FONT)
        axes[1, k].imshow(grey[k], cmap="gray", vmin=0, vmax=1)
        shown = axes[1, k].imshow(up[k], cmap=style.CMAP, vmin=-lim, vmax=lim, alpha=0.5)
        axes[1, k].contour(garment[k], levels=[0.5], colors="k", linewidths=0.8)
        axes[1, k].set_title(f"item value {float(item_values[k]):+.2f}", fontsize=style.MIN_FONT)
        for ax in axes[:, k]:
            ax.set_xticks([])
            ax.set_yticks([])
            for side in ax.spines.values():
                side.set_visible(False)
        if k == culprit:
            style.mark(axes[1, k], "culprit")
    # an item value sums the 7x7 map's 49 cells, so it runs far past the colour bar's range
    bar = fig.colorbar(shown, ax=axes[1, :].tolist(), shrink=0.9, pad=0.01,
                       label="Grad-CAM, per map cell\n(item value = sum of its cells)")
    bar.ax.tick_params(labelsize=style.MIN_FONT)
    fig.suptitle("Grad-CAM over a grey copy: red regions lower the score, blue raise it", fontsize=style.MIN_FONT + 1)
    return fig, axes


def plot_color_drivers(model, batch, b: int = 0, item: int = 0, top: int = 3):
    """Inside one item's colour group: contribution (x * d score / dx) next to sensitivity (d score / dx).

    The colour histogram of an item is nearly one-hot, so the contribution sits on the item's own
    colour; the gradient over the whole palette says which colour would raise the score, to first
    order (the item's own colour's name is bold).
    """
    groups = list(model.groups.names)
    grad = input_gradients(model, batch, groups)[COLOR_GROUP][b, item].numpy()
    x = batch.features[COLOR_GROUP][b, item].numpy()
    contrib, own = x * grad, int(np.argmax(x))
    fig, axes = plt.subplots(1, 2, figsize=(style.MAX_WIDTH - 0.2, 3.8), gridspec_kw={"width_ratios": [1, 2.2]},
                             layout="constrained")
    order = np.argsort(np.abs(contrib))[::-1][:top]
    order = order[np.abs(contrib[order]) > 0.01 * np.abs(contrib).max()][::-1]  # a colour the item lacks has no bar
    # bars take the sign colours like every attribution; a swatch beside each name shows the palette colour
    axes[0].barh(range(len(order)), contrib[order], color=style.bar_colors(contrib[order]))
    axes[0].set_yticks(range(len(order)), [COLOR_NAMES[i] for i in order])
    axes[0].scatter(np.full(len(order), -0.03), range(len(order)), s=110, marker="s", clip_on=False,
                    color=[PALETTE[i].rgb for i in order], edgecolor="k", transform=axes[0].get_yaxis_transform())
    axes[0].axvline(0, color="k", lw=0.6)
    axes[0].set_xlabel("x * d score / dx", fontsize=style.MIN_FONT)
    axes[0].tick_params(labelsize=style.MIN_FONT)
    axes[0].tick_params(axis="y", pad=14)
    axes[0].set_ylim(-0.5 - (top - len(order)) / 2, len(order) - 0.5 + (top - len(order)) / 2)  # bars of one width
    axes[0].set_title(f"contribution: {f'its one colour, {COLOR_NAMES[own]}' if len(order) == 1 else 'its colours'}"
                      f"\n(sum = item {item}'s colour IFIV)", fontsize=style.MIN_FONT)
    axes[1].bar(range(len(PALETTE)), grad, color=style.bar_colors(grad))  # no frame: a frame marks a culprit
    axes[1].scatter(range(len(PALETTE)), np.full(len(PALETTE), -0.05), s=110, marker="s", clip_on=False,
                    color=[c.rgb for c in PALETTE], edgecolor="k", transform=axes[1].get_xaxis_transform())
    axes[1].tick_params(axis="x", pad=14)
    axes[1].axhline(0, color="k", lw=0.6)
    axes[1].set_xticks(range(len(PALETTE)), COLOR_NAMES, rotation=60, ha="right", fontsize=style.MIN_FONT)
    axes[1].get_xticklabels()[own].set_fontweight("bold")
    axes[1].tick_params(axis="y", labelsize=style.MIN_FONT)
    axes[1].set_ylabel("d score / dx", fontsize=style.MIN_FONT)
    axes[1].set_title(f"sensitivity: adding which colour would raise the score?\n(own colour "
                      f"{COLOR_NAMES[own]}: bold name)", fontsize=style.MIN_FONT)
    return fig, axes


def explain_view(wb, index: int = 0, position: int = 0, color: str = "keep", replacement: int = -1,
                 method: str = "ifiv", split: str = "test", gradcam: bool = True):
    """Explain a test outfit after an optional edit of one item (pure function behind the explorer).

    Parameters
    ----------
    wb : Workbench
    index : outfit index in ``split``
    position : which item to edit
    colour : a palette name, or 'keep'
    replacement : index into the same-slot items of ``split`` (-1 keeps the item)
    method : attribution method for the bars
    gradcam : draw Grad-CAM's overlays too (chapter 04 leaves them out: chapter 05 defines Grad-CAM)

    Returns
    -------
    (explanation figure, Grad-CAM figure or None, verdict): the verdict is a sentence on what the model
    and the stylist say of the edited outfit, and where they or the explanation disagree.
    """
    catalog = wb.catalog
    items, colors, batch = _edited_outfit(wb, index, position, color, replacement, split)
    batch = with_images(batch, catalog, colors[None])
    logit = float(score(wb.model, batch)[0])
    attr = attribute(wb.model, batch, method, **wb.options())
    fig, _ = plot_explanation(catalog, items, attr, 0, colors, score=logit,
                              prefix=f"logit {logit:+.2f} (p(good) {p_good(logit):.2f}) | ")
    cam = attribute(wb.model, batch, "grad_cam", **wb.options()) if gradcam else None
    fig2 = plot_gradcam(catalog, items, cam, 0, colors)[0] if gradcam else None
    return fig, fig2, verdict(catalog, items, colors, logit, attr)


def source_phrase(source: str) -> str:
    """Where the images came from, in words for a class screen (never a machine path)."""
    if source.startswith("folder ") and source.endswith(str(DEBIAN_DIR)):
        return "Fashion-MNIST from Debian's package"
    for start, said in (("folder ", "Fashion-MNIST from the repository's data folder"),
                        ("explicit path", "Fashion-MNIST from the folder named in $XFASHION_FASHION_MNIST"),
                        ("torchvision", "Fashion-MNIST downloaded by torchvision"),
                        ("mini subset", "a small Fashion-MNIST subset committed with the code, so results are weaker")):
        if source.startswith(start):
            return said
    return "Fashion-MNIST"


def swap_pool(catalog: Catalog, item: int, split: str = "test") -> np.ndarray:
    """The items of ``split`` in ``item``'s slot: what the explorer's ``replacement`` indexes."""
    pool = catalog.find(split=split)
    return pool[catalog.slot[pool] == catalog.slot[item]]


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
    said = ", ".join(f"{rule_name(r)} of items {i} and {j}" for i, j, r in faulted) or "no pair rule broken"
    axes[0, 0].set_title(f"{pair_row_name(method)}\nthe stylist: {said}", fontsize=style.MIN_FONT)
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
    fig.suptitle(f"repair of {method_name(original.method)}'s culprit item (item {repair['culprit']})",
                 fontsize=style.MIN_FONT + 1)
    fig.tight_layout()
    return fig, axes


# ----------------------------------------------------------------------------- swap evaluation (06)
def plot_swap_case(catalog: Catalog, cases, c: int, attributions: dict | None = None):
    """One swap case: the outfit after the swap, in the series' markers.

    The swapped item carries the "swapped" tag and the items the stylist blames the "blamed" tag;
    the first method of ``attributions`` frames its culprit item, and every method's culprit item is
    listed under the strip.
    """
    items, colors = cases.items[c], cases.colors[c]
    n = int((items >= 0).sum())
    fig, axes = plot_outfit(catalog, items[:n], colors[:n], show_blame=True,
                            title=f"{kind_name(cases.kind[c])} swap of item {cases.position[c]} "
                                  f"(logit {cases.before[c]:+.1f} -> {cases.after[c]:+.1f})")
    style.mark(np.ravel(axes)[cases.position[c]], "swapped")
    kinds = ["blamed", "swapped"]
    if attributions:
        first, attr = next(iter(attributions.items()))
        style.mark(np.ravel(axes)[int(attr.culprit_item()[c])], "culprit")
        kinds = ["culprit", *kinds]
        verdicts = [f"{method_name(m)}: item {int(a.culprit_item()[c])}" for m, a in attributions.items()]
        fig.text(0.5, -0.02, f"culprit item (framed: {method_name(first)}) | " + " | ".join(verdicts), ha="center",
                 va="top", fontsize=style.MIN_FONT, wrap=True)
    style.marker_legend(fig, kinds, y=-0.1 if attributions else 0.0)
    return fig, axes


# one colour per swap kind and per slot, the same in every figure
