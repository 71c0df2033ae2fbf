import gzip
import struct

import numpy as np
import pytest
import torch

import xfashion as xf
from xfashion import data as xd


def write_idx(path, array):
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.tobytes())


def fake_folder(folder, n_train=6, n_test=4, fill=7):
    folder.mkdir(parents=True, exist_ok=True)
    write_idx(folder / xd.FILES["train_images"], np.full((n_train, 28, 28), fill))
    write_idx(folder / xd.FILES["train_labels"], np.arange(n_train) % 10)
    write_idx(folder / xd.FILES["test_images"], np.full((n_test, 28, 28), fill))
    write_idx(folder / xd.FILES["test_labels"], np.arange(n_test) % 10)
    return folder


def test_read_idx_roundtrip(tmp_path):
    arr = np.arange(2 * 3 * 4).reshape(2, 3, 4)
    write_idx(tmp_path / "x.gz", arr)
    out = xd.read_idx(tmp_path / "x.gz")
    assert out.shape == (2, 3, 4) and out.dtype == np.uint8
    np.testing.assert_array_equal(out, arr)


def test_read_idx_rejects_corrupt_files(tmp_path):
    (tmp_path / "bad.gz").write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="corrupt or truncated"):
        xd.read_idx(tmp_path / "bad.gz")
    with gzip.open(tmp_path / "magic.gz", "wb") as fh:
        fh.write(b"\x12\x34\x08\x01\x00\x00\x00\x01\x00")
    with pytest.raises(ValueError, match="magic"):
        xd.read_idx(tmp_path / "magic.gz")
    with gzip.open(tmp_path / "short.gz", "wb") as fh:
        fh.write(bytes([0, 0, 8, 1]) + struct.pack(">I", 10) + b"\x01\x02")
    with pytest.raises(ValueError, match="truncated"):
        xd.read_idx(tmp_path / "short.gz")


def test_source_chain_order(tmp_path, capsys):
    first, second = fake_folder(tmp_path / "a", fill=1), fake_folder(tmp_path / "b", fill=2)
    got = xd.load_fashion_mnist(candidates=[tmp_path / "missing", first, second], download=False)
    assert got.train_images[0, 0, 0] == 1 and "a" in got.source
    assert "Fashion-MNIST source" in capsys.readouterr().out
    explicit = xd.load_fashion_mnist(second, candidates=[first], download=False)
    assert explicit.train_images[0, 0, 0] == 2 and explicit.source.startswith("explicit")


def test_the_loader_prints_a_source_name_never_a_path(tmp_path, capsys):
    folder = fake_folder(tmp_path / "images")
    got = xd.load_fashion_mnist(candidates=[folder], download=False)
    said = capsys.readouterr().out
    assert str(folder) in got.source  # the source keeps the path (it keys the prepare cache) ...
    assert "the folder images" in said and str(tmp_path) not in said  # ... the printed line names it
    xd.load_fashion_mnist(folder, download=False)
    said = capsys.readouterr().out
    assert "the folder you named (images)" in said and str(tmp_path) not in said
    assert xd._folder_name(xd.DEBIAN_DIR) == "Debian's package dataset-fashion-mnist"


def test_env_var_path(tmp_path, monkeypatch):
    monkeypatch.setenv(xd.ENV_VAR, str(fake_folder(tmp_path / "env", fill=3)))
    assert xd.load_fashion_mnist(verbose=False).train_images[0, 0, 0] == 3


def test_missing_sources_give_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv(xd.ENV_VAR, raising=False)
    with pytest.raises(FileNotFoundError) as err:
        xd.load_fashion_mnist(candidates=[tmp_path / "nowhere"], download=False, allow_mini=False)
    assert "nowhere" in str(err.value) and "dataset-fashion-mnist" in str(err.value)
    with pytest.raises(FileNotFoundError, match="lacks"):
        xd.load_fashion_mnist(tmp_path, download=False)


def test_mini_fallback_warns(tmp_path, monkeypatch):
    monkeypatch.delenv(xd.ENV_VAR, raising=False)
    with pytest.warns(UserWarning, match="mini subset"):
        got = xd.load_fashion_mnist(candidates=[tmp_path], download=False, verbose=False)
    assert got.train_images.shape == (2400, 28, 28) and got.test_images.shape == (600, 28, 28)
    assert np.bincount(got.train_labels).tolist() == [240] * 10


def test_a_failed_download_is_named_when_the_mini_subset_stands_in(tmp_path, monkeypatch):
    monkeypatch.delenv(xd.ENV_VAR, raising=False)

    def offline(root):
        raise OSError("[Errno -3] Temporary failure in name resolution\nmore lines")
    monkeypatch.setattr(xd, "_torchvision_download", offline)
    named = r"torchvision download \(failed: OSError: \[Errno -3\] Temporary failure in name resolution\)"
    with pytest.warns(UserWarning, match=r"using the committed mini subset .*Looked in: .*nowhere; " + named + r"\. "):
        xd.load_fashion_mnist(candidates=[tmp_path / "nowhere"], download=True, verbose=False)
    with pytest.raises(FileNotFoundError, match=r"torchvision download \(failed: OSError: \[Errno -3\]"):
        xd.load_fashion_mnist(candidates=[tmp_path / "nowhere"], download=True, allow_mini=False)


@pytest.mark.skipif(not (xd.DEBIAN_DIR / xd.FILES["train_images"]).exists(),
                    reason="Debian package dataset-fashion-mnist not installed")
def test_full_debian_data_has_known_shapes():
    got = xd.load_fashion_mnist(candidates=[xd.DEBIAN_DIR], verbose=False)
    assert got.train_images.shape == (60000, 28, 28) and got.test_images.shape == (10000, 28, 28)
    assert np.bincount(got.train_labels).tolist() == [6000] * 10
    assert np.bincount(got.test_labels).tolist() == [1000] * 10
    assert got.train_labels[:5].tolist() == [9, 0, 0, 3, 0]  # ankle boot, t-shirt, t-shirt, dress, t-shirt


def normalised_luminance(rgba):
    lum = (rgba[..., :3, :, :] * torch.tensor([0.299, 0.587, 0.114])[:, None, None]).sum(-3)
    alpha = rgba[..., 3, :, :]
    return lum / ((lum * alpha).sum((-1, -2), keepdim=True) / alpha.sum((-1, -2), keepdim=True))


def test_recoloring_changes_color_only(mini):
    img = torch.from_numpy(mini.train_images[:20])
    red = xf.data.render(img, xf.data.color_index("red"))
    navy = xf.data.render(img, xf.data.color_index("navy"))
    assert red.shape == (20, 4, 28, 28)
    torch.testing.assert_close(red[:, 3], navy[:, 3])  # same garment mask
    torch.testing.assert_close(normalised_luminance(red), normalised_luminance(navy), atol=1e-4, rtol=1e-4)
    # the garment's mean colour points the palette colour's way
    mask = red[:, 3:] > 0.99
    mean_rgb = (red[:, :3] * mask).sum((-1, -2)) / mask.sum((-1, -2))
    direction = mean_rgb / mean_rgb.norm(dim=1, keepdim=True)
    target = xf.data.PALETTE_RGB[xf.data.color_index("red")]
    assert torch.all(direction @ (target / target.norm()) > 0.999)


def test_render_keeps_real_structure(mini):
    img = mini.train_images[3]
    out = xf.data.render(img, xf.data.color_index("white"))[0]
    garment = img > 30
    corr = np.corrcoef(out.numpy()[garment], img[garment])[0, 1]
    assert corr > 0.99  # shading follows the real grey image


@pytest.mark.parametrize("bad, match", [
    (np.zeros((28, 27), np.uint8), "28 x 28"),
    (np.zeros((28, 28), np.int32), "dtype"),
    (np.full((28, 28), np.nan, np.float32), "NaN"),
    (np.full((28, 28), 2.0, np.float32), r"\[0, 1\]"),
])
def test_render_rejects_bad_images(bad, match):
    with pytest.raises(ValueError, match=match):
        xf.data.render(bad, 0)


def test_unknown_names_raise():
    with pytest.raises(ValueError, match="palette"):
        xf.data.color_index("mauve")
    with pytest.raises(ValueError, match="known categories"):
        xf.data.category_index("Kilt")
    with pytest.raises(ValueError, match="Colour indices"):
        xf.data.render(np.zeros((28, 28), np.uint8), 99)


def test_texture_score_ranks_stripes_above_plain():
    plain = np.zeros((28, 28), np.uint8)
    plain[4:24, 6:22] = 200
    stripes = plain.copy()
    stripes[4:24:2, 6:22] = 60
    scores = xd.texture_score(np.stack([plain, stripes]))
    assert scores[0] < 0.01 and scores[1] > 0.2


def test_catalog_split_is_item_disjoint(catalog):
    assert set(np.unique(catalog.split)) == {"train", "val", "test"}
    assert len(catalog) == 3000
    test = catalog.split == "test"
    assert test.sum() == 600  # the mini subset's test part
    assert not catalog.busy[np.isin(catalog.slot, [xf.SLOTS.index("shoes"), xf.SLOTS.index("bag")])].any()
