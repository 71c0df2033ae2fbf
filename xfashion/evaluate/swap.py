"""Swap-test cases for any dataset: model, outfit batch, re-featurise function, optional oracle (chapter 06)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from ..data import COLOR_NAMES, SLOTS
from ..explain import Attribution
from ..features import COLOR_GROUP, SHAPE_GROUP
from ..outfits import OutfitBatch, outfit_blame
from ..rules import DEFAULT_RULES, GROUPS, StylistRules
from ..scorer import score

# Fashion-MNIST swaps: one per default feature group (re-colour; another item of the slot in the same
# colour) plus the whole item. A swap kind names the group it changes; "item" changes every group.
SWAP_KINDS = (COLOR_GROUP, SHAPE_GROUP, "item")


@dataclass
class SwapCases:
    """Swapped outfits kept for the experiment, shared by every method.

    Parallel arrays over cases: the outfit after the swap (``items``, ``colors``), its
    ``batch`` of features, the swapped ``position``, the swap ``kind``, the model's score
    ``before`` and ``after``, the oracle's ``blame`` after the swap (C, MAX_ITEMS, G) and whether
    the case is ``unambiguous`` (the oracle blames the swapped item strictly most).
    """

    items: np.ndarray
    colors: np.ndarray
    batch: OutfitBatch
    position: np.ndarray
    kind: np.ndarray
    before: np.ndarray
    after: np.ndarray
    blame: torch.Tensor
    unambiguous: np.ndarray
    outfit: np.ndarray
    candidates: dict = field(default_factory=dict)
    margin: float = 0.0
    groups: list = field(default_factory=lambda: list(GROUPS))
    n_good: int = 0

    def __len__(self) -> int:
        return len(self.position)

    @property
    def drop(self) -> np.ndarray:
        return self.before - self.after

    @property
    def size(self) -> np.ndarray:
        return self.batch.mask.sum(1).numpy()

    def slot_name(self, catalog) -> np.ndarray:
        return np.array(SLOTS)[catalog.slot[self.items[np.arange(len(self)), self.position]]]

    def subset(self, keep) -> "SwapCases":
        keep = np.asarray(keep)
        idx = torch.from_numpy(np.flatnonzero(keep) if keep.dtype == bool else keep)
        b = self.batch
        batch = OutfitBatch({g: v[idx] for g, v in b.features.items()}, b.slot[idx], b.mask[idx], b.label[idx],
                            b.items[idx])
        n = idx.numpy()
        return SwapCases(self.items[n], self.colors[n], batch, self.position[n], self.kind[n], self.before[n],
                         self.after[n], self.blame[idx], self.unambiguous[n], self.outfit[n], self.candidates,
                         self.margin, self.groups, self.n_good)


def make_swap_cases(model, batch: OutfitBatch, propose, refeaturise, *, kinds, good, margin: float = 0.5,
                    seed: int = 0, n_outfits: int | None = None, oracle=None, colors=None) -> SwapCases:
    """The swap test's cases for any dataset: one swap of each kind in good outfits, kept when the score drops.

    Parameters
    ----------
    model : scorer
    batch : OutfitBatch
        The outfits to start from (their features, slots, masks and item ids).
    propose : callable ``(rng, outfit, kind) -> (position, new_item, new_colour)``
        Draws one swap of ``kind`` for row ``outfit`` of ``batch`` (``new_colour`` -1 when the
        dataset has no colour override).
    refeaturise : callable ``(rows) -> {group: Tensor (C, D)}``
        Features of the swapped-in item for every row ``(outfit, kind, position, new_item, new_colour)``.
    kinds : sequence of str
        Swap kinds; a kind named like a feature group changes that group, ``item`` changes all.
    good : bool array (len(batch),)
        Outfits that are good by the truth (the oracle's label, or the dataset's).
    margin : float
        Keep a swap only if the logit drops by at least this much.
    n_outfits : int, optional
        Start from the first ``n_outfits`` good outfits that the model also scores as good.
    oracle : callable ``(items, colors) -> blame (n_items, G)``, optional
        The ground truth after the swap; without it, blame is zero and no case is unambiguous.
    colors : int array (len(batch), N), optional
        The outfits' colours (for rendering); -1 where unknown.
    """
    check_n(n_outfits, "n_outfits", allow_none=True)
    check_margin(margin)
    groups = list(model.groups.names)
    rng = np.random.default_rng(seed)
    logits = score(model, batch).numpy()
    start = np.flatnonzero(np.asarray(good) & (logits > 0))
    if n_outfits is not None:
        start = start[:n_outfits]
    base_items = batch.items.numpy()
    base_colors = np.full(base_items.shape, -1) if colors is None else np.asarray(colors)
    rows = [(o, kind, *propose(rng, o, kind)) for o in start for kind in kinds]
    C, N = len(rows), base_items.shape[1]
    outfit = np.array([r[0] for r in rows], dtype=np.int64)
    position = np.array([r[2] for r in rows], dtype=np.int64)
    kind = np.array([r[1] for r in rows], dtype=str)
    items, cols = base_items[outfit].copy(), base_colors[outfit].copy()
    items[np.arange(C), position] = [r[3] for r in rows]
    cols[np.arange(C), position] = [r[4] for r in rows]
    idx = torch.from_numpy(outfit)
    feats = {g: v[idx].clone() for g, v in batch.features.items() if g in groups}
    if C:
        fresh = refeaturise(rows)
        for g in feats:
            feats[g][torch.arange(C), torch.from_numpy(position)] = fresh[g]
    swapped = OutfitBatch(feats, batch.slot[idx], batch.mask[idx], batch.label[idx], torch.from_numpy(items))
    before = logits[outfit]
    after = score(model, swapped).numpy() if C else np.zeros(0)
    keep = (before - after) >= margin
    candidates = {k: {"candidates": int((kind == k).sum()), "kept": int((keep & (kind == k)).sum())} for k in kinds}
    blame = torch.zeros(C, N, len(groups))
    if oracle is not None:
        for c in np.flatnonzero(keep):
            n = int(swapped.mask[c].sum())
            blame[c, :n] = torch.as_tensor(oracle(items[c, :n], cols[c, :n]), dtype=blame.dtype)
    item_blame = blame.sum(-1)
    top = item_blame[torch.arange(C), torch.from_numpy(position)]
    others = item_blame.clone()
    others[torch.arange(C), torch.from_numpy(position)] = -1
    unambiguous = ((top > 0) & (top > others.amax(1))).numpy() if C else np.zeros(0, bool)
    cases = SwapCases(items, cols, swapped, position, kind, before, after, blame, unambiguous, outfit, candidates,
                      margin, groups, n_good=len(start))
    return cases.subset(keep)


def build_swap_cases(wb, *, n_outfits: int | None = None, margin: float = 0.5, seed: int = 0,
                     split: str = "test", rules: StylistRules = DEFAULT_RULES) -> SwapCases:
    """Fashion-MNIST's swaps (see :func:`make_swap_cases`) in good test outfits, with the oracle's truth.

    Starts from outfits that the oracle calls good and the model scores as good (logit > 0).
    Colour swap: the same item re-rendered in another palette colour. Shape-texture swap:
    another item of the same slot rendered in the original colour. Item swap: another item
    of the same slot in its own colour. Swapped items' features are recomputed from pixels,
    for every feature group of the model; the oracle (``rules``) blames the swapped outfit.
    """
    catalog, outfits = wb.catalog, wb.outfits(split)
    groups = list(wb.feats.groups.names)

    def propose(rng, o, kind):
        ids = outfits.outfit(o)
        p = int(rng.integers(len(ids)))
        if kind == COLOR_GROUP:
            color = catalog.color[ids[p]]
            return p, ids[p], rng.choice([k for k in range(len(COLOR_NAMES)) if k != color])
        pool = np.flatnonzero((catalog.split == split) & (catalog.slot == catalog.slot[ids[p]]))
        new = rng.choice(pool[pool != ids[p]])
        return p, new, catalog.color[ids[p]] if kind == SHAPE_GROUP else catalog.color[new]

    def refeaturise(rows):
        with torch.no_grad():
            return wb.feats.extractor(catalog.render(np.array([r[3] for r in rows]), np.array([r[4] for r in rows])))

    def oracle(items, colors):
        return outfit_blame(catalog, items, colors, rules, groups)

    items = outfits.items
    cases = make_swap_cases(wb.model, wb.batch(np.arange(len(outfits)), split), propose, refeaturise,
                            kinds=SWAP_KINDS, good=outfits.oracle_label > 0, margin=margin, seed=seed,
                            n_outfits=n_outfits, oracle=oracle, colors=np.where(items >= 0, catalog.color[items], -1))
    if cases.n_good == 0:
        raise ValueError(f"No outfit of the {split} split is good by the oracle and scored good (logit > 0) by "
                         "the model, so there is nothing to swap. Check that the scorer is trained.")
    return cases


def check_n(n, name: str, allow_none: bool = False, most: int | None = None) -> None:
    """Raise a ValueError unless ``n`` is a positive integer (at most ``most``; None when allowed)."""
    if n is None and allow_none:
        return
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name} must be a positive integer; got {n!r}.")
    if most is not None and n > most:
        raise ValueError(f"{name} is {n}, but only {most} are available; pass at most {most}.")


def check_margin(margin) -> None:
    """Raise a ValueError unless ``margin`` is a finite logit drop >= 0."""
    if isinstance(margin, bool) or not isinstance(margin, (int, float, np.floating)) or not math.isfinite(margin) \
            or margin < 0:
        raise ValueError(f"margin is the least logit drop for a kept swap and must be a finite number >= 0; "
                         f"got {margin!r}.")


def oracle_attribution(cases: SwapCases) -> Attribution:
    """The oracle's own blame used as an explanation (the ceiling): more blame, lower value."""
    return Attribution(-cases.blame, cases.batch.mask, "oracle", list(cases.groups))
