"""Figures of the data, the features and the scorer (chapters 01-03), one function each.

Data in, ``(fig, ax)`` or ``(fig, axes)`` out. Single-panel figures take an optional ``ax`` to
draw into; multi-panel ones (an outfit strip, a grid of items) take ``axes`` where that makes
sense and otherwise draw their own figure. Nothing here computes results (that lives in the
modules of each chapter) or builds widgets (see :mod:`xfashion.viz.widgets`). The ``*_view``
functions are the plain views the widgets call, so a headless run draws them too.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ..analysis import nearest_neighbours
from ..data import CATEGORIES, COLOR_NAMES, PALETTE, SLOTS, Catalog, render
from ..evaluate.sentences import group_name, rule_name
from ..groups import COLOR_GROUP, SHAPE_GROUP
from ..outfits import OutfitSet, outfit_blame, outfit_violations, rule_counts, rule_examples
from ..rules import GROUPS
from ..scorer import score_outfit
from ..utils import check_count
from . import style
from .style import ITEM_BACKGROUND as ITEM_BACKGROUND  # chapter 01's tests and figures name it here
from .style import _axes, heatmap, item_pixels


def plot_item_grid(images, labels, per_category: int = 8, seed: int = 0):
    """A grid of real grey Fashion-MNIST images, one row per category."""
    check_count(per_category, "per_category")
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(CATEGORIES), per_category, figsize=(0.9 * per_category, 9.5), layout="constrained")
    for c, name in enumerate(CATEGORIES):
        pick = rng.choice(np.flatnonzero(labels == c), per_category, replace=False)
        for k, i in enumerate(pick):
            axes[c, k].imshow(images[i], cmap="gray", vmin=0, vmax=255)  # as stored, as chapter 01's busy figure
            axes[c, k].set_axis_off()
        axes[c, 0].text(-4, 14, name, ha="right", va="center", fontsize=style.MIN_FONT)
    fig.suptitle("Real Fashion-MNIST product images (grey, 28 x 28)")
    return fig, axes


def plot_palette(ax=None):
    """The named palette: neutrals first, then chromatic colours with their hue angles."""
    fig, ax = _axes(ax, size=(style.MAX_WIDTH, 1.6))
    for k, c in enumerate(PALETTE):
        ax.add_patch(plt.Rectangle((k, 0), 0.9, 1, color=c.rgb, ec="k", lw=0.5))
        label = c.name if c.hue is None else f"{c.name}\n{c.hue:.0f}°"
        ax.text(k + 0.45, -0.15, label, ha="center", va="top", fontsize=style.MIN_FONT)
    ax.set_xlim(-0.1, len(PALETTE))
    ax.set_ylim(-0.8, 1.05)
    ax.set_axis_off()
    ax.set_title("Palette: neutrals (no hue) and chromatic colours (hue angle)")
    return fig, ax


def plot_recolor(catalog: Catalog, item: int, colors=None, axes=None, per_row: int = 7):
    """One item rendered in several palette colours (``per_row`` to a row): only the colour changes."""
    colors = (list(range(len(PALETTE))) if colors is None
               else [COLOR_NAMES.index(c) if isinstance(c, str) else c for c in colors])
    if axes is None:
        cols = min(per_row, len(colors))
        rows = -(-len(colors) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(style.fit_width(1.2 * cols), 1.55 * rows), squeeze=False)
    fig = np.ravel(axes)[0].figure
    imgs = item_pixels(render(np.repeat(catalog.images[item][None], len(colors), 0), np.array(colors)))
    for ax in np.ravel(axes)[len(colors):]:
        ax.set_axis_off()
    for ax, img, c in zip(np.ravel(axes), imgs, colors):
        ax.imshow(img)
        ax.set_title(COLOR_NAMES[c], fontsize=style.MIN_FONT)
        ax.set_axis_off()
    return fig, axes


def plot_outfit(catalog: Catalog, items, colors=None, *, title: str | None = None, show_blame: bool = True,
                values=None, axes=None, swapped=()):
    """An outfit as a strip of item images with the oracle's verdict and blame.

    Parameters
    ----------
    catalog : Catalog
    items : sequence of int
        Catalog ids (padding ``-1`` is dropped).
    colors : sequence of int, optional
        Override the items' colours (e.g. after a colour swap).
    title : str, optional
    show_blame : bool
        Write the oracle's per-group blame under each item.
    values : array (n_items, n_groups), optional
        Attributions to print under each item instead of the blame.
    swapped : sequence of int
        Positions to tag as swapped (:func:`style.mark`).
    """
    items = np.asarray(items)
    items = items[items >= 0]
    colors = catalog.color[items] if colors is None else np.asarray(colors)
    own = axes is None
    if own:
        fig, axes = plt.subplots(1, len(items), figsize=(style.fit_width(1.8 * len(items)), 3.2), squeeze=False)
        axes = axes[0]
    fig = np.ravel(axes)[0].figure
    for ax in np.ravel(axes)[len(items):]:
        ax.set_axis_off()
    imgs = item_pixels(catalog.render(items, colors))
    bl = outfit_blame(catalog, items, colors)
    found = outfit_violations(catalog, items, colors)
    for k, ax in enumerate(np.ravel(axes)[: len(items)]):
        ax.imshow(imgs[k])
        ax.set_xticks([])
        ax.set_yticks([])
        name = f"{COLOR_NAMES[colors[k]]}\n{CATEGORIES[catalog.category[items[k]]]}"
        if catalog.busy[items[k]]:
            name += " (busy)"
        lines = [name]
        if values is not None:  # attributions: signed
            lines += [f"{g.replace('_', '-')}: {v:+.2f}" for g, v in zip(GROUPS, values[k])]
        elif show_blame and bl[k].sum() > 0:  # blame is a share, never negative: unsigned, blamed groups only
            # one line per blamed group, without a prefix (the 'blamed' tag says what they are): a 24-character
            # 'blame: shape-texture 0.5' ran into its neighbour's label on a five-item strip
            lines += [f"{group_name(g)} {v:.2g}" for g, v in zip(GROUPS, bl[k]) if v > 0]
        ax.set_xlabel("\n".join(lines), fontsize=style.MIN_FONT)
        if values is None and show_blame and bl[k].sum() > 0:
            style.mark(ax, "blamed")
        if k in swapped:
            style.mark(ax, "swapped")
    verdict = "good" if not found else "bad (" + ", ".join(sorted({rule_name(v.rule) for v in found})) + ")"
    text = f"{title + ' | ' if title else ''}stylist: {verdict}"
    if own:
        fig.suptitle(text, fontsize=style.MIN_FONT)
        for ax in axes:  # a square picture in a taller slot sits at its top, its labels below it inside the slot
            ax.set_anchor("N")
        fig.tight_layout()
    else:
        np.ravel(axes)[0].set_title(text, fontsize=style.MIN_FONT, loc="left")
    return fig, axes


def plot_items(catalog: Catalog, items, title: str = "", colors=None):
    """A row of catalog items, each titled with its category and texture score (busy ones say so)."""
    items = np.asarray(items)
    colors = catalog.color[items] if colors is None else np.asarray(colors)
    fig, axes = plt.subplots(1, len(items), figsize=(style.fit_width(1.45 * len(items)), 2.2), squeeze=False)
    busy = catalog.busy[items]
    for ax, img, i, b in zip(axes[0], item_pixels(catalog.render(items, colors)), items, busy):
        ax.imshow(img)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{CATEGORIES[catalog.category[i]]}\ntexture {catalog.texture[i]:.3f}", fontsize=style.MIN_FONT,
                     fontweight="bold" if b else "normal")
    fig.suptitle(title, fontsize=style.MIN_FONT + 1)
    fig.tight_layout()
    return fig, axes


def plot_outfits(catalog: Catalog, outfits, titles=None, swapped=None):
    """Outfits one to a row, each with the oracle's verdict and blame (e.g. a good outfit and its negative).

    Parameters
    ----------
    catalog : Catalog
    outfits : sequence of item-id sequences
    titles : sequence of str, optional
    swapped : sequence of sequences of int, optional
        Per outfit, the positions to tag as swapped.
    """
    outfits = [np.asarray(o)[np.asarray(o) >= 0] for o in outfits]
    titles = titles or [None] * len(outfits)
    swapped = swapped or [()] * len(outfits)
    cols = max(len(o) for o in outfits)
    height = 2.9 * len(outfits)
    fig, axes = plt.subplots(len(outfits), cols, figsize=(style.fit_width(1.9 * cols), height), squeeze=False)
    row_titles = []
    for row, items, title, new in zip(axes, outfits, titles, swapped):
        plot_outfit(catalog, items, title=title, axes=row, swapped=new)
        # a row's title runs past its first item, and the layout would widen that column to half the title's
        # width (an axes title counts to its middle): as a text kept out of the layout it shrinks no picture
        text = row[0].get_title(loc="left")
        row[0].set_title("", loc="left")
        row_titles.append(row[0].text(0, 1.05, text, transform=row[0].transAxes, ha="left", va="bottom",
                                      fontsize=style.MIN_FONT, in_layout=False))
        for ax in row:  # as in plot_outfit's own figure
            ax.set_anchor("N")
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.3 / height), h_pad=4)
    for text in row_titles:  # laid out: back in, so that a figure saved with bbox_inches="tight" keeps them
        text.set_in_layout(True)
    return fig, axes


def plot_rule_examples(catalog: Catalog, outfits: OutfitSet):
    """A good outfit and one example of each violated rule, with the oracle's blame."""
    examples = rule_examples(outfits)
    return plot_outfits(catalog, [outfits.outfit(i) for i in examples.values()],
                        titles=["a good outfit" if r == "good" else f"example of {rule_name(r)}" for r in examples])


def plot_dataset_stats(catalog: Catalog, splits: dict):
    """Items per slot and colour, the training outfits' sizes, each rule's share of each split's bad outfits.

    Splits take :data:`~xfashion.viz.style.CATEGORICAL`'s colours. Slots and rules are shares of a split, not
    counts: the training split is eight times the others, and on one count axis they would vanish.
    """
    fig, axes = plt.subplots(2, 2, figsize=(style.MAX_WIDTH, 7.5))
    axes = axes.ravel()
    table = catalog.table()
    hue = style.category_colors(splits)
    share = table.groupby("split").slot.value_counts(normalize=True).mul(100).rename("share").reset_index()
    sns.barplot(data=share, x="slot", y="share", hue="split", order=SLOTS, hue_order=list(hue), palette=hue,
                saturation=1, ax=axes[0])  # the palette's own colours, not seaborn's muted ones
    axes[0].set(title="Items per slot", xlabel="", ylabel="% of the split's items")
    colours = table["colour"].value_counts().reindex(COLOR_NAMES)
    axes[1].bar(COLOR_NAMES, colours.values, color=[c.rgb for c in PALETTE], edgecolor="0.2", linewidth=0.5)
    axes[1].tick_params(axis="x", rotation=70)  # the edge above keeps the white bar visible
    axes[1].set(title="Items per colour (all splits)", ylabel="items")
    # a negative is its good outfit with items replaced in their own slots: the sizes of good and bad are one
    sizes = pd.Series(splits["train"].mask.sum(1)[splits["train"].oracle_label > 0]).value_counts().sort_index()
    axes[2].bar(sizes.index, sizes.values, color=style.CATEGORICAL[3])
    axes[2].set_xticks(sizes.index)
    axes[2].set(title="Good training outfits per size\n(each negative has its good outfit's size)",
                xlabel="items in the outfit", ylabel="outfits")
    counts = {k: rule_counts(v) for k, v in splits.items()}  # the rules, most frequent in training first
    rules = pd.DataFrame([{"split": k, "rule": rule_name(r), "share": 100 * counts[k][r] / (v.oracle_label == 0).sum()}
                          for k, v in splits.items() for r, _ in counts["train"].most_common()])
    sns.barplot(data=rules, y="rule", x="share", hue="split", hue_order=list(hue), palette=hue, errorbar=None,
                saturation=1, ax=axes[3])
    axes[3].set(title="Violations per rule", xlabel="% of the split's bad outfits", ylabel="")
    for ax in axes:
        ax.title.set_fontsize(style.MIN_FONT + 1)
        ax.tick_params(labelsize=style.MIN_FONT)
        if ax.get_legend():
            ax.legend(title="split", fontsize=style.MIN_FONT, title_fontsize=style.MIN_FONT, frameon=False)
    fig.tight_layout()
    return fig, axes


def outfit_ids(splits: dict, split: str = "test", label: str = "any") -> np.ndarray:
    """The ids of the outfits of ``split`` with ``label`` ('good', 'bad' or 'any'), in order."""
    outfits: OutfitSet = splits[split]
    keep = np.arange(len(outfits))
    return keep if label == "any" else keep[(outfits.label > 0) == (label == "good")]


def show_outfit(catalog: Catalog, splits: dict, split: str = "test", label: str = "any", index: int = 0):
    """Draw outfit ``index`` among the outfits of ``split`` with the given label, titled with its id (pure function)."""
    keep = outfit_ids(splits, split, label)
    i = int(keep[index % len(keep)])
    return plot_outfit(catalog, splits[split].outfit(i), title=f"{split} outfit {i}")


# ----------------------------------------------------------------------------- features (chapter 02)
def plot_color_histogram(catalog: Catalog, color_features, items, axes=None):
    """Each item beside its colour histogram, bars in the palette's own colours with a dark edge (white shows).

    Two items to a row, so the palette's names stay legible; ``axes``, given or returned, is a (2, n)
    array: ``axes[0, k]`` the picture of item k, ``axes[1, k]`` its histogram.
    """
    items = np.asarray(items)
    if axes is None:
        per_row = min(len(items), 2)
        rows = -(-len(items) // per_row)
        fig, grid = plt.subplots(rows, 2 * per_row, figsize=(style.fit_width(4.5 * per_row), 2.5 * rows),
                                 gridspec_kw={"width_ratios": [1, 2.3] * per_row}, squeeze=False)
        axes = np.array([[grid[k // per_row, 2 * (k % per_row) + j] for k in range(len(items))] for j in (0, 1)])
        for ax in grid.flat[2 * len(items):]:  # an odd count leaves the last row's right half empty
            ax.set_axis_off()
    fig = axes[0, 0].figure
    imgs = item_pixels(catalog.render(items))
    colors = [c.rgb for c in PALETTE]
    for k, i in enumerate(items):
        axes[0, k].imshow(imgs[k])
        axes[0, k].set_axis_off()
        hist = np.asarray(color_features[i])
        ax = axes[1, k]
        ax.bar(range(len(hist)), hist, color=colors, edgecolor="0.2", linewidth=0.8)
        ax.set_xticks(range(len(hist)), COLOR_NAMES, rotation=90, fontsize=style.MIN_FONT)
        ax.set_ylim(0, 1)
        ax.tick_params(axis="y", labelsize=style.MIN_FONT)
        ax.set_ylabel("share of garment", fontsize=style.MIN_FONT)
        ax.set_title(f"{COLOR_NAMES[catalog.color[i]]} {CATEGORIES[catalog.category[i]]}", fontsize=style.MIN_FONT)
    fig.tight_layout()
    return fig, axes


def plot_history(history, columns, ax=None, title: str = ""):
    """Training curves from a list of per-epoch dicts: one colour per quantity (loss, accuracy, AUC), solid for
    training and dashed for held-out data, each curve named in words in the legend beside it."""
    fig, ax = _axes(ax, size=(7, 3.2))
    frame = pd.DataFrame(history)
    metrics = list(dict.fromkeys(col.split("_", 1)[-1] for col in columns))  # 'val_auc' -> 'auc'
    color = style.category_colors(metrics)
    for col in columns:
        part, metric = col.split("_", 1) if "_" in col else ("", col)
        held_out = part != "train"
        words = f"{SPLIT_WORDS.get(part, part)} {metric.replace('auc', 'AUC').replace('_', ' ')}".strip()
        ax.plot(frame["epoch"], frame[col], color=color[metric], ls="--" if held_out else "-",
                marker="s" if held_out else "o", ms=4, label=words)
    if "val_auc" in frame:  # the weights kept: the epoch of the best validation AUC
        best = int(frame.loc[frame["val_auc"].idxmax(), "epoch"])
        ax.axvline(best, color="black", ls=":", lw=1, label=f"kept (epoch {best})")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch", fontsize=style.MIN_FONT)
    ax.set_ylabel(" and ".join(m.replace("auc", "AUC").replace("_", " ") for m in metrics), fontsize=style.MIN_FONT)
    ax.tick_params(labelsize=style.MIN_FONT)
    ax.legend(fontsize=style.MIN_FONT, loc="upper left", bbox_to_anchor=(1.02, 1), frameon=False)
    ax.set_title(title, fontsize=style.MIN_FONT + 1)
    fig.tight_layout()
    return fig, ax


SPLIT_WORDS = {"train": "training", "val": "validation", "test": "test"}


def plot_confusion(confusion, ax=None):
    """Row-normalised confusion matrix of the ten Fashion-MNIST categories."""
    fig, ax = _axes(ax, size=(7, 6))
    norm = confusion / confusion.sum(1, keepdims=True)
    heatmap(norm, annot=True, fmt=".2f", cmap="Greys", xticklabels=CATEGORIES, yticklabels=CATEGORIES,
            cbar=False, ax=ax, annot_kws={"fontsize": style.MIN_FONT})
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    acc = np.trace(confusion) / confusion.sum()
    ax.set_title(f"shape-texture CNN on Fashion-MNIST test: accuracy {acc:.3f}")
    return fig, ax


def plot_neighbours(catalog: Catalog, features: dict, item: int, k: int = 6, split: str = "test"):
    """The query item and its nearest neighbours by each feature group."""
    groups = list(features)
    cand = np.flatnonzero(catalog.split == split)
    fig, axes = plt.subplots(len(groups), k + 1, figsize=(style.fit_width(1.3 * (k + 1)), 1.7 * len(groups)),
                             squeeze=False)
    for row, g in zip(axes, groups):
        ids = np.concatenate([[item], nearest_neighbours(features[g], item, k, cand)])
        for ax, img in zip(row, item_pixels(catalog.render(ids))):
            ax.imshow(img)
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(f"by {group_name(g)}", fontsize=style.MIN_FONT)
        row[0].set_title("query", fontsize=style.MIN_FONT)
    fig.suptitle("Nearest neighbours: colour neighbours share colour, shape neighbours share silhouette",
                 fontsize=style.MIN_FONT)
    return fig, axes


def recolor_view(catalog: Catalog, extractor, item: int = 0, color: str = "red"):
    """Re-colour one item and show both feature groups before and after (pure function)."""
    k = COLOR_NAMES.index(color)
    before = COLOR_NAMES[catalog.color[item]]
    with torch.no_grad():
        rgba = catalog.render([item, item], [catalog.color[item], k])
        out = {name: v.numpy() for name, v in extractor(rgba).items()}
    fig, axes = plt.subplots(2, 2, figsize=(style.MAX_WIDTH, 5.6), gridspec_kw={"width_ratios": [1, 4.5]})
    for ax, img, name in zip(axes[:, 0], item_pixels(rgba), [f"original: {before}", f"re-coloured: {color}"]):
        ax.imshow(img)
        ax.set_title(name, fontsize=style.MIN_FONT)
        ax.set_axis_off()
    width = 0.4
    x = np.arange(len(COLOR_NAMES))
    ax = axes[0, 1]
    ax.bar(x - width / 2, out[COLOR_GROUP][0], width, color="lightgrey", edgecolor="k")
    ax.bar(x + width / 2, out[COLOR_GROUP][1], width, color=[c.rgb for c in PALETTE], edgecolor="k", linewidth=0.5)
    ax.set_xticks(x, COLOR_NAMES, rotation=90, fontsize=style.MIN_FONT)
    ax.set_ylabel("share of garment", fontsize=style.MIN_FONT)
    moved = "its own colour, so nothing moves" if k == catalog.color[item] else "the mass moves to the new colour"
    ax.set_title(f"{group_name(COLOR_GROUP)} group, re-coloured {color}: {moved}", fontsize=style.MIN_FONT)
    ax.legend(handles=[Patch(facecolor="lightgrey", edgecolor="k", label=f"original ({before})"),
                       Patch(facecolor=PALETTE[k].rgb, edgecolor="k", label=f"re-coloured ({color})")],
              fontsize=style.MIN_FONT, loc="upper center", ncols=2, borderaxespad=0.2)  # one row, above every bar
    ax.set_ylim(0, 1.3)  # room for the key above the bars
    ax.set_yticks(np.linspace(0, 1, 5))
    st = out[SHAPE_GROUP]
    ax = axes[1, 1]
    # two styles, no sign colours: the black line is the original, the dashed one on top the re-coloured
    ax.plot(st[0], "o-", color="black", ms=5, label="original")
    ax.plot(st[1], "x--", color=style.CATEGORICAL[0], ms=7, mew=2, label="re-coloured")
    change = float(np.linalg.norm(st[1] - st[0]) / np.linalg.norm(st[0]))
    ax.set_title(f"{group_name(SHAPE_GROUP)} group: stays put (relative change {change:.1e})", fontsize=style.MIN_FONT)
    ax.set_xlabel(f"embedding dimension (st00 to st{st.shape[1] - 1:02d})", fontsize=style.MIN_FONT)
    ax.set_ylabel("value (standardised)", fontsize=style.MIN_FONT)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=style.MIN_FONT)
    for a in axes[:, 1]:
        a.tick_params(labelsize=style.MIN_FONT)
    fig.tight_layout()
    return fig, axes


# ----------------------------------------------------------------------------- scorer (chapter 03)
def plot_score_distributions(logits: dict, labels, ax=None, clip: float = 1.0):
    """Histograms of the outfit logit for good and bad test outfits (two category colours: red and blue mean a sign).

    The x axis spans each model's ``clip``-th to ``(100 - clip)``-th percentile of the logits, so a
    few extreme outfits do not squeeze the rest against one edge; the panel's title counts the
    outfits beyond (``clip=0`` shows them all).
    """
    names = list(logits)
    if ax is None:
        fig, ax = plt.subplots(1, len(names), figsize=(4.4 * len(names), 3.4), squeeze=False)
        ax = ax[0]
    fig = ax[0].figure
    for a, name in zip(ax, names):
        values = np.asarray(logits[name], dtype=float)
        lo, hi = np.percentile(values, [clip, 100 - clip])
        pad = 0.03 * (hi - lo or 1.0)
        lo, hi = min(lo, 0.0) - pad, max(hi, 0.0) + pad  # the decision threshold always shows
        inside = (values >= lo) & (values <= hi)
        frame = pd.DataFrame({"logit": values[inside],  # the legend's title: the chapters' word for the oracle
                              "stylist says": np.where(np.asarray(labels) > 0, "good", "bad")[inside]})
        sns.histplot(data=frame, x="logit", hue="stylist says", bins=40, element="step", ax=a,
                     hue_order=["good", "bad"], palette=style.category_colors(["good", "bad"]), binrange=(lo, hi))
        a.axvline(0, color="k", lw=0.8, ls="--")
        a.set_xlim(lo, hi)
        beyond = int((~inside).sum())
        a.set_title(name + (f"\n(x clipped to the {clip:g}-{100 - clip:g}th percentiles: {beyond} outfit"
                            f"{'s' if beyond != 1 else ''} beyond)" if beyond else ""), fontsize=10)
    fig.tight_layout()
    return fig, ax


def plot_scored_outfits(catalog: Catalog, outfits: OutfitSet, logits, index, labels=None):
    """Outfits one to a row, each titled with the model's verdict and logit beside the oracle's verdict.

    Parameters
    ----------
    catalog : Catalog
    outfits : OutfitSet
    logits : array-like
        The model's logit for each outfit of ``outfits`` (above zero: it calls the outfit good).
    index : sequence of int
        The outfits to draw.
    labels : sequence of str, optional
        One per outfit, leading its title (e.g. "false positive").
    """
    index = [int(i) for i in index]
    labels = [""] * len(index) if labels is None else [f"{label}: " for label in labels]
    titles = [f"{label}model says {'good' if logits[i] > 0 else 'bad'} (logit {float(logits[i]):+.2f})"
              for label, i in zip(labels, index)]
    return plot_outfits(catalog, [outfits.outfit(i) for i in index], titles=titles)


def score_outfit_view(catalog: Catalog, feats, model, items):
    """Draw a hand-built outfit with the model's score and the oracle's verdict (pure function)."""
    items = [int(i) for i in items if i >= 0]
    logit = score_outfit(model, catalog, feats, items)
    return plot_outfit(catalog, items, title=f"model logit {logit:+.2f}, p(good) {1 / (1 + np.exp(-logit)):.2f}")
