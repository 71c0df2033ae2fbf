"""The explainer contract: :class:`Attribution`, the counted forward, and the method registry.

Every method is one small :class:`Explainer` subclass that declares its :class:`Traits` (name,
aliases, level, what it needs, default options, cost class) and implements ``compute``;
:func:`register` adds it to one registry. :func:`attribute` is a lookup in that registry and
nothing else in the package branches on a method's name: the CLI's choices, the evaluation's
case caps, the explorer's menu and the tables read the traits. Used from chapter 04 on.
"""
from __future__ import annotations

import contextlib
import dataclasses
import difflib
import math
import time
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from ..outfits import MAX_ITEMS, OutfitBatch
from ..utils import check_count, model_device, model_dtype, seeded

NEEDS = {
    "means": "dataset means per group: pass means=xf.dataset_means(feats.tables) (or **wb.options())",
    "references": "reference outfits per group: pass baselines_sample=xf.reference_outfits(feats.tables)",
    "images": "item images in the batch: use wb.batch(..., images=True) or xf.explain.with_images(batch, catalog)",
    "extractor": "the feature extractor: pass extractor=feats.extractor (or **wb.options())",
}
OPTIONS = ("means", "extractor", "baselines_sample", "n_steps", "n_samples", "internal_batch_size")


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


class PassCounter:
    """Counts the outfit rows a model evaluates, forward and backward, through hooks on the model.

    Every explainer's cost is measured this one way, whatever calls the model (our own code,
    Captum, the pixel wrapper): a forward hook counts each output row and, when the output needs
    gradients, a tensor hook counts the rows a backward pass reaches. ``watch`` is a context
    manager, so the hooks are always removed.
    """

    def __init__(self):
        self.rows = 0
        self.backward_rows = 0

    @contextlib.contextmanager
    def watch(self, model: nn.Module):
        """Count ``model``'s passes inside the block."""
        def on_forward(module, args, out):
            self.rows += out.shape[0]
            if out.requires_grad:
                out.register_hook(on_backward)

        def on_backward(grad):
            self.backward_rows += grad.shape[0]

        handle = model.register_forward_hook(on_forward)
        try:
            yield self
        finally:
            handle.remove()


class GroupForward(nn.Module):
    """The scorer as a function of one tensor per feature group (Captum's calling convention)."""

    def __init__(self, model: nn.Module, groups: list, target: str = "logit"):
        super().__init__()
        if target not in ("logit", "probability"):
            raise ValueError(f"Unknown target {target!r}; use 'logit' or 'probability'.")
        self.model, self.groups, self.target = model, list(groups), target

    def forward(self, *args):
        tensors, (slot, mask) = args[: len(self.groups)], args[len(self.groups):]
        out = self.model(dict(zip(self.groups, tensors)), slot, mask)
        return torch.sigmoid(out) if self.target == "probability" else out


@dataclass(frozen=True)
class Traits:
    """What a method is, declared once.

    Attributes
    ----------
    name : str
        Registry name (snake_case).
    aliases : tuple of str
        Friendly names that resolve to it (``ig``, ``gradcam``, ...).
    level : {'item_feature', 'item'}
        ``item`` methods score items only (their value is split evenly over groups).
    needs : tuple of str
        Any of ``means``, ``references``, ``images``, ``extractor``.
    defaults : dict
        Options used unless the caller gives them (e.g. integration steps).
    cost : {'gradient', 'perturbation', 'pixel', 'none'}
        Cost class, for tables and plots.
    max_cases : int, optional
        Cases of the swap evaluation it sees (the slowest methods see the first ones only).
    gradients : bool
        Whether its inputs need ``requires_grad``.
    """

    name: str
    aliases: tuple = ()
    level: str = "item_feature"
    needs: tuple = ()
    defaults: dict = field(default_factory=dict)
    cost: str = "gradient"
    max_cases: int | None = None
    gradients: bool = False

    @property
    def item_level(self) -> bool:
        return self.level == "item"

    @property
    def needs_images(self) -> bool:
        return "images" in self.needs


@dataclass
class Run:
    """One call's state, handed to :meth:`Explainer.compute`."""

    model: nn.Module
    batch: OutfitBatch
    groups: list
    inputs: tuple
    forward: GroupForward
    target: str
    seed: int
    options: dict
    extras: dict = field(default_factory=dict)

    @property
    def mask(self) -> torch.Tensor:
        return self.batch.mask

    @property
    def extra_args(self) -> tuple:
        return (self.batch.slot, self.batch.mask)


class Explainer:
    """Base class: Captum's call shape, ``Method(model).attribute(batch, **options)``.

    Subclasses set ``traits`` and implement ``compute(run) -> values (B, N, G)``.
    """

    traits: ClassVar[Traits]

    def __init__(self, model: nn.Module, **defaults):
        self.model, self.defaults = model, defaults

    def attribute(self, batch: OutfitBatch, *, groups=None, target: str = "logit", seed: int = 0,
                  **options) -> Attribution:
        """Explain a batch; see :func:`attribute` for the options."""
        traits = self.traits
        unknown = sorted(set(options) - set(OPTIONS))
        if unknown:
            raise ValueError(f"Unknown option(s) {unknown} for {traits.name}; options are {list(OPTIONS)}.")
        opts = {**traits.defaults, **self.defaults, **{k: v for k, v in options.items() if v is not None}}
        model = self.model
        if not isinstance(batch, OutfitBatch):
            raise TypeError(f"attribute explains an OutfitBatch (e.g. wb.batch([0])); got {type(batch).__name__}.")
        known = list(model.groups.names) if hasattr(model, "groups") else [g for g in batch.features if g != "image"]
        groups = list(groups or known)
        missing = [g for g in groups if g not in batch.features]
        if missing:
            raise ValueError(f"Unknown feature group(s) {missing}; the batch has {sorted(batch.features)}.")
        if len(batch) == 0:
            raise ValueError("The batch holds no outfit; pass at least one outfit to explain.")
        dtype = model_dtype(model)
        for g in groups:
            if batch.features[g].dtype != dtype:
                raise ValueError(f"Feature group {g!r} has dtype {batch.features[g].dtype}, but the model computes in "
                                 f"{dtype}; convert the features (.to({dtype})) or the model (.to(dtype)).")
        given = {"means": opts.get("means") is not None, "references": opts.get("baselines_sample") is not None,
                 "images": "image" in batch.features, "extractor": opts.get("extractor") is not None}
        lacking = [n for n in traits.needs if not given[n]]
        if lacking:
            raise ValueError(f"{traits.name} needs " + "; and ".join(NEEDS[n] for n in lacking) + ".")
        model.eval()
        # everything runs on the model's device (XFASHION_DEVICE when it was trained there); values return
        # on the CPU, the book's reference. Tensor-dict options (means, references) follow the batch.
        device = model_device(model)
        batch = batch.to(device)
        opts = {k: {g: t.to(device) for g, t in v.items()} if isinstance(v, dict) and all(
            isinstance(t, torch.Tensor) for t in v.values()) else v for k, v in opts.items()}
        # inputs that already require gradients keep Captum from warning that it had to set them
        inputs = tuple(batch.features[g].detach().clone().requires_grad_(traits.gradients) for g in groups)
        run = Run(model, batch, groups, inputs, GroupForward(model, groups, target), target, seed, opts)
        counter = PassCounter()
        start = time.perf_counter()
        # samplers draw from generators seeded by the call, never the caller's state; NumPy's too, since
        # Captum's GradientShap draws its interpolation points with np.random.uniform (captum 0.9,
        # attr/_core/gradient_shap.py): without it the values depended on what ran before in the process
        with counter.watch(model), seeded(seed, numpy=True):
            values = self.compute(run)
        seconds = time.perf_counter() - start
        B = len(batch)
        values = (values.detach() * batch.mask[..., None]).cpu()
        return Attribution(values, batch.mask.cpu(), traits.name, groups, counter.rows / B, counter.backward_rows / B,
                           seconds, traits.item_level, run.extras)

    def compute(self, run: Run) -> torch.Tensor:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError


REGISTRY: dict = {}
ALIASES: dict = {}


def add_to_registry(cls, registry: dict, aliases: dict, traits_type: type, kind: str = "Method",
                    replace_hint: str = ""):
    """Register ``cls`` by its declared traits in ``registry`` and its aliases (item and pair methods share this).

    The same class defined again (a re-run notebook cell) replaces itself; another class under a taken
    name or alias is a ValueError (``replace_hint``, formatted with ``name``, says how to replace on purpose).
    """
    traits = getattr(cls, "traits", None)
    if not isinstance(traits, traits_type):
        raise TypeError(f"{cls.__name__} must declare traits = {traits_type.__name__}(name=...).")
    old = registry.get(traits.name)
    if old is not None and (old.__module__, old.__qualname__) != (cls.__module__, cls.__qualname__):
        raise ValueError(f"{kind} name {traits.name!r} is already registered by {old.__qualname__}; choose another "
                         f"name{replace_hint.format(name=traits.name)}.")
    for name in (traits.name, *traits.aliases):
        owner = aliases.get(name, traits.name)
        if owner != traits.name:
            raise ValueError(f"{kind} name {name!r} is taken by {owner!r}.")
    registry[traits.name] = cls
    for name in (traits.name, *traits.aliases):
        aliases[name] = traits.name
    return cls


def register(cls):
    """Add an :class:`Explainer` subclass to the registry (usable as a class decorator)."""
    return add_to_registry(cls, REGISTRY, ALIASES, Traits,
                           replace_hint=", or xf.explain.unregister({name!r}) first to replace it on purpose")


def unregister(name: str) -> None:
    """Remove a method (and its aliases) from the registry; an unknown name raises a ValueError."""
    canonical = get_method(name).traits.name  # an unknown name: the same message as attribute()
    REGISTRY.pop(canonical, None)
    for alias in [a for a, n in ALIASES.items() if n == canonical]:
        del ALIASES[alias]


def methods() -> tuple:
    """Names of the registered methods, in registration order."""
    return tuple(REGISTRY)


def get_method(name: str) -> type:
    """The Explainer class of a method name or alias, with a suggestion for near misses."""
    canonical = ALIASES.get(str(name).lower().replace("-", "_"))
    if canonical is None:
        close = difflib.get_close_matches(str(name), list(ALIASES), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown method {name!r}.{hint} Choose from {list(REGISTRY)} "
                         f"(aliases: {sorted(a for a in ALIASES if a not in REGISTRY)}).")
    return REGISTRY[canonical]


def traits(name: str) -> Traits:
    """The declared traits of a method name or alias."""
    return get_method(name).traits


def attribute(model: nn.Module, batch: OutfitBatch, method: str = "ifiv", **options) -> Attribution:
    """Explain a batch of outfit scores with one method; same contract for every method.

    Parameters
    ----------
    model : nn.Module
        A feature-level scorer, ``model(features, slot, mask) -> logits``.
    batch : OutfitBatch
        Feature groups (and, for pixel methods, ``features["image"]``).
    method : str
        A registered name or alias (:func:`methods`; e.g. ``ifiv``, ``ig``, ``gradcam``).
    groups : list of str, optional
        Groups to explain (default: ``model.groups.names``).
    target : {'logit', 'probability'}
    seed : int
        Seeds the sampling methods (``gradient_shap``, ``shapley_sampling``, ``random``).
    means, extractor, baselines_sample, n_steps, n_samples, internal_batch_size
        Method options; ``**wb.options()`` gives the first three. Each method reads what it needs.

    Returns
    -------
    Attribution
    """
    return get_method(method)(model).attribute(batch, **options)


def dataset_means(tables: dict, rows=None) -> dict:
    """Mean feature vector of each group over ``rows`` of the item tables (the 'average item')."""
    return {g: (t if rows is None else t[torch.as_tensor(rows)]).mean(0) for g, t in tables.items()}


def reference_outfits(tables: dict, k: int = 16, n_items: int = MAX_ITEMS, rows=None, seed: int = 0) -> dict:
    """Random reference outfits (K, N, D) per group, drawn from item rows (GradientShap baselines)."""
    check_count(k, "k")
    gen = np.random.default_rng(seed)
    pool = np.arange(len(next(iter(tables.values())))) if rows is None else np.asarray(rows)
    pick = torch.from_numpy(gen.choice(pool, (k, n_items)))
    return {g: t[pick] for g, t in tables.items()}


def with_images(batch: OutfitBatch, catalog, colors=None) -> OutfitBatch:
    """The same batch with rendered item images added under ``"image"`` (for pixel methods).

    ``colors`` (B, n), optional, overrides the catalog colours of each outfit's first n items.
    """
    items = batch.items.clamp_min(0).numpy()
    cols = catalog.color[items]
    if colors is not None:  # (B, n) overrides for the first n items of each outfit
        colors = np.atleast_2d(colors)
        cols[:, : colors.shape[1]] = colors
    images = catalog.render(items, cols) * batch.mask[..., None, None, None]
    return batch.with_features({**batch.features, "image": images})


def group_sum(attrs, mask) -> torch.Tensor:
    """Captum's per-dimension attributions summed within each group: (B, N, G)."""
    return torch.stack([a.sum(-1) for a in attrs], -1) * mask[..., None]


def mean_baselines(run: Run) -> tuple:
    """Every (item, group) at its dataset mean (padding stays zero)."""
    means = run.options["means"]
    return tuple(means[g].to(x.dtype).expand_as(x) * run.mask[..., None] for g, x in zip(run.groups, run.inputs))
