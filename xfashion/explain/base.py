"""The explainer contract: the outputs, the counted forward, and the method registry.

Every method, item or pair, is one small :class:`Explainer` subclass that declares its
:class:`Traits` (name, aliases, level, what it needs, its options with their defaults, cost class,
case cap) and implements ``compute``; :func:`register` adds it to one registry. The level is the
output kind: ``item_feature`` and ``item`` methods return an :class:`Attribution` (outfits x items x
groups), ``pair`` methods a :class:`PairAttribution` (outfits x items x items). One template,
:meth:`Explainer.attribute`, holds every rule (validation, dtype, device, seeding, pass counting).
:func:`attribute` is a lookup in that registry and nothing else in the package branches on a
method's name: the CLI's choices, the evaluation's case caps, the explorer's menu and the tables
read the traits. Used from chapter 04 on.
"""
from __future__ import annotations

import contextlib
import difflib
import time
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch
import torch.nn as nn

from ..outfits import MAX_ITEMS, OutfitBatch
from ..utils import check_count, model_device, model_dtype, seeded
from .outputs import Attribution, PairAttribution

# What a method may need (Traits.needs), the option that supplies it (None: the batch does) and how.
# Every method accepts these options (``**wb.options()`` passes them all) and reads what it needs;
# its own options are the keys of its Traits.defaults.
NEEDS = {
    "means": ("means", "dataset means per group: pass means=xf.dataset_means(feats.tables) (or **wb.options())"),
    "references": ("baselines_sample",
                   "reference outfits per group: pass baselines_sample=xf.reference_outfits(feats.tables)"),
    "images": (None, "item images in the batch: use wb.batch(..., images=True) or xf.explain.with_images(batch, "
                     "catalog)"),
    "extractor": ("extractor", "the feature extractor: pass extractor=feats.extractor (or **wb.options())"),
}
SHARED_OPTIONS = tuple(option for option, _ in NEEDS.values() if option)
LEVELS = ("item_feature", "item", "pair")
KINDS = {"items": ("item_feature", "item"), "pairs": ("pair",)}


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
    level : {'item_feature', 'item', 'pair'}
        The output: values per (item, group), per item only (split evenly over groups), or per
        pair of items (a :class:`PairAttribution`).
    needs : tuple of str
        Any of ``means``, ``references``, ``images``, ``extractor`` (:data:`NEEDS`).
    defaults : dict
        The method's own options, with the values used unless the caller gives them (e.g.
        integration steps); every method also accepts the options that supply needs.
    cost : {'gradient', 'perturbation', 'pixel', 'exact', 'none'}
        Cost class, for tables and plots.
    max_cases : int, optional
        Cases per scorer seed of the swap or pair test it sees (the slowest methods see cases spread
        over the kinds); in small-data mode at most the size ``capped_cases``.
    gradients : bool
        Whether its inputs need ``requires_grad``.
    reference : {'none', 'mean'}
        What "without the item" means: nothing (read at the outfit) or the dataset's mean item.
    """

    name: str
    aliases: tuple = ()
    level: str = "item_feature"
    needs: tuple = ()
    defaults: dict = field(default_factory=dict)
    cost: str = "gradient"
    max_cases: int | None = None
    gradients: bool = False
    reference: str = "none"

    def __post_init__(self):
        if self.level not in LEVELS:
            raise ValueError(f"Unknown level {self.level!r} for {self.name}; use one of {list(LEVELS)}.")
        unknown = sorted(set(self.needs) - set(NEEDS))
        if unknown:
            raise ValueError(f"Unknown need(s) {unknown} for {self.name}; a method may need {list(NEEDS)}.")

    @property
    def kind(self) -> str:
        """``items`` or ``pairs``: which output the method returns."""
        return "pairs" if self.level == "pair" else "items"

    @property
    def options(self) -> tuple:
        """Every option the method accepts: those that supply needs, then its own."""
        return (*SHARED_OPTIONS, *(k for k in self.defaults if k not in SHARED_OPTIONS))

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
    """Base class of item and pair methods: Captum's call shape, ``Method(model).attribute(batch, **options)``.

    Subclasses set ``traits`` and implement ``compute(run)``, returning values (B, N, G) for item
    methods or (B, N, N) for pair methods; everything else is this class's.
    """

    traits: ClassVar[Traits]

    def __init__(self, model: nn.Module, **defaults):
        self.model, self.defaults = model, defaults

    def attribute(self, batch: OutfitBatch, *, groups=None, target: str = "logit", seed: int = 0,
                  **options) -> Attribution:
        """Explain a batch; see :func:`attribute` for the options."""
        traits = self.traits
        unknown = sorted(set(options) - set(traits.options))
        if unknown:
            raise ValueError(f"Unknown option(s) {unknown} for {traits.name}; options are {list(traits.options)}.")
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
        lacking = [n for n in traits.needs if not (opts.get(NEEDS[n][0]) is not None if NEEDS[n][0]
                                                   else "image" in batch.features)]
        if lacking:
            raise ValueError(f"{traits.name} needs " + "; and ".join(NEEDS[n][1] for n in lacking) + ".")
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
        mask = batch.mask
        if traits.level == "pair":
            values = values.detach()
            values = (values + values.transpose(1, 2)) / 2  # exact maths is symmetric; rounding need not be
            keep = mask[:, :, None] & mask[:, None, :] & ~torch.eye(mask.shape[1], dtype=torch.bool, device=mask.device)
            return PairAttribution((values * keep + 0.0).cpu(), mask.cpu(), traits.name, counter.rows / B, seconds,
                                   run.extras, counter.backward_rows / B)
        values = (values.detach() * mask[..., None]).cpu()
        return Attribution(values, mask.cpu(), traits.name, groups, counter.rows / B, counter.backward_rows / B,
                           seconds, traits.item_level, run.extras)

    def compute(self, run: Run) -> torch.Tensor:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError


REGISTRY: dict = {}
ALIASES: dict = {}
_LABEL = {None: "method", "items": "method", "pairs": "pair method"}


def register(cls):
    """Add an :class:`Explainer` subclass, item or pair method, to the registry (usable as a class decorator).

    The same class defined again (a re-run notebook cell) replaces itself; another class under a taken
    name or alias is a ValueError.
    """
    traits = getattr(cls, "traits", None)
    if not isinstance(traits, Traits):
        raise TypeError(f"{cls.__name__} must declare traits = Traits(name=...).")
    old = REGISTRY.get(traits.name)
    if old is not None and (old.__module__, old.__qualname__) != (cls.__module__, cls.__qualname__):
        raise ValueError(f"Method name {traits.name!r} is already registered by {old.__qualname__}; choose another "
                         f"name, or xf.explain.unregister({traits.name!r}) first to replace it on purpose.")
    for name in (traits.name, *traits.aliases):
        owner = ALIASES.get(name, traits.name)
        if owner != traits.name:
            raise ValueError(f"Method name {name!r} is taken by {owner!r}.")
    REGISTRY[traits.name] = cls
    for name in (traits.name, *traits.aliases):
        ALIASES[name] = traits.name
    return cls


def unregister(name: str) -> None:
    """Remove a method (and its aliases) from the registry; an unknown name raises a ValueError."""
    canonical = get_method(name).traits.name  # an unknown name: the same message as attribute()
    REGISTRY.pop(canonical, None)
    for alias in [a for a, n in ALIASES.items() if n == canonical]:
        del ALIASES[alias]


def methods(kind: str = "items") -> tuple:
    """Names of the registered ``items`` methods (default) or ``pairs`` methods, in registration order."""
    if kind not in KINDS:
        raise ValueError(f"Unknown kind {kind!r}; use one of {list(KINDS)}.")
    return tuple(n for n, cls in REGISTRY.items() if cls.traits.level in KINDS[kind])


def get_method(name: str, kind: str | None = None) -> type:
    """The Explainer class of a method name or alias (of ``kind``, when given), with a suggestion for near misses."""
    canonical = ALIASES.get(str(name).lower().replace("-", "_"))
    if canonical is None or (kind is not None and REGISTRY[canonical].traits.kind != kind):
        names = methods(kind) if kind else tuple(REGISTRY)
        pool = [a for a, n in ALIASES.items() if n in names]
        close = difflib.get_close_matches(str(name), pool, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        other = f" ({canonical!r} is {'a pair' if kind == 'items' else 'an item'} method.)" if canonical else ""
        raise ValueError(f"Unknown {_LABEL[kind]} {name!r}.{other}{hint} Choose from {list(names)} "
                         f"(aliases: {sorted(a for a in pool if a not in REGISTRY)}).")
    return REGISTRY[canonical]


def traits(name: str) -> Traits:
    """The declared traits of a method name or alias."""
    return get_method(name).traits


def attribute(model: nn.Module, batch: OutfitBatch, method: str = "ifiv", **options) -> Attribution:
    """Explain a batch of outfit scores with one method; same contract for every method.

    Pair methods go through here too and return a :class:`PairAttribution`
    (:func:`xfashion.explain.pairs.attribute_pairs` takes pair methods only).

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
    means, extractor, baselines_sample
        What methods need (``**wb.options()`` gives all three); each method reads what it needs.
    **options
        The method's own options, the keys of its ``traits.defaults`` (e.g. ``n_steps``).

    Returns
    -------
    Attribution
    """
    return get_method(method)(model).attribute(batch, **options)


def captum_method(name: str) -> type:
    """Captum's attribution class ``name`` (``"IntegratedGradients"``), imported at first use: Captum loads
    matplotlib's pyplot with it, half a second that ``import xfashion`` should not cost a reader."""
    import captum.attr
    return getattr(captum.attr, name)


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
