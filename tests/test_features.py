import numpy as np
import pytest
import torch

import xfashion as xf


@pytest.fixture(scope="module")
def tiny_cnn(mini, tmp_path_factory):
    return xf.cnn.train_shape_cnn(mini, epochs=1, max_train=512, progress=False, use_cache=False)


def test_rgb_to_lab_known_values():
    lab = xf.features.rgb_to_lab(torch.tensor([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]))
    torch.testing.assert_close(lab, torch.tensor([[100.0, 0.0, 0.0], [0.0, 0.0, 0.0], [53.24, 80.09, 67.20]]),
                               atol=0.05, rtol=0)


def test_histogram_sums_to_one_and_names_match(mini):
    assert xf.DEFAULT_GROUPS["color"].dim_names == tuple(xf.COLOR_NAMES)
    hist = xf.ColorHistogram()(xf.data.render(mini.train_images[:50], np.arange(50) % 13))
    assert hist.shape == (50, 13)
    torch.testing.assert_close(hist.sum(1), torch.ones(50))
    assert torch.all(hist >= 0)


@pytest.mark.parametrize("color", xf.COLOR_NAMES)
def test_recoloring_moves_mass_to_the_new_color(mini, color):
    k = xf.data.color_index(color)
    before = xf.ColorHistogram()(xf.data.render(mini.train_images[:40], (k + 5) % 13))
    after = xf.ColorHistogram()(xf.data.render(mini.train_images[:40], k))
    assert torch.all(after.argmax(1) == k)
    assert after[:, k].mean() > 0.9 and before[:, k].mean() < 0.1


def test_background_does_not_count(mini):
    img = mini.train_images[0].copy()
    rgba = xf.data.render(img, xf.data.color_index("red"))
    rgba_bg = rgba.clone()
    rgba_bg[:3, rgba[3] == 0] = 0.5  # paint the (transparent) background grey
    torch.testing.assert_close(xf.ColorHistogram()(rgba), xf.ColorHistogram()(rgba_bg))


def test_shape_texture_is_color_blind(catalog, tiny_cnn):
    extractor = xf.features.FeatureExtractor(tiny_cnn.model).eval()
    extractor.fit_standardisation(catalog.render(range(300)))
    assert xf.analysis.color_invariance(extractor, catalog, n=60) < 1e-4
    # but it does see shape: a trouser and a sneaker differ a lot
    pair = [catalog.find(category="Trouser")[0], catalog.find(category="Sneaker")[0]]
    with torch.no_grad():
        st = extractor(catalog.render(pair))["shape_texture"]
    assert (st[0] - st[1]).norm() / st[0].norm() > 0.5


def test_gradients_flow_from_features_to_pixels(catalog, tiny_cnn):
    extractor = xf.features.FeatureExtractor(tiny_cnn.model).eval()
    rgba = catalog.render([0, 1, 2]).requires_grad_(True)
    out = extractor(rgba)
    for name in ("color", "shape_texture"):
        (grad,) = torch.autograd.grad(out[name][:, 0].sum() if name == "shape_texture"
                                      else out[name][torch.arange(3), torch.from_numpy(catalog.color[:3])].sum(),
                                      rgba, retain_graph=True)
        assert torch.isfinite(grad).all() and grad.abs().sum() > 0, name


def test_cnn_cache_is_keyed_by_configuration(mini, tmp_path, monkeypatch):
    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path))
    first = xf.cnn.train_shape_cnn(mini, epochs=1, max_train=256, progress=False)
    again = xf.cnn.train_shape_cnn(mini, epochs=1, max_train=256, progress=False)
    other = xf.cnn.train_shape_cnn(mini, epochs=1, max_train=256, lr=1e-3, progress=False)
    assert not first.cached and again.cached and not other.cached
    assert len(list(tmp_path.glob("shape_cnn-*.pt"))) == 2
    for a, b in zip(first.model.state_dict().values(), again.model.state_dict().values()):
        torch.testing.assert_close(a, b)


def test_feature_cache_invalidates_when_catalog_changes(mini, tmp_path, monkeypatch, tiny_cnn):
    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path))
    cat_a = xf.build_catalog(mini, seed=0, max_items=300)
    cat_b = xf.build_catalog(mini, seed=1, max_items=300)
    fa = xf.features.extract_features(cat_a, tiny_cnn, progress=False)
    fa2 = xf.features.extract_features(cat_a, tiny_cnn, progress=False)
    fb = xf.features.extract_features(cat_b, tiny_cnn, progress=False)
    assert not fa.cached and fa2.cached and not fb.cached
    assert fa["color"].shape == (len(cat_a), 13) and fa["shape_texture"].shape == (len(cat_a), 32)
    # colours differ between the two catalogs, and so do their colour features
    assert not torch.equal(fa["color"].argmax(1), fb["color"].argmax(1))
    assert torch.equal(fa["color"].argmax(1), torch.from_numpy(cat_a.color))


def test_feature_groups_check_rejects_bad_features():
    good = {"color": torch.rand(2, 5, 13), "shape_texture": torch.rand(2, 5, 32)}
    xf.DEFAULT_GROUPS.check(good)
    with pytest.raises(ValueError, match="missing"):
        xf.DEFAULT_GROUPS.check({"color": good["color"]})
    with pytest.raises(ValueError, match="expected 32"):
        xf.DEFAULT_GROUPS.check({**good, "shape_texture": torch.rand(2, 5, 31)})
    bad = good["color"].clone()
    bad[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        xf.DEFAULT_GROUPS.check({**good, "color": bad})
    with pytest.raises(KeyError, match="Unknown feature group"):
        xf.DEFAULT_GROUPS["sleeve"]
    assert xf.DEFAULT_GROUPS.add(xf.FeatureGroup("pattern", 1, ("t",))).names == ["color", "shape_texture", "pattern"]


def test_feature_groups_table_names_each_group_its_dimensions_and_role():
    table = xf.DEFAULT_GROUPS.add(xf.FeatureGroup("brightness", 2, ("mean", "spread"))).table()
    assert list(table.index) == ["color", "shape_texture", "brightness", "slot"]
    assert table["size"].tolist() == [13, 32, 2, 6]
    assert table.loc["shape_texture", "dimensions"] == "st00, st01, st02, ..., st31"
    assert table.loc["brightness", "dimensions"] == "mean, spread"
    assert table.loc["slot", "dimensions"] == "top, bottom, dress, outer, shoes, bag"
    assert table["role"].tolist() == ["explained"] * 3 + ["context (not explained)"]


def test_top_confusions_rank_rates_and_say_whether_the_stylist_cares():
    confusion = np.diag(np.full(10, 100))
    names = list(xf.CATEGORIES)
    shirt, tee, coat = names.index("Shirt"), names.index("T-shirt/top"), names.index("Coat")
    confusion[shirt, tee], confusion[coat, shirt] = 30, 10  # of 130 and 110 images
    table = xf.analysis.top_confusions(confusion, k=2)
    assert table[["true", "predicted"]].values.tolist() == [["Shirt", "T-shirt/top"], ["Coat", "Shirt"]]
    assert table.rate.tolist() == [round(30 / 130, 3), round(10 / 110, 3)]
    # shirt and T-shirt share a slot and no season clash; a coat is outerwear and clashes with sandals
    assert table.alike.tolist() == [True, False]
    assert table.same_slot.tolist() == [True, False] and table.same_season_rules.tolist() == [True, False]


def test_colour_histogram_without_autograd_votes_only_garment_pixels_to_the_same_values(catalog):
    """The fast path (no autograd: extraction) equals the differentiable one, background and empty items too."""
    hist = xf.ColorHistogram()
    rgba = catalog.render(np.arange(40)).reshape(8, 5, 4, 28, 28).clone()
    rgba[0, 0] = 0  # an item with no garment pixel at all
    with torch.no_grad():
        fast = hist(rgba)
    dense = hist(rgba.requires_grad_())
    assert fast.shape == dense.shape == (8, 5, 13)
    torch.testing.assert_close(fast, dense.detach(), atol=1e-5, rtol=0)
    assert fast[0, 0].abs().sum() == 0 and torch.allclose(fast[1:].sum(-1), torch.ones(7, 5), atol=1e-5)
