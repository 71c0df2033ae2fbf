"""Perturbation methods: feature ablation and Shapley values over (item, group) players, and the
random baseline. Absent players take the dataset mean. Chapters 05-06.
"""
from __future__ import annotations

import math

import torch

from .base import Explainer, GroupForward, Run, Traits, captum_method, mean_baselines, register


def group_feature_mask(run: Run) -> tuple:
    """Captum feature masks that make each (item, group) one feature: id = item * G + group."""
    N, G = run.mask.shape[1], len(run.groups)
    return tuple((torch.arange(N)[:, None] * G + g).expand(N, x.shape[-1])[None].contiguous()
                 for g, x in enumerate(run.inputs))


def first_dimension(attrs, mask) -> torch.Tensor:
    """Every dimension of a group carries the group's whole attribution: read one of them."""
    return torch.stack([a[..., 0] for a in attrs], -1) * mask[..., None]


@register
class FeatureAblation(Explainer):
    """Captum's FeatureAblation: each (item, group) replaced by its dataset mean, one at a time."""

    traits = Traits("feature_ablation", aliases=("ablation", "occlusion"), needs=("means",), cost="perturbation")

    def compute(self, run: Run) -> torch.Tensor:
        N, G = run.mask.shape[1], len(run.groups)
        attrs = captum_method("FeatureAblation")(run.forward).attribute(run.inputs, baselines=mean_baselines(run),
                                                        additional_forward_args=run.extra_args,
                                                        feature_mask=group_feature_mask(run),
                                                        perturbations_per_eval=N * G)
        return first_dimension(attrs, run.mask)


@register
class ShapleyValueSampling(Explainer):
    """Captum's ShapleyValueSampling over (item, group) players (permutation sampling)."""

    traits = Traits("shapley_sampling", aliases=("shap", "shapley", "shapley_value_sampling"), needs=("means",),
                    cost="perturbation", defaults={"n_samples": 25}, max_cases=400)

    def compute(self, run: Run) -> torch.Tensor:
        N, G = run.mask.shape[1], len(run.groups)
        attrs = captum_method("ShapleyValueSampling")(run.forward).attribute(run.inputs, baselines=mean_baselines(run),
                                                             additional_forward_args=run.extra_args,
                                                             feature_mask=group_feature_mask(run),
                                                             n_samples=run.options["n_samples"],
                                                             perturbations_per_eval=N * G)
        return first_dimension(attrs, run.mask)


def exact_shapley_values(fwd: GroupForward, inputs: tuple, slot, mask, means: dict, max_players: int = 12):
    """Exact Shapley values over (item, group) players; absent players take the dataset mean.

    Enumerates all 2^P coalitions of each outfit's P = items x groups players (P <= 12).
    """
    B, N = mask.shape
    G = len(inputs)
    out = torch.zeros(B, N, G, dtype=inputs[0].dtype)
    for b in range(B):
        items = torch.nonzero(mask[b]).flatten().tolist()
        players = [(i, g) for i in items for g in range(G)]
        P = len(players)
        if P > max_players:
            raise ValueError(f"Exact Shapley enumerates 2^{P} coalitions for outfit {b}; it is limited to "
                             f"{max_players} players. Use method='shapley_sampling' for larger outfits.")
        codes = torch.arange(2 ** P)
        present = ((codes[:, None] >> torch.arange(P)) & 1).bool()  # (2^P, P)
        rows = []
        for g, (name, x) in enumerate(zip(fwd.groups, inputs)):
            base = means[name].to(x.dtype)
            xb = x[b:b + 1].expand(len(codes), -1, -1).clone()
            for p, (i, pg) in enumerate(players):
                if pg == g:
                    xb[~present[:, p], i] = base
            rows.append(xb)
        with torch.no_grad():
            values = fwd(*rows, slot[b:b + 1].expand(len(codes), -1), mask[b:b + 1].expand(len(codes), -1))
        size = present.sum(1)
        weight = torch.tensor([math.factorial(s) * math.factorial(P - s - 1) / math.factorial(P) for s in range(P)])
        for p, (i, g) in enumerate(players):
            without = ~present[:, p]
            with_p = codes[without] | (1 << p)
            out[b, i, g] = (weight[size[without]] * (values[with_p] - values[codes[without]])).sum()
    return out


@register
class ExactShapley(Explainer):
    """Exact Shapley values by enumerating every coalition (outfits of up to 12 players)."""

    traits = Traits("exact_shapley", aliases=("shapley_exact",), needs=("means",), cost="perturbation", max_cases=600)

    def compute(self, run: Run) -> torch.Tensor:
        return exact_shapley_values(run.forward, run.inputs, run.batch.slot, run.mask, run.options["means"])
