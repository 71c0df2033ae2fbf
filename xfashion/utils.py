"""Small shared helpers: seeds, cache folders, small-data mode, figure saving."""
from __future__ import annotations

import hashlib
import json
import os
import random
from pathlib import Path

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parent.parent


def set_seed(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch.

    Parameters
    ----------
    seed : int
        The seed; every stochastic step of the package also takes its own seed.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def small_mode() -> bool:
    """Return True when ``XFASHION_SMALL=1`` asks every stage to shrink (used by tests)."""
    return os.environ.get("XFASHION_SMALL", "0") not in ("", "0", "false", "False")


def cache_dir() -> Path:
    """Folder for cached artifacts (``XFASHION_CACHE`` or ``data/cache``)."""
    path = Path(os.environ.get("XFASHION_CACHE", REPO_ROOT / "data" / "cache"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_key(config: dict) -> str:
    """Short stable hash of a JSON-serialisable configuration, used to key caches."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def savefig(fig, name: str) -> None:
    """Save ``fig`` under ``$XFASHION_FIGURES/name.png`` when that variable is set."""
    folder = os.environ.get("XFASHION_FIGURES")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        fig.savefig(Path(folder) / f"{name}.png", dpi=110, bbox_inches="tight")
