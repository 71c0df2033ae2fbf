"""Training and judging outfit scorers (chapter 03): early stopping with cached checkpoints, AUC, FITB,
per-rule accuracy and the random baseline. The models themselves are in :mod:`xfashion.scorer`.
"""
from __future__ import annotations

import copy
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm

from .cache import Cache
from .cnn import TRAINING_CODE as CNN_CODE
from .data import GARMENT_SLOTS, SLOTS, Catalog
from .features import ItemFeatures, catalog_key
from .outfits import MAX_ITEMS, OutfitBatch, OutfitSet, make_batch
from .rules import DEFAULT_RULES, violations
from .scorer import DEFAULT_ACTIVATION, MODELS, check_activation, feature_batch, score
from .utils import check_count, resolve_device, seeded, size, stop_early


def roc_auc(scores, labels) -> float:
    """Area under the ROC curve (Mann-Whitney statistic, ties count one half)."""
    s, y = np.asarray(scores, dtype=float), np.asarray(labels) > 0.5
    if y.all() or (~y).all():
        raise ValueError("ROC AUC needs both good and bad outfits.")
    ranks = pd.Series(s).rank(method="average").to_numpy()
    n_pos, n_neg = y.sum(), (~y).sum()
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@dataclass
class TrainResult:
    """A trained scorer with its per-epoch history and configuration."""

    model: nn.Module
    history: list
    config: dict
    seconds: float
    best_epoch: int
    cached: bool = False
    shipped: bool = False  # the book's weights from data/weights/
    n_parameters: int = field(init=False)

    def __post_init__(self):
        self.n_parameters = sum(p.numel() for p in self.model.parameters())


# the code a trained scorer depends on (digested into its cache key and the shipped manifest): its own,
# and the code that made its features (which the key already holds through feats.key), so that the
# manifest check sees any upstream change
TRAINING_CODE = (sys.modules[__name__], sys.modules[score.__module__], sys.modules[make_batch.__module__],
                 sys.modules[ItemFeatures.__module__], Catalog, *CNN_CODE)


def train_scorer(catalog: Catalog, splits: dict, feats: ItemFeatures, *, kind: str = "pairwise",
                 hidden: int = 64, epochs: int | None = None, batch_size: int = 128, lr: float = 2e-3,
                 weight_decay: float = 1e-4, patience: int = 6, seed: int = 0, activation: str = DEFAULT_ACTIVATION,
                 label_smoothing: float = 0.0, use_cache: bool = True, pretrained: bool | None = None,
                 device=None, progress: bool = True) -> TrainResult:
    """Train a scorer on the train split with validation-AUC early stopping (cached by configuration).

    Parameters
    ----------
    kind : {'pairwise', 'meanpool', 'additive'}
    epochs : int, optional
        Most epochs (default 40; 15 in small-data mode); training stops after ``patience``
        epochs without a better validation AUC and keeps the best weights.
    activation : {'relu', 'silu', 'softplus'}
        The hidden units' nonlinearity.
    label_smoothing : float in [0, 0.5)
        Train on targets ``y (1 - e) + e / 2``: a confident model need not push logits to extremes.
    use_cache : bool
        Load weights shipped or cached under this configuration when present (False: train now).
    pretrained : bool, optional
        Look for the book's weights in ``data/weights/`` first (default: on unless
        ``XFASHION_PRETRAINED=0``).
    device : str or torch.device, optional
        Where to train (default :func:`~xfashion.utils.resolve_device`); the model returns on the CPU.
    """
    check_count(batch_size, "batch_size")
    if epochs is not None:
        check_count(epochs, "epochs")
    if kind not in MODELS:
        raise ValueError(f"Unknown scorer kind {kind!r}; choose from {sorted(MODELS)}.")
    check_activation(activation)
    if isinstance(label_smoothing, bool) or not isinstance(label_smoothing, (int, float)) \
            or not 0 <= label_smoothing < 0.5:
        raise ValueError(f"label_smoothing must be a number in [0, 0.5); got {label_smoothing!r}.")
    epochs = epochs or size("scorer_epochs")
    for name in ("train", "val"):
        if name not in splits:
            raise ValueError(f"train_scorer needs a {name!r} split; got splits {sorted(splits)}.")
    config = {"kind": kind, "hidden": hidden, "epochs": epochs, "batch_size": batch_size, "lr": lr,
              "weight_decay": weight_decay, "patience": patience, "seed": seed}
    # only non-default design choices enter the key, so the default scorer's cache stays valid
    config.update({k: v for k, v in (("activation", activation), ("label_smoothing", label_smoothing))
                   if v != {"activation": DEFAULT_ACTIVATION, "label_smoothing": 0.0}[k]})
    # labels are inputs too: the same outfits with noisy labels train another model. The features enter
    # by provenance (feats.key: catalog, CNN, extraction code), not by their float values, which differ
    # between CPUs in the last bits: every machine then finds the book's shipped weights
    data = [catalog_key(catalog), feats.key or feats.tables] + [(splits[k].items, splits[k].label)
                                                                for k in ("train", "val")]
    cache = Cache(f"scorer-{kind}", config, inputs=data, code=TRAINING_CODE, shippable=True)
    config["key"] = cache.key
    with seeded(seed):  # initial weights depend on the seed alone
        model = MODELS[kind](feats.groups, hidden, activation=activation)
    saved = cache.load(pretrained) if use_cache else None
    if saved is not None:
        model.load_state_dict(saved["state"])
        model.eval()
        return TrainResult(model, saved["history"], config, saved["seconds"], saved["best_epoch"], cached=True,
                           shipped=cache.source == "shipped")
    train = feature_batch(catalog, splits["train"], feats)
    val = feature_batch(catalog, splits["val"], feats)
    history, best_epoch, seconds = fit(model, train, val, epochs=epochs, batch_size=batch_size, lr=lr,
                                       weight_decay=weight_decay, patience=patience, seed=seed, progress=progress,
                                       desc=f"{kind} scorer", label_smoothing=label_smoothing, device=device)
    cache.save({"state": model.state_dict(), "history": history, "seconds": seconds, "best_epoch": best_epoch})
    return TrainResult(model, history, config, seconds, best_epoch)


def fit(model: nn.Module, train: OutfitBatch, val: OutfitBatch, *, epochs: int = 40, batch_size: int = 128,
        lr: float = 2e-3, weight_decay: float = 1e-4, patience: int = 6, seed: int = 0, progress: bool = True,
        desc: str = "scorer", label_smoothing: float = 0.0, device=None) -> tuple:
    """Train ``model`` in place on a feature batch with validation-AUC early stopping.

    It trains on ``device`` (default :func:`~xfashion.utils.resolve_device`) and ends on the CPU.

    Returns
    -------
    (history, best_epoch, seconds); the model keeps the best validation weights.
    """
    dev = resolve_device(device)
    model.to(dev)
    train, val = train.to(dev), val.to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(seed)
    history, best, best_auc, best_epoch, waited = [], None, -1.0, 0, 0
    start = time.perf_counter()
    bar = tqdm(total=epochs, desc=desc, disable=not progress)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(train), generator=gen)
        total = 0.0
        for i in range(0, len(train), batch_size):
            idx = order[i:i + batch_size]
            logits = model({g: v[idx] for g, v in train.features.items()}, train.slot[idx], train.mask[idx])
            target = train.label[idx]
            if label_smoothing:
                target = target * (1 - label_smoothing) + label_smoothing / 2
            loss = F.binary_cross_entropy_with_logits(logits, target)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        val_logits = score(model, val)
        val_loss = F.binary_cross_entropy_with_logits(val_logits, val.label.cpu()).item()
        val_auc = roc_auc(val_logits, val.label.cpu())
        val_acc = float(((val_logits > 0).float() == val.label.cpu()).float().mean())
        history.append({"epoch": epoch + 1, "train_loss": total / len(train), "val_loss": val_loss,
                        "val_auc": val_auc, "val_accuracy": val_acc})
        bar.update(1)
        bar.set_postfix(val_auc=f"{val_auc:.3f}")
        if val_auc > best_auc:
            best_auc, best, best_epoch, waited = val_auc, copy.deepcopy(model.state_dict()), epoch + 1, 0
        else:
            waited += 1
            if waited >= patience:
                stop_early(bar, epoch + 1, f"validation AUC no better for {patience} epochs "
                                           f"(best {best_auc:.3f} at epoch {best_epoch})")
                break
    bar.close()
    model.load_state_dict(best)
    model.cpu().eval()
    return history, best_epoch, time.perf_counter() - start


# ----------------------------------------------------------------------------- metrics
class RandomScorer(nn.Module):
    """A scorer that ignores its input (a seeded random logit per outfit): the chance baseline."""

    def __init__(self, seed: int = 0):
        super().__init__()
        self.seed = seed

    def forward(self, features, slot, mask):
        gen = torch.Generator().manual_seed(self.seed + int(slot.sum()) + mask.shape[0])
        return torch.randn(mask.shape[0], generator=gen)


def fitb_questions(catalog: Catalog, outfits: OutfitSet, n: int | None = None, n_candidates: int = 4,
                   seed: int = 0, rules=DEFAULT_RULES) -> list:
    """Fill-in-the-blank questions from good outfits.

    One item is removed; the candidates are the removed item and ``n_candidates - 1`` items of
    the same slot (same split) that the oracle says make the outfit bad.

    Returns
    -------
    list of (items with the blank filled by each candidate, shape (n_candidates, 5), answer index)
    """
    if n is not None:
        check_count(n, "n")
    rng = np.random.default_rng(seed)
    cat, col, busy = catalog.category, catalog.color, catalog.busy
    good = np.flatnonzero(outfits.oracle_label > 0)
    if n is not None:
        good = good[:n]
    questions = []
    for o in good:
        ids = outfits.outfit(o)
        pos = rng.integers(len(ids))
        pool = np.flatnonzero((catalog.split == outfits.name) & (catalog.slot == catalog.slot[ids[pos]]))
        distractors = []
        for cand in rng.permutation(pool)[:200]:
            trial = ids.copy()
            trial[pos] = cand
            if cand != ids[pos] and violations(cat[trial], col[trial], busy[trial], rules):
                distractors.append(cand)
                if len(distractors) == n_candidates - 1:
                    break
        if len(distractors) < n_candidates - 1:
            continue
        answer = int(rng.integers(n_candidates))
        cands = distractors[:answer] + [ids[pos]] + distractors[answer:]
        rows = np.full((n_candidates, MAX_ITEMS), -1)
        for k, c in enumerate(cands):
            rows[k, : len(ids)] = ids
            rows[k, pos] = c
        questions.append((rows, answer))
    return questions


def fitb_accuracy(model: nn.Module, catalog: Catalog, feats: ItemFeatures, questions: list) -> float:
    """Share of fill-in-the-blank questions where the model scores the true item highest."""
    rows = np.concatenate([q[0] for q in questions])
    fake = OutfitSet("fitb", rows, np.zeros(len(rows)), np.zeros(len(rows)), np.zeros(len(rows)), [[]] * len(rows))
    logits = score(model, feature_batch(catalog, fake, feats)).reshape(len(questions), -1)
    answers = torch.tensor([q[1] for q in questions])
    return float((logits.argmax(1) == answers).float().mean())


def evaluate_scorer(model: nn.Module, catalog: Catalog, splits: dict, feats: ItemFeatures,
                    questions: list | None = None, split: str = "test", rules=DEFAULT_RULES) -> dict:
    """Test metrics: ROC AUC, accuracy, FITB accuracy, and accuracy per broken rule.

    ``rules`` is the stylist that labelled ``splits``; it draws the FITB questions unless ``questions`` are given.
    """
    outfits = splits[split]
    batch = feature_batch(catalog, outfits, feats)
    logits = score(model, batch)
    pred = (logits > 0).numpy()
    truth = outfits.oracle_label > 0
    if questions is None:
        questions = fitb_questions(catalog, outfits, n=size("fitb_questions"), rules=rules)
    per_rule = {"(good outfits)": float((pred[truth] == 1).mean())}
    for rule in rules.names:
        hit = np.array([rule in rs for rs in outfits.rules])
        if hit.any():
            per_rule[rule] = float((pred[hit] == 0).mean())
    return {"auc": roc_auc(logits, truth), "accuracy": float((pred == truth).mean()),
            "fitb_accuracy": fitb_accuracy(model, catalog, feats, questions), "n_fitb": len(questions),
            "per_rule_accuracy": per_rule, "logits": logits.numpy()}


def metrics_table(results: dict) -> pd.DataFrame:
    """Methods x metrics table (higher is better for all) from ``{name: evaluate_scorer(...)}``."""
    rows = {name: {"auc": r["auc"], "accuracy": r["accuracy"], "fitb_accuracy": r["fitb_accuracy"]}
            for name, r in results.items()}
    return pd.DataFrame(rows).T.round(3)


def per_rule_table(results: dict) -> pd.DataFrame:
    """Accuracy on good outfits and on bad outfits by the rule that made them bad."""
    return pd.DataFrame({name: r["per_rule_accuracy"] for name, r in results.items()}).round(3)


# ----------------------------------------------------------------------------- error analysis
OUTCOMES = ("true positive", "true negative", "false positive", "false negative")  # "good" is the positive class


def scorer_errors(catalog: Catalog, outfits: OutfitSet, logits, rules=DEFAULT_RULES) -> pd.DataFrame:
    """Each outfit's truth beside the scorer's verdict, with what the busy rule reads.

    Parameters
    ----------
    catalog : Catalog
    outfits : OutfitSet
    logits : array-like
        The scorer's logit per outfit (above zero: it calls the outfit good).
    rules : StylistRules
        The stylist that labelled ``outfits``.

    Returns
    -------
    DataFrame, one row per outfit (index: its position in ``outfits``)
        ``truth`` and ``verdict`` ("good" or "bad": the oracle's and the scorer's), ``outcome`` (one
        of :data:`OUTCOMES`; a false positive is a bad outfit called good), ``logit``, ``rules`` (the
        rules it breaks, comma-joined; empty for a good outfit), ``garments``, ``busy`` (its busy
        garments) and ``second_busiest``: the texture score of its second-busiest garment (the
        ``max_busy + 1``-th) divided by the busy threshold, so the outfit breaks busy_clash exactly
        when this is 1 or more (NaN with too few garments).
    """
    logits = np.asarray(logits, dtype=float).ravel()
    if len(logits) != len(outfits):
        raise ValueError(f"scorer_errors needs one logit per outfit: {len(logits)} logits for {len(outfits)} outfits.")
    items, mask = np.where(outfits.mask, outfits.items, 0), outfits.mask
    garment = mask & np.isin(catalog.slot[items], [SLOTS.index(s) for s in GARMENT_SLOTS])
    texture = np.sort(np.where(garment, catalog.texture[items], -np.inf), axis=1)[:, ::-1]
    k = rules.max_busy  # the garment whose being busy breaks the rule
    decisive = texture[:, k] / catalog.busy_threshold if k < texture.shape[1] else np.full(len(outfits), -np.inf)
    truth, verdict = outfits.oracle_label > 0, logits > 0
    outcome = np.where(truth, np.where(verdict, OUTCOMES[0], OUTCOMES[3]), np.where(verdict, OUTCOMES[2], OUTCOMES[1]))
    return pd.DataFrame({"truth": np.where(truth, "good", "bad"), "verdict": np.where(verdict, "good", "bad"),
                         "outcome": outcome, "logit": logits, "rules": [",".join(r) for r in outfits.rules],
                         "garments": garment.sum(1), "busy": (catalog.busy[items] & mask).sum(1),
                         "second_busiest": np.where(np.isfinite(decisive), decisive, np.nan)})


def errors_by_rule(errors: pd.DataFrame, rules=DEFAULT_RULES) -> pd.DataFrame:
    """Misjudged outfits counted by the rule they break (from :func:`scorer_errors`).

    A misjudged good outfit is a false negative; a misjudged bad one a false positive, counted
    under every rule it breaks.

    Returns
    -------
    DataFrame indexed by "(good outfits)" and each broken rule
        ``outfits``, ``misjudged``, ``error rate`` and ``mistake`` (false negative or false positive).
    """
    wrong = errors["truth"] != errors["verdict"]
    broken = errors["rules"].str.split(",")
    rows = {"(good outfits)": (errors["truth"] == "good", OUTCOMES[3])}
    rows.update({rule: (broken.apply(lambda r, rule=rule: rule in r), OUTCOMES[2]) for rule in rules.names})
    table = pd.DataFrame({name: {"outfits": int(hit.sum()), "misjudged": int((hit & wrong).sum()), "mistake": kind}
                          for name, (hit, kind) in rows.items() if hit.any()}).T
    table.insert(2, "error rate", (table["misjudged"] / table["outfits"]).astype(float).round(3))
    return table.astype({"outfits": int, "misjudged": int})


def most_confident(errors: pd.DataFrame) -> pd.Series:
    """The outfit the scorer is surest of (largest ``|logit|``) in each outcome present, in :data:`OUTCOMES` order."""
    sure = errors["logit"].abs().groupby(errors["outcome"]).idxmax()
    return sure.reindex([o for o in OUTCOMES if o in sure.index]).rename("outfit")


def busy_threshold_distance(errors: pd.DataFrame) -> pd.DataFrame:
    """How near the busy threshold the decisive garment lies, in misjudged outfits and in those judged right.

    The distance is ``|second_busiest - 1|`` (see :func:`scorer_errors`): 0.1 means a texture score
    10% under or over the threshold. Two groups of outfits where the busy rule decides the verdict:
    good outfits with two garments or more, and outfits that break busy_clash.

    Returns
    -------
    DataFrame indexed by "good outfits" and "busy clashes"
        For "judged right" and "misjudged": the number of outfits and their mean distance;
        ``difference`` (judged right minus misjudged: positive when the mistakes lie nearer the
        threshold) and its ``standard error``.
    """
    distance = (errors["second_busiest"] - 1).abs()
    wrong = errors["truth"] != errors["verdict"]
    groups = {"good outfits": (errors["truth"] == "good") & distance.notna(),
              "busy clashes": errors["rules"].str.split(",").apply(lambda r: "busy_clash" in r)}
    rows = {}
    for name, keep in groups.items():
        right, missed = distance[keep & ~wrong], distance[keep & wrong]
        spread = (right.var() / len(right) + missed.var() / len(missed)) ** 0.5 if min(len(right), len(missed)) > 1 \
            else np.nan
        rows[name] = {"judged right": len(right), "misjudged": len(missed), "distance, judged right": right.mean(),
                      "distance, misjudged": missed.mean(), "difference": right.mean() - missed.mean(),
                      "standard error": spread}
    return pd.DataFrame(rows).T.astype({"judged right": int, "misjudged": int})
