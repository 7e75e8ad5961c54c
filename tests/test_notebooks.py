"""The Jupyter runbooks: each one runs end to end on the simulator, and is saved without outputs."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXPECTED = {"ahub", "fleet-audit", "leaving-windows-server-2019", "migrate", "patch", "rotate-password"}


def test_every_procedure_has_a_runbook() -> None:
    assert {path.stem for path in NOTEBOOKS} >= EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_saved_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear the outputs"


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``python3`` kernelspec running this interpreter, whatever other kernelspecs the machine has.

    The kernel imports the checkout under test first (as pytest does), not whatever else is installed.
    """
    root = tmp_path_factory.mktemp("kernels")
    spec = root / "python3"
    spec.mkdir()
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (tests)",
                "language": "python",
                "env": {
                    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
                },
            }
        )
    )
    return root


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_runs_end_to_end_on_the_simulator(path: Path, kernel_dir: Path, tmp_path: Path) -> None:
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager

    notebook = nbformat.read(path, as_version=4)
    probe = any("NEW_PASSWORD" in cell.source for cell in notebook.cells)
    if probe:  # print the password once, at the very end, to prove no other output ever showed it
        notebook.cells.append(nbformat.v4.new_code_cell('print("PROBE:" + NEW_PASSWORD.reveal())'))
    manager = KernelManager(
        kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernel_dir)])
    )
    client = nbclient.NotebookClient(
        notebook,
        km=manager,
        kernel_name="python3",
        timeout=120,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # a failing cell (an assert in a Verify step included) raises CellExecutionError
    outputs = [
        output for cell in notebook.cells if cell.cell_type == "code" for output in cell.get("outputs", [])
    ]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    html = "".join(str(o.get("data", {}).get("text/html", "")) for o in outputs)
    assert "<table" in html, "plans and reports display as HTML tables"
    text = "".join(str(o.get("text", "")) for o in outputs)
    assert "Not applied" not in text, "on the simulator the runbook confirms and applies"
    if probe:
        *cells, last = [cell for cell in notebook.cells if cell.cell_type == "code"]
        password = last.outputs[0]["text"].strip().removeprefix("PROBE:")
        assert len(password) >= 14
        shown = "".join(
            str(o.get("text", ""))
            + str(o.get("evalue", ""))
            + "".join(str(v) for v in o.get("data", {}).values())
            for cell in cells
            for o in cell.get("outputs", [])
        )
        assert password not in shown, "the new password appeared in a notebook output"
