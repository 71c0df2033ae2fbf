"""Numbers you can trust: same config same artifact, caches that cannot go stale, clear errors."""
import importlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import xfashion as xf
from xfashion.cache import Cache, digest
from xfashion.cli import main as cli_main
from xfashion.pipeline import Workbench
from xfashion.utils import REPO_ROOT

# ----------------------------------------------------------------------------- determinism
DUMP = textwrap.dedent("""
    import json, sys
    import numpy as np, torch
    if sys.argv[1] == "disturbed":   # whatever a reader ran before: it must not matter
        torch.manual_seed(123); torch.rand(1000); np.random.seed(7); np.random.rand(100)
        torch.nn.Linear(50, 50)
    import xfashion as xf
    from xfashion.cache import digest
    if sys.argv[1] == "disturbed":   # and the command line's path, not the notebooks' entry point
        xf.set_seed(99)
        from xfashion.cli import main
        sys.exit(main(["train", "--json"]))
    wb = xf.workbench(seed=0, progress=False)
    print(json.dumps({"cnn": digest(wb.feats.cnn.model), "features": digest(wb.feats.tables),
                      "scorer": digest(wb.model), "splits": digest(wb.splits["train"].items)}))
""")


def _run(args, cache, env_extra=None):
    env = {**os.environ, "XFASHION_CACHE": str(cache), "XFASHION_SMALL": "1", "XFASHION_NO_DOWNLOAD": "1"}
    env.update(env_extra or {})
    out = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, cwd=REPO_ROOT, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def _cache_contents(folder):
    """Stage name -> (cache key, digest of the stored tensors: weights, feature tables, or the whole payload)."""
    found = {}
    for path in Path(folder).glob("*.pt"):
        stage, key = path.stem.rsplit("-", 1)
        payload = torch.load(path, weights_only=True)
        found[stage] = (key, digest(payload.get("state", payload.get("tables", payload))))
    return found


@pytest.mark.slow
def test_same_seed_same_artifacts_whatever_ran_before_and_whichever_path_built_them(tmp_path):
    # the notebooks' entry point in a clean process, and the command line after a reader's random draws and
    # another global seed: both fill a cache with the very same files (keys and stored tensors)
    clean = json.loads(_run(["-c", DUMP, "clean"], tmp_path / "clean").strip().splitlines()[-1])
    assert set(clean) == {"cnn", "features", "scorer", "splits"}
    _run(["-c", DUMP, "disturbed"], tmp_path / "disturbed")
    cli, nb = _cache_contents(tmp_path / "disturbed"), _cache_contents(tmp_path / "clean")
    for stage in ("prepare", "shape_cnn", "features", "scorer-pairwise"):
        assert cli[stage] == nb[stage], stage


def test_stage_leaves_the_callers_random_state_alone(catalog, splits, tiny_feats, tmp_path, monkeypatch):
    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path))
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    xf.train_scorer(catalog, splits, tiny_feats, epochs=1, progress=False, use_cache=False)
    xf.attribute(xf.train_scorer(catalog, splits, tiny_feats, epochs=1, progress=False).model,
                 xf.feature_batch(catalog, splits["test"], tiny_feats, [0, 1]), "gradient_shap",
                 baselines_sample=xf.explain.reference_outfits(tiny_feats.tables))
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("method", ["gradient_shap", "shapley_sampling", "shapley_interaction"])
def test_an_explanation_does_not_depend_on_the_global_generators_and_leaves_them_alone(wb_small, method):
    # Captum's GradientShap draws from NumPy's global generator: its values once moved with whatever ran before
    batch = xf.feature_batch(wb_small.catalog, wb_small.splits["test"], wb_small.feats, [0, 1, 2])
    pairs = method == "shapley_interaction"
    explain = (lambda: xf.explain.attribute_pairs(wb_small.model, batch, method, means=wb_small.means).values) \
        if pairs else (lambda: xf.attribute(wb_small.model, batch, method, **wb_small.options()).values)
    values = []
    for state in (0, 1):
        np.random.seed(state)
        torch.manual_seed(state)
        values.append(explain())
        assert np.random.rand() == np.random.RandomState(state).rand()  # the caller's next draw, untouched
    assert torch.equal(values[0], values[1])


def test_same_config_trains_bit_identical_weights(catalog, splits, tiny_feats):
    runs = []
    for noise in (0, 1):
        torch.manual_seed(noise)  # global state differs between the two runs
        runs.append(xf.train_scorer(catalog, splits, tiny_feats, epochs=2, progress=False, use_cache=False))
    assert digest(runs[0].model) == digest(runs[1].model)


MALLOC_PROBE = textwrap.dedent("""
    import ctypes, sys, torch
    import xfashion  # importing changes nothing
    if sys.argv[1] == "call":
        xfashion.utils.release_freed_memory()
    libc = ctypes.CDLL("libc.so.6")
    if not hasattr(libc, "mallinfo2"):
        print("skip"); sys.exit()
    class MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                    "fsmblks", "uordblks", "fordblks", "keepcost")]
    libc.mallinfo2.restype = MallInfo2
    for _ in range(3):  # what a stage does: big buffers freed, which raises glibc's adaptive threshold
        torch.ones(6 * 1024 * 1024).sum()
    before = libc.mallinfo2().hblkhd
    block = torch.ones(3 * 1024 * 1024)  # 12 MiB
    print(libc.mallinfo2().hblkhd - before)
""")


def test_freed_buffers_go_back_to_the_os():
    if not sys.platform.startswith("linux"):
        pytest.skip("glibc tuning applies on Linux only")
    mapped = {}
    for mode in ("plain", "call", "env"):
        env = {**os.environ, **(xf.utils.MALLOC_ENV if mode == "env" else {})}
        out = subprocess.run([sys.executable, "-c", MALLOC_PROBE, mode], capture_output=True, text=True, timeout=120,
                             env=env)
        assert out.returncode == 0, out.stderr[-1000:]
        if out.stdout.strip() == "skip":
            pytest.skip("glibc before 2.33 has no mallinfo2")
        mapped[mode] = int(out.stdout.split()[-1])
    # plain glibc keeps a 12 MiB block in the heap after bigger frees, and importing xfashion changes nothing;
    # after the explicit call (the CLI), or started with MALLOC_ENV (the tour's kernels), the block is mapped
    # on its own, so freeing it hands the memory back to the OS at once
    assert mapped["plain"] == 0
    assert mapped["call"] >= 12 * 1024 * 1024 and mapped["env"] >= 12 * 1024 * 1024


# ----------------------------------------------------------------------------- caches
def test_scorer_cache_misses_when_labels_change(catalog, splits, tiny_feats, tmp_path, monkeypatch):
    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path))
    first = xf.train_scorer(catalog, splits, tiny_feats, epochs=1, progress=False)
    assert not first.cached
    assert xf.train_scorer(catalog, splits, tiny_feats, epochs=1, progress=False).cached
    noisy = xf.make_splits(catalog, {"train": 400, "val": 100, "test": 100}, seed=0, label_noise=0.3)
    assert (noisy["train"].label != splits["train"].label).sum() > 50
    assert np.array_equal(noisy["train"].items, splits["train"].items)
    again = xf.train_scorer(catalog, noisy, tiny_feats, epochs=1, progress=False)
    assert not again.cached and digest(again.model) != digest(first.model)


def test_rules_are_part_of_every_key_they_touch(catalog):
    assert digest(xf.StylistRules()) != digest(xf.StylistRules(max_busy=2))
    strict = xf.make_splits(catalog, {"train": 60, "val": 20, "test": 20}, seed=0,
                            rules=xf.StylistRules(hue_clash=(30.0, 170.0)))
    default = xf.make_splits(catalog, {"train": 60, "val": 20, "test": 20}, seed=0)
    assert digest(strict["train"].items, strict["train"].label) != digest(default["train"].items,
                                                                          default["train"].label)


def test_swap_report_is_keyed_by_model_weights(catalog, splits, tiny_feats, trained, tmp_path, monkeypatch):
    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path))
    train = np.flatnonzero(catalog.split == "train")
    wb = Workbench(catalog, splits, tiny_feats, trained.model, xf.explain.dataset_means(tiny_feats.tables, train),
                      xf.explain.reference_outfits(tiny_feats.tables, rows=train))
    kwargs = dict(methods=["ifiv", "random"], n_outfits=20, margin=0.0, sanity_cases=10, progress=False)
    first = xf.evaluate.run_swap_evaluation(wb, **kwargs)
    second = xf.evaluate.run_swap_evaluation(wb, **kwargs)
    assert not first.cached and second.cached
    assert second.per_case.equals(first.per_case) and second.summary.equals(first.summary)
    randomised = Workbench(catalog, splits, tiny_feats, xf.evaluate.sanity.randomised_copy(trained.model), wb.means,
                              wb.references)
    assert not xf.evaluate.run_swap_evaluation(randomised, **kwargs).cached


def test_code_edits_change_the_key(tmp_path, monkeypatch):
    module = tmp_path / "stage_code_probe.py"
    module.write_text("def stage():\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path / "cache"))
    mod = importlib.import_module("stage_code_probe")
    before = Cache("probe", {"a": 1}, inputs=[np.arange(3)], code=[mod]).key
    module.write_text("def stage():\n    return 2\n")
    importlib.reload(mod)
    after = Cache("probe", {"a": 1}, inputs=[np.arange(3)], code=[mod]).key
    assert before != after
    assert Cache("probe", {"a": 1}, inputs=[np.arange(4)], code=[mod]).key != after  # input content
    assert Cache("probe", {"a": 2}, inputs=[np.arange(3)], code=[mod]).key != after  # config


def test_every_cached_stage_digests_its_own_code(catalog, splits, tiny_feats, tmp_path, monkeypatch):
    import inspect
    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path))
    xf.train_scorer(catalog, splits, tiny_feats, epochs=1, progress=False)
    real = inspect.getsource

    def edited(obj):  # as if someone edited the scorer module without touching a version number
        text = real(obj)
        return text + "\n# edited\n" if getattr(obj, "__name__", "") == "xfashion.scorer" else text
    monkeypatch.setattr("xfashion.cache.inspect.getsource", edited)
    assert not xf.train_scorer(catalog, splits, tiny_feats, epochs=1, progress=False).cached


class _Booby:
    def __reduce__(self):
        return (print, ("this ran code",))


def test_cache_files_cannot_run_code(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XFASHION_CACHE", str(tmp_path))
    cache = Cache("probe", {"x": 1})
    torch.save({"payload": _Booby()}, cache.path)  # a classmate's cache folder, say
    capsys.readouterr()
    with pytest.warns(RuntimeWarning, match="Ignoring unreadable cache file"):  # a warning: it survives --json
        assert cache.load() is None
    assert "this ran code" not in capsys.readouterr().out
    cache.save({"weights": torch.ones(2), "history": [{"epoch": 1, "loss": 0.5}]})
    assert cache.load()["history"][0]["loss"] == 0.5


# ----------------------------------------------------------------------------- bad input: the CLI
@pytest.mark.parametrize("argv, needle", [
    (["evaluate", "--n-outfits", "0"], "positive integer"),
    (["evaluate", "--n-outfits", "-5"], "positive integer"),
    (["evaluate", "--margin", "-1"], "finite number >= 0"),
    (["evaluate", "--margin", "nan"], "finite number >= 0"),
    (["polyvore", "--margin", "nan"], "finite number >= 0"),
    (["polyvore", "--image-size", "0"], "must lie in 32 .. 1024"),
    (["train", "--seed", "-1"], "seed must lie in 0 .. 4294967295"),
    (["train", "--seed", "abc"], "integer seed"),
    (["explain", "--method", "colour_magic"], "Unknown method"),
    (["bench", "--n-outfits", "ten"], "positive integer"),
])
def test_cli_rejects_bad_arguments_in_one_line(argv, needle, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_cli_rejects_an_existing_file_as_output_folder_before_running(tmp_path, capsys):
    target = tmp_path / "report.txt"
    target.write_text("keep me")
    with pytest.raises(SystemExit):
        cli_main(["evaluate", "--out", str(target)])
    assert "is a file" in capsys.readouterr().err and target.read_text() == "keep me"
    with pytest.raises(SystemExit):
        cli_main(["polyvore", "--root", str(target)])
    assert "is a file" in capsys.readouterr().err


def test_cli_turns_any_failure_into_one_line(capsys):
    assert cli_main(["bench", "--n-outfits", "999999"]) == 2
    err = capsys.readouterr().err
    assert "only" in err and "available" in err and "--debug" in err and "Traceback" not in err
    assert cli_main(["explain", "--outfit", "99999"]) == 2
    assert "--outfit must lie in" in capsys.readouterr().err


def test_cli_debug_shows_the_traceback():
    with pytest.raises(ValueError, match="available"):
        cli_main(["--debug", "bench", "--n-outfits", "999999"])


# ----------------------------------------------------------------------------- bad input: the API
def _write_idx(path, array, dims):
    import gzip
    import struct
    header = bytes([0, 0, 8, len(dims)]) + struct.pack(">" + "I" * len(dims), *dims)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def test_labels_out_of_range_are_named(tmp_path):
    for split, n in (("train", 4), ("t10k", 3)):
        _write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", np.zeros((n, 28, 28)), (n, 28, 28))
        _write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", np.array([1, 2, 12, 0][:n]), (n,))
    with pytest.raises(ValueError, match="labels must be one value 0-9.*found 12"):
        xf.load_fashion_mnist(tmp_path)


@pytest.mark.parametrize("kwargs, needle", [
    ({"hue_clash": (150.0, 60.0)}, "0 <= lo <= hi <= 180"),
    ({"hue_clash": (10.0, 400.0)}, "0 <= lo <= hi <= 180"),
    ({"hue_clash": "wide"}, "two angles"),
    ({"max_chromatic": -1}, "max_chromatic must be an integer >= 0"),
    ({"max_busy": 1.5}, "max_busy must be an integer >= 0"),
    ({"neutral_clashes": (("navy", "blak"),)}, "Did you mean 'black'"),
    ({"season_clashes": (("Sandals", "Coat"),)}, "Did you mean 'Sandal'"),
    ({"season_clashes": ("Sandal",)}, "pairs of names"),
])
def test_stylist_rules_are_validated(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        xf.StylistRules(**kwargs)


def test_sampler_fails_clearly_instead_of_looping(catalog):
    # every template has shoes with trousers or a dress: this stylist accepts no outfit at all
    impossible = xf.StylistRules(season_clashes=tuple((shoe, other) for shoe in ("Sandal", "Sneaker", "Ankle boot")
                                                      for other in ("Trouser", "Dress")))
    with pytest.raises(ValueError, match="Relax the rules"):
        xf.sample_outfits(catalog, "train", 400, rules=impossible)
    with pytest.raises(ValueError, match="n must be an integer >= 2"):
        xf.sample_outfits(catalog, "train", 0)
    with pytest.raises(ValueError, match="label_noise"):
        xf.sample_outfits(catalog, "train", 10, label_noise=1.5)


def test_make_batch_checks_ids(catalog, splits, tiny_feats):
    bad = splits["test"].subset([0, 1])
    bad.items = bad.items.copy()
    bad.items[0, 0] = -7
    with pytest.raises(ValueError, match=r"unknown item id\(s\) \[-7\]"):
        xf.make_batch(catalog, bad)
    bad.items[0, 0] = len(catalog) + 3
    with pytest.raises(ValueError, match="unknown item id"):
        xf.make_batch(catalog, bad, features=tiny_feats.tables)
    with pytest.raises(ValueError, match="out of range"):
        xf.make_batch(catalog, splits["test"], index=[len(splits["test"])])
    with pytest.raises(ValueError, match="no outfit"):
        xf.make_batch(catalog, splits["test"], index=[])


def test_features_and_groups_are_checked(catalog, splits, tiny_feats, trained):
    batch = xf.feature_batch(catalog, splits["test"], tiny_feats, [0, 1, 2])
    with pytest.raises(ValueError, match=r"Unknown feature group\(s\) \['colour'\]"):
        xf.attribute(trained.model, batch, "ifiv", groups=["colour"])
    with pytest.raises(KeyError, match="Unknown feature group 'colour'"):
        tiny_feats["colour"]
    with pytest.raises(ValueError, match="Did you mean 'ifiv'"):
        xf.attribute(trained.model, batch, "ifvi")
    as_double = batch.with_features({g: v.double() for g, v in batch.features.items()})
    with pytest.raises(ValueError, match=r"float64, but the scorer computes in torch.float32; convert the features"):
        trained.model(as_double.features, batch.slot, batch.mask)
    as_int = batch.with_features({g: v.long() for g, v in batch.features.items()})
    with pytest.raises(ValueError, match="int64"):
        xf.attribute(trained.model, as_int, "ifiv")
    with pytest.raises(ValueError, match="slot indices must lie in 0-5"):
        trained.model(batch.features, batch.slot + 9, batch.mask)
    empty = xf.outfits.OutfitBatch({g: v[:0] for g, v in batch.features.items()}, batch.slot[:0], batch.mask[:0],
                           batch.label[:0], batch.items[:0])
    with pytest.raises(ValueError, match="no outfit"):
        xf.attribute(trained.model, empty, "ifiv")


def test_evaluation_arguments_are_checked(catalog, splits, tiny_feats, trained):
    train = np.flatnonzero(catalog.split == "train")
    wb = Workbench(catalog, splits, tiny_feats, trained.model, xf.explain.dataset_means(tiny_feats.tables, train),
                      xf.explain.reference_outfits(tiny_feats.tables, rows=train))
    for n in (0, -5, 2.5):
        with pytest.raises(ValueError, match="n_outfits must be a positive integer"):
            xf.evaluate.swap.build_swap_cases(wb, n_outfits=n)
    for margin in (-1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="margin"):
            xf.evaluate.run_swap_evaluation(wb, margin=margin)
    with pytest.raises(ValueError, match="Unknown method"):
        xf.evaluate.run_swap_evaluation(wb, methods=["ifiv", "shap_magic"])
    with pytest.raises(ValueError, match="only 100 are available"):
        xf.evaluate.benchmark(wb, n_outfits=5000)
    with pytest.raises(ValueError, match="Unknown split"):
        wb.batch([0], split="tset")
    with pytest.raises(ValueError, match="seed must be an integer"):
        xf.workbench(seed=-1)
