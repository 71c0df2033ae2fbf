"""The one evaluation loop: methods x metrics over the cases of one scorer (chapters 06, 08 and 09).

The swap test, the pair test and Polyvore's swaps each build their cases and call
:func:`score_methods`: every method sees its cases (spread over the kinds under its case cap),
explains them, and every registered metric of the test's family scores each case. What a test adds
around it (Quantus's metrics, the sanity check, cost, implied pairs) reads the :class:`Scored` run.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..utils import check_count
from .metrics import family_scores


@dataclass
class Scored:
    """One method's run: the ``rows`` of the cases it saw, those ``cases``, its explanations ``attr`` and
    the ``scores`` of every metric of the family, one row per case."""

    method: str
    rows: np.ndarray
    cases: object
    attr: object
    scores: pd.DataFrame

    def frame(self, meta: pd.DataFrame) -> pd.DataFrame:
        """The per-case table: ``meta``'s rows of these cases, the scores and the method's name."""
        return pd.concat([meta.iloc[self.rows].reset_index(drop=True), self.scores.assign(method=self.method)], axis=1)

    def cost(self) -> dict:
        """Milliseconds per outfit, and forward and backward passes per outfit (counted by hooks)."""
        return {"ms_per_outfit": self.attr.ms_per_outfit, "forward_passes": self.attr.forward_passes,
                "backward_passes": self.attr.backward_passes}


def score_methods(model, cases, methods, family: str, explain, *, caps: dict | None = None, progress: bool = False,
                  desc: str = "methods"):
    """Each method's :class:`Scored` run on ``cases`` (anything with ``__len__`` and ``subset(rows)``), in order.

    Parameters
    ----------
    model : the scorer the explanations are of
    cases : the test's cases
    methods : sequence of str
        Names handed to ``explain`` (registered methods, or a test's own, such as its oracle).
    family : str
        The metric family that scores the cases (``"swap test"``, ``"pair test"``).
    explain : callable ``(model, cases, method) -> attribution``
    caps : dict, optional
        Per-method cap on cases, spread over the cases (:func:`spread`); the others see every case.
    """
    methods = list(methods)
    check_caps(caps, methods)  # before any method runs: a cap of 0 would leave a method no case to explain
    for m in tqdm(methods, desc=desc, disable=not progress):
        rows = spread(len(cases), (caps or {}).get(m, len(cases)))
        sub = cases.subset(rows)
        attr = explain(model, sub, m)
        yield Scored(m, rows, sub, attr, family_scores(family, attr, sub))


def spread(n: int, k: int) -> np.ndarray:
    """``min(n, k)`` indices spread evenly over ``range(n)``: capped methods see every swap kind, not the first."""
    k = min(n, k)
    return np.unique(np.round(np.linspace(0, n - 1, k)).astype(np.int64)) if k else np.zeros(0, np.int64)


def check_caps(caps, methods: list) -> None:
    """A ValueError unless ``caps`` maps some of ``methods`` to a positive number of cases."""
    if caps is None:
        return
    if not isinstance(caps, dict):
        raise ValueError(f"max_cases maps a method to its cap on cases, e.g. {{'pixel_ig': 24}}; got {caps!r}.")
    unknown = [m for m in caps if m not in methods]
    if unknown:
        raise ValueError(f"max_cases caps {unknown}, which this run does not evaluate; its methods are {methods} "
                         "(write a method's full name, e.g. 'integrated_gradients' for 'ig').")
    for m, cap in caps.items():
        check_count(cap, f"max_cases[{m!r}]")
