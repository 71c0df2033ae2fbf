"""Pair explanations: which two items clash (chapter 08).

The stylist's rules are about pairs (a hue clash, navy with black, sandals with a coat), and the
scorer is built from pair terms, yet an item-level explanation splits a two-item clash between both
items. A pair method returns :class:`PairAttribution` values ``[outfits, items, items]``:
symmetric, zero on the diagonal and on padding; negative means the two items together lower the
score more than each does alone. Methods live in their own registry with declared traits, like the
item methods, and :func:`attribute_pairs` is the one call.

* ``second_order_ifiv``: the grouped curvature term ``x_i^T (d^2 s / dx_i dx_j) x_j`` at the outfit,
  one Hessian-vector product per item (batched over outfits). For a score that is a sum of bilinear
  pair terms, item ``i``'s IFIV is the sum of its row: IFIV is the first-order view of the same
  interactions.
* ``pair_removal``: ``s(x) - s(x without i) - s(x without j) + s(x without i and j)``, "without"
  meaning the item's features replaced by the dataset mean (feature ablation's reference).
* ``shapley_interaction``: the Shapley interaction index over items (every coalition: 32 forward
  passes for 5 items), computed by shapiq, absent items at the mean.
* ``integrated_hessians`` (Janizek et al. 2021): the curvature integrated along the straight path
  from the mean outfit, ``(x_i - m_i)^T [int int a b H_ij(m + a b (x - m)) da db] (x_j - m_j)``,
  written as one integral over ``t = a b`` with weight ``-t ln t`` (our few lines; the authors'
  ``path-explain`` targets TensorFlow and older torch).
* ``random_pairs``: the chance level.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from ..outfits import OutfitBatch
from ..utils import model_device, model_dtype, seeded
from .base import GroupForward, PassCounter, add_to_registry


@dataclass
class PairAttribution:
    """Pair values of a batch of outfits.

    Attributes
    ----------
    values : Tensor (B, N, N)
        Symmetric, zero on the diagonal and wherever an item is padding; negative lowers the score.
    mask : BoolTensor (B, N)
    method : str
    forward_passes : float
        Outfit rows the model evaluated per outfit (counted by hooks).
    seconds : float
    """

    values: torch.Tensor
    mask: torch.Tensor
    method: str
    forward_passes: float = 0.0
    seconds: float = 0.0
    extras: dict = field(default_factory=dict)

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


@dataclass(frozen=True)
class PairTraits:
    """What a pair method is, declared once.

    Attributes
    ----------
    name : str
    aliases : tuple of str
    cost : {'gradient', 'perturbation', 'exact', 'baseline'}
        Hessian-vector products, one forward pass per removal pattern, every coalition, or free.
    reference : {'none', 'mean'}
        What "without the item" means: nothing (read at the outfit) or the dataset's mean item.
    needs : tuple of str
        ``means`` when the method needs the dataset means (``**wb.options()`` gives them).
    defaults : dict
    """

    name: str
    aliases: tuple = ()
    cost: str = "gradient"
    reference: str = "none"
    needs: tuple = ()
    defaults: dict = field(default_factory=dict)


class PairExplainer:
    """Base class of pair methods: validation, device, pass counting and the output contract live here."""

    traits: ClassVar[PairTraits]

    def __init__(self, model: nn.Module):
        self.model = model

    def attribute(self, batch: OutfitBatch, *, means: dict | None = None, seed: int = 0, target: str = "logit",
                  **options) -> PairAttribution:
        """Pair values of ``batch``; ``means`` (dataset mean per group) for methods with a reference."""
        t, model = self.traits, self.model
        unknown = sorted(set(options) - set(t.defaults) - {"extractor", "baselines_sample"})
        if unknown:
            raise ValueError(f"Unknown option(s) {unknown} for {t.name}; options are {sorted(t.defaults)}.")
        if not isinstance(batch, OutfitBatch):
            raise TypeError(f"attribute_pairs explains an OutfitBatch (e.g. wb.batch([0])); "
                            f"got {type(batch).__name__}.")
        if len(batch) == 0:
            raise ValueError("The batch holds no outfit; pass at least one outfit to explain.")
        if "means" in t.needs and means is None:
            raise ValueError(f"{t.name} replaces absent items by the dataset mean: pass means=... (**wb.options()).")
        groups = list(model.groups.names)
        device, dtype = model_device(model), model_dtype(model)
        batch = batch.to(device)
        x = tuple(batch.features[g].detach().to(dtype) for g in groups)
        ref = tuple(means[g].to(device, dtype).expand_as(v) for g, v in zip(groups, x)) if means is not None else None
        fwd = GroupForward(model, groups, target)
        model.eval()
        counter, start = PassCounter(), time.perf_counter()
        with counter.watch(model), seeded(seed, numpy=True):  # NumPy's generator too, as the item methods
            values = self.compute(fwd, x, ref, batch.slot, batch.mask, **{**t.defaults, **options})
        m = batch.mask
        values = values.detach()
        values = (values + values.transpose(1, 2)) / 2  # exact maths is symmetric; rounding need not be
        keep = m[:, :, None] & m[:, None, :] & ~torch.eye(m.shape[1], dtype=torch.bool, device=m.device)
        return PairAttribution((values * keep + 0.0).cpu(), m.cpu(), t.name, counter.rows / len(batch),
                               time.perf_counter() - start)

    def compute(self, fwd, x, ref, slot, mask, **options) -> torch.Tensor:  # pragma: no cover - overridden
        raise NotImplementedError


PAIR_REGISTRY: dict = {}
PAIR_ALIASES: dict = {}


def register_pair(cls):
    """Add a :class:`PairExplainer` subclass to the pair registry (a class decorator)."""
    return add_to_registry(cls, PAIR_REGISTRY, PAIR_ALIASES, PairTraits, kind="Pair method")


def pair_methods() -> list:
    """Registered pair method names, in registration order."""
    return list(PAIR_REGISTRY)


def get_pair_method(name: str) -> type:
    """The class of a pair method name or alias; an unknown name is a ValueError listing the known ones."""
    if name not in PAIR_ALIASES:
        raise ValueError(f"Unknown pair method {name!r}; choose from {pair_methods()} "
                         f"(aliases: {sorted(a for a in PAIR_ALIASES if a not in PAIR_REGISTRY)}).")
    return PAIR_REGISTRY[PAIR_ALIASES[name]]


def attribute_pairs(model: nn.Module, batch: OutfitBatch, method: str = "second_order_ifiv",
                    **options) -> PairAttribution:
    """Which two items of each outfit act together on its score; see :mod:`xfashion.explain.pairs`.

    Parameters
    ----------
    model, batch : the scorer and the outfits (as for :func:`xfashion.attribute`)
    method : str
        A pair method name or alias (:func:`pair_methods`).
    means : dict, optional
        Dataset mean per group, for methods that remove items (``**wb.options()`` gives it).
    seed : int
    n_steps : int
        Integration points of ``integrated_hessians``.

    Returns
    -------
    PairAttribution
    """
    return get_pair_method(method)(model).attribute(batch, **options)


# ----------------------------------------------------------------------------- curvature
def pair_curvature(fwd, point: tuple, delta: tuple, slot, mask) -> torch.Tensor:
    """``Q[b, i, j] = delta_i^T H_ij(point) delta_j`` summed over every group: one HVP per item.

    ``H`` is the Hessian of the score at ``point`` (one tensor (B, N, D_g) per group); item ``j``'s
    product uses the direction that is ``delta`` on item ``j`` and zero elsewhere, batched over outfits.
    """
    z = tuple(p.detach().requires_grad_(True) for p in point)
    grads = torch.autograd.grad(fwd(*z, slot, mask).sum(), z, create_graph=True)
    columns = []
    for j in range(mask.shape[1]):
        v = sum((g[:, j] * d[:, j]).sum() for g, d in zip(grads, delta))
        if not v.requires_grad:  # a score without curvature (e.g. linear): no interaction
            columns.append(torch.zeros(mask.shape, dtype=delta[0].dtype, device=mask.device))
            continue
        hv = torch.autograd.grad(v, z, retain_graph=True, allow_unused=True)
        columns.append(sum((h * d).sum(-1) for h, d in zip(hv, delta) if h is not None))
    return torch.stack(columns, -1)


@register_pair
class SecondOrderIFIV(PairExplainer):
    """``x_i^T H_ij x_j`` at the outfit: IFIV's second-order companion."""

    traits = PairTraits("second_order_ifiv", aliases=("ifiv2", "hessian_ifiv"), cost="gradient")

    def compute(self, fwd, x, ref, slot, mask, **options):
        return pair_curvature(fwd, x, x, slot, mask)


@register_pair
class IntegratedHessians(PairExplainer):
    """Janizek et al.'s Integrated Hessians from the mean outfit, midpoint rule in ``t = a b``."""

    traits = PairTraits("integrated_hessians", aliases=("ih",), cost="gradient", reference="mean",
                        needs=("means",), defaults={"n_steps": 16})

    def compute(self, fwd, x, ref, slot, mask, n_steps: int = 16, **options):
        delta = tuple(v - r for v, r in zip(x, ref))
        total = 0.0
        for k in range(n_steps):
            t = (k + 0.5) / n_steps
            point = tuple(r + t * d for r, d in zip(ref, delta))
            total = total + (-t * math.log(t) / n_steps) * pair_curvature(fwd, point, delta, slot, mask)
        return total


def _removal_patterns(n: int) -> list:
    """Every set of at most two items to replace: (), (i,), (i, j)."""
    return [(), *[(i,) for i in range(n)], *[(i, j) for i in range(n) for j in range(i + 1, n)]]


@register_pair
class PairRemoval(PairExplainer):
    """Interaction by removal: ``s - s(-i) - s(-j) + s(-i -j)``, removed items at the dataset mean."""

    traits = PairTraits("pair_removal", aliases=("pair_occlusion",), cost="perturbation", reference="mean",
                        needs=("means",))

    @torch.no_grad()
    def compute(self, fwd, x, ref, slot, mask, **options):
        B, N = mask.shape
        patterns = _removal_patterns(N)
        out = {}
        for p in patterns:
            off = torch.zeros(N, dtype=torch.bool, device=mask.device)
            off[list(p)] = True
            out[p] = fwd(*(torch.where(off[None, :, None], r, v) for v, r in zip(x, ref)), slot, mask)
        values = torch.zeros(B, N, N, dtype=x[0].dtype, device=mask.device)
        for i in range(N):
            for j in range(i + 1, N):
                values[:, i, j] = values[:, j, i] = out[()] - out[(i,)] - out[(j,)] + out[(i, j)]
        return values


@register_pair
class ShapleyInteraction(PairExplainer):
    """The Shapley interaction index (SII) of item pairs by shapiq, every coalition evaluated in one batch."""

    traits = PairTraits("shapley_interaction", aliases=("shapiq", "sii"), cost="exact", reference="mean",
                        needs=("means",))

    @torch.no_grad()
    def compute(self, fwd, x, ref, slot, mask, **options):
        import shapiq  # 3 s to import (numba): only when this method runs
        B, N = mask.shape
        values = torch.zeros(B, N, N, dtype=x[0].dtype, device=mask.device)
        for b in range(B):
            n = int(mask[b].sum())
            if n < 2:
                continue

            def game(coalitions, b=b, n=n):
                c = torch.as_tensor(np.asarray(coalitions, bool), device=mask.device)  # (K, n) players present
                keep = torch.zeros(len(c), N, dtype=torch.bool, device=mask.device)
                keep[:, :n] = c
                feats = (torch.where(keep[:, :, None], v[b:b + 1], r[b:b + 1]) for v, r in zip(x, ref))
                return fwd(*feats, slot[b:b + 1].expand(len(c), -1), mask[b:b + 1].expand(len(c), -1)).cpu().numpy()

            iv = shapiq.ExactComputer(game, n_players=n)(index="SII", order=2)
            for i in range(n):
                for j in range(i + 1, n):
                    values[b, i, j] = values[b, j, i] = float(iv[(i, j)])
        return values


@register_pair
class RandomPairs(PairExplainer):
    """Random symmetric pair values: the chance level of every pair metric."""

    traits = PairTraits("random_pairs", aliases=("random",), cost="baseline")

    def compute(self, fwd, x, ref, slot, mask, **options):
        return torch.randn(mask.shape[0], mask.shape[1], mask.shape[1], dtype=x[0].dtype).to(mask.device)


__all__ = ["PairAttribution", "PairTraits", "PairExplainer", "register_pair", "pair_methods", "get_pair_method",
           "attribute_pairs"]
