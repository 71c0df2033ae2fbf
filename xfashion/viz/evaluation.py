"""Figures of the evaluation (chapters 05-07), one function each: agreement, cost, detection by kind
and slot, accuracy against cost, deletion curves and the sanity check.

Same conventions as :mod:`xfashion.viz.outfits`: data in, an optional ``ax``, ``(fig, ax)`` out.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.lines import Line2D

from ..data import SLOTS
from ..evaluate.findings import PAIR_NAMES, margin_curve  # noqa: F401  (margin_curve: the explorer's)
from ..evaluate.metrics import METRICS, chance_per_case, method_name, metric_name  # noqa: F401 (here too)
from ..evaluate.sentences import group_name, kind_name
from ..explain import get_method
from ..groups import COLOR_GROUP, SHAPE_GROUP
from . import style
from .labels import method_styles, place_labels, plot_accuracy_vs_cost  # noqa: F401 (here too)
from .outfits import _axes, heatmap


def plot_agreement(table: pd.DataFrame, ax=None, title: str = "Rank agreement between methods (Spearman)",
                   label: str = "mean Spearman correlation"):
    """Seaborn heat map of a square agreement table (methods x methods, or metrics x metrics).

    Correlations are not attributions: brown-to-teal (``BrBG``), so red and blue keep their one meaning
    (lowers / raises the score) in the series.
    """
    fig, ax = _axes(ax, size=(style.MAX_WIDTH, 7.2))
    table = table.rename(index=_words, columns=_words)
    heatmap(table, annot=True, fmt=".2f", cmap="BrBG", vmin=-1, vmax=1, ax=ax, annot_kws={"fontsize": style.MIN_FONT},
            cbar_kws={"label": label})
    ax.tick_params(labelsize=style.MIN_FONT)
    ax.set(xlabel="", ylabel="", title=title)
    return fig, ax


def _words(key: str) -> str:
    """A metric or a method, in words."""
    return metric_name(key) if key in METRICS else method_name(key)


def plot_cost(table: pd.DataFrame, ax=None):
    """Passes and milliseconds per outfit for each method, each on a log scale, in words.

    ``table`` is :func:`xfashion.evaluate.cost_table`'s. The left panel draws the forward and backward
    passes (what carries to another machine; a method without one shows a 0), the right panel this
    machine's milliseconds. A pass of a method that reads the item images (hatched) also runs the CNN
    on every image, so it costs more than a pass of the feature-group methods. ``ax``: two axes or None.
    """
    if ax is None:
        fig, axes = plt.subplots(1, 2, figsize=(style.MAX_WIDTH, 0.28 * len(table) + 1.3), sharey=True,
                                 layout="constrained")
    else:
        fig, axes = ax[0].figure, ax
    t = table.sort_values(["forward_passes", "ms_per_outfit"])  # the cheapest at the top
    rows, images = np.arange(len(t)), [get_method(m).traits.needs_images for m in t.index]
    for k, (col, ink) in enumerate((("forward_passes", "0.15"), ("backward_passes", "0.6"))):
        shown = t[col].where(t[col] > 0)  # a log axis has no zero: a zero count is written, not drawn
        axes[0].barh(rows + 0.4 * k - 0.2, shown, height=0.4, color=ink, label=col.split("_")[0])
        for r in np.flatnonzero(t[col].to_numpy() == 0):
            axes[0].text(0.55, r + 0.4 * k - 0.2, "0", va="center", fontsize=style.MIN_FONT, color=ink)
    axes[0].legend(fontsize=style.MIN_FONT, frameon=False, ncol=2, loc="lower left", bbox_to_anchor=(0, 1))
    axes[0].set_xlim(left=0.5)
    axes[0].invert_yaxis()
    axes[1].barh(rows, t["ms_per_outfit"], color="0.6", hatch=["//" if i else "" for i in images], edgecolor="0.15")
    axes[0].set_yticks(rows, [method_name(m) for m in t.index], fontsize=style.MIN_FONT)
    for a, label in zip(axes, ("passes per outfit (log scale)", "milliseconds per outfit, this CPU (log)")):
        a.set_xscale("log")
        a.set_xlabel(label, fontsize=style.MIN_FONT)
        a.tick_params(labelsize=style.MIN_FONT)
    axes[1].set_title("hatched: a pass also runs the CNN on the images", fontsize=style.MIN_FONT)
    return fig, axes


# the series' categorical palette: no sign colour (red, blue) and no marker's (orange, purple)
KIND_COLORS = style.category_colors([COLOR_GROUP, SHAPE_GROUP, "item"])
SLOT_COLORS = style.category_colors(SLOTS)


def plot_accuracy_by(per_case: pd.DataFrame, by: str, metric: str = "item_top1", methods=None,
                     unambiguous: bool = False, ax=None):
    """Bar plot of a detection metric per method and ``by`` group, 95% bootstrap intervals and case counts, each
    bar's chance level (a random ranking of the same cases' items) a black dash across it.

    Swap kinds and slots keep one colour across figures; the legend gives each group's number of cases.
    """
    fig, ax = _axes(ax, size=(style.MAX_WIDTH - 0.3, 4.2))
    data = per_case[per_case.unambiguous] if unambiguous else per_case
    if methods is not None:
        data = data[data.method.isin(methods)]
    fixed = {"kind": KIND_COLORS, "slot": SLOT_COLORS}.get(by, {})
    order = [k for k in fixed if k in set(data[by])] or sorted(set(data[by]))
    method_order = [m for m in (methods or data.method.unique()) if m in set(data.method)]
    palette = {k: fixed[k] for k in order} if fixed else None
    sns.barplot(data=data, x="method", y=metric, hue=by, order=method_order, hue_order=order, palette=palette,
                errorbar=("ci", 95), n_boot=500, seed=0, ax=ax)
    chance = data.assign(chance=chance_per_case(data, metric)).dropna(subset=[metric]) \
        .groupby(["method", by]).chance.mean()
    for key, bars in zip(order, ax.containers):  # one container of bars per group, a bar per method
        for bar in bars:
            m = method_order[round(bar.get_x() + bar.get_width() / 2)]
            if (m, key) in chance.index:
                ax.hlines(chance[m, key], bar.get_x(), bar.get_x() + bar.get_width(), color="k", lw=2, zorder=4)
    # the number of cases per group goes into the legend, not onto the bars, where it would overprint the
    # whiskers; methods with a case cap explain fewer, which the legend says as a range
    counts = data.groupby([by, "method"]).size()
    most, fewest = counts.groupby(by).max(), counts.groupby(by).min()

    def label(key):
        n = f"{most.get(key, 0):,}" if most.get(key) == fewest.get(key) else f"{fewest[key]:,}-{most[key]:,}"
        return f"{kind_name(key) if by == 'kind' else key} ({n} cases)"

    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], color="k", lw=2))
    # the legend goes under the method names, not beside the bars, so the figure keeps the book's width
    ax.legend(handles, [label(k) for k in labels] + ["chance: a random ranking of the bar's cases"],
              fontsize=style.MIN_FONT, ncol=2 if len(labels) % 2 else 3, frameon=False,
              title="swap kind" if by == "kind" else by, bbox_to_anchor=(0.5, -0.22), loc="upper center")
    ax.set_xticks(ax.get_xticks(), [method_name(m) for m in method_order], rotation=20, ha="right",
                  fontsize=style.MIN_FONT)
    shown = metric_name(metric)
    ax.set(ylim=(0, 1.05), xlabel="", ylabel=f"{shown} ↑")
    ax.set_title(f"{shown} by {'swap kind' if by == 'kind' else by} ({'unambiguous' if unambiguous else 'all'} "
                 "cases; 95% bootstrap CI; black dash: chance)", fontsize=style.MIN_FONT)
    return fig, ax


def plot_deletion_curves(report, methods=None, ax=None):
    """Quantus's pixel-flipping curves: the 'bad' logit as the most-blamed (item, group) cells take the mean.

    IFIV is a thick black line, random (the chance level) a grey dashed one; every other method keeps its look of
    the whole series (:func:`~xfashion.viz.style.method_look`: a colour of the series' categorical palette, no sign
    or marker colour, and a marker shape; dash-dotted where its colour repeats another method's).
    """
    fig, ax = _axes(ax, size=(6.5, 4.2))
    curves = report.deletion if methods is None else report.deletion[methods]
    if "ifiv" in curves:
        ax.plot(curves.index, curves["ifiv"], color="black", marker="o", ms=5, lw=2.5, label=method_name("ifiv"))
    looks = method_styles(curves.columns)  # fixed per method: the same in chapter 07's cost figure
    for m in [c for c in curves if c not in ("ifiv", "random")]:
        look = looks[m]
        ax.plot(curves.index, curves[m], color=look["color"], marker=look["marker"],
                ms=5, lw=1.2, ls=look["ls"], label=method_name(m))
    if "random" in curves:
        ax.plot(curves.index, curves["random"], color="0.6", ls="--", lw=1.5, label="random (chance)")
    ax.set_xlabel("share of the outfit's (item, group) cells replaced, most blamed first")
    ax.set_ylabel("mean logit of 'bad' ↓")
    ax.set_title("Deletion (pixel flipping): removing what a method blames should lower 'bad' fast")
    ax.legend(fontsize=style.MIN_FONT, bbox_to_anchor=(1, 1))
    return fig, ax


def plot_sanity(report, ax=None):
    """Item top-1 on the trained scorer (dark) and on a scorer with randomised weights (light), each with its 95%
    interval (binomial, over the cases re-explained), and the random level."""
    fig, ax = _axes(ax, size=(style.MAX_WIDTH, 4.0))
    rates, n = report.sanity, report.sanity_cases.reindex(report.sanity.index).to_numpy(float)
    x = np.arange(len(rates))
    for k, (model, shade) in enumerate([("trained model", "0.25"), ("randomised model", "0.7")]):
        p = rates[model].to_numpy(float)
        half = 1.96 * np.sqrt(p * (1 - p) / n)
        ax.bar(x + (k - 0.5) * 0.4, p, 0.4, yerr=half, color=shade, ecolor="k", capsize=2,
               error_kw={"lw": 1}, label=f"{model.split()[0]} scorer (95% interval)")
    ax.axhline(report.random_expected["item_top1"], color="k", ls="--", lw=1, label="random ranking (analytic)")
    ax.set_xticks(x, [method_name(m) for m in rates.index], rotation=35, ha="right", rotation_mode="anchor",
                  fontsize=style.MIN_FONT)
    usual = int(n.max())  # the cap; methods with fewer cases are named
    fewer = "; ".join(f"{method_name(m)}: {int(c)}" for m, c in zip(rates.index, n) if c != usual)
    ax.set_xlabel(f"cases re-explained per method: {usual}" + (f" ({fewer})" if fewer else ""), fontsize=style.MIN_FONT)
    ax.set_ylim(0, 1)
    ax.set_ylabel("item top-1 ↑", fontsize=style.MIN_FONT)
    ax.legend(fontsize=style.MIN_FONT, loc="upper right")
    ax.set_title("Sanity check: on a randomised scorer, detection should fall to chance", fontsize=style.MIN_FONT + 1)
    return fig, ax


def plot_headline(rates: pd.DataFrame, metric: str = "item_top1", ax=None):
    """A hit rate per method (rows of :func:`~xfashion.evaluate.metrics.hit_rates`), best first: the mean over
    scorer seeds (dot), ± their standard deviation (thick bar), the pooled 95% interval (thin line) and the
    chance level on the method's own cases (grey tick). The costly methods, explained on fewer cases than the
    others (their cap), are ranked apart, under a line: a rate on fewer cases has a wider interval and is read
    against its own group."""
    r = rates.dropna(subset=["mean"])
    capped = r["cases"] < r["cases"].max()
    r = r.assign(_capped=capped).sort_values(["_capped", "mean"], ascending=[True, False])
    apart = bool(0 < capped.sum() < len(r))
    fig, ax = _axes(ax, size=(style.MAX_WIDTH, 0.38 * (len(r) + apart) + 1.3))
    y = np.arange(len(r)) + (r["_capped"].to_numpy() if apart else 0)  # a free row between the two groups
    if apart:
        gap = int((~capped).sum())
        ax.axhline(gap - 0.5, color="0.3", lw=0.8)
        ax.text(0.5, gap, "explained on fewer cases (costly methods), ranked apart:", va="center", ha="center",
                fontsize=style.MIN_FONT, color="0.3", transform=ax.get_yaxis_transform())
    # the seeds' sd a wide pale band, the pooled interval a thin black line with end ticks over it: where one
    # lies inside the other, both still show
    ax.hlines(y, r["mean"] - r["sd"].fillna(0), r["mean"] + r["sd"].fillna(0), color=style.CATEGORICAL[0], alpha=0.35,
              lw=9, label="± sd over scorer seeds")
    ax.errorbar(r["mean"], y, xerr=[r["mean"] - r["lo"], r["hi"] - r["mean"]], fmt="none", ecolor="k", lw=1.2,
                capsize=5, capthick=1.2, label="95% bootstrap interval, pooled cases")
    ax.plot(r["mean"], y, "o", color="k", ms=5, label="mean over scorer seeds")
    ax.plot(r["chance"], y, "|", color="0.5", ms=18, mew=2.5, label="chance (a random ranking)")
    for k, (_, row) in zip(y, r.iterrows()):
        ax.text(1.02, k, f"{row['mean']:.2f}  ({int(row['cases']):,} cases)", va="center", fontsize=style.MIN_FONT,
                transform=ax.get_yaxis_transform())
    ax.set_yticks(y, [method_name(m) for m in r.index], fontsize=style.MIN_FONT)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.02)  # the oracle's dot at 1 whole
    ax.set_xlabel(f"{metric_name(metric)} ↑ (controlled swaps)", fontsize=style.MIN_FONT)
    ax.grid(axis="x", lw=0.3)
    ax.legend(fontsize=style.MIN_FONT, loc="upper center", bbox_to_anchor=(0.5, -0.12 - 1.2 / (len(r) + 3)),
              ncol=2, frameon=False)
    ax.set_title(f"How often each method names the swapped item ({metric_name(metric)}), best first",
                 fontsize=style.MIN_FONT + 1)
    fig.subplots_adjust(left=0.22, right=0.8)  # the method names and the counts stay inside the book's column
    return fig, ax


def plot_margin(per_case: pd.DataFrame, margin: float, methods, top: float, ax=None):
    """Item top-1 against the least logit drop a kept case must have, one line per method in its series look,
    the first method's 95% interval as a band (binomial over the kept cases: it widens where few are left), chance
    on the same cases dashed, the number of cases kept along the bottom, ``margin`` marked."""
    fig, ax = _axes(ax, size=(style.MAX_WIDTH, 3.8))
    grid = np.linspace(float(per_case["drop"].min()), top, 25)
    curve = margin_curve(per_case, grid, methods)
    for m in methods:
        look = style.method_look(m)
        ax.plot(curve.index, curve[m], lw=2.5 if m == methods[0] else 1.5, color=look["color"], ls=look["ls"],
                label=method_name(m))
    p, n = curve[methods[0]], curve["cases"].where(curve["cases"] > 0)
    half = 1.96 * np.sqrt(p * (1 - p) / n)
    ax.fill_between(curve.index, (p - half).clip(0, 1), (p + half).clip(0, 1), lw=0, alpha=0.15,
                    color=style.method_look(methods[0])["color"], label=f"{method_name(methods[0])}: 95% interval")
    ax.plot(curve.index, curve["chance"], color="0.3", ls=":", lw=1.5, label="chance on the kept cases")
    for i in (2, 8, 14, 20, len(grid) - 1):  # how many cases each stretch of the curve rests on
        ax.text(curve.index[i], 0.02, f"{int(curve['cases'].iloc[i]):,}", fontsize=style.MIN_FONT, ha="center",
                va="bottom", color="0.3", transform=ax.get_xaxis_transform())
    ax.axvline(margin, color="k", lw=1)
    at = margin_curve(per_case, [margin], methods).iloc[0]
    ax.text(margin, 1.02, f" margin {margin:.1f}: {at['kept']:.0%} of the cases kept", fontsize=style.MIN_FONT,
            transform=ax.get_xaxis_transform(), va="bottom")
    ax.set_ylim(0, 1)
    ax.set_xlabel("least logit drop of a kept swap (margin, in logits); grey numbers: cases kept",
                  fontsize=style.MIN_FONT)
    ax.set_ylabel(metric_name("item_top1", arrow=True), fontsize=style.MIN_FONT)
    ax.tick_params(labelsize=style.MIN_FONT)
    ax.legend(fontsize=style.MIN_FONT, bbox_to_anchor=(1.01, 1), loc="upper left")
    fig.tight_layout()  # the legend beside the axis, inside the book's column
    return fig, ax


def swap_case_caption(catalog, cases, c: int, attributions: dict, rules=None) -> str:
    """What one swap case shows, in sentences: the rule the swap broke and the items it involves, which of the
    blamed items is the unique culprit (and why the others are not), and each method's verdict; for a miss by
    the first method, how far its culprit's total lies below the swapped item's."""
    from ..evaluate.sentences import describe_violation, item_name
    from ..rules import DEFAULT_RULES, violations
    rules = rules or DEFAULT_RULES
    n = int((cases.items[c] >= 0).sum())
    items, colors, pos = cases.items[c, :n], cases.colors[c, :n], int(cases.position[c])
    cats, busy = catalog.category[items], catalog.busy[items]
    broken = violations(cats, colors, busy, rules)
    told = [describe_violation(v, cats, colors, rules) for v in broken]  # a second hue clash: the window said once
    said = [f"The {kind_name(cases.kind[c])} swap put {item_name(catalog, items[pos], colors[pos], False)} at item "
            f"{pos} and broke " + "; ".join(t.split(", inside the")[0] if t.startswith("a hue") and "a hue" in
                                            "".join(told[:k]) else t for k, t in enumerate(told)) + "."]
    blamed = sorted({i for v in broken for i in v.items})
    others = [i for i in blamed if i != pos]
    if others and cases.unambiguous[c]:
        said.append(f"The stylist blames item{'s' if len(blamed) > 1 else ''} {', '.join(map(str, blamed))} (purple "
                    f"tags): every item a broken rule involves. Only item {pos} is a unique culprit: changing item"
                    f"{'s' if len(others) > 1 else ''} {', '.join(map(str, others))} alone (to any colour, or any "
                    "item of its slot) leaves some rule broken, so the swap test's answer is item "
                    f"{pos}, the swapped one.")
    verdicts = []
    first = next(iter(attributions))
    for m, a in attributions.items():
        k = int(a.culprit_item()[c])
        luck = f"; chance 1 in {n}" if m == "random" else ""  # random hits by luck: how likely, on this outfit
        verdicts.append(f"{method_name(m)} names item {k} ({'a hit' if k == pos else 'a miss'}{luck})")
    said.append("; ".join(verdicts) + ".")
    a = attributions[first]
    k = int(a.culprit_item()[c])
    if k != pos:
        total = a.values[c, :n].sum(-1)
        group = group_name(a.groups[int(a.values[c, k].argmin())])
        said.append(f"{method_name(first)} misses: item {k}'s values sum to {float(total[k]):+.2f}, below the swapped "
                    f"item's {float(total[pos]):+.2f}, most of it in its {group}. {method_name(first)} weighs every "
                    "feature against an all-zero reference, not against the outfit before the swap, so an unchanged "
                    "item the scorer leans on can carry a lower total than the item that changed.")
    return " ".join(said)


def plot_ranks(ranks: pd.DataFrame, ax=None, title: str = "Rank of each method under each metric (1 = best)"):
    """Annotated heat map of a methods x metrics table of ranks; equal scores share a rank (shown as ties)."""
    fig, ax = _axes(ax, size=(8, 5.5))
    heatmap(ranks.astype(float).rename(index=_words, columns=_words), annot=True, fmt=".0f", cmap="Greens_r",
            cbar=False, ax=ax, annot_kws={"fontsize": style.MIN_FONT}, linewidths=0.5)
    ax.set(xlabel="", ylabel="", title=title)
    plt.setp(ax.get_xticklabels(), rotation=30, ha="right", rotation_mode="anchor")
    return fig, ax


def plot_metric_spread(summary: pd.DataFrame, metrics, directions: dict, methods=None):
    """One panel per metric: each method's mean over scorer seeds, the seed standard deviation as a bar.

    ``summary`` is a report's summary (``metric`` and ``metric_sd`` columns); ``directions`` maps each metric
    to ``higher`` or ``lower`` (is better), shown by the panel's arrow.
    """
    methods = list(summary.index if methods is None else methods)
    # two panels to a row: four metrics side by side do not fit the book's column at a legible size
    ncols = min(2, len(metrics))
    nrows = -(-len(metrics) // ncols)
    size = (style.MAX_WIDTH, nrows * (0.3 * len(methods) + 1.0) + 0.6)
    fig, axes = plt.subplots(nrows, ncols, figsize=size, squeeze=False)
    y = np.arange(len(methods))
    for ax in axes.flat[len(metrics):]:
        ax.set_axis_off()
    for k, (ax, metric) in enumerate(zip(axes.flat, metrics)):
        mean = summary.loc[methods, metric].astype(float)
        sd = summary.loc[methods, f"{metric}_sd"].astype(float)
        ax.errorbar(mean, y, xerr=sd, fmt="o", color="k", ms=4, capsize=2, lw=1)
        arrow = "↑" if directions[metric] == "higher" else "↓"
        ax.set_title(f"{metric_name(metric)} {arrow}", fontsize=style.MIN_FONT)
        ax.grid(axis="x", lw=0.3)
        ax.tick_params(labelsize=style.MIN_FONT)
        ax.set_yticks(y, [method_name(m) for m in methods] if k % ncols == 0 else [""] * len(methods))
        ax.invert_yaxis()
    fig.suptitle("mean over scorer seeds ± their standard deviation", fontsize=style.MIN_FONT + 1)
    fig.tight_layout()
    return fig, axes.ravel()[: len(metrics)]


def plot_design_grid(tables: dict, directions: dict):
    """One annotated heat map per metric of ``{metric: designs x methods table}``, the best cell per row framed."""
    fig, axes = plt.subplots(1, len(tables), figsize=(style.fit_width(3.6 * len(tables)), 3.4), squeeze=False)
    for k, (ax, (metric, table)) in enumerate(zip(axes[0], tables.items())):
        t = table.astype(float)
        better = directions[metric]
        heatmap(t, annot=True, fmt=".2f" if t.abs().max().max() < 10 else ".1f", cbar=False, ax=ax,
                cmap="viridis" if better == "higher" else "viridis_r", annot_kws={"fontsize": style.MIN_FONT},
                linewidths=0.5)
        real = t.drop(columns=[c for c in ("random",) if c in t])
        top = real.max(axis=1) if better == "higher" else real.min(axis=1)
        for row, column in zip(*np.nonzero(real.round(3).eq(top.round(3), axis=0).to_numpy())):  # ties: all framed
            # inset, so that frames of neighbouring cells stay apart
            ax.add_patch(plt.Rectangle((list(t.columns).index(real.columns[column]) + 0.06, row + 0.06), 0.88, 0.88,
                                       fill=False, ec="red", lw=2))
        ax.set_title(f"{metric} {'↑' if better == 'higher' else '↓'}", fontsize=10)
        ax.set(xlabel="", ylabel="" if k else "design")
        ax.set_xticks(ax.get_xticks(), [c.replace("_", " ") for c in t.columns], rotation=30, ha="right",
                      fontsize=style.MIN_FONT)
        if k:
            ax.set_yticks([])
    fig.suptitle("each design under four metrics (validation swaps); red frame: the best method of each design "
                 "(random aside; ties all framed)", fontsize=10)
    fig.tight_layout()
    return fig, axes[0]


def design_view(study: pd.DataFrame, gradients: pd.DataFrame, design: str, reference: str = "SiLU"):
    """One design of the study beside the book's: how large its gradient is, and what IFIV's top-1 makes of it.

    Left, the size of the logit's gradient on every bad outfit of the study's split (log scale), the
    design filled and ``reference`` (the book's scorer) as an outline; right, item top-1 of each method of
    the study on the design, random's bar (chance) grey. Returns the figure.
    """
    if design not in study.index:
        raise ValueError(f"No design {design!r} in the study; pick one of {list(study.index)}.")
    bad = gradients[~gradients.good]
    bins = np.geomspace(max(bad.gradient.min(), 1e-3), bad.gradient.max(), 40)
    fig, (left, right) = plt.subplots(1, 2, figsize=(style.MAX_WIDTH - 0.2, 3.4), width_ratios=(1.3, 1),
                                       layout="constrained")
    left.hist(bad.gradient[bad.design == reference], bins=bins, histtype="step", color="0.3", lw=1.5,
              label=f"{reference} (the book's)")
    if design != reference:
        left.hist(bad.gradient[bad.design == design], bins=bins, color=style.CATEGORICAL[0], alpha=0.7, label=design)
    left.set_xscale("log")
    left.set_xlabel("size of the logit's gradient (norm over every feature)", fontsize=style.MIN_FONT)
    left.set_ylabel("bad outfits", fontsize=style.MIN_FONT)
    left.legend(fontsize=style.MIN_FONT, frameon=False, loc="upper left")
    top = study.attrs["scores"].loc[design, "item_top1"]
    colors = ["0.6" if m == "random" else style.CATEGORICAL[0] for m in top.index]
    right.barh(range(len(top)), top.to_numpy(), color=colors)
    for k, v in enumerate(top.to_numpy()):
        right.text(v + 0.02, k, f"{v:.2f}", va="center", fontsize=style.MIN_FONT)
    if design != reference:  # the book's scorer's values, for comparison
        right.plot(study.attrs["scores"].loc[reference, "item_top1"][top.index].to_numpy(), range(len(top)), "|",
                   color="k", ms=22, mew=2.5, label=f"{reference} (the book's)")
        # above the axes, never among the bars: inside, the legend's own tick read as one more data mark
        right.legend(fontsize=style.MIN_FONT, frameon=False, loc="lower right", bbox_to_anchor=(1, 1),
                     borderaxespad=0.2, markerscale=0.5, handletextpad=0.3)
    right.set_yticks(range(len(top)), ["random (chance)" if m == "random" else method_name(m) for m in top.index])
    right.set_xlim(0, 1.15)
    right.invert_yaxis()
    right.set_xlabel("item top-1 ↑ (validation swaps)", fontsize=style.MIN_FONT)
    for ax in (left, right):
        ax.tick_params(labelsize=style.MIN_FONT)
    fig.suptitle(f"{design}: validation AUC {study.loc[design, 'auc']:.4f}, median logit of a bad outfit "
                 f"{study.loc[design, 'median_bad_logit']:+.1f}", fontsize=style.MIN_FONT + 1)
    return fig


def design_sentence(study: pd.DataFrame, gradients: pd.DataFrame, design: str, reference: str = "SiLU") -> str:
    """What :func:`design_view` shows of ``design``, in one sentence with its numbers."""
    bad = gradients[~gradients.good].groupby("design").gradient.median()
    top = study.attrs["scores"]["item_top1"]
    ratio = bad[design] / bad[reference]
    size = "the same as" if design == reference else f"{ratio:.2f} times" if ratio < 1 else f"{ratio:.1f} times"
    ablation = (f", feature ablation's {top[design, 'feature_ablation']:.3f} ({reference}: "
                f"{top[reference, 'feature_ablation']:.3f})" if (design, "feature_ablation") in top.index else "")
    return (f"On {design} the median gradient of a bad outfit is {bad[design]:.3g}, {size} the book's {reference} "
            f"scorer's ({bad[reference]:.3g}); IFIV's item top-1 is {top[design, 'ifiv']:.3f} ({reference}: "
            f"{top[reference, 'ifiv']:.3f}){ablation}; chance (random) {top[design, 'random']:.3f}.")


def pair_row_name(m: str) -> str:
    """A row of a pair report in words: 'second-order IFIV', 'IFIV (two lowest items)'."""
    base, sep, rest = m.partition(" (")
    return PAIR_NAMES.get(base, method_name(base)).removeprefix("the ") + (f" ({rest}" if sep else "")


def plot_hit_rates(summary: pd.DataFrame, metric: str, chance: float, highlight=(), methods=None):
    """Each method's hit rate (``metric``, e.g. ``clash_top1``) with its 95% interval, best first, chance dashed.

    ``summary`` is a report's summary (``metric``, ``metric_lo``, ``metric_hi``); ``highlight`` names rows
    drawn dark (the baseline a chapter asks about). Returns ``(fig, ax)``.
    """
    rows = summary.loc[list(summary.index if methods is None else methods)]
    rows = rows.assign(**{metric: rows[metric].astype(float)}).sort_values(metric, ascending=False)
    fig, ax = plt.subplots(figsize=(style.fit_width(7.5), 0.42 * len(rows) + 1.1), layout="constrained")
    y = np.arange(len(rows))
    mean, lo, hi = (rows[c].astype(float).to_numpy() for c in (metric, f"{metric}_lo", f"{metric}_hi"))
    # methods are categories: teal, the series' first categorical colour (purple is the 'blamed' tag's)
    ax.barh(y, mean, color=["0.25" if m in highlight else style.CATEGORICAL[0] for m in rows.index], height=0.65)
    ax.errorbar(mean, y, xerr=[mean - lo, hi - mean], fmt="none", ecolor="k", capsize=3, lw=1)
    for k, v in enumerate(mean):
        ax.text(min(hi[k], 1.0) + 0.015, k, f"{v:.3f}", va="center", fontsize=style.MIN_FONT)
    ax.axvline(chance, color="0.4", ls="--", lw=1.2)
    ax.text(chance, 1.01, f"chance {chance:.2f}", color="0.3", fontsize=style.MIN_FONT, va="bottom", ha="center",
            transform=ax.get_xaxis_transform())  # above the bars, never over one
    ax.set_yticks(y, [pair_row_name(m) for m in rows.index], fontsize=style.MIN_FONT)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.12)
    ax.set_xlabel(f"{metric_name(metric, arrow=True)} (share of cases; bar: 95% interval)", fontsize=style.MIN_FONT)
    ax.tick_params(labelsize=style.MIN_FONT)
    return fig, ax
