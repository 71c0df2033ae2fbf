"""Shipped weights: they match the code (or a test names `make retrain`), load only after their checksum,
are found on any CPU (keys by provenance), and step aside for XFASHION_PRETRAINED=0; devices are explicit."""
import dataclasses
import json
import shutil

import numpy as np
import pytest
import torch

import xfashion as xf
from xfashion import cache, training, utils, weights


def test_shipped_weights_match_the_training_code_sizes_and_designs():
    problems = weights.check_manifest()
    assert problems == [], "\n".join(problems)
    files = cache.weights_manifest()["files"]
    stages = [e["stage"] for e in files.values()]
    assert stages.count("shape_cnn") == 1 and "scorer-meanpool" in stages
    seeds = {e["config"]["seed"] for e in files.values() if e["stage"] == "scorer-pairwise"}
    assert seeds == set(weights.SCORER_SEEDS)


def test_a_change_to_the_scorer_code_fails_naming_make_retrain(monkeypatch):
    def edited():  # a stand-in for any edit to the training code
        return 1
    monkeypatch.setattr(training, "TRAINING_CODE", (*training.TRAINING_CODE, edited))
    problems = weights.check_manifest()
    scorer_files = [n for n, e in cache.weights_manifest()["files"].items() if e["stage"].startswith("scorer-")]
    assert len(problems) == len(scorer_files) > 0
    assert all("training code changed" in p and p.endswith("run `make retrain`") for p in problems)


def test_a_changed_size_or_a_new_design_names_make_retrain(monkeypatch):
    monkeypatch.setitem(utils.SIZES, "scorer_epochs", (41, 15))
    monkeypatch.setattr(weights, "DESIGNS", {**weights.DESIGNS, "GELU": {"activation": "gelu"}})
    problems = weights.check_manifest()
    assert any("sizes changed" in p for p in problems)
    assert any("'GELU'" in p for p in problems)
    assert all("make retrain" in p for p in problems)


def test_a_damaged_shipped_file_is_refused_before_loading(tmp_path):
    shutil.copytree(cache.WEIGHTS_DIR, tmp_path / "w")
    name = next(n for n, e in cache.weights_manifest()["files"].items() if e["stage"] == "shape_cnn")
    assert cache.load_shipped(name, tmp_path / "w")["state"]  # intact: loads
    raw = bytearray((tmp_path / "w" / name).read_bytes())
    raw[-100] ^= 1
    (tmp_path / "w" / name).write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="fail their checksum.*make retrain"):
        cache.load_shipped(name, tmp_path / "w")
    (tmp_path / "w" / name).unlink()
    with pytest.raises(ValueError, match="missing"):
        cache.load_shipped(name, tmp_path / "w")
    assert cache.load_shipped("scorer-pairwise-0000000000000000.pt", tmp_path / "w") is None


def test_shipped_cnn_loads_weights_only_into_the_model():
    name = next(n for n, e in cache.weights_manifest()["files"].items() if e["stage"] == "shape_cnn")
    payload = torch.load(cache.WEIGHTS_DIR / name, weights_only=True)  # plain tensors and data only
    model = xf.cnn.ShapeTextureCNN()
    model.load_state_dict(payload["state"])
    assert 0.85 < payload["test_accuracy"] < 1.0


def test_shipping_then_loading_then_opting_out(tmp_path, monkeypatch, catalog, splits, tiny_feats):
    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path / "cache"))
    options = dict(epochs=2, patience=2, progress=False, seed=7)
    with cache.shipping(tmp_path / "w") as entries:
        first = xf.train_scorer(catalog, splits, tiny_feats, **options)
    (name, entry), = entries.items()
    assert entry["stage"] == "scorer-pairwise" and entry["config"]["seed"] == 7
    (tmp_path / "w" / cache.MANIFEST).write_text(json.dumps({"files": entries}))
    (tmp_path / "cache" / name).unlink()  # only the shipped copy is left
    monkeypatch.setattr(cache, "WEIGHTS_DIR", tmp_path / "w")
    shipped = xf.train_scorer(catalog, splits, tiny_feats, **options)
    assert shipped.shipped and shipped.cached
    for a, b in zip(first.model.state_dict().values(), shipped.model.state_dict().values()):
        assert torch.equal(a, b)
    # the keyword and the environment variable both train instead
    assert not xf.train_scorer(catalog, splits, tiny_feats, pretrained=False, **options).shipped
    monkeypatch.setenv("XFASHION_PRETRAINED", "0")
    assert not xf.train_scorer(catalog, splits, tiny_feats, **options).shipped


def test_rekeying_ships_the_very_same_file_under_the_new_key_and_never_trains(tmp_path, monkeypatch, catalog,
                                                                               splits, tiny_feats):
    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path / "cache"))
    options = dict(epochs=2, patience=2, progress=False, seed=7)
    with cache.shipping(tmp_path / "old") as entries:
        first = xf.train_scorer(catalog, splits, tiny_feats, **options)
    (old_name, old_entry), = entries.items()
    (tmp_path / "old" / cache.MANIFEST).write_text(json.dumps({"files": entries}))

    def moved():  # a stand-in for code moved between modules: the key moves, the computation does not
        return 1
    monkeypatch.setattr(training, "TRAINING_CODE", (*training.TRAINING_CODE, moved))
    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path / "empty"))
    with cache.shipping(tmp_path / "new") as new_entries, cache.rekeying(tmp_path / "old"):
        again = xf.train_scorer(catalog, splits, tiny_feats, **options)
    (new_name, new_entry), = new_entries.items()
    assert again.shipped and again.config["key"] in new_name and new_name != old_name
    assert new_entry["rekeyed_from"] == old_name and new_entry["code"] != old_entry["code"]
    assert new_entry["sha256"] == old_entry["sha256"]
    assert (tmp_path / "new" / new_name).read_bytes() == (tmp_path / "old" / old_name).read_bytes()
    for a, b in zip(first.model.state_dict().values(), again.model.state_dict().values()):
        assert torch.equal(a, b)
    # a configuration with no shipped file, or a stage that skips its cache, would train: refused
    with cache.rekeying(tmp_path / "old"), pytest.raises(ValueError, match="0 shipped files.*make retrain"):
        xf.train_scorer(catalog, splits, tiny_feats, **{**options, "seed": 8})
    with cache.rekeying(tmp_path / "old"), pytest.raises(RuntimeError, match="would have trained.*make retrain"):
        xf.train_scorer(catalog, splits, tiny_feats, use_cache=False, **options)
    assert not list((tmp_path / "empty").glob("scorer-*.pt"))


def test_scorer_key_ignores_last_bit_differences_in_features(tmp_path, monkeypatch, catalog, splits, tiny_feats):
    """Another CPU computes the features with other rounding: the key (by provenance) must not move."""
    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path))
    options = dict(epochs=1, patience=1, progress=False)
    key = xf.train_scorer(catalog, splits, tiny_feats, **options).config["key"]
    nudged = dataclasses.replace(tiny_feats, tables={g: t * (1 + 1e-7) for g, t in tiny_feats.tables.items()})
    assert xf.train_scorer(catalog, splits, nudged, **options).config["key"] == key
    other_cnn = dataclasses.replace(tiny_feats, key="another-extraction")
    assert xf.train_scorer(catalog, splits, other_cnn, **options).config["key"] != key


def test_the_small_pipeline_on_an_explicit_cpu_device(tmp_path, monkeypatch, mini, catalog, splits):
    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path))
    cpu = torch.device("cpu")
    cnn = xf.cnn.train_shape_cnn(mini, epochs=1, max_train=256, progress=False, use_cache=False, device=cpu)
    feats = xf.extract_features(catalog, cnn, progress=False, use_cache=False, device="cpu")
    result = xf.train_scorer(catalog, splits, feats, epochs=2, patience=2, progress=False, use_cache=False,
                             device="cpu")
    default = xf.train_scorer(catalog, splits, feats, epochs=2, patience=2, progress=False, use_cache=False)
    assert utils.model_device(result.model) == cpu and all(t.device == cpu for t in feats.tables.values())
    for a, b in zip(result.model.state_dict().values(), default.model.state_dict().values()):
        assert torch.equal(a, b)  # the default device here is the CPU: the same model bit for bit
    attr = xf.attribute(result.model, xf.scorer.feature_batch(catalog, splits["test"], feats, [0, 1]), "ifiv")
    assert attr.values.device == cpu


def test_an_unusable_device_is_named(monkeypatch):
    monkeypatch.setenv("XFASHION_DEVICE", "gpu-please")
    with pytest.raises(ValueError, match="Unknown device 'gpu-please'"):
        utils.resolve_device()
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            utils.resolve_device("cuda")
    assert utils.resolve_device("cpu") == torch.device("cpu")


def test_prepare_loads_from_its_cache_exactly_what_it_built(tmp_path, monkeypatch):
    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path))
    monkeypatch.setattr(xf.pipeline, "_MEMO", {})
    built = xf.prepare(3)
    monkeypatch.setattr(xf.pipeline, "_MEMO", {})  # a new kernel: only the cache file is left
    loaded = xf.prepare(3)
    assert len(list(tmp_path.glob("prepare-*.pt"))) == 1 and loaded is not built
    for a, b in zip((built[0], *built[1].values()), (loaded[0], *loaded[1].values())):
        for f in dataclasses.fields(a):
            x, y = getattr(a, f.name), getattr(b, f.name)
            if isinstance(x, np.ndarray):
                assert x.dtype == y.dtype and np.array_equal(x, y), f.name
            else:
                assert x == y, f.name


def test_an_unshipped_model_on_full_data_is_said_and_logged_for_the_tour(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XFASHION_LIVE_LOG", str(tmp_path / "live.txt"))
    monkeypatch.setattr(cache, "small_mode", lambda: False)
    monkeypatch.setattr(cache, "WEIGHTS_DIR", tmp_path / "no-weights")
    monkeypatch.setattr(cache, "_UNSHIPPED_SAID", set())
    store = cache.Cache("scorer-pairwise", {"seed": 99}, shippable=True)
    assert store.load() is None
    out = capsys.readouterr().out
    assert out == ("Training the pairwise scorer of seed 99 here: the book ships only the models its chapters "
                   "load, so this one is trained once on this machine and cached.\n")  # an exercise's variant
    # the explanation once per process; a further model gets one short line, a model already named none
    other = cache.Cache("scorer-pairwise", {"seed": 98}, shippable=True)
    assert other.load() is None and store.load() is None
    assert capsys.readouterr().out == "Training the pairwise scorer of seed 98 here too.\n"
    # a design study's variant is named with its design, not as the book's own scorer of that seed
    assert cache._model_name("scorer-pairwise", {"seed": 0, "activation": "relu"}) == \
        "the pairwise scorer of seed 0 (activation relu)"
    # the tour's log lists every load, said or not
    assert (tmp_path / "live.txt").read_text().split() == [store.path.name, other.path.name, store.path.name]
    assert cache.Cache("features", {"seed": 99}).load() is None  # not a shippable stage: nothing said
    assert capsys.readouterr().out == "" and len((tmp_path / "live.txt").read_text().split()) == 3
    monkeypatch.setenv("XFASHION_PRETRAINED", "0")  # training on purpose: nothing said either
    assert store.load() is None and capsys.readouterr().out == ""


def test_a_shipped_model_whose_code_or_data_changed_is_said_with_the_retrain_hint(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(cache, "small_mode", lambda: False)
    monkeypatch.setattr(cache, "WEIGHTS_DIR", tmp_path)
    monkeypatch.setattr(cache, "_UNSHIPPED_SAID", set())
    # the book ships this stage and configuration under another key: its training code or data changed
    entry = {"stage": "scorer-pairwise", "config": {"seed": 0}, "code": "0" * 16, "sha256": "0" * 64}
    (tmp_path / cache.MANIFEST).write_text(json.dumps({"files": {"scorer-pairwise-0000.pt": entry}}))
    assert cache.Cache("scorer-pairwise", {"seed": 0}, shippable=True).load() is None
    out = capsys.readouterr().out
    assert out.startswith("Training the pairwise scorer of seed 0 here: the book ships this configuration for its "
                          "own inputs, and this run's differ (another data seed or other feature groups)")
    assert cache.RETRAIN_HINT in out and "make retrain" in cache.RETRAIN_HINT
