"""The figures say what they show: shared scales with colour bars, no overprinted labels, no clipped text."""
import io
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import to_rgb  # noqa: E402
from PIL import Image  # noqa: E402

import xfashion as xf  # noqa: E402
from xfashion.explain.base import Attribution  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def attribution(name, values, item_level=False):
    values = torch.as_tensor(values, dtype=torch.float32)[None]
    return Attribution(values, torch.ones(values.shape[:2], dtype=torch.bool), name, ["color", "shape_texture"],
                       item_level=item_level)


def test_methods_panel_shares_one_symmetric_scale_and_one_colour_bar_and_item_methods_show_one_column():
    attrs = {"ifiv": attribution("ifiv", [[3.0, -1.0], [0.5, 0.2]]),
             "grad_cam": attribution("grad_cam", [[0.5, 0.5], [-0.1, -0.1]], item_level=True),
             "random": attribution("random", [[0.1, 0.2], [-9.0, 0.0]])}
    fig, axes = xf.viz.plot_methods_panel(attrs, ncols=2)
    for ax in (axes[0, 0], axes[0, 1], axes[1, 0]):
        assert ax.collections[0].get_clim() == pytest.approx((-9.0, 9.0))
        assert ax.collections[0].get_cmap().name == xf.viz.style.CMAP
    assert [t.get_text() for t in axes[0, 1].get_xticklabels()] == ["item"]  # no duplicated group columns
    assert axes[0, 1].texts[0].get_text() == "1.00"  # the item value: the sum over its groups
    colour_bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(colour_bars) == 1


def test_a_heat_map_cell_takes_the_markers_as_frames_the_culprits_around_it_the_stylists_inside():
    fig, axes = xf.viz.plot_methods_panel({"ifiv": attribution("ifiv", [[3.0, -1.0], [0.5, 0.2]])})
    ax = axes[0, 0]
    xf.viz.style.mark(ax, "blamed", cell=(1, 0))  # row 1 (item 1), column 0 (colour)
    framed = {p.get_gid(): p for p in ax.patches}
    assert framed["culprit"].get_xy() == (1, 0) and framed["culprit"].get_width() == 1  # ifiv's lowest: item 0, st
    blamed = framed["blamed"]
    x, y = blamed.get_xy()
    assert 0 < x < x + blamed.get_width() < 1 and 1 < y < y + blamed.get_height() < 2  # inside cell (1, 0)
    assert blamed.get_edgecolor()[:3] == pytest.approx(to_rgb(xf.viz.style.TAGS["blamed"]["face"]))
    with pytest.raises(ValueError, match="Unknown marker"):
        xf.viz.style.mark(ax, "stylist", cell=(0, 0))


def test_gradcam_draws_its_map_over_a_grey_copy_in_the_series_colours(wb_small):
    outfit = wb_small.splits["test"].outfit(0)
    cam = xf.attribute(wb_small.model, wb_small.batch([0], images=True), "grad_cam", **wb_small.options())
    fig, axes = xf.viz.plot_gradcam(wb_small.catalog, outfit, cam)
    assert axes.shape == (2, len(outfit))
    grey, overlay = axes[1, 0].images
    assert grey.get_cmap().name == "gray" and grey.get_array().ndim == 2
    assert overlay.get_cmap().name == xf.viz.style.CMAP and overlay.get_clim()[0] == -overlay.get_clim()[1]
    assert {ax.images[1].get_clim() for ax in axes[1]} == {overlay.get_clim()}  # one scale for every item
    assert overlay.get_alpha() <= 0.5 and len(axes[1, 0].collections) >= 1  # the garment shows: its outline is drawn
    assert any(ax.get_label() == "<colorbar>" for ax in fig.axes)
    assert fig.get_size_inches()[0] <= xf.viz.style.MAX_WIDTH


def test_cost_figure_draws_passes_and_milliseconds_under_readable_names():
    table = pd.DataFrame({"forward_passes": [1.0, 11.0, 0.0], "backward_passes": [1.0, 0.0, 0.0],
                          "ms_per_outfit": [0.05, 0.2, 0.003]}, index=["ifiv", "feature_ablation", "random"])
    fig, (passes, ms) = xf.viz.plot_cost(table)
    assert [t.get_text() for t in passes.get_yticklabels()] == ["random", "IFIV", "feature ablation"]
    widths = sorted(p.get_width() for p in passes.patches if np.isfinite(p.get_width()))
    assert widths == [1.0, 1.0, 11.0]  # zero counts are written, not drawn, on the log axis
    assert sorted(t.get_text() for t in passes.texts) == ["0", "0", "0"]
    assert sorted(p.get_width() for p in ms.patches) == [0.003, 0.05, 0.2]
    assert fig.get_size_inches()[0] <= xf.viz.style.MAX_WIDTH
    plt.close(fig)


def _text_colour_on(value, lim):
    return xf.viz.style.text_color(value, lim)


def test_the_visual_language_reds_lower_blues_raise_and_cell_text_contrasts():
    style = xf.viz.style
    lowers, raises = style.bar_colors([-2.0, 3.0])
    assert lowers[0] > lowers[2] and raises[2] > raises[0]  # red below zero, blue above
    # the map's dark ends take white text, its pale middle black text
    assert _text_colour_on(-10, 10) == "white" and _text_colour_on(10, 10) == "white"
    assert _text_colour_on(0.1, 10) == "black"
    assert style.signed_limit([-3.0, 1.0], [2.0]) == 3.0 and style.signed_limit([]) > 0
    with pytest.raises(ValueError, match="'culprit'"):
        fig, ax = plt.subplots()
        style.mark(ax, "favourite")


def test_every_signed_attribution_figure_uses_the_series_map_a_symmetric_scale_and_the_markers(wb_small):
    style = xf.viz.style
    test = wb_small.splits["test"]
    bad = int(np.flatnonzero(test.oracle_label == 0)[0])
    items = test.outfit(bad)
    n = len(items)
    attr = xf.attribute(wb_small.model, wb_small.batch([bad]), "ifiv")
    values = attr.values[0, :n].numpy()

    fig, axes = xf.viz.plot_explanation(wb_small.catalog, items, attr, score=-1.0)
    bars = [p for ax in axes[1] for p in ax.patches]
    expected = style.bar_colors(values.ravel())
    assert [tuple(p.get_facecolor()) for p in bars] == [tuple(c) for c in expected]
    lows = {ax.get_ylim() for ax in axes[1]}
    assert len(lows) == 1 and next(iter(lows))[0] == -next(iter(lows))[1]  # one symmetric scale
    culprit = int(attr.culprit_item()[0])
    framed = [k for k, ax in enumerate(axes[0]) if ax.spines["top"].get_linewidth() == style.CULPRIT["linewidth"]]
    assert framed == [culprit]
    blamed = np.flatnonzero(xf.outfits.outfit_blame(wb_small.catalog, items).sum(1) > 0).tolist()
    tagged = [k for k, ax in enumerate(axes[0]) if any(t.get_gid() == "tag:blamed" for t in ax.texts)]
    assert tagged == blamed and blamed  # a bad outfit has someone to blame
    assert fig._suptitle.get_text().startswith(f"IFIV: culprit item {culprit}; culprit (item, group): item ")
    fig, axes = xf.viz.plot_explanation(wb_small.catalog, items, attr, score=1.0)  # the model calls it good
    title = fig._suptitle.get_text()  # a lowest item and cell, no culprit, and no frame
    assert title.startswith(f"IFIV: lowest item {culprit}; lowest (item, group): item ") and "culprit" not in title
    assert not [ax for ax in axes[0] if ax.spines["top"].get_linewidth() == style.CULPRIT["linewidth"]]

    fig, ax = plt.subplots()
    xf.viz.explanations.plot_attribution_heatmap(attr, ax=ax)
    mesh = ax.collections[0]
    assert mesh.get_cmap().name == style.CMAP and mesh.get_clim()[0] == -mesh.get_clim()[1]
    (frame,) = [p for p in ax.patches if p.get_gid() == "culprit"]
    i, j = np.unravel_index(values.argmin(), values.shape)
    assert frame.get_xy() == (j, i)  # the lowest cell: the culprit (item, group)

    pairs = {m: xf.explain.attribute_pairs(wb_small.model, wb_small.batch([bad]), m, means=wb_small.means)
             for m in ["second_order_ifiv", "pair_removal"]}
    fig, axes = xf.viz.plot_pair_matrix(wb_small.catalog, items, pairs, truth=(0, 1))
    clims = {ax.images[0].get_clim() for ax in axes[0]}
    assert len(clims) == 1 and next(iter(clims))[0] == -next(iter(clims))[1]  # one symmetric scale for all panels
    assert all(ax.images[0].get_cmap().name == style.CMAP for ax in axes[0])
    for ax, attr in zip(axes[0], pairs.values()):
        low = attr.values[0, : len(items), : len(items)][~torch.eye(len(items), dtype=torch.bool)].min()
        assert sum(p.get_gid() == "culprit" for p in ax.patches) == (2 if low < 0 else 0)  # the lowest pair, if < 0
        assert sum(p.get_gid() == "blamed" for p in ax.patches) == 2
    for f in map(plt.figure, plt.get_fignums()):
        assert f.get_size_inches()[0] <= style.MAX_WIDTH + 1e-6


def test_the_rules_table_shows_every_wording_in_full():
    html = xf.DEFAULT_RULES.table().to_html()
    for wording in xf.DEFAULT_RULES.describe()["violated when"]:
        assert wording in html
    assert "..." not in html


def fake_report():
    methods = ["ifiv", "input_x_gradient", "deeplift", "random", "oracle"]
    rng = np.random.default_rng(0)
    per_case = pd.DataFrame([{"method": m, "kind": k, "slot": s, "size": n, "item_top1": float(rng.random() < 0.7)}
                             for m in methods for k, s, n in [("color", "shoes", 3)] * 30 + [("item", "top", 4)] * 5])
    return SimpleNamespace(
        per_case=per_case, random_expected={"item_top1": 0.3},
        cost=pd.DataFrame({"ms_per_outfit": [0.02, 0.02, 0.021, 1e-4, 1e-4]}, index=methods),
        sanity=pd.DataFrame({"trained model": [0.8, 0.3], "randomised model": [0.3, 0.3]},
                            index=["integrated_gradients_mean", "random"]),
        sanity_cases=pd.Series([100.0, 40.0], index=["integrated_gradients_mean", "random"]))


def test_sanity_figure_labels_its_dashed_line_and_keeps_long_names_apart():
    fig, ax = xf.viz.plot_sanity(fake_report())
    assert "random ranking (analytic)" in [t.get_text() for t in ax.get_legend().get_texts()]
    ticks = ax.get_xticklabels()
    assert ticks[0].get_text() == "IG from the mean item" and ticks[0].get_ha() == "right"
    # each bar's 95% interval is binomial over its cases: 0.8 on 100 cases -> +-1.96 * 0.04
    (low, high), = [seg[:, 1] for seg in ax.containers[0].lines[2][0].get_segments()[:1]]
    assert (low, high) == pytest.approx((0.8 - 0.0784, 0.8 + 0.0784), abs=1e-4)
    assert ax.get_xlabel() == "cases re-explained per method: 100 (random: 40)"


def test_accuracy_vs_cost_names_every_method_beside_its_point_where_no_name_overlaps_another():
    report = fake_report()
    fig, ax = xf.viz.plot_accuracy_vs_cost(report)
    assert ax.get_legend() is None
    names = [xf.viz.evaluation.method_name(m) for m in report.cost.index]
    texts = [t for t in ax.texts if t.get_text() in names]
    assert sorted(t.get_text() for t in texts) == sorted(names)  # each method named once
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in texts]
    # three methods share one place (0.02 ms, the same accuracy): their names still do not overprint
    assert not any(a.overlaps(b) for k, a in enumerate(boxes) for b in boxes[k + 1:])
    styles = {(tuple(c.get_facecolor()[0]), str(c.get_paths()[0].vertices.round(2).tolist())) for c in ax.collections}
    assert len(styles) == len(report.cost)  # coinciding points keep distinct colours and markers
    looks = xf.viz.evaluation.method_styles(report.cost.index)
    assert looks["ifiv"]["color"] == "black"
    assert looks["input_x_gradient"] == xf.viz.style.method_look("input_x_gradient")
    assert {"oracle (the ceiling) ", "chance: a random ranking "} <= {t.get_text() for t in ax.texts}


def test_bars_by_group_put_case_counts_in_the_legend_not_over_the_whiskers():
    fig, ax = xf.viz.plot_accuracy_by(fake_report().per_case, "slot")
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["top (5 cases)", "shoes (30 cases)", "chance: a random ranking of the bar's cases"]
    # each bar carries its chance as a black dash across it: 1/4 on the four-item tops, 1/3 on the shoes
    dashes = sorted(round(float(seg[0, 1]), 4) for c in ax.collections for seg in c.get_segments()
                    if c.get_color()[0][:3].tolist() == [0, 0, 0] and len(seg) == 2 and seg[0, 1] == seg[1, 1])
    assert dashes == [0.25] * 5 + [0.3333] * 5


def test_score_distributions_clip_the_axis_to_the_bulk_and_say_how_many_lie_beyond():
    logits = np.concatenate([np.linspace(-5, 5, 995), np.full(5, -180.0)])
    labels = np.concatenate([np.linspace(-5, 5, 995) > 0, np.zeros(5, bool)])
    fig, ax = xf.viz.plot_score_distributions({"model": logits}, labels)
    lo, hi = ax[0].get_xlim()
    assert -6 < lo < 0 < hi < 6
    beyond = int(ax[0].get_title().split(": ")[1].split()[0])
    assert 5 <= beyond <= 25 and "outfits beyond" in ax[0].get_title()
    assert ax[0].get_legend().get_title().get_text() == "stylist says"  # the chapters' word, not 'oracle'
    # verdicts are categories: two colours of the category palette, never the sign colours
    drawn = [matplotlib.colors.to_hex(h.get_edgecolor()) for h in ax[0].get_legend().legend_handles]
    assert drawn == [matplotlib.colors.to_hex(c) for c in xf.viz.style.CATEGORICAL[:2]]
    signs = {matplotlib.colors.to_hex(xf.viz.style.RAISES), matplotlib.colors.to_hex(xf.viz.style.LOWERS)}
    assert not signs & set(drawn)
    fig, ax = xf.viz.plot_score_distributions({"model": logits}, labels, clip=0)
    assert ax[0].get_xlim()[0] < -170 and "beyond" not in ax[0].get_title()


def test_colour_histograms_have_readable_ticks_and_a_visible_white_bar(catalog):
    white = int(np.flatnonzero(catalog.color == xf.COLOR_NAMES.index("white"))[0])
    table = torch.zeros(len(catalog.color), len(xf.COLOR_NAMES))
    table[:, xf.COLOR_NAMES.index("white")] = 1.0
    fig, axes = xf.viz.plot_color_histogram(catalog, table, items=[white])
    ax = axes[1, 0]
    assert min(t.get_fontsize() for t in ax.get_xticklabels()) >= xf.viz.style.MIN_FONT
    bar = ax.patches[xf.COLOR_NAMES.index("white")]
    assert bar.get_height() == 1.0 and max(bar.get_edgecolor()[:3]) < 0.5 and bar.get_linewidth() >= 0.5
    # five items fit the book's width, and the palette's names under each histogram do not overlap (they did at 2.6
    # in per item squeezed to 9 in: 13 names at 10 pt need more than a 1.6 in wide panel)
    fig, axes = xf.viz.plot_color_histogram(catalog, table, items=[white] * 5)
    assert axes.shape == (2, 5) and fig.get_size_inches()[0] <= xf.viz.style.MAX_WIDTH
    fig.canvas.draw()
    boxes = [t.get_window_extent() for t in axes[1, 4].get_xticklabels()]
    assert all(a.x1 <= b.x0 for a, b in zip(boxes, boxes[1:]))


def test_the_recolour_view_labels_its_axes_and_keys_the_grey_bars(catalog, tiny_feats):
    item = int(catalog.find(category="Trouser")[0])
    before = xf.COLOR_NAMES[catalog.color[item]]
    after = "pink" if before != "pink" else "teal"
    fig, axes = xf.viz.recolor_view(catalog, tiny_feats.extractor, item=item, color=after)
    assert fig.get_size_inches()[0] <= xf.viz.style.MAX_WIDTH
    bars, embedding = axes[0, 1], axes[1, 1]
    assert embedding.get_xlabel().startswith("embedding dimension") and embedding.get_ylabel()
    key = [t.get_text() for t in bars.get_legend().get_texts()]
    assert key == [f"original ({before})", f"re-coloured ({after})"]
    assert bars.get_title().endswith(f"re-coloured {after}: the mass moves to the new colour")
    fig.canvas.draw()  # the key sits above every bar, whichever colours carry the mass
    legend = bars.get_legend().get_window_extent()
    assert all(p.get_window_extent().y1 < legend.y0 for p in bars.patches)
    grey = bars.get_legend().legend_handles[0].get_facecolor()
    assert np.allclose(grey, bars.patches[0].get_facecolor())  # the key's grey is the original bars' grey
    texts = [t for ax in axes.flat for t in ax.texts + ax.get_xticklabels() + [ax.title, ax.xaxis.label]]
    assert min(t.get_fontsize() for t in texts if t.get_text()) >= xf.viz.style.MIN_FONT


def test_the_verdict_says_when_model_stylist_or_explanation_disagree(wb_small):
    from xfashion.evaluate.sentences import verdict

    test = wb_small.splits["test"]
    bad = int(np.flatnonzero(test.oracle_label == 0)[0])
    items = test.outfit(bad)
    colors = wb_small.catalog.color[items]
    attr = xf.attribute(wb_small.model, wb_small.batch([bad]), "ifiv")
    rule = test.rules[bad][0].replace("_", " ")  # as the prose names it
    agree = verdict(wb_small.catalog, items, colors, -3.0, attr)
    miss = verdict(wb_small.catalog, items, colors, 2.0, attr)
    assert agree.startswith("The model says bad (p(good) 0.05)") and "They agree." in agree and rule in agree
    assert "They disagree: the model misses the stylist's rule" in miss
    good = int(np.flatnonzero(test.oracle_label == 1)[0])
    said = verdict(wb_small.catalog, test.outfit(good), wb_small.catalog.color[test.outfit(good)], -1.0, attr)
    assert "the stylist says good" in said and "the model calls a good outfit bad" in said
    # the explanation blaming another group than the rule's is said too
    flipped = Attribution(attr.values.clone(), attr.mask, "ifiv", attr.groups)
    faulted = {v.group for v in xf.outfits.outfit_violations(wb_small.catalog, items)}
    group = attr.groups.index(next(g for g in attr.groups if g not in faulted))
    flipped.values[0, 0, group] = -1e6
    noted = verdict(wb_small.catalog, items, colors, -3.0, flipped)
    named = xf.evaluate.sentences.group_name(attr.groups[group])
    assert "Note: the explanation's culprit (item, group) is the " + named in noted


def test_the_explorer_names_outfits_and_items_and_its_menus_follow_the_outfit(wb_small):
    w = xf.viz.explanation_explorer(wb_small, n_outfits=30)
    menus = {c.description: c for c in w.children if hasattr(c, "description")}
    outfit, item, swap = menus["outfit"], menus["edit item"], menus["swap for"]
    assert len(outfit.options) == 30 and all(label.startswith(f"#{v}: stylist ") for label, v in outfit.options)
    assert outfit.options[0][0].split("stylist ")[1].startswith("bad")  # it opens on an outfit the stylist calls bad
    test = wb_small.splits["test"]
    other = outfit.options[1][1]
    outfit.value = other
    assert [v for _, v in item.options] == list(range(len(test.outfit(other))))
    assert all(": " in label and "(" in label for label, _ in item.options)  # slot: category (colour)
    assert swap.options[0] == ("(keep the item)", -1) and swap.value == -1
    colour = menus["colour"]
    for move in (lambda: setattr(outfit, "value", outfit.options[2][1]), lambda: setattr(item, "value", 1),
                 lambda: setattr(swap, "value", swap.options[1][1])):
        colour.value = "red"
        move()  # a new outfit, item or swap: the re-colouring of the old one is dropped, never carried over
        assert colour.value == "keep"


def test_the_outfit_builder_picks_items_by_name_and_says_in_one_line_what_is_not_an_outfit(wb_small):
    catalog = wb_small.catalog
    menus = xf.viz.widgets.builder_options(catalog)
    assert all(options[0] == ("(none)", -1) for options in menus.values())
    first = {slot: options[1][1] for slot, options in menus.items()}
    assert all(catalog.slot[item] == xf.SLOTS.index(slot) for slot, item in first.items())
    assert all("(" in name for options in menus.values() for name, _ in options[1:])  # 'Sandal (red)', by name
    view = xf.viz.widgets.builder_view
    dress_and_top = {"dress": first["dress"], "top": first["top"], "shoes": first["shoes"]}
    for chosen in (first, {**first, "outer": -1}, dress_and_top, {"top": first["top"], "bottom": first["bottom"]}, {}):
        fig, said = view(catalog, wb_small.feats, wb_small.model, chosen)  # six items, a dress with a top, no shoes
        assert fig is None and said.startswith("Not an outfit yet") and "2 to 5 items" in said
    fig, said = view(catalog, wb_small.feats, wb_small.model,
                     {"top": first["top"], "bottom": first["bottom"], "shoes": first["shoes"], "dress": -1})
    assert fig is not None and "model logit" in fig._suptitle.get_text()
    w = xf.viz.outfit_builder(catalog, wb_small.feats, wb_small.model)
    assert {c.description for c in w.children if hasattr(c, "options")} == set(xf.SLOTS)


def test_the_builder_says_its_verdict_in_words_and_a_dress_clears_the_top_and_bottom(wb_small, monkeypatch):
    catalog, feats, model = wb_small.catalog, wb_small.feats, wb_small.model
    test = wb_small.splits["test"]
    for i in (int((test.oracle_label == 0).nonzero()[0][0]), int((test.oracle_label == 1).nonzero()[0][0])):
        items = test.outfit(i)
        logit = xf.scorer.score_outfit(model, catalog, feats, items)
        said = xf.viz.widgets.builder_verdict(catalog, items, logit)
        assert said.startswith(f"The model gives a logit of {logit:+.2f}")
        assert f"it says {'good' if logit > 0 else 'bad'}." in said
        broken = xf.outfits.outfit_violations(catalog, items)
        assert ("The stylist says bad: " in said) == bool(broken)
        assert ("They agree." in said) == ((logit > 0) != bool(broken))
        for v in broken:  # every rule the stylist applies, with its numbers
            assert xf.evaluate.describe_violation(v, catalog.category[items], catalog.color[items]) in said
        if (logit > 0) == bool(broken):
            assert ("a miss" if broken else "a false alarm") in said
    shown = []
    monkeypatch.setattr(xf.viz.widgets, "display", lambda *objs: shown.extend(objs))
    w = xf.viz.outfit_builder(catalog, feats, model)
    menus = {c.description: c for c in w.children if hasattr(c, "options")}
    top, bottom = menus["top"].value, menus["bottom"].value
    shown.clear()
    menus["dress"].value = menus["dress"].options[1][1]  # a dress: top and bottom are cleared and turned off
    assert (menus["top"].value, menus["bottom"].value) == (-1, -1)
    assert menus["top"].disabled and menus["bottom"].disabled
    texts = [o.data for o in shown]
    assert len(texts) == 2, texts  # one redraw: the dress line and the verdict, no 'Not an outfit' on the way
    assert "A dress takes the place of a top and a bottom" in texts[0] and "The model gives a logit" in texts[1]
    shown.clear()
    menus["dress"].value = -1  # back to (none): the top and bottom come back as they were
    assert (menus["top"].value, menus["bottom"].value) == (top, bottom) and not menus["top"].disabled
    assert len(shown) == 1 and "The model gives a logit" in shown[0].data


def test_item_pictures_sit_on_light_grey_so_a_white_garment_shows(catalog):
    item = catalog.find(category="Dress", color="white")[0]
    alpha = catalog.render([item])[0, 3].numpy()
    for ax in (xf.viz.plot_items(catalog, [item])[1][0, 0], xf.viz.plot_outfits(catalog, [[item]])[1][0, 0],
               xf.viz.plot_recolor(catalog, item, colors=["white"])[1][0, 0]):
        pixels = np.asarray(ax.images[0].get_array())
        background, garment = pixels[alpha == 0], pixels[alpha == 1]
        assert np.allclose(background, xf.viz.outfits.ITEM_BACKGROUND)  # light grey, not white
        # the white garment's brightest pixels (its lit body) stand out from it; on white they differed by 0.04
        assert garment.max() - xf.viz.outfits.ITEM_BACKGROUND > 0.15 and 1 - garment.max() < 0.05
    title = xf.viz.plot_items(catalog, [item])[1][0, 0].get_title()
    assert f"texture {catalog.texture[item]:.3f}" in title


def test_the_outfit_browser_spans_the_chosen_split_and_label_and_titles_the_outfit_id(catalog, splits, monkeypatch):
    said = []
    monkeypatch.setattr(xf.viz.widgets, "say", said.append)
    browser = xf.viz.browse_outfits(catalog, splits)
    split, label, index = browser.children[:3]
    assert len(index.options) == len(splits["test"]) and index.label == "0"
    label.value = "bad"  # the slider reads out the outfit's id, the number the title gives it
    bad = np.flatnonzero(splits["test"].label <= 0)
    assert [name for name, _ in index.options] == [str(i) for i in bad] and index.label == str(bad[0])
    split.value = "train"
    assert len(index.options) == int((splits["train"].label <= 0).sum())
    assert said[-1] == xf.viz.widgets.BROWSE_HINT and "You should see" in said[-1]  # each redraw says what to look for
    opened = xf.viz.browse_outfits(catalog, splits, label="bad").children[2]  # where chapter 01 opens it
    assert opened.label == str(np.flatnonzero(splits["test"].label <= 0)[0])
    with pytest.raises(ValueError, match="label must be"):
        xf.viz.browse_outfits(catalog, splits, label="ugly")
    fig, axes = xf.viz.show_outfit(catalog, splits, split="test", label="bad", index=2)
    shown = int(np.flatnonzero(splits["test"].label <= 0)[2])
    verdict = ", ".join(sorted(r.replace("_", " ") for r in splits["test"].rules[shown]))
    assert fig._suptitle.get_text() == f"test outfit {shown} | stylist: bad ({verdict})"


def test_scored_outfits_title_each_row_with_its_outcome_the_verdict_and_the_oracles(catalog, splits):
    test = splits["test"]
    good, bad = int(np.flatnonzero(test.oracle_label > 0)[0]), int(np.flatnonzero(test.oracle_label == 0)[0])
    logits = np.zeros(len(test))
    logits[good], logits[bad] = -2.5, 3.25  # a false alarm and a missed clash
    fig, axes = xf.viz.plot_scored_outfits(catalog, test, logits, [good, bad],
                                           labels=["false negative", "false positive"])
    titles = [[t.get_text() for t in row[0].texts if "model says" in t.get_text()] for row in axes]
    assert [len(t) for t in titles] == [1, 1]  # one title per row, over its first item
    titles = [t[0] for t in titles]
    assert titles[0] == "false negative: model says bad (logit -2.50) | stylist: good"
    assert titles[1].startswith("false positive: model says good (logit +3.25) | stylist: bad (")
    assert titles[1].endswith(", ".join(sorted(r.replace("_", " ") for r in test.rules[bad])) + ")")
    assert fig.get_size_inches()[0] <= xf.viz.style.MAX_WIDTH
    plain = xf.viz.plot_scored_outfits(catalog, test, logits, [bad])[1]
    assert any(t.get_text().startswith("model says good (logit +3.25) | stylist: bad") for t in plain[0, 0].texts)


def test_panels_not_in_logits_get_their_own_symmetric_scale_and_colour_bar():
    attrs = {"ifiv": attribution("ifiv", [[3.0, -1.0], [0.5, 0.2]]),
             "grad_cam": attribution("grad_cam", [[0.25, 0.25], [-0.1, -0.1]], item_level=True),
             "random": attribution("random", [[0.1, 0.2], [-9.0, 0.0]])}
    fig, axes = xf.viz.plot_methods_panel(attrs, ncols=3, own_scale=["grad_cam"])
    assert axes[0, 0].collections[0].get_clim() == pytest.approx((-9.0, 9.0))  # ifiv and random share one scale
    assert axes[0, 2].collections[0].get_clim() == pytest.approx((-9.0, 9.0))
    assert axes[0, 1].collections[0].get_clim() == pytest.approx((-0.5, 0.5))  # Grad-CAM's item values alone
    bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert sorted(b.get_ylabel() or b.get_xlabel() for b in bars) == ["its own scale",
                                                     "logits (one scale; red lowers the score)"]
    with pytest.raises(ValueError, match="own_scale names panels that are not drawn"):
        xf.viz.plot_methods_panel(attrs, own_scale=["Grad-CAM"])


def test_explorers_show_as_widgets_never_as_their_text_form(wb_small, monkeypatch):
    shown = []
    monkeypatch.setattr(xf.viz.widgets, "display", lambda *objs, **kw: shown.append((objs, kw)))
    explorers = [xf.viz.explanation_explorer(wb_small, n_outfits=10, gradcam=False),
                 xf.viz.colour_path_explorer(wb_small, 0),
                 xf.viz.ig_steps_explorer(wb_small, [0, 1])]
    for w in explorers:
        assert isinstance(w, xf.viz.widgets.Explorer) and "children=" in repr(w)  # its text form, never shown
        shown.clear()
        w._ipython_display_()  # what a notebook cell ending with the explorer does
        (bundle,), options = shown[0]
        assert options == {"raw": True} and "text/plain" not in bundle
        assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == w.model_id


def test_the_colour_path_starts_at_the_outfits_score_and_its_guess_is_the_gradients_line(wb_small):
    test = wb_small.splits["test"]
    index = int((test.oracle_label == 0).nonzero()[0][0])
    items = test.outfit(index)
    own = xf.COLOR_NAMES[wb_small.catalog.color[items[0]]]
    other = next(c for c in xf.COLOR_NAMES if c != own)
    fig, said = xf.viz.widgets.colour_path_view(wb_small, index, 0, other)
    true, guess = (line.get_ydata() for line in fig.axes[-1].lines[:2])
    logit = xf.scorer.score_outfit(wb_small.model, wb_small.catalog, wb_small.feats, items)
    assert true[0] == pytest.approx(logit, abs=1e-4) and guess[0] == pytest.approx(logit, abs=1e-4)
    colors = wb_small.catalog.color[items].copy()
    colors[0] = xf.COLOR_NAMES.index(other)
    redyed = xf.scorer.score_outfit(wb_small.model, wb_small.catalog, wb_small.feats, items, colors)
    assert true[-1] == pytest.approx(redyed, abs=1e-4)  # the path's end is the item re-dyed for real
    assert np.allclose(np.diff(guess), np.diff(guess)[0], atol=1e-4)  # a straight line
    assert said.startswith(f"Dyed {other}, the outfit scores {redyed:+.2f} (dyed {own}: {logit:+.2f})")
    third = next(c for c in xf.COLOR_NAMES if c not in (own, other))  # another start: the same end, to the last bit
    fig3, said3 = xf.viz.widgets.colour_path_view(wb_small, index, 0, other, third)
    assert fig3.axes[-1].lines[0].get_ydata()[-1] == true[-1] and said3.startswith(f"Dyed {other}, the outfit scores "
                                                                                  f"{redyed:+.2f} (dyed {third}: ")
    assert "The stylist finds" in said
    with pytest.raises(ValueError, match="not a palette colour"):
        xf.viz.widgets.colour_path_view(wb_small, index, 0, "mauve")
    with pytest.raises(ValueError, match="has items 0 to"):
        xf.viz.widgets.colour_path_view(wb_small, index, len(items), other)


def test_ig_steps_view_reports_captums_delta_and_samples_the_path_at_its_steps(wb_small):
    for baseline in ("zero", "mean"):
        fig, said = xf.viz.widgets.ig_steps_view(wb_small, 0, 4, baseline)
        method = "integrated_gradients" if baseline == "zero" else "integrated_gradients_mean"
        ig = xf.attribute(wb_small.model, wb_small.batch([0]), method, n_steps=4, **wb_small.options())
        delta = float(ig.extras["convergence_delta"][0])
        assert f"the convergence delta is {delta:+.3f}" in said
        left, right = fig.axes
        assert len(right.lines[1].get_xdata()) == 4  # one dot per step
        path = right.lines[0].get_ydata()
        # Captum's delta: the values' sum minus the score gap along the drawn path
        assert float(ig.values.sum()) - (path[-1] - path[0]) == pytest.approx(delta, abs=1e-3)
    with pytest.raises(ValueError, match="baseline is 'zero' or 'mean'"):
        xf.viz.widgets.ig_steps_view(wb_small, 0, 4, "blank")


def _projectable(fig):
    """The figure's width and the texts on it that are smaller than the series' minimum."""
    fig.canvas.draw()
    small = [(t.get_text(), t.get_fontsize()) for t in fig.findobj(matplotlib.text.Text)
             if t.get_visible() and t.get_text().strip() and t.get_fontsize() < xf.viz.style.MIN_FONT]
    return fig.get_size_inches()[0], small


def test_each_chapters_key_figure_fits_the_books_width_with_no_text_under_the_minimum(catalog, splits, wb_small):
    # the course guide's key figures, the ones a teacher projects: drawn from the small fixtures
    test = wb_small.splits["test"]
    bad = np.flatnonzero(test.oracle_label == 0)[:1]
    attribution = xf.attribute(wb_small.model, wb_small.batch(bad), "ifiv")
    summary = pd.DataFrame({"clash_top1": [0.8, 0.6], "clash_top1_lo": [0.7, 0.5], "clash_top1_hi": [0.9, 0.7]},
                           index=["feature_ablation", "pair_removal"])
    agreement = pd.DataFrame(np.eye(3), index=list("abc"), columns=list("abc"))
    figures = {
        "01 rule examples": xf.viz.plot_rule_examples(catalog, splits["train"]),
        "03 score distributions": xf.viz.plot_score_distributions({"pairwise": np.linspace(-5, 5, 100)},
                                                                 np.arange(100) % 2),
        "04 explanation": xf.viz.plot_explanation(catalog, test.outfit(int(bad[0])), attribution),
        "07 metric agreement": xf.viz.plot_agreement(agreement, title="Kendall's tau", label="tau"),
        "08 hit rates": xf.viz.evaluation.plot_hit_rates(summary, "clash_top1", 0.26, highlight=["feature_ablation"]),
    }
    for name, drawn in figures.items():
        fig = drawn if isinstance(drawn, plt.Figure) else (drawn[0] if isinstance(drawn, tuple) else plt.gcf())
        if not isinstance(fig, plt.Figure):
            fig = fig.figure
        width, small = _projectable(fig)
        assert width <= xf.viz.style.MAX_WIDTH, (name, width)
        assert small == [], (name, small[:5])
        plt.close("all")


def test_chapter_06_bar_figures_fit_the_column_when_saved_tight_and_keep_the_reserved_colours_free():
    # legends and tick labels past the axes widened the saved PNGs to 943-1048 px (the book's column: 900)
    report = fake_report()
    rates = pd.DataFrame({"mean": [0.8, 0.67, 0.3], "sd": [0.07, 0.08, 0.01], "lo": [0.7, 0.6, 0.28],
                          "hi": [0.9, 0.75, 0.32], "chance": 0.29, "cases": [1350, 1350, 72]},
                         index=["ifiv", "integrated_gradients_mean", "random"])
    reserved = {"#7b3294", "#e69f00", "#d95f02", "#7570b3"} | {matplotlib.colors.to_hex(c) for c in (
        xf.viz.style.LOWERS, xf.viz.style.RAISES, "tab:red", "tab:blue", "tab:orange", "tab:purple")}
    for fig, by in [(xf.viz.plot_accuracy_by(report.per_case, "kind")[0], "kind"),
                    (xf.viz.plot_accuracy_by(report.per_case, "slot")[0], "slot"),
                    (xf.viz.evaluation.plot_headline(rates)[0], None)]:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
        assert Image.open(buffer).size[0] <= 100 * xf.viz.style.MAX_WIDTH, by
        if by:
            faces = {matplotlib.colors.to_hex(p.get_facecolor()) for p in fig.axes[0].patches if p.get_height() > 0}
            assert faces and not faces & reserved, (by, faces)
        plt.close(fig)


def _is_sign_colour(rgba) -> bool:
    from matplotlib.colors import to_rgb

    style = xf.viz.style
    return any(np.allclose(to_rgb(rgba), to_rgb(c), atol=0.05) for c in (style.LOWERS, style.RAISES))


def test_training_curves_take_one_category_colour_per_quantity_and_dash_the_held_out_ones():
    history = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "val_auc": 1 - 0.3 / e} for e in (1, 2, 3, 4)]
    _, ax = xf.viz.plot_history(history, ["train_loss", "val_loss", "val_auc"], title="scorer")
    curves = {line.get_label(): line for line in ax.get_lines()}
    assert list(curves)[:3] == ["training loss", "validation loss", "validation AUC"]
    assert curves["kept (epoch 4)"].get_xdata()[0] == 4  # the best validation AUC is the last epoch here
    loss, auc = curves["training loss"], curves["validation AUC"]
    assert loss.get_color() == curves["validation loss"].get_color() != auc.get_color()
    assert {loss.get_color(), auc.get_color()} <= set(xf.viz.style.CATEGORICAL)
    assert loss.get_linestyle() == "-" and curves["validation loss"].get_linestyle() == auc.get_linestyle() == "--"
    assert np.allclose(auc.get_ydata(), [h["val_auc"] for h in history])
    assert ax.get_legend().get_bbox_to_anchor().x0 > ax.get_window_extent().x1  # the key sits beside the curves


def test_dataset_stats_colour_the_splits_by_category_and_draw_one_size_series(catalog, splits):
    fig, axes = xf.viz.plot_dataset_stats(catalog, splits)
    assert fig.get_size_inches()[0] <= xf.viz.style.MAX_WIDTH
    for panel in (axes[0], axes[3]):  # the split's colour is the same in both panels, and never a sign colour
        drawn = [bars.patches[0].get_facecolor() for bars in panel.containers]
        assert np.allclose(drawn, [matplotlib.colors.to_rgba(c) for c in xf.viz.style.CATEGORICAL[:3]])
        assert not any(_is_sign_colour(c) for c in drawn)
    slot_shares = [sum(p.get_height() for p in bars.patches) for bars in axes[0].containers]
    assert slot_shares == pytest.approx([100, 100, 100])  # each split's slots add up to all its items
    train = splits["train"]
    size = train.mask.sum(1)
    heights = {int(p.get_x() + p.get_width() / 2 + 0.5): p.get_height() for p in axes[2].patches}
    assert heights == {int(s): int((size[train.oracle_label > 0] == s).sum()) for s in np.unique(size)}
    assert len(axes[2].containers) == 1 and "size" in axes[2].get_title()


def test_the_embedding_map_gives_each_category_a_panel_in_its_regions_colour(catalog, tiny_feats):
    fig, axes = xf.viz.plot_embedding_map(catalog, tiny_feats["shape_texture"], n=500)
    assert fig.get_size_inches()[0] <= xf.viz.style.MAX_WIDTH and axes.size == len(xf.CATEGORIES)
    _, rows = xf.analysis.embedding_map(tiny_feats["shape_texture"], 500)
    colours = {}
    for ax in axes.flat:
        every, own = ax.collections
        name = ax.get_title()
        assert len(every.get_offsets()) == len(rows)
        assert len(own.get_offsets()) == (catalog.category[rows] == xf.CATEGORIES.index(name)).sum()
        colours[name] = tuple(own.get_facecolor()[0])
    assert colours["Sandal"] == colours["Sneaker"] == colours["Ankle boot"] != colours["Bag"] != colours["Coat"]
    assert colours["Coat"] == colours["Shirt"] and not any(_is_sign_colour(c) for c in colours.values())
    texts = [ax.title for ax in axes.flat] + fig.legends[0].get_texts()
    assert min(t.get_fontsize() for t in texts) >= xf.viz.style.MIN_FONT


def test_accuracy_vs_cost_sets_crowded_names_further_out_with_a_line_instead_of_over_each_other():
    # chapter 07's numbers on data seed 0: five methods within a few millimetres around 10-20 ms and 0.6-0.67
    ms = {"ifiv": 0.45, "saliency": 0.55, "integrated_gradients": 10, "integrated_gradients_mean": 12,
          "gradient_shap": 5.8, "feature_ablation": 0.8, "shapley_sampling": 16, "exact_shapley": 20, "grad_cam": 12.5,
          "pixel_ig": 290, "random": 0.14}
    top = [0.80, 0.304, 0.65, 0.67, 0.53, 0.792, 0.594, 0.62, 0.617, 0.305, 0.288]
    report = SimpleNamespace(per_case=pd.DataFrame({"method": [*ms, "oracle"], "item_top1": [*top, 1.0]}),
                             cost=pd.DataFrame({"ms_per_outfit": list(ms.values())}, index=list(ms)),
                             random_expected={"item_top1": 0.287})
    fig, ax = xf.viz.plot_accuracy_vs_cost(report)
    renderer = fig.canvas.get_renderer()
    named = [t for t in ax.texts if t.get_text() in {xf.viz.evaluation.method_name(m) for m in ms}]
    for t in named:
        t.update_positions(renderer)
    boxes = [matplotlib.text.Text.get_window_extent(t, renderer) for t in named]  # the words, without their lines
    assert len(named) == len(ms) and not any(a.overlaps(b) for k, a in enumerate(boxes) for b in boxes[k + 1:])
    assert any(t.arrow_patch is not None for t in named)  # some names had to move out, joined by a line


def test_deletion_curves_give_each_drawn_method_its_own_colour():
    # chapter 07's subset of the book's methods: their fixed colours (style.BOOK_METHODS' order) do not repeat
    cols = ["ifiv", "saliency", "integrated_gradients", "feature_ablation", "exact_shapley", "grad_cam", "random"]
    curves = pd.DataFrame(np.linspace(0, 1, 11)[:, None] * np.arange(1, 8), columns=cols, index=np.linspace(0, 1, 11))
    fig, ax = xf.viz.plot_deletion_curves(SimpleNamespace(deletion=curves, cost=pd.DataFrame(index=cols[::-1])))
    colours = [matplotlib.colors.to_hex(line.get_color()) for line in ax.get_lines()]
    assert colours[0] == "#000000" and colours[-1] == matplotlib.colors.to_hex("0.6")  # IFIV black, random grey
    assert len(set(colours)) == len(cols) and set(colours[1:-1]) <= set(xf.viz.style.CATEGORICAL)
    plt.close(fig)


def test_a_method_keeps_its_colour_and_marker_in_figures_drawing_different_methods():
    report = fake_report()
    both = [m for m in report.cost.index if m not in ("ifiv", "random", "oracle")][:2]
    assert len(both) == 2
    report.deletion = pd.DataFrame({m: np.linspace(1, -1, 5) for m in report.cost.index}, index=np.linspace(0, 1, 5))
    fig, ax = xf.viz.plot_deletion_curves(report, methods=[both[1]])
    alone = {line.get_label(): (line.get_color(), line.get_marker()) for line in ax.lines}
    fig, ax = xf.viz.plot_deletion_curves(report, methods=both)
    together = {line.get_label(): (line.get_color(), line.get_marker()) for line in ax.lines}
    name = xf.viz.evaluation.method_name(both[1])
    assert alone[name] == together[name]  # drawn second here, first there: the same look
    fig, ax = xf.viz.plot_accuracy_vs_cost(report)
    point = ax.collections[list(report.cost.index).index(both[1])]
    assert matplotlib.colors.to_hex(point.get_facecolor()[0]) == matplotlib.colors.to_hex(alone[name][0])
    # every method of the book has its own (colour, marker); the oracle and IFIV differ in marker
    every = xf.viz.style.BOOK_METHODS + ("ifiv", "random", "oracle")
    looks = [tuple(xf.viz.style.method_look(m).values())[:2] for m in every]
    assert len(set(looks)) == len(looks)


def test_the_leak_table_sends_a_grey_pixels_votes_to_teal_and_beige_by_their_cielab_distance():
    table = xf.viz.items.leak_table(xf.COLOR_NAMES.index("grey"), tau=600)
    assert list(table.loc["shaded to 60%"].index) == ["black", "teal", "beige"]
    assert list(table.loc["unshaded"].index) == ["white", "beige", "teal"]
    # the weights are exp(-d / tau) of the distances beside them
    assert list(table.loc["unshaded", "squared Delta E"]) == [108, 338, 794]
    assert list(table.loc["unshaded", "weight at tau = 600"]) == ["84%", "57%", "27%"]
    refs = xf.ColorHistogram(600.0).refs  # grey is neutral; teal and beige lie on either side of it on b
    grey, teal, beige = (refs[-1, xf.COLOR_NAMES.index(c), 2] for c in ("grey", "teal", "beige"))
    assert teal < grey < beige


def test_accuracy_vs_cost_sets_overlapping_markers_apart_along_time_only():
    # chapter 07 on data seed 0: Grad-CAM and exact Shapley 0.05 decades and 0.004 apart, one marker on the other
    ms = {"ifiv": 0.09, "grad_cam": 2.95, "exact_shapley": 3.3, "random": 0.025}
    top = {"ifiv": 0.8, "grad_cam": 0.62, "exact_shapley": 0.616, "random": 0.288}
    report = SimpleNamespace(per_case=pd.DataFrame({"method": list(top), "item_top1": list(top.values())}),
                             cost=pd.DataFrame({"ms_per_outfit": list(ms.values())}, index=list(ms)),
                             random_expected={"item_top1": 0.287})
    fig, ax = xf.viz.plot_accuracy_vs_cost(report)
    where = {m: ax.transData.transform(c.get_offsets()[0]) for m, c in zip(ms, ax.collections)}
    apart = np.hypot(*(where["grad_cam"] - where["exact_shapley"]))
    assert apart >= 10 * fig.dpi / 72 - 1e-6  # a marker's width and more: both visible
    assert [c.get_offsets()[0][1] for c in ax.collections] == pytest.approx(list(top.values()))  # accuracy: exact
    assert ax.collections[0].get_offsets()[0][0] == pytest.approx(0.09)  # a free marker stays where it was
    plt.close(fig)


def test_the_margin_figure_keeps_its_legend_inside_the_books_column():
    rng = np.random.default_rng(0)
    methods = ["ifiv", "feature_ablation", "integrated_gradients", "random"]
    per_case = pd.concat([pd.DataFrame({"method": m, "drop": rng.gamma(2, 3, 200), "size": rng.integers(3, 6, 200),
                                        "item_top1": (rng.random(200) < 0.7).astype(float)}) for m in methods])
    fig, ax = xf.viz.evaluation.plot_margin(per_case, 0.5, methods, 15.0)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    width = Image.open(buf).size[0] / fig.dpi
    assert width <= xf.viz.style.MAX_WIDTH, f"{width:.2f} in wide"
    plt.close(fig)
