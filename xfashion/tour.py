"""Execute the notebooks in order, each in a fresh kernel (the main job, ``make tour``)."""
from __future__ import annotations

import os
import time
from pathlib import Path

from .utils import REPO_ROOT

NOTEBOOK_DIR = REPO_ROOT / "notebooks"


def notebooks() -> list:
    """The tour's notebooks, in reading order."""
    return sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


def execute_notebook(path: str | Path, out_dir: str | Path, timeout: int = 900, env: dict | None = None) -> float:
    """Run one notebook top to bottom in a fresh kernel and save the executed copy.

    Parameters
    ----------
    path : path of the notebook
    out_dir : folder for the executed copy
    timeout : seconds allowed per cell
    env : extra environment variables for the kernel (e.g. ``XFASHION_SMALL``)

    Returns
    -------
    float
        Seconds taken.

    Raises
    ------
    RuntimeError
        Naming the notebook and the failing cell's error when a cell fails.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    path, out_dir = Path(path), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(path, as_version=4)
    old = dict(os.environ)
    os.environ.update(env or {})
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    start = time.perf_counter()
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    except CellExecutionError as err:
        nbformat.write(nb, out_dir / path.name)
        raise RuntimeError(f"Notebook {path.name} failed; executed copy in {out_dir / path.name}.\n{err}") from None
    finally:
        os.environ.clear()
        os.environ.update(old)
    nbformat.write(nb, out_dir / path.name)
    return time.perf_counter() - start


def run_tour(out_dir: str | Path = REPO_ROOT / "build", only: list | None = None) -> list:
    """Execute every notebook in order; returns ``[(name, seconds), ...]``."""
    done = []
    for path in notebooks():
        if only and not any(key in path.name for key in only):
            continue
        seconds = execute_notebook(path, out_dir)
        print(f"  {path.name:<36} {seconds:6.1f} s", flush=True)
        done.append((path.name, seconds))
    return done
