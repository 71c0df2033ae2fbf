"""The README's results block: data seeds gathered where their tours ran, their row kept and dated where not."""
import json

from xfashion.results import data_seed_tours, table


def record(**extra) -> dict:
    swap = {m: {k: 0.5 for k in ("item_top1", "item_top1_sd", "pair_top1", "pair_top1_sd", "faithfulness_correlation",
                                 "faithfulness_correlation_sd", "pixel_flipping", "pixel_flipping_sd")}
            for m in ("ifiv", "feature_ablation", "random")}
    pairs = {m: [0.5, 0.01] for m in ("pair_removal", "shapley_interaction", "second_order_ifiv",
                                      "feature_ablation (two lowest items)", "random_pairs")}
    tour = {"notebooks": {"01_data_preparation.ipynb": {"seconds": 10.0, "peak_rss_mb_so_far": 900.0}},
            "peak_rss_mb": 900.0, "pretrained": True, "small_mode": False}
    return {"machine": {"processor": "Some CPU, x86_64, 2 cores", "python": "3.11.7", "small_mode": False},
            "cnn": {"epochs": 5, "n_train": 60000, "seconds": 51, "test_accuracy": 0.9, "color_invariance": 2e-6},
            "scorer": {"n_parameters": 36000, "seconds": 11, "pairwise_auc": 0.99, "pairwise_fitb_accuracy": 0.98,
                       "meanpool_auc": 0.9, "meanpool_fitb_accuracy": 0.8},
            "oracle_agreement": {"n_bad": 200, "ifiv_item": 0.9, "ifiv_pair": 0.9, "random_item": 0.7,
                                 "random_pair": 0.4},
            "repair": {"ifiv": 0.8, "random": 0.5},
            "swap": {"n_cases": 2250, "seeds": [0, 1, 2], "design": "ReLU", "quantus_cases": 30, "design_auc": 0.99,
                     "designs": 5, **swap},
            "pairs": {"n_cases": 1350, **pairs}, "cost": {"n_outfits": 512, "ifiv_ratio": 4.4, "ig_over_ifiv": 216},
            "tour": tour, "tests": {"seconds": 300.0, "passed": 300, "skipped": 0}, **extra}


def test_a_row_across_data_seeds_that_cannot_be_recomputed_is_kept_with_its_date(tmp_path):
    from xfashion.results import BEGIN, END, write_readme

    across = {"seeds": [0, 1, 2, 3], "measured": "2026-12-01", "ifiv": [0.8, 0.01], "feature_ablation": [0.83, 0.03],
              "random": [0.29, 0.01], "ifiv_minus_ablation": [-0.082, 0.005],
              "designs": {"0": ["ReLU", 0.0023], "1": ["softplus", 0.0018]}}
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{BEGIN}\nold\n{END}\nafter\n")
    write_readme(record(across_data_seeds=across), readme)
    first = readme.read_text()
    assert "across data seeds [0, 1, 2, 3] (each the mean of its 3 scorer seeds; measured 2026-12-01)" in first
    assert "; on data seeds [0, 1, 2, 3]: ReLU (AUCs span 0.0023); softplus (AUCs span 0.0018) |" in first
    write_readme(record(), readme)  # no data-seed tours this time: the rows stay, dated
    second = readme.read_text()
    assert second.endswith(f"{END}\nafter\n")
    assert "; on data seeds [0, 1, 2, 3]: ReLU (AUCs span 0.0023); softplus (AUCs span 0.0018) (measured before" \
        in second
    assert [line for line in second.splitlines() if "across data seeds" in line] == \
        [line for line in first.splitlines() if "across data seeds" in line]
    write_readme(record(), readme)  # and again: nothing dated twice
    assert readme.read_text() == second


def test_the_block_gathers_chapter_06_over_data_seeds_when_their_tours_ran(tmp_path):
    across = {"seeds": [0, 1, 2, 3], "ifiv": [0.8, 0.01], "feature_ablation": [0.83, 0.03], "random": [0.29, 0.01],
              "ifiv_minus_ablation": [-0.082, 0.005]}
    text = table(record(across_data_seeds=across))
    assert "swap test across data seeds [0, 1, 2, 3]" in text
    assert "IFIV 0.800 ± 0.010; feature ablation 0.830 ± 0.030" in text and "from -0.082 to +0.005" in text
    for seed, chapters, small in ((1, range(1, 10), False), (2, range(1, 4), False), (3, range(1, 10), True),
                                  (4, range(1, 10), False), (5, (6, 7), False), (6, (6,), False)):
        folder = tmp_path / f"data-seed-{seed}"
        folder.mkdir()
        notebooks = {f"0{k}_x.ipynb": {} for k in chapters}
        (folder / "tour.json").write_text(json.dumps({"data_seed": seed, "small_mode": small, "notebooks": notebooks}))
    assert data_seed_tours(tmp_path) == [1, 4, 5]  # chapters 06 and 07 on full data


def test_the_timing_table_gives_each_chapter_its_reading_time_from_its_prose(tmp_path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from xfashion.results import READING_WPM, timing_rows

    # 300 words of prose and a long code cell: code is not reading time
    nb = new_notebook(cells=[new_markdown_cell("word " * 300), new_code_cell("x = 1\n" * 500)])
    nbformat.write(nb, tmp_path / "01_a.ipynb")
    tour = {"notebooks": {"01_a.ipynb": {"seconds": 12.4, "peak_rss_mb_so_far": 900.0}}, "peak_rss_mb": 900.0}
    rows = timing_rows(tour, notebooks=tmp_path)
    assert rows[2] == f"| 01_a | 12 | 900 | {round(300 / READING_WPM)} |"
    assert rows[-1].endswith(f"| {round(300 / READING_WPM)} |")
