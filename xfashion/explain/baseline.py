"""The random explainer: seeded noise, the chance level next to every real method."""
from __future__ import annotations

import torch

from .base import Explainer, Run, Traits, register


@register
class Random(Explainer):
    """Seeded Gaussian noise: the chance baseline of every table."""

    traits = Traits("random", cost="none")

    def compute(self, run: Run) -> torch.Tensor:
        gen = torch.Generator().manual_seed(run.seed)
        return torch.randn(*run.mask.shape, len(run.groups), generator=gen)
