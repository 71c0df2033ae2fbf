"""The colour palette and rendering: how a grey Fashion-MNIST image becomes a coloured RGBA item.

Kept apart from :mod:`xfashion.data` (loading, the catalog) because it is part of what the shipped
models compute: the CNN's and the features' cache keys digest this module's source, so an edit here
means ``make retrain``, and an edit to the loading code does not.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F


# ----------------------------------------------------------------------------- palette
@dataclass(frozen=True)
class Color:
    """A named palette colour; ``hue`` in degrees for chromatic colours, None for neutrals."""

    name: str
    rgb: tuple
    hue: float | None = None

    @property
    def chromatic(self) -> bool:
        return self.hue is not None


PALETTE = [
    Color("black", (0.12, 0.12, 0.13)),
    Color("white", (0.96, 0.96, 0.94)),
    Color("grey", (0.48, 0.48, 0.50)),
    Color("navy", (0.12, 0.16, 0.42)),
    Color("beige", (0.85, 0.76, 0.60)),
    Color("red", (0.85, 0.10, 0.12), 0.0),
    Color("orange", (0.98, 0.55, 0.10), 30.0),
    Color("yellow", (0.98, 0.88, 0.15), 55.0),
    Color("green", (0.15, 0.65, 0.20), 125.0),
    Color("teal", (0.05, 0.60, 0.62), 180.0),
    Color("blue", (0.15, 0.45, 0.95), 220.0),
    Color("purple", (0.55, 0.20, 0.75), 280.0),
    Color("pink", (0.98, 0.45, 0.70), 330.0),
]
COLOR_NAMES = tuple(c.name for c in PALETTE)
PALETTE_RGB = torch.tensor([c.rgb for c in PALETTE], dtype=torch.float32)


def color_index(name: str) -> int:
    """Index of a palette colour by name; unknown names raise a ValueError listing the palette."""
    if name not in COLOR_NAMES:
        raise ValueError(f"Unknown colour {name!r}; the palette has {COLOR_NAMES}.")
    return COLOR_NAMES.index(name)


# ----------------------------------------------------------------------------- rendering
SHADE_MIN = 0.6  # darkest shading factor: dark prints keep their contrast, colours stay readable


def _as_grey(images) -> torch.Tensor:
    grey = torch.as_tensor(images)
    if grey.dtype == torch.uint8:
        grey = grey.float() / 255.0
    elif not torch.is_floating_point(grey):
        raise ValueError(f"Item images must be uint8 or float, got dtype {grey.dtype}.")
    if grey.shape[-2:] != (28, 28):
        raise ValueError(f"Item images must be 28 x 28 (grey Fashion-MNIST), got shape {tuple(grey.shape)}.")
    if torch.isnan(grey).any():
        raise ValueError("Item images contain NaN values.")
    if grey.min() < 0 or grey.max() > 1:
        raise ValueError("Float item images must lie in [0, 1].")
    return grey


def garment_alpha(grey: torch.Tensor) -> torch.Tensor:
    """Soft garment mask from a grey Fashion-MNIST image (its background is black)."""
    return (grey / 0.04).clamp(0, 1)


def render(images, colors) -> torch.Tensor:
    """Tint real grey images with palette colours.

    Parameters
    ----------
    images : uint8 or float array, shape (..., 28, 28)
        Grey Fashion-MNIST images.
    colors : int or int array broadcastable to ``images.shape[:-2]``
        Palette indices.

    Returns
    -------
    Tensor, shape (..., 4, 28, 28)
        RGB in [0, 1] times a shading factor taken from the grey image, plus alpha.
        Shading depends on the grey image only, so re-rendering changes colour only.
    """
    grey = _as_grey(images)
    idx = torch.as_tensor(colors, dtype=torch.long)
    if idx.numel() and (idx.min() < 0 or idx.max() >= len(PALETTE)):
        raise ValueError(f"Colour indices must lie in [0, {len(PALETTE) - 1}].")
    rgb = PALETTE_RGB[idx.expand(grey.shape[:-2])]  # (..., 3)
    peak = grey.flatten(-2).amax(-1).clamp_min(1e-3)[..., None, None]
    shade = SHADE_MIN + (1 - SHADE_MIN) * (grey / peak)
    alpha = garment_alpha(grey)
    out = rgb[..., :, None, None] * shade[..., None, :, :] * alpha[..., None, :, :]
    return torch.cat([out, alpha[..., None, :, :]], dim=-3)


def to_display(rgba: torch.Tensor) -> np.ndarray:
    """Composite RGBA items on a white background; returns (..., 28, 28, 3) for imshow."""
    rgb, alpha = rgba[..., :3, :, :], rgba[..., 3:, :, :]
    out = rgb + (1 - alpha)
    return out.clamp(0, 1).movedim(-3, -1).detach().cpu().numpy()


def texture_score(images, chunk: int = 4096) -> np.ndarray:
    """How busy an item's print is: mean high-frequency energy inside the garment.

    The silhouette edge is excluded (eroded mask) so that only prints, stripes and
    seams count. Returns one float per image; images are processed ``chunk`` at a time so
    memory stays flat for the whole dataset.
    """
    shape = np.shape(images)[:-2]
    flat = images.reshape(-1, 28, 28) if hasattr(images, "reshape") else np.asarray(images).reshape(-1, 28, 28)
    parts = [_texture_chunk(flat[i:i + chunk]) for i in range(0, len(flat), chunk)]
    return (np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)).reshape(shape)


def _texture_chunk(images) -> np.ndarray:
    grey = _as_grey(images).reshape(-1, 1, 28, 28)
    peak = grey.flatten(1).amax(1).clamp_min(1e-3)[:, None, None, None]
    g = grey / peak
    blur = F.avg_pool2d(F.pad(g, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    inside = (-F.max_pool2d(-(grey > 0.02).float(), 5, stride=1, padding=2)).clamp(0, 1)
    energy = ((g - blur).abs() * inside).flatten(1).sum(1) / inside.flatten(1).sum(1).clamp_min(1)
    return energy.numpy()
