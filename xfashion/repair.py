"""Outfit repair: use an explanation's culprit to propose fixes, and check them with the oracle."""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from .data import CATEGORIES, COLOR_NAMES, Catalog
from .evaluate.sentences import rule_name
from .explain import attribute
from .outfits import check_outfit, outfit_violations
from .scorer import outfit_features, score


def _substitute_scores(model, base, pos: int, substitutes: dict) -> torch.Tensor:
    """Scores of the one-outfit batch ``base`` with item ``pos`` replaced by each row of ``substitutes``.

    ``substitutes`` maps every feature group to a (K, D) tensor; all K variants are scored in one batch.
    """
    K = len(next(iter(substitutes.values())))
    features = {g: v.repeat(K, 1, 1) for g, v in base.features.items()}
    for g in features:
        features[g][:, pos] = substitutes[g]
    with torch.no_grad():
        return model(features, base.slot.repeat(K, 1), base.mask.repeat(K, 1))


def suggest_repairs(model, catalog: Catalog, feats, items, colors=None, *, method: str = "ifiv",
                    split: str = "test", max_candidates: int = 400, seed: int = 0, position: int | None = None,
                    **options) -> dict:
    """Propose fixes for an outfit from its explanation's culprit item.

    The culprit is the item with the lowest summed attribution, or the item at ``position`` when
    given (e.g. the item of the lowest (item, group) pair). Two fixes are tried: the
    best re-colouring of the culprit (over the palette) and the best same-slot replacement
    among up to ``max_candidates`` catalog items of ``split``.

    Returns
    -------
    dict
        ``culprit`` (position), ``score`` (before), ``table`` (a DataFrame with one row per fix:
        the new score and the oracle's verdict), and ``recolour`` / ``replace`` (the fixed items and colours).
    """
    items = check_outfit(catalog, items)
    colors = catalog.color[items].copy() if colors is None else np.asarray(colors).copy()
    batch = outfit_features(catalog, feats, items, colors)
    before = float(score(model, batch)[0])
    attr = attribute(model, batch, method, **options)
    if position is not None and not (isinstance(position, (int, np.integer)) and 0 <= position < len(items)):
        raise ValueError(f"position must be an item position in 0-{len(items) - 1}; got {position!r}.")
    pos = int(attr.culprit_item()[0]) if position is None else int(position)
    palette = np.arange(len(COLOR_NAMES))
    with torch.no_grad():
        recolored = feats.extractor(catalog.render(np.repeat(items[pos], len(palette)), palette))
    rec = _substitute_scores(model, batch, pos, recolored)
    best_color = int(rec.argmax())
    rng = np.random.default_rng(seed)
    pool = np.flatnonzero((catalog.split == split) & (catalog.slot == catalog.slot[items[pos]]))
    pool = pool[~np.isin(pool, items)]
    cands = rng.choice(pool, min(max_candidates, len(pool)), replace=False)
    rep = _substitute_scores(model, batch, pos, {g: t[cands] for g, t in feats.tables.items()})
    best_item = int(cands[int(rep.argmax())])
    rec_colors = colors.copy()
    rec_colors[pos] = best_color
    rep_items, rep_colors = items.copy(), colors.copy()
    rep_items[pos], rep_colors[pos] = best_item, catalog.color[best_item]
    rows = [
        {"fix": "none", "change": "", "score": before,
         "oracle": _verdict(catalog, items, colors)},
        {"fix": "re-colour", "change": f"item {pos}: {COLOR_NAMES[colors[pos]]} -> {COLOR_NAMES[best_color]}",
         "score": float(rec.max()), "oracle": _verdict(catalog, items, rec_colors)},
        {"fix": "replace", "change": f"item {pos}: {CATEGORIES[catalog.category[items[pos]]]} -> "
                                     f"{COLOR_NAMES[catalog.color[best_item]]} "
                                     f"{CATEGORIES[catalog.category[best_item]]}",
         "score": float(rep.max()), "oracle": _verdict(catalog, rep_items, rep_colors)},
    ]
    return {"culprit": pos, "score": before, "attribution": attr, "table": pd.DataFrame(rows),
            "recolour": (items, rec_colors), "replace": (rep_items, rep_colors)}


def _verdict(catalog, items, colors) -> str:
    found = outfit_violations(catalog, items, colors)
    return "good" if not found else "bad: " + ", ".join(sorted({rule_name(v.rule) for v in found}))


def repair_success(model, catalog: Catalog, feats, outfits, n: int = 200, methods=("ifiv", "random"),
                   progress: bool = True, **options) -> pd.DataFrame:
    """How often the fixes proposed from each method's culprit make bad outfits good (by the oracle).

    Runs on the first ``n`` outfits that the oracle calls bad. One column per fix, the share of
    outfits it repairs: ``re-colour fixes`` and ``replace fixes``; ``attrs["n_outfits"]`` holds the
    number of outfits. No "either" column: the replacement search draws from the culprit's whole
    slot, its category in other colours included, so it finds what a re-colouring finds (on data
    seed 0 no re-colouring repaired an outfit that the replacement left bad: "either" repeated
    "replace").
    """
    bad = np.flatnonzero(outfits.oracle_label == 0)[:n]
    rows = []
    for i in tqdm(bad, desc="repairs", disable=not progress):
        for m in methods:
            verdicts = suggest_repairs(model, catalog, feats, outfits.outfit(i), method=m, **options)["table"].oracle
            rows.append({"method": m, "re-colour fixes": verdicts[1] == "good", "replace fixes": verdicts[2] == "good"})
    frame = pd.DataFrame(rows).groupby("method").mean().round(3)
    frame.attrs["n_outfits"] = len(bad)
    return frame


def repair_gaps(success: pd.DataFrame) -> pd.DataFrame:
    """The comparisons of a :func:`repair_success` table as gaps in standard errors.

    Rows: replacing IFIV's culprit against re-colouring it; IFIV's culprit against a random item,
    replaced and re-coloured. Columns ``gap`` (the first minus the second), ``se`` (binomial, the two
    shares of ``attrs["n_outfits"]`` outfits taken as independent) and ``z`` (the gap in standard errors).
    """
    n = success.attrs["n_outfits"]
    pairs = {"replace - re-colour": (("ifiv", "replace fixes"), ("ifiv", "re-colour fixes")),
             "ifiv - random, replace": (("ifiv", "replace fixes"), ("random", "replace fixes")),
             "ifiv - random, re-colour": (("ifiv", "re-colour fixes"), ("random", "re-colour fixes"))}
    rows = {}
    for name, (a, b) in pairs.items():
        p, q = float(success.loc[a]), float(success.loc[b])
        se = float(np.sqrt((p * (1 - p) + q * (1 - q)) / n))
        rows[name] = {"gap": p - q, "se": se, "z": (p - q) / se if se > 0 else 0.0}
    return pd.DataFrame(rows).T


def repair_sentences(success: pd.DataFrame, blamed: float, culprit_blamed: float) -> list:
    """What :func:`repair_success` found, in sentences with their numbers and their gaps in standard errors.

    ``blamed``: the share of the outfits where an item drawn at random is one the stylist blames (on
    average over draws); ``culprit_blamed``: the share where IFIV's culprit item is.
    """
    gaps, n = repair_gaps(success), success.attrs["n_outfits"]
    rep, rec = success.loc["ifiv", "replace fixes"], success.loc["ifiv", "re-colour fixes"]
    at_random, rec_random = success.loc["random", "replace fixes"], success.loc["random", "re-colour fixes"]
    lead, z_rec = gaps.loc["ifiv - random, replace", "z"], gaps.loc["ifiv - random, re-colour", "z"]
    return [f"Replacing IFIV's culprit item repairs {rep:.0%} of the {n} outfits and re-colouring it {rec:.0%}, "
            f"{gaps.loc['replace - re-colour', 'z']:.0f} standard errors apart. Replacing a random item repairs "
            f"{at_random:.0%}, {abs(lead):.1f} standard errors {'below' if lead >= 0 else 'above'} IFIV's culprit: "
            + ("a clear lead for the explanation." if lead > 2 else f"a gap within the noise of {n} outfits.")
            + f" Re-colouring a random item repairs {rec_random:.0%}, {abs(z_rec):.1f} standard errors "
            f"{'below' if z_rec >= 0 else 'above'} re-colouring IFIV's.",
            f"An item drawn at random is one the stylist blames in {blamed:.0%} of these outfits on average, the most "
            f"a random replacement can repair; IFIV's culprit item is one it blames in {culprit_blamed:.0%} of them."]
