"""Interactive explorers: thin ipywidgets wrappers over the plain view functions of the figure modules.

Each callback calls a pure package function with sensible defaults, so a headless run (CI, the
rendered book) still draws the figure. Chapters 01 (browser), 02 (re-colouring), 03 (outfit
builder), 04 and 08 (explanation explorer, with a pair view; the colour path), 05 (IG's steps) and
06 (margin explorer). Every explorer is an :class:`Explorer`: a notebook cell that ends with one shows
its controls and figure, never the widget's text form.
"""
from __future__ import annotations

from contextlib import contextmanager
from html import escape

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import HTML, display

from ..data import CATEGORIES, COLOR_NAMES, SLOTS, Catalog
from ..evaluate import at_margin, format_table
from ..evaluate.sentences import describe_violation, item_name, p_good
from ..explain import attribute
from ..explain.base import methods, traits
from ..outfits import TEMPLATES, outfit_violations
from ..rules import DEFAULT_RULES
from ..scorer import score
from . import style
from .explanations import _edited_outfit, explain_view, pair_view, source_phrase, swap_pool
from .outfits import outfit_ids, recolor_view, score_outfit_view, show_outfit


class Explorer(widgets.interactive):
    """An explorer's controls and output. Shown by a notebook cell, it renders as the widget alone: its text
    form (``interactive(children=...)``) would be a repr in the executed notebook and the book."""

    def _ipython_display_(self):
        bundle = self._repr_mimebundle_()
        bundle.pop("text/plain", None)
        display(bundle, raw=True)


def say(text: str) -> None:
    """One sentence above an explorer's figure, large enough for a class screen."""
    display(HTML(f"<p style='font-size:15px; max-width:900px'>{escape(text)}</p>"))


def browse_outfits(catalog: Catalog, splits: dict):
    """An ipywidgets browser: dropdowns for split and label, and a slider over every outfit they leave."""
    split = widgets.Dropdown(options=list(splits), value="test", description="split")
    label = widgets.Dropdown(options=["any", "good", "bad"], value="any", description="label")
    index = widgets.IntSlider(min=0, max=len(outfit_ids(splits, split.value, label.value)) - 1, value=0,
                              description="index")

    def follow(change):  # observed before interactive's own observer: the slider's range is set before the redraw
        index.max = len(outfit_ids(splits, split.value, label.value)) - 1

    split.observe(follow, "value")
    label.observe(follow, "value")

    def view(split="test", label="any", index=0):
        show_outfit(catalog, splits, split, label, index)
        plt.show()

    return Explorer(view, split=split, label=label, index=index)


def recolor_explorer(catalog: Catalog, extractor, items=None):
    """ipywidgets: pick an item and a colour; both feature groups update."""
    items = np.flatnonzero(catalog.split == "test")[:500] if items is None else np.asarray(items)

    def view(index=0, color="red"):
        recolor_view(catalog, extractor, int(items[index]), color)
        plt.show()

    return Explorer(view, index=widgets.IntSlider(min=0, max=len(items) - 1, value=0),
                    color=widgets.Dropdown(options=COLOR_NAMES, value="red"))


def builder_options(catalog: Catalog, split: str = "test", per_slot: int = 40) -> dict:
    """The outfit builder's menus: per slot, ``[("(none)", -1), (name, item id), ...]``.

    One entry per category and colour (the first such item of ``split``), at most ``per_slot`` of
    them, so a student picks "Sandal (red)" by name, not a catalogue index.
    """
    pool = catalog.find(split=split)
    menus = {}
    for k, slot in enumerate(SLOTS):
        items = pool[catalog.slot[pool] == k]
        menus[slot] = [("(none)", -1)] + [(name, int(items[p])) for name, p in named_choices(catalog, items, per_slot)]
    return menus


def named_choices(catalog: Catalog, items, n: int) -> list:
    """``[(name, position), ...]``: the first of ``items`` with each name ('Sandal (red)'), at most ``n`` of them."""
    choices, seen = [], set()
    for p, item in enumerate(items):
        if len(choices) >= n:
            break
        name = item_name(catalog, int(item), slot=False)
        if name not in seen:
            seen.add(name)
            choices.append((name, p))
    return choices


def builder_view(catalog: Catalog, feats, model, chosen: dict):
    """Score a hand-built outfit, or say in one line why it is not an outfit (pure function behind the builder).

    Parameters
    ----------
    chosen : dict
        Slot name -> catalog item id, -1 for an empty slot.

    Returns
    -------
    (figure or None, sentence): the figure of the scored outfit, or None with the reason it was not scored.
    """
    picked = {slot: int(item) for slot, item in chosen.items() if item is not None and item >= 0}
    if set(picked) not in [set(t) for t in TEMPLATES]:
        have = ", ".join(picked) or "nothing"
        return None, (f"Not an outfit yet (you picked: {have}). An outfit is a top and a bottom, or a dress, "
                      "plus shoes; a bag and outerwear are optional, so it holds 2 to 5 items.")
    fig, _ = score_outfit_view(catalog, feats, model, list(picked.values()))
    return fig, "Change any menu: the model's score and the stylist's verdict follow."


def outfit_builder(catalog: Catalog, feats, model, split: str = "test", per_slot: int = 40):
    """ipywidgets: a menu per slot, items picked by name; the model's score and the stylist's verdict update live.

    A combination that is not an outfit (a dress with a top, no shoes) is said in one line instead of scored.
    """
    menus = builder_options(catalog, split, per_slot)
    defaults = {"top": 1, "bottom": 1, "dress": 0, "outer": 0, "shoes": 1, "bag": 0}

    def view(**chosen):
        fig, said = builder_view(catalog, feats, model, chosen)
        say(said)
        if fig is not None:
            plt.show()

    controls = {s: widgets.Dropdown(options=menus[s], value=menus[s][min(defaults[s], len(menus[s]) - 1)][1],
                                    description=s, layout=widgets.Layout(width="320px"))
                for s in SLOTS}
    return Explorer(view, **controls)


def outfit_menu(wb, split: str = "test", n_outfits: int = 200) -> pd.DataFrame:
    """The explanation explorer's outfits in menu order, with what the stylist and the model say of each.

    Outfits both call bad come first, those whose IFIV culprit lies in a feature group the stylist
    faults at the very top (the explorer opens on the first: the app's question has an answer there);
    then outfits the model gets wrong; then outfits both call good. About half the menu is the first
    kind, three tenths the second, a fifth the third. Columns: outfit, state, label.
    """
    outfits = wb.splits[split]
    index = np.arange(len(outfits))
    batch = wb.batch(index, split)
    logits = score(wb.model, batch).numpy()
    bad_model, bad_stylist = logits <= 0, outfits.oracle_label <= 0
    attr = attribute(wb.model, batch, "ifiv")
    rule_group = DEFAULT_RULES.describe().set_index("rule").group
    in_rule = np.array([attr.groups[g] in {rule_group[r] for r in rs}
                        for g, rs in zip(attr.culprit()[1].tolist(), outfits.rules)])
    state = np.where(bad_model == bad_stylist, np.where(bad_model, 0, 2), 1)
    rank = np.where(state == 0, np.where(in_rule, 0, 1), state + 1)  # 0, 1: both bad; 2: they disagree; 3: both good
    ordered = index[np.lexsort((index, rank))]
    quota = (n_outfits // 2, 3 * n_outfits // 10, n_outfits - n_outfits // 2 - 3 * n_outfits // 10)
    kept = [int(i) for s, q in enumerate(quota) for i in ordered[state[ordered] == s][:q]]
    taken = set(kept)
    kept += [int(i) for i in ordered if int(i) not in taken][:max(0, n_outfits - len(kept))]  # fill up
    kept.sort(key=lambda i: (rank[i], i))
    names = ("both say bad", "they disagree", "both say good")

    def label(i):
        said = "good" if outfits.oracle_label[i] > 0 else "bad: " + ", ".join(outfits.rules[i])
        return f"#{i}: stylist {said}; model p(good) {p_good(logits[i]):.2f} | {names[state[i]]}"
    return pd.DataFrame({"outfit": kept, "state": [names[state[i]] for i in kept], "label": [label(i) for i in kept]})


def explanation_explorer(wb, split: str = "test", n_outfits: int = 200, gradcam: bool = True):
    """ipywidgets: pick an outfit, re-colour or swap one item, choose the method; all views update.

    The outfits menu (:func:`outfit_menu`) names each outfit by what the stylist and the model say of
    it, and opens on one both call bad; items and their replacements are picked by name. Every
    state shows a sentence on where the model, the stylist or the explanation disagree, the
    explanation and the Grad-CAM maps (``gradcam=False`` leaves them out, for chapter 04, before chapter 05
    defines Grad-CAM); ``pairs`` adds chapter 08's pair matrix of the same outfit (which two items clash)
    under a pair method, and a line says so while it is off.
    """
    catalog, outfits = wb.catalog, wb.splits[split]
    menu = outfit_menu(wb, split, n_outfits)
    source = f"<p style='color:#555'>Images: {escape(source_phrase(catalog.source))} (Zalando, MIT licence).</p>"

    def edit_options(i):
        return [(item_name(catalog, item), k) for k, item in enumerate(outfits.outfit(i))]

    def swap_options(i, position, n=40):  # one entry per category and colour: the first such item
        items = outfits.outfit(i)
        pool = swap_pool(catalog, items[min(position, len(items) - 1)], split)
        return [("(keep the item)", -1)] + named_choices(catalog, pool, n)

    outfit = widgets.Dropdown(options=list(zip(menu.label, menu.outfit.tolist())), value=int(menu.outfit[0]),
                              description="outfit", layout=widgets.Layout(width="720px"))
    position = widgets.Dropdown(options=edit_options(outfit.value), value=0, description="edit item",
                                layout=widgets.Layout(width="420px"))
    replacement = widgets.Dropdown(options=swap_options(outfit.value, 0), value=-1, description="swap for",
                                   layout=widgets.Layout(width="420px"))
    color = widgets.Dropdown(options=["keep", *COLOR_NAMES], value="keep", description="colour")
    following = []  # non-empty while the item menus follow a new outfit: one redraw at the end, not one per menu

    @contextmanager
    def follow():
        following.append(True)
        try:
            yield
        finally:
            following.clear()

    # a re-colouring belongs to one item of one outfit: a new outfit, item or swap starts from "keep", so the
    # drawn items always match what the menus name
    def follow_outfit(change):  # the item menus list the chosen outfit's items and their slot's items
        with follow():
            position.options = edit_options(change["new"])
            position.value = 0
            replacement.options = swap_options(change["new"], 0)
            replacement.value = -1
            color.value = "keep"

    def follow_item(change):
        if change["new"] is not None and not following:
            with follow():
                replacement.options = swap_options(outfit.value, change["new"])
                replacement.value = -1
                color.value = "keep"

    def follow_swap(change):
        if not following:
            with follow():
                color.value = "keep"
    outfit.observe(follow_outfit, "value")
    position.observe(follow_item, "value")
    replacement.observe(follow_swap, "value")

    def view(index=0, position=0, color="keep", replacement=-1, method="ifiv", pairs="off"):
        if following:
            return
        position, replacement = position or 0, -1 if replacement is None else replacement
        fig, cam, said = explain_view(wb, index, position, color, replacement, method, split, gradcam)
        say(said)
        display(*[f for f in (fig, cam) if f is not None])  # every figure on every state, not only the first
        if pairs == "off":
            display(HTML("<p style='color:#555'>No pair matrix: choose a pair method under 'pairs' to see which "
                         "two items clash.</p>"))
        else:
            display(pair_view(wb, index, position, color, replacement, pairs, split))
        items, colors, _ = _edited_outfit(wb, index, position, color, replacement, split)  # what the figure shows
        drawn = " · ".join(escape(item_name(catalog, it, c)) for it, c in zip(items, colors))
        display(HTML(f"<p class='xf-drawn'>Drawn, left to right: {drawn}</p>{source}"))
        plt.close("all")

    # every registered method, the cheap ones first so that browsing stays quick
    order = {"none": 0, "gradient": 1, "pixel": 2, "perturbation": 3}
    usable = sorted(methods(), key=lambda m: order.get(traits(m).cost, 4))
    return Explorer(
        view, index=outfit, position=position,
        color=color,
        replacement=replacement,
        method=widgets.Dropdown(options=usable, value="ifiv", description="method"),
        pairs=widgets.Dropdown(options=["off", *methods("pairs")], value="off", description="pairs"))


def margin_explorer(report):
    """ipywidgets: raise the score-drop margin and watch the accuracies change."""
    columns = ["item_top1 (all)", "pair_top1 (all)", "item_top1 (unambiguous)", "pair_top1 (unambiguous)", "cases"]

    def view(margin=report.config["margin"]):
        display(format_table(at_margin(report, margin)[columns]))

    top = float(np.quantile(report.per_case["drop"], 0.9))
    return widgets.interactive(view, margin=widgets.FloatSlider(min=report.config["margin"], max=round(top, 1),
                                                                step=0.5, value=report.config["margin"]))


def colour_path_view(wb, index: int, position: int, to_color: str, from_color: str | None = None,
                     split: str = "test", steps: int = 41):
    """Re-dye one item of an outfit step by step: the model's score against IFIV's linear guess.

    The item's colour histogram moves on a straight line from its histogram dyed ``from_color``
    (default: its own colour) to its histogram dyed ``to_color``; the linear guess extends the
    gradient read at the start, the first-order reading behind IFIV and the colour-drivers figure.

    Returns (figure, sentence): both scores at the end of the path and the stylist's verdict there.
    """
    catalog, items = wb.catalog, wb.splits[split].outfit(index)
    if not 0 <= position < len(items):
        raise ValueError(f"outfit {index} has items 0 to {len(items) - 1}; got position {position}")
    start = COLOR_NAMES[catalog.color[items[position]]] if from_color is None else from_color
    for name in (start, to_color):
        if name not in COLOR_NAMES:
            raise ValueError(f"{name!r} is not a palette colour; choose one of {', '.join(COLOR_NAMES)}")
    _, colors_a, batch = _edited_outfit(wb, index, position, start, -1, split)
    _, colors_b, end = _edited_outfit(wb, index, position, to_color, -1, split)
    h_a, h_b = batch.features["color"][0, position], end.features["color"][0, position]
    t = torch.linspace(0, 1, steps)
    features = {g: v.repeat(steps, 1, 1).clone() for g, v in batch.features.items()}
    features["color"][:, position] = h_a + t[:, None] * (h_b - h_a)
    x = {g: v.clone().requires_grad_(g == "color") for g, v in batch.features.items()}
    s0 = wb.model(x, batch.slot, batch.mask)[0]
    (grad,) = torch.autograd.grad(s0, x["color"])
    with torch.no_grad():
        true = wb.model(features, batch.slot.repeat(steps, 1), batch.mask.repeat(steps, 1)).numpy()
    guess = float(s0.detach()) + t.numpy() * float(grad[0, position] @ (h_b - h_a))
    fig = plt.figure(figsize=(style.MAX_WIDTH, 3.6), layout="constrained")
    grid = fig.add_gridspec(2, 3)
    for row, colors, name in ((0, colors_a, start), (1, colors_b, to_color)):
        ax = fig.add_subplot(grid[row, 0])
        ax.imshow(style.item_pixels(catalog.render(items[position:position + 1], colors[position:position + 1]))[0])
        ax.set_title(f"dyed {name}", fontsize=style.MIN_FONT)
        ax.set_axis_off()
    ax = fig.add_subplot(grid[:, 1:])
    ax.plot(t, true, color="k", lw=2, label="the model's score")
    ax.plot(t, guess, color="0.45", lw=2, ls="--", label="linear guess (gradient at the start)")
    ax.axhline(0, color="k", lw=0.6, ls=":")
    ax.set_xlabel(f"share of {to_color} in item {position}'s colour ({start} -> {to_color})", fontsize=style.MIN_FONT)
    ax.set_ylabel("logit", fontsize=style.MIN_FONT)
    ax.tick_params(labelsize=style.MIN_FONT)
    ax.legend(fontsize=style.MIN_FONT, loc="best")
    ax.set_title(f"item {position}, the {CATEGORIES[catalog.category[items[position]]]}: {start} -> {to_color}",
                 fontsize=style.MIN_FONT + 1)
    broken = [describe_violation(v, catalog.category[items], colors_b)
              for v in outfit_violations(catalog, items, colors_b) if position in v.items]
    said = (f"Dyed {to_color}, the outfit scores {true[-1]:+.2f} (dyed {start}: {true[0]:+.2f}); the linear guess "
            f"says {guess[-1]:+.2f}, {abs(true[-1] - guess[-1]):.2f} logits off. The stylist finds "
            + ("; and ".join(broken) if broken else f"no rule broken by the {to_color} item") + ".")
    return fig, said


def colour_path_explorer(wb, index: int, position: int = 0, to_color: str | None = None, split: str = "test"):
    """ipywidgets: re-dye one item of outfit ``index`` (first ``position``) from one palette colour to another
    (``to_color`` first), step by step: :func:`colour_path_view`."""
    items = wb.splits[split].outfit(index)
    item = widgets.Dropdown(options=[(item_name(wb.catalog, int(it)), k) for k, it in enumerate(items)],
                            value=position, description="item", layout=widgets.Layout(width="360px"))
    own = COLOR_NAMES[wb.catalog.color[items[position]]]
    start = widgets.Dropdown(options=COLOR_NAMES, value=own, description="from")
    end = widgets.Dropdown(options=COLOR_NAMES, value=to_color or next(c for c in COLOR_NAMES if c != own),
                           description="to")
    following = []

    def follow_item(change):  # a new item starts from its own colour: one redraw, not two
        following.append(True)
        start.value = COLOR_NAMES[wb.catalog.color[items[change["new"]]]]
        following.clear()

    item.observe(follow_item, "value")
    hint = ("Try: keep 'from' at the item's own colour and step 'to' through the palette. You should see the solid "
            "curve (the model) leave the dashed line (the linear guess) as the new colour takes over: the farther "
            "the curve ends from the line, the less a gradient read at the outfit says about the jump; a colour that "
            "breaks one of the stylist's rules can end far below the line, a fall the slope at the outfit cannot see.")

    def view(position=position, start=own, end=end.value):
        if following:
            return
        say(hint)
        fig, said = colour_path_view(wb, index, position, end, start, split)
        say(said)
        display(fig)
        plt.close(fig)

    return Explorer(view, position=item, start=start, end=end)


STEP_GRID = (1, 2, 4, 8, 16, 32, 64, 128)


def ig_steps_view(wb, index: int, n_steps: int, baseline: str = "zero", split: str = "test"):
    """Integrated gradients on one outfit: the convergence delta against ``n_steps``, and the path it integrates.

    Left, the mean |convergence delta| for the steps of :data:`STEP_GRID` and for ``n_steps``; right,
    the score along the straight path from the baseline (``"zero"`` or ``"mean"``, the dataset-mean
    item) to the outfit, with the points where Captum's Gauss-Legendre rule reads the gradient.

    Returns (figure, sentence).
    """
    if baseline not in ("zero", "mean"):
        raise ValueError(f"baseline is 'zero' or 'mean'; got {baseline!r}")
    if not 1 <= int(n_steps) <= 1000:
        raise ValueError(f"n_steps runs from 1 to 1000; got {n_steps}")
    method = "integrated_gradients" if baseline == "zero" else "integrated_gradients_mean"
    batch = wb.batch([index], split)
    run = lambda k: attribute(wb.model, batch, method, n_steps=int(k), **wb.options())  # noqa: E731
    deltas = [abs(float(run(k).extras["convergence_delta"][0])) for k in STEP_GRID]
    ig = run(n_steps)
    delta = float(ig.extras["convergence_delta"][0])
    base = {g: (torch.zeros_like(v) if baseline == "zero" else wb.means[g].expand_as(v) * batch.mask[..., None])
            for g, v in batch.features.items()}
    alpha = torch.linspace(0, 1, 101)
    at = torch.tensor((1 + np.polynomial.legendre.leggauss(int(n_steps))[0]) / 2, dtype=torch.float32)

    def along(a):
        with torch.no_grad():
            x = {g: base[g] + a[:, None, None] * (v - base[g]) for g, v in batch.features.items()}
            return wb.model(x, batch.slot.repeat(len(a), 1), batch.mask.repeat(len(a), 1)).numpy()

    path, dots = along(alpha), along(at)
    fig, (left, right) = plt.subplots(1, 2, figsize=(style.MAX_WIDTH, 3.6), layout="constrained")
    left.loglog(STEP_GRID, np.maximum(deltas, 1e-7), "o-", color="0.35")  # floor: an exact zero on a log axis
    left.loglog([n_steps], [max(abs(delta), 1e-7)], "o", color="k", ms=11, mfc="none", mew=2.5)
    left.set_xlabel("n_steps", fontsize=style.MIN_FONT)
    left.set_ylabel("|convergence delta| (logits)", fontsize=style.MIN_FONT)
    left.set_title(f"the integral's error; circled: {n_steps} steps", fontsize=style.MIN_FONT + 1)
    right.plot(alpha, path, color="k", lw=2)
    right.plot(at, dots, "o", color="0.35", ms=6, label=f"where IG reads the gradient ({n_steps})")
    right.set_xlabel(f"alpha: from the {baseline} baseline (0) to the outfit (1)", fontsize=style.MIN_FONT)
    right.set_ylabel("logit", fontsize=style.MIN_FONT)
    right.set_title("the score along IG's path", fontsize=style.MIN_FONT + 1)
    right.legend(fontsize=style.MIN_FONT, loc="best")
    [ax.tick_params(labelsize=style.MIN_FONT) for ax in (left, right)]
    gap = float(path[-1] - path[0])
    said = (f"In {n_steps} step{'s' * (n_steps != 1)} from the {baseline} baseline, IG's values sum to "
            f"{float(ig.values.sum()):+.2f} "
            f"where the score gap s(x) - s(baseline) is {gap:+.2f}: the convergence delta is {delta:+.3f}, "
            f"{abs(delta) / max(abs(gap), 1e-9):.1%} of the gap.")
    return fig, said


def ig_steps_explorer(wb, index, split: str = "test"):
    """ipywidgets: one of outfits ``index``, IG's ``n_steps`` and baseline; the delta and the path redraw."""
    outfits = wb.splits[split]
    options = [(f"#{int(i)}: {', '.join(outfits.rules[int(i)]) or 'good'}", int(i)) for i in index]
    hint = ("Try: one step, then 2, 4, 8 and up to 64, for both baselines. You should see the convergence delta "
            "shrink overall as the dots (where IG reads the gradient) come to cover the curve on the right: quickly "
            "where the curve is smooth, slowly where it bends between two dots; a few dots can also cancel their "
            "errors by luck, so the fall is not step by step.")

    def view(index=options[0][1], n_steps=8, baseline="zero"):
        say(hint)
        fig, said = ig_steps_view(wb, index, n_steps, baseline, split)
        say(said)
        display(fig)
        plt.close(fig)

    return Explorer(view, index=widgets.Dropdown(options=options, value=options[0][1], description="outfit",
                                                 layout=widgets.Layout(width="520px")),
                    n_steps=widgets.IntSlider(min=1, max=64, value=8, description="n_steps",
                                              layout=widgets.Layout(width="520px")),
                    baseline=widgets.Dropdown(options=["zero", "mean"], value="zero", description="baseline"))
