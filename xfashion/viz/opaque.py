"""Chapter 09's figures and explorer: what the interpretable and the opaque scorer's explanations say of the same
swap cases (:mod:`xfashion.opaque`), one case at a time or over all of them.

Everything a view draws is computed once (:func:`case_data`), so a redraw only draws.
"""
from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display
from matplotlib.patches import Patch

from ..data import CATEGORIES, COLOR_NAMES
from ..evaluate.sentences import group_name, item_name, kind_name, rule_name
from ..opaque import Comparison, after_the_fact_sums, share
from ..outfits import outfit_blame, outfit_violations
from . import style
from .finale import book_findings as book_findings  # chapter 09's close, said in its last cells
from .finale import picture_sentence as picture_sentence
from .widgets import Explorer, say

# the explorer's filters: a name in the menu -> which cases it keeps (columns of CaseData.table)
SHOW = {"every case": lambda t: t.kind == t.kind,
        "both find the swapped item": lambda t: t.interpretable_hit & t.opaque_hit,
        "only the interpretable scorer finds it": lambda t: t.interpretable_hit & ~t.opaque_hit,
        "only the opaque scorer finds it": lambda t: ~t.interpretable_hit & t.opaque_hit,
        "the after-the-fact why is wrong": lambda t: (t.truth != "both") & (t.posthoc != t.truth)}
KINDS = ("any kind", "color", "shape_texture", "item")
NAMED_AFTER = "xx"  # the hatch of the embedding's dimensions named after the fact, in both figures
HINT = ("Try: pick a colour swap, then a shape-texture swap, and read the bottom row. You should see the "
        "interpretable scorer's lower bar of the swapped item sit, in most cases, in the column of the group the "
        "stylist faults (colour after a recolouring), while the opaque scorer gives every item one bar, whatever "
        "broke. Then show 'the after-the-fact why is wrong': the embedding's dimensions, named after the fact (right), "
        "blame the other group.")


@dataclass
class CaseData:
    """Per swap case, what the views draw: ``table`` (chapter 09's comparison table plus ``posthoc``, the group the
    opaque scorer's dimensions named after the fact blame), ``sums`` (cases, 2): the swapped item's gradient x input
    summed over the colour-named and the other dimensions; ``cases``, ``attributions`` of the comparison."""

    catalog: object
    cases: object
    attributions: dict
    table: object
    sums: np.ndarray


def case_data(bench, comparison, sources) -> CaseData:
    """What the explorer draws, computed once: ``sources`` is :func:`xfashion.opaque.variance_sources` of the
    embedding on the training items (how the dimensions are named after the fact)."""
    sums = after_the_fact_sums(bench, comparison, sources).numpy()
    table = comparison.table.copy()
    table["posthoc"] = np.array(comparison.cases.groups)[sums.argmin(1)]
    return CaseData(bench.catalog, comparison.cases, comparison.attributions, table, sums)


def case_label(data: CaseData, c: int) -> str:
    """A case as the menu names it: the swap, what it did, who finds the item."""
    cases, row, pos = data.cases, data.table.iloc[c], int(data.table.position.iloc[c])
    before = item_name(data.catalog, int(cases.original[c, pos]), slot=False)
    after = item_name(data.catalog, int(cases.items[c, pos]), int(cases.colors[c, pos]), slot=False)
    found = {(True, True): "both scorers", (True, False): "the interpretable scorer only",
             (False, True): "the opaque scorer only", (False, False): "neither scorer"}
    return (f"{kind_name(row.kind)} swap: {before} → {after} ({int(row['items'])} items); item found by "
            + found[bool(row.interpretable_hit), bool(row.opaque_hit)])


def case_sentence(data: CaseData, c: int) -> str:
    """What the stylist faults in case ``c`` and what each scorer's explanation answers."""
    row, cases = data.table.iloc[c], data.cases
    pos, n = int(row.position), int(row["items"])
    items, colors = cases.items[c, :n], cases.colors[c, :n]
    rules = ", ".join(sorted({rule_name(v.rule) for v in outfit_violations(data.catalog, items, colors)}))
    what = f"the swapped {COLOR_NAMES[colors[pos]]} {CATEGORIES[data.catalog.category[items[pos]]]} (item {pos})"
    fault = "both its groups" if row.truth == "both" else f"its {group_name(row.truth)}"

    def found(who):
        k = int(row[f"{who}_culprit"])
        return f"culprit item {k} ({'the swapped item' if k == pos else 'a miss'})"

    def judged(group):
        return "either is half right" if row.truth == "both" else ("right" if group == row.truth else "wrong")
    return (f"The stylist ({rules}) faults {what} for {fault}. Interpretable scorer: {found('interpretable')}; item "
            f"{pos}'s lower group is its {group_name(row.named)} ({judged(row.named)}). Opaque scorer: "
            f"{found('opaque')}; item {pos} gets one number, {data.attributions['opaque'].values[c, pos, 0]:+.2f}, "
            f"and only its dimensions named after the fact guess a why: {group_name(row.posthoc)} "
            f"({judged(row.posthoc)}).")


def plot_case(data: CaseData, c: int):
    """One swap case: the items (the swapped one tagged), the interpretable scorer's IFIV per (item, group), the opaque
    scorer's per item, the swapped item's opaque values summed over dimensions named after the fact; one scale
    (logits), each scorer's culprit item framed once."""
    row, cases, n = data.table.iloc[c], data.cases, int(data.table["items"].iloc[c])
    pos, items, colors = int(row.position), cases.items[c, :n], cases.colors[c, :n]
    interp = data.attributions["interpretable"].values[c, :n].numpy()
    opq = data.attributions["opaque"].values[c, :n, 0].numpy()
    lim = 1.15 * style.signed_limit(interp, opq, data.sums[c])
    fig = plt.figure(figsize=(style.fit_width(9.0), 5.0))
    grid = fig.add_gridspec(2, 3, height_ratios=[1.0, 1.6], width_ratios=[2.0, 1.3, 1.1], hspace=0.3, wspace=0.35,
                            top=0.86, bottom=0.1, left=0.08, right=0.98)
    pictures = grid[0, :2].subgridspec(1, 5, wspace=0.1)
    blamed = outfit_blame(data.catalog, items, colors).sum(1) > 0
    for k, image in enumerate(style.item_pixels(data.catalog.render(items, colors))):
        ax = fig.add_subplot(pictures[0, k])
        ax.imshow(image)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{k}: {COLOR_NAMES[colors[k]]}\n{CATEGORIES[data.catalog.category[items[k]]]}",
                     fontsize=style.MIN_FONT)
        for kind, on in (("blamed", blamed[k]), ("swapped", k == pos)):
            if on:
                style.mark(ax, kind)
    left, middle, right = (fig.add_subplot(grid[1, k]) for k in range(3))
    x = np.arange(n)
    for g, (shift, hatch) in enumerate(((-0.2, None), (0.2, "//"))):
        left.bar(x + shift, interp[:, g], width=0.38, color=style.bar_colors(interp[:, g]), hatch=hatch,
                 edgecolor="black", linewidth=0.5)
    middle.bar(x, opq, width=0.6, color=style.bar_colors(opq), edgecolor="black", linewidth=0.5)
    for ax, k in ((left, row.interpretable_culprit), (middle, row.opaque_culprit)):  # one frame per culprit item
        ax.add_patch(plt.Rectangle((int(k) - 0.45, -0.97 * lim), 0.9, 1.94 * lim, fill=False, linewidth=2.5))
    # cross-hatched as in the closing figure: names read off afterwards, neither of the interpretable groups
    right.bar([0, 1], data.sums[c], width=0.6, color=style.bar_colors(data.sums[c]), hatch=NAMED_AFTER,
              edgecolor="black", linewidth=0.5)
    key = fig.add_subplot(grid[0, 2], frame_on=False, xticks=[], yticks=[])  # the legend's box only
    key.legend(handles=[Patch(facecolor="white", edgecolor="black", linewidth=2.5, label="a scorer's culprit"),
                        *[Patch(facecolor=style.TAGS[k]["face"], label=who) for k, who in
                          (("blamed", "blamed by the stylist"), ("swapped", "the swapped item"))],
                        Patch(facecolor="white", edgecolor="black", label="colour"),
                        Patch(facecolor="white", edgecolor="black", hatch="//", label="shape-texture"),
                        Patch(facecolor="white", edgecolor="black", hatch=NAMED_AFTER, label="named after the fact")],
               loc="center right", fontsize=style.MIN_FONT, frameon=False, borderaxespad=0)
    titles = ("interpretable: IFIV per (item, group)", "opaque: IFIV per item",
              f"opaque, item {pos}: its dims\nnamed after the fact")
    for ax, title in zip((left, middle, right), titles):
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_ylim(-lim, lim)
        ax.set_title(title, fontsize=style.MIN_FONT)
        ax.tick_params(labelsize=style.MIN_FONT)
    for ax in (left, middle):
        ax.set_xticks(x, [str(k) for k in x])
        ax.set_xlabel("item", fontsize=style.MIN_FONT)
    right.set_xticks([0, 1], ["colour\ndims", "other\ndims"])
    left.set_ylabel("IFIV (logits)", fontsize=style.MIN_FONT)
    fig.suptitle(f"{kind_name(row.kind)} swap of item {pos}: the two scorers' IFIV on one scale (logits)",
                 fontsize=style.MIN_FONT + 1)
    return fig


def case_view(data: CaseData, kind: str, show: str, c: int) -> tuple:
    """The explorer's view of case ``c`` (-1: none left by ``kind`` and ``show``): (sentence, figure or None)."""
    if c is None or c < 0:
        words = "swap" if kind == "any kind" else f"{kind_name(kind)} swap"
        return f"No {words} of this run is in '{show}': pick another swap kind or filter.", None
    return case_sentence(data, c), plot_case(data, c)


def opaque_explorer(bench, comparison, sources, kind: str = "color", show: str = "every case"):
    """ipywidgets: pick a swap kind and a filter, then a case by name; the two scorers' explanations of it redraw.

    ``sources`` names the embedding's dimensions after the fact (:func:`case_data`); the case menu follows the
    kind and filter and lists every case they keep (its count is said), and an empty combination is said in one line.
    """
    if kind not in KINDS or show not in SHOW:
        raise ValueError(f"kind must be one of {list(KINDS)} and show one of {list(SHOW)}; got {kind!r}, {show!r}.")
    data = case_data(bench, comparison, sources)
    t = data.table

    def options(kind, show):
        keep = SHOW[show](t) & ((t.kind == kind) | (kind == "any kind"))
        return [(case_label(data, int(c)), int(c)) for c in np.flatnonzero(keep.to_numpy())] or \
            [("(no such case in this run)", -1)]

    kinds = widgets.Dropdown(options=[(k if k == KINDS[0] else kind_name(k), k) for k in KINDS], value=kind,
                             description="swap kind")
    shows = widgets.Dropdown(options=list(SHOW), value=show, description="show", layout=widgets.Layout(width="420px"))
    first = options(kind, show)
    case = widgets.Dropdown(options=first, value=first[0][1], description="case",
                            layout=widgets.Layout(width="760px"))
    following = []

    def follow(change):  # a new kind or filter lists its own cases and opens on the first: one redraw, not two
        following.append(True)
        case.options = options(kinds.value, shows.value)
        case.value = case.options[0][1]
        following.clear()

    kinds.observe(follow, "value")
    shows.observe(follow, "value")

    def view(kind=kind, show=show, c=case.value):
        if following:
            return
        n = sum(c >= 0 for _, c in case.options)  # the menu lists every case its kind and filter keep: say how many
        say(HINT + f" The menu lists all {n} {'' if kind == KINDS[0] else kind_name(kind) + ' '}cases in '{show}'.")
        said, fig = case_view(data, kind, show, c)
        say(said)
        if fig is not None:
            display(fig)
            plt.close(fig)

    return Explorer(view, kind=kinds, show=shows, c=case)


def plot_what_features_buy(comparison: Comparison, sources: dict, after_the_fact: np.ndarray,
                           reference: dict | None = None):
    """The chapter's figure: where each dimension's variation comes from (left), and what each scorer's
    explanation can answer on the same swap cases (right), with two standard errors and chance marked.

    ``sources`` maps a label (``"colour histogram"``, ``"shape-texture CNN"``, ``"EfficientNet embedding"``)
    to :func:`xfashion.opaque.variance_sources` of its dimensions. ``reference``, optional: the book's scorer's hits
    (``"item"``: every case; ``"colour"``: the colour swaps; ``"why"``, ``"both"``: the one-fault cases, its why and
    item-and-why), a dashed bar beside each question. The why is read on the swapped item; "item and why" needs both.
    """
    t = comparison.table
    one = (t.truth != "both").to_numpy()
    fig, (left, right) = plt.subplots(1, 2, figsize=(style.fit_width(9.0), 4.4),
                                      gridspec_kw={"width_ratios": [1, 1.45]})
    # each feature labelled beside its own dimensions (a legend would cover them): marker, colour, label, where
    marks = {"colour histogram": ("o", "#b8860b", "colour histogram:\nall {n} dimensions", (0.5, 0.22)),
             "shape-texture CNN": ("s", "#2e8b57", "shape-texture CNN:\n{n} dimensions", (0.06, 0.8)),
             "EfficientNet embedding": (".", "#555555", "EfficientNet\nembedding:\n{n:,} dimensions", (0.3, 0.5))}
    for label, frame in sources.items():
        shape, color, text, at = marks.get(label, ("x", "black", label, (0.5, 0.5)))
        left.scatter(frame.colour, frame.category, marker=shape, color=color, s=28 if shape != "." else 10,
                     alpha=0.8 if shape != "." else 0.45)
        left.annotate(text.format(n=len(frame)), frame[["colour", "category"]].median().to_numpy(), at,
                      fontsize=style.MIN_FONT, color="black" if shape == "." else color,
                      arrowprops={"arrowstyle": "->", "color": color} if shape == "o" else None)
    left.set(xlim=(-0.03, 1.03), ylim=(-0.03, 1.05), yticks=np.linspace(0, 1, 6))
    left.set_xlabel("share of its variance the colour explains", fontsize=style.MIN_FONT)
    left.set_ylabel("share the category explains", fontsize=style.MIN_FONT)
    left.set_title("each dimension: what does it vary with?", fontsize=style.MIN_FONT + 1)
    left.tick_params(labelsize=style.MIN_FONT)
    col = (t.kind == "color").to_numpy()
    ref, posthoc = {} if reference is None else reference, after_the_fact[one] == t.truth.to_numpy()[one]
    questions = [("which item?", [t.interpretable_hit, t.opaque_hit, ref.get("item")], t.chance.mean()),
                 ("which item?\ncolour swaps", [t.interpretable_hit[col], t.opaque_hit[col], ref.get("colour")],
                  t.chance[col].mean()),
                 ("why? colour or\nshape-texture", [t.group_hit[one], posthoc, ref.get("why")], 0.5),
                 ("item and why,\nboth right", [(t.interpretable_hit & t.group_hit)[one], t.opaque_hit[one] & posthoc,
                                                ref.get("both")], t.chance[one].mean() / 2)]
    looks = [{"color": "#333333", "edgecolor": "black", "label": "interpretable scorer (colour, shape-texture)"},
             {"color": "#bbbbbb", "edgecolor": "black", "label": "opaque scorer (EfficientNet)"},
             {"color": "white", "edgecolor": "black", "linestyle": "--", "linewidth": 1.5,  # dashed: no hatch
              "label": "book's scorer (same features, every training outfit)"},
             {"color": "#bbbbbb", "edgecolor": "black", "hatch": NAMED_AFTER,
              "label": "opaque's why: its dims named after the fact"}]
    for q, (_, hits, level) in enumerate(questions):
        for k, h in enumerate(hits):
            if h is None or len(h) == 0:  # no reference, or no colour swap on a small run
                continue
            at, (mean, se) = 3 * q + 0.85 * k, share(h)
            look = {**(looks[3] if q >= 2 and k == 1 else looks[k]), **({} if q == 0 or (q, k) == (2, 1) else
                                                                        {"label": "_"})}  # one key per look
            right.bar(at, mean, width=0.75, yerr=2 * se, capsize=3, **look)
            right.text(at, mean + 2 * se + 0.02, f"{mean:.2f}", ha="center", fontsize=style.MIN_FONT, zorder=5,
                       bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
        right.hlines(level, 3 * q - 0.45, 3 * q + 2.15, colors="black", linestyles="dotted",
                     label="chance" if q == 0 else None)
    right.set_xticks([3 * q + 0.85 for q in range(4)], [q[0] for q in questions], fontsize=style.MIN_FONT)
    right.set(ylim=(0, 1.68), xlim=(-0.6, 11.3), yticks=np.linspace(0, 1, 6))  # room for the legend above the bars
    right.legend(fontsize=style.MIN_FONT, loc="upper left", framealpha=0.9)
    right.set_ylabel("share of swap cases answered right", fontsize=style.MIN_FONT)
    right.tick_params(axis="y", labelsize=style.MIN_FONT)
    right.set_title(f"IFIV on {len(t)} swap cases (bars: 2 standard errors)", fontsize=style.MIN_FONT + 1)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------- the chapter's sentences on its run
def _se(hits) -> float:
    return share(hits)[1]


def bench_sentence(bench, splits: dict) -> str:
    """How many outfits and items the two scorers of ``bench`` saw, and what each reads."""
    used = np.unique(np.concatenate([s.items[s.items >= 0] for s in bench.splits.values()]))
    reads = " ".join(f"The {name} scorer reads {len(f.groups)} group{'s' * (len(f.groups) > 1)} "
                     f"({', '.join(map(group_name, f.groups.names))}) of {sum(f.groups.sizes):,} dimensions and keeps "
                     f"the weights of epoch {bench.models[name].best_epoch}."
                     for name, f in (("interpretable", bench.interpretable), ("opaque", bench.opaque)))
    return (f"Both train on the first {len(bench.splits['train']):,} training outfits of the book's "
            f"{len(splits['train']):,} and stop by validation AUC on {len(bench.splits['val']):,}; {len(used):,} "
            f"distinct items, with their test outfits, went through the backbone. " + reads)


def auc_sentence(auc: dict, full: dict, bench, splits: dict) -> str:
    """The two scorers' test AUCs and their gap, beside what the smaller training set costs the book's scorer."""
    return (f"On the same {auc['n']:,} test outfits, the interpretable scorer's AUC is {auc['interpretable']:.3f} and "
            f"the opaque scorer's {auc['opaque']:.3f}: a gap of {auc['gap']:.3f}, {auc['gap'] / auc['gap_se']:.1f} "
            f"standard errors of a paired bootstrap. The book's scorer, same features and training, but all "
            f"{len(splits['train']):,} training outfits instead of {len(bench.splits['train']):,}, reaches "
            f"{full['first']:.3f} on these outfits: the smaller training set alone costs the interpretable scorer "
            f"{full['gap']:.3f} of AUC ({full['gap'] / full['gap_se']:.1f} standard errors), "
            f"{full['gap'] / auc['gap']:.0%} of the size of the gap between the two features.")


def fewer_sentence(few: dict, bench) -> str:
    """Both scorers' AUC at a third of the outfits and at all of them (:func:`xfashion.opaque.fewer_outfits`)."""
    return (f"From {few['n_train']:,} to {len(bench.splits['train']):,} training outfits the interpretable scorer's "
            f"AUC goes from {few['interpretable_fewer']:.3f} to {few['interpretable']:.3f} and the opaque scorer's "
            f"from {few['opaque_fewer']:.3f} to {few['opaque']:.3f}: the gap between them moves by "
            f"{few['change']:+.3f} ({few['change'] / few['change_se']:+.1f} standard errors of a paired bootstrap). "
            "Tripling the outfits does not let the opaque scorer catch up; how far the two would be apart on the "
            "book's full training set stays unmeasured here.")


def sources_sentence(sources: dict, live) -> str:
    """What each feature's dimensions vary with; ``live`` the embedding's rows of dimensions that move at all."""
    colour, shape, emb = sources["colour histogram"], sources["shape-texture CNN"], sources["EfficientNet embedding"]
    return (f"Every one of the {len(colour)} colour dimensions owes at least {colour.colour.min():.1%} of its "
            f"variance to the colour; every shape-texture dimension at least {shape.category.min():.0%} to the "
            f"category and at most {shape.colour.max():.1%} to the colour. Of the embedding's {len(emb):,} "
            f"dimensions, {len(emb) - len(live)} are zero for every one of these items; of the {len(live):,} that "
            f"vary, {(live.max(axis=1) > 0.5).sum()} owe half their variance to one of the two, and the median one "
            f"owes {live.colour.median():.1%} to the colour and {live.category.median():.1%} to the category. Colour "
            "and garment kind are in there (the scorer learns from them), spread thin over many dimensions whose "
            "variation is mostly neither.")


def by_kind_table(t):
    """Item top-1 per swap kind of the two scorers and the book's (``t.book_hit``), with chance and case counts."""
    by_kind = t.groupby("kind")[["interpretable_hit", "opaque_hit", "book_hit"]].mean().round(3)
    return by_kind.assign(chance=t.groupby("kind").chance.mean().round(3), cases=t.kind.value_counts()).rename(
        index=kind_name, columns={"interpretable_hit": "interpretable", "opaque_hit": "opaque",
                                  "book_hit": "book's scorer"}).rename_axis("item top-1 by swap kind")


def filter_sentence(pool, keep) -> str:
    """How many of the candidate swap cases (:func:`xfashion.opaque.swap_candidates`) the comparison keeps, and
    why the others go."""
    bad = pool.before <= 0
    small = ~bad & ((pool.before - pool.after < 0.5) | (pool.cases.drop < 0.5))
    return (f"Of {len(pool.before)} candidate cases, {len(keep)} are kept: the opaque scorer calls {bad.sum()} of the "
            f"outfits bad before their swap, and in {small.sum()} more one of the two scores drops by less than 0.5.")


def _vs_chance(hits, chance) -> str:
    d = (hits - chance).to_numpy(float)  # above chance, case by case
    z = d.mean() / _se(d) if _se(d) > 0 else np.inf * np.sign(d.mean())  # no spread: the sign says it all
    said = "within two standard errors of" if z < 2 else "above" if np.isinf(z) else f"{z:.1f} standard errors above"
    return f"{hits.mean():.0%} ({said} chance)"


def item_sentence(t) -> str:
    """Both scorers' item top-1 over every case, with standard errors and chance, then on the colour swaps alone
    (beside the book's scorer's, ``t.book_hit``)."""
    col = (t.kind == "color").to_numpy()
    return (f"On {len(t)} cases both scorers take, IFIV names the swapped item as the culprit item in "
            f"{t.interpretable_hit.mean():.1%} of them on the interpretable scorer (se {_se(t.interpretable_hit):.3f}) "
            f"and {t.opaque_hit.mean():.1%} on the opaque one (se {_se(t.opaque_hit):.3f}), against a chance level of "
            f"{t.chance.mean():.1%} (one over the outfit's items). The opaque scorer's explanation still points at the "
            "right item far more often than a guess. " + (
                f"The {col.sum()} colour swaps ask the question named colours should make easiest, which item of a "
                f"colour clash is the odd colour out: there the interpretable scorer finds it in "
                f"{_vs_chance(t.interpretable_hit[col], t.chance[col])} and the opaque one in "
                f"{_vs_chance(t.opaque_hit[col], t.chance[col])}, chance {t.chance[col].mean():.0%}; the book's "
                f"scorer, the same features learnt from every training outfit, in {t.book_hit[col].mean():.0%}."
                if col.sum() > 1 else ""))


def colour_miss_sentence(miss: dict, t, bench) -> str:
    """The interpretable scorer's misses on colour swaps, read against the book's scorer (:func:`colour_misses`)."""
    gap = miss["book_gap"].mean() / _se(miss["book_gap"])
    return (f"In the interpretable scorer's {len(miss['rows'])} misses of the {(t.kind == 'color').sum()} colour "
            f"swaps its colour IFIV is {miss['small_swapped'].mean():+.2f} logits on the swapped item and "
            f"{miss['small_named'].mean():+.2f} on the item it names instead. On the same misses the book's scorer "
            f"gives {miss['book_swapped'].mean():+.2f} to the swapped item and {miss['book_named'].mean():+.2f} to "
            f"the other, {gap:.1f} standard errors more on the swapped item: from every training outfit "
            f"instead of {len(bench.splits['train']):,} it has learnt better which side of a clash is the odd colour "
            "out. Which item is the one question both explanations can answer; the next is the one only one can.")


def why_sentence(one) -> str:
    """How often the interpretable scorer's lower group is the one the stylist faults (cases with one)."""
    return (f"IFIV on the interpretable scorer names the group the stylist faults in {one.group_hit.mean():.1%} of the "
            f"{len(one)} cases with one faulted group (se {_se(one.group_hit):.3f}; chance 50%): "
            f"{one[one.truth == 'color'].group_hit.mean():.1%} of the {int((one.truth == 'color').sum())} colour "
            f"faults and {one[one.truth == 'shape_texture'].group_hit.mean():.1%} of the "
            f"{int((one.truth == 'shape_texture').sum())} shape-texture faults.")


def posthoc_sentence(n_colour: int, posthoc, one, better) -> str:
    """The why read off the embedding's dimensions named after the fact, against IFIV on named groups."""
    return (f"{n_colour} of the 1,280 dimensions are named colour. Named after the fact, the opaque scorer's "
            f"dimensions give the stylist's group in {posthoc.mean():.1%} of the {len(one)} cases (se "
            f"{_se(posthoc):.3f}; chance 50%), against {one.group_hit.mean():.1%} for IFIV on the interpretable "
            f"groups: {better.mean():.2f} behind, {better.mean() / _se(better):.1f} paired standard errors. A "
            "dimension that varies a little with colour and a little with everything else does not carry a colour "
            "explanation: the names have to be built into the features, not read off them.")


def worked_case(data: CaseData) -> int:
    """The chapter's worked case: among the colour swaps that both explanations get right at the item level, that
    the stylist faults for the swapped item's colour and whose interpretable culprit (item, group) is that colour,
    the one whose swapped item the opaque explanation puts lowest (the first case when none qualifies)."""
    t = data.table
    cell_item, cell_group = (x.numpy() for x in data.attributions["interpretable"].culprit())
    rule = ((t.kind == "color") & t.interpretable_hit & t.opaque_hit & (t.truth == "color")
            & (cell_item == t.position) & (cell_group == 0)).to_numpy()
    own = data.attributions["opaque"].values[..., 0].numpy()[np.arange(len(t)), t.position]
    return int(np.flatnonzero(rule)[own[rule].argmin()]) if rule.any() else 0


def spread_sentence(data: CaseData, c: int, per_dim) -> str:
    """How the opaque scorer's value of case ``c``'s swapped item spreads over its 1,280 per-dimension values."""
    own = per_dim[c, int(data.table.position.iloc[c])]
    mass = own.abs().sort(descending=True).values.cumsum(0) / own.abs().sum()
    return (f"The opaque scorer's one number is the sum of {own.numel():,} per-dimension values: the "
            f"{int((mass < 0.5).sum()) + 1} largest carry half of their absolute sum; {int((own > 0).sum())} of them "
            f"raise the score, {int((own < 0).sum())} lower it and {int((own == 0).sum())} are zero. None of them has "
            "a name.")


def run_sentence(t, one, posthoc, auc: dict, full: dict) -> str:
    """The chapter's numbers on this run, beside the claims of 'What we learned'."""
    col, hit = (t.kind == "color").to_numpy(), one.group_hit.mean()  # below: the colour swaps alone
    small, opq, z = t.interpretable_hit[col].mean(), t.opaque_hit[col].mean(), (hit - 0.75) / _se(one.group_hit)
    return (f"On this run the swapped item is found in {t.interpretable_hit.mean():.0%} (interpretable) and "
            f"{t.opaque_hit.mean():.0%} (opaque) of {len(t)} cases, chance {t.chance.mean():.0%}. IFIV on the "
            f"interpretable groups names the stylist's group in {hit:.1%} of {len(one)} cases, {abs(z):.1f} standard "
            f"errors {'above' if z > 0 else 'below'} three in four; the embedding's dimensions named after the fact, "
            f"in {posthoc.mean():.0%} (chance 50%). Test AUC: {auc['interpretable']:.3f} and {auc['opaque']:.3f}; "
            f"{full['first']:.3f} for the book's scorer. On colour swaps alone the interpretable scorer finds the "
            f"swapped item in {small:.0%} (chance {t.chance[col].mean():.0%}), "
            f"{('less often than', 'as often as', 'more often than')[int(np.sign(small - opq)) + 1]} the opaque "
            f"scorer ({opq:.0%}); the book's scorer, from every training outfit, in "
            f"{t.book_hit[col].mean():.0%}." + (" Names say that colour is at fault; which item of a colour clash is "
                                                "the odd one out is learnt from outfits." if small < opq else ""))


def why_gap_sentence(spare_low: dict, on_item: dict, col, book_why, small_why) -> str:
    """Where the book's scorer's why goes wrong on the one-fault cases: ``spare_low`` (the unfaulted group negative?)
    and ``on_item`` (the swapped item's share of the outfit's negative value) by scorer ("book", "small")."""
    (b, bc, ob), (s, sc, os_) = ((v.mean(), v[col].mean(), on_item[k][col].mean()) for k, v in spare_low.items())
    return (f"The book's scorer's why is wrong in {(~book_why).sum()} of the {len(book_why)} cases "
            f"({(~book_why & col).sum()} of them colour swaps), the small scorer's in {(~small_why).sum()}. The group "
            f"the stylist does not fault is negative in {b:.0%} of the book's scorer's cases and {s:.0%} of the small "
            f"scorer's; on the {col.sum()} colour swaps in {bc:.0%} against {sc:.0%}, where the book's scorer puts "
            f"{ob:.0%} of the outfit's negative value on the swapped item and the small scorer {os_:.0%}." + (
                " Having learnt which item of a colour clash is the odd one out, the book's scorer piles the clash on "
                "that item, and the item's unchanged shape-texture takes part of it, at times the larger part."
                if bc > sc and ob > os_ else "") + " IFIV splits an item's value between its groups by each group's "
            "share of the score at the outfit, not by what the swap changed.")
