"""The rendered book: every chapter cites its works, one bibliography, solutions after their chapter."""
import re
import shutil
import unicodedata

import nbformat
import pytest

from xfashion.book import DOCS, bib_key, build_book, references
from xfashion.tour import NOTEBOOK_DIR, notebooks
from xfashion.utils import REPO_ROOT


def chapters() -> dict:
    return {p.name[:2]: nbformat.read(p, as_version=4) for p in notebooks()}


HEDGES = ("printed above", "whether it did here", "which happened here", "the lines say which", "see above")


def test_every_chapter_closes_with_what_we_learned_before_its_exercises_and_never_points_at_an_output():
    for number, nb in chapters().items():
        headings = [line for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines()
                    if line.startswith("## ")]
        assert "## What we learned" in headings, f"chapter {number} has no 'What we learned'"
        assert headings.index("## What we learned") < headings.index("## Exercises"), number
        prose = " ".join(c.source for c in nb.cells if c.cell_type == "markdown").lower()
        found = [h for h in HEDGES if h in " ".join(prose.split())]
        assert not found, f"chapter {number} points the reader at an output instead of saying it: {found}"
    for path in sorted((NOTEBOOK_DIR / "solutions").glob("*.ipynb")):
        prose = " ".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
        found = [h for h in HEDGES if h in " ".join(prose.lower().split())]
        assert not found, f"solution {path.name} points the reader at an output instead of saying it: {found}"


def test_every_chapter_ends_with_its_references():
    for number, nb in chapters().items():
        assert nb.cells[-1].source.startswith("## References"), number
        entries = references(nb)
        assert entries and all("(" in e and ")." in e for e in entries), (number, entries)


def bib() -> dict:
    """key -> fields (author, title, year, ...) of every entry in references.bib."""
    text = (REPO_ROOT / "references.bib").read_text(encoding="utf-8")
    return {m.group(1): dict(re.findall(r"^\s*(\w+) = \{(.*)\},?$", m.group(2), re.M))
            for m in re.finditer(r"^@\w+\{(\w+),\n(.*?)^\}", text, re.S | re.M)}


def letters(text: str) -> str:
    """Only the letters, folded to ASCII lower case: 'Hedstr{\\"o}m' and 'Hedström' both give 'hedstrom'."""
    return re.sub(r"[^a-z]", "", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower())


def test_references_bib_holds_every_work_a_chapter_lists_and_no_other():
    works, listed = bib(), {}
    assert len(works) == (REPO_ROOT / "references.bib").read_text().count("\n@")  # every entry parsed
    for number, nb in chapters().items():
        for entry in references(nb):
            key = bib_key(entry)
            assert key in works, f"chapter {number} lists a work references.bib lacks (key {key}): {entry}"
            fields = works[key]  # the same work: first author, year and title agree
            assert letters(entry.split(",")[0].split("(")[0]) in letters(fields["author"]), (key, entry)
            assert f"({fields['year']})" in entry and letters(fields["title"]) in letters(entry), (key, entry)
            listed.setdefault(key, set()).add(number)
    assert not set(works) - set(listed), f"references.bib holds works no chapter lists: {set(works) - set(listed)}"
    for key in ("tangseng2020", "zaheer2017", "sundararajan2017", "shrikumar2017", "lundberg2017", "selvaraju2017",
                "adebayo2018", "petsiuk2018", "samek2017", "hedstrom2023"):
        assert key in listed, key
    assert len(listed["tangseng2020"]) >= 5  # the paper the book follows, cited by most chapters
    assert bib_key("Štrumbelj, E. & Kononenko, I. (2014). Explaining ...") == "strumbelj2014"


def test_the_book_shows_the_tours_outputs_solutions_after_their_chapter_a_bibliography_docs_and_search(tmp_path):
    import base64
    import io

    import matplotlib.pyplot as plt

    src = tmp_path / "build"
    (src / "solutions").mkdir(parents=True)
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1])
    png = io.BytesIO()
    fig.savefig(png, format="png")
    plt.close(fig)
    for name in ("03_model_training", "04_ifiv_explanations"):  # "executed": an output the build must keep
        nb = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
        next(c for c in nb.cells if c.cell_type == "code").outputs = [
            nbformat.v4.new_output("display_data", data={"text/markdown": f"Run by the tour: **{name}**"}),
            nbformat.v4.new_output("display_data", data={"image/png": base64.b64encode(png.getvalue()).decode()})]
        nbformat.write(nb, src / f"{name}.ipynb")
    shutil.copy(NOTEBOOK_DIR / "solutions" / "03_model_training.ipynb", src / "solutions")
    index = build_book(src, tmp_path / "book")
    html = index.parent
    home = (html / "intro.html").read_text()
    assert 'href="solutions/03_model_training.html"' in home and "solutions/04_ifiv_explanations" not in home
    assert "05 · Captum baselines (not executed)" in home
    # the sidebar: the chapters, 03's solutions right after it, then the docs pages, then the bibliography
    order = re.findall(r'class="reference internal" href="([^"#]+)"', home.split('id="main-content"')[0])
    assert order == ["03_model_training.html", "solutions/03_model_training.html", "04_ifiv_explanations.html",
                     *(f"{stem}.html" for stem in DOCS), "bibliography.html"], order
    chapter = (html / "03_model_training.html").read_text()
    assert "Run by the tour: <strong>03_model_training</strong>" in chapter  # shown, never run again
    assert len(list((html / "_images").glob("*.png"))) >= 2  # the two chapters' figures, the key
    assert re.search(r'class="right-next"\s+href="solutions/03_model_training.html"', chapter)
    solution = (html / "solutions" / "03_model_training.html").read_text()
    assert re.search(r'class="right-next"\s+href="../04_ifiv_explanations.html"', solution)
    biblio = (html / "bibliography.html").read_text().split('id="main-content"')[1]  # past the sidebar
    assert "Deep sets" in biblio and 'href="03_model_training.html"' in biblio
    assert "Sundararajan" not in biblio  # cited by chapters that were not built
    conventions = (html / "conventions.html").read_text()
    assert "culprit (item, group)" in conventions and "red lowers the score" in conventions
    assert 'src="_images/conventions_key.png"' in conventions
    assert (html / "_images" / "conventions_key.png").read_bytes() == (index.parents[2] / "conventions_key.png"
                                                                        ).read_bytes()  # drawn by today's code
    assert "run_swap_evaluation" in (html / "api.html").read_text()
    commands = (html / "command_line.html").read_text()
    assert 'href="models_and_seeds.html' in commands and "models_and_seeds.md" not in commands
    search = (html / "searchindex.js").read_text()
    assert (html / "search.html").is_file() and '"solutions/03_model_training"' in search and '"zaheer"' in search
    # offline: every script, style sheet and font the pages name is a file of the book
    for page in html.rglob("*.html"):
        outside = re.findall(r'<(?:script|link)[^>]*(?:src|href)="((?:https?:)?//[^"]*)"', page.read_text())
        assert not outside, (page.name, outside)
    assert (html / "_static" / "mathjax" / "MathJax.js").is_file() and (html / "_static" / "embed-amd.js").is_file()


def tiny_chapters(folder, monkeypatch):
    """Two chapters of one cell each (and a solution for the first) in place of the book's: the tour's logic in
    seconds. Each prints its SEED; the second fails on any data seed but 0."""
    import xfashion.tour as tour

    (folder / "solutions").mkdir(parents=True)

    def chapter(*sources):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
        nb.cells[0].metadata["tags"] = ["parameters"]
        return nb
    nbformat.write(chapter("SEED = 0", "print('seed', SEED)"), folder / "01_first.ipynb")
    solution = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('solution')")])  # untagged, as
    nbformat.write(solution, folder / "solutions" / "01_first.ipynb")  # the book's solutions: they run as written
    nbformat.write(chapter("SEED = 0", "assert SEED == 0, 'true of seed 0 only'", "print('after', SEED)"),
                   folder / "02_second.ipynb")
    monkeypatch.setattr(tour, "NOTEBOOK_DIR", folder)
    return tour


@pytest.mark.notebook
def test_the_tour_runs_each_solution_after_its_chapter_into_build_solutions(tmp_path, monkeypatch):
    import json

    tour = tiny_chapters(tmp_path / "notebooks", monkeypatch)
    done = tour.run_tour(tmp_path / "build", only=["01_"], solutions=True)
    assert [name for name, _ in done] == ["01_first.ipynb", "solutions/01_first.ipynb"]
    assert (tmp_path / "build" / "solutions" / "01_first.ipynb").is_file()
    record = json.loads((tmp_path / "build" / "tour.json").read_text())
    assert record["chapter_seconds"] == record["notebooks"]["01_first.ipynb"]["seconds"]
    assert [name for name, _ in tour.run_tour(tmp_path / "plain", only=["01_"])] == ["01_first.ipynb"]


@pytest.mark.notebook
def test_a_data_seed_reaches_every_chapter_and_every_failing_cell_is_listed(tmp_path, monkeypatch):
    import json

    tour = tiny_chapters(tmp_path / "notebooks", monkeypatch)
    with pytest.raises(RuntimeError, match=r"(?s)1 cell\(s\) failed on data seed 7.*02_second.ipynb cell 2: "
                                           r"AssertionError: true of seed 0 only"):
        tour.run_tour(tmp_path / "seed7", data_seed=7)
    executed = [nbformat.read(tmp_path / "seed7" / f, as_version=4) for f in ("01_first.ipynb", "02_second.ipynb")]
    assert "SEED = 7" in executed[0].cells[1].source and "injected-parameters" in executed[0].cells[1].metadata.tags
    assert executed[0].cells[2].metadata.papermill["duration"] >= 0  # papermill times every cell
    assert executed[0].cells[2].outputs[0]["text"] == "seed 7\n"
    assert executed[1].cells[3].outputs[0]["text"] == "after 7\n"  # the cells after a failure still ran
    record = json.loads((tmp_path / "seed7" / "tour.json").read_text())
    assert record["data_seed"] == 7 and [f["cell"] for f in record["failed_cells"]] == [2]
    assert [n for n, _ in tour.run_tour(tmp_path / "seed0", data_seed=0, solutions=True)] == [
        "01_first.ipynb", "solutions/01_first.ipynb", "02_second.ipynb"]  # seed 0 named: the solutions run too
    with pytest.raises(ValueError, match="data seed 0 only"):
        tour.run_tour(tmp_path / "x", data_seed=3, require_shipped=True)
    with pytest.raises(ValueError, match="--solutions runs on data seed 0 only"):  # written for seed 0
        tour.run_tour(tmp_path / "x", data_seed=3, solutions=True)
    with pytest.raises(ValueError, match="no cell tagged 'parameters'"):
        untagged = tmp_path / "untagged.ipynb"
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), untagged)
        tour.execute_notebook(untagged, tmp_path / "out", parameters={"SEED": 1})


@pytest.mark.notebook
def test_an_executed_progress_bar_shows_its_final_state_as_one_line(tmp_path):
    from xfashion.tour import WIDGET_VIEW, execute_notebook

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "from tqdm.auto import tqdm\nimport ipywidgets\nfor _ in tqdm(range(3), desc='steps'):\n    pass\n"
        "bar = tqdm(total=10, desc='epochs')\nbar.update(4)\nbar.total = 4\nbar.refresh()\nbar.close()\n"
        "ipywidgets.IntSlider(value=4)")])
    nbformat.write(nb, tmp_path / "bar.ipynb")
    execute_notebook(tmp_path / "bar.ipynb", tmp_path / "out")
    outputs = nbformat.read(tmp_path / "out" / "bar.ipynb", as_version=4).cells[0].outputs
    texts = [o["data"]["text/plain"] for o in outputs if "data" in o]
    # the kernel's own plain view of the bar is frozen at 0%; the executed copy says where it ended
    assert texts[0].startswith("steps: 100%|██████████| 3/3 [") and WIDGET_VIEW not in outputs[0]["data"]
    assert texts[1].startswith("epochs: 100%|██████████| 4/4 [")  # stopped early: full, as its count says
    assert WIDGET_VIEW in outputs[-1]["data"]  # any other widget is left as it is


# ----------------------------------------------------------------------------- chapter metadata, declared once
def test_the_chapter_table_names_every_notebook_and_solution_and_only_those():
    from xfashion.chapters import CHAPTERS
    names = [c.name for c in CHAPTERS]
    assert names == [p.stem for p in notebooks()]
    assert {p.stem for p in (NOTEBOOK_DIR / "solutions").glob("*.ipynb")} <= set(names)
    assert [c.number for c in CHAPTERS] == [f"{k:02d}" for k in range(1, len(CHAPTERS) + 1)]


def test_the_readme_and_the_course_guide_show_the_chapter_table_as_declared():
    from xfashion.chapters import markdown_table, table_block
    from xfashion.utils import REPO_ROOT
    assert table_block((REPO_ROOT / "README.md").read_text(), "notebooks") == markdown_table("notebooks")
    assert table_block((REPO_ROOT / "docs" / "course_guide.md").read_text(), "objectives") == \
        markdown_table("objectives")


def test_every_checked_exercise_belongs_to_a_chapter(tmp_path):
    from xfashion.chapters import chapter, write_table
    from xfashion.exercises import CHECKS
    for key in CHECKS:
        assert chapter(key[:2]).number == key[:2]
    with pytest.raises(ValueError, match="Unknown chapter '10'"):
        chapter("10")
    md = tmp_path / "x.md"
    md.write_text("# x\n")
    with pytest.raises(ValueError, match="has no notebooks table"):
        write_table(md, "notebooks")


def test_the_course_guides_checked_column_names_exactly_the_exercises_with_a_check():
    from xfashion.exercises import CHECKS
    rows = re.findall(r"^\| (\d\d\.\d) [^|]*\|[^|]*\|[^|]*\|[^|]*\| *(yes)? *\|$",
                      (REPO_ROOT / "docs" / "course_guide.md").read_text(), flags=re.M)
    assert len(rows) >= 30, "the guide's exercise table was not found"
    assert {key for key, checked in rows if checked} == set(CHECKS)
