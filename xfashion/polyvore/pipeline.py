"""Polyvore batches, the scorer's metrics and the swap test in feature space, wired into one run."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from ..data import PALETTE
from ..evaluate.metrics import metrics_of
from ..evaluate.runner import score_methods
from ..evaluate.swap import check_margin, make_swap_cases
from ..explain import attribute, dataset_means
from ..outfits import OutfitBatch
from ..scorer import PairwiseSetScorer, score
from ..training import fit, roc_auc
from ..utils import check_count, seeded
from .data import PUBLISHED, SPLITS, PolyvoreData, load_polyvore
from .photos import PhotoFeatures, extract_photo_features


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
    names = feats.groups.context.dim_names  # the garment slots, plus the accessories' when kept
    slot_of = torch.tensor([names.index(data.items.slot[i]) for i in sorted(feats.index, key=feats.index.get)])
    features = {g: t[safe] * mask[..., None] for g, t in feats.tables.items()}
    label = torch.zeros(len(rows)) if labels is None else torch.tensor([float(labels[k]) for k in kept])
    return OutfitBatch(features, slot_of[safe] * mask, mask, label, items), np.array(kept)


def fitb_accuracy_polyvore(model, data: PolyvoreData, feats: PhotoFeatures, split: str = "test",
                           max_items: int = 8) -> tuple:
    """FITB accuracy on the official questions: the filled outfit with the highest score wins."""
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


# ----------------------------------------------------------------------------- the stages of run_polyvore
PATIENCE = 6  # epochs without a higher validation AUC before training stops (fit's default, named here)


def split_batches(data: PolyvoreData, feats: PhotoFeatures, max_items: int = 8) -> dict:
    """Split name -> :class:`OutfitBatch` of its labelled compatibility outfits (see :func:`outfit_batch`)."""
    batches = {}
    for split in SPLITS:
        rows = data.compatibility[split]
        batches[split], _ = outfit_batch(data, feats, [ids for _, ids in rows], [lab for lab, _ in rows],
                                         max_items=max_items)
    return batches


def train_scorer(feats: PhotoFeatures, batches: dict, *, epochs: int = 30, seed: int = 0, patience: int = PATIENCE,
                 progress: bool = True) -> tuple:
    """A pairwise scorer over the photo groups, trained on ``batches["train"]`` (see :func:`~xfashion.training.fit`).

    Training keeps the weights of the epoch with the highest validation AUC (the first, on a tie) and
    stops ``patience`` epochs after it, or after ``epochs``.

    Returns
    -------
    (model, history, best_epoch): ``history`` has one dict per epoch run (train_loss, val_loss,
    val_auc, val_accuracy); the model holds the weights of epoch ``best_epoch`` (counted from 1).
    """
    check_count(epochs, "epochs")
    with seeded(seed):
        model = PairwiseSetScorer(feats.groups)
    history, best_epoch, _ = fit(model, batches["train"], batches["valid"], epochs=epochs, seed=seed,
                                 patience=patience, progress=progress, desc="polyvore scorer")
    return model, history, best_epoch


def compatibility_metrics(model, data: PolyvoreData, feats: PhotoFeatures, test: OutfitBatch,
                          backbone: str) -> tuple:
    """Test AUC and FITB accuracy as a table (with the published figures next to real data only).

    Returns
    -------
    (metrics, values): ``metrics`` is the table; ``values`` holds test_auc, fitb_accuracy, n_fitb and
    fixture (whether ``data`` is a generated fixture).
    """
    auc = roc_auc(score(model, test), test.label)
    fitb, n_fitb = fitb_accuracy_polyvore(model, data, feats)
    # published numbers are on the real data: next to a fixture's scores they would read as a comparison
    fixture = not data.is_real
    version = data.version
    ours = pd.DataFrame({"auc": [auc], "fitb_accuracy": [fitb],
                         "data": ["generated fixture" if fixture else f"Polyvore Outfits ({version})"]},
                        index=[f"xfashion pairwise scorer ({version}, {backbone})"])
    metrics = ours if fixture else pd.concat([ours, PUBLISHED.assign(data="Polyvore Outfits (published)")])
    return metrics, {"test_auc": auc, "fitb_accuracy": fitb, "n_fitb": n_fitb, "fixture": fixture}


def swap_detection(model, cases, feats: PhotoFeatures,
                   methods=("ifiv", "integrated_gradients", "feature_ablation", "random")) -> pd.DataFrame:
    """Methods x swap-test metrics (item_top1, cell_top1, mrr, ms_per_outfit) on ``cases``, rounded to 3 places.

    Empty when there is no case (see :func:`swap_note`).
    """
    means = dataset_means(feats.tables)
    rows = {}
    if len(cases):
        # the loop of the Fashion-MNIST swap test, every case for every method; each swap-test metric its mean
        for run in score_methods(model, cases, methods, "swap test",
                                 lambda scorer, sub, m: attribute(scorer, sub.batch, m, means=means)):
            rows[run.method] = {**{metric.name: metric.compute(run.scores)
                                   for metric in metrics_of("swap test", per_case=True)},
                                "ms_per_outfit": run.attr.ms_per_outfit}
    return pd.DataFrame(rows).T.round(3)


def named_items(model, cases, feats: PhotoFeatures,
                methods=("ifiv", "integrated_gradients", "feature_ablation")) -> pd.DataFrame:
    """The item each method blames most in each swap case: the lowest attribution summed over groups.

    Returns
    -------
    DataFrame, one row per case: ``swapped`` (the swapped item's position), ``kind``, and per method the
    position of the item it names (the first one on a tie; item top-1 splits the credit of a tie instead).
    """
    means = dataset_means(feats.tables)
    named = {"swapped": np.asarray(cases.position), "kind": np.asarray(cases.kind)}
    for m in methods:
        attr = attribute(model, cases.batch, m, means=means)
        named[m] = attr.values.sum(-1).masked_fill(~attr.mask, float("inf")).argmin(1).numpy()
    return pd.DataFrame(named)


def fixture_swaps(data: PolyvoreData, feats: PhotoFeatures, cases) -> pd.DataFrame:
    """On a generated fixture, the colours behind each swap case (the fixture's titles name them).

    Returns
    -------
    DataFrame, one row per case: ``kind``, ``swapped`` (position), ``was`` and ``donor`` (the colour
    names of the swapped item and of the item the swap took its features from) and ``adds_chromatic``
    (a neutral item took a chromatic donor's features: the outfit gains a second chromatic item).

    Raises
    ------
    ValueError
        When ``data`` is not a generated fixture (real titles name no palette colour).
    """
    if data.is_real:
        raise ValueError(f"{data.root} is not a generated fixture: its titles name no palette colour.")
    meta = json.loads((data.root / "polyvore_item_metadata.json").read_text())
    item_of = {row: item for item, row in feats.index.items()}
    chromatic = {c.name: bool(c.chromatic) for c in PALETTE}
    rows = np.arange(len(cases))
    colour = {key: [meta[item_of[int(r)]]["title"].split()[0] for r in ids[rows, cases.position]]
              for key, ids in (("was", cases.original), ("donor", cases.items))}
    return pd.DataFrame({"kind": np.asarray(cases.kind), "swapped": np.asarray(cases.position), **colour,
                         "adds_chromatic": [not chromatic[w] and chromatic[d]
                                            for w, d in zip(colour["was"], colour["donor"])]})


def swap_note(cases, margin: float) -> str:
    """Why the swap test has no case ("" when it has some)."""
    if cases.n_good == 0:
        return "the trained model scores no test outfit as good, so there is no good outfit to swap in"
    if not len(cases):
        return f"no swap lowered a good outfit's score by the margin {margin}; lower --margin"
    return ""


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
                 use_cache: bool = True, accessories: bool = False) -> PolyvoreReport:
    """Load -> photo features -> train the pairwise scorer on compatibility -> AUC, FITB -> swap evaluation.

    The stages, in order: :func:`load_polyvore`, :func:`extract_photo_features`, :func:`split_batches`,
    :func:`train_scorer`, :func:`compatibility_metrics`, :func:`feature_swap_cases` on the test batch,
    :func:`swap_detection` (chapter 09 calls them one by one). ``accessories`` keeps jewellery, hats
    and the like in the outfits, in a slot of their own.

    When the trained model scores no test outfit as good, or no swap lowers a score by ``margin``, the
    detection table is empty and ``summary["swap_note"]`` says why.
    """
    check_margin(margin)  # before the features and the training, not after them
    check_count(epochs, "epochs")
    start = time.perf_counter()
    data = load_polyvore(root, version, accessories=accessories)
    feats = extract_photo_features(data, backbone=backbone, image_size=image_size, use_cache=use_cache,
                                   progress=progress)
    batches = split_batches(data, feats)
    model, history, best_epoch = train_scorer(feats, batches, epochs=epochs, seed=seed, progress=progress)
    metrics, values = compatibility_metrics(model, data, feats, batches["test"], backbone)
    cases = feature_swap_cases(model, batches["test"], feats.tables, margin, seed)
    detection = swap_detection(model, cases, feats, methods)
    summary = {"swap_note": swap_note(cases, margin), "version": version, "fixture": values["fixture"],
               "backbone": backbone, "test_auc": values["test_auc"],
               "accessories": accessories,
               "fitb_accuracy": values["fitb_accuracy"],
               "n_fitb": values["n_fitb"],
               "n_items": len(feats.index), "unreadable_images": feats.unreadable,
               "images_per_second": feats.images_per_second, "features_cached": feats.cached,
               "epochs": len(history), "best_epoch": best_epoch, "n_swap_cases": len(cases),
               "n_swap_candidates": sum(v["proposed"] for v in cases.candidates.values()),
               "detection": detection.to_dict(orient="index"),
               "seconds": time.perf_counter() - start}
    return PolyvoreReport(data, feats, model, metrics, detection, history, summary)
