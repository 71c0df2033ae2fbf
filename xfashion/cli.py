"""Command line: ``python -m xfashion <command> [--json]`` runs each stage headless."""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time

from .analysis import color_invariance
from .arguments import (
    existing_folder,
    image_size_type,
    margin_type,
    method_type,
    out_folder,
    positive_int,
    seed_type,
)
from .book import build_book
from .chapters import write_table
from .data import CATEGORIES, COLOR_NAMES
from .evaluate import benchmark, headline, run_swap_evaluation
from .evaluate.oracle import faulted_pairs
from .evaluate.pairs import run_pair_evaluation
from .evaluate.report import write_report
from .explain import attribute, get_method, methods
from .explain.base import ALIASES
from .explain.pairs import attribute_pairs
from .outfits import outfit_violations
from .pipeline import fitb, item_features, prepare, prepare_summary, trained_scorer, workbench
from .polyvore import run_polyvore
from .results import collect, write_readme, write_timings
from .scorer import score
from .tour import run_tour
from .training import RandomScorer, evaluate_scorer
from .utils import REPO_ROOT, json_default, peak_rss_mb, release_freed_memory
from .weights import check_manifest, rekey, retrain

INVARIANCE_TOL = 1e-4


def _quiet(args):
    """With --json, keep stage chatter (source lines, progress) off stdout so it holds only the JSON."""
    return contextlib.redirect_stdout(io.StringIO()) if getattr(args, "json", False) else contextlib.nullcontext()


def _emit(summary: dict, as_json: bool, lines: list) -> None:
    """One JSON object on stdout with --json, else the human lines."""
    print(json.dumps(summary, indent=None, default=json_default) if as_json else "\n".join(lines))


def cmd_prepare(args) -> tuple:
    catalog, splits = prepare(seed=args.seed)
    summary = prepare_summary(catalog, splits)
    lines = [f"source: {summary['source']}",
             "items per split: " + ", ".join(f"{k}={v}" for k, v in summary["n_items"].items()),
             "outfits per split (good/bad): " + ", ".join(
                 f"{k}={v['good']}/{v['bad']}" for k, v in summary["n_outfits"].items()),
             "violations per rule (all splits): " + ", ".join(f"{k}={v}" for k, v in summary["violations"].items())]
    return summary, lines


def cmd_features(args) -> tuple:
    catalog, _ = prepare(args.seed)
    feats = item_features(args.seed, progress=not args.json)
    inv = color_invariance(feats.extractor, catalog)
    summary = {"shape_texture_test_accuracy": round(feats.cnn.test_accuracy, 4),
               "color_invariance": inv, "color_invariance_tolerance": INVARIANCE_TOL,
               "feature_sizes": dict(zip(feats.groups.names, feats.groups.sizes)),
               "n_items": len(catalog), "cnn_epochs": feats.cnn.config["epochs"],
               "cnn_train_seconds": round(feats.cnn.seconds, 1), "cnn_cached": feats.cnn.cached,
               "extract_seconds": round(feats.seconds, 1), "features_cached": feats.cached}
    lines = [f"shape-texture CNN test accuracy: {summary['shape_texture_test_accuracy']:.4f} "
             f"({summary['cnn_epochs']} epochs, {summary['cnn_train_seconds']} s"
             f"{', cached' if feats.cnn.cached else ''})",
             f"colour invariance (max relative change over re-colourings): {inv:.2e} (tolerance {INVARIANCE_TOL:g})",
             f"features: {summary['feature_sizes']} for {len(catalog)} items in {summary['extract_seconds']} s"]
    return summary, lines


def cmd_train(args) -> tuple:
    catalog, splits = prepare(args.seed)
    feats = item_features(args.seed, progress=not args.json)
    main = trained_scorer(args.seed, "pairwise", progress=not args.json)
    base = trained_scorer(args.seed, "meanpool", progress=not args.json)
    questions = fitb(args.seed)
    res = {name: evaluate_scorer(m, catalog, splits, feats, questions)
           for name, m in (("pairwise", main.model), ("meanpool", base.model), ("random", RandomScorer(args.seed)))}
    summary = {"test_auc": res["pairwise"]["auc"], "test_accuracy": res["pairwise"]["accuracy"],
               "fitb_accuracy": res["pairwise"]["fitb_accuracy"], "n_fitb": len(questions),
               "baseline_meanpool": {k: res["meanpool"][k] for k in ("auc", "accuracy", "fitb_accuracy")},
               "baseline_random": {k: res["random"][k] for k in ("auc", "accuracy", "fitb_accuracy")},
               "per_rule_accuracy": res["pairwise"]["per_rule_accuracy"],
               "epochs": len(main.history), "best_epoch": main.best_epoch, "train_seconds": round(main.seconds, 1),
               "cached": main.cached, "n_parameters": main.n_parameters}
    lines = [f"{name:>9}: AUC {r['auc']:.4f}  accuracy {r['accuracy']:.4f}  FITB {r['fitb_accuracy']:.4f}"
             for name, r in res.items()]
    lines.append(f"pairwise scorer: {main.n_parameters} parameters, {len(main.history)} epochs "
                 f"(best {main.best_epoch}), {main.seconds:.1f} s{' (cached)' if main.cached else ''}")
    return summary, lines


def cmd_explain(args) -> tuple:
    wb = workbench(args.seed, progress=not args.json)
    outfits = wb.splits[args.split]
    if not 0 <= args.outfit < len(outfits):
        raise ValueError(f"--outfit must lie in 0-{len(outfits) - 1} for the {args.split} split; got {args.outfit}.")
    if args.pairs:
        return _explain_pairs(args, wb, outfits.outfit(args.outfit))
    args.method = args.method or "ifiv"
    if args.method in methods("pairs"):
        raise ValueError(f"{args.method} is a pair method: add --pairs (item methods: {', '.join(methods())}).")
    items = outfits.outfit(args.outfit)
    batch = wb.batch(args.outfit, args.split, images=get_method(args.method).traits.needs_images)
    logit = float(score(wb.model, batch)[0])
    attr = attribute(wb.model, batch, args.method, target=args.target, **wb.options())
    item, group = (int(x[0]) for x in attr.culprit())
    found = outfit_violations(wb.catalog, items)
    rows = [{"position": k, "item_id": int(i), "category": CATEGORIES[wb.catalog.category[i]],
             "color": COLOR_NAMES[wb.catalog.color[i]],
             "attribution": dict(zip(attr.groups, [round(float(v), 5) for v in attr.values[0, k]]))}
            for k, i in enumerate(items)]
    summary = {"outfit": args.outfit, "split": args.split, "method": args.method, "target": args.target,
               "logit": logit, "probability": 1 / (1 + 2.718281828459045 ** (-logit)),
               "oracle": {"good": not found, "violations": [{"rule": v.rule, "group": v.group, "items": list(v.items)}
                                                            for v in found]},
               "items": rows, "culprit": {"item": int(attr.culprit_item()[0]), "cell_item": item,
                                          "cell_group": attr.groups[group]},
               "item_level": attr.item_level, "forward_passes": attr.forward_passes,
               "backward_passes": attr.backward_passes, "ms": round(attr.seconds * 1000, 2)}
    lines = [f"outfit {args.outfit} ({args.split}): logit {logit:+.3f}, p(good) {summary['probability']:.3f}; oracle: "
             + ("good" if not found else ", ".join(f"{v.rule} {list(v.items)}" for v in found))]
    for r in rows:
        vals = "  ".join(f"{g}={v:+.3f}" for g, v in r["attribution"].items())
        lines.append(f"  item {r['position']}: {r['color']:>6} {r['category']:<12} {vals}")
    lines.append(f"{args.method}: culprit item {summary['culprit']['item']}"
                 + ("" if attr.item_level else f", lowest (item, group) = ({item}, {attr.groups[group]})")
                 + f"; {attr.forward_passes:g} forward / {attr.backward_passes:g} backward passes per outfit")
    return summary, lines


def _explain_pairs(args, wb, items) -> tuple:
    """``explain --pairs``: the pair matrix of one outfit and the stylist's faulted pairs."""
    method = args.method or "second_order_ifiv"
    if method not in methods("pairs"):
        raise ValueError(f"--pairs needs a pair method ({', '.join(methods('pairs'))}); got {method}.")
    batch = wb.batch(args.outfit, args.split)
    logit = float(score(wb.model, batch)[0])
    pairs = attribute_pairs(wb.model, batch, method, target=args.target, **wb.options())
    i, j = (int(v) for v in pairs.lowest()[0])
    labels = [f"{k} {COLOR_NAMES[wb.catalog.color[t]]} {CATEGORIES[wb.catalog.category[t]]}"
              for k, t in enumerate(items)]
    faulted = faulted_pairs(wb.catalog, items, wb.catalog.color[items])
    n = len(items)
    summary = {"outfit": args.outfit, "split": args.split, "method": method, "target": args.target, "logit": logit,
               "items": labels, "pairs": [[round(float(v), 5) for v in row] for row in pairs.values[0, :n, :n]],
               "lowest_pair": [i, j], "oracle_pairs": [{"items": [a, b], "rule": r} for a, b, r in faulted],
               "forward_passes": pairs.forward_passes, "ms": round(pairs.seconds * 1000, 2)}
    lines = [f"outfit {args.outfit} ({args.split}): logit {logit:+.3f}; the stylist faults "
             + (", ".join(f"{r} {[a, b]}" for a, b, r in faulted) or "no pair"),
             pairs.matrix(0, labels).round(3).to_string(),
             f"{method}: lowest pair {[i, j]} ({labels[i]} + {labels[j]}); {pairs.forward_passes:g} forward passes"]
    return summary, lines


def cmd_book(args) -> tuple:
    index = build_book(args.src, args.out)
    return {"index": str(index)}, [f"book written: {index} (open it in a browser)"]


def cmd_evaluate(args) -> tuple:
    wb = workbench(args.seed, progress=not args.json)
    if args.pairs:
        return _evaluate_pairs(args, wb)
    report = run_swap_evaluation(wb, args.methods, protocol=args.protocol, seeds=args.seeds, n_outfits=args.n_outfits,
                                 per_kind=args.per_kind, margin=args.margin, progress=not args.json)
    paths = write_report(report, args.out or REPO_ROOT / "reports")
    s = report.summary
    keys = [c for c in s.columns if c not in ("cases", "seeds")]
    methods = {}
    for m in s.index:
        entry = {k: s.loc[m, k] for k in keys}
        entry["n_cases"] = int(s.loc[m, "cases"])
        if m in report.cost.index:
            entry["ms_per_outfit"] = float(report.cost.loc[m, "ms_per_outfit"])
            entry["sanity_item_top1_randomised"] = float(report.sanity.loc[m, "randomised model"])
        methods[m] = {k: (None if v != v else round(float(v), 4)) for k, v in entry.items()}
    cases = report.cases.values()
    summary = {"protocol": args.protocol, "seeds": list(args.seeds), "n_cases": report.n_cases,
               "n_unambiguous": sum(int(c.unambiguous.sum()) for c in cases),
               "cases_per_kind": {str(k): int(v) for k, v in report.per_case[report.per_case.method == "oracle"]
                                  .kind.value_counts().items()},
               "margin": args.margin, "random_expected": report.random_expected, "methods": methods, "files": paths,
               "seconds": round(report.seconds, 1), "peak_rss_mb": round(peak_rss_mb(), 1)}
    lines = [f"{args.protocol} protocol, scorer seeds {list(args.seeds)}: {summary['n_cases']} swap cases "
             f"({summary['n_unambiguous']} unambiguous), margin {args.margin}",
             headline(report).to_string(), f"written: {paths['csv']}, {paths['markdown']}"]
    return summary, lines


def _evaluate_pairs(args, wb) -> tuple:
    """``evaluate --pairs``: the pair test over scorer seeds (see :mod:`xfashion.evaluate.pairs`)."""
    sizes = {k: v for k, v in (("n_outfits", args.n_outfits), ("per_rule", args.per_kind)) if v is not None}
    report = run_pair_evaluation(wb, args.methods, seeds=args.seeds, margin=args.margin, progress=not args.json,
                                 **sizes)
    s = report.summary
    keys = [c for c in s.columns if c.startswith("clash_") and "unambiguous" not in c]
    methods = {m: {**{k: round(float(s.loc[m, k]), 4) for k in keys if s.loc[m, k] == s.loc[m, k]},
                   "n_cases": int(s.loc[m, "cases"]),
                   **({"ms_per_outfit": round(float(report.cost.loc[m, "ms_per_outfit"]), 3)}
                      if m in report.cost.index else {})} for m in s.index}
    summary = {"seeds": list(args.seeds), "n_cases": report.n_cases, "margin": args.margin,
               "cases_per_rule": {str(k): int(v) for k, v in report.per_case[report.per_case.method == "oracle"]
                                  .rule.value_counts().items()}, "methods": methods,
               "seconds": round(report.seconds, 1)}
    lines = [f"pair test, scorer seeds {list(args.seeds)}: {report.n_cases} cases that break exactly one pair rule",
             headline(report, "all", "pair test").to_string()]
    return summary, lines


def cmd_bench(args) -> tuple:
    wb = workbench(args.seed, progress=not args.json)
    # the three the comparison lines need, whichever methods are asked for
    methods = list(dict.fromkeys([*(args.methods or []), "ifiv", "input_x_gradient", "integrated_gradients"])) \
        if args.methods else None
    table = benchmark(wb, methods, n_outfits=args.n_outfits)
    ifiv, ixg = table.loc["ifiv", "seconds"], table.loc["input_x_gradient", "seconds"]
    summary = {"n_outfits": args.n_outfits, "forward_seconds": table.attrs["forward_seconds"],
               "ratio_to_forward": table["ratio_to_forward"].round(3).to_dict(),
               "ifiv_vs_input_x_gradient": round(ifiv / ixg, 3),
               "ig_vs_ifiv": round(table.loc["integrated_gradients", "seconds"] / ifiv, 1),
               "peak_rss_mb": round(peak_rss_mb(), 1)}
    lines = [f"one forward pass of {args.n_outfits} outfits: {1000 * summary['forward_seconds']:.2f} ms",
             table.round(3).to_string(),
             f"batched IFIV / Captum InputXGradient (grouped): {summary['ifiv_vs_input_x_gradient']:.2f}x; "
             f"IG (50 steps) / IFIV: {summary['ig_vs_ifiv']:.0f}x",
             f"peak resident memory: {summary['peak_rss_mb']:.0f} MiB"]
    return summary, lines


def cmd_polyvore(args) -> tuple:
    report = run_polyvore(args.root, args.version, backbone=args.backbone, image_size=args.image_size,
                          margin=args.margin, seed=args.seed, progress=not args.json)
    summary = {k: v for k, v in report.summary.items()}
    lines = [f"Polyvore Outfits ({args.version}) from {report.data.root}: {summary['n_items']} items, "
             f"{summary['unreadable_images']} unreadable images skipped, "
             f"{summary['images_per_second']:.1f} images/s{' (cached)' if summary['features_cached'] else ''}",
             report.metrics.round(3).to_string(),
             f"swap evaluation in feature space: {summary['n_swap_cases']} of {summary['n_swap_candidates']} "
             "swaps kept",
             report.detection.to_string() if len(report.detection) else f"no detection table: {summary['swap_note']}"]
    return summary, lines


def cmd_readme(args) -> tuple:
    result = collect(args.seed, progress=not args.json)
    out = REPO_ROOT / "build" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    path = write_readme(result)
    guide = write_timings(result)
    write_table(path, "notebooks")  # the chapters' tables, from the one table in xfashion/chapters.py
    if guide:
        write_table(guide, "objectives")
    return result, [f"results written to {out}; table in {path} updated"
                    + (f"; timings in {guide}" if guide else "")]


def cmd_tour(args) -> tuple:
    out = REPO_ROOT / "build" / ("" if args.data_seed is None else f"data-seed-{args.data_seed}")
    print(f"Executing the notebooks in order (fresh kernel each) into {out} ...", flush=True)
    done = run_tour(out, args.only, args.require_shipped, args.solutions, args.data_seed)
    return {"notebooks": dict(done)}, [f"Tour done: {len(done)} notebooks in {sum(t for _, t in done):.0f} s; "
                                       f"executed copies in {out}."]


def cmd_retrain(args) -> tuple:
    if args.check:
        problems = check_manifest()
        if problems:
            raise ValueError("the shipped weights no longer match the code:\n  " + "\n  ".join(problems))
        return {"problems": []}, ["data/weights/ matches the training code, sizes and designs"]
    if args.rekey:
        result = rekey(progress=not args.json)
        lines = [f"{old} -> {new}" for old, new in result["renamed"].items()]
        return result, [*lines, f"{len(lines)} shipped models re-keyed, none trained; manifest in "
                                "data/weights/manifest.json"]
    result = retrain(progress=not args.json)
    record = REPO_ROOT / "build" / "retrain.json"  # read by `make readme`
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps({"seconds": result["seconds"], "bytes": result["bytes"],
                                  "files": len(result["files"])}))
    lines = [f"{name}  {entry['stage']}  sha256 {entry['sha256'][:12]}" for name, entry in result["files"].items()]
    lines.append(f"{len(result['files'])} models ({result['bytes'] / 1e6:.1f} MB) trained from scratch in "
                 f"{result['seconds']:.0f} s; manifest in data/weights/manifest.json")
    return result, lines


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m xfashion", description=__doc__)
    parser.add_argument("--debug", action="store_true", help="show the full traceback when a command fails")
    sub = parser.add_subparsers(dest="command", required=True)
    # the options every stage shares, declared once
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--seed", type=seed_type, default=0, help="data seed (0 .. 2**32 - 1)")
    common.add_argument("--json", action="store_true", help="print one JSON object")
    margin = argparse.ArgumentParser(add_help=False)
    margin.add_argument("--margin", type=margin_type, default=0.5, help="least logit drop for a kept swap (>= 0)")

    def command(name, func, help_text, parents=(common,), **kwargs):
        p = sub.add_parser(name, help=help_text, parents=list(parents), **kwargs)
        p.set_defaults(func=func)
        return p

    command("prepare", cmd_prepare, "build the catalog and outfit splits, print a summary")
    command("features", cmd_features, "train or load the shape-texture CNN and extract item features")
    command("train", cmd_train, "train or load the outfit scorer and its baselines, print test metrics")
    p = command("explain", cmd_explain, "explain one test outfit's score",
                description="Explain one outfit. Methods: " + ", ".join(methods()) + "; pair methods (--pairs): "
                + ", ".join(methods("pairs")) + "; aliases: "
                + ", ".join(f"{a}={n}" for a, n in sorted(ALIASES.items()) if a != n))
    p.add_argument("--outfit", type=int, default=0, help="outfit index in the split (0 .. size - 1)")
    p.add_argument("--method", default=None, type=method_type,
                   help="attribution method or alias (see above; default ifiv, or second_order_ifiv with --pairs)")
    p.add_argument("--pairs", action="store_true", help="explain item pairs: which two items clash (a pair method)")
    p.add_argument("--target", default="logit", choices=["logit", "probability"])
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p = command("evaluate", cmd_evaluate, "run the swap evaluation; write reports/swap_evaluation.{csv,md}",
                parents=(common, margin))
    p.add_argument("--protocol", default="controlled", choices=["controlled", "paper"],
                   help="controlled: the swapped item is the unique culprit (default); paper: random swaps")
    p.add_argument("--seeds", type=seed_type, nargs="+", default=[0, 1, 2],
                   help="scorer seeds, each once (default 0 1 2)")
    p.add_argument("--n-outfits", type=positive_int, help="good outfits drawn per seed (default: per protocol)")
    p.add_argument("--per-kind", type=positive_int, help="cases kept per swap kind (default: per protocol)")
    p.add_argument("--out", type=out_folder, help="folder for the report files (default reports/)")
    p.add_argument("--methods", type=method_type, nargs="+",
                   help="the methods to evaluate (default: every registered one of the test's kind)")
    p.add_argument("--pairs", action="store_true",
                   help="the pair test instead: swaps that break exactly one pair rule, and which pair methods find "
                        "it (--per-kind: cases per pair rule)")
    p = command("book", cmd_book, "render the executed notebooks in build/ as static HTML in build/book/",
                parents=())
    p.add_argument("--src", default=str(REPO_ROOT / "build"), help="folder of executed notebooks (make tour)")
    p.add_argument("--out", default=None, help="output folder (default: SRC/book)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p = command("bench", cmd_bench, "time every method as a ratio to one forward pass")
    p.add_argument("--n-outfits", type=positive_int, default=512, help="outfits per batch (pixel methods: 32)")
    p.add_argument("--methods", type=method_type, nargs="+",
                   help="the methods to time (default: every item method; ifiv, input_x_gradient and "
                        "integrated_gradients always, for the comparison lines)")
    p = command("polyvore", cmd_polyvore, "the same pipeline on a local copy of Polyvore Outfits",
                parents=(common, margin))
    p.add_argument("--root", type=existing_folder,
                   help="dataset folder (default $XFASHION_POLYVORE or data/polyvore_outfits)")
    p.add_argument("--version", default="nondisjoint", choices=["nondisjoint", "disjoint"])
    p.add_argument("--backbone", default="efficientnet-lite0", choices=["efficientnet-lite0", "tiny"])
    p.add_argument("--image-size", type=image_size_type, default=224, help="backbone input side, 32-1024 pixels")
    p = command("retrain", cmd_retrain, "train every model the tour uses into data/weights/ (make retrain)", parents=())
    p.add_argument("--check", action="store_true", help="only check that data/weights/ matches the code")
    p.add_argument("--rekey", action="store_true",
                   help="ship the same weights under today's keys, training nothing (after code moved, not changed)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    command("readme", cmd_readme, "recompute the README's results table (run after the tour: uses its caches)")
    p = command("tour", cmd_tour, "execute every notebook in order into build/", parents=())
    p.add_argument("--only", nargs="*", help="run only notebooks whose name contains one of these")
    p.add_argument("--require-shipped", action="store_true", help="fail when a chapter trained an unshipped model")
    p.add_argument("--solutions", action="store_true", help="also each chapter's solutions, into build/solutions/")
    p.add_argument("--data-seed", type=seed_type, help="run every chapter on this data seed (into build/data-seed-S/)")
    return parser


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # also after the command name, where argparse would not take it
    argv = [a for a in argv if a != "--debug"]
    parser = build_parser()
    args = parser.parse_args(argv)
    if len(set(getattr(args, "seeds", None) or ())) < len(getattr(args, "seeds", None) or ()):
        parser.error(f"--seeds repeats a seed ({' '.join(map(str, args.seeds))}); give each seed once")
    # a laptop-sized memory budget: the CLI is our process, so it may tune the allocator (see the docstring)
    release_freed_memory()
    try:
        # every command returns (summary, lines); timing, quieting and printing happen here, once
        start = time.perf_counter()
        with _quiet(args):
            summary, lines = args.func(args)
        summary.setdefault("seconds", round(time.perf_counter() - start, 1))
        _emit(summary, getattr(args, "json", False), lines)
        return 0
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - one readable line for any failure; --debug shows the rest
        if debug:
            raise
        expected = isinstance(err, (ValueError, FileNotFoundError, ImportError, KeyError))
        text = str(err).strip() or type(err).__name__
        if not expected:
            text = f"{type(err).__name__}: {text}"
        print(f"error: {text}", file=sys.stderr)
        print(f"(rerun with --debug for the traceback: python -m xfashion --debug {' '.join(argv)})", file=sys.stderr)
        return 2
