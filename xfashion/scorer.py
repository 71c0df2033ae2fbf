"""Outfit scorers: a permutation-invariant set model with pairwise interactions, baselines,
training with early stopping and cached checkpoints, metrics, and the pixel wrapper.
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

from .data import Catalog
from .features import DEFAULT_GROUPS, FeatureExtractor, ItemFeatures, catalog_key
from .groups import FeatureGroups
from .outfits import MAX_ITEMS, OutfitBatch, OutfitSet, check_outfit, make_batch
from .rules import DEFAULT_RULES, violations
from .utils import Cache, check_count, model_dtype, seeded, size


def check_batch(features: dict, slot: torch.Tensor, mask: torch.Tensor, groups: FeatureGroups,
                dtype: torch.dtype = torch.float32) -> None:
    """Raise a clear ValueError for batches a scorer cannot score (``dtype``: the scorer's own float type)."""
    if not isinstance(features, dict):
        raise ValueError(f"features must be a dict of group name -> tensor; got {type(features).__name__}.")
    for name, x in features.items():
        if not torch.is_tensor(x):
            raise ValueError(f"Feature group {name!r} must be a torch tensor; got {type(x).__name__}.")
        if name in groups.names and x.dtype != dtype:
            raise ValueError(f"Feature group {name!r} has dtype {x.dtype}, but the scorer computes in {dtype}; "
                             f"convert the features (.to({dtype})) or the scorer (.to(dtype)).")
    unknown = [g for g in features if g not in groups.names and g != "image"]
    if unknown:
        raise ValueError(f"Unknown feature group(s) {unknown}; the scorer's groups are {groups.names}.")
    groups.check(features)
    if not torch.is_tensor(mask) or mask.dim() != 2:
        raise ValueError(f"mask must be a (batch, items) tensor; got shape {tuple(getattr(mask, 'shape', ()))}.")
    if mask.shape[0] == 0:
        raise ValueError("The batch holds no outfit; pass at least one outfit.")
    if not torch.is_tensor(slot) or slot.dtype.is_floating_point:
        raise ValueError("slot must be an integer tensor of slot indices (batch, items).")
    if slot.shape == mask.shape and ((slot < 0) | (slot >= groups.context.size)).any():
        raise ValueError(f"slot indices must lie in 0-{groups.context.size - 1} "
                         f"({', '.join(groups.context.dim_names)}).")
    empty = (~mask.bool()).all(1)
    if empty.any():
        raise ValueError(f"Outfit(s) {torch.nonzero(empty).flatten().tolist()} have no real item (all padding); "
                         "an outfit needs at least one item.")
    for name, x in features.items():
        if x.shape[:2] != mask.shape:
            raise ValueError(f"Feature group {name!r} has batch shape {tuple(x.shape[:2])}, "
                             f"mask has {tuple(mask.shape)}.")
    if slot.shape != mask.shape:
        raise ValueError(f"slot has shape {tuple(slot.shape)}, mask has {tuple(mask.shape)}.")


# smooth activations keep gradients alive where ReLU units are switched off (chapter 06's design study)
ACTIVATIONS = {"relu": nn.ReLU, "silu": nn.SiLU, "softplus": nn.Softplus}
FLOOR = {"relu": 0.0, "silu": -0.279, "softplus": 0.0}  # at or below each activation's minimum
# SiLU, chosen on the validation split (chapter 06): IFIV found the swapped item far more often than with ReLU
DEFAULT_ACTIVATION = "silu"


def check_activation(activation: str) -> None:
    """Raise a ValueError naming the known activations unless ``activation`` is one."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation {activation!r}; choose from {sorted(ACTIVATIONS)}.")


class _Base(nn.Module):
    def __init__(self, groups: FeatureGroups, hidden: int, activation: str = DEFAULT_ACTIVATION):
        super().__init__()
        check_activation(activation)
        self.groups = groups
        self.activation = activation
        act = ACTIVATIONS[activation]
        in_dim = sum(groups.sizes) + groups.context.size
        self.item = nn.Sequential(nn.Linear(in_dim, hidden), act(), nn.Linear(hidden, hidden), act())

    def encode_items(self, features: dict, slot: torch.Tensor) -> torch.Tensor:
        x = torch.cat([features[g] for g in self.groups.names]
                      + [F.one_hot(slot.long(), self.groups.context.size).to(features[self.groups.names[0]].dtype)], -1)
        return self.item(x)

    def forward(self, features: dict, slot: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """One logit per outfit; ``mask`` (B, N) is True for real items."""
        check_batch(features, slot, mask, self.groups, model_dtype(self))
        return self._score(self.encode_items(features, slot), mask.bool())


class PairwiseSetScorer(_Base):
    """A permutation-invariant scorer with explicit pairwise interactions.

    Each item is encoded from its feature groups and slot. Every unordered pair of real items
    gets a symmetric interaction vector (from the sum and the product of their encodings),
    pooled by sum and max over pairs; item encodings are pooled by sum and mean. An MLP maps
    the pooled vector to the outfit logit. Padding is masked out everywhere, so the score
    depends only on the set of real items.
    """

    def __init__(self, groups: FeatureGroups = DEFAULT_GROUPS, hidden: int = 64, pair_hidden: int = 64,
                 activation: str = DEFAULT_ACTIVATION):
        super().__init__(groups, hidden, activation)
        act = ACTIVATIONS[activation]
        self.pair = nn.Sequential(nn.Linear(2 * hidden, pair_hidden), act(), nn.Linear(pair_hidden, pair_hidden), act())
        self.head = nn.Sequential(nn.Linear(2 * hidden + 2 * pair_hidden, hidden), act(), nn.Linear(hidden, 1))

    def _score(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n = h.shape[1]
        i, j = torch.triu_indices(n, n, offset=1, device=h.device)
        pair_mask = (mask[:, i] & mask[:, j]).unsqueeze(-1)
        pairs = self.pair(torch.cat([h[:, i] + h[:, j], h[:, i] * h[:, j]], -1))
        pair_sum = (pairs * pair_mask).sum(1)
        # padding takes the activation's lowest value, so the max is over real pairs (and constant with none)
        pair_max = torch.where(pair_mask, pairs, torch.full_like(pairs, FLOOR[self.activation])).amax(1)
        m = mask.unsqueeze(-1).to(h.dtype)
        item_sum = (h * m).sum(1)
        item_mean = item_sum / m.sum(1).clamp_min(1)
        return self.head(torch.cat([item_sum, item_mean, pair_sum, pair_max], -1)).squeeze(-1)


class MeanPoolScorer(_Base):
    """The no-interaction baseline: mean- and sum-pooled item encodings into an MLP (Deep Sets)."""

    def __init__(self, groups: FeatureGroups = DEFAULT_GROUPS, hidden: int = 64, activation: str = DEFAULT_ACTIVATION):
        super().__init__(groups, hidden, activation)
        self.head = nn.Sequential(nn.Linear(2 * hidden, hidden), ACTIVATIONS[activation](), nn.Linear(hidden, 1))

    def _score(self, h, mask):
        m = mask.unsqueeze(-1).to(h.dtype)
        s = (h * m).sum(1)
        return self.head(torch.cat([s, s / m.sum(1).clamp_min(1)], -1)).squeeze(-1)


MODELS = {"pairwise": PairwiseSetScorer, "meanpool": MeanPoolScorer}


class PixelScorer(nn.Module):
    """End to end: item images -> feature groups -> scorer, giving the same score.

    Pixel methods (Grad-CAM on the CNN's last conv layer, pixel IG) explain this module.
    """

    def __init__(self, extractor: FeatureExtractor, scorer: nn.Module):
        super().__init__()
        self.extractor = extractor
        self.scorer = scorer

    def forward(self, images, slot: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Logits for images shaped (B, N, 4, 28, 28), or an image batch's ``{"image": ...}`` dict."""
        if isinstance(images, dict):
            images = images["image"]
        feats = self.extractor(images)
        m = mask.unsqueeze(-1).to(images.dtype)
        return self.scorer({g: v * m for g, v in feats.items()}, slot, mask)


# ----------------------------------------------------------------------------- training
def feature_batch(catalog: Catalog, outfits: OutfitSet, feats: ItemFeatures, index=None) -> OutfitBatch:
    """A batch of outfits with their feature groups gathered from the item tables."""
    return make_batch(catalog, outfits, index, features=feats.tables)


def score(model: nn.Module, batch: OutfitBatch, chunk: int = 4096) -> torch.Tensor:
    """Logits for a whole batch without gradients (evaluation mode)."""
    check_count(chunk, "chunk")
    model.eval()
    with torch.no_grad():
        return torch.cat([model({g: v[i:i + chunk] for g, v in batch.features.items()}, batch.slot[i:i + chunk],
                                batch.mask[i:i + chunk]) for i in range(0, len(batch), chunk)])


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
    n_parameters: int = field(init=False)

    def __post_init__(self):
        self.n_parameters = sum(p.numel() for p in self.model.parameters())


def train_scorer(catalog: Catalog, splits: dict, feats: ItemFeatures, *, kind: str = "pairwise",
                 hidden: int = 64, epochs: int | None = None, batch_size: int = 128, lr: float = 2e-3,
                 weight_decay: float = 1e-4, patience: int = 6, seed: int = 0, activation: str = DEFAULT_ACTIVATION,
                 label_smoothing: float = 0.0, use_cache: bool = True, progress: bool = True) -> TrainResult:
    """Train a scorer on the train split with validation-AUC early stopping (cached by configuration).

    Parameters
    ----------
    kind : {'pairwise', 'meanpool'}
    epochs : int, optional
        Most epochs (default 40; 15 in small-data mode); training stops after ``patience``
        epochs without a better validation AUC and keeps the best weights.
    activation : {'relu', 'silu', 'softplus'}
        The hidden units' nonlinearity.
    label_smoothing : float in [0, 0.5)
        Train on targets ``y (1 - e) + e / 2``: a confident model need not push logits to extremes.
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
    # labels are inputs too: the same outfits with noisy labels train another model
    data = [catalog_key(catalog), feats.tables] + [(splits[k].items, splits[k].label) for k in ("train", "val")]
    cache = Cache(f"scorer-{kind}", config, inputs=data,
                  code=[sys.modules[__name__], sys.modules[make_batch.__module__]])
    config["key"] = cache.key
    with seeded(seed):  # initial weights depend on the seed alone
        model = MODELS[kind](feats.groups, hidden, activation=activation)
    saved = cache.load() if use_cache else None
    if saved is not None:
        model.load_state_dict(saved["state"])
        model.eval()
        return TrainResult(model, saved["history"], config, saved["seconds"], saved["best_epoch"], cached=True)
    train = feature_batch(catalog, splits["train"], feats)
    val = feature_batch(catalog, splits["val"], feats)
    history, best_epoch, seconds = fit(model, train, val, epochs=epochs, batch_size=batch_size, lr=lr,
                                       weight_decay=weight_decay, patience=patience, seed=seed, progress=progress,
                                       desc=f"{kind} scorer", label_smoothing=label_smoothing)
    cache.save({"state": model.state_dict(), "history": history, "seconds": seconds, "best_epoch": best_epoch})
    return TrainResult(model, history, config, seconds, best_epoch)


def fit(model: nn.Module, train: OutfitBatch, val: OutfitBatch, *, epochs: int = 40, batch_size: int = 128,
        lr: float = 2e-3, weight_decay: float = 1e-4, patience: int = 6, seed: int = 0, progress: bool = True,
        desc: str = "scorer", label_smoothing: float = 0.0) -> tuple:
    """Train ``model`` in place on a feature batch with validation-AUC early stopping.

    Returns
    -------
    (history, best_epoch, seconds); the model keeps the best validation weights.
    """
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
        val_loss = F.binary_cross_entropy_with_logits(val_logits, val.label).item()
        val_auc = roc_auc(val_logits, val.label)
        val_acc = float(((val_logits > 0).float() == val.label).float().mean())
        history.append({"epoch": epoch + 1, "train_loss": total / len(train), "val_loss": val_loss,
                        "val_auc": val_auc, "val_accuracy": val_acc})
        bar.update(1)
        bar.set_postfix(val_auc=f"{val_auc:.3f}")
        if val_auc > best_auc:
            best_auc, best, best_epoch, waited = val_auc, copy.deepcopy(model.state_dict()), epoch + 1, 0
        else:
            waited += 1
            if waited >= patience:
                # early stopping is success: a bar closed short of its total is drawn red in Jupyter
                bar.total = epoch + 1
                bar.refresh()
                bar.set_postfix(val_auc=f"{val_auc:.3f}", stopped="early")
                break
    bar.close()
    model.load_state_dict(best)
    model.eval()
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


def outfit_features(catalog: Catalog, feats: ItemFeatures, items, colors=None) -> OutfitBatch:
    """A one-outfit batch for arbitrary items; ``colors`` re-renders items (features recomputed).

    Parameters
    ----------
    items : sequence of int
        Catalog ids (validated: no empty outfit, no duplicate slot, known ids).
    colors : sequence of int, optional
        Palette index per item; items whose colour changes get fresh features from the
        extractor, so a colour swap is a real re-rendering, not an edit of the table.
    """
    items = check_outfit(catalog, items)
    tables = {g: t[items].clone() for g, t in feats.tables.items()}
    if colors is not None:
        colors = np.asarray(colors)
        changed = np.flatnonzero(colors != catalog.color[items])
        if changed.size:
            with torch.no_grad():
                fresh = feats.extractor(catalog.render(items[changed], colors[changed]))
            for g in tables:
                tables[g][changed] = fresh[g]
    n = len(items)
    pad = MAX_ITEMS - n
    features = {g: F.pad(t, (0, 0, 0, pad))[None] for g, t in tables.items()}
    mask = torch.zeros(1, MAX_ITEMS, dtype=torch.bool)
    mask[0, :n] = True
    slot = F.pad(torch.from_numpy(catalog.slot[items]), (0, pad))[None]
    ids = F.pad(torch.from_numpy(items), (0, pad), value=-1)[None]
    return OutfitBatch(features, slot, mask, torch.zeros(1), ids)


def score_outfit(model: nn.Module, catalog: Catalog, feats: ItemFeatures, items, colors=None) -> float:
    """The model's logit for one outfit (optionally with re-coloured items)."""
    return float(score(model, outfit_features(catalog, feats, items, colors))[0])
