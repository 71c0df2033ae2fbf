"""Evaluating explanations (chapters 04-07): agreement, the swap test, metrics, sanity checks, cost.

``agreement`` runs many methods and compares them with the oracle and each other; ``swap``
builds swap-test cases for any dataset; ``metrics`` scores detections (each metric declares
its direction); ``sanity`` holds the randomised-model check; ``report``
runs the whole evaluation with a cache over scorer seeds; ``design`` compares scorer designs on the
validation split; ``ranking`` ranks explainers under several metrics with ties
within noise; ``bench`` measures cost against a forward pass. ``__all__`` lists what the
chapters call; the building blocks stay importable from their modules
(``xfashion.evaluate.swap.build_swap_cases``, ``xfashion.evaluate.metrics.bootstrap_ci``).
"""
from . import families as families  # chapter 05: method families side by side; not in __all__
from . import findings as findings  # chapters 06 and 08: what the run finds, in numbers and sentences
from . import ranking as ranking  # chapter 07's rankings: xf.evaluate.ranking; not in __all__
from .agreement import (
    case_table,
    cost_table,
    explain_all,
    method_agreement,
    oracle_agreement,
    oracle_blame_tensor,
    pick_case,
)
from .bench import benchmark as benchmark  # the `bench` command's; kept off the curated surface
from .design import DESIGNS, design_study, design_table
from .metrics import format_table, headline
from .report import at_margin, compare_reports, results_table, run_swap_evaluation
from .sentences import culprit_sentence as culprit_sentence  # chapter 04's sentences; not in __all__ (kept small)
from .sentences import describe_violation as describe_violation

__all__ = [
    "DESIGNS", "at_margin", "case_table", "compare_reports", "cost_table", "design_study", "explain_all",
    "design_table", "format_table", "headline", "method_agreement", "oracle_agreement", "oracle_blame_tensor",
    "pick_case", "results_table", "run_swap_evaluation",
]
