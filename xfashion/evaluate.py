"""Evaluating explanations: agreement with the oracle and between methods, and cost."""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from .explain import METHODS, attribute
from .outfits import outfit_blame

# pixel IG integrates through the CNN for every item: fewer steps keep it affordable on a CPU
DEFAULT_OPTIONS = {"pixel_ig": {"n_steps": 16}}


def explain_all(wb, index, methods=METHODS, split: str = "test", chunk: int = 64, progress: bool = True,
                options: dict | None = None) -> dict:
    """Run several methods on the same outfits; returns ``{method: Attribution}`` (batched in chunks)."""
    index = np.atleast_1d(index)
    options = {**DEFAULT_OPTIONS, **(options or {})}
    out = {}
    for m in tqdm(methods, desc="methods", disable=not progress):
        parts = [attribute(wb.model, wb.batch(index[i:i + chunk], split, images=m in ("grad_cam", "pixel_ig")), m,
                           **wb.options(), **options.get(m, {})) for i in range(0, len(index), chunk)]
        first = parts[0]
        first.values = torch.cat([p.values for p in parts])
        first.mask = torch.cat([p.mask for p in parts])
        first.seconds = sum(p.seconds for p in parts)
        first.extras = {}
        out[m] = first
    return out


def oracle_blame_tensor(catalog, outfits, index) -> torch.Tensor:
    """The oracle's per-(item, group) blame for outfits ``index``, padded to (B, 5, 2)."""
    out = torch.zeros(len(index), 5, 2)
    for k, i in enumerate(index):
        bl = outfit_blame(catalog, outfits.outfit(i))
        out[k, : len(bl)] = torch.from_numpy(bl)
    return out


def oracle_agreement(attributions: dict, blame: torch.Tensor) -> pd.DataFrame:
    """How often each method's culprit is one the oracle blames (bad outfits only).

    ``item hit``: the culprit item carries oracle blame; ``pair hit``: the lowest (item, group)
    carries blame in that group (not defined for item-level methods).
    """
    rows = {}
    blamed_item = blame.sum(-1) > 0
    for name, a in attributions.items():
        ar = torch.arange(len(blame))
        item = a.culprit_item()
        pi, pg = a.culprit()
        rows[name] = {"item hit ↑": float(blamed_item[ar, item].float().mean()),
                      "pair hit ↑": np.nan if a.item_level else float((blame[ar, pi, pg] > 0).float().mean())}
    return pd.DataFrame(rows).T.round(3)


def method_agreement(attributions: dict) -> pd.DataFrame:
    """Mean Spearman rank correlation between methods over the real (item, group) pairs of each outfit."""
    names = list(attributions)
    mask = next(iter(attributions.values())).mask
    ranks = {}
    for n in names:
        v = attributions[n].values.masked_fill(~mask[..., None], float("nan")).flatten(1).numpy()
        ranks[n] = pd.DataFrame(v).rank(axis=1).to_numpy()
    out = np.zeros((len(names), len(names)))
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            ra, rb = ranks[a], ranks[b]
            ok = ~np.isnan(ra)
            ra_c = np.where(ok, ra - np.nanmean(ra, 1, keepdims=True), 0)
            rb_c = np.where(ok, rb - np.nanmean(rb, 1, keepdims=True), 0)
            den = np.sqrt((ra_c ** 2).sum(1) * (rb_c ** 2).sum(1))
            corr = np.where(den > 0, (ra_c * rb_c).sum(1) / np.where(den > 0, den, 1), np.nan)
            out[i, j] = np.nanmean(corr)
    return pd.DataFrame(out, index=names, columns=names).round(3)


def cost_table(attributions: dict) -> pd.DataFrame:
    """Passes and milliseconds per outfit for each method (lower is better)."""
    rows = {n: {"forward passes ↓": a.forward_passes, "backward passes ↓": a.backward_passes,
                "ms per outfit ↓": a.ms_per_outfit} for n, a in attributions.items()}
    return pd.DataFrame(rows).T.round(3)
