"""Every metric, declared once as an object; the metrics computed from explanations compute themselves
(chapters 06-08).

A :class:`Metric` declares its direction, family and granularity; a :class:`CaseMetric` is also
called, Quantus's pattern, on explanations and the cases they explain, ``metric(attr, cases)``,
and returns one value per case. The swap test's and the pair test's metrics live here, Quantus's
in :mod:`~xfashion.evaluate.faithfulness`; the runners score every registered metric of a family
(:func:`family_scores`), so adding a metric is one class and :func:`register_metric`.

Tables carry plain metric names (``item_top1``, ``ms_per_outfit``); :func:`format_table` adds
the arrows (↑ higher is better, ↓ lower is better) for display, as Quantus declares a
``score_direction`` per metric. Select columns by their plain names; :func:`readable` spells methods and
metrics in words (:func:`method_name`, :func:`metric_name`), one spelling for prose, tables and figures.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from types import MappingProxyType, SimpleNamespace
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd
import torch

from ..explain import Attribution
from ..utils import check_count

if TYPE_CHECKING:
    from .swap import SwapCases


FAMILIES = ("swap test", "pair test", "faithfulness", "randomisation", "complexity", "agreement", "cost", "scorer")
GRANULARITIES = ("item", "item_feature", "pair", "outfit", "method")


@dataclass(frozen=True)
class Metric:
    """One metric, declared once: which way is better, what it measures, its family and granularity.

    Attributes
    ----------
    name : str
        Also the name of its column in per-case data and tables.
    direction : {'higher', 'lower'}
        Which way is better (Quantus's ``score_direction``); tables show it as an arrow.
    description : str
    family : str
        One of :data:`FAMILIES`: the swap test (localisation against ground truth), faithfulness,
        randomisation and complexity (Quantus), agreement with the oracle, cost, scorer quality.
    granularity : str
        What it judges: the ranking of items, of (item, group) cells, a whole outfit, or a method.
    per_case : bool
        Computed per case from explanations (a :class:`CaseMetric`, a column of ``report.per_case``).
    """

    per_case: ClassVar[bool] = False

    name: str
    direction: str
    description: str
    family: str = "scorer"
    granularity: str = "method"

    def __post_init__(self):
        if self.direction not in ("higher", "lower"):
            raise ValueError(f"direction must be 'higher' or 'lower'; got {self.direction!r}.")
        if self.family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}; got {self.family!r}.")
        if self.granularity not in GRANULARITIES:
            raise ValueError(f"granularity must be one of {GRANULARITIES}; got {self.granularity!r}.")

    @property
    def arrow(self) -> str:
        return "↑" if self.direction == "higher" else "↓"

    @property
    def label(self) -> str:
        return f"{self.name} {self.arrow}"

    def compute(self, per_case: pd.DataFrame) -> float:
        """The metric from per-case data: the mean of its column over the cases that have a value."""
        if not self.per_case:
            raise ValueError(f"{self.name} is not computed from per-case data.")
        return float(per_case[self.name].mean()) if self.name in per_case else math.nan


@dataclass(frozen=True)
class CaseMetric(Metric):
    """A metric computed per case from explanations: ``metric(attr, cases, **context) -> values (C,)``.

    ``cases`` is anything with the fields the metric reads (the swap test's ``position`` and ``kind``,
    the pair test's ``position`` and ``partner``); ``context`` carries what a metric may need besides
    (the scorer, the dataset means, the method's options, a seed). :meth:`Metric.compute` is the mean.
    """

    per_case: ClassVar[bool] = True

    def __call__(self, attr, cases, **context) -> np.ndarray:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError


_REGISTRY: dict = {}
METRICS = MappingProxyType(_REGISTRY)  # name -> Metric, read-only; register_metric adds to it


def register_metric(metric: Metric) -> Metric:
    """Add ``metric`` to :data:`METRICS` (its family's runner then scores it); returns it.

    The same metric declared again (a re-run notebook cell: same class name and fields) replaces
    itself; another metric under a taken name is a ValueError.
    """
    if not isinstance(metric, Metric):
        raise TypeError(f"register_metric takes a Metric object (e.g. MyMetric('name', 'higher', ...)); "
                        f"got {type(metric).__name__}.")
    old = _REGISTRY.get(metric.name)
    if old is not None and (type(old).__qualname__, repr(old)) != (type(metric).__qualname__, repr(metric)):
        raise ValueError(f"Metric name {metric.name!r} is already registered ({old!r}); choose another name, or "
                         f"xf.evaluate.metrics.unregister_metric({metric.name!r}) first to replace it on purpose.")
    _REGISTRY[metric.name] = metric
    return metric


def unregister_metric(name: str) -> None:
    """Remove a registered metric; an unknown name is a ValueError."""
    if name not in _REGISTRY:
        raise ValueError(f"Unknown metric {name!r}; registered: {list(_REGISTRY)}.")
    del _REGISTRY[name]


# ----------------------------------------------------------------------------- the swap test's metrics
def _positions(cases) -> torch.Tensor:
    return torch.as_tensor(np.asarray(cases.position), dtype=torch.long)


@dataclass(frozen=True)
class ItemTop1(CaseMetric):
    """1 when the swapped item has the lowest item value (1/k when k items tie there)."""

    def __call__(self, attr, cases, **context) -> np.ndarray:
        return _tie_aware(attr.values.sum(-1), attr.mask, _positions(cases))[0].numpy()


@dataclass(frozen=True)
class ItemMRR(CaseMetric):
    """The reciprocal rank of the swapped item among the outfit's items (ties averaged)."""

    def __call__(self, attr, cases, **context) -> np.ndarray:
        return _tie_aware(attr.values.sum(-1), attr.mask, _positions(cases))[1].numpy()


@dataclass(frozen=True)
class CellTop1(CaseMetric):
    """1 when the swapped (item, group) cell is the lowest; NaN where the swap names no group (``item``
    swaps, a group the method does not score) and for methods that score items only."""

    def __call__(self, attr, cases, **context) -> np.ndarray:
        kind = np.asarray(cases.kind)
        G = attr.values.shape[-1]
        # a swap kind names the group it changes; "item" (or a group the method does not score) has no pair answer
        group = torch.tensor([attr.groups.index(k) if k in attr.groups else 0 for k in kind])
        pair_vals = attr.values.flatten(1)
        pair_mask = attr.mask[..., None].expand_as(attr.values).flatten(1)
        top1 = _tie_aware(pair_vals, pair_mask, _positions(cases) * G + group)[0].numpy().astype(float)
        top1[~np.isin(kind, list(attr.groups))] = np.nan
        if attr.item_level:
            top1[:] = np.nan
        return top1


# ----------------------------------------------------------------------------- the pair test's metrics
def _clash_ranks(attr, cases) -> tuple:
    """Per case: pairs strictly below the faulted pair, pairs tied with it (itself included), and its rank among
    the outfit's pairs (the mean rank over ties, 1 is first)."""
    v, m = attr.values, attr.mask
    n = m.shape[1]
    true = v[torch.arange(len(v)), _positions(cases), torch.as_tensor(np.asarray(cases.partner))]
    upper = torch.triu(torch.ones(n, n, dtype=torch.bool), 1) & m[:, :, None] & m[:, None, :]
    lower = ((v < true[:, None, None]) & upper).flatten(1).sum(1)
    ties = ((v == true[:, None, None]) & upper).flatten(1).sum(1)
    return lower, ties, lower + (ties + 1) / 2.0


@dataclass(frozen=True)
class ClashTop1(CaseMetric):
    """1 when the faulted pair has the lowest pair value (1/k when k pairs tie there)."""

    def __call__(self, attr, cases, **context) -> np.ndarray:
        lower, ties, _ = _clash_ranks(attr, cases)
        return np.where(lower.numpy() == 0, 1.0 / ties.numpy(), 0.0)


@dataclass(frozen=True)
class ClashRank(CaseMetric):
    """The faulted pair's rank among the outfit's pairs, the mean rank over ties (1 is first)."""

    def __call__(self, attr, cases, **context) -> np.ndarray:
        return _clash_ranks(attr, cases)[2].numpy()


@dataclass(frozen=True)
class ClashMRR(CaseMetric):
    """The reciprocal of :class:`ClashRank`."""

    def __call__(self, attr, cases, **context) -> np.ndarray:
        return (1.0 / _clash_ranks(attr, cases)[2]).numpy()


for _metric in [
    ItemTop1("item_top1", "higher", "the swapped item has the lowest item value (ties share the credit)",
             "swap test", "item"),
    CellTop1("cell_top1", "higher", "the swapped (item, group) cell has the lowest value", "swap test",
             "item_feature"),
    ItemMRR("mrr", "higher", "mean reciprocal rank of the swapped item", "swap test", "item"),
    ClashTop1("clash_top1", "higher", "the faulted pair of items has the lowest pair value", "pair test", "pair"),
    ClashRank("clash_rank", "lower", "rank of the faulted pair among the outfit's item pairs (1 is first)",
              "pair test", "pair"),
    ClashMRR("clash_mrr", "higher", "mean reciprocal rank of the faulted pair", "pair test", "pair"),
    # declared only: computed by the code that measures them (agreement, cost, the scorer's metrics)
    Metric("item_hit", "higher", "the method's culprit item carries oracle blame", "agreement", "item"),
    Metric("cell_hit", "higher", "the method's culprit (item, group) carries oracle blame", "agreement",
           "item_feature"),
    Metric("ms_per_outfit", "lower", "wall-clock milliseconds per outfit", "cost"),
    Metric("forward_passes", "lower", "forward passes per outfit (counted by hooks)", "cost"),
    Metric("backward_passes", "lower", "backward passes per outfit (counted by hooks)", "cost"),
    Metric("ratio_to_forward", "lower", "time as a multiple of one forward pass of the same batch", "cost"),
    Metric("auc", "higher", "ROC AUC of good vs bad outfits", "scorer", "outfit"),
    Metric("accuracy", "higher", "accuracy at logit 0", "scorer", "outfit"),
    Metric("fitb_accuracy", "higher", "fill-in-the-blank accuracy", "scorer", "outfit"),
    Metric("fixes", "higher", "share of bad outfits that the suggestion repairs", "agreement", "outfit"),
]:
    register_metric(_metric)


def metrics_of(family: str | None = None, per_case: bool | None = None) -> list:
    """The registered :class:`Metric` objects of a family (and/or computed per case), family by family in
    the order of :data:`FAMILIES`, each family in registration order."""
    if family is not None and family not in FAMILIES:
        raise ValueError(f"Unknown metric family {family!r}; choose from {FAMILIES}.")
    found = [m for m in METRICS.values()
             if (family is None or m.family == family) and (per_case is None or m.per_case == per_case)]
    return sorted(found, key=lambda m: FAMILIES.index(m.family))


def family_scores(family: str, attr, cases, **context) -> pd.DataFrame:
    """Every registered per-case metric of ``family`` on explanations ``attr`` of ``cases``: one column each."""
    return pd.DataFrame({m.name: m(attr, cases, **context) for m in metrics_of(family, per_case=True)})


_METRIC_WORDS = {"item_top1": "item top-1", "cell_top1": "(item, group) top-1", "mrr": "MRR", "mprt": "MPRT",
                 "clash_top1": "clash top-1", "clash_mrr": "clash MRR"}  # the others: "_" as a space
_METHOD_WORDS = {"ifiv": "IFIV", "grad_cam": "Grad-CAM", "pixel_ig": "pixel IG", "integrated_gradients": "IG",
                 "integrated_gradients_mean": "IG from the mean item", "exact_shapley": "exact Shapley",
                 "shapley_sampling": "Shapley sampling", "gradient_shap": "GradientSHAP",
                 "input_x_gradient": "InputXGradient", "deeplift": "DeepLift", "ifiv_mean": "IFIV from the mean item"}


def metric_name(name: str, arrow: bool = False) -> str:
    """A metric as prose, tables and figures name it: ``item_top1`` -> 'item top-1' ('item top-1 ↑' with ``arrow``)."""
    words = _METRIC_WORDS.get(name, name.replace("_", " "))
    return f"{words} {METRICS[name].arrow}" if arrow and name in METRICS else words


def method_name(m: str) -> str:
    """A method as the prose names it (``feature_ablation`` -> 'feature ablation', ``ifiv`` -> 'IFIV')."""
    return _METHOD_WORDS.get(m, m.replace("_", " "))


def readable(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``table`` with methods and metrics in words: rows by :func:`method_name`, metric columns by
    :func:`metric_name` with their arrow (``item_top1 (all)`` -> ``item top-1 ↑ (all)``)."""
    pattern = re.compile(r"\b(" + "|".join(sorted(METRICS, key=len, reverse=True)) + r")\b")
    return table.rename(index=lambda m: method_name(m) if isinstance(m, str) else m,
                        columns=lambda c: pattern.sub(lambda k: metric_name(k.group(1), arrow=True), str(c), count=1))


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
    """Per-case detection: every swap-test metric (item top-1, (item, group) top-1, reciprocal rank, ...).

    Parameters
    ----------
    attr : Attribution
        One explanation per case.
    position : int array (C,)
        The swapped item of each case.
    kind : str array (C,)
        What the swap changed: a feature group's name, or ``item`` (no pair answer).
    """
    return family_scores("swap test", attr, SimpleNamespace(position=position, kind=kind))


def random_expected(cases: SwapCases) -> dict:
    """Analytic item top-1 and MRR of a uniformly random ranking: mean of 1/n and H_n/n."""
    n = cases.size
    harmonic = np.array([sum(1 / k for k in range(1, m + 1)) for m in n])
    pair = n[np.isin(cases.kind, list(cases.groups))] * len(cases.groups)
    return {"item_top1": float((1 / n).mean()), "mrr": float((harmonic / n).mean()),
            "cell_top1": float((1 / pair).mean()) if len(pair) else float("nan")}


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


def summarise(per_case: pd.DataFrame, by=None, family: str = "swap test") -> pd.DataFrame:
    """Each per-case metric of ``family`` per method (and per ``by`` columns), over all and unambiguous cases."""
    keys = ["method"] + ([by] if isinstance(by, str) else list(by or []))
    names = [m.name for m in metrics_of(family, per_case=True) if m.name in per_case]
    full = per_case.groupby(keys, sort=False)[names].mean()
    unamb = per_case[per_case.unambiguous].groupby(keys, sort=False)[names].mean()
    out = full.add_suffix(" (all)").join(unamb.add_suffix(" (unambiguous)"))
    out["cases"] = per_case.groupby(keys, sort=False).size()
    return out.round(3)


def seed_summary(per_case: pd.DataFrame, n_boot: int = 1000, level: float = 0.95) -> pd.DataFrame:
    """Per method and metric: the mean over seeds of each seed's mean, their sd, and the pooled bootstrap interval.

    Columns ``<metric>``, ``<metric>_sd``, ``<metric>_lo``, ``<metric>_hi`` for every declared
    per-case metric in ``per_case``, over all cases and (suffix ``_unambiguous``) over unambiguous
    ones; ``cases`` and ``seeds`` count what they rest on.
    """
    names = [m.name for m in metrics_of(per_case=True) if m.name in per_case]
    rows = {}
    for m, frame in per_case.groupby("method", sort=False):
        row = {}
        for suffix, part in (("", frame), ("_unambiguous", frame[frame.unambiguous])):
            for metric in names:
                per_seed = part.groupby("seed")[metric].mean()
                lo, hi = bootstrap_ci(part[metric], n_boot, level=level)
                row.update({f"{metric}{suffix}": per_seed.mean(),
                            f"{metric}{suffix}_sd": per_seed.std(ddof=1) if len(per_seed) > 1 else np.nan,
                            f"{metric}{suffix}_lo": lo, f"{metric}{suffix}_hi": hi})
        row["cases"], row["seeds"] = len(frame), frame["seed"].nunique()
        rows[m] = row
    return pd.DataFrame(rows).T


def headline(report, subset: str = "unambiguous", family: str = "swap test") -> pd.DataFrame:
    """Per method, each metric of ``family``: ``mean ± sd over seeds [pooled 95% interval]``.

    ``subset`` is ``"unambiguous"`` (cases whose swapped item is the unique culprit) or ``"all"``.
    """
    if subset not in ("unambiguous", "all"):
        raise ValueError(f"subset must be 'unambiguous' or 'all'; got {subset!r}.")
    s = report.summary
    suffix = "_unambiguous" if subset == "unambiguous" else ""
    out = pd.DataFrame(index=s.index)
    for metric in [m.name for m in metrics_of(family, per_case=True) if m.name + suffix in s]:
        k = metric + suffix

        def fmt(r, k=k):
            if pd.isna(r[k]):
                return "n/a"
            sd = "" if pd.isna(r[k + "_sd"]) else f" ± {r[k + '_sd']:.3f}"
            return f"{r[k]:.3f}{sd} [{r[k + '_lo']:.3f}, {r[k + '_hi']:.3f}]"
        out[f"{metric} ({subset})"] = s.apply(fmt, axis=1)
    out["cases"] = s["cases"].astype(int)
    return out


def hit_rates(report, metric: str = "item_top1", methods=None) -> pd.DataFrame:
    """Per method: ``metric``'s mean over scorer seeds, their sd, the pooled 95% interval, the chance level on the
    method's own cases (a uniformly random ranking of their items or (item, group) cells) and the cases.

    Chance is computed per method because the capped methods see a subset of the cases, whose outfit sizes
    differ slightly; the pair metric counts only the swaps that name a group.
    """
    if metric not in ("item_top1", "cell_top1", "mrr"):
        raise ValueError(f"metric must be 'item_top1', 'cell_top1' or 'mrr'; got {metric!r}.")
    s, pc = report.summary, report.per_case
    methods = [m for m in (methods or s.index) if m in s.index]
    rows = {}
    for m in methods:
        each = chance_per_case(pc[pc.method == m], metric, report.first.groups)
        chance = float(np.nanmean(each)) if (each == each).any() else math.nan
        rows[m] = {"mean": float(s.loc[m, metric]), "sd": float(s.loc[m, f"{metric}_sd"]),
                   "lo": float(s.loc[m, f"{metric}_lo"]), "hi": float(s.loc[m, f"{metric}_hi"]), "chance": chance,
                   "cases": int(s.loc[m, "cases"])}
    return pd.DataFrame(rows).T.astype({"cases": int})


def chance_per_case(per_case: pd.DataFrame, metric: str, groups=("color", "shape_texture")) -> np.ndarray:
    """Each case's chance of a hit by ``metric`` (``item_top1``, ``cell_top1`` or ``mrr``) under a uniformly
    random ranking of its items, or of its (item, group) cells; NaN where the metric does not score the case
    (``cell_top1`` on a whole-item swap) or for another metric. ``per_case`` needs ``size`` and ``kind``."""
    n = per_case["size"].to_numpy(dtype=float)
    if metric == "item_top1":
        return 1 / n
    if metric == "mrr":
        return np.array([sum(1 / k for k in range(1, int(x) + 1)) / x for x in n])
    if metric == "cell_top1":
        return np.where(per_case["kind"].isin(list(groups)).to_numpy(), 1 / (n * len(groups)), np.nan)
    return np.full(len(n), np.nan)
