"""The exercises' check cells: a right answer is called correct, a wrong one is told what is wrong."""
import numpy as np
import pytest
import torch

import xfashion as xf
from xfashion.exercises import CHECKS, check


def grey(rgba):
    lum = (rgba[:3] * torch.tensor([0.299, 0.587, 0.114])[:, None, None]).sum(0)
    return lum / (lum.sum() / rgba[3].sum())


def white_gradient(rgba, tau):
    rgba = rgba.clone().requires_grad_(True)
    xf.ColorHistogram(tau)(rgba[None])[0, xf.COLOR_NAMES.index("white")].backward()
    return rgba.grad


def colour_blind_of(catalog):
    def colour_blind(encode):
        out = torch.stack([encode(xf.data.render(catalog.images[:4], c)) for c in range(len(xf.COLOR_NAMES))])
        return bool(torch.allclose(out, out[:1].expand_as(out), rtol=1e-4, atol=1e-5))
    return colour_blind


def busy_neighbours(emb, busy, k):
    d = torch.cdist(emb, emb)
    d.fill_diagonal_(float("inf"))
    return busy[d.topk(k, largest=False).indices].float().mean(1)


def shuffle(batch, perm):
    return xf.outfits.OutfitBatch({g: v[:, perm] for g, v in batch.features.items()}, batch.slot[:, perm],
                                  batch.mask[:, perm], batch.label, batch.items[:, perm])


def top1(values, mask, swapped):
    return float((values.sum(-1).masked_fill(~mask, float("inf")).argmin(1) == swapped).float().mean())


def kendall(a, b):
    i, j = np.triu_indices(len(a), 1)
    return float(np.mean(np.sign(a[i] - a[j]) * np.sign(b[i] - b[j])))


def pair(values, mask):
    return values.masked_fill(~mask, float("inf")).argsort(1)[:, :2]


def colour_only(outfits):
    colour = {"hue_clash", "neutral_clash", "too_many_colours"}
    return np.array([bool(rs) and set(rs) <= colour for rs in outfits.rules])


def shared(data):
    return len({i for _, ids in data.compatibility["train"] for i in ids}
               & {i for _, ids in data.compatibility["test"] for i in ids})


@pytest.fixture(scope="module")
def polyvore():
    return xf.polyvore.load_polyvore(xf.polyvore.polyvore_source()[0], "nondisjoint")


@pytest.fixture
def given(catalog, splits, wb_small, polyvore):
    batch = xf.feature_batch(catalog, splits["test"], wb_small.feats, index=range(16))
    return {"01.1": {"catalog": catalog, "n": 400}, "01.2": {"catalog": catalog}, "01.4": {},
            "02.2": {"catalog": catalog}, "02.3": {"catalog": catalog, "features": wb_small.feats["shape_texture"]},
            "02.5": {},
            "03.1": {"model": wb_small.model, "batch": batch},
            "04.1": {"model": wb_small.model, "batch": batch, "means": wb_small.means},
            "05.3": {"outfits": splits["test"]},
            "03.4": {}, "04.4": {}, "05.4": {}, "06.3": {}, "06.4": {}, "07.3": {}, "07.4": {}, "08.4": {}, "08.5": {},
            "09.1": {"data": polyvore}, "09.2": {}}


RIGHT = {"06.4": lambda sizes: float(np.mean(1 / sizes)),
         "03.4": lambda: {("red", "red"): True, ("green", "green"): True, ("red", "green"): False,
                          ("green", "red"): False},
         "04.4": lambda: (lambda x: (x - 1) ** 2, 1.5),  # slope +1 at 1.5, yet f(0) = 1 > f(1.5) = 0.25
         "05.4": lambda: (lambda x: -2 * x[0] - x[1] + x[2], [0.1, 5.0, 1.0]),  # steep on item 0, large item 1
         "01.1": lambda o: float((o.mask[o.oracle_label > 0].sum(1) <= 3).mean()), "02.3": busy_neighbours,
         "01.2": grey, "01.4": lambda: ["green", "pink", "purple"], "02.2": white_gradient, "03.1": shuffle,
         "04.1": lambda x, grad, mean: ((x - mean) * grad).sum(-1), "05.3": colour_only, "06.3": top1,
         "07.3": kendall, "07.4": lambda v: np.roll(v, 1, axis=1), "08.4": pair,
         "08.5": lambda present: -5.0 * present[2] - 3.0 * (present[0] and present[1]), "09.1": shared,
         "09.2": lambda x, grad: np.roll(np.eye(6), 3, axis=0)}
WRONG = {"06.4": lambda sizes: 1 / float(np.mean(sizes)),  # one over the mean size
         "03.4": lambda: {("red", "red"): True, ("green", "green"): True, ("red", "green"): False,
                          ("green", "red"): True},
         "04.4": lambda: (lambda x: 2 * x, 1.0),  # linear: the slope's guess is exact
         "05.4": lambda: (lambda x: -(x ** 2).sum() / 2, [1.0, 2.0, 3.0]),  # the steepest item is the culprit
         "01.1": lambda o: float((o.mask[o.oracle_label > 0].sum(1) < 3).mean()),  # two items only, not 2 or 3
         "02.3": lambda emb, busy, k: busy[torch.cdist(emb, emb).topk(k, largest=False).indices].float().mean(1),
         "01.2": lambda rgba: rgba[:3].mean(0), "02.2": lambda rgba, tau: torch.zeros_like(rgba),
         "01.4": lambda: ["red", "teal"],  # no clash, but not the largest set (red, orange, yellow has three)
         "02.5": lambda encode: True,
         "03.1": lambda batch, perm: xf.outfits.OutfitBatch({g: v[:, perm] for g, v in batch.features.items()},
                                                            batch.slot, batch.mask, batch.label, batch.items),
         "04.1": lambda x, grad, mean: (x * grad).sum(-1), "05.3": lambda o: np.array([bool(r) for r in o.rules]),
         "06.3": lambda v, m, s: float((v.sum(-1).argmin(1) == s).float().mean()),
         "07.3": lambda a, b: float(np.corrcoef(a, b)[0, 1]), "07.4": lambda v: -v,  # same Gini, total flipped
         "08.4": lambda v, m: v.argsort(1)[:, :2],
         "08.5": lambda present: -3.0 * (present[0] and present[1]),  # the clash alone: the two lowest items find it
         "09.1": lambda data: len({i for _, ids in data.compatibility["test"] for i in ids}),
         "09.2": lambda x, grad: -np.eye(6)}  # a sign flip of every axis leaves each product x[i] * grad[i]


def test_07_4_rejects_a_sign_flip_and_a_rescaling(capsys):
    assert not check("07.4", lambda v: -v)  # the Gini index ignores signs, but the outfit's total flips
    assert "an outfit's total changed" in capsys.readouterr().out
    assert not check("07.4", lambda v: v * 2)  # same Gini, but the total doubles and the culprit stays
    assert "total changed" in capsys.readouterr().out
    assert not check("07.4", lambda v: v + 0)  # nothing moved
    assert "in 200 of 200 outfits the culprit is the same player" in capsys.readouterr().out


def test_the_rules_of_colour_in_the_test_are_the_stylists():
    table = xf.DEFAULT_RULES.describe()
    assert set(table.rule[table.group == "color"]) == {"hue_clash", "neutral_clash", "too_many_colours"}


@pytest.mark.parametrize("exercise", sorted(CHECKS))
def test_a_right_answer_is_correct_a_wrong_one_is_not_and_nothing_raises(exercise, given, catalog, capsys):
    right = colour_blind_of(catalog) if exercise == "02.5" else RIGHT[exercise]
    assert check(exercise, right, **given[exercise])
    assert f"Exercise {exercise}, correct" in capsys.readouterr().out
    assert not check(exercise, WRONG[exercise], **given[exercise])
    assert f"Exercise {exercise}, not yet" in capsys.readouterr().out
    assert not check(exercise, ..., **given[exercise])
    assert "fill in the `...`" in capsys.readouterr().out
    assert not check(exercise, lambda *args: ..., **given[exercise])  # the cell as the chapter ships it
    assert "fill in the `...`" in capsys.readouterr().out


def test_a_result_that_still_holds_a_blank_gets_the_reminder(given, capsys):
    import dataclasses

    def half_done(batch, perm):  # the chapter's 03.1 cell as shipped: fields left as ...
        return dataclasses.replace(batch, features=..., slot=..., mask=..., items=batch.items[:, perm])
    assert not check("03.1", half_done, **given["03.1"])
    assert "fill in the `...`" in capsys.readouterr().out


def test_a_broken_answer_is_reported_and_an_unknown_exercise_is_refused(capsys):
    assert not check("06.3", lambda v, m, s: 1 / 0)
    assert "raised ZeroDivisionError" in capsys.readouterr().out
    with pytest.raises(ValueError, match="No exercise '99.9'"):
        check("99.9", lambda: None)


def test_every_chapter_has_a_fill_in_exercise_whose_solution_the_check_calls_correct():
    import re

    import nbformat

    from xfashion.tour import NOTEBOOK_DIR, notebooks

    checked = set()
    for path in notebooks():
        code = [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        calls = [re.search(r'xf\.exercises\.check\("(\d\d\.\d)"', c) for c in code]
        ids = [m.group(1) for m in calls if m]
        assert ids and all(i.startswith(path.name[:2]) for i in ids), path.name
        blank = code[[k for k, m in enumerate(calls) if m][0] - 1]
        assert "..." in blank, f"{path.name}: the cell before the check leaves no ... to fill in"
        solution = "\n".join(c.source for c in nbformat.read(NOTEBOOK_DIR / "solutions" / path.name,
                                                             as_version=4).cells)
        for i in ids:
            assert f'assert xf.exercises.check("{i}"' in solution, (path.name, i)
        checked.update(ids)
    assert checked == set(CHECKS)
