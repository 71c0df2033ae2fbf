"""Check cells for the chapters' exercises (Neuromatch's pattern).

An exercise cell leaves ``...`` for the reader to fill in; the check cell after it calls
:func:`check`, which runs the reader's answer on inputs of its own, compares it with the package's
answer and prints ``correct`` or what is wrong. It never raises, so a chapter with unfilled
exercises still runs top to bottom; it returns whether the answer was right (the worked solutions
assert it).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import torch

from .cnn import color_normalised_grey
from .data import COLOR_NAMES, PALETTE, render
from .evaluate.metrics import detection_scores
from .evaluate.pairs import implied_pairs
from .explain import attribute
from .explain.base import Attribution
from .features import ColorHistogram
from .outfits import OutfitBatch, sample_outfits
from .rules import DEFAULT_RULES, StylistRules, hue_distance
from .scorer import score


class NotYet(Exception):
    """A check's verdict on a wrong answer: what is wrong, in a sentence."""


class _Unfilled(Exception):
    """The reader's function still returns ``...``."""


def _blank(out) -> bool:
    """Whether ``out`` is ``...`` or holds one (in a tuple, list, dict or dataclass field): a blank left."""
    if out is Ellipsis:
        return True
    if isinstance(out, dict):
        return any(_blank(v) for v in out.values())
    if isinstance(out, (list, tuple)):
        return any(_blank(v) for v in out)
    if dataclasses.is_dataclass(out) and not isinstance(out, type):
        return any(_blank(getattr(out, f.name)) for f in dataclasses.fields(out))
    return False


def _watched(answer):
    """The reader's function, raising :class:`_Unfilled` where its result still holds a ``...`` blank."""
    def call(*args, **kwargs):
        out = answer(*args, **kwargs)
        if _blank(out):
            raise _Unfilled
        return out
    return call


def _close(a, b, tol: float = 1e-5) -> bool:
    a, b = torch.as_tensor(np.asarray(a, dtype=np.float64)), torch.as_tensor(np.asarray(b, dtype=np.float64))
    return a.shape == b.shape and bool(torch.allclose(a, b, rtol=tol, atol=tol))


def _grey(answer, catalog, items=(0, 1, 2, 3, 4)):
    """01.2: the reader's colour-normalised grey image, against the CNN's input, in red and in blue."""
    for item in items:
        red, blue = (render(catalog.images[item], COLOR_NAMES.index(c)) for c in ("red", "blue"))
        mine = answer(red)
        if not torch.is_tensor(mine) or mine.shape != (28, 28):
            raise NotYet(f"normalised_grey should return a (28, 28) tensor; got {getattr(mine, 'shape', type(mine))}")
        if not _close(mine, color_normalised_grey(red), 1e-4):
            raise NotYet("the values differ from the CNN's input: luminance is 0.299 R + 0.587 G + 0.114 B, "
                         "divided by its mean over the garment (its sum over the sum of alpha)")
        if not _close(mine, answer(blue), 1e-4):
            raise NotYet("red and blue give different results")
    return "equal for red and blue, and equal to the CNN's input: the shape-texture group cannot see colour"


def _clash_free(answer, rules=DEFAULT_RULES):
    """01.4: a largest set of chromatic palette colours with no hue clash between any two of them."""
    from itertools import combinations

    hues = {name: c.hue for name, c in zip(COLOR_NAMES, PALETTE) if c.hue is not None}
    lo, hi = rules.hue_clash

    def free(names):
        return all(not lo <= hue_distance(hues[a], hues[b]) <= hi for a, b in combinations(names, 2))

    largest = next(k for k in range(len(hues), 0, -1) if any(free(s) for s in combinations(hues, k)))
    mine = answer()
    if isinstance(mine, str) or not all(isinstance(n, str) for n in mine):
        raise NotYet("clash_free() should return a list of colour names, e.g. ['red', 'teal']")
    mine = list(dict.fromkeys(mine))
    if not set(mine) <= set(hues):
        raise NotYet(f"{sorted(set(mine) - set(hues))}: not chromatic palette colours; they are {list(hues)}")
    clashing = [(a, b) for a, b in combinations(mine, 2) if lo <= hue_distance(hues[a], hues[b]) <= hi]
    if clashing:
        a, b = clashing[0]
        raise NotYet(f"{a} and {b} clash: their hues lie {hue_distance(hues[a], hues[b]):.0f} degrees apart")
    if len(mine) < largest:
        raise NotYet(f"no two of your {len(mine)} colours clash, but a larger set exists")
    sets = [" + ".join(s) for s in combinations(hues, largest) if free(s)]
    return (f"{largest} colours at most, in {len(sets)} ways ({'; '.join(sets)}): neighbours on the wheel and "
            "near-opposites pass, anything between clashes. The stylist's too-many-colours rule allows "
            f"{rules.max_chromatic} chromatic items" + (", so on this stylist that rule binds first"
                                                          if rules.max_chromatic < largest else ""))


def _small_share(answer, catalog, n: int = 2000):
    """01.1: the share of good outfits with at most three items, under the default and a one-colour stylist."""
    shares = []
    for rules in (DEFAULT_RULES, StylistRules(max_chromatic=1)):
        outfits = sample_outfits(catalog, "train", n, rules=rules)
        shares.append(float((outfits.mask[outfits.oracle_label > 0].sum(1) <= 3).mean()))
        mine = answer(outfits)
        if not _close(mine, shares[-1], 1e-9):
            raise NotYet(f"{mine!r} is not it: among the good outfits (oracle_label > 0), the share of 2 or 3 items")
    return (f"{shares[0]:.1%} of the good outfits hold 2 or 3 items, {shares[1]:.1%} under max_chromatic=1: "
            "about half the items are chromatic, so each extra item is one more chance of a second, which it forbids")


def _colour_blind(answer):
    """02.5: which of six encoders of a rendered item cannot see its colour."""
    weights = torch.tensor([0.299, 0.587, 0.114])[:, None, None]

    def lum(x):
        return (x[:, :3] * weights).sum(1)

    encoders = {  # name -> (encoder of (n, 4, 28, 28) items, colour-blind?)
        "the CNN's input (luminance over its garment mean)": (lambda x: color_normalised_grey(x).flatten(1), True),
        "plain luminance": (lambda x: lum(x).flatten(1), False),
        "luminance over its brightest pixel": (
            lambda x: (lum(x) / lum(x).flatten(1).amax(1).clamp_min(1e-6)[:, None, None]).flatten(1), True),
        "the garment's outline (alpha)": (lambda x: x[:, 3].flatten(1), True),
        "the colour histogram": (lambda x: ColorHistogram()(x), False),
        "the CNN's input beside 5% of the mean red": (
            lambda x: torch.cat([color_normalised_grey(x).flatten(1), 0.05 * x[:, 0].mean((1, 2))[:, None]], 1),
            False),
    }
    for name, (encode, blind) in encoders.items():
        mine = answer(encode)
        if not isinstance(mine, (bool, np.bool_)):
            raise NotYet(f"colour_blind should return True or False; got {type(mine).__name__}")
        if bool(mine) != blind:
            raise NotYet(f"{name}: your function says {'blind' if mine else 'it sees colour'}; it "
                         f"{'cannot' if blind else 'can'} see colour")
    return ("right on all six: blind are " + ", ".join(n for n, (_, b) in encoders.items() if b)
            + "; a tint multiplies every pixel's luminance by one number, which any ratio of luminances cancels")


def _white_gradient(answer, catalog, item=None):
    """02.2: the gradient of the white share of one white item's histogram with respect to its pixels."""
    item = int(np.flatnonzero(catalog.color == COLOR_NAMES.index("white"))[0]) if item is None else item
    norms = {}
    for tau in (5.0, 60.0, 600.0):
        rgba = catalog.render([item])[0].requires_grad_(True)
        ColorHistogram(tau)(rgba[None])[0, COLOR_NAMES.index("white")].backward()
        mine = answer(catalog.render([item])[0], tau)
        if not torch.is_tensor(mine) or mine.shape != rgba.shape:
            raise NotYet(f"white_gradient should return a tensor shaped like the image {tuple(rgba.shape)}")
        if not _close(mine, rgba.grad, 1e-4):
            raise NotYet(f"at tau={tau:g} the gradient differs from autograd's through xf.ColorHistogram(tau)")
        norms[tau] = float(rgba.grad.norm())
    return "gradient norms " + ", ".join(f"tau {t:g}: {n:.2e}" for t, n in norms.items())


def _busy_neighbours(answer, catalog, features, k: int = 10):
    """02.3: the share of busy shirts among each test shirt's k nearest shape-texture neighbours."""
    shirts = catalog.find(category="Shirt", split="test")
    emb, busy = features[shirts], torch.as_tensor(catalog.busy[shirts])
    near = torch.cdist(emb, emb).fill_diagonal_(float("inf")).topk(k, largest=False).indices
    truth, mine = busy[near].float().mean(1), answer(emb.clone(), busy.clone(), k)
    if not torch.is_tensor(mine) or not _close(mine, truth):
        raise NotYet(f"one share per shirt, shape ({len(shirts)},): of its {k} nearest other shirts (Euclidean), "
                     "the share that are busy")
    return (f"a busy shirt's {k} nearest neighbours are {truth[busy].mean():.0%} busy, a plain one's "
            f"{truth[~busy].mean():.0%}, against {busy.float().mean():.0%} of all {len(shirts):,} test shirts")


def _shuffle(answer, model, batch: OutfitBatch, seed: int = 0):
    """03.1: the reader's shuffle of a batch's items, and the scores before and after."""
    perm = torch.randperm(batch.mask.shape[1], generator=torch.Generator().manual_seed(seed))
    mine = answer(batch, perm)
    if not isinstance(mine, OutfitBatch):
        raise NotYet(f"shuffle should return an OutfitBatch; got {type(mine).__name__}")
    for name, x in batch.features.items():
        if not torch.equal(mine.features[name], x[:, perm]):
            raise NotYet(f"the {name!r} features are not permuted along the item axis (dim 1)")
    if not (torch.equal(mine.slot, batch.slot[:, perm]) and torch.equal(mine.mask, batch.mask[:, perm])):
        raise NotYet("slot and mask must follow the same permutation as the features")
    gap = float((score(model, mine) - score(model, batch)).abs().max())
    return f"the scores move by at most {gap:.1e} when the items are shuffled"


def _ifiv_mean(answer, model, batch: OutfitBatch, means: dict):
    """04.1: (x - mean) . gradient per group, against the package's ifiv_mean."""
    feats = {g: v.clone().requires_grad_(True) for g, v in batch.features.items()}
    model.eval()
    model(feats, batch.slot, batch.mask).sum().backward()
    truth = attribute(model, batch, "ifiv_mean", means=means)
    for k, g in enumerate(truth.groups):
        mine = answer(batch.features[g], feats[g].grad, means[g])
        if not torch.is_tensor(mine) or mine.shape != truth.values[..., k].shape:
            raise NotYet(f"ifiv_mean should return one value per item, shape {tuple(truth.values[..., k].shape)}")
        if not _close(mine * batch.mask, truth.values[..., k], 1e-4):
            raise NotYet(f"the {g!r} values differ from xf.attribute(..., 'ifiv_mean'): "
                         "sum (x - mean) * gradient over the group's dimensions")
    return "equal to the package's ifiv_mean"


def _colour_only(answer, outfits, rules=DEFAULT_RULES):
    """05.3: which outfits break colour rules only."""
    table = rules.describe()
    colour = set(table.rule[table.group == "color"])
    truth = np.array([bool(rs) and set(rs) <= colour for rs in outfits.rules])
    mine = np.asarray(answer(outfits))
    if mine.shape != truth.shape or mine.dtype != bool:
        raise NotYet(f"colour_only should return a boolean array with one entry per outfit, shape {truth.shape}")
    if not (mine == truth).all():
        raise NotYet(f"{int((mine != truth).sum())} outfits differ: keep outfits with at least one violation, "
                     f"all of them of colour rules ({', '.join(sorted(colour))})")
    return f"{int(truth.sum())} outfits break colour rules only"


def _no_sum_of_items(answer):
    """03.4: four two-item outfits (top and bottom, each red or green) that no sum of item scores can label."""
    labels = answer()
    keys = [(a, b) for a in ("red", "green") for b in ("red", "green")]
    if not isinstance(labels, dict) or sorted(labels) != sorted(keys) \
            or not all(isinstance(v, (bool, np.bool_)) for v in labels.values()):
        raise NotYet(f"labels() should return a dict of True (good) or False (bad) for each of {keys}")
    same, crossed = labels["red", "red"] == labels["green", "green"], labels["red", "green"] == labels["green", "red"]
    if not (same and crossed and labels["red", "red"] != labels["red", "green"]):
        # s(top) + s(bottom) > 0 exactly on the good outfits then has a solution: write one down
        raise NotYet("a scorer that adds one number per item can label these four: give the tops and bottoms "
                     "numbers by hand and check")
    return ("no sum of item scores gets all four: red+red and green+green add up the same four item scores as "
            "red+green and green+red, so both pairs cannot fall on opposite sides of zero. A clash lives in a pair")


def _misleading_slope(answer):
    """04.4: a score and a feature value where gradient x input and removing the feature disagree in sign."""
    f, x0 = answer()
    x = torch.tensor(float(x0), dtype=torch.float64, requires_grad=True)
    y = f(x)
    if not torch.is_tensor(y) or y.numel() != 1:
        raise NotYet("f should map a number (a 0-d tensor) to a number")
    (grad,) = torch.autograd.grad(y, x)
    ifiv = float(x0) * float(grad)
    removal = float(y.detach()) - float(f(torch.zeros((), dtype=torch.float64)).detach())
    if abs(ifiv) < 1e-3 or abs(removal) < 1e-3 or np.sign(ifiv) == np.sign(removal):
        raise NotYet(f"gradient x input is {ifiv:+.3f} and f(x) - f(0) is {removal:+.3f}: they must disagree in "
                     "sign, each at least 0.001 from zero")
    return (f"gradient x input says {ifiv:+.3f}, the feature's removal says {removal:+.3f}: the slope at x is a "
            "linear guess, and a curved score bends away from it before it reaches zero")


def _sensitive_not_culprit(answer):
    """05.4: a score of three items where Saliency's culprit (the most negative gradient) is not IFIV's."""
    s, x = answer()
    x = torch.as_tensor(x, dtype=torch.float64).clone().requires_grad_(True)
    if x.shape != (3,):
        raise NotYet(f"x should hold three item values, shape (3,); got {tuple(x.shape)}")
    (grad,) = torch.autograd.grad(s(x), x)
    saliency, ifiv = grad.detach(), (x * grad).detach()  # the book's Saliency keeps the gradient's sign
    top, culprit = int(saliency.argmin()), int(ifiv.argmin())
    if top == culprit or ifiv[culprit] >= 0:
        raise NotYet(f"Saliency's culprit (most negative gradient) is {top}, IFIV's (most negative x * gradient) is "
                     f"{culprit} with {float(ifiv[culprit]):+.3f}: they must differ, with a negative IFIV culprit")
    return (f"Saliency's culprit is item {top} (gradient {float(saliency[top]):+.2f}), IFIV's item {culprit} "
            f"({float(ifiv[culprit]):+.2f}): sensitivity asks what a small change would do, contribution what the "
            "item's value does")


def _item_top1(answer, seed: int = 0):
    """06.3: item top-1 from an attribution, where padding must never win."""
    gen = torch.Generator().manual_seed(seed)
    values = torch.randn(200, 5, 2, generator=gen)
    mask = torch.arange(5) < torch.randint(2, 6, (200, 1), generator=gen)
    values[~mask] = -100.0  # padding holds the lowest values: an answer that ignores the mask picks it
    swapped = (torch.rand(200, generator=gen) * mask.sum(1)).long()
    mine = answer(values, mask, swapped)
    if not isinstance(mine, (float, int)) and not (torch.is_tensor(mine) and mine.numel() == 1):
        raise NotYet("item_top1 should return one number, the share of cases")
    truth = detection_scores(Attribution(values, mask, "truth", ["color", "shape_texture"]), swapped,
                             ["item"] * len(swapped))["item_top1"].mean()  # the swap test's own metric
    if abs(float(mine) - truth) > 1e-6:
        raise NotYet("wrong share: sum the groups per item, keep real items only (mask), "
                     "and compare the lowest with swapped")
    return f"item top-1 {float(mine):.3f} on random values (about 1 / outfit size, as random is)"


def _chance_top1(answer, seed: int = 0):
    """06.4: the item top-1 of an explanation that ranks items at random, on cases of the given outfit sizes."""
    rng = np.random.default_rng(seed)
    for sizes in (np.full(10, 5), np.array([2, 5]), rng.integers(2, 6, 300)):
        mine = answer(sizes.copy())
        if not isinstance(mine, (float, int, np.floating)) and not (torch.is_tensor(mine) and mine.numel() == 1):
            raise NotYet("chance_top1 should return one number, the expected share of hits")
        if abs(float(mine) - float(np.mean(1 / sizes))) > 1e-9:
            raise NotYet(f"on outfits of sizes {sizes[:6].tolist()}{' ...' if len(sizes) > 6 else ''} your chance is "
                         f"{float(mine):.4f}: what is a random guess's chance of a hit on one case, and how do the "
                         "cases combine?")
    return ("chance is the mean of 1/n over the cases, not one over the mean size (0.35 on sizes 2 and 5, not "
            "0.29): small outfits are easy to guess, so a hit rate means little until chance on the same cases "
            "stands beside it")


def _kendall(answer, seed: int = 0):
    """07.3: Kendall's tau between two metrics' scores of the same methods."""
    from scipy.stats import kendalltau

    rng = np.random.default_rng(seed)
    for _ in range(5):
        a, b = rng.permutation(8).astype(float), rng.permutation(8).astype(float)
        if abs(float(answer(a, b)) - kendalltau(a, b).statistic) > 1e-9:
            raise NotYet("wrong tau: (concordant pairs - discordant pairs) / number of pairs")
    return "equal to scipy's Kendall's tau"


def _implied_pair(answer, seed: int = 0):
    """08.4: the pair an item method implies, its two lowest real items."""
    gen = torch.Generator().manual_seed(seed)
    values = torch.randn(100, 5, generator=gen)
    mask = torch.arange(5) < torch.randint(2, 6, (100, 1), generator=gen)
    values[~mask] = -100.0
    # the package's view of an item method as a pair method: its lowest pair is the two lowest items
    truth = implied_pairs(Attribution(values[..., None], mask, "truth", ["item"])).lowest()
    mine = torch.as_tensor(answer(values, mask))
    if mine.shape != truth.shape:
        raise NotYet(f"implied_pair should return one (i, j) per outfit, shape {tuple(truth.shape)}")
    if not torch.equal(mine.sort(1).values, truth):
        raise NotYet("wrong pairs: the two lowest values among the real items (padding never counts)")
    return "the two lowest real items, for every outfit"


def _shared(answer, data):
    """09.1: how many test items of the non-disjoint Polyvore split also appear in training outfits."""
    seen = {split: {i for _, ids in data.compatibility[split] for i in ids} for split in ("train", "test")}
    truth = len(seen["train"] & seen["test"])
    mine = answer(data)
    if isinstance(mine, bool) or not isinstance(mine, (int, np.integer)):
        raise NotYet(f"shared_items should return a whole number of items; got {mine!r}")
    if mine != truth:
        raise NotYet(f"{mine} is not it: count the distinct item ids in test outfits that also occur in training "
                     "outfits (data.compatibility[split] holds (label, item ids) rows)")
    return f"{truth} of {len(seen['test'])} test items also appear in training outfits"


def _basis(answer, seed: int = 0):
    """09.2: an orthogonal change of basis that keeps an item's gradient x input and flips a group's sign."""
    rng = np.random.default_rng(seed)
    for _ in range(20):
        x, grad = rng.normal(size=6), rng.normal(size=6)
        grad[:3] = np.abs(grad[:3]) * np.sign(x[:3])  # dimensions 0-2 raise the score, 3-5 lower it
        grad[3:] = -np.abs(grad[3:]) * np.sign(x[3:])
        R = np.asarray(answer(x.copy(), grad.copy()), dtype=float)
        if R.shape != (6, 6):
            raise NotYet(f"rotation should return a 6x6 matrix; got shape {R.shape}")
        if not np.allclose(R @ R.T, np.eye(6), atol=1e-6):
            raise NotYet("R is not orthogonal (R @ R.T is not the identity): a change of basis must keep lengths")
        before, after = x[:3] @ grad[:3], (R @ x)[:3] @ (R @ grad)[:3]
        if np.sign(after) == np.sign(before):
            raise NotYet(f"the group of dimensions 0-2 still has the sign it had ({before:+.2f} -> {after:+.2f})")
    return ("the item's value (x @ grad) is the same in every basis, a group of dimensions is not: without names, "
            "a group of an embedding's dimensions is a choice of basis, not a reason")


def _gini(values: np.ndarray) -> np.ndarray:
    """Gini index of each row's absolute values (Quantus's Sparseness, per outfit)."""
    a = np.sort(np.abs(values), axis=1)
    d = a.shape[1]
    return ((2 * np.arange(1, d + 1) - d - 1) * a).sum(1) / (d * a.sum(1))


def _sparseness_blind(answer, seed: int = 0):
    """07.4: explanations with each outfit's sparseness and total kept, and another culprit in every outfit."""
    values = np.random.default_rng(seed).normal(size=(200, 10))
    mine = np.asarray(answer(values.copy()), dtype=float)
    if mine.shape != values.shape:
        raise NotYet(f"return one row of player values per outfit, shape {values.shape}; got {mine.shape}")
    if not np.allclose(_gini(mine), _gini(values), atol=1e-9):
        raise NotYet("the sparseness changed: keep what the Gini index reads of the values")
    if not np.allclose(mine.sum(1), values.sum(1), atol=1e-9):
        raise NotYet("an outfit's total changed: keep what its values add up to (flipping signs flips it)")
    moved = np.argmin(mine, 1) != np.argmin(values, 1)
    if not moved.all():
        raise NotYet(f"in {int((~moved).sum())} of {len(values)} outfits the culprit is the same player")
    return ("same sparseness and total, another culprit in every one of 200 outfits: sparseness cannot tell a right "
            "explanation from a wrong one")


def _pair_game(answer):
    """08.5: a 3-item game whose lowest interaction is items 0 and 1 while the two lowest items are not."""
    full = (True, True, True)

    def s(*absent):
        return float(answer(tuple(k not in absent for k in range(3))))

    item = np.array([s() - s(i) for i in range(3)])  # feature ablation's item values
    pairs = {(i, j): s() - s(i) - s(j) + s(i, j) for i, j in ((0, 1), (0, 2), (1, 2))}
    if not np.isfinite([s(), *item, *pairs.values()]).all():
        raise NotYet(f"score(present) must return a number for every present pattern, e.g. {full}")
    low = min(pairs, key=pairs.get)
    if low != (0, 1) or sorted(pairs.values())[0] == sorted(pairs.values())[1]:
        raise NotYet("pair removal's lowest pair must be items 0 and 1, strictly: interactions "
                     + ", ".join(f"{p} {v:+.2f}" for p, v in pairs.items()))
    if item[2] >= max(item[0], item[1]):  # then items 0 and 1 are (or tie for) the two lowest
        raise NotYet("item 2's value must be below item 0's or item 1's, so that the two lowest items are not "
                     "0 and 1: item values " + ", ".join(f"{k} {v:+.2f}" for k, v in enumerate(item)))
    return (f"pair removal finds (0, 1) ({pairs[0, 1]:+.2f}) while item 2 ({item[2]:+.2f}) is among the two "
            "lowest items")


CHECKS = {"01.1": _small_share, "01.2": _grey, "01.4": _clash_free, "02.2": _white_gradient, "02.3": _busy_neighbours,
          "02.5": _colour_blind, "03.1": _shuffle, "03.4": _no_sum_of_items, "04.1": _ifiv_mean,
          "04.4": _misleading_slope, "05.3": _colour_only, "05.4": _sensitive_not_culprit, "06.3": _item_top1,
          "06.4": _chance_top1, "07.3": _kendall, "07.4": _sparseness_blind, "08.4": _implied_pair, "08.5": _pair_game,
          "09.1": _shared, "09.2": _basis}


def check(exercise: str, answer, **given) -> bool:
    """Check a filled-in exercise and print ``correct`` or what is wrong; never raises.

    Parameters
    ----------
    exercise : str
        The exercise's number in its chapter, e.g. ``"03.1"``.
    answer : callable or Ellipsis
        The reader's function; ``...``, or a function that returns ``...`` (not filled in yet), prints a reminder.
    **given
        What the check needs from the chapter (a model, a batch, the catalog).
    """
    if exercise not in CHECKS:
        raise ValueError(f"No exercise {exercise!r}; the checked ones are {sorted(CHECKS)}.")
    try:
        if answer is Ellipsis:
            raise _Unfilled
        message = CHECKS[exercise](_watched(answer), **given)
    except _Unfilled:
        print(f"Exercise {exercise}: fill in the `...` above, then run this cell again.")
        return False
    except NotYet as wrong:
        print(f"Exercise {exercise}, not yet: {wrong}")
        return False
    except Exception as err:  # a reader's half-written function: say what broke, keep the chapter running
        print(f"Exercise {exercise}, not yet: your code raised {type(err).__name__}: {err}")
        return False
    print(f"Exercise {exercise}, correct: {message}")
    return True
