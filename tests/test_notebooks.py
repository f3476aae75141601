"""The notebooks in ``notebooks/``: committed without outputs, and they run end to end.

Each notebook is executed by nbclient in a fresh temporary working directory
(everything it writes goes under ``./_work`` there, never in the repository),
with a ``python3`` kernel spec written for the interpreter running the tests, so
the kernel imports the same ``mlscore`` as the test session.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbclient
import nbformat
import pytest
from ipykernel import kernelspec  # dev extra: a missing package fails, never skips

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["01_quickstart.ipynb", "02_bring_your_own_data.ipynb"]
CELL_TIMEOUT_S = 900


def _read(name: str):
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def test_every_notebook_is_listed() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_committed_without_outputs(name: str) -> None:
    book = _read(name)
    nbformat.validate(book)
    code = [c for c in book.cells if c.cell_type == "code"]
    assert code, f"{name} has no code cell"
    dirty = [i for i, c in enumerate(code) if c.outputs or c.execution_count is not None]
    assert dirty == [], f"{name}: code cells {dirty} hold outputs; clear them before committing"
    assert book.metadata.kernelspec.name == "python3"


@pytest.fixture
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A ``python3`` kernel spec for this interpreter, found first on JUPYTER_PATH."""
    spec_dir = tmp_path / "jupyter" / "kernels" / "python3"
    kernelspec.write_kernel_spec(path=str(spec_dir))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.setenv("PYTHONHASHSEED", "0")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    return cwd


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name: str, kernel_env: Path) -> None:
    book = _read(name)
    book.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.executable)"))
    client = nbclient.NotebookClient(
        book,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(kernel_env)}},
    )
    client.execute()

    # the kernel ran on this interpreter (hence this checkout's mlscore)
    last = book.cells[-1].outputs
    assert last and last[0]["text"].strip() == sys.executable
    # every code cell ran, none raised
    code = [c for c in book.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert errors == []
    # what the notebook wrote stayed in its working directory
    work = kernel_env / "_work"
    assert (work / "mlflow.db").is_file()
    if name == "01_quickstart.ipynb":
        assert (work / "report.html").stat().st_size > 0
        assert (work / "report_fr.html").stat().st_size > 0
        assert (work / "predictions.parquet").is_file()
