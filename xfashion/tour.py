"""Execute the notebooks in order, each in a fresh kernel (the main job, ``make tour``)."""
from __future__ import annotations

import html
import json
import os
import re
import resource
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import nbformat
from jupyter_client import KernelManager

from .cache import RETRAIN_HINT, pretrained_enabled
from .pipeline import MINI_BANNER, stands_in
from .utils import CLONE_HINT, MALLOC_ENV, REPO_ROOT, check_seed, small_mode

NOTEBOOK_DIR = REPO_ROOT / "notebooks"
SOLUTIONS = "solutions"  # notebooks/solutions/ -> build/solutions/, shown in the book after their chapter


def notebooks() -> list:
    """The tour's notebooks, in reading order."""
    if not NOTEBOOK_DIR.is_dir():
        raise FileNotFoundError(f"No notebooks at {NOTEBOOK_DIR}. {CLONE_HINT}")
    return sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


def execute_notebook(path: str | Path, out_dir: str | Path, timeout: int = 900, env: dict | None = None,
                     parameters: dict | None = None, allow_errors: bool = False) -> float:
    """Run one notebook top to bottom in a fresh kernel with papermill and save the executed copy.

    Papermill injects ``parameters`` in a cell after the one tagged ``parameters`` and records each
    cell's start, end and duration in the copy's metadata.

    Parameters
    ----------
    path : path of the notebook
    out_dir : folder for the executed copy
    timeout : seconds allowed per cell
    env : extra environment variables for the kernel (e.g. ``XFASHION_SMALL``)
    parameters : values that replace the notebook's ``parameters`` cell (e.g. ``{"SEED": 3}``)
    allow_errors : run every cell even after one fails (read the failures with :func:`cell_errors`)

    Returns
    -------
    float
        Seconds taken.

    Raises
    ------
    ValueError
        When ``parameters`` are given and the notebook has no cell tagged ``parameters``.
    RuntimeError
        Naming the notebook and the failing cell's error when a cell fails (unless ``allow_errors``).
    """
    import papermill

    path, out_dir = Path(path), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # papermill would put the values at the top of a notebook without the tag, silently
    if parameters and not any("parameters" in c.get("metadata", {}).get("tags", [])
                              for c in nbformat.read(path, as_version=4).cells):
        raise ValueError(f"{path.name} has no cell tagged 'parameters' (e.g. SEED = 0) to override.")
    old = dict(os.environ)
    os.environ.update(env or {})
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    for key, value in MALLOC_ENV.items():  # a laptop-sized memory budget in the kernel (see release_freed_memory)
        os.environ.setdefault(key, value)
    start = time.perf_counter()
    # a local kernel over IPC sockets: over TCP every kernel start warns that traffic is unencrypted
    sockets = tempfile.mkdtemp(prefix="xfashion-kernel-")
    km = KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(sockets, "kernel"))
    failure = None
    try:
        papermill.execute_notebook(path, out_dir / path.name, parameters=parameters or None, kernel_name="python3",
                                   language="python", progress_bar=False, cwd=str(path.parent),
                                   execution_timeout=timeout, km=km, allow_errors=allow_errors)
    except papermill.PapermillExecutionError as err:
        failure = err
    finally:
        os.environ.clear()
        os.environ.update(old)
        if km.has_kernel:  # a kernel manager we pass in is ours to shut down
            km.shutdown_kernel()
        shutil.rmtree(sockets, ignore_errors=True)
    nb = nbformat.read(out_dir / path.name, as_version=4)
    # papermill marks a failure with banner cells (top of the notebook, before the cell): the error output
    # says it already, and the banners would shift every cell index that cell_errors reports
    nb.cells = [c for c in nb.cells if "papermill-error-cell-tag" not in c.get("metadata", {}).get("tags", [])]
    finish_progress_bars(nb)
    nbformat.write(nb, out_dir / path.name)
    if failure is not None and not allow_errors:
        raise RuntimeError(f"Notebook {path.name} failed in cell {failure.exec_count}; executed copy in "
                           f"{out_dir / path.name}.\n{failure.ename}: {failure.evalue}") from None
    return time.perf_counter() - start


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def finish_progress_bars(nb) -> int:
    """Replace each tqdm progress-bar widget in an executed notebook by one line of text: its final state.

    A bar drawn in a kernel is a widget whose plain-text view is frozen at its start ("0%| | 0/3"); the
    rendered book, text views and exporters that cannot run widgets show that. The final state is in the
    notebook's stored widget state. Returns the number of bars replaced.
    """
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    replaced = 0
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            line = _bar_line(state, out.get("data", {}).get(WIDGET_VIEW, {}).get("model_id"))
            if line is not None:
                out["data"] = {"text/plain": line}
                replaced += 1
    return replaced


def _bar_line(state: dict, model_id) -> str | None:
    """``desc: 100%|██████████| 3/3 [00:12<00:00, 4.1s/it]`` for tqdm's widget (an HBox of HTML, FloatProgress,
    HTML), None for any other widget."""
    box = state.get(model_id) or {}
    children = [state.get(str(c).removeprefix("IPY_MODEL_"), {}) for c in box.get("state", {}).get("children", [])]
    if box.get("model_name") != "HBoxModel" or [c.get("model_name") for c in children] != [
            "HTMLModel", "FloatProgressModel", "HTMLModel"]:
        return None
    left, bar, right = (c.get("state", {}) for c in children)
    plain = [html.unescape(str(part.get("value", ""))).replace("\u2007", " ") for part in (left, right)]
    # the count text ("13/13") is tqdm's last word: a bar whose total was cut short (early stopping) keeps
    # the widget's old maximum, so the share comes from the text where it has one
    count = re.search(r"(\d+)/(\d+)", plain[1])
    if count and int(count.group(2)):
        share = int(count.group(1)) / int(count.group(2))
    else:
        share = (bar.get("value") or 0) / bar["max"] if bar.get("max") else 1.0
    return f"{plain[0]}|{'█' * round(10 * share):<10}|{plain[1]}"


def cell_errors(executed: str | Path) -> list:
    """``(cell index, error name, message)`` of every cell of an executed notebook that raised."""
    nb = nbformat.read(executed, as_version=4)
    return [(i, o.get("ename", ""), o.get("evalue", "")) for i, c in enumerate(nb.cells) if c.cell_type == "code"
            for o in c.get("outputs", []) if o.get("output_type") == "error"]


def fashion_mnist_source() -> str:
    """Where the chapters will find Fashion-MNIST (the source chain's choice), without keeping the images."""
    from .data import load_fashion_mnist
    with warnings.catch_warnings():  # the mini subset's warning: the tour says it louder (MINI_BANNER)
        warnings.simplefilter("ignore")
        return load_fashion_mnist(verbose=False).source


def kernels_peak_rss_mb() -> float:
    """Largest resident memory of any finished child process (the notebook kernels), in MiB."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0


def run_tour(out_dir: str | Path = REPO_ROOT / "build", only: list | None = None,
             require_shipped: bool = False, solutions: bool = False, data_seed: int | None = None) -> list:
    """Execute every notebook in order; returns ``[(name, seconds), ...]``.

    Also writes ``tour.json`` into ``out_dir``: seconds per notebook, the total, the peak resident
    memory of any kernel so far after each notebook (measured by the OS), and ``trained_live``: the
    models a chapter had to train because no shipped weights matched (see :mod:`xfashion.weights`).
    With ``solutions``, each chapter's worked solutions run after it, into ``out_dir/solutions/``
    (the book shows them); ``seconds`` then counts them too, ``chapter_seconds`` the chapters alone.
    With ``data_seed``, every chapter runs with ``SEED = data_seed`` (its catalog, splits, CNN and
    scorers; no shipped model matches, so they train): every ``xf.claim`` is checked on other data.

    Raises
    ------
    RuntimeError
        With ``require_shipped``, when a model was trained live on full data: the book's numbers
        would then not be the shipped models' (CI runs the tour this way).
    """
    if data_seed is not None:
        data_seed = check_seed(data_seed)
        if require_shipped and data_seed != 0:
            raise ValueError("--require-shipped holds for data seed 0 only: the book ships the models of seed 0.")
        if solutions and data_seed != 0:  # they load seed 0's artifacts by name; they have no parameters cell
            raise ValueError("--solutions runs on data seed 0 only: the worked solutions are written for the "
                             "book's data seed. Drop --solutions to check the chapters on another seed.")
    parameters = None if data_seed is None else {"SEED": data_seed}
    # small-data mode never stands in for the full data: no need to read the images just to name their source
    source = None if small_mode() else fashion_mnist_source()
    if source and stands_in(source):
        print(MINI_BANNER, file=sys.stderr, flush=True)
    done, record = [], {"notebooks": {}, "small_mode": small_mode(), "pretrained": pretrained_enabled(),
                        "data_seed": 0 if data_seed is None else data_seed, "data_source": source}
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    live_log = Path(out_dir) / "trained-live.txt"
    live_log.unlink(missing_ok=True)
    start, failed = time.perf_counter(), []
    for path in notebooks():
        if only and not any(key in path.name for key in only):
            continue
        # with solutions: each chapter, then its worked solutions (reusing the chapter's cached artifacts)
        solution = path.parent / SOLUTIONS / path.name
        runs = [(path, Path(out_dir), path.name)]
        if solutions and solution.is_file():
            runs.append((solution, Path(out_dir) / SOLUTIONS, f"{SOLUTIONS}/{path.name}"))
        for nb, folder, name in runs:
            # a solution trains the models its exercise asks for: the book does not ship those
            env = {} if folder.name == SOLUTIONS else {"XFASHION_LIVE_LOG": str(live_log)}
            # on another data seed every cell runs, so that one false claim does not hide the next ones
            # the solutions have no parameters cell: they run as written, on seed 0 (the only seed they accept)
            given = None if folder.name == SOLUTIONS else parameters
            seconds = execute_notebook(nb, folder, env=env, parameters=given, allow_errors=parameters is not None)
            if parameters is not None:
                failed += [(name, *err) for err in cell_errors(folder / nb.name)]
            peak = kernels_peak_rss_mb()
            print(f"  {name:<46} {seconds:6.1f} s   peak kernel memory so far {peak:6.0f} MiB", flush=True)
            done.append((name, seconds))
            record["notebooks"][name] = {"seconds": round(seconds, 1), "peak_rss_mb_so_far": round(peak, 1)}
    record["seconds"] = round(time.perf_counter() - start, 1)
    record["chapter_seconds"] = round(sum(t for name, t in done if not name.startswith(SOLUTIONS)), 1)
    record["peak_rss_mb"] = round(kernels_peak_rss_mb(), 1)
    record["trained_live"] = sorted(set(live_log.read_text().split())) if live_log.exists() else []
    record["failed_cells"] = [{"notebook": n, "cell": i, "error": e, "message": m} for n, i, e, m in failed]
    (Path(out_dir) / "tour.json").write_text(json.dumps(record, indent=1))
    if failed:
        raise RuntimeError(f"{len(failed)} cell(s) failed on data seed {data_seed}:\n" + "\n".join(
            f"  {n} cell {i}: {e}: {m.strip()[:300]}" for n, i, e, m in failed))
    if require_shipped and record["trained_live"]:
        raise RuntimeError(f"The tour trained {len(record['trained_live'])} model(s) without shipped weights: "
                           f"{', '.join(record['trained_live'])}. {RETRAIN_HINT[0].upper()}{RETRAIN_HINT[1:]}, "
                           "then commit data/weights/.")
    return done
