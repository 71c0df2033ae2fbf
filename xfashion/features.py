"""Human-interpretable item features: a named colour histogram and a colour-blind CNN embedding.

Two feature groups describe each item:

* ``color``: the fraction of garment pixels nearest to each named palette colour (a soft,
  differentiable assignment in CIELAB), so every dimension has a name.
* ``shape_texture``: an embedding from a small CNN trained on the real Fashion-MNIST
  categories, fed a colour-normalised grey image, so it cannot see the tint.

``FeatureGroups`` names the groups; everything downstream is generic over it.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm

from .data import COLOR_NAMES, PALETTE_RGB, SHADE_MIN, SLOTS, Catalog, FashionMNIST, render, texture_score
from .utils import Cache, digest, seeded, small_mode


# ----------------------------------------------------------------------------- groups
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
        :class:`FeatureExtractor` computes this group from pixels. Groups computed elsewhere
        (e.g. Polyvore's photo features) leave it out.
    """

    name: str
    size: int
    dim_names: tuple
    encoder: object = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class FeatureGroups:
    """The explained feature groups, in order, plus the slot one-hot as unexplained context."""

    groups: tuple
    context: FeatureGroup = field(default_factory=lambda: FeatureGroup("slot", len(SLOTS), tuple(SLOTS)))

    @property
    def names(self) -> list:
        return [g.name for g in self.groups]

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
        """A new spec with one more group (adding a group is one entry)."""
        return FeatureGroups(self.groups + (group,), self.context)

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


EMBED_DIM = 32


# ----------------------------------------------------------------------------- colour
def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] (last dim 3) to CIELAB (D65), differentiable."""
    lin = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb.clamp_min(0) + 0.055) / 1.055) ** 2.4)
    m = rgb.new_tensor([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = lin @ m.T / rgb.new_tensor([0.95047, 1.0, 1.08883])
    eps = 216 / 24389
    f = torch.where(xyz > eps, xyz.clamp_min(eps) ** (1 / 3), (24389 / 27 * xyz + 16) / 116)
    return torch.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


SHADE_LEVELS = (SHADE_MIN, (1 + SHADE_MIN) / 2, 1.0)


class ColorHistogram(nn.Module):
    """Soft histogram of garment pixels over the named palette (dimension k = palette colour k).

    Each pixel is compared in CIELAB with every palette colour at its closest shading level
    (so a shaded red is still red); a softmax over colours with temperature ``tau`` (squared Delta E)
    spreads its mass, and the alpha-weighted mean over pixels gives fractions that sum to one.
    """

    def __init__(self, tau: float = 60.0):
        super().__init__()
        self.tau = tau
        refs = PALETTE_RGB[None, :, :] * torch.tensor(SHADE_LEVELS)[:, None, None]
        self.register_buffer("refs", rgb_to_lab(refs))  # (S, K, 3)

    def forward(self, rgba: torch.Tensor) -> torch.Tensor:
        alpha = rgba[..., 3, :, :]
        rgb = (rgba[..., :3, :, :] / alpha.clamp_min(1e-3)[..., None, :, :]).clamp(0, 1)
        lab = rgb_to_lab(rgb.movedim(-3, -1))  # (..., H, W, 3)
        refs = self.refs.reshape(-1, 3)
        # squared distances by expansion: one matmul instead of a (pixels x K x S x 3) tensor
        d2 = (lab ** 2).sum(-1, keepdim=True) - 2 * lab @ refs.T + (refs ** 2).sum(-1)
        d2 = d2.clamp_min(0).unflatten(-1, self.refs.shape[:2])  # (..., H, W, S, K)
        d2 = d2.amin(-2)  # the closest shading level (gradients flow through it)
        weights = torch.softmax(-d2 / self.tau, dim=-1)  # (..., H, W, K)
        mass = (weights * alpha[..., None]).sum((-3, -2))
        return mass / alpha.sum((-2, -1))[..., None].clamp_min(1e-6)


def color_normalised_grey(rgba: torch.Tensor) -> torch.Tensor:
    """Luminance divided by its garment mean: identical for every tint of the same item."""
    lum = (rgba[..., :3, :, :] * rgba.new_tensor([0.299, 0.587, 0.114])[:, None, None]).sum(-3)
    alpha = rgba[..., 3, :, :]
    mean = (lum.sum((-2, -1)) / alpha.sum((-2, -1)).clamp_min(1e-6)).clamp_min(1e-4)
    return lum / mean[..., None, None]


# ----------------------------------------------------------------------------- shape-texture CNN
class ShapeTextureCNN(nn.Module):
    """A small CNN on the colour-normalised grey image.

    ``embed`` gives the ``shape_texture`` group; ``classify`` predicts the ten categories and
    ``texture`` regresses the print's texture score (so busy prints are encoded too).
    ``last_conv`` is the layer Grad-CAM uses.
    """

    def __init__(self, channels=(16, 32, 64), embed_dim: int = EMBED_DIM):
        super().__init__()
        c1, c2, c3 = channels
        self.body = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1), nn.BatchNorm2d(c1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1), nn.BatchNorm2d(c2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c2, c3, 3, padding=1), nn.BatchNorm2d(c3), nn.ReLU())
        self.last_conv = self.body[-3]
        self.project = nn.Linear(c3, embed_dim)
        self.classify = nn.Linear(embed_dim, 10)
        self.texture = nn.Linear(embed_dim, 1)

    def forward(self, grey: torch.Tensor) -> torch.Tensor:
        """Embedding of grey images shaped (B, 28, 28) or (B, 1, 28, 28)."""
        if grey.dim() == 3:
            grey = grey[:, None]
        h = self.body(grey - 0.5)
        return self.project(h.mean((-2, -1)))


@dataclass
class CNNResult:
    """A trained CNN with its training history and test accuracy."""

    model: ShapeTextureCNN
    history: list
    test_accuracy: float
    config: dict
    seconds: float
    confusion: np.ndarray
    cached: bool = False


def _cnn_inputs(images: np.ndarray, colors: np.ndarray, chunk: int = 2048) -> torch.Tensor:
    # rendered RGBA is 16x the grey bytes: build it a chunk at a time, keep only the grey input
    return torch.cat([color_normalised_grey(render(torch.from_numpy(images[i:i + chunk]),
                                                    torch.from_numpy(colors[i:i + chunk])))
                      for i in range(0, len(images), chunk)])


def train_shape_cnn(data: FashionMNIST, *, epochs: int | None = None, batch_size: int = 128, lr: float = 5e-3,
                    texture_weight: float = 0.2, seed: int = 0, max_train: int | None = None,
                    use_cache: bool = True, progress: bool = True) -> CNNResult:
    """Train (or load from cache) the shape-texture CNN on real Fashion-MNIST categories.

    Parameters
    ----------
    data : FashionMNIST
        Training uses all its training images (``max_train`` caps them; small-data mode: 6,000).
    epochs : int, optional
        Default 5 (2 in small-data mode).
    texture_weight : float
        Weight of the auxiliary texture-score regression.
    seed : int
    use_cache : bool
        Load weights cached under this configuration when present.

    Returns
    -------
    CNNResult
    """
    small = small_mode()
    epochs = epochs or (2 if small else 5)
    if max_train is None and small:
        max_train = 6000
    n_train = min(len(data.train_labels), max_train or len(data.train_labels))
    config = {"n_train": n_train, "epochs": epochs, "batch_size": batch_size, "lr": lr,
              "texture_weight": texture_weight, "seed": seed, "embed_dim": EMBED_DIM}
    cache = Cache("shape_cnn", config, inputs=[data.train_images[:n_train], data.train_labels[:n_train],
                                               data.test_images, data.test_labels],
                  code=[sys.modules[__name__], sys.modules[render.__module__]])
    config["key"] = cache.key
    with seeded(seed):  # the initial weights depend on the seed alone, not on what ran before
        model = ShapeTextureCNN()
    saved = cache.load() if use_cache else None
    if saved is not None:
        model.load_state_dict(saved["state"])
        model.eval()
        return CNNResult(model, saved["history"], saved["test_accuracy"], config, saved["seconds"],
                         saved["confusion"].numpy(), cached=True)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    images, labels = data.train_images[:n_train], torch.from_numpy(data.train_labels[:n_train].astype(np.int64))
    tex = texture_score(images)
    tex_t = torch.from_numpy((tex - tex.mean()) / tex.std()).float()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * ((n_train + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    test_x = _cnn_inputs(data.test_images, rng.integers(0, len(COLOR_NAMES), len(data.test_labels)))
    test_y = torch.from_numpy(data.test_labels.astype(np.int64))
    history, start = [], time.perf_counter()
    bar = tqdm(total=steps, desc="shape-texture CNN", disable=not progress)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(n_train, generator=gen).numpy()
        total, correct, seen = 0.0, 0, 0
        for i in range(0, n_train, batch_size):
            idx = order[i:i + batch_size]
            x = _cnn_inputs(images[idx], rng.integers(0, len(COLOR_NAMES), len(idx)))
            emb = model(x)
            logits = model.classify(emb)
            loss = F.cross_entropy(logits, labels[idx]) + texture_weight * F.mse_loss(
                model.texture(emb).squeeze(-1), tex_t[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            correct += (logits.argmax(1) == labels[idx]).sum().item()
            seen += len(idx)
            bar.update(1)
        acc, _ = _evaluate_cnn(model, test_x, test_y)
        history.append({"epoch": epoch + 1, "train_loss": total / seen, "train_accuracy": correct / seen,
                        "test_accuracy": acc})
        bar.set_postfix(test_acc=f"{acc:.3f}")
    bar.close()
    model.eval()
    acc, confusion = _evaluate_cnn(model, test_x, test_y)
    seconds = time.perf_counter() - start
    cache.save({"state": model.state_dict(), "history": history, "test_accuracy": acc, "seconds": seconds,
                "confusion": torch.from_numpy(confusion)})
    return CNNResult(model, history, acc, config, seconds, confusion)


@torch.no_grad()
def _evaluate_cnn(model, x, y):
    model.eval()
    pred = torch.cat([model.classify(model(x[i:i + 512])).argmax(1) for i in range(0, len(x), 512)])
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (y.numpy(), pred.numpy()), 1)
    return float((pred == y).float().mean()), confusion


# ----------------------------------------------------------------------------- extractor
class ShapeTextureEncoder(nn.Module):
    """The CNN embedding of the colour-normalised grey image, standardised with training-item statistics."""

    def __init__(self, cnn: ShapeTextureCNN):
        super().__init__()
        self.cnn = cnn
        self.register_buffer("mean", torch.zeros(EMBED_DIM))
        self.register_buffer("std", torch.ones(EMBED_DIM))

    def forward(self, rgba: torch.Tensor) -> torch.Tensor:
        return (self.cnn(color_normalised_grey(rgba)) - self.mean) / self.std

    @torch.no_grad()
    def fit(self, rgba: torch.Tensor, chunk: int = 512) -> None:
        """Set the mean and scale from a sample of training items."""
        st = torch.cat([self.cnn(color_normalised_grey(rgba[i:i + chunk])) for i in range(0, len(rgba), chunk)])
        self.mean.copy_(st.mean(0))
        self.std.copy_(st.std(0).clamp_min(1e-4))


class LuminanceStats(nn.Module):
    """Mean and spread of a garment's luminance: an example of a third, human-readable group (chapter 02)."""

    def forward(self, rgba: torch.Tensor) -> torch.Tensor:
        lum = (rgba[..., :3, :, :] * rgba.new_tensor([0.299, 0.587, 0.114])[:, None, None]).sum(-3)
        alpha = rgba[..., 3, :, :]
        weight = alpha.sum((-2, -1)).clamp_min(1e-6)
        mean = (lum * alpha).sum((-2, -1)) / weight
        spread = (((lum - mean[..., None, None]) ** 2 * alpha).sum((-2, -1)) / weight).clamp_min(1e-8).sqrt()
        return torch.stack([mean, spread], -1)


# the default groups: a named colour histogram and the colour-blind CNN embedding
DEFAULT_GROUPS = FeatureGroups((
    FeatureGroup("color", len(COLOR_NAMES), tuple(COLOR_NAMES), encoder=lambda cnn: ColorHistogram()),
    FeatureGroup("shape_texture", EMBED_DIM, tuple(f"st{i:02d}" for i in range(EMBED_DIM)),
                 encoder=ShapeTextureEncoder),
))
COLOR_GROUP, SHAPE_GROUP = DEFAULT_GROUPS.names  # everything else refers to the default groups by these


class FeatureExtractor(nn.Module):
    """Differentiable path from RGBA item images to the feature groups.

    Input shape (..., 4, 28, 28); output a dict with one tensor (..., size) per group of the
    spec, each computed by its group's encoder. ``cnn`` is kept for Grad-CAM's layer.
    """

    CHUNK = 512

    def __init__(self, cnn: ShapeTextureCNN, groups: FeatureGroups = DEFAULT_GROUPS):
        super().__init__()
        lacking = [g.name for g in groups.groups if g.encoder is None]
        if lacking:
            raise ValueError(f"Feature group(s) {lacking} have no encoder; give FeatureGroup(..., encoder=...) a "
                             "callable cnn -> nn.Module that maps RGBA items (n, 4, 28, 28) to (n, size).")
        self.cnn = cnn
        self.groups = groups
        self.encoders = nn.ModuleDict({g.name: g.encoder(cnn) for g in groups.groups})

    def forward(self, rgba: torch.Tensor) -> dict:
        lead = rgba.shape[:-3]
        flat = rgba.reshape(-1, 4, 28, 28)
        if not torch.is_grad_enabled() and len(flat) > self.CHUNK:
            # without autograd nothing needs the intermediates: a chunk at a time keeps memory flat
            parts = [self._flat(flat[i:i + self.CHUNK]) for i in range(0, len(flat), self.CHUNK)]
            out = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
        else:
            out = self._flat(flat)
        return {k: v.reshape(*lead, -1) for k, v in out.items()}

    def _flat(self, flat: torch.Tensor) -> dict:
        return {name: enc(flat) for name, enc in self.encoders.items()}

    @torch.no_grad()
    def fit_standardisation(self, rgba: torch.Tensor) -> None:
        """Fit every encoder that learns statistics from training items (those with a ``fit`` method)."""
        for enc in self.encoders.values():
            if hasattr(enc, "fit"):
                enc.fit(rgba)


def catalog_key(catalog: Catalog) -> str:
    """Digest of a catalog's content (images, categories, colours, textures, splits), for cache keys."""
    return digest(catalog.images, catalog.category, catalog.color, catalog.texture, catalog.split,
                  catalog.busy_threshold)


@dataclass
class ItemFeatures:
    """Feature tables for every catalog item, one tensor (n_items, D_g) per group."""

    tables: dict
    groups: FeatureGroups
    extractor: FeatureExtractor
    cnn: CNNResult
    seconds: float
    cached: bool = False
    key: str = ""

    def __getitem__(self, name):
        if name not in self.tables:
            raise KeyError(f"Unknown feature group {name!r}; groups are {list(self.tables)}.")
        return self.tables[name]


@torch.no_grad()
def extract_features(catalog: Catalog, cnn: CNNResult, *, groups: FeatureGroups = DEFAULT_GROUPS,
                     batch_size: int = 512, use_cache: bool = True, progress: bool = True) -> ItemFeatures:
    """Features of every catalog item for every group of ``groups``, computed in batches.

    Cached by the catalog's content, the extractor's weights, the group spec and the code of this
    module and of every group's encoder.
    """
    extractor = FeatureExtractor(cnn.model, groups).eval()
    train = np.flatnonzero(catalog.split == "train")[:5000]
    extractor.fit_standardisation(catalog.render(train))
    spec = [(g.name, g.size, list(g.dim_names)) for g in groups.groups]
    encoders = [type(e) for e in extractor.encoders.values()]
    cache = Cache("features", {"groups": spec}, inputs=[catalog_key(catalog), extractor],
                  code=[sys.modules[__name__], sys.modules[render.__module__], *encoders])
    saved = cache.load() if use_cache else None
    if saved is not None:
        return ItemFeatures(saved["tables"], groups, extractor, cnn, saved["seconds"], cached=True, key=cache.key)
    start = time.perf_counter()
    parts = {g: [] for g in groups.names}
    for i in tqdm(range(0, len(catalog), batch_size), desc="item features", disable=not progress):
        out = extractor(catalog.render(np.arange(i, min(i + batch_size, len(catalog)))))
        for g in parts:
            parts[g].append(out[g])
    tables = {g: torch.cat(v) for g, v in parts.items()}
    seconds = time.perf_counter() - start
    cache.save({"tables": tables, "seconds": seconds})
    return ItemFeatures(tables, groups, extractor, cnn, seconds, key=cache.key)


def top_confusions(confusion: np.ndarray, k: int = 6, rules=None):
    """The CNN's ``k`` most frequent confusions, and whether the stylist treats the two categories alike.

    ``rate`` is the share of the true category's test images predicted as the other one. Two
    categories are alike for the stylist when they share a slot and meet the same season clashes;
    a confusion between categories that are not alike is one the scorer could pay for.

    Returns
    -------
    DataFrame with columns ``true``, ``predicted``, ``rate``, ``same_slot``, ``same_season_rules``, ``alike``.
    """
    import pandas as pd

    from .data import CATEGORIES, CATEGORY_SLOT
    from .rules import DEFAULT_RULES
    rules = rules or DEFAULT_RULES
    confusion = np.asarray(confusion, dtype=float)
    rates = confusion / confusion.sum(1, keepdims=True).clip(min=1)
    np.fill_diagonal(rates, 0)

    def partners(c):
        return {b if a == c else a for a, b in rules.season_clashes if c in (a, b)}

    rows = []
    for flat in np.argsort(rates, axis=None)[::-1][:k]:
        t, p = (CATEGORIES[i] for i in np.unravel_index(flat, rates.shape))
        slot, season = CATEGORY_SLOT[t] == CATEGORY_SLOT[p], partners(t) == partners(p)
        rows.append({"true": t, "predicted": p, "rate": round(float(rates.flat[flat]), 3), "same_slot": slot,
                     "same_season_rules": season, "alike": slot and season})
    return pd.DataFrame(rows)


@torch.no_grad()
def color_invariance(extractor: FeatureExtractor, catalog: Catalog, n: int = 200, seed: int = 0) -> float:
    """Largest relative change of the shape-texture embedding over re-renderings in every colour."""
    rng = np.random.default_rng(seed)
    items = rng.choice(len(catalog), min(n, len(catalog)), replace=False)
    embs = torch.stack([extractor(catalog.render(items, np.full(len(items), k)))[SHAPE_GROUP]
                        for k in range(len(COLOR_NAMES))])  # (K, n, D)
    ref = embs[0]
    change = (embs - ref).norm(dim=-1) / ref.norm(dim=-1).clamp_min(1e-6)
    return float(change.max())


def embedding_map(table, n: int = 3000, seed: int = 0):
    """2-D PCA coordinates of ``n`` random rows of a feature table; returns (coords, rows)."""
    gen = np.random.default_rng(seed)
    rows = np.sort(gen.choice(len(table), min(n, len(table)), replace=False))
    x = table[rows] - table[rows].mean(0)
    _, _, v = torch.pca_lowrank(x, q=2, center=False)
    return (x @ v[:, :2]).numpy(), rows


def nearest_neighbours(table, item: int, k: int = 6, candidates=None) -> np.ndarray:
    """The ``k`` items closest to ``item`` (Euclidean) in one feature table."""
    cand = np.arange(len(table)) if candidates is None else np.asarray(candidates)
    cand = cand[cand != item]
    d = (table[cand] - table[item]).norm(dim=1)
    return cand[torch.argsort(d)[:k].numpy()]
