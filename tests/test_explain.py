import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn as nn

import xfashion as xf
from xfashion.cli import main as cli_main

GROUPS = ["color", "shape_texture"]


class _Spec:
    names = GROUPS


class LinearInColor(nn.Module):
    """score = sum_i w . colour_i + tanh(sum of shape-texture over items): linear in the colour group."""

    groups = _Spec()

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.linspace(-1, 1, 13))

    def forward(self, features, slot, mask):
        m = mask.float()
        lin = ((features["color"] @ self.w) * m).sum(1)
        return lin + torch.tanh((features["shape_texture"].sum(-1) * m).sum(1) / 10)


class ReluMLP(nn.Module):
    """A plain ReLU network over each item, summed: DeepLift's rescale rule is exact here."""

    groups = _Spec()

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Linear(45, 16), nn.ReLU(), nn.Linear(16, 1))

    def forward(self, features, slot, mask):
        x = torch.cat([features["color"], features["shape_texture"]], -1)
        return (self.net(x).squeeze(-1) * mask.float()).sum(1)


def toy_batch(sizes=(2, 3, 5, 4), seed=0):
    gen = torch.Generator().manual_seed(seed)
    b = len(sizes)
    mask = torch.zeros(b, 5, dtype=torch.bool)
    for i, k in enumerate(sizes):
        mask[i, :k] = True
    feats = {"color": torch.rand(b, 5, 13, generator=gen) * mask[..., None],
             "shape_texture": torch.randn(b, 5, 32, generator=gen) * mask[..., None]}
    return xf.outfits.OutfitBatch(feats, torch.zeros(b, 5, dtype=torch.long), mask, torch.zeros(b), torch.zeros(b, 5))


def test_ifiv_equals_captum_input_x_gradient(wb_small):
    batch = wb_small.batch(np.arange(40))
    ours = xf.attribute(wb_small.model, batch, "ifiv")
    captum = xf.attribute(wb_small.model, batch, "input_x_gradient")
    torch.testing.assert_close(ours.values, captum.values, atol=1e-5, rtol=1e-5)
    assert ours.forward_passes == 1 and ours.backward_passes == 1


def test_ifiv_matches_autograd_by_hand(wb_small):
    batch = wb_small.batch([3])
    x = {g: batch.features[g].clone().requires_grad_(True) for g in GROUPS}
    wb_small.model(x, batch.slot, batch.mask).sum().backward()
    by_hand = torch.stack([(x[g] * x[g].grad).sum(-1) for g in GROUPS], -1)
    torch.testing.assert_close(xf.attribute(wb_small.model, batch, "ifiv").values,
                               by_hand.detach() * batch.mask[..., None])


def test_ifiv_against_the_mean_reference_matches_autograd(wb_small):
    batch = wb_small.batch([3, 4])
    x = {g: batch.features[g].clone().requires_grad_(True) for g in GROUPS}
    wb_small.model(x, batch.slot, batch.mask).sum().backward()
    by_hand = torch.stack([((x[g] - wb_small.means[g]) * x[g].grad).sum(-1) for g in GROUPS], -1)
    got = xf.attribute(wb_small.model, batch, "ifiv_mean", means=wb_small.means)
    torch.testing.assert_close(got.values, by_hand.detach() * batch.mask[..., None])
    zero = {g: torch.zeros_like(m) for g, m in wb_small.means.items()}
    torch.testing.assert_close(xf.attribute(wb_small.model, batch, "ifiv_mean", means=zero).values,
                               xf.attribute(wb_small.model, batch, "ifiv").values)


def test_ifiv_probability_target_is_chain_rule(wb_small):
    batch = wb_small.batch(np.arange(10))
    logit = xf.attribute(wb_small.model, batch, "ifiv").values
    prob = xf.attribute(wb_small.model, batch, "ifiv", target="probability").values
    p = torch.sigmoid(xf.score(wb_small.model, batch))
    torch.testing.assert_close(prob, logit * (p * (1 - p))[:, None, None], atol=1e-5, rtol=1e-4)


def test_ig_completeness_at_default_steps(wb_small):
    batch = wb_small.batch(np.arange(20))
    attr = xf.attribute(wb_small.model, batch, "integrated_gradients")
    zero = {g: torch.zeros_like(v) for g, v in batch.features.items()}
    with torch.no_grad():
        gap = wb_small.model(batch.features, batch.slot, batch.mask) - wb_small.model(zero, batch.slot, batch.mask)
    # stated tolerance: 5% of the score gap plus 0.05 logits at 50 steps
    assert torch.all((attr.values.sum((1, 2)) - gap).abs() <= 0.05 * gap.abs() + 0.05)
    assert attr.backward_passes == 50


def test_linear_group_methods_agree():
    model, batch = LinearInColor(), toy_batch()
    zeros = {"color": torch.zeros(13), "shape_texture": torch.zeros(32)}
    expected = (batch.features["color"] @ model.w.detach()) * batch.mask
    for method in ("ifiv", "integrated_gradients", "exact_shapley"):
        got = xf.attribute(model, batch, method, groups=GROUPS, means=zeros).values[..., 0]
        torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4, msg=method)


def test_exact_shapley_efficiency_and_symmetry():
    class Symmetric(nn.Module):
        groups = _Spec()

        def forward(self, features, slot, mask):
            a = features["color"][:, 0].sum(-1)
            b = features["color"][:, 1].sum(-1)
            return torch.tanh(a * b) + features["shape_texture"][:, 2].sum(-1) ** 2

    model = Symmetric()
    batch = toy_batch(sizes=(3, 3))
    batch.features["color"][:, 1] = batch.features["color"][:, 0]  # items 0 and 1 are interchangeable
    means = {"color": torch.full((13,), 0.1), "shape_texture": torch.zeros(32)}
    attr = xf.attribute(model, batch, "exact_shapley", groups=GROUPS, means=means)
    base = {g: means[g].expand_as(v) * batch.mask[..., None] for g, v in batch.features.items()}
    with torch.no_grad():
        gap = model(batch.features, batch.slot, batch.mask) - model(base, batch.slot, batch.mask)
    torch.testing.assert_close(attr.values.sum((1, 2)), gap, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(attr.values[:, 0, 0], attr.values[:, 1, 0], atol=1e-6, rtol=1e-6)
    assert torch.all(attr.values[:, 0, 1] == 0)  # a player the model ignores gets nothing


def test_exact_shapley_refuses_large_outfits():
    model = LinearInColor()
    batch = toy_batch(sizes=(5,))
    batch = xf.outfits.OutfitBatch({**batch.features, "extra": batch.features["color"]}, batch.slot, batch.mask,
                           batch.label, batch.items)

    class Three(LinearInColor):
        class groups:
            names = GROUPS + ["extra"]

        def forward(self, features, slot, mask):
            return super().forward(features, slot, mask) + features["extra"].sum((1, 2))

    means = {"color": torch.zeros(13), "shape_texture": torch.zeros(32), "extra": torch.zeros(13)}
    with pytest.raises(ValueError, match="shapley_sampling"):
        xf.attribute(Three(), batch, "exact_shapley", means=means, groups=GROUPS + ["extra"])
    # the two-group model on the same outfit has 10 players: allowed
    ten = xf.attribute(model, toy_batch(sizes=(5,)), "exact_shapley", groups=GROUPS, means=means)
    assert ten.forward_passes == 1024


def test_deeplift_delta_is_small_on_a_relu_network():
    attr = xf.attribute(ReluMLP(), toy_batch(), "deeplift", groups=GROUPS)
    assert attr.extras["convergence_delta"].abs().max() < 1e-4


@pytest.mark.parametrize("method", xf.explain.methods())
def test_every_method_keeps_the_contract(wb_small, method):
    index = np.arange(6)
    batch = wb_small.batch(index, images=True)
    own = xf.explain.get_method(method).traits.options  # fewer steps and samples where a method takes them
    quick = {k: v for k, v in {"n_steps": 8, "n_samples": 4}.items() if k in own}
    attr = xf.attribute(wb_small.model, batch, method, **quick, **wb_small.options())
    assert attr.values.shape == (6, 5, 2) and attr.mask.shape == (6, 5)
    assert torch.isfinite(attr.values).all()
    assert torch.all(attr.values[~batch.mask] == 0)
    sizes = batch.mask.sum(1)
    assert torch.all(attr.culprit_item() < sizes) and torch.all(attr.culprit()[0] < sizes)
    assert attr.seconds >= 0 and (method == "random" or attr.forward_passes >= 1)
    with pytest.raises(ValueError, match=f"Unknown option.*'n_stepz'.*for {method}; options are"):
        xf.attribute(wb_small.model, batch, method, n_stepz=3)


def test_padding_never_wins_even_when_real_items_are_positive():
    attr = xf.explain.Attribution(torch.tensor([[[1.0, 2.0], [0.5, 0.5], [0.0, 0.0]]]),
                          torch.tensor([[True, True, False]]), "toy", GROUPS)
    assert attr.culprit_item().item() == 1
    assert [int(x) for x in attr.culprit()] == [1, 0]


def test_grad_cam_releases_its_hooks(wb_small):
    layer = wb_small.feats.extractor.cnn.last_conv
    before = (len(layer._forward_hooks), len(layer._backward_hooks))
    attr = xf.attribute(wb_small.model, wb_small.batch([0, 1], images=True), "grad_cam", **wb_small.options())
    assert (len(layer._forward_hooks), len(layer._backward_hooks)) == before
    assert attr.extras["maps"].shape[:2] == (2, 5) and attr.item_level


def test_pixel_ig_reports_its_convergence_delta(wb_small):
    # the delta is what the summed attributions miss of the score gap between the images and blank ones;
    # ten outfits span two of pixel IG's chunks of eight, so the chunks' deltas must be joined in order
    batch = wb_small.batch(np.arange(10), images=True)
    attr = xf.attribute(wb_small.model, batch, "pixel_ig", n_steps=4, **wb_small.options())
    pixel = xf.PixelScorer(wb_small.feats.extractor, wb_small.model).eval()
    images = batch.features["image"]
    with torch.no_grad():
        gap = pixel(images, batch.slot, batch.mask) - pixel(torch.zeros_like(images), batch.slot, batch.mask)
    delta = attr.extras["convergence_delta"]
    assert delta.shape == (10,)
    torch.testing.assert_close(delta, attr.values.sum((1, 2)) - gap, atol=1e-3, rtol=1e-4)


def test_bad_requests_raise_clear_errors(wb_small):
    batch = wb_small.batch([0, 1])
    with pytest.raises(ValueError, match="Unknown method"):
        xf.attribute(wb_small.model, batch, "lime")
    with pytest.raises(ValueError, match="dataset means"):
        xf.attribute(wb_small.model, batch, "feature_ablation")
    with pytest.raises(ValueError, match="images"):
        xf.attribute(wb_small.model, batch, "grad_cam", extractor=wb_small.feats.extractor)
    with pytest.raises(ValueError, match="Unknown target"):
        xf.attribute(wb_small.model, batch, "saliency", target="odds")


def test_captum_call_shape(wb_small):
    batch = wb_small.batch([0, 1, 2])
    a = xf.explain.IFIV(wb_small.model).attribute(batch)
    b = xf.explain.get_method("input_x_gradient")(wb_small.model).attribute(batch)
    torch.testing.assert_close(a.values, b.values, atol=1e-5, rtol=1e-5)


def test_repair_suggestions(wb_small):
    outfits = wb_small.splits["test"]
    bad = int(np.flatnonzero(outfits.oracle_label == 0)[0])
    out = xf.suggest_repairs(wb_small.model, wb_small.catalog, wb_small.feats, outfits.outfit(bad))
    table = out["table"]
    assert list(table.fix) == ["none", "re-colour", "replace"]
    assert table.score[1] >= table.score[0] - 1e-5 or table.score[2] >= table.score[0] - 1e-5
    assert table.oracle[0].startswith("bad")
    other = next(k for k in range(len(outfits.outfit(bad))) if k != out["culprit"])
    there = xf.suggest_repairs(wb_small.model, wb_small.catalog, wb_small.feats, outfits.outfit(bad), position=other)
    assert there["culprit"] == other  # a fix of the item asked for: its slot's replacement, its re-colouring
    assert wb_small.catalog.slot[there["replace"][0][other]] == wb_small.catalog.slot[outfits.outfit(bad)[other]]
    with pytest.raises(ValueError, match="position must be an item position in 0-"):
        xf.suggest_repairs(wb_small.model, wb_small.catalog, wb_small.feats, outfits.outfit(bad), position=9)
    rate = xf.repair_success(wb_small.model, wb_small.catalog, wb_small.feats, outfits, n=5, progress=False)
    assert set(rate.index) == {"ifiv", "random"} and rate.values.min() >= 0 and rate.values.max() <= 1
    # one column per fix, none repeating another ("either" repeated "replace"), each the share the oracle calls good
    assert list(rate.columns) == ["re-colour fixes", "replace fixes"] and rate.attrs["n_outfits"] == 5
    verdicts = np.array([list(xf.suggest_repairs(wb_small.model, wb_small.catalog, wb_small.feats, outfits.outfit(i))
                              ["table"].oracle[1:] == "good") for i in np.flatnonzero(outfits.oracle_label == 0)[:5]])
    assert np.allclose(rate.loc["ifiv"].values, verdicts.mean(0).round(3))


def test_culprit_sentence_names_both_culprits_and_what_the_stylist_blames(wb_small):
    from xfashion.outfits import outfit_blame

    catalog, outfits = wb_small.catalog, wb_small.splits["test"]
    for i in np.flatnonzero(outfits.oracle_label == 0):  # a bad outfit with a free item and one blamed in one group
        items = outfits.outfit(i)
        blame = outfit_blame(catalog, items, groups=GROUPS)
        once = np.flatnonzero((blame > 0).sum(1) == 1)
        if (blame.sum(1) == 0).any() and len(once):
            break
    free, hit = int(np.flatnonzero(blame.sum(1) == 0)[0]), int(once[0])
    group, other = int(np.argmax(blame[hit] > 0)), int(np.argmin(blame[hit] > 0))
    said = {"color": "colour", "shape_texture": "shape-texture"}

    def called(k):
        return f"item {k}, the {xf.COLOR_NAMES[catalog.color[items[k]]]} {xf.CATEGORIES[catalog.category[items[k]]]}"

    values = torch.zeros(1, len(items), 2)
    values[0, free] = -1.0  # the culprit item (sum -2), which the stylist does not blame
    values[0, hit, other] = -1.5  # the culprit (item, group): a blamed item, in a group it is not blamed for
    attr = xf.explain.Attribution(values, torch.ones(1, len(items), dtype=torch.bool), "hand", GROUPS,
                                  forward_passes=1, backward_passes=1, seconds=0.0)
    assert xf.evaluate.culprit_sentence(catalog, items, attr, name="IFIV") == (
        f"IFIV's culprit item is {called(free)}, which the stylist does not blame; its culprit (item, group) is the "
        f"{said[GROUPS[other]]} of {called(hit)}, an item the stylist blames for its {said[GROUPS[group]]}, "
        f"not its {said[GROUPS[other]]}.")
    values[0, hit, group] = -3.0  # now the blamed cell is lowest, and its item the lowest sum
    assert xf.evaluate.culprit_sentence(catalog, items, attr) == (
        f"hand's culprit item is {called(hit)}, which the stylist blames; its culprit (item, group) is that same "
        f"item's {said[GROUPS[group]]}, which the stylist blames too.")


def test_each_broken_rule_is_said_with_the_numbers_that_break_it():
    C, K = xf.data.category_index, xf.data.color_index
    said = {}
    for cats, cols, busy in (
            ([C("Sneaker"), C("Bag")], [K("teal"), K("purple")], [False, False]),  # hues 180 and 280
            ([C("Shirt"), C("Trouser"), C("Sandal")], [K("red"), K("orange"), K("yellow")], [False] * 3),
            ([C("Dress"), C("Ankle boot")], [K("navy"), K("black")], [False, False]),
            ([C("Shirt"), C("Trouser")], [K("white"), K("grey")], [True, True])):
        for v in xf.rules.violations(cats, cols, busy):
            said[v.rule] = xf.evaluate.describe_violation(v, cats, cols)
    assert said == {
        "hue_clash": "a hue clash: the teal Sneaker (hue 180) and the purple Bag (hue 280) are 100 degrees apart, "
                     "inside the stylist's clash window of 60-150 degrees",
        "too_many_colours": "too many colours: 3 chromatic items (red Shirt, orange Trouser, yellow Sandal), "
                            "more than 2",
        "neutral_clash": "a neutral clash: the navy Dress with the black Ankle boot",
        "season_clash": "a season clash: the navy Dress with the black Ankle boot",
        "busy_clash": "a busy clash: 2 busy-patterned garments (white Shirt, grey Trouser), more than 1"}
    narrow = xf.StylistRules(hue_clash=(60.0, 90.0))  # the window is the rules' own, not a constant
    v = xf.rules.Violation("hue_clash", "color", (0, 1))
    assert xf.evaluate.describe_violation(v, [C("Sneaker"), C("Bag")], [K("teal"), K("purple")], narrow).endswith(
        "window of 60-90 degrees")


def test_cli_explain_every_method(capsys):
    import json
    for method in xf.explain.methods():
        assert cli_main(["explain", "--outfit", "0", "--method", method, "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["method"] == method and len(out["items"]) >= 2
        assert 0 <= out["culprit"]["item"] < len(out["items"])
    assert cli_main(["explain", "--outfit", "100000"]) == 2


def test_a_new_method_is_one_small_class_seen_everywhere(wb_small):
    from xfashion.cli import build_parser

    @xf.explain.register
    class NegatedIFIV(xf.explain.Explainer):
        traits = xf.explain.Traits("negated_ifiv", aliases=("nifiv",), gradients=True)

        def compute(self, run):
            return -xf.explain.gradient.ifiv(run.model, run.batch, run.groups, run.target)

    try:
        batch = wb_small.batch(np.arange(6))
        torch.testing.assert_close(xf.attribute(wb_small.model, batch, "nifiv").values,
                                   -xf.attribute(wb_small.model, batch, "ifiv").values)
        assert NegatedIFIV(wb_small.model).attribute(batch).method == "negated_ifiv"  # Captum's call shape
        assert build_parser().parse_args(["explain", "--method", "nifiv"]).method == "negated_ifiv"
        report = xf.evaluate.run_swap_evaluation(wb_small, methods=["ifiv", "nifiv"], n_outfits=15, margin=0.0,
                                        sanity_cases=5, progress=False, use_cache=False)
        assert "negated_ifiv" in set(report.per_case.method) and "negated_ifiv" in report.cost.index
        explorer = xf.viz.explanation_explorer(wb_small)
        menu = [w for w in explorer.children if getattr(w, "description", "") == "method"][0]
        assert ("negated ifiv", "negated_ifiv") in menu.options  # named in words, picked by its id
    finally:
        xf.explain.unregister("negated_ifiv")
    assert "negated_ifiv" not in xf.explain.methods()
    with pytest.raises(ValueError, match="Unknown method 'nifiv'"):
        xf.explain.get_method("nifiv")


def test_aliases_and_suggestions():
    assert xf.explain.get_method("ig").traits.name == "integrated_gradients"
    assert xf.explain.get_method("GradCAM").traits.name == "grad_cam"
    assert xf.explain.get_method("occlusion").traits.name == "feature_ablation"
    assert xf.explain.get_method("shap").traits.name == "shapley_sampling"
    assert xf.explain.get_method("ixg").traits.name == "input_x_gradient"
    with pytest.raises(ValueError, match="Did you mean 'deeplift'"):
        xf.explain.get_method("deeplfit")
    with pytest.raises(ValueError, match="taken by"):
        @xf.explain.register
        class Clash(xf.explain.Explainer):
            traits = xf.explain.Traits("clash", aliases=("ig",))


def test_traits_drive_what_a_method_needs(wb_small):
    batch = wb_small.batch(np.arange(3))
    for name in xf.explain.methods():
        t = xf.explain.get_method(name).traits
        if "means" in t.needs:
            with pytest.raises(ValueError, match="dataset means"):
                xf.attribute(wb_small.model, wb_small.batch(np.arange(3), images=t.needs_images), name,
                             extractor=wb_small.feats.extractor)
        if t.needs_images:
            with pytest.raises(ValueError, match="item images"):
                xf.attribute(wb_small.model, batch, name, **wb_small.options())
    with pytest.raises(ValueError, match="Unknown option"):
        xf.attribute(wb_small.model, batch, "ifiv", steps=5)


def test_culprit_frames_only_on_bad_outfits(wb_small):
    test = wb_small.splits["test"]

    def framed(fig):
        return [ax for ax in fig.axes if ax.spines["top"].get_linewidth() == xf.viz.style.CULPRIT["linewidth"]]

    for label in (0, 1):
        i = int(np.flatnonzero(test.oracle_label == label)[0])
        attr = xf.attribute(wb_small.model, wb_small.batch([i]), "ifiv")
        fig, _ = xf.viz.plot_explanation(wb_small.catalog, test.outfit(i), attr)
        assert len(framed(fig)) == (1 if label == 0 else 0)
        assert ("culprit item" in fig._suptitle.get_text()) == (label == 0)
        fig, _ = xf.viz.plot_explanation(wb_small.catalog, test.outfit(i), attr, score=-1.0)
        assert len(framed(fig)) == 1
        plt.close("all")


def test_colour_drivers_show_the_contribution_and_the_gradient(wb_small):
    batch = wb_small.batch([0])
    fig, (left, right) = xf.viz.plot_color_drivers(wb_small.model, batch, b=0, item=0, top=3)
    grad = xf.explain.gradient.input_gradients(wb_small.model, batch, ["color", "shape_texture"])["color"][0, 0]
    heights = np.array([p.get_height() for p in right.patches])
    np.testing.assert_allclose(heights, grad.numpy(), rtol=1e-5, atol=1e-7)
    contrib = (batch.features["color"][0, 0] * grad).numpy()
    widths = np.array([p.get_width() for p in left.patches])
    drawn = np.sort(np.abs(contrib))[-3:]
    drawn = drawn[drawn > 0.01 * drawn.max()]  # a colour the item barely has gets no empty row
    np.testing.assert_allclose(np.sort(np.abs(widths)), drawn, rtol=1e-5, atol=1e-7)
    assert len(left.get_yticklabels()) == len(widths) >= 1
    ifiv = xf.attribute(wb_small.model, batch, "ifiv").values[0, 0, 0]
    assert contrib.sum() == pytest.approx(float(ifiv), rel=1e-4, abs=1e-6)
    plt.close("all")


def test_take_selects_outfits_by_position_or_mask(wb_small):
    attr = xf.attribute(wb_small.model, wb_small.batch(range(6)), "ifiv")
    part = attr.take([4, 1])
    assert torch.equal(part.values, attr.values[[4, 1]]) and torch.equal(part.mask, attr.mask[[4, 1]])
    keep = np.array([True, False, True, False, False, True])
    assert torch.equal(attr.take(keep).values, attr.values[[0, 2, 5]])
    assert part.method == "ifiv" and part.groups == attr.groups


def test_chance_hits_are_the_shares_a_uniformly_random_culprit_is_blamed_on():
    from xfashion.evaluate.sentences import chance_hits
    blame = np.zeros((2, 4, 2))
    blame[0, 0, 0] = blame[0, 1, 0] = 0.5  # outfit 0: 3 items, two blamed in colour
    blame[1, 2, 1] = 1.0  # outfit 1: 4 items, one blamed in shape-texture
    got = chance_hits(blame, [3, 4])
    assert got["item_hit"] == pytest.approx((2 / 3 + 1 / 4) / 2)
    assert got["cell_hit"] == pytest.approx((2 / 6 + 1 / 8) / 2)
    with pytest.raises(ValueError, match="one size per outfit"):
        chance_hits(blame, [3])


def test_random_draws_once_per_case_whatever_its_batch():
    # each case is seeded by its own content: the same case draws the same values alone, in a batch, or moved;
    # two cases draw different values (one seed per batch gave every batch the same numbers)
    model, batch = LinearInColor(), toy_batch(sizes=(3, 3, 5, 4))
    both = xf.attribute(model, batch, "random").values

    def rows(order):
        return xf.outfits.OutfitBatch({g: x[order] for g, x in batch.features.items()}, batch.slot[order],
                                      batch.mask[order], batch.label[order], batch.items[order])

    alone = torch.cat([xf.attribute(model, rows([k]), "random").values for k in range(4)])
    flipped = xf.attribute(model, rows([3, 2, 1, 0]), "random").values
    assert torch.equal(both, alone) and torch.equal(flipped, both.flip(0))
    assert not torch.allclose(both[0, :3], both[1, :3])  # two cases of the same size draw apart
    assert (both[0, 3:] == 0).all() and (both[0, :3] != 0).all()  # padding stays zero
    other = xf.attribute(model, batch, "random", seed=1).values
    assert not torch.allclose(other, both)  # the seed still chooses the draws
