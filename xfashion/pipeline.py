"""The stages wired together with caching, shared by the CLI and the notebooks."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .data import SLOTS, build_catalog, load_fashion_mnist
from .features import extract_features, train_shape_cnn
from .scorer import feature_batch, fitb_questions, train_scorer
from .outfits import make_splits, rule_counts
from .utils import config_key, small_mode


@lru_cache(maxsize=2)
def _fashion_mnist(small: bool):
    return load_fashion_mnist()


def fashion_mnist():
    """Fashion-MNIST from the source chain, loaded once per process."""
    return _fashion_mnist(small_mode())


@lru_cache(maxsize=4)
def _prepare(seed: int, small: bool):
    catalog = build_catalog(fashion_mnist(), seed=seed)
    return catalog, make_splits(catalog, seed=seed)


def prepare(seed: int = 0):
    """Catalog and outfit splits for the embedded default (deterministic for a seed).

    Returns
    -------
    (Catalog, dict of str -> OutfitSet)
    """
    return _prepare(seed, small_mode())


@lru_cache(maxsize=4)
def _features(seed: int, small: bool, progress: bool):
    catalog, _ = prepare(seed)
    cnn = train_shape_cnn(fashion_mnist(), seed=seed, progress=progress)
    return extract_features(catalog, cnn, progress=progress)


def item_features(seed: int = 0, progress: bool = True):
    """Train (or load) the shape-texture CNN and extract every catalog item's features (cached).

    Returns
    -------
    ItemFeatures
    """
    return _features(seed, small_mode(), progress)


@lru_cache(maxsize=8)
def _scorer(seed: int, small: bool, kind: str, progress: bool):
    catalog, splits = prepare(seed)
    return train_scorer(catalog, splits, item_features(seed, progress), kind=kind, seed=seed, progress=progress)


def trained_scorer(seed: int = 0, kind: str = "pairwise", progress: bool = True):
    """The trained (or cached) outfit scorer of the embedded default.

    Returns
    -------
    TrainResult
    """
    return _scorer(seed, small_mode(), kind, progress)


@lru_cache(maxsize=4)
def _fitb(seed: int, small: bool):
    catalog, splits = prepare(seed)
    return fitb_questions(catalog, splits["test"], n=None if small else 600, seed=seed)


def fitb(seed: int = 0) -> list:
    """The test split's fill-in-the-blank questions (computed once per process)."""
    return _fitb(seed, small_mode())


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
    """

    catalog: object
    splits: dict
    feats: object
    model: object
    means: dict
    references: dict
    key: str = ""

    def batch(self, index, split: str = "test", images: bool = False):
        """A feature batch of outfits ``index`` (with rendered images when ``images``)."""
        from .explain import with_images
        b = feature_batch(self.catalog, self.splits[split], self.feats, np.atleast_1d(index))
        return with_images(b, self.catalog) if images else b

    def options(self) -> dict:
        """Keyword options that every attribution method accepts."""
        return {"means": self.means, "extractor": self.feats.extractor, "baselines_sample": self.references}


@lru_cache(maxsize=4)
def _workbench(seed: int, small: bool, progress: bool):
    from .explain import dataset_means, reference_outfits
    catalog, splits = prepare(seed)
    feats = item_features(seed, progress)
    result = trained_scorer(seed, "pairwise", progress)
    train = np.flatnonzero(catalog.split == "train")
    return Workbench(catalog, splits, feats, result.model, dataset_means(feats.tables, train),
                     reference_outfits(feats.tables, rows=train, seed=seed), key=config_key(result.config))


def workbench(seed: int = 0, progress: bool = True) -> Workbench:
    """The catalog, splits, features, trained scorer and baselines of the embedded default."""
    return _workbench(seed, small_mode(), progress)
