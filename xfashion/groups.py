"""The feature-group vocabulary: what a group is, the spec of groups, and the default names.

This is the ground floor every chapter stands on: the stylist's rules fault groups by these
names, the encoders compute them, the scorer reads them and the explainers attribute to them.
It holds names and sizes only (no encoder, no model), so the rules of chapter 01 never import
the CNN of chapter 02.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .data import COLOR_NAMES, SLOTS

COLOR_GROUP = "color"  # a named colour histogram over the palette (chapter 02)
SHAPE_GROUP = "shape_texture"  # the colour-blind CNN embedding (chapter 02)
DEFAULT_GROUP_NAMES = (COLOR_GROUP, SHAPE_GROUP)  # everything else refers to the default groups by these
EMBED_DIM = 32  # dimensions of the shape-texture embedding
SWAPS = (None, "recolour", "reshape")  # how the swap test may change one group of an item (FeatureGroup.swap)


@dataclass(frozen=True)
class FeatureGroup:
    """One named block of item features.

    Attributes
    ----------
    name : str
    size : int
        Number of dimensions.
    dim_names : tuple of str
        A name per dimension (what a reader sees in bar charts).
    encoder : callable, optional
        ``encoder(cnn) -> nn.Module`` mapping RGBA items (n, 4, 28, 28) to (n, size); how the
        feature extractor computes this group from pixels. Groups computed elsewhere
        (e.g. Polyvore's photo features) leave it out.
    swap : {'recolour', 'reshape'}, optional
        How the swap test changes this group of one item (a swap kind of its own): ``recolour``
        renders the same item in another palette colour, ``reshape`` puts another item of the slot
        in the item's colour. None: the swap test has no swap for it (its item swaps still change it).
    """

    name: str
    size: int
    dim_names: tuple
    encoder: object = field(default=None, compare=False, repr=False)
    swap: str | None = None

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"FeatureGroup name must be a non-empty string; got {self.name!r}.")
        if isinstance(self.size, bool) or not isinstance(self.size, (int, np.integer)) or self.size < 1:
            raise ValueError(f"FeatureGroup {self.name!r}: size must be an integer >= 1; got {self.size!r}.")
        # frozen: normalise through object.__setattr__ so equal specs compare equal
        object.__setattr__(self, "size", int(self.size))
        object.__setattr__(self, "dim_names", tuple(self.dim_names))
        if len(self.dim_names) != self.size:
            raise ValueError(f"FeatureGroup {self.name!r}: {len(self.dim_names)} dim_names for size {self.size}; "
                             "give one name per dimension.")
        if len(set(self.dim_names)) != self.size:
            raise ValueError(f"FeatureGroup {self.name!r}: dim_names repeat a name; give each dimension its own.")
        if self.swap not in SWAPS:
            raise ValueError(f"FeatureGroup {self.name!r}: swap must be one of {list(SWAPS)}; got {self.swap!r}.")


@dataclass(frozen=True)
class FeatureGroups:
    """The explained feature groups, in order, plus the slot one-hot as unexplained context."""

    groups: tuple
    context: FeatureGroup = field(default_factory=lambda: FeatureGroup("slot", len(SLOTS), tuple(SLOTS)))

    def __post_init__(self):
        names = [g.name for g in self.groups]
        taken = sorted({n for n in names if names.count(n) > 1} | ({self.context.name} & set(names)))
        if taken:
            raise ValueError(f"Feature group name(s) {taken} are already taken; give each group its own name.")

    @property
    def names(self) -> list:
        return [g.name for g in self.groups]

    @property
    def swap_kinds(self) -> tuple:
        """The swap test's kinds: every group that declares a swap, then ``item`` (the whole item)."""
        return (*(g.name for g in self.groups if g.swap), "item")

    @property
    def sizes(self) -> list:
        return [g.size for g in self.groups]

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, name: str) -> FeatureGroup:
        for g in self.groups:
            if g.name == name:
                return g
        raise KeyError(f"Unknown feature group {name!r}; groups are {self.names}.")

    def add(self, group: FeatureGroup) -> "FeatureGroups":
        """A new spec with one more group (adding a group is one entry); its name must be new."""
        if group.name in self.names or group.name == self.context.name:
            raise ValueError(f"Feature group name {group.name!r} is already taken (groups: {self.names}, "
                             f"context: {self.context.name!r}); give the new group another name.")
        return FeatureGroups(self.groups + (group,), self.context)

    def table(self):
        """The spec as a pandas DataFrame, one row per group: its size, its dimensions' names and its role.

        A long list of names is shortened to its first three and its last.
        """
        import pandas as pd  # only this view needs it

        def names(g):
            return ", ".join(g.dim_names) if g.size <= 6 else f"{', '.join(g.dim_names[:3])}, ..., {g.dim_names[-1]}"

        rows = [(g.name, g.size, names(g), "explained") for g in self.groups]
        rows.append((self.context.name, self.context.size, names(self.context), "context (not explained)"))
        return pd.DataFrame(rows, columns=["group", "size", "dimensions", "role"]).set_index("group")

    def check(self, features: dict) -> None:
        """Raise a ValueError naming the problem if ``features`` does not fit the spec."""
        if not isinstance(features, dict):
            raise ValueError(f"features must be a dict of group name -> tensor; got {type(features).__name__}.")
        for g in self.groups:
            if g.name not in features:
                raise ValueError(f"Feature group {g.name!r} is missing; got {sorted(features)}.")
            x = features[g.name]
            if x.shape[-1] != g.size:
                raise ValueError(f"Feature group {g.name!r} has {x.shape[-1]} dimensions; expected {g.size}.")
            if not torch.isfinite(x).all():
                raise ValueError(f"Feature group {g.name!r} contains NaN or infinite values.")


def default_group(name: str, encoder=None) -> FeatureGroup:
    """The default group ``name`` (``color`` or ``shape_texture``) with its dimension names and swap."""
    dims = {COLOR_GROUP: tuple(COLOR_NAMES), SHAPE_GROUP: tuple(f"st{i:02d}" for i in range(EMBED_DIM))}
    if name not in dims:
        raise KeyError(f"Unknown default group {name!r}; the defaults are {list(DEFAULT_GROUP_NAMES)}.")
    swap = {COLOR_GROUP: "recolour", SHAPE_GROUP: "reshape"}[name]  # the colour is re-rendered; the shape, replaced
    return FeatureGroup(name, len(dims[name]), dims[name], encoder=encoder, swap=swap)
