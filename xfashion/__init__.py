"""xfashion: explainable outfit scoring (after Tangseng & Okatani, WACV 2020).

The curated public API is ``__all__`` here plus the ``__all__`` of the three namespaces it
lists: :mod:`xfashion.explain` (methods and their registry), :mod:`xfashion.evaluate`
(checking explanations) and :mod:`xfashion.viz` (figures and widgets). Each name is listed
once, in one place. Everything else stays importable from its module (``xf.data.color_index``,
``xf.analysis.top_confusions``, ``xf.polyvore.run_polyvore``). Modules in chapter order: ``data``,
``groups``, ``rules`` and ``outfits`` (01), ``cnn``, ``features`` and ``analysis`` (02), ``scorer``
(03), ``explain`` (04-05), ``repair`` (04), ``evaluate`` (04-07), ``polyvore`` (08), ``viz``
(all), and ``pipeline``, ``cli``, ``tour``, ``results`` wiring the stages together.

Importing the package changes nothing outside it: no seed is set and no allocator setting is
touched (the tour and the CLI call :func:`xfashion.utils.release_freed_memory` themselves).
The namespaces ``viz``, ``evaluate``, ``analysis``, ``polyvore`` and ``exercises`` load at first use,
and Captum with the first explanation.
"""

import importlib as _importlib

# the modules a reader reaches through xf.<module>.<name> (redundant aliases mark them as re-exported)
from . import cnn as cnn
from . import data as data
from . import explain
from . import features as features
from . import groups as groups
from . import outfits as outfits
from . import pipeline as pipeline
from . import scorer as scorer
from . import training as training
from .data import CATEGORIES, COLOR_NAMES, SLOTS, build_catalog, load_fashion_mnist
from .explain import attribute
from .features import DEFAULT_GROUPS, ColorHistogram, extract_features
from .groups import FeatureGroup
from .outfits import make_batch, make_splits, sample_outfits
from .pipeline import fitb, item_features, prepare, prepare_summary, trained_scorer, workbench
from .repair import repair_success, suggest_repairs
from .rules import DEFAULT_RULES, StylistRules
from .scorer import PixelScorer, feature_batch, score
from .training import RandomScorer, evaluate_scorer, metrics_table, per_rule_table, train_scorer
from .utils import claim, say, set_seed, small_mode

__version__ = "0.1.0"

# loaded at first use (xf.viz.<name>, xf.evaluate.<name>, ...): seaborn, scipy, Quantus, ipywidgets and PIL
# cost about a second that a script which only scores outfits should not pay (`python -X importtime`)
_LAZY = ("analysis", "evaluate", "exercises", "polyvore", "viz")


def __getattr__(name: str):
    if name in _LAZY:
        module = _importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'xfashion' has no attribute {name!r}")


def __dir__() -> list:
    return sorted({*globals(), *_LAZY})

__all__ = [
    # data, stylist and outfits (chapter 01)
    "CATEGORIES", "COLOR_NAMES", "SLOTS", "build_catalog", "load_fashion_mnist", "DEFAULT_RULES", "StylistRules",
    "make_batch", "make_splits", "sample_outfits",
    # features (02)
    "DEFAULT_GROUPS", "ColorHistogram", "FeatureGroup", "extract_features",
    # scorer (03)
    "PixelScorer", "RandomScorer", "evaluate_scorer", "feature_batch", "metrics_table", "per_rule_table", "score",
    "train_scorer",
    # the stages wired together
    "fitb", "item_features", "prepare", "prepare_summary", "trained_scorer", "workbench",
    # explanations (04-05): the one call here, the methods and their registry in xf.explain
    "attribute", "repair_success", "suggest_repairs",
    # helpers
    "claim", "say", "set_seed", "small_mode",
    # namespaces, each with its own __all__
    "evaluate", "explain", "viz",
]
