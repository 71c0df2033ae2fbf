"""The model-randomisation sanity check of the swap test (chapter 06): a scorer with fresh weights."""
from __future__ import annotations

import copy

from ..utils import seeded


def randomised_copy(model, seed: int = 0):
    """The same architecture with freshly initialised weights (model-parameter randomisation test)."""
    clone = copy.deepcopy(model)
    with seeded(seed):
        for m in clone.modules():
            if hasattr(m, "reset_parameters") and m is not clone:
                m.reset_parameters()
    return clone.eval()
