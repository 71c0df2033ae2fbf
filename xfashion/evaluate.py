"""Evaluating explanations: agreement with the oracle and between methods, and cost."""
from __future__ import annotations

import copy
import dataclasses
import math
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from .data import COLOR_NAMES, SLOTS
from .explain import Attribution, attribute, explain_code, get_method, with_images
from .explain import methods as registered_methods
from .features import COLOR_GROUP, SHAPE_GROUP, catalog_key
from .outfits import MAX_ITEMS, OutfitBatch, outfit_blame
from .rules import DEFAULT_RULES, GROUPS, StylistRules, violations
from .scorer import score
from .utils import Cache, from_plain, seeded, to_plain

PIXEL_CHUNK = 32  # outfits per call for pixel methods, which hold every item's CNN activations


def explain_all(wb, index, methods=None, split: str = "test", chunk: int = 64, progress: bool = True,
                options: dict | None = None) -> dict:
    """Run several methods (default: every registered one) on the same outfits; returns ``{method: Attribution}``.

    Outfits go through in chunks; ``options`` maps a method to extra keyword options.
    """
    index = np.atleast_1d(index)
    out = {}
    for m in tqdm(list(methods or registered_methods()), desc="methods", disable=not progress):
        t = get_method(m).traits
        step = min(chunk, PIXEL_CHUNK) if t.needs_images else chunk
        parts = [attribute(wb.model, wb.batch(index[i:i + step], split, images=t.needs_images), m,
                           **wb.options(), **(options or {}).get(m, {})) for i in range(0, len(index), step)]
        out[t.name] = concat_attributions(parts)
    return out


def concat_attributions(parts: list) -> Attribution:
    """One Attribution from chunks of the same method (values and masks stacked, time added).

    Passes per outfit are averaged over chunks weighted by their outfits; method extras are dropped.
    """
    first = parts[0]
    sizes = np.array([len(p.values) for p in parts], dtype=float)

    def mean(attr):
        return float(np.dot([getattr(p, attr) for p in parts], sizes) / sizes.sum())

    return Attribution(torch.cat([p.values for p in parts]), torch.cat([p.mask for p in parts]), first.method,
                       first.groups, mean("forward_passes"), mean("backward_passes"), sum(p.seconds for p in parts),
                       first.item_level)


def oracle_blame_tensor(catalog, outfits, index, groups=GROUPS, rules: StylistRules = DEFAULT_RULES) -> torch.Tensor:
    """The oracle's per-(item, group) blame for outfits ``index``, padded to (B, MAX_ITEMS, len(groups))."""
    out = torch.zeros(len(index), MAX_ITEMS, len(groups))
    for k, i in enumerate(index):
        bl = outfit_blame(catalog, outfits.outfit(i), rules=rules, groups=groups)
        out[k, : len(bl)] = torch.from_numpy(bl)
    return out


def oracle_agreement(attributions: dict, blame: torch.Tensor) -> pd.DataFrame:
    """How often each method's culprit is one the oracle blames (bad outfits only).

    ``item hit``: the culprit item carries oracle blame; ``pair hit``: the lowest (item, group)
    carries blame in that group (not defined for item-level methods).
    """
    rows = {}
    blamed_item = blame.sum(-1) > 0
    for name, a in attributions.items():
        ar = torch.arange(len(blame))
        item = a.culprit_item()
        pi, pg = a.culprit()
        rows[name] = {"item hit ↑": float(blamed_item[ar, item].float().mean()),
                      "pair hit ↑": np.nan if a.item_level else float((blame[ar, pi, pg] > 0).float().mean())}
    return pd.DataFrame(rows).T.round(3)


def method_agreement(attributions: dict) -> pd.DataFrame:
    """Mean Spearman rank correlation between methods over the real (item, group) pairs of each outfit."""
    names = list(attributions)
    mask = next(iter(attributions.values())).mask
    ranks = {}
    for n in names:
        v = attributions[n].values.masked_fill(~mask[..., None], float("nan")).flatten(1).numpy()
        ranks[n] = pd.DataFrame(v).rank(axis=1).to_numpy()
    out = np.zeros((len(names), len(names)))
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            ra, rb = ranks[a], ranks[b]
            ok = ~np.isnan(ra)
            ra_c = np.where(ok, ra - np.nanmean(ra, 1, keepdims=True), 0)
            rb_c = np.where(ok, rb - np.nanmean(rb, 1, keepdims=True), 0)
            den = np.sqrt((ra_c ** 2).sum(1) * (rb_c ** 2).sum(1))
            corr = np.where(den > 0, (ra_c * rb_c).sum(1) / np.where(den > 0, den, 1), np.nan)
            out[i, j] = np.nanmean(corr)
    return pd.DataFrame(out, index=names, columns=names).round(3)


def cost_table(attributions: dict) -> pd.DataFrame:
    """Passes and milliseconds per outfit for each method (lower is better)."""
    rows = {n: {"forward passes ↓": a.forward_passes, "backward passes ↓": a.backward_passes,
                "ms per outfit ↓": a.ms_per_outfit} for n, a in attributions.items()}
    return pd.DataFrame(rows).T.round(3)


# ----------------------------------------------------------------------------- swap evaluation (chapter 06)



# Fashion-MNIST swaps: one per default feature group (re-colour; another item of the slot in the same
# colour) plus the whole item. A swap kind names the group it changes; "item" changes every group.
SWAP_KINDS = (COLOR_GROUP, SHAPE_GROUP, "item")
# metric name -> direction (Quantus-style score_direction), shown as arrows in tables
METRIC_DIRECTION = {"item_top1": "higher", "pair_top1": "higher", "mrr": "higher", "deletion_auc": "higher",
                    "ms_per_outfit": "lower", "forward_passes": "lower", "backward_passes": "lower"}


def arrow(metric: str) -> str:
    """The metric's name with ↑ (higher is better) or ↓ (lower is better)."""
    return f"{metric} {'↑' if METRIC_DIRECTION.get(metric, 'higher') == 'higher' else '↓'}"


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


def _tie_aware(values: torch.Tensor, mask: torch.Tensor, target_flat: torch.Tensor):
    """Top-1 credit (1/k when k entries tie at the minimum) and reciprocal rank (ties averaged)."""
    v = values.masked_fill(~mask, math.inf)
    tv = v.gather(1, target_flat[:, None])
    lower = (v < tv).sum(1).float()
    ties = (v == tv).sum(1).float()  # includes the target itself
    top1 = torch.where(lower == 0, 1.0 / ties, torch.zeros_like(ties))
    rank = 1 + lower + (ties - 1) / 2
    return top1, 1.0 / rank




def detection_scores(attr: Attribution, cases: SwapCases) -> pd.DataFrame:
    """Per-case detection: item top-1, (item, group) top-1 and reciprocal rank of the swapped item."""
    pos = torch.from_numpy(cases.position)
    item_top1, rr = _tie_aware(attr.values.sum(-1), attr.mask, pos)
    G = attr.values.shape[-1]
    # a swap kind names the group it changes; "item" (or a group the method does not score) has no pair answer
    group = torch.tensor([attr.groups.index(k) if k in attr.groups else 0 for k in cases.kind])
    pair_vals = attr.values.flatten(1)
    pair_mask = attr.mask[..., None].expand_as(attr.values).flatten(1)
    pair_top1, _ = _tie_aware(pair_vals, pair_mask, pos * G + group)
    pair_top1 = pair_top1.numpy().astype(float)
    pair_top1[~np.isin(cases.kind, list(attr.groups))] = np.nan
    if attr.item_level:
        pair_top1[:] = np.nan
    return pd.DataFrame({"item_top1": item_top1.numpy(), "pair_top1": pair_top1, "rr": rr.numpy()})


def oracle_attribution(cases: SwapCases) -> Attribution:
    """The oracle's own blame used as an explanation (the ceiling): more blame, lower value."""
    return Attribution(-cases.blame, cases.batch.mask, "oracle", list(cases.groups))


def random_expected(cases: SwapCases) -> dict:
    """Analytic item top-1 and MRR of a uniformly random ranking: mean of 1/n and H_n/n."""
    n = cases.size
    harmonic = np.array([sum(1 / k for k in range(1, m + 1)) for m in n])
    pair = n[np.isin(cases.kind, list(cases.groups))] * len(cases.groups)
    return {"item_top1": float((1 / n).mean()), "mrr": float((harmonic / n).mean()),
            "pair_top1": float((1 / pair).mean()) if len(pair) else float("nan")}


def bootstrap_ci(values, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> tuple:
    """Percentile bootstrap interval of the mean (NaNs dropped)."""
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), (n_boot, len(v)))].mean(1)
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def deletion_curve(model, attr: Attribution, batch: OutfitBatch, means: dict, steps: int = 10) -> np.ndarray:
    """Mean score after replacing the k most negative (item, group) pairs by dataset means, k = 0..steps.

    If a method blames what really lowers the score, removing it first raises the score fast.
    """
    groups = attr.groups
    order = attr.pair_values().flatten(1).argsort(1)  # most negative first, padding last
    n_real = (attr.mask.sum(1) * len(groups))
    feats = {g: batch.features[g].clone() for g in groups}
    curve = []
    G = len(groups)
    with torch.no_grad():
        for k in range(steps + 1):
            if k:
                flat = order[:, k - 1]
                ok = (k - 1) < n_real
                b = torch.nonzero(ok).flatten()
                item, gi = flat[b] // G, flat[b] % G
                for g_idx, g in enumerate(groups):
                    sel = gi == g_idx
                    feats[g][b[sel], item[sel]] = means[g].to(feats[g].dtype)
            curve.append(model({**batch.features, **feats}, batch.slot, batch.mask).mean().item())
    return np.array(curve)


def randomised_copy(model, seed: int = 0):
    """The same architecture with freshly initialised weights (model-parameter randomisation test)."""
    clone = copy.deepcopy(model)
    with seeded(seed):
        for m in clone.modules():
            if hasattr(m, "reset_parameters") and m is not clone:
                m.reset_parameters()
    return clone.eval()


@dataclass
class SwapReport:
    """Everything the swap evaluation measured."""

    cases: SwapCases
    per_case: pd.DataFrame
    summary: pd.DataFrame
    deletion: pd.DataFrame
    sanity: pd.DataFrame
    cost: pd.DataFrame
    random_expected: dict
    config: dict
    seconds: float
    cached: bool = False


def run_swap_evaluation(wb, methods=None, *, n_outfits: int | None = 500, margin: float = 0.5,
                        rules: StylistRules = DEFAULT_RULES,
                        seed: int = 0, sanity_cases: int = 150, max_cases: dict | None = None,
                        progress: bool = True, options: dict | None = None, use_cache: bool = True) -> SwapReport:
    """The paper's swap experiment with ground truth, faithfulness, sanity check and cost.

    Parameters
    ----------
    wb : Workbench
    methods : sequence of str, optional
        Attribution methods (default: every registered one); the oracle ceiling is always added.
    n_outfits : int, optional
        Good test outfits to start from (each gets one swap of each kind); None uses all.
    margin : float
        Keep a swap only if the logit drops by at least this much.
    sanity_cases : int
        Cases re-explained on a scorer with randomised weights.
    rules : StylistRules
        The stylist whose oracle labels and blames the swapped outfits.
    max_cases : dict, optional
        Per-method cap on cases, overriding each method's declared ``traits.max_cases``.
    use_cache : bool
        Reuse a report cached under the same configuration and model.
    """
    check_n(n_outfits, "n_outfits", allow_none=True)
    check_margin(margin)
    check_n(sanity_cases, "sanity_cases")
    methods = [get_method(m).traits.name for m in (methods or registered_methods())]  # aliases resolved
    max_cases = {**{m: get_method(m).traits.max_cases for m in methods if get_method(m).traits.max_cases},
                 **(max_cases or {})}
    options = dict(options or {})
    config = {"n_outfits": n_outfits, "margin": margin, "seed": seed, "methods": list(methods),
              "rules": dataclasses.asdict(rules),
              "sanity_cases": sanity_cases, "max_cases": max_cases, "options": options}
    # keyed by the model's weights and the data it is evaluated on, not by a name
    cache = Cache("swap", config, inputs=[wb.model, catalog_key(wb.catalog), wb.splits["test"].items,
                                          wb.splits["test"].oracle_label, wb.feats.tables, wb.feats.extractor,
                                          wb.means, wb.references],
                  code=[sys.modules[__name__], *explain_code(), *[get_method(m) for m in methods],
                        sys.modules[score.__module__],
                        sys.modules[outfit_blame.__module__], sys.modules[violations.__module__]])
    saved = cache.load() if use_cache else None
    if saved is not None:
        return _report_from_plain(saved)
    start = time.perf_counter()
    cases = build_swap_cases(wb, n_outfits=n_outfits, margin=margin, seed=seed, rules=rules)
    if len(cases) == 0:
        raise ValueError(f"No swap lowered the score by {margin}; lower the margin.")
    catalog = wb.catalog
    meta = pd.DataFrame({"case": np.arange(len(cases)), "kind": cases.kind, "slot": cases.slot_name(catalog),
                         "size": cases.size, "unambiguous": cases.unambiguous, "drop": cases.drop})
    frames, deletion, cost, sanity = [], {}, {}, {}
    rand_model = randomised_copy(wb.model, seed)
    sane = cases.subset(np.arange(min(sanity_cases, len(cases))))
    all_methods = list(methods) + ["oracle"]
    for m in tqdm(all_methods, desc="swap evaluation", disable=not progress):
        sub = cases.subset(np.arange(min(max_cases.get(m, len(cases)), len(cases))))
        if m == "oracle":
            attr = oracle_attribution(cases)
        else:
            attr = _attribute_cases(wb, wb.model, sub, m, options.get(m, {}))
            cost[m] = {arrow("ms_per_outfit"): attr.ms_per_outfit, arrow("forward_passes"): attr.forward_passes,
                       arrow("backward_passes"): attr.backward_passes}
            deletion[m] = deletion_curve(wb.model, attr, sub.batch, wb.means)
            n_sane = min(len(sane), len(sub))
            r_attr = _attribute_cases(wb, rand_model, sane.subset(np.arange(n_sane)), m, options.get(m, {}))
            r_scores = detection_scores(r_attr, sane.subset(np.arange(n_sane)))
            sanity[m] = {"trained model": float(detection_scores(attr, sub)["item_top1"][:n_sane].mean()),
                         "randomised model": float(r_scores["item_top1"].mean())}
        scores = detection_scores(attr, cases if m == "oracle" else sub)
        frames.append(pd.concat([meta.iloc[: len(scores)], scores.assign(method=m)], axis=1))
    per_case = pd.concat(frames, ignore_index=True)
    rand = random_expected(cases)
    summary = summarise(per_case)
    deletion_df = pd.DataFrame(deletion)
    deletion_df.index.name = "pairs replaced"
    report = SwapReport(cases, per_case, summary, deletion_df, pd.DataFrame(sanity).T.round(3),
                        pd.DataFrame(cost).T, rand, config, time.perf_counter() - start)
    cache.save(_report_to_plain(report))
    return report


def _report_to_plain(report: SwapReport) -> dict:
    """A SwapReport as tensors and plain data (cache files never hold pickled objects)."""
    c = report.cases
    b = c.batch
    cases = {"items": torch.from_numpy(np.asarray(c.items)), "colors": torch.from_numpy(np.asarray(c.colors)),
             "features": dict(b.features), "slot": b.slot, "mask": b.mask, "label": b.label, "batch_items": b.items,
             "position": torch.from_numpy(np.asarray(c.position)), "kind": [str(k) for k in c.kind],
             "before": torch.from_numpy(np.asarray(c.before)), "after": torch.from_numpy(np.asarray(c.after)),
             "blame": c.blame, "unambiguous": torch.from_numpy(np.asarray(c.unambiguous)),
             "outfit": torch.from_numpy(np.asarray(c.outfit)), "candidates": c.candidates, "margin": float(c.margin),
             "groups": list(c.groups), "n_good": int(c.n_good)}
    frames = {k: to_plain(getattr(report, k)) for k in ("per_case", "summary", "deletion", "sanity", "cost")}
    return {"cases": cases, "frames": frames, "random_expected": report.random_expected, "config": report.config,
            "seconds": report.seconds}


def _report_from_plain(d: dict) -> SwapReport:
    c = d["cases"]
    batch = OutfitBatch(c["features"], c["slot"], c["mask"], c["label"], c["batch_items"])
    cases = SwapCases(c["items"].numpy(), c["colors"].numpy(), batch, c["position"].numpy(), np.array(c["kind"]),
                      c["before"].numpy(), c["after"].numpy(), c["blame"], c["unambiguous"].numpy(),
                      c["outfit"].numpy(), c["candidates"], c["margin"], c["groups"], c["n_good"])
    frames = {k: from_plain(v) for k, v in d["frames"].items()}
    return SwapReport(cases, frames["per_case"], frames["summary"], frames["deletion"], frames["sanity"],
                      frames["cost"], d["random_expected"], d["config"], d["seconds"], cached=True)


def _attribute_cases(wb, model, cases: SwapCases, method: str, opts: dict, chunk: int = 128) -> Attribution:
    images = get_method(method).traits.needs_images
    if images:
        chunk = PIXEL_CHUNK
    parts = []
    for i in range(0, len(cases), chunk):
        sub = cases.subset(np.arange(i, min(i + chunk, len(cases))))
        batch = sub.batch
        if images:
            batch = with_images(batch, wb.catalog, np.where(sub.colors >= 0, sub.colors, 0))
        parts.append(attribute(model, batch, method, **wb.options(), **opts))
    return concat_attributions(parts)


def summarise(per_case: pd.DataFrame, by=None) -> pd.DataFrame:
    """Mean item top-1, pair top-1 and MRR per method (and per ``by`` columns), all and unambiguous."""
    keys = ["method"] + ([by] if isinstance(by, str) else list(by or []))
    agg = {"item_top1": "mean", "pair_top1": "mean", "rr": "mean"}
    full = per_case.groupby(keys, sort=False).agg(agg)
    unamb = per_case[per_case.unambiguous].groupby(keys, sort=False).agg(agg)
    full.columns = [arrow(c if c != "rr" else "mrr") + " (all)" for c in full.columns]
    unamb.columns = [arrow(c if c != "rr" else "mrr") + " (unambiguous)" for c in unamb.columns]
    out = full.join(unamb)
    out["cases"] = per_case.groupby(keys, sort=False).size()
    return out.round(3)


def headline(report: SwapReport, n_boot: int = 1000) -> pd.DataFrame:
    """Per method: item and pair top-1 with 95% bootstrap intervals, all and unambiguous cases."""
    rows = {}
    for m, frame in report.per_case.groupby("method", sort=False):
        row = {}
        for subset, part in (("all", frame), ("unambiguous", frame[frame.unambiguous])):
            for metric in ("item_top1", "pair_top1"):
                lo, hi = bootstrap_ci(part[metric], n_boot)
                row[f"{arrow(metric)} ({subset})"] = f"{part[metric].mean():.3f} [{lo:.2f}, {hi:.2f}]"
        row["cases"] = len(frame)
        rows[m] = row
    return pd.DataFrame(rows).T


def deletion_auc(report: SwapReport) -> pd.Series:
    """Area under each deletion curve (mean logit over k = 0..10 replaced pairs; higher is better)."""
    return report.deletion.mean().rename(arrow("deletion_auc")).round(3)


def results_table(report: SwapReport) -> pd.DataFrame:
    """The main table: detection (all and unambiguous), faithfulness, sanity and cost per method."""
    table = report.summary.join(deletion_auc(report))
    table = table.join(report.sanity.rename(columns=lambda c: f"sanity item_top1 ({c})"))
    return table.join(report.cost.round(3))


def at_margin(report: SwapReport, margin: float) -> pd.DataFrame:
    """Re-summarise the kept cases whose score dropped by at least ``margin`` (no re-computation)."""
    part = report.per_case[report.per_case["drop"] >= margin]
    return summarise(part)


def write_report(report: SwapReport, folder) -> dict:
    """Write ``swap_evaluation.csv`` and ``swap_evaluation.md`` into ``folder``; returns the paths."""
    from pathlib import Path
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    table = results_table(report)
    csv, md = folder / "swap_evaluation.csv", folder / "swap_evaluation.md"
    table.to_csv(csv)
    lines = ["# Swap evaluation", "", f"{len(report.cases)} cases kept (margin {report.config['margin']}); "
             f"{int(report.cases.unambiguous.sum())} unambiguous. Random expectation: "
             + ", ".join(f"{k} {v:.3f}" for k, v in report.random_expected.items()), "", table.to_markdown(), ""]
    md.write_text("\n".join(lines))
    return {"csv": str(csv), "markdown": str(md)}


def benchmark(wb, methods=None, n_outfits: int = 512, n_pixel_outfits: int = 32, repeats: int = 3,
              split: str = "test") -> pd.DataFrame:
    """Time of each method on one batch of outfits, as a ratio to one plain forward pass of that batch.

    Pixel methods run on a smaller batch (``n_pixel_outfits``), compared with a forward pass
    of that same batch.
    """
    available = len(wb.outfits(split))
    check_n(n_outfits, "n_outfits", most=available)
    check_n(n_pixel_outfits, "n_pixel_outfits", most=available)
    check_n(repeats, "repeats")
    feats_batch = wb.batch(np.arange(n_outfits), split)
    image_batch = wb.batch(np.arange(n_pixel_outfits), split, images=True)

    def best(fn, k):
        times = []
        for _ in range(k):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times)

    forward = best(lambda: score(wb.model, feats_batch), 20)
    small_forward = best(lambda: score(wb.model, wb.batch(np.arange(n_pixel_outfits), split)), 20)
    rows = {}
    for m in methods or registered_methods():
        pixel = get_method(m).traits.needs_images
        batch = image_batch if pixel else feats_batch
        opts = wb.options()
        probe = attribute(wb.model, batch, m, **opts)
        k = repeats if probe.seconds < 1 else 1
        t = best(lambda b=batch, m=m, o=opts: attribute(wb.model, b, m, **o), k)
        rows[m] = {"outfits": len(batch), "seconds": t, "ratio to forward ↓": t / (small_forward if pixel else forward),
                   "forward passes ↓": probe.forward_passes,
                   "backward passes ↓": probe.backward_passes}
    table = pd.DataFrame(rows).T
    table.attrs["forward_seconds"] = forward
    table.attrs["n_outfits"] = n_outfits
    return table
