"""The README's results block: every number from a record, the machine named, data seeds gathered."""
import json

from xfashion.results import SLOWER, cpu_name, data_seed_tours, table


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


def test_the_block_names_the_machine_and_what_a_slower_one_should_expect():
    text = table(record())
    assert "Measured on Some CPU, x86_64, 2 cores" in text
    assert f"ran everything {SLOWER}x slower" in text and f"about {SLOWER * 10:.0f} s of notebooks" in text
    assert f"pytest about {SLOWER * 300:.0f} s" in text
    assert "across data seeds" not in text
    assert cpu_name().endswith(" cores")
    assert "one core" not in text


def test_the_block_gives_the_workers_and_a_one_core_run_when_recorded():
    text = table(record(tests={"seconds": 280.0, "passed": 300, "skipped": 0, "workers": 2},
                        tests_one_cpu={"seconds": 512.0, "passed": 299, "failed": 1, "cpus": 1, "workers": 2}))
    assert "`make test`'s pytest 280 s (300 passed, 0 skipped, 2 workers)" in text
    assert "pinned to one core (`taskset -c 0 make test`) 512 s (299 passed, 1 failed)" in text


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
