"""Explanations of outfit scores: IFIV (ours) and Captum baselines behind one contract.

Every method returns an :class:`Attribution` whose ``values`` tensor has shape
``[outfits, items, feature groups]``: positive raises the score, negative lowers it. The
culprit of an outfit is the (item, group) with the lowest value among its real items; an
item's value is the sum over its groups. Padded items never win.

IFIV (Item-Feature Influence Value, Tangseng & Okatani 2020) is gradient x input summed
over each group's dimensions, for a whole batch in one forward and one backward pass.
"""
from __future__ import annotations

import difflib
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn

from .outfits import OutfitBatch
from .scorer import PixelScorer
from .utils import seeded

GRADIENT_METHODS = ("ifiv", "input_x_gradient", "saliency", "integrated_gradients", "integrated_gradients_mean",
                    "deeplift", "gradient_shap")
PERTURBATION_METHODS = ("feature_ablation", "shapley_sampling", "exact_shapley")
PIXEL_METHODS = ("grad_cam", "pixel_ig")
METHODS = GRADIENT_METHODS + PERTURBATION_METHODS + PIXEL_METHODS + ("random",)
ITEM_LEVEL = PIXEL_METHODS


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

    def table(self, b: int = 0):
        """Outfit ``b``'s values as a pandas DataFrame (items x groups)."""
        import pandas as pd
        n = int(self.mask[b].sum())
        return pd.DataFrame(self.values[b, :n].detach().numpy(), columns=self.groups,
                            index=[f"item {i}" for i in range(n)])


class _Counter:
    def __init__(self):
        self.rows = 0
        self.backward_rows = 0


class GroupForward(nn.Module):
    """The scorer as a function of one tensor per feature group (Captum's calling convention).

    Counts every evaluated outfit row, forward and backward, so each method's cost is
    measured rather than assumed.
    """

    def __init__(self, model: nn.Module, groups: list, target: str = "logit"):
        super().__init__()
        if target not in ("logit", "probability"):
            raise ValueError(f"Unknown target {target!r}; use 'logit' or 'probability'.")
        self.model, self.groups, self.target = model, list(groups), target
        self.counter = _Counter()

    def forward(self, *args):
        tensors, (slot, mask) = args[: len(self.groups)], args[len(self.groups):]
        out = self.model(dict(zip(self.groups, tensors)), slot, mask)
        out = torch.sigmoid(out) if self.target == "probability" else out
        self.counter.rows += out.shape[0]
        if out.requires_grad:
            out.register_hook(self._count_backward)
        return out

    def _count_backward(self, grad):
        self.counter.backward_rows += grad.shape[0]
        return grad


def dataset_means(tables: dict, rows=None) -> dict:
    """Mean feature vector of each group over ``rows`` of the item tables (the 'average item')."""
    return {g: (t if rows is None else t[torch.as_tensor(rows)]).mean(0) for g, t in tables.items()}


def _group_sum(attrs, mask) -> torch.Tensor:
    return torch.stack([a.sum(-1) for a in attrs], -1) * mask[..., None]


def _baseline_tensors(inputs, groups, means, mask):
    if means is None:
        raise ValueError("This method needs dataset means: pass means=xf.dataset_means(feats.tables).")
    return tuple(means[g].to(x.dtype).expand_as(x) * mask[..., None] for g, x in zip(groups, inputs))


def ifiv(model: nn.Module, batch: OutfitBatch, groups: list, target: str = "logit") -> torch.Tensor:
    """IFIV values (B, N, G) in one forward and one backward pass for the whole batch.

    IFIV(i, f) = sum over the dimensions d of group f of x_{i,d} * d score / d x_{i,d}.
    Outfits in a batch are independent, so the gradient of the summed scores gives every
    outfit's own gradient at once.
    """
    model.eval()
    inputs = {g: batch.features[g].detach().clone().requires_grad_(True) for g in groups}
    out = model({**batch.features, **inputs}, batch.slot, batch.mask)
    out = torch.sigmoid(out) if target == "probability" else out
    grads = torch.autograd.grad(out.sum(), [inputs[g] for g in groups])
    return torch.stack([(inputs[g] * gr).sum(-1) for g, gr in zip(groups, grads)], -1).detach() * batch.mask[..., None]


def exact_shapley_values(fwd: GroupForward, inputs: tuple, slot, mask, means: dict, max_players: int = 12):
    """Exact Shapley values over (item, group) players; absent players take the dataset mean.

    Enumerates all 2^P coalitions of each outfit's P = items x groups players (P <= 12).
    """
    B, N = mask.shape
    G = len(inputs)
    out = torch.zeros(B, N, G)
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


def attribute(model: nn.Module, batch: OutfitBatch, method: str = "ifiv", *, groups=None, target: str = "logit",
              means: dict | None = None, extractor: nn.Module | None = None, n_steps: int = 50,
              n_samples: int = 25, baselines_sample: dict | None = None, seed: int = 0,
              internal_batch_size: int | None = None) -> Attribution:
    """Explain a batch of outfit scores with one method; same contract for every method.

    Parameters
    ----------
    model : nn.Module
        A feature-level scorer, ``model(features, slot, mask) -> logits``.
    batch : OutfitBatch
        Feature groups (and, for pixel methods, ``features["image"]``).
    method : str
        One of :data:`METHODS`.
    groups : list of str, optional
        Groups to explain (default: ``model.groups.names``).
    target : {'logit', 'probability'}
    means : dict, optional
        Dataset mean per group: baseline of ``integrated_gradients_mean``, ``feature_ablation``,
        ``shapley_sampling`` and ``exact_shapley``.
    extractor : FeatureExtractor, optional
        Needed by the pixel methods (``grad_cam``, ``pixel_ig``).
    n_steps : int
        Integration steps for the IG variants.
    n_samples : int
        Samples for ``gradient_shap`` and ``shapley_sampling``.
    baselines_sample : dict, optional
        Per-group tensors (K, N, D) of reference outfits for ``gradient_shap``.
    """
    if method not in METHODS:
        close = difflib.get_close_matches(str(method), METHODS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown method {method!r}.{hint} Choose from {list(METHODS)}.")
    if not isinstance(batch, OutfitBatch):
        raise TypeError(f"attribute explains an OutfitBatch (e.g. wb.batch([0])); got {type(batch).__name__}.")
    known = list(model.groups.names) if hasattr(model, "groups") else list(batch.features)
    groups = list(groups or known)
    unknown = [g for g in groups if g not in batch.features]
    if unknown:
        raise ValueError(f"Unknown feature group(s) {unknown}; the batch has {sorted(batch.features)}.")
    if len(batch) == 0:
        raise ValueError("The batch holds no outfit; pass at least one outfit to explain.")
    for g in groups:
        if batch.features[g].dtype != torch.float32:
            raise ValueError(f"Feature group {g!r} has dtype {batch.features[g].dtype}; attributions need float32 "
                             "features (convert with .float()).")
    model.eval()
    mask = batch.mask
    B = mask.shape[0]
    # inputs that already require gradients keep Captum from warning that it had to set them
    inputs = tuple(batch.features[g].detach().clone().requires_grad_(method in GRADIENT_METHODS) for g in groups)
    fwd = GroupForward(model, groups, target)
    extras = {}
    start = time.perf_counter()
    with seeded(seed):  # samplers draw from a generator seeded by the call, never the caller's state
        values, fwd = _run_method(method, model, batch, groups, inputs, fwd, extras, target=target, means=means,
                                  extractor=extractor, n_steps=n_steps, n_samples=n_samples,
                                  baselines_sample=baselines_sample, seed=seed,
                                  internal_batch_size=internal_batch_size)
    seconds = time.perf_counter() - start
    return Attribution(values.detach().float(), mask, method, groups, fwd.counter.rows / B,
                       fwd.counter.backward_rows / B, seconds, method in ITEM_LEVEL, extras)


def _run_method(method, model, batch, groups, inputs, fwd, extras, *, target, means, extractor, n_steps, n_samples,
                baselines_sample, seed, internal_batch_size):
    from captum.attr import (DeepLift, FeatureAblation, GradientShap, InputXGradient, IntegratedGradients,
                             LayerGradCam, Saliency, ShapleyValueSampling)
    mask, slot = batch.mask, batch.slot
    B = mask.shape[0]
    extra_args = (slot, mask)
    if method == "ifiv":
        values = ifiv(model, batch, groups, target)
        fwd.counter.rows, fwd.counter.backward_rows = B, B
    elif method == "input_x_gradient":
        values = _group_sum(InputXGradient(fwd).attribute(inputs, additional_forward_args=extra_args), mask)
    elif method == "saliency":
        # signed gradient summed per group (abs=False keeps the direction of influence)
        values = _group_sum(Saliency(fwd).attribute(inputs, additional_forward_args=extra_args, abs=False), mask)
    elif method in ("integrated_gradients", "integrated_gradients_mean"):
        base = _baseline_tensors(inputs, groups, means, mask) if method.endswith("mean") else None
        attrs, delta = IntegratedGradients(fwd).attribute(inputs, baselines=base, additional_forward_args=extra_args,
                                                          n_steps=n_steps, internal_batch_size=internal_batch_size,
                                                          return_convergence_delta=True)
        values, extras["convergence_delta"] = _group_sum(attrs, mask), delta.detach()
    elif method == "deeplift":
        attrs, delta = DeepLift(fwd).attribute(inputs, additional_forward_args=extra_args,
                                               return_convergence_delta=True)
        values, extras["convergence_delta"] = _group_sum(attrs, mask), delta.detach()
    elif method == "gradient_shap":
        if baselines_sample is None:
            raise ValueError("gradient_shap needs baselines_sample: reference outfits per group, e.g. "
                             "xf.reference_outfits(feats.tables).")
        base = tuple(baselines_sample[g] for g in groups)
        values = _group_sum(GradientShap(fwd).attribute(inputs, baselines=base, additional_forward_args=extra_args,
                                                        n_samples=n_samples), mask)
    elif method in ("feature_ablation", "shapley_sampling"):
        base = _baseline_tensors(inputs, groups, means, mask)
        N, G = mask.shape[1], len(groups)
        fmask = tuple((torch.arange(N)[:, None] * G + g).expand(N, x.shape[-1])[None].contiguous()
                      for g, x in enumerate(inputs))
        if method == "feature_ablation":
            attrs = FeatureAblation(fwd).attribute(inputs, baselines=base, additional_forward_args=extra_args,
                                                   feature_mask=fmask, perturbations_per_eval=N * G)
        else:
            attrs = ShapleyValueSampling(fwd).attribute(inputs, baselines=base, additional_forward_args=extra_args,
                                                        feature_mask=fmask, n_samples=n_samples,
                                                        perturbations_per_eval=N * G)
        # every dimension of a group carries the group's whole attribution: read one of them
        values = torch.stack([a[..., 0] for a in attrs], -1) * mask[..., None]
    elif method == "exact_shapley":
        if means is None:
            raise ValueError("exact_shapley needs means=xf.dataset_means(feats.tables).")
        values = exact_shapley_values(fwd, inputs, slot, mask, means) * mask[..., None]
    elif method in PIXEL_METHODS:
        if "image" not in batch.features or extractor is None:
            raise ValueError(f"{method} explains pixels: build the batch with images "
                             "(xf.with_images(batch, catalog)) and pass extractor=feats.extractor.")
        pixel = PixelScorer(extractor, model).eval()
        images = batch.features["image"].detach().clone().requires_grad_(True)
        pfwd = GroupForward(pixel, ["image"], target)
        if method == "grad_cam":
            layer = extractor.cnn.last_conv
            cam = LayerGradCam(pfwd, layer).attribute(images, additional_forward_args=extra_args)
            cam = cam.reshape(B, mask.shape[1], *cam.shape[-2:]).detach()  # one map per item
            item = cam.sum((-1, -2))
            extras["maps"] = cam * mask[..., None, None]
        else:
            # every step runs the CNN on every item with gradients: a few outfits and steps at a time
            # keep memory flat (Captum splits steps, never examples, so outfits are split here)
            per = 8
            attrs = torch.cat([IntegratedGradients(pfwd).attribute(
                images[i:i + per], additional_forward_args=(slot[i:i + per], mask[i:i + per]), n_steps=n_steps,
                internal_batch_size=internal_batch_size or 4 * len(images[i:i + per])) for i in range(0, B, per)])
            item = attrs.sum((-1, -2, -3)).detach()
            extras["pixel_attributions"] = attrs.detach()
        values = (item / len(groups))[..., None].expand(-1, -1, len(groups)) * mask[..., None]
        fwd = pfwd
    else:  # random
        gen = torch.Generator().manual_seed(seed)
        values = torch.randn(B, mask.shape[1], len(groups), generator=gen) * mask[..., None]
    return values, fwd


class _Method:
    """Captum's call shape: ``Method(model).attribute(batch, **options)``."""

    method = ""

    def __init__(self, model: nn.Module, **defaults):
        self.model, self.defaults = model, defaults

    def attribute(self, batch: OutfitBatch, **options) -> Attribution:
        return attribute(self.model, batch, self.method, **{**self.defaults, **options})


class IFIV(_Method):
    """Item-Feature Influence Value: grouped gradient x input, one forward and one backward pass."""

    method = "ifiv"


def method_class(name: str):
    """A Captum-shaped class for any method name (e.g. ``method_class('deeplift')(model)``)."""
    if name not in METHODS:
        raise ValueError(f"Unknown method {name!r}; choose from {list(METHODS)}.")
    return type(f"Explainer_{name}", (_Method,), {"method": name})


def reference_outfits(tables: dict, k: int = 16, n_items: int = 5, rows=None, seed: int = 0) -> dict:
    """Random reference outfits (K, N, D) per group, drawn from item rows (GradientShap baselines)."""
    gen = np.random.default_rng(seed)
    pool = np.arange(len(next(iter(tables.values())))) if rows is None else np.asarray(rows)
    pick = torch.from_numpy(gen.choice(pool, (k, n_items)))
    return {g: t[pick] for g, t in tables.items()}


def with_images(batch: OutfitBatch, catalog, colours=None) -> OutfitBatch:
    """The same batch with rendered item images added under ``"image"`` (for pixel methods).

    ``colours`` (B, n), optional, overrides the catalog colours of each outfit's first n items.
    """
    items = batch.items.clamp_min(0).numpy()
    cols = catalog.colour[items]
    if colours is not None:  # (B, n) overrides for the first n items of each outfit
        colours = np.atleast_2d(colours)
        cols[:, : colours.shape[1]] = colours
    images = catalog.render(items, cols) * batch.mask[..., None, None, None]
    return batch.with_features({**batch.features, "image": images})
