"""The explorers' views along a path: one item re-dyed step by step (chapter 04) and integrated gradients'
integral from a baseline (chapter 05). Plain functions returning (figure, sentence), so the widgets stay thin
and a headless run draws the same view.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from ..data import CATEGORIES, COLOR_NAMES
from ..evaluate.sentences import describe_violation
from ..explain import attribute
from ..outfits import outfit_violations
from . import style
from .explanations import _edited_outfit


def colour_path_view(wb, index: int, position: int, to_color: str, from_color: str | None = None,
                     split: str = "test", steps: int = 41):
    """Re-dye one item of an outfit step by step: the model's score against IFIV's linear guess.

    The item's colour histogram moves on a straight line from its histogram dyed ``from_color``
    (default: its own colour) to its histogram dyed ``to_color``; the linear guess extends the
    gradient read at the start, the first-order reading behind IFIV and the colour-drivers figure.

    Returns (figure, sentence): both scores at the end of the path and the stylist's verdict there.
    """
    catalog, items = wb.catalog, wb.splits[split].outfit(index)
    if not 0 <= position < len(items):
        raise ValueError(f"outfit {index} has items 0 to {len(items) - 1}; got position {position}")
    start = COLOR_NAMES[catalog.color[items[position]]] if from_color is None else from_color
    for name in (start, to_color):
        if name not in COLOR_NAMES:
            raise ValueError(f"{name!r} is not a palette colour; choose one of {', '.join(COLOR_NAMES)}")
    _, colors_a, batch = _edited_outfit(wb, index, position, start, -1, split)
    _, colors_b, end = _edited_outfit(wb, index, position, to_color, -1, split)
    h_a, h_b = batch.features["color"][0, position], end.features["color"][0, position]
    t = torch.linspace(0, 1, steps)
    features = {g: v.repeat(steps, 1, 1).clone() for g, v in batch.features.items()}
    features["color"][:, position] = (1 - t[:, None]) * h_a + t[:, None] * h_b  # both ends exact
    x = {g: v.clone().requires_grad_(g == "color") for g, v in batch.features.items()}
    s0 = wb.model(x, batch.slot, batch.mask)[0]
    (grad,) = torch.autograd.grad(s0, x["color"])
    with torch.no_grad():
        true = wb.model(features, batch.slot.repeat(steps, 1), batch.mask.repeat(steps, 1)).numpy()
        # the ends scored alone, as chapter 04 re-scores a re-dye: a batch of 41 rounds its last bits otherwise,
        # and one colour's end read -18.34 from one start colour and -18.35 from another
        true[0], true[-1] = float(s0), float(wb.model(end.features, end.slot, end.mask)[0])
    guess = float(s0.detach()) + t.numpy() * float(grad[0, position] @ (h_b - h_a))
    fig = plt.figure(figsize=(style.MAX_WIDTH, 3.6), layout="constrained")
    grid = fig.add_gridspec(2, 3)
    for row, colors, name in ((0, colors_a, start), (1, colors_b, to_color)):
        ax = fig.add_subplot(grid[row, 0])
        ax.imshow(style.item_pixels(catalog.render(items[position:position + 1], colors[position:position + 1]))[0])
        ax.set_title(f"dyed {name}", fontsize=style.MIN_FONT)
        ax.set_axis_off()
    ax = fig.add_subplot(grid[:, 1:])
    ax.plot(t, true, color="k", lw=2, label="the model's score")
    ax.plot(t, guess, color="0.45", lw=2, ls="--", label="linear guess (gradient at the start)")
    ax.axhline(0, color="k", lw=0.6, ls=":")
    ax.set_xlabel(f"share of {to_color} in item {position}'s colour ({start} -> {to_color})", fontsize=style.MIN_FONT)
    ax.set_ylabel("logit", fontsize=style.MIN_FONT)
    ax.tick_params(labelsize=style.MIN_FONT)
    ax.legend(fontsize=style.MIN_FONT, loc="best")
    ax.set_title(f"item {position}, the {CATEGORIES[catalog.category[items[position]]]}: {start} -> {to_color}",
                 fontsize=style.MIN_FONT + 1)
    broken = [describe_violation(v, catalog.category[items], colors_b)
              for v in outfit_violations(catalog, items, colors_b) if position in v.items]
    said = (f"Dyed {to_color}, the outfit scores {true[-1]:+.2f} (dyed {start}: {true[0]:+.2f}); the linear guess "
            f"says {guess[-1]:+.2f}, {abs(true[-1] - guess[-1]):.2f} logits off. The stylist finds "
            + ("; and ".join(broken) if broken else f"no rule broken by the {to_color} item") + ".")
    return fig, said


STEP_GRID = (1, 2, 4, 8, 16, 32, 64)  # ends where the IG-steps slider ends (widgets.ig_steps_explorer)


def ig_steps_view(wb, index: int, n_steps: int, baseline: str = "zero", split: str = "test"):
    """Integrated gradients on one outfit: the convergence delta against ``n_steps``, and the path it integrates.

    Left, the outfit's |convergence delta| for the steps of :data:`STEP_GRID` and for ``n_steps``; right,
    the score along the straight path from the baseline (``"zero"`` or ``"mean"``, the dataset-mean
    item) to the outfit, with the points where Captum's Gauss-Legendre rule reads the gradient.

    Returns (figure, sentence).
    """
    if baseline not in ("zero", "mean"):
        raise ValueError(f"baseline is 'zero' or 'mean'; got {baseline!r}")
    if not 1 <= int(n_steps) <= 1000:
        raise ValueError(f"n_steps runs from 1 to 1000; got {n_steps}")
    method = "integrated_gradients" if baseline == "zero" else "integrated_gradients_mean"
    batch = wb.batch([index], split)
    run = lambda k: attribute(wb.model, batch, method, n_steps=int(k), **wb.options())  # noqa: E731
    deltas = [abs(float(run(k).extras["convergence_delta"][0])) for k in STEP_GRID]
    ig = run(n_steps)
    delta = float(ig.extras["convergence_delta"][0])
    base = {g: (torch.zeros_like(v) if baseline == "zero" else wb.means[g].expand_as(v) * batch.mask[..., None])
            for g, v in batch.features.items()}
    alpha = torch.linspace(0, 1, 101)
    at = torch.tensor((1 + np.polynomial.legendre.leggauss(int(n_steps))[0]) / 2, dtype=torch.float32)

    def along(a):
        with torch.no_grad():
            x = {g: base[g] + a[:, None, None] * (v - base[g]) for g, v in batch.features.items()}
            return wb.model(x, batch.slot.repeat(len(a), 1), batch.mask.repeat(len(a), 1)).numpy()

    path, dots = along(alpha), along(at)
    fig, (left, right) = plt.subplots(1, 2, figsize=(style.MAX_WIDTH, 3.6), layout="constrained")
    left.loglog(STEP_GRID, np.maximum(deltas, 1e-7), "o-", color="0.35")  # floor: an exact zero on a log axis
    left.loglog([n_steps], [max(abs(delta), 1e-7)], "o", color="k", ms=11, mfc="none", mew=2.5)
    left.set_xlabel("n_steps", fontsize=style.MIN_FONT)
    left.set_ylabel("|convergence delta| (logits)", fontsize=style.MIN_FONT)
    left.set_title(f"the integral's error; circled: {n_steps} steps", fontsize=style.MIN_FONT + 1)
    right.plot(alpha, path, color="k", lw=2)
    right.plot(at, dots, "o", color="0.35", ms=6, label=f"where IG reads the gradient ({n_steps})")
    right.set_xlabel(f"alpha: from the {baseline} baseline (0) to the outfit (1)", fontsize=style.MIN_FONT)
    right.set_ylabel("logit", fontsize=style.MIN_FONT)
    right.set_title("the score along IG's path", fontsize=style.MIN_FONT + 1)
    right.legend(fontsize=style.MIN_FONT, loc="best")
    [ax.tick_params(labelsize=style.MIN_FONT) for ax in (left, right)]
    gap = float(path[-1] - path[0])
    said = (f"In {n_steps} step{'s' * (n_steps != 1)} from the {baseline} baseline, IG's values sum to "
            f"{float(ig.values.sum()):+.2f} "
            f"where the score gap s(x) - s(baseline) is {gap:+.2f}: the convergence delta is {delta:+.3f}, "
            f"{abs(delta) / max(abs(gap), 1e-9):.1%} of the gap.")
    return fig, said
