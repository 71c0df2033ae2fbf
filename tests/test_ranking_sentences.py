"""Chapter 07's sentences about its Quantus cases: hand-made runs with known standard errors."""
from types import SimpleNamespace

import pandas as pd

from xfashion.evaluate import ranking


def run(values: dict, metric: str, sizes=(3, 5, 4, 4), summary: dict | None = None):
    """A run of three scorer seeds whose cases repeat ``values[method]`` on every seed."""
    rows = [{"seed": s, "case": k, "method": m, "size": sizes[k], metric: v}
            for m, vs in values.items() for s in range(3) for k, v in enumerate(vs)]
    means = {m: sum(vs) / len(vs) for m, vs in values.items()}
    table = pd.DataFrame({metric: means, **(summary or {})})
    return SimpleNamespace(per_case=pd.DataFrame(rows), summary=table, config={"seeds": [0, 1, 2], "quantus_cases": 4})


def test_the_precision_sentence_says_why_this_many_cases_from_the_standard_errors_they_give():
    # 4 cases a seed with a sample variance of 0.02/3: SE of a mean over 3 seeds sqrt(3 * 0.02/3/4)/3 = 0.0236
    report = run({"feature_ablation": [0.7, 0.9, 0.8, 0.8], "ifiv": [0.4, 0.6, 0.5, 0.5], "random": [0, 0, 0, 0]},
                 "faithfulness_correlation")
    said = ranking.precision_sentences(report)[0]
    assert "Quantus judges 4 cases per scorer seed, 12 per method over the 3 seeds" in said
    assert "is then 0.024 to 0.024" in said
    # two such methods can be told apart 2 * sqrt(2) * 0.0236 = 0.067 apart; the gap 0.3 is 0.3 / 0.0333 = 9.0 SE
    assert "can tell apart two typical methods 0.067 apart (2 standard errors of their gap)" in said
    assert "feature ablation ahead of IFIV, is 0.300: 9.0 standard errors of the gap" in said


def test_the_sparseness_sentence_says_the_outfit_sets_it_more_than_the_method_within_the_ginis_ceiling():
    report = run({"ifiv": [0.3, 0.5, 0.4, 0.6], "feature_ablation": [0.35, 0.55, 0.45, 0.65], "random": [0.3] * 4},
                 "sparseness", summary={"item_top1": {"ifiv": 0.8, "feature_ablation": 0.6, "random": 0.3}})
    said = ranking.sparseness_sentences(report, ["ifiv", "feature_ablation", "random"])
    assert said[0].startswith("Over the methods that explain the scorer's features, sparseness spans 0.450 to 0.500")
    # 3 to 5 items: 6 to 10 players, a Gini index of at most 5/6 to 9/10
    assert "on 6 to 10 players the index runs only from 0 (every player alike) to 0.83-0.90" in said[0]
    # case to case over the 12 cases: sd sqrt(3 * 0.05 / 11) = 0.117 for both, more than the 0.050 between their means
    assert ("the outfit moves it more than the method does: from one case to the next a typical method's value "
            "moves with a standard deviation of 0.117 (0.117 to 0.117), more than the 0.050 between the methods' "
            "means") in said[0]
    close = run({"ifiv": [0.3, 0.31, 0.3, 0.31], "feature_ablation": [0.5, 0.51, 0.5, 0.51], "random": [0.3] * 4},
                "sparseness", summary={"item_top1": {"ifiv": 0.8, "feature_ablation": 0.6, "random": 0.3}})
    other = ranking.sparseness_sentences(close, ["ifiv", "feature_ablation", "random"])
    assert "the method moves it more than the outfit does" in other[0]  # sd 0.005 against 0.200 between the means
    assert said[0].endswith("Random noise scores 0.300.") and len(said) == 1  # no wrong order beyond 2 SE here


def test_the_standard_error_of_a_gap_is_the_larger_of_the_cases_and_the_seeds_estimates():
    # a: 0.9 on every case of every seed (no spread); b: 0.1, 0.5, 0.3 on seeds 0-2, the same on each seed's cases
    rows = [{"seed": s, "method": m, "item_top1": v} for s, vb in enumerate((0.1, 0.5, 0.3)) for m, v in
            (("a", 0.9), ("b", vb)) for _ in range(4)]
    per_case = pd.DataFrame(rows)
    assert ranking.mean_se(per_case, "a", "item_top1") == 0.0 and ranking.mean_se(per_case, "b", "item_top1") == 0.0
    # the cases give 0; the gap moves over the seeds 0.8, 0.4, 0.6: sd 0.2 / sqrt(3)
    assert abs(ranking.gap_se(per_case, "a", "b", "item_top1") - 0.2 / 3 ** 0.5) < 1e-12
    scores = pd.DataFrame({"item_top1": {"a": 0.9, "b": 0.3}})
    z = ranking.gap_z(scores, per_case)
    assert abs(z["item_top1", "a", "b"] - 0.6 / (0.2 / 3 ** 0.5)) < 1e-9  # + : a is the better, 5.2 SE ahead


def test_weighted_ranks_average_the_weighted_metrics_and_a_missing_rank_is_left_to_the_others():
    import matplotlib

    matplotlib.use("Agg")
    from xfashion.viz.ranking import hint, weights_view

    ranks = pd.DataFrame({"item_top1": {"ifiv": 1, "feature_ablation": 1, "grad_cam": 3, "random": 4},
                          "cell_top1": {"ifiv": 2, "feature_ablation": 1, "grad_cam": None, "random": 3},
                          "faithfulness_correlation": {"ifiv": 3, "feature_ablation": 1, "grad_cam": 2, "random": 4}})
    equal = ranking.weighted_ranks(ranks, {"item_top1": 1, "cell_top1": 1, "faithfulness_correlation": 1})
    assert equal["mean rank"].round(4).to_dict() == {"feature_ablation": 1.0, "ifiv": 2.0, "grad_cam": 2.5,
                                                     "random": 3.6667}
    heavy = ranking.weighted_ranks(ranks, {"item_top1": 3, "faithfulness_correlation": 1})  # (3 * 1 + 3) / 4 = 1.5
    assert heavy.loc["ifiv", "mean rank"] == 1.5 and heavy.loc["feature_ablation", "place"] == 1
    fig, said = weights_view(ranks, {"cell_top1": 1, "item_top1": 0, "faithfulness_correlation": 0})
    assert said == ("Weighed: (item, group) top-1 ×1. By mean rank: 1st feature ablation, 2nd IFIV, 3rd random. "
                    "Grad-CAM has no rank under (item, group) top-1: left out.")
    assert fig.axes[0].get_xlabel() == "rank (1 = best; within 2 SE: tied)"  # the threshold the ranks were made with
    narrow = weights_view(ranks, {"item_top1": 1}, k=1.5)[0]
    assert narrow.axes[0].get_xlabel() == "rank (1 = best; within 1.5 SE: tied)"
    assert weights_view(ranks, {"item_top1": 0}) == (None, "Give at least one metric a weight above 0: with every "
                                                     "weight at 0 there is nothing to rank by.")
    families = {"item_top1": "swap test", "cell_top1": "swap test", "faithfulness_correlation": "faithfulness"}
    assert "You should see IFIV move most: 1st by item top-1, 3rd by faithfulness correlation" in hint(ranks, families)
    try:
        ranking.weighted_ranks(ranks, {"item_top1": -1})
    except ValueError as err:
        assert "at least one above 0" in str(err)
    else:
        raise AssertionError("a negative weight must be refused")


def test_the_pickers_static_view_draws_each_weighting_in_its_own_panel_with_its_own_order():
    import matplotlib

    matplotlib.use("Agg")
    from xfashion.viz.ranking import weights_side_by_side

    ranks = pd.DataFrame({"item_top1": {"ifiv": 1, "feature_ablation": 1, "random": 3},
                          "faithfulness_correlation": {"ifiv": 2, "feature_ablation": 1, "random": 3}})
    fig, said = weights_side_by_side(ranks, {"Localisation only": {"item_top1": 1},
                                             "Faithfulness only": {"faithfulness_correlation": 1}})
    assert [ax.get_title() for ax in fig.axes] == ["Localisation only", "Faithfulness only"]
    assert [t.get_text() for t in fig.axes[1].get_yticklabels()] == ["feature ablation", "IFIV", "random"]
    assert said == ["**Localisation only.** Weighed: item top-1 ×1. By mean rank: 1st IFIV, 1st feature ablation, "
                    "3rd random.", "**Faithfulness only.** Weighed: faithfulness correlation ×1. By mean rank: 1st "
                    "feature ablation, 2nd IFIV, 3rd random."]
    assert fig.get_figwidth() <= 9 and len(fig.legends) == 1
    try:
        weights_side_by_side(ranks, {"nothing": {"item_top1": 0}})
    except ValueError as err:
        assert "at least one metric with a weight above 0" in str(err)
    else:
        raise AssertionError("a weighting without a weight above 0 must be refused")
