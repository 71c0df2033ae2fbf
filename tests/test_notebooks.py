"""Every notebook and every solution runs top to bottom in a fresh kernel (small-data mode)."""
import pytest

from xfashion.tour import NOTEBOOK_DIR, execute_notebook, notebooks


@pytest.mark.notebook
@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.name)
def test_notebook_executes(path, tmp_path):
    seconds = execute_notebook(path, tmp_path, timeout=600)
    assert (tmp_path / path.name).exists() and seconds > 0


@pytest.mark.notebook
@pytest.mark.parametrize("path", sorted((NOTEBOOK_DIR / "solutions").glob("*.ipynb")), ids=lambda p: p.name)
def test_solution_runs_and_its_asserts_hold(path, tmp_path):
    # a solution assumes its chapter ran before (cached artifacts) but must rebuild them if not
    seconds = execute_notebook(path, tmp_path, timeout=600)
    assert (tmp_path / path.name).exists() and seconds > 0
