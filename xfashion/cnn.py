"""The shape-texture CNN (chapter 02): a small CNN trained on the real Fashion-MNIST categories.

It sees a colour-normalised grey image, so it cannot see the tint: its embedding is the
``shape_texture`` feature group, and its last convolution is the layer Grad-CAM explains.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm

from .cache import Cache
from .data import FashionMNIST
from .groups import EMBED_DIM
from .rendering import COLOR_NAMES, render, texture_score
from .utils import check_count, resolve_device, seeded, size


def color_normalised_grey(rgba: torch.Tensor) -> torch.Tensor:
    """Luminance divided by its garment mean: identical for every tint of the same item."""
    lum = (rgba[..., :3, :, :] * rgba.new_tensor([0.299, 0.587, 0.114])[:, None, None]).sum(-3)
    alpha = rgba[..., 3, :, :]
    mean = (lum.sum((-2, -1)) / alpha.sum((-2, -1)).clamp_min(1e-6)).clamp_min(1e-4)
    return lum / mean[..., None, None]


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
    shipped: bool = False  # the book's weights from data/weights/


# the code a trained CNN depends on (digested into its cache key and the shipped manifest): its own and the
# rendering's; not data.py's loading code, whose output the key holds by content
TRAINING_CODE = (sys.modules[__name__], sys.modules[render.__module__])


def _cnn_inputs(images: np.ndarray, colors: np.ndarray, chunk: int = 2048) -> torch.Tensor:
    # rendered RGBA is 16x the grey bytes: build it a chunk at a time, keep only the grey input
    return torch.cat([color_normalised_grey(render(torch.from_numpy(images[i:i + chunk]),
                                                    torch.from_numpy(colors[i:i + chunk])))
                      for i in range(0, len(images), chunk)])


def train_shape_cnn(data: FashionMNIST, *, epochs: int | None = None, batch_size: int = 128, lr: float = 5e-3,
                    texture_weight: float = 0.2, seed: int = 0, max_train: int | None = None,
                    use_cache: bool = True, pretrained: bool | None = None, device=None,
                    progress: bool = True) -> CNNResult:
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
        Load weights shipped or cached under this configuration when present (False: train now).
    pretrained : bool, optional
        Look for the book's weights in ``data/weights/`` first (default: on unless
        ``XFASHION_PRETRAINED=0``).
    device : str or torch.device, optional
        Where to train (default :func:`~xfashion.utils.resolve_device`); the model returns on the CPU.

    Returns
    -------
    CNNResult
    """
    check_count(batch_size, "batch_size")
    if epochs is not None:
        check_count(epochs, "epochs")
    if max_train is not None:
        check_count(max_train, "max_train")
    epochs = epochs or size("cnn_epochs")
    if max_train is None:
        max_train = size("cnn_train_images")
    n_train = min(len(data.train_labels), max_train or len(data.train_labels))
    config = {"n_train": n_train, "epochs": epochs, "batch_size": batch_size, "lr": lr,
              "texture_weight": texture_weight, "seed": seed, "embed_dim": EMBED_DIM}
    cache = Cache("shape_cnn", config, inputs=[data.train_images[:n_train], data.train_labels[:n_train],
                                               data.test_images, data.test_labels],
                  code=TRAINING_CODE, shippable=True)
    config["key"] = cache.key
    with seeded(seed):  # the initial weights depend on the seed alone, not on what ran before
        model = ShapeTextureCNN()
    saved = cache.load(pretrained) if use_cache else None
    if saved is not None:
        model.load_state_dict(saved["state"])
        model.eval()
        return CNNResult(model, saved["history"], saved["test_accuracy"], config, saved["seconds"],
                         saved["confusion"].numpy(), cached=True, shipped=cache.source == "shipped")
    dev = resolve_device(device)
    model.to(dev)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    images, labels = data.train_images[:n_train], torch.from_numpy(data.train_labels[:n_train].astype(np.int64))
    tex = texture_score(images)
    tex_t = torch.from_numpy((tex - tex.mean()) / tex.std()).float().to(dev)
    labels = labels.to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * ((n_train + batch_size - 1) // batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    test_x = _cnn_inputs(data.test_images, rng.integers(0, len(COLOR_NAMES), len(data.test_labels))).to(dev)
    test_y = torch.from_numpy(data.test_labels.astype(np.int64)).to(dev)
    history, start = [], time.perf_counter()
    bar = tqdm(total=steps, desc="shape-texture CNN", disable=not progress)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(n_train, generator=gen).numpy()
        total, correct, seen = 0.0, 0, 0
        for i in range(0, n_train, batch_size):
            idx = order[i:i + batch_size]
            x = _cnn_inputs(images[idx], rng.integers(0, len(COLOR_NAMES), len(idx))).to(dev)
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
    model.cpu()
    seconds = time.perf_counter() - start
    cache.save({"state": model.state_dict(), "history": history, "test_accuracy": acc, "seconds": seconds,
                "confusion": torch.from_numpy(confusion)})
    return CNNResult(model, history, acc, config, seconds, confusion)


@torch.no_grad()
def _evaluate_cnn(model, x, y):
    model.eval()
    pred = torch.cat([model.classify(model(x[i:i + 512])).argmax(1) for i in range(0, len(x), 512)])
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (y.cpu().numpy(), pred.cpu().numpy()), 1)
    return float((pred == y).float().mean()), confusion
