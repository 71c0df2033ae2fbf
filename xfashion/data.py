"""Fashion-MNIST loading and the item catalog (the palette and rendering: :mod:`xfashion.rendering`).

The catalog turns real Fashion-MNIST product images into coloured items: each item keeps
its real grey structure (shading, prints, stripes) and is tinted with one named palette
colour. Images are RGBA float tensors in [0, 1]: RGB plus an alpha mask that marks the
garment, so the background never counts as a colour.
"""
from __future__ import annotations

import gzip
import os
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Sequence

import numpy as np
import pandas as pd
import torch

# the palette and rendering stay on xf.data's surface too (xf.data.render, xf.data.color_index, ...)
from .rendering import (  # noqa: F401
    COLOR_NAMES,
    PALETTE,
    PALETTE_RGB,
    SHADE_MIN,
    Color,
    color_index,
    garment_alpha,
    render,
    texture_score,
    to_display,
)
from .utils import CLONE_HINT, REPO_ROOT, size

CATEGORIES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
SLOTS = ("top", "bottom", "dress", "outer", "shoes", "bag")
GARMENT_SLOTS = ("top", "bottom", "dress", "outer")
CATEGORY_SLOT = MappingProxyType({"T-shirt/top": "top", "Pullover": "top", "Shirt": "top", "Trouser": "bottom",
                                  "Dress": "dress", "Coat": "outer", "Sandal": "shoes", "Sneaker": "shoes",
                                  "Ankle boot": "shoes", "Bag": "bag"})  # read-only, as every exported constant

FILES = {"train_images": "train-images-idx3-ubyte.gz", "train_labels": "train-labels-idx1-ubyte.gz",
         "test_images": "t10k-images-idx3-ubyte.gz", "test_labels": "t10k-labels-idx1-ubyte.gz"}
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
MINI_PATH = REPO_ROOT / "data" / "fashion-mnist-mini.npz"
ENV_VAR = "XFASHION_FASHION_MNIST"
HOW_TO_FIX = (
    "Fix it in one of these ways: `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu); "
    f"put the four IDX .gz files ({', '.join(FILES.values())}) in data/fashion-mnist/; "
    f"or point the {ENV_VAR} environment variable at a folder holding them.")


# ----------------------------------------------------------------------------- loading
@dataclass
class FashionMNIST:
    """Fashion-MNIST images (uint8, N x 28 x 28) and labels, with the source that gave them."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str

    def __repr__(self) -> str:
        return (f"FashionMNIST(train={len(self.train_labels)}, test={len(self.test_labels)}, "
                f"source={self.source!r})")


def read_idx(path: str | Path) -> np.ndarray:
    """Parse one (optionally gzipped) IDX file into a uint8 array.

    Raises
    ------
    ValueError
        If the file is truncated, has a bad magic number or is not uint8 data.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as err:
        raise ValueError(f"Cannot read IDX file {path}: {err}. The file is corrupt or truncated; "
                         f"delete it and fetch it again. {HOW_TO_FIX}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number). {HOW_TO_FIX}")
    if raw[2] != 0x08:
        raise ValueError(f"{path} holds IDX type 0x{raw[2]:02x}; expected unsigned bytes (0x08).")
    ndim = raw[3]
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    body = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise ValueError(f"{path} is truncated: header says {dims} ({int(np.prod(dims))} bytes), "
                         f"found {body.size} bytes. Delete it and fetch it again.")
    return body.reshape(dims).copy()


def _read_folder(folder: Path, source: str) -> FashionMNIST:
    arrays = {key: read_idx(folder / name) for key, name in FILES.items()}
    for split in ("train", "test"):
        n_img, n_lab = len(arrays[f"{split}_images"]), len(arrays[f"{split}_labels"])
        if n_img != n_lab:
            raise ValueError(f"{folder}: {split} has {n_img} images but {n_lab} labels.")
        labels = arrays[f"{split}_labels"]
        if labels.ndim != 1 or (labels.size and labels.max() >= len(CATEGORIES)):
            raise ValueError(f"{folder / FILES[split + '_labels']}: labels must be one value 0-{len(CATEGORIES) - 1} "
                             f"per image; found {int(labels.max()) if labels.size else 'none'}. The file is not "
                             f"Fashion-MNIST labels; {HOW_TO_FIX}")
        images = arrays[f"{split}_images"]
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise ValueError(f"{folder / FILES[split + '_images']}: expected 28 x 28 images, got shape "
                             f"{images.shape}. {HOW_TO_FIX}")
    return FashionMNIST(source=source, **arrays)


def _has_files(folder: Path) -> bool:
    return all((folder / name).exists() for name in FILES.values())


def _folder_name(folder: Path) -> str:
    # what the loader prints lands in executed notebooks and the book: a name, never this machine's path
    if folder == DEBIAN_DIR:
        return "Debian's package dataset-fashion-mnist"
    if folder == REPO_ROOT / "data" / "fashion-mnist":
        return "the repository's folder data/fashion-mnist"
    return f"the folder {folder.name}"


def _torchvision_download(root: Path) -> Path:
    # torchvision costs 1.2 s at import (measured with python -X importtime): only on this last-resort path
    from torchvision.datasets import FashionMNIST as TVFashionMNIST
    TVFashionMNIST(str(root), train=True, download=True)
    TVFashionMNIST(str(root), train=False, download=True)
    return root / "FashionMNIST" / "raw"


def load_mini(path: str | Path = MINI_PATH) -> FashionMNIST:
    """Load the committed balanced mini subset (Fashion-MNIST test images, MIT licence)."""
    with np.load(path) as npz:
        return FashionMNIST(npz["train_images"], npz["train_labels"], npz["test_images"],
                            npz["test_labels"], source=f"mini subset {Path(path).name}")


def load_fashion_mnist(path: str | Path | None = None, *, download: bool | None = None,
                       allow_mini: bool = True, verbose: bool = True,
                       candidates: Sequence[Path] | None = None) -> FashionMNIST:
    """Load Fashion-MNIST from the first source that works, and say which one.

    Order: ``path`` (or ``$XFASHION_FASHION_MNIST``), ``data/fashion-mnist/``, Debian's
    ``/usr/share/datasets/fashion-mnist/``, torchvision's downloader, the committed mini subset.

    Parameters
    ----------
    path : str or Path, optional
        A folder holding the four IDX ``.gz`` files. When given, it must work.
    download : bool, optional
        Try torchvision's downloader; default True unless ``XFASHION_NO_DOWNLOAD=1``.
    allow_mini : bool
        Fall back to ``data/fashion-mnist-mini.npz`` (with a warning) when all else fails.
    verbose : bool
        Print the source used, by name (never a path of this machine: the line lands in the book).
    candidates : sequence of Path, optional
        Override the folder search list (tests use it).

    Raises
    ------
    FileNotFoundError
        When no source works; the message lists every place looked at and how to fix it.
    """
    path = path or os.environ.get(ENV_VAR)
    if path:
        folder = Path(path)
        if folder.exists() and not folder.is_dir():
            raise FileNotFoundError(f"Fashion-MNIST path {folder} is a file; name the folder that holds the four "
                                    f"IDX files. {HOW_TO_FIX}")
        if not _has_files(folder):
            missing = [n for n in FILES.values() if not (folder / n).exists()]
            raise FileNotFoundError(f"Fashion-MNIST folder {folder} lacks {missing}. {HOW_TO_FIX}")
        data = _read_folder(folder, f"explicit path {folder}")
        if verbose:
            print(f"Fashion-MNIST source: the folder you named ({folder.name})")
        return data
    looked = []
    folders = list(candidates) if candidates is not None else [REPO_ROOT / "data" / "fashion-mnist", DEBIAN_DIR]
    for folder in folders:
        looked.append(str(folder))
        if _has_files(folder):
            data = _read_folder(folder, f"folder {folder}")
            if verbose:
                print(f"Fashion-MNIST source: {_folder_name(folder)}")
            return data
    if download is None:
        download = os.environ.get("XFASHION_NO_DOWNLOAD", "0") in ("", "0")
    if download:
        looked.append("torchvision download")
        try:
            raw = _torchvision_download(REPO_ROOT / "data" / "fashion-mnist-download")
            data = _read_folder(raw, "torchvision download")
            if verbose:
                print(f"Fashion-MNIST source: {data.source}")
            return data
        except Exception as err:  # any network failure falls through to the next source, and is named
            reason = (str(err).strip().splitlines() or [""])[0][:200]
            looked[-1] += f" (failed: {type(err).__name__}{': ' + reason if reason else ''})"
    if allow_mini and MINI_PATH.exists():
        warnings.warn(f"Full Fashion-MNIST not found; using the committed mini subset ({MINI_PATH.name}). Looked in: "
                      + "; ".join(looked) + f". Results will be weaker. {HOW_TO_FIX}", stacklevel=2)
        data = load_mini()
        if verbose:
            print(f"Fashion-MNIST source: {data.source}")
        return data
    hint = "" if MINI_PATH.exists() or not allow_mini else f" (The committed mini subset is missing too. {CLONE_HINT})"
    raise FileNotFoundError("Fashion-MNIST not found. Looked in: " + "; ".join(looked) + ". " + HOW_TO_FIX + hint)


def category_index(name: str) -> int:
    """Index of a Fashion-MNIST category by name; unknown names raise a ValueError."""
    if name not in CATEGORIES:
        raise ValueError(f"Unknown category {name!r}; known categories are {CATEGORIES}.")
    return CATEGORIES.index(name)


# ----------------------------------------------------------------------------- catalog
@dataclass
class Catalog:
    """All items: a real image, its category and slot, a palette colour and print statistics.

    Attributes are parallel arrays over items; ``images`` holds the grey uint8 pixels.
    ``split`` is 'train', 'val' or 'test'; test items come from Fashion-MNIST's test images.
    """

    images: np.ndarray
    category: np.ndarray
    color: np.ndarray
    texture: np.ndarray
    split: np.ndarray
    source_index: np.ndarray
    source: str
    busy_threshold: float = 0.0
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.category)

    @property
    def slot(self) -> np.ndarray:
        return np.array([SLOTS.index(CATEGORY_SLOT[CATEGORIES[c]]) for c in range(10)])[self.category]

    @property
    def busy(self) -> np.ndarray:
        """Busy-patterned garments (shoes and bags never count: straps are not prints)."""
        garment = np.isin(self.slot, [SLOTS.index(s) for s in GARMENT_SLOTS])
        return (self.texture >= self.busy_threshold) & garment

    def find(self, category: str | None = None, color: str | None = None, split: str | None = None,
             busy: bool | None = None) -> np.ndarray:
        """Ids of the items matching every given attribute (names, not indices)."""
        keep = np.ones(len(self), dtype=bool)
        if category is not None:
            keep &= self.category == category_index(category)
        if color is not None:
            keep &= self.color == color_index(color)
        if split is not None:
            keep &= self.split == split
        if busy is not None:
            keep &= self.busy == busy
        return np.flatnonzero(keep)

    def render(self, items, colors=None) -> torch.Tensor:
        """RGBA images of ``items``; ``colors`` overrides their catalog colours."""
        items = np.asarray(items)
        colors = self.color[items] if colors is None else np.asarray(colors)
        if colors.shape != items.shape:
            raise ValueError(f"colors has shape {colors.shape} but items has {items.shape}: give one colour per item.")
        return render(torch.from_numpy(self.images[items]), torch.from_numpy(colors))

    def table(self):
        """The catalog as a pandas DataFrame (one row per item)."""
        return pd.DataFrame({"category": np.array(CATEGORIES)[self.category],
                             "slot": np.array(SLOTS)[self.slot],
                             "colour": np.array(COLOR_NAMES)[self.color],
                             "texture": self.texture, "busy": self.busy, "split": self.split})


def build_catalog(data: FashionMNIST | None = None, *, seed: int = 0, val_fraction: float = 0.1,
                  max_items: int | None = None, chromatic_share: float = 0.5,
                  busy_quantile: float = 0.8) -> Catalog:
    """Make the item catalog from Fashion-MNIST images.

    Parameters
    ----------
    data : FashionMNIST, optional
        Loaded images; default ``load_fashion_mnist()``.
    seed : int
        Seeds the colour draw and the train/val split.
    val_fraction : float
        Share of Fashion-MNIST training images kept for validation items.
    max_items : int, optional
        Cap on items per Fashion-MNIST split (small-data mode uses 2,500).
    chromatic_share : float
        Probability that an item gets a chromatic (rather than neutral) colour.
    busy_quantile : float
        Garments whose texture score is above this quantile (of training garments) count as busy.
    """
    data = data or load_fashion_mnist()
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must lie in [0, 1); got {val_fraction!r}.")
    if not 0 <= chromatic_share <= 1:
        raise ValueError(f"chromatic_share must lie in [0, 1]; got {chromatic_share!r}.")
    if not 0 < busy_quantile < 1:
        raise ValueError(f"busy_quantile must lie in (0, 1); got {busy_quantile!r}.")
    if max_items is not None and max_items < 10:
        raise ValueError(f"max_items must be at least 10 items per split; got {max_items!r}.")
    if max_items is None:
        max_items = size("catalog_items")
    rng = np.random.default_rng(seed)
    parts = []
    for name, images, labels in (("train", data.train_images, data.train_labels),
                                 ("test", data.test_images, data.test_labels)):
        index = np.arange(len(labels))
        if max_items is not None and len(index) > max_items:
            index = np.sort(rng.choice(index, max_items, replace=False))
        split = np.full(len(index), name, dtype=object)
        if name == "train":
            perm = rng.permutation(len(index))
            split[perm[: int(round(val_fraction * len(index)))]] = "val"
        parts.append((images[index], labels[index].astype(np.int64), split.astype(str), index))
    images = np.concatenate([p[0] for p in parts])
    category = np.concatenate([p[1] for p in parts])
    split = np.concatenate([p[2] for p in parts])
    source_index = np.concatenate([p[3] for p in parts])
    neutrals = [i for i, c in enumerate(PALETTE) if not c.chromatic]
    chromatic = [i for i, c in enumerate(PALETTE) if c.chromatic]
    is_chromatic = rng.random(len(category)) < chromatic_share
    color = np.where(is_chromatic, rng.choice(chromatic, len(category)), rng.choice(neutrals, len(category)))
    texture = texture_score(images)
    garment = np.isin(category, [CATEGORIES.index(c) for c, s in CATEGORY_SLOT.items() if s in GARMENT_SLOTS])
    threshold = float(np.quantile(texture[(split == "train") & garment], busy_quantile))
    return Catalog(images=images, category=category, color=color.astype(np.int64), texture=texture,
                   split=split, source_index=source_index, source=data.source,
                   busy_threshold=threshold, meta={"seed": seed, "max_items": max_items})

