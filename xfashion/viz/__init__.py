"""Figures and widgets for every chapter: ``xf.viz.plot_items(...)``, ``xf.viz.explanation_explorer(wb)``.

``outfits`` holds the figures of chapters 01-03, ``explanations`` the explanations of 04-09 and
``evaluation`` the evaluation's (05-07): pure
functions (data in, optional ``ax``, ``(fig, ax)`` or a figure out), with the plain view
functions the widgets call; ``widgets`` wraps those views in ipywidgets, so a headless run still
draws every figure.
"""
from .evaluation import (
    plot_accuracy_by,
    plot_accuracy_vs_cost,
    plot_agreement,
    plot_cost,
    plot_deletion_curves,
    plot_sanity,
)
from .explanations import (
    explain_view,
    plot_color_drivers,
    plot_explanation,
    plot_gradcam,
    plot_methods_panel,
    plot_pair_matrix,
    plot_photo_explanation,
    plot_repair,
    plot_swap_case,
)
from .items import negative_sentence as negative_sentence  # chapter 01's, with plot_busy
from .items import plot_busy as plot_busy
from .items import plot_embedding_map as plot_embedding_map  # chapter 02's map, beside its neighbour counts
from .items import probe_sentence as probe_sentence  # chapter 02's, with probe_table and tau_explorer
from .items import probe_table as probe_table
from .items import recolor_explorer
from .items import tau_explorer as tau_explorer
from .items import tau_view as tau_view
from .opaque import opaque_explorer as opaque_explorer  # chapter 09's (its figures: xf.viz.opaque)
from .outfits import (
    plot_color_histogram,
    plot_confusion,
    plot_dataset_stats,
    plot_history,
    plot_item_grid,
    plot_items,
    plot_neighbours,
    plot_palette,
    plot_recolor,
    plot_rule_examples,
    plot_score_distributions,
    plot_scored_outfits,
    recolor_view,
    score_outfit_view,
    show_outfit,
)
from .outfits import plot_outfits as plot_outfits  # chapter 01's before-and-after figure; not in __all__ (kept small)
from .ranking import metric_picker as metric_picker  # chapter 07's (ranking: its view)
from .widgets import browse_outfits, explanation_explorer, margin_explorer, outfit_builder
from .widgets import colour_path_explorer as colour_path_explorer  # chapter 04's; not in __all__ (kept small)
from .widgets import design_explorer as design_explorer  # chapter 07's worked exercise
from .widgets import ig_steps_explorer as ig_steps_explorer  # chapter 05's

__all__ = [
    # chapters 01-03
    "plot_item_grid", "plot_palette", "plot_recolor", "plot_items", "plot_rule_examples", "plot_dataset_stats",
    "show_outfit", "plot_color_histogram", "plot_history", "plot_confusion", "plot_embedding_map", "plot_neighbours",
    "recolor_view", "plot_score_distributions", "plot_scored_outfits", "score_outfit_view",
    # chapters 04-09
    "plot_explanation", "plot_methods_panel", "plot_gradcam", "plot_color_drivers", "plot_photo_explanation",
    "explain_view", "plot_agreement", "plot_cost", "plot_repair", "plot_swap_case", "plot_accuracy_by",
    "plot_accuracy_vs_cost", "plot_deletion_curves", "plot_sanity", "plot_pair_matrix",
    # widgets
    "browse_outfits", "recolor_explorer", "outfit_builder", "explanation_explorer", "margin_explorer",
]
