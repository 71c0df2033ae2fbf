"""The class-demo app's explorer without a browser: where it opens, what every state shows, what it says.

The explorer's ``display`` is replaced by a list, so each redraw's outputs can be counted
(``tests/test_browser.py`` checks the same states in Voila and Chromium).
"""
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import xfashion as xf
from xfashion.data import DEBIAN_DIR
from xfashion.evaluate.sentences import group_name, rule_name, verdict
from xfashion.explain.base import Attribution
from xfashion.scorer import score
from xfashion.viz import widgets

BARE_ID = re.compile(r"^\s*[-\u2212]?\d+\s*$")


@pytest.fixture
def shown(monkeypatch):
    """What the explorer displays, in order (a redraw appends its outputs)."""
    out = []
    monkeypatch.setattr(widgets, "display", lambda *objs: out.extend(objs))
    yield out
    plt.close("all")


def kinds(objs) -> list:
    return [type(o).__name__ for o in objs]


def menus(explorer) -> dict:
    return {c.description: c for c in explorer.children if hasattr(c, "description")}


def test_the_app_opens_on_an_outfit_the_model_and_the_stylist_both_call_bad(wb_small, shown):
    menu = widgets.outfit_menu(wb_small, n_outfits=30)
    assert len(menu) == 30 and menu.outfit.is_unique
    first = int(menu.outfit[0])
    test = wb_small.splits["test"]
    assert test.oracle_label[first] == 0 and float(score(wb_small.model, wb_small.batch([first]))[0]) <= 0
    # the kinds take turns: both bad, a miss, both good, a false alarm, then the next of each (while they last)
    model_bad = score(wb_small.model, wb_small.batch(menu.outfit.tolist())).numpy() <= 0
    kind = np.where(menu.state.eq("they disagree"), np.where(model_bad, "false alarm", "miss"), menu.state)
    present = [k for k in ("both say bad", "miss", "both say good", "false alarm") if k in set(kind)]
    assert len(present) >= 3 and list(kind[:len(present)]) == present  # the first screen holds every kind
    for k in present:
        assert ("stylist good" in menu.label[kind == k].iloc[0]) == (k in ("both say good", "false alarm"))
    runs = {k: list(menu.outfit[kind == k]) for k in present}  # each kind in menu order, dealt out in turns
    dealt = [runs[k][t] for t in range(len(menu)) for k in present if t < len(runs[k])]
    assert dealt == list(menu.outfit)
    assert all(label.endswith("| " + state) for label, state in zip(menu.label, menu.state))
    explorer = xf.viz.explanation_explorer(wb_small, n_outfits=30)
    assert menus(explorer)["outfit"].value == first
    assert "They agree." in shown[0].data and "The model says bad" in shown[0].data


def test_every_state_shows_the_verdict_both_figures_and_a_word_on_the_pair_matrix(wb_small, shown):
    explorer = xf.viz.explanation_explorer(wb_small, n_outfits=30)
    controls = menus(explorer)
    menu = widgets.outfit_menu(wb_small, n_outfits=30)
    one_of_each = menu.drop_duplicates("state").outfit.tolist()[::-1]  # each state, the opening one last
    for outfit in one_of_each:
        shown.clear()
        controls["outfit"].value = int(outfit)  # one redraw, not one per menu that follows the outfit
        assert kinds(shown) == ["HTML", "Figure", "Figure", "HTML", "HTML"], kinds(shown)
        assert "No pair matrix" in shown[3].data and "Images: " in shown[4].data and "Fashion-MNIST" in shown[4].data
    for control, value in (("edit item", 1), ("swap for", controls["swap for"].options[2][1]),
                           ("colour", "red"), ("method", "grad_cam")):
        shown.clear()
        controls[control].value = value
        assert kinds(shown).count("Figure") == 2, (control, kinds(shown))  # the Grad-CAM maps stay
    shown.clear()
    controls["pairs"].value = "pair_removal"
    assert kinds(shown).count("Figure") == 3


def test_without_gradcam_the_explorer_draws_the_explanation_alone(wb_small, shown):
    # chapter 04 explores before chapter 05 defines Grad-CAM: its explorer leaves the maps out, in every state
    fig, cam, said = xf.viz.explain_view(wb_small, gradcam=False)
    assert cam is None and fig.axes and said.startswith("The model says")
    controls = menus(xf.viz.explanation_explorer(wb_small, n_outfits=30, gradcam=False))
    assert kinds(shown) == ["HTML", "Figure", "HTML", "HTML"], kinds(shown)
    shown.clear()
    controls["colour"].value = "red"
    assert kinds(shown).count("Figure") == 1


def test_a_disagreement_and_blame_in_another_group_are_said(wb_small):
    test, catalog = wb_small.splits["test"], wb_small.catalog
    bad = int(np.flatnonzero(test.oracle_label == 0)[0])
    items = test.outfit(bad)
    colors = catalog.color[items]
    attr = xf.attribute(wb_small.model, wb_small.batch([bad]), "ifiv")
    faulted = {v.group for v in xf.outfits.outfit_violations(catalog, items)}
    other = next(g for g in attr.groups if g not in faulted)
    elsewhere = Attribution(attr.values.clone(), attr.mask, "ifiv", attr.groups)
    elsewhere.values[0, 0, attr.groups.index(other)] = -1e6
    # the case: the model calls a bad outfit good and IFIV blames another group than the rule's
    said = verdict(catalog, items, colors, 1.2, elsewhere)
    assert said.startswith("The model says good (p(good) 0.77); the stylist says bad: " + rule_name(test.rules[bad][0]))
    assert "They disagree" in said
    assert f"Note: the explanation's culprit (item, group) is the {group_name(other)} of " in said
    # an item-level method blaming an item no broken rule involves
    involved = {k for v in xf.outfits.outfit_violations(catalog, items) for k in v.items}
    free = [k for k in range(len(items)) if k not in involved]
    if free:
        values = torch.zeros_like(attr.values)
        values[0, free[0]] = -1.0
        item_level = Attribution(values, attr.mask, "grad_cam", attr.groups, item_level=True)
        assert "which no broken rule involves" in verdict(catalog, items, colors, -2.0, item_level)


def test_items_are_picked_by_name_and_the_data_source_is_said_without_a_path(wb_small, shown):
    controls = menus(xf.viz.explanation_explorer(wb_small, n_outfits=30))
    for name in ("outfit", "edit item", "swap for"):
        labels = [label for label, _ in controls[name].options]
        assert not any(BARE_ID.match(label) for label in labels) and len(set(labels)) == len(labels), name
    assert controls["swap for"].options[0] == ("(keep the item)", -1)
    assert all(re.fullmatch(r"[a-z]+: .+ \([a-z]+\)", label) for label, _ in controls["edit item"].options)
    assert widgets.source_phrase(f"folder {DEBIAN_DIR}") == "Fashion-MNIST from Debian's package"
    for source in (f"folder {DEBIAN_DIR}", "folder /home/someone/xfashion/data/fashion-mnist",
                   "explicit path /tmp/fm", "torchvision download", "mini subset fashion-mnist-mini.npz", "other"):
        assert "/" not in widgets.source_phrase(source)


def test_voila_app_mirrors_output_widgets_on_a_shell_socket_of_its_own(monkeypatch):
    """nbclient's stand-in for the Output widget sends its mirror messages on a socket the executor's poll for the
    execute_reply does not use (xfashion.voila_app; the Voila test shows the stall it prevents), one socket per
    executor, in order."""
    from nbclient.output_widget import OutputWidget

    from xfashion import voila_app

    sent, opened = [], []

    class Session:
        def msg(self, msg_type, content, parent, metadata):
            return {"msg_type": msg_type, "content": content, "parent_header": parent}

        def send(self, socket, msg):
            sent.append((socket, msg["msg_type"], msg["content"]["data"]["state"]["outputs"]))

    class Client:
        session = Session()

        class shell_channel:  # noqa: N801 (the executor's channel; the mirror must not use it)
            @staticmethod
            def send(msg):
                raise AssertionError("mirror message sent on the executor's shell socket")

    class Socket:
        closed = False

        def close(self, linger=None):
            self.closed = True

    class Manager:
        def connect_shell(self):
            opened.append(Socket())
            return opened[-1]

    class Executor:
        km = Manager()

    monkeypatch.setattr(OutputWidget, "_publish_msg", OutputWidget._publish_msg)  # restored after the test
    voila_app.patch_output_widget()
    executor = Executor()
    widget = OutputWidget("comm-1", {"outputs": []}, Client(), executor)
    widget.parent_header = {"msg_id": "cell"}
    widget.sync_state()
    widget.outputs = [{"output_type": "stream", "name": "stdout", "text": "hi"}]
    widget.sync_state()
    assert len(opened) == 1 and [s for s, *_ in sent] == opened * 2
    assert [kind for _, kind, _ in sent] == ["comm_msg", "comm_msg"]
    assert [outputs for *_, outputs in sent] == [[], widget.outputs]  # in order: the last state wins
    del widget, executor
    import gc
    gc.collect()
    assert opened[0].closed  # the socket goes with its executor


def test_the_explorer_can_open_on_a_pair_method_and_names_a_wrong_one(wb_small, shown):
    explorer = xf.viz.explanation_explorer(wb_small, n_outfits=10, gradcam=False, pairs="second_order_ifiv")
    assert menus(explorer)["pairs"].value == "second_order_ifiv"
    offered = [m for _, m in menus(explorer)["method"].options]  # the pair view leaves the slow item methods out
    assert "ifiv" in offered and "feature_ablation" in offered and not {"pixel_ig", "grad_cam"} & set(offered)
    # drawn at once: the verdict, the explanation, the pair matrix (no Grad-CAM maps), the items' names
    assert kinds(shown) == ["HTML", "Figure", "Figure", "HTML"] and "No pair matrix" not in shown[0].data
    with pytest.raises(ValueError, match="Unknown pair method 'pair_remover'; choose 'off' or one of"):
        xf.viz.explanation_explorer(wb_small, n_outfits=10, pairs="pair_remover")
