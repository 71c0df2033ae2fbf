"""The swap evaluation run end to end, cached, summarised and written out (chapter 06, ``evaluate``)."""
from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from ..cache import Cache, pack_record, unpack_record
from ..explain import Attribution, explain_code, get_method, with_images
from ..features import catalog_key
from ..outfits import OutfitBatch, outfit_blame
from ..rules import DEFAULT_RULES, StylistRules, violations
from ..scorer import score
from ..utils import check_count, check_seed, check_unique, from_plain, size, to_plain
from .agreement import attribute_in_chunks, check_methods
from .faithfulness import QUANTUS_VERSION, quantus_metrics, quantus_scores
from .metrics import family_scores, metrics_of, random_expected, seed_summary, summarise
from .oracle import oracle_attribution
from .runner import check_caps, score_methods, spread
from .sanity import randomised_copy
from .swap import PROTOCOLS, SwapCases, build_swap_cases, check_margin

# the shares of an outfit's (item, group) cells replaced at which every deletion curve is read
DELETION_SHARES = np.linspace(0, 1, 11)


@dataclass
class SwapReport:
    """Everything the swap evaluation measured, over one or more scorer seeds.

    ``cases`` maps each scorer seed to its :class:`SwapCases`; ``per_case`` has one row per
    (seed, case, method); ``summary`` holds mean ± sd over seeds and pooled intervals
    (:func:`seed_summary`); ``deletion``, ``sanity``, ``cost`` and ``random_expected`` are means
    over seeds; ``sanity_cases`` counts the sanity check's cases per method over the seeds.
    """

    cases: dict
    per_case: pd.DataFrame
    summary: pd.DataFrame
    deletion: pd.DataFrame
    sanity: pd.DataFrame
    cost: pd.DataFrame
    random_expected: dict
    config: dict
    seconds: float
    cached: bool = False
    sanity_cases: pd.Series | None = None  # per method, the cases of the sanity check over all seeds

    @property
    def first(self) -> SwapCases:
        """The cases of the first seed (for figures of single cases)."""
        return next(iter(self.cases.values()))

    @property
    def n_cases(self) -> int:
        return sum(len(c) for c in self.cases.values())


# The book's swap test: each distinct computation once, the costly ones on fewer cases per scorer seed (spread over
# the swap kinds; None: every case). Chapter 05 shows that IFIV, Captum's InputXGradient and DeepLift compute the
# same values on this scorer, and IFIV from the mean item within a few thousandths of IFIV, so those copies are not
# evaluated again. Chapters 06 and 07 read this one run; a method registered in a notebook joins only where a
# chapter names it (it changes neither this list nor the run's cache). The caps keep chapter 06 near a minute on one
# core: pixel IG runs the CNN and the colour histogram on every item at every step (about 70 ms a case).
SWAP_METHODS = {"ifiv": None, "saliency": None, "integrated_gradients": None, "integrated_gradients_mean": None,
                "gradient_shap": None, "feature_ablation": None, "shapley_sampling": 200, "exact_shapley": 300,
                "grad_cam": 300, "pixel_ig": 24, "random": None}


def run_swap_evaluation(wb, methods=None, *, protocol: str = "controlled", seeds=(0,), design: dict | None = None,
                        n_outfits: int | None = None, per_kind: int | None = None, draws: int = 30,
                        margin: float = 0.5, rules: StylistRules = DEFAULT_RULES, split: str = "test",
                        sanity_cases: int | None = None, quantus_cases: int | None = None,
                        max_cases: dict | None = None,
                        progress: bool = True,
                        options: dict | None = None, use_cache: bool = True) -> SwapReport:
    """The swap experiment with ground truth, over scorer seeds: detection, faithfulness, sanity check and cost.

    Parameters
    ----------
    wb : Workbench
    methods : sequence of str, optional
        Attribution methods (default: :data:`SWAP_METHODS`, the book's list, with its case caps); the oracle ceiling
        is always added.
    protocol : {'controlled', 'paper'}
        See :mod:`xfashion.evaluate.swap`.
    seeds : sequence of int
        Scorer seeds, each drawing its own good outfits. Without ``design`` the first seed
        evaluates ``wb.model`` as it is and the others train (or load) the default scorer with
        their seed; with ``design`` every seed trains (or loads) that design.
    design : dict, optional
        Scorer design options for :func:`~xfashion.training.train_scorer` (``activation``, ``label_smoothing``).
    n_outfits, per_kind, draws : int, optional
        Good outfits drawn per seed, cases kept per swap kind, candidate swaps per outfit and kind.
    margin : float
        Keep a swap only if the logit drops by at least this much.
    rules : StylistRules
        The stylist whose oracle judges the swapped outfits.
    sanity_cases : int, optional
        Cases re-explained on a scorer with randomised weights (default: the size ``swap_sanity_cases``, 100 on
        full data); 0 skips the check.
    quantus_cases : int, optional
        Cases per method and seed that Quantus's metrics (:mod:`~xfashion.evaluate.faithfulness`) judge
        (default: the size ``swap_quantus_cases``, 30 on full data), spread over the swap kinds; methods
        with a case cap judge a sixth of their cap, at least 10; 0 skips them. They are cached apart from
        the swap test, so a run without them and a later run with them share the swap test's results.
    max_cases : dict, optional
        Per-method cap on cases, overriding each method's declared ``traits.max_cases``.
    use_cache : bool
        Reuse each seed's results cached under the same configuration and model.
    """
    sanity_cases = size("swap_sanity_cases") if sanity_cases is None else sanity_cases
    quantus_cases = size("swap_quantus_cases") if quantus_cases is None else quantus_cases
    if sanity_cases != 0:  # 0 skips the sanity check (a run whose sanity is not the question)
        check_count(sanity_cases, "sanity_cases")
    if quantus_cases != 0:  # 0 skips Quantus (e.g. a second protocol whose faithfulness is not the question)
        check_count(quantus_cases, "quantus_cases")
    check_count(n_outfits, "n_outfits", allow_none=True)
    check_count(per_kind, "per_kind", allow_none=True)
    check_margin(margin)
    if protocol not in PROTOCOLS:
        raise ValueError(f"Unknown protocol {protocol!r}; choose from {list(PROTOCOLS)}.")
    if isinstance(seeds, (int, np.integer)) or not len(seeds):
        raise ValueError(f"seeds must name at least one scorer seed, e.g. seeds=(0, 1, 2); got {seeds!r}.")
    for s in seeds:
        check_seed(s)
    check_unique([int(s) for s in seeds], "seeds")
    methods = check_methods(methods, "run_swap_evaluation", "the book's list (xfashion.evaluate.report.SWAP_METHODS)")
    # aliases resolved first, so "ig" and "integrated_gradients" count as a repeat
    book = methods is None
    methods = check_unique([get_method(m, "items").traits.name for m in (methods or SWAP_METHODS)], "methods")
    check_caps(max_cases, methods)
    max_cases = {**declared_caps(methods, SWAP_METHODS if book else None), **(max_cases or {})}
    config = {"protocol": protocol, "seeds": [int(s) for s in seeds], "design": dict(design or {}),
              "n_outfits": n_outfits, "per_kind": per_kind, "draws": draws, "margin": margin, "split": split,
              "methods": list(methods), "rules": dataclasses.asdict(rules), "sanity_cases": sanity_cases,
              "quantus_cases": quantus_cases, "quantus": QUANTUS_VERSION,
              "max_cases": max_cases, "options": dict(options or {})}
    # the swap test is keyed by its own metrics (settings and code, also one typed in a cell), Quantus's part by
    # Quantus's: a run with Quantus reuses the swap test of a run without it
    swap_metrics = metrics_of("swap test", per_case=True)
    quantus = list(quantus_metrics().values())
    one = {key: v for key, v in config.items() if key not in ("seeds", "quantus_cases", "quantus")}
    start = time.perf_counter()
    parts, cases, cached = [], {}, True
    for k, s in enumerate(tqdm(list(seeds), desc="scorer seeds", disable=not progress or len(seeds) == 1)):
        model = wb.model if design is None and k == 0 else wb.scorer(s, design)
        # keyed by the model's weights and the data it is evaluated on, not by a name
        cache = Cache("swap", {**one, "seed": int(s)},
                      inputs=[model, catalog_key(wb.catalog), wb.feats.tables, wb.feats.extractor, wb.means,
                              wb.references, swap_metrics],
                      code=[*evaluate_code(), *explain_code(), *[get_method(m) for m in methods],
                            *dict.fromkeys(type(m) for m in swap_metrics), sys.modules[score.__module__],
                            sys.modules[outfit_blame.__module__], sys.modules[violations.__module__]])
        saved = cache.load() if use_cache else None
        if saved is None:
            cached = False
            saved = _evaluate_seed(wb, model, int(s), methods, one, rules, max_cases, progress)
            cache.save(saved)
        cases[int(s)] = _cases_from_plain(saved["cases"])
        part = {**saved, "per_case": _unpack_frame(saved["per_case"]), "quantus": None}
        if quantus_cases:
            q_cache = Cache("swap-quantus", {"cases": quantus_cases, "quantus": QUANTUS_VERSION, "seed": int(s)},
                            inputs=[cache.key, quantus], code=[*evaluate_code(), *explain_code(),
                                                               *dict.fromkeys(type(m) for m in quantus)])
            judged = q_cache.load() if use_cache else None
            if judged is None:
                cached = False
                judged = _quantus_seed(wb, model, int(s), cases[int(s)], saved, quantus_cases, max_cases, options or {})
                q_cache.save(judged)
            part["quantus"] = judged
        parts.append(part)
    return _combine(parts, cases, config, time.perf_counter() - start, cached)


def _evaluate_seed(wb, model, seed: int, methods: list, config: dict, rules: StylistRules, max_cases: dict,
                   progress: bool) -> dict:
    """One scorer seed's cases, detection per case, sanity check, cost and explanations, as plain data."""
    cases = build_swap_cases(wb, protocol=config["protocol"], n_outfits=config["n_outfits"],
                             per_kind=config["per_kind"], draws=config["draws"], margin=config["margin"], seed=seed,
                             split=config["split"], rules=rules, model=model)
    if len(cases) == 0:
        raise ValueError(f"No swap lowered the score by {config['margin']} and broke a rule; lower the margin.")
    meta = pd.DataFrame({"seed": seed, "case": np.arange(len(cases)), "kind": cases.kind,
                         "slot": cases.slot_name(wb.catalog), "size": cases.size, "unambiguous": cases.unambiguous,
                         "drop": cases.drop})
    frames, cost, sanity, values = [], {}, {}, {}
    rand_model = randomised_copy(model, seed)
    options = config["options"]

    def explain(scorer, sub, m, timed=True):
        return oracle_attribution(sub) if m == "oracle" else \
            _attribute_cases(wb, scorer, sub, m, options.get(m, {}), timed=timed)

    for run in score_methods(model, cases, [*methods, "oracle"], "swap test", explain, caps=max_cases,
                             progress=progress, desc=f"swap evaluation (scorer seed {seed})"):
        m, sub, attr = run.method, run.cases, run.attr
        if m != "oracle":
            cost[m] = run.cost()
            values[m] = attr.values.detach().float().contiguous()  # Quantus's part reads them (a later call)
            if config["sanity_cases"]:
                # the same cases, spread over the kinds, on the trained and the randomised scorer (capped
                # methods re-explain half their cases)
                pick = spread(len(sub), min(config["sanity_cases"], max(10, len(sub) // 2)))
                both = sub.subset(pick)
                r_scores = family_scores("swap test", explain(rand_model, both, m, timed=False), both)
                sanity[m] = {"trained model": float(run.scores["item_top1"].iloc[pick].mean()),
                             "randomised model": float(r_scores["item_top1"].mean()), "cases": len(pick)}
        frames.append(run.frame(meta))
    return {"cases": _cases_to_plain(cases), "per_case": _pack_frame(pd.concat(frames, ignore_index=True)),
            "sanity": to_plain(pd.DataFrame(sanity).T), "cost": to_plain(pd.DataFrame(cost).T),
            "random_expected": random_expected(cases), "values": values}


def _quantus_seed(wb, model, seed: int, cases: SwapCases, saved: dict, n_quantus: int, max_cases: dict,
                  options: dict) -> dict:
    """Quantus's metrics on each method's explanations of one seed's cases, and its deletion curve.

    The cases are spread over the swap kinds; methods with a case cap are judged on a sixth of
    their cap (at least 10), since MPRT re-explains every case once per layer of the scorer.
    """
    scores, curves = {}, {}
    for method, values in saved["values"].items():
        rows = spread(len(cases), max_cases.get(method, len(cases)))  # the cases the method explained
        sub = cases.subset(rows)
        attr = Attribution(values, sub.batch.mask.clone(), method, list(cases.groups),
                           item_level=get_method(method).traits.level == "item")
        q = spread(len(sub), min(n_quantus, max(10, max_cases[method] // 6)) if method in max_cases else n_quantus)
        part = sub.subset(q)
        batch = with_images(part.batch, wb.catalog, np.maximum(part.colors, 0)) \
            if get_method(method).traits.needs_images else part.batch
        judged = quantus_scores(model, batch, attr.take(q), wb.means,
                                options={**wb.options(), **options.get(method, {})}, seed=seed)
        scores[method] = _pack_frame(judged.assign(case=rows[q]))
        curves[method] = deletion_curve(judged.attrs["curves"]).tolist()
    return {"scores": scores, "deletion": curves}


def declared_caps(methods, caps: dict | None = None) -> dict:
    """Each capped method's case cap: ``caps[m]`` where given (None: uncapped), else its ``traits.max_cases``; in
    small-data mode at most ``capped_cases``."""
    small = size("capped_cases")
    caps = {m: (caps[m] if caps and m in caps else get_method(m).traits.max_cases) for m in methods}
    return {m: cap if small is None else min(cap, small) for m, cap in caps.items() if cap}


def _combine(parts: list, cases: dict, config: dict, seconds: float, cached: bool) -> SwapReport:
    frames, deletions = [], []
    for p in parts:
        frame = p["per_case"]
        if p["quantus"] is not None:  # Quantus's columns joined to the cases each method's metrics judged
            judged = pd.concat([_unpack_frame(f).assign(method=m) for m, f in p["quantus"]["scores"].items()])
            frame = frame.merge(judged, on=["method", "case"], how="left")
            deletions.append(pd.DataFrame(p["quantus"]["deletion"], index=DELETION_SHARES.round(2)))
        frames.append(frame)
    per_case = pd.concat(frames, ignore_index=True)
    deletion = sum(deletions[1:], deletions[0]) / len(deletions) if deletions else pd.DataFrame()
    deletion.index.name = "share of (item, group) cells replaced"

    def mean_frame(key):
        frames = [from_plain(p[key]) for p in parts]
        return sum(frames[1:], frames[0]) / len(frames)
    rand = {k: float(np.mean([p["random_expected"][k] for p in parts])) for k in parts[0]["random_expected"]}
    sanity = mean_frame("sanity")
    sanity_n = sum(from_plain(p["sanity"]).get("cases", 0) for p in parts)  # cases re-explained, over the seeds
    return SwapReport(cases, per_case, seed_summary(per_case), deletion,
                      sanity.drop(columns="cases", errors="ignore").round(3), mean_frame("cost"), rand, config, seconds,
                      cached, sanity_n)


def _pack_frame(frame: pd.DataFrame) -> dict:
    """A per-case table as weights-only data, one tensor per numeric column (thousands of rows load in
    milliseconds, where row lists of Python values take seconds)."""
    return {"columns": [str(c) for c in frame.columns],
            "data": [torch.from_numpy(frame[c].to_numpy().copy()) if frame[c].dtype.kind in "biuf"
                     else frame[c].astype(str).tolist() for c in frame.columns]}


def _unpack_frame(packed: dict) -> pd.DataFrame:
    return pd.DataFrame({c: v.numpy() if isinstance(v, torch.Tensor) else v
                         for c, v in zip(packed["columns"], packed["data"])})


def evaluate_code() -> list:
    """The evaluation modules whose source keys the swap cache."""
    names = ("oracle", "swap", "metrics", "runner", "sanity", "report", "agreement", "faithfulness")
    return [sys.modules[f"{__package__}.{m}"] for m in names]


def _cases_to_plain(c: SwapCases) -> dict:
    """SwapCases as tensors and plain data, field by field (cache files never hold pickled objects)."""
    return {**pack_record(c), "batch": dataclasses.asdict(c.batch)}


def _cases_from_plain(c: dict) -> SwapCases:
    return unpack_record(SwapCases, {**c, "batch": OutfitBatch(**c["batch"])})


# Outfits per call by cost class. A gradient method holds every step's copy of its chunk at once, and the tour's
# kernels hand blocks over 8 MiB back to the OS (utils.MALLOC_ENV): 32 outfits keep them under it, where 128
# cost a third more time in page faults; the pixel methods' CNN activations likewise at 16 (the others: 128).
CHUNKS = {"gradient": 32, "pixel": 16}


def _attribute_cases(wb, model, cases: SwapCases, method: str, opts: dict, timed: bool = True) -> Attribution:
    def batch_of(rows, images):
        sub = cases.subset(rows)
        return with_images(sub.batch, wb.catalog, np.maximum(sub.colors, 0)) if images else sub.batch

    chunk = CHUNKS.get(get_method(method).traits.cost, 128)
    return attribute_in_chunks(model, batch_of, len(cases), method, {**wb.options(), **opts}, chunk, timed)


def deletion_curve(curves: dict) -> np.ndarray:
    """One deletion curve from Quantus's pixel-flipping curves of outfits of several sizes.

    ``curves`` maps an outfit size to the mean 'bad' logit after each of its steps (step 0, nothing
    replaced, first); each is read at :data:`DELETION_SHARES` and the sizes are averaged, so outfits
    of 3 and 5 items count alike.
    """
    return np.mean([np.interp(DELETION_SHARES, np.linspace(0, 1, len(c)), c) for c in curves.values()], 0)


def results_table(report: SwapReport) -> pd.DataFrame:
    """The main table per method: the swap test, Quantus's metrics (all their cases), sanity and cost.

    Every column is the mean over scorer seeds; each metric's direction is in its declaration
    (:data:`~xfashion.evaluate.metrics.METRICS`), shown by :func:`format_table`.
    """
    quantus = [m.name for m in metrics_of(per_case=True) if m.family != "swap test" and m.name in report.summary]
    table = summarise(report.per_case).join(report.summary[quantus].astype(float).round(3))
    table = table.join(report.sanity.rename(columns=lambda c: f"sanity item_top1 ({c})"))
    return table.join(report.cost.round(3))


def compare_reports(reports: dict, methods=None, subset: str = "") -> pd.DataFrame:
    """Item and cell top-1 (mean ± sd over seeds) of several reports side by side, e.g. two protocols.

    ``subset`` is ``""`` (all kept cases) or ``"_unambiguous"``.
    """
    cols = {}
    for name, report in reports.items():
        s = report.summary
        keep = [m for m in (methods or s.index) if m in s.index]
        for metric in ("item_top1", "cell_top1"):
            k = metric + subset
            cols[(name, metric)] = [f"{s.loc[m, k]:.3f} ± {s.loc[m, k + '_sd']:.3f}" if s.loc[m, k] == s.loc[m, k]
                                    else "n/a" for m in keep]
        cols[(name, "cases")] = [int(s.loc[m, "cases"]) for m in keep]
    return pd.DataFrame(cols, index=keep)


def at_margin(report: SwapReport, margin: float) -> pd.DataFrame:
    """Re-summarise the kept cases whose score dropped by at least ``margin`` (no re-computation)."""
    part = report.per_case[report.per_case["drop"] >= margin]
    return summarise(part)


def write_report(report: SwapReport, folder) -> dict:
    """Write ``swap_evaluation.csv`` and ``swap_evaluation.md`` into ``folder``; returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    table = results_table(report)
    csv, md = folder / "swap_evaluation.csv", folder / "swap_evaluation.md"
    table.to_csv(csv)
    n_unambiguous = sum(int(c.unambiguous.sum()) for c in report.cases.values())
    lines = ["# Swap evaluation", "", f"{report.config['protocol']} protocol, scorer seeds {report.config['seeds']}: "
             f"{report.n_cases} cases kept (margin {report.config['margin']}); {n_unambiguous} unambiguous. "
             "Random expectation: "
             + ", ".join(f"{k} {v:.3f}" for k, v in report.random_expected.items()), "", table.to_markdown(), ""]
    md.write_text("\n".join(lines))
    return {"csv": str(csv), "markdown": str(md)}
