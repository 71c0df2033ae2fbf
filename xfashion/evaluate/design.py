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
from .metrics import METRICS, method_name, metric_name, metrics_of
from .ranking import mean_se
from .report import run_swap_evaluation

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
    metrics); ``attrs["per_case"]`` its cases (a ``design`` column); ``attrs["designs"]`` maps names to options.
    """
    designs = dict(designs or DESIGNS)
    per_kind = size("design_per_kind") if per_kind is None else per_kind
    if not designs:
        raise ValueError("designs must name at least one scorer design, e.g. xf.evaluate.DESIGNS.")
    methods = check_unique(methods, "methods")
    outfits = wb.outfits(split)
    batch = feature_batch(wb.catalog, outfits, wb.feats)
    bad = outfits.oracle_label == 0
    rows, scores, logits_of, per_case = {}, [], {}, []
    for name, design in tqdm(designs.items(), desc="scorer designs", disable=not progress):
        logits = logits_of[name] = score(wb.scorer(seed, design), batch).numpy()
        report = run_swap_evaluation(wb, list(methods), seeds=(seed,), design=design, split=split, sanity_cases=30,
                                     per_kind=per_kind, quantus_cases=quantus_cases, progress=False)
        s = report.summary
        rows[name] = {"auc": roc_auc(logits, outfits.oracle_label), "median_bad_logit": float(np.median(logits[bad])),
                      "cases": int(s.loc[methods[0], "cases"])}
        names = [m.name for m in metrics_of(per_case=True) if m.name in s]
        scores.append(s.loc[list(methods), names].astype(float).assign(design=name))
        per_case.append(report.per_case[report.per_case.method.isin(methods)].assign(design=name))
    table = pd.DataFrame(rows).T
    table[["auc", "median_bad_logit"]] = table[["auc", "median_bad_logit"]].astype(float)
    draws = bootstrap_auc(logits_of, outfits.oracle_label, seed=seed)
    table.insert(1, "auc_se", draws.std().reindex(table.index))
    table["cases"] = table["cases"].astype(int)
    long = pd.concat(scores).rename_axis("method").reset_index().set_index(["design", "method"])
    table.attrs.update({"best": table[CRITERION].idxmax(), "criterion": f"validation {CRITERION}",
                        "scores": long, "designs": designs, "split": split, "auc_draws": draws,
                        "per_case": pd.concat(per_case, ignore_index=True)})
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
    of each row marked (random aside; ties all marked), in bold where HTML renders, starred in plain text.
    Methods are named by :func:`~xfashion.evaluate.metrics.method_name` unless ``names`` says otherwise."""
    names = names or {}
    blocks, best, digits = {}, {}, {}
    for metric in metrics:
        table = design_table(study, metric)
        real = table.drop(columns=[c for c in ("random",) if c in table])
        top = real.max(axis=1) if METRICS[metric].direction == "higher" else real.min(axis=1)
        label = metric_name(metric, arrow=True)
        blocks[label] = table.rename(columns=lambda m: names.get(m, method_name(m)))
        best[label] = real.eq(top, axis=0).reindex(columns=table.columns, fill_value=False).rename(
            columns=lambda m: names.get(m, method_name(m)))
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
        model = wb.scorer(seed, design)
        x = {g: v.clone().requires_grad_(True) for g, v in batch.features.items() if g in model.groups.names}
        logit = model({**batch.features, **x}, batch.slot, batch.mask)
        grads = torch.autograd.grad(logit.sum(), list(x.values()))
        size_ = torch.sqrt(sum((g * batch.mask[..., None]).pow(2).sum((1, 2)) for g in grads))
        rows.append(pd.DataFrame({"design": name, "logit": logit.detach().numpy(), "gradient": size_.numpy(),
                                  "good": outfits.oracle_label == 1}))
    return pd.concat(rows, ignore_index=True)


def pick_sentence(study: pd.DataFrame, n_val: int, reference: str = "SiLU") -> str:
    """What the criterion picked, how far ahead in standard errors of the paired gap, and which designs tie it.

    ``study`` is :func:`design_study`'s table (its ``auc_draws``: each design's AUC on the same bootstrap
    resamples of the ``n_val`` validation outfits, so a gap's spread is paired).
    """
    best, auc, draws = study.attrs["best"], study["auc"], study.attrs["auc_draws"]
    apart = {d: (auc[best] - auc[d]) / float((draws[best] - draws[d]).std()) for d in auc.index.drop(best)}
    runner, tied = auc.drop(best).idxmax(), [d for d, k in apart.items() if k <= 2]
    place = int(design_table(study, "item_top1")["ifiv"].rank(ascending=False, method="min")[best])
    return (f"The criterion picks {best}: its validation AUC, {auc[best]:.4f} (a standard error of "
            f"{study.loc[best, 'auc_se']:.4f}, from a bootstrap of the {n_val} validation outfits), is the highest. "
            f"The runner-up, {runner}, is {auc[best] - auc[runner]:.4f} behind, {apart[runner]:.1f} standard errors "
            "of the gap"
            + ("" if reference in (best, runner) else f"; the book's {reference} scorer is "
               f"{auc[best] - auc[reference]:.4f} behind, {apart[reference]:.1f} standard errors")
            + f"; the designs span {auc.max() - auc.min():.4f}. "
            + ("So the pick is clear by this criterion." if not tied else
               "So the pick is what the criterion did on this data, not a design that scores clearly better: "
               f"{', '.join(tied[:-1]) + ' and ' if len(tied) > 1 else ''}{tied[-1]} "
               f"{'lies' if len(tied) == 1 else 'lie'} within two standard errors of it.")
            + f" On the pick, IFIV's item top-1 ranks {place} of {len(study)} designs.")


def argument_test(study: pd.DataFrame, metrics=("item_top1", "faithfulness_correlation", "mprt"),
                  reference: str = "SiLU") -> tuple:
    """IFIV on the criterion's pick against IFIV on ``reference`` (the book's scorer), metric by metric.

    Pixel flipping is left out by default: an area in logits, whose scale differs between designs.

    Returns
    -------
    (DataFrame, list of str)
        One row per metric: IFIV on the pick, on ``reference``, whether the pick is better, the gap in
        standard errors ``z`` (the two designs' cases taken as independent; NaN without
        ``attrs["per_case"]``) and ``reference``'s place among all designs (1 = IFIV's best); and the
        sentences that say it.
    """
    best, metrics = study.attrs["best"], list(metrics)
    grids = {m: design_table(study, m)["ifiv"] for m in metrics}
    up = {m: METRICS[m].direction == "higher" for m in metrics}
    table = pd.DataFrame({"pick": [float(grids[m][best]) for m in metrics],
                          "book": [float(grids[m][reference]) for m in metrics],
                          "place": [int(grids[m].rank(ascending=not up[m], method="min")[reference]) for m in metrics]},
                         index=metrics)
    table["pick_better"] = [table.pick[m] > table.book[m] if up[m] else table.pick[m] < table.book[m] for m in metrics]
    cases = study.attrs.get("per_case")
    table["z"] = [abs(table.pick[m] - table.book[m]) / float(np.hypot(*(
        mean_se(cases[cases.design == d].assign(seed=0), "ifiv", m) for d in (best, reference))))
        if cases is not None and best != reference else np.nan for m in metrics]
    better, rest = [m for m in metrics if table.pick_better[m]], [m for m in metrics if not table.pick_better[m]]

    def words(ms):
        names = [metric_name(m) for m in ms]
        return " and ".join(filter(None, [", ".join(names[:-1]), names[-1]]))

    said = ("The criterion picks SiLU itself: on this data seed the study agrees with chapter 03's choice."
            if best == reference else
            f"IFIV does better on the pick, {best}, than on {reference} under all {len(metrics)} metrics: on this "
            "data seed the test goes against chapter 03's reason." if not rest else
            f"IFIV does better on {reference} than on the pick, {best}, under all {len(metrics)} metrics: on this "
            "data seed the test supports chapter 03's reason." if not better else
            f"IFIV does better on the pick, {best}, under {words(better)}, and on {reference} under {words(rest)}: on "
            "this data seed the test is split.")
    clear = [m for m in metrics if table.z[m] > 2]
    if best != reference and cases is not None:
        said += (" Every difference is beyond two standard errors." if len(clear) == len(metrics) else
                 f" Beyond two standard errors, though, only under {words(clear)}." if clear else
                 " No difference is beyond two standard errors: the designs are alike for IFIV on this data seed.")
    places = ", ".join(f"{table.place[m]} by {metric_name(m)}" for m in metrics)
    return table, [said, f"Among all {len(study)} designs, IFIV on {reference} ranks {places} (1 = IFIV's best "
                         "design)."]


def against_run(study: pd.DataFrame, per_case: pd.DataFrame, reference: str = "SiLU", method: str = "ifiv") -> str:
    """Why ``method``'s item top-1 on ``reference`` differs between the study and a swap run (chapter 06's).

    ``per_case`` is the run's cases (:class:`~xfashion.evaluate.report.SwapReport`'s ``per_case``): the
    sentence names each side's split, cases and scorer seeds, and the gap on the study's own scorer seed
    in standard errors (binomial, the two sets of cases independent).
    """
    mine = study.attrs["per_case"]
    here = mine[(mine.design == reference) & (mine.method == method)].dropna(subset=["item_top1"])
    there = per_case[per_case.method == method].dropna(subset=["item_top1"])
    if here.empty or there.empty:
        raise ValueError(f"No item top-1 of {method!r} on {reference!r} in the study or the run; pick ones both hold.")
    seed = int(here.seed.iloc[0])
    by_seed = there.groupby("seed").item_top1.agg(["mean", "count"])
    if seed not in by_seed.index:
        raise ValueError(f"The run has no scorer seed {seed}, the study's; pass a run that holds it.")
    p, q, n, m = here.item_top1.mean(), by_seed.loc[seed, "mean"], len(here), int(by_seed.loc[seed, "count"])
    z = abs(p - q) / np.sqrt(p * (1 - p) / n + q * (1 - q) / m)
    seeds, split = ", ".join(f"{v:.3f}" for v in by_seed["mean"]), study.attrs["split"]
    return (f"{method_name(method)}'s item top-1 on {reference} is {p:.3f} here and {by_seed['mean'].mean():.3f} "
            f"in the table of every method because they judge different cases: here {n} swaps of the "
            f"{'validation' if split == 'val' else split} split on the scorer of seed {seed}, there {len(there)} swaps "
            f"of the test split on {len(by_seed)} scorer seeds, whose means are {seeds}. On the scorer of seed {seed} "
            f"alone the test swaps give {q:.3f}, {z:.1f} standard errors from the validation swaps' {p:.3f}: each "
            "split's outfits are a sample of their own, and the scorer seeds differ too.")


def conclusion(study: pd.DataFrame, verdict: pd.DataFrame, reference: str = "SiLU") -> str:
    """What the study found for ``reference`` (the book's scorer), from :func:`argument_test`'s ``verdict``.

    Two findings in one sentence: how far ``reference`` lies behind the pick by the scorer's own
    criterion (in standard errors of the paired bootstrap gap), and which way IFIV's metrics point,
    counting only gaps beyond two standard errors; then what that means for the argument it was chosen by.
    """
    best = study.attrs["best"]
    if best == reference:
        return (f"On this data seed the criterion picks {reference} itself: the book's scorer is also the one its own "
                "criterion prefers, and the argument for it is not put to the test.")
    draws, auc = study.attrs["auc_draws"], study["auc"]
    z = (auc[best] - auc[reference]) / float((draws[best] - draws[reference]).std())
    pick = [metric_name(m) for m in verdict.index if verdict.pick_better[m] and verdict.z[m] > 2]
    book = [metric_name(m) for m in verdict.index if not verdict.pick_better[m] and verdict.z[m] > 2]
    meaning = ("goes against chapter 03's reason for SiLU (that smooth units make IFIV's reading better)"
               if pick and not book else "supports chapter 03's reason for SiLU" if book and not pick else
               "is split on chapter 03's reason for SiLU" if book else
               "neither supports nor refutes chapter 03's reason for SiLU: IFIV reads the two alike")
    where = "; ".join(filter(None, [pick and f"on {best} under {' and '.join(pick)}",
                                    book and f"on {reference} under {' and '.join(book)}"]))
    return (f"So on this data seed the book's {reference} scorer is {auc[best] - auc[reference]:.4f} behind {best} "
            f"in validation AUC, {z:.1f} standard errors ({'beyond noise, if small' if z > 2 else 'within noise'}), "
            f"and IFIV does better beyond two standard errors {where or 'on neither'}: the study {meaning}. "
            + ("Chapter 03's choice stands as the fixed scorer that chapters 04-07 measure, not as one this study "
               "confirms." if not book else "Chapter 03's choice stands, and this study confirms it by IFIV."))
