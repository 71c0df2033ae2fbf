"""Feature groups are data: a third group runs through extraction, training, every explainer and
the swap evaluation without editing the package."""
import numpy as np
import pytest
import torch

import xfashion as xf
from xfashion.evaluate import pairs as ep
from xfashion.evaluate import run_swap_evaluation
from xfashion.evaluate.swap import SWAP_KINDS
from xfashion.pipeline import Workbench


def test_a_third_group_runs_end_to_end(mini, catalog, splits, tmp_path, monkeypatch):
    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path))
    groups = xf.DEFAULT_GROUPS.add(xf.FeatureGroup("brightness", 2, ("mean", "spread"),
                                                   encoder=lambda cnn: xf.features.LuminanceStats()))
    cnn = xf.cnn.train_shape_cnn(mini, epochs=1, max_train=512, progress=False, use_cache=False)
    feats = xf.extract_features(catalog, cnn, groups=groups, progress=False)
    assert list(feats.tables) == groups.names and feats.tables["brightness"].shape == (len(catalog), 2)
    # a re-coloured item keeps its shape group but changes its brightness (white vs navy)
    with torch.no_grad():
        pair = feats.extractor(catalog.render([0, 0], [xf.data.color_index("white"), xf.data.color_index("navy")]))
    assert pair["brightness"][0, 0] > pair["brightness"][1, 0] + 0.2

    model = xf.train_scorer(catalog, splits, feats, epochs=2, progress=False).model
    assert model.groups.names == groups.names
    train = np.flatnonzero(catalog.split == "train")
    wb = Workbench(catalog, splits, feats, model, xf.explain.dataset_means(feats.tables, train),
                      xf.explain.reference_outfits(feats.tables, rows=train))
    small = np.flatnonzero(splits["test"].mask.sum(1) <= 4)[:4]  # exact Shapley: at most 12 players
    for name in xf.explain.methods():
        t = xf.explain.get_method(name).traits
        attr = xf.attribute(wb.model, wb.batch(small, images=t.needs_images), name, **wb.options())
        assert attr.values.shape == (len(small), xf.outfits.MAX_ITEMS, 3) and attr.groups == groups.names, name
    batch = wb.batch(small)
    torch.testing.assert_close(xf.attribute(wb.model, batch, "ifiv").values,
                               xf.attribute(wb.model, batch, "input_x_gradient").values, atol=1e-5, rtol=1e-5)

    blame = xf.evaluate.oracle_blame_tensor(catalog, splits["test"], np.arange(20), groups=groups.names)
    assert blame.shape == (20, xf.outfits.MAX_ITEMS, 3) and blame[..., 2].sum() == 0  # no rule faults brightness
    report = run_swap_evaluation(wb, methods=["ifiv", "feature_ablation", "random"], n_outfits=20, margin=0.0,
                                    sanity_cases=5, progress=False, use_cache=False)
    assert report.first.blame.shape[-1] == 3 and report.first.groups == groups.names
    assert set(report.per_case.method) == {"ifiv", "feature_ablation", "random", "oracle"}
    # (item, group) top-1 is defined for the colour and shape swaps, over 3 groups per item
    color = report.per_case[(report.per_case.method == "random") & (report.per_case.kind == SWAP_KINDS[0])]
    assert color.cell_top1.notna().all()
    assert report.random_expected["cell_top1"] < report.random_expected["item_top1"] / 2


def test_a_group_without_an_encoder_is_refused(mini):
    cnn = xf.cnn.train_shape_cnn(mini, epochs=1, max_train=256, progress=False, use_cache=False)
    groups = xf.DEFAULT_GROUPS.add(xf.FeatureGroup("pattern", 1, ("texture_score",)))
    with pytest.raises(ValueError, match="'pattern'.* no encoder"):
        xf.features.FeatureExtractor(cnn.model, groups)


def test_a_group_declares_its_swap_and_the_swap_kinds_follow():
    # the whole path, xf.workbench(groups=...) to the swap and pair tests, runs from a kernel cell in
    # tests/test_kernel_methods.py
    brightness = xf.FeatureGroup("brightness", 2, ("mean", "spread"), encoder=lambda cnn: xf.features.LuminanceStats(),
                                 swap="recolour")
    groups = xf.DEFAULT_GROUPS.add(brightness)
    assert groups.swap_kinds == ("color", "shape_texture", "brightness", "item") == (*SWAP_KINDS[:2], "brightness",
                                                                                     "item")
    assert xf.DEFAULT_GROUPS.add(xf.FeatureGroup("plain", 1, ("x",))).swap_kinds == SWAP_KINDS
    with pytest.raises(ValueError, match="swap must be one of"):
        xf.FeatureGroup("odd", 1, ("x",), swap="rotate")


def test_the_pair_test_needs_a_group_that_is_re_coloured(wb_small):
    import copy
    model = copy.deepcopy(wb_small.model)
    model.groups = xf.groups.FeatureGroups(tuple(xf.FeatureGroup(g.name, g.size, g.dim_names)
                                                 for g in model.groups.groups), model.groups.context)
    with pytest.raises(ValueError, match="no feature group of the scorer declares swap='recolour'"):
        ep.build_pair_cases(wb_small, model=model, n_outfits=50)
