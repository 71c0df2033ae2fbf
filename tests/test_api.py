"""The package's shape: a curated public API, metrics with declared directions, clear messages outside a clone."""
import glob
import json
import re
import subprocess
import sys
import types

import pandas as pd
import pytest
import torch

import xfashion as xf
from xfashion import cache, utils
from xfashion.utils import REPO_ROOT

NAMESPACES = ("explain", "evaluate", "viz")


def surface() -> list:
    """(qualified name, object) for every name of the curated API: top level plus each namespace's __all__."""
    names = [(f"xf.{n}", getattr(xf, n)) for n in xf.__all__]
    for ns in NAMESPACES:
        names += [(f"xf.{ns}.{n}", getattr(getattr(xf, ns), n)) for n in getattr(xf, ns).__all__]
    return names


def test_public_api_is_curated_small_and_free_of_aliases_and_mutable_registries():
    assert set(NAMESPACES) <= set(xf.__all__)
    entries = surface()
    assert len(entries) <= 100, f"the curated surface has {len(entries)} names; keep it at 100 or fewer"
    # each object is listed once: no second name for one thing, no name in two places
    by_object = {}
    for name, obj in entries:
        if isinstance(obj, (str, int, float, tuple)) and not callable(obj):
            continue  # equal constants may share an object by interning
        by_object.setdefault(id(obj), []).append(name)
    twice = [names for names in by_object.values() if len(names) > 1]
    assert not twice, f"listed more than once: {twice}"
    # nothing exported can be edited for every caller: registries and tables are read-only views
    mutable = [name for name, obj in entries if isinstance(obj, (dict, list, set))]
    assert not mutable, f"mutable objects exported: {mutable}"
    assert not any(n.startswith("plot_") for n in xf.__all__)  # figures live in xf.viz
    for name in ("REGISTRY", "ALIASES", "METHODS", "method_class"):
        assert name not in xf.explain.__all__


def documented_paths() -> dict:
    """Every dotted ``xf.`` path used in the notebooks, solutions, app, README and docs pages."""
    files = glob.glob(str(REPO_ROOT / "notebooks" / "*.ipynb")) + \
        glob.glob(str(REPO_ROOT / "notebooks" / "solutions" / "*.ipynb")) + \
        glob.glob(str(REPO_ROOT / "app" / "*.ipynb"))
    assert len(files) >= 15
    texts = {f: "\n".join("".join(c["source"]) for c in json.load(open(f))["cells"]) for f in files}
    for doc in [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]:
        texts[doc.name] = doc.read_text()
    paths = {}
    for f, text in texts.items():
        for path in re.findall(r"\bxf((?:\.[A-Za-z_]\w*)+)", text):
            paths.setdefault(path.lstrip("."), f)
    return paths


def test_every_dotted_path_in_notebooks_solutions_app_and_docs_resolves():
    paths = documented_paths()
    assert len(paths) > 100
    unresolved = []
    for path, where in sorted(paths.items()):
        obj = xf
        for part in path.split("."):
            if not hasattr(obj, part):
                unresolved.append(f"xf.{path} ({where})")
                break
            obj = getattr(obj, part)
    assert not unresolved, "these paths do not resolve:\n" + "\n".join(unresolved)


def test_notebooks_call_the_curated_surface_or_a_module_path():
    top = set(xf.__all__)
    modules = {n for n in dir(xf) if isinstance(getattr(xf, n), types.ModuleType)}
    for path, where in documented_paths().items():
        first = path.split(".")[0]
        assert first in top or first in modules, f"{where} uses xf.{path}: {first} is neither public nor a module"


def test_importing_xfashion_changes_nothing_outside_it():
    code = ("import os, random, sys, numpy, torch; state = (random.getstate(), numpy.random.get_state()[1].sum(), "
            "torch.random.get_rng_state().sum()); import xfashion; "
            "assert state == (random.getstate(), numpy.random.get_state()[1].sum(), "
            "torch.random.get_rng_state().sum()); "
            "assert 'xfashion.cli' not in sys.modules and 'xfashion.tour' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
    # the allocator setting is an explicit call, never made on import
    source = (REPO_ROOT / "xfashion" / "__init__.py").read_text()
    assert "release_freed_memory()" not in source


def test_metrics_declare_a_direction_and_arrows_appear_only_when_formatted():
    assert xf.evaluate.metrics.METRICS["item_top1"].direction == "higher"
    assert xf.evaluate.metrics.METRICS["ms_per_outfit"].direction == "lower"
    with pytest.raises(ValueError, match="direction must be"):
        xf.evaluate.metrics.Metric("x", "sideways", "")
    attr = xf.explain.Attribution(torch.zeros(2, 3, 2), torch.ones(2, 3, dtype=torch.bool), "hand",
                                  ["color", "shape_texture"], forward_passes=1, backward_passes=1, seconds=0.01)
    table = xf.evaluate.cost_table({"hand": attr})
    assert list(table.columns) == ["forward_passes", "backward_passes", "ms_per_outfit"]
    columns = ["item_top1 (unambiguous)", "ms_per_outfit", "cases", "cell_top1_sd"]
    shown = xf.evaluate.format_table(pd.DataFrame(columns=columns))
    # a spread is not a score: "_sd" columns keep their plain name
    assert list(shown.columns) == ["item_top1 ↑ (unambiguous)", "ms_per_outfit ↓", "cases", "cell_top1_sd"]


def test_outside_a_clone_the_cache_goes_home_and_missing_notebooks_say_so(monkeypatch, tmp_path):
    monkeypatch.delenv("XFASHION_CACHE", raising=False)
    monkeypatch.setattr(cache, "IN_CLONE", False)
    monkeypatch.setattr(utils.Path, "home", staticmethod(lambda: tmp_path))
    assert cache.cache_dir() == tmp_path / ".cache" / "xfashion"
    from xfashion import tour
    monkeypatch.setattr(tour, "NOTEBOOK_DIR", tmp_path / "absent")
    with pytest.raises(FileNotFoundError, match="clone of the repository"):
        tour.notebooks()
