"""Evaluating explanations (chapters 04-06): agreement, the swap test, metrics, sanity checks, cost.

``agreement`` runs many methods and compares them with the oracle and each other; ``swap``
builds swap-test cases for any dataset; ``metrics`` scores detections (each metric declares
its direction); ``sanity`` holds deletion curves and the randomised-model check; ``report``
runs the whole evaluation with a cache over scorer seeds; ``design`` compares scorer designs on the
validation split; ``bench`` measures cost against a forward pass.
"""
from .agreement import (
    PIXEL_CHUNK,
    attribute_in_chunks,
    case_table,
    concat_attributions,
    cost_table,
    explain_all,
    method_agreement,
    oracle_agreement,
    oracle_blame_tensor,
    pick_case,
)
from .bench import benchmark
from .design import DESIGNS, design_study
from .metrics import (
    METRICS,
    Metric,
    bootstrap_ci,
    detection_scores,
    format_table,
    headline,
    random_expected,
    seed_summary,
    summarise,
)
from .report import (
    SwapReport,
    at_margin,
    compare_reports,
    deletion_auc,
    results_table,
    run_swap_evaluation,
    seed_scorer,
    spread,
    write_report,
)
from .sanity import deletion_curve, randomised_copy
from .swap import (
    PROTOCOLS,
    SWAP_KINDS,
    Oracle,
    SwapCases,
    build_swap_cases,
    check_margin,
    check_n,
    fashion_oracle,
    make_swap_cases,
    oracle_attribution,
)

__all__ = [
    "DESIGNS", "METRICS", "Metric", "Oracle", "PIXEL_CHUNK", "PROTOCOLS", "SWAP_KINDS", "SwapCases", "SwapReport",
    "at_margin", "attribute_in_chunks", "benchmark", "bootstrap_ci", "build_swap_cases", "case_table", "check_margin",
    "check_n", "compare_reports", "concat_attributions", "cost_table", "deletion_auc", "deletion_curve",
    "design_study", "detection_scores", "explain_all", "fashion_oracle", "format_table", "headline",
    "make_swap_cases", "method_agreement", "oracle_agreement", "oracle_attribution", "oracle_blame_tensor",
    "pick_case", "random_expected", "randomised_copy", "results_table", "run_swap_evaluation", "seed_scorer",
    "seed_summary", "spread", "summarise", "write_report",
]
