"""Many methods on many outfits: agreement with the oracle and with each other, and cost (chapters 04-05)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from ..explain import Attribution, attribute, get_method
from ..explain import methods as registered_methods
from ..outfits import MAX_ITEMS, outfit_blame, outfit_violations
from ..rules import DEFAULT_RULES, GROUPS, StylistRules
from ..utils import check_count, claim

PIXEL_CHUNK = 32  # outfits per call for pixel methods, which hold every item's CNN activations


def explain_all(wb, index, methods=None, split: str = "test", chunk: int = 64, progress: bool = True,
                options: dict | None = None) -> dict:
    """Run several methods (default: every registered one) on the same outfits; returns ``{method: Attribution}``.

    Outfits go through in chunks; ``options`` maps a method to extra keyword options.
    """
    check_count(chunk, "chunk")  # checked here, before any method runs, not deep inside the loop
    index = np.atleast_1d(index)
    if index.size == 0:
        raise ValueError("explain_all needs at least one outfit index; got none.")
    methods = check_methods(methods, "explain_all")
    if options is not None and not (isinstance(options, dict) and all(isinstance(v, dict) for v in options.values())):
        raise ValueError("options maps a method to its keyword options, e.g. options={'ig': {'n_steps': 16}}; "
                         f"got {options!r}.")
    out = {}
    for m in tqdm(methods or registered_methods(), desc="methods", disable=not progress):
        opts = {**wb.options(), **(options or {}).get(m, {})}
        out[get_method(m, "items").traits.name] = attribute_in_chunks(
            wb.model, lambda rows, images: wb.batch(index[rows], split, images=images), len(index), m, opts, chunk)
    return out


def check_methods(methods, caller: str, default: str = "every registered method"):
    """``methods`` as a list of names (None stays None: the caller's ``default``), or a ValueError naming ``caller``
    for a bare string (it would be read letter by letter) or an empty list."""
    if methods is None:
        return None
    if isinstance(methods, str):
        raise ValueError(f"{caller} takes a list of method names, e.g. [{methods!r}]; got the string {methods!r}.")
    methods = list(methods)
    if not methods:
        raise ValueError(f"{caller} needs at least one method, e.g. ['ifiv', 'random']; pass None for {default}.")
    return methods


def attribute_in_chunks(model, batch_of, n: int, method: str, options: dict, chunk: int = 64,
                        timed: bool = True) -> Attribution:
    """One method over ``n`` outfits, ``chunk`` at a time (fewer for pixel methods), after an untimed warm-up.

    ``batch_of(rows, images)`` returns the :class:`~xfashion.outfits.OutfitBatch` of outfit positions
    ``rows`` (with item images when ``images`` is true), so any source of outfits can be explained.
    ``timed=False`` skips the warm-up, for a caller that reads no time.
    """
    check_count(chunk, "chunk")  # here, before the warm-up: range() would say "arg 3 must not be zero"
    check_count(n, "n (the number of outfits)")  # none would leave no chunk to join
    images = get_method(method).traits.needs_images
    step = min(chunk, PIXEL_CHUNK) if images else chunk
    if timed:
        warm_up(model, batch_of(np.arange(min(2, n)), images), method, options)
    parts = [attribute(model, batch_of(np.arange(i, min(i + step, n)), images), method, **options)
             for i in range(0, n, step)]
    return concat_attributions(parts)


_WARM = set()  # methods called once in this process: their lazy initialisation is paid


def warm_up(model, batch, method: str, options: dict) -> None:
    """One untimed call, so that a method's first measured call does not pay for lazy initialisation
    (imports, Captum's set-up: once a process, so a method already called is not called again)."""
    if method not in _WARM:
        attribute(model, batch, method, **options)
        _WARM.add(method)


def concat_attributions(parts: list) -> Attribution:
    """One Attribution from chunks of the same method (values and masks stacked, time added).

    Passes per outfit are averaged over chunks weighted by their outfits. Per-outfit extras that
    every chunk has (tensors whose first dimension is the chunk's batch) are stacked too; other
    extras cannot be joined and are dropped.
    """
    first = parts[0]
    sizes = np.array([len(p.values) for p in parts], dtype=float)

    def mean(attr):
        return float(np.dot([getattr(p, attr) for p in parts], sizes) / sizes.sum())

    def per_outfit(key):
        return all(torch.is_tensor(p.extras.get(key)) and p.extras[key].dim() and len(p.extras[key]) == len(p.values)
                   for p in parts)

    extras = {k: torch.cat([p.extras[k] for p in parts]) for k in first.extras if per_outfit(k)}
    return dataclasses.replace(first, values=torch.cat([p.values for p in parts]),
                               mask=torch.cat([p.mask for p in parts]), forward_passes=mean("forward_passes"),
                               backward_passes=mean("backward_passes"), seconds=sum(p.seconds for p in parts),
                               extras=extras)


def oracle_blame_tensor(catalog, outfits, index, groups=GROUPS, rules: StylistRules = DEFAULT_RULES) -> torch.Tensor:
    """The oracle's per-(item, group) blame for outfits ``index``, padded to (B, MAX_ITEMS, len(groups))."""
    out = torch.zeros(len(index), MAX_ITEMS, len(groups))
    for k, i in enumerate(index):
        bl = outfit_blame(catalog, outfits.outfit(i), rules=rules, groups=groups)
        out[k, : len(bl)] = torch.from_numpy(bl)
    return out


def oracle_agreement(attributions: dict, blame: torch.Tensor) -> pd.DataFrame:
    """How often each method's culprit is one the oracle blames (bad outfits only).

    ``item hit``: the culprit item carries oracle blame; ``cell hit``: the lowest (item, group)
    carries blame in that group (not defined for item-level methods).
    """
    check_attributions(attributions, "oracle_agreement")
    rows = {}
    for name, a in attributions.items():
        item_hit, cell_hit = hits(a, blame)
        rows[name] = {"item_hit": float(item_hit.float().mean()),
                      "cell_hit": np.nan if a.item_level else float(cell_hit.float().mean())}
    return pd.DataFrame(rows).T.round(3)


def hits(attribution: Attribution, blame: torch.Tensor) -> tuple:
    """Per outfit: is the culprit item blamed by the oracle, and is the lowest (item, group) pair blamed in
    that group? Two BoolTensors (B,); ``blame`` is the oracle's (B, N, G) blame tensor."""
    ar = torch.arange(len(blame))
    cell_item, cell_group = attribution.culprit()
    return (blame.sum(-1)[ar, attribution.culprit_item()] > 0), (blame[ar, cell_item, cell_group] > 0)


def case_table(wb, index, method: str = "ifiv", split: str = "test", rules: StylistRules = DEFAULT_RULES,
               attribution: Attribution | None = None) -> pd.DataFrame:
    """One row per outfit: score, the rules it breaks, and whether ``method``'s culprit is one the oracle blames.

    Used to choose examples by a stated rule instead of by index, e.g.
    ``case_table(wb, bad).query("n_rules == 1 and cell_hit").index[0]``.

    Returns
    -------
    DataFrame indexed by outfit index, columns ``logit``, ``rules`` (comma-separated), ``n_rules``,
    ``culprit_item`` (lowest summed influence), ``cell_item`` and ``cell_group`` (the lowest
    (item, group) pair), ``item_hit``, ``cell_hit`` (missing for item-level methods).
    """
    index = np.atleast_1d(index)
    outfits = wb.splits[split]
    batch = wb.batch(index, split)
    attr = attribution if attribution is not None else attribute(wb.model, batch, method, **wb.options())
    with torch.no_grad():
        logit = wb.model(batch.features, batch.slot, batch.mask).numpy()
    blame = oracle_blame_tensor(wb.catalog, outfits, index, attr.groups, rules)
    cell_item, cell_group = attr.culprit()
    item_hit, cell_hit = hits(attr, blame)
    broken = [sorted({v.rule for v in outfit_violations(wb.catalog, outfits.outfit(i), rules=rules)}) for i in index]
    cell_hit = pd.array(cell_hit.numpy(), dtype="boolean")
    if attr.item_level:  # an item-level method's value is split evenly over groups: it names no group
        cell_hit[:] = pd.NA
    return pd.DataFrame({
        "logit": logit,
        "rules": [", ".join(b) for b in broken],
        "n_rules": [len(b) for b in broken],
        "culprit_item": attr.culprit_item().numpy(),
        "cell_item": cell_item.numpy(),
        "cell_group": ["(item level)" if attr.item_level else attr.groups[g] for g in cell_group],
        "item_hit": item_hit.numpy(),
        "cell_hit": cell_hit,
    }, index=pd.Index(index, name="outfit"))


def pick_case(table: pd.DataFrame, rule: str) -> int:
    """The first outfit of a :func:`case_table` that satisfies ``rule`` (a ``DataFrame.query`` string).

    When no outfit does, a small-data run falls back to the first row (its models are too small
    for the rule to find anything); on full data that is an error naming the rule.
    """
    if not isinstance(rule, str):
        raise ValueError(f"pick_case's rule is a query string, e.g. 'n_rules == 1 and cell_hit'; got {rule!r}.")
    try:
        found = table.query(rule)
    except (NameError, SyntaxError) as e:  # pandas says "name 'x' is not defined" without naming the table
        raise ValueError(f"pick_case cannot read the rule {rule!r} ({e}); it may use the case table's columns "
                         f"{list(table.columns)}.") from None
    claim(len(found) > 0, f"some outfit satisfies {rule!r}")
    return int((found if len(found) else table).index[0])


def method_agreement(attributions: dict) -> pd.DataFrame:
    """Mean Spearman rank correlation between methods over the real (item, group) pairs of each outfit."""
    names = list(check_attributions(attributions, "method_agreement"))
    mask = next(iter(attributions.values())).mask
    ranks = {}
    for n in names:
        v = attributions[n].values.masked_fill(~mask[..., None], float("nan")).flatten(1).numpy()
        ranks[n] = pd.DataFrame(v).rank(axis=1).to_numpy()
    out = np.zeros((len(names), len(names)))
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            ra, rb = ranks[a], ranks[b]
            ok = ~np.isnan(ra)
            ra_c = np.where(ok, ra - np.nanmean(ra, 1, keepdims=True), 0)
            rb_c = np.where(ok, rb - np.nanmean(rb, 1, keepdims=True), 0)
            den = np.sqrt((ra_c ** 2).sum(1) * (rb_c ** 2).sum(1))
            corr = np.where(den > 0, (ra_c * rb_c).sum(1) / np.where(den > 0, den, 1), np.nan)
            out[i, j] = np.nanmean(corr)
    return pd.DataFrame(out, index=names, columns=names).round(3)


def cost_table(attributions: dict) -> pd.DataFrame:
    """Passes and milliseconds per outfit for each method (lower is better)."""
    check_attributions(attributions, "cost_table")
    rows = {n: {"forward_passes": a.forward_passes, "backward_passes": a.backward_passes,
                "ms_per_outfit": a.ms_per_outfit} for n, a in attributions.items()}
    return pd.DataFrame(rows).T.round(3)


def check_attributions(attributions, caller: str) -> dict:
    """``attributions`` if it maps at least one method to its Attribution; else a ValueError naming ``caller``."""
    if not isinstance(attributions, dict) or not attributions:
        got = "an empty dict" if isinstance(attributions, dict) else f"a {type(attributions).__name__}"
        raise ValueError(f"{caller} takes {{method: Attribution}} with at least one method, as explain_all returns; "
                         f"got {got}.")
    return attributions
