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
from ..explain.base import methods, traits
from ..explain.pairs import pair_methods
from .explanations import explain_view, pair_view
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


def explanation_explorer(wb, split: str = "test"):
    """ipywidgets: pick an outfit, re-colour or swap one item, choose the method; all views update.

    ``pairs`` adds chapter 08's pair matrix of the same outfit (which two items clash) under a pair method.
    """

    def view(index=0, position=0, color="keep", replacement=-1, method="ifiv", pairs="off"):
        explain_view(wb, index, position, color, replacement, method, split)
        if pairs != "off":
            pair_view(wb, index, position, color, replacement, pairs, split)
        plt.show()

    # every registered method, the cheap ones first so that browsing stays quick
    order = {"none": 0, "gradient": 1, "pixel": 2, "perturbation": 3}
    usable = sorted(methods(), key=lambda m: order.get(traits(m).cost, 4))
    return widgets.interactive(
        view, index=widgets.IntSlider(min=0, max=len(wb.splits[split]) - 1, value=0, description="outfit"),
        position=widgets.IntSlider(min=0, max=4, value=0, description="edit item"),
        color=widgets.Dropdown(options=["keep", *COLOR_NAMES], value="keep", description="colour"),
        replacement=widgets.IntSlider(min=-1, max=300, value=-1, description="swap for"),
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
