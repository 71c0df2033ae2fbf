"""Pixel methods: Grad-CAM on the shape-texture CNN's last convolution and pixel Integrated
Gradients, both through the end-to-end :class:`PixelScorer`, so they explain the same score.
They score items, not groups (an item's value is split evenly over its groups). Chapters 05-06.
"""
from __future__ import annotations

import torch

from ..scorer import PixelScorer
from .base import Explainer, GroupForward, Run, Traits, captum_method, register


class PixelExplainer(Explainer):
    """Shared set-up: the pixel scorer as a function of the images, and the spread of item values over groups.

    The pixel scorer calls the feature scorer, so the same hooks count its passes.
    """

    def compute(self, run: Run) -> torch.Tensor:
        pixel = GroupForward(PixelScorer(run.options["extractor"], run.model).eval(), ["image"], run.target)
        images = run.batch.features["image"].detach().clone().requires_grad_(True)
        item = self.item_values(run, pixel, images, run.options["extractor"])
        return (item / len(run.groups))[..., None].expand(-1, -1, len(run.groups))

    def item_values(self, run: Run, pixel: GroupForward, images: torch.Tensor,
                    extractor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError


@register
class GradCAM(PixelExplainer):
    """Captum's LayerGradCam on the CNN's last conv layer; one map per item in ``extras['maps']``."""

    traits = Traits("grad_cam", aliases=("gradcam", "layer_grad_cam"), level="item", needs=("images", "extractor"),
                    cost="pixel", max_cases=600)

    def item_values(self, run: Run, pixel: GroupForward, images, extractor) -> torch.Tensor:
        B, N = run.mask.shape
        cam = captum_method("LayerGradCam")(pixel, extractor.cnn.last_conv).attribute(images,
                                                                          additional_forward_args=run.extra_args)
        cam = cam.reshape(B, N, *cam.shape[-2:]).detach()
        run.extras["maps"] = cam * run.mask[..., None, None]
        return cam.sum((-1, -2))


@register
class PixelIG(PixelExplainer):
    """Integrated Gradients on the item images from blank (all-zero RGBA) images; pixel maps in
    ``extras['pixel_attributions']``, Captum's convergence delta per outfit in ``extras['convergence_delta']``."""

    traits = Traits("pixel_ig", aliases=("pixel_integrated_gradients",), level="item", gradients=False,
                    needs=("images", "extractor"), cost="pixel", defaults={"n_steps": 8, "internal_batch_size": None},
                    max_cases=60)

    def item_values(self, run: Run, pixel: GroupForward, images, extractor) -> torch.Tensor:
        # every step runs the CNN on every item with gradients: a few outfits and steps at a time keep
        # memory flat (Captum splits steps, never examples, so outfits are split here)
        per, slot, mask = 8, run.batch.slot, run.mask
        n_steps, internal = run.options["n_steps"], run.options["internal_batch_size"]
        parts = [captum_method("IntegratedGradients")(pixel).attribute(
            images[i:i + per], additional_forward_args=(slot[i:i + per], mask[i:i + per]), n_steps=n_steps,
            internal_batch_size=internal or 4 * len(images[i:i + per]), return_convergence_delta=True)
            for i in range(0, len(images), per)]
        attrs = torch.cat([a for a, _ in parts])
        run.extras["pixel_attributions"] = attrs.detach()
        # few steps (each runs the CNN on every item): the delta says how far they miss completeness
        run.extras["convergence_delta"] = torch.cat([d for _, d in parts]).detach()
        return attrs.sum((-1, -2, -3)).detach()
