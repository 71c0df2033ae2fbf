"""Method families side by side (chapter 05): against the reference they measure from, and against the
stylist, split by the family of the rules an outfit breaks, with the standard errors that say which gaps are
more than noise. The functions return sentences and tables; the chapter computes, says and claims."""
from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd
import torch

from ..analysis import Verdicts
from ..explain import Attribution
from ..rules import DEFAULT_RULES, StylistRules
from .agreement import hits, method_agreement
from .metrics import method_name
from .sentences import chance_hits, group_name

FAMILIES = ("colour only", "shape-texture only", "mixed")


def _item(names, k: int) -> str:
    return f"the {names[k]} (item {k})"


@torch.no_grad()
def reference_effect(model, batch, b: int, item: int, group: str, reference: dict) -> tuple:
    """How much one (item, group) moves outfit ``b``'s score, in the outfit and in the reference outfit.

    Parameters
    ----------
    batch : OutfitBatch
        Feature batch holding the outfit at position ``b``.
    reference : dict of str -> tensor (dims,)
        The reference item per feature group (the dataset mean, or zeros).

    Returns
    -------
    (in_outfit, at_reference) : floats
        ``s(x) - s(x with the cell at the reference)``: the change with the rest of the outfit in
        place (feature ablation's value); ``s(r with the cell from x) - s(r)``: the change when every
        other feature is at the reference ``r``.
    """
    x = {g: v[b:b + 1].clone() for g, v in batch.features.items()}
    slot, mask = batch.slot[b:b + 1], batch.mask[b:b + 1]
    keep = mask[..., None].to(next(iter(x.values())).dtype)
    r = {g: reference[g].expand_as(v) * keep for g, v in x.items()}
    x_without, r_with = {g: v.clone() for g, v in x.items()}, {g: v.clone() for g, v in r.items()}
    x_without[group][0, item], r_with[group][0, item] = r[group][0, item], x[group][0, item]
    s = lambda f: float(model(f, slot, mask)[0])  # noqa: E731 - one score
    return s(x) - s(x_without), s(r_with) - s(r)


def reference_story(model, batch, b: int, shapley: Attribution, means: dict, blame, names) -> str:
    """Why exact Shapley puts its lowest value where it does on outfit ``b``: the cell's effect in the outfit
    against its effect in the reference outfit of mean items (the two ends of the coalitions it averages) and
    in the all-zero outfit (where IG's path starts)."""
    item, group = (int(t[b]) for t in shapley.culprit())
    g = shapley.groups[group]
    inside, at_ref = reference_effect(model, batch, b, item, g, means)
    at_zero = reference_effect(model, batch, b, item, g, {k: torch.zeros_like(v) for k, v in means.items()})[1]
    blamed = float(np.asarray(blame)[item].sum()) > 0
    cell = f"the {group_name(g)} of {_item(names, item)}"
    said = (f"Exact Shapley's lowest cell is {cell}, {float(shapley.values[b, item, group]):+.2f}: the average of "
            f"its effect over every coalition of the other features. With all of them as in the outfit it moves "
            f"the score by {inside:+.2f} logits (feature ablation's value); with all of them at the mean item, "
            f"by {at_ref:+.2f} (with all of them at zero, IG's starting point, by {at_zero:+.2f}).")
    if not blamed and abs(at_ref) > abs(inside):
        said += (" The stylist does not blame that item: the blame comes from coalitions far from this outfit, "
                 f"where that {group_name(g)} meets average items, not this outfit's items.")
    elif not blamed:
        said += " The stylist does not blame that item, and the outfit itself, not the reference, carries the blame."
    return said


def rule_family(outfits, index, rules: StylistRules = DEFAULT_RULES) -> np.ndarray:
    """Each outfit's rule family: 'colour only', 'shape-texture only' or 'mixed' (rules of both groups)."""
    group = rules.describe().set_index("rule").group
    kinds = {frozenset({"color"}): FAMILIES[0], frozenset({"shape_texture"}): FAMILIES[1]}
    return np.array([kinds.get(frozenset(group[r] for r in outfits.rules[i]), FAMILIES[2]) for i in index])


@dataclass
class FamilyHits:
    """Whether each method's culprit is blamed, outfit by outfit, and each outfit's rule family.

    Build it with :func:`family_hits`. ``item`` and ``pair`` are DataFrames (outfits x methods) of 0/1
    (``pair`` is NaN for item-level methods); ``family`` is :func:`rule_family`'s array; ``chance``
    maps each family name (and 'all') to :func:`~xfashion.evaluate.sentences.chance_hits`.
    """
    item: pd.DataFrame
    pair: pd.DataFrame
    family: np.ndarray
    chance: dict

    def rows(self, family: str) -> np.ndarray:
        return np.arange(len(self.family)) if family == "all" else np.flatnonzero(self.family == family)

    def rate(self, method: str, family: str = "all") -> float:
        """The share of the family's outfits on which the method's culprit item is blamed."""
        return float(self.item[method].iloc[self.rows(family)].mean())

    def gap(self, a: str, c: str, family: str = "all") -> tuple:
        """Method ``a``'s item hit rate minus method ``c``'s, and the paired standard error of that difference."""
        d = (self.item[a] - self.item[c]).iloc[self.rows(family)].to_numpy()
        return float(d.mean()), float(d.std(ddof=1) / np.sqrt(len(d)))

    def from_chance(self, method: str, family: str = "all") -> float:
        """How far the method's item hit rate lies above chance, in standard errors of a rate at chance."""
        c, n = self.chance[family]["item_hit"], len(self.rows(family))
        return (self.rate(method, family) - c) / np.sqrt(c * (1 - c) / n)

    def table(self, least: int = 10) -> pd.DataFrame:
        """Item and cell hit rates per method and family (families with at least ``least`` outfits), and chance."""
        out = {}
        for f in ("all", *FAMILIES):
            rows = self.rows(f)
            if len(rows) >= least:
                part = pd.DataFrame({"item_hit": self.item.iloc[rows].mean(), "cell_hit": self.pair.iloc[rows].mean()})
                part.loc["chance (random culprit)"] = [self.chance[f]["item_hit"], self.chance[f]["cell_hit"]]
                out[f"{f} ({len(rows)})"] = part
        return pd.concat(out, axis=1).round(2)


def family_hits(attributions: dict, blame, family, sizes) -> FamilyHits:
    """Hits of each method against the stylist's ``blame`` (outfits, items, groups), with chance per family."""
    item, pair = {}, {}
    for name, a in attributions.items():
        i, p = hits(a, blame)
        item[name], pair[name] = i.float().numpy(), np.full(len(i), np.nan) if a.item_level else p.float().numpy()
    family, sizes = np.asarray(family), np.asarray(sizes)
    chance = {f: chance_hits(blame[rows], sizes[rows]) for f in ("all", *FAMILIES)
              if len(rows := (np.arange(len(family)) if f == "all" else np.flatnonzero(family == f)))}
    return FamilyHits(pd.DataFrame(item), pd.DataFrame(pair), family, chance)


def _from_chance(h: FamilyHits, m: str, f: str) -> str:
    z = h.from_chance(m, f)
    return f"{abs(z):.1f} standard errors {'above' if z > 0 else 'below'} chance"


def gradcam_story(h: FamilyHits) -> list:
    """Grad-CAM against IFIV and chance on colour-only and shape-texture-only outfits, in standard errors."""
    n_col, n_sh = len(h.rows(FAMILIES[0])), len(h.rows(FAMILIES[1]))
    colour_gap, colour_se = h.gap("ifiv", "grad_cam", FAMILIES[0])
    shape_gap, shape_se = h.gap("ifiv", "grad_cam", FAMILIES[1])
    c = lambda f: h.chance[f]["item_hit"]  # noqa: E731
    return [f"On the {n_col} colour-only outfits Grad-CAM's culprit item is blamed on "
            f"{h.rate('grad_cam', FAMILIES[0]):.0%} of them, IFIV's on {h.rate('ifiv', FAMILIES[0]):.0%}: a gap of "
            f"{colour_gap:.2f}, {colour_gap / colour_se:.1f} standard errors of the paired difference, "
            + ("a clear lead for IFIV." if colour_gap > 2 * colour_se else "within the noise of these outfits.")
            + f" A random culprit is blamed on {c(FAMILIES[0]):.0%} of them (chance): Grad-CAM's rate is "
            f"{_from_chance(h, 'grad_cam', FAMILIES[0])}, IFIV's {_from_chance(h, 'ifiv', FAMILIES[0])}; pixel IG's "
            f"culprit is blamed on {h.rate('pixel_ig', FAMILIES[0]):.0%}.",
            f"On the {n_sh} shape-texture-only outfits Grad-CAM reaches {h.rate('grad_cam', FAMILIES[1]):.0%}, IFIV "
            f"{h.rate('ifiv', FAMILIES[1]):.0%} "
            + (f"({abs(shape_gap / shape_se):.1f} standard errors {'ahead of' if shape_gap > 0 else 'behind'} "
               "Grad-CAM) and " if shape_se > 0 else "(the two find a blamed item on the very same outfits) and ")
            + f"chance {c(FAMILIES[1]):.0%}: Grad-CAM's rate is {_from_chance(h, 'grad_cam', FAMILIES[1])}."]


def largest_gap(h: FamilyHits, methods, against: str = "ifiv", level: float = 0.05) -> tuple:
    """The largest item-hit gap between ``against`` and any of ``methods`` within a rule family, and the bar it
    must pass to count when that many gaps were looked at.

    Returns
    -------
    (sentence, z, bar) : the sentence, the largest gap in standard errors, and the bar: the two-sided
    ``level`` divided by the number of gaps (Bonferroni), as a normal quantile.
    """
    gaps = [(abs(g) / max(se, 1e-9), m, f) for m in methods for f in FAMILIES[:2] for g, se in [h.gap(against, m, f)]]
    z, m, f = max(gaps)
    bar = NormalDist().inv_cdf(1 - level / (2 * len(gaps)))
    sentence = (f"Split by family, the other contribution methods make {len(gaps)} comparisons with IFIV at the item "
                f"level. The largest gap, {method_name(m)} on the {f.replace(' ', '-')} outfits, is {z:.1f} standard "
                f"errors. The largest of {len(gaps)} gaps must pass Bonferroni's bar, {bar:.1f} standard errors (a "
                f"level of {level:.0%} / {len(gaps)}), since one of many gaps is large by luck more often. It falls "
                + ("short of the bar: the split does not separate them from IFIV." if z <= bar else
                   f"beyond the bar: on the {f.replace(' ', '-')} outfits {method_name(m)} finds a blamed item "
                   f"{'less' if h.gap(against, m, f)[0] > 0 else 'more'} often than IFIV, more than chance explains."))
    return sentence, z, bar


def two_baselines(zero: Attribution, mean: Attribution) -> Verdicts:
    """IG from zero against IG from the mean item: how often they agree on the culprit, and how far their values
    lie apart against the integration error (the larger mean |convergence delta| of the two, over the same outfits)."""
    same_item = float((zero.culprit_item() == mean.culprit_item()).float().mean())
    same_cell = float(torch.stack(zero.culprit()).eq(torch.stack(mean.culprit())).all(0).float().mean())
    ranks = method_agreement({"zero": zero, "mean": mean}).loc["zero", "mean"]
    apart = (zero.values - mean.values).abs()[zero.mask]
    errors = [float(a.extras["convergence_delta"].abs().mean()) for a in (zero, mean)]
    error = max(errors)
    return Verdicts(
        {"the two baselines give different values, beyond the integration error": bool(apart.mean() > 2 * error)},
        [f"IG from zero and from the mean item agree on the culprit item for {same_item:.0%} of the outfits and on the "
         f"culprit (item, group) for {same_cell:.0%}; the mean rank correlation of their values is {ranks:.2f}.",
         f"Their values differ by {apart.mean():.2f} logits on average (at most {apart.max():.1f}), against a mean "
         f"size of {zero.values.abs()[zero.mask].mean():.2f} and an integration error (the mean |convergence delta| "
         f"over the same {len(zero.values)} outfits) of {errors[0]:.3f} from zero and {errors[1]:.3f} from the mean "
         "item."])


def clusters(agreement: pd.DataFrame, at_outfit, path) -> Verdicts:
    """The two clusters of the agreement matrix: methods that read the gradient at the outfit, and those that
    integrate along a path or perturb towards a reference; agreement within each against agreement across."""
    within = lambda ms: agreement.loc[ms, ms].to_numpy()[~np.eye(len(ms), dtype=bool)].mean()  # noqa: E731
    across = agreement.loc[at_outfit, path].to_numpy().mean()
    a = agreement
    return Verdicts(
        {"two clusters: on average, agreement within each exceeds agreement across":
         bool(min(within(at_outfit), within(path)) > across + 0.1)},
        [f"Each computation counted once, IFIV and IFIV from the mean item agree at {within(at_outfit):.2f}, the path "
         f"and perturbation methods among themselves at {within(path):.2f}, and the two sides with each "
         f"other at {across:.2f} (means over the pairs of methods).",
         f"Grad-CAM and pixel IG agree with each other at {a.loc['grad_cam', 'pixel_ig']:.2f} and with IFIV at "
         f"{a.loc['grad_cam', 'ifiv']:.2f} and {a.loc['pixel_ig', 'ifiv']:.2f}."], {"across": float(across)})
