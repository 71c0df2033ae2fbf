"""Methods, metrics and a feature group defined in a notebook cell (no source file Python can read back): an
item method, a pair method, two metrics and a group, each one class and a registration or declaration, run
through the swap test and the pair test, the swap test's results cached under a key that follows the
compiled code."""
import nbformat
import pytest

from xfashion.tour import cell_errors, execute_notebook

CELLS = [
    "import numpy as np\nimport xfashion as xf\nfrom xfashion import cache\nfrom xfashion.evaluate import pairs\n"
    "wb = xf.workbench(seed=0, progress=False)",
    # the README's recipe, typed into a cell
    "@xf.explain.register\nclass HalfIFIV(xf.explain.Explainer):\n"
    "    traits = xf.explain.Traits('half_ifiv', gradients=True)\n\n"
    "    def compute(self, run):\n"
    "        return 0.5 * xf.explain.gradient.ifiv(run.model, run.batch, run.groups, run.target)",
    "import inspect\ntry:\n    inspect.getsource(HalfIFIV)\n    readable = True\nexcept (OSError, TypeError):\n"
    "    readable = False\nprint('source readable:', readable)\nkey = cache.digest([HalfIFIV])",
    # a metric is one class and a registration: the swap test's and the pair test's runners score it
    "import torch\nfrom xfashion.evaluate import metrics as xm\n\n"
    "class Top2(xm.CaseMetric):\n"
    "    def __call__(self, attr, cases, **context):\n"
    "        v = attr.item_values()\n"
    "        below = (v < v.gather(1, torch.as_tensor(cases.position)[:, None])).sum(1)\n"
    "        return (below < 2).double().numpy()\n\n"
    "class ClashTop3(xm.CaseMetric):\n"
    "    def __call__(self, attr, cases, **context):\n"
    "        return (xm.METRICS['clash_rank'](attr, cases) <= 3).astype(float)\n\n"
    "xm.register_metric(Top2('item_top2', 'higher', 'the swapped item is among the two lowest', 'swap test', 'item'))\n"
    "xm.register_metric(ClashTop3('clash_top3', 'higher', 'the faulted pair is among the three lowest', 'pair test',\n"
    "                             'pair'))",
    # scaling an explanation by 1/2 keeps every ranking: the same top-1 as IFIV's, case by case
    "report = xf.evaluate.run_swap_evaluation(wb, ['half_ifiv', 'ifiv'], seeds=(0,), quantus_cases=0,\n"
    "                                        sanity_cases=5, progress=False)\n"
    "per = report.per_case.pivot_table(index='case', columns='method', values='item_top1')\n"
    "assert len(per) > 5 and (per['half_ifiv'] == per['ifiv']).all()",
    # a pair method is the same template with level='pair': half of second-order IFIV names the same pairs
    "@xf.explain.register\nclass HalfCurvature(xf.explain.Explainer):\n"
    "    traits = xf.explain.Traits('half_curvature', level='pair', max_cases=8)\n\n"
    "    def compute(self, run):\n"
    "        return 0.5 * xf.explain.pairs.pair_curvature(run.forward, run.inputs, run.inputs, run.batch.slot,\n"
    "                                                     run.mask)",
    "pair = pairs.run_pair_evaluation(wb, ['half_curvature', 'second_order_ifiv', 'random_pairs'], seeds=(0,),\n"
    "                                 implied=('half_ifiv', 'ifiv'), max_cases={'second_order_ifiv': 8},\n"
    "                                 progress=False)\n"
    "top = pair.summary.clash_top1\n"
    "assert top['half_ifiv (two lowest items)'] == top['ifiv (two lowest items)']\n"
    "assert top['half_curvature'] == top['second_order_ifiv'] and pair.summary.cases['half_curvature'] == 8",
    # the runs above scored the two metrics registered before them (one swap run and one pair run, not two each)
    "assert (report.per_case.item_top2 >= report.per_case.item_top1).all()\n"
    "assert report.per_case.item_top2.notna().all() and 'item_top2' in report.summary\n"
    "assert (pair.per_case.clash_top3 >= pair.per_case.clash_top1).all() and 'clash_top3' in pair.summary\n"
    "xm.unregister_metric('item_top2'); xm.unregister_metric('clash_top3')",
    # a feature group is one class (its encoder) and a declaration; the workbench extracts and trains for it, and
    # the swap test gets a kind of its name (a re-colouring changes an item's lightness)
    "import torch.nn as nn\n\n"
    "class Lightness(nn.Module):\n"
    "    def forward(self, rgba):\n"
    "        grey = rgba[..., :3, :, :].mean(-3)\n"
    "        alpha = rgba[..., 3, :, :]\n"
    "        return ((grey * alpha).sum((-2, -1)) / alpha.sum((-2, -1)).clamp_min(1e-6))[..., None]\n\n"
    "groups = xf.DEFAULT_GROUPS.add(xf.FeatureGroup('lightness', 1, ('mean',), encoder=lambda cnn: Lightness(),\n"
    "                                               swap='recolour'))\n"
    "wb3 = xf.workbench(seed=0, progress=False, groups=groups)\n"
    "report = xf.evaluate.run_swap_evaluation(wb3, ['ifiv', 'random'], margin=0.0, sanity_cases=5, quantus_cases=0,\n"
    "                                        progress=False)\n"
    "per = report.per_case[report.per_case.method == 'ifiv']\n"
    "assert set(per.kind) == {'color', 'shape_texture', 'lightness', 'item'}, set(per.kind)\n"
    "assert per[per.kind == 'lightness'].cell_top1.notna().all()\n"
    "pair = pairs.run_pair_evaluation(wb3, ['second_order_ifiv'], seeds=(0,), progress=False)\n"
    "assert pair.n_cases > 0 and wb3.model.groups.names == ['color', 'shape_texture', 'lightness']",
    # the key follows the compiled code: another body, another key
    "class HalfIFIV(xf.explain.Explainer):\n    traits = xf.explain.Traits('half_ifiv', gradients=True)\n\n"
    "    def compute(self, run):\n"
    "        return 0.25 * xf.explain.gradient.ifiv(run.model, run.batch, run.groups, run.target)\n"
    "assert cache.digest([HalfIFIV]) != key\nprint('ok')",
]


@pytest.mark.notebook
def test_a_method_defined_in_a_kernel_cell_runs_the_swap_and_pair_tests(tmp_path):
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS]),
                   tmp_path / "method.ipynb")
    execute_notebook(tmp_path / "method.ipynb", tmp_path / "out", env={"XFASHION_SMALL": "1"}, allow_errors=True)
    assert cell_errors(tmp_path / "out" / "method.ipynb") == []
    nb = nbformat.read(tmp_path / "out" / "method.ipynb", as_version=4)
    assert nb.cells[-1].outputs[0]["text"] == "ok\n"
