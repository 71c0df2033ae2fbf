"""Pair explanations: which two items clash (chapter 08).

The stylist's rules are about pairs (a hue clash, navy with black, sandals with a coat), and the
scorer is built from pair terms, yet an item-level explanation splits a two-item clash between both
items. A pair method returns :class:`PairAttribution` values ``[outfits, items, items]``:
symmetric, zero on the diagonal and on padding; negative means the two items together lower the
score more than each does alone. Pair methods are :class:`~xfashion.explain.base.Explainer`
subclasses like the item methods, in the same registry, with ``Traits(level="pair")``: the same
template validates, seeds, counts passes and makes the output symmetric and masked.
:func:`attribute_pairs` is the call for pair methods only (``xf.explain.methods("pairs")`` lists them).

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

import numpy as np
import torch
import torch.nn as nn

from ..outfits import OutfitBatch
from .base import Explainer, PairAttribution, Run, Traits, get_method, register
from .baseline import case_seeds


def attribute_pairs(model: nn.Module, batch: OutfitBatch, method: str = "second_order_ifiv",
                    **options) -> PairAttribution:
    """Which two items of each outfit act together on its score; see :mod:`xfashion.explain.pairs`.

    Parameters
    ----------
    model, batch : the scorer and the outfits (as for :func:`xfashion.attribute`)
    method : str
        A pair method name or alias (``xf.explain.methods("pairs")``).
    means : dict, optional
        Dataset mean per group, for methods that remove items (``**wb.options()`` gives it).
    seed : int
    n_steps : int
        Integration points of ``integrated_hessians``.

    Returns
    -------
    PairAttribution
    """
    return get_method(method, "pairs")(model).attribute(batch, **options)


def mean_reference(run: Run) -> tuple:
    """Every item at the dataset mean, one tensor per group shaped as the inputs (padding included)."""
    return tuple(run.options["means"][g].to(x.dtype).expand_as(x) for g, x in zip(run.groups, run.inputs))


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


@register
class SecondOrderIFIV(Explainer):
    """``x_i^T H_ij x_j`` at the outfit: IFIV's second-order companion."""

    traits = Traits("second_order_ifiv", aliases=("ifiv2", "hessian_ifiv"), level="pair", cost="gradient")

    def compute(self, run: Run) -> torch.Tensor:
        return pair_curvature(run.forward, run.inputs, run.inputs, run.batch.slot, run.mask)


@register
class IntegratedHessians(Explainer):
    """Janizek et al.'s Integrated Hessians from the mean outfit, midpoint rule in ``t = a b``."""

    traits = Traits("integrated_hessians", aliases=("ih",), level="pair", cost="gradient", reference="mean",
                    needs=("means",), defaults={"n_steps": 16}, max_cases=120)

    def compute(self, run: Run) -> torch.Tensor:
        fwd, x, ref, slot, mask = run.forward, run.inputs, mean_reference(run), run.batch.slot, run.mask
        n_steps = run.options["n_steps"]
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


@register
class PairRemoval(Explainer):
    """Interaction by removal: ``s - s(-i) - s(-j) + s(-i -j)``, removed items at the dataset mean."""

    traits = Traits("pair_removal", aliases=("pair_occlusion",), level="pair", cost="perturbation",
                    reference="mean", needs=("means",))

    @torch.no_grad()
    def compute(self, run: Run) -> torch.Tensor:
        fwd, x, ref, slot, mask = run.forward, run.inputs, mean_reference(run), run.batch.slot, run.mask
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


@register
class ShapleyInteraction(Explainer):
    """The Shapley interaction index (SII) of item pairs by shapiq, every coalition evaluated in one batch."""

    traits = Traits("shapley_interaction", aliases=("shapiq", "sii"), level="pair", cost="exact", reference="mean",
                    needs=("means",), max_cases=120)

    @torch.no_grad()
    def compute(self, run: Run) -> torch.Tensor:
        fwd, x, ref, slot, mask = run.forward, run.inputs, mean_reference(run), run.batch.slot, run.mask
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


@register
class RandomPairs(Explainer):
    """Random symmetric pair values, drawn per case like :class:`~xfashion.explain.baseline.Random`: chance level."""

    traits = Traits("random_pairs", level="pair", cost="none")

    def compute(self, run: Run) -> torch.Tensor:
        # seeded per case: torch's global generator made the chance row depend on whatever ran before it
        B, N = run.mask.shape
        values = torch.zeros(B, N, N)
        for b, seed in enumerate(case_seeds(run)):  # the outfit's own items only: the same draw in any batch
            real = run.mask[b].cpu().nonzero().flatten()
            draw = torch.triu(torch.randn(len(real), len(real), generator=torch.Generator().manual_seed(seed)), 1)
            values[b][real[:, None], real] = draw + draw.T
        return values.to(dtype=run.inputs[0].dtype, device=run.mask.device)


__all__ = ["PairAttribution", "attribute_pairs"]
