"""Every notebook and every solution runs top to bottom in a fresh kernel (small-data mode)."""
import re

import nbformat
import pytest

from xfashion.tour import NOTEBOOK_DIR, execute_notebook, notebooks


@pytest.mark.notebook
@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.name)
def test_notebook_executes(path, executed):
    assert warnings_in(executed(path)) == []


def warnings_in(executed) -> list:
    """Lines of an executed notebook's stderr that are warnings (progress bars aside)."""
    nb = nbformat.read(executed, as_version=4)
    text = "\n".join("".join(o.get("text", "")) for c in nb.cells if c.cell_type == "code"
                     for o in c.get("outputs", []) if o.get("name") == "stderr")
    return [line for line in re.split(r"[\r\n]+", text) if re.search(r"warn", line, re.I)]


@pytest.mark.notebook
@pytest.mark.parametrize("path", sorted((NOTEBOOK_DIR / "solutions").glob("*.ipynb")), ids=lambda p: p.name)
def test_solution_runs_and_its_asserts_hold(path, tmp_path):
    # a solution assumes its chapter ran before (cached artifacts) but must rebuild them if not
    seconds = execute_notebook(path, tmp_path, timeout=600)
    assert (tmp_path / path.name).exists() and seconds > 0
    assert warnings_in(tmp_path / path.name) == []
