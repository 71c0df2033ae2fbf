"""Detection metrics of the swap test, each declared once with its direction (chapter 06).

Tables carry plain metric names (``item_top1``, ``ms_per_outfit``); :func:`format_table` adds
the arrows (↑ higher is better, ↓ lower is better) for display, as Quantus declares a
``score_direction`` per metric. Select columns by their plain names.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

from ..explain import Attribution
from ..utils import check_count

if TYPE_CHECKING:
    from .swap import SwapCases


@dataclass(frozen=True)
class Metric:
    """A metric's name, whether higher or lower is better, and what it measures."""

    name: str
    direction: str
    description: str

    def __post_init__(self):
        if self.direction not in ("higher", "lower"):
            raise ValueError(f"direction must be 'higher' or 'lower'; got {self.direction!r}.")

    @property
    def arrow(self) -> str:
        return "↑" if self.direction == "higher" else "↓"

    @property
    def label(self) -> str:
        return f"{self.name} {self.arrow}"


METRICS = {m.name: m for m in [
    Metric("item_top1", "higher", "the swapped item has the lowest item value (ties share the credit)"),
    Metric("pair_top1", "higher", "the swapped (item, group) pair has the lowest value"),
    Metric("mrr", "higher", "mean reciprocal rank of the swapped item"),
    Metric("item_hit", "higher", "the method's culprit item carries oracle blame"),
    Metric("pair_hit", "higher", "the method's culprit (item, group) carries oracle blame"),
    Metric("deletion_auc", "higher", "mean logit while the most negative pairs are replaced by dataset means"),
    Metric("ms_per_outfit", "lower", "wall-clock milliseconds per outfit"),
    Metric("forward_passes", "lower", "forward passes per outfit"),
    Metric("backward_passes", "lower", "backward passes per outfit"),
    Metric("ratio_to_forward", "lower", "time as a multiple of one forward pass of the same batch"),
    Metric("auc", "higher", "ROC AUC of good vs bad outfits"),
    Metric("accuracy", "higher", "accuracy at logit 0"),
    Metric("fitb_accuracy", "higher", "fill-in-the-blank accuracy"),
    Metric("fixes", "higher", "share of bad outfits that the suggestion repairs"),
]}


def format_table(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` whose metric columns show their direction (``item_top1 (all)`` -> ``item_top1 ↑ (all)``)."""
    pattern = re.compile(r"\b(" + "|".join(sorted(METRICS, key=len, reverse=True)) + r")\b")
    return table.rename(columns=lambda c: pattern.sub(lambda m: METRICS[m.group(1)].label, str(c), count=1))


def _tie_aware(values: torch.Tensor, mask: torch.Tensor, target_flat: torch.Tensor):
    """Top-1 credit (1/k when k entries tie at the minimum) and reciprocal rank (ties averaged)."""
    v = values.masked_fill(~mask, math.inf)
    tv = v.gather(1, target_flat[:, None])
    lower = (v < tv).sum(1).float()
    ties = (v == tv).sum(1).float()  # includes the target itself
    top1 = torch.where(lower == 0, 1.0 / ties, torch.zeros_like(ties))
    rank = 1 + lower + (ties - 1) / 2
    return top1, 1.0 / rank


def detection_scores(attr: Attribution, position, kind) -> pd.DataFrame:
    """Per-case detection: item top-1, (item, group) top-1 and reciprocal rank of the swapped item.

    Parameters
    ----------
    attr : Attribution
        One explanation per case.
    position : int array (C,)
        The swapped item of each case.
    kind : str array (C,)
        What the swap changed: a feature group's name, or ``item`` (no pair answer).
    """
    kind = np.asarray(kind)
    pos = torch.as_tensor(np.asarray(position), dtype=torch.long)
    item_top1, rr = _tie_aware(attr.values.sum(-1), attr.mask, pos)
    G = attr.values.shape[-1]
    # a swap kind names the group it changes; "item" (or a group the method does not score) has no pair answer
    group = torch.tensor([attr.groups.index(k) if k in attr.groups else 0 for k in kind])
    pair_vals = attr.values.flatten(1)
    pair_mask = attr.mask[..., None].expand_as(attr.values).flatten(1)
    pair_top1, _ = _tie_aware(pair_vals, pair_mask, pos * G + group)
    pair_top1 = pair_top1.numpy().astype(float)
    pair_top1[~np.isin(kind, list(attr.groups))] = np.nan
    if attr.item_level:
        pair_top1[:] = np.nan
    return pd.DataFrame({"item_top1": item_top1.numpy(), "pair_top1": pair_top1, "rr": rr.numpy()})


def random_expected(cases: SwapCases) -> dict:
    """Analytic item top-1 and MRR of a uniformly random ranking: mean of 1/n and H_n/n."""
    n = cases.size
    harmonic = np.array([sum(1 / k for k in range(1, m + 1)) for m in n])
    pair = n[np.isin(cases.kind, list(cases.groups))] * len(cases.groups)
    return {"item_top1": float((1 / n).mean()), "mrr": float((harmonic / n).mean()),
            "pair_top1": float((1 / pair).mean()) if len(pair) else float("nan")}


def bootstrap_ci(values, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> tuple:
    """Percentile bootstrap interval of the mean (NaNs dropped)."""
    check_count(n_boot, "n_boot")
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), (n_boot, len(v)))].mean(1)
    lo, hi = np.quantile(means, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def summarise(per_case: pd.DataFrame, by=None) -> pd.DataFrame:
    """Mean item top-1, pair top-1 and MRR per method (and per ``by`` columns), all and unambiguous cases."""
    keys = ["method"] + ([by] if isinstance(by, str) else list(by or []))
    agg = {"item_top1": "mean", "pair_top1": "mean", "rr": "mean"}
    full = per_case.groupby(keys, sort=False).agg(agg)
    unamb = per_case[per_case.unambiguous].groupby(keys, sort=False).agg(agg)
    full.columns = [("mrr" if c == "rr" else c) + " (all)" for c in full.columns]
    unamb.columns = [("mrr" if c == "rr" else c) + " (unambiguous)" for c in unamb.columns]
    out = full.join(unamb)
    out["cases"] = per_case.groupby(keys, sort=False).size()
    return out.round(3)


def seed_summary(per_case: pd.DataFrame, n_boot: int = 1000, level: float = 0.95) -> pd.DataFrame:
    """Per method and metric: the mean over seeds of each seed's mean, their sd, and the pooled bootstrap interval.

    Columns ``<metric>``, ``<metric>_sd``, ``<metric>_lo``, ``<metric>_hi`` for item_top1,
    pair_top1 and mrr, over all cases and (suffix ``_unambiguous``) over unambiguous ones;
    ``cases`` and ``seeds`` count what they rest on.
    """
    rows = {}
    for m, frame in per_case.groupby("method", sort=False):
        row = {}
        for suffix, part in (("", frame), ("_unambiguous", frame[frame.unambiguous])):
            for metric, col in (("item_top1", "item_top1"), ("pair_top1", "pair_top1"), ("mrr", "rr")):
                per_seed = part.groupby("seed")[col].mean()
                lo, hi = bootstrap_ci(part[col], n_boot, level=level)
                row.update({f"{metric}{suffix}": per_seed.mean(),
                            f"{metric}{suffix}_sd": per_seed.std(ddof=1) if len(per_seed) > 1 else np.nan,
                            f"{metric}{suffix}_lo": lo, f"{metric}{suffix}_hi": hi})
        row["cases"], row["seeds"] = len(frame), frame["seed"].nunique()
        rows[m] = row
    return pd.DataFrame(rows).T


def headline(report, subset: str = "unambiguous") -> pd.DataFrame:
    """Per method: item and pair top-1 and MRR as ``mean ± sd over seeds [pooled 95% interval]``."""
    s = report.summary
    suffix = "_unambiguous" if subset == "unambiguous" else ""
    out = pd.DataFrame(index=s.index)
    for metric in ("item_top1", "pair_top1", "mrr"):
        k = metric + suffix

        def fmt(r, k=k):
            if pd.isna(r[k]):
                return "n/a"
            sd = "" if pd.isna(r[k + "_sd"]) else f" ± {r[k + '_sd']:.3f}"
            return f"{r[k]:.3f}{sd} [{r[k + '_lo']:.3f}, {r[k + '_hi']:.3f}]"
        out[f"{metric} ({subset})"] = s.apply(fmt, axis=1)
    out["cases"] = s["cases"].astype(int)
    return out
