"""Every notebook runs top to bottom in a fresh kernel (small-data mode)."""
import pytest

from xfashion.tour import execute_notebook, notebooks


@pytest.mark.notebook
@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.name)
def test_notebook_executes(path, tmp_path):
    seconds = execute_notebook(path, tmp_path, timeout=600)
    assert (tmp_path / path.name).exists() and seconds > 0
