"""Explanations of outfit scores: IFIV (ours) and Captum baselines behind one contract.

Every method returns an :class:`Attribution` whose ``values`` tensor has shape
``[outfits, items, feature groups]``: positive raises the score, negative lowers it. The
culprit of an outfit is the (item, group) with the lowest value among its real items; an
item's value is the sum over its groups. Padded items never win.

One module per family: ``base`` (contract, counted passes and registry), ``gradient`` (IFIV,
InputXGradient, Saliency, IG, DeepLift, GradientShap), ``perturbation`` (ablation, Shapley),
``pixel`` (Grad-CAM, pixel IG), ``baseline`` (random), ``pairs`` (which two items clash, chapter
08). Adding a method, item or pair, is one small :class:`Explainer` subclass with ``@register``;
:func:`get_method` gives any method's class (``get_method("ig")(model).attribute(batch)``);
:func:`methods` lists item methods, ``methods("pairs")`` pair methods. :func:`xfashion.attribute`
is the one call.
"""
import sys as _sys

# importing a family registers its methods (random last, so tables list it after the real methods)
# isort: off
from . import gradient, perturbation, pixel  # noqa: F401
from . import baseline  # noqa: F401
from . import pairs  # noqa: F401 - pair methods: the same registry, level="pair"
# isort: on
from .base import (
    Attribution,
    Explainer,
    Traits,
    attribute,  # noqa: F401 - xf.attribute is the one call, listed at the top level
    dataset_means,
    get_method,
    methods,
    reference_outfits,
    register,
    unregister,
)
from .base import with_images as with_images  # importable here, as the messages say; not in __all__
from .gradient import IFIV
from .pairs import attribute_pairs as attribute_pairs  # reachable as xf.explain.attribute_pairs; not in __all__


def explain_code() -> list:
    """The modules of this package, for cache keys of results that depend on any method."""
    names = ("outputs", "base", "gradient", "perturbation", "pixel", "baseline", "pairs")
    return [_sys.modules[f"{__name__}.{m}"] for m in names]


# xfashion.attribute is the one call; it is listed at the top level, not again here
__all__ = ["Attribution", "Explainer", "IFIV", "Traits", "dataset_means", "get_method", "methods",
           "reference_outfits", "register", "unregister"]
