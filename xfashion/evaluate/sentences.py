"""Sentences computed from outputs: what a chapter says with ``xf.say`` about the run it shows.

Kept apart from the modules that key cached results (``rules``, ``evaluate.agreement``): rewording a
sentence re-keys nothing.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..data import CATEGORIES, COLOR_NAMES, PALETTE, SLOTS, Catalog
from ..explain import Attribution
from ..outfits import outfit_blame, outfit_violations
from ..rules import DEFAULT_RULES, StylistRules, Violation, hue_distance


def group_name(group: str) -> str:
    """A feature group as the prose spells it: ``color`` -> 'colour', ``shape_texture`` -> 'shape-texture'."""
    return group.replace("color", "colour").replace("_", "-")


def kind_name(kind: str) -> str:
    """A swap kind as the prose names it: a group's name, or 'whole-item' for the swap of the whole item."""
    return "whole-item" if kind == "item" else group_name(kind)


def rule_name(rule: str) -> str:
    """A stylist's rule as the prose names it: ``hue_clash`` -> 'hue clash'."""
    return rule.replace("_", " ")


def listing(words: Sequence[str], last: str = "and") -> str:
    """Words joined as a sentence lists them: 'a', 'a and b', 'a, b and c' (``last`` replaces 'and')."""
    words = list(words)
    if not words:
        raise ValueError("listing needs at least one word; got none")
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + f" {last} " + words[-1]


def culprit_sentence(catalog, items, attribution: Attribution, b: int = 0, colors=None, name: str | None = None,
                     rules: StylistRules = DEFAULT_RULES) -> str:
    """One sentence on outfit ``b``'s culprit item and culprit (item, group), and whether the stylist blames each.

    Parameters
    ----------
    items, colors : the outfit's catalog ids and colours as drawn (``colors`` defaults to the catalog's)
    attribution : Attribution
        A group-level method's values for a batch holding the outfit at position ``b``.
    name : how the sentence names the method (default: its registry name)

    Examples
    --------
    "IFIV's culprit item is item 1, the beige Sneaker, which the stylist does not blame; its culprit
    (item, group) is the shape-texture of item 2, the red Bag, an item the stylist blames for its
    colour, not its shape-texture."
    """
    items = np.asarray(items)
    items = items[items >= 0]
    colors = catalog.color[items] if colors is None else np.asarray(colors)
    groups = list(attribution.groups)
    blame = outfit_blame(catalog, items, colors, rules, groups)
    k = int(attribution.culprit_item()[b])
    j, g = (int(t[b]) for t in attribution.culprit())

    def called(p):
        return f"item {p}, the {COLOR_NAMES[colors[p]]} {CATEGORIES[catalog.category[items[p]]]}"

    def group_names(mask):
        return " and ".join(group_name(groups[h]) for h in np.flatnonzero(mask))
    group = group_name(groups[g])
    blamed_for = group_names(blame[j] > 0)
    if j == k:
        cell = f"that same item's {group}" + (", which the stylist blames too" if blame[j, g] > 0 else
                                              f", although the stylist blames it for its {blamed_for}"
                                              if blamed_for else "")
    else:
        cell = f"the {group} of {called(j)}, " + (
            "which the stylist blames" if blame[j, g] > 0 else
            f"an item the stylist blames for its {blamed_for}, not its {group}" if blamed_for else
            "an item the stylist does not blame")
    item = "which the stylist blames" if blame[k].sum() > 0 else "which the stylist does not blame"
    return f"{name or attribution.method}'s culprit item is {called(k)}, {item}; its culprit (item, group) is {cell}."


def describe_violation(v: Violation, categories: Sequence[int], colors: Sequence[int],
                       rules: StylistRules = DEFAULT_RULES) -> str:
    """One broken rule in words, with the numbers that break it (for sentences computed from outputs).

    ``categories`` and ``colors`` are the whole outfit's, indexed by ``v.items``. For example: "a hue clash:
    the teal Sneaker (hue 180) and the purple Bag (hue 280) are 100 degrees apart, inside the stylist's
    clash window of 60-150 degrees".
    """
    colors = [PALETTE[c] for c in np.asarray(colors).ravel()]
    names = [f"{colors[k].name} {CATEGORIES[np.asarray(categories).ravel()[k]]}" for k in v.items]
    if v.rule == "hue_clash":
        (a, b), (lo, hi) = (colors[k] for k in v.items), rules.hue_clash
        return (f"a hue clash: the {names[0]} (hue {a.hue:.0f}) and the {names[1]} (hue {b.hue:.0f}) are "
                f"{hue_distance(a.hue, b.hue):.0f} degrees apart, inside the stylist's clash window of "
                f"{lo:.0f}-{hi:.0f} degrees")
    if v.rule == "too_many_colours":
        return f"too many colours: {len(v.items)} chromatic items ({', '.join(names)}), more than {rules.max_chromatic}"
    if v.rule == "neutral_clash":
        return f"a neutral clash: the {names[0]} with the {names[1]}"
    if v.rule == "season_clash":
        return f"a season clash: the {names[0]} with the {names[1]}"
    if v.rule == "busy_clash":
        return f"a busy clash: {len(v.items)} busy-patterned garments ({', '.join(names)}), more than {rules.max_busy}"
    return f"{v.rule.replace('_', ' ')}: {' + '.join(names)}"


def p_good(logit):
    """The sigmoid of a logit, without overflow for very bad outfits (float32 exp overflows past 88)."""
    return 0.5 * (1 + np.tanh(np.asarray(logit, dtype=np.float64) / 2))


def item_name(catalog: Catalog, item: int, color: int | None = None, slot: bool = True) -> str:
    """An item as a reader names it: 'shoes: Sneaker (red)', or 'Sneaker (red)' without its ``slot``."""
    color = catalog.color[item] if color is None else color
    name = f"{CATEGORIES[catalog.category[item]]} ({COLOR_NAMES[color]})"
    return f"{SLOTS[catalog.slot[item]]}: {name}" if slot else name


def verdict(catalog: Catalog, items, colors, logit: float, attr) -> str:
    """What the model and the stylist say of an outfit, and where they, or the explanation, disagree."""
    broken = outfit_violations(catalog, items, colors)
    model = f"The model says {'good' if logit > 0 else 'bad'} (p(good) {p_good(logit):.2f})"
    stylist = ("the stylist says good" if not broken else "the stylist says bad: " + ", ".join(
        f"{rule_name(v.rule)} ({group_name(v.group)}, " + " + ".join(item_name(catalog, items[k], colors[k], slot=False)
                                                           for k in v.items) + ")" for v in broken))
    sentence = f"{model}; {stylist}."
    if (logit > 0) == (not broken):
        sentence += " They agree."
    else:
        sentence += (" They disagree: the model misses the stylist's rule, so the explanation explains the "
                     "model's mistake, not the rule." if broken else
                     " They disagree: the model calls a good outfit bad; the explanation shows what it objects to.")
    if broken:  # also when the model misses the rule: its explanation then points elsewhere, and we say where
        (pos,), (group,) = (t.tolist() for t in attr.culprit())
        groups, named = {v.group for v in broken}, {k for v in broken for k in v.items}
        if not attr.item_level and attr.groups[group] not in groups:
            sentence += (f" Note: the explanation's culprit (item, group) is the {group_name(attr.groups[group])}"
                         f" of {item_name(catalog, items[pos], colors[pos])}, but the stylist's rule is about "
                         f"{' and '.join(sorted(group_name(g) for g in groups))}.")
        elif attr.item_level and pos not in named:
            sentence += (f" Note: the explanation's culprit item is {item_name(catalog, items[pos], colors[pos])}, "
                         "which no broken rule involves.")
    return sentence


def chance_hits(blame, sizes) -> dict:
    """The hit rates of a culprit drawn uniformly at random: the chance level beside any hit rate.

    Parameters
    ----------
    blame : tensor or ndarray, shape (outfits, items, groups)
        The stylist's blame (:func:`xfashion.evaluate.oracle_blame_tensor`); padding rows are zero.
    sizes : sequence of int
        The real items of each outfit.

    Returns
    -------
    dict
        ``item_hit``: the mean over outfits of (blamed items / items); ``cell_hit``: the mean of
        (blamed (item, group) cells / cells). A random culprit hits at these rates in expectation.
    """
    blame = np.asarray(blame) > 0
    sizes = np.asarray(sizes, dtype=float)
    if blame.ndim != 3 or len(sizes) != len(blame):
        raise ValueError(f"blame must be (outfits, items, groups) with one size per outfit; got blame of shape "
                         f"{blame.shape} and {len(sizes)} sizes")
    items = blame.any(-1).sum(-1) / sizes
    cells = blame.sum((1, 2)) / (sizes * blame.shape[-1])
    return {"item_hit": float(items.mean()), "cell_hit": float(cells.mean())}
