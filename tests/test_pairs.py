"""Pair explanations: exact on a model made of pair terms, IFIV as their row sums, the curvature checked against
finite differences, the contract (symmetric, zero diagonal and padding), the pair test's cases and metrics."""
import json

import numpy as np
import pytest
import torch
import torch.nn as nn

import xfashion as xf
from xfashion.cli import main as cli_main
from xfashion.evaluate import pairs as ep
from xfashion.explain import pairs as xp

GROUPS = ["color", "shape_texture"]


class _Spec:
    names = GROUPS


class BilinearPairs(nn.Module):
    """score = sum over pairs i < j of x_i^T W x_j (x: both groups concatenated, W symmetric): pair terms only."""

    groups = _Spec()

    def __init__(self, dims=(13, 32)):
        super().__init__()
        gen = torch.Generator().manual_seed(0)
        a = torch.randn(sum(dims), sum(dims), generator=gen, dtype=torch.float64) / 10
        self.W = nn.Parameter(a + a.T)

    def forward(self, features, slot, mask):
        x = torch.cat([features[g] for g in GROUPS], -1) * mask[..., None]
        gram = x @ self.W @ x.transpose(1, 2)  # (B, N, N): x_i^T W x_j
        return torch.triu(gram, 1).sum((1, 2))

    def pair_terms(self, features, mask):
        x = torch.cat([features[g] for g in GROUPS], -1) * mask[..., None]
        gram = x @ self.W @ x.transpose(1, 2)
        keep = mask[:, :, None] & mask[:, None, :] & ~torch.eye(mask.shape[1], dtype=torch.bool)
        return gram * keep


def _batch(B=6, N=5, seed=1):
    gen = torch.Generator().manual_seed(seed)
    feats = {"color": torch.rand(B, N, 13, generator=gen, dtype=torch.float64),
             "shape_texture": torch.randn(B, N, 32, generator=gen, dtype=torch.float64)}
    mask = torch.ones(B, N, dtype=torch.bool)
    mask[0, 3:] = False  # a 3-item outfit
    mask[1, 4:] = False
    feats = {g: v * mask[..., None] for g, v in feats.items()}
    return xf.outfits.OutfitBatch(feats, torch.zeros(B, N, dtype=torch.long), mask, torch.zeros(B),
                                  torch.zeros(B, N, dtype=torch.long))


ZERO = {"color": torch.zeros(13, dtype=torch.float64), "shape_texture": torch.zeros(32, dtype=torch.float64)}


@pytest.mark.parametrize("method", ["second_order_ifiv", "pair_removal", "shapley_interaction"])
def test_on_a_sum_of_pair_terms_every_exact_method_returns_the_terms(method):
    model, batch = BilinearPairs(), _batch()
    truth = model.pair_terms(batch.features, batch.mask)
    got = xf.explain.attribute_pairs(model, batch, method, means=ZERO).values
    torch.testing.assert_close(got, truth, atol=1e-9, rtol=1e-9)


def test_integrated_hessians_gives_a_quarter_of_a_bilinear_term_along_the_path():
    """For x_i^T W x_j from a zero reference the double path integral of a b is 1/4 (Janizek et al.'s split:
    the other half of the pair's effect goes to the two main effects)."""
    model, batch = BilinearPairs(), _batch()
    truth = model.pair_terms(batch.features, batch.mask) / 4
    got = xf.explain.attribute_pairs(model, batch, "integrated_hessians", means=ZERO, n_steps=64).values
    torch.testing.assert_close(got, truth, rtol=2e-3, atol=1e-6)


def test_ifiv_is_the_row_sum_of_second_order_ifiv_on_pair_terms():
    model, batch = BilinearPairs(), _batch()
    pairs = xf.explain.attribute_pairs(model, batch, "second_order_ifiv").values
    ifiv = xf.attribute(model, batch, "ifiv").values.sum(-1)  # item totals
    torch.testing.assert_close(pairs.sum(-1), ifiv, atol=1e-9, rtol=1e-9)


def test_the_curvature_matches_finite_differences_of_the_gradient(wb_small):
    """x_i^T H_ij x_j from Hessian-vector products against central differences of autograd's gradient."""
    model = xf.evaluate.sanity.randomised_copy(wb_small.model, 0).double()  # any smooth scorer; float64
    batch = wb_small.batch([0, 1, 2])
    feats = {g: v.double() for g, v in batch.features.items()}
    batch = batch.with_features(feats)
    got = xf.explain.attribute_pairs(model, batch, "second_order_ifiv").values
    eps = 1e-5
    for b in range(3):
        n = int(batch.mask[b].sum())
        for j in range(n):
            grads = []
            for sign in (1, -1):
                x = {g: v[b:b + 1].clone() for g, v in feats.items()}
                for g in x:
                    x[g][0, j] = x[g][0, j] * (1 + sign * eps)
                x = {g: v.requires_grad_() for g, v in x.items()}
                out = model(x, batch.slot[b:b + 1], batch.mask[b:b + 1]).sum()
                gr = torch.autograd.grad(out, list(x.values()))
                grads.append(sum((gi[0] * feats[g][b]).sum(-1) for gi, g in zip(gr, x)))
            fd = (grads[0] - grads[1]) / (2 * eps)  # d/de [x . grad s(x + e x_j)] = x^T H x_j, per item
            for i in range(n):
                if i != j:
                    assert abs(float(fd[i]) - float(got[b, i, j])) < 1e-5 * (1 + abs(float(fd[i]))), (b, i, j)


def test_pair_removal_is_the_four_logits_with_mean_items_on_a_network_scorer(wb_small):
    """s(x) - s(x_-i) - s(x_-j) + s(x_-ij), "without" = the dataset's mean item in every group (chapter 08 by hand)."""
    batch = wb_small.batch([0, 1, 2])
    got = xf.explain.attribute_pairs(wb_small.model, batch, "pair_removal", **wb_small.options()).values

    def without(b, *items):
        feats = {g: v[b:b + 1].clone() for g, v in batch.features.items()}
        for g in wb_small.model.groups.names:
            feats[g][0, list(items)] = wb_small.means[g].to(feats[g].dtype)
        return float(xf.score(wb_small.model, batch.take(torch.tensor([b])).with_features(feats))[0])

    for b in range(3):
        n = int(batch.mask[b].sum())
        for i in range(n):
            for j in range(i + 1, n):
                four = without(b) - without(b, i) - without(b, j) + without(b, i, j)
                assert abs(four - float(got[b, i, j])) < 1e-4 * (1 + abs(four)), (b, i, j)


def test_the_row_sum_identity_needs_bilinear_pair_terms(wb_small):
    """On a network scorer (biases, item terms, a max, a head) the row sums of second-order IFIV are not IFIV."""
    batch = wb_small.batch(np.arange(8))
    pairs = xf.explain.attribute_pairs(wb_small.model, batch, "second_order_ifiv").values
    ifiv = xf.attribute(wb_small.model, batch, "ifiv").values.sum(-1)
    assert not torch.allclose(pairs.sum(-1), ifiv.detach(), atol=1e-3)


@pytest.mark.parametrize("method", xf.explain.methods("pairs"))
def test_every_pair_method_keeps_the_contract(wb_small, method):
    batch = wb_small.batch(np.arange(8))
    a = xf.explain.attribute_pairs(wb_small.model, batch, method, **wb_small.options())
    B, N = batch.mask.shape
    assert a.values.shape == (B, N, N) and a.method == method
    assert torch.equal(a.values, a.values.transpose(1, 2))
    assert (a.values.diagonal(dim1=1, dim2=2) == 0).all()
    pad = ~(batch.mask[:, :, None] & batch.mask[:, None, :])
    assert (a.values[pad] == 0).all()
    i, j = a.lowest().T
    assert (i < j).all() and batch.mask[torch.arange(B), j].all()
    assert a.matrix(0).shape == (int(batch.mask[0].sum()),) * 2


def test_pair_methods_name_what_is_wrong(wb_small):
    batch = wb_small.batch([0])
    with pytest.raises(ValueError, match="Unknown pair method 'nope'.*second_order_ifiv"):
        xf.explain.attribute_pairs(wb_small.model, batch, "nope")
    with pytest.raises(ValueError, match=r"Unknown pair method 'ifiv'. \('ifiv' is an item method.\)"):
        xf.explain.attribute_pairs(wb_small.model, batch, "ifiv")
    with pytest.raises(ValueError, match="Did you mean 'pair_removal'"):
        xf.explain.attribute_pairs(wb_small.model, batch, "pair_remova", **wb_small.options())
    with pytest.raises(ValueError, match=r"float64, but the model computes in torch.float32"):
        xf.explain.attribute_pairs(wb_small.model, batch.with_features(
            {g: v.double() for g, v in batch.features.items()}), "second_order_ifiv")
    with pytest.raises(ValueError, match="pass means="):
        xf.explain.attribute_pairs(wb_small.model, batch, "pair_removal")
    with pytest.raises(ValueError, match="Unknown option"):
        xf.explain.attribute_pairs(wb_small.model, batch, "second_order_ifiv", n_stepz=3)
    with pytest.raises(ValueError, match="no outfit"):
        xf.explain.attribute_pairs(wb_small.model, batch.take(torch.zeros(0, dtype=torch.long)), "random_pairs")
    with pytest.raises(ValueError, match="already registered"):
        @xf.explain.register
        class Again(xf.explain.Explainer):
            traits = xf.explain.Traits("second_order_ifiv", level="pair")
    with pytest.raises(ValueError, match="Unknown level 'pairs'"):
        xf.explain.Traits("toy", level="pairs")


def test_clash_scores_rank_and_share_ties():
    values = torch.tensor([[[0., -2., 1.], [-2., 0., -2.], [1., -2., 0.]],   # (0,1) and (1,2) tie lowest
                           [[0., 5., -1.], [5., 0., 3.], [-1., 3., 0.]]])   # (0,2) lowest, (0,1) last
    attr = xp.PairAttribution(values, torch.ones(2, 3, dtype=torch.bool), "toy")
    s = ep.clash_scores(attr, np.array([0, 0]), np.array([1, 1]))
    assert s.clash_top1.tolist() == [0.5, 0.0]
    assert s.clash_rank.tolist() == [1.5, 3.0] and s.n_pairs.tolist() == [3, 3]


def test_pair_cases_break_exactly_one_pair_rule_with_the_swapped_item(wb_small):
    cases = ep.build_pair_cases(wb_small, n_outfits=400, per_rule=20, margin=0.0)
    assert len(cases) > 0 and set(cases.rule) <= set(ep.PAIR_RULES)
    for c in range(len(cases)):
        n = int(cases.batch.mask[c].sum())
        found = xf.evaluate.oracle.faulted_pairs(wb_small.catalog, cases.items[c, :n], cases.colors[c, :n])
        assert [tuple(sorted(p[:2])) for p in found] == [tuple(sorted((cases.position[c], cases.partner[c])))]
        assert found[0][2] == cases.rule[c]
        assert xf.rules.violations(wb_small.catalog.category[cases.items[c, :n]], cases.colors[c, :n],
                             wb_small.catalog.busy[cases.items[c, :n]]).__len__() == 1
    assert (cases.before - cases.after >= 0).all()
    # the features of the swapped outfit are what its items would get from scratch
    c = 0
    fresh = xf.scorer.outfit_features(wb_small.catalog, wb_small.feats, cases.items[c, :int(cases.batch.mask[c].sum())],
                                      cases.colors[c, :int(cases.batch.mask[c].sum())])
    for g in fresh.features:
        n = fresh.features[g].shape[1]
        torch.testing.assert_close(cases.batch.features[g][c, :n], fresh.features[g][0], atol=1e-5, rtol=0)


def test_the_mean_item_logits_give_pair_removals_value_and_the_sentence_counts_the_falls(wb_small):
    cases = ep.build_pair_cases(wb_small, n_outfits=400, per_rule=10, margin=0.0)
    ref = ep.mean_item_logits(wb_small, cases)
    removal = xf.explain.attribute_pairs(wb_small.model, cases.batch, "pair_removal", **wb_small.options())
    value = removal.values[np.arange(len(cases)), cases.position, cases.partner].numpy()
    assert np.allclose(ref.outfit - ref.without_i - ref.without_j + ref.without_ij, value, atol=1e-3)
    every = {g: wb_small.means[g].expand_as(v).clone() for g, v in cases.batch.features.items()}
    assert np.allclose(ref.all_mean, xf.score(wb_small.model, cases.batch.with_features(every)).numpy(), atol=1e-4)
    assert np.array_equal(ref.hit, ep.clash_scores(removal, cases.position, cases.partner).clash_top1 == 1)
    worse = ref.without_ij < ref[["without_i", "without_j"]].min(axis=1)
    said = ep.reference_sentence(ref, seed=0)
    assert f"{len(ref)} pair-test cases" in said and f"alone in {worse.mean():.0%} of the cases" in said
    assert f"in {worse[ref.hit].mean():.0%} of the {int(ref.hit.sum())} cases pair removal gets right" in said


def test_a_pair_method_registered_by_a_reader_runs_in_the_evaluation_and_the_cli(wb_small, monkeypatch, capsys):
    @xf.explain.register
    class Nearest(xf.explain.Explainer):
        """Toy: pairs of items whose colour histograms are close clash (a reader's idea)."""
        traits = xf.explain.Traits("toy_colour_distance", level="pair", cost="none")

        def compute(self, run):
            return -torch.cdist(run.inputs[0], run.inputs[0])

    try:
        report = ep.run_pair_evaluation(wb_small, ["toy_colour_distance", "random_pairs"], seeds=(0,), n_outfits=400,
                                        per_rule=10, margin=0.0, progress=False)
        assert {"toy_colour_distance", "random_pairs", "oracle", "ifiv (two lowest items)"} <= set(report.summary.index)
        assert report.summary.loc["oracle", "clash_top1"] == 1.0
        monkeypatch.setattr(xf.pipeline, "workbench", lambda seed=0, progress=True: wb_small)
        monkeypatch.setattr("xfashion.cli.workbench", lambda seed=0, progress=True: wb_small)
        assert cli_main(["explain", "--pairs", "--method", "toy_colour_distance", "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["method"] == "toy_colour_distance" and len(out["pairs"]) == len(out["items"])
        argv = ["evaluate", "--pairs", "--seeds", "0", "--margin", "0", "--n-outfits", "400", "--per-kind", "8"]
        assert cli_main([*argv, "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["methods"]["oracle"]["clash_top1"] == 1.0 and "toy_colour_distance" in out["methods"]
        assert set(out["cases_per_rule"]) <= set(ep.PAIR_RULES) and out["n_cases"] > 0
    finally:
        xf.explain.unregister("toy_colour_distance")


def test_the_explorer_has_a_pair_view_of_the_edited_outfit(wb_small):
    explorer = xf.viz.explanation_explorer(wb_small)
    assert "pairs" in [getattr(c, "description", "") for c in explorer.children]
    fig = xf.viz.explanations.pair_view(wb_small, index=0, position=1, color="red", method="pair_removal")
    assert len(fig.axes) == 2 and "the stylist" in fig.axes[0].get_title()  # the matrix and its colour bar


def test_the_pair_matrix_frames_the_lowest_pair_only_where_it_lowers_the_score(wb_small):
    import matplotlib.pyplot as plt

    items = wb_small.outfits("test").outfit(0)[:3]
    mask = torch.ones(1, 3, dtype=torch.bool)
    raises = torch.tensor([[[0.0, 2.0, 1.0], [2.0, 0.0, 3.0], [1.0, 3.0, 0.0]]])  # every pair raises the score
    shown = {"raises": xf.explain.pairs.PairAttribution(raises, mask, "raises"),
             "lowers": xf.explain.pairs.PairAttribution(raises - 2.5, mask, "lowers")}  # now (0, 2) lowers it, -1.5
    fig, axes = xf.viz.plot_pair_matrix(wb_small.catalog, items, shown)
    frames = [[p for p in ax.patches if p.get_gid() == "culprit"] for ax in axes[0]]
    assert frames[0] == []
    assert sorted(p.get_xy() for p in frames[1]) == [(-0.5, 1.5), (1.5, -0.5)]  # cells (0, 2) and (2, 0)
    for ax in axes[0]:  # rows and columns carry the item numbers the prose uses
        assert [t.get_text() for t in ax.get_xticklabels()] == [t.get_text() for t in ax.get_yticklabels()] \
            == ["0", "1", "2"]
        assert ax.get_xlabel() == "item"
    plt.close(fig)


def test_the_hit_rate_figure_sorts_best_first_and_draws_chance(wb_small):
    import matplotlib.pyplot as plt
    import pandas as pd

    summary = pd.DataFrame({"clash_top1": [0.3, 0.8, 0.6], "clash_top1_lo": [0.25, 0.75, 0.5],
                            "clash_top1_hi": [0.35, 0.85, 0.7]}, index=["random_pairs", "a", "b (two lowest items)"])
    fig, ax = xf.viz.evaluation.plot_hit_rates(summary, "clash_top1", 0.27, highlight=["b (two lowest items)"])
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b (two lowest items)", "random pairs"]
    assert [line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == "--"] == [0.27]
    assert ax.patches[1].get_facecolor()[:3] == (0.25, 0.25, 0.25)  # the baseline asked about, dark
    plt.close(fig)


def test_random_pairs_draws_one_symmetric_matrix_per_case_whatever_ran_before_and_whatever_its_batch(wb_small):
    both = wb_small.batch([3, 7])
    torch.manual_seed(1)
    first = xf.explain.attribute_pairs(wb_small.model, both, "random_pairs").values
    torch.manual_seed(2)  # torch's global generator moved: the chance row must not
    again = xf.explain.attribute_pairs(wb_small.model, both, "random_pairs").values
    alone = xf.explain.attribute_pairs(wb_small.model, wb_small.batch([7]), "random_pairs").values
    assert torch.equal(first, again)
    n = int(both.mask[1].sum())
    assert torch.equal(alone[0, :n, :n], first[1, :n, :n])  # outfit 7 draws the same matrix first or second
    assert torch.equal(first, first.transpose(1, 2)) and not first[1, :n, :n].triu(1).eq(0).all()
    off = ~(both.mask[:, :, None] & both.mask[:, None, :])
    assert first[off].eq(0).all() and first.diagonal(dim1=1, dim2=2).eq(0).all()  # no value for padding or self


def test_the_pair_evaluation_refuses_an_empty_or_bare_string_method_list_before_any_work(wb_small):
    with pytest.raises(ValueError, match=r"run_pair_evaluation needs at least one method, e\.g\. \['ifiv', 'random'\]; "
                                         r"pass None for every registered pair method"):
        ep.run_pair_evaluation(wb_small, [], seeds=(0,))
    with pytest.raises(ValueError, match="run_pair_evaluation takes a list of method names, e.g. \\['pair_removal'\\]"):
        ep.run_pair_evaluation(wb_small, "pair_removal", seeds=(0,))
