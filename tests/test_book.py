"""The rendered book: every chapter cites its works, one bibliography, solutions after their chapter."""
import shutil

import nbformat
import pytest

from xfashion.book import bibliography, build_book, references
from xfashion.tour import NOTEBOOK_DIR, notebooks


def chapters() -> dict:
    return {p.name[:2]: nbformat.read(p, as_version=4) for p in notebooks()}


def test_every_chapter_ends_with_its_references():
    for number, nb in chapters().items():
        assert nb.cells[-1].source.startswith("## References"), number
        entries = references(nb)
        assert entries and all("(" in e and ")." in e for e in entries), (number, entries)


def test_the_bibliography_holds_the_works_the_book_rests_on_once_each():
    entries = bibliography(chapters())
    text = "\n".join(e for e, _ in entries)
    for author in ("Tangseng", "Zaheer", "Sundararajan", "Shrikumar", "Lundberg", "Selvaraju", "Adebayo", "Petsiuk",
                   "Samek", "Hedström"):
        assert author in text, author
    cited = dict(entries)
    tangseng = next(e for e in cited if e.startswith("Tangseng"))
    assert len(cited[tangseng]) >= 5  # the paper the book follows, cited by most chapters, listed once
    assert len(cited) == len(set(cited))


def test_one_work_spelled_two_ways_is_refused():
    a, b = (nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"## References\n\n* {s}")])
            for s in ("Zaheer, M. et al. (2017). Deep sets. *NeurIPS*.", "Zaheer, M. (2017). Deep Sets. *NIPS*."))
    with pytest.raises(ValueError, match=r"(?s)Zaheer \(2017\).*spell it the same way"):
        bibliography({"01": a, "03": b})


def test_solutions_follow_their_chapter_and_the_index_links_the_bibliography(tmp_path):
    src = tmp_path / "build"
    (src / "solutions").mkdir(parents=True)
    for name in ("03_model_training", "04_ifiv_explanations"):
        shutil.copy(NOTEBOOK_DIR / f"{name}.ipynb", src)
    shutil.copy(NOTEBOOK_DIR / "solutions" / "03_model_training.ipynb", src / "solutions")
    index = build_book(src, tmp_path / "book")
    book = index.parent
    home = index.read_text()
    assert "solutions/03_model_training.html" in home and "solutions/04_ifiv_explanations.html" not in home
    assert "bibliography.html" in home
    chapter = (book / "03_model_training.html").read_text()
    assert "Solutions to the exercises" in chapter
    assert "Solutions to the exercises" not in (book / "04_ifiv_explanations.html").read_text()
    solution = (book / "solutions" / "03_model_training.html").read_text()
    assert "../03_model_training.html" in solution and "../mathjax/MathJax.js" in solution
    biblio = (book / "bibliography.html").read_text()
    assert "Zaheer" in biblio and "Deep sets" in biblio and "03_model_training.html" in biblio
    assert "Sundararajan" not in biblio  # cited by chapters that were not executed


@pytest.mark.notebook
def test_the_tour_runs_each_solution_after_its_chapter_into_build_solutions(tmp_path):
    import json

    from xfashion.tour import run_tour

    done = run_tour(tmp_path, only=["01_"], solutions=True)
    assert [name for name, _ in done] == ["01_data_preparation.ipynb", "solutions/01_data_preparation.ipynb"]
    assert (tmp_path / "solutions" / "01_data_preparation.ipynb").is_file()
    record = json.loads((tmp_path / "tour.json").read_text())
    assert record["chapter_seconds"] == record["notebooks"]["01_data_preparation.ipynb"]["seconds"]
    assert [name for name, _ in run_tour(tmp_path / "plain", only=["01_"])] == ["01_data_preparation.ipynb"]
