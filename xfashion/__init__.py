"""xfashion: explainable outfit scoring (after Tangseng & Okatani, WACV 2020).

The curated public API: what the notebooks and users call (``__all__``). Everything else stays
importable from its module, e.g. ``xfashion.evaluate.bootstrap_ci``. Modules in chapter order:
``data`` and ``rules``/``outfits`` (01), ``features`` (02), ``scorer`` (03), ``explain`` (04-05),
``evaluate`` and ``repair`` (04-06), ``plots`` (all), ``polyvore`` (07), ``pipeline``/``cli``/``tour``
(the stages wired together).
"""

from .data import (
    CATEGORIES,
    CATEGORY_SLOT,
    COLOR_NAMES,
    SLOTS,
    Catalog,
    build_catalog,
    busy_examples,
    category_index,
    color_index,
    load_fashion_mnist,
    render,
)
from .evaluate import (
    SWAP_KINDS,
    at_margin,
    benchmark,
    build_swap_cases,
    cost_table,
    explain_all,
    headline,
    method_agreement,
    oracle_agreement,
    oracle_blame_tensor,
    results_table,
    run_swap_evaluation,
)
from .explain import (
    IFIV,
    METHODS,
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
    with_images,
)
from .features import (
    DEFAULT_GROUPS,
    ColorHistogram,
    FeatureGroup,
    FeatureGroups,
    ItemFeatures,
    color_invariance,
    extract_features,
    nearest_neighbours,
    train_shape_cnn,
)
from .outfits import MAX_ITEMS, OutfitBatch, make_batch, make_splits, outfit_violations, rule_counts, sample_outfits
from .pipeline import Workbench, fitb, item_features, prepare, prepare_summary, trained_scorer, workbench
from .plots import (
    explain_view,
    plot_accuracy_by,
    plot_accuracy_vs_cost,
    plot_agreement,
    plot_color_drivers,
    plot_color_histogram,
    plot_confusion,
    plot_cost,
    plot_dataset_stats,
    plot_deletion_curves,
    plot_embedding_map,
    plot_explanation,
    plot_gradcam,
    plot_history,
    plot_item_grid,
    plot_items,
    plot_methods_panel,
    plot_neighbours,
    plot_palette,
    plot_recolor,
    plot_repair,
    plot_rule_examples,
    plot_sanity,
    plot_score_distributions,
    plot_scored_outfits,
    plot_swap_case,
    recolor_view,
    score_outfit_view,
    show_outfit,
)
from .polyvore import default_backbone, load_polyvore, polyvore_source, run_polyvore
from .repair import repair_success, suggest_repairs
from .rules import DEFAULT_RULES, StylistRules, is_good, violations
from .scorer import (
    PixelScorer,
    RandomScorer,
    evaluate_scorer,
    feature_batch,
    metrics_table,
    outfit_features,
    per_rule_table,
    score,
    score_outfit,
    train_scorer,
)
from .utils import release_freed_memory, set_seed, small_mode
from .widgets import (
    browse_outfits,
    explanation_explorer,
    margin_explorer,
    outfit_builder,
    recolor_explorer,
)

# a laptop-sized memory budget (2 GB) needs freed PyTorch buffers handed back to the OS: see the docstring
release_freed_memory()

__version__ = "0.1.0"

__all__ = [
    "Attribution", "CATEGORIES", "CATEGORY_SLOT", "COLOR_NAMES", "Catalog", "ColorHistogram", "DEFAULT_GROUPS",
    "DEFAULT_RULES", "Explainer", "FeatureGroup", "FeatureGroups", "IFIV", "ItemFeatures", "MAX_ITEMS", "METHODS",
    "OutfitBatch", "PixelScorer", "RandomScorer", "SLOTS", "SWAP_KINDS", "StylistRules", "Traits", "Workbench",
    "at_margin", "attribute", "benchmark", "browse_outfits", "build_catalog", "build_swap_cases", "busy_examples",
    "category_index", "color_index", "color_invariance", "cost_table", "dataset_means", "default_backbone",
    "evaluate_scorer", "explain_all", "explain_view", "explanation_explorer", "extract_features", "feature_batch",
    "fitb", "get_method", "headline", "is_good", "item_features", "load_fashion_mnist", "load_polyvore",
    "make_batch", "make_splits", "margin_explorer", "method_agreement", "methods", "metrics_table",
    "nearest_neighbours", "oracle_agreement", "oracle_blame_tensor", "outfit_builder", "outfit_features",
    "outfit_violations", "per_rule_table", "plot_accuracy_by", "plot_accuracy_vs_cost", "plot_agreement",
    "plot_color_drivers", "plot_color_histogram", "plot_confusion", "plot_cost", "plot_dataset_stats",
    "plot_deletion_curves", "plot_embedding_map", "plot_explanation", "plot_gradcam", "plot_history",
    "plot_item_grid", "plot_items", "plot_methods_panel", "plot_neighbours", "plot_palette", "plot_recolor",
    "plot_repair", "plot_rule_examples", "plot_sanity", "plot_score_distributions", "plot_scored_outfits",
    "plot_swap_case", "polyvore_source", "prepare", "prepare_summary", "recolor_explorer", "recolor_view",
    "reference_outfits", "register", "release_freed_memory", "render", "repair_success", "results_table",
    "rule_counts", "run_polyvore", "run_swap_evaluation", "sample_outfits", "score", "score_outfit",
    "score_outfit_view", "set_seed", "show_outfit", "small_mode", "suggest_repairs", "train_scorer",
    "train_shape_cnn", "trained_scorer", "unregister", "violations", "with_images", "workbench"
]
