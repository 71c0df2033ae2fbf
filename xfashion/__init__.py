"""xfashion: explainable outfit scoring (after Tangseng & Okatani, WACV 2020).

The curated public API (``__all__``): what the notebooks and users call. Figures and widgets
live in the :mod:`xfashion.viz` namespace (``xf.viz.plot_items``); everything else stays
importable from its module, e.g. ``xfashion.evaluate.bootstrap_ci``. Modules in chapter order:
``data``, ``rules`` and ``outfits`` (01), ``features`` (02), ``scorer`` (03), ``explain`` (04-05),
``repair`` (04), ``evaluate`` (04-06), ``polyvore`` (07), ``viz`` (all), and ``pipeline``,
``cli``, ``tour``, ``results`` wiring the stages together.
"""

from . import evaluate, explain, features, polyvore, viz
from .data import (
    CATEGORIES,
    CATEGORY_SLOT,
    COLOR_NAMES,
    SLOTS,
    Catalog,
    build_catalog,
    busy_examples,
    color_index,
    load_fashion_mnist,
    render,
)
from .evaluate import (
    at_margin,
    benchmark,
    case_table,
    cost_table,
    design_study,
    explain_all,
    format_table,
    headline,
    method_agreement,
    oracle_agreement,
    oracle_blame_tensor,
    results_table,
    run_swap_evaluation,
)
from .explain import (
    Attribution,
    Explainer,
    Traits,
    attribute,
    dataset_means,
    get_method,
    methods,
    reference_outfits,
    register,
    unregister,
)
from .features import DEFAULT_GROUPS, ColorHistogram, FeatureGroup, color_invariance, extract_features
from .outfits import MAX_ITEMS, OutfitBatch, make_batch, make_splits, rule_counts, sample_outfits
from .pipeline import Workbench, fitb, item_features, prepare, prepare_summary, trained_scorer, workbench
from .polyvore import default_backbone, load_polyvore, polyvore_source, run_polyvore
from .repair import repair_success, suggest_repairs
from .rules import DEFAULT_RULES, StylistRules, violations
from .scorer import (
    PixelScorer,
    RandomScorer,
    evaluate_scorer,
    feature_batch,
    metrics_table,
    per_rule_table,
    score,
    train_scorer,
)
from .utils import claim, release_freed_memory, set_seed, small_mode

# a laptop-sized memory budget (2 GB) needs freed PyTorch buffers handed back to the OS: see the docstring
release_freed_memory()

__version__ = "0.1.0"

__all__ = [
    # data, stylist and outfits (chapter 01)
    "CATEGORIES", "CATEGORY_SLOT", "COLOR_NAMES", "SLOTS", "Catalog", "build_catalog", "busy_examples",
    "color_index", "load_fashion_mnist", "render", "DEFAULT_RULES", "StylistRules", "violations", "MAX_ITEMS",
    "OutfitBatch", "make_batch", "make_splits", "rule_counts", "sample_outfits",
    # features (02)
    "DEFAULT_GROUPS", "ColorHistogram", "FeatureGroup", "color_invariance", "extract_features",
    # scorer (03)
    "PixelScorer", "RandomScorer", "evaluate_scorer", "feature_batch", "metrics_table", "per_rule_table", "score",
    "train_scorer",
    # the stages wired together
    "Workbench", "fitb", "item_features", "prepare", "prepare_summary", "trained_scorer", "workbench",
    # explanations (04-05)
    "Attribution", "Explainer", "Traits", "attribute", "dataset_means", "get_method", "methods",
    "reference_outfits", "register", "unregister", "repair_success", "suggest_repairs",
    # evaluation (04-06)
    "at_margin", "benchmark", "case_table", "cost_table", "design_study", "explain_all", "format_table", "headline",
    "method_agreement", "oracle_agreement", "oracle_blame_tensor", "results_table", "run_swap_evaluation",
    # Polyvore (07)
    "default_backbone", "load_polyvore", "polyvore_source", "run_polyvore",
    # helpers and namespaces
    "claim", "set_seed", "small_mode", "evaluate", "explain", "features", "polyvore", "viz",
]
