"""Shared fixtures. Tests run in small-data mode with their own cache folder."""
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

os.environ.setdefault("XFASHION_SMALL", "1")
os.environ.setdefault("XFASHION_CACHE", tempfile.mkdtemp(prefix="xfashion-test-cache-"))
os.environ.setdefault("XFASHION_NO_DOWNLOAD", "1")
# one folder per test run for executed notebooks: pytest-xdist's workers start after this line ran in the controller,
# so they inherit it and share what one of them executed (a fresh folder: no copy outlives the code it ran)
_OWN_RUN_FOLDER = "XFASHION_TEST_RUN" not in os.environ  # made here: removed when the run ends
os.environ.setdefault("XFASHION_TEST_RUN", tempfile.mkdtemp(prefix="xfashion-test-run-"))
os.environ.setdefault("MPLBACKEND", "Agg")
# `make test` runs two pytest workers (pytest-xdist): each worker, and every kernel or command it starts,
# computes on one thread, so two processes share two cores instead of four OpenMP pools fighting over
# them (a chapter ran 10x slower so); set before torch loads, inherited by every child process
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy  # noqa: E402
import pytest  # noqa: E402

import xfashion as xf  # noqa: E402
from xfashion.pipeline import Workbench  # noqa: E402


@pytest.fixture(scope="session")
def mini():
    return xf.data.load_mini()


@pytest.fixture(scope="session")
def catalog(mini):
    return xf.build_catalog(mini, seed=0)


@pytest.fixture(scope="session")
def splits(catalog):
    return xf.make_splits(catalog, {"train": 400, "val": 100, "test": 100}, seed=0)


@pytest.fixture(scope="session")
def tiny_feats(mini, catalog):
    cnn = xf.cnn.train_shape_cnn(mini, epochs=1, max_train=512, progress=False, use_cache=False)
    return xf.features.extract_features(catalog, cnn, progress=False, use_cache=False)


@pytest.fixture(scope="session")
def trained(catalog, splits, tiny_feats):
    return xf.train_scorer(catalog, splits, tiny_feats, epochs=8, patience=8, progress=False, use_cache=False)


@pytest.fixture(scope="session")
def wb_small(catalog, splits, tiny_feats, trained):
    train = numpy.flatnonzero(catalog.split == "train")
    return Workbench(catalog, splits, tiny_feats, trained.model, xf.explain.dataset_means(tiny_feats.tables, train),
                        xf.explain.reference_outfits(tiny_feats.tables, rows=train))


@pytest.fixture(scope="session")
def executed():
    """``executed(path)``: the notebook run top to bottom in a fresh kernel (small-data mode, figures inline), once
    per test run: the notebook test and the book's browser test check the same executed copy of a chapter, also
    when pytest-xdist gives them to different workers (the second one waits for the first one's run and reads it;
    chapter 04's, about 17 s, ran twice whenever they did)."""
    from filelock import FileLock  # a dependency of torch

    from xfashion.tour import execute_notebook

    def run(path):
        out = Path(os.environ["XFASHION_TEST_RUN"]) / f"{path.parent.name}-{path.stem}"
        out.mkdir(parents=True, exist_ok=True)
        with FileLock(str(out / "lock")):
            if not (out / "done").exists():  # a failed run leaves no mark: the next caller runs it again
                execute_notebook(path, out, timeout=600,
                                 env={"XFASHION_SMALL": "1", "MPLBACKEND": "module://matplotlib_inline.backend_inline"})
                (out / "done").touch()
        return out / path.name
    return run


def pytest_collection_modifyitems(config, items):
    """The long tests first, the browser tests last. Notebooks and fresh-process builds (a minute each) start
    while the short tests can still fill the other worker's time; the browser tests run on the artifacts the
    notebook tests cached: their kernels load what the chapters computed instead of computing it a second
    time, as a reader's JupyterLab does after the tour."""
    def order(item):
        long = item.get_closest_marker("notebook") is not None or item.get_closest_marker("slow") is not None
        return item.get_closest_marker("browser") is not None, not long
    items.sort(key=order)


_START = {}


def pytest_sessionstart(session):
    _START["t"] = time.perf_counter()


def pytest_sessionfinish(session, exitstatus):
    """Leave build/pytest.json for `make readme`'s timing line, when the whole suite ran (no selection)."""
    config = session.config
    if os.environ.get("PYTEST_XDIST_WORKER"):  # the controller times the whole run
        return
    if _OWN_RUN_FOLDER:  # every worker is done with the executed notebooks
        shutil.rmtree(os.environ["XFASHION_TEST_RUN"], ignore_errors=True)
    if config.getoption("markexpr") or config.getoption("keyword") or config.args not in ([], ["tests"]):
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or "t" not in _START:
        return
    counts = {k: len(reporter.stats.get(k, [])) for k in ("passed", "failed", "skipped", "error")}
    cpus = len(os.sched_getaffinity(0))
    # a run pinned to one core (`taskset -c 0 make test`, a stand-in for a slower machine) keeps its own record
    out = xf.utils.REPO_ROOT / "build" / ("pytest-1cpu.json" if cpus == 1 else "pytest.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"seconds": round(time.perf_counter() - _START["t"], 1), **counts,
                               "exitstatus": int(exitstatus), "cpus": cpus,
                               "workers": int(getattr(config.option, "numprocesses", 0) or 0)}))
