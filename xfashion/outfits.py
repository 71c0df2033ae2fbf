"""Outfits: templates, sampling of good and bad outfits, item-disjoint splits, batches."""
from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from .data import CATEGORIES, COLOR_NAMES, SLOTS, Catalog
from .rules import DEFAULT_RULES, GROUPS, StylistRules, blame, good_mask, violations
from .utils import size

MAX_ITEMS = 5
TEMPLATES = [
    ("top", "bottom", "shoes"), ("top", "bottom", "shoes", "bag"), ("top", "bottom", "shoes", "outer"),
    ("top", "bottom", "shoes", "bag", "outer"), ("dress", "shoes"), ("dress", "shoes", "bag"),
    ("dress", "shoes", "outer"), ("dress", "shoes", "bag", "outer"),
]


def check_outfit(catalog: Catalog, items) -> np.ndarray:
    """Validate an outfit (catalog item ids) and return it as an int array.

    Raises
    ------
    ValueError
        For an empty outfit, more than five items, an unknown item id, or two items of a
        slot the templates allow only once (e.g. two pairs of shoes).
    """
    items = np.asarray(items, dtype=np.int64).ravel()
    items = items[items >= 0] if items.size and (items == -1).any() else items
    if items.size == 0:
        raise ValueError("An outfit needs at least one item; got an empty outfit.")
    if items.size > MAX_ITEMS:
        raise ValueError(f"An outfit holds at most {MAX_ITEMS} items; got {items.size}.")
    if items.min() < 0 or items.max() >= len(catalog):
        raise ValueError(f"Unknown item id in {items.tolist()}; the catalog has ids 0-{len(catalog) - 1}.")
    slots = [SLOTS[s] for s in catalog.slot[items]]
    dup = [s for s, n in Counter(slots).items() if n > 1]
    if dup:
        raise ValueError(f"Outfit {items.tolist()} has more than one item in slot(s) {dup}; "
                         "each slot may appear once.")
    return items


def outfit_violations(catalog: Catalog, items, colors=None, rules: StylistRules = DEFAULT_RULES):
    """The oracle's violations for an outfit of catalog items (``colors`` overrides colours)."""
    items = check_outfit(catalog, items)
    colors = catalog.color[items] if colors is None else np.asarray(colors)
    return violations(catalog.category[items], colors, catalog.busy[items], rules)


def outfit_blame(catalog: Catalog, items, colors=None, rules: StylistRules = DEFAULT_RULES,
                 groups=GROUPS) -> np.ndarray:
    """The oracle's per-(item, group) blame, shape (n_items, len(groups)) (see :func:`rules.blame`)."""
    items = check_outfit(catalog, items)
    colors = catalog.color[items] if colors is None else np.asarray(colors)
    return blame(catalog.category[items], colors, catalog.busy[items], rules, groups)


@dataclass
class OutfitSet:
    """Outfits of one split: padded item ids (-1 = no item) and labels.

    ``label`` is what the scorer trains on (may carry label noise); ``oracle_label`` is
    the truth. ``rules`` lists, per outfit, the names of the rules it breaks.
    """

    name: str
    items: np.ndarray
    label: np.ndarray
    oracle_label: np.ndarray
    template: np.ndarray
    rules: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.label)

    @property
    def mask(self) -> np.ndarray:
        return self.items >= 0

    def outfit(self, i: int) -> np.ndarray:
        """Item ids of outfit ``i`` without padding."""
        return self.items[i][self.items[i] >= 0]

    def subset(self, index) -> "OutfitSet":
        index = np.asarray(index)
        return OutfitSet(self.name, self.items[index], self.label[index], self.oracle_label[index],
                         self.template[index], [self.rules[i] for i in index])

    def table(self, catalog: Catalog):
        """One row per outfit: size, label, broken rules and a readable description."""
        rows = []
        for i in range(len(self)):
            ids = self.outfit(i)
            desc = ", ".join(f"{COLOR_NAMES[catalog.color[j]]} {CATEGORIES[catalog.category[j]]}" for j in ids)
            rows.append({"size": len(ids), "label": int(self.label[i]), "good": bool(self.oracle_label[i]),
                         "rules": ",".join(self.rules[i]), "outfit": desc})
        return pd.DataFrame(rows)


def _pools(catalog: Catalog, split: str) -> dict:
    slots = catalog.slot
    return {s: np.flatnonzero((catalog.split == split) & (slots == SLOTS.index(s))) for s in SLOTS}


def _pad(ids) -> np.ndarray:
    out = np.full(MAX_ITEMS, -1, dtype=np.int64)
    out[: len(ids)] = ids
    return out


def sample_outfits(catalog: Catalog, split: str, n: int, *, seed: int = 0, rules: StylistRules = DEFAULT_RULES,
                   label_noise: float = 0.0, max_replaced: int = 2) -> OutfitSet:
    """Sample a balanced set of good and bad outfits from one split's items.

    Good outfits are drawn from the templates until the oracle accepts them. Each good
    outfit gets a negative the Polyvore way: 1 to ``max_replaced`` of its items are
    replaced by random items of the same slot, and the oracle labels the result; it is
    kept only if the oracle calls it bad.

    Parameters
    ----------
    catalog : Catalog
    split : {'train', 'val', 'test'}
    n : int
        Number of outfits (half good, half bad).
    seed : int
    rules : StylistRules
    label_noise : float
        Share of labels flipped (the oracle label stays in ``oracle_label``).
    max_replaced : int
        Most items replaced to make a negative.
    """
    if split not in ("train", "val", "test"):
        raise ValueError(f"Unknown split {split!r}; use 'train', 'val' or 'test'.")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer >= 2 (half good, half bad outfits); got {n!r}.")
    if not 0 <= label_noise <= 0.5:
        raise ValueError(f"label_noise is the share of flipped labels and must lie in [0, 0.5]; got {label_noise!r}.")
    if max_replaced < 1:
        raise ValueError(f"max_replaced must be at least 1; got {max_replaced!r}.")
    rng = np.random.default_rng(seed)
    pools = _pools(catalog, split)
    empty = sorted({s for t in TEMPLATES for s in t if len(pools[s]) == 0})
    if empty:
        raise ValueError(f"The {split} split has no item in slot(s) {empty}; the catalog is too small to fill "
                         "the outfit templates.")
    cat, col, busy = catalog.category, catalog.color, catalog.busy

    def broken(ids):
        return violations(cat[ids], col[ids], busy[ids], rules)

    rows, labels, templates, broken_rules = [], [], [], []
    n_good = n // 2
    # a stylist whose rules reject (almost) everything would otherwise make this loop spin forever
    budget, draws, pairs_tried = 200 * n + 10_000, 0, 0
    while len(rows) < 2 * n_good:
        draws += 1
        if draws > budget:
            raise ValueError(f"Could not sample {n_good} good outfits with a negative each from the {split} split "
                             f"in {budget} draws ({len(rows) // 2} found after {pairs_tried} good outfits): the "
                             "stylist rules accept (almost) no outfit or allow no bad one. Relax the rules.")
        t = rng.integers(len(TEMPLATES))
        ids = np.array([rng.choice(pools[s]) for s in TEMPLATES[t]])
        if broken(ids):
            continue
        pairs_tried += 1
        for _ in range(50):  # a negative for this good outfit
            k = rng.integers(1, min(max_replaced, len(ids)) + 1)
            neg = ids.copy()
            for pos in rng.choice(len(ids), k, replace=False):
                neg[pos] = rng.choice(pools[TEMPLATES[t][pos]])
            found = broken(neg)
            if found:
                rows += [_pad(ids), _pad(neg)]
                labels += [1.0, 0.0]
                templates += [t, t]
                broken_rules += [[], sorted({v.rule for v in found})]
                break
    items = np.stack(rows)
    oracle = np.array(labels)
    label = oracle.copy()
    if label_noise > 0:
        flip = rng.random(len(label)) < label_noise
        label[flip] = 1.0 - label[flip]
    return OutfitSet(split, items, label, oracle, np.array(templates), broken_rules)


def sample_good_outfits(catalog: Catalog, split: str, n: int, *, seed: int = 0, rules: StylistRules = DEFAULT_RULES,
                        min_items: int = 1) -> OutfitSet:
    """``n`` good outfits (by the oracle) of at least ``min_items`` items from one split's items, drawn in bulk.

    The swap test needs many more good outfits than the test split holds; they are cheap to draw.
    """
    rng = np.random.default_rng(seed)
    pools = _pools(catalog, split)
    templates = [k for k, t in enumerate(TEMPLATES) if len(t) >= min_items and all(len(pools[s]) for s in t)]
    if not templates:
        raise ValueError(f"No outfit template of {min_items}+ items can be filled from the {split} split.")
    found, total = [], 0
    for _ in range(200):
        t = rng.choice(templates, 4 * n)
        items = np.full((len(t), MAX_ITEMS), -1, dtype=np.int64)
        for k in templates:
            rows = np.flatnonzero(t == k)
            for pos, slot in enumerate(TEMPLATES[k]):
                items[rows, pos] = pools[slot][rng.integers(len(pools[slot]), size=len(rows))]
        mask = items >= 0
        it = np.where(mask, items, 0)
        good = good_mask(catalog.category[it], catalog.color[it], catalog.busy[it], mask, rules)
        found.append((items[good], t[good]))
        total += int(good.sum())
        if total >= n:
            break
    else:
        raise ValueError(f"The stylist accepts almost no outfit of the {split} split ({total} good of "
                         f"{200 * 4 * n} drawn); relax the rules.")
    items, t = np.concatenate([f[0] for f in found])[:n], np.concatenate([f[1] for f in found])[:n]
    ones = np.ones(len(items))
    return OutfitSet(split, items, ones, ones.copy(), t, [[] for _ in range(len(items))])


def make_splits(catalog: Catalog, sizes: dict | None = None, *, seed: int = 0,
                rules: StylistRules = DEFAULT_RULES, label_noise: float = 0.0) -> dict:
    """Train, val and test outfit sets (item-disjoint: each uses only its split's items)."""
    sizes = sizes or size("outfits")
    return {name: sample_outfits(catalog, name, n, seed=seed + k, rules=rules,
                                 label_noise=label_noise if name == "train" else 0.0)
            for k, (name, n) in enumerate(sizes.items())}


@dataclass
class OutfitBatch:
    """A padded batch of outfits.

    Attributes
    ----------
    features : dict of str -> Tensor, shape (B, N, D_g)
        One tensor per feature group; padded items are zero.
    slot : LongTensor, shape (B, N)
    mask : BoolTensor, shape (B, N)
        True for real items.
    label : Tensor, shape (B,)
    items : LongTensor, shape (B, N)
        Catalog ids, -1 for padding.
    """

    features: dict
    slot: torch.Tensor
    mask: torch.Tensor
    label: torch.Tensor
    items: torch.Tensor

    def __len__(self) -> int:
        return self.mask.shape[0]

    def with_features(self, features: dict) -> "OutfitBatch":
        """The same outfits with other feature tensors."""
        return dataclasses.replace(self, features=features)

    def to(self, device) -> "OutfitBatch":
        """The same outfits with every tensor on ``device`` (the batch itself when already there)."""
        if self.mask.device == torch.device(device):
            return self
        return dataclasses.replace(self, features={g: v.to(device) for g, v in self.features.items()},
                                   **{f: getattr(self, f).to(device) for f in ("slot", "mask", "label", "items")})

    def take(self, index) -> "OutfitBatch":
        """The outfits at ``index`` (a LongTensor of rows), every field indexed by name."""
        return dataclasses.replace(self, features={g: v[index] for g, v in self.features.items()},
                                   **{f: getattr(self, f)[index] for f in ("slot", "mask", "label", "items")})


def make_batch(catalog: Catalog, outfits: OutfitSet, index=None, features: dict | None = None,
               colors: np.ndarray | None = None) -> OutfitBatch:
    """Gather a padded batch of outfits.

    Parameters
    ----------
    catalog : Catalog
    outfits : OutfitSet
    index : array of int, optional
        Which outfits (default: all).
    features : dict of str -> Tensor (n_items, D_g), optional
        Per-item feature tables; without them the batch carries the rendered RGBA images
        under ``"image"``, shape (B, N, 4, 28, 28).
    colors : array (B, N), optional
        Colour overrides (-1 keeps the catalog colour); only for image batches.
    """
    index = np.arange(len(outfits)) if index is None else np.atleast_1d(np.asarray(index))
    if index.size == 0:
        raise ValueError("The batch would hold no outfit; pass at least one outfit index.")
    if not np.issubdtype(index.dtype, np.integer):
        raise ValueError(f"Outfit indices must be integers; got dtype {index.dtype}.")
    if index.min() < -len(outfits) or index.max() >= len(outfits):
        raise ValueError(f"Outfit index out of range: the {outfits.name} split has {len(outfits)} outfits "
                         f"(0-{len(outfits) - 1}); got {index.min()}..{index.max()}.")
    raw = outfits.items[index]
    bad = raw[(raw < -1) | (raw >= len(catalog))]
    if bad.size:
        raise ValueError(f"Outfits hold unknown item id(s) {sorted(set(bad.tolist()))[:5]}; catalog ids are "
                         f"0-{len(catalog) - 1} and -1 marks padding.")
    if ((raw >= 0).sum(1) == 0).any():
        raise ValueError("An outfit in the batch has no item (all padding); an outfit needs at least one item.")
    items = torch.from_numpy(raw)
    mask = items >= 0
    safe = items.clamp_min(0)
    if features is None:
        cols = catalog.color[safe.numpy()]
        if colors is not None:
            cols = np.where(np.asarray(colors) >= 0, colors, cols)
        images = catalog.render(safe.numpy(), cols) * mask[..., None, None, None]
        feats = {"image": images}
    else:
        for g, table in features.items():
            if not torch.is_tensor(table) or table.dim() != 2 or len(table) != len(catalog):
                raise ValueError(f"Feature table {g!r} must be a tensor (n_items={len(catalog)}, D); got "
                                 f"{tuple(table.shape) if torch.is_tensor(table) else type(table).__name__}.")
        feats = {g: table[safe] * mask[..., None] for g, table in features.items()}
    slot = torch.from_numpy(catalog.slot[safe.numpy()]) * mask
    label = torch.from_numpy(outfits.label[index]).float()
    return OutfitBatch(feats, slot, mask, label, items)


def rule_counts(outfits: OutfitSet) -> Counter:
    """How many outfits break each rule."""
    return Counter(r for rs in outfits.rules for r in rs)


def rule_examples(outfits: OutfitSet) -> dict:
    """One outfit index per rule (breaking that rule alone where possible), plus a good one."""
    found = {"good": int(np.flatnonzero(outfits.oracle_label > 0)[0])}
    for i, rs in enumerate(outfits.rules):
        if len(rs) == 1 and rs[0] not in found:
            found[rs[0]] = i
    for i, rs in enumerate(outfits.rules):
        for r in rs:
            found.setdefault(r, i)
    return found


__all__ = ["TEMPLATES", "MAX_ITEMS", "OutfitSet", "OutfitBatch", "sample_outfits", "make_splits",
           "check_outfit", "make_batch", "outfit_violations", "outfit_blame", "rule_counts", "GROUPS"]
