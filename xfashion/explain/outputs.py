"""What explanations return: :class:`Attribution` (per item and feature group) and
:class:`PairAttribution` (per pair of items), with the readings every table and figure uses
(culprits, lowest pairs, per-outfit subsets). Made by :class:`~xfashion.explain.base.Explainer`.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch


@dataclass
class Attribution:
    """Attributions for a batch of outfits.

    Attributes
    ----------
    values : Tensor (B, N, G)
        Signed influence of each (item, group); zero for padding.
    mask : BoolTensor (B, N)
        True for real items.
    method : str
    groups : list of str
    forward_passes, backward_passes : float
        Model evaluations per outfit (a forward of one outfit counts one).
    seconds : float
        Wall time for the whole batch.
    item_level : bool
        True for methods that only score items (their value is split evenly over groups).
    extras : dict
        Method-specific outputs (e.g. DeepLift's convergence delta, Grad-CAM maps).
    """

    values: torch.Tensor
    mask: torch.Tensor
    method: str
    groups: list
    forward_passes: float = 0.0
    backward_passes: float = 0.0
    seconds: float = 0.0
    item_level: bool = False
    extras: dict = field(default_factory=dict)

    def item_values(self) -> torch.Tensor:
        """Influence of each item (sum over groups), +inf for padding so it never ranks lowest."""
        return self.values.sum(-1).masked_fill(~self.mask, math.inf)

    def pair_values(self) -> torch.Tensor:
        """(item, group) values with +inf for padding, shape (B, N, G)."""
        return self.values.masked_fill(~self.mask[..., None], math.inf)

    def culprit(self) -> tuple:
        """The lowest (item, group) of each outfit: (item index, group index) LongTensors."""
        flat = self.pair_values().flatten(1).argmin(1)
        return flat // self.values.shape[-1], flat % self.values.shape[-1]

    def culprit_item(self) -> torch.Tensor:
        """The item with the lowest summed influence in each outfit."""
        return self.item_values().argmin(1)

    @property
    def ms_per_outfit(self) -> float:
        return 1000 * self.seconds / max(1, self.values.shape[0])

    def take(self, index) -> "Attribution":
        """The same attribution for a subset of outfits (``index``: positions or a boolean mask).

        Per-outfit extras (tensors whose first dimension is the batch, e.g. a convergence delta or
        Grad-CAM maps) are indexed too; any other extra is kept as it is. Time is shared out by outfits.
        """
        index = torch.as_tensor(np.asarray(index))
        index = index.nonzero().flatten() if index.dtype == torch.bool else index.long().reshape(-1)
        B = len(self.values)
        extras = {k: v[index] if torch.is_tensor(v) and v.dim() and len(v) == B else v for k, v in self.extras.items()}
        return dataclasses.replace(self, values=self.values[index], mask=self.mask[index], groups=list(self.groups),
                                   seconds=self.seconds * len(index) / max(1, B), extras=extras)

    def table(self, b: int = 0):
        """Outfit ``b``'s values as a pandas DataFrame (items x groups)."""
        n = int(self.mask[b].sum())
        return pd.DataFrame(self.values[b, :n].detach().numpy(), columns=self.groups,
                            index=[f"item {i}" for i in range(n)])


@dataclass
class PairAttribution:
    """Pair values of a batch of outfits (the output of ``pair`` methods).

    Attributes
    ----------
    values : Tensor (B, N, N)
        Symmetric, zero on the diagonal and wherever an item is padding; negative lowers the score.
    mask : BoolTensor (B, N)
    method : str
    forward_passes, backward_passes : float
        Outfit rows the model evaluated per outfit, forward and backward (counted by hooks).
    seconds : float
    extras : dict
    """

    values: torch.Tensor
    mask: torch.Tensor
    method: str
    forward_passes: float = 0.0
    seconds: float = 0.0
    extras: dict = field(default_factory=dict)
    backward_passes: float = 0.0

    @property
    def ms_per_outfit(self) -> float:
        return 1000.0 * self.seconds / max(1, len(self.mask))

    def lowest(self) -> torch.Tensor:
        """The pair ``(i, j)``, ``i < j``, with the lowest value among real items of each outfit: (B, 2)."""
        n = self.mask.shape[1]
        upper = torch.triu(torch.ones(n, n, dtype=torch.bool), 1)
        allowed = upper & self.mask[:, :, None] & self.mask[:, None, :]
        flat = self.values.masked_fill(~allowed, math.inf).flatten(1).argmin(1)
        return torch.stack([flat // n, flat % n], 1)

    def matrix(self, b: int = 0, labels=None) -> pd.DataFrame:
        """Outfit ``b``'s pair values as a DataFrame (real items on both axes)."""
        n = int(self.mask[b].sum())
        names = list(labels) if labels is not None else [f"item {i}" for i in range(n)]
        return pd.DataFrame(self.values[b, :n, :n].numpy(), index=names, columns=names)
