"""Validated argument types of the command line (``python -m xfashion``): each turns one string into a value
or raises an ``argparse.ArgumentTypeError`` that says what was expected."""
from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from .explain import get_method


def _bounded_int(text: str, lo: int, hi: int | None, what: str) -> int:
    """``text`` as an integer in [lo, hi] (hi None: no upper bound), or an argparse error naming ``what``."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < lo or (hi is not None and value > hi):
        raise argparse.ArgumentTypeError(f"{what} must lie in {lo} .. {hi if hi is not None else 'any'}, got {value}")
    return value


def seed_type(text: str) -> int:
    """A seed: an integer in 0 .. 2**32 - 1."""
    return _bounded_int(text, 0, 2 ** 32 - 1, "an integer seed")


def positive_int(text: str) -> int:
    """An integer >= 1."""
    return _bounded_int(text, 1, None, "a positive integer")


def margin_type(text: str) -> float:
    """A finite logit margin >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"the margin is a logit drop and must be a finite number >= 0, got {text}")
    return value


def image_size_type(text: str) -> int:
    """Image side in pixels, 32-1024."""
    return _bounded_int(text, 32, 1024, "an image size in pixels")


def method_type(text: str) -> str:
    """A registered attribution method, item or pair (for --pairs), or alias, resolved to its name."""
    try:
        return get_method(text).traits.name
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def out_folder(text: str) -> Path:
    """A folder for report files: existing or creatable, never an existing file."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a file; --out names a folder for the report files")
    parent = path if path.exists() else next((p for p in path.parents if p.exists()), Path("."))
    if not os.access(parent, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write into {parent}; choose a writable folder")
    return path


def existing_folder(text: str) -> Path:
    """A dataset folder given on the command line: never a file (a missing folder is left to the loader,
    whose message says where to get the data)."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a file; --root names the dataset folder")
    return path
