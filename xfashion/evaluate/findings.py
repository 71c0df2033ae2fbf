"""What chapters 06 and 08 find on their run: the numbers their claims check and the sentences they say.

Each function takes a finished report and returns ``(facts, sentences)``: ``facts`` a dict of the numbers a
chapter's ``xf.claim`` lines check, ``sentences`` what ``xf.say`` prints. Nothing here keys a cache, so
rewording a sentence recomputes nothing.
"""
from __future__ import annotations

import timeit

import numpy as np
import pandas as pd

from ..data import CATEGORIES
from ..explain import attribute, get_method
from ..explain.pairs import attribute_pairs
from ..scorer import score
from .metrics import method_name
from .oracle import faulted_pairs
from .sentences import kind_name, listing, rule_name

IMPLIED = "feature_ablation (two lowest items)"  # the pair implied by feature ablation: chapter 08's yardstick
PAIR_NAMES = {"second_order_ifiv": "second-order IFIV", "pair_removal": "pair removal",
              "shapley_interaction": "the Shapley interaction index", "integrated_hessians": "Integrated Hessians"}


def share_se(hits) -> tuple:
    """A share of cases (one 0/1 value per case, ties as fractions) and its standard error."""
    hits = np.asarray(hits, dtype=float)
    return float(hits.mean()), float(hits.std(ddof=1) / np.sqrt(len(hits)))


# ----------------------------------------------------------------------------------------------- chapter 06
def distinct_examples(cases) -> list:
    """The first case of each swap kind whose good outfit no earlier pick started from: three different outfits."""
    picks, used = [], set()
    for kind in dict.fromkeys(cases.kind.tolist()):
        free = [c for c in np.flatnonzero(cases.kind == kind) if int(cases.outfit[c]) not in used]
        if free:
            picks.append(int(free[0]))
            used.add(int(cases.outfit[free[0]]))
    return picks


def margin_curve(per_case: pd.DataFrame, margins, methods) -> pd.DataFrame:
    """Item top-1 of each method over the kept cases whose logit dropped by at least each margin (rows), the
    share of cases kept (column ``kept``) and their number (``cases``), chance on them (``chance``: the mean of
    1 / outfit size, which moves as the margin keeps other outfits); NaN where no case is left."""
    first = per_case[per_case.method == methods[0]]
    drop, size = first["drop"].to_numpy(), first["size"].to_numpy(dtype=float)
    out = {"kept": [float((drop >= t).mean()) for t in margins], "cases": [int((drop >= t).sum()) for t in margins],
           "chance": [float((1 / size[drop >= t]).mean()) if (drop >= t).any() else np.nan for t in margins]}
    for m in methods:
        mine = per_case[per_case.method == m]
        out[m] = [float(mine.loc[mine["drop"] >= t, "item_top1"].mean()) if (mine["drop"] >= t).any() else np.nan
                  for t in margins]
    return pd.DataFrame(out, index=pd.Index(np.round(margins, 2), name="margin (logits)"))


def margin_findings(report) -> tuple:
    """IFIV, feature ablation and random over every case, the half and the tenth with the largest logit drops.

    Returns
    -------
    facts : dict
        ``median_drop`` (logits), ``margin``, ``curve`` (:func:`margin_curve` at the three cuts) and
        ``lead_change`` (IFIV's lead over chance on the top tenth minus on every case) with ``lead_se``.
    sentences : list of str
    """
    margin = report.config["margin"]
    drop = report.per_case[report.per_case.method == "ifiv"]
    cuts = {"every case": margin, "the half with the larger drops": drop["drop"].median(),
            "the tenth with the largest drops": drop["drop"].quantile(0.9)}
    curve = margin_curve(report.per_case, list(cuts.values()), ["ifiv", "feature_ablation", "random"])
    lead = curve["ifiv"] - curve["chance"]
    top_rate, n_top = curve["ifiv"].iloc[-1], int(round(curve["kept"].iloc[-1] * len(drop)))
    lead_se = float(np.sqrt(top_rate * (1 - top_rate) / n_top))  # binomial, of IFIV's rate on the top tenth
    change = float(lead.iloc[-1] - lead.iloc[0])
    easier = "about as easy" if abs(change) < 2 * lead_se else "harder" if change < 0 else "easier"
    top = drop[drop["drop"] >= cuts["the tenth with the largest drops"]].kind.value_counts(normalize=True)
    kinds = drop.kind.value_counts(normalize=True)
    ifiv_on = drop[drop.kind == top.index[0]].item_top1.mean()
    rows = [f"over {name} (a margin of {t:.1f} logits, {row['kept']:.0%} of the cases), IFIV finds the swapped "
            f"item in {row['ifiv']:.0%}, feature ablation in {row['feature_ablation']:.0%}, random in "
            f"{row['random']:.0%} (chance {row['chance']:.0%})" for name, (t, row) in zip(cuts, curve.iterrows())]
    said = [f"The median swap lowers the logit by {drop['drop'].median():.1f} logits, "
            f"{drop['drop'].median() / margin:.0f} times the margin. O" + "; ".join(rows)[1:] + ".",
            f"IFIV's lead over chance is {lead.iloc[0]:+.2f} on every case and {lead.iloc[-1]:+.2f} on the tenth with "
            f"the largest drops (a standard error of {lead_se:.2f}): on this data seed the swaps that hurt the score "
            f"most are {easier} for IFIV to explain {'as' if easier == 'about as easy' else 'than'} the average case. "
            f"That tenth is {top.iloc[0]:.0%} {kind_name(top.index[0])} swaps (of all cases: "
            f"{kinds[top.index[0]]:.0%}), where IFIV's item top-1 is {ifiv_on:.2f}: a margin chooses the mix of "
            "cases as much as their difficulty."]
    return {"median_drop": float(drop["drop"].median()), "margin": margin, "curve": curve,
            "lead_change": change, "lead_se": lead_se}, said


def random_level_se(report) -> float:
    """The standard error of random's item top-1 (the mean of the seeds' means) from its own per-case values."""
    by_seed = report.per_case[report.per_case.method == "random"].groupby("seed").item_top1
    return float(np.sqrt((by_seed.var() / by_seed.count()).sum()) / by_seed.ngroups)


def headline_sentence(report) -> str:
    """IFIV against feature ablation (and IG, saliency) by item top-1 on this run, with the seed-to-seed spread."""
    s = report.summary
    top = s["item_top1"].astype(float)
    spread = s.loc[["ifiv", "feature_ablation", "random"], "item_top1_sd"].astype(float).max()
    lead = top["feature_ablation"] - top["ifiv"]
    return (f"On this data seed, by item top-1, IFIV finds the swapped item in {top['ifiv']:.1%} of the cases and "
            f"feature ablation in {top['feature_ablation']:.1%} (chance {report.random_expected['item_top1']:.1%}): "
            + ("a tie" if abs(lead) < 5e-4 else f"{'ablation' if lead > 0 else 'IFIV'} leads by {abs(lead):.3f}")
            + f", where the largest seed-to-seed sd is {spread:.3f}; Integrated Gradients "
            f"{top['integrated_gradients']:.1%}, saliency {top['saliency']:.1%}.")


def sanity_findings(report) -> tuple:
    """What the randomised scorer leaves of each method's lead over chance (a random ranking's expected item
    top-1), with binomial errors.

    A method *detects* when its lead on the trained scorer exceeds 3 standard errors of its share, and
    *clearly* when it exceeds 6; ``pictures`` are the methods that read the images through the shape-texture
    CNN, which the check leaves trained.

    Returns
    -------
    facts : dict
        ``clear``, ``pictures``, ``weak`` (lists of methods), ``trained`` and ``left`` (each method's lead on the
        trained and the randomised scorer) and ``drop_se`` (the standard error of their difference).
    sentences : list of str
    """
    rand = report.random_expected["item_top1"]
    lead = report.sanity - rand
    p = report.sanity.clip(0.01, 0.99)
    se = np.sqrt(p * (1 - p)).div(np.sqrt(report.sanity_cases.reindex(lead.index)), axis=0)
    detects = list(lead.index[(lead["trained model"] > 3 * se["trained model"]) & (lead.index != "random")])
    trained, left = lead["trained model"], lead["randomised model"]
    drop_se = np.sqrt(se["trained model"] ** 2 + se["randomised model"] ** 2)
    pictures = [m for m in detects if get_method(m).traits.needs_images]
    clear = [m for m in detects if m not in pictures and trained[m] > 6 * se.loc[m, "trained model"]]
    weak = [m for m in detects if m not in clear + pictures + ["saliency"]]  # saliency: said on its own
    kept = (left / trained)[clear]
    sal = lead.loc["saliency"]
    said = [f"On the randomised scorer the {len(clear)} methods that read the scorer's features and detect clearly "
            f"keep between {kept.min():.0%} ({method_name(kept.idxmin())}) and {kept.max():.0%} "
            f"({method_name(kept.idxmax())}) of their lead over chance" + (" (below zero: under chance)" if
                                                                            kept.min() < 0 else "")
            + f"; IFIV's goes from {trained['ifiv']:+.3f} to {left['ifiv']:+.3f}."
            + "".join(f" {method_name(m)}, which reads the pictures through the trained CNN, goes from "
                      f"{trained[m]:+.3f} to {left[m]:+.3f}." for m in pictures)]
    if weak:
        said.append("Detecting, but by under six standard errors, so not in the claim: " + ", ".join(
            f"{method_name(m)} ({trained[m]:+.3f} -> {left[m]:+.3f})" for m in weak) + ".")
    said.append(f"Saliency's lead is {sal['trained model']:+.3f} on the trained scorer and "
                f"{sal['randomised model']:+.3f} on the randomised one" + (
                    ": it finds the swapped item more often on the randomised scorer." if
                    sal["randomised model"] > sal["trained model"] else "."))
    r_on, r_off = report.sanity.loc["random", "trained model"], report.sanity.loc["random", "randomised model"]
    chance = _sanity_chance(report)  # each re-explained case's chance, 1 / its number of items
    apart, level = abs(r_on - r_off) / drop_se["random"], chance.mean()
    se_level = np.sqrt((chance * (1 - chance)).sum()) / len(chance)
    if r_on == r_off:  # the same cases draw the same noise, whichever scorer is explained
        said.append(f"Random reads neither scorer and draws its noise from each case's own content, so it ranks the "
                    f"re-explained cases alike on both: its two bars are one, {r_on:.3f}, where a random ranking's "
                    f"expected level on those cases is {level:.3f} ({(r_on - level) / se_level:+.1f} standard errors).")
    else:
        said.append(f"Random reads neither scorer: its two bars, {r_on:.3f} and {r_off:.3f}, are two random rankings "
                    f"of the same re-explained cases, {apart:.1f} standard errors apart, where a random ranking's "
                    f"expected level on those cases is {level:.3f}.")
    said.append("Not detecting, so not judged: " + listing([method_name(m) for m in lead.index if m not in detects])
                + " (a lead on the trained scorer under three standard errors of its share).")
    return {"clear": clear, "pictures": pictures, "weak": weak, "trained": trained, "left": left,
            "drop_se": drop_se}, said


def _sanity_chance(report) -> np.ndarray:
    """A random ranking's expected item top-1 on each case the sanity check re-explained for random."""
    from .runner import spread

    rows = report.per_case[report.per_case.method == "random"].sort_values(["seed", "case"])
    cap, chance = report.config["sanity_cases"], []
    for _, one in rows.groupby("seed"):
        chance.append(1 / one["size"].to_numpy(float)[spread(len(one), min(cap, max(10, len(one) // 2)))])
    return np.concatenate(chance)


# ----------------------------------------------------------------------------------------------- chapter 08
def implied_duel(report, rule: str | None = None) -> pd.DataFrame:
    """Each pair method against the pair implied by feature ablation, by ``clash_top1`` on the cases both judged
    (of one ``rule``, or all): their shares, the difference (> 0: the implied pair ahead), its standard error
    and ``z``, the difference in standard errors (NaN where every difference is equal)."""
    by_case = report.per_case.pivot_table(index=["seed", "case", "rule"], columns="method", values="clash_top1")
    rows = {}
    for m in (m for m in report.config["methods"] if m != "random_pairs"):
        both = by_case[[m, IMPLIED]].dropna()
        both = both if rule is None else both.xs(rule, level="rule")
        diff = both[IMPLIED] - both[m]
        se = diff.std(ddof=1) / np.sqrt(len(diff))
        rows[m] = {"cases": len(both), "pair method": both[m].mean(), "implied pair": both[IMPLIED].mean(),
                   "implied - pair method": diff.mean(), "standard error": se,
                   "z": diff.mean() / se if se > 0 else np.nan}
    return pd.DataFrame(rows).T.astype(float)


def duel_findings(report) -> tuple:
    """Chapter 08's answer over all clashes: does any pair method beat the implied pair, by ``clash_top1``?

    Returns
    -------
    facts : dict
        ``duel`` (:func:`implied_duel`), ``ahead`` / ``behind`` (pair methods ahead of / behind the implied
        pair by more than two standard errors of the paired difference), ``best`` (the best pair method) and
        ``top`` (every method's ``clash_top1``).
    sentences : list of str
    """
    duel = implied_duel(report)
    top = report.summary.clash_top1.astype(float)
    ahead, behind = list(duel.index[duel.z < -2]), list(duel.index[duel.z > 2])
    best = top[list(duel.index)].idxmax()
    oracle = report.per_case[report.per_case.method == "oracle"]
    chance = float((1 / oracle.n_pairs).mean())
    said = [("**No: over all clashes, no pair method beats the pair implied by feature ablation on this run.**"
             if not ahead else f"**Yes: over all clashes, {listing([PAIR_NAMES[m] for m in ahead])} beat"
             f"{'s' if len(ahead) == 1 else ''} the pair implied by feature ablation on this run.**"),
            f"Feature ablation's two lowest items find the faulted pair in {top[IMPLIED]:.1%} of "
            f"{len(oracle):,} cases; the best pair method, {PAIR_NAMES[best]}, in {top[best]:.1%}; a random pair in "
            f"{top['random_pairs']:.1%} (chance {chance:.1%}).",
            f"On the cases both judged, the implied pair is ahead of {len(behind)} of the {len(duel)} pair methods by "
            "more than two standard errors of the paired difference" + (
                f" (of every one, by {duel.z[behind].min():.1f} standard errors at least)." if
                len(behind) == len(duel) else ".")]
    return {"duel": duel, "ahead": ahead, "behind": behind, "best": best, "top": top, "chance": chance}, said


def rule_findings(report) -> tuple:
    """The same duel rule by rule, and ``clash_top1`` of every method by rule beside chance.

    Returns
    -------
    facts : dict
        ``lead``: pair methods x rules, the implied pair's lead in standard errors of the paired difference
        (> 0: the implied pair ahead); ``by_rule``: methods x rules, ``clash_top1``, with a chance row.
    sentences : list of str
    """
    by_rule = report.per_case.groupby(["method", "rule"]).clash_top1.mean().unstack()
    oracle = report.per_case[report.per_case.method == "oracle"]
    by_rule.loc["chance (one over the pairs)"] = (1 / oracle.n_pairs).groupby(oracle.rule).mean()
    lead = pd.DataFrame({r: implied_duel(report, r).z for r in by_rule.columns})

    def verdict(r):
        won, lost = lead.index[lead[r] < -2], lead.index[lead[r] > 2]
        parts = [listing([f"{PAIR_NAMES[m]} ({-lead.loc[m, r]:.1f})" for m in won]) + " ahead of the implied pair"
                 ] if len(won) else []
        parts += ["the implied pair ahead of " + listing([f"{PAIR_NAMES[m]} ({lead.loc[m, r]:.1f})" for m in lost])
                  ] if len(lost) else []
        even = [PAIR_NAMES[m] for m in lead.index.difference(won.union(lost))]
        parts += [listing(even) + " within two standard errors of it"] if even else []
        return f"on {rule_name(r)}es, " + "; ".join(parts)
    said = ["**By rule the answer splits.** The implied pair against each pair method on the cases of one rule that "
            "both judged, in standard errors of the paired difference: "
            + "; ".join(verdict(r) for r in by_rule.columns) + "."]
    return {"lead": lead, "by_rule": by_rule}, said


def removal_logits(wb, outfit, i: int, j: int) -> list:
    """The logits of a one-outfit batch as it is, with the mean item in place of item ``i``, of ``j``, of both."""
    out = []
    for items in [(), (i,), (j,), (i, j)]:
        feats = {g: v.clone() for g, v in outfit.features.items()}
        for g in wb.model.groups.names:
            feats[g][0, list(items)] = wb.means[g].to(feats[g].dtype)
        out.append(float(score(wb.model, outfit.with_features(feats))[0]))
    return out


def pair_view_examples(wb) -> tuple:
    """Two test outfits that break exactly one pair rule: the first whose faulted pair pair removal names
    (its lowest pair, with a negative value), and the first it misses (either falls back to the first such
    outfit)."""
    test = wb.outfits("test")
    faulted = [faulted_pairs(wb.catalog, test.outfit(i), wb.catalog.color[test.outfit(i)]) for i in range(len(test))]
    single = [i for i, f in enumerate(faulted) if len(f) == 1]
    if not single:
        raise ValueError("no test outfit breaks exactly one pair rule; build the workbench on more test outfits")
    view = attribute_pairs(wb.model, wb.batch(single), "pair_removal", **wb.options())
    lowest = view.lowest()
    # named: the lowest pair is the faulted one and lowers the score (the view frames only a negative value)
    named = [sorted(lowest[k].tolist()) == sorted(faulted[i][0][:2]) and float(view.values[k, a, b]) < 0
             for k, (i, (a, b)) in enumerate(zip(single, lowest.tolist()))]
    hit = next((i for i, ok in zip(single, named) if ok), single[0])
    miss = next((i for i, ok in zip(single, named) if not ok), single[-1])
    return hit, miss


def pair_view_sentences(wb, index: int) -> list:
    """What pair removal's view of test outfit ``index`` shows: the faulted pair, the lowest pair, and the four
    logits behind the faulted pair's interaction."""
    test = wb.outfits("test")
    items = test.outfit(index)
    si, sj, rule = faulted_pairs(wb.catalog, items, wb.catalog.color[items])[0]
    outfit = wb.batch([index])
    view = attribute_pairs(wb.model, outfit, "pair_removal", **wb.options())
    low = sorted(int(k) for k in view.lowest()[0])
    value = float(view.values[0, low[0], low[1]])
    logits = removal_logits(wb, outfit, si, sj)
    d_i, d_j, d_ij = (t - logits[0] for t in logits[1:])
    return [f"Test outfit #{index} breaks one pair rule ({rule_name(rule)}): the stylist faults items {si} and {sj}.",
            f"Pair removal's lowest pair is items {low[0]} and {low[1]} ({value:+.2f}): " + (
                "not the faulted pair." if low != sorted((si, sj)) else
                "the faulted pair, framed in black." if value < 0 else "the faulted pair.")
            + ("" if value < 0 else " Every pair value is positive (no pair lowers the score more than its items "
               "do alone), so no pair is framed as the culprit."),
            f"The logit is {logits[0]:+.2f}; the mean item in place of item {si} moves it by {d_i:+.2f}, in place of "
            f"item {sj} by {d_j:+.2f}, in place of both by {d_ij:+.2f}: the faulted pair's value is what the two "
            f"replacements do together beyond each alone, {d_ij:+.2f} - ({d_i:+.2f}) - ({d_j:+.2f}) = "
            f"{d_ij - d_i - d_j:+.2f}."]


def additive_findings(report, additive, seed: int) -> dict:
    """Second-order IFIV and pair removal on the additive scorer against the default one of the same scorer
    ``seed`` (each scorer draws its own cases), by ``clash_top1``: shares, standard errors and chance."""
    same = report.per_case[report.per_case.seed == seed]

    def on(frame, m):
        return share_se(frame.loc[frame.method == m, "clash_top1"])
    add_oracle = additive.per_case[additive.per_case.method == "oracle"]
    return {"so_add": on(additive.per_case, "second_order_ifiv"), "so_def": on(same, "second_order_ifiv"),
            "pr_add": on(additive.per_case, "pair_removal"), "pr_def": on(same, "pair_removal"),
            "chance": float((1 / add_oracle.n_pairs).mean()), "cases": len(add_oracle)}


def additive_sentence(facts: dict, seed: int) -> str:
    """One sentence on :func:`additive_findings`."""
    (so_add, so_add_se), (so_def, _), (pr_add, pr_add_se), (pr_def, _) = (
        facts[k] for k in ("so_add", "so_def", "pr_add", "pr_def"))
    close = so_add > pr_add - 2 * np.hypot(so_add_se, pr_add_se)
    return (f"On scorer seed {seed}, second-order IFIV finds the faulted pair in {so_add:.1%} of the additive "
            f"scorer's {facts['cases']} cases, against {so_def:.1%} on the default scorer and chance "
            f"{facts['chance']:.1%}; pair removal moves from {pr_def:.1%} to {pr_add:.1%}, so on the additive scorer "
            + ("second-order IFIV comes within two standard errors of it." if close else
               "the curvature at the outfit still misses much of what removing the pair shows."))


def cost_findings(wb, cost: pd.DataFrame) -> tuple:
    """Forward passes per outfit of each method of ``cost`` (:func:`~xfashion.evaluate.pairs.pair_cost`), counted by
    hooks on its batch, and pair removal's time against as many plain forward passes in a row.

    Returns
    -------
    cost : DataFrame
        ``cost`` with a ``forward passes`` column.
    sentences : list of str
    """
    test = wb.outfits("test")
    five = wb.batch(np.flatnonzero(test.mask.sum(1) == 5)[: cost.attrs["n_outfits"]])  # pair_cost's batch
    cost = cost.assign(**{"forward passes": [
        (attribute(wb.model, five, m) if m == "ifiv" else attribute_pairs(wb.model, five, m, **wb.options()))
        .forward_passes for m in cost.index]})
    passes = int(cost.loc["pair_removal", "forward passes"])
    took, ratio = cost.loc["pair_removal", ["seconds", "ratio_to_forward"]]
    in_a_row = min(timeit.repeat(lambda: [score(wb.model, five) for _ in range(passes)], number=1, repeat=3))
    return cost, [
        f"Pair removal makes {passes} forward passes per outfit; it took {took * 1e3:.1f} ms, and {passes} plain "
        f"forward passes of the same batch in a row took {in_a_row * 1e3:.1f} ms, " + (
            "so its time is its passes." if in_a_row >= 0.9 * took else
            f"so its passes are {in_a_row / took:.0%} of its time and the rest is building each pass's inputs."),
        f"Its ratio to one forward pass is {ratio:.1f}: passes in a row average {in_a_row / passes * 1e3:.2f} ms "
        f"each, against {took / ratio * 1e3:.2f} ms for the single timed pass" + (
            "." if abs(ratio / passes - 1) < 0.25 else ", and a pass of a few milliseconds timed alone on a shared "
            "CPU moves by that much: read the ratio as a rough pass count.")]


def texture_sentence(catalog, items) -> str:
    """What the texture under each picture of an outfit means for the stylist: the busy threshold, why an item
    above it need not be busy (shoes and bags never are), and which items are busy."""
    tex, thr = catalog.texture[items], catalog.busy_threshold
    names = [CATEGORIES[c] for c in catalog.category[items]]
    above = [i for i in range(len(items)) if tex[i] >= thr and not catalog.busy[items[i]]]
    busy = [names[i] for i in range(len(items)) if catalog.busy[items[i]]]
    said = (f"The texture under each picture is the print statistic the stylist's busy rule reads: a garment (a top, "
            f"bottom, dress or outer layer) counts as busy from a texture of {thr:.3f}, the catalog's threshold, while "
            "shoes and bags never do (a strap or a buckle is not a print).")
    if above:
        said += (f" The {' and the '.join(f'{names[i]} ({tex[i]:.3f})' for i in above)} "
                 f"{'lies' if len(above) == 1 else 'lie'} above the threshold without being busy for that reason.")
    return said + (f" Busy here: the {', the '.join(busy)}." if busy else " No item of this outfit is busy.")
