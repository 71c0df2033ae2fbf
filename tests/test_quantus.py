"""Quantus's metrics at the (item, group) level: checked on a model whose answers are known, seeded, and
the two workarounds for Quantus 0.6.0 on NumPy 2 shown to be still needed."""
import numpy as np
import pytest
import quantus
import quantus.helpers.asserts as quantus_asserts
import quantus.helpers.utils as quantus_utils
import torch
import torch.nn as nn
from test_explain import toy_batch  # noqa: I001 - the test folder's own helper

import xfashion as xf
from xfashion.evaluate import faithfulness as fq


class Additive(nn.Module):
    """score = sum over real items of w_c . colour + w_s . shape: every (item, group) cell adds its own term."""

    class groups:  # noqa: N801 - the scorer's group spec, as the package's scorers carry it
        names = ["color", "shape_texture"]

    def __init__(self):
        super().__init__()
        with xf.utils.seeded(0):
            self.item = nn.Linear(45, 1, bias=False)  # a layer, so MPRT has something to re-initialise

    def forward(self, features, slot, mask):
        per_item = self.item(torch.cat([features["color"], features["shape_texture"]], -1)).squeeze(-1)
        return (per_item * mask).sum(1)


def toy(sizes=(3, 5, 4, 3, 5, 5, 4, 3), seed=0):
    """Random outfits of these sizes (padding last) and the means an absent player takes."""
    means = {"color": torch.full((13,), 1 / 13), "shape_texture": torch.zeros(32)}
    return toy_batch(sizes, seed), means


def test_the_workarounds_are_still_needed():
    # if one of these starts to pass, Quantus (or NumPy) fixed it: remove the workaround in evaluate/faithfulness.py
    if fq.QUANTUS_TRAPZ_BROKEN:
        with pytest.raises(AttributeError, match="trapz"):
            quantus_utils.calculate_auc(np.array([[1.0, 2.0, 3.0]]), batched=True)
    np.testing.assert_allclose(fq.calculate_auc(np.array([[1.0, 2.0, 3.0]]), batched=True), [4.0])
    x = np.ones((2, 1, 4))
    with pytest.raises(AssertionError, match="less than zero"):
        quantus_asserts.assert_attributions(x_batch=x, a_batch=-np.ones((2, 1, 4)) - np.arange(4))
    with fq.signed_attributions():
        quantus_asserts.assert_attributions(x_batch=x, a_batch=-np.ones((2, 1, 4)) - np.arange(4))
        with pytest.raises(AssertionError, match="same number of samples"):  # the shape checks still run
            quantus_asserts.assert_attributions(x_batch=x, a_batch=np.ones((3, 1, 4)))
    assert quantus_asserts.assert_attributions is not None
    # Quantus wants images: a 2-D input is read as (outfits, channels) with no features left, hence the channel
    # axis of one on our players
    batch, means = toy()
    model = fq.PlayerModel(Additive(), fq.real_items(batch, np.array([0, 3, 7]), 3), means, Additive.groups.names)
    with pytest.raises(ValueError, match="smaller than input size"):
        quantus.FaithfulnessCorrelation(nr_runs=5, subset_size=2, perturb_baseline=0.0, disable_warnings=True)(
            model=model.eval(), x_batch=np.ones((3, 6)), y_batch=np.ones(3, dtype=int),
            a_batch=np.random.default_rng(0).normal(size=(3, 6)), batch_size=3, softmax=False)


def test_on_an_additive_model_the_metrics_give_the_known_answers():
    model = Additive()
    batch, means = toy()
    exact = xf.attribute(model, batch, "feature_ablation", means=means)  # each cell's own term, exactly
    scores = fq.quantus_scores(model, batch, exact, means, metrics=["faithfulness_correlation", "pixel_flipping",
                                                                   "monotonicity_correlation"])
    # the logit drop of any pair of cells is the sum of their attributions: Pearson 1
    np.testing.assert_allclose(scores["faithfulness_correlation"], 1.0, atol=1e-6)
    np.testing.assert_allclose(scores["monotonicity_correlation"], 1.0, atol=1e-6)
    # the deletion curve is the 'bad' logit minus the running sum of the removed cells' terms, most blamed first
    five = np.flatnonzero(batch.mask.sum(1).numpy() == 5)
    a = -exact.values[five].reshape(len(five), -1).numpy()
    start = -model(batch.features, batch.slot, batch.mask)[five].detach().numpy()
    steps = start[:, None] - np.cumsum(np.take_along_axis(a, np.argsort(-a, 1), 1), 1)
    np.testing.assert_allclose(scores.attrs["curves"][5], np.concatenate([[start.mean()], steps.mean(0)]), rtol=1e-5)
    auc = fq.calculate_auc(steps, batched=True)
    np.testing.assert_allclose(scores["pixel_flipping"].to_numpy()[five], auc, rtol=1e-5)


def test_padding_is_never_a_player_and_rows_are_bound_to_outfits():
    batch, means = toy()
    part = fq.real_items(batch, np.array([1, 4, 5]), 5)
    assert part.mask.all() and part.features["color"].shape[1] == 5
    with pytest.raises(ValueError, match="real items first"):
        fq.real_items(batch, np.array([0, 1]), 3)  # outfit 1 has five items
    model = fq.PlayerModel(Additive(), part, means, ["color", "shape_texture"])
    with pytest.raises(ValueError, match="bound to 3 outfits"):
        model(torch.ones(2, 1, 10))
    # a player at 0 takes the mean: every player absent gives the mean outfit's score
    all_mean = {g: means[g].expand_as(part.features[g]) for g in means}
    torch.testing.assert_close(model(torch.zeros(3, 1, 10))[:, 0],
                               Additive()(all_mean, part.slot, part.mask))


def test_metrics_are_seeded_and_leave_the_caller_generators_alone():
    model = Additive()
    batch, means = toy()
    attr = xf.attribute(model, batch, "random", seed=3)
    np.random.seed(123)
    torch.manual_seed(123)
    state, tstate = np.random.get_state()[1].copy(), torch.random.get_rng_state().clone()
    one = fq.quantus_scores(model, batch, attr, means, seed=5)
    np.testing.assert_array_equal(np.random.get_state()[1], state)
    assert torch.equal(torch.random.get_rng_state(), tstate)
    two = fq.quantus_scores(model, batch, attr, means, seed=5)
    np.testing.assert_array_equal(one.to_numpy(), two.to_numpy())
    # an explanation that ignores the model does not change when the model is randomised: MPRT's worst score
    np.testing.assert_allclose(one["mprt"], 1.0)
    with pytest.raises(ValueError, match="Unknown Quantus metric"):
        fq.quantus_scores(model, batch, attr, means, metrics=["faithfulness"])


def test_every_quantus_metric_is_declared_with_quantus_direction():
    for name, q in fq.QUANTUS_METRICS.items():
        m = xf.evaluate.metrics.METRICS[name]
        assert m.per_case and m.granularity == "item_feature" and m.family == q.family
        assert m.direction == q.direction == ("higher" if q.cls.score_direction.name == "HIGHER" else "lower")
        assert fq.direction(name) == q.direction
    assert xf.evaluate.metrics.METRICS["pixel_flipping"].direction == "lower"
    assert xf.evaluate.metrics.METRICS["mprt"].direction == "lower"


def test_mprt_is_the_absolute_correlation_of_quantus_signed_one():
    # an explanation whose ranking flips under randomisation (signed correlation about -1) must not read as
    # "changed completely": Adebayo et al. compare similarity, so the sign is dropped
    a, b = np.array([[1.0, 2.0, 3.0, 4.0, 5.0]]), np.array([[5.0, 4.0, 3.0, 2.0, 1.5]])
    signed = quantus.functions.similarity_func.correlation_spearman(a, b, batched=True)
    assert signed[0] == pytest.approx(-1.0)
    np.testing.assert_allclose(fq.absolute_spearman(a, b, batched=True), np.abs(signed))
    # and the metric uses it: on the additive model, IFIV's MPRT equals |Quantus's signed MPRT|
    model = Additive()
    batch, means = toy()
    attr = xf.attribute(model, batch, "ifiv")
    ours = fq.quantus_scores(model, batch, attr, means, metrics=["mprt"], seed=2)["mprt"].to_numpy()
    assert ((ours >= 0) & (ours <= 1)).all()
    settings = {k: v for k, v in fq.QUANTUS_METRICS["mprt"].settings.items() if k != "similarity_func"}
    five = np.flatnonzero(batch.mask.sum(1).numpy() == 5)
    part = fq.real_items(batch, five, 5)
    player = fq.PlayerModel(model, part, means, ["color", "shape_texture"]).eval()

    def explain(model, inputs, targets, **_):
        return fq.players(xf.attribute(model.scorer, model.batch, "ifiv").values)

    x = np.ones((len(five), 1, 10))
    with fq.global_rng(2), fq.signed_attributions():
        signed = quantus.MPRT(disable_warnings=True, seed=2, **settings)(
            model=player, x_batch=x, y_batch=np.ones(len(five), dtype=int), a_batch=explain(player, x, None),
            channel_first=True, softmax=False, batch_size=len(five), device="cpu", explain_func=explain)
    assert (np.asarray(signed) < 0).any(), "the case should include a sign flip"
    np.testing.assert_allclose(ours[five], np.abs(signed), rtol=1e-6)
