"""The example notebook examples/notebooks/compare_arms.ipynb runs from top to bottom without an
error, in a kernel of this very Python (so of this checkout's abm), and is committed without outputs.
The executed notebook is kept in runs/test-artifacts/ to look at when it fails."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "examples" / "notebooks" / "compare_arms.ipynb"
ARTIFACTS = ROOT / "runs" / "test-artifacts"
KERNEL = "abm-test-python"  # a name no user kernel has, so the search cannot find another Python


def _needed(module: str):
    try:
        return __import__(module)
    except ImportError:
        if os.environ.get("CI"):  # the test extra installs them: missing there is a broken setup
            pytest.fail(f"{module} is not installed: pip install -e '.[test]'")
        pytest.skip(f"{module} is not installed (pip install -e '.[test]')")


def _kernel_of_this_python(folder: Path, monkeypatch) -> None:
    """A kernelspec running sys.executable, found first (JUPYTER_PATH), and this checkout importable."""
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(folder))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))


def test_committed_without_outputs():
    nbformat = _needed("nbformat")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code)


def test_compare_arms_runs(tmp_path, monkeypatch):
    nbformat, nbclient = _needed("nbformat"), _needed("nbclient")
    _needed("ipykernel"), _needed("xarray"), _needed("matplotlib")
    _kernel_of_this_python(tmp_path / "jupyter", monkeypatch)
    monkeypatch.setenv("ABM_NOTEBOOK_RUNS", str(tmp_path / "runs"))  # not runs/notebooks/ of the checkout
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend, as in Jupyter (no display needed)
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    check = f"import sys\nassert sys.executable == {sys.executable!r}, sys.executable"
    notebook.cells.insert(0, nbformat.v4.new_code_cell(check))  # the kernel is this Python
    client = nbclient.NotebookClient(notebook, kernel_name=KERNEL, timeout=240,
                                     resources={"metadata": {"path": str(ROOT / "examples" / "notebooks")}})
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        client.execute()  # raises CellExecutionError, naming the cell, when a cell fails
    finally:
        nbformat.write(notebook, ARTIFACTS / NOTEBOOK.name)
    errors = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs if o.output_type == "error"]
    assert not errors
    for name in ("no_nk.h5", "healthy_nk.h5", "ifng.png", "tumor_by_arm.png"):
        assert (tmp_path / "runs" / name).stat().st_size > 1000, name
    results = [o["data"]["text/plain"] for o in notebook.cells[-1].outputs if o.output_type == "execute_result"]
    assert len(results) == 1 and "'healthy_nk'" in results[0] and "'no_nk'" in results[0]  # the arms' numbers
