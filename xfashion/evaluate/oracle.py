"""The ground truth, in one place: the stylist's rules as the oracle the swap test and the pair test
judge by (chapters 06 and 08).

An :class:`Oracle` judges swapped outfits (bad, and which items' change alone repairs them) and
blames (item, group) cells; :func:`fashion_oracle` is the stylist's for Fashion-MNIST.
:func:`oracle_attribution` and :func:`oracle_pairs` are the ceilings every method is compared with;
:func:`faulted_pairs` names the pairs the pair rules fault.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..data import COLOR_NAMES, SLOTS
from ..explain import Attribution
from ..explain.outputs import PairAttribution
from ..rules import DEFAULT_RULES, GROUPS, StylistRules, clash_tables, good_mask, repairers, violations
from ..rules import blame as rules_blame

PAIR_RULES = ("hue_clash", "neutral_clash", "season_clash")  # the rules whose fault is two items


@dataclass
class Oracle:
    """The ground truth of a dataset, vectorised over outfits.

    ``judge(items, colors) -> (bad (C,), culprits (C, N))`` takes padded item ids (-1) and
    colours; ``blame(items, colors) -> (n, G)`` takes one outfit's real items.
    """

    judge: object
    blame: object


def fashion_oracle(catalog, split: str, rules: StylistRules = DEFAULT_RULES, groups=GROUPS) -> Oracle:
    """The stylist as an :class:`Oracle`: a swap may re-colour an item or replace it by any item of its slot."""
    pool = catalog.split == split
    triples = []
    for s in range(len(SLOTS)):
        sel = pool & (catalog.slot == s)
        triples.append(np.unique(np.stack([catalog.category[sel], catalog.color[sel], catalog.busy[sel]], 1), axis=0)
                       if sel.any() else np.zeros((0, 3), np.int64))
    width = max(len(t) for t in triples)
    by_slot = np.full((len(SLOTS), width, 3), -1, dtype=np.int64)
    for s, t in enumerate(triples):
        by_slot[s, : len(t)] = t
    palette = np.arange(len(COLOR_NAMES))
    # read once: the catalog's busy and slot are computed over every item on each access (2 ms), and the swap
    # test judges and blames thousands of outfits
    category, busy_all, slot_all = catalog.category, catalog.busy, catalog.slot

    def judge(items, colors):
        mask = items >= 0
        it = np.where(mask, items, 0)
        cat, busy, slot = category[it], busy_all[it].astype(np.int64), slot_all[it]
        bad = ~good_mask(cat, colors, busy, mask, rules)
        culprits = np.zeros(items.shape, bool)
        b = np.flatnonzero(bad)  # a good outfit has no culprit: only the bad ones try every repair
        if len(b):
            cat, busy, slot, colors, mask = cat[b], busy[b], slot[b], np.asarray(colors)[b], mask[b]
            options = []
            for i in range(items.shape[1]):
                recolor = np.stack(np.broadcast_arrays(cat[:, i, None], palette[None], busy[:, i, None]), -1)
                options.append(np.concatenate([recolor, by_slot[slot[:, i]]], 1))
            culprits[b] = repairers(cat, colors, busy, mask, options, rules)
        return bad, culprits

    def blame(items, colors):
        items = np.asarray(items)
        return rules_blame(category[items], np.asarray(colors), busy_all[items], rules, list(groups))

    return Oracle(judge, blame)


def oracle_attribution(cases) -> Attribution:
    """The oracle as an explanation (the ceiling): culprit items lowest, then more blame lower."""
    values = -cases.blame - 10.0 * torch.from_numpy(cases.culprits)[..., None].to(cases.blame.dtype)
    return Attribution(values, cases.batch.mask.clone(), "oracle", list(cases.groups))


def faulted_pairs(catalog, items, colors, rules: StylistRules = DEFAULT_RULES) -> list:
    """The stylist's faulted pairs of one outfit: ``[(i, j, rule), ...]`` over its real items (pair rules only)."""
    items, colors = np.asarray(items), np.asarray(colors)
    found = violations(catalog.category[items], colors, catalog.busy[items], rules)
    return [(*v.items, v.rule) for v in found if v.rule in PAIR_RULES]


def oracle_pairs(catalog, cases, rules: StylistRules = DEFAULT_RULES) -> PairAttribution:
    """The stylist as a pair explanation (the ceiling): -1 on each faulted pair."""
    values = torch.zeros(cases.batch.mask.shape + (cases.batch.mask.shape[1],))
    for c in range(len(cases)):
        n = int(cases.batch.mask[c].sum())
        for i, j, _ in faulted_pairs(catalog, cases.items[c, :n], cases.colors[c, :n], rules):
            values[c, i, j] = values[c, j, i] = -1.0
    return PairAttribution(values, cases.batch.mask.clone(), "oracle")


def one_pair_clash(catalog, items, colors, rules):
    """For candidate outfits (M, N): the single faulted pair ``(i, j)`` and its rule, or -1 (any other verdict)."""
    t = clash_tables(rules)
    mask = items >= 0
    it = np.where(mask, items, 0)
    cat, col = catalog.category[it], np.where(mask, colors, 0)
    n = items.shape[1]
    upper = (mask[:, :, None] & mask[:, None, :]) & np.triu(np.ones((n, n), bool), 1)
    colour = t["color"][col[:, :, None], col[:, None, :]] & upper
    season = t["season"][cat[:, :, None], cat[:, None, :]] & upper
    clash = colour | season
    counts_ok = ((t["chromatic"][col] & mask).sum(1) <= rules.max_chromatic) & \
        ((catalog.busy[it] & mask).sum(1) <= rules.max_busy)
    one = (colour.sum((1, 2)) + season.sum((1, 2)) == 1) & counts_ok
    flat = clash.reshape(len(items), -1).argmax(1)
    i, j = np.where(one, flat // n, -1), np.where(one, flat % n, -1)
    rows = np.arange(len(items))
    chromatic = t["chromatic"][col[rows, np.maximum(i, 0)]] & t["chromatic"][col[rows, np.maximum(j, 0)]]
    rule = np.where(season.reshape(len(items), -1)[rows, flat], "season_clash",
                    np.where(chromatic, "hue_clash", "neutral_clash"))
    return i, j, np.where(one, rule, "")
