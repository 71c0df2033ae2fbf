import json

import numpy as np
import pytest
import torch

import xfashion as xf
from xfashion.cli import main as cli_main
from xfashion.evaluate import run_swap_evaluation
from xfashion.pipeline import Workbench


@pytest.fixture(scope="module")
def wb_eval(catalog, tiny_feats):
    # a scorer trained well enough that its explanations have something to find
    splits = xf.make_splits(catalog, {"train": 1600, "val": 300, "test": 300}, seed=0)
    model = xf.train_scorer(catalog, splits, tiny_feats, epochs=30, patience=30, progress=False, use_cache=False).model
    train = np.flatnonzero(catalog.split == "train")
    return Workbench(catalog, splits, tiny_feats, model, xf.explain.dataset_means(tiny_feats.tables, train),
                        xf.explain.reference_outfits(tiny_feats.tables, rows=train))


@pytest.fixture(scope="module")
def cases(wb_eval):
    return xf.evaluate.swap.build_swap_cases(wb_eval, protocol="paper", n_outfits=200, margin=0.0, seed=0)


@pytest.fixture(scope="module")
def controlled(wb_eval):
    return xf.evaluate.swap.build_swap_cases(wb_eval, protocol="controlled", n_outfits=800, per_kind=40, margin=0.0,
                                        seed=0)


def test_swaps_change_what_they_claim(wb_eval, cases):
    assert len(cases) > 10 and set(cases.kind) <= set(xf.evaluate.swap.SWAP_KINDS)
    tables = wb_eval.feats.tables
    for c in range(len(cases)):
        p = cases.position[c]
        original = cases.original[c][cases.original[c] >= 0]
        item, color = cases.items[c, p], cases.colors[c, p]
        color_f = cases.batch.features["color"][c, p]
        shape_f = cases.batch.features["shape_texture"][c, p]
        assert int(color_f.argmax()) == color  # the features really are the re-rendered item's
        if cases.kind[c] == "color":
            assert item == original[p] and color != wb_eval.catalog.color[original[p]]
            torch.testing.assert_close(shape_f, tables["shape_texture"][item], atol=1e-4, rtol=1e-4)
        elif cases.kind[c] == "shape_texture":
            assert item != original[p] and color == wb_eval.catalog.color[original[p]]
        else:
            assert item != original[p] and color == wb_eval.catalog.color[item]
        others = np.delete(np.arange(len(original)), p)
        np.testing.assert_array_equal(cases.items[c, others], original[others])


def test_kept_cases_really_drop_and_break_a_rule(wb_eval):
    kept = xf.evaluate.swap.build_swap_cases(wb_eval, protocol="paper", n_outfits=200, margin=1.0, seed=0)
    assert len(kept) > 0 and np.all(kept.drop >= 1.0)
    c = wb_eval.catalog
    for k in range(len(kept)):
        real = kept.items[k] >= 0
        assert not xf.rules.is_good(c.category[kept.items[k][real]], kept.colors[k][real], c.busy[kept.items[k][real]])
    after = xf.score(wb_eval.model, kept.batch).numpy()
    np.testing.assert_allclose(after, kept.after, atol=1e-4)
    total = sum(v["kept"] for v in kept.candidates.values())
    assert total == len(kept)


def _repairs(catalog, items, colors, position):
    """Brute force: can the item at ``position``, re-coloured or replaced within its slot, make the outfit good?"""
    cat, busy = catalog.category[items].copy(), catalog.busy[items].copy()
    col = colors.copy()
    slot = catalog.slot[items[position]]
    pool = np.flatnonzero((catalog.split == "test") & (catalog.slot == slot))
    options = {(cat[position], k, busy[position]) for k in range(len(xf.COLOR_NAMES))}
    options |= set(zip(catalog.category[pool], catalog.color[pool], catalog.busy[pool]))
    for a, k, b in options:
        cat[position], col[position], busy[position] = a, k, b
        if xf.rules.is_good(cat, col, busy):
            return True
    return False


def test_controlled_cases_have_the_swapped_item_as_the_unique_culprit(wb_eval, controlled):
    assert len(controlled) > 20 and controlled.unambiguous.all() and controlled.protocol == "controlled"
    counts = {k: int((controlled.kind == k).sum()) for k in xf.evaluate.swap.SWAP_KINDS}
    assert max(counts.values()) <= 40
    c = wb_eval.catalog
    for k in range(0, len(controlled), max(1, len(controlled) // 25)):
        real = controlled.items[k] >= 0
        items, colors = controlled.items[k][real], controlled.colors[k][real]
        assert (controlled.original[k][real] >= 0).sum() >= 3
        assert not xf.rules.is_good(c.category[items], colors, c.busy[items])
        truth = [_repairs(c, items, colors, p) for p in range(len(items))]
        assert truth == list(controlled.culprits[k][real])
        assert truth[controlled.position[k]] and sum(truth) == 1


def test_the_paper_protocol_marks_cases_unambiguous_exactly_when_the_culprit_is_unique(cases):
    culprits = cases.culprits
    expected = culprits[np.arange(len(cases)), cases.position] & (culprits.sum(1) == 1)
    np.testing.assert_array_equal(cases.unambiguous, expected)
    assert 0 < cases.unambiguous.sum() < len(cases)  # random swaps leave some cases ambiguous


def test_the_vectorised_oracle_agrees_with_the_rules_one_outfit_at_a_time():
    rng = np.random.default_rng(0)
    M, N = 2000, 5
    cat, col = rng.integers(0, 10, (M, N)), rng.integers(0, len(xf.COLOR_NAMES), (M, N))
    busy, n = rng.random((M, N)) < 0.3, rng.integers(1, N + 1, M)
    mask = np.arange(N)[None] < n[:, None]
    rules = xf.StylistRules(hue_clash=(30.0, 100.0), max_chromatic=1)
    for r in (xf.DEFAULT_RULES, rules):
        fast = xf.rules.good_mask(cat, col, busy, mask, r)
        slow = [xf.rules.is_good(cat[m, :n[m]], col[m, :n[m]], busy[m, :n[m]], r) for m in range(M)]
        np.testing.assert_array_equal(fast, slow)
        assert 0.05 < fast.mean() < 0.95


def test_case_table_rows_match_the_oracle_and_the_method(wb_eval):
    test = wb_eval.splits["test"]
    bad = np.flatnonzero(test.oracle_label == 0)[:30]
    table = xf.evaluate.case_table(wb_eval, bad)
    attr = xf.attribute(wb_eval.model, wb_eval.batch(bad), "ifiv")
    assert list(table.index) == list(bad)
    assert (table.n_rules >= 1).all()
    item, group = attr.culprit()
    for k, i in enumerate(bad):
        blame = xf.outfits.outfit_blame(wb_eval.catalog, test.outfit(i))
        row = table.loc[i]
        assert row.culprit_item == int(attr.culprit_item()[k])
        assert row.cell_item == int(item[k]) and row.cell_group == attr.groups[int(group[k])]
        assert row.cell_hit == (blame[int(item[k]), int(group[k])] > 0)
        assert row.item_hit == (blame[int(attr.culprit_item()[k])].sum() > 0)
        assert row.rules == ", ".join(sorted({v.rule for v in xf.outfits.outfit_violations(wb_eval.catalog,
                                                                                          test.outfit(i))}))
    assert xf.evaluate.pick_case(table, "n_rules >= 1") == bad[0]
    # IFIV's lowest (item, group) is blamed by the oracle in some of these outfits, not all: the pick is the first hit
    hit = table.cell_hit.to_numpy(dtype=bool)
    assert 0 < hit.sum() < len(table)
    assert xf.evaluate.pick_case(table, "cell_hit") == bad[hit][0] and xf.evaluate.pick_case(table, "~cell_hit") == \
        bad[~hit][0]


def test_pick_case_without_a_match_fails_on_full_data_and_falls_back_in_small_mode(wb_eval, monkeypatch):
    table = xf.evaluate.case_table(wb_eval, np.flatnonzero(wb_eval.splits["test"].oracle_label == 0)[:5])
    assert xf.evaluate.pick_case(table, "logit > 1e9") == table.index[0]
    monkeypatch.setenv("XFASHION_SMALL", "0")
    with pytest.raises(AssertionError, match="logit > 1e9"):
        xf.evaluate.pick_case(table, "logit > 1e9")


def test_detection_metrics_on_known_attributions():
    values = torch.tensor([
        [[-3.0, 1.0], [0.5, 0.5], [0.0, 0.0]],   # item 0 lowest, pair (0, color)
        [[1.0, 1.0], [-1.0, 0.2], [0.3, 0.3]],   # item 1 lowest
        [[0.0, 0.0], [0.0, 0.0], [9.0, 9.0]],    # items 0 and 1 tie; item 2 is padding
    ])
    mask = torch.tensor([[True, True, True], [True, True, True], [True, True, False]])
    attr = xf.explain.Attribution(values, mask, "hand", ["color", "shape_texture"])
    scores = xf.evaluate.metrics.detection_scores(attr, [0, 0, 1], ["color", "shape_texture", "item"])
    np.testing.assert_allclose(scores.item_top1, [1.0, 0.0, 0.5])
    np.testing.assert_allclose(scores.cell_top1.iloc[:2], [1.0, 0.0])
    assert np.isnan(scores.cell_top1.iloc[2])  # no pair answer for item swaps
    # case 1: the swapped item 0 (value 2.0) ranks third of three; case 2: tie of two -> rank 1.5
    np.testing.assert_allclose(scores.mrr, [1.0, 1 / 3, 1 / 1.5])


def test_all_tied_attributions_score_exactly_the_analytic_random_value():
    sizes = [2, 3, 4, 5, 5]
    mask = torch.zeros(5, 5, dtype=torch.bool)
    for i, n in enumerate(sizes):
        mask[i, :n] = True
    attr = xf.explain.Attribution(torch.zeros(5, 5, 2), mask, "flat", ["color", "shape_texture"])
    scores = xf.evaluate.metrics.detection_scores(attr, [0, 1, 2, 3, 4], ["item"] * 5)
    np.testing.assert_allclose(scores.item_top1, [1 / n for n in sizes])


def test_random_method_matches_its_analytic_value(cases):
    expected = xf.evaluate.metrics.random_expected(cases)
    top1 = []
    for seed in range(40):
        attr = xf.attribute(torch.nn.Identity(), cases.batch, "random", groups=["color", "shape_texture"], seed=seed)
        top1.append(xf.evaluate.metrics.detection_scores(attr, cases.position, cases.kind)["item_top1"].mean())
    assert abs(np.mean(top1) - expected["item_top1"]) < 0.02


def test_bootstrap_interval_contains_the_mean():
    lo, hi = xf.evaluate.metrics.bootstrap_ci(np.r_[np.ones(60), np.zeros(40)])
    assert lo < 0.6 < hi and hi - lo < 0.25


def test_randomised_copy_changes_weights_not_architecture(wb_eval):
    clone = xf.evaluate.sanity.randomised_copy(wb_eval.model, seed=1)
    a, b = dict(wb_eval.model.named_parameters()), dict(clone.named_parameters())
    assert a.keys() == b.keys()
    assert all(not torch.equal(a[k], b[k]) for k in a if a[k].dim() > 1)


def test_sanity_check_pushes_ifiv_towards_random(wb_eval):
    report = run_swap_evaluation(wb_eval, methods=["ifiv", "random"], n_outfits=800, per_kind=60, margin=0.0,
                                    sanity_cases=400, progress=False, use_cache=False)
    chance = report.random_expected["item_top1"]
    trained, randomised = report.sanity.loc["ifiv", "trained model"], report.sanity.loc["ifiv", "randomised model"]
    assert trained > chance + 0.1
    assert abs(randomised - chance) < abs(trained - chance)
    # deletion (Quantus's pixel flipping): removing what IFIV blames lowers 'bad' faster than removing random cells
    assert report.deletion.loc[0.3, "ifiv"] < report.deletion.loc[0.3, "random"]
    assert report.summary.loc["ifiv", "pixel_flipping"] < report.summary.loc["random", "pixel_flipping"]


def test_several_seeds_give_mean_sd_and_a_pooled_interval(wb_eval):
    # the spread over seeds is the question: no sanity check, no Quantus (test_cli_evaluate_and_bench_json has both)
    report = run_swap_evaluation(wb_eval, methods=["ifiv", "random"], seeds=(0, 1), n_outfits=400, per_kind=20,
                                 margin=0.0, sanity_cases=0, quantus_cases=0, progress=False, use_cache=False)
    assert sorted(report.cases) == [0, 1] and sorted(report.per_case.seed.unique()) == [0, 1]
    s = report.summary
    per_seed = report.per_case[report.per_case.method == "ifiv"].groupby("seed").item_top1.mean()
    assert s.loc["ifiv", "item_top1"] == pytest.approx(per_seed.mean())
    assert s.loc["ifiv", "item_top1_sd"] == pytest.approx(per_seed.std(ddof=1))
    assert s.loc["ifiv", "item_top1_lo"] <= s.loc["ifiv", "item_top1"] <= s.loc["ifiv", "item_top1_hi"]
    assert s.loc["oracle", "item_top1"] == 1.0 and s.loc["ifiv", "seeds"] == 2
    assert "±" in xf.evaluate.headline(report).loc["ifiv", "item_top1 (unambiguous)"]


def test_the_design_study_chooses_by_validation_auc_and_tables_every_method_and_metric(wb_eval):
    designs = {"ReLU": {"activation": "relu"}, "additive": {"kind": "additive"}}
    table = xf.evaluate.design_study(wb_eval, designs, methods=("ifiv", "random"), quantus_cases=5, progress=False)
    assert list(table.index) == ["ReLU", "additive"] and table.attrs["split"] == "val"
    # the choice reads the scorer's AUC, whatever any explainer scores
    assert table.attrs["best"] == table["auc"].idxmax() and table.attrs["criterion"] == "validation auc"
    long = table.attrs["scores"]
    assert set(long.index) == {(d, m) for d in designs for m in ("ifiv", "random")}
    for metric in ("item_top1", "cell_top1", "faithfulness_correlation", "pixel_flipping", "mprt", "sparseness"):
        assert metric in long and long[metric].notna().all(), metric
    grid = xf.evaluate.design_table(table, "faithfulness_correlation")
    assert list(grid.index) == ["ReLU", "additive"] and list(grid.columns) == ["ifiv", "random"]
    with pytest.raises(ValueError, match="no metric 'auc_roc'"):
        xf.evaluate.design_table(table, "auc_roc")
    with pytest.raises(ValueError, match="methods repeats ifiv"):
        xf.evaluate.design_study(wb_eval, designs, methods=("ifiv", "ifiv"), progress=False)


def test_cli_evaluate_and_bench_json(capsys, tmp_path):
    # two methods: every method's evaluation runs in chapter 06's test; this one checks the command
    assert cli_main(["evaluate", "--json", "--seeds", "0", "--n-outfits", "300", "--per-kind", "4",
                     "--methods", "ifiv", "ablation", "--out", str(tmp_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_cases"] > 0 and out["protocol"] == "controlled" and out["seeds"] == [0]
    assert set(out["methods"]) == {"ifiv", "feature_ablation", "oracle"}
    assert out["methods"]["oracle"]["item_top1"] == 1.0
    ifiv = out["methods"]["ifiv"]
    for key in ("item_top1", "cell_top1", "mrr", "item_top1_unambiguous", "cell_top1_unambiguous",
                "item_top1_unambiguous_sd", "item_top1_lo", "ms_per_outfit"):
        assert key in ifiv
    # Quantus's metrics beside the swap test's, under the metric's own name, with the spread over seeds
    for name in xf.evaluate.faithfulness.QUANTUS_METRICS:
        assert ifiv[name] is not None and f"{name}_sd" in ifiv and f"{name}_lo" in ifiv
    assert (tmp_path / "swap_evaluation.csv").exists()
    assert (tmp_path / "swap_evaluation.md").read_text().startswith("# Swap")
    assert cli_main(["bench", "--json", "--n-outfits", "16", "--methods", "ablation"]) == 0
    bench = json.loads(capsys.readouterr().out)
    assert set(bench["ratio_to_forward"]) == {"feature_ablation", "ifiv", "input_x_gradient", "integrated_gradients"}
    assert bench["ratio_to_forward"]["integrated_gradients"] > bench["ratio_to_forward"]["ifiv"]
    # measured by the OS for this process: at least what torch itself occupies
    assert 100 < bench["peak_rss_mb"] < 64 * 1024 and out["peak_rss_mb"] > 100


def test_chunked_attribution_equals_one_call_and_counts_cost_per_outfit(wb_eval):
    index = np.flatnonzero(wb_eval.splits["test"].oracle_label == 0)[:10]
    whole = xf.attribute(wb_eval.model, wb_eval.batch(index), "ifiv")
    seen = []

    def batch_of(rows, images):
        seen.append(list(rows))
        return wb_eval.batch(index[rows], images=images)

    parts = xf.evaluate.agreement.attribute_in_chunks(wb_eval.model, batch_of, len(index), "ifiv", {}, chunk=4,
                                                      timed=False)
    # no call holds more than a chunk, and every outfit is explained exactly once
    assert max(map(len, seen)) <= 4 and sorted(sum(seen, [])) == list(range(10))
    torch.testing.assert_close(parts.values, whole.values, atol=1e-5, rtol=1e-5)
    assert parts.forward_passes == whole.forward_passes == 1.0
    assert torch.equal(parts.mask, whole.mask)
    with pytest.raises(ValueError, match="chunk must be a positive integer"):
        xf.evaluate.agreement.attribute_in_chunks(wb_eval.model, batch_of, len(index), "ifiv", {}, chunk=0)


def test_a_method_registered_in_a_session_changes_neither_the_books_run_nor_its_cache(wb_eval, tmp_path,
                                                                                        monkeypatch):
    from xfashion.evaluate.report import SWAP_METHODS
    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path))
    kwargs = dict(seeds=(0,), n_outfits=300, per_kind=3, margin=0.0, sanity_cases=3, quantus_cases=0, progress=False)
    first = run_swap_evaluation(wb_eval, **kwargs)
    files = sorted(p.name for p in tmp_path.glob("swap-*"))

    @xf.explain.register
    class DoubledIFIV(xf.explain.Explainer):
        traits = xf.explain.Traits("doubled_ifiv", gradients=True)

        def compute(self, run):
            return 2 * xf.explain.gradient.ifiv(run.model, run.batch, run.groups, run.target)
    try:
        second = run_swap_evaluation(wb_eval, **kwargs)
        named = run_swap_evaluation(wb_eval, ["doubled_ifiv", "ifiv"], **kwargs)  # where a chapter names it
    finally:
        xf.explain.unregister("doubled_ifiv")
    assert list(first.summary.index) == [*SWAP_METHODS, "oracle"] and first.config["methods"] == list(SWAP_METHODS)
    assert second.cached and second.per_case.equals(first.per_case)
    assert len({p.name for p in tmp_path.glob("swap-*")} - set(files)) == 1  # the named run's file, no other
    doubled = named.per_case.pivot_table(index="case", columns="method", values="item_top1")
    assert (doubled["doubled_ifiv"] == doubled["ifiv"]).all()  # doubling keeps every ranking


def test_quantus_joins_the_swap_tests_cached_results_without_recomputing_them(wb_eval, tmp_path, monkeypatch):
    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path))
    kwargs = dict(seeds=(0,), n_outfits=300, per_kind=4, margin=0.0, sanity_cases=4, progress=False)
    swap_only = run_swap_evaluation(wb_eval, ["ifiv", "random"], quantus_cases=0, **kwargs)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("swap-*")}
    both = run_swap_evaluation(wb_eval, ["ifiv", "random"], quantus_cases=5, **kwargs)
    after = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("swap-*")}
    assert all(after[name] == t for name, t in before.items())  # the swap test's file is read, not written again
    added = [n for n in after if n not in before]
    assert added and all(n.startswith("swap-quantus-") for n in added)
    assert both.per_case[list(swap_only.per_case.columns)].equals(swap_only.per_case)
    assert swap_only.deletion.empty and not both.deletion.empty
    judged = both.per_case.dropna(subset=["faithfulness_correlation"])
    assert len(judged) == 2 * 5 and set(judged.method) == {"ifiv", "random"}


def test_hit_rates_give_each_method_its_own_chance_level(wb_eval):
    report = run_swap_evaluation(wb_eval, ["ifiv", "pixel_ig", "random"], n_outfits=300, per_kind=6, margin=0.0,
                                 sanity_cases=3, quantus_cases=0, progress=False)
    rates = xf.evaluate.metrics.hit_rates(report)
    # a random ranking of an outfit of n items names the swapped one with probability 1/n
    assert rates.loc["ifiv", "chance"] == pytest.approx(report.random_expected["item_top1"])
    pixel, ifiv = (report.per_case[report.per_case.method == m] for m in ("pixel_ig", "ifiv"))
    assert rates.loc["pixel_ig", "chance"] == pytest.approx((1 / pixel["size"]).mean())
    # pixel IG's declared cap, in small-data mode at most `capped_cases`, spread over every swap kind, not the first
    assert len(ifiv) > xf.utils.size("capped_cases") == len(pixel) and set(pixel.kind) == set(ifiv.kind)
    assert rates.loc["ifiv", "lo"] <= rates.loc["ifiv", "mean"] <= rates.loc["ifiv", "hi"]
    cells = xf.evaluate.metrics.hit_rates(report, "cell_top1")
    assert np.isnan(cells.loc["pixel_ig", "mean"]) and cells.loc["ifiv", "chance"] == pytest.approx(
        report.random_expected["cell_top1"])


def test_metrics_compute_themselves_and_register_once():
    from types import SimpleNamespace

    from xfashion.evaluate import metrics as xm
    values = torch.tensor([[[-1.0, 0.0], [0.5, 0.0], [0.0, 0.0]]])  # item 0 lowest, its colour cell lowest
    attr = xf.explain.Attribution(values, torch.ones(1, 3, dtype=torch.bool), "toy", ["color", "shape_texture"])
    cases = SimpleNamespace(position=np.array([0]), kind=np.array(["color"]))
    assert [m.name for m in xm.metrics_of("swap test", per_case=True)][:3] == ["item_top1", "cell_top1", "mrr"]
    assert xm.METRICS["item_top1"](attr, cases).tolist() == [1.0] and xm.METRICS["mrr"](attr, cases).tolist() == [1.0]
    assert xm.family_scores("swap test", attr, cases).equals(xm.detection_scores(attr, [0], ["color"]))
    with pytest.raises(ValueError, match="'item_top1' is already registered"):
        xm.register_metric(xm.Metric("item_top1", "lower", "another", "swap test", "item"))
    xm.register_metric(xm.METRICS["item_top1"])  # the same declaration again replaces itself
    with pytest.raises(TypeError, match="takes a Metric object"):
        xm.register_metric("item_top2")
    with pytest.raises(ValueError, match="Unknown metric 'nope'"):
        xm.unregister_metric("nope")
    with pytest.raises(ValueError, match="is not computed from per-case data"):
        xm.METRICS["auc"].compute(None)


def test_the_design_explorer_shows_each_designs_gradient_and_top1_beside_the_books(wb_eval):
    import matplotlib.pyplot as plt

    from xfashion.evaluate.design import gradient_sizes
    from xfashion.viz import evaluation as ev

    designs = {"ReLU": {"activation": "relu"}, "additive": {"kind": "additive"}}
    study = xf.evaluate.design_study(wb_eval, designs, methods=("ifiv", "random"), quantus_cases=5, progress=False)
    grads = gradient_sizes(wb_eval, designs)
    outfits = wb_eval.outfits("val")
    assert len(grads) == 2 * len(outfits) and list(grads.design.unique()) == ["ReLU", "additive"]
    # the size is the gradient's norm over every real item's features, as autograd gives it for one outfit
    model = wb_eval.scorer(0, designs["additive"])
    one = xf.feature_batch(wb_eval.catalog, outfits, wb_eval.feats, index=[0])
    x = {g: one.features[g].clone().requires_grad_(True) for g in model.groups.names}
    grad = torch.autograd.grad(model(x, one.slot, one.mask).sum(), list(x.values()))
    norm = torch.sqrt(sum(g.pow(2).sum() for g in grad))
    assert grads[grads.design == "additive"].gradient.iloc[0] == pytest.approx(float(norm), rel=1e-4)
    fig = ev.design_view(study, grads, "additive", reference="ReLU")
    right = fig.axes[1]
    assert [t.get_text() for t in right.get_yticklabels()] == ["IFIV", "random (chance)"]
    top1 = study.attrs["scores"].loc["additive", "item_top1"]
    assert [p.get_width() for p in right.patches] == pytest.approx(list(top1))
    plt.close(fig)
    said = ev.design_sentence(study, grads, "additive", reference="ReLU")
    assert f"{study.attrs['scores'].loc[('additive', 'ifiv'), 'item_top1']:.3f}" in said and "chance (random)" in said
    with pytest.raises(ValueError, match="No design 'GELU'"):
        ev.design_view(study, grads, "GELU")
    explorer = xf.viz.design_explorer(study, grads, reference="ReLU")
    assert isinstance(explorer, xf.viz.widgets.Explorer)  # shown as a widget, never as its text form
    menu = explorer.children[0]
    assert list(menu.options) == ["ReLU", "additive"] and menu.value == "ReLU"
    menu.value = "additive"  # the redraw only draws: no error, the figure closed after display
    plt.close("all")


def test_the_margin_curve_keeps_the_larger_drops_and_moves_chance_with_the_outfits_kept():
    import pandas as pd
    # four cases: two small outfits with small drops, two large ones with large drops; ifiv hits the small ones
    frame = pd.DataFrame({"method": ["ifiv"] * 4 + ["random"] * 4, "drop": [1.0, 2.0, 5.0, 9.0] * 2,
                          "size": [2, 2, 5, 5] * 2, "item_top1": [1, 1, 0, 1, 0, 1, 0, 0]})
    curve = xf.viz.evaluation.margin_curve(frame, [0.5, 3.0, 10.0], ["ifiv", "random"])
    assert curve["kept"].tolist() == [1.0, 0.5, 0.0] and curve["cases"].tolist() == [4, 2, 0]
    assert curve.loc[0.5, "chance"] == pytest.approx((0.5 + 0.5 + 0.2 + 0.2) / 4)
    assert curve.loc[3.0, "chance"] == pytest.approx(0.2)  # only the five-item outfits are left
    assert curve.loc[0.5, "ifiv"] == 0.75 and curve.loc[3.0, "ifiv"] == 0.5 and curve.loc[3.0, "random"] == 0.0
    assert curve.loc[10.0, ["chance", "ifiv", "random"]].isna().all()  # no case left: NaN, not a zero


def test_a_swap_case_caption_says_the_unique_culprit_and_each_verdict_as_the_attributions_give_them(wb_eval):
    cases = xf.evaluate.swap.build_swap_cases(wb_eval, protocol="controlled", n_outfits=300, per_kind=6, margin=0.0,
                                              seed=0)
    assert len(cases) and cases.unambiguous.all()
    attrs = {m: xf.attribute(wb_eval.model, cases.batch, m) for m in ("ifiv", "random")}
    said = {"hit": 0, "miss": 0, "blamed": 0}
    for c in range(len(cases)):
        text = xf.viz.evaluation.swap_case_caption(wb_eval.catalog, cases, c, attrs)
        pos, k = int(cases.position[c]), int(attrs["ifiv"].culprit_item()[c])
        assert f"at item {pos} and broke " in text
        verdict = "a hit" if k == pos else "a miss"
        assert f"IFIV names item {k} ({verdict})" in text
        said["hit" if k == pos else "miss"] += 1
        r, n = int(attrs["random"].culprit_item()[c]), int(cases.size[c])  # random's verdict says its odds
        assert f"random names item {r} ({'a hit' if r == pos else 'a miss'}; chance 1 in {n})" in text
        if k != pos:  # the miss is explained with the two totals the ranking compared
            totals = attrs["ifiv"].values[c].sum(-1)
            assert f"item {k}'s values sum to {float(totals[k]):+.2f}, below the swapped item's " \
                   f"{float(totals[pos]):+.2f}" in text and float(totals[k]) < float(totals[pos])
        if f"Only item {pos} is a unique culprit" in text:
            said["blamed"] += 1
    assert said["hit"] and said["miss"] and said["blamed"]  # a hit, a miss and a clash with other blamed items


def test_bootstrap_aucs_are_paired_so_a_copy_of_a_scorer_has_a_gap_of_exactly_zero():
    from xfashion.evaluate.design import bootstrap_auc
    from xfashion.training import roc_auc

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 400)
    good = labels + rng.normal(0, 1.0, 400)  # informative, not perfect
    draws = bootstrap_auc({"a": good, "copy": good.copy(), "noise": rng.normal(size=400)}, labels, draws=100)
    assert draws.shape == (100, 3) and (draws["a"] == draws["copy"]).all()  # the same resamples for every scorer
    assert abs(draws["a"].mean() - roc_auc(good, labels)) < 3 * draws["a"].std() / 10  # centred on the AUC
    assert 0.005 < draws["a"].std() < 0.05  # about sqrt(AUC (1 - AUC) / n) for 400 outfits
    assert (draws["a"] - draws["noise"]).mean() > 0.2


def test_the_design_grid_marks_each_rows_best_real_method_by_the_metrics_direction():
    import pandas as pd

    from xfashion.evaluate.design import design_grid

    methods = ["ifiv", "feature_ablation", "random"]
    index = pd.MultiIndex.from_product([["silu", "relu"], methods], names=["design", "method"])
    scores = pd.DataFrame({"item_top1": [0.8, 0.7, 0.9, 0.6, 0.6, 0.2]}, index=index)
    study = pd.DataFrame({"auc": [0.99, 0.98]}, index=["silu", "relu"])
    study.attrs["scores"] = scores
    grid = design_grid(study, ["item_top1"], names={"ifiv": "IFIV"})
    label = xf.evaluate.metrics.metric_name("item_top1", arrow=True)
    assert label == "item top-1 ↑"  # one spelling of a metric in chapter 07's tables, figures and prose
    best = grid.best[label]
    # random's 0.9 beats both real methods on silu but is never the best; relu's tie marks both
    assert best.loc["silu"].to_dict() == {"IFIV": True, "feature ablation": False, "random": False}
    assert best.loc["relu"].to_dict() == {"IFIV": True, "feature ablation": True, "random": False}
    assert "IFIV" in grid.frame[label].columns
    text = repr(grid)
    assert "0.800*" in text and "0.900*" not in text and "Styler" not in text
    assert "font-weight: bold" in grid._repr_html_()


def _cases(values: dict, n: int = 40, seeds=(0, 1, 2)):
    """Per-case rows: each method's item_top1 on n cases per seed, a given share of hits, the same every seed."""
    import pandas as pd

    rows = [{"seed": s, "method": m, "item_top1": float(k < round(p * n))}
            for m, p in values.items() for s in seeds for k in range(n)]
    return pd.DataFrame(rows)


def test_tied_ranks_share_a_rank_within_two_standard_errors_and_tau_b_counts_the_ties():
    import pandas as pd

    from xfashion.evaluate.ranking import gap_se, kendall_tau_b, tied_ranks

    shares = {"a": 0.90, "b": 0.88, "c": 0.30}  # a and b 0.02 apart on 120 cases each: noise; c far behind
    per_case = _cases(shares)
    assert 0.02 < 2 * gap_se(per_case, "a", "b", "item_top1")  # the gap a-b is within two standard errors
    scores = pd.DataFrame({"item_top1": shares})
    ranks = tied_ranks(scores, per_case)
    assert ranks["item_top1"].to_dict() == {"a": 1, "b": 1, "c": 3}
    # a second metric that orders a and b the other way round: tau-b on the tied ranks does not count it
    both = pd.DataFrame({"x": [1.0, 1.0, 3.0], "y": [2.0, 1.0, 3.0]}, index=list("abc"))
    assert kendall_tau_b(both).loc["x", "y"] == pytest.approx(0.8165, abs=1e-3)  # 2 concordant, 1 tie in x


def test_opposed_pairs_are_disagreements_beyond_noise_under_both_metrics():
    import pandas as pd

    from xfashion.evaluate.ranking import opposed_pairs

    per_case = pd.concat([_cases({"a": 0.9, "b": 0.3}),
                          _cases({"a": 0.2, "b": 0.8}).rename(columns={"item_top1": "cell_top1"})], axis=1)
    per_case = per_case.loc[:, ~per_case.columns.duplicated()]
    scores = pd.DataFrame({"item_top1": {"a": 0.9, "b": 0.3}, "cell_top1": {"a": 0.2, "b": 0.8}})
    found = opposed_pairs(scores, per_case)
    assert len(found) == 1 and {found.iloc[0]["a"], found.iloc[0]["b"]} == {"a", "b"}
    close = pd.DataFrame({"item_top1": {"a": 0.9, "b": 0.3}, "cell_top1": {"a": 0.5, "b": 0.5}})
    assert len(opposed_pairs(close, per_case)) == 0  # a tie under one metric opposes nothing


def test_readable_spells_methods_and_metrics_one_way_with_the_metrics_direction():
    import pandas as pd

    from xfashion.evaluate.metrics import metric_name, readable

    table = readable(pd.DataFrame({"item_top1 (all)": [0.5], "mprt": [0.4], "ms": [1.0]}, index=["ifiv"]))
    assert list(table.columns) == ["item top-1 ↑ (all)", "MPRT ↓", "ms"] and list(table.index) == ["IFIV"]
    assert metric_name("cell_top1") == "(item, group) top-1" and metric_name("faithfulness_correlation", arrow=True) \
        == "faithfulness correlation ↑"


def test_the_argument_test_counts_a_metric_for_the_pick_only_where_ifiv_is_strictly_better_in_its_direction():
    import pandas as pd

    from xfashion.evaluate.design import argument_test

    index = pd.MultiIndex.from_product([["SiLU", "ReLU"], ["ifiv", "random"]], names=["design", "method"])
    scores = pd.DataFrame({"item_top1": [0.8, 0.3, 0.9, 0.3], "mprt": [0.4, 1.0, 0.5, 1.0]}, index=index)
    study = pd.DataFrame({"auc": [0.99, 0.995]}, index=["SiLU", "ReLU"])
    study.attrs.update(scores=scores, best="ReLU")
    table, said = argument_test(study, ["item_top1", "mprt"])
    assert table.pick_better.tolist() == [True, False]  # top-1 higher on ReLU; MPRT higher there too, which is worse
    assert table.place.tolist() == [2, 1] and "split" in said[0]
    study.attrs["best"] = "SiLU"  # the pick is the book's scorer: no metric can be better on it than on itself
    table, said = argument_test(study, ["item_top1", "mprt"])
    assert not table.pick_better.any() and "SiLU itself" in said[0]
    # with the cases: the gap in standard errors of the two designs' means (independent cases)
    per_case = pd.DataFrame({"design": ["SiLU"] * 4 + ["ReLU"] * 4, "method": "ifiv", "seed": 0,
                             "item_top1": [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0], "mprt": [0.4] * 8})
    study.attrs.update(best="ReLU", per_case=per_case)
    table, said = argument_test(study, ["item_top1"])
    se = np.hypot(np.std([0, 1, 1, 1], ddof=1) / 2, np.std([1, 1, 1, 0], ddof=1) / 2)
    assert table.z["item_top1"] == pytest.approx(0.1 / se) and "No difference is beyond two standard errors" in said[0]


def test_repair_gaps_are_binomial_gaps_in_standard_errors():
    import pandas as pd

    success = pd.DataFrame({"re-colour fixes": [0.5, 0.3], "replace fixes": [0.8, 0.5]}, index=["ifiv", "random"])
    success.attrs["n_outfits"] = 100
    gaps = xf.repair.repair_gaps(success)
    se = np.sqrt((0.8 * 0.2 + 0.5 * 0.5) / 100)
    assert gaps.loc["replace - re-colour", "gap"] == pytest.approx(0.3)
    assert gaps.loc["replace - re-colour", "z"] == pytest.approx(0.3 / se)
    assert gaps.loc["ifiv - random, replace", "z"] == pytest.approx(0.3 / se)  # same two shares, 0.8 and 0.5


def test_the_design_conclusion_weighs_the_auc_gap_and_counts_only_ifiv_gaps_beyond_two_standard_errors():
    import pandas as pd

    from xfashion.evaluate.design import against_run, conclusion

    study = pd.DataFrame({"auc": [0.990, 0.995]}, index=["SiLU", "ReLU"])
    draws = pd.DataFrame({"SiLU": [0.989, 0.991, 0.990, 0.990], "ReLU": [0.996, 0.994, 0.995, 0.995]})
    study.attrs.update(best="ReLU", auc_draws=draws, split="val")  # paired gaps 0.007, 0.003, 0.005, 0.005
    verdict = pd.DataFrame({"pick_better": [True, True], "z": [3.0, 1.0]},
                           index=["faithfulness_correlation", "item_top1"])
    said = conclusion(study, verdict)  # 0.005 / std(gaps) = 3.1 standard errors
    assert "0.0050 behind ReLU" in said and "3.1 standard errors (beyond noise" in said
    assert "on ReLU under faithfulness correlation:" in said and "goes against chapter 03's reason" in said
    verdict.loc["item_top1"] = [False, 2.5]  # SiLU ahead beyond noise under one metric, the pick under the other
    assert "is split on chapter 03's reason" in conclusion(study, verdict)
    verdict["z"] = 1.0  # no gap beyond noise: neither way
    assert "neither supports nor refutes" in conclusion(study, verdict)
    study.attrs["best"] = "SiLU"
    assert "picks SiLU itself" in conclusion(study, verdict)
    # IFIV's top-1 on SiLU in the study (0.75 of 4) against a run of two scorer seeds (0.5 and 1.0)
    study.attrs["per_case"] = pd.DataFrame({"design": "SiLU", "method": "ifiv", "seed": 0, "item_top1": [1, 1, 1, 0.0]})
    run = pd.DataFrame({"method": "ifiv", "seed": [0] * 4 + [1] * 4, "item_top1": [1, 0, 1, 0, 1, 1, 1, 1.0]})
    said = against_run(study, run)
    z = 0.25 / np.sqrt(0.75 * 0.25 / 4 + 0.5 * 0.5 / 4)  # seed 0 alone: 0.75 against 0.5
    assert "0.750 here and 0.750 in the table" in said and "8 swaps of the test split on 2 scorer seeds" in said
    assert f"{z:.1f} standard errors" in said and "4 swaps of the validation split" in said
    with pytest.raises(ValueError, match="scorer seed 0"):
        against_run(study, run[run.seed == 1])


def test_the_texture_sentence_gives_the_busy_threshold_and_why_shoes_above_it_are_not_busy(wb_eval):
    cat = wb_eval.catalog
    shoe = int(np.flatnonzero((cat.slot == xf.SLOTS.index("shoes")) & (cat.texture >= cat.busy_threshold))[0])
    busy = int(np.flatnonzero(cat.busy)[0])
    said = xf.evaluate.findings.texture_sentence(cat, np.array([busy, shoe]))
    assert f"from a texture of {cat.busy_threshold:.3f}" in said
    assert f"The {xf.CATEGORIES[cat.category[shoe]]} ({cat.texture[shoe]:.3f}) lies above the threshold" in said
    assert said.endswith(f"Busy here: the {xf.CATEGORIES[cat.category[busy]]}.")
    calm = int(np.flatnonzero(~cat.busy & (cat.texture < cat.busy_threshold))[0])
    assert xf.evaluate.findings.texture_sentence(cat, np.array([calm])).endswith("No item of this outfit is busy.")


def test_the_margin_figure_counts_the_cases_kept_and_bands_the_first_methods_interval():
    import matplotlib.pyplot as plt
    import pandas as pd
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"method": ["ifiv"] * 200 + ["random"] * 200, "drop": np.tile(np.linspace(1, 50, 200), 2),
                          "size": 4, "item_top1": rng.integers(0, 2, 400).astype(float)})
    fig, ax = xf.viz.evaluation.plot_margin(frame, 0.5, ["ifiv", "random"], 45.0)
    counts = [int(t.get_text().replace(",", "")) for t in ax.texts if t.get_text().replace(",", "").isdigit()]
    assert counts == sorted(counts, reverse=True) and counts[-1] < 30 < counts[0]  # few cases at the right end
    band = next(c for c in ax.collections if c.get_label() == "IFIV: 95% interval")
    xy = band.get_paths()[0].vertices
    extent = {x: np.ptp(xy[np.isclose(xy[:, 0], x), 1]) for x in (xy[:, 0].min(), xy[:, 0].max())}
    assert 0 < extent[xy[:, 0].min()] < extent[xy[:, 0].max()]  # the interval widens where few cases are left
    assert 0 <= xy[:, 1].min() and xy[:, 1].max() <= 1
    plt.close(fig)


def test_the_headline_ranks_the_methods_explained_on_fewer_cases_apart_under_a_line():
    import matplotlib.pyplot as plt
    import pandas as pd
    rates = pd.DataFrame({"mean": [0.8, 0.6, 0.3, 0.9], "sd": 0.02, "lo": [0.75, 0.55, 0.25, 0.7],
                          "hi": [0.85, 0.65, 0.35, 1.0], "chance": 0.29, "cases": [1350, 1350, 1350, 72]},
                         index=["ifiv", "integrated_gradients", "random", "pixel_ig"])
    fig, ax = xf.viz.evaluation.plot_headline(rates)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["IFIV", "IG", "random", "pixel IG"]  # pixel IG's 0.9 on 72 cases is not ranked first
    rows = dict(zip(labels, ax.get_yticks()))
    line = [ln for ln in ax.lines if ln.get_linestyle() == "-" and len(set(ln.get_ydata())) == 1
            and rows["random"] < ln.get_ydata()[0] < rows["pixel IG"]]
    assert line and any("ranked apart" in t.get_text() for t in ax.texts)
    plt.close(fig)
    fig, ax = xf.viz.evaluation.plot_headline(rates.assign(cases=1350))  # one group: no line, best first
    assert [t.get_text() for t in ax.get_yticklabels()][0] == "pixel IG"
    assert not any("ranked apart" in t.get_text() for t in ax.texts)
    plt.close(fig)


def test_a_swap_case_caption_states_the_hue_clash_window_once_however_many_hue_clashes_broke():
    from types import SimpleNamespace

    import torch

    # chapter 06's colour-swap example: a green T-shirt clashes with a yellow Trouser and a blue Sandal
    catalog = SimpleNamespace(category=np.array([0, 1, 5]), busy=np.zeros(3, dtype=bool))
    cases = SimpleNamespace(items=np.array([[0, 1, 2]]), colors=np.array([[8, 7, 10]]), position=np.array([0]),
                            kind=np.array(["color"]), unambiguous=np.array([True]))
    guess = SimpleNamespace(culprit_item=lambda: torch.tensor([0]))
    text = xf.viz.evaluation.swap_case_caption(catalog, cases, 0, {"random": guess})
    assert text.count("a hue clash") == 2 and text.count("clash window of 60-150 degrees") == 1
    assert "are 95 degrees apart; too many colours" in text  # the second clash keeps its numbers, not the window
