"""The rendered book: the executed notebooks as static HTML pages with an index (``make book``).

Readers who do not run anything still see every figure: nbconvert's HTML exporter embeds the
outputs (images as data URIs) of the notebooks that ``make tour`` executed into ``build/``.
Widget cells keep their text form; the cell after each explorer draws the same view statically.
The maths renders offline with a copy of MathJax in ``book/mathjax``.
"""
from __future__ import annotations

import importlib.util
import re
import shutil
import unicodedata
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from .chapters import CHAPTERS
from .tour import SOLUTIONS  # the tour writes build/solutions/; the book mirrors it as book/solutions/
from .utils import REPO_ROOT


def _nav(k: int, names: list, solutions: bool = False) -> str:
    """Links to the previous and next chapter, the contents, and the chapter's solutions page."""
    parts = ["[Contents](index.html)"]
    if k > 0:
        parts.insert(0, f"← [{CHAPTERS[k - 1].title}]({names[k - 1]}.html)")
    if solutions:
        parts.append(f"[Solutions to the exercises]({SOLUTIONS}/{names[k]}.html)")
    if k < len(names) - 1:
        parts.append(f"[{CHAPTERS[k + 1].title}]({names[k + 1]}.html) →")
    return " · ".join(parts)


def references(nb) -> list:
    """The entries of a notebook's ``## References`` section (one per bullet, continuation lines joined)."""
    entries = []
    for cell in nb.cells:
        if cell.cell_type != "markdown" or "## References" not in cell.source:
            continue
        for line in cell.source.split("## References", 1)[1].splitlines():
            if re.match(r"\s*[*-] ", line):
                entries.append(line.strip()[2:].strip())
            elif line.startswith("  ") and entries:
                entries[-1] += " " + line.strip()
    return entries


def bibliography(notebooks: dict) -> list:
    """Every work the chapters cite, once, by first author: ``[(entry, [chapter numbers]), ...]``.

    Raises
    ------
    ValueError
        When two chapters spell the same work (first author and year) differently.
    """
    cited, spelled = {}, {}
    for number, nb in notebooks.items():
        for entry in references(nb):
            key = entry.split("(", 1)[0].split(",")[0].strip(), re.search(r"\((\d{4})\)", entry)
            key = (key[0], key[1].group(1) if key[1] else "")
            if spelled.setdefault(key, entry) != entry:
                raise ValueError(f"Chapter {number} cites {key[0]} ({key[1]}) as\n  {entry}\nbut another chapter as"
                                 f"\n  {spelled[key]}\nspell it the same way everywhere.")
            cited.setdefault(entry, []).append(number)
    return sorted(cited.items(), key=lambda item: unicodedata.normalize("NFKD", item[0]).casefold())


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

    Chapters come from ``src/NN_*.ipynb``, their executed solutions from ``src/solutions/`` (``make
    tour`` writes both); each solution page follows its chapter. A bibliography page gathers the works
    the chapters cite.

    Raises
    ------
    FileNotFoundError
        When ``src`` holds none of the chapters (run ``make tour`` first).
    """
    src = Path(src)
    out = Path(out) if out is not None else src / "book"
    present = [c for c in CHAPTERS if (src / f"{c.name}.ipynb").is_file()]
    if not present:
        raise FileNotFoundError(f"No executed chapter in {src}: run `make tour` first (it writes them there).")
    (out / SOLUTIONS).mkdir(parents=True, exist_ok=True)
    mathjax = _offline_mathjax(out)
    exporter = HTMLExporter(template_name="lab", mathjax_url=mathjax)
    names = [c.name for c in CHAPTERS]
    chapters, solved = {}, []
    for name, title in ((c.name, c.title) for c in present):
        k = names.index(name)
        nb = chapters[f"{k + 1:02d}"] = nbformat.read(src / f"{name}.ipynb", as_version=4)
        solution = src / SOLUTIONS / f"{name}.ipynb"
        if solution.is_file():
            solved.append(name)
            _write_solution(solution, out / SOLUTIONS / f"{name}.html", f"{k + 1:02d} · {title}", mathjax)
        _write(exporter, nb, out / f"{name}.html", f"{k + 1:02d} · {title}", _nav(k, names, solution.is_file()))
    entries = bibliography(chapters)
    lines = ["# Bibliography", "", f"The {len(entries)} works the chapters cite, by first author; the numbers are the "
             "chapters that cite each.", ""]
    lines += [f"* {entry} (" + ", ".join(f"[{n}]({names[int(n) - 1]}.html)" for n in numbers) + ")"
              for entry, numbers in entries]
    _write(exporter, nbformat.v4.new_notebook(), out / "bibliography.html", "Bibliography",
           "[Contents](index.html)", body="\n".join(lines))
    docs = _write_docs(exporter, out)
    lines = ["# xfashion: explainable outfit scoring", "",
             f"A tutorial in {len(CHAPTERS)} chapters, after Tangseng & Okatani, *Toward Explainable Fashion "
             "Recommendation* (WACV 2020). Read them in order; every page shows the outputs of one run of "
             "`make tour`, the worked solutions to each chapter's exercises included.", ""]
    executed = {c.name for c in present}
    for k, (name, title, teaches) in enumerate((c.name, c.title, c.teaches) for c in CHAPTERS):
        link = f"[{k + 1:02d} · {title}]({name}.html)" if name in executed else \
            f"{k + 1:02d} · {title} (not executed)"
        extra = f" ([solutions]({SOLUTIONS}/{name}.html))" if name in solved else ""
        lines.append(f"{k + 1}. **{link}**: {teaches}{extra}")
    lines += ["", "Beside the chapters: " + " · ".join(f"[{title}]({stem}.html)" for stem, title in docs) + ".", "",
              f"[Bibliography](bibliography.html): the {len(entries)} works the chapters cite."]
    index = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("\n".join(lines))])
    body, _ = exporter.from_notebook_node(index, resources={"metadata": {"name": "xfashion"}})
    (out / "index.html").write_text(body, encoding="utf-8")
    return out / "index.html"


# the docs pages the book includes after the chapters, in this order (file stem, title)
DOCS = [("conventions", "Notation and visual conventions"), ("course_guide", "Course guide"),
        ("models_and_seeds", "The book's models, and every claim on every data seed"),
        ("command_line", "Command line"), ("api", "API at a glance"),
        ("architecture", "Layout and architecture"), ("data", "Data and licences")]


def _write_docs(exporter, out: Path) -> list:
    """The docs pages as book pages (links between them kept), the conventions' key drawn by today's code.

    Returns the ``(stem, title)`` of each page written.
    """
    import matplotlib.pyplot as plt

    from .viz.style import plot_key

    fig = plot_key()
    fig.savefig(out / "conventions_key.png", dpi=100)
    plt.close(fig)
    written = []
    for stem, title in DOCS:
        page = REPO_ROOT / "docs" / f"{stem}.md"
        if page.is_file():
            body = re.sub(r"\]\((?:docs/)?(\w+)\.md(#[\w-]*)?\)", r"](\1.html\2)", page.read_text(encoding="utf-8"))
            _write(exporter, nbformat.v4.new_notebook(), out / f"{stem}.html", title, "[Contents](index.html)",
                   body=body)
            written.append((stem, title))
    return written


def _write(exporter, nb, path: Path, title: str, nav: str, body: str | None = None) -> None:
    """One page: ``nb`` (or a single markdown ``body``) between two navigation lines."""
    cells = [nbformat.v4.new_markdown_cell(body)] if body is not None else nb.cells
    nb.cells = [nbformat.v4.new_markdown_cell(nav)] + cells + [nbformat.v4.new_markdown_cell(nav)]
    html, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    path.write_text(html, encoding="utf-8")


def _write_solution(src: Path, path: Path, title: str, mathjax: str) -> None:
    """A chapter's executed solutions, one folder down (MathJax and the links one level up)."""
    exporter = HTMLExporter(template_name="lab", mathjax_url=f"../{mathjax}")
    nav = f"[Back to the chapter](../{src.stem}.html) · [Contents](../index.html)"
    _write(exporter, nbformat.read(src, as_version=4), path, f"Solutions · {title}", nav)
