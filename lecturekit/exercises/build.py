"""Build the student copies of the exercise notebooks: every solution replaced by a stub.

    python -m lecturekit.exercises build [--output-dir DIR] [notebooks ...]

In the instructor notebooks (notebooks/exercises/*.ipynb) each solution sits between two marker
lines, as nbgrader marks them:

    ### BEGIN SOLUTION
    return 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(dim=-1)
    ### END SOLUTION

The student copy has, in their place, one line with the indentation of the BEGIN marker:

    raise NotImplementedError("write your solution here")

Outputs and execution counts are stripped; the stored notebooks are left untouched.
"""
import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
EXERCISES_DIR = ROOT / "notebooks" / "exercises"
OUTPUT_DIR = ROOT / "_build" / "exercises"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = 'raise NotImplementedError("write your solution here")'


def strip_solutions(source, where="cell"):
    """`source` with each BEGIN/END SOLUTION block replaced by the stub, indented as BEGIN was.

    Raises ValueError, naming `where`, for a marker without its partner.
    """
    lines, inside, indent = [], False, ""
    for number, line in enumerate(source.splitlines(), start=1):
        marker = line.strip()
        if marker == BEGIN:
            if inside:
                raise ValueError(f"{where}, line {number}: {BEGIN} inside another solution")
            inside, indent = True, line[: len(line) - len(line.lstrip())]
            lines.append(indent + STUB)
        elif marker == END:
            if not inside:
                raise ValueError(f"{where}, line {number}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            lines.append(line)
    if inside:
        raise ValueError(f"{where}: {BEGIN} without {END}")
    return "\n".join(lines)


def student_notebook(notebook, name="notebook"):
    """A copy of an nbformat notebook with its solutions stubbed and its outputs stripped."""
    import copy

    notebook = copy.deepcopy(notebook)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source, where=f"{name}, cell {index}")
            cell.outputs, cell.execution_count = [], None
    return notebook


def build(notebooks=None, output_dir=OUTPUT_DIR):
    """Write the student copy of each notebook (default: every exercise notebook) to `output_dir`.

    Returns the paths written.
    """
    import nbformat

    notebooks = [Path(p) for p in (notebooks or sorted(EXERCISES_DIR.glob("*.ipynb")))]
    missing = [str(p) for p in notebooks if p.suffix != ".ipynb" or not p.is_file()]
    if missing:
        raise ValueError(f"notebooks must be existing .ipynb files; not found: {', '.join(missing)}")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebooks:
        student = student_notebook(nbformat.read(path, as_version=4), name=path.name)
        target = output_dir / path.name
        nbformat.write(student, target)
        written.append(target)
        print(f"wrote {target}")
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lecturekit.exercises",
                                     description="Build the student copies of the exercise notebooks.")
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="write the student notebooks, solutions replaced by stubs")
    build_parser.add_argument("notebooks", nargs="*", help="instructor notebooks (default: notebooks/exercises/*.ipynb)")
    build_parser.add_argument("--output-dir", default=str(OUTPUT_DIR), help="default: _build/exercises")
    args = parser.parse_args(argv)
    build(args.notebooks, args.output_dir)
