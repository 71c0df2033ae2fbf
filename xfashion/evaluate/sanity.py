"""The model-randomisation sanity check of the swap test (chapter 06): a scorer with fresh weights."""
from __future__ import annotations

import copy

import numpy as np
import torch

from ..explain import Attribution
from ..outfits import OutfitBatch
from ..utils import seeded


def deletion_curve(model, attr: Attribution, batch: OutfitBatch, means: dict, steps: int = 10) -> np.ndarray:
    """Mean score after replacing the k most negative (item, group) pairs by dataset means, k = 0..steps.

    If a method blames what really lowers the score, removing it first raises the score fast.
    """
    groups = attr.groups
    order = attr.pair_values().flatten(1).argsort(1)  # most negative first, padding last
    n_real = (attr.mask.sum(1) * len(groups))
    feats = {g: batch.features[g].clone() for g in groups}
    curve = []
    G = len(groups)
    with torch.no_grad():
        for k in range(steps + 1):
            if k:
                flat = order[:, k - 1]
                ok = (k - 1) < n_real
                b = torch.nonzero(ok).flatten()
                item, gi = flat[b] // G, flat[b] % G
                for g_idx, g in enumerate(groups):
                    sel = gi == g_idx
                    feats[g][b[sel], item[sel]] = means[g].to(feats[g].dtype)
            curve.append(model({**batch.features, **feats}, batch.slot, batch.mask).mean().item())
    return np.array(curve)


def randomised_copy(model, seed: int = 0):
    """The same architecture with freshly initialised weights (model-parameter randomisation test)."""
    clone = copy.deepcopy(model)
    with seeded(seed):
        for m in clone.modules():
            if hasattr(m, "reset_parameters") and m is not clone:
                m.reset_parameters()
    return clone.eval()
