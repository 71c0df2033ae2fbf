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
