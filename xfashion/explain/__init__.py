"""Explanations of outfit scores: IFIV (ours) and Captum baselines behind one contract.

Every method returns an :class:`Attribution` whose ``values`` tensor has shape
``[outfits, items, feature groups]``: positive raises the score, negative lowers it. The
culprit of an outfit is the (item, group) with the lowest value among its real items; an
item's value is the sum over its groups. Padded items never win.

One module per family: ``base`` (contract and registry), ``gradient`` (IFIV, InputXGradient,
Saliency, IG, DeepLift, GradientShap), ``perturbation`` (ablation, Shapley, random), ``pixel``
(Grad-CAM, pixel IG), ``baseline`` (random). Adding a method is one small :class:`Explainer` subclass with
``@register``.
"""
import sys as _sys

from .base import (
    ALIASES,
    REGISTRY,
    Attribution,
    Explainer,
    GroupForward,
    Run,
    Traits,
    attribute,
    dataset_means,
    get_method,
    group_sum,
    mean_baselines,
    methods,
    reference_outfits,
    register,
    traits,
    unregister,
    with_images,
)
from .baseline import Random  # noqa: I001 - registered last, so tables list it after the real methods
from .gradient import (
    IFIV,
    DeepLift,
    GradientShap,
    InputXGradient,
    IntegratedGradients,
    IntegratedGradientsMean,
    Saliency,
    ifiv,
)
from .perturbation import ExactShapley, FeatureAblation, ShapleyValueSampling, exact_shapley_values
from .pixel import GradCAM, PixelIG

METHODS = methods()  # the built-in methods; methods() also lists ones registered later


def explain_code() -> list:
    """The modules of this package, for cache keys of results that depend on any method."""
    return [_sys.modules[f"{__name__}.{m}"] for m in ("base", "gradient", "perturbation", "pixel", "baseline")]


def method_class(name: str) -> type:
    """The Explainer class of a method name or alias (e.g. ``method_class('deeplift')(model)``)."""
    return get_method(name)


__all__ = [
    "explain_code", "ALIASES", "REGISTRY", "METHODS", "Attribution", "Explainer", "GroupForward", "Run", "Traits",
    "attribute", "dataset_means", "get_method", "group_sum", "mean_baselines", "methods", "method_class",
    "reference_outfits", "register", "traits", "unregister", "with_images", "IFIV", "DeepLift", "GradientShap",
    "InputXGradient", "IntegratedGradients", "IntegratedGradientsMean", "Saliency", "ifiv", "ExactShapley",
    "FeatureAblation", "Random", "ShapleyValueSampling", "exact_shapley_values", "GradCAM", "PixelIG",
]
