"""What human-interpretable features buy: the book's scorer on an opaque pretrained embedding (chapter 09).

The same Fashion-MNIST items, recoloured as in chapter 01, are embedded by a pretrained ImageNet
network (EfficientNet-Lite0, the backbone of :mod:`xfashion.polyvore.photos`); its 1,280-dimensional
embedding is one feature group with no named dimension. The book's pairwise scorer is
trained on it with the book's training function, next to the same scorer trained on the same outfits
with the book's interpretable groups (colour, shape-texture). Both then meet the same swap-test cases
(chapter 06's controlled protocol, the stylist as ground truth).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from .cache import Cache
from .data import Catalog
from .evaluate.design import bootstrap_auc
from .explain import attribute
from .features import ItemFeatures, catalog_key
from .groups import FeatureGroup, FeatureGroups
from .outfits import OutfitBatch, OutfitSet
from .scorer import feature_batch, score
from .training import roc_auc, train_scorer
from .utils import check_seed, small_mode

GROUP = "embedding"  # the opaque group's name: it says where the numbers come from, not what they mean
IMAGE_SIZE = 32  # pixels fed to the backbone: 28x28 items upsampled a little (224 costs 50x more on a CPU)
DIMS = 1280  # EfficientNet-Lite0's pooled embedding: the whole of it is the scorer's one group
# outfits per split that both scorers of the chapter train, validate and test on (full data, small-data mode):
# every item of them is embedded, and the embedding is the chapter's largest cost
OUTFITS = ({"train": 3000, "val": 300, "test": 600}, {"train": 400, "val": 100, "test": 100})
_MEAN = torch.tensor([0.485, 0.456, 0.406])[:, None, None]  # ImageNet's normalisation, as the backbone was trained
_STD = torch.tensor([0.229, 0.224, 0.225])[:, None, None]


def _check_items(catalog: Catalog, items, colors) -> tuple:
    items = np.asarray(items)
    if items.ndim != 1 or items.size == 0 or not np.issubdtype(items.dtype, np.integer):
        raise ValueError(f"items must be a non-empty 1-D array of catalog ids; got shape {items.shape}, "
                         f"dtype {items.dtype}.")
    if items.min() < 0 or items.max() >= len(catalog):
        raise ValueError(f"items must be catalog ids in 0-{len(catalog) - 1}; got {items.min()}..{items.max()}.")
    colors = catalog.color[items] if colors is None else np.asarray(colors)
    if colors.shape != items.shape:
        raise ValueError(f"colors has shape {colors.shape} but items has {items.shape}: give one colour per item.")
    return items, colors


def pixels(catalog: Catalog, items, colors=None, image_size: int = IMAGE_SIZE) -> torch.Tensor:
    """What the backbone sees: items rendered in ``colors`` on white, upsampled, ImageNet-normalised (n, 3, S, S)."""
    items, colors = _check_items(catalog, items, colors)
    rgba = catalog.render(items, colors)
    # a product photo's white background, so the garment's colour is the only colour in the picture
    rgb = rgba[:, :3] * rgba[:, 3:] + (1 - rgba[:, 3:])
    return (F.interpolate(rgb, size=(image_size, image_size), mode="bilinear", align_corners=False) - _MEAN) / _STD


@torch.no_grad()
def embed_items(catalog: Catalog, items, colors=None, *, image_size: int = IMAGE_SIZE, batch_size: int = 64,
                use_cache: bool = True) -> torch.Tensor:
    """EfficientNet-Lite0's pooled embedding (n, 1280) of catalog ``items`` rendered in ``colors`` (cached).

    Parameters
    ----------
    items : 1-D int array
        Catalog ids.
    colors : 1-D int array, optional
        Palette index per item (default: the catalog's colours).
    image_size : int
        Side in pixels of the upsampled picture, 32-224.
    batch_size : int
        Items per forward pass. Small on purpose: the tour's kernels hand freed blocks over 8 MB back to the
        OS at once, and 256 items per pass then cost a second of system time per 150 items (measured).

    Returns
    -------
    Tensor (n, 1280)
        The backbone's last feature map averaged over positions, as its classifier reads it.
    """
    from .polyvore.photos import load_backbone  # the chapter's backbone, loaded like Polyvore's

    items, colors = _check_items(catalog, items, colors)
    if isinstance(image_size, bool) or not isinstance(image_size, int) or not 32 <= image_size <= 224:
        raise ValueError(f"image_size must be an integer number of pixels in 32-224; got {image_size!r}.")
    cache = Cache("opaque-embedding", {"backbone": "efficientnet-lite0", "image_size": image_size},
                  inputs=[catalog_key(catalog), items, colors], code=[pixels, embed_items, load_backbone])
    saved = cache.load() if use_cache else None
    if saved is not None:
        return saved["embedding"]
    net = load_backbone("efficientnet-lite0")
    out = [net.extract_features(pixels(catalog, items[i:i + batch_size], colors[i:i + batch_size], image_size))
           .mean((-2, -1)) for i in range(0, len(items), batch_size)]
    embedding = torch.cat(out)
    cache.save({"embedding": embedding})
    return embedding


def subset(outfits: OutfitSet, n: int) -> OutfitSet:
    """The first ``n`` outfits of a split (its order is already random)."""
    return dataclasses.replace(outfits, items=outfits.items[:n], label=outfits.label[:n],
                               oracle_label=outfits.oracle_label[:n], template=outfits.template[:n],
                               rules=outfits.rules[:n])


@dataclass
class Projection:
    """The map from a raw embedding (n, 1280) to the opaque group: centred on the training items and divided
    by one number, their overall spread, so that no dimension is stretched (a per-dimension scale would blow
    up the many near-constant ones; measured, it trains a worse scorer)."""

    mean: torch.Tensor
    scale: float

    def __call__(self, embedding: torch.Tensor) -> torch.Tensor:
        return (embedding - self.mean) / self.scale


@dataclass
class OpaqueBench:
    """Two scorers of one architecture, trained on the same outfits, that differ only in their features.

    Attributes
    ----------
    catalog : Catalog
    splits : dict of str -> OutfitSet
        The outfits both scorers train, validate and test on (:data:`OUTFITS`).
    interpretable, opaque : ItemFeatures
        The book's colour and shape-texture groups; the whole embedding as one group
        (rows of items outside ``splits`` are zero: they are never read).
    models : dict of str -> TrainResult
        ``"interpretable"`` and ``"opaque"``.
    projection : Projection
    image_size : int
    """

    catalog: Catalog
    splits: dict
    interpretable: ItemFeatures
    opaque: ItemFeatures
    models: dict
    projection: Projection
    image_size: int

    def featurise(self, items, colors=None) -> torch.Tensor:
        """The opaque group's features of ``items`` in ``colors`` (their pixels through the backbone)."""
        return self.projection(embed_items(self.catalog, items, colors, image_size=self.image_size))

    def opaque_batch(self, items, colors) -> OutfitBatch:
        """Outfits ``items`` (B, N; -1 pads) in ``colors`` as a batch of the opaque scorer."""
        items, colors = np.asarray(items), np.asarray(colors)
        real = items >= 0
        table = torch.zeros(*items.shape, DIMS)
        table[torch.from_numpy(real)] = self.featurise(items[real], colors[real])
        slot = torch.from_numpy(np.where(real, self.catalog.slot[np.maximum(items, 0)], 0))
        return OutfitBatch({GROUP: table}, slot, torch.from_numpy(real), torch.zeros(len(items)),
                           torch.from_numpy(items))


def opaque_bench(interpretable: ItemFeatures, catalog: Catalog, splits: dict, *, seed: int = 0,
                 image_size: int = IMAGE_SIZE, progress: bool = False) -> OpaqueBench:
    """Embed the items of the chapter's outfits and train both scorers on them (each step cached).

    Parameters
    ----------
    interpretable : ItemFeatures
        The book's features (``xf.workbench(seed).feats``).
    catalog, splits
        The data seed's catalog and full splits (``xf.prepare(seed)``); the first :data:`OUTFITS` of each
        split are used.
    seed : int
        Seeds both scorers' initial weights and batches (the same seed for both).
    """
    seed = check_seed(seed)
    sizes = OUTFITS[1] if small_mode() else OUTFITS[0]
    missing = sorted(set(sizes) - set(splits))
    if missing:
        raise ValueError(f"splits lacks {missing}; pass the splits of xf.prepare(seed).")
    chosen = {k: subset(splits[k], n) for k, n in sizes.items()}
    ids = np.unique(np.concatenate([s.items[s.items >= 0] for s in chosen.values()]))
    raw = embed_items(catalog, ids, image_size=image_size)
    train = np.searchsorted(ids, np.unique(chosen["train"].items[chosen["train"].items >= 0]))
    mean = raw[train].mean(0)
    projection = Projection(mean, float((raw[train] - mean).std()))
    table = torch.zeros(len(catalog), DIMS)
    table[torch.from_numpy(ids)] = projection(raw)
    names = tuple(f"d{k:04d}" for k in range(DIMS))  # numbered, not named: no dimension has a meaning we know
    opaque = ItemFeatures({GROUP: table}, FeatureGroups((FeatureGroup(GROUP, DIMS, names),)), None,
                          interpretable.cnn, 0.0,
                          # keyed by provenance (items, picture size, code), not by 70,000 x 1,280 floats: hashing
                          # the table cost seconds
                          key=Cache("opaque-features", {"image_size": image_size, "dims": DIMS},
                                    inputs=[catalog_key(catalog), ids], code=[embed_items, pixels, Projection]).key)
    # pretrained=False: no shipped weights are looked for (the book ships none for these outfits)
    models = {name: train_scorer(catalog, chosen, feats, seed=seed, pretrained=False, progress=progress)
              for name, feats in (("interpretable", interpretable), ("opaque", opaque))}
    return OpaqueBench(catalog, chosen, interpretable, opaque, models, projection, image_size)


def input_x_gradient(model, batch: OutfitBatch) -> dict:
    """Gradient x input of the logit for every dimension of every group, (B, N, D_g) per group, by autograd.

    Summed over a group's dimensions it is IFIV; summed over them all, an item's value.
    """
    model.eval()
    inputs = {g: v.clone().requires_grad_(True) for g, v in batch.features.items() if g in model.groups.names}
    logits = model(inputs, batch.slot, batch.mask)
    grads = torch.autograd.grad(logits.sum(), list(inputs.values()))
    mask = batch.mask[..., None].float()
    return {g: (x * d * mask).detach() for (g, x), d in zip(inputs.items(), grads)}


def variance_sources(table: torch.Tensor, catalog: Catalog, items) -> pd.DataFrame:
    """For every dimension of ``table`` (n_catalog, D), the share of its variance over ``items`` that the items'
    colour explains and the share that their category explains (each an eta squared, 0 to 1).

    Colours are drawn independently of categories in the catalog, so the two shares measure two separate
    sources: a dimension a reader can name by one of them has a high share of it and none of the other.
    """
    items = np.asarray(items)
    x = table[torch.from_numpy(items)].double()
    total = ((x - x.mean(0)) ** 2).sum(0).clamp_min(1e-12)

    def explained(labels):
        out = torch.zeros(x.shape[1], dtype=torch.float64)
        for k in np.unique(labels):
            part = x[torch.from_numpy(labels == k)]
            out += len(part) * (part.mean(0) - x.mean(0)) ** 2
        return (out / total).numpy()
    return pd.DataFrame({"colour": explained(catalog.color[items]), "category": explained(catalog.category[items])})


@dataclass
class Comparison:
    """The swap-test cases both scorers take (the stylist's unique culprit; both scores drop by the margin).

    Attributes
    ----------
    cases : SwapCases
        The cases, with the interpretable scorer's features of the swapped outfits.
    opaque_batch : OutfitBatch
        The same swapped outfits as the opaque scorer sees them.
    attributions : dict of str -> Attribution
        IFIV per (item, group) of each scorer (the opaque one has one group).
    table : DataFrame
        One row per case: its ``kind``, swapped ``position`` and ``items``; the stylist's ``truth`` group
        (``color``, ``shape_texture``, or ``both``); each scorer's culprit item, whether it is the swapped
        one (``*_hit``), the interpretable scorer's lower group of the swapped item (``named``), its
        ``group_hit``; and ``chance`` (one over the outfit's items).
    """

    cases: object
    opaque_batch: OutfitBatch
    attributions: dict
    table: pd.DataFrame


@dataclass
class Candidates:
    """Chapter 06's controlled swap cases found on the interpretable scorer before any margin (``cases``; its fall in
    logit is ``cases.drop``), with the opaque scorer's logits ``before`` and ``after`` each swap and its
    ``after_batch``: what :func:`compare_on_swaps` filters."""

    cases: object
    before: np.ndarray
    after: np.ndarray
    after_batch: OutfitBatch


def swap_candidates(bench: OpaqueBench, wb, *, per_kind: int | None = None, seed: int = 0) -> Candidates:
    """The swap cases both scorers could take, scored by the opaque scorer (``per_kind`` caps them per swap kind;
    default 150, 25 in small-data mode). ``wb`` is the data seed's workbench: its features re-render swapped items
    for the interpretable scorer."""
    from .evaluate.swap import build_swap_cases

    per_kind = (25 if small_mode() else 150) if per_kind is None else per_kind
    # margin 0 here: the opaque scorer's drop is known only below, and both must pass the same margin
    cases = build_swap_cases(wb, protocol="controlled", per_kind=per_kind, margin=0.0, seed=seed,
                             model=bench.models["interpretable"].model)
    opaque = bench.models["opaque"].model
    original = np.where(cases.original >= 0, bench.catalog.color[np.maximum(cases.original, 0)], -1)
    after_batch = bench.opaque_batch(cases.items, cases.colors)
    return Candidates(cases, score(opaque, bench.opaque_batch(cases.original, original)).numpy(),
                      score(opaque, after_batch).numpy(), after_batch)


def compare_on_swaps(bench: OpaqueBench, wb, *, per_kind: int | None = None, margin: float = 0.5,
                     seed: int = 0, candidates: Candidates | None = None) -> Comparison:
    """Chapter 06's controlled swap cases, kept where both scorers call the outfit good and drop by ``margin``.

    ``candidates`` (:func:`swap_candidates`; built from ``per_kind`` and ``seed`` when None) are the cases to
    filter; IFIV of each scorer on the kept ones names its culprit item, a hit where it is the swapped one.
    """
    pool = swap_candidates(bench, wb, per_kind=per_kind, seed=seed) if candidates is None else candidates
    interp, opaque = bench.models["interpretable"].model, bench.models["opaque"].model
    before, after = pool.before, pool.after
    keep = np.flatnonzero((pool.cases.drop >= margin) & (before > 0) & (before - after >= margin))
    cases = pool.cases.subset(keep)
    after_batch = pool.after_batch.take(torch.from_numpy(keep))
    attributions = {"interpretable": attribute(interp, cases.batch, "ifiv"),
                    "opaque": attribute(opaque, after_batch, "ifiv")}
    values = {name: a.values for name, a in attributions.items()}
    rows = np.arange(len(cases))
    table = pd.DataFrame({"kind": cases.kind, "position": cases.position, "items": cases.size,
                          "chance": 1 / cases.size, "interp_drop": cases.drop, "opaque_drop": (before - after)[keep]})
    blame = cases.blame[rows, cases.position].numpy() > 0
    table["blamed"] = (cases.blame.sum(-1) > 0).sum(1).numpy()
    table["truth"] = np.where(blame.all(1), "both", np.array(cases.groups)[blame.argmax(1)])
    for name, v in values.items():
        item = v.sum(-1).masked_fill(~cases.batch.mask, float("inf"))
        table[f"{name}_culprit"] = item.argmin(1).numpy()
        table[f"{name}_hit"] = table[f"{name}_culprit"] == table.position
        table[f"{name}_blamed"] = (cases.blame[rows, table[f"{name}_culprit"].to_numpy().copy()].sum(-1) > 0).numpy()
    table["named"] = np.array(cases.groups)[values["interpretable"][rows, cases.position].argmin(1).numpy()]
    table["group_hit"] = table.named == table.truth
    return Comparison(cases, after_batch, attributions, table)


def after_the_fact_sums(bench: OpaqueBench, comparison: Comparison, sources: pd.DataFrame) -> torch.Tensor:
    """The swapped item's gradient x input per case summed over the embedding dimensions named colour and over the
    others (cases, 2): each dimension named after the source that explains more of its variance (``sources``, from
    :func:`variance_sources`), the best a reader of the opaque scorer can do to say *why*."""
    if len(sources) != DIMS:
        raise ValueError(f"sources must have one row per embedding dimension ({DIMS}); got {len(sources)}.")
    dims = input_x_gradient(bench.models["opaque"].model, comparison.opaque_batch)[GROUP]
    own = dims[np.arange(len(comparison.cases)), comparison.cases.position]
    colourish = torch.tensor((sources.colour > sources.category).to_numpy())
    return torch.stack([own[:, colourish].sum(1), own[:, ~colourish].sum(1)], 1)


def named_after_the_fact(bench: OpaqueBench, comparison: Comparison, sources: pd.DataFrame) -> np.ndarray:
    """The group the opaque scorer's explanation gives per case once its dimensions are named after the fact: the
    lower of :func:`after_the_fact_sums`."""
    return np.array(comparison.cases.groups)[after_the_fact_sums(bench, comparison, sources).argmin(1).numpy()]


def items_of(outfits: OutfitSet) -> np.ndarray:
    """The distinct catalog items of a split's outfits (padding left out), sorted."""
    return np.unique(outfits.items[outfits.items >= 0])


def features_by_source(bench: OpaqueBench, items) -> dict:
    """:func:`variance_sources` of every dimension of the three features, over ``items``, by the chapter's labels."""
    return {"colour histogram": variance_sources(bench.interpretable["color"], bench.catalog, items),
            "shape-texture CNN": variance_sources(bench.interpretable["shape_texture"], bench.catalog, items),
            "EfficientNet embedding": variance_sources(bench.opaque[GROUP], bench.catalog, items)}


def moving_dims(bench: OpaqueBench, items) -> np.ndarray:
    """Which embedding dimensions are non-zero for some of ``items`` (many are zero for every item)."""
    return (bench.opaque[GROUP][torch.from_numpy(np.asarray(items))] != 0).any(0).numpy()


def book_reference(bench: OpaqueBench, wb, n_boot: int = 200, seed: int = 0) -> dict:
    """:func:`auc_gap` of the book's scorer (``wb.model``: the same interpretable features, every training outfit)
    over the bench's interpretable scorer, on the bench's test outfits: what the smaller training set costs."""
    test = bench.splits["test"]
    logits = [score(m, feature_batch(bench.catalog, test, bench.interpretable)).numpy()
              for m in (wb.model, bench.models["interpretable"].model)]
    return auc_gap(*logits, test.oracle_label > 0, n_boot, seed)


def book_attribution(wb, comparison: Comparison):
    """IFIV of the book's scorer on the comparison's swapped outfits (the interpretable features it reads)."""
    return attribute(wb.model, comparison.cases.batch, "ifiv")


def why_right(values: torch.Tensor, comparison: Comparison) -> np.ndarray:
    """Per case with one faulted group: is the swapped item's lower group in ``values`` (cases, items, groups) the
    stylist's?"""
    t, cases = comparison.table, comparison.cases
    named = np.array(cases.groups)[values[np.arange(len(t)), cases.position].argmin(1).numpy()]
    one = (t.truth != "both").to_numpy()
    return named[one] == t.truth.to_numpy()[one]


def colour_misses(comparison: Comparison, book_values: torch.Tensor) -> dict:
    """On the colour swaps whose swapped item the interpretable scorer misses: the colour IFIV it gives the swapped
    item (``small_swapped``) and the item it names (``small_named``), and the book's scorer's on the same items
    (``book_swapped``, ``book_named``); ``book_gap`` > 0 where the book's scorer blames the swapped item's colour
    more. Colour is the first group."""
    t = comparison.table
    rows = np.flatnonzero(((t.kind == "color") & ~t.interpretable_hit).to_numpy())
    named, swapped = t.interpretable_culprit.to_numpy()[rows], t.position.to_numpy()[rows]
    small = comparison.attributions["interpretable"].values[..., 0]
    out = {"rows": rows, "small_swapped": small[rows, swapped].numpy(), "small_named": small[rows, named].numpy(),
           "book_swapped": book_values[rows, swapped, 0].numpy(), "book_named": book_values[rows, named, 0].numpy()}
    return {**out, "book_gap": out["book_named"] - out["book_swapped"]}


def share(hits) -> tuple:
    """A hit rate and its standard error (binomial), from a boolean array."""
    hits = np.asarray(hits, float)
    return float(hits.mean()), float(hits.std(ddof=1) / np.sqrt(len(hits))) if len(hits) > 1 else float("nan")


def auc_gap(first, second, good, n_boot: int = 200, seed: int = 0) -> dict:
    """Two scorers' AUCs on the same outfits (logits ``first``, ``second``; ``good`` the stylist's labels), their
    difference (first minus second) and its standard error over ``n_boot`` paired bootstrap resamples."""
    first, second, good = np.asarray(first), np.asarray(second), np.asarray(good, bool)
    if not first.shape == second.shape == good.shape or first.ndim != 1:
        raise ValueError(f"first, second and good must be 1-D arrays of one length; got shapes {first.shape}, "
                         f"{second.shape}, {good.shape}.")
    draws = bootstrap_auc({"first": first, "second": second}, good, draws=n_boot, seed=seed)
    a, b = roc_auc(first, good), roc_auc(second, good)
    return {"first": a, "second": b, "gap": a - b, "gap_se": float((draws["first"] - draws["second"]).std(ddof=1))}


def held_out_aucs(bench: OpaqueBench, n_boot: int = 200, seed: int = 0) -> dict:
    """Both scorers' test AUC (against the stylist's labels), their difference (interpretable minus opaque)
    and its standard error over ``n_boot`` paired bootstrap resamples of the test outfits."""
    test = bench.splits["test"]
    logits = {name: score(r.model, feature_batch(bench.catalog, test, feats)).numpy()
              for (name, r), feats in zip(bench.models.items(), (bench.interpretable, bench.opaque))}
    gap = auc_gap(logits["interpretable"], logits["opaque"], test.oracle_label > 0, n_boot, seed)
    return {"interpretable": gap["first"], "opaque": gap["second"], "gap": gap["gap"], "gap_se": gap["gap_se"],
            "n": len(test)}


def fewer_outfits(bench: OpaqueBench, n_train: int = 1000, n_boot: int = 200, seed: int = 0) -> dict:
    """Both scorers retrained on the first ``n_train`` of the bench's training outfits (cached), and the change
    of their test-AUC gap from ``n_train`` to the bench's size, with its paired bootstrap standard error: does
    the opaque scorer catch up when its outfits grow?"""
    if not 0 < n_train < len(bench.splits["train"]):
        raise ValueError(f"n_train must be between 1 and {len(bench.splits['train']) - 1}; got {n_train}.")
    test = bench.splits["test"]
    good = test.oracle_label > 0
    fewer = {**bench.splits, "train": subset(bench.splits["train"], n_train)}
    logits = {}
    for name, feats in (("interpretable", bench.interpretable), ("opaque", bench.opaque)):
        logits[name] = score(bench.models[name].model, feature_batch(bench.catalog, test, feats)).numpy()
        model = train_scorer(bench.catalog, fewer, feats, seed=seed, pretrained=False, progress=False).model
        logits[f"{name}_fewer"] = score(model, feature_batch(bench.catalog, test, feats)).numpy()

    def change(a):  # the gap at the bench's size minus the gap at n_train, from AUCs ``a`` by name
        return (a["interpretable"] - a["opaque"]) - (a["interpretable_fewer"] - a["opaque_fewer"])
    draws = bootstrap_auc(logits, good, draws=n_boot, seed=seed)  # paired: every scorer on the same resamples
    aucs = {name: roc_auc(v, good) for name, v in logits.items()}
    return {**aucs, "n_train": n_train, "change": change(aucs), "change_se": float(change(draws).std(ddof=1))}
