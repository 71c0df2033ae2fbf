"""The book's finale: chapter 09's picture-to-remember sentence, and its "What the book showed", the take-aways of
chapters 01-06 and 09 measured on one data seed in a few seconds."""
from __future__ import annotations

import numpy as np

from ..evaluate.sentences import rule_name
from ..opaque import share


def _se(hits) -> float:
    return share(hits)[1]


def book_findings(wb, t, one, posthoc) -> tuple:
    """The take-aways of chapters 01-06 and 09 on this data seed (IFIV on up to 200 bad test outfits, as chapter 04
    takes them; the swap test on this chapter's cases ``t``, with ``book_hit``). Returns ``(facts, text)``: the numbers
    the chapter's claims check (``auc``, ``weakest`` rule, ``ifiv_blamed``, ``blamed_se``, ``chance``, ``captum``)
    and a Markdown list, one line per chapter."""
    from ..analysis import color_invariance
    from ..evaluate import explain_all, oracle_agreement, oracle_blame_tensor
    from ..rules import DEFAULT_RULES
    from ..training import evaluate_scorer

    test = wb.splits["test"]
    bad = np.flatnonzero(test.oracle_label == 0)[:200]
    attr = explain_all(wb, bad, methods=["ifiv", "input_x_gradient"], progress=False)
    blame = oracle_blame_tensor(wb.catalog, test, bad)
    blamed, sizes = (blame.sum(-1) > 0).sum(1).numpy(), (test.items[bad] >= 0).sum(1)
    scorer = evaluate_scorer(wb.model, wb.catalog, wb.splits, wb.feats)
    hit = oracle_agreement({"ifiv": attr["ifiv"]}, blame).item_hit["ifiv"]
    facts = {"auc": scorer["auc"], "ifiv_blamed": float(hit),
             "chance": float((blamed / sizes).mean()),  # a culprit drawn at random: the share of blamed items
             "captum": float((attr["ifiv"].values - attr["input_x_gradient"].values).abs().max())}
    caught = {r: v for r, v in scorer["per_rule_accuracy"].items() if r != "(good outfits)"}  # clashes caught
    weakest = facts["weakest"] = min(caught, key=caught.get)
    facts["blamed_se"] = float(np.sqrt(facts["ifiv_blamed"] * (1 - facts["ifiv_blamed"]) / len(bad)))  # binomial
    lines = [f"The stylist's {len(DEFAULT_RULES.names)} rules label every outfit and blame the items that break "
             f"them: {blamed.mean():.1f} of the {sizes.mean():.1f} items of a bad test outfit, on average ({len(bad)} "
             "outfits).",
             "Re-dyeing an item in every colour of the palette moves its shape-texture embedding by at most "
             f"{color_invariance(wb.feats.extractor, wb.catalog):.1e} of its length.",
             f"The book's scorer: test AUC {facts['auc']:.3f}; fill in the blank {scorer['fitb_accuracy']:.1%} right; "
             f"the rule whose clashes it catches least often is {rule_name(weakest)}, {caught[weakest]:.1%} of them, "
             f"against at least {min(v for r, v in caught.items() if r != weakest):.1%} of every other rule's.",
             f"IFIV's culprit item is one the stylist blames in {facts['ifiv_blamed']:.1%} of those {len(bad)} "
             f"outfits; chance (a random item) is {facts['chance']:.1%}, the share of blamed items.",
             f"IFIV equals Captum's InputXGradient summed per group: on those outfits the largest difference is "
             f"{facts['captum']:.2g} logits.",
             f"The book's scorer's IFIV finds the swapped item in {t.book_hit.mean():.1%} of this chapter's {len(t)} "
             f"swap cases (chance {t.chance.mean():.1%}).",
             f"IFIV on named groups gives the stylist's why in {one.group_hit.mean():.1%} of {len(one)} cases; the "
             f"embedding's dimensions named after the fact, {posthoc.mean():.1%} (chance 50%)."]
    return facts, "On this data seed:\n\n" + "\n".join(f"* **{n}** {line}" for n, line in
                                                         zip(("01", "02", "03", "04", "05", "06", "09"), lines))


def picture_sentence(t, one, book_why, posthoc) -> str:
    """What the key figure's last two questions show on this run: which small scorer finds more recoloured items
    (``t``: the comparison table with ``book_hit``), and the book's scorer's why (``book_why``) against the small
    interpretable scorer's (``one``: the cases with one faulted group) and the after-the-fact naming (``posthoc``)."""
    col = (t.kind == "color").to_numpy()
    lead = (t.opaque_hit - t.interpretable_hit.astype(float))[col]  # > 0: the opaque scorer finds it, the other not
    gain, why = t.book_hit - t.interpretable_hit.astype(float), book_why.astype(float) - one.group_hit.to_numpy()
    z, z_lead, z_item = (float(d.mean() / _se(d)) if _se(d) > 0 else 0.0 for d in (why, lead, gain))  # 0: no spread
    ahead = ("the interpretable scorer finds the swapped item more often", "both small scorers find the swapped item "
             "as often", "the opaque scorer finds the swapped item more often")[int(np.sign(lead.mean())) + 1]
    order = "the reverse of" if np.sign(lead.mean()) != np.sign(t.opaque_hit.mean() - t.interpretable_hit.mean()) \
        else "the same as"
    item = "buy the book's scorer *which item*" if z_item >= 2 else "buy the book's scorer no firm lead on *which item*"
    better = ("its why is right a little less often" if z <= -2 else
              "its why is right as often" if z < 2 else "its why is right more often")
    return (f"On this run's {col.sum()} colour swaps {ahead} ({t.opaque_hit[col].mean():.0%} opaque, "
            f"{t.interpretable_hit[col].mean():.0%} interpretable; {abs(z_lead):.1f} standard errors of the paired "
            f"difference, {'within two, so no firm order' if abs(z_lead) < 2 else 'more than two'}), {order} their "
            f"order over every case; the book's scorer finds it in {t.book_hit[col].mean():.0%}. On the why, the "
            f"book's scorer names the stylist's group in {book_why.mean():.0%} of the {len(one)} cases, "
            f"{why.mean():+.2f} against the small interpretable scorer ({z:+.1f} standard errors of the paired "
            f"difference) and {book_why.mean() - posthoc.mean():+.2f} against the embedding's dimensions named after "
            f"the fact. Over every case more outfits {item} ({t.book_hit.mean():.0%} against "
            f"{t.interpretable_hit.mean():.0%}, {z_item:+.1f} standard errors), and {better}: both read the why off "
            "the same named groups.")
