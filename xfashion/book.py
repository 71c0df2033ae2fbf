"""The rendered book: the executed notebooks as static HTML pages with an index (``make book``).

Readers who do not run anything still see every figure: nbconvert's HTML exporter embeds the
outputs (images as data URIs) of the notebooks that ``make tour`` executed into ``build/``.
Widget cells keep their text form; the cell after each explorer draws the same view statically.
The maths renders offline with a copy of MathJax in ``book/mathjax``.
"""
from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from .utils import REPO_ROOT

# (notebook, title, what it teaches)
CHAPTERS = [
    ("01_data_preparation", "Data preparation",
     "Real product images, a palette, a stylist with known rules, and outfits labelled by it."),
    ("02_feature_extraction", "Feature extraction",
     "Human-interpretable feature groups: a colour histogram and a colour-blind shape-texture CNN."),
    ("03_model_training", "Training the outfit scorer",
     "A permutation-invariant pairwise scorer, its AUC and fill-in-the-blank accuracy, and what it misses."),
    ("04_ifiv_explanations", "IFIV explanations",
     "IFIV by hand and by the package: which item, and which feature of it, pulls an outfit down; repairs."),
    ("05_captum_baselines", "Captum baselines",
     "Integrated Gradients, DeepLift, Grad-CAM, ablation and Shapley values next to IFIV, and their cost."),
    ("06_swap_test", "The swap test",
     "A label-free benchmark with ground truth, built by hand and then at scale over scorer seeds and protocols."),
    ("07_which_explainer", "Which explainer? When metrics disagree",
     "Quantus's faithfulness, randomisation and complexity metrics beside the swap test; a design chosen by AUC."),
    ("08_which_two_items_clash", "Which two items clash?",
     "Pair explanations (second-order IFIV, removal, Shapley interactions, Integrated Hessians) against the stylist."),
    ("09_real_polyvore", "Real outfits: Polyvore",
     "The same pipeline on photos of real outfits (or a tiny offline fixture)."),
]


def _nav(k: int, names: list) -> str:
    parts = ["[Contents](index.html)"]
    if k > 0:
        parts.insert(0, f"← [{CHAPTERS[k - 1][1]}]({names[k - 1]}.html)")
    if k < len(names) - 1:
        parts.append(f"[{CHAPTERS[k + 1][1]}]({names[k + 1]}.html) →")
    return " · ".join(parts)


def _offline_mathjax(out: Path) -> str:
    """Copy MathJax beside the book and return the URL its pages load it from.

    nbconvert points MathJax at a CDN, which a classroom without internet cannot reach: the maths
    would show as raw TeX. PyPI's ``jupyter-server-mathjax`` ships MathJax 2's files; they are found
    without importing the package (a Jupyter server extension) and copied into ``out/mathjax``.
    """
    spec = importlib.util.find_spec("jupyter_server_mathjax")
    static = Path(next(iter(spec.submodule_search_locations))) / "static" if spec else None
    if static is None or not (static / "MathJax.js").is_file():
        raise ImportError("The book renders its maths with MathJax from the package jupyter-server-mathjax, which "
                          "is missing: run `make install` (or pip install jupyter-server-mathjax).")
    shutil.copytree(static, out / "mathjax", dirs_exist_ok=True)
    return "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"


def build_book(src: str | Path = REPO_ROOT / "build", out: str | Path | None = None) -> Path:
    """Render every executed notebook found in ``src`` into ``out`` (default ``src/book``); returns the index.

    Raises
    ------
    FileNotFoundError
        When ``src`` holds none of the chapters (run ``make tour`` first).
    """

    src = Path(src)
    out = Path(out) if out is not None else src / "book"
    present = [c for c in CHAPTERS if (src / f"{c[0]}.ipynb").is_file()]
    if not present:
        raise FileNotFoundError(f"No executed chapter in {src}: run `make tour` first (it writes them there).")
    out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name="lab", mathjax_url=_offline_mathjax(out))
    names = [c[0] for c in CHAPTERS]
    for name, title, _ in present:
        k = names.index(name)
        nb = nbformat.read(src / f"{name}.ipynb", as_version=4)
        nav = _nav(k, names)
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(nav))
        nb.cells.append(nbformat.v4.new_markdown_cell(nav))
        body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": f"{k + 1:02d} · {title}"}})
        (out / f"{name}.html").write_text(body, encoding="utf-8")
    lines = ["# xfashion: explainable outfit scoring", "",
             f"A tutorial in {len(CHAPTERS)} chapters, after Tangseng & Okatani, *Toward Explainable Fashion "
             "Recommendation* (WACV 2020). Read them in order; every page shows the outputs of one run of "
             "`make tour`.", ""]
    for k, (name, title, teaches) in enumerate(CHAPTERS):
        link = f"[{k + 1:02d} · {title}]({name}.html)" if name in [c[0] for c in present] else \
            f"{k + 1:02d} · {title} (not executed)"
        lines.append(f"{k + 1}. **{link}**: {teaches}")
    index = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("\n".join(lines))])
    body, _ = exporter.from_notebook_node(index, resources={"metadata": {"name": "xfashion"}})
    (out / "index.html").write_text(body, encoding="utf-8")
    return out / "index.html"
