"""The sentences and tables chapters 03 and 05 compute from their outputs: hand-made inputs, known answers."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

from xfashion import analysis
from xfashion.evaluate import families
from xfashion.explain import Attribution

GROUPS = ["color", "shape_texture"]


def attribution(values, name="m", item_level=False):
    values = torch.tensor(values, dtype=torch.float32)
    return Attribution(values, torch.ones(values.shape[:2], dtype=torch.bool), name, GROUPS, item_level=item_level)


class Pairwise(torch.nn.Module):
    """The dot product of item 0's and item 1's colours: a pure interaction of two items."""

    def forward(self, features, slot, mask):
        c = features["color"]
        return (c[:, 0] * c[:, 1]).sum(-1) + 0 * features["shape_texture"].sum((1, 2))


def test_the_reference_effect_tells_an_interaction_with_the_outfit_from_one_with_the_reference():
    x = {"color": torch.tensor([[[1.0, 0.0], [1.0, 0.0]]]), "shape_texture": torch.zeros(1, 2, 1)}
    batch = type("B", (), {"features": x, "slot": torch.zeros(1, 2, dtype=torch.long),
                           "mask": torch.ones(1, 2, dtype=torch.bool)})()
    means = {"color": torch.tensor([0.0, 3.0]), "shape_texture": torch.zeros(1)}
    inside, at_ref = families.reference_effect(Pairwise(), batch, 0, 0, "color", means)
    # in the outfit item 0's colour (1, 0) meets item 1's (1, 0); at the reference it meets the mean (0, 3)
    assert inside == pytest.approx(1.0 - 0.0)
    assert at_ref == pytest.approx((1 * 0 + 0 * 3) - (0 * 0 + 3 * 3))


def test_the_reference_story_says_both_ends_and_lays_an_unblamed_culprit_on_the_reference():
    x = {"color": torch.tensor([[[1.0, 0.0], [1.0, 0.0]]]), "shape_texture": torch.zeros(1, 2, 1)}
    batch = type("B", (), {"features": x, "slot": torch.zeros(1, 2, dtype=torch.long),
                           "mask": torch.ones(1, 2, dtype=torch.bool)})()
    means = {"color": torch.tensor([0.0, 3.0]), "shape_texture": torch.zeros(1)}
    shapley = attribution([[[-4, 0], [1, 0]]])  # its lowest cell: item 0's colour
    blame = np.array([[0, 0], [0.5, 0]])  # the stylist blames item 1 only
    said = families.reference_story(Pairwise(), batch, 0, shapley, means, blame, ["red Shirt", "grey Trouser"])
    assert said.startswith("Exact Shapley's lowest cell is the colour of the red Shirt (item 0), -4.00")
    # in the outfit +1 (feature ablation's value); amid mean items (0, 3): 0 - 9; amid zeros: 0 - 0
    assert "by +1.00 logits (feature ablation's value); with all of them at the mean item, by -9.00" in said
    assert "(with all of them at zero, IG's starting point, by +0.00)" in said
    assert said.endswith("where that colour meets average items, not this outfit's items.")
    blame = np.array([[0.5, 0], [0, 0]])  # now the stylist blames the cell's item: no story about the reference
    assert "does not blame" not in families.reference_story(Pairwise(), batch, 0, shapley, means, blame,
                                                            ["red Shirt", "grey Trouser"])


def test_family_hits_give_rates_paired_gaps_and_distance_from_chance():
    # four outfits of two items, item 0 blamed in each; a hits everywhere, b on the first two
    blame = torch.zeros(4, 2, 2)
    blame[:, 0, 0] = 1
    good, bad = [[-1, 0], [0, 0]], [[0, 0], [-1, 0]]
    a, b = attribution([good] * 4), attribution([good, good, bad, bad])
    h = families.family_hits({"a": a, "b": b}, blame, ["colour only"] * 4, [2, 2, 2, 2])
    assert h.rate("a") == 1.0 and h.rate("b") == 0.5
    gap, se = h.gap("a", "b", "colour only")
    assert gap == 0.5 and se == pytest.approx(np.std([0, 0, 1, 1], ddof=1) / 2)
    assert h.chance["colour only"]["item_hit"] == 0.5  # one blamed item of two
    assert h.from_chance("a", "colour only") == pytest.approx(0.5 / np.sqrt(0.25 / 4))
    assert "shape-texture only" not in h.chance  # no such outfits


def test_the_largest_of_many_gaps_must_pass_bonferronis_bar():
    blame = torch.zeros(20, 2, 2)
    blame[:, 0, 0] = 1
    good, bad = [[-1, 0], [0, 0]], [[0, 0], [-1, 0]]
    family = ["colour only"] * 10 + ["shape-texture only"] * 10
    h = families.family_hits({"ifiv": attribution([good] * 20),
                              "integrated_gradients_mean": attribution([good] * 19 + [bad])}, blame, family, [2] * 20)
    said, z, bar = families.largest_gap(h, ["integrated_gradients_mean"])
    assert "The largest gap, IG from the mean item on the shape-texture-only outfits, is 1.0" in said  # the book's name
    assert bar == pytest.approx(2.2414, abs=1e-3)  # two gaps: the normal quantile of 1 - 0.05 / 4
    assert z == pytest.approx(1.0)  # m misses one of the ten shape-texture outfits: 0.1 over its SE 0.1
    assert "Bonferroni" in said and said.endswith("the split does not separate them from IFIV.")


def test_rule_families_split_colour_shape_texture_and_mixed():
    outfits = type("O", (), {"rules": [["hue_clash"], ["season_clash"], ["hue_clash", "busy_clash"]]})()
    assert families.rule_family(outfits, [0, 1, 2]).tolist() == ["colour only", "shape-texture only", "mixed"]


def by_rule_table(pair, pool):
    index = ["(good outfits)", "hue_clash", "neutral_clash", "too_many_colours", "season_clash", "busy_clash"]
    return pd.DataFrame({"pairwise (ours)": pair, "mean-pool, no interactions": pool}, index=index)


def test_compare_by_rule_checks_its_claims_with_margins():
    n = pd.Series([1000, 500, 300, 400, 400, 70], index=by_rule_table([0] * 6, [0] * 6).index)
    holds = analysis.compare_by_rule(by_rule_table([0.97, 0.99, 0.98, 0.98, 0.95, 0.72],
                                                   [0.80, 0.78, 0.56, 1.00, 0.98, 0.52]), n)
    assert all(holds.claims.values()) and len(holds.claims) == 6
    assert "mean-pool calls 20.0% of the good outfits bad, the pairwise model 3.0%" in holds.sentences[1]
    # a pooled model as good at hue clashes as the pairwise one breaks the colour-pair claim, and only it
    close = analysis.compare_by_rule(by_rule_table([0.97, 0.99, 0.98, 0.98, 0.95, 0.72],
                                                   [0.80, 0.98, 0.56, 1.00, 0.98, 0.52]), n)
    assert [c for c, ok in close.claims.items() if not ok] == [
        "on the pairwise colour rules the pairwise model catches at least as many clashes, and more hue clashes"]


def test_the_busy_reading_and_the_false_alarms_say_what_the_rule_and_the_scorer_see():
    errors = pd.DataFrame({"busy": [1, 2, 0, 0], "garments": [3, 3, 2, 2], "second_busiest": [0.87, 1.09, 0.5, 0.6],
                           "logit": [-3.43, 5.72, -2.0, -1.79]}, index=[922, 1569, 10, 896])
    assert analysis.busy_reading(errors, 922) == ("test outfit 922: 1 of its 3 garments is busy, the second-busiest "
                                                  "13% under the threshold, and the scorer gives it a logit of -3.43")
    objected = pd.DataFrame({"item": [3, 1, 2], "name": ["grey Coat", "beige Shirt", "purple Ankle boot"],
                             "logit": [-3.43, -2.0, -1.79], "without": [3.41, 1.0, -3.43],
                             "texture rank": ["1st", "2nd", "not a garment"], "texture": [1.28, 0.2, 0.46],
                             "best colour": ["green", "navy", "grey"], "re-dyed": [7.49, -0.5, -1.53]},
                            index=[922, 10, 896])
    outfits = SimpleNamespace(outfit=lambda k: [0, 1, 2] if k != 10 else [0, 1])
    shown = pd.Series({"miss": 1569, "false alarm": 922})
    said = analysis.false_alarm_paragraph(objected, errors, outfits, shown)
    assert said.startswith("The figure's miss is test outfit 1569: 2 of its 3 garments are busy")
    assert ("Its false alarm, test outfit 922, is the one worked by hand: the framed grey Coat is its busiest "
            "garment; re-dyed green it makes the outfit good.") in said
    # outfit 896: every absence lowers the logit, so it names no objected item and is left out of the counts
    assert ("Of the 3 false alarms with two garments or more, 1 names no objected item. In 2 of the other 2 the "
            "scorer objects most to one of the outfit's two busiest garments (chance: 83%), and in 1 of those 2 "
            "some palette colour for that garment makes the outfit good: not most") in said
    assert said.endswith("what it objects to is mostly texture, read approximately.")
    # one of two saved is not most: the worked alarm is the surest busy one that no colour repairs (10, not 922)
    assert analysis.worked_alarm(objected)[0] == 10
    assert ", all name an objected item. In 2 of them the scorer objects" in analysis.false_alarm_paragraph(
        objected.drop(896), errors, outfits, shown)
    objected.loc[10, "re-dyed"] = 0.3
    assert analysis.false_alarm_paragraph(objected, errors, outfits, shown).endswith(
        "so on this run the scorer has learnt 'busy' tangled with colour.")
    # now both are saved by a colour: the surest of them, 922, shows the pattern
    alarm, why = analysis.worked_alarm(objected)
    assert alarm == 922 and "two busiest garments and makes the outfit good in some palette colour" in why
    # no alarm names a busy garment: the surest is worked, and the sentence says so
    objected["texture rank"] = "not a garment"
    assert analysis.worked_alarm(objected) == (922, "No false alarm shows the run's pattern, so the one worked "
                                                    "here is the surest.")


def test_leave_one_out_names_the_item_whose_absence_raises_the_logit_most_and_its_best_colour():
    redyed = np.full(13, -2.0)
    redyed[4] = 0.75  # palette colour 4 turns the outfit good
    said = analysis.leave_one_out_sentence(1402, -5.5, [-3.0, -6.1, 6.49], redyed, "beige Coat")
    assert said.startswith("Test outfit 1402 scores -5.50; with each of its items left out in turn (items 0 to 2) "
                           "it scores -3.00, -6.10 and +6.49. Without item 2, the beige Coat, the logit rises most "
                           "(+11.99)")
    assert said.endswith(f"the Coat gives logits from -2.00 to +0.75 ({analysis.COLOR_NAMES[4]}), so a colour alone "
                         "turns the outfit good.")
    assert analysis.leave_one_out_sentence(7, -1.0, [0.5, -1.5], redyed - 3, "red Shirt").endswith(
        f"the Shirt gives logits from -5.00 to -2.25 ({analysis.COLOR_NAMES[4]}), none of them above zero.")
    # every absence lowers the logit: no item is objected to, and nothing is said of a re-dye
    none = analysis.leave_one_out_sentence(7, -1.0, [-2.0, -1.5], redyed, "red Shirt")
    assert none.endswith("No item's absence raises the logit, so the outfit names no item the scorer objects to.")



def test_the_history_and_logit_sentences_read_their_numbers():
    history = [{"epoch": e, "train_loss": t, "val_loss": v, "val_auc": a}
               for e, t, v, a in [(1, 0.6, 0.5, 0.80), (2, 0.3, 0.2, 0.90), (3, 0.2, 0.25, 0.95), (4, 0.1, 0.3, 0.94)]]
    said = analysis.history_sentence(history)
    assert said.endswith("so the two can peak a few epochs apart.")  # epochs 2 and 3
    assert said.startswith("The training loss falls from 0.600 to 0.100 over 4 epochs; the validation loss is lowest "
                           "at epoch 2 (0.200) and ends at 0.300, and the validation AUC peaks at epoch 3 (0.9500)")
    history[1]["val_loss"] = 0.3  # now the loss is lowest where the AUC peaks: nothing to reconcile
    assert analysis.history_sentence(history).endswith("peaks at epoch 3 (0.9500), the weights kept.")
    logits = {"ours": [3.0, 1.0, -2.0, 0.5], "pooled": [-1.0, 2.0, 1.0, 2.0]}
    said = analysis.logit_sentence(logits, np.array([1, 1, 0, 0]))
    assert said.startswith("The median logit of good and of bad test outfits, and how many of the 4 lie on the wrong "
                           "side of zero: ours +2.0 and -0.8, 1; pooled +0.5 and +1.5, 3.")


def test_the_rule_table_shows_three_decimals_and_a_blank_where_balanced_accuracy_is_undefined():
    index = ["(good outfits)", "hue_clash"]
    by_rule = pd.DataFrame({"ours": [0.97, 1.0]}, index=index)
    balanced = (by_rule.drop("(good outfits)") + by_rule.loc["(good outfits)"]) / 2
    table = analysis.rule_table(by_rule, balanced, pd.Series([1000, 527], index=index, name="test outfits"))
    assert table.loc["hue_clash"].tolist() == ["1.000", "0.985", 527]
    assert table.loc["(good outfits)"].tolist() == ["0.970", "", 1000]


def test_near_threshold_pools_both_sides_weighted_by_their_mistakes():
    near = pd.DataFrame({"misjudged": [30, 10], "distance, misjudged": [0.2, 0.1],
                         "distance, judged right": [0.4, 0.2], "difference": [0.2, 0.1],
                         "standard error": [0.05, 0.1]}, index=["good outfits", "busy clashes"])
    said = analysis.near_threshold(near)
    # pooled: 0.75 * 0.2 + 0.25 * 0.1 = 0.175, SE sqrt((0.75 * 0.05)^2 + (0.25 * 0.1)^2) = 0.0451
    assert list(said.claims.values()) == [True]
    assert said.sentences[2].endswith("0.18 of the threshold nearer to it than those judged right, 3.9 standard "
                                      "errors.")
    assert "too few (10) to tell on their own" in said.sentences[1]
    assert said.sentences[0].endswith("4.0 standard errors: clear on its own.")


def test_clusters_compare_agreement_within_each_side_with_agreement_across():
    names = ["ifiv", "ifiv_mean", "integrated_gradients", "exact_shapley", "grad_cam", "pixel_ig"]
    ag = pd.DataFrame(np.full((6, 6), 0.1), index=names, columns=names)
    ag.loc[["ifiv", "ifiv_mean"], ["ifiv", "ifiv_mean"]] = 0.9
    ag.loc[["integrated_gradients", "exact_shapley"], ["integrated_gradients", "exact_shapley"]] = 0.8
    two = families.clusters(ag, ["ifiv", "ifiv_mean"], ["integrated_gradients", "exact_shapley"])
    assert list(two.claims.values()) == [True] and two.numbers["across"] == pytest.approx(0.1)
    ag.loc[["ifiv", "ifiv_mean"], ["integrated_gradients", "exact_shapley"]] = 0.75  # no longer apart
    assert list(families.clusters(ag, ["ifiv", "ifiv_mean"], ["integrated_gradients", "exact_shapley"])
                .claims.values()) == [False]


def test_a_gap_beyond_the_bar_names_the_method_and_its_direction():
    blame = torch.zeros(20, 2, 2)
    blame[:, 0, 0] = 1
    good, bad = [[-1, 0], [0, 0]], [[0, 0], [-1, 0]]
    family = ["colour only"] * 10 + ["shape-texture only"] * 10
    h = families.family_hits({"ifiv": attribution([good] * 20), "m": attribution([good] * 10 + [bad] * 10)},
                             blame, family, [2] * 20)
    said, z, bar = families.largest_gap(h, ["m"])
    assert z > bar and said.endswith("on the shape-texture-only outfits m finds a blamed item less often than IFIV, "
                                     "more than chance explains.")
