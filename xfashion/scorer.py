"""Outfit scorers (chapter 03): permutation-invariant set models (pairwise, mean-pool, additive), their
input checks, the pixel wrapper, and scoring a batch. Training and metrics are in :mod:`xfashion.training`.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .data import Catalog
from .features import DEFAULT_GROUPS, FeatureExtractor, ItemFeatures
from .groups import FeatureGroups
from .outfits import MAX_ITEMS, OutfitBatch, OutfitSet, check_outfit, make_batch
from .utils import check_count, model_device, model_dtype


def check_batch(features: dict, slot: torch.Tensor, mask: torch.Tensor, groups: FeatureGroups,
                dtype: torch.dtype = torch.float32) -> None:
    """Raise a clear ValueError for batches a scorer cannot score (``dtype``: the scorer's own float type)."""
    if not isinstance(features, dict):
        raise ValueError(f"features must be a dict of group name -> tensor; got {type(features).__name__}.")
    for name, x in features.items():
        if not torch.is_tensor(x):
            raise ValueError(f"Feature group {name!r} must be a torch tensor; got {type(x).__name__}.")
        if name in groups.names and x.dtype != dtype:
            raise ValueError(f"Feature group {name!r} has dtype {x.dtype}, but the scorer computes in {dtype}; "
                             f"convert the features (.to({dtype})) or the scorer (.to(dtype)).")
    unknown = [g for g in features if g not in groups.names and g != "image"]
    if unknown:
        raise ValueError(f"Unknown feature group(s) {unknown}; the scorer's groups are {groups.names}.")
    groups.check(features)
    if not torch.is_tensor(mask) or mask.dim() != 2:
        raise ValueError(f"mask must be a (batch, items) tensor; got shape {tuple(getattr(mask, 'shape', ()))}.")
    if mask.shape[0] == 0:
        raise ValueError("The batch holds no outfit; pass at least one outfit.")
    if not torch.is_tensor(slot) or slot.dtype.is_floating_point:
        raise ValueError("slot must be an integer tensor of slot indices (batch, items).")
    if slot.shape == mask.shape and ((slot < 0) | (slot >= groups.context.size)).any():
        raise ValueError(f"slot indices must lie in 0-{groups.context.size - 1} "
                         f"({', '.join(groups.context.dim_names)}).")
    empty = (~mask.bool()).all(1)
    if empty.any():
        raise ValueError(f"Outfit(s) {torch.nonzero(empty).flatten().tolist()} have no real item (all padding); "
                         "an outfit needs at least one item.")
    for name, x in features.items():
        if x.shape[:2] != mask.shape:
            raise ValueError(f"Feature group {name!r} has batch shape {tuple(x.shape[:2])}, "
                             f"mask has {tuple(mask.shape)}.")
    if slot.shape != mask.shape:
        raise ValueError(f"slot has shape {tuple(slot.shape)}, mask has {tuple(mask.shape)}.")


# smooth activations keep gradients alive where ReLU units are switched off (chapter 07's design study)
ACTIVATIONS = {"relu": nn.ReLU, "silu": nn.SiLU, "softplus": nn.Softplus}
FLOOR = {"relu": 0.0, "silu": -0.279, "softplus": 0.0}  # at or below each activation's minimum
# SiLU: a smooth unit keeps a gradient where a ReLU unit is switched off, and a bad outfit switches many off;
# chapter 07's design study shows what each design does to each explainer under each metric
DEFAULT_ACTIVATION = "silu"


def check_activation(activation: str) -> None:
    """Raise a ValueError naming the known activations unless ``activation`` is one."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {activation!r}; choose from {sorted(ACTIVATIONS)}.")


class _Base(nn.Module):
    def __init__(self, groups: FeatureGroups, hidden: int, activation: str = DEFAULT_ACTIVATION):
        super().__init__()
        check_activation(activation)
        self.groups = groups
        self.activation = activation
        act = ACTIVATIONS[activation]
        in_dim = sum(groups.sizes) + groups.context.size
        self.item = nn.Sequential(nn.Linear(in_dim, hidden), act(), nn.Linear(hidden, hidden), act())

    def encode_items(self, features: dict, slot: torch.Tensor) -> torch.Tensor:
        x = torch.cat([features[g] for g in self.groups.names]
                      + [F.one_hot(slot.long(), self.groups.context.size).to(features[self.groups.names[0]].dtype)], -1)
        return self.item(x)

    def forward(self, features: dict, slot: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """One logit per outfit; ``mask`` (B, N) is True for real items."""
        check_batch(features, slot, mask, self.groups, model_dtype(self))
        return self._score(self.encode_items(features, slot), mask.bool())


class PairwiseSetScorer(_Base):
    """A permutation-invariant scorer with explicit pairwise interactions.

    Each item is encoded from its feature groups and slot. Every unordered pair of real items
    gets a symmetric interaction vector (from the sum and the product of their encodings),
    pooled by sum and max over pairs; item encodings are pooled by sum and mean. An MLP maps
    the pooled vector to the outfit logit. Padding is masked out everywhere, so the score
    depends only on the set of real items.
    """

    def __init__(self, groups: FeatureGroups = DEFAULT_GROUPS, hidden: int = 64, pair_hidden: int = 64,
                 activation: str = DEFAULT_ACTIVATION):
        super().__init__(groups, hidden, activation)
        act = ACTIVATIONS[activation]
        self.pair = nn.Sequential(nn.Linear(2 * hidden, pair_hidden), act(), nn.Linear(pair_hidden, pair_hidden), act())
        self.head = nn.Sequential(nn.Linear(2 * hidden + 2 * pair_hidden, hidden), act(), nn.Linear(hidden, 1))

    def _score(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n = h.shape[1]
        i, j = torch.triu_indices(n, n, offset=1, device=h.device)
        pair_mask = (mask[:, i] & mask[:, j]).unsqueeze(-1)
        pairs = self.pair(torch.cat([h[:, i] + h[:, j], h[:, i] * h[:, j]], -1))
        pair_sum = (pairs * pair_mask).sum(1)
        # padding takes the activation's lowest value, so the max is over real pairs (and constant with none)
        pair_max = torch.where(pair_mask, pairs, torch.full_like(pairs, FLOOR[self.activation])).amax(1)
        m = mask.unsqueeze(-1).to(h.dtype)
        item_sum = (h * m).sum(1)
        item_mean = item_sum / m.sum(1).clamp_min(1)
        return self.head(torch.cat([item_sum, item_mean, pair_sum, pair_max], -1)).squeeze(-1)


class MeanPoolScorer(_Base):
    """The no-interaction baseline: mean- and sum-pooled item encodings into an MLP (Deep Sets)."""

    def __init__(self, groups: FeatureGroups = DEFAULT_GROUPS, hidden: int = 64, activation: str = DEFAULT_ACTIVATION):
        super().__init__(groups, hidden, activation)
        self.head = nn.Sequential(nn.Linear(2 * hidden, hidden), ACTIVATIONS[activation](), nn.Linear(hidden, 1))

    def _score(self, h, mask):
        m = mask.unsqueeze(-1).to(h.dtype)
        s = (h * m).sum(1)
        return self.head(torch.cat([s, s / m.sum(1).clamp_min(1)], -1)).squeeze(-1)


class AdditiveSetScorer(_Base):
    """A design for faithful first-order explanations: the logit is a plain sum of item terms and pair terms.

    The same item encoder and symmetric pair MLP as :class:`PairwiseSetScorer`, but no max pooling
    and no MLP head: ``logit = sum_i u(h_i) + sum_{i<j} v(pair(h_i, h_j))`` with linear ``u`` and ``v``.
    Removing an item removes exactly its own term and its pairs' terms.
    """

    def __init__(self, groups: FeatureGroups = DEFAULT_GROUPS, hidden: int = 64, pair_hidden: int = 64,
                 activation: str = DEFAULT_ACTIVATION):
        super().__init__(groups, hidden, activation)
        act = ACTIVATIONS[activation]
        self.pair = nn.Sequential(nn.Linear(2 * hidden, pair_hidden), act(), nn.Linear(pair_hidden, pair_hidden), act())
        self.item_term, self.pair_term = nn.Linear(hidden, 1), nn.Linear(pair_hidden, 1)

    def _score(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n = h.shape[1]
        i, j = torch.triu_indices(n, n, offset=1, device=h.device)
        pair_mask = (mask[:, i] & mask[:, j]).to(h.dtype)
        pairs = self.pair_term(self.pair(torch.cat([h[:, i] + h[:, j], h[:, i] * h[:, j]], -1))).squeeze(-1)
        return (self.item_term(h).squeeze(-1) * mask.to(h.dtype)).sum(1) + (pairs * pair_mask).sum(1)


MODELS = {"pairwise": PairwiseSetScorer, "meanpool": MeanPoolScorer, "additive": AdditiveSetScorer}


class PixelScorer(nn.Module):
    """End to end: item images -> feature groups -> scorer, giving the same score.

    Pixel methods (Grad-CAM on the CNN's last conv layer, pixel IG) explain this module.
    """

    def __init__(self, extractor: FeatureExtractor, scorer: nn.Module):
        super().__init__()
        self.extractor = extractor
        self.scorer = scorer

    def forward(self, images, slot: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits for images shaped (B, N, 4, 28, 28), or an image batch's ``{"image": ...}`` dict."""
        if isinstance(images, dict):
            images = images["image"]
        feats = self.extractor(images)
        m = mask.unsqueeze(-1).to(images.dtype)
        return self.scorer({g: v * m for g, v in feats.items()}, slot, mask)


# ----------------------------------------------------------------------------- training
def feature_batch(catalog: Catalog, outfits: OutfitSet, feats: ItemFeatures, index=None) -> OutfitBatch:
    """A batch of outfits with their feature groups gathered from the item tables."""
    return make_batch(catalog, outfits, index, features=feats.tables)


def score(model: nn.Module, batch: OutfitBatch, chunk: int = 4096) -> torch.Tensor:
    """Logits for a whole batch without gradients (evaluation mode), computed on the model's device, on the CPU."""
    check_count(chunk, "chunk")
    model.eval()
    batch = batch.to(model_device(model))
    with torch.no_grad():
        return torch.cat([model({g: v[i:i + chunk] for g, v in batch.features.items()}, batch.slot[i:i + chunk],
                                batch.mask[i:i + chunk]) for i in range(0, len(batch), chunk)]).cpu()


def outfit_features(catalog: Catalog, feats: ItemFeatures, items, colors=None) -> OutfitBatch:
    """A one-outfit batch for arbitrary items; ``colors`` re-renders items (features recomputed).

    Parameters
    ----------
    items : sequence of int
        Catalog ids (validated: no empty outfit, no duplicate slot, known ids).
    colors : sequence of int, optional
        Palette index per item; items whose colour changes get fresh features from the
        extractor, so a colour swap is a real re-rendering, not an edit of the table.
    """
    items = check_outfit(catalog, items)
    tables = {g: t[items].clone() for g, t in feats.tables.items()}
    if colors is not None:
        colors = np.asarray(colors)
        changed = np.flatnonzero(colors != catalog.color[items])
        if changed.size:
            with torch.no_grad():
                fresh = feats.extractor(catalog.render(items[changed], colors[changed]))
            for g in tables:
                tables[g][changed] = fresh[g]
    n = len(items)
    pad = MAX_ITEMS - n
    features = {g: F.pad(t, (0, 0, 0, pad))[None] for g, t in tables.items()}
    mask = torch.zeros(1, MAX_ITEMS, dtype=torch.bool)
    mask[0, :n] = True
    slot = F.pad(torch.from_numpy(catalog.slot[items]), (0, pad))[None]
    ids = F.pad(torch.from_numpy(items), (0, pad), value=-1)[None]
    return OutfitBatch(features, slot, mask, torch.zeros(1), ids)


def score_outfit(model: nn.Module, catalog: Catalog, feats: ItemFeatures, items, colors=None) -> float:
    """The model's logit for one outfit (optionally with re-coloured items)."""
    return float(score(model, outfit_features(catalog, feats, items, colors))[0])
