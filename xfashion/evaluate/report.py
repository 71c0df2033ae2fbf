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

from ..explain import Attribution, attribute, explain_code, get_method, with_images
from ..explain import methods as registered_methods
from ..features import catalog_key
from ..outfits import OutfitBatch, outfit_blame
from ..rules import DEFAULT_RULES, StylistRules, violations
from ..scorer import score
from ..utils import Cache, from_plain, to_plain
from .agreement import PIXEL_CHUNK, concat_attributions
from .metrics import detection_scores, random_expected, summarise
from .sanity import deletion_curve, randomised_copy
from .swap import SwapCases, build_swap_cases, check_margin, check_n, oracle_attribution


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
                  code=[*evaluate_code(), *explain_code(), *[get_method(m) for m in methods],
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
        sub = cases if m == "oracle" else cases.subset(np.arange(min(max_cases.get(m, len(cases)), len(cases))))
        opts = options.get(m, {})
        attr = oracle_attribution(cases) if m == "oracle" else _attribute_cases(wb, wb.model, sub, m, opts)
        scores = detection_scores(attr, sub.position, sub.kind)
        if m != "oracle":
            cost[m] = {"ms_per_outfit": attr.ms_per_outfit, "forward_passes": attr.forward_passes,
                       "backward_passes": attr.backward_passes}
            deletion[m] = deletion_curve(wb.model, attr, sub.batch, wb.means)
            n_sane = min(len(sane), len(sub))
            r_attr = _attribute_cases(wb, rand_model, sane.subset(np.arange(n_sane)), m, opts)
            r_scores = detection_scores(r_attr, sane.position[:n_sane], sane.kind[:n_sane])
            sanity[m] = {"trained model": float(scores["item_top1"][:n_sane].mean()),
                         "randomised model": float(r_scores["item_top1"].mean())}
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


def evaluate_code() -> list:
    """The evaluation modules whose source keys the swap cache."""
    return [sys.modules[f"{__package__}.{m}"] for m in ("swap", "metrics", "sanity", "report", "agreement")]


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


def deletion_auc(report: SwapReport) -> pd.Series:
    """Area under each deletion curve (mean logit over k = 0..10 replaced pairs; higher is better)."""
    return report.deletion.mean().rename("deletion_auc").round(3)


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
