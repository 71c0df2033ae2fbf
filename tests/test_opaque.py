"""Chapter 09's opaque embedding: the backbone's input and output, the scorer on it, the swap comparison."""
import numpy as np
import pandas as pd
import pytest
import torch

import xfashion as xf
from xfashion import opaque
from xfashion.viz import opaque as views


def test_the_backbone_sees_the_item_on_white_upsampled_and_normalised(catalog):
    item = int(np.flatnonzero(catalog.slot == xf.SLOTS.index("dress"))[0])
    x = opaque.pixels(catalog, [item], image_size=40)
    assert x.shape == (1, 3, 40, 40)
    white = (1 - opaque._MEAN[:, 0, 0]) / opaque._STD[:, 0, 0]
    assert torch.allclose(x[0, :, 0, 0], white, atol=1e-5)  # a corner is background: white, normalised
    assert not torch.allclose(x[0, :, 20, 20], white, atol=0.1)  # the middle is garment


def test_the_embedding_is_1280_numbers_per_item_deterministic_and_changes_with_the_colour(catalog):
    items = np.flatnonzero(catalog.split == "test")[:5]
    first = opaque.embed_items(catalog, items, use_cache=False)
    assert first.shape == (5, 1280)
    assert torch.equal(first, opaque.embed_items(catalog, items, use_cache=False))
    assert torch.equal(first, opaque.embed_items(catalog, items))  # written to the cache, read back the same
    other = (catalog.color[items] + 3) % len(xf.COLOR_NAMES)
    recoloured = opaque.embed_items(catalog, items, other, use_cache=False)
    assert (recoloured - first).abs().max(1).values.min() > 1e-2  # every item's embedding moves


@pytest.mark.parametrize("args, match", [
    ({"items": [[0, 1]]}, "1-D array of catalog ids"),
    ({"items": [10 ** 7]}, "catalog ids in 0-"),
    ({"items": [0, 1], "colors": [2]}, "one colour per item"),
    ({"items": [0], "image_size": 16}, "image_size must be an integer number of pixels in 32-224"),
])
def test_bad_input_is_refused_with_what_to_fix(catalog, args, match):
    with pytest.raises(ValueError, match=match):
        opaque.embed_items(catalog, **args)


def test_variance_sources_name_a_dimension_by_what_it_varies_with(catalog):
    items = np.flatnonzero(catalog.split == "train")[:600]
    rng = np.random.default_rng(0)
    table = torch.zeros(len(catalog), 3, dtype=torch.float64)
    table[items, 0] = torch.from_numpy(catalog.color[items] * 1.0)  # the colour's index: colour alone
    table[items, 1] = torch.from_numpy(catalog.category[items] * 1.0)  # the category alone
    table[items, 2] = torch.from_numpy(rng.normal(size=len(items)))  # neither
    shares = opaque.variance_sources(table, catalog, items)
    assert shares.colour[0] == pytest.approx(1.0) and shares.category[1] == pytest.approx(1.0)
    assert shares.category[0] < 0.1 and shares.colour[1] < 0.1
    assert shares.loc[2].max() < 0.1


def test_the_opaque_projection_centres_on_training_items_and_keeps_every_dimension():
    raw = torch.randn(50, 1280) * torch.linspace(0.01, 3, 1280) + 5
    proj = opaque.Projection(raw.mean(0), float((raw - raw.mean(0)).std()))
    out = proj(raw)
    assert out.mean(0).abs().max() < 1e-4 and float(out.std()) == pytest.approx(1.0, rel=1e-3)
    # one common scale: the ratio between two dimensions' spreads survives
    ratio = float(raw[:, -1].std() / raw[:, 0].std())
    assert float(out[:, -1].std() / out[:, 0].std()) == pytest.approx(ratio, rel=1e-3)


@pytest.fixture(scope="module")
def bench(catalog, splits, tiny_feats):
    return opaque.opaque_bench(tiny_feats, catalog, splits, seed=0)


def test_both_scorers_share_the_architecture_and_the_outfits_and_differ_in_features(bench, splits):
    interp, opq = bench.models["interpretable"].model, bench.models["opaque"].model
    assert type(interp) is type(opq)
    assert opq.groups.names == ["embedding"] and opq.groups.sizes == [1280]
    assert interp.groups.names == ["color", "shape_texture"]
    assert all(np.array_equal(bench.splits[k].items, splits[k].items[:len(bench.splits[k])]) for k in bench.splits)
    used = np.unique(bench.splits["test"].items[bench.splits["test"].items >= 0])
    # the table's rows are the projected embeddings of the items' pixels
    assert torch.allclose(bench.opaque["embedding"][used[:4]], bench.featurise(used[:4]), atol=1e-4)
    auc = opaque.held_out_aucs(bench, n_boot=20)
    assert 0 <= auc["opaque"] <= 1 and auc["gap"] == pytest.approx(auc["interpretable"] - auc["opaque"])


def test_the_opaque_attribution_per_item_is_captums_input_x_gradient_and_the_table_reads_it(bench, wb_small):
    cmp = opaque.compare_on_swaps(bench, wb_small, per_kind=8, margin=0.0)
    assert len(cmp.table) > 0
    model = bench.models["opaque"].model
    per_dim = opaque.input_x_gradient(model, cmp.opaque_batch)["embedding"]
    captum = xf.attribute(model, cmp.opaque_batch, "input_x_gradient").values.sum(-1)
    assert torch.allclose(per_dim.sum(-1), captum, atol=1e-4)
    assert torch.allclose(per_dim.sum(-1), cmp.attributions["opaque"].values[..., 0], atol=1e-4)
    t = cmp.table
    culprit = cmp.attributions["opaque"].values[..., 0].masked_fill(~cmp.opaque_batch.mask, np.inf).argmin(1)
    assert np.array_equal(t.opaque_hit, culprit.numpy() == cmp.cases.position)
    assert np.allclose(t.chance, 1 / cmp.opaque_batch.mask.sum(1).numpy())
    assert set(t.truth) <= {"color", "shape_texture", "both"} and set(t.named) <= {"color", "shape_texture"}
    # a case's swapped outfit is the same for both scorers
    assert torch.equal(cmp.opaque_batch.items, cmp.cases.batch.items)
    named = opaque.named_after_the_fact(bench, cmp, pd.DataFrame({"colour": np.ones(1280), "category": 0.0}))
    # every dimension named colour: the colour sum is the swapped item's whole value and the shape sum 0, so
    # "colour" is the answer exactly where the item lowers the score
    own = per_dim.sum(-1)[np.arange(len(t)), cmp.cases.position]
    assert np.array_equal(named == "color", (own < 0).numpy())
    with pytest.raises(ValueError, match="one row per embedding dimension"):
        opaque.named_after_the_fact(bench, cmp, pd.DataFrame({"colour": [1.0], "category": [0.0]}))


def test_the_chapters_figure_draws_four_questions_with_chance_and_the_book_bar(bench, wb_small, catalog):
    cmp = opaque.compare_on_swaps(bench, wb_small, per_kind=8, margin=0.0)
    t, col = cmp.table, (cmp.table.kind == "color").to_numpy()
    items = np.unique(bench.splits["test"].items[bench.splits["test"].items >= 0])
    sources = {"EfficientNet embedding": opaque.variance_sources(bench.opaque["embedding"], catalog, items)}
    fig = views.plot_what_features_buy(cmp, sources, np.array(t.named))
    right = fig.axes[1]
    assert [tick.get_text() for tick in right.get_xticklabels()] == [
        "which item?", "which item?\ncolour swaps", "why? colour or\nshape-texture", "item and why,\nboth right"]
    assert len(right.patches) == 6 + 2 * bool(col.any())  # two scorers per question; colour swaps where any
    one = (t.truth != "both").to_numpy()  # item and why: the culprit item is the swapped one, its lower group right
    both = (t.interpretable_hit & t.group_hit)[one].mean()
    assert right.patches[4 + 2 * bool(col.any())].get_height() == pytest.approx(both)
    assert right.patches[0].get_height() == pytest.approx(t.interpretable_hit.mean())
    if col.any():
        assert right.patches[3].get_height() == pytest.approx(t.opaque_hit[col].mean())
    hits = np.arange(len(t)) % 4 == 0  # a reference scorer right on every fourth case
    fig = views.plot_what_features_buy(cmp, sources, np.array(t.named), reference={"item": hits, "why": hits[:3],
                                                                                      "both": hits[:2]})
    book = [c for c in fig.axes[1].containers if c.get_label().startswith("book's scorer")]
    assert len(book) == 1 and book[0].patches[0].get_height() == pytest.approx(hits.mean())  # one key, first bar
    hatched = {p.get_hatch() for p in fig.axes[1].patches} - {None}  # dotted is chance's line, and only that
    assert book[0].patches[0].get_hatch() is None and hatched == {views.NAMED_AFTER}
    heights = [p.get_height() for p in fig.axes[1].patches]
    assert heights[-1] == pytest.approx(hits[:2].mean()) and len(heights) == 9 + 2 * bool(col.any())
    labels = fig.axes[1].get_legend_handles_labels()[1]
    assert "opaque's why: its dims named after the fact" in labels and len(labels) == len(set(labels)) == 5


def test_the_comparison_keeps_the_candidates_both_scorers_call_good_that_drop_by_the_margin(bench, wb_small):
    pool = opaque.swap_candidates(bench, wb_small, per_kind=8)
    keep = np.flatnonzero((pool.cases.drop >= 0.5) & (pool.before > 0) & (pool.before - pool.after >= 0.5))
    cmp = opaque.compare_on_swaps(bench, wb_small, candidates=pool)
    assert np.array_equal(cmp.cases.items, pool.cases.items[keep]) and len(cmp.table) == len(keep)
    assert np.allclose(cmp.table.opaque_drop, (pool.before - pool.after)[keep])
    assert len(opaque.compare_on_swaps(bench, wb_small, per_kind=8).table) == len(keep)  # the same cases, rebuilt
    said = views.filter_sentence(pool, keep)
    assert said.startswith(f"Of {len(pool.before)} candidate cases, {len(keep)} are kept")


def test_the_picture_sentence_says_who_leads_on_colour_swaps_and_the_book_scorers_why():
    t = pd.DataFrame({"kind": ["color"] * 4 + ["item"] * 4, "interpretable_hit": [1, 0, 0, 0, 1, 1, 1, 1],
                      "opaque_hit": [1, 1, 1, 0, 0, 0, 0, 0], "book_hit": [1] * 8, "truth": ["color"] * 8,
                      "group_hit": [True] * 8}).astype({"interpretable_hit": bool, "opaque_hit": bool})
    one = t[t.truth != "both"]
    said = views.picture_sentence(t, one, np.array([True] * 7 + [False]), np.array([True, False] * 4))
    assert "the opaque scorer finds the swapped item more often (75% opaque, 25% interpretable" in said
    assert "the reverse of their order over every case" in said and "finds it in 100%" in said
    assert "88% of the 8 cases, -0.12 against" in said and "+0.38 against the embedding" in said
    assert "(100% against 62%" in said and "its why is right as often" in said


def test_the_item_sentence_says_how_far_above_chance_each_scorer_finds_recoloured_items():
    n = 40  # colour swaps of four items (chance 25%): the interpretable scorer finds 12, the opaque one 30
    t = pd.DataFrame({"kind": ["color"] * n + ["item"] * 2, "interpretable_hit": [True] * 12 + [False] * 30,
                      "opaque_hit": [True] * 30 + [False] * 12, "book_hit": [True] * 42, "chance": 0.25})
    said = views.item_sentence(t)
    assert "The 40 colour swaps ask the question" in said and "chance 25%; the book's scorer" in said
    assert "in 100%." in said
    assert "interpretable scorer finds it in 30% (within two standard errors of chance)" in said  # 0.05 / 0.073
    assert "the opaque one in 75% (7.2 standard errors above chance)" in said  # 0.5 / 0.069 (se, ddof 1)
    assert "colour swaps" not in views.item_sentence(t[t.kind == "item"])  # none to speak of


def test_auc_gap_is_paired_and_refuses_mismatched_inputs():
    good = np.array([True, True, False, False, True, False])
    perfect = np.array([3.0, 2.0, -1.0, -2.0, 1.0, 0.0])
    gap = opaque.auc_gap(perfect, -perfect, good, n_boot=50)
    assert gap["first"] == 1.0 and gap["second"] == 0.0 and gap["gap"] == 1.0
    assert opaque.auc_gap(perfect, perfect, good, n_boot=50)["gap_se"] == 0.0  # the same scores: no paired spread
    one_swap = np.array([3.0, 2.0, -1.0, 1.5, 1.0, 0.0])  # one bad outfit above one good one: 8 of 9 pairs right
    assert opaque.auc_gap(perfect, one_swap, good, n_boot=50)["gap"] == pytest.approx(1 / 9)
    with pytest.raises(ValueError, match="1-D arrays of one length"):
        opaque.auc_gap(perfect, perfect[:-1], good)


def test_fewer_outfits_retrains_both_on_a_prefix_and_measures_the_change_of_the_gap(bench):
    few = opaque.fewer_outfits(bench, n_train=len(bench.splits["train"]) // 2, n_boot=20)
    auc = opaque.held_out_aucs(bench, n_boot=20)
    assert few["interpretable"] == pytest.approx(auc["interpretable"]) and few["opaque"] == pytest.approx(auc["opaque"])
    assert few["change"] == pytest.approx((few["interpretable"] - few["opaque"])
                                          - (few["interpretable_fewer"] - few["opaque_fewer"]))
    assert few["interpretable_fewer"] != few["interpretable"] and few["change_se"] > 0
    with pytest.raises(ValueError, match="n_train must be between 1 and"):
        opaque.fewer_outfits(bench, n_train=len(bench.splits["train"]))


def test_the_case_explorer_draws_what_its_menus_name_and_says_an_empty_choice(bench, wb_small, catalog):
    cmp = opaque.compare_on_swaps(bench, wb_small, per_kind=8, margin=0.0)
    probe = opaque.variance_sources(bench.opaque["embedding"], catalog, opaque.items_of(bench.splits["train"]))
    data = views.case_data(bench, cmp, probe)
    t = data.table
    assert np.array_equal(t.posthoc, opaque.named_after_the_fact(bench, cmp, probe))
    said, fig = views.case_view(data, "any kind", "every case", 0)
    pos, n = int(t.position[0]), int(t["items"][0])
    assert f"(item {pos})" in said and len(fig.axes) == n + 4  # the pictures, three panels and the key
    middle = fig.axes[n + 1]
    heights = [p.get_height() for p in middle.containers[0]]
    assert np.allclose(heights, cmp.attributions["opaque"].values[0, :n, 0].numpy(), atol=1e-5)
    for ax, who in ((fig.axes[n], "interpretable"), (middle, "opaque")):  # one frame per culprit item, none per bar
        bars = [bar for bars in ax.containers for bar in bars]
        frames = [p.get_x() + p.get_width() / 2 for p in ax.patches if p not in bars]
        assert frames == pytest.approx([int(t[f"{who}_culprit"][0])]) and max(b.get_linewidth() for b in bars) < 1
    assert fig.axes[n + 2].containers[0][1].get_hatch() not in {b.get_hatch() for b in fig.axes[n].containers[1]}
    key = {h.get_hatch(): h.get_label() for h in fig.axes[n + 3].get_legend().legend_handles}  # a pattern, a meaning
    assert {b.get_hatch() for b in fig.axes[n + 2].containers[0]} == {views.NAMED_AFTER} and key[views.NAMED_AFTER] \
        == "named after the fact" and key["//"] == "shape-texture"
    ex = xf.viz.opaque_explorer(bench, cmp, probe, kind="any kind")
    kind, show, case = ex.children[:3]
    for k in ("color", "shape_texture", "item"):
        for name in views.SHOW:
            kind.value, show.value = k, name
            picked = [c for _, c in case.options]
            keep = (views.SHOW[name](t) & (t.kind == k)).to_numpy()
            # the case menu follows both menus and opens on its first entry
            assert picked == (np.flatnonzero(keep).tolist() or [-1]) and case.value == picked[0]
    said, fig = views.case_view(data, "shape_texture", "only the opaque scorer finds it", -1)
    assert fig is None and said.startswith("No shape-texture swap of this run is in 'only the opaque")
    with pytest.raises(ValueError, match="kind must be one of"):
        xf.viz.opaque_explorer(bench, cmp, probe, kind="colour")
