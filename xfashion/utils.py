"""Small shared helpers: seeds, argument checks, devices, small-data mode, memory.

Every stage that draws random numbers runs under :func:`seeded`, which gives it its own
generator state seeded from its config and restores the caller's state afterwards: a stage's
result never depends on what ran before it in the process, and never disturbs what runs after.

The cache and the shipped weights live in :mod:`xfashion.cache`.
"""
from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import random
import resource
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
# the notebooks, the mini subset and the default cache live beside the package in a clone; a
# non-editable install (site-packages) has none of them
IN_CLONE = (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "notebooks").is_dir()
CLONE_HINT = ("xfashion reads its notebooks and committed mini data from a clone of the repository: "
              "clone it and run `make tour` (or `pip install -e .` inside the clone).")


def check_seed(seed) -> int:
    """Return ``seed`` as an int, or raise a ValueError naming the accepted range."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2 ** 32:
        raise ValueError(f"A seed must be an integer in 0 .. 2**32 - 1; got {seed!r}.")
    return int(seed)


def check_unique(values, name: str) -> list:
    """``values`` as a list, or a ValueError naming the repeats (``name`` is a set given in order)."""
    values = list(values)
    repeats = sorted({str(v) for k, v in enumerate(values) if v in values[:k]})
    if repeats:
        raise ValueError(f"{name} repeats {', '.join(repeats)}; give each once.")
    return values


def check_count(n, name: str, least: int = 1, *, most: int | None = None, allow_none: bool = False):
    """``n`` as an int, or a ValueError naming ``name`` unless it is an integer in ``least`` .. ``most``.

    The one check of every count and size argument; ``allow_none`` lets None through (a default).
    """
    if n is None and allow_none:
        return None
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < least:
        need = "a positive integer" if least == 1 else f"an integer >= {least}"
        raise ValueError(f"{name} must be {need}; got {n!r}.")
    if most is not None and n > most:
        raise ValueError(f"{name} is {n}, but only {most} are available; pass at most {most}.")
    return int(n)


def model_dtype(model) -> torch.dtype:
    """The floating dtype a model computes in (its first floating parameter's; float32 without one)."""
    params = model.parameters() if hasattr(model, "parameters") else ()
    return next((p.dtype for p in params if p.is_floating_point()), torch.float32)


def model_device(model) -> torch.device:
    """The device a model's first parameter lives on (the CPU for a model without parameters)."""
    params = model.parameters() if hasattr(model, "parameters") else ()
    return next((p.device for p in params), torch.device("cpu"))


def resolve_device(device=None) -> torch.device:
    """The device training and feature extraction run on.

    ``device`` if given, else ``XFASHION_DEVICE``, else CUDA when available, else the CPU. The CPU
    is the reference for every number in the book; an unusable device is a ValueError that says so.
    """
    name = device if device is not None else os.environ.get("XFASHION_DEVICE") or (
        "cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError):
        raise ValueError(f"Unknown device {name!r}; use 'cpu', 'cuda' or 'cuda:N' (XFASHION_DEVICE).") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"Device {name!r} asked for, but this torch sees no CUDA GPU; use 'cpu' "
                         "(or unset XFASHION_DEVICE).")
    return dev


def set_seed(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch's global generators.

    Parameters
    ----------
    seed : int
        The seed. Package stages do not depend on it: each seeds its own generator from its config.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@contextlib.contextmanager
def seeded(seed: int, numpy: bool = False):
    """Run a block with torch's global generator seeded to ``seed``, then restore the caller's state.

    Model initialisation and Captum's samplers draw from torch's global generator; this keeps
    those draws a function of the stage's config alone. ``numpy=True`` seeds and restores NumPy's
    global generator too, for libraries that draw from it (Captum's GradientShap, Quantus).
    """
    state = np.random.get_state() if numpy else None
    if numpy:
        np.random.seed(int(seed))
    try:
        with torch.random.fork_rng(devices=[]):
            # the CPU generator only (everything here runs on the CPU): torch.manual_seed would also
            # seed every accelerator backend, capturing a stack trace each, 0.7 ms per explained batch
            torch.random.default_generator.manual_seed(int(seed))
            yield
    finally:
        if numpy:
            np.random.set_state(state)


# the same thresholds as release_freed_memory, as environment variables glibc reads when a process
# starts: the tour hands them to its notebook kernels, make lab and make app to theirs
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(8 << 20), "MALLOC_TRIM_THRESHOLD_": str(32 << 20)}


def release_freed_memory() -> bool:
    """Make glibc return freed large blocks to the OS at once (Linux; a no-op elsewhere).

    This changes the allocator of the whole process, so importing xfashion never calls it: the
    command line calls it for its own process, and the tour starts its kernels with
    :data:`MALLOC_ENV`, which has the same effect.

    PyTorch on the CPU allocates and frees tens of MB per batch; glibc's adaptive thresholds then
    keep those blocks in the heap, fragmented, and a 70,000-item feature extraction peaked at 3.5 GB
    resident instead of 1.1 GB. Fixed thresholds (blocks of 8 MiB and more are mapped and unmapped;
    heap tops above 32 MiB are trimmed) keep every stage near its real working set, while the
    small per-step buffers of training stay in the heap (mapping those too made training 2x slower).

    Returns
    -------
    bool
        True when the setting was applied.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # mallopt parameter numbers from glibc's malloc.h
        return bool(libc.mallopt(m_mmap_threshold, 8 << 20)) and bool(libc.mallopt(m_trim_threshold, 32 << 20))
    except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to tune
        return False


def small_mode() -> bool:
    """Return True when ``XFASHION_SMALL=1`` asks every stage to shrink (used by tests)."""
    return os.environ.get("XFASHION_SMALL", "0") not in ("", "0", "false", "False")


# every size that small-data mode changes, in one place: name -> (full data, small-data mode);
# None means "all of it"
SIZES = {
    "catalog_items": (None, 2500),  # catalog items per split
    "cnn_epochs": (5, 2),
    "cnn_train_images": (None, 6000),
    "outfits": ({"train": 16000, "val": 2000, "test": 2000}, {"train": 1600, "val": 300, "test": 300}),
    "scorer_epochs": (40, 15),
    "fitb_questions": (600, None),  # fill-in-the-blank questions drawn from the test outfits
    # small-data mode checks that the swap test and the design study run, not what they find (claims are
    # not checked there): a few cases per kind are enough, and they are the test suite's largest cost
    "swap_controlled": ({"n_outfits": 6000, "per_kind": 150}, {"n_outfits": 800, "per_kind": 25}),
    "swap_paper": ({"n_outfits": 500, "per_kind": None}, {"n_outfits": 400, "per_kind": 25}),
    "swap_quantus_cases": (30, 5),  # cases per method and scorer seed that Quantus's metrics judge
    "swap_sanity_cases": (100, 30),  # cases per method re-explained on the randomised scorer
    "design_per_kind": (60, 15),  # controlled swap cases per kind on each design of chapter 07's study
    # cases per scorer seed that a method with a declared case cap (the costly ones: pixel IG, Shapley values,
    # the pair test's interaction index) explains; None: its own cap
    "capped_cases": (None, 10),
}


def size(name: str):
    """The size ``name`` of :data:`SIZES` for the current mode (full data, or ``XFASHION_SMALL=1``)."""
    if name not in SIZES:
        raise KeyError(f"Unknown size {name!r}; known sizes are {sorted(SIZES)}.")
    full, small = SIZES[name]
    return small if small_mode() else full


def claim(ok, text: str) -> None:
    """Check one sentence of a notebook's prose against the outputs above it.

    A false claim raises an AssertionError on full data (so a wrong sentence fails the tour); in
    small-data mode, where models are too small for the prose to describe, it is only reported.
    """
    if bool(ok):
        return
    if small_mode():
        print(f"(small-data mode, not checked) {text}")
        return
    raise AssertionError(f"The notebook says: {text!r}, but the outputs above say otherwise.")


def say(*sentences: str) -> None:
    """Render this run's result as prose: the sentences, joined by spaces, as one Markdown paragraph.

    A chapter states what happened on the run the reader is looking at in sentences computed from
    its outputs; in a notebook (JupyterLab, the executed file, the book) they render as Markdown,
    elsewhere (a script, a test) they are printed as plain text.

    Parameters
    ----------
    *sentences
        Markdown text; empty strings are skipped, so a sentence can be left out with ``"" if ... else``.
    """
    text = " ".join(s.strip() for s in sentences if s and s.strip())
    if not text:
        raise ValueError("xf.say needs at least one non-empty sentence.")
    try:
        from IPython import get_ipython
        from IPython.display import Markdown, display
    except ImportError:  # IPython is optional outside notebooks
        print(text)
        return
    if get_ipython() is None:
        print(text)
        return
    display(Markdown(text))


def stop_early(bar, epochs_run: int, reason: str) -> None:
    """Close an epoch progress bar that stopped before its total, saying where and why.

    A bar closed short of its total reads as a failure (it stays at, say, 26/40, and the notebook's
    bar turns red); early stopping is the plan working, so the total becomes the epochs run and the
    bar's note says "stopped early at epoch 26 of 40: <reason>".

    Parameters
    ----------
    bar : tqdm.tqdm or tqdm.notebook.tqdm
        A bar advanced by hand, ``bar.update()`` once per epoch (tqdm's notebook bar marks a
        ``for epoch in bar`` loop left by ``break`` as failed, whatever happens here).
    epochs_run : int
        Epochs completed, the last one included.
    reason : str
        Why training stopped, e.g. "validation AUC no better for 6 epochs".
    """
    planned = bar.total
    bar.total = epochs_run
    container = getattr(bar, "container", None)
    if container is not None:  # the notebook's widget keeps its own maximum (tqdm's reset sets it the same way)
        container.children[1].max = epochs_run
    bar.set_postfix_str(f"stopped early at epoch {epochs_run} of {planned}: {reason}")
    bar.close()


def to_plain(frame) -> dict:
    """A pandas DataFrame as plain lists (for weights-only cache files)."""
    return {"columns": [str(c) for c in frame.columns], "index": [_plain(i) for i in frame.index],
            "index_name": frame.index.name, "dtypes": [str(t) for t in frame.dtypes],
            "index_dtype": str(frame.index.dtype),
            "data": [[_plain(v) for v in row] for row in frame.itertuples(index=False)]}


def from_plain(d: dict):
    """Inverse of :func:`to_plain`."""
    frame = pd.DataFrame(d["data"], columns=d["columns"], index=pd.Index(d["index"], dtype=d["index_dtype"]))
    frame = frame.astype(dict(zip(d["columns"], d["dtypes"])))
    frame.index.name = d["index_name"]
    return frame


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    return v


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (measured by the OS)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def json_default(v):
    """``json.dumps`` fallback for numpy scalars and arrays."""
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return float(v)


__all__ = ["set_seed", "seeded", "small_mode", "claim", "say", "peak_rss_mb"]
