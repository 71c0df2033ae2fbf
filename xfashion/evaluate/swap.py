"""Swap-test cases for any dataset: model, outfit batch, re-featurise function, optional oracle (chapter 06).

Two protocols. The paper's: one random swap of each kind per good outfit, the swapped item is
the answer. The controlled one (the headline): candidate swaps are drawn until the stylist's
oracle names the swapped item as the *unique culprit*, the only item whose change alone (a
re-colouring or another item of its slot) repairs the outfit. Either way a case counts only if
the oracle calls the swapped outfit bad (when there is an oracle) and the model's score drops
by the margin.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import torch

from ..data import COLOR_NAMES, SLOTS
from ..groups import DEFAULT_GROUP_NAMES, FeatureGroups, default_group
from ..outfits import OutfitBatch, make_batch, sample_good_outfits
from ..rules import DEFAULT_RULES, GROUPS, StylistRules
from ..scorer import score
from ..utils import check_count, size
from .oracle import Oracle, fashion_oracle

# Fashion-MNIST swaps: one per feature group that declares how it is swapped (FeatureGroup.swap: the
# colour re-rendered, the shape replaced by another item of the slot in the same colour) plus the whole
# item. A swap kind names the group it changes; "item" changes every group. These are the default groups'.
SWAP_KINDS = FeatureGroups(tuple(default_group(name) for name in DEFAULT_GROUP_NAMES)).swap_kinds
PROTOCOLS = ("controlled", "paper")


@dataclass
class SwapCases:
    """Swapped outfits kept for the experiment, shared by every method.

    Parallel arrays over cases: the outfit after the swap (``items``, ``colors``), its
    ``batch`` of features, the swapped ``position``, the swap ``kind``, the model's score
    ``before`` and ``after``, the oracle's ``blame`` after the swap (C, MAX_ITEMS, G), its
    ``culprits`` (C, MAX_ITEMS: items whose change alone repairs the outfit), whether the case
    is ``unambiguous`` (the swapped item is the unique culprit), the starting ``outfit`` (a row of
    the batch the cases were built from) and its ``original`` item ids.
    """

    items: np.ndarray
    colors: np.ndarray
    batch: OutfitBatch
    position: np.ndarray
    kind: np.ndarray
    before: np.ndarray
    after: np.ndarray
    blame: torch.Tensor
    culprits: np.ndarray
    unambiguous: np.ndarray
    outfit: np.ndarray
    original: np.ndarray
    candidates: dict = field(default_factory=dict)
    margin: float = 0.0
    groups: list = field(default_factory=lambda: list(GROUPS))
    n_good: int = 0
    protocol: str = "paper"

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

    def examples(self) -> list:
        """The first case of each swap kind present, in the order kinds first appear."""
        kinds = list(dict.fromkeys(self.kind.tolist()))
        return [int(np.flatnonzero(self.kind == k)[0]) for k in kinds]

    def subset(self, keep) -> "SwapCases":
        """The cases at ``keep`` (positions or a boolean mask); per-case fields indexed by name, the rest kept."""
        keep = np.asarray(keep)
        n = np.flatnonzero(keep) if keep.dtype == bool else keep
        idx = torch.from_numpy(n)
        return dataclasses.replace(self, batch=self.batch.take(idx), blame=self.blame[idx],
                                   **{f: getattr(self, f)[n] for f in PER_CASE_ARRAYS})


# the numpy fields of SwapCases that hold one row per case (batch and blame are per-case tensors)
PER_CASE_ARRAYS = ("items", "colors", "position", "kind", "before", "after", "culprits", "unambiguous", "outfit",
                   "original")


def _swap(items, colors, position, new_item, new_color):
    items, colors = items.copy(), colors.copy()
    rows = np.arange(len(items))
    items[rows, position] = new_item
    colors[rows, position] = new_color
    return items, colors


def _draw(rng, propose, oracle, base_items, base_colors, start, kind, protocol, draws):
    """Per start outfit, the first drawn swap of ``kind`` that the protocol accepts: (rows, pos, new, color)."""
    pending = np.asarray(start)
    accepted = []
    for _ in range(draws if protocol == "controlled" else 1):
        if len(pending) == 0:
            break
        pos, new, col = (np.asarray(x) for x in propose(rng, pending, kind))
        ok = np.ones(len(pending), bool)
        if protocol == "controlled":
            items, cols = _swap(base_items[pending], base_colors[pending], pos, new, col)
            bad, culprits = oracle.judge(items, cols)
            ok = bad & culprits[np.arange(len(pending)), pos] & (culprits.sum(1) == 1)
        accepted.append((pending[ok], pos[ok], new[ok], col[ok]))
        pending = pending[~ok]
    if not accepted:
        return [np.zeros(0, np.int64)] * 4
    rows, pos, new, col = (np.concatenate(a) for a in zip(*accepted))
    order = np.argsort(rows, kind="stable")  # outfit order, whatever round accepted it
    return rows[order], pos[order], new[order], col[order]


def make_swap_cases(model, batch: OutfitBatch, propose, refeaturise, *, kinds, good, margin: float = 0.5,
                    seed: int = 0, n_outfits: int | None = None, oracle: Oracle | None = None, colors=None,
                    protocol: str = "paper", draws: int = 30, per_kind: int | None = None,
                    min_items: int = 1) -> SwapCases:
    """The swap test's cases for any dataset.

    Parameters
    ----------
    model : scorer
    batch : OutfitBatch
        The outfits to start from (their features, slots, masks and item ids).
    propose : callable ``(rng, rows, kind) -> (position, new_item, new_color)``
        Draws one swap of ``kind`` for each row of ``batch`` in ``rows`` (arrays; ``new_color``
        -1 when the dataset has no colour override).
    refeaturise : callable ``(rows) -> {group: Tensor (C, D)}``
        Features of the swapped-in item for every ``(outfit, kind, position, new_item, new_color)``.
    kinds : sequence of str
        Swap kinds; a kind named like a feature group changes that group, ``item`` changes all.
    good : bool array (len(batch),)
        Outfits that are good by the truth (the oracle's label, or the dataset's).
    margin : float
        Keep a swap only if the logit drops by at least this much.
    n_outfits : int, optional
        Start from the first ``n_outfits`` good outfits that the model also scores as good.
    oracle : Oracle, optional
        The ground truth; without it no case is unambiguous and the controlled protocol is unavailable.
    colors : int array (len(batch), N), optional
        The outfits' colours (for the oracle and rendering); -1 where unknown.
    protocol : {'paper', 'controlled'}
        ``paper``: one random swap per outfit and kind. ``controlled``: up to ``draws`` swaps
        per outfit and kind, keeping the first whose swapped item is the unique culprit.
    per_kind : int, optional
        Keep at most this many cases of each kind (the first ones, in outfit order).
    min_items : int
        Start only from outfits with at least this many items.
    """
    check_count(n_outfits, "n_outfits", allow_none=True)
    check_count(per_kind, "per_kind", allow_none=True)
    check_count(draws, "draws")
    check_margin(margin)
    if protocol not in PROTOCOLS:
        raise ValueError(f"Unknown protocol {protocol!r}; choose from {list(PROTOCOLS)}.")
    if protocol == "controlled" and oracle is None:
        raise ValueError("The controlled protocol needs an oracle to name the culprit; use protocol='paper'.")
    groups = list(model.groups.names)
    rng = np.random.default_rng(seed)
    logits = score(model, batch).numpy()
    base_items = batch.items.numpy()
    start = np.flatnonzero(np.asarray(good) & (logits > 0) & ((base_items >= 0).sum(1) >= min_items))
    if n_outfits is not None:
        start = start[:n_outfits]
    base_colors = np.full(base_items.shape, -1) if colors is None else np.asarray(colors)
    parts, stats = [], {k: {"candidates": 0, "proposed": 0, "kept": 0} for k in kinds}
    # outfits go in blocks, so drawing, rendering and scoring stop once every kind has its cases
    for b0 in range(0, len(start), BLOCK):
        block = start[b0:b0 + BLOCK]
        for kind in kinds:
            if per_kind is not None and stats[kind]["kept"] >= per_kind:
                continue
            rows, pos, new, col = _draw(rng, propose, oracle, base_items, base_colors, block, kind, protocol, draws)
            part = _materialise(model, batch, refeaturise, oracle, groups, logits, base_items, base_colors, kind,
                                rows, pos, new, col, margin)
            stats[kind]["candidates"] += len(block)
            stats[kind]["proposed"] += len(rows)
            stats[kind]["kept"] += int(part["keep"].sum())
            parts.append(part)
        if per_kind is not None and all(v["kept"] >= per_kind for v in stats.values()):
            break
    n_used = min(len(start), b0 + BLOCK) if len(start) else 0
    cases = _assemble(parts, batch, groups, kinds, per_kind, oracle, margin, protocol, n_used)
    cases.candidates = {k: {**v, "kept": int((cases.kind == k).sum())} for k, v in stats.items()}
    return cases


BLOCK = 250  # good outfits per block of the case search


def _materialise(model, batch, refeaturise, oracle, groups, logits, base_items, base_colors, kind, rows, pos, new,
                 col, margin) -> dict:
    """Swapped outfits for accepted draws: features, scores before and after, the oracle's verdict, kept or not."""
    C = len(rows)
    items, cols = _swap(base_items[rows], base_colors[rows], pos, new, col)
    idx = torch.from_numpy(rows.astype(np.int64))
    feats = {g: v[idx].clone() for g, v in batch.features.items() if g in groups}
    kinds = np.full(C, kind, dtype=object).astype(str)
    if C:
        fresh = refeaturise(list(zip(rows, kinds, pos, new, col)))
        for g in feats:
            feats[g][torch.arange(C), torch.from_numpy(pos.astype(np.int64))] = fresh[g]
    swapped = OutfitBatch(feats, batch.slot[idx], batch.mask[idx], batch.label[idx], torch.from_numpy(items))
    before = logits[rows]
    after = score(model, swapped).numpy() if C else np.zeros(0, np.float32)
    keep = (before - after) >= margin
    culprits = np.zeros(items.shape, bool)
    if oracle is not None and C:
        bad, culprits = oracle.judge(items, cols)
        keep &= bad
    return {"items": items, "colors": cols, "batch": swapped, "position": pos.astype(np.int64), "kind": kinds,
            "before": before, "after": after, "culprits": culprits, "outfit": rows.astype(np.int64),
            "original": base_items[rows],
            "keep": keep}


def _assemble(parts, batch, groups, kinds, per_kind, oracle, margin, protocol, n_used) -> SwapCases:
    """Kept cases of every part, at most ``per_kind`` of each kind, grouped by kind in outfit order."""
    picked = []
    for k in kinds:
        mine = [p for p in parts if len(p["kind"]) and p["kind"][0] == k]
        taken = 0
        for p in mine:
            sel = np.flatnonzero(p["keep"])
            if per_kind is not None:
                sel = sel[: max(0, per_kind - taken)]
            taken += len(sel)
            picked.append((p, sel))
    N = batch.items.shape[1]

    def cat(key, empty):
        vals = [p[key][sel] for p, sel in picked]
        return np.concatenate(vals) if vals else empty
    items = cat("items", np.zeros((0, N), np.int64))
    cols = cat("colors", np.zeros((0, N), np.int64))
    position = cat("position", np.zeros(0, np.int64))
    culprits = cat("culprits", np.zeros((0, N), bool))
    bt = [(p["batch"], torch.from_numpy(sel)) for p, sel in picked]
    features = {g: torch.cat([b.features[g][s] for b, s in bt]) if bt else batch.features[g][:0] for g in groups}
    swapped = OutfitBatch(features, *(torch.cat([getattr(b, a)[s] for b, s in bt]) if bt else getattr(batch, a)[:0]
                                      for a in ("slot", "mask", "label", "items")))
    C = len(position)
    blame = torch.zeros(C, N, len(groups))
    if oracle is not None:
        for c in range(C):
            n = int(swapped.mask[c].sum())
            blame[c, :n] = torch.as_tensor(oracle.blame(items[c, :n], cols[c, :n]), dtype=blame.dtype)
    unambiguous = culprits[np.arange(C), position] & (culprits.sum(1) == 1) if C else np.zeros(0, bool)
    return SwapCases(items, cols, swapped, position, cat("kind", np.zeros(0, str)), cat("before", np.zeros(0)),
                     cat("after", np.zeros(0)), blame, culprits, unambiguous, cat("outfit", np.zeros(0, np.int64)),
                     cat("original", np.zeros((0, N), np.int64)), {}, margin, groups, n_good=n_used, protocol=protocol)


def default_sizes(protocol: str) -> dict:
    """Good outfits to draw and cases to keep per kind (smaller in small-data mode)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"Unknown protocol {protocol!r}; choose from {list(PROTOCOLS)}.")
    return dict(size(f"swap_{protocol}"))


def build_swap_cases(wb, *, protocol: str = "controlled", n_outfits: int | None = None, per_kind: int | None = None,
                     draws: int = 30, margin: float = 0.5, seed: int = 0, split: str = "test",
                     rules: StylistRules = DEFAULT_RULES, model=None) -> SwapCases:
    """Fashion-MNIST's swap cases (see :func:`make_swap_cases`) in good outfits drawn from ``split``'s items.

    One swap kind per feature group of the model that declares a swap (``FeatureGroup.swap``), plus
    ``item``: a ``recolour`` group's swap renders the same item in another palette colour (the colour
    group's), a ``reshape`` group's puts another item of the same slot in the original colour (the
    shape-texture group's); the item swap, another item of the same slot in its own colour. Swapped
    items' features are recomputed from pixels, for every feature group of the model; the oracle
    (``rules``) judges the swapped outfit.
    Good outfits of 3+ items are drawn from the split's items (``n_outfits`` of them, by the
    oracle; seeded by ``seed``); ``model`` defaults to ``wb.model``.
    """
    catalog, model = wb.catalog, model or wb.model
    wb.outfits(split)  # a clear error on an unknown split
    sizes = default_sizes(protocol)
    n_outfits = sizes["n_outfits"] if n_outfits is None else n_outfits
    per_kind = sizes["per_kind"] if per_kind is None else per_kind
    check_count(n_outfits, "n_outfits")
    outfits = sample_good_outfits(catalog, split, n_outfits, seed=seed, rules=rules, min_items=3)
    pools = {s: np.flatnonzero((catalog.split == split) & (catalog.slot == s)) for s in range(len(SLOTS))}
    base = outfits.items

    groups = model.groups
    edits = {g.name: g.swap for g in groups.groups if g.swap}  # what each swap kind does to the item

    def propose(rng, rows, kind):
        ids = base[rows]
        pos = (rng.random(len(rows)) * (ids >= 0).sum(1)).astype(np.int64)
        old = ids[np.arange(len(rows)), pos]
        if edits.get(kind) == "recolour":
            shift = rng.integers(1, len(COLOR_NAMES), len(rows))
            return pos, old, (catalog.color[old] + shift) % len(COLOR_NAMES)
        new = np.empty_like(old)
        for s in np.unique(catalog.slot[old]):
            sel, pool = catalog.slot[old] == s, pools[s]
            cand = pool[rng.integers(len(pool) - 1, size=int(sel.sum()))]
            new[sel] = np.where(cand == old[sel], pool[-1], cand)  # uniform over the slot without the old item
        return pos, new, catalog.color[old] if edits.get(kind) == "reshape" else catalog.color[new]

    def refeaturise(rows):
        with torch.no_grad():
            return wb.feats.extractor(catalog.render(np.array([r[3] for r in rows]), np.array([r[4] for r in rows])))

    batch = make_batch(catalog, outfits, features=wb.feats.tables)
    cases = make_swap_cases(model, batch, propose, refeaturise, kinds=groups.swap_kinds,
                            good=np.ones(len(outfits), bool), margin=margin, seed=seed,
                            oracle=fashion_oracle(catalog, split, rules, groups.names),
                            colors=np.where(base >= 0, catalog.color[np.maximum(base, 0)], -1), protocol=protocol,
                            draws=draws, per_kind=per_kind, min_items=3)
    if cases.n_good == 0:
        raise ValueError(f"No outfit drawn from the {split} split is scored good (logit > 0) by the model, so "
                         "there is nothing to swap. Check that the scorer is trained.")
    return cases


def check_margin(margin) -> None:
    """Raise a ValueError unless ``margin`` is a finite logit drop >= 0."""
    if isinstance(margin, bool) or not isinstance(margin, (int, float, np.floating)) or not math.isfinite(margin) \
            or margin < 0:
        raise ValueError(f"margin is the least logit drop for a kept swap and must be a finite number >= 0; "
                         f"got {margin!r}.")
