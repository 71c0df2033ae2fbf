"""Which scorer design? Chosen by a criterion that names no explainer, then judged by every metric (chapter 07).

Every design is the default pairwise scorer trained with one change, or a differently built scorer
(the additive one, made for faithful first-order explanations). Each is trained on the training
split and judged on the validation split only: the choice is the design with the highest
validation AUC, a criterion about the scorer, not about any explanation; then every method is
measured under every metric on each design, so a reader sees which design helps which method
under which metric.
"""
from __future__ import annotations

from types import MappingProxyType

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from ..scorer import feature_batch, score
from ..training import roc_auc
from ..utils import check_unique, size
from .metrics import METRICS, metrics_of
from .report import run_swap_evaluation, seed_scorer

DESIGNS = MappingProxyType({
    "ReLU": {"activation": "relu"},
    "SiLU": {"activation": "silu"},
    "softplus": {"activation": "softplus"},
    "ReLU + label smoothing 0.1": {"activation": "relu", "label_smoothing": 0.1},
    "additive (item + pair terms)": {"kind": "additive"},
})
STUDY_METHODS = ("ifiv", "integrated_gradients", "feature_ablation", "random")
CRITERION = "auc"  # the choice reads the scorer's validation AUC, never an explainer's score


def design_study(wb, designs: dict | None = None, methods=STUDY_METHODS, *, split: str = "val", seed: int = 0,
                 per_kind: int | None = None, quantus_cases: int | None = None, progress: bool = True) -> pd.DataFrame:
    """Train each scorer design (cached), choose by validation AUC, and measure every method under every metric.

    Parameters
    ----------
    wb : Workbench
    designs : dict, optional
        Name -> options for :func:`~xfashion.training.train_scorer` (default :data:`DESIGNS`).
    methods : sequence of str
        Methods measured on each design (controlled swap test on ``split`` and Quantus's metrics).
    per_kind : int, optional
        Controlled swap cases per kind on each design (default: the size ``design_per_kind``, 60 on full data).
    quantus_cases : int, optional
        Cases per method and design that Quantus's metrics judge (default: as the swap test's).

    Returns
    -------
    DataFrame, one row per design: ``auc``, its standard error ``auc_se`` (a bootstrap of the ``split``'s
    outfits) and ``median_bad_logit`` on ``split``, ``cases``. ``attrs["best"]`` names the design with the
    highest AUC (the criterion, ``attrs["criterion"]``, names no explainer); ``attrs["auc_draws"]`` holds
    each design's AUC on every bootstrap resample, the same resamples for all designs (so the spread of
    a gap between two designs is the spread of its draws); ``attrs["scores"]`` is the long table, one
    row per (design, method), one column per per-case metric (swap test over all cases, Quantus's
    metrics); ``attrs["designs"]`` maps names to options.
    """
    designs = dict(designs or DESIGNS)
    per_kind = size("design_per_kind") if per_kind is None else per_kind
    if not designs:
        raise ValueError("designs must name at least one scorer design, e.g. xf.evaluate.DESIGNS.")
    methods = check_unique(methods, "methods")
    outfits = wb.outfits(split)
    batch = feature_batch(wb.catalog, outfits, wb.feats)
    bad = outfits.oracle_label == 0
    rows, scores, logits_of = {}, [], {}
    for name, design in tqdm(designs.items(), desc="scorer designs", disable=not progress):
        logits = logits_of[name] = score(seed_scorer(wb, seed, design), batch).numpy()
        report = run_swap_evaluation(wb, list(methods), seeds=(seed,), design=design, split=split, sanity_cases=30,
                                     per_kind=per_kind, quantus_cases=quantus_cases, progress=False)
        s = report.summary
        rows[name] = {"auc": roc_auc(logits, outfits.oracle_label), "median_bad_logit": float(np.median(logits[bad])),
                      "cases": int(s.loc[methods[0], "cases"])}
        names = [m.name for m in metrics_of(per_case=True) if m.name in s]
        scores.append(s.loc[list(methods), names].astype(float).assign(design=name))
    table = pd.DataFrame(rows).T
    table[["auc", "median_bad_logit"]] = table[["auc", "median_bad_logit"]].astype(float)
    draws = bootstrap_auc(logits_of, outfits.oracle_label, seed=seed)
    table.insert(1, "auc_se", draws.std().reindex(table.index))
    table["cases"] = table["cases"].astype(int)
    long = pd.concat(scores).rename_axis("method").reset_index().set_index(["design", "method"])
    table.attrs.update({"best": table[CRITERION].idxmax(), "criterion": f"validation {CRITERION}",
                        "scores": long, "designs": designs, "split": split, "auc_draws": draws})
    return table


def design_table(study: pd.DataFrame, metric: str = "item_top1") -> pd.DataFrame:
    """One metric of the design study as designs x methods (the metric's direction in its declaration)."""
    long = study.attrs["scores"]
    if metric not in long:
        raise ValueError(f"The study has no metric {metric!r}; it has {list(long.columns)}.")
    return long[metric].unstack("method").reindex(list(study.index)).round(3)


def bootstrap_auc(logits: dict, labels, *, draws: int = 200, seed: int = 0) -> pd.DataFrame:
    """Each scorer's AUC on ``draws`` resamples (with replacement) of the same outfits, one column per scorer.

    Every scorer sees the same resamples: the draws of two columns are paired, so the standard deviation
    of their difference is the standard error of the gap between the two AUCs.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    rows = []
    while len(rows) < draws:
        pick = rng.integers(0, len(labels), len(labels))
        if 0 < labels[pick].sum() < len(pick):  # a resample needs good and bad outfits
            rows.append({name: roc_auc(v[pick], labels[pick]) for name, v in logits.items()})
    return pd.DataFrame(rows)


def design_grid(study: pd.DataFrame, metrics, names: dict | None = None, caption: str = "") -> "DesignGrid":
    """The study as one table: a row per design, a column per (metric, method); each metric's best method
    of each row marked (random aside; ties all marked), in bold where HTML renders, starred in plain text."""
    names = names or {}
    blocks, best, digits = {}, {}, {}
    for metric in metrics:
        table = design_table(study, metric)
        real = table.drop(columns=[c for c in ("random",) if c in table])
        top = real.max(axis=1) if METRICS[metric].direction == "higher" else real.min(axis=1)
        label = METRICS[metric].label
        blocks[label] = table.rename(columns=lambda m: names.get(m, m))
        best[label] = real.eq(top, axis=0).reindex(columns=table.columns, fill_value=False).rename(
            columns=lambda m: names.get(m, m))
        digits[label] = "{:.1f}" if table.abs().max().max() >= 10 else "{:.3f}"  # areas in logits: one decimal
    return DesignGrid(pd.concat(blocks, axis=1), pd.concat(best, axis=1), digits, caption)


class DesignGrid:
    """:func:`design_grid`'s table, read in full wherever it is shown (a bare Styler shows as text as
    ``<...Styler at 0x...>``): ``_repr_html_`` is the styled table, ``__repr__`` the same rows as text."""

    def __init__(self, frame: pd.DataFrame, best: pd.DataFrame, digits: dict, caption: str = ""):
        self.frame, self.best, self.digits, self.caption = frame, best, digits, caption

    @property
    def style(self):
        """The pandas Styler: each metric's values at its precision, the best of each row in bold, no colour."""
        return (self.frame.style.format({c: self.digits[c[0]] for c in self.frame.columns})
                .apply(lambda _: np.where(self.best, "font-weight: bold", ""), axis=None).set_caption(self.caption))

    def _repr_html_(self) -> str:
        return self.style.to_html()

    def __repr__(self) -> str:
        text = pd.DataFrame({c: [self.digits[c[0]].format(v) + ("*" if b else " ")
                                 for v, b in zip(self.frame[c], self.best[c])] for c in self.frame.columns},
                            index=self.frame.index)
        key = "*: the best method of the row under the metric"
        return "\n".join(filter(None, [self.caption, text.to_string(), key]))


def gradient_sizes(wb, designs: dict | None = None, *, split: str = "val", seed: int = 0) -> pd.DataFrame:
    """Each design's logit and the size of its gradient on every outfit of ``split`` (the design explorer's data).

    The size is the Euclidean norm of the logit's gradient with respect to every item's features, the
    quantity IFIV multiplies by the input: a score that is flat around an outfit leaves a first-order
    reading little to read.

    Returns
    -------
    DataFrame, one row per (design, outfit): ``design``, ``logit``, ``gradient`` and ``good`` (the stylist's label).
    """
    designs = dict(designs or DESIGNS)
    outfits = wb.outfits(split)
    batch = feature_batch(wb.catalog, outfits, wb.feats)
    rows = []
    for name, design in designs.items():
        model = seed_scorer(wb, seed, design)
        x = {g: v.clone().requires_grad_(True) for g, v in batch.features.items() if g in model.groups.names}
        logit = model({**batch.features, **x}, batch.slot, batch.mask)
        grads = torch.autograd.grad(logit.sum(), list(x.values()))
        size_ = torch.sqrt(sum((g * batch.mask[..., None]).pow(2).sum((1, 2)) for g in grads))
        rows.append(pd.DataFrame({"design": name, "logit": logit.detach().numpy(), "gradient": size_.numpy(),
                                  "good": outfits.oracle_label == 1}))
    return pd.concat(rows, ignore_index=True)


# Rankings of explainers with noise allowed for (chapter 07): a gap within two standard errors is a tie.
def gap_se(per_case: pd.DataFrame, a: str, b: str, metric: str) -> float:
    """Standard error of the gap between two methods' mean ``metric`` (the mean of the scorer seeds' means).

    The larger of two estimates: from the cases (each method's per-seed variance over its cases, as if
    independent) and from how the gap moves between the scorer seeds.
    """
    rows = per_case[per_case.method.isin([a, b])]
    if not {a, b} <= set(rows.method):
        raise ValueError(f"No cases of {sorted({a, b} - set(rows.method))} in per_case; pick methods it holds.")

    def mean_se(m):
        by_seed = rows.loc[rows.method == m, ["seed", metric]].dropna().groupby("seed")[metric]
        return float(np.sqrt((by_seed.var() / by_seed.count()).sum()) / by_seed.ngroups)

    per_seed = rows.groupby(["seed", "method"])[metric].mean().unstack()
    seeds = float((per_seed[a] - per_seed[b]).std() / np.sqrt(len(per_seed)))
    return max(float(np.hypot(mean_se(a), mean_se(b))), seeds)


def tied_ranks(scores: pd.DataFrame, per_case: pd.DataFrame, k: float = 2.0) -> pd.DataFrame:
    """Rank methods (rows) under each metric (column), 1 = best, with a gap within ``k`` standard errors a tie.

    Down the metric's order (its declared direction), the best method opens a group, and every next
    method within ``k`` standard errors of the gap (:func:`gap_se`) of the group's first joins it; the first
    method beyond opens the next group. A group shares the best rank of its members (``method="min"``).
    A method without a score has no rank.
    """
    ranks = pd.DataFrame(np.nan, index=scores.index, columns=scores.columns)
    for n in scores.columns:
        s = scores[n].dropna().sort_values(ascending=METRICS[n].direction == "lower", kind="stable")
        lead = None
        for place, m in enumerate(s.index, 1):
            if lead is None or abs(s[m] - s[lead]) > k * gap_se(per_case, lead, m, n):
                lead, rank = m, place
            ranks.loc[m, n] = rank
    return ranks


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


def opposed_pairs(scores: pd.DataFrame, per_case: pd.DataFrame, k: float = 2.0) -> pd.DataFrame:
    """For every two metrics, the pairs of methods they order in opposite directions, each by over ``k`` SE.

    A disagreement that survives noise: under each metric the gap is wider than ``k`` standard errors of
    the gap (:func:`gap_se`). Returns one row per (metric, other, a, b): ``metric`` puts method ``a`` ahead of
    ``b`` by ``se`` standard errors, ``other`` puts it behind by ``se_other``.
    """
    signs = {}  # (metric, a, b): +1 if a is better than b beyond noise, -1 if worse, 0 within it
    methods = list(scores.index)
    for n in scores.columns:
        up = 1 if METRICS[n].direction == "higher" else -1
        for i, a in enumerate(methods):
            for b in methods[i + 1:]:
                if np.isnan(scores.loc[a, n]) or np.isnan(scores.loc[b, n]):
                    continue
                z = (scores.loc[a, n] - scores.loc[b, n]) / gap_se(per_case, a, b, n)
                signs[n, a, b] = up * z if abs(z) > k else 0.0
    rows = []
    names = list(scores.columns)
    for i, x in enumerate(names):
        for y in names[i + 1:]:
            for a, b in ((a, b) for j, a in enumerate(methods) for b in methods[j + 1:]):
                zx, zy = signs.get((x, a, b), 0.0), signs.get((y, a, b), 0.0)
                if zx * zy < 0:  # a better under one, worse under the other, both beyond noise
                    first, second = (a, b) if zx > 0 else (b, a)  # a: the method the first metric puts ahead
                    rows.append({"metric": x, "other": y, "a": first, "b": second, "se": abs(zx), "se_other": abs(zy)})
    return pd.DataFrame(rows, columns=["metric", "other", "a", "b", "se", "se_other"])


def agreement_sentences(raw: pd.DataFrame, tied: pd.DataFrame, opposed: pd.DataFrame, name=str) -> list:
    """What allowing for noise changes in the metrics' agreement, in sentences with their numbers.

    ``raw`` and ``tied``: :func:`kendall_tau_b` of the plain ranks and of :func:`tied_ranks`; ``opposed``:
    :func:`opposed_pairs`; ``name`` turns a method's key into words.
    """
    upper = np.triu(np.ones(raw.shape, dtype=bool), 1)
    before, after = raw.where(upper).stack().dropna(), tied.where(upper).stack().dropna()
    moved = (after - before).reindex(before.index).sort_values()
    most = moved.abs().idxmax()
    said = [f"With ties within two standard errors, Kendall's tau-b rises for {int((moved > 0.005).sum())} of the "
            f"{len(moved)} pairs of metrics and falls for {int((moved < -0.005).sum())}; the lowest goes from "
            f"{before.min():.2f} to {after.min():.2f}, and `{most[0]}` against `{most[1]}` moves most, "
            f"{before[most]:.2f} to {after[most]:.2f}."]
    counts = opposed.groupby(["metric", "other"], sort=False).size()
    text = ("A tau-b below 1 can come from ties alone (a metric that cannot separate two methods), so the test of a "
            "disagreement is a pair of methods that two metrics order in opposite directions, each by more than two "
            "standard errors. ")
    if counts.empty:
        said.append(text + "No pair of metrics has one.")
    else:
        top = opposed.loc[np.minimum(opposed.se, opposed.se_other).idxmax()]
        most, none = counts.idxmax(), [f"`{x}` and `{y}`" for x, y in before.index if (x, y) not in counts.index]
        said.append(text + f"{len(counts)} of the {len(moved)} pairs of metrics have one, most of all `{most[0]}` "
                    f"against `{most[1]}` ({counts[most]} pairs of methods)"
                    + (f"; {len(none)} have none: {', '.join(none)}" if none else "")
                    + f". The widest: `{top.metric}` puts {name(top.a)} ahead of {name(top.b)} by {top.se:.1f} "
                    f"standard errors, `{top.other}` puts it behind by {top.se_other:.1f}.")
    never = [n for n in raw.columns if n not in set(opposed.metric) | set(opposed.other)]
    if never:
        said.append(f"{', '.join(f'`{n}`' for n in never)} {'opposes' if len(never) == 1 else 'oppose'} no other "
                    f"metric beyond noise: {'its' if len(never) == 1 else 'their'} low cells in the matrix are ties "
                    "and noise.")
    return said


def mprt_sentences(by_mprt: pd.Series, floor: float, firsts: list, feature_methods, input_se: float,
                   name=str) -> list:
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
        rank = f"MPRT ranks {name(first)} first" + (
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
