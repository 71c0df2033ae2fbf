"""Analyses of the data, the features and the scorer: plain vs busy garments and how the negatives were made
(chapter 01); the CNN's confusions, colour invariance, maps and neighbours (chapter 02); the scorer against the
pooled one rule by rule, and what it objects to in its false alarms (chapter 03)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from .data import CATEGORIES, CATEGORY_SLOT, COLOR_NAMES, GARMENT_SLOTS, SLOTS, Catalog
from .features import FeatureExtractor
from .groups import SHAPE_GROUP
from .outfits import OutfitSet, outfit_blame
from .rules import DEFAULT_RULES, GROUPS, violations
from .scorer import score_outfit
from .utils import check_count


def top_confusions(confusion: np.ndarray, k: int = 6, rules=None):
    """The CNN's ``k`` most frequent confusions, and whether the stylist treats the two categories alike.

    ``rate`` is the share of the true category's test images predicted as the other one. Two
    categories are alike for the stylist when they share a slot and meet the same season clashes;
    a confusion between categories that are not alike is one the scorer could pay for.

    Returns
    -------
    DataFrame with columns ``true``, ``predicted``, ``rate``, ``same_slot``, ``same_season_rules``, ``alike``.
    """
    check_count(k, "k")
    rules = rules or DEFAULT_RULES
    confusion = np.asarray(confusion, dtype=float)
    rates = confusion / confusion.sum(1, keepdims=True).clip(min=1)
    np.fill_diagonal(rates, 0)

    def partners(c):
        return {b if a == c else a for a, b in rules.season_clashes if c in (a, b)}

    rows = []
    for flat in np.argsort(rates, axis=None)[::-1][:k]:
        t, p = (CATEGORIES[i] for i in np.unravel_index(flat, rates.shape))
        slot, season = CATEGORY_SLOT[t] == CATEGORY_SLOT[p], partners(t) == partners(p)
        rows.append({"true": t, "predicted": p, "rate": round(float(rates.flat[flat]), 3), "same_slot": slot,
                     "same_season_rules": season, "alike": slot and season})
    return pd.DataFrame(rows)


@torch.no_grad()
def color_invariance(extractor: FeatureExtractor, catalog: Catalog, n: int = 200, seed: int = 0) -> float:
    """Largest relative change of the shape-texture embedding over re-renderings in every colour."""
    check_count(n, "n")
    rng = np.random.default_rng(seed)
    items = rng.choice(len(catalog), min(n, len(catalog)), replace=False)
    embs = torch.stack([extractor(catalog.render(items, np.full(len(items), k)))[SHAPE_GROUP]
                        for k in range(len(COLOR_NAMES))])  # (K, n, D)
    ref = embs[0]
    change = (embs - ref).norm(dim=-1) / ref.norm(dim=-1).clamp_min(1e-6)
    return float(change.max())


def embedding_map(table, n: int = 3000, seed: int = 0):
    """2-D PCA coordinates of ``n`` random rows of a feature table; returns (coords, rows)."""
    check_count(n, "n", least=2)
    gen = np.random.default_rng(seed)
    rows = np.sort(gen.choice(len(table), min(n, len(table)), replace=False))
    x = table[rows] - table[rows].mean(0)
    _, _, v = torch.pca_lowrank(x, q=2, center=False)
    return (x @ v[:, :2]).numpy(), rows


def nearest_neighbours(table, item: int, k: int = 6, candidates=None) -> np.ndarray:
    """The ``k`` items closest to ``item`` (Euclidean) in one feature table."""
    check_count(k, "k")
    cand = np.arange(len(table)) if candidates is None else np.asarray(candidates)
    cand = cand[cand != item]
    d = (table[cand] - table[item]).norm(dim=1)
    return cand[torch.argsort(d)[:k].numpy()]


def busy_examples(catalog: Catalog, n: int = 6, seed: int = 0) -> dict:
    """Item ids of garments along the texture score, for a side-by-side look.

    Returns
    -------
    dict of str -> array of int
        ``n`` random garments each: ``"plain"`` (below the 30th percentile of the training
        garments' texture scores), ``"just busy"`` (busy, yet below their 85th percentile, just
        over the threshold) and ``"busiest"`` (at or above their 97th percentile).
    """
    check_count(n, "n")
    rng = np.random.default_rng(seed)
    garment = np.isin(catalog.slot, [SLOTS.index(s) for s in GARMENT_SLOTS])
    plain, just, top = np.quantile(catalog.texture[garment & (catalog.split == "train")], [0.3, 0.85, 0.97])
    pools = {"plain": garment & (catalog.texture < plain), "just busy": catalog.busy & (catalog.texture < just),
             "busiest": garment & (catalog.texture >= top)}
    return {name: rng.choice(np.flatnonzero(keep), n, replace=False) for name, keep in pools.items()}


def blame_table(catalog: Catalog, outfits: dict) -> pd.DataFrame:
    """Outfits side by side, one row per position: each one's item and the oracle's blame per feature group.

    Parameters
    ----------
    catalog : Catalog
    outfits : dict of str -> sequence of int
        Named outfits (catalog ids) of one length, e.g. a good outfit and a negative made from it.
    """
    columns = {}
    for name, items in outfits.items():
        items = np.asarray(items)
        blame = outfit_blame(catalog, items)
        columns[(name, "item")] = [f"{COLOR_NAMES[catalog.color[i]]} {CATEGORIES[catalog.category[i]]}" for i in items]
        columns.update({(name, g): blame[:, k].round(2) for k, g in enumerate(GROUPS)})
    return pd.DataFrame(columns).rename_axis("position")


def negative_swaps(catalog: Catalog, outfits: OutfitSet) -> pd.DataFrame:
    """How each negative of a sampled split differs from the good outfit it was made from.

    :func:`xfashion.outfits.sample_outfits` stores every good outfit followed by its negative; this
    compares each pair item by item and asks the oracle again.

    Returns
    -------
    DataFrame, one row per pair
        ``good`` and ``negative`` (outfit indices), ``replaced`` (items that differ), ``same_slot``
        (every new item fills the slot of the item it replaced, from the same split), ``rules`` (the
        oracle's verdict on the negative), ``as_stored`` (the split recorded that verdict),
        ``new_blamed`` (every broken rule names a new item) and ``old_blamed`` (some broken rule also
        names an item that stayed).

    Raises
    ------
    ValueError
        When ``outfits`` is not in the sampler's order (e.g. a subset).
    """
    good = np.flatnonzero(outfits.oracle_label > 0)
    if len(outfits) % 2 or not np.array_equal(good, np.arange(0, len(outfits), 2)):
        raise ValueError("negative_swaps needs a split as sample_outfits made it: each good outfit followed by its "
                         "negative.")
    # the catalog's slot and busy properties recompute over every item: once here, not per pair
    slot, busy, rows = catalog.slot, catalog.busy, []
    for g in good:
        before, after = outfits.outfit(g), outfits.outfit(g + 1)
        new = np.flatnonzero(before != after) if len(before) == len(after) else np.arange(len(after))
        found = violations(catalog.category[after], catalog.color[after], busy[after])
        rules = sorted({v.rule for v in found})
        rows.append({"good": int(g), "negative": int(g + 1), "replaced": len(new),
                     "same_slot": len(before) == len(after)
                     and bool((slot[before[new]] == slot[after[new]]).all())
                     and bool((catalog.split[after[new]] == outfits.name).all()),
                     "rules": ", ".join(rules), "as_stored": rules == sorted(outfits.rules[g + 1]),
                     "new_blamed": all(set(v.items) & set(new.tolist()) for v in found),
                     "old_blamed": any(set(v.items) - set(new.tolist()) for v in found)})
    return pd.DataFrame(rows)


# chapter 03: what the scorer gets right and wrong, said from its outputs
_ORDINAL, _TWO_BUSIEST = ("1st", "2nd", "3rd", "4th", "5th"), ("1st", "2nd")

@dataclass
class Verdicts:
    """Checks of a chapter's static prose (``claims``: sentence -> holds), sentences on this run, and the
    ``numbers`` behind them that a later cell reuses."""
    claims: dict
    sentences: list
    numbers: dict = field(default_factory=dict)


def compare_by_rule(by_rule: pd.DataFrame, n_rule: pd.Series, pair: str = "pairwise (ours)",
                    pool: str = "mean-pool, no interactions") -> Verdicts:
    """The pairwise scorer against the mean-pool one, rule by rule, with margins of two standard errors.

    Parameters
    ----------
    by_rule : DataFrame
        :func:`xfashion.per_rule_table`: the share called right per row ("(good outfits)" and each rule).
    n_rule : Series
        The test outfits behind each row.
    """
    good, colour_pairs, counting = "(good outfits)", ["hue_clash", "neutral_clash"], ["too_many_colours",
                                                                                        "season_clash"]
    a, p = by_rule[pair], by_rule[pool]
    se = lambda acc, r: (acc[r] * (1 - acc[r]) / n_rule[r]) ** 0.5  # noqa: E731 - an accuracy's standard error
    bal_se = lambda acc, r: 0.5 * (se(acc, r) ** 2 + se(acc, good) ** 2) ** 0.5  # noqa: E731 - a balanced one's
    behind = (a.drop(good) - p.drop(good)) / 2  # the balanced accuracies' difference: the good-outfit terms differ too
    behind = behind + (a[good] - p[good]) / 2
    claims = {
        # the difference's own standard error: two non-overlapping 2-SE intervals asked for about 2.8 of them
        "mean-pool calls more good outfits bad than the pairwise model, by more than two standard errors":
            a[good] - p[good] > 2 * (se(a, good) ** 2 + se(p, good) ** 2) ** 0.5,
        # not on the counting rules: on data seed 2 mean-pool trails by 1.3 SE on season clashes
        "in balanced accuracy mean-pool is behind the pairwise model on the pairwise colour rules, by more than "
        "two standard errors":
            all(behind[r] > 2 * (bal_se(a, r) ** 2 + bal_se(p, r) ** 2) ** 0.5 for r in colour_pairs),
        "on the pairwise colour rules the pairwise model catches at least as many clashes, and more hue clashes":
            bool((a[colour_pairs] >= p[colour_pairs]).all() and a["hue_clash"] > p["hue_clash"] + 0.03),
        "on counting rules mean-pool catches about as many clashes as the pairwise model":
            bool((p[counting] > a[counting] - 0.05).all()),
        "mean-pool catches fewer busy clashes than clashes of the counting rules, by more than two standard errors "
        "of each": all(p["busy_clash"] + 2 * se(p, "busy_clash") < p[r] - 2 * se(p, r) for r in counting),
        "busy clashes are the pairwise model's weakest rule, by more than two standard errors":
            a["busy_clash"] + 2 * se(a, "busy_clash") < a.drop([good, "busy_clash"]).min()}
    coin = 2 * (0.25 / n_rule["busy_clash"]) ** 0.5  # two sd of a coin's rate
    lead = a - p
    sentences = [
        f"On this run the pairwise model catches {lead['hue_clash']:.3f} more of the hue clashes than mean-pool and "
        f"{lead['neutral_clash']:.3f} more of navy with black; on the counting rules its share minus mean-pool's is "
        f"{lead['too_many_colours']:+.3f} (too many colours) and {lead['season_clash']:+.3f} (season clashes).",
        f"But mean-pool calls {1 - p[good]:.1%} of the good outfits bad, the pairwise model {1 - a[good]:.1%}: in "
        f"balanced accuracy mean-pool is behind on {(behind > 0).sum()} of the {len(behind)} rules, by "
        f"{behind.min():.3f} ({behind.idxmin()}) to {behind.max():.3f} ({behind.idxmax()}).",
        f"On the {n_rule['busy_clash']} busy-clash test outfits mean-pool catches {p['busy_clash']:.3f}, against "
        f"{p['too_many_colours']:.3f} and {p['season_clash']:.3f} on the counting rules; a coin lands within "
        f"0.5 ± {coin:.3f} (two standard deviations), so mean-pool catches busy clashes "
        + ("no more often than a coin on this run." if p["busy_clash"] <= 0.5 + coin else
           "more often than a coin on this run, yet far less often than the counting rules' clashes."),
        f"The pairwise model catches {a['busy_clash']:.3f} of them, its lowest share on any rule."]
    return Verdicts(claims, sentences)


def busy_reading(errors: pd.DataFrame, k: int) -> str:
    """What the busy rule sees in outfit ``k`` of :func:`xfashion.training.scorer_errors`, and the scorer's logit."""
    o = errors.loc[k]
    n, of = int(o["busy"]), int(o["garments"])
    share = "none" if n == 0 else "both" if n == of == 2 else "all" if n == of else str(n)
    side = "over" if o["second_busiest"] >= 1 else "under"
    return (f"test outfit {k}: {share} of its {of} garments {'is' if n == 1 else 'are'} busy, the second-busiest "
            f"{abs(o['second_busiest'] - 1):.0%} {side} the threshold, and the scorer gives it a logit of "
            f"{o['logit']:+.2f}")


def objections(model, catalog: Catalog, feats, outfits: OutfitSet, errors: pd.DataFrame) -> pd.DataFrame:
    """What the scorer objects to in each false alarm (a good outfit called bad) with two garments or more.

    Each item is left out in turn; the item whose absence raises the logit most is the objected one.
    It is then re-dyed in every palette colour: a texture read as busy stays busy in any colour.

    Returns
    -------
    DataFrame indexed by outfit, most confident false alarm first
        ``item`` (its position), ``name``, ``logit``, ``without`` (the logit without it), ``texture
        rank`` among the outfit's garments ('1st' is the busiest; 'not a garment'), ``texture`` (its
        texture score over the busy threshold), ``best colour`` and ``re-dyed`` (the best logit over
        the palette).
    """
    alarms = errors[errors["outcome"].eq("false negative") & (errors["garments"] >= 2)].sort_values("logit").index
    rows = {}
    for k in alarms:
        items = outfits.outfit(k)
        left = [score_outfit(model, catalog, feats, np.delete(items, p)) for p in range(len(items))]
        garments = [q for q in range(len(items)) if SLOTS[catalog.slot[items[q]]] in GARMENT_SLOTS]
        by_texture = sorted(garments, key=lambda q: -catalog.texture[items[q]])
        p = int(np.argmax(left))
        redyed = []
        for c in range(len(COLOR_NAMES)):
            colors = catalog.color[items].copy()
            colors[p] = c
            redyed.append(score_outfit(model, catalog, feats, items, colors))
        name = f"{COLOR_NAMES[catalog.color[items[p]]]} {CATEGORIES[catalog.category[items[p]]]}"
        rows[k] = {"item": p, "name": name,
                   "logit": errors.loc[k, "logit"], "without": left[p],
                   "texture rank": _ORDINAL[by_texture.index(p)] if p in by_texture else "not a garment",
                   "texture": catalog.texture[items[p]] / catalog.busy_threshold,
                   "best colour": COLOR_NAMES[int(np.argmax(redyed))], "re-dyed": max(redyed)}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("outfit")


# chapter 03's words for xfashion.training.OUTCOMES, whose 'positive' is a good outfit: a good outfit called bad
# is a false alarm, a bad one called good a miss
OUTCOME_WORDS = {"true positive": "good called good", "true negative": "bad called bad",
                 "false positive": "miss", "false negative": "false alarm"}


def worked_alarm(objected: pd.DataFrame) -> tuple:
    """The false alarm chapter 03 works by hand, and the sentence naming the rule that picked it.

    The surest false alarm of :func:`objections` whose objected item is one of its two busiest garments and
    whose re-dye agrees with most such alarms (a colour turns it good, or none does); the surest of all
    where no alarm fits. An example that shows the run's pattern, not its exception.
    """
    busiest = _busiest(objected)
    colour = (busiest["re-dyed"] > 0).sum() > len(busiest) / 2  # the pattern false_alarm_paragraph concludes
    fits = busiest[(busiest["re-dyed"] > 0) == colour]
    if len(fits):
        return fits.index[0], ("The false alarm worked here is the surest one whose objected item is one of its two "
                               f"busiest garments and makes the outfit good in {'some' if colour else 'no'} palette "
                               "colour, as in most such false alarms of this run.")
    return objected.index[0], "No false alarm shows the run's pattern, so the one worked here is the surest."


def _busiest(objected: pd.DataFrame) -> pd.DataFrame:
    real = objected[objected["without"] > objected["logit"]]  # the alarms that name an objected item
    return real[real["texture rank"].isin(_TWO_BUSIEST)]


def false_alarm_paragraph(objected: pd.DataFrame, errors: pd.DataFrame, outfits: OutfitSet, shown: pd.Series) -> str:
    """The false alarms' counts in one paragraph: the figure's miss and false alarm (``shown``: outcome in
    :data:`OUTCOME_WORDS` -> outfit), then what the scorer objects to in every false alarm
    (:func:`objections`), and which pattern this run's counts show. Alarms without an objected item (no
    item's absence raises the logit) are left out of the counts.
    """
    said = []
    if "miss" in shown:
        said.append(f"The figure's miss is {busy_reading(errors, shown['miss'])}.")
    alarm = shown.get("false alarm")
    if alarm is not None and alarm in objected.index and objected.loc[alarm, "without"] > objected.loc[alarm, "logit"]:
        o = objected.loc[alarm]
        role = {"1st": "its busiest garment", "2nd": "its second-busiest garment, the one the busy rule reads"}.get(
            o["texture rank"], "not one of its two busiest garments")
        # the logits were said where the chapter worked this outfit by hand: here, what they mean
        redye = (f"re-dyed {o['best colour']} it makes the outfit good" if o["re-dyed"] > 0
                 else "no palette colour for it makes the outfit good")
        said.append(f"Its false alarm, test outfit {alarm}, is the one worked by hand: the framed {o['name']} is "
                    f"{role}; {redye}.")
    real = objected[objected["without"] > objected["logit"]]
    busiest = _busiest(objected)
    saved = int((busiest["re-dyed"] > 0).sum())
    chance = np.mean([2 / len(outfits.outfit(k)) for k in real.index]) if len(real) else float("nan")
    none = len(objected) - len(real)
    some = f"{none} name{'s' * (none == 1)} no objected item. In {len(busiest)} of the other {len(real)}"
    said.append(f"Of the {len(objected)} false alarms with two garments or more, "
                + (some if none else f"all name an objected item. In {len(busiest)} of them") + " the scorer objects "
                f"most to one of the outfit's two busiest garments (chance: {chance:.0%}), and in {saved} of those "
                f"{len(busiest)} some palette colour for that garment makes the outfit good: "
                + ("most, so on this run the scorer has learnt 'busy' tangled with colour." if saved > len(busiest) / 2
                   else "not most, so on this run what it objects to is mostly texture, read approximately."))
    return " ".join(said)


def scorer_lessons(pairwise_auc: float, pool_auc: float, busy_missed: float) -> str:
    """Chapter 03's take-away as Markdown bullets, each true on every data seed, with this run's numbers."""
    return "\n".join([
        "* A set scorer is permutation invariant by construction (sums, means and maxima over items and over pairs), "
        f"and a pair term lets it see which two items meet: here it ranks test outfits with AUC {pairwise_auc:.3f}, "
        f"the model without interactions {pool_auc:.3f}.",
        "* The pair term pays on rules about which two colours meet (hue clash, navy with black). On rules that count "
        "(too many colours, season clashes) a pooled model catches about as many clashes, but it calls more good "
        "outfits bad, which in balanced accuracy puts it behind on the pairwise colour rules; and it catches far fewer "
        "busy clashes: counting busy garments needs a 'busy' that the features carry only approximately.",
        "* The scorer fails where its features blur what a rule reads: busy_clash is its weakest rule "
        f"({busy_missed:.0%} of busy clashes missed here), and its mistakes there, false alarms and misses pooled, "
        "crowd near the busy threshold.",
        "* Accuracy on one kind of outfit needs its counterpart: a share of clashes caught means little without the "
        "share of good outfits passed, which balanced accuracy averages with it.",
        "* Error analysis counts mistakes by outcome (a missed clash, a false alarm) and by rule, looks at the outfits "
        "behind the counts, picked by a rule stated in advance, and asks what the scorer objects to by experiment: "
        "leave one item out, re-dye it, score again."])


def outfits_per_rule(outfits: OutfitSet, rows) -> pd.Series:
    """The outfits behind each row of :func:`xfashion.per_rule_table`: the good ones, or those that break the rule."""
    return pd.Series([sum(not r for r in outfits.rules) if k == "(good outfits)" else sum(k in r for r in outfits.rules)
                      for k in rows], index=rows, name="test outfits")


def rule_table(by_rule: pd.DataFrame, balanced: pd.DataFrame, n_rule: pd.Series) -> pd.DataFrame:
    """Accuracy and balanced accuracy per rule side by side, with the outfits behind each row (blank: not defined)."""
    table = pd.concat({"accuracy": by_rule, "balanced accuracy": balanced.round(3), "": n_rule.to_frame()}, axis=1)
    rates = table.columns.get_level_values(0) != ""  # three decimals everywhere, a blank where undefined
    shown = table.astype(object)
    shown.loc[:, rates] = table.loc[:, rates].map(lambda v: "" if pd.isna(v) else f"{v:.3f}")
    return shown


def mistake_sentences(errors: pd.DataFrame, mistakes: pd.DataFrame) -> list:
    """How many test outfits the scorer misjudges, of each outcome, and on which rule it misses most."""
    missed = mistakes.drop("(good outfits)")
    worst, most = missed["error rate"].idxmax(), missed["misjudged"].idxmax()
    count = lambda r: f"{missed.loc[r, 'misjudged']} of its {missed.loc[r, 'outfits']} test outfits"  # noqa: E731
    return [f"The scorer misjudges {(errors['truth'] != errors['verdict']).sum()} of the {len(errors):,} test outfits: "
            f"{(errors['outcome'] == 'false negative').sum()} false alarms (good outfits it calls bad) and "
            f"{(errors['outcome'] == 'false positive').sum()} misses (clashes it lets through).",
            f"It misses the largest share of clashes on {worst}, {count(worst)} ({missed.loc[worst, 'error rate']:.0%})"
            + ("." if most == worst else f", and the largest number on {most}, {count(most)}.")]


def near_threshold(near: pd.DataFrame) -> Verdicts:
    """Do the busy rule's mistakes lie nearer its threshold? Each side alone, and both pooled, in standard errors.

    Parameters
    ----------
    near : DataFrame
        :func:`xfashion.training.busy_threshold_distance`.
    """
    good, clash = near.loc["good outfits"], near.loc["busy clashes"]
    # one test for both sides: the two differences pooled, each weighted by its share of the mistakes
    sides = near.dropna(subset=["standard error"])
    weight = sides["misjudged"] / sides["misjudged"].sum()
    pooled, pooled_se = (weight * sides["difference"]).sum(), ((weight * sides["standard error"]) ** 2).sum() ** 0.5
    claims = {"the outfits the scorer misjudges on the busy rule, false alarms and missed clashes together, lie nearer "
              "the busy threshold than those it judges right, by more than two standard errors":
              pooled > 2 * pooled_se}
    alone = lambda row: ("clear on its own" if row["difference"] > 2 * row["standard error"] else  # noqa: E731
                         f"too few ({int(row['misjudged'])}) to tell on their own")
    return Verdicts(claims, [
        f"Good outfits the scorer calls bad have their second-busiest garment {good['distance, misjudged']:.2f} of the "
        f"threshold away from it on average, against {good['distance, judged right']:.2f} for those it judges right, "
        f"a difference of {good['difference'] / good['standard error']:.1f} standard errors: {alone(good)}.",
        f"The busy clashes it misses lie {clash['distance, misjudged']:.2f} from the threshold, those it catches "
        f"{clash['distance, judged right']:.2f} ({clash['difference'] / clash['standard error']:.1f} standard errors "
        f"apart, from {int(clash['misjudged'])} misses: {alone(clash)}).",
        f"Pooled, each side weighted by its share of the mistakes, the misjudged outfits lie {pooled:.2f} of the "
        f"threshold nearer to it than those judged right, {pooled / pooled_se:.1f} standard errors."])


def leave_one_out_sentence(outfit: int, logit: float, without, redyed, name: str) -> str:
    """One outfit's leave-one-out and re-dye, worked by hand in chapter 03, in two sentences.

    ``logit`` is the outfit's logit, ``without[k]`` its logit with item ``k`` left out, ``redyed[c]`` its logit
    with the objected item (the largest ``without``), ``name`` (e.g. "beige Coat"), in palette colour ``c``.
    """
    without, redyed = np.asarray(without, dtype=float), np.asarray(redyed, dtype=float)
    p, kind = int(np.argmax(without)), name.split(" ", 1)[-1]
    each = ", ".join(f"{w:+.2f}" for w in without[:-1]) + f" and {without[-1]:+.2f}"
    said = (f"Test outfit {outfit} scores {logit:+.2f}; with each of its items left out in turn (items 0 to "
            f"{len(without) - 1}) it scores {each}. ")
    if without[p] <= logit:
        return said + "No item's absence raises the logit, so the outfit names no item the scorer objects to."
    best = int(np.argmax(redyed))
    return (said + f"Without item {p}, the {name}, the logit rises most ({without[p] - logit:+.2f}): that is the item "
            f"the scorer objects to. Re-dyed in the {len(redyed)} palette colours, the {kind} gives logits from "
            f"{redyed.min():+.2f} to {redyed.max():+.2f} ({COLOR_NAMES[best]}), "
            + ("so a colour alone turns the outfit good." if redyed[best] > 0 else "none of them above zero."))


def history_sentence(history: list) -> str:
    """What a training run's curves show (:attr:`xfashion.training.TrainResult.history`), in one sentence."""
    h = pd.DataFrame(history).set_index("epoch")
    kept, lowest = int(h["val_auc"].idxmax()), int(h["val_loss"].idxmin())
    apart = ("" if kept == lowest else " Early stopping watches the AUC, not the loss: the AUC only ranks outfits, the "
             "loss also charges confident mistakes, so the two can peak a few epochs apart.")
    return (f"The training loss falls from {h['train_loss'].iloc[0]:.3f} to {h['train_loss'].iloc[-1]:.3f} over "
            f"{len(h)} epochs; the validation loss is lowest at epoch {lowest} ({h['val_loss'].min():.3f}) and ends at "
            f"{h['val_loss'].iloc[-1]:.3f}, and the validation AUC peaks at epoch {kept} ({h['val_auc'].max():.4f}), "
            "the weights kept." + apart)


def logit_sentence(logits: dict, oracle_label) -> str:
    """Per scorer, the median logit of good and of bad test outfits and how many lie on the wrong side of zero."""
    good, parts = np.asarray(oracle_label) > 0, []
    for name, z in logits.items():
        z = np.asarray(z, dtype=float)
        wrong = int(((z > 0) != good).sum())
        parts.append(f"{name} {np.median(z[good]):+.1f} and {np.median(z[~good]):+.1f}, {wrong}")
    return (f"The median logit of good and of bad test outfits, and how many of the {len(good):,} lie on the wrong "
            "side of zero: " + "; ".join(parts) + ". An outfit on the wrong side of the dashed line is a mistake: a "
            "good outfit left of it, a bad one right of it.")
