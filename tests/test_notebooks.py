"""Checks of the notebooks as files. Executing them is nbval's job: a bare `pytest`
collects `notebooks/` and runs every cell (see pyproject.toml)."""
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXERCISES = sorted((ROOT / "notebooks" / "exercises").glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no .ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS + EXERCISES, ids=lambda p: str(p.relative_to(ROOT / "notebooks")))
def test_stored_without_outputs_or_execution_counts(path):
    notebook = nbformat.read(path, as_version=4)
    dirty = [i for i, cell in enumerate(notebook.cells)
             if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)]
    assert not dirty, f"{path.name}: cells {dirty} have outputs; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS + EXERCISES, ids=lambda p: str(p.relative_to(ROOT / "notebooks")))
def test_opens_with_prose_and_seeds_once(path):
    notebook = nbformat.read(path, as_version=4)
    assert notebook.cells[0].cell_type == "markdown" and notebook.cells[0].source.startswith("# ")
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert code.count("seed_everything(") == 1, f"{path.name} must call seed_everything once, at the top"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_linked_from_the_readme(path):
    assert f"notebooks/{path.name}" in (ROOT / "README.md").read_text()
