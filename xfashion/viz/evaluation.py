"""Figures of the evaluation (chapters 05-07), one function each: agreement, cost, detection by kind
and slot, accuracy against cost, deletion curves and the sanity check.

Same conventions as :mod:`xfashion.viz.outfits`: data in, an optional ``ax``, ``(fig, ax)`` out.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ..data import SLOTS
from ..groups import COLOR_GROUP, SHAPE_GROUP
from .outfits import _axes


def plot_agreement(table: pd.DataFrame, ax=None, title: str = "Rank agreement between methods (Spearman)"):
    """Seaborn heat map of a methods x methods agreement table."""
    fig, ax = _axes(ax, size=(8, 6.5))
    sns.heatmap(table, annot=True, fmt=".2f", cmap="vlag", vmin=-1, vmax=1, ax=ax, annot_kws={"fontsize": 7},
                cbar_kws={"label": "mean Spearman correlation"})
    ax.set(xlabel="", ylabel="", title=title)
    return fig, ax


def plot_cost(table: pd.DataFrame, ax=None):
    """Milliseconds per outfit for each method (log scale)."""
    fig, ax = _axes(ax, size=(6, 4))
    t = table.sort_values("ms_per_outfit")
    sns.barplot(x=t["ms_per_outfit"], y=t.index, ax=ax, color="steelblue")
    ax.set_xscale("log")
    ax.set(xlabel="milliseconds per outfit (log scale)", ylabel="", title="Cost per explanation on this CPU")
    return fig, ax


KIND_COLORS = {COLOR_GROUP: "#d95f02", SHAPE_GROUP: "#1b9e77", "item": "#7570b3"}
SLOT_COLORS = dict(zip(SLOTS, sns.color_palette("tab10", len(SLOTS)).as_hex()))


def plot_accuracy_by(per_case: pd.DataFrame, by: str, metric: str = "item_top1", methods=None,
                     unambiguous: bool = False, ax=None):
    """Bar plot of a detection metric per method and ``by`` group, 95% bootstrap intervals and case counts.

    Swap kinds and slots keep one colour across figures; the legend gives each group's number of cases.
    """
    fig, ax = _axes(ax, size=(11, 4.2))
    data = per_case[per_case.unambiguous] if unambiguous else per_case
    if methods is not None:
        data = data[data.method.isin(methods)]
    fixed = {"kind": KIND_COLORS, "slot": SLOT_COLORS}.get(by, {})
    order = [k for k in fixed if k in set(data[by])] or sorted(set(data[by]))
    method_order = [m for m in (methods or data.method.unique()) if m in set(data.method)]
    palette = {k: fixed[k] for k in order} if fixed else None
    sns.barplot(data=data, x="method", y=metric, hue=by, order=method_order, hue_order=order, palette=palette,
                errorbar=("ci", 95), n_boot=500, seed=0, ax=ax)
    # the number of cases per group goes into the legend (the same for every method, which all explain
    # the same cases), not onto the bars, where it would overprint the whiskers
    per_method = data.groupby([by, "method"]).size().groupby(by).max()
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, [f"{label} ({per_method.get(label, 0):,} cases)" for label in labels], fontsize=8, title=by,
              bbox_to_anchor=(1.01, 1), loc="upper left")
    ax.set_xticks(ax.get_xticks(), [m.replace("_", " ") for m in method_order], rotation=20, ha="right")
    ax.set(ylim=(0, 1.05), xlabel="", ylabel=f"{metric} ↑")
    ax.set_title(f"{metric} by {by} ({'unambiguous' if unambiguous else 'all'} cases; 95% bootstrap CI)",
                 fontsize=10)
    return fig, ax


def plot_accuracy_vs_cost(report, metric: str = "item_top1", ax=None):
    """Detection accuracy against milliseconds per outfit (log scale), one marker per method with a legend.

    Methods whose points coincide (IFIV, InputXGradient and DeepLift compute the same numbers) keep
    distinct markers and colours, so the legend tells them apart where labels would overprint.
    """
    fig, ax = _axes(ax, size=(8.5, 4.8))
    acc = report.per_case.groupby("method")[metric].mean()
    ms = report.cost["ms_per_outfit"]
    colours = sns.color_palette("tab20", len(ms))
    markers = "osD^vP*Xhp<>8d"
    for k, m in enumerate(ms.index):
        ax.scatter(ms[m], acc[m], s=55, color=colours[k], marker=markers[k % len(markers)],
                   edgecolor="k", linewidth=0.5, label=m.replace("_", " "), zorder=3)
    ax.axhline(acc.get("oracle", np.nan), color="k", ls=":", lw=1, label="oracle ceiling")
    ax.axhline(report.random_expected[metric], color="grey", ls="--", lw=1, label="random ranking (analytic)")
    ax.set_xscale("log")
    ax.set_xlabel("ms per outfit (log) ↓")
    ax.set_ylabel(f"{metric} (all cases) ↑")
    ax.legend(fontsize=8, bbox_to_anchor=(1.01, 1), loc="upper left")
    return fig, ax


def plot_deletion_curves(report, methods=None, ax=None):
    """Quantus's pixel-flipping curves: the 'bad' logit as the most-blamed (item, group) cells take the mean."""
    fig, ax = _axes(ax, size=(6.5, 4.2))
    curves = report.deletion if methods is None else report.deletion[methods]
    for m in curves:
        ax.plot(curves.index, curves[m], marker=".", label=m, lw=2 if m == "ifiv" else 1)
    ax.set_xlabel("share of the outfit's (item, group) cells replaced, most blamed first")
    ax.set_ylabel("mean logit of 'bad' ↓")
    ax.set_title("Deletion (pixel flipping): removing what a method blames should lower 'bad' fast")
    ax.legend(fontsize=7, bbox_to_anchor=(1, 1))
    return fig, ax


def plot_sanity(report, ax=None):
    """Item top-1 on the trained scorer and on a scorer with randomised weights, with the random level."""
    fig, ax = _axes(ax, size=(11, 4.0))
    data = report.sanity.reset_index().melt(id_vars="index", var_name="model", value_name="item_top1")
    data["index"] = data["index"].str.replace("_", " ")
    sns.barplot(data=data, x="index", y="item_top1", hue="model", ax=ax)
    ax.axhline(report.random_expected["item_top1"], color="k", ls="--", lw=1,
               label="random ranking (analytic)")
    plt.setp(ax.get_xticklabels(), rotation=35, ha="right", rotation_mode="anchor", fontsize=9)
    ax.set(xlabel="", ylabel="item_top1 ↑", ylim=(0, 1))
    ax.legend(fontsize=8, loc="upper right")
    ax.set_title("Sanity check: explanations of a randomised scorer should stop detecting swaps")
    return fig, ax
