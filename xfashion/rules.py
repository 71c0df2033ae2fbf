"""The stylist: hidden ground-truth rules that make an outfit good or bad.

The scorer never sees these rules; it learns them from labelled outfits. Because we know
them, every explanation can be checked against the truth: the oracle returns each
violation with the items involved and the feature group at fault, and a blame matrix
over (item, feature group).
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from itertools import combinations
from typing import Sequence

import numpy as np
import pandas as pd

from .data import CATEGORIES, PALETTE
from .groups import COLOR_GROUP, DEFAULT_GROUP_NAMES, SHAPE_GROUP

GROUPS = DEFAULT_GROUP_NAMES  # the groups a rule can fault; blame has one column each


@dataclass(frozen=True)
class StylistRules:
    """The stylist's taste, as data.

    Attributes
    ----------
    hue_clash : (float, float)
        Two chromatic items clash when their hue distance (degrees, 0-180) lies in this
        closed range: neither analogous (close) nor complementary (opposite).
    max_chromatic : int
        More chromatic items than this make an outfit too loud.
    neutral_clashes : tuple of (str, str)
        Neutral colour pairs that must not be worn together.
    season_clashes : tuple of (str, str)
        Category pairs from different seasons.
    max_busy : int
        How many busy-patterned garments an outfit may hold.
    """

    hue_clash: tuple = (60.0, 150.0)
    max_chromatic: int = 2
    neutral_clashes: tuple = (("navy", "black"),)
    season_clashes: tuple = (("Sandal", "Coat"), ("Sandal", "Pullover"), ("Ankle boot", "Dress"))
    max_busy: int = 1

    def __post_init__(self):
        def fail(what):
            raise ValueError(f"StylistRules: {what}")
        try:
            lo, hi = (float(x) for x in self.hue_clash)
        except (TypeError, ValueError):
            fail(f"hue_clash must be two angles (lo, hi) in degrees; got {self.hue_clash!r}.")
        if not 0 <= lo <= hi <= 180:
            fail(f"hue_clash must satisfy 0 <= lo <= hi <= 180 degrees; got {self.hue_clash!r}.")
        for name in ("max_chromatic", "max_busy"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                fail(f"{name} must be an integer >= 0; got {v!r}.")
        names = [c.name for c in PALETTE]
        for field_name, known in (("neutral_clashes", names), ("season_clashes", CATEGORIES)):
            for pair in getattr(self, field_name):
                if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                    fail(f"{field_name} holds pairs of names; got {pair!r}.")
                for n in pair:
                    if n not in known:
                        close = difflib.get_close_matches(str(n), known, n=1)
                        hint = f" Did you mean {close[0]!r}?" if close else ""
                        fail(f"unknown name {n!r} in {field_name}.{hint} Known: {known}.")

    def describe(self):
        """A pandas table: one row per rule with its feature group and wording."""
        lo, hi = self.hue_clash

        def pairs(ps):
            return ", ".join("+".join(p) for p in ps)
        rows = [
            ("hue_clash", COLOR_GROUP, f"two chromatic items whose hues differ by {lo:.0f}-{hi:.0f} degrees"),
            ("too_many_colours", COLOR_GROUP, f"more than {self.max_chromatic} chromatic items"),
            ("neutral_clash", COLOR_GROUP, "neutral pairs that clash: " + pairs(self.neutral_clashes)),
            ("season_clash", SHAPE_GROUP, "items from different seasons: " + pairs(self.season_clashes)),
            ("busy_clash", SHAPE_GROUP, f"more than {self.max_busy} busy-patterned garment"),
        ]
        return pd.DataFrame(rows, columns=["rule", "group", "violated when"])

    def table(self) -> "RulesTable":
        """The rules for reading: :meth:`describe` with every wording in full, in any front end.

        A DataFrame's display cuts text at 50 characters ("60-15..."). The returned
        :class:`RulesTable` shows as a styled HTML table where HTML renders and as the full
        plain-text table elsewhere (a bare Styler shows there as ``<...Styler at 0x...>``).
        """
        return RulesTable(self.describe())

    @property
    def names(self) -> list:
        return list(self.describe()["rule"])


class RulesTable:
    """A rules table that reads in full wherever it is shown.

    Parameters
    ----------
    frame : DataFrame
        :meth:`StylistRules.describe`'s table.

    Notes
    -----
    Front ends that render HTML call ``_repr_html_`` (the styled table, wordings left-aligned);
    text views and exporters without HTML call ``__repr__`` (the same rows as plain text).
    """

    def __init__(self, frame: pd.DataFrame):
        self.frame = frame

    @property
    def style(self):
        """The pandas Styler: no index, the wordings left-aligned and wrapped."""
        return (self.frame.style.hide(axis="index")
                .set_properties(subset=["violated when"], **{"text-align": "left", "white-space": "normal"}))

    def to_html(self) -> str:
        return self.style.to_html()

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        frame = self.frame.astype(str)
        widths = {c: max(len(c), int(frame[c].str.len().max())) for c in frame}  # every cell left-aligned
        text = frame.to_string(index=False, max_colwidth=None, justify="left",
                               formatters={c: f"{{:<{w}}}".format for c, w in widths.items()})
        return "\n".join(line.rstrip() for line in text.splitlines())


DEFAULT_RULES = StylistRules()


@dataclass(frozen=True)
class Violation:
    """One broken rule: its name, the feature group at fault and the item positions involved."""

    rule: str
    group: str
    items: tuple


def hue_distance(a: float, b: float) -> float:
    """Smallest angle between two hues, in degrees (0-180)."""
    d = abs(a - b) % 360.0
    return min(d, 360.0 - d)


def _check(categories, colors, busy) -> tuple:
    categories, colors, busy = (np.asarray(x).ravel() for x in (categories, colors, busy))
    if not (len(categories) == len(colors) == len(busy)):
        raise ValueError("categories, colours and busy must have one entry per item.")
    if len(categories) == 0:
        raise ValueError("An outfit needs at least one item; got an empty outfit.")
    if categories.min() < 0 or categories.max() >= len(CATEGORIES):
        raise ValueError(f"Unknown category index in {categories.tolist()}; expected 0-{len(CATEGORIES) - 1}.")
    if colors.min() < 0 or colors.max() >= len(PALETTE):
        raise ValueError(f"Unknown colour index in {colors.tolist()}; expected 0-{len(PALETTE) - 1}.")
    return categories, colors, busy.astype(bool)


def violations(categories: Sequence[int], colors: Sequence[int], busy: Sequence[bool],
               rules: StylistRules = DEFAULT_RULES) -> list:
    """Every rule an outfit breaks.

    Parameters
    ----------
    categories, colours : sequence of int
        Fashion-MNIST category and palette index of each item.
    busy : sequence of bool
        Whether each item's print is busy (only garments count, see ``Catalog.busy``).
    rules : StylistRules

    Returns
    -------
    list of Violation
    """
    categories, colors, busy = _check(categories, colors, busy)
    found = []
    hues = [PALETTE[c].hue for c in colors]
    chromatic = [i for i, h in enumerate(hues) if h is not None]
    lo, hi = rules.hue_clash
    for i, j in combinations(chromatic, 2):
        if lo <= hue_distance(hues[i], hues[j]) <= hi:
            found.append(Violation("hue_clash", COLOR_GROUP, (i, j)))
    if len(chromatic) > rules.max_chromatic:
        found.append(Violation("too_many_colours", COLOR_GROUP, tuple(chromatic)))
    names = [PALETTE[c].name for c in colors]
    for a, b in rules.neutral_clashes:
        for i, j in combinations(range(len(names)), 2):
            if {names[i], names[j]} == {a, b} and a != b:
                found.append(Violation("neutral_clash", COLOR_GROUP, (i, j)))
    cats = [CATEGORIES[c] for c in categories]
    for a, b in rules.season_clashes:
        for i, j in combinations(range(len(cats)), 2):
            if {cats[i], cats[j]} == {a, b}:
                found.append(Violation("season_clash", SHAPE_GROUP, (i, j)))
    busy_items = tuple(np.flatnonzero(busy).tolist())
    if len(busy_items) > rules.max_busy:
        found.append(Violation("busy_clash", SHAPE_GROUP, busy_items))
    return found


def blame(categories, colors, busy, rules: StylistRules = DEFAULT_RULES, groups=GROUPS) -> np.ndarray:
    """Per-(item, group) blame: each violation shares one unit among the items it involves.

    Parameters
    ----------
    groups : sequence of str
        The columns (e.g. a scorer's feature groups); a group no rule can fault gets zeros.

    Returns
    -------
    ndarray, shape (n_items, len(groups))
    """
    groups = list(groups)
    out = np.zeros((len(np.ravel(categories)), len(groups)))
    for v in violations(categories, colors, busy, rules):
        if v.group in groups:
            for i in v.items:
                out[i, groups.index(v.group)] += 1.0 / len(v.items)
    return out


def is_good(categories, colors, busy, rules: StylistRules = DEFAULT_RULES) -> bool:
    """An outfit is good iff it breaks no rule."""
    return not violations(categories, colors, busy, rules)


# ----------------------------------------------------------------------------- the oracle, vectorised


def clash_tables(rules: StylistRules = DEFAULT_RULES) -> dict:
    """The rules as lookup tables: which colour pairs and category pairs clash, which colours are chromatic."""
    names = [c.name for c in PALETTE]
    hues = [c.hue for c in PALETTE]
    lo, hi = rules.hue_clash
    color = np.zeros((len(PALETTE), len(PALETTE)), bool)
    for a, b in combinations(range(len(PALETTE)), 2):
        hue = hues[a] is not None and hues[b] is not None and lo <= hue_distance(hues[a], hues[b]) <= hi
        neutral = any({names[a], names[b]} == {x, y} and x != y for x, y in rules.neutral_clashes)
        color[a, b] = color[b, a] = hue or neutral
    season = np.zeros((len(CATEGORIES), len(CATEGORIES)), bool)
    for x, y in rules.season_clashes:
        i, j = CATEGORIES.index(x), CATEGORIES.index(y)
        season[i, j] = season[j, i] = i != j
    chromatic = np.array([h is not None for h in hues])
    return {"color": color, "season": season, "chromatic": chromatic}


def good_mask(categories, colors, busy, mask, rules: StylistRules = DEFAULT_RULES) -> np.ndarray:
    """:func:`is_good` for many outfits at once: arrays (M, N) with ``mask`` True for real items; returns (M,)."""
    t = clash_tables(rules)
    cat, col, mask = np.asarray(categories), np.asarray(colors), np.asarray(mask, bool)
    busy = np.asarray(busy, bool) & mask
    cat, col = np.where(mask, cat, 0), np.where(mask, col, 0)
    pair = (mask[:, :, None] & mask[:, None, :]) & np.triu(np.ones((cat.shape[1],) * 2, bool), 1)
    clash = (t["color"][col[:, :, None], col[:, None, :]] | t["season"][cat[:, :, None], cat[:, None, :]]) & pair
    chrom = (t["chromatic"][col] & mask).sum(1)
    return ~clash.any((1, 2)) & (chrom <= rules.max_chromatic) & (busy.sum(1) <= rules.max_busy)


def repairers(categories, colors, busy, mask, options: list, rules: StylistRules = DEFAULT_RULES) -> np.ndarray:
    """Which items could, changed alone, make each outfit good: the stylist's culprits.

    Parameters
    ----------
    categories, colors, busy, mask : arrays (M, N)
    options : list of N int arrays (M, K, 3) padded with -1
        What each position may become: (category, colour, busy) triples, e.g. every
        re-colouring of the item and every item of its slot.

    Returns
    -------
    bool array (M, N)
    """
    t = clash_tables(rules)
    cat, col, mask = np.asarray(categories), np.asarray(colors), np.asarray(mask, bool)
    busy = np.asarray(busy, bool) & mask
    cat, col = np.where(mask, cat, 0), np.where(mask, col, 0)
    M, N = cat.shape
    clash = (t["color"][col[:, :, None], col[:, None, :]] | t["season"][cat[:, :, None], cat[:, None, :]])
    clash &= mask[:, :, None] & mask[:, None, :]
    chrom = t["chromatic"][col] & mask
    out = np.zeros((M, N), bool)
    for i in range(N):
        others = mask.copy()
        others[:, i] = False
        rest = clash & others[:, :, None] & others[:, None, :]
        rest_ok = ~rest.any((1, 2))
        opt = np.asarray(options[i])
        valid = (opt[..., 0] >= 0) & mask[:, i, None]
        oc, ocol, ob = np.clip(opt[..., 0], 0, None), np.clip(opt[..., 1], 0, None), opt[..., 2] > 0
        # (M, K, N): the option clashes with a remaining item
        hit = (t["color"][ocol[:, :, None], col[:, None, :]] | t["season"][oc[:, :, None], cat[:, None, :]])
        hit &= others[:, None, :]
        n_chrom = (chrom & others).sum(1)[:, None] + t["chromatic"][ocol]
        n_busy = (busy & others).sum(1)[:, None] + ob
        ok = valid & ~hit.any(-1) & (n_chrom <= rules.max_chromatic) & (n_busy <= rules.max_busy)
        out[:, i] = rest_ok & ok.any(1)
    return out
