"""Analyses of the data and features: plain vs busy garments and how the negatives were made (chapter 01);
the CNN's confusions, colour invariance, maps and neighbours (chapter 02)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .data import CATEGORIES, CATEGORY_SLOT, COLOR_NAMES, GARMENT_SLOTS, SLOTS, Catalog
from .features import FeatureExtractor
from .groups import SHAPE_GROUP
from .outfits import OutfitSet, outfit_blame
from .rules import DEFAULT_RULES, GROUPS, violations
from .utils import check_count


def top_confusions(confusion: np.ndarray, k: int = 6, rules=None):
    """The CNN's ``k`` most frequent confusions, and whether the stylist treats the two categories alike.

    ``rate`` is the share of the true category's test images predicted as the other one. Two
    categories are alike for the stylist when they share a slot and meet the same season clashes;
    a confusion between categories that are not alike is one the scorer could pay for.

    Returns
    -------
    DataFrame with columns ``true``, ``predicted``, ``rate``, ``same_slot``, ``same_season_rules``, ``alike``.
    """
    check_count(k, "k")
    rules = rules or DEFAULT_RULES
    confusion = np.asarray(confusion, dtype=float)
    rates = confusion / confusion.sum(1, keepdims=True).clip(min=1)
    np.fill_diagonal(rates, 0)

    def partners(c):
        return {b if a == c else a for a, b in rules.season_clashes if c in (a, b)}

    rows = []
    for flat in np.argsort(rates, axis=None)[::-1][:k]:
        t, p = (CATEGORIES[i] for i in np.unravel_index(flat, rates.shape))
        slot, season = CATEGORY_SLOT[t] == CATEGORY_SLOT[p], partners(t) == partners(p)
        rows.append({"true": t, "predicted": p, "rate": round(float(rates.flat[flat]), 3), "same_slot": slot,
                     "same_season_rules": season, "alike": slot and season})
    return pd.DataFrame(rows)


@torch.no_grad()
def color_invariance(extractor: FeatureExtractor, catalog: Catalog, n: int = 200, seed: int = 0) -> float:
    """Largest relative change of the shape-texture embedding over re-renderings in every colour."""
    check_count(n, "n")
    rng = np.random.default_rng(seed)
    items = rng.choice(len(catalog), min(n, len(catalog)), replace=False)
    embs = torch.stack([extractor(catalog.render(items, np.full(len(items), k)))[SHAPE_GROUP]
                        for k in range(len(COLOR_NAMES))])  # (K, n, D)
    ref = embs[0]
    change = (embs - ref).norm(dim=-1) / ref.norm(dim=-1).clamp_min(1e-6)
    return float(change.max())


def embedding_map(table, n: int = 3000, seed: int = 0):
    """2-D PCA coordinates of ``n`` random rows of a feature table; returns (coords, rows)."""
    check_count(n, "n", least=2)
    gen = np.random.default_rng(seed)
    rows = np.sort(gen.choice(len(table), min(n, len(table)), replace=False))
    x = table[rows] - table[rows].mean(0)
    _, _, v = torch.pca_lowrank(x, q=2, center=False)
    return (x @ v[:, :2]).numpy(), rows


def nearest_neighbours(table, item: int, k: int = 6, candidates=None) -> np.ndarray:
    """The ``k`` items closest to ``item`` (Euclidean) in one feature table."""
    check_count(k, "k")
    cand = np.arange(len(table)) if candidates is None else np.asarray(candidates)
    cand = cand[cand != item]
    d = (table[cand] - table[item]).norm(dim=1)
    return cand[torch.argsort(d)[:k].numpy()]


def busy_examples(catalog: Catalog, n: int = 6, seed: int = 0) -> dict:
    """Item ids of garments along the texture score, for a side-by-side look.

    Returns
    -------
    dict of str -> array of int
        ``n`` random garments each: ``"plain"`` (below the 30th percentile of the training
        garments' texture scores), ``"just busy"`` (busy, yet below their 85th percentile, just
        over the threshold) and ``"busiest"`` (at or above their 97th percentile).
    """
    check_count(n, "n")
    rng = np.random.default_rng(seed)
    garment = np.isin(catalog.slot, [SLOTS.index(s) for s in GARMENT_SLOTS])
    plain, just, top = np.quantile(catalog.texture[garment & (catalog.split == "train")], [0.3, 0.85, 0.97])
    pools = {"plain": garment & (catalog.texture < plain), "just busy": catalog.busy & (catalog.texture < just),
             "busiest": garment & (catalog.texture >= top)}
    return {name: rng.choice(np.flatnonzero(keep), n, replace=False) for name, keep in pools.items()}


def blame_table(catalog: Catalog, outfits: dict) -> pd.DataFrame:
    """Outfits side by side, one row per position: each one's item and the oracle's blame per feature group.

    Parameters
    ----------
    catalog : Catalog
    outfits : dict of str -> sequence of int
        Named outfits (catalog ids) of one length, e.g. a good outfit and a negative made from it.
    """
    columns = {}
    for name, items in outfits.items():
        items = np.asarray(items)
        blame = outfit_blame(catalog, items)
        columns[(name, "item")] = [f"{COLOR_NAMES[catalog.color[i]]} {CATEGORIES[catalog.category[i]]}" for i in items]
        columns.update({(name, g): blame[:, k].round(2) for k, g in enumerate(GROUPS)})
    return pd.DataFrame(columns).rename_axis("position")


def negative_swaps(catalog: Catalog, outfits: OutfitSet) -> pd.DataFrame:
    """How each negative of a sampled split differs from the good outfit it was made from.

    :func:`xfashion.outfits.sample_outfits` stores every good outfit followed by its negative; this
    compares each pair item by item and asks the oracle again.

    Returns
    -------
    DataFrame, one row per pair
        ``good`` and ``negative`` (outfit indices), ``replaced`` (items that differ), ``same_slot``
        (every new item fills the slot of the item it replaced, from the same split), ``rules`` (the
        oracle's verdict on the negative), ``as_stored`` (the split recorded that verdict),
        ``new_blamed`` (every broken rule names a new item) and ``old_blamed`` (some broken rule also
        names an item that stayed).

    Raises
    ------
    ValueError
        When ``outfits`` is not in the sampler's order (e.g. a subset).
    """
    good = np.flatnonzero(outfits.oracle_label > 0)
    if len(outfits) % 2 or not np.array_equal(good, np.arange(0, len(outfits), 2)):
        raise ValueError("negative_swaps needs a split as sample_outfits made it: each good outfit followed by its "
                         "negative.")
    # the catalog's slot and busy properties recompute over every item: once here, not per pair
    slot, busy, rows = catalog.slot, catalog.busy, []
    for g in good:
        before, after = outfits.outfit(g), outfits.outfit(g + 1)
        new = np.flatnonzero(before != after) if len(before) == len(after) else np.arange(len(after))
        found = violations(catalog.category[after], catalog.color[after], busy[after])
        rules = sorted({v.rule for v in found})
        rows.append({"good": int(g), "negative": int(g + 1), "replaced": len(new),
                     "same_slot": len(before) == len(after)
                     and bool((slot[before[new]] == slot[after[new]]).all())
                     and bool((catalog.split[after[new]] == outfits.name).all()),
                     "rules": ", ".join(rules), "as_stored": rules == sorted(outfits.rules[g + 1]),
                     "new_blamed": all(set(v.items) & set(new.tolist()) for v in found),
                     "old_blamed": any(set(v.items) - set(new.tolist()) for v in found)})
    return pd.DataFrame(rows)
