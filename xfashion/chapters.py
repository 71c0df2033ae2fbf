"""The chapters, declared once: the book's titles and contents, the README's table of notebooks and the
course guide's learning objectives are all made from :data:`CHAPTERS` (``make readme`` writes the two
tables; a test checks they match), and the exercises' numbers must name a chapter of it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Chapter:
    """One notebook of the tour.

    Attributes
    ----------
    name : str
        The notebook's file name without ``.ipynb`` (``01_data_preparation``); its first two
        characters are its number.
    title : str
        The book's title.
    teaches : str
        The book's one line on the contents page.
    covers : str
        What it teaches, for the README's table of notebooks.
    objective : str
        The course guide's "after it, a student can ..." (learning objective).
    """

    name: str
    title: str
    teaches: str
    covers: str
    objective: str

    @property
    def number(self) -> str:
        return self.name[:2]


CHAPTERS = (
    Chapter("01_data_preparation", "Data preparation",
            "Real product images, a palette, a stylist with known rules, and outfits labelled by it.",
            "real images, the palette and colour rendering, the stylist's rules (ground truth), outfit sampling "
            "and splits",
            "explain how labels come from a stylist with known rules, and why known rules make explanations "
            "checkable"),
    Chapter("02_feature_extraction", "Feature extraction",
            "Human-interpretable feature groups: a colour histogram and a colour-blind shape-texture CNN.",
            "interpretable feature groups: a named colour histogram and a colour-blind shape-texture CNN",
            "describe human-interpretable feature groups (colour histogram, colour-blind shape-texture CNN) and "
            "test a group's invariance"),
    Chapter("03_model_training", "Training the outfit scorer",
            "A permutation-invariant pairwise scorer, its AUC and fill-in-the-blank accuracy, and what it misses.",
            "a permutation-invariant set scorer with pairwise interactions, its metrics (AUC, FITB) against "
            "baselines, the pixel wrapper",
            "train a permutation-invariant pairwise scorer, read AUC and fill-in-the-blank accuracy, and find what "
            "the model misses per rule"),
    Chapter("04_ifiv_explanations", "IFIV explanations",
            "IFIV by hand and by the package: which item, and which feature of it, pulls an outfit down; repairs.",
            "IFIV by hand on an example chosen by rule, a failure and why (zero reference, saturation), the colour "
            "group opened, checked against the oracle, an interactive explorer, outfit repair",
            "compute IFIV (grouped gradient x input) by hand and with the package, read item and item-feature "
            "values, explain when a zero reference and a saturated score mislead, tell contribution from "
            "sensitivity inside a group, and turn a culprit into a repair"),
    Chapter("05_captum_baselines", "Captum baselines",
            "Integrated Gradients, DeepLift, Grad-CAM, ablation and Shapley values next to IFIV, and their cost.",
            "Captum's methods (IG, DeepLift, GradientShap, ablation, Shapley, Grad-CAM, ...) on the same outfits: "
            "identity, agreement, cost",
            "call Captum's Integrated Gradients, Grad-CAM and feature ablation, and compare methods on agreement "
            "with the truth and on cost"),
    Chapter("06_swap_test", "The swap test",
            "A label-free benchmark with ground truth, built by hand and then at scale over scorer seeds and "
            "protocols.",
            "the swap test with ground truth: one case built by hand, then the controlled protocol (the swapped "
            "item is the unique culprit) over three scorer seeds next to the paper's, by kind and slot, a sanity "
            "check",
            "build one swap case by hand and a label-free benchmark with ground truth from it, compare methods "
            "over scorer seeds with intervals, and read a sanity check"),
    Chapter("07_which_explainer", "Which explainer? When metrics disagree",
            "Quantus's faithfulness, randomisation and complexity metrics beside the swap test; why rankings "
            "disagree.",
            "when metrics disagree: Quantus's faithfulness correlation, pixel flipping, monotonicity, MPRT and "
            "sparseness at the (item, group) level beside the swap test; rankings per metric with ties; what the "
            "mean reference does to removal metrics; cost; a scorer design study as a worked exercise",
            "apply Quantus's faithfulness, randomisation and complexity metrics at the level of (item, group) "
            "cells, explain why they rank explainers differently from the swap test, and (exercise 07.1) choose a "
            "scorer design by a criterion that names no explainer"),
    Chapter("08_which_two_items_clash", "Which two items clash?",
            "Pair explanations (second-order IFIV, removal, Shapley interactions, Integrated Hessians) against "
            "the stylist.",
            "pair explanations: which two items clash, by second-order IFIV (by hand, then the package), "
            "interaction by removal, the Shapley interaction index (shapiq) and Integrated Hessians, checked "
            "against the stylist's faulted pairs by a pair swap test over three scorer seeds; why the scorer's "
            "design decides",
            "explain which two items clash (second-order IFIV, removal, Shapley interactions, Integrated "
            "Hessians) and check pair explanations against the stylist's faulted pairs"),
    Chapter("09_what_features_buy", "What human-interpretable features buy",
            "The same scorer on an opaque pretrained embedding: the swap test still finds the item, the "
            "explanation can no longer say why.",
            "the finale: the book's scorer on EfficientNet-Lite0's embedding of the same items next to the "
            "interpretable one, on the same outfits and swap cases: item top-1 against chance, the stylist's "
            "group named or not, dimensions named after the fact, what the book showed; Polyvore Outfits for "
            "readers with the data",
            "explain what named feature groups buy over an opaque pretrained embedding (which item vs why), "
            "measure it against the stylist, and say why naming an embedding's dimensions afterwards falls short"),
)

_BLOCK = "<!-- chapters:{kind} (python -m xfashion readme writes this table from xfashion/chapters.py) -->"


def chapter(key: str) -> Chapter:
    """The chapter of a number (``"06"``) or notebook name; anything else is a ValueError listing them."""
    for c in CHAPTERS:
        if key in (c.number, c.name, f"{c.name}.ipynb"):
            return c
    raise ValueError(f"Unknown chapter {key!r}; the chapters are {[c.name for c in CHAPTERS]}.")


def markdown_table(kind: str) -> str:
    """The README's table of notebooks (``kind="notebooks"``) or the course guide's objectives (``"objectives"``)."""
    if kind == "notebooks":
        rows = ["| notebook | what it teaches |", "| --- | --- |"] + [f"| `{c.name}` | {c.covers} |" for c in CHAPTERS]
    elif kind == "objectives":
        rows = ["| chapter | after it, a student can |", "| --- | --- |"] + \
            [f"| {c.number} {c.title} | {c.objective} |" for c in CHAPTERS]
    else:
        raise ValueError(f"Unknown table {kind!r}; use 'notebooks' or 'objectives'.")
    return "\n".join(rows)


def table_block(text: str, kind: str) -> str | None:
    """The table ``kind`` as it stands in ``text`` (between its markers), or None where there are no markers."""
    begin, end = _BLOCK.format(kind=f"{kind}:begin"), _BLOCK.format(kind=f"{kind}:end")
    found = re.search(re.escape(begin) + r"\n(.*?)\n" + re.escape(end), text, re.S)
    return found.group(1) if found else None


def write_table(path: str | Path, kind: str) -> Path:
    """Rewrite the table ``kind`` of the Markdown file ``path`` from :data:`CHAPTERS`."""
    path = Path(path)
    text = path.read_text()
    if table_block(text, kind) is None:
        raise ValueError(f"{path} has no {kind} table; add the lines {_BLOCK.format(kind=f'{kind}:begin')!r} "
                         f"and {_BLOCK.format(kind=f'{kind}:end')!r} where it goes.")
    begin, end = _BLOCK.format(kind=f"{kind}:begin"), _BLOCK.format(kind=f"{kind}:end")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    path.write_text(head + begin + "\n" + markdown_table(kind) + "\n" + end + tail)
    return path
