import numpy as np
import pytest
import torch

import xfashion as xf

C = xf.data.category_index
K = xf.data.color_index


def test_good_outfit_has_no_violation():
    cats = [C("T-shirt/top"), C("Trouser"), C("Sneaker")]
    cols = [K("white"), K("navy"), K("red")]
    assert xf.rules.is_good(cats, cols, [False] * 3)
    assert xf.rules.blame(cats, cols, [False] * 3).sum() == 0


def test_hue_clash_blames_both_items_in_color():
    cats = [C("T-shirt/top"), C("Trouser"), C("Sneaker")]
    cols = [K("red"), K("green"), K("white")]  # hues 0 and 125: a clash
    found = xf.rules.violations(cats, cols, [False] * 3)
    assert [(v.rule, v.group, v.items) for v in found] == [("hue_clash", "color", (0, 1))]
    np.testing.assert_allclose(xf.rules.blame(cats, cols, [False] * 3), [[0.5, 0], [0.5, 0], [0, 0]])


def test_analogous_and_complementary_hues_do_not_clash():
    cats = [C("Dress"), C("Sandal")]
    assert xf.rules.is_good(cats, [K("red"), K("orange")], [False, False])  # 30 degrees
    assert xf.rules.is_good(cats, [K("red"), K("teal")], [False, False])  # 180 degrees


def test_too_many_colors_and_neutral_clash():
    cats = [C("Shirt"), C("Trouser"), C("Sneaker"), C("Bag")]
    cols = [K("red"), K("orange"), K("yellow"), K("black")]  # hues 0, 30, 55: no pair clashes
    rules = {v.rule for v in xf.rules.violations(cats, cols, [False] * 4)}
    assert rules == {"too_many_colours"}
    bl = xf.rules.blame(cats, cols, [False] * 4)
    np.testing.assert_allclose(bl[:, 0], [1 / 3, 1 / 3, 1 / 3, 0])
    found = xf.rules.violations([C("Dress"), C("Sandal")], [K("navy"), K("black")], [False, False])
    assert [v.rule for v in found] == ["neutral_clash"]


def test_shape_texture_rules():
    cats = [C("Pullover"), C("Trouser"), C("Sandal"), C("Coat")]
    cols = [K("white")] * 4
    found = xf.rules.violations(cats, cols, [True, True, False, False])
    by_rule = {v.rule: v for v in found}
    assert set(by_rule) == {"season_clash", "busy_clash"}
    assert by_rule["busy_clash"].items == (0, 1) and by_rule["busy_clash"].group == "shape_texture"
    bl = xf.rules.blame(cats, cols, [False] * 4)
    # sandal clashes with both the pullover and the coat: it carries the most blame
    assert bl[:, 1].argmax() == 2 and bl[2, 1] == pytest.approx(1.0)
    assert bl[:, 0].sum() == 0


def test_rules_are_data():
    lenient = xf.StylistRules(season_clashes=())
    assert xf.rules.is_good([C("Sandal"), C("Coat")], [K("grey"), K("grey")], [False, False], rules=lenient)
    assert not xf.rules.is_good([C("Sandal"), C("Coat")], [K("grey"), K("grey")], [False, False])
    assert list(xf.DEFAULT_RULES.describe()["group"]) == ["color"] * 3 + ["shape_texture"] * 2


def test_oracle_rejects_bad_input():
    with pytest.raises(ValueError, match="empty outfit"):
        xf.rules.violations([], [], [])
    with pytest.raises(ValueError, match="Unknown category"):
        xf.rules.violations([12], [0], [False])
    with pytest.raises(ValueError, match="Unknown colour"):
        xf.rules.violations([0], [40], [False])


def test_check_outfit_errors(catalog):
    tops = np.flatnonzero(catalog.slot == xf.SLOTS.index("top"))
    with pytest.raises(ValueError, match="empty outfit"):
        xf.outfits.check_outfit(catalog, [])
    with pytest.raises(ValueError, match="slot"):
        xf.outfits.check_outfit(catalog, tops[:2])
    with pytest.raises(ValueError, match="Unknown item id"):
        xf.outfits.check_outfit(catalog, [len(catalog) + 5])
    with pytest.raises(ValueError, match="at most 5"):
        xf.outfits.check_outfit(catalog, np.arange(6))


def test_labels_agree_with_oracle(catalog, splits):
    for outfits in splits.values():
        assert outfits.label.mean() == 0.5
        for i in range(len(outfits)):
            good = not xf.outfits.outfit_violations(catalog, outfits.outfit(i))
            assert good == bool(outfits.oracle_label[i])
            assert bool(outfits.rules[i]) != good
            assert 2 <= len(outfits.outfit(i)) <= 5


def test_splits_are_item_disjoint(catalog, splits):
    used = {k: set(v.items[v.items >= 0].tolist()) for k, v in splits.items()}
    assert not used["train"] & used["test"] and not used["train"] & used["val"] and not used["val"] & used["test"]
    for name, ids in used.items():
        assert set(catalog.split[list(ids)]) == {name}


def test_sampling_is_deterministic(catalog):
    a = xf.sample_outfits(catalog, "train", 60, seed=3)
    b = xf.sample_outfits(catalog, "train", 60, seed=3)
    c = xf.sample_outfits(catalog, "train", 60, seed=4)
    np.testing.assert_array_equal(a.items, b.items)
    assert not np.array_equal(a.items, c.items)


def test_negative_swaps_recover_how_the_sampler_made_each_negative(catalog):
    outfits = xf.sample_outfits(catalog, "test", 200, seed=5)
    swaps = xf.analysis.negative_swaps(catalog, outfits)
    assert len(swaps) == 100 and (swaps.negative == swaps.good + 1).all()
    assert set(swaps.replaced) == {1, 2}  # max_replaced=2: both kinds occur in 100 negatives
    assert swaps.same_slot.all() and swaps.as_stored.all() and swaps.new_blamed.all()
    assert 0 < swaps.old_blamed.mean() < 1  # a clash may or may not blame an item that stayed
    one = xf.analysis.negative_swaps(catalog, xf.sample_outfits(catalog, "test", 200, seed=5, max_replaced=1))
    assert (one.replaced == 1).all()
    # a negative whose new item comes from another slot is caught
    tampered = outfits.subset(np.arange(len(outfits)))
    first = swaps.negative[0]
    k = int(np.flatnonzero(tampered.items[first] >= 0)[0])
    other = catalog.find(split="test")
    tampered.items[first, k] = other[catalog.slot[other] != catalog.slot[tampered.items[first, k]]][0]
    assert not xf.analysis.negative_swaps(catalog, tampered).same_slot[0]
    with pytest.raises(ValueError, match="each good outfit followed by its"):
        xf.analysis.negative_swaps(catalog, outfits.subset(np.arange(1, 11)))


def test_blame_table_puts_outfits_side_by_side_with_the_oracles_blame(catalog, splits):
    test = splits["test"]
    table = xf.analysis.blame_table(catalog, {"good": test.outfit(0), "negative": test.outfit(1)})
    blame = xf.outfits.outfit_blame(catalog, test.outfit(1))
    assert list(table.columns.get_level_values(0).unique()) == ["good", "negative"]
    assert (table["good"][list(xf.outfits.GROUPS)].to_numpy() == 0).all()
    np.testing.assert_allclose(table["negative"][list(xf.outfits.GROUPS)].to_numpy(), blame.round(2))
    first = test.outfit(1)[0]
    named = f"{xf.COLOR_NAMES[catalog.color[first]]} {xf.CATEGORIES[catalog.category[first]]}"
    assert table["negative"]["item"][0] == named


def test_label_noise_flips_about_the_asked_share(catalog):
    noisy = xf.sample_outfits(catalog, "train", 1000, seed=1, label_noise=0.2)
    flipped = (noisy.label != noisy.oracle_label).mean()
    assert 0.15 < flipped < 0.25


def test_batch_masks_and_padding(catalog, splits):
    outfits = splits["test"]
    batch = xf.make_batch(catalog, outfits, np.arange(8))
    sizes = (outfits.items[:8] >= 0).sum(1)
    assert batch.mask.sum(1).tolist() == sizes.tolist()
    imgs = batch.features["image"]
    assert imgs.shape == (8, 5, 4, 28, 28)
    assert torch.all(imgs[~batch.mask] == 0) and torch.all(batch.slot[~batch.mask] == 0)
    assert torch.all(imgs[batch.mask][:, 3].sum((-1, -2)) > 10)  # real items have a garment


def test_unknown_split_raises(catalog):
    with pytest.raises(ValueError, match="Unknown split"):
        xf.sample_outfits(catalog, "holdout", 10)


def test_the_rules_table_reads_in_full_as_text_and_as_html():
    table = xf.DEFAULT_RULES.table()
    text = repr(table)
    assert "Styler" not in text and "..." not in text
    lines = text.splitlines()
    assert lines[0].split() == ["rule", "group", "violated", "when"]
    for row, wording in zip(lines[1:], xf.DEFAULT_RULES.describe()["violated when"]):
        assert row.endswith(wording)
    html = table._repr_html_()
    assert "<table" in html and all(w in html for w in xf.DEFAULT_RULES.describe()["violated when"])
