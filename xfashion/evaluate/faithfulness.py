"""A second family of metrics from Quantus, at the (item, group) level the explanations live at (chapter 07).

Quantus (Hedström et al., 2023) evaluates an explanation by perturbing the input where the
explanation points. Our explanations are not over pixels or feature dimensions but over
*players*, the (item, group) cells of an outfit, so Quantus sees each outfit through
:class:`PlayerModel`: its input is a presence vector ``z`` of shape (outfits, 1, items x groups);
a player at 1 keeps the outfit's own features, a player at 0 takes the dataset mean (the
reference of feature ablation and of the deletion curve). Outfits are handed to Quantus in groups
of equal size with their padding cut off, so every player is a real (item, group) cell: padding
is never perturbed, ranked or counted.

The model's two outputs are ``[logit, -logit]``; Quantus is asked about class 1, "bad", and given
the *negated* attributions (what makes the outfit bad), so "most relevant first" means "the
lowest IFIV first", as in the swap test.

Every metric runs on one group of outfits at once (``batch_size`` = the group), so the model knows
which outfit each row is. Quantus rejects 2-D inputs (it expects images), so the players carry a
channel axis of one. Quantus draws from NumPy's and torch's global generators: each call runs
under :func:`global_rng`, seeded from the call and restoring the caller's state afterwards.

Quantus is imported on first use, not with the package: it brings SciPy, scikit-learn and OpenCV
(about 1.5 s a kernel), and only chapters 06 and 07 measure with it.
"""
from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.metadata
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from ..explain import Attribution, attribute
from ..outfits import OutfitBatch
from ..utils import seeded
from .metrics import METRICS, CaseMetric, register_metric


def _quantus(module: str = ""):
    """``quantus`` (or its submodule ``module``), imported on first use."""
    return importlib.import_module("quantus" + (f".{module}" if module else ""))


# ----------------------------------------------------------------------------- upstream workarounds
def _trapezoid_auc(values, dx: int = 1, batched: bool = False) -> np.ndarray:
    """Quantus's ``calculate_auc`` with ``np.trapezoid`` in place of ``np.trapz``."""
    return np.trapezoid(np.array(values), dx=dx, axis=1 if batched else -1)


# Quantus 0.6.0's calculate_auc calls np.trapz, which NumPy 2.4 removed (deprecated since 2.0 in favour
# of np.trapezoid): PixelFlipping's area (return_auc_per_sample) fails with an AttributeError. So we ask
# PixelFlipping for its curves and take their area here, with Quantus's function where it works.
# tests/test_quantus.py fails once Quantus's own works again, so the workaround can go.
QUANTUS_TRAPZ_BROKEN = not hasattr(np, "trapz")
QUANTUS_VERSION = importlib.metadata.version("quantus")  # part of every cache key that holds Quantus's numbers


def calculate_auc(values, dx: int = 1, batched: bool = False) -> np.ndarray:
    """Area under curves: Quantus's ``calculate_auc``, or its ``np.trapezoid`` twin where NumPy broke it."""
    auc = _trapezoid_auc if QUANTUS_TRAPZ_BROKEN else _quantus("helpers.utils").calculate_auc
    return auc(values, dx=dx, batched=batched)


# Quantus 0.6.0's assert_attributions refuses a batch whose attributions are all negative, all zero or
# all equal: a guard for heat maps, but a signed explanation of a few outfits can be all negative (every
# cell pushes towards "good") and a method can return zeros where it sees no gradient. Inside our calls
# those value checks are skipped (the shape checks still run); metrics that cannot use such values give
# NaN for those outfits. tests/test_quantus.py fails once Quantus accepts such batches itself.
QUANTUS_VALUE_CHECKS = ("all be less than zero", "all equal to zero", "all equal to one", "uniformly distributed")


@contextlib.contextmanager
def signed_attributions():
    """Within the block, Quantus accepts attributions whose values are all negative, zero or equal."""
    quantus_asserts = _quantus("helpers.asserts")
    original = quantus_asserts.assert_attributions

    def lenient(x_batch, a_batch):
        try:
            original(x_batch=x_batch, a_batch=a_batch)
        except AssertionError as err:
            if not any(text in str(err) for text in QUANTUS_VALUE_CHECKS):
                raise

    quantus_asserts.assert_attributions = lenient
    try:
        yield
    finally:
        quantus_asserts.assert_attributions = original


def global_rng(seed: int):
    """Seed NumPy's and torch's global generators for a block, then restore the caller's state.

    Quantus draws its random subsets with ``np.random`` and seeds ``torch.manual_seed`` itself
    when it randomises layers (MPRT): without this, a metric would depend on what ran before it
    and would change what runs after it.
    """
    return seeded(seed, numpy=True)


# ----------------------------------------------------------------------------- the model Quantus sees
class PlayerModel(nn.Module):
    """The scorer as a function of which (item, group) players are present, for one fixed batch of outfits.

    Parameters
    ----------
    scorer : nn.Module
        ``scorer(features, slot, mask) -> logits``.
    batch : OutfitBatch
        The outfits (B of them); every call must pass exactly B rows, one per outfit, in order.
    means : dict
        Dataset mean per group: the value of an absent player.
    groups : list of str
    """

    def __init__(self, scorer: nn.Module, batch: OutfitBatch, means: dict, groups: list):
        super().__init__()
        self.scorer, self.batch, self.means, self.groups = scorer, batch, means, list(groups)

    @property
    def n_players(self) -> int:
        return self.batch.mask.shape[1] * len(self.groups)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        B, N = self.batch.mask.shape  # a batch of equal-size outfits without padding (see real_items)
        if z.shape[0] != B:
            raise ValueError(f"PlayerModel is bound to {B} outfits and got {z.shape[0]} rows; call the Quantus "
                             f"metric with batch_size={B} (xfashion.evaluate.faithfulness does).")
        z = z.reshape(B, N, len(self.groups)).to(self.batch.features[self.groups[0]].dtype)
        mask = self.batch.mask[..., None]
        feats = dict(self.batch.features)
        for k, g in enumerate(self.groups):
            x, keep = self.batch.features[g], z[..., k:k + 1]
            feats[g] = (keep * x + (1 - keep) * self.means[g].to(x.dtype)) * mask
        logit = self.scorer(feats, self.batch.slot, self.batch.mask)
        return torch.stack([logit, -logit], -1)


def players(values: torch.Tensor) -> np.ndarray:
    """(B, N, G) attributions of the good logit as Quantus's (B, 1, N x G) attributions of the bad class."""
    return -values.detach().reshape(len(values), 1, -1).double().numpy()


def real_items(batch: OutfitBatch, rows: np.ndarray, n: int) -> OutfitBatch:
    """Outfits ``rows`` of ``batch`` (each with ``n`` real items, first) cut to those items: no padding left."""
    part = batch.take(torch.as_tensor(rows))
    if not bool(part.mask[:, :n].all()) or bool(part.mask[:, n:].any()):
        raise ValueError("real_items expects each outfit's real items first and then padding.")
    cut = {g: v[:, :n] for g, v in part.features.items()}
    return dataclasses.replace(part, features=cut, slot=part.slot[:, :n], mask=part.mask[:, :n],
                               items=part.items[:, :n])


# ----------------------------------------------------------------------------- the metrics
def absolute_spearman(a: np.ndarray, b: np.ndarray, batched: bool = False, **kwargs):
    """|Spearman correlation| of two explanations: MPRT's similarity as Adebayo et al. (2018) read it.

    Quantus's default similarity is the signed correlation, and its MPRT declares "lower is better"; an
    explanation that flips sign under randomisation (correlation -0.4) is then "better" than one that
    changes completely (0). The absolute value measures how much of the explanation survives.
    """
    return np.abs(_quantus("functions.similarity_func").correlation_spearman(a, b, batched=batched, **kwargs))


@dataclass(frozen=True)
class QuantusMetric(CaseMetric):
    """One Quantus metric as we use it: its class's name and our settings, its family, what it measures
    and its direction (as Quantus's ``score_direction`` declares it: tests/test_quantus.py checks that).

    Called like every :class:`~xfashion.evaluate.metrics.CaseMetric`, ``metric(attr, cases, model=...,
    means=..., options=..., seed=...)``; :func:`quantus_scores` runs several at once on the same outfits.

    Attributes
    ----------
    cls_name : str
        The Quantus class (``"PixelFlipping"``).
    settings : dict
        Its keyword arguments; a string value that names one of :data:`FUNCTIONS` is that function
        (settings stay plain data, so they can key caches).
    reexplains : bool
        Whether it explains the model again (MPRT: once per randomised layer) through the method.
    """

    granularity: str = "item_feature"
    cls_name: str = ""
    settings: dict = field(default_factory=dict)
    reexplains: bool = False

    @property
    def cls(self) -> type:
        """Quantus's class (imports Quantus)."""
        return getattr(_quantus(), self.cls_name)

    def __call__(self, attr, cases, *, model, means, options=None, seed: int = 0, **context) -> np.ndarray:
        return quantus_scores(model, cases.batch, attr, means, options=options, metrics=[self.name],
                              seed=seed)[self.name].to_numpy()

    def score_group(self, model, x, y, a, explain, seed: int) -> tuple:
        """Per-outfit scores of one group of equal-size outfits (and a curve, for metrics that have one)."""
        settings = {k: FUNCTIONS.get(v, v) if isinstance(v, str) else v for k, v in self.settings.items()}
        with global_rng(seed), signed_attributions(), warnings.catch_warnings():
            # Quantus warns about its own defaults on every call (e.g. how MPRT's layer order is read); the
            # settings above are chosen, so its reminders are not news here
            warnings.simplefilter("ignore")
            seeds = {"seed": seed} if self.reexplains else {}  # MPRT seeds its layer re-initialisation itself
            metric = self.cls(disable_warnings=True, display_progressbar=False, **settings, **seeds)
            # MPRT compares the explanation of the trained scorer with its re-explanations: both from explain()
            result = metric(model=model, x_batch=x, y_batch=y, a_batch=explain(model, x, y) if self.reexplains else a,
                            channel_first=True, softmax=False, batch_size=len(x), device="cpu",
                            explain_func=explain if self.reexplains else None)
        return self.finish(np.asarray(result, dtype=float), model)

    def finish(self, result: np.ndarray, model) -> tuple:
        """``(per-outfit scores, curve or None)`` from what Quantus returned."""
        return result.reshape(len(result)), None


@dataclass(frozen=True)
class QuantusDeletion(QuantusMetric):
    """Pixel flipping: Quantus returns each outfit's curve; the score is its area, and the mean curve
    (with the unperturbed start) is kept for the deletion plot."""

    def finish(self, result: np.ndarray, model) -> tuple:
        with torch.no_grad():
            start = model(torch.ones(len(result), 1, model.n_players))[:, 1].double().numpy()  # nothing replaced yet
        return calculate_auc(result, batched=True), np.concatenate([[start.mean()], result.mean(0)])


# settings that name a function of ours (kept as a name, so settings stay plain data for cache keys)
FUNCTIONS = {"absolute_spearman": absolute_spearman}

# Settings fit 10 players per outfit: subsets of 2 players, one player per deletion step.
# normalise=False keeps the values' scale, which Quantus would otherwise divide by the largest attribution.
QUANTUS_METRICS = {m.name: register_metric(m) for m in [
    QuantusMetric(
        "faithfulness_correlation", "higher",
        "Pearson correlation, over random pairs of players set to the mean, between their summed attribution "
        "and the drop of the 'bad' logit", "faithfulness", cls_name="FaithfulnessCorrelation",
        settings={"nr_runs": 50, "subset_size": 2, "perturb_baseline": 0.0, "normalise": False,
                  "return_aggregate": False}),
    QuantusDeletion(
        "pixel_flipping", "lower",
        "area under the 'bad' logit while players are set to the mean, most blamed first (the deletion curve)",
        "faithfulness", cls_name="PixelFlipping",
        settings={"features_in_step": 1, "perturb_baseline": 0.0, "normalise": False}),
    QuantusMetric(
        "monotonicity_correlation", "higher",
        "Spearman correlation between each player's attribution and the variance its removal causes",
        "faithfulness", cls_name="MonotonicityCorrelation",
        settings={"nr_samples": 5, "features_in_step": 1, "perturb_baseline": 0.0, "normalise": False}),
    QuantusMetric(
        "mprt", "lower",
        "model-parameter randomisation: absolute Spearman correlation between the explanation of the trained "
        "scorer and that of the scorer with every layer re-initialised; 0: the explanation changed completely, "
        "1: it ignores the weights (an explanation of the model should change)", "randomisation",
        cls_name="MPRT", reexplains=True,
        settings={"return_last_correlation": True, "layer_order": "top_down", "similarity_func": "absolute_spearman"}),
    QuantusMetric(
        "sparseness", "higher",
        "Gini index of the absolute attributions over the outfit's players (one complexity measure)", "complexity",
        cls_name="Sparseness", settings={"normalise": False, "abs": True}),
]}


def quantus_metrics() -> dict:
    """The registered Quantus metrics, name -> :class:`QuantusMetric` (the built-ins and any added since)."""
    return {name: m for name, m in METRICS.items() if isinstance(m, QuantusMetric)}


def direction(name: str) -> str:
    """'higher' or 'lower' is better, as Quantus declares it for the metric."""
    cls = QUANTUS_METRICS[name].cls
    return "higher" if cls.score_direction == _quantus("helpers.enums").ScoreDirection.HIGHER else "lower"


def quantus_scores(scorer: nn.Module, batch: OutfitBatch, attr: Attribution, means: dict, *,
                   options: dict | None = None, metrics=None, seed: int = 0) -> pd.DataFrame:
    """Quantus's metrics for one method's explanations of a batch of outfits, one row per outfit.

    Parameters
    ----------
    scorer : nn.Module
        The scorer the explanations are of.
    batch : OutfitBatch
        The explained outfits (with images when the method needs them, for MPRT's re-explanations).
    attr : Attribution
        The method's explanations of ``batch``; its ``method`` re-explains the randomised scorer (MPRT).
    means : dict
        Dataset means per group: an absent player's value.
    options : dict, optional
        The method's options (``**wb.options()``), used when MPRT re-explains.
    metrics : sequence of str, optional
        Names of registered Quantus metrics (default: all, :func:`quantus_metrics`).
    seed : int
        Seeds Quantus's random draws (and the method's, when it samples).
    """
    known = quantus_metrics()
    metrics = list(known) if metrics is None else list(metrics)
    unknown = [m for m in metrics if m not in known]
    if unknown:
        raise ValueError(f"Unknown Quantus metric(s) {unknown}; choose from {list(known)}.")
    sizes = batch.mask.sum(1).numpy()
    scores = pd.DataFrame(index=range(len(batch)), columns=metrics, dtype=float)
    curves = {}
    for n in np.unique(sizes):
        rows = np.flatnonzero(sizes == n)
        part = real_items(batch, rows, int(n))
        values = attr.values[torch.as_tensor(rows), : int(n)]
        for name, (per_outfit, curve) in _score_group(scorer, part, values, attr, means, options, metrics,
                                                     seed).items():
            scores.loc[rows, name] = per_outfit
            if curve is not None:
                curves[int(n)] = curve
    scores.attrs["curves"] = curves  # pixel flipping: the 'bad' logit after each step, per outfit size
    return scores


def _score_group(scorer, part: OutfitBatch, values, attr: Attribution, means, options, metrics, seed) -> dict:
    """Every metric on one group of equal-size outfits: ``{name: (per-outfit scores, mean curve or None)}``."""
    groups = list(attr.groups)
    model = PlayerModel(scorer, part, means, groups).eval()
    B = len(part)
    x = np.ones((B, 1, model.n_players), dtype=np.float64)
    y = np.ones(B, dtype=np.int64)  # class 1: "bad"
    a = players(values)
    opts = dict(options or {})
    if opts.get("baselines_sample") is not None:  # reference outfits are cut to the same items as the outfits
        opts["baselines_sample"] = {g: v[:, : part.mask.shape[1]] for g, v in opts["baselines_sample"].items()}

    def explain(model, inputs, targets, **_):
        # MPRT hands back a copy of the PlayerModel with layers of its scorer re-initialised
        again = attribute(model.scorer, model.batch, attr.method, groups=groups, seed=seed, **opts)
        return players(again.values)

    known = quantus_metrics()
    return {name: known[name].score_group(model, x, y, a, explain, seed) for name in metrics}
