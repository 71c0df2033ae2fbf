"""Human-interpretable item features (chapter 02): the encoders of each group and the extractor.

Two feature groups describe each item:

* ``color``: the fraction of garment pixels nearest to each named palette colour (a soft,
  differentiable assignment in CIELAB), so every dimension has a name.
* ``shape_texture``: the embedding of the colour-blind CNN (:mod:`xfashion.cnn`), standardised.

The group vocabulary (:class:`~xfashion.groups.FeatureGroups`) lives in :mod:`xfashion.groups`;
everything downstream is generic over it.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
from tqdm.auto import tqdm

from .cache import Cache, digest
from .cnn import CNNResult, ShapeTextureCNN, color_normalised_grey
from .data import Catalog
from .groups import COLOR_GROUP, EMBED_DIM, SHAPE_GROUP, FeatureGroups, default_group
from .rendering import PALETTE_RGB, SHADE_MIN, render
from .utils import check_count, resolve_device


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
        if not torch.is_grad_enabled():
            return self._garment_pixels_only(rgba)
        rgb = (rgba[..., :3, :, :] / alpha.clamp_min(1e-3)[..., None, :, :]).clamp(0, 1)
        weights = self._votes(rgb.movedim(-3, -1))  # (..., H, W, K)
        mass = (weights * alpha[..., None]).sum((-3, -2))
        return mass / alpha.sum((-2, -1))[..., None].clamp_min(1e-6)

    def _votes(self, rgb: torch.Tensor) -> torch.Tensor:
        """Soft votes (..., K) of pixels (..., 3) over the palette colours."""
        lab = rgb_to_lab(rgb)
        refs = self.refs.reshape(-1, 3)
        # squared distances by expansion: one matmul instead of a (pixels x K x S x 3) tensor
        d2 = (lab ** 2).sum(-1, keepdim=True) - 2 * lab @ refs.T + (refs ** 2).sum(-1)
        d2 = d2.clamp_min(0).unflatten(-1, self.refs.shape[:2])  # (..., S, K)
        d2 = d2.amin(-2)  # the closest shading level (gradients flow through it)
        return torch.softmax(-d2 / self.tau, dim=-1)

    def _garment_pixels_only(self, rgba: torch.Tensor) -> torch.Tensor:
        """The same histogram without autograd, voting only the pixels with alpha > 0.

        Background pixels carry zero weight, and half of a Fashion-MNIST image is background:
        skipping them halves the cost of extracting 70,000 items (the sums run in another order,
        so values may differ from the dense path in the last bits).
        """
        lead, (h, w) = rgba.shape[:-3], rgba.shape[-2:]
        px = rgba.reshape(-1, 4, h * w).transpose(1, 2)  # (n, P, 4)
        alpha = px[..., 3]
        item, pos = torch.nonzero(alpha > 0, as_tuple=True)
        sel = px[item, pos]  # (m, 4)
        votes = self._votes((sel[:, :3] / sel[:, 3:].clamp_min(1e-3)).clamp(0, 1))
        mass = votes.new_zeros(len(px), votes.shape[-1]).index_add_(0, item, votes * sel[:, 3:])
        return (mass / alpha.sum(-1, keepdim=True).clamp_min(1e-6)).reshape(*lead, -1)


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
DEFAULT_GROUPS = FeatureGroups((default_group(COLOR_GROUP, encoder=lambda cnn: ColorHistogram()),
                                 default_group(SHAPE_GROUP, encoder=ShapeTextureEncoder)))


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
    """Digest of a catalog's content (images, categories, colours, textures, splits), for cache keys.

    The texture scores are computed floats: rounded to 5 decimals, so that another CPU's last-bit
    rounding gives the same key (and finds the shipped weights) while any real change still shows.
    """
    return digest(catalog.images, catalog.category, catalog.color, np.round(catalog.texture.astype(np.float64), 5),
                  catalog.split, round(float(catalog.busy_threshold), 5))


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
                     batch_size: int = 512, use_cache: bool = True, device=None,
                     progress: bool = True) -> ItemFeatures:
    """Features of every catalog item for every group of ``groups``, computed in batches.

    Cached by the catalog's content, the CNN (its training key: configuration, code and data, or its
    weights when it has none), the group spec and the code of this module and of every group's
    encoder. Computed on ``device`` (default :func:`~xfashion.utils.resolve_device`); the tables
    and the extractor end on the CPU.
    """
    check_count(batch_size, "batch_size")
    dev = resolve_device(device)
    extractor = FeatureExtractor(cnn.model, groups).eval().to(dev)
    train = np.flatnonzero(catalog.split == "train")[:5000]
    extractor.fit_standardisation(catalog.render(train).to(dev))
    spec = [(g.name, g.size, list(g.dim_names)) for g in groups.groups]
    encoders = [type(e) for e in extractor.encoders.values()]
    # the CNN by provenance, like the standardisation fitted from it: the same key on every CPU
    cnn_id = cnn.config.get("key") or cnn.model
    cache = Cache("features", {"groups": spec}, inputs=[catalog_key(catalog), cnn_id],
                  code=[sys.modules[__name__], sys.modules[render.__module__], sys.modules[CNNResult.__module__],
                        Catalog, *encoders])
    saved = cache.load() if use_cache else None
    if saved is not None:
        return ItemFeatures(saved["tables"], groups, extractor.cpu(), cnn, saved["seconds"], cached=True,
                            key=cache.key)
    start = time.perf_counter()
    parts = {g: [] for g in groups.names}
    for i in tqdm(range(0, len(catalog), batch_size), desc="item features", disable=not progress):
        out = extractor(catalog.render(np.arange(i, min(i + batch_size, len(catalog)))).to(dev))
        for g in parts:
            parts[g].append(out[g].cpu())
    tables = {g: torch.cat(v) for g, v in parts.items()}
    seconds = time.perf_counter() - start
    cache.save({"tables": tables, "seconds": seconds})
    return ItemFeatures(tables, groups, extractor.cpu(), cnn, seconds, key=cache.key)
