"""The README's results block: data seeds gathered where their tours ran, their row kept and dated where not."""
import datetime
import json
import re

from xfashion.results import data_seed_tours, table


def record(**extra) -> dict:
    swap = {m: {k: 0.5 for k in ("item_top1", "item_top1_sd", "cell_top1", "cell_top1_sd", "faithfulness_correlation",
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
            "oracle_agreement": {"n_bad": 200, "ifiv_item": 0.9, "ifiv_cell": 0.9, "random_item": 0.7,
                                 "random_cell": 0.4},
            "repair": {"ifiv": 0.8, "random": 0.5},
            "swap": {"n_cases": 2250, "seeds": [0, 1, 2], "design": "ReLU", "quantus_cases": 30, "design_auc": 0.99,
                     "designs": 5, **swap},
            "pairs": {"n_cases": 1350, **pairs}, "cost": {"n_outfits": 512, "ifiv_ratio": 4.4, "ig_over_ifiv": 216},
            "tour": tour, "tests": {"seconds": 300.0, "passed": 300, "skipped": 0}, **extra}


def numbers(line: str) -> set:
    """The decimal numbers a line states, as floats (so a test reads values, not their spelling)."""
    return {float(x) for x in re.findall(r"[-+]?\d+\.\d+", line)}


def test_a_row_across_data_seeds_that_cannot_be_recomputed_is_kept_with_its_date(tmp_path):
    from xfashion.results import ACROSS, BEGIN, END, write_readme

    across = {"seeds": [0, 1, 2, 3], "measured": "2026-12-01", "ifiv": [0.8, 0.01], "feature_ablation": [0.83, 0.03],
              "random": [0.29, 0.01], "ifiv_minus_ablation": [-0.082, 0.005],
              "designs": {"0": ["ReLU", 0.0023], "1": ["softplus", 0.0018]}}
    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n{BEGIN}\nold\n{END}\nafter\n")
    write_readme(record(across_data_seeds=across), readme)
    first = readme.read_text().splitlines()
    row = [line for line in first if line.startswith(ACROSS)]
    assert len(row) == 1 and "2026-12-01" in row[0]
    write_readme(record(), readme)  # no data-seed tours this time: the rows stay, dated
    second = readme.read_text()
    assert second.endswith(f"{END}\nafter\n")
    assert [line for line in second.splitlines() if line.startswith(ACROSS)] == row
    design = next(line for line in second.splitlines() if line.startswith("| scorer design"))
    # the other data seeds' picks and AUC spans stay in the design row, with the date they were measured before
    assert {0.0023, 0.0018} <= numbers(design) and str(datetime.date.today()) in design
    write_readme(record(), readme)  # and again: nothing dated twice
    assert readme.read_text() == second


def test_the_block_gathers_chapter_06_over_data_seeds_when_their_tours_ran(tmp_path):
    from xfashion.results import ACROSS

    across = {"seeds": [0, 1, 2, 3], "ifiv": [0.8, 0.01], "feature_ablation": [0.83, 0.03], "random": [0.29, 0.01],
              "ifiv_minus_ablation": [-0.082, 0.005]}
    row = [line for line in table(record(across_data_seeds=across)).splitlines() if line.startswith(ACROSS)]
    assert len(row) == 1 and {0.8, 0.01, 0.83, 0.03, 0.29, -0.082, 0.005} <= numbers(row[0])
    assert not [line for line in table(record()).splitlines() if line.startswith(ACROSS)]
    for seed, chapters, small in ((1, range(1, 10), False), (2, range(1, 4), False), (3, range(1, 10), True),
                                  (4, range(1, 10), False), (5, (6, 7), False), (6, (6,), False)):
        folder = tmp_path / f"data-seed-{seed}"
        folder.mkdir()
        notebooks = {f"0{k}_x.ipynb": {} for k in chapters}
        (folder / "tour.json").write_text(json.dumps({"data_seed": seed, "small_mode": small, "notebooks": notebooks}))
    assert data_seed_tours(tmp_path) == [1, 4, 5]  # chapters 06 and 07 on full data


def test_reading_time_counts_the_prose_at_the_stated_pace_and_not_the_code(tmp_path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    from xfashion.results import READING_WPM, timing_rows

    words = {"01_a": 5 * READING_WPM, "02_b": 2 * READING_WPM}  # five minutes and two minutes of prose
    for name, n in words.items():
        nbformat.write(new_notebook(cells=[new_markdown_cell("word " * n), new_code_cell("x = 1\n" * 500)]),
                       tmp_path / f"{name}.ipynb")
    runs = {f"{name}.ipynb": {"seconds": 12.4, "peak_rss_mb_so_far": 900.0} for name in words}
    rows = timing_rows({"notebooks": runs, "peak_rss_mb": 900.0}, notebooks=tmp_path)
    reading = {row.split("|")[1].strip(): int(row.split("|")[-2]) for row in rows[2:]}
    assert reading == {"01_a": 5, "02_b": 2, "all 2": 7}
