"""Ranking explainers under several metrics with noise allowed for (chapter 07).

A method's score is a mean over a few hundred cases and three scorer seeds, so it is only as sure as
its standard error. A ranking treats a gap within two standard errors as a tie (:func:`tied_ranks`),
and two metrics disagree only where they order a pair of methods in opposite directions, each beyond
noise (:func:`opposed_pairs`). The ``*_sentences`` functions say what a run found, with its numbers.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .metrics import METRICS, method_name, metric_name


class _Spread:
    """Per (method, scorer seed) means, variances and case counts of ``metrics``, computed once: the standard
    errors of many gaps (:func:`tied_ranks`, :func:`gap_z`) read them instead of re-grouping the cases."""

    def __init__(self, per_case: pd.DataFrame, metrics):
        by = per_case.groupby(["method", "seed"])[list(metrics)]
        mean, var, count = by.mean(), by.var(), by.count()
        seen = count > 0
        # a method's SE: its seeds' squared SEs summed, over the number of seeds that hold the metric
        self.se = np.sqrt((var / count).where(seen).groupby(level="method").sum()) / seen.groupby(level="method").sum()
        self.seeds = {n: mean[n].unstack("method") for n in metrics}  # seeds x methods; NaN: no value
        self.present = pd.Series(True, index=mean.index).unstack("method", fill_value=False)  # any case at all
        self.held = set(self.present.columns)

    def mean_se(self, method: str, metric: str) -> float:
        se = float(self.se[metric].get(method, np.nan))
        if np.isnan(se):
            raise ValueError(f"No {metric} of {method!r} in per_case; pick a method and metric it holds.")
        return se

    def gap_se(self, a: str, b: str, metric: str) -> float:
        if not {a, b} <= self.held:
            raise ValueError(f"No cases of {sorted({a, b} - self.held)} in per_case; pick methods it holds.")
        seeds = self.present.index[self.present[a] | self.present[b]]  # the seeds where either method has cases
        means = self.seeds[metric].reindex(seeds)
        gap = float((means[a] - means[b]).std() / np.sqrt(len(seeds)))
        return max(float(np.hypot(self.mean_se(a, metric), self.mean_se(b, metric))), gap)


def mean_se(per_case: pd.DataFrame, method: str, metric: str) -> float:
    """Standard error of a method's mean ``metric`` (the mean of the scorer seeds' means), from its cases."""
    return _Spread(per_case[per_case.method == method], [metric]).mean_se(method, metric)


def gap_se(per_case: pd.DataFrame, a: str, b: str, metric: str) -> float:
    """Standard error of the gap between two methods' mean ``metric``.

    The larger of two estimates: from the cases (each method's :func:`mean_se`, as if independent) and
    from how the gap moves between the scorer seeds.
    """
    return _Spread(per_case[per_case.method.isin([a, b])], [metric]).gap_se(a, b, metric)


def _order(scores: pd.DataFrame, metric: str) -> pd.Series:
    """The metric's scores, best first (its declared direction)."""
    return scores[metric].dropna().sort_values(ascending=METRICS[metric].direction == "lower", kind="stable")


def tied_ranks(scores: pd.DataFrame, per_case: pd.DataFrame, k: float = 2.0) -> pd.DataFrame:
    """Rank methods (rows) under each metric (column), 1 = best, with a gap within ``k`` standard errors a tie.

    Down the metric's order, the best method opens a group, and every next method within ``k`` standard
    errors of the gap (:func:`gap_se`) of the group's first joins it; the first method beyond opens the
    next group. A group shares the best rank of its members. A method without a score has no rank.
    """
    spread = _Spread(per_case, scores.columns)
    ranks = pd.DataFrame(np.nan, index=scores.index, columns=scores.columns)
    for n in scores.columns:
        s, lead = _order(scores, n), None
        for place, m in enumerate(s.index, 1):
            if lead is None or abs(s[m] - s[lead]) > k * spread.gap_se(lead, m, n):
                lead, rank = m, place
            ranks.loc[m, n] = rank
    return ranks


def first_places(scores: pd.DataFrame, per_case: pd.DataFrame, k: float = 2.0) -> dict:
    """``{metric: [its best method, then every method within k standard errors of the gap to it]}``."""
    spread, out = _Spread(per_case, scores.columns), {}
    for n in scores.columns:
        s = _order(scores, n)
        lead = s.index[0]
        out[n] = [lead] + [m for m in s.index[1:] if abs(s[m] - s[lead]) <= k * spread.gap_se(lead, m, n)]
    return out


def weighted_ranks(ranks: pd.DataFrame, weights: dict) -> pd.DataFrame:
    """Methods ordered by their mean rank over the metrics, each metric counted ``weights[metric]`` times.

    ``ranks``: :func:`tied_ranks`; a metric with weight 0 (or left out of ``weights``) does not count, and a
    method without a rank under a metric is averaged over the metrics it has. Returns ``mean rank`` and
    ``place`` (1 = best; equal means share a place), best first.
    """
    w = pd.Series({n: float(weights.get(n, 0)) for n in ranks.columns})
    if (w < 0).any() or not (w > 0).any():
        raise ValueError(f"Weights must be >= 0 with at least one above 0; got {dict(w)}.")
    used = ranks.loc[:, w > 0]
    mean = (used * w[w > 0]).sum(axis=1, min_count=1) / used.notna().mul(w[w > 0]).sum(axis=1)
    out = pd.DataFrame({"mean rank": mean, "place": mean.round(9).rank(method="min")})
    return out.sort_values("mean rank", kind="stable")


def kendall_tau_b(ranks: pd.DataFrame) -> pd.DataFrame:
    """Kendall's tau-b (ties corrected, scipy) between every two columns, over the rows ranked by both."""
    from scipy.stats import kendalltau

    names = list(ranks.columns)
    out = pd.DataFrame(1.0, index=names, columns=names)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            both = ranks[[a, b]].dropna()
            out.loc[a, b] = out.loc[b, a] = float(kendalltau(both[a], both[b]).statistic)
    return out


def gap_z(scores: pd.DataFrame, per_case: pd.DataFrame) -> pd.Series:
    """Every two methods' gap under every metric, in standard errors of the gap (:func:`gap_se`).

    Indexed by (metric, a, b) with ``a`` before ``b`` in the rows of ``scores``; positive when ``a`` is the better
    of the two under the metric's declared direction. A pair that a metric does not score both of is left out.
    """
    z, methods, spread = {}, list(scores.index), _Spread(per_case, scores.columns)
    for n in scores.columns:
        up = 1 if METRICS[n].direction == "higher" else -1
        for i, a in enumerate(methods):
            for b in methods[i + 1:]:
                if not (np.isnan(scores.loc[a, n]) or np.isnan(scores.loc[b, n])):
                    z[n, a, b] = up * (scores.loc[a, n] - scores.loc[b, n]) / spread.gap_se(a, b, n)
    return pd.Series(z, dtype=float)


def opposed_pairs(scores: pd.DataFrame, per_case: pd.DataFrame, k: float = 2.0) -> pd.DataFrame:
    """For every two metrics, the pairs of methods they order in opposite directions, each by over ``k`` SE.

    Returns one row per (metric, other, a, b): ``metric`` puts method ``a`` ahead of ``b`` by ``se``
    standard errors of the gap (:func:`gap_se`), ``other`` puts it behind by ``se_other``.
    """
    z = gap_z(scores, per_case)
    signs = z.where(z.abs() > k, 0.0).to_dict()  # (metric, a, b): +z if a is better beyond noise, -z if worse
    methods, rows, names = list(scores.index), [], list(scores.columns)
    for i, x in enumerate(names):
        for y in names[i + 1:]:
            for a, b in ((a, b) for j, a in enumerate(methods) for b in methods[j + 1:]):
                zx, zy = signs.get((x, a, b), 0.0), signs.get((y, a, b), 0.0)
                if zx * zy < 0:  # a better under one, worse under the other, both beyond noise
                    first, second = (a, b) if zx > 0 else (b, a)  # a: the method the first metric puts ahead
                    rows.append({"metric": x, "other": y, "a": first, "b": second, "se": abs(zx), "se_other": abs(zy)})
    return pd.DataFrame(rows, columns=["metric", "other", "a", "b", "se", "se_other"])


def precision_sentences(report, a: str = "feature_ablation", b: str = "ifiv",
                        metric: str = "faithfulness_correlation", k: float = 2.0) -> list:
    """How many cases Quantus judges and why that many: the standard errors it gives, the smallest gap between
    two typical methods the rankings can call at ``k`` standard errors, and the gap ``a`` - ``b`` in them."""
    per_case, methods = report.per_case, [m for m in report.summary.index if m != "oracle"]
    se = pd.Series({m: mean_se(per_case, m, metric) for m in methods if m != "random"})
    counts = per_case.dropna(subset=[metric]).groupby("method").size()
    seeds, widest, n = len(report.config["seeds"]), se.idxmax(), report.config["quantus_cases"]
    full = per_case.groupby("method").size().max() // seeds
    gap = float(report.summary.loc[a, metric] - report.summary.loc[b, metric])
    resolution = k * np.sqrt(2) * se.median()  # k standard errors of the gap between two methods of median SE
    return [f"Quantus judges {n} cases per scorer seed, {counts.max()} per method over the {seeds} seeds (the swap "
            f"test up to {full} per seed). Why {n}: the standard error of a method's mean {metric_name(metric)} is "
            f"then {se.min():.3f} to {se.max():.3f} (the widest: {method_name(widest)}"
            + (f", judged on {counts[widest]} cases" if counts[widest] < counts.max() else "")
            + f"), so the rankings below can tell apart two typical methods {resolution:.3f} apart ({k:g} standard "
            f"errors of their gap), and the gap the chapter leans on most, {method_name(a)} ahead of {method_name(b)}, "
            f"is {gap:.3f}: {gap / gap_se(per_case, a, b, metric):.1f} standard errors of the gap. Halving every "
            "standard error would take four times the cases, and four times Quantus's time in this chapter's first "
            "cell, to settle ties between near neighbours, on which no sentence of the chapter rests."]


def sparseness_sentences(report, methods, pixel=("grad_cam", "pixel_ig")) -> list:
    """What sparseness does as a ranking: why its values lie close (the outfit sets them more than the method,
    within the Gini index's ceiling), its span against item top-1's, and the widest pair it orders wrongly."""
    summary, real = report.summary, [m for m in methods if m != "random"]
    sp, top1 = (summary.loc[methods, n].astype(float) for n in ("sparseness", "item_top1"))
    grouped = [m for m in real if m not in pixel]  # the methods that read the scorer's features
    se = max(mean_se(report.per_case, m, "sparseness") for m in grouped)
    judged = report.per_case[report.per_case.method.isin(grouped)].dropna(subset=["sparseness"])
    spread = judged.groupby("method")["sparseness"].std()  # from one case to the next, per method
    players = 2 * judged["size"]  # two feature groups an item; Quantus's Gini index of n values is at most (n-1)/n
    outfit = spread.median() > np.ptp(sp[grouped])  # does a method's value vary more across cases than methods do?
    # the widest disagreement: a method more concentrated than another that localises far better
    flips = [(top1[b] - top1[a], a, b) for a in real for b in real if sp[a] > sp[b] + 2 * se and top1[a] < top1[b]]
    said = [f"Over the methods that explain the scorer's features, sparseness spans {sp[grouped].min():.3f} to "
            f"{sp[grouped].max():.3f} (a standard error of up to {se:.3f}); item top-1 spans "
            f"{top1[grouped].min():.3f} to {top1[grouped].max():.3f} over the same methods. Why so narrow: on "
            f"{players.min()} to {players.max()} players the index runs only from 0 (every player alike) to "
            f"{1 - 1 / players.min():.2f}-{1 - 1 / players.max():.2f} (one player holds it all), and "
            + ("the outfit moves it more than the method does" if outfit else "the method moves it more than the "
               "outfit does")
            + f": from one case to the next a typical method's value moves with a standard deviation of "
            f"{spread.median():.3f} ({spread.min():.3f} to {spread.max():.3f}), {'more' if outfit else 'less'} than "
            f"the {np.ptp(sp[grouped]):.3f} between the methods' means. Random noise scores {sp['random']:.3f}."]
    if flips:
        _, a, b = max(flips)
        said.append(f"Sparseness puts {method_name(a)} ({sp[a]:.3f}) above {method_name(b)} ({sp[b]:.3f}), while "
                    f"their item top-1 is {top1[a]:.3f} against {top1[b]:.3f} (chance {top1['random']:.3f}).")
    return said


def first_place_sentences(scores: pd.DataFrame, firsts: dict, agree: pd.DataFrame) -> list:
    """Each metric's first place (ties said as ties), methods that score alike, and the metrics that agree least."""
    def said(f):
        if len(f) == 1:
            return method_name(f[0])
        return " = ".join(map(method_name, f)) + " (tied)" if len(f) <= 3 else \
            f"{method_name(f[0])}, tied with {len(f) - 1} others"

    names = list(scores.columns)
    same = [list(g) for g in scores.groupby(names, dropna=False).groups.values() if len(g) > 1]
    pairs = agree.where(np.triu(np.ones(agree.shape, dtype=bool), 1)).stack().dropna()
    low, high = pairs.idxmin(), pairs.idxmax()
    return ["Ranked first, metric by metric (methods within two standard errors of the first are tied with it): "
            + "; ".join(f"by {metric_name(n)}, {said(f)}" for n, f in firsts.items()) + ".",
            *(f"{' = '.join(map(method_name, g))} score the same under every ranked metric, so they share every "
              "rank (as chapter 05 showed, they compute the same numbers)." for g in same),
            f"The two metrics that agree least are {metric_name(low[0])} and {metric_name(low[1])} (Kendall's tau-b "
            f"{pairs[low]:.2f}, the lowest cell of the matrix; the highest off the diagonal is {pairs.max():.2f}, "
            f"between {metric_name(high[0])} and {metric_name(high[1])})."]


def agreement_sentences(raw: pd.DataFrame, tied: pd.DataFrame, opposed: pd.DataFrame) -> list:
    """What allowing for noise changes in the metrics' agreement, in sentences with their numbers.

    ``raw`` and ``tied``: :func:`kendall_tau_b` of the plain ranks and of :func:`tied_ranks`; ``opposed``:
    :func:`opposed_pairs`.
    """
    upper = np.triu(np.ones(raw.shape, dtype=bool), 1)
    before, after = raw.where(upper).stack().dropna(), tied.where(upper).stack().dropna()
    moved = (after - before).reindex(before.index).sort_values()
    most = moved.abs().idxmax()
    said = [f"With ties within two standard errors, Kendall's tau-b rises for {int((moved > 0.005).sum())} of the "
            f"{len(moved)} pairs of metrics and falls for {int((moved < -0.005).sum())}; the lowest goes from "
            f"{before.min():.2f} to {after.min():.2f}, and {metric_name(most[0])} against {metric_name(most[1])} "
            f"moves most, {before[most]:.2f} to {after[most]:.2f}."]
    counts = opposed.groupby(["metric", "other"], sort=False).size()
    text = ("A tau-b below 1 can come from ties alone (a metric that cannot separate two methods), so the test of a "
            "disagreement is a pair of methods that two metrics order in opposite directions, each by more than two "
            "standard errors. ")
    if counts.empty:
        said.append(text + "No pair of metrics has one.")
    else:
        top = opposed.loc[np.minimum(opposed.se, opposed.se_other).idxmax()]
        most = counts.idxmax()
        said.append(text + f"{len(counts)} of the {len(moved)} pairs of metrics have one, most of all "
                    f"{metric_name(most[0])} against {metric_name(most[1])} ({counts[most]} pairs of methods). The "
                    f"widest: {metric_name(top.metric)} puts {method_name(top.a)} ahead of {method_name(top.b)} by "
                    f"{top.se:.1f} standard errors, {metric_name(top.other)} puts it behind by {top.se_other:.1f}.")
    never = [n for n in raw.columns if n not in set(opposed.metric) | set(opposed.other)]
    if never:
        said.append(f"{', '.join(map(metric_name, never))} {'opposes' if len(never) == 1 else 'oppose'} no other "
                    f"metric beyond noise: {'its' if len(never) == 1 else 'their'} low cells in the matrix are ties "
                    "and noise.")
    return said


def mprt_sentences(by_mprt: pd.Series, floor: float, firsts: list, feature_methods, input_se: float) -> list:
    """Chapter 07's reading of MPRT against its floor, in sentences with their numbers.

    ``by_mprt``: each method's mean MPRT; ``floor``: the MPRT of two unrelated explanations; ``firsts``: MPRT's
    first place and the methods tied with it; ``feature_methods``: the methods that read the scorer's feature
    groups; ``input_se``: the standard error of the gap between IFIV and saliency (the input factor).
    """
    group, tie, first = by_mprt[list(feature_methods)], len(firsts) > 1, firsts[0]
    above, input_gap = by_mprt["ifiv"] - floor, by_mprt["ifiv"] - by_mprt["saliency"]
    if first == "ifiv":
        rank = (f"MPRT ranks IFIV first, but {len(firsts) - 1} other methods lie within two standard errors of it: "
                "a first place a step above the floor, not a clear win." if tie else
                "MPRT ranks IFIV first, ahead of the next by more than two standard errors.")
    else:
        rank = f"MPRT ranks {method_name(first)} first" + (
            f", with {len(firsts) - 1} other methods (IFIV among them) within two standard errors of it."
            if "ifiv" in firsts else f", with {len(firsts) - 1} other methods within two standard errors of it."
            if tie else ".")
    if input_gap <= 0:
        factor = ("on this run multiplying by the input does not keep more of the explanation through the "
                  "randomisation, so the sanity check's failure mode for gradient × input does not show here (our "
                  "inputs are colour histograms and CNN embeddings summed per group, not pictures with edges).")
    else:
        factor = ("on this run multiplying by the input keeps more of the explanation through the randomisation, the "
                  "sanity check's failure mode for gradient × input"
                  + (", though within the noise." if input_gap < 2 * input_se else "."))
    return [f"Two unrelated orders of these outfits' players (3 to 5 items) have an MPRT of {floor:.3f} on average. "
            f"IFIV keeps {by_mprt['ifiv']:.3f}, {above:.3f} above that floor: its explanation of the randomised scorer "
            f"is nearly unrelated to its explanation of the trained one, and the feature-group methods lie "
            f"{group.min() - floor:.3f} to {group.max() - floor:.3f} above it. " + rank,
            f"The input factor: IFIV keeps {by_mprt['ifiv']:.3f}, its gradient alone (saliency) "
            f"{by_mprt['saliency']:.3f}, {abs(input_gap) / input_se:.1f} standard errors of the gap apart: " + factor]
