"""The one cache mechanism, and the book's trained weights shipped beside it.

Every cached artifact goes through :class:`Cache`: its key is a digest of the stage's full
configuration, the content of its inputs and the source of the code it runs, so editing a
function, relabelling outfits or retraining a model can never serve a stale result. Files hold
tensors and plain data only and load with ``torch.load(..., weights_only=True)``: a cache folder
copied from a classmate cannot run code.

A *shippable* artifact (a trained model) is looked up first in ``data/weights/``, whose manifest
``make retrain`` writes (:mod:`xfashion.weights`); each file loads only after its sha256 check.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import inspect
import json
import math
import os
import shutil
import types
import warnings
from pathlib import Path

import numpy as np
import torch

from .utils import IN_CLONE, REPO_ROOT, small_mode


def cache_dir() -> Path:
    """Folder for cached artifacts (``XFASHION_CACHE``, else ``data/cache`` in a clone, else ``~/.cache/xfashion``)."""
    default = REPO_ROOT / "data" / "cache" if IN_CLONE else Path.home() / ".cache" / "xfashion"
    path = Path(os.environ.get("XFASHION_CACHE", default))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"Cannot use cache folder {path}: {err.strerror}. Point XFASHION_CACHE at a writable "
                         "folder.") from None
    if not path.is_dir():
        raise ValueError(f"Cache folder {path} is not a folder; point XFASHION_CACHE at a folder.")
    return path


# ----------------------------------------------------------------------------- digests
def _source_or_bytecode(obj) -> bytes:
    """The source text of a module, function or class; for code with no source file Python can read
    back (a class typed in a notebook cell or at a prompt: ``inspect.getsource`` raises), its qualified
    name and compiled code instead, which change exactly when what it does changes."""
    try:
        return inspect.getsource(obj).encode()
    except (OSError, TypeError):
        return repr(_compiled(obj)).encode()


def _compiled(obj):
    """A process-independent description of a function's or class's compiled code (no addresses)."""
    if isinstance(obj, (staticmethod, classmethod)):
        return _compiled(obj.__func__)
    if isinstance(obj, property):
        return ("property", *(_compiled(f) for f in (obj.fget, obj.fset, obj.fdel) if f is not None))
    if isinstance(obj, types.FunctionType):
        return ("function", obj.__qualname__, _code(obj.__code__), repr(obj.__defaults__))
    if isinstance(obj, type):
        own = sorted((name, _compiled(value)) for name, value in vars(obj).items()
                     if not (name.startswith("__") and name.endswith("__")))
        return ("class", obj.__qualname__, [b.__qualname__ for b in obj.__bases__], own)
    text = repr(obj)
    return "<object>" if " at 0x" in text else text  # an attribute's value, unless its repr is an address


def _code(code: types.CodeType):
    return (code.co_code, code.co_names, code.co_varnames,
            tuple(_code(c) if isinstance(c, types.CodeType) else repr(c) for c in code.co_consts))


def _update(h, obj) -> None:
    """Feed ``obj`` into hash ``h`` by content (arrays by bytes, code by source)."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        h.update(f"tensor{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    elif isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(obj)
        if a.dtype == object:
            a = a.astype(str)
        h.update(f"array{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    elif isinstance(obj, (types.ModuleType, types.FunctionType, type)):
        h.update(b"code")
        h.update(_source_or_bytecode(obj))
    elif isinstance(obj, torch.nn.Module):
        h.update(f"module{type(obj).__name__}".encode())
        _update(h, obj.state_dict())
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        h.update(f"dataclass{type(obj).__name__}".encode())
        _update(h, {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)})
    elif isinstance(obj, dict):
        h.update(b"dict")
        for k in sorted(obj, key=str):
            _update(h, str(k))
            _update(h, obj[k])
    elif isinstance(obj, (list, tuple)):
        h.update(f"seq{len(obj)}".encode())
        for v in obj:
            _update(h, v)
    elif isinstance(obj, float) and math.isnan(obj):
        h.update(b"nan")
    elif obj is None or isinstance(obj, (bool, int, float, str, np.generic, Path)):
        h.update(f"{type(obj).__name__}:{obj!r}".encode())
    else:
        raise TypeError(f"Cannot digest a {type(obj).__name__} for a cache key; pass its content instead.")


def digest(*parts, length: int = 16) -> str:
    """A stable hex digest of configs, arrays, tensors, models (weights) and code (source text)."""
    h = hashlib.sha256()
    for p in parts:
        _update(h, p)
    return h.hexdigest()[:length]


# ----------------------------------------------------------------------------- shipped weights
WEIGHTS_DIR = REPO_ROOT / "data" / "weights"
MANIFEST = "manifest.json"
RETRAIN_HINT = ("run `make retrain` (or `python -m xfashion retrain`) to regenerate data/weights/ from the "
                "package's code")
_SHIPPING: list = []  # the open retrain session, if any: a list of (folder, entries)


def pretrained_enabled(pretrained: bool | None = None) -> bool:
    """``pretrained`` when given, else True unless ``XFASHION_PRETRAINED=0`` asks for every model to be trained.

    With it on (the default), models whose configuration, code and data match an entry of
    ``data/weights/manifest.json`` load the book's weights, so a reader's numbers match the book's on
    any CPU up to inference rounding; others train (and are cached) as before.
    """
    if pretrained is not None:
        return bool(pretrained)
    return os.environ.get("XFASHION_PRETRAINED", "1") not in ("", "0", "false", "False")


def file_sha256(path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def weights_manifest(folder: Path | None = None) -> dict:
    """The shipped weights' manifest in ``folder`` (default :data:`WEIGHTS_DIR`); ``{"files": {}}`` when none."""
    path = Path(folder or WEIGHTS_DIR) / MANIFEST
    if not path.is_file():
        return {"files": {}}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); restore it with `git checkout data/weights` or "
                         f"{RETRAIN_HINT}.") from None


def load_shipped(name: str, folder: Path | None = None):
    """The payload of shipped file ``name`` after its sha256 check, or None when the manifest lacks it.

    ``folder`` defaults to :data:`WEIGHTS_DIR`.

    Raises
    ------
    ValueError
        When the file is missing or its bytes differ from the manifest's checksum (never loaded then).
    """
    folder = Path(folder or WEIGHTS_DIR)
    entry = weights_manifest(folder)["files"].get(name)
    if entry is None:
        return None
    path = folder / name
    if not path.is_file():
        raise ValueError(f"Shipped weights {path} are listed in the manifest but missing; restore them with "
                         f"`git checkout data/weights`, {RETRAIN_HINT}, or set XFASHION_PRETRAINED=0 to train.")
    found = file_sha256(path)
    if found != entry["sha256"]:
        raise ValueError(f"Shipped weights {path.name} fail their checksum (sha256 {found[:12]}..., manifest "
                         f"{entry['sha256'][:12]}...): the file was changed or damaged. Restore it with "
                         f"`git checkout data/weights`, {RETRAIN_HINT}, or set XFASHION_PRETRAINED=0 to train.")
    payload = torch.load(path, weights_only=True)
    payload.setdefault("seconds", entry.get("seconds", float("nan")))  # the book's training time
    return payload


@contextlib.contextmanager
def shipping(folder: Path):
    """Within this block every shippable :class:`Cache` that saves also writes its file into ``folder``.

    Yields the dict of manifest entries (file name -> stage, config, code digest, sha256) it fills;
    :func:`xfashion.weights.retrain` writes them out as the manifest.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    entries: dict = {}
    _SHIPPING.append((folder, entries))
    try:
        yield entries
    finally:
        _SHIPPING.pop()


@contextlib.contextmanager
def rekeying(folder: Path):
    """Within this block a shippable :class:`Cache` finds the file of ``folder``'s manifest with its stage and
    configuration, whatever key it was shipped under, and (inside :func:`shipping`) ships it under today's key.

    For :func:`xfashion.weights.rekey` only: a stage that would train raises instead, because re-keying is
    honest only when no computation changed.
    """
    _REKEYING.append(Path(folder))
    try:
        yield
    finally:
        _REKEYING.pop()


_REKEYING: list = []  # the open re-key session's weights folder, if any


def _json(value):
    return json.loads(json.dumps(value))  # as the manifest stores it (tuples become lists)


_UNSHIPPED_SAID: set = set()  # the unshipped models this process has named


def _model_name(stage: str, config: dict) -> str:
    """'the shape-texture CNN', 'the pairwise scorer of seed 1': a shippable stage as a reader names it."""
    if stage.startswith("scorer-"):  # a design study's variant must not read as the book's own scorer
        design = [f"{k.replace('_', ' ')} {v}" for k, v in config.items() if k in ("activation", "label_smoothing")]
        return (f"the {stage.removeprefix('scorer-')} scorer of seed {config.get('seed', 0)}"
                + (f" ({', '.join(design)})" if design else ""))
    return {"shape_cnn": "the shape-texture CNN"}.get(stage, f"the {stage} model")


def _note_unshipped(stage: str, config: dict, name: str, cached: bool) -> None:
    """Say that a model the book does not ship is trained (or was, on this machine), and log it for the tour.

    Full data only: the shipped weights are the full data's, small-data mode always trains. The
    reason (a shipped model of this configuration made from other data or code, or no shipped copy) is given
    once per process, then one line per further model, and nothing for a model
    already named (a chapter on another data seed loads a dozen such models, several twice).
    """
    if small_mode():
        return
    what = _model_name(stage, config)
    how = f"loading {what} this machine trained before" if cached else f"training {what} here"
    if not _UNSHIPPED_SAID:
        shipped = [e for e in weights_manifest()["files"].values()
                   if e.get("stage") == stage and e.get("config") == _json(config)]
        # only a model the book ships under other data or code calls for a retrain; an exercise's variant does not
        why = (f"the book ships this configuration for its own inputs, and this run's differ (another data seed or "
               f"other feature groups), or the training code changed (after changing it on purpose, {RETRAIN_HINT})"
               if shipped else
               "the book ships only the models its chapters load, so this one is trained once on this machine "
               "and cached")
        print(f"{how[0].upper()}{how[1:]}: {why}.")
    elif name not in _UNSHIPPED_SAID:
        print(f"{how[0].upper()}{how[1:]} too.")
    _UNSHIPPED_SAID.add(name)
    log = os.environ.get("XFASHION_LIVE_LOG")
    if log:
        with open(log, "a") as f:
            f.write(name + "\n")


class Cache:
    """One cached artifact of a stage.

    Parameters
    ----------
    stage : str
        Name used in the file name (``<stage>-<key>.pt``).
    config : dict
        Every argument that changes the result.
    inputs : sequence
        The data the stage reads (arrays, tensors, models, dataclasses), digested by content.
    code : sequence of modules, functions or classes
        The code the stage runs, digested by source text.
    shippable : bool
        A trained model that ``make retrain`` ships in ``data/weights/``: :meth:`load` looks there
        first (sha256-checked) unless ``XFASHION_PRETRAINED=0``. Its key must not depend on float
        rounding (key inputs by provenance), so that every CPU finds the book's file.

    Examples
    --------
    >>> cache = Cache("scorer", config, inputs=[features], code=[scorer_module])  # doctest: +SKIP
    >>> payload = cache.load()  # None on a miss
    """

    def __init__(self, stage: str, config: dict, inputs=(), code=(), shippable: bool = False):
        self.stage, self.config, self.shippable = stage, dict(config), shippable
        self.code = digest(list(code))
        self.key = digest(stage, config, list(inputs), self.code)
        self.path = cache_dir() / f"{stage}-{self.key}.pt"
        self.source = None  # after load: "shipped", "cache" or None (a miss)

    def load(self, pretrained: bool | None = None):
        """The stored payload, or None when absent; a damaged cache file is reported and ignored.

        A shippable artifact comes from ``data/weights/`` when the manifest has its key and
        ``pretrained`` (default: :func:`pretrained_enabled`) is on; the local cache comes second.
        """
        if self.shippable and _REKEYING:
            return self._load_rekeyed(_REKEYING[-1])
        if self.shippable and pretrained_enabled(pretrained):
            payload = load_shipped(self.path.name)
            if payload is not None:
                self.source = "shipped"
                return payload
            _note_unshipped(self.stage, self.config, self.path.name, cached=self.path.exists())
        if not self.path.exists():
            return None
        try:
            payload = torch.load(self.path, weights_only=True)
            self.source = "cache"
            return payload
        except Exception as err:  # a truncated or foreign file: recompute rather than trust it, and say so
            # as a warning (stderr), which survives --json and a notebook's captured output
            warnings.warn(f"Ignoring unreadable cache file {self.path} ({type(err).__name__}: {err}); recomputing. "
                          "Delete it to silence this.", RuntimeWarning, stacklevel=2)
            return None

    def _load_rekeyed(self, folder: Path):
        files = weights_manifest(folder)["files"]
        found = [n for n, e in files.items() if e["stage"] == self.stage and e["config"] == _json(self.config)]
        if len(found) != 1:
            raise ValueError(f"Cannot re-key {self.stage} {self.config}: {len(found)} shipped files have this stage "
                             f"and configuration ({found}), one was expected. Its computation changed or it was "
                             f"never shipped: {RETRAIN_HINT}.")
        payload = load_shipped(found[0], folder)
        self.source = "shipped"
        if _SHIPPING:
            target, entries = _SHIPPING[-1]
            shutil.copyfile(Path(folder) / found[0], Path(target) / self.path.name)  # the very bytes shipped
            entries[self.path.name] = {**files[found[0]], "code": self.code, "rekeyed_from": found[0]}
        return payload

    def save(self, payload: dict) -> None:
        """Store tensors and plain data (atomically, so a killed run leaves no half file)."""
        if self.shippable and _REKEYING:
            raise RuntimeError(f"Re-keying would have trained {self.stage}: {RETRAIN_HINT}.")
        # one temporary file per process: two processes that build the same artifact at once (the test
        # suite's workers) each write their own and the last rename wins, with identical content
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        torch.save(payload, tmp)
        tmp.replace(self.path)
        if self.shippable and _SHIPPING:
            # the shipped copy leaves out the wall-clock seconds (kept in the manifest), and the manifest
            # keeps a digest of the content: torch.save's bytes differ on every save, the content does
            # not, so a retrain of unchanged code can keep the committed files (xfashion.weights.retrain)
            folder, entries = _SHIPPING[-1]
            content = {k: v for k, v in payload.items() if k != "seconds"}
            torch.save(content, folder / self.path.name)
            entries[self.path.name] = {"stage": self.stage, "config": self.config, "code": self.code,
                                       "content": digest(content), "seconds": round(float(payload["seconds"]), 1),
                                       "sha256": file_sha256(folder / self.path.name)}


def pack_record(obj) -> dict:
    """A dataclass of arrays and plain values as weights-only data (numeric arrays as tensors)."""
    out = {}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if isinstance(v, np.ndarray):
            v = {"array": torch.from_numpy(np.ascontiguousarray(v)) if v.dtype.kind in "biuf" else v.tolist(),
                 "dtype": v.dtype.str}
        out[f.name] = v
    return out


def unpack_record(cls, d: dict):
    """Inverse of :func:`pack_record`: the same arrays, dtypes and values."""
    def value(v):
        if isinstance(v, dict) and set(v) == {"array", "dtype"}:
            a = v["array"]
            return (a.numpy() if isinstance(a, torch.Tensor) else np.asarray(a)).astype(v["dtype"], copy=False)
        return v
    return cls(**{k: value(v) for k, v in d.items()})


__all__ = ["cache_dir", "digest", "Cache", "pretrained_enabled", "load_shipped", "weights_manifest", "shipping",
           "rekeying"]
