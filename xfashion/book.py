"""The rendered book (``make book``): Jupyter Book 1 over the notebooks that ``make tour`` executed.

Ours is what Jupyter Book reads: the table of contents from :data:`~xfashion.chapters.CHAPTERS` (each
chapter's solutions after it, then the docs pages), the contents and bibliography pages, and the scripts
the pages load, copied beside them so that nothing comes from the internet (``docs/_book/_config.yml``
says which). Sphinx and myst-nb render the executed notebooks without running them, sphinx-book-theme
gives the navigation and the search, sphinxcontrib-bibtex the bibliography from ``references.bib``.
"""
from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
import tarfile
import unicodedata
from pathlib import Path

import nbformat
import yaml

from .chapters import CHAPTERS
from .tour import SOLUTIONS  # the tour writes build/solutions/; the book mirrors it as solutions/
from .utils import REPO_ROOT

DOCS = ("conventions", "course_guide", "models_and_seeds", "command_line", "api", "architecture", "data")
# what the pages load from npm packages (fetched once into build/vendor/): require.js, the widgets' HTML
# manager (it draws the explorers as the tour left them) and its icon fonts, which it looks for beside the page
NPM = {"requirejs@2.3.7": ("require.js",), "@jupyter-widgets/html-manager@1.0.15": ("dist/embed-amd.js", ".woff2")}
VENDOR = REPO_ROOT / "build" / "vendor"
FONTS = [f"{page}@jupyter-widgets/{f}" for page in ("", f"{SOLUTIONS}/") for f in ("", "html-manager/dist")]


def references(nb) -> list:
    """The entries of a notebook's ``## References`` section (one per bullet, continuation lines joined)."""
    entries = []
    for cell in (c for c in nb.cells if c.cell_type == "markdown" and "## References" in c.source):
        for line in cell.source.split("## References", 1)[1].splitlines():
            if re.match(r"\s*[*-] ", line):
                entries.append(line.strip()[2:].strip())
            elif line.startswith("  ") and entries:
                entries[-1] += " " + line.strip()
    return entries


def bib_key(entry: str) -> str:
    """The ``references.bib`` key of a chapter's entry: first author's surname and year (``zaheer2017``)."""
    surname = unicodedata.normalize("NFKD", re.split(r"[,(]", entry, maxsplit=1)[0]).encode("ascii", "ignore")
    year = re.search(r"\((\d{4})\)", entry)
    return re.sub(r"[^a-z]", "", surname.decode().lower()) + (year.group(1) if year else "")


def _scripts(book: Path) -> None:
    """MathJax (PyPI), require.js and the widgets' manager (npm) into ``book/_vendor``, its fonts ``book/_extra``."""
    spec = importlib.util.find_spec("jupyter_server_mathjax")  # found, not imported: a server extension
    mathjax = Path(next(iter(spec.submodule_search_locations))) / "static" if spec else Path("missing")
    if not (mathjax / "MathJax.js").is_file():
        raise ImportError("The book renders its maths with MathJax from the package jupyter-server-mathjax, which "
                          "is missing: run `make install` (or pip install jupyter-server-mathjax).")
    shutil.copytree(mathjax, book / "_vendor" / "mathjax", dirs_exist_ok=True)
    for package, wanted in NPM.items():
        tarball = VENDOR / (package.lstrip("@").replace("/", "-").replace("@", "-") + ".tgz")
        if not tarball.is_file():
            if shutil.which("npm") is None:
                raise FileNotFoundError(f"The book's pages load {package} from the npm registry, and npm is missing: "
                                        f"install npm, or put the file of `npm pack {package}` into {VENDOR}.")
            VENDOR.mkdir(parents=True, exist_ok=True)
            subprocess.run(["npm", "pack", "--silent", package], cwd=VENDOR, check=True, stdout=subprocess.DEVNULL)
        with tarfile.open(tarball) as tar:
            for member in (m for m in tar.getmembers() if m.name.endswith(wanted)):
                to = [book / "_vendor"] if member.name.endswith(".js") else [book / "_extra" / f for f in FONTS]
                for folder in to:
                    folder.mkdir(parents=True, exist_ok=True)
                    (folder / Path(member.name).name).write_bytes(tar.extractfile(member).read())


def _pages(book: Path, chapters: list, solved: list, docs: list) -> dict:
    """Fill in the contents and bibliography pages (``docs/_book/``); return the table of contents."""
    listed = []
    for c in CHAPTERS:
        link = f"[{c.number} · {c.title}]({c.name}.ipynb)" if c.name in chapters else f"{c.number} · {c.title} " \
            "(not executed)"
        listed.append(f"{int(c.number)}. **{link}**: {c.teaches}" + f" ([solutions]({SOLUTIONS}/{c.name}.ipynb))"
                      * (c.name in solved))
    cited = [(c, dict.fromkeys(bib_key(e) for e in references(nbformat.read(book / f"{c.name}.ipynb", 4))))
             for c in CHAPTERS if c.name in chapters]
    cites = [f"* [{c.number} · {c.title}]({c.name}.ipynb): {{cite:t}}`{','.join(keys)}`" for c, keys in cited if keys]
    for page, fill in (("intro", listed), ("bibliography", cites)):
        text = (REPO_ROOT / "docs" / "_book" / f"{page}.md").read_text(encoding="utf-8").replace(
            "<!-- chapters -->", "\n".join(fill)).replace("<!-- docs -->", " · ".join(f"{{doc}}`{d}`" for d in docs))
        (book / f"{page}.md").write_text(text, encoding="utf-8")
    return {"format": "jb-book", "root": "intro", "parts": [
        {"caption": "Chapters", "chapters": [{"file": name, **({"sections": [{"file": f"{SOLUTIONS}/{name}"}]}
                                                                if name in solved else {})} for name in chapters]},
        {"caption": "Beside the chapters", "chapters": [{"file": stem} for stem in docs]},
        {"caption": "References", "chapters": [{"file": "bibliography"}]}]}


def build_book(src: str | Path = REPO_ROOT / "build", out: str | Path | None = None) -> Path:
    """Build the book of the executed notebooks in ``src`` into ``out`` (default ``src/book``); return its index.

    ``out`` gets the book's sources (the notebooks copied, the pages and the configuration), Jupyter Book
    the HTML in ``out/_build/html``. Chapters come from ``src/NN_*.ipynb``, their executed solutions from
    ``src/solutions/`` (``make tour`` writes both); nothing is executed.

    Raises
    ------
    FileNotFoundError
        When ``src`` holds none of the chapters (run ``make tour`` first).
    RuntimeError
        When Jupyter Book fails; the message ends with the end of its log.
    """
    import matplotlib.pyplot as plt

    from .viz.style import plot_key

    src, out = Path(src), Path(out) if out is not None else Path(src) / "book"
    chapters = [c.name for c in CHAPTERS if (src / f"{c.name}.ipynb").is_file()]
    if not chapters:
        raise FileNotFoundError(f"No executed chapter in {src}: run `make tour` first (it writes them there).")
    (out / SOLUTIONS).mkdir(parents=True, exist_ok=True)
    solved = [name for name in chapters if (src / SOLUTIONS / f"{name}.ipynb").is_file()]
    for path in [src / f"{name}.ipynb" for name in chapters] + [src / SOLUTIONS / f"{name}.ipynb" for name in solved]:
        shutil.copy(path, out / path.relative_to(src))
    docs = [stem for stem in DOCS if (REPO_ROOT / "docs" / f"{stem}.md").is_file()]
    for stem in docs:  # their links to each other ("api.md") become links between pages
        shutil.copy(REPO_ROOT / "docs" / f"{stem}.md", out)
    fig = plot_key()  # the conventions' key as today's code draws it
    fig.savefig(out / "conventions_key.png", dpi=100)
    plt.close(fig)
    for name in ("references.bib", "docs/_book/_config.yml"):
        shutil.copy(REPO_ROOT / name, out)
    _scripts(out)
    toc = _pages(out, chapters, solved, docs)
    (out / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    if not jupyter_book.is_file():
        raise ImportError("The book is built by Jupyter Book: run `make install` (or pip install jupyter-book).")
    run = subprocess.run([str(jupyter_book), "build", str(out)], capture_output=True, text=True)
    if run.returncode:
        raise RuntimeError(f"jupyter-book build {out} failed:\n{(run.stdout + run.stderr)[-3000:]}")
    return out / "_build" / "html" / "index.html"
