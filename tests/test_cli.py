import json
import subprocess
import sys

from xfashion.utils import REPO_ROOT


def run_cli(*args):
    out = subprocess.run([sys.executable, "-m", "xfashion", *args], capture_output=True, text=True,
                         cwd=REPO_ROOT, timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_prepare_json():
    summary = json.loads(run_cli("prepare", "--json"))
    assert set(summary["n_items"]) == {"train", "val", "test"}
    assert summary["source"]
    for counts in summary["n_outfits"].values():
        assert counts["good"] == counts["bad"] > 0
    rules = {"hue_clash", "too_many_colours", "neutral_clash", "season_clash", "busy_clash"}
    assert set(summary["violations"]) <= rules
    assert sum(summary["violations"].values()) >= sum(c["bad"] for c in summary["n_outfits"].values())


def test_prepare_human_summary():
    out = run_cli("prepare")
    assert "items per split" in out and "violations per rule" in out


def test_features_json():
    summary = json.loads(run_cli("features", "--json"))
    assert summary["feature_sizes"] == {"color": 13, "shape_texture": 32}
    assert summary["color_invariance"] < summary["color_invariance_tolerance"]
    assert 0.5 < summary["shape_texture_test_accuracy"] <= 1.0  # small-data mode: 2 epochs on 2,400 images


def test_train_json():
    summary = json.loads(run_cli("train", "--json"))
    for key in ("test_auc", "test_accuracy", "fitb_accuracy", "epochs", "train_seconds", "baseline_meanpool"):
        assert key in summary
    assert 0.0 <= summary["test_auc"] <= 1.0 and summary["epochs"] >= 1
    assert 0.3 < summary["baseline_random"]["auc"] < 0.7
