"""Evaluating explanations (chapters 04-06): agreement, the swap test, metrics, sanity checks, cost.

``agreement`` runs many methods and compares them with the oracle and each other; ``swap``
builds swap-test cases for any dataset; ``metrics`` scores detections (each metric declares
its direction); ``sanity`` holds deletion curves and the randomised-model check; ``report``
runs the whole evaluation with a cache; ``bench`` measures cost against a forward pass.
"""
from .agreement import (
    PIXEL_CHUNK,
    concat_attributions,
    cost_table,
    explain_all,
    method_agreement,
    oracle_agreement,
    oracle_blame_tensor,
)
from .bench import benchmark
from .metrics import METRICS, Metric, bootstrap_ci, detection_scores, format_table, headline, random_expected, summarise
from .report import (
    SwapReport,
    at_margin,
    deletion_auc,
    results_table,
    run_swap_evaluation,
    write_report,
)
from .sanity import deletion_curve, randomised_copy
from .swap import SWAP_KINDS, SwapCases, build_swap_cases, check_margin, check_n, make_swap_cases, oracle_attribution

__all__ = [
    "METRICS", "PIXEL_CHUNK", "SWAP_KINDS", "Metric", "SwapCases", "SwapReport", "at_margin", "benchmark",
    "bootstrap_ci", "build_swap_cases", "check_margin", "check_n", "concat_attributions", "cost_table",
    "deletion_auc", "deletion_curve", "detection_scores", "explain_all", "format_table", "headline",
    "make_swap_cases", "method_agreement", "oracle_agreement", "oracle_attribution", "oracle_blame_tensor",
    "random_expected", "randomised_copy", "results_table", "run_swap_evaluation", "summarise", "write_report",
]
