"""The package's shape: a curated public API, metrics with declared directions, clear messages outside a clone."""
import glob
import json
import re

import pandas as pd
import pytest
import torch

import xfashion as xf
from xfashion import utils
from xfashion.utils import REPO_ROOT


def test_public_api_is_curated_and_every_name_resolves():
    assert 40 <= len(xf.__all__) <= 80
    assert len(set(xf.__all__)) == len(xf.__all__)
    for name in xf.__all__:
        assert getattr(xf, name) is not None
    assert not any(n.startswith("plot_") for n in xf.__all__)  # figures live in xf.viz
    assert "plot_explanation" in xf.viz.__all__ and "explanation_explorer" in xf.viz.__all__


def test_notebooks_and_solutions_call_public_names_only():
    files = glob.glob(str(REPO_ROOT / "notebooks" / "*.ipynb")) + \
        glob.glob(str(REPO_ROOT / "notebooks" / "solutions" / "*.ipynb"))
    assert len(files) >= 14
    for f in files:
        source = "\n".join("".join(c["source"]) for c in json.load(open(f))["cells"] if c["cell_type"] == "code")
        for name in set(re.findall(r"\bxf\.(\w+)", source)):
            assert name in xf.__all__, f"{f} calls xf.{name}, which is not in xfashion.__all__"


def test_metrics_declare_a_direction_and_arrows_appear_only_when_formatted():
    assert xf.evaluate.METRICS["item_top1"].direction == "higher"
    assert xf.evaluate.METRICS["ms_per_outfit"].direction == "lower"
    with pytest.raises(ValueError, match="direction must be"):
        xf.evaluate.Metric("x", "sideways", "")
    attr = xf.Attribution(torch.zeros(2, 3, 2), torch.ones(2, 3, dtype=torch.bool), "hand", ["color", "shape_texture"],
                          forward_passes=1, backward_passes=1, seconds=0.01)
    table = xf.cost_table({"hand": attr})
    assert list(table.columns) == ["forward_passes", "backward_passes", "ms_per_outfit"]
    shown = xf.format_table(pd.DataFrame(columns=["item_top1 (unambiguous)", "ms_per_outfit", "cases", "pair_top1_sd"]))
    # a spread is not a score: "_sd" columns keep their plain name
    assert list(shown.columns) == ["item_top1 ↑ (unambiguous)", "ms_per_outfit ↓", "cases", "pair_top1_sd"]


def test_outside_a_clone_the_cache_goes_home_and_missing_notebooks_say_so(monkeypatch, tmp_path):
    monkeypatch.delenv("XFASHION_CACHE", raising=False)
    monkeypatch.setattr(utils, "IN_CLONE", False)
    monkeypatch.setattr(utils.Path, "home", staticmethod(lambda: tmp_path))
    assert utils.cache_dir() == tmp_path / ".cache" / "xfashion"
    from xfashion import tour
    monkeypatch.setattr(tour, "NOTEBOOK_DIR", tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="clone of the repository"):
        tour.notebooks()
