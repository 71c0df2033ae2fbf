"""Interactive explorers: thin ipywidgets wrappers over the plain view functions of the figure modules.

Each callback calls a pure package function with sensible defaults, so a headless run (CI, the
rendered book) still draws the figure. Chapters 01 (browser), 03 (outfit builder), 04 and 08 (explanation
explorer, with a pair view; the colour path), 05 (IG's steps) and 06 (margin explorer); chapter 02's live in
:mod:`.items`. Every explorer is an :class:`Explorer`: a notebook cell that ends with one shows its controls and
figure, never the widget's text form.
"""
from __future__ import annotations

from contextlib import contextmanager
from html import escape

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import HTML, Markdown, display

from ..data import COLOR_NAMES, SLOTS, Catalog
from ..evaluate.sentences import describe_violation, item_name, p_good, rule_name
from ..explain import attribute
from ..explain.base import methods, traits
from ..outfits import TEMPLATES, outfit_violations
from ..rules import DEFAULT_RULES
from ..scorer import score, score_outfit
from .evaluation import design_sentence, design_view, margin_curve, method_name, pair_row_name, plot_margin
from .explanations import _edited_outfit, explain_view, pair_view, source_phrase, swap_pool
from .outfits import outfit_ids, score_outfit_view, show_outfit
from .paths import colour_path_view, ig_steps_view


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


def browse_outfits(catalog: Catalog, splits: dict, label: str = "any"):
    """An ipywidgets browser: dropdowns for split and label (opened on ``label``), and a slider over every outfit
    they leave, read out as the outfit's id in its split: the number the figure's title and the chapter's tables
    give it."""
    if label not in ("any", "good", "bad"):
        raise ValueError(f"label must be 'any', 'good' or 'bad'; got {label!r}.")
    split = widgets.Dropdown(options=list(splits), value="test", description="split")
    label = widgets.Dropdown(options=["any", "good", "bad"], value=label, description="label")

    def choices():  # (id, position among the outfits the menus leave): the slider shows the id, passes the position
        return [(str(i), k) for k, i in enumerate(outfit_ids(splits, split.value, label.value))]

    index = widgets.SelectionSlider(options=choices(), description="outfit")

    def follow(change):  # observed before interactive's own observer: the slider's range is set before the redraw
        index.options = choices()

    split.observe(follow, "value")
    label.observe(follow, "value")

    def view(split="test", label=label.value, index=0):
        say(BROWSE_HINT)
        show_outfit(catalog, splits, split, label, index)
        plt.show()

    return Explorer(view, split=split, label=label, index=index)


BROWSE_HINT = ("Try: slide through the outfits, then switch the label menu between bad and good. You should see, on "
               "a bad outfit, the broken rules named in the title, a purple 'blamed' tag on each item the stylist "
               "blames and under it the blame per feature group; on a good one, no tag and no blame.")


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
    (figure or None, sentence): the figure of the scored outfit and its verdict in words
    (:func:`builder_verdict`), or None with the reason it was not scored.
    """
    picked = {slot: int(item) for slot, item in chosen.items() if item is not None and item >= 0}
    if set(picked) not in [set(t) for t in TEMPLATES]:
        have = ", ".join(picked) or "nothing"
        return None, (f"Not an outfit yet (you picked: {have}). An outfit is a top and a bottom, or a dress, "
                      "plus shoes; a bag and outerwear are optional, so it holds 2 to 5 items.")
    items = list(picked.values())
    fig, _ = score_outfit_view(catalog, feats, model, items)
    return fig, builder_verdict(catalog, items, score_outfit(model, catalog, feats, items))


def builder_verdict(catalog: Catalog, items, logit: float) -> str:
    """The builder's verdict line in chapter 03's words: the model's logit and call, the stylist's call and the
    rules it applies (with the numbers that break them), and whether the two agree (a false alarm, a miss)."""
    items = np.asarray(items)
    colors = catalog.color[items]
    broken = outfit_violations(catalog, items, colors)
    said = "good" if logit > 0 else "bad"
    model = f"The model gives a logit of {logit:+.2f} (p(good) {p_good(logit):.2f}): it says {said}."
    stylist = ("The stylist says good: the outfit breaks none of its rules." if not broken else
               "The stylist says bad: " + "; and ".join(describe_violation(v, catalog.category[items], colors)
                                                       for v in broken) + ".")
    agree = ("They agree." if (logit > 0) == (not broken) else
             "They disagree: a miss, a clash the scorer lets through." if broken else
             "They disagree: a false alarm, a good outfit the scorer calls bad.")
    return f"{model} {stylist} {agree}"


def outfit_builder(catalog: Catalog, feats, model, split: str = "test", per_slot: int = 40):
    """ipywidgets: a menu per slot, items picked by name; the model's score and the stylist's verdict update live.

    A dress takes the place of a top and a bottom: picking one clears their menus and turns them off, and
    setting the dress back to "(none)" restores them. Any other combination that is not an outfit (no
    shoes, a top without a bottom) is said in one line instead of scored.
    """
    menus = builder_options(catalog, split, per_slot)
    defaults = {"top": 1, "bottom": 1, "dress": 0, "outer": 0, "shoes": 1, "bag": 0}
    controls = {s: widgets.Dropdown(options=menus[s], value=menus[s][min(defaults[s], len(menus[s]) - 1)][1],
                                    description=s, layout=widgets.Layout(width="320px"))
                for s in SLOTS}
    kept, following = {}, []  # the top and bottom a dress replaced; non-empty while the menus follow a dress

    def follow_dress(change):  # observed before interactive's own observer: one redraw, with the menus set
        following.append(True)
        try:
            for slot in ("top", "bottom"):
                menu = controls[slot]
                if change["new"] >= 0:
                    kept.setdefault(slot, menu.value)
                    menu.value, menu.disabled = -1, True
                else:
                    menu.disabled = False
                    menu.value = kept.pop(slot, menu.value)
        finally:
            following.clear()

    controls["dress"].observe(follow_dress, "value")

    def view(**chosen):
        if following:
            return
        if chosen.get("dress", -1) >= 0:
            say("A dress takes the place of a top and a bottom: their menus are cleared and turned off while a "
                "dress is picked; set dress to (none) to pick them again.")
        fig, said = builder_view(catalog, feats, model, chosen)
        say(said)
        if fig is not None:
            plt.show()

    return Explorer(view, **controls)


def outfit_menu(wb, split: str = "test", n_outfits: int = 200) -> pd.DataFrame:
    """The explanation explorer's outfits in menu order, with what the stylist and the model say of each.

    About half the menu is outfits both call bad (those whose IFIV culprit lies in a feature group the
    stylist faults first), three tenths outfits the model gets wrong, a fifth outfits both call good.
    The kinds take turns, so the first screen of the menu teaches both agreement and disagreement: an
    outfit both call bad (the explorer opens on it: the app's question has an answer there), a miss
    (the stylist says bad, the model good), one both call good, a false alarm (the other way round),
    then the next of each. Columns: outfit, state, label.
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
    kind = np.where(state == 1, np.where(bad_model, 3, 1), state)  # 0 both bad, 1 a miss, 2 both good, 3 a false alarm
    turn, seen = {}, [0, 0, 0, 0]  # an outfit's place among the kept outfits of its kind: the kinds take turns
    for i in kept:
        turn[i], seen[kind[i]] = seen[kind[i]], seen[kind[i]] + 1
    kept.sort(key=lambda i: (turn[i], kind[i]))
    names = ("both say bad", "they disagree", "both say good")

    def label(i):
        said = "good" if outfits.oracle_label[i] > 0 else "bad: " + ", ".join(map(rule_name, outfits.rules[i]))
        return f"#{i}: stylist {said}; model p(good) {p_good(logits[i]):.2f} | {names[state[i]]}"
    return pd.DataFrame({"outfit": kept, "state": [names[state[i]] for i in kept], "label": [label(i) for i in kept]})


def explanation_explorer(wb, split: str = "test", n_outfits: int = 200, gradcam: bool = True, pairs: str = "off"):
    """ipywidgets: pick an outfit, re-colour or swap one item, choose the method; all views update.

    The outfits menu (:func:`outfit_menu`) names each outfit by what the stylist and the model say of
    it, and opens on one both call bad; items and their replacements are picked by name. Every
    state shows a sentence on where the model, the stylist or the explanation disagree, the
    explanation and the Grad-CAM maps (``gradcam=False`` leaves them out, for chapter 04, before chapter 05
    defines Grad-CAM); ``pairs`` adds chapter 08's pair matrix of the same outfit (which two items clash)
    under a pair method (the menu opens on ``pairs``, and the method menu then leaves out the slow methods, those
    with ``max_cases``: pixel IG, Grad-CAM, sampled and exact Shapley values), and a line says so while it is off.
    """
    if pairs != "off" and pairs not in methods("pairs"):
        raise ValueError(f"Unknown pair method {pairs!r}; choose 'off' or one of {methods('pairs')}.")
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

    # every registered method in words, IFIV first, then the cheap ones so that browsing stays quick
    order = {"none": 0, "gradient": 1, "pixel": 2, "perturbation": 3}
    usable = [(method_name(m), m) for m in sorted(methods(), key=lambda m: (m != "ifiv", order.get(traits(m).cost, 4)))]
    if pairs != "off":  # chapter 08's pair view redraws within a second: only the methods every swap case runs
        usable = [(words, m) for words, m in usable if traits(m).max_cases is None]
    return Explorer(
        view, index=outfit, position=position,
        color=color,
        replacement=replacement,
        method=widgets.Dropdown(options=usable, value="ifiv", description="method"),
        pairs=widgets.Dropdown(options=[("off", "off"), *((pair_row_name(m), m) for m in methods("pairs"))],
                               value=pairs, description="pairs"))


def margin_explorer(report, methods=("ifiv", "feature_ablation", "integrated_gradients", "random")):
    """ipywidgets: raise the least logit drop a kept swap must have, and watch item top-1 along the curve.

    The figure draws each method's item top-1 against the margin (from the stored per-case results, nothing is
    re-computed) and chance on the same cases, the chosen margin marked; the sentence says how many cases it keeps
    and what they score.
    """

    methods = [m for m in methods if m in set(report.per_case.method)]
    start = report.config["margin"]
    top = round(float(np.quantile(report.per_case["drop"], 0.95)), 1)
    display(HTML("<p>Move the slider (the margin, in logits) to the right: only the swaps that lowered the logit by "
                 "at least that much stay, and every curve is item top-1 over them. You should see whether a larger "
                 "drop makes the swapped item easier to find: read each curve against the dashed chance line of the "
                 "same cases (it moves too, as the kept outfits change size), and see how few cases are left at the "
                 "right end.</p>"))

    def view(margin=start):
        at = margin_curve(report.per_case, [margin], methods).iloc[0]
        n = int(round(at["kept"] * (report.per_case.method == methods[0]).sum()))
        rates = ", ".join(f"{method_name(m)} {at[m]:.2f}" for m in methods)
        display(HTML(f"<p>At a margin of {margin:.1f} logits, {n:,} cases ({at['kept']:.0%}) are kept; item top-1: "
                     f"{escape(rates)} (chance on these cases {at['chance']:.2f}).</p>"))
        fig, _ = plot_margin(report.per_case, margin, methods, top)
        display(fig)
        plt.close(fig)

    # the end on the slider's 0.5 grid: End lands on a margin the readout and the sentence spell alike
    slider = widgets.FloatSlider(min=start, max=start + 0.5 * max(1, int(np.ceil((top - start) / 0.5))), step=0.5,
                                 value=start, readout_format=".1f",
                                 description="margin (logits)", style={"description_width": "initial"},
                                 layout=widgets.Layout(width="520px"))
    return Explorer(view, margin=slider)


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


def ig_steps_explorer(wb, index, split: str = "test"):
    """ipywidgets: one of outfits ``index``, IG's ``n_steps`` and baseline; the delta and the path redraw."""
    outfits = wb.splits[split]
    options = [(f"#{int(i)}: {', '.join(map(rule_name, outfits.rules[int(i)])) or 'good'}", int(i)) for i in index]
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


def design_explorer(study: pd.DataFrame, gradients: pd.DataFrame, reference: str = "SiLU"):
    """ipywidgets: pick a scorer design of the study and see its gradient's size and each method's item top-1.

    Everything is computed before (``study`` from :func:`xfashion.evaluate.design_study`, ``gradients``
    from :func:`xfashion.evaluate.design.gradient_sizes`), so a redraw only draws.
    """
    def view(design=reference):
        display(Markdown(design_sentence(study, gradients, design, reference)))
        fig = design_view(study, gradients, design, reference)
        display(fig)
        plt.close(fig)  # drawn once, by display: a figure left open would be drawn again at the cell's end

    menu = widgets.Dropdown(options=list(study.index), value=reference, description="design",
                            layout=widgets.Layout(width="420px"))
    return Explorer(view, design=menu)
