"""The stages wired together with caching, shared by the CLI and the notebooks."""
from __future__ import annotations

import inspect
import sys
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch.nn as nn

from .cache import Cache, pack_record, pretrained_enabled, unpack_record
from .cnn import train_shape_cnn
from .data import SLOTS, Catalog, build_catalog, load_fashion_mnist
from .explain import dataset_means, reference_outfits, with_images
from .features import ItemFeatures, extract_features
from .groups import FeatureGroups
from .outfits import OutfitBatch, OutfitSet, make_splits, rule_counts
from .rendering import texture_score
from .rules import DEFAULT_RULES
from .scorer import feature_batch
from .training import fitb_questions, train_scorer
from .utils import check_seed, size, small_mode

_MEMO: dict = {}


def _memo(key, build):
    """Build once per process per key (the key never holds a progress flag: that changes no result)."""
    key = key + (small_mode(),)
    if key not in _MEMO:
        _MEMO[key] = build()
    return _MEMO[key]


MINI_BANNER = "\n".join([
    "!" * 100,
    "!! FULL FASHION-MNIST NOT FOUND: this run uses the committed MINI SUBSET (a few thousand images) at full size.",
    "!! Every number, figure and claim below differs from the book's, and no shipped model matches its data.",
    "!! Fix: `make data` (Debian's package dataset-fashion-mnist) or XFASHION_FASHION_MNIST=<folder of the IDX files>.",
    "!" * 100])


def stands_in(source: str) -> bool:
    """True when the mini subset stands in for the full data in a full-size run (not small-data mode)."""
    return source.startswith("mini subset") and not small_mode()


def forget(seed: int) -> None:
    """Drop what this process built for data ``seed`` (catalog, features, scorers, workbench): its memory back."""
    for key in [k for k in _MEMO if len(k) > 2 and k[1] == seed and k[0] != "fashion_mnist"]:
        del _MEMO[key]


def fashion_mnist():
    """Fashion-MNIST from the source chain, loaded once per process.

    When the mini subset stands in for the full data outside small-data mode, a banner on stderr
    says so at the top of every process (each chapter's kernel, each command): one line is easy to miss.
    """
    def load():
        data = load_fashion_mnist()
        if stands_in(data.source):
            print(MINI_BANNER, file=sys.stderr, flush=True)
        return data
    return _memo(("fashion_mnist",), load)


def prepare(seed: int = 0):
    """Catalog and outfit splits for the embedded default (deterministic for a seed).

    Returns
    -------
    (Catalog, dict of str -> OutfitSet)
    """
    seed = check_seed(seed)

    def build():
        data = fashion_mnist()
        # every notebook starts here: cached, a kernel loads in 0.2 s what takes 3 s to build
        cache = Cache("prepare", {"seed": seed, "items": size("catalog_items"), "outfits": size("outfits")},
                      inputs=[data.train_images, data.train_labels, data.test_images, data.test_labels, data.source],
                      code=[sys.modules[m.__module__] for m in (build_catalog, texture_score, make_splits,
                                                                 DEFAULT_RULES.__class__)])
        saved = cache.load()
        if saved is not None:
            return (unpack_record(Catalog, saved["catalog"]),
                    {k: unpack_record(OutfitSet, v) for k, v in saved["splits"].items()})
        catalog = build_catalog(data, seed=seed)
        splits = make_splits(catalog, seed=seed)
        cache.save({"catalog": pack_record(catalog), "splits": {k: pack_record(v) for k, v in splits.items()}})
        return catalog, splits
    return _memo(("prepare", seed), build)


def _groups_key(groups: FeatureGroups | None) -> tuple:
    """What tells feature-group specs apart within a process: each group and its encoder (None: the defaults)."""
    return () if groups is None else tuple((g, id(g.encoder)) for g in groups.groups)


def item_features(seed: int = 0, progress: bool = True, pretrained: bool | None = None,
                  groups: FeatureGroups | None = None):
    """Load the book's shape-texture CNN (or train it) and extract every catalog item's features (cached).

    ``pretrained=False`` (or ``XFASHION_PRETRAINED=0``) trains the CNN instead of loading the
    weights shipped in ``data/weights/``. ``groups`` (default :data:`~xfashion.features.DEFAULT_GROUPS`)
    are the feature groups to extract, e.g. ``xf.DEFAULT_GROUPS.add(xf.FeatureGroup(...))``.

    Returns
    -------
    ItemFeatures
    """
    seed, pretrained = check_seed(seed), pretrained_enabled(pretrained)

    def build():
        catalog, _ = prepare(seed)
        cnn = train_shape_cnn(fashion_mnist(), seed=seed, pretrained=pretrained, progress=progress)
        return extract_features(catalog, cnn, progress=progress, **({"groups": groups} if groups else {}))
    return _memo(("features", seed, pretrained, *_groups_key(groups)), build)


def trained_scorer(seed: int = 0, kind: str = "pairwise", progress: bool = True, pretrained: bool | None = None,
                   groups: FeatureGroups | None = None):
    """The book's outfit scorer of the embedded default (shipped; trained when ``pretrained=False`` or for
    other feature ``groups`` than the default ones).

    Returns
    -------
    TrainResult
    """
    seed, pretrained = check_seed(seed), pretrained_enabled(pretrained)

    def build():
        catalog, splits = prepare(seed)
        return train_scorer(catalog, splits, item_features(seed, progress, pretrained, groups), kind=kind, seed=seed,
                            pretrained=pretrained, progress=progress)
    return _memo(("scorer", seed, kind, pretrained, *_groups_key(groups)), build)


def fitb(seed: int = 0) -> list:
    """The test split's fill-in-the-blank questions (computed once per process)."""
    seed = check_seed(seed)

    def build():
        catalog, splits = prepare(seed)
        return fitb_questions(catalog, splits["test"], n=size("fitb_questions"), seed=seed)
    return _memo(("fitb", seed), build)


def prepare_summary(catalog, splits) -> dict:
    """Counts a reader (or a script) wants after ``prepare``: source, items, outfits, rules."""
    slots = catalog.slot
    n_items = {s: int((catalog.split == s).sum()) for s in ("train", "val", "test")}
    per_slot = {s: {slot: int(((catalog.split == s) & (slots == k)).sum()) for k, slot in enumerate(SLOTS)}
                for s in n_items}
    n_outfits = {k: {"good": int(v.label.sum()), "bad": int(len(v) - v.label.sum())} for k, v in splits.items()}
    total = Counter()
    for v in splits.values():
        total.update(rule_counts(v))
    return {"source": catalog.source, "n_items": n_items, "items_per_slot": per_slot,
            "n_outfits": n_outfits, "violations": dict(total.most_common()),
            "violations_per_split": {k: dict(rule_counts(v)) for k, v in splits.items()},
            "busy_threshold": round(float(catalog.busy_threshold), 4),
            "mean_outfit_size": {k: round(float(v.mask.sum(1).mean()), 3) for k, v in splits.items()}}


@dataclass
class Workbench:
    """Everything an explanation needs for the embedded default, built once per process.

    Attributes
    ----------
    catalog, splits, feats : the data and item features
    model : the trained pairwise scorer
    means : dataset mean of each group over training items (baselines)
    references : reference outfits per group (GradientShap baselines)
    pretrained : whether models load the book's shipped weights (more scorers trained for it too)
    """

    catalog: Catalog
    splits: dict
    feats: ItemFeatures
    model: nn.Module
    means: dict
    references: dict
    pretrained: bool = True

    def outfits(self, split: str = "test") -> OutfitSet:
        """The outfits of one split; an unknown split name is a ValueError listing the splits."""
        if split not in self.splits:
            raise ValueError(f"Unknown split {split!r}; choose from {sorted(self.splits)}.")
        return self.splits[split]

    def batch(self, index, split: str = "test", images: bool = False) -> OutfitBatch:
        """A feature batch of outfits ``index`` (with rendered images when ``images``)."""
        # an outfit's index is its name in titles and sentences ("test outfit 12"): -1 is no outfit's name,
        # so it is refused rather than read Python's way as the last one
        negative = [int(i) for i in np.atleast_1d(index) if isinstance(i, (int, np.integer)) and i < 0]
        if negative:
            raise ValueError(f"Outfit indices count from 0; got {negative[0]}. For the last {split} outfit pass "
                             f"{len(self.outfits(split)) - 1}.")
        b = feature_batch(self.catalog, self.outfits(split), self.feats, np.atleast_1d(index))
        return with_images(b, self.catalog) if images else b

    def scorer(self, seed: int, design: dict | None = None) -> nn.Module:
        """This data's scorer trained with ``seed`` and ``design`` options (any of :data:`DESIGN_OPTIONS`, e.g.
        ``activation``, ``label_smoothing``, ``weight_decay``): shipped or cached like the book's, trained once
        otherwise."""
        unknown = sorted(set(design or {}) - set(DESIGN_OPTIONS))
        if unknown:
            raise ValueError(f"Unknown design option {unknown[0]!r}; a design sets any of {', '.join(DESIGN_OPTIONS)}, "
                             "e.g. {'activation': 'relu'}.")
        return train_scorer(self.catalog, self.splits, self.feats, seed=seed, pretrained=self.pretrained,
                            progress=False, **(design or {})).model

    def options(self) -> dict:
        """Keyword options that every attribution method accepts."""
        return {"means": self.means, "extractor": self.feats.extractor, "baselines_sample": self.references}


# the options a scorer design may change: train_scorer's keyword arguments, less those the workbench sets
DESIGN_OPTIONS = tuple(p for p in inspect.signature(train_scorer).parameters
                       if p not in ("catalog", "splits", "feats", "seed", "pretrained", "progress"))


def workbench(seed: int = 0, progress: bool = True, pretrained: bool | None = None,
              groups: FeatureGroups | None = None) -> Workbench:
    """The catalog, splits, features, trained scorer and baselines of the embedded default.

    ``pretrained=False`` (or ``XFASHION_PRETRAINED=0``) trains the models instead of loading the book's.
    ``groups`` explains other feature groups than the default colour and shape-texture ones, e.g.
    ``xf.workbench(groups=xf.DEFAULT_GROUPS.add(xf.FeatureGroup("brightness", 2, ("mean", "spread"),
    encoder=..., swap="recolour")))``: the features are extracted and the scorer trained for them (cached
    like the book's), and a group that declares a ``swap`` is a kind of the swap test.

    The result is shared, not copied: every call with the same arguments in one process returns the same
    object (loading it again would cost seconds per chapter). Changing it in place, say
    ``wb.model.to("cuda")`` or ``wb.model.train()``, changes it for every later call; work on a copy
    (``copy.deepcopy(wb.model)``) to experiment, or call :func:`forget` to rebuild it.
    """
    seed, pretrained = check_seed(seed), pretrained_enabled(pretrained)

    def build():
        catalog, splits = prepare(seed)
        feats = item_features(seed, progress, pretrained, groups)
        result = trained_scorer(seed, "pairwise", progress, pretrained, groups)
        train = np.flatnonzero(catalog.split == "train")
        return Workbench(catalog, splits, feats, result.model, dataset_means(feats.tables, train),
                         reference_outfits(feats.tables, rows=train, seed=seed), pretrained)
    return _memo(("workbench", seed, pretrained, *_groups_key(groups)), build)
