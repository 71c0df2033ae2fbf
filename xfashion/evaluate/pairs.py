"""The pair test (chapter 08): swaps that create exactly one clashing pair, and which pair methods name it.

Ground truth: the stylist's rules about two items (a hue clash, a neutral clash, a season clash)
name the faulted pair; rules that count (more than two chromatic colours, more than one busy print)
fault a set, not a pair, so a case may not break one. The protocol starts from good outfits that
the scorer also calls good and draws swaps of one item, a re-colouring (for the colour rules) or
another item of its slot (for the season rule), until the swapped outfit breaks exactly one rule,
a pair rule, whose pair holds the swapped item; a case counts when the score drops by the margin.
The answer is that pair; a method names the pair with its lowest value. Item methods take part
through their implied pair, their two lowest items.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch

from ..data import COLOR_NAMES, SLOTS
from ..explain import attribute, get_method
from ..explain import methods as registered
from ..explain.pairs import PairAttribution, attribute_pairs
from ..outfits import OutfitBatch, make_batch, sample_good_outfits
from ..rules import DEFAULT_RULES, StylistRules
from ..scorer import score
from ..utils import check_count, check_unique
from .agreement import check_methods
from .bench import best_time
from .metrics import family_scores, seed_summary
from .oracle import PAIR_RULES, faulted_pairs, one_pair_clash, oracle_pairs
from .report import declared_caps
from .runner import score_methods
from .swap import check_margin

IMPLIED = ("ifiv", "feature_ablation")  # item methods whose two lowest items are compared too


@dataclass
class PairCases:
    """Swapped outfits that break exactly one pair rule, with the swapped item in the pair.

    Parallel over cases: ``items`` and ``colors`` after the swap, their feature ``batch``, the
    swapped ``position``, its ``partner`` in the faulted pair, the ``rule``, the swap ``kind``
    (the re-coloured group's name, 'color', or 'item') and the scores ``before`` and ``after``.
    """

    items: np.ndarray
    colors: np.ndarray
    batch: OutfitBatch
    position: np.ndarray
    partner: np.ndarray
    rule: np.ndarray
    kind: np.ndarray
    before: np.ndarray
    after: np.ndarray

    def __len__(self) -> int:
        return len(self.position)

    def subset(self, idx) -> "PairCases":
        """The cases at positions ``idx``."""
        idx = np.asarray(idx, np.int64)
        return PairCases(self.items[idx], self.colors[idx], self.batch.take(torch.as_tensor(idx)), self.position[idx],
                         self.partner[idx], self.rule[idx], self.kind[idx], self.before[idx], self.after[idx])


def build_pair_cases(wb, *, model=None, seed: int = 0, n_outfits: int = 3000, per_rule: int | None = 150,
                     draws: int = 30, margin: float = 0.5, split: str = "test",
                     rules: StylistRules = DEFAULT_RULES) -> PairCases:
    """Pair-swap cases in good outfits drawn from ``split``'s items (seeded), at most ``per_rule`` per pair rule."""
    catalog, model = wb.catalog, model or wb.model
    check_count(n_outfits, "n_outfits")
    check_count(draws, "draws")
    check_count(per_rule, "per_rule", allow_none=True)
    check_margin(margin)
    outfits = sample_good_outfits(catalog, split, n_outfits, seed=seed, rules=rules, min_items=3)
    batch = make_batch(catalog, outfits, features=wb.feats.tables)
    logits = score(model, batch).numpy()
    good = np.flatnonzero(logits > 0)  # start where the scorer agrees the outfit is good
    base, before = outfits.items[good], logits[good]
    base_colors = np.where(base >= 0, catalog.color[np.maximum(base, 0)], -1)
    rng = np.random.default_rng(seed)
    pools = {s: np.flatnonzero((catalog.split == split) & (catalog.slot == s)) for s in range(len(SLOTS))}
    # the colour rules are broken by re-colouring an item (the swap of the group that declares it), the season
    # rule by another item of the slot
    recolour = [g.name for g in model.groups.groups if g.swap == "recolour"]
    if not recolour:
        raise ValueError("The pair test re-colours items for the colour rules, and no feature group of the scorer "
                         f"declares swap='recolour' (groups: {model.groups.names}).")
    found = []
    for kind in (recolour[0], "item"):
        pending = np.arange(len(base))
        for _ in range(draws):
            pos = (rng.random(len(pending)) * (base[pending] >= 0).sum(1)).astype(np.int64)
            old = base[pending, pos]
            if kind != "item":
                new, col = old, (catalog.color[old] + rng.integers(1, len(COLOR_NAMES), len(old))) % len(COLOR_NAMES)
            else:
                new = np.empty_like(old)
                for s in np.unique(catalog.slot[old]):
                    sel = catalog.slot[old] == s
                    new[sel] = pools[s][rng.integers(len(pools[s]), size=int(sel.sum()))]
                col = catalog.color[new]
            items, colors = base[pending].copy(), base_colors[pending].copy()
            items[np.arange(len(pending)), pos], colors[np.arange(len(pending)), pos] = new, col
            i, j, rule = one_pair_clash(catalog, items, colors, rules)
            ok = (i == pos) | (j == pos)
            found.append((pending[ok], items[ok], colors[ok], pos[ok], np.where(i == pos, j, i)[ok], rule[ok], kind))
            pending = pending[~ok]
            if not len(pending):
                break
    rows, items, colors, pos, partner, rule = (np.concatenate([f[k] for f in found]) for k in range(6))
    kind = np.concatenate([np.full(len(f[0]), f[6]) for f in found])
    cases = _featurise(wb, model, batch, good[rows], before[rows], items, colors, pos, partner, rule, kind)
    keep = (cases.before - cases.after) >= margin
    if per_rule is not None:
        order = np.argsort(rows, kind="stable")  # outfit order, balanced by rule
        taken = {r: 0 for r in PAIR_RULES}
        chosen = []
        for c in order:
            if keep[c] and taken[cases.rule[c]] < per_rule:
                taken[cases.rule[c]] += 1
                chosen.append(c)
        keep = np.zeros(len(keep), bool)
        keep[chosen] = True
    return cases.subset(np.flatnonzero(keep))


def _featurise(wb, model, batch, rows, before, items, colors, pos, partner, rule, kind) -> PairCases:
    """The swapped outfits (from ``batch``'s ``rows``): features (a re-coloured item re-rendered, a new item
    from the table) and scores."""
    catalog, feats = wb.catalog, wb.feats
    src = torch.as_tensor(rows)
    fresh = {g: t[torch.as_tensor(items[np.arange(len(items)), pos])].clone() for g, t in feats.tables.items()}
    recolour = np.flatnonzero(kind != "item")
    if len(recolour):
        with torch.no_grad():
            out = feats.extractor(catalog.render(items[recolour, pos[recolour]], colors[recolour, pos[recolour]]))
        for g in fresh:
            fresh[g][torch.as_tensor(recolour)] = out[g]
    new_feats = {g: batch.features[g][src].clone() for g in model.groups.names}
    for g in new_feats:
        new_feats[g][torch.arange(len(items)), torch.as_tensor(pos)] = fresh[g]
    swapped = OutfitBatch(new_feats, batch.slot[src], batch.mask[src], batch.label[src], torch.as_tensor(items))
    after = score(model, swapped).numpy() if len(items) else np.zeros(0, np.float32)
    return PairCases(items, colors, swapped, pos, partner, rule, kind, before, after)


def implied_pairs(attr) -> PairAttribution:
    """An item method's pair view: ``v_i + v_j`` (its lowest pair is its two lowest items)."""
    item = attr.values.sum(-1) if attr.values.dim() == 3 else attr.values
    values = item[:, :, None] + item[:, None, :]
    return PairAttribution(values, attr.mask, f"{attr.method} (two lowest items)")


def clash_scores(attr: PairAttribution, position, partner) -> pd.DataFrame:
    """Per case, every pair-test metric (``clash_top1``: the true pair is lowest, ties share the credit;
    ``clash_rank``, ``clash_mrr``, ...) and ``n_pairs``, the outfit's pairs of real items."""
    cases = SimpleNamespace(position=position, partner=partner)
    return family_scores("pair test", attr, cases).assign(n_pairs=n_pairs(attr.mask))


def n_pairs(mask) -> np.ndarray:
    """Pairs of real items in each outfit."""
    n = mask.sum(1).numpy()
    return n * (n - 1) // 2


@dataclass
class PairReport:
    """The pair test over scorer seeds: ``per_case`` (one row per seed, case and method), ``summary``
    (mean and sd over seeds, pooled intervals), ``cost`` (ms per outfit and forward passes per method)."""

    per_case: pd.DataFrame
    summary: pd.DataFrame
    cost: pd.DataFrame
    config: dict
    seconds: float

    @property
    def n_cases(self) -> int:
        return int(self.per_case[self.per_case.method == "oracle"].shape[0])


def run_pair_evaluation(wb, methods=None, *, seeds=(0, 1, 2), implied=IMPLIED, design: dict | None = None,
                        n_outfits: int = 3000, per_rule: int | None = 150, margin: float = 0.5,
                        rules: StylistRules = DEFAULT_RULES,
                        max_cases: dict | None = None, progress: bool = True) -> PairReport:
    """The pair test over scorer seeds: each seed's scorer, its own pair-swap cases, every method.

    Parameters
    ----------
    wb : Workbench
    methods : sequence of str, optional
        Pair methods (default: every registered one, ``xf.explain.methods("pairs")``); the oracle is
        always added.
    seeds : sequence of int
        Scorer seeds; the first evaluates ``wb.model`` (without ``design``), the others load or
        train the scorer of their seed, and each draws its own cases.
    implied : sequence of str
        Item methods also scored by their two lowest items.
    n_outfits, per_rule : int
        Good outfits drawn per seed, and at most this many cases per pair rule and seed.
    max_cases : dict, optional
        Per-method cap on cases per seed, spread over the cases, overriding each method's declared
        ``traits.max_cases``.
    """
    seeds = check_unique([int(s) for s in seeds], "seeds")
    methods = check_methods(methods, "run_pair_evaluation", "every registered pair method")
    methods = check_unique([get_method(m, "pairs").traits.name for m in (methods or registered("pairs"))],
                           "pair methods")
    caps = {**declared_caps(methods), **(max_cases or {})}
    # the stylist's pairs (the ceiling), the pair methods, and item methods read by their two lowest items
    through = {f"{get_method(m, 'items').traits.name} (two lowest items)": m for m in implied}
    start = time.perf_counter()
    frames, cost = [], {}
    for k, s in enumerate(seeds):
        model = wb.model if k == 0 and not design else wb.scorer(s, design)
        cases = build_pair_cases(wb, model=model, seed=s, n_outfits=n_outfits, per_rule=per_rule, margin=margin,
                                 rules=rules)
        meta = pd.DataFrame({"seed": s, "case": np.arange(len(cases)), "rule": cases.rule, "kind": cases.kind,
                             "unambiguous": True})

        def explain(scorer, sub, m, s=s):
            if m == "oracle":
                return oracle_pairs(wb.catalog, sub, rules)
            if m in through:
                return implied_pairs(attribute(scorer, sub.batch, through[m], **wb.options()))
            return attribute_pairs(scorer, sub.batch, m, seed=s, **wb.options())

        for run in score_methods(model, cases, ["oracle", *methods, *through], "pair test", explain, caps=caps,
                                 progress=progress, desc=f"pair test (scorer seed {s})"):
            run.scores["n_pairs"] = n_pairs(run.attr.mask)
            if run.method in methods:
                cost.setdefault(run.method, []).append(run.cost())
            frames.append(run.frame(meta))
    per_case = pd.concat(frames, ignore_index=True)
    cost_df = pd.DataFrame({m: pd.DataFrame(v).mean() for m, v in cost.items()}).T
    config = {"methods": methods, "seeds": seeds, "implied": list(implied), "max_cases": caps, "per_rule": per_rule,
              "n_outfits": n_outfits, "margin": margin, "design": dict(design or {})}
    return PairReport(per_case, seed_summary(per_case), cost_df, config, time.perf_counter() - start)


def mean_item_logits(wb, cases: PairCases) -> pd.DataFrame:
    """Pair removal's reference on the pair test's ``cases`` (scorer ``wb.model``), one row per case: the swapped
    outfit's logit (``outfit``); with the dataset's mean item in place of the swapped item (``without_i``), of its
    partner (``without_j``), of both (``without_ij``) and of every item (``all_mean``); and ``hit``, whether pair
    removal's lowest pair is the faulted one. The faulted pair's value is ``outfit - without_i - without_j +
    without_ij``."""
    rows, mask = torch.arange(len(cases.position)), cases.batch.mask[..., None]

    def logits(*positions):
        feats = {g: v.clone() for g, v in cases.batch.features.items()}
        for g in wb.model.groups.names:
            mean = wb.means[g].to(feats[g].dtype)
            for pos in positions:
                feats[g][rows, torch.as_tensor(pos)] = mean
            if not positions:  # every real item
                feats[g] = torch.where(mask, mean.expand_as(feats[g]), feats[g])
        return score(wb.model, cases.batch.with_features(feats)).numpy()
    removal = attribute_pairs(wb.model, cases.batch, "pair_removal", **wb.options())
    hit = clash_scores(removal, cases.position, cases.partner).clash_top1.to_numpy() == 1
    return pd.DataFrame({"rule": cases.rule, "outfit": cases.after, "without_i": logits(cases.position),
                         "without_j": logits(cases.partner), "without_ij": logits(cases.position, cases.partner),
                         "all_mean": logits(), "hit": hit})


def reference_sentence(ref: pd.DataFrame, seed: int) -> str:
    """Chapter 05's lesson on the mean item, measured for pairs on the pair test (``ref``: :func:`mean_item_logits`)."""
    worse = ref.without_ij < ref[["without_i", "without_j"]].min(axis=1)  # the second mean item lowers it further
    hits = worse[ref.hit]
    return (f"Chapter 05 found the mean item no neutral garment to this scorer (an outfit of mean items alone has a "
            f"median logit of {ref.all_mean.median():+.2f} over scorer seed {seed}'s {len(ref)} pair-test cases), and "
            f"pair removal puts two of them side by side: replacing both items of the faulted pair scores lower than "
            f"replacing either one alone in {worse.mean():.0%} of the cases, and in {hits.mean():.0%} of the "
            f"{len(hits)} cases pair removal gets right, "
            + ("so those hits count the second mean item's fall with the clash." if hits.any() else
               "so no hit owes anything to that fall."))


def pair_cost(wb, methods=None, n_outfits: int = 256, repeats: int = 3) -> pd.DataFrame:
    """Seconds and the ratio to one forward pass of each pair method (and IFIV) on 5-item test outfits.

    The best of ``repeats`` runs after one warm-up, on the same batch; the Shapley interaction
    index evaluates every coalition (32 per outfit).
    """
    check_count(n_outfits, "n_outfits")
    test = wb.outfits("test")
    rows = np.flatnonzero(test.mask.sum(1) == 5)[:n_outfits]
    batch = wb.batch(rows)

    def best(run):
        run()  # warm-up
        return best_time(run, repeats)
    forward = best(lambda: score(wb.model, batch))
    out = {"ifiv": best(lambda: attribute(wb.model, batch, "ifiv"))}
    for m in methods or registered("pairs"):
        out[m] = best(lambda m=m: attribute_pairs(wb.model, batch, m, **wb.options()))
    table = pd.DataFrame({"seconds": out}).assign(ratio_to_forward=lambda d: d.seconds / forward)
    table["ratio_to_ifiv"] = table.seconds / out["ifiv"]
    table.attrs["n_outfits"] = len(rows)
    return table


__all__ = ["run_pair_evaluation", "build_pair_cases", "pair_cost", "faulted_pairs", "oracle_pairs", "clash_scores",
           "implied_pairs"]
