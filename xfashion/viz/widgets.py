"""Interactive explorers: thin ipywidgets wrappers over the plain view functions of the figure modules.

Each callback calls a pure package function with sensible defaults, so a headless run (CI, the
rendered book) still draws the figure. Chapters 01 (browser), 02 (re-colouring), 03 (outfit
builder), 04 and 08 (explanation explorer, with a pair view) and 06 (margin explorer).
"""
from __future__ import annotations

from contextlib import contextmanager
from html import escape

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import HTML, display

from ..data import COLOR_NAMES, DEBIAN_DIR, SLOTS, Catalog
from ..evaluate import at_margin, format_table
from ..evaluate.sentences import item_name, p_good
from ..explain import attribute
from ..explain.base import methods, traits
from ..outfits import TEMPLATES
from ..rules import DEFAULT_RULES
from ..scorer import score
from .explanations import explain_view, pair_view, swap_pool
from .outfits import outfit_ids, recolor_view, score_outfit_view, show_outfit


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

    return widgets.interactive(view, split=split, label=label, index=index)


def recolor_explorer(catalog: Catalog, extractor, items=None):
    """ipywidgets: pick an item and a colour; both feature groups update."""
    items = np.flatnonzero(catalog.split == "test")[:500] if items is None else np.asarray(items)

    def view(index=0, color="red"):
        recolor_view(catalog, extractor, int(items[index]), color)
        plt.show()

    return widgets.interactive(view, index=widgets.IntSlider(min=0, max=len(items) - 1, value=0),
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
        display(HTML(f"<p style='font-size:15px; max-width:900px'>{escape(said)}</p>"))
        if fig is not None:
            plt.show()

    controls = {s: widgets.Dropdown(options=menus[s], value=menus[s][min(defaults[s], len(menus[s]) - 1)][1],
                                    description=s, layout=widgets.Layout(width="320px"))
                for s in SLOTS}
    return widgets.interactive(view, **controls)


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
        display(HTML(f"<p style='font-size:15px; max-width:900px'>{escape(said)}</p>"))
        display(*[f for f in (fig, cam) if f is not None])  # every figure on every state, not only the first
        if pairs == "off":
            display(HTML("<p style='color:#555'>No pair matrix: choose a pair method under 'pairs' to see which "
                         "two items clash.</p>"))
        else:
            display(pair_view(wb, index, position, color, replacement, pairs, split))
        display(HTML(source))
        plt.close("all")

    # every registered method, the cheap ones first so that browsing stays quick
    order = {"none": 0, "gradient": 1, "pixel": 2, "perturbation": 3}
    usable = sorted(methods(), key=lambda m: order.get(traits(m).cost, 4))
    return widgets.interactive(
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
