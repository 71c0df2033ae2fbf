"""The house: imports point one way, modules stay readable, costs are measured, records keep their fields,
and careless arguments get messages that name them."""
import ast
import dataclasses
import subprocess
import sys

import numpy as np
import pytest
import torch

import xfashion as xf
from xfashion.cli import main as cli_main
from xfashion.utils import REPO_ROOT

PACKAGE = REPO_ROOT / "xfashion"


def module_imports() -> dict:
    """``{module: set of xfashion modules it imports}`` read from the source (module-level and inside functions)."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(REPO_ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                deps.add(target)
                deps.update(f"{target}.{a.name}" for a in node.names)
        graph[name] = deps
    return {m: {d for d in deps if d in graph and d != m} for m, deps in graph.items()}


def test_no_import_circle_between_modules():
    graph = module_imports()
    # a package's __init__ hands names on; a circle through it is not a circle between modules
    graph = {m: {d for d in deps if not (PACKAGE / d.replace("xfashion.", "", 1).replace(".", "/")).is_dir()}
             for m, deps in graph.items() if not (PACKAGE / m.replace("xfashion.", "", 1).replace(".", "/")).is_dir()}
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == "open":
                raise AssertionError("import circle: " + " -> ".join(stack[stack.index(d):] + [d]))
            if d not in state:
                visit(d)
        stack.pop()
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m)
    # the chapter-01 ground truth stands below the CNN: rules know the group names, not the encoders
    assert "xfashion.groups" in graph["xfashion.rules"]
    assert not {"xfashion.features", "xfashion.cnn"} & graph["xfashion.rules"]


def test_the_architecture_page_lists_every_module():
    text = (REPO_ROOT / "docs" / "architecture.md").read_text()
    layering = text[text.index("The package, in chapter order"):text.index("## Development")]
    missing = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                     if p.stem not in ("__init__", "__main__") and f"`{p.stem}`" not in layering)
    assert not missing, f"modules docs/architecture.md's layering does not list: {missing}"


def test_no_module_over_450_lines():
    long = {str(p.relative_to(REPO_ROOT)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 450}
    assert not long, f"modules over 450 lines: {long}"


# ----------------------------------------------------------------------------- measured passes
def test_passes_are_counted_by_hooks_whatever_calls_the_model(wb_small):
    @xf.explain.register
    class ThreeForwards(xf.explain.Explainer):
        traits = xf.explain.Traits("three_forwards")

        def compute(self, run):
            with torch.no_grad():
                for _ in range(3):  # the model called directly, not through any counted wrapper
                    run.model(run.batch.features, run.batch.slot, run.batch.mask)
            return torch.zeros(*run.mask.shape, len(run.groups))

    try:
        batch = wb_small.batch(np.arange(4))
        attr = xf.attribute(wb_small.model, batch, "three_forwards")
        assert (attr.forward_passes, attr.backward_passes) == (3, 0)
    finally:
        xf.explain.unregister("three_forwards")
    ifiv = xf.attribute(wb_small.model, batch, "ifiv")
    assert (ifiv.forward_passes, ifiv.backward_passes) == (1, 1)
    ig = xf.attribute(wb_small.model, batch, "ig", n_steps=7)
    # 7 steps with gradients, plus the input and the baseline that Captum's convergence delta scores
    assert (ig.forward_passes, ig.backward_passes) == (7 + 2, 7)
    ablation = xf.attribute(wb_small.model, batch, "feature_ablation", **wb_small.options())
    # one pass for the outfit, then one per (slot, group): padding slots too, Captum ablates whole columns
    assert ablation.forward_passes == 1 + batch.mask.shape[1] * 2 and ablation.backward_passes == 0
    # the hooks are always released
    assert not wb_small.model._forward_hooks


def test_pixel_methods_are_counted_through_the_same_hooks(wb_small):
    batch = wb_small.batch(np.arange(2), images=True)
    cam = xf.attribute(wb_small.model, batch, "grad_cam", **wb_small.options())
    assert (cam.forward_passes, cam.backward_passes) == (1, 1)
    assert not wb_small.model._forward_hooks


# ----------------------------------------------------------------------------- records by field name
def test_take_and_concat_keep_per_outfit_extras(wb_small):
    batch = wb_small.batch(np.arange(6))
    ig = xf.attribute(wb_small.model, batch, "ig", n_steps=5)
    part = ig.take([4, 1])
    torch.testing.assert_close(part.extras["convergence_delta"], ig.extras["convergence_delta"][[4, 1]])
    assert dataclasses.replace(ig, extras={}) != ig  # extras are a real field, compared and copied
    joined = xf.evaluate.agreement.concat_attributions([ig.take([0, 1, 2]), ig.take([3, 4, 5])])
    torch.testing.assert_close(joined.values, ig.values)
    torch.testing.assert_close(joined.extras["convergence_delta"], ig.extras["convergence_delta"])
    assert joined.forward_passes == ig.forward_passes


def test_swap_case_subsets_keep_every_field(wb_small):
    cases = xf.evaluate.swap.build_swap_cases(wb_small, n_outfits=20, margin=0.0, per_kind=4)
    keep = np.arange(len(cases))[::2]
    part = cases.subset(keep)
    for f in dataclasses.fields(cases):
        value, whole = getattr(part, f.name), getattr(cases, f.name)
        if f.name in xf.evaluate.swap.PER_CASE_ARRAYS:
            np.testing.assert_array_equal(value, whole[keep])
        elif f.name == "batch":
            torch.testing.assert_close(value.mask, whole.mask[keep])
        elif f.name == "blame":
            torch.testing.assert_close(value, whole[keep])
        else:
            assert value == whole, f.name
    plain = xf.evaluate.report._cases_from_plain(xf.evaluate.report._cases_to_plain(cases))
    for f in dataclasses.fields(cases):
        if f.name in xf.evaluate.swap.PER_CASE_ARRAYS:
            np.testing.assert_array_equal(getattr(plain, f.name), getattr(cases, f.name))


# ----------------------------------------------------------------------------- float64 for gradient checks
def test_a_double_model_takes_double_features_and_passes_gradcheck(wb_small):
    model = xf.scorer.PairwiseSetScorer(hidden=8, pair_hidden=8).double().eval()
    batch = wb_small.batch(np.arange(3))
    double = batch.with_features({g: v.double() for g, v in batch.features.items()})

    def logit_of_colour(color):
        return model({**double.features, "color": color}, double.slot, double.mask)

    color = double.features["color"].clone().requires_grad_(True)
    assert torch.autograd.gradcheck(logit_of_colour, (color,), eps=1e-6, atol=1e-5)
    ifiv = xf.attribute(model, double, "ifiv")
    ixg = xf.attribute(model, double, "input_x_gradient")
    assert ifiv.values.dtype == torch.float64
    torch.testing.assert_close(ifiv.values, ixg.values, rtol=1e-12, atol=1e-12)
    # a mismatch is refused, naming both dtypes and the fix
    with pytest.raises(ValueError, match=r"float32.*computes in torch.float64"):
        model(batch.features, batch.slot, batch.mask)
    with pytest.raises(ValueError, match=r"float64, but the model computes in torch.float32"):
        xf.attribute(wb_small.model, double, "ifiv")


# ----------------------------------------------------------------------------- careless arguments
def test_a_taken_method_name_is_refused_not_replaced(wb_small):
    with pytest.raises(ValueError, match="already registered by IFIV"):
        @xf.explain.register
        class MyIFIV(xf.explain.Explainer):
            traits = xf.explain.Traits("ifiv")
    assert xf.explain.get_method("ifiv") is xf.explain.IFIV
    with pytest.raises(ValueError, match="Unknown method 'nothing'"):
        xf.explain.unregister("nothing")


def test_repeated_values_where_a_set_is_meant_are_refused(wb_small, capsys):
    with pytest.raises(ValueError, match="seeds repeats 0"):
        xf.evaluate.run_swap_evaluation(wb_small, ["ifiv"], seeds=(0, 0), progress=False)
    with pytest.raises(ValueError, match="methods repeats integrated_gradients"):
        xf.evaluate.run_swap_evaluation(wb_small, ["ig", "integrated_gradients"], progress=False)
    with pytest.raises(SystemExit):
        cli_main(["evaluate", "--seeds", "1", "1"])
    assert "--seeds repeats a seed" in capsys.readouterr().err


def _bad_cases(wb, **kwargs):
    """run_swap_evaluation on a handful of cases without the sanity check or Quantus: the argument is the question."""
    return xf.evaluate.run_swap_evaluation(wb, **{"methods": ["ifiv"], "n_outfits": 100, "per_kind": 2,
                                                  "sanity_cases": 0, "quantus_cases": 0, "progress": False,
                                                  "use_cache": False, **kwargs})


def _table(wb):
    return xf.evaluate.case_table(wb, [0, 1])


# each careless call of an evaluation entry point, and the start of the one-line message it gets before any work
@pytest.mark.parametrize("call, message", [
    (lambda wb: xf.evaluate.explain_all(wb, [0, 1, 2], ["ifiv"], chunk=0), "chunk must be a positive integer; got 0."),
    (lambda wb: xf.evaluate.explain_all(wb, [0, 1], ["ifiv"], chunk=2.5), "chunk must be a positive integer; got 2.5."),
    (lambda wb: xf.evaluate.explain_all(wb, [0, 1], []), "explain_all needs at least one method, e.g. ['ifiv', "),
    (lambda wb: xf.evaluate.explain_all(wb, [], ["ifiv"]), "explain_all needs at least one outfit index; got none."),
    (lambda wb: xf.evaluate.explain_all(wb, [0, 1], "ifiv"),
     "explain_all takes a list of method names, e.g. ['ifiv']; got the string 'ifiv'."),
    (lambda wb: xf.evaluate.explain_all(wb, [0, 1], ["ig"], options={"ig": 5}),
     "options maps a method to its keyword options, e.g. options={'ig': {'n_steps': 16}}; got {'ig': 5}."),
    (lambda wb: xf.evaluate.agreement.attribute_in_chunks(wb.model, lambda rows, images: wb.batch(rows), 0, "ifiv", {}),
     "n (the number of outfits) must be a positive integer; got 0."),
    (lambda wb: xf.evaluate.method_agreement({}), "method_agreement takes {method: Attribution} with at least one"),
    (lambda wb: xf.evaluate.cost_table([]), "cost_table takes {method: Attribution} with at least one method, as "
                                            "explain_all returns; got a list."),
    (lambda wb: xf.evaluate.oracle_agreement({}, None), "oracle_agreement takes {method: Attribution}"),
    (lambda wb: xf.evaluate.pick_case(_table(wb), "n_rule == 1"), "pick_case cannot read the rule 'n_rule == 1'"),
    (lambda wb: xf.evaluate.pick_case(_table(wb), 3), "pick_case's rule is a query string, e.g. 'n_rules == 1 and"),
    (lambda wb: _bad_cases(wb, methods=[]), "run_swap_evaluation needs at least one method, e.g. ['ifiv', 'random']; "
                                            "pass None for the book's list"),
    (lambda wb: _bad_cases(wb, methods="ifiv"), "run_swap_evaluation takes a list of method names, e.g. ['ifiv']"),
    (lambda wb: _bad_cases(wb, seeds=0), "seeds must name at least one scorer seed, e.g. seeds=(0, 1, 2); got 0."),
    (lambda wb: _bad_cases(wb, seeds=()), "seeds must name at least one scorer seed, e.g. seeds=(0, 1, 2); got ()."),
    (lambda wb: _bad_cases(wb, max_cases={"ig": 3}), "max_cases caps ['ig'], which this run does not evaluate; its "
                                                     "methods are ['ifiv'] (write a method's full name"),
    (lambda wb: _bad_cases(wb, max_cases={"ifiv": 0}), "max_cases['ifiv'] must be a positive integer; got 0."),
    (lambda wb: xf.evaluate.swap.build_swap_cases(wb, protocol="x"), "Unknown protocol 'x'; choose from "),
    (lambda wb: wb.batch([0, -1]), "Outfit indices count from 0; got -1. For the last test outfit pass "),
    (lambda wb: wb.scorer(0, {"activaton": "relu"}),
     "Unknown design option 'activaton'; a design sets any of kind, hidden, "),
    (lambda wb: _bad_cases(wb, max_cases=[3]), "max_cases maps a method to its cap on cases, e.g. {'pixel_ig': 24}"),
])
def test_careless_calls_of_the_evaluation_get_a_message_naming_the_argument(wb_small, call, message):
    with pytest.raises(ValueError) as error:
        call(wb_small)
    assert str(error.value).startswith(message)


def test_group_names_and_sizes_are_checked():
    with pytest.raises(ValueError, match="already taken"):
        xf.DEFAULT_GROUPS.add(xf.FeatureGroup("color", 1, ("x",)))
    with pytest.raises(ValueError, match="already taken"):
        xf.DEFAULT_GROUPS.add(xf.FeatureGroup("slot", 1, ("x",)))
    with pytest.raises(ValueError, match="size must be an integer >= 1"):
        xf.FeatureGroup("empty", 0, ())
    with pytest.raises(ValueError, match="2 dim_names for size 3"):
        xf.FeatureGroup("short", 3, ("a", "b"))
    with pytest.raises(ValueError, match="repeat a name"):
        xf.FeatureGroup("twice", 2, ("a", "a"))


@pytest.mark.parametrize("call, message", [
    (lambda c, f, m: xf.analysis.busy_examples(c, n=0), "n must be a positive integer"),
    (lambda c, f, m: xf.viz.plot_item_grid(m.train_images, m.train_labels, per_category=0),
     "per_category must be a positive integer"),
    (lambda c, f, m: xf.explain.reference_outfits(f.tables, k=-2), "k must be a positive integer"),
    (lambda c, f, m: xf.analysis.nearest_neighbours(f["color"], 0, k=-1), "k must be a positive integer"),
    (lambda c, f, m: xf.analysis.embedding_map(f["color"], n=0), "n must be an integer >= 2"),
    (lambda c, f, m: xf.analysis.color_invariance(f.extractor, c, n=0), "n must be a positive integer"),
    (lambda c, f, m: xf.analysis.top_confusions(f.cnn.confusion, k=0), "k must be a positive integer"),
    (lambda c, f, m: xf.cnn.train_shape_cnn(m, epochs=1, batch_size=0, use_cache=False),
     "batch_size must be a positive integer"),
    (lambda c, f, m: xf.cnn.train_shape_cnn(m, epochs=-1, use_cache=False), "epochs must be a positive integer"),
    (lambda c, f, m: xf.cnn.train_shape_cnn(m, max_train=0, use_cache=False), "max_train must be a positive integer"),
    (lambda c, f, m: xf.extract_features(c, f.cnn, batch_size=0, use_cache=False),
     "batch_size must be a positive integer"),
    (lambda c, f, m: xf.evaluate.metrics.bootstrap_ci([1, 0, 1], n_boot=0), "n_boot must be a positive integer"),
    (lambda c, f, m: xf.viz.plot_methods_panel({}, ncols=0), "ncols must be a positive integer"),
])
def test_zero_or_negative_sizes_name_the_argument(catalog, tiny_feats, mini, call, message):
    with pytest.raises(ValueError, match=f"^{message}; got"):
        call(catalog, tiny_feats, mini)


def test_zero_epochs_or_batch_for_the_scorer_are_refused(catalog, splits, tiny_feats, wb_small):
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        xf.train_scorer(catalog, splits, tiny_feats, epochs=0, use_cache=False, progress=False)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        xf.train_scorer(catalog, splits, tiny_feats, batch_size=0, use_cache=False, progress=False)
    with pytest.raises(ValueError, match="chunk must be a positive integer"):
        xf.score(wb_small.model, wb_small.batch([0]), chunk=0)


def test_importing_xfashion_leaves_the_heavy_libraries_for_first_use():
    code = ("import sys, xfashion as xf\n"
            "heavy = ('captum', 'quantus', 'matplotlib.pyplot', 'seaborn', 'ipywidgets', 'PIL', 'scipy', 'shapiq')\n"
            "print(sorted(m for m in heavy if m in sys.modules))\n"
            "xf.viz.show_outfit, xf.evaluate.run_swap_evaluation\n"
            "print(sorted(m for m in ('matplotlib.pyplot', 'seaborn') if m in sys.modules), 'viz' in dir(xf))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == ["[]", "['matplotlib.pyplot', 'seaborn'] True"]
