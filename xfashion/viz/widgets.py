"""Interactive explorers: thin ipywidgets wrappers over the plain view functions of the figure modules.

Each callback calls a pure package function with sensible defaults, so a headless run (CI, the
rendered book) still draws the figure. Chapters 01 (browser), 02 (re-colouring), 03 (outfit
builder), 04 and 08 (explanation explorer, with a pair view) and 06 (margin explorer).
"""
from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display

from ..data import COLOR_NAMES, SLOTS, Catalog
from ..evaluate import at_margin, format_table
from ..explain import attribute
from ..explain.base import methods, traits
from ..explain.pairs import pair_methods
from ..features import DEFAULT_GROUPS
from ..rules import DEFAULT_RULES
from ..scorer import score
from .explanations import explain_view, item_name, p_good, pair_view
from .outfits import recolor_view, score_outfit_view, show_outfit


def browse_outfits(catalog: Catalog, splits: dict):
    """An ipywidgets browser: a slider over outfits and dropdowns for split and label."""

    def view(split="test", label="any", index=0):
        fig, _ = show_outfit(catalog, splits, split, label, index)
        plt.show()

    return widgets.interactive(view, split=widgets.Dropdown(options=list(splits), value="test"),
                               label=widgets.Dropdown(options=["any", "good", "bad"], value="any"),
                               index=widgets.IntSlider(min=0, max=199, value=0))


def recolor_explorer(catalog: Catalog, extractor, items=None):
    """ipywidgets: pick an item and a colour; both feature groups update."""
    items = np.flatnonzero(catalog.split == "test")[:500] if items is None else np.asarray(items)

    def view(index=0, color="red"):
        recolor_view(catalog, extractor, int(items[index]), color)
        plt.show()

    return widgets.interactive(view, index=widgets.IntSlider(min=0, max=len(items) - 1, value=0),
                               color=widgets.Dropdown(options=COLOR_NAMES, value="red"))


def outfit_builder(catalog: Catalog, feats, model, split: str = "test", per_slot: int = 200):
    """ipywidgets: a slider per slot (-1 = leave the slot empty); the score updates live."""
    pools = {s: catalog.find(split=split)[catalog.slot[catalog.find(split=split)] == k][:per_slot]
             for k, s in enumerate(SLOTS)}
    defaults = {"top": 0, "bottom": 0, "dress": -1, "outer": -1, "shoes": 0, "bag": -1}

    def view(**chosen):
        items = [pools[s][v] for s, v in chosen.items() if v >= 0]
        if not items:
            print("Pick at least one item.")
            return
        score_outfit_view(catalog, feats, model, items)
        plt.show()

    sliders = {s: widgets.IntSlider(min=-1, max=len(pools[s]) - 1, value=defaults[s], description=s)
               for s in SLOTS}
    return widgets.interactive(view, **sliders)


def explanation_explorer(wb, split: str = "test", n_outfits: int = 200):
    """ipywidgets: pick an outfit, re-colour or swap one item, choose the method; all views update.

    The outfits menu names each outfit by what the stylist and the model say of it, and opens on one
    both call bad (outfits the model gets wrong come next, then good ones); items and their
    replacements are picked by name. Every state shows the explanation, the Grad-CAM maps and a
    sentence saying where the model, the stylist or the explanation disagree. ``pairs`` adds
    chapter 08's pair matrix of the same outfit (which two items clash) under a pair method.
    """
    catalog, outfits = wb.catalog, wb.splits[split]
    index = np.arange(len(outfits))
    batch = wb.batch(index, split)
    logits = score(wb.model, batch).numpy()
    bad_model, bad_stylist = logits <= 0, outfits.oracle_label <= 0
    # both say bad first (the app's question), those whose IFIV blames a group the stylist faults at
    # the top; then the model's mistakes; then outfits both call good
    rules = DEFAULT_RULES.describe().set_index("rule").group
    group = np.asarray(attribute(wb.model, batch, "ifiv").culprit()[1])
    blamed = np.array([DEFAULT_GROUPS.names[g] in {rules[r] for r in rs} for g, rs in zip(group, outfits.rules)])
    rank = np.where(bad_model & bad_stylist, np.where(blamed, 0, 1), np.where(bad_model != bad_stylist, 2, 3))
    ordered = index[np.lexsort((index, rank))]
    # a menu of n_outfits: mostly outfits both call bad, but the disagreements and good ones reachable too
    quota = {0: n_outfits // 2, 1: n_outfits // 5, 2: n_outfits // 5, 3: n_outfits // 10}
    kept = [int(i) for r, q in quota.items() for i in ordered[rank[ordered] == r][:q]]
    taken = set(kept)
    kept += [int(i) for i in ordered if int(i) not in taken][:max(0, n_outfits - len(kept))]  # fill up
    shown = np.array(sorted(kept, key=lambda i: (rank[i], i)))

    def outfit_label(i):
        said = "good" if outfits.oracle_label[i] > 0 else "bad: " + ", ".join(outfits.rules[i])
        agree = "" if bad_model[i] == bad_stylist[i] else " | they disagree"
        return f"#{i}: stylist {said}; model p(good) {p_good(logits[i]):.2f}{agree}"

    def pool(i, position):
        items = outfits.outfit(i)
        same = catalog.find(split=split)
        return same[catalog.slot[same] == catalog.slot[items[min(position, len(items) - 1)]]]

    def edit_options(i):
        return [(f"{k}. {item_name(catalog, item)}", k) for k, item in enumerate(outfits.outfit(i))]

    def swap_options(i, position, n=40):
        return [("(keep the item)", -1)] + [(item_name(catalog, item).split(": ")[1], k)
                                            for k, item in enumerate(pool(i, position)[:n])]

    outfit = widgets.Dropdown(options=[(outfit_label(i), int(i)) for i in shown], value=int(shown[0]),
                              description="outfit", layout=widgets.Layout(width="640px"))
    position = widgets.Dropdown(options=edit_options(outfit.value), value=0, description="edit item",
                                layout=widgets.Layout(width="420px"))
    replacement = widgets.Dropdown(options=swap_options(outfit.value, 0), value=-1, description="swap for",
                                   layout=widgets.Layout(width="420px"))

    def follow_outfit(change):  # the item menus list the chosen outfit's items and their slot's items
        position.options = edit_options(change["new"])
        position.value = 0
        replacement.options = swap_options(change["new"], 0)
        replacement.value = -1

    def follow_item(change):
        if change["new"] is not None:
            replacement.options = swap_options(outfit.value, change["new"])
            replacement.value = -1
    outfit.observe(follow_outfit, "value")
    position.observe(follow_item, "value")

    def view(index=0, position=0, color="keep", replacement=-1, method="ifiv", pairs="off"):
        fig, cam, said = explain_view(wb, index, position or 0, color, -1 if replacement is None else replacement,
                                      method, split)
        display(widgets.HTML(f"<p style='font-size:15px; max-width:900px'>{said}</p>"))
        display(fig, cam)  # both figures on every state, not only the first
        if pairs != "off":
            display(pair_view(wb, index, position or 0, color, replacement, pairs, split))
        plt.close("all")

    # every registered method, the cheap ones first so that browsing stays quick
    order = {"none": 0, "gradient": 1, "pixel": 2, "perturbation": 3}
    usable = sorted(methods(), key=lambda m: order.get(traits(m).cost, 4))
    return widgets.interactive(
        view, index=outfit, position=position,
        color=widgets.Dropdown(options=["keep", *COLOR_NAMES], value="keep", description="colour"),
        replacement=replacement,
        method=widgets.Dropdown(options=usable, value="ifiv", description="method"),
        pairs=widgets.Dropdown(options=["off", *pair_methods()], value="off", description="pairs"))


def margin_explorer(report):
    """ipywidgets: raise the score-drop margin and watch the accuracies change."""
    columns = ["item_top1 (all)", "pair_top1 (all)", "item_top1 (unambiguous)", "pair_top1 (unambiguous)", "cases"]

    def view(margin=report.config["margin"]):
        display(format_table(at_margin(report, margin)[columns]))

    top = float(np.quantile(report.per_case["drop"], 0.9))
    return widgets.interactive(view, margin=widgets.FloatSlider(min=report.config["margin"], max=round(top, 1),
                                                                step=0.5, value=report.config["margin"]))
