"""Analyses of the data and features: plain vs busy garments (chapter 01); the CNN's confusions, colour
invariance, maps and neighbours (chapter 02)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from .data import CATEGORIES, CATEGORY_SLOT, COLOR_NAMES, GARMENT_SLOTS, SLOTS, Catalog
from .features import FeatureExtractor
from .groups import SHAPE_GROUP
from .rules import DEFAULT_RULES
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
    """Item ids of plain and busy garments (for a side-by-side look)."""
    check_count(n, "n")
    rng = np.random.default_rng(seed)
    garment = np.isin(catalog.slot, [SLOTS.index(s) for s in GARMENT_SLOTS])
    busy = np.flatnonzero(catalog.busy)
    plain = np.flatnonzero(garment & (catalog.texture < np.quantile(catalog.texture[garment], 0.3)))
    return {"plain": rng.choice(plain, n, replace=False), "busy": rng.choice(busy, n, replace=False)}
