"""Chapter 07's metric picker: weigh the metrics, and the methods re-rank by their mean tied rank.

:func:`weights_view` is the plain view (ranks and weights in, a figure and sentences out), and
:func:`weights_side_by_side` draws it once for a few weightings (the static view beside the explorer);
:func:`metric_picker` wraps it in one slider per metric and one for the tie threshold of
:func:`xfashion.evaluate.ranking.tied_ranks`, recomputed from the run's cases at each redraw (hundredths of a second).
"""
from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display

from ..evaluate.metrics import method_name, metric_name
from ..evaluate.ranking import tied_ranks, weighted_ranks
from . import style
from .widgets import Explorer, say


def _places(place: float) -> str:
    """'1st', '2nd', '3rd', '4th', ... of a whole number."""
    k = int(place)
    return f"{k}{'th' if 10 <= k % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(k % 10, 'th')}"


def mover(ranks: pd.DataFrame, families: dict) -> tuple:
    """The method whose place moves most between the metrics that judge correctness (randomisation, a sanity
    check that ties nearly every feature method, aside): ``(method, best metric, worst metric)``."""
    judged = ranks[[n for n in ranks.columns if families.get(n) != "randomisation"]]
    span = (judged.max(axis=1) - judged.min(axis=1)).drop("random", errors="ignore")
    m = span.idxmax()  # the first of equals: the rows' order (IFIV first)
    return m, judged.loc[m].idxmin(), judged.loc[m].idxmax()


def hint(ranks: pd.DataFrame, families: dict) -> str:
    """What to try in the picker and what to see, with this run's mover named."""
    m, best, worst = mover(ranks, families)
    if ranks.loc[m, best] == ranks.loc[m, worst]:
        return ("Try: set every weight to 0 but one metric's, then another's. On this run no method's place moves "
                "between the metrics that judge correctness, so you should see the order stay.")
    return (f"Try: set every weight to 0 but {metric_name(best)}'s, then only {metric_name(worst)}'s, then all at 1. "
            f"You should see {method_name(m)} move most: {_places(ranks.loc[m, best])} by {metric_name(best)}, "
            f"{_places(ranks.loc[m, worst])} by {metric_name(worst)}. Which explainer is best is an answer about the "
            "metrics you weighed, not about the explainers alone.")


def _draw(ax, ranks: pd.DataFrame, weights: dict, k: float) -> str:
    """Draw one weighting's bars and ticks on ``ax``; return its sentence."""
    table = weighted_ranks(ranks, weights)
    used = [n for n in ranks.columns if weights.get(n, 0) > 0]
    shown, missing = table.dropna(), table.index[table["mean rank"].isna()]
    y = np.arange(len(shown))
    ax.barh(y, shown["mean rank"], color=style.CATEGORICAL[3], alpha=0.35, height=0.7, label="weighted mean rank")
    for row, m in enumerate(shown.index):
        own = ranks.loc[m, used].dropna()
        ax.plot(own, [row] * len(own), "|", color="black", ms=11, mew=1.5,
                label="rank under one metric" if row == 0 else None)
        ax.text(len(ranks) + 0.6, row, _places(shown.loc[m, "place"]), va="center", fontsize=style.MIN_FONT)
    ax.set_yticks(y, [method_name(m) for m in shown.index], fontsize=style.MIN_FONT)
    ax.invert_yaxis()
    ax.set_xlim(0, len(ranks) + 1.5)
    ax.set_xticks(range(1, len(ranks) + 1))
    ax.tick_params(labelsize=style.MIN_FONT)
    ax.set_xlabel(f"rank (1 = best; within {k:g} SE: tied)", fontsize=style.MIN_FONT)
    order = ", ".join(f"{_places(p)} {method_name(m)}" for m, p in shown["place"].items())
    return (f"Weighed: {', '.join(f'{metric_name(n)} ×{weights[n]:g}' for n in used)}. By mean rank: {order}."
            + (f" {' and '.join(map(method_name, missing))} {'has' if len(missing) == 1 else 'have'} no rank under "
               f"{' or '.join(map(metric_name, used))}: left out." if len(missing) else ""))


def weights_view(ranks: pd.DataFrame, weights: dict, ax=None, k: float = 2.0):
    """Bars: each method's mean tied rank over the weighted metrics (shorter is better); ticks: its rank under each
    weighted metric (``k``: the tie threshold the ranks were made with, for the axis). Returns ``(fig, sentence)``;
    ``fig`` is None when no weight is above 0."""
    if not any(w > 0 for w in weights.values()):
        return None, "Give at least one metric a weight above 0: with every weight at 0 there is nothing to rank by."
    fig, ax = (plt.subplots(figsize=(7.5, 0.32 * len(ranks) + 1.6)) if ax is None else (ax.figure, ax))
    said = _draw(ax, ranks, weights, k)
    ax.set_title("Methods by their mean rank over the weighted metrics", fontsize=style.MIN_FONT + 1)
    fig.legend(fontsize=style.MIN_FONT, loc="lower center", ncol=2, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))  # room for the legend under the axis
    return fig, said


def weights_side_by_side(ranks: pd.DataFrame, weightings: dict, k: float = 2.0):
    """The picker's view drawn once for each of a few weightings, side by side: the static view of
    :func:`metric_picker` for a reader without a live kernel.

    ``weightings``: panel title -> weights (as :func:`weights_view`'s). Returns ``(fig, sentences)``, one sentence
    a panel, led by its title.
    """
    if not weightings or any(not any(w > 0 for w in ws.values()) for ws in weightings.values()):
        raise ValueError("Each weighting needs at least one metric with a weight above 0; got "
                         f"{ {t: dict(ws) for t, ws in weightings.items()} }.")
    fig, axes = plt.subplots(1, len(weightings), figsize=(9, 0.32 * len(ranks) + 1.8))
    said = []
    for ax, (title, weights) in zip(np.atleast_1d(axes), weightings.items()):
        said.append(f"**{title}.** " + _draw(ax, ranks, weights, k))
        ax.set_title(title, fontsize=style.MIN_FONT + 1)
    handles, labels = np.atleast_1d(axes)[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=style.MIN_FONT, loc="lower center", ncol=2, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig, said


def metric_picker(scores: pd.DataFrame, per_case: pd.DataFrame, families: dict, top: int = 3):
    """ipywidgets: one weight (0 to ``top``) per metric of ``scores`` and the tie threshold; the methods re-rank by
    :func:`weights_view` over :func:`xfashion.evaluate.ranking.tied_ranks` at that threshold.

    ``scores``: methods x metrics means; ``per_case``: the run's cases (their standard errors); ``families``: each
    metric's family (the hint leaves randomisation aside).
    """
    def view(**weights):  # the weights' sliders, then the threshold's: the order they are shown in
        ties = weights.pop("ties")
        ranks = tied_ranks(scores, per_case, k=ties)  # a few hundredths of a second: the SEs are one table
        say(hint(ranks, families))
        fig, sentence = weights_view(ranks, weights, k=ties)
        say(f"Ties: gaps within {ties:g} standard errors" + (" (none: every gap counts)" if ties == 0 else "") + ". "
            + sentence)
        if fig is not None:
            display(fig)
            plt.close(fig)  # drawn once, by display

    look = {"style": {"description_width": "190px"}, "layout": widgets.Layout(width="460px")}
    sliders = {n: widgets.IntSlider(min=0, max=top, value=1, description=metric_name(n), **look)
               for n in scores.columns}
    ties = widgets.FloatSlider(min=0, max=3, step=0.5, value=2.0, readout_format=".1f",
                               description="ties within (SE)", **look)
    return Explorer(view, **sliders, ties=ties)
