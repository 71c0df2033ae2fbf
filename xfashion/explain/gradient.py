"""Gradient methods: IFIV (ours) and Captum's InputXGradient, Saliency, Integrated Gradients,
DeepLift and GradientShap, each summed within feature groups. Chapters 04-06.
"""
from __future__ import annotations

import warnings

import torch
import torch.nn as nn

from ..outfits import OutfitBatch
from .base import Explainer, Run, Traits, captum_method, group_sum, mean_baselines, register


def input_gradients(model: nn.Module, batch: OutfitBatch, groups: list, target: str = "logit",
                    inputs: tuple | None = None) -> dict:
    """d score / d x for every feature group ``{group: (B, N, D)}``, one forward and one backward pass.

    Outfits in a batch are independent, so the gradient of the summed scores gives every
    outfit's own gradient at once. ``inputs`` may pass leaf tensors that already require
    gradients (one per group), saving a copy.
    """
    model.eval()
    inputs = dict(zip(groups, inputs)) if inputs is not None else \
        {g: batch.features[g].detach().clone().requires_grad_(True) for g in groups}
    out = model({**batch.features, **inputs}, batch.slot, batch.mask)
    out = torch.sigmoid(out) if target == "probability" else out
    grads = torch.autograd.grad(out.sum(), [inputs[g] for g in groups])
    return dict(zip(groups, grads))


def ifiv_dimensions(model: nn.Module, batch: OutfitBatch, groups: list, target: str = "logit",
                    reference: dict | None = None, inputs: tuple | None = None) -> dict:
    """Per-dimension (x - reference) * gradient ``{group: (B, N, D)}``; zero reference by default, padding zeroed."""
    grads = input_gradients(model, batch, groups, target, inputs)
    mask = batch.mask[..., None]
    out = {}
    for g in groups:
        x = batch.features[g].detach()
        if reference is not None:
            x = x - reference[g].to(x.dtype)
        out[g] = x * grads[g] * mask
    return out


def ifiv(model: nn.Module, batch: OutfitBatch, groups: list, target: str = "logit",
         inputs: tuple | None = None) -> torch.Tensor:
    """IFIV values (B, N, G): IFIV(i, f) = sum over the dimensions d of group f of x_{i,d} * d score / d x_{i,d}."""
    dims = ifiv_dimensions(model, batch, groups, target, inputs=inputs)
    return torch.stack([dims[g].sum(-1) for g in groups], -1)


@register
class IFIV(Explainer):
    """Item-Feature Influence Value: grouped gradient x input, one forward and one backward pass."""

    traits = Traits("ifiv", aliases=("item_feature_influence",), gradients=True)

    def compute(self, run: Run) -> torch.Tensor:
        return ifiv(run.model, run.batch, run.groups, run.target, inputs=run.inputs)


@register
class IFIVMean(Explainer):
    """IFIV against a reference: (x - mean) * gradient summed per group, one forward and one backward pass.

    The paper's IFIV compares each feature with zero; this one with the dataset mean, so an
    item of an ordinary colour gets a small value instead of a large one of either sign.
    """

    traits = Traits("ifiv_mean", aliases=("ifiv_reference",), needs=("means",), gradients=True)

    def compute(self, run: Run) -> torch.Tensor:
        dims = ifiv_dimensions(run.model, run.batch, run.groups, run.target, reference=run.options["means"],
                               inputs=run.inputs)
        return torch.stack([dims[g].sum(-1) for g in run.groups], -1)


@register
class InputXGradient(Explainer):
    """Captum's InputXGradient summed per group: the same numbers as IFIV, via Captum."""

    traits = Traits("input_x_gradient", aliases=("ixg", "inputxgradient", "gradient_x_input"), gradients=True)

    def compute(self, run: Run) -> torch.Tensor:
        attrs = captum_method("InputXGradient")(run.forward).attribute(run.inputs,
                                                                       additional_forward_args=run.extra_args)
        return group_sum(attrs, run.mask)


@register
class Saliency(Explainer):
    """The signed gradient summed per group (abs=False keeps the direction of influence)."""

    traits = Traits("saliency", aliases=("gradient",), gradients=True)

    def compute(self, run: Run) -> torch.Tensor:
        attrs = captum_method("Saliency")(run.forward).attribute(run.inputs, additional_forward_args=run.extra_args,
                                                                 abs=False)
        return group_sum(attrs, run.mask)


@register
class IntegratedGradients(Explainer):
    """Integrated Gradients from the all-zero outfit, with Captum's convergence delta in ``extras``."""

    traits = Traits("integrated_gradients", aliases=("ig", "integratedgradients"), gradients=True,
                    defaults={"n_steps": 50, "internal_batch_size": None})

    def baselines(self, run: Run):
        return None

    def compute(self, run: Run) -> torch.Tensor:
        attrs, delta = captum_method("IntegratedGradients")(run.forward).attribute(
            run.inputs, baselines=self.baselines(run), additional_forward_args=run.extra_args,
            n_steps=run.options["n_steps"], internal_batch_size=run.options["internal_batch_size"],
            return_convergence_delta=True)
        run.extras["convergence_delta"] = delta.detach()
        return group_sum(attrs, run.mask)


@register
class IntegratedGradientsMean(IntegratedGradients):
    """Integrated Gradients from the dataset-mean outfit."""

    traits = Traits("integrated_gradients_mean", aliases=("ig_mean",), gradients=True, needs=("means",),
                    defaults={"n_steps": 50, "internal_batch_size": None})

    def baselines(self, run: Run):
        return mean_baselines(run)


@register
class DeepLift(Explainer):
    """Captum's DeepLift (Rescale rule) from the all-zero outfit, with its convergence delta."""

    traits = Traits("deeplift", aliases=("deep_lift",), gradients=True)

    def compute(self, run: Run) -> torch.Tensor:
        with warnings.catch_warnings():
            # Captum announces on every call that it hooks the activations and removes the hooks after;
            # that is its documented behaviour, not a problem with this call
            warnings.filterwarnings("ignore", message="Setting forward, backward hooks", category=UserWarning)
            attrs, delta = captum_method("DeepLift")(run.forward).attribute(
                run.inputs, additional_forward_args=run.extra_args, return_convergence_delta=True)
        run.extras["convergence_delta"] = delta.detach()
        return group_sum(attrs, run.mask)


@register
class GradientShap(Explainer):
    """Captum's GradientShap over reference outfits (expected gradients with noise)."""

    traits = Traits("gradient_shap", aliases=("gradientshap", "expected_gradients"), gradients=True,
                    needs=("references",), defaults={"n_samples": 25})

    def compute(self, run: Run) -> torch.Tensor:
        base = tuple(run.options["baselines_sample"][g] for g in run.groups)
        attrs = captum_method("GradientShap")(run.forward).attribute(
            run.inputs, baselines=base, additional_forward_args=run.extra_args, n_samples=run.options["n_samples"])
        return group_sum(attrs, run.mask)
