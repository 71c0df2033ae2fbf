"""xfashion: explainable outfit scoring (after Tangseng & Okatani, WACV 2020).

One flat public API: notebooks import names from here only.
"""
from .data import (CATEGORIES, CATEGORY_SLOT, COLOUR_NAMES, PALETTE, SLOTS, Catalog, Colour, FashionMNIST,
                   build_catalog, category_index, colour_index, load_fashion_mnist, read_idx, render,
                   texture_score, to_display)
from .outfits import (MAX_ITEMS, TEMPLATES, OutfitBatch, OutfitSet, check_outfit, make_batch, make_splits,
                      outfit_blame, outfit_violations, rule_counts, sample_outfits)
from .features import (DEFAULT_GROUPS, ColorHistogram, FeatureExtractor, FeatureGroup, FeatureGroups, ItemFeatures,
                       ShapeTextureCNN, colour_invariance, colour_normalised_grey, extract_features, rgb_to_lab,
                       train_shape_cnn)
from .evaluate import (METRIC_DIRECTION, SWAP_KINDS, SwapCases, SwapReport, at_margin, benchmark, bootstrap_ci,
                       build_swap_cases, cost_table, deletion_auc, deletion_curve, detection_scores, explain_all,
                       headline, method_agreement, oracle_agreement, oracle_attribution, oracle_blame_tensor,
                       random_expected, randomised_copy, results_table, run_swap_evaluation, summarise, write_report)
from .explain import (IFIV, METHODS, Attribution, Explainer, GroupForward, Traits, attribute, dataset_means,
                      exact_shapley_values, get_method, ifiv, method_class, methods, reference_outfits, register,
                      unregister, with_images)
from .pipeline import fashion_mnist, fitb, item_features, prepare, prepare_summary, trained_scorer, Workbench, workbench
from .scorer import (MeanPoolScorer, PairwiseSetScorer, PixelScorer, RandomScorer, TrainResult, check_batch,
                     evaluate_scorer, feature_batch, fitb_accuracy, fitb_questions, metrics_table, outfit_features,
                     per_rule_table, roc_auc, score, score_outfit, train_scorer)
from .plots import (margin_explorer, plot_accuracy_by, plot_accuracy_vs_cost, plot_deletion_curves, plot_sanity,
                    plot_swap_case, plot_agreement, plot_cost, plot_repair, browse_outfits, explain_view, explanation_explorer, plot_attribution_heatmap, plot_color_drivers,
                    plot_explanation, plot_gradcam, plot_methods_panel, busy_examples, embedding_map, nearest_neighbours, plot_color_histogram,
                    plot_confusion, plot_dataset_stats, plot_embedding_map, plot_history, plot_item_grid, plot_items,
                    plot_neighbours, plot_outfit, plot_palette, plot_recolour, plot_rule_examples, plot_score_distributions,
                    plot_scored_outfits, outfit_builder, recolour_explorer, recolour_view, rule_examples,
                    score_outfit_view, show_outfit)
from .polyvore import (PUBLISHED, PolyvoreData, PolyvoreReport, extract_photo_features, load_backbone, load_polyvore,
                       default_backbone, make_fixture, polyvore_root, polyvore_source, run_polyvore)
from .repair import repair_success, suggest_repairs
from .rules import DEFAULT_RULES, GROUPS, StylistRules, Violation, blame, is_good, violations
from .utils import release_freed_memory, set_seed, small_mode

# a laptop-sized memory budget (2 GB) needs freed PyTorch buffers handed back to the OS: see the docstring
release_freed_memory()

__version__ = "0.1.0"
