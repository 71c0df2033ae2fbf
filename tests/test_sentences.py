"""Sentences and findings computed from outputs (chapters 06 and 08): the numbers they say are the data's."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from xfashion.evaluate import findings
from xfashion.evaluate.sentences import listing, rule_name


def test_listing_joins_words_as_a_sentence_and_refuses_none():
    assert listing(["a"]) == "a"
    assert listing(["a", "b"]) == "a and b"
    assert listing(["a", "b", "c"], "or") == "a, b or c"
    assert rule_name("season_clash") == "season clash"
    with pytest.raises(ValueError, match="at least one word"):
        listing([])


def test_share_se_is_the_mean_and_its_standard_error():
    mean, se = findings.share_se([1, 0, 1, 1])
    assert mean == 0.75 and se == pytest.approx(np.std([1, 0, 1, 1], ddof=1) / 2)


def test_distinct_examples_take_each_kind_from_an_outfit_no_earlier_pick_used():
    # the first colour and the first item case start from outfit 7: the item example moves to its next case
    cases = SimpleNamespace(kind=np.array(["color", "color", "item", "item", "shape_texture"]),
                            outfit=np.array([7, 8, 7, 9, 8]))
    assert findings.distinct_examples(cases) == [0, 3, 4]
    assert len({int(cases.outfit[c]) for c in findings.distinct_examples(cases)}) == 3
    # a kind whose every case reuses a picked outfit is left out rather than repeated
    assert findings.distinct_examples(SimpleNamespace(kind=np.array(["color", "item"]), outfit=np.array([1, 1]))) == [0]


def _swap_report(ifiv_hits, drops, sizes, kinds):
    n = len(drops)
    rows = []
    for m, hits in [("ifiv", ifiv_hits), ("feature_ablation", [1] * n), ("random", [0] * n)]:
        rows.append(pd.DataFrame({"method": m, "seed": 0, "case": range(n), "drop": drops, "size": sizes,
                                  "kind": kinds, "item_top1": hits}))
    return SimpleNamespace(per_case=pd.concat(rows, ignore_index=True), config={"margin": 0.5})


def test_margin_findings_read_the_median_drop_and_the_lead_on_the_largest_drops():
    drops = np.arange(1.0, 21.0)  # 20 cases; the top tenth (drop >= 18.1) holds the last two, both colour swaps
    kinds = ["item"] * 18 + ["color"] * 2
    report = _swap_report([1] * 18 + [0, 0], drops, [4] * 20, kinds)
    facts, said = findings.margin_findings(report)
    assert facts["median_drop"] == 10.5
    assert facts["curve"]["ifiv"].tolist() == [0.9, 0.8, 0.0]
    assert facts["lead_change"] == pytest.approx(-0.9)  # chance 0.25 on every cut: 0.65 -> -0.25
    text = " ".join(said)
    assert "10.5 logits, 21 times the margin. Over every case" in text and "IFIV finds" in text
    assert "harder" in text and "100% colour swaps" in text


def test_sanity_findings_judge_only_methods_whose_lead_clears_their_binomial_error():
    sanity = pd.DataFrame({"trained model": [0.8, 0.30, 0.7, 0.3], "randomised model": [0.4, 0.28, 0.3, 0.25]},
                          index=["ifiv", "saliency", "grad_cam", "random"])
    # random's cases: scorer seed 0 has 40 two-item outfits (the check re-explains 20), seed 1 400 five-item ones
    # (it re-explains 100, the cap): a random ranking's level on the re-explained cases is (20 / 2 + 100 / 5) / 120
    per_case = pd.DataFrame({"method": "random", "seed": [0] * 40 + [1] * 400,
                             "case": [*range(40), *range(400)], "size": [2] * 40 + [5] * 400})
    report = SimpleNamespace(sanity=sanity, sanity_cases=pd.Series(300.0, index=sanity.index),
                             random_expected={"item_top1": 0.25}, per_case=per_case, config={"sanity_cases": 100})
    facts, said = findings.sanity_findings(report)
    # ifiv: lead 0.55 against a standard error of 0.023; saliency: 0.05 < 3 x 0.026; Grad-CAM reads pictures
    assert facts["clear"] == ["ifiv"] and facts["pictures"] == ["grad_cam"] and facts["weak"] == []
    assert facts["trained"]["ifiv"] == pytest.approx(0.55) and facts["left"]["ifiv"] == pytest.approx(0.15)
    assert "IFIV's goes from +0.550 to +0.150" in said[0] and "Grad-CAM" in said[0]
    assert said[-1].startswith("Not detecting, so not judged: saliency and random")
    # random: 0.30 and 0.25 on 300 cases each, a difference of 0.05 over a standard error of 0.0364
    assert "0.300 and 0.250, are two random rankings" in said[-2] and "expected level on those cases is 0.250" \
        in said[-2]
    assert "1.4 standard errors apart" in said[-2]
    # random draws each case's noise from its content, so the same cases rank alike on both scorers: one bar;
    # the chance of the 120 re-explained cases has a standard error of sqrt(20 x 0.25 + 100 x 0.16) / 120 = 0.038
    report.sanity.loc["random", "randomised model"] = 0.3
    said = findings.sanity_findings(report)[1]
    assert "its two bars are one, 0.300, where a random ranking's expected level on those cases is 0.250 " \
           "(+1.3 standard errors)" in said[-2]


def _pair_report(implied, removal, rules):
    n = len(rules)
    rows = [pd.DataFrame({"method": m, "seed": 0, "case": range(n), "rule": rules, "clash_top1": v, "n_pairs": 3})
            for m, v in [(findings.IMPLIED, implied), ("pair_removal", removal), ("oracle", [1] * n),
                         ("random_pairs", [0] * n)]]
    per_case = pd.concat(rows, ignore_index=True)
    summary = pd.DataFrame({"clash_top1": per_case.groupby("method").clash_top1.mean()})
    return SimpleNamespace(per_case=per_case, summary=summary, config={"methods": ["pair_removal", "random_pairs"]})


def test_the_duel_pairs_the_implied_pair_with_each_pair_method_case_by_case_and_splits_by_rule():
    rules = ["hue_clash"] * 40 + ["neutral_clash"] * 40
    implied = [1] * 40 + [0] * 30 + [1] * 10  # ahead on hue clashes, behind on neutral ones
    removal = [0] * 30 + [1] * 10 + [1] * 40
    report = _pair_report(implied, removal, rules)
    duel = findings.implied_duel(report)
    assert duel.loc["pair_removal", "implied - pair method"] == pytest.approx(0.0)
    assert duel.loc["pair_removal", "cases"] == 80
    facts, said = findings.duel_findings(report)
    assert facts["ahead"] == [] and facts["behind"] == []
    assert said[0].startswith("**No:") and "62.5%" in said[1] and "chance 33.3%" in said[1]
    rules_facts, rule_said = findings.rule_findings(report)
    lead = rules_facts["lead"]
    assert lead.loc["pair_removal", "hue_clash"] == pytest.approx(0.75 / np.sqrt(0.75 * 0.25 * 40 / 39 / 40))
    assert lead.loc["pair_removal", "neutral_clash"] < -2
    assert "on hue clashes, the implied pair ahead of pair removal" in rule_said[0]
    assert "on neutral clashes, pair removal" in rule_said[0]
    assert rules_facts["by_rule"].loc["chance (one over the pairs)"].tolist() == pytest.approx([1 / 3, 1 / 3])
