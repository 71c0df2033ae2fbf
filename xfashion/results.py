"""The README's results table, computed by the same calls the notebooks make (never typed by hand).

``python -m xfashion readme`` (or ``make readme``, after ``make tour``) collects the numbers into
``build/results.json`` and rewrites the block of README.md between the markers below. After a
tour every stage loads from the cache, so this takes about a minute (the benchmark is timed anew).
"""
from __future__ import annotations

import datetime
import json
import os
import platform
import re
from pathlib import Path

import numpy as np

from .analysis import color_invariance
from .evaluate import (
    benchmark,
    design_study,
    explain_all,
    oracle_agreement,
    oracle_blame_tensor,
    run_swap_evaluation,
)
from .evaluate.pairs import run_pair_evaluation
from .pipeline import fitb, forget, trained_scorer, workbench
from .repair import repair_success
from .training import evaluate_scorer
from .utils import REPO_ROOT, peak_rss_mb, small_mode

NAMES = (("ifiv", "IFIV"), ("feature_ablation", "feature ablation"), ("random", "random"))
PAIR_NAMES = (("pair_removal", "interaction by removal"), ("shapley_interaction", "Shapley interaction"),
              ("second_order_ifiv", "second-order IFIV"), ("feature_ablation (two lowest items)",
                                                           "feature ablation's two lowest items"),
              ("random_pairs", "random"))
BEGIN, END = "<!-- results:begin (python -m xfashion readme writes this block) -->", "<!-- results:end -->"


def collect(seed: int = 0, progress: bool = False, tour_json: str | Path | None = None) -> dict:
    """Every number of the README table, from the package calls that notebooks 02-06 make."""
    wb = workbench(seed, progress=progress)
    catalog, splits, feats = wb.catalog, wb.splits, wb.feats
    main, base = trained_scorer(seed, "pairwise", progress), trained_scorer(seed, "meanpool", progress)
    questions = fitb(seed)
    scores = {name: evaluate_scorer(m.model, catalog, splits, feats, questions) for name, m in
              (("pairwise", main), ("meanpool", base))}
    test = splits["test"]
    bad = np.flatnonzero(test.oracle_label == 0)[:200]  # notebook 04's outfits
    agree = oracle_agreement(explain_all(wb, bad, methods=["ifiv", "random"], progress=progress),
                             oracle_blame_tensor(catalog, test, bad))
    repair = repair_success(wb.model, catalog, feats, test, n=150, progress=progress)
    # notebook 06's run: the default scorer over three scorer seeds; 07's: the design study on validation
    seeds = (seed, seed + 1, seed + 2)  # the first is the workbench's own scorer
    report = run_swap_evaluation(wb, seeds=seeds, progress=progress)
    study = design_study(wb, seed=seed, progress=progress)
    pairs = run_pair_evaluation(wb, seeds=seeds, progress=progress).summary  # chapter 08's run
    sm = report.summary

    def swap(method):
        keys = ("item_top1", "cell_top1", "faithfulness_correlation", "pixel_flipping")
        return {f"{k}{sd}": round(float(sm.loc[method, k + sd]), 3) for k in keys for sd in ("", "_sd")}
    bench = benchmark(wb)
    others = [s for s in data_seed_tours() if s != seed]  # chapter 06 on other data seeds, where their tours ran
    across = across_data_seeds([seed, *others], progress) if others else None
    build = REPO_ROOT / "build"
    tour = _record(Path(tour_json) if tour_json else build / "tour.json")
    return {
        "machine": {"processor": cpu_name(), "python": platform.python_version(),
                    "small_mode": small_mode()},
        "cnn": {"epochs": feats.cnn.config["epochs"], "n_train": feats.cnn.config["n_train"],
                "seconds": round(feats.cnn.seconds), "test_accuracy": round(feats.cnn.test_accuracy, 3),
                "color_invariance": float(f"{color_invariance(feats.extractor, catalog):.1e}")},
        "scorer": {"n_parameters": main.n_parameters, "seconds": round(main.seconds),
                   **{f"{k}_{m}": round(float(scores[k][m]), 3) for k in scores for m in ("auc", "fitb_accuracy")}},
        "oracle_agreement": {"n_bad": len(bad), **{f"{m}_{c.split('_')[0]}": round(float(agree.loc[m, c]), 3)
                                                   for m in agree.index for c in agree.columns}},
        "repair": {m: round(float(repair.loc[m, "replace fixes"]), 3) for m in repair.index},
        "swap": {"n_cases": report.n_cases, "seeds": list(report.config["seeds"]), "design": study.attrs["best"],
                 "quantus_cases": report.config["quantus_cases"],
                 "design_auc": round(float(study.loc[study.attrs["best"], "auc"]), 4),
                 "designs": len(study),
                 **{m: swap(m) for m in ("ifiv", "feature_ablation", "random")}},
        "pairs": {"n_cases": int(pairs.loc["oracle", "cases"]),
                  **{m: [round(float(pairs.loc[m, "clash_top1"]), 3), round(float(pairs.loc[m, "clash_top1_sd"]), 3)]
                     for m in pairs.index}},
        "cost": {"n_outfits": int(bench.attrs["n_outfits"]),
                 "ifiv_ratio": round(float(bench.loc["ifiv", "ratio_to_forward"]), 1),
                 "ig_over_ifiv": round(float(bench.loc["integrated_gradients", "seconds"]
                                             / bench.loc["ifiv", "seconds"])),
                 "peak_rss_mb": round(peak_rss_mb())},
        "tour": tour,
        "across_data_seeds": across,
        # the records `python -m xfashion retrain --json` and pytest (tests/conftest.py) leave in build/
        "retrain": _record(build / "retrain.json"),
        "tests": _record(build / "pytest.json"),
        "tests_one_cpu": _record(build / "pytest-1cpu.json"),
    }


SLOWER = 2.3  # a 2-core CPU of the same kind measured this much slower than the one the README was made on


def cpu_name() -> str:
    """The processor's model name (Linux's /proc/cpuinfo), its architecture and core count."""
    name = platform.processor() or platform.machine()
    try:
        models = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")]
        name = f"{models[0]}, {platform.machine()}" if models else name
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} cores"


def data_seed_tours(build: Path = REPO_ROOT / "build") -> list:
    """The data seeds whose last tour (``tour --data-seed S``, build/data-seed-S/tour.json) ran chapters 06 and
    07 on full data: the chapters whose cached runs the README's rows across data seeds read (a tour of
    those two with ``--only`` is enough)."""
    seeds = []
    for record in sorted(build.glob("data-seed-*/tour.json")):
        tour = json.loads(record.read_text())
        ran = {n[:3] for n in tour["notebooks"] if "/" not in n}
        if not tour.get("small_mode") and {"06_", "07_"} <= ran:
            seeds.append(int(tour["data_seed"]))
    return sorted(set(seeds))


def across_data_seeds(seeds, progress: bool = False) -> dict:
    """Item top-1 of chapter 06's run on each data seed (from the caches its tour left): per method, the mean
    and sd over data seeds of each seed's mean over its three scorer seeds, and IFIV minus feature ablation;
    and chapter 07's design study on each data seed: the design validation AUC picks and the AUCs' span."""
    per, designs = {}, {}
    for s in seeds:
        wb = workbench(s, progress=progress)
        summary = run_swap_evaluation(wb, seeds=(s, s + 1, s + 2), progress=progress).summary
        per[s] = {m: float(summary.loc[m, "item_top1"]) for m, _ in NAMES}
        study = design_study(wb, seed=s, progress=progress)  # chapter 07's: the design the criterion picks
        designs[s] = [study.attrs["best"], round(float(study["auc"].max() - study["auc"].min()), 4)]
        forget(s)  # one data seed's catalog, features and models at a time
    table = {m: [per[s][m] for s in seeds] for m, _ in NAMES}
    gap = [per[s]["ifiv"] - per[s]["feature_ablation"] for s in seeds]
    return {"seeds": list(seeds), "measured": datetime.date.today().isoformat(),
            **{m: [round(float(np.mean(v)), 3), round(float(np.std(v, ddof=1)), 3)] for m, v in table.items()},
            "ifiv_minus_ablation": [round(min(gap), 3), round(max(gap), 3)],
            "designs": {str(s): designs[s] for s in seeds}}


def _record(path: Path):
    return json.loads(path.read_text()) if path.exists() else None


READING_WPM = 120  # careful reading of technical prose with code, words a minute


def reading_minutes(notebook: str | Path) -> int:
    """Minutes to read a notebook's prose (its Markdown cells) at :data:`READING_WPM` words a minute."""
    import nbformat

    nb = nbformat.read(Path(notebook), as_version=4)
    words = sum(len(c.source.split()) for c in nb.cells if c.cell_type == "markdown")
    return max(1, round(words / READING_WPM))


def timing_rows(tour: dict, notebooks: Path = REPO_ROOT / "notebooks") -> list:
    """Markdown rows of a tour record: seconds and peak memory per chapter (and its solutions), the chapter's
    reading time, then the totals."""
    runs = tour["notebooks"]
    chapters = [name for name in runs if "/" not in name]
    solved = any("/" in name for name in runs)
    rows = ["| chapter | seconds |" + (" its solutions (s) |" if solved else "") + " peak memory so far (MiB) |"
            f" reading (min at {READING_WPM} words a minute) |",
            "| --- | --- |" + (" --- |" if solved else "") + " --- | --- |"]
    reading = {name: reading_minutes(notebooks / name) if (notebooks / name).exists() else 0 for name in chapters}
    for name in chapters:
        solution = runs.get(f"solutions/{name}")
        peak = (solution or runs[name])["peak_rss_mb_so_far"]
        middle = (f" {solution['seconds']:.0f} |" if solution else " - |") if solved else ""
        rows.append(f"| {name.removesuffix('.ipynb')} | {runs[name]['seconds']:.0f} |{middle} {peak:.0f} | "
                    f"{reading[name]} |")
    total = sum(runs[name]["seconds"] for name in chapters)
    middle = f" {sum(v['seconds'] for n, v in runs.items() if '/' in n):.0f} |" if solved else ""
    rows.append(f"| all {len(chapters)} | {total:.0f} |{middle} {tour['peak_rss_mb']:.0f} | {sum(reading.values())} |")
    return rows


def table(r: dict) -> str:
    """The README block (markdown) for ``collect``'s result."""
    c, s, o, w, k = r["cnn"], r["scorer"], r["oracle_agreement"], r["swap"], r["cost"]
    rows = [
        (f"shape-texture CNN ({c['epochs']} epochs on {c['n_train']:,} images, {c['seconds']} s)",
         f"{c['test_accuracy']:.3f} test accuracy on the 10 categories; colour invariance {c['color_invariance']:.0e}"),
        (f"pairwise scorer ({s['n_parameters'] / 1000:.0f}k parameters, {s['seconds']} s)",
         f"test AUC {s['pairwise_auc']:.3f}, FITB {s['pairwise_fitb_accuracy']:.3f}; no-interaction baseline AUC "
         f"{s['meanpool_auc']:.3f}, FITB {s['meanpool_fitb_accuracy']:.3f}"),
        (f"IFIV vs oracle, {o['n_bad']} bad test outfits",
         f"culprit item blamed by the oracle {o['ifiv_item']:.2f}, (item, group) cell {o['ifiv_cell']:.2f} "
         f"(random {o['random_item']:.2f} / {o['random_cell']:.2f})"),
        ("repair from IFIV's culprit",
         f"{100 * r['repair']['ifiv']:.0f}% of bad outfits fixed (random culprit {100 * r['repair']['random']:.0f}%)"),
        (f"swap test, controlled: {w['n_cases']} cases, scorer seeds {w['seeds']}",
         "item / (item, group) top-1 ↑: " + "; ".join(
             f"{name} {w[m]['item_top1']:.3f} ± {w[m]['item_top1_sd']:.3f} / {w[m]['cell_top1']:.3f} ± "
             f"{w[m]['cell_top1_sd']:.3f}" for m, name in NAMES)),
        (f"Quantus at the (item, group) level, on {w['quantus_cases']} of those cases per seed",
         "faithfulness correlation ↑ / pixel-flipping area ↓: " + "; ".join(
             f"{name} {w[m]['faithfulness_correlation']:.2f} ± {w[m]['faithfulness_correlation_sd']:.2f} / "
             f"{w[m]['pixel_flipping']:.1f} ± {w[m]['pixel_flipping_sd']:.1f}" for m, name in NAMES)),
        *([(f"swap test across data seeds {a['seeds']} (each the mean of its 3 scorer seeds; "
             f"measured {a.get('measured', 'on an earlier date')})",
            "item top-1 ↑, mean ± sd over data seeds: " + "; ".join(
                f"{name} {a[m][0]:.3f} ± {a[m][1]:.3f}" for m, name in NAMES)
            + f"; IFIV minus feature ablation from {a['ifiv_minus_ablation'][0]:+.3f} to "
              f"{a['ifiv_minus_ablation'][1]:+.3f}")] if (a := r.get("across_data_seeds")) else []),
        (f"scorer design, chosen by validation AUC among {w['designs']}", f"{w['design']} (AUC {w['design_auc']:.4f})"
         + (f"; on data seeds {a['seeds']}: "
            + "; ".join(f"{d[0]} (AUCs span {d[1]:.4f})" for d in a["designs"].values())
            if (a := r.get("across_data_seeds")) and "designs" in a else "")),
        (f"pair test: {r['pairs']['n_cases']} swaps that break exactly one pair rule, scorer seeds [0, 1, 2]",
         "faulted pair found first (clash_top1 ↑): " + "; ".join(
             f"{name} {r['pairs'][m][0]:.3f} ± {r['pairs'][m][1]:.3f}" for m, name in PAIR_NAMES)),
        (f"cost ({k['n_outfits']} outfits)",
         f"IFIV {k['ifiv_ratio']}x a forward pass; IG (50 steps) {k['ig_over_ifiv']}x IFIV"),
    ]
    lines = [BEGIN, "", "| stage | result |", "| --- | --- |"] + [f"| {a} | {b} |" for a, b in rows]
    tour = r.get("tour")
    if tour and not tour.get("small_mode"):
        shipped = "shipped weights" if tour.get("pretrained", False) else "every model trained"
        chapters = sum(v["seconds"] for name, v in tour["notebooks"].items() if "/" not in name)
        lines += ["", f"`make tour` (cold caches, {shipped}) took {chapters:.0f} s of notebooks here; the "
                      f"largest notebook kernel peaked at {tour['peak_rss_mb']:.0f} MiB resident"
                      + (" (with the solutions, which `--solutions` runs after their chapters):" if
                         any("/" in name for name in tour["notebooks"]) else ":"), ""]
        lines += timing_rows(tour)
        extra = []
        if r.get("retrain"):
            extra.append(f"`make retrain` (every shipped model from scratch) {r['retrain']['seconds']:.0f} s")
        if r.get("tests"):
            t = r["tests"]
            workers = f", {t['workers']} workers" if t.get("workers") else ""
            extra.append(f"`make test`'s pytest {t['seconds']:.0f} s ({t['passed']} passed, "
                         f"{t['skipped']} skipped{workers})")
        if r.get("tests_one_cpu"):
            t = r["tests_one_cpu"]
            extra.append(f"pinned to one core (`taskset -c 0 make test`) {t['seconds']:.0f} s ({t['passed']} passed, "
                         f"{t['failed']} failed)")
        if extra:
            lines += ["", "; ".join(extra) + "."]
    lines += ["", f"Measured on {r['machine']['processor']}, Python {r['machine']['python']}; regenerate with "
                  "`make readme` after `make tour`."]
    if tour and not tour.get("small_mode"):
        chapters = sum(v["seconds"] for name, v in tour["notebooks"].items() if "/" not in name)
        tests = f" and `make test`'s pytest about {SLOWER * r['tests']['seconds']:.0f} s" if r.get("tests") else ""
        lines += ["", f"**On a slower machine:** another 2-core CPU of this kind ran everything {SLOWER}x slower "
                      f"(measured): expect about {SLOWER * chapters:.0f} s of notebooks for the tour{tests} there, "
                      "and more on an older laptop."]
    lines += [END]
    return "\n".join(lines)


ACROSS = "| swap test across data seeds"  # the rows only other data seeds' tours can recompute


def write_readme(r: dict, readme: str | Path = REPO_ROOT / "README.md") -> Path:
    """Replace the results block of ``readme`` with ``table(r)``.

    Without the other data seeds' tours (``r["across_data_seeds"]`` None) the block keeps its row
    across data seeds as it was, with the date it was measured, rather than dropping it.
    """
    readme = Path(readme)
    text = readme.read_text()
    if BEGIN not in text or END not in text:
        raise ValueError(f"{readme} has no results block; add the lines {BEGIN!r} and {END!r} where it goes.")
    head, rest = text.split(BEGIN, 1)
    old, tail = rest.split(END, 1)
    block = table(r)
    kept = [line for line in old.splitlines() if line.startswith(ACROSS)]
    if not r.get("across_data_seeds") and kept:
        if "measured" not in kept[0]:
            kept[0] = kept[0].replace(" scorer seeds)", f" scorer seeds; measured before {datetime.date.today()})", 1)
        lines = block.splitlines()
        at = next(i for i, line in enumerate(lines) if line.startswith("| scorer design"))
        # the design row's picks on the other data seeds come from the same runs: kept too, dated
        old_design = next((line for line in old.splitlines() if line.startswith("| scorer design")), "")
        picks = re.search(r"; on data seeds \[[^]]*\]: .*?(?= \|$)", old_design)
        if picks and "; on data seeds" not in lines[at]:
            dated = picks.group(0) + ("" if "measured" in picks.group(0) else
                                      f" (measured before {datetime.date.today()})")
            lines[at] = lines[at][: -len(" |")] + dated + " |"
        block = "\n".join(lines[:at] + kept + lines[at:])
    readme.write_text(head + block + tail)
    return readme


TIMINGS = ("<!-- timings:begin -->", "<!-- timings:end -->")


def write_timings(r: dict, guide: str | Path = REPO_ROOT / "docs" / "course_guide.md") -> Path | None:
    """Fill the course guide's timing table from the tour record in ``r`` (None when there is none)."""
    guide, tour = Path(guide), r.get("tour")
    if not guide.exists() or not tour or tour.get("small_mode"):
        return None
    text = guide.read_text()
    if TIMINGS[0] not in text or TIMINGS[1] not in text:
        raise ValueError(f"{guide} has no timing block; add the lines {TIMINGS[0]!r} and {TIMINGS[1]!r}.")
    rows = timing_rows(tour)
    head, rest = text.split(TIMINGS[0], 1)
    _, tail = rest.split(TIMINGS[1], 1)
    guide.write_text(head + TIMINGS[0] + "\n" + "\n".join(rows) + "\n" + TIMINGS[1] + tail)
    return guide
