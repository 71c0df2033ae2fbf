"""Explainable by design: which scorer design gives gradients that find the culprit (chapter 06).

Every design is the default pairwise scorer trained with one change; each is judged on the
validation split only (its AUC and the controlled swap test on outfits drawn from validation
items), so the choice never looks at the test split.
"""
from __future__ import annotations

from types import MappingProxyType

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..scorer import feature_batch, roc_auc, score
from .report import run_swap_evaluation, seed_scorer

DESIGNS = MappingProxyType({
    "ReLU": {"activation": "relu"},
    "SiLU": {"activation": "silu"},
    "softplus": {"activation": "softplus"},
    "ReLU + label smoothing 0.1": {"activation": "relu", "label_smoothing": 0.1},
})
STUDY_METHODS = ("ifiv", "ifiv_mean", "feature_ablation")


def design_study(wb, designs: dict | None = None, methods=STUDY_METHODS, *, split: str = "val", seed: int = 0,
                 per_kind: int | None = 150, min_auc: float = 0.98, progress: bool = True) -> pd.DataFrame:
    """Train each scorer design (cached) and measure it on ``split``: AUC, logit scale, swap-test top-1.

    Parameters
    ----------
    wb : Workbench
    designs : dict, optional
        Name -> options for :func:`~xfashion.scorer.train_scorer` (default :data:`DESIGNS`).
    methods : sequence of str
        Methods whose controlled swap-test accuracy is measured.
    per_kind : int, optional
        Controlled swap cases per kind (None: the protocol's default).
    min_auc : float
        A design qualifies only with at least this AUC on ``split``.

    Returns
    -------
    DataFrame, one row per design; ``attrs["best"]`` names the qualifying design with the highest
    item top-1 of the first method (of every design when none qualifies: ``attrs["qualified"]``
    is then False), and ``attrs["designs"]`` maps names to options.
    """
    designs = dict(designs or DESIGNS)
    outfits = wb.outfits(split)
    batch = feature_batch(wb.catalog, outfits, wb.feats)
    bad = outfits.oracle_label == 0
    rows = {}
    for name, design in tqdm(designs.items(), desc="scorer designs", disable=not progress):
        logits = score(seed_scorer(wb, seed, design), batch).numpy()
        report = run_swap_evaluation(wb, list(methods), seeds=(seed,), design=design, split=split, sanity_cases=30,
                                     per_kind=per_kind, progress=False)
        s = report.summary
        rows[name] = {"auc": roc_auc(logits, outfits.oracle_label), "median_bad_logit": float(np.median(logits[bad])),
                      **{f"{m} item_top1": s.loc[m, "item_top1"] for m in methods},
                      **{f"{m} pair_top1": s.loc[m, "pair_top1"] for m in methods},
                      "cases": int(s.loc[methods[0], "cases"])}
    table = pd.DataFrame(rows).T.astype(float)
    table["cases"] = table["cases"].astype(int)
    ok = table[table["auc"] >= min_auc]
    # small models (small-data mode) may reach no floor: then the best of all, and ``qualified`` says so
    table.attrs["qualified"] = bool(len(ok))
    table.attrs["best"] = (ok if len(ok) else table)[f"{methods[0]} item_top1"].idxmax()
    table.attrs["designs"] = designs
    table.attrs["split"] = split
    return table
