"""Chapters 01-02 up close (xfashion/viz/items.py): the texture map, the colour histogram's temperature, the probes."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import xfashion as xf  # noqa: E402
from xfashion.viz import items as vi  # noqa: E402
from xfashion.viz import style  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_the_texture_map_averages_to_the_catalogs_texture_score(catalog):
    energy, inside, garment = vi.texture_map(catalog.images[:200])
    mean = (energy * inside).reshape(200, -1).sum(1) / np.maximum(inside.reshape(200, -1).sum(1), 1)
    assert np.allclose(mean, catalog.texture[:200], atol=1e-6)
    assert ((inside == 0) | (inside == 1)).all() and (inside <= garment).all()  # the garment, eroded
    assert (garment.reshape(200, -1).sum(1) > inside.reshape(200, -1).sum(1)).all()  # the outline is left out


def test_the_busy_figure_draws_photo_and_map_on_one_scale_and_bolds_busy_garments(catalog):
    examples = xf.analysis.busy_examples(catalog, n=3)
    fig, axes = vi.plot_busy(catalog, examples, per_row=3)
    assert axes.shape == (3, 6) and fig.get_figwidth() <= style.MAX_WIDTH
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(bars) == 1  # one colour scale for every map
    maps = [vi.texture_map(catalog.images[items]) for items in examples.values()]
    top = max(float((e * g).max()) for e, _, g in maps)
    assert bars[0].get_ylim()[1] == pytest.approx(top)
    e, inside, garment = (m[0] for m in vi.texture_map(catalog.images[examples["busiest"][:1]]))
    drawn = axes[2, 1].images[0].get_array()
    left_out = (garment > 0) & (inside == 0)
    assert np.allclose(drawn[garment == 0], style.ITEM_BACKGROUND)  # the background is the pictures' grey
    assert np.abs(drawn[left_out] - style.ITEM_BACKGROUND).max() <= 0.25 + 1e-6  # left-out pixels are faded
    for row, items in zip(axes, examples.values()):
        assert [ax._left_title.get_fontweight() == "bold" for ax in row[::2]] == list(catalog.busy[items])
        assert [f"{catalog.texture[i]:.3f}" in ax.get_title(loc="left") for ax, i in zip(row[::2], items)] == [True] * 3
    assert min(t.get_fontsize() for ax in axes.flat for t in [ax.title, ax._left_title]) >= style.MIN_FONT


@pytest.mark.parametrize("tau", [5.0, 60.0, 600.0])
def test_pixel_votes_average_to_the_packages_histogram(catalog, tau):
    item = int(np.flatnonzero(catalog.split == "test")[3])
    votes, alpha = vi.pixel_votes(catalog, item, tau)
    with torch.no_grad():
        package = xf.ColorHistogram(tau)(catalog.render([item]))[0].numpy()
    assert np.allclose((votes * alpha[..., None]).sum((0, 1)) / alpha.sum(), package, atol=1e-6)
    assert np.allclose(votes.sum(-1), 1, atol=1e-5)  # each pixel gives one vote in all


def test_a_higher_temperature_spreads_the_histogram_and_the_view_says_by_how_much(catalog):
    item = int(catalog.find(color="white", split="test")[0])
    own = xf.COLOR_NAMES.index("white")
    shares = {}
    for tau in (1, 60, 3000):
        fig, said = vi.tau_view(catalog, item, tau)
        bars = fig.axes[2].patches[:13]  # the first 13 bars: the histogram at tau
        shares[tau] = bars[own].get_height()
        garment = xf.CATEGORIES[catalog.category[item]]
        assert f"At tau = {tau}, {shares[tau]:.0%} of the white {garment} votes white" in said
        assert fig.get_figwidth() <= style.MAX_WIDTH
    assert shares[1] >= shares[60] > shares[3000]
    assert shares[3000] < 0.5  # at 3,000 most of the mass has left white
    where = fig.axes[1]  # the vote map: where no garment is, a hatch shows through, never white (a vote of zero)
    behind = [p for p in where.patches if p.get_hatch()]
    assert len(behind) == 1 and behind[0].get_zorder() < where.images[0].get_zorder()
    assert np.ma.getmaskarray(where.images[0].get_array()).any() and "hatched: no garment" in where.get_title()
    with pytest.raises(ValueError, match="tau is a temperature"):
        vi.tau_view(catalog, item, 0)


def test_the_tau_explorer_offers_one_item_per_colour_and_redraws_with_its_hint(catalog, monkeypatch):
    said = []
    monkeypatch.setattr(vi, "say", said.append)
    monkeypatch.setattr(vi, "display", lambda *a, **k: None)
    options = vi.tau_items(catalog)
    names = [name for name, _ in options]
    assert len({n.split("(")[-1] for n in names}) == len(names)  # one entry per palette colour present
    w = vi.tau_explorer(catalog)
    tau = w.children[1]
    assert tau.label == "60 (package)" and [t for _, t in tau.options] == list(vi.TAUS)  # the package's tau, named
    assert 600 in vi.TAUS  # the chapter's other tau is on the slider
    ratios = np.diff(np.log(vi.TAUS))
    assert ratios.min() > np.log(1.66) and ratios.max() < np.log(3.01)  # each step multiplies tau by 1.7 to 3
    said.clear()
    tau.value = 600
    assert said[0] == vi.TAU_HINT and "You should see" in said[0] and "multiplies tau (by 1.7 to 3)" in said[0]
    assert said[1].startswith("At tau = 600,") and tau.label == "600"


def test_the_recolour_explorer_opens_where_asked_and_says_what_to_see(catalog, tiny_feats, monkeypatch):
    said, shown = [], []
    monkeypatch.setattr(vi, "say", said.append)
    monkeypatch.setattr(vi, "display", shown.append)
    item = int(catalog.find(category="Trouser", split="test")[3])
    own = xf.COLOR_NAMES[catalog.color[item]]
    other = "pink" if own != "pink" else "teal"
    w = vi.recolor_explorer(catalog, tiny_feats.extractor, items=[1, 2, 3], item=item, color=other)
    slider, menu = w.children[:2]
    assert slider.value == item and slider.label == str(item) and [i for _, i in slider.options] == [item, 1, 2, 3]
    said.clear()
    menu.value = own  # the item's own colour: the view says nothing moves, not that the mass moves
    assert said == [vi.RECOLOR_HINT] and "You should see" in said[0]
    title = shown[-1].axes[1].get_title()
    assert title.endswith(f"re-coloured {own}: its own colour, so nothing moves")
    with pytest.raises(ValueError, match="palette colour"):
        vi.recolor_explorer(catalog, tiny_feats.extractor, color="mauve")


def test_the_palette_sentence_names_the_closest_pair_and_its_weight():
    apart = torch.full((3, 13, 13), float("inf"))
    apart[0, 1, 2], apart[2, 4, 5], apart[1, 6, 7] = 120.0, 600.0, 1200.0
    said = vi.palette_sentence(apart, 0, 1, 2, tau=60)
    assert "the 60% shade of white and grey: 120 squared Delta E apart, 2.0 temperatures" in said
    assert f"{np.exp(-2):.0%} of the weight" in said
    assert "The median pair lies 600 apart, 10 temperatures: a weight of 5e-05." in said


def test_the_linear_probe_recovers_a_linear_target_and_finds_nothing_in_noise():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(400, 6, generator=gen)
    y = (x @ torch.tensor([1.0, -2.0, 0.5, 0.0, 0.0, 3.0]) + 0.7).numpy()
    folds, pred = vi.linear_probe(x, y, y > np.median(y), ridge=1e-6)
    assert len(folds) == 5 and (folds["R²"] > 0.999).all() and (folds["AUC busy"] > 0.99).all()
    assert np.allclose(pred, y, atol=1e-3)
    noise, _ = vi.linear_probe(x, torch.randn(400, generator=gen).numpy(), np.arange(400) % 2)
    assert noise["R²"].mean() < 0.05 and abs(noise["AUC busy"].mean() - 0.5) < 0.1


def test_the_negative_sentence_says_whom_the_stylist_blames_beside_the_new_item(catalog):
    from xfashion.rules import Violation

    original = np.array([0, 1, 2])
    negative = np.array([0, 5, 2])
    alone = vi.negative_sentence(catalog, original, negative, 1, [Violation("season_clash", "shape_texture", (1,))], 1)
    assert alone.startswith("It took 1 draw: ") and alone.endswith("The stylist blames the new item alone.")
    shared = vi.negative_sentence(catalog, original, negative, 1, [Violation("hue_clash", "color", (1, 2))], 4)
    colour, category = xf.COLOR_NAMES[catalog.color[2]], xf.CATEGORIES[catalog.category[2]]
    assert "It took 4 draws" in shared and f"also the {colour} {category}, which was in the good outfit" in shared


def test_blame_shares_give_one_unit_per_violation_and_sum_to_the_oracles_blame(catalog, splits):
    test = splits["test"]
    bad = [test.outfit(int(i)) for i in np.flatnonzero(test.label <= 0)[:20]]
    for items in bad:
        shares = vi.blame_shares(catalog, items)
        found = xf.outfits.outfit_violations(catalog, items)
        assert len(shares) == len(found) + 1 and np.allclose(shares["total"].iloc[:-1], 1)
        assert shares["total"].iloc[-1] == pytest.approx(len(found))
        assert np.allclose(shares.iloc[-1, :-1], xf.outfits.outfit_blame(catalog, items).sum(1))


def test_the_violations_panel_draws_each_rules_share_of_each_splits_bad_outfits(catalog, splits):
    from xfashion.viz.outfits import plot_dataset_stats

    _, axes = plot_dataset_stats(catalog, splits)
    drawn = {t.get_text(): [p.get_width() for p in bars] for t, bars in
             zip(axes[3].get_legend().get_texts(), axes[3].containers)}
    rules = [t.get_text().replace(" ", "_") for t in axes[3].get_yticklabels()]
    for split, outfits in splits.items():
        counts, n_bad = xf.outfits.rule_counts(outfits), (outfits.oracle_label == 0).sum()
        assert drawn[split] == pytest.approx([100 * counts.get(r, 0) / n_bad for r in rules])
    assert axes[3].get_xlabel() == "% of the split's bad outfits"


def test_mask_holes_are_the_silhouettes_pixels_the_alpha_mask_leaves_out():
    image = np.zeros((28, 28), np.uint8)
    image[4:20, 6:18] = 200  # a garment
    image[10, 10] = image[12:14, 14] = 0  # three pixels as dark as the background, inside it
    image[4, 6] = 0  # a dark corner pixel on the outline: outside, not a hole
    holes = vi.mask_holes(image[None])
    assert holes.shape == (1, 28, 28) and holes.sum() == 3 and holes[0, 10, 10] and not holes[0, 4, 6]
    alpha = xf.rendering.garment_alpha(torch.from_numpy(image).float() / 255).numpy()
    assert (alpha[holes[0]] < 0.5).all()


def test_the_item_grid_shows_the_photos_as_stored_under_its_title_without_a_band(catalog):
    fig, axes = xf.viz.plot_item_grid(catalog.images, catalog.category, per_category=3)
    assert axes.shape == (len(xf.CATEGORIES), 3)
    image = axes[0, 0].images[0]
    assert image.get_cmap().name == "gray" and image.get_clim() == (0, 255)  # black background, as in the busy figure
    fig.canvas.draw()
    title = fig._suptitle.get_window_extent()
    top = max(ax.get_window_extent().y1 for ax in axes[0])
    assert 0 <= title.y0 - top < 0.3 * fig.dpi  # the first row sits under the title, no empty band between
