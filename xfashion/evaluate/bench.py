"""Cost of each method as a multiple of one forward pass (``bench``; chapters 05 and 07)."""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from ..explain import attribute, get_method
from ..explain import methods as registered_methods
from ..scorer import score
from ..utils import check_count


def best_time(fn, repeats: int) -> float:
    """The shortest of ``repeats`` timed calls of ``fn`` (seconds): the least disturbed run."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def benchmark(wb, methods=None, n_outfits: int = 512, n_pixel_outfits: int = 32, repeats: int = 3,
              split: str = "test") -> pd.DataFrame:
    """Time of each method on one batch of outfits, as a ratio to one plain forward pass of that batch.

    Pixel methods run on a smaller batch (``n_pixel_outfits``), compared with a forward pass
    of that same batch.
    """
    available = len(wb.outfits(split))
    check_count(n_outfits, "n_outfits", most=available)
    check_count(n_pixel_outfits, "n_pixel_outfits", most=available)
    check_count(repeats, "repeats")
    feats_batch = wb.batch(np.arange(n_outfits), split)
    image_batch = wb.batch(np.arange(n_pixel_outfits), split, images=True)

    forward = best_time(lambda: score(wb.model, feats_batch), 20)
    small_forward = best_time(lambda: score(wb.model, wb.batch(np.arange(n_pixel_outfits), split)), 20)
    rows = {}
    for m in methods or registered_methods():
        pixel = get_method(m).traits.needs_images
        batch = image_batch if pixel else feats_batch
        opts = wb.options()
        probe = attribute(wb.model, batch, m, **opts)
        # as many repeats as the forward pass gets for the fast methods, so both minima are equally lucky
        k = 20 if probe.seconds < 0.05 else repeats if probe.seconds < 1 else 1
        t = best_time(lambda b=batch, m=m, o=opts: attribute(wb.model, b, m, **o), k)
        rows[m] = {"outfits": len(batch), "seconds": t, "ratio_to_forward": t / (small_forward if pixel else forward),
                   "forward_passes": probe.forward_passes,
                   "backward_passes": probe.backward_passes}
    table = pd.DataFrame(rows).T
    table.attrs["forward_seconds"] = forward
    table.attrs["n_outfits"] = n_outfits
    return table
