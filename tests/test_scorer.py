import numpy as np
import pytest
import torch

import xfashion as xf


def random_batch(b=6, n=5, sizes=None, seed=0):
    gen = torch.Generator().manual_seed(seed)
    feats = {"color": torch.rand(b, n, 13, generator=gen), "shape_texture": torch.randn(b, n, 32, generator=gen)}
    sizes = sizes or [2, 3, 4, 5, 3, 2][:b]
    mask = torch.zeros(b, n, dtype=torch.bool)
    for i, k in enumerate(sizes):
        mask[i, :k] = True
    slot = torch.randint(0, 6, (b, n), generator=gen)
    return feats, slot, mask


@pytest.fixture(params=[("pairwise", "silu"), ("pairwise", "relu"), ("pairwise", "softplus"), ("meanpool", "silu"),
                        ("additive", "silu")],
                ids=lambda p: "-".join(p))
def model(request):
    torch.manual_seed(0)
    kind, activation = request.param
    return xf.scorer.MODELS[kind](activation=activation).eval()


def test_the_additive_scorer_is_a_plain_sum_of_item_and_pair_terms():
    torch.manual_seed(0)
    model = xf.scorer.MODELS["additive"]().eval()
    feats, slot, mask = random_batch(b=1, sizes=[4])

    def without(*drop):
        keep = mask.clone()
        keep[0, list(drop)] = False
        return model(feats, slot, keep)

    # removing items i and j together changes the logit by each one's removal minus their shared pair term:
    # s - s(-i) - s(-j) + s(-i,-j) is the pair term v(i, j) alone, whichever other items are in the outfit
    full = model(feats, slot, mask)
    pair_01 = full - without(0) - without(1) + without(0, 1)
    h = model.encode_items(feats, slot)
    direct = model.pair_term(model.pair(torch.cat([h[:, 0] + h[:, 1], h[:, 0] * h[:, 1]], -1))).squeeze(-1)
    torch.testing.assert_close(pair_01, direct, atol=1e-5, rtol=1e-5)


def test_permutation_invariance(model):
    feats, slot, mask = random_batch(sizes=[5] * 6)
    base = model(feats, slot, mask)
    for seed in range(3):
        perm = torch.randperm(5, generator=torch.Generator().manual_seed(seed))
        out = model({g: v[:, perm] for g, v in feats.items()}, slot[:, perm], mask[:, perm])
        torch.testing.assert_close(out, base, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("size", [2, 3, 4, 5])
def test_padding_never_changes_the_score(model, size):
    feats, slot, mask = random_batch(b=1, sizes=[size])
    base = model(feats, slot, mask)
    noisy = {g: v.clone() for g, v in feats.items()}
    for v in noisy.values():
        v[0, size:] = 100 * torch.randn_like(v[0, size:])
    slot2 = slot.clone()
    slot2[0, size:] = 5
    torch.testing.assert_close(model(noisy, slot2, mask), base)
    # a longer padding (N = 7) gives the same score too
    wide = {g: torch.cat([v, torch.zeros(1, 2, v.shape[-1])], 1) for g, v in feats.items()}
    wide_mask = torch.cat([mask, torch.zeros(1, 2, dtype=torch.bool)], 1)
    torch.testing.assert_close(model(wide, torch.cat([slot, slot[:, :2]], 1), wide_mask), base, atol=1e-5, rtol=1e-5)
    # while changing a real item does change it
    moved = {g: v.clone() for g, v in feats.items()}
    moved["color"][0, 0] = 5 * torch.roll(moved["color"][0, 0], 3) + 1
    assert not torch.allclose(model(moved, slot, mask), base)


def test_bad_batches_raise(model):
    feats, slot, mask = random_batch()
    empty = mask.clone()
    empty[2] = False
    with pytest.raises(ValueError, match=r"Outfit\(s\) \[2\] have no real item"):
        model(feats, slot, empty)
    nan = {g: v.clone() for g, v in feats.items()}
    nan["shape_texture"][0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        model(nan, slot, mask)
    with pytest.raises(ValueError, match="missing"):
        model({"color": feats["color"]}, slot, mask)
    with pytest.raises(ValueError, match="batch shape"):
        model(feats, slot[:3], mask[:3])


def test_roc_auc_known_values():
    assert xf.training.roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]) == pytest.approx(0.75)
    assert xf.training.roc_auc([1, 1, 1, 1], [0, 1, 0, 1]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="both"):
        xf.training.roc_auc([1, 2], [1, 1])


def test_pixel_wrapper_matches_feature_scorer(catalog, splits, tiny_feats, trained):
    pixel = xf.PixelScorer(tiny_feats.extractor, trained.model).eval()
    idx = np.arange(40)
    images = xf.make_batch(catalog, splits["test"], idx)
    tables = xf.feature_batch(catalog, splits["test"], tiny_feats, idx)
    torch.testing.assert_close(xf.score(pixel, images), xf.score(trained.model, tables), atol=1e-4, rtol=1e-4)


def test_training_overfits_a_tiny_set(catalog, splits, tiny_feats):
    tiny = {"train": splits["train"].subset(np.arange(64)), "val": splits["train"].subset(np.arange(64))}
    result = xf.train_scorer(catalog, tiny, tiny_feats, epochs=60, patience=60, batch_size=16, lr=2e-3,
                             progress=False, use_cache=False)
    losses = [h["train_loss"] for h in result.history]
    assert losses[-1] < 0.3 * losses[0]
    assert result.history[-1]["val_auc"] > 0.95  # it memorised these 64 outfits
    assert result.n_parameters > 1000


def test_checkpoint_cache_is_keyed_by_configuration(catalog, splits, tiny_feats, tmp_path, monkeypatch):
    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path))
    a = xf.train_scorer(catalog, splits, tiny_feats, epochs=1, progress=False)
    b = xf.train_scorer(catalog, splits, tiny_feats, epochs=1, progress=False)
    c = xf.train_scorer(catalog, splits, tiny_feats, epochs=1, lr=1e-3, progress=False)
    assert not a.cached and b.cached and not c.cached
    batch = xf.feature_batch(catalog, splits["test"], tiny_feats)
    torch.testing.assert_close(xf.score(a.model, batch), xf.score(b.model, batch))
    with pytest.raises(ValueError, match="Unknown scorer kind"):
        xf.train_scorer(catalog, splits, tiny_feats, kind="transformer")


def test_fitb_questions_follow_the_oracle(catalog, splits):
    questions = xf.training.fitb_questions(catalog, splits["test"], n=20)
    assert len(questions) >= 10
    for rows, answer in questions:
        for k, row in enumerate(rows):
            bad = bool(xf.outfits.outfit_violations(catalog, row[row >= 0]))
            assert bad == (k != answer)


def test_fitb_of_an_oracle_scorer_is_perfect(catalog, splits, tiny_feats):
    class Oracle(torch.nn.Module):
        def forward(self, features, slot, mask):
            return torch.tensor([0.0 if xf.outfits.outfit_violations(catalog, row[row >= 0].numpy()) else 1.0
                                 for row in self.items])

    questions = xf.training.fitb_questions(catalog, splits["test"], n=10)
    rows = np.concatenate([q[0] for q in questions])
    oracle = Oracle()
    oracle.items = torch.from_numpy(rows)
    assert xf.training.fitb_accuracy(oracle, catalog, tiny_feats, questions) == 1.0


def test_score_outfit_with_color_override(catalog, tiny_feats, trained, splits):
    items = splits["test"].outfit(0)
    same = xf.scorer.score_outfit(trained.model, catalog, tiny_feats, items, catalog.color[items])
    assert same == pytest.approx(xf.scorer.score_outfit(trained.model, catalog, tiny_feats, items), abs=1e-5)
    recolored = catalog.color[items].copy()
    recolored[0] = (recolored[0] + 5) % 13
    batch = xf.scorer.outfit_features(catalog, tiny_feats, items, recolored)
    assert batch.features["color"][0, 0].argmax() == recolored[0]
    torch.testing.assert_close(batch.features["shape_texture"][0, 0], tiny_feats["shape_texture"][items[0]],
                               atol=1e-4, rtol=1e-4)


def test_design_options_are_checked_and_key_the_cache(catalog, splits, tiny_feats):
    with pytest.raises(ValueError, match="Unknown activation 'tanh'"):
        xf.train_scorer(catalog, splits, tiny_feats, activation="tanh", progress=False)
    with pytest.raises(ValueError, match="label_smoothing"):
        xf.train_scorer(catalog, splits, tiny_feats, label_smoothing=0.7, progress=False)
    a = xf.train_scorer(catalog, splits, tiny_feats, epochs=1, activation="relu", progress=False)
    b = xf.train_scorer(catalog, splits, tiny_feats, epochs=1, activation="softplus", progress=False)
    assert a.config["key"] != b.config["key"] and a.model.activation == "relu"
    assert isinstance(b.model.item[1], torch.nn.Softplus)


def test_label_smoothing_trains_on_smoothed_targets(catalog, splits, tiny_feats, monkeypatch):
    seen = []
    real = xf.training.F.binary_cross_entropy_with_logits

    def spy(logits, target, *args, **kwargs):
        seen.append(target.detach().clone())
        return real(logits, target, *args, **kwargs)
    monkeypatch.setattr(xf.training.F, "binary_cross_entropy_with_logits", spy)
    xf.train_scorer(catalog, splits, tiny_feats, epochs=1, label_smoothing=0.2, progress=False, use_cache=False)
    train_targets = torch.cat(seen[:-1])  # the last call is the validation loss, on the true labels
    assert train_targets.unique().tolist() == pytest.approx([0.1, 0.9])
    assert set(seen[-1].unique().tolist()) == {0.0, 1.0}


def test_error_analysis_sorts_each_outfit_into_its_outcome_and_counts_mistakes_by_rule(catalog, splits):
    test = splits["test"]
    good = test.oracle_label > 0
    busy = np.flatnonzero([("busy_clash" in r) for r in test.rules])
    assert len(busy) > 0  # the small split holds busy clashes to miss
    logits = np.where(good, 2.0, -2.0) + np.linspace(0, 0.5, len(test))  # every verdict right ...
    missed, alarm = busy[0], int(np.flatnonzero(good)[0])
    logits[missed], logits[alarm] = 9.0, -7.0  # ... but one busy clash called good and one good outfit bad
    errors = xf.training.scorer_errors(catalog, test, logits)
    assert errors["outcome"].value_counts().to_dict() == {"true positive": good.sum() - 1,
                                                          "true negative": (~good).sum() - 1,
                                                          "false positive": 1, "false negative": 1}
    assert errors.loc[missed, "outcome"] == "false positive" and errors.loc[alarm, "outcome"] == "false negative"
    # the decisive garment's texture crosses the threshold exactly where the busy rule is broken
    broken = errors["rules"].str.contains("busy_clash")
    assert ((errors["second_busiest"] >= 1) == broken).all() and (errors.loc[broken, "busy"] >= 2).all()
    assert (errors["busy"] == [catalog.busy[test.outfit(i)].sum() for i in range(len(test))]).all()
    table = xf.training.errors_by_rule(errors)
    assert table.loc["(good outfits)", ["outfits", "misjudged"]].tolist() == [good.sum(), 1]
    assert table.loc["busy_clash", ["outfits", "misjudged", "mistake"]].tolist() == [len(busy), 1, "false positive"]
    assert table.loc["busy_clash", "error rate"] == round(1 / len(busy), 3)
    assert table.drop("(good outfits)")["misjudged"].sum() == len(test.rules[missed])  # counted under each rule
    shown = xf.training.most_confident(errors)
    assert list(shown.index) == list(xf.training.OUTCOMES)
    assert shown["false positive"] == missed and shown["false negative"] == alarm
    # the surest right verdicts: logits grow along the split, so the last good outfit and the first bad one
    assert shown["true positive"] == np.flatnonzero(good)[-1]
    assert shown["true negative"] == [i for i in np.flatnonzero(~good) if i != missed][0]
    with pytest.raises(ValueError, match="one logit per outfit"):
        xf.training.scorer_errors(catalog, test, logits[:-1])


def test_busy_threshold_distance_compares_mistakes_with_right_verdicts():
    import pandas as pd

    errors = pd.DataFrame({"truth": ["good"] * 4 + ["bad"] * 3,
                           "verdict": ["good", "good", "bad", "bad", "bad", "bad", "good"],
                           "rules": [""] * 4 + ["busy_clash", "busy_clash", "busy_clash,hue_clash"],
                           "second_busiest": [0.5, 0.7, 0.9, 0.8, 1.4, 1.6, 1.05]})
    table = xf.training.busy_threshold_distance(errors)
    good, busy = table.loc["good outfits"], table.loc["busy clashes"]
    assert good[["judged right", "misjudged"]].tolist() == [2, 2]
    assert good["distance, judged right"] == pytest.approx(0.4) and good["distance, misjudged"] == pytest.approx(0.15)
    assert good["difference"] == pytest.approx(0.25)
    assert good["standard error"] == pytest.approx((0.02 / 2 + 0.005 / 2) ** 0.5)  # sample variances 0.02, 0.005
    assert busy[["judged right", "misjudged"]].tolist() == [2, 1] and np.isnan(busy["standard error"])
    assert busy["difference"] == pytest.approx(0.5 - 0.05)


def test_a_bar_stopped_early_ends_full_and_says_where_and_why():
    import io

    from tqdm import tqdm
    from tqdm.notebook import tqdm as notebook_tqdm

    out = io.StringIO()
    for bar in (tqdm(total=40, file=out), notebook_tqdm(total=40)):
        for epoch in range(40):
            bar.update()
            if epoch == 25:
                xf.utils.stop_early(bar, epoch + 1, "validation AUC no better for 6 epochs")
                break
    last = out.getvalue().split("\r")[-1]  # the text bar as it was left
    assert "100%" in last and "26/26" in last and "stopped early at epoch 26 of 40: validation AUC no better" in last
    widget = bar.container.children[1]
    assert (widget.value, widget.max, widget.bar_style) == (26, 26, "success")  # not a red bar stuck at 65%
