"""The random explainer: seeded noise, the chance level next to every real method."""
from __future__ import annotations

import hashlib

import numpy as np
import torch

from .base import Explainer, Run, Traits, register


def case_seeds(run: Run) -> list:
    """One seed per outfit of the batch, from ``run.seed`` and the outfit's own content (its items and features).

    A case draws the same noise wherever it is explained (in any batch, at any position, on any scorer), and
    two different cases draw independently: one seed for the whole batch would hand every batch the same
    numbers, so that the cases of a table would share a few draws instead of one each.
    """
    items = run.batch.items.numpy()
    inputs = [x.detach().cpu().float().numpy() for x in run.inputs]
    seeds = []
    for b, real in enumerate(run.mask.cpu().numpy()):
        digest = hashlib.blake2b(np.int64(run.seed).tobytes(), digest_size=8)
        digest.update(np.ascontiguousarray(items[b, real]).tobytes())
        for x in inputs:
            digest.update(np.ascontiguousarray(x[b, real]).tobytes())
        seeds.append(int.from_bytes(digest.digest(), "little") >> 1)  # torch's seeds are below 2**63
    return seeds


@register
class Random(Explainer):
    """Seeded Gaussian noise, drawn per case (:func:`case_seeds`): the chance baseline of every table."""

    traits = Traits("random", cost="none")

    def compute(self, run: Run) -> torch.Tensor:
        values = torch.zeros(*run.mask.shape, len(run.groups))
        for b, seed in enumerate(case_seeds(run)):
            real = run.mask[b].cpu()
            gen = torch.Generator().manual_seed(seed)
            values[b, real] = torch.randn(int(real.sum()), len(run.groups), generator=gen)
        return values
