"""Shared fixtures. Tests run in small-data mode with their own cache folder."""
import os
import tempfile

os.environ.setdefault("XFASHION_SMALL", "1")
os.environ.setdefault("XFASHION_CACHE", tempfile.mkdtemp(prefix="xfashion-test-cache-"))
os.environ.setdefault("XFASHION_NO_DOWNLOAD", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

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
