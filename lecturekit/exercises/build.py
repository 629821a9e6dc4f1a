"""Build the student copies of the exercise notebooks, every solution replaced by a stub, or an
nbgrader course folder that grades them.

    python -m lecturekit.exercises build [--output-dir DIR] [notebooks ...]

In the instructor notebooks (notebooks/exercises/*.ipynb) each solution sits between two marker
lines, as nbgrader marks them:

    ### BEGIN SOLUTION
    return 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(dim=-1)
    ### END SOLUTION

The student copy has, in their place, one line with the indentation of the BEGIN marker:

    raise NotImplementedError("write your solution here")

Outputs and execution counts are stripped; the stored notebooks are left untouched.

    python -m lecturekit.exercises build --nbgrader DIR [notebooks ...]

writes an nbgrader course folder instead: DIR/source/<assignment>/<notebook>.ipynb, one assignment
per lecture, named after its notebook. The solutions keep their markers (nbgrader's
`generate_assignment` replaces them), each check cell becomes a graded, locked test cell worth one
point, and the other code cells (the imports) are locked. A graded cell reads

    passed = check_03.gaussian_kl(gaussian_kl)
    ### BEGIN HIDDEN TESTS
    assert passed, "gaussian_kl does not pass its checker: see its feedback above"
    ### END HIDDEN TESTS

nbgrader's `generate_assignment` removes the hidden lines, so the student's copy prints the
checker's feedback and never raises (Run All reaches the end), while `nbgrader autograde` puts
them back and gives the point only when the checker passes.
"""
import argparse
import copy
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
EXERCISES_DIR = ROOT / "notebooks" / "exercises"
OUTPUT_DIR = ROOT / "_build" / "exercises"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = 'raise NotImplementedError("write your solution here")'
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
CHECK_CALL = re.compile(r"(check_\d+)\.(\w+)\((\w+)\)")
POINTS = 1


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
    notebook = copy.deepcopy(notebook)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source, where=f"{name}, cell {index}")
            cell.outputs, cell.execution_count = [], None
    return notebook


def graded_source(call, function):
    """A graded cell: the check `call` a student runs, then the hidden assert that nbgrader grades."""
    return (f"passed = {call}\n{BEGIN_HIDDEN}\n"
            f'assert passed, "{function} does not pass its checker: see its feedback above"\n{END_HIDDEN}')


def nbgrader_metadata(grade_id, grade=False, points=None):
    """nbgrader's cell metadata (schema 3) for a locked cell, graded with `points` when `grade`."""
    metadata = {"grade": grade, "grade_id": grade_id, "locked": True, "schema_version": 3, "solution": False,
                "task": False}
    return {**metadata, "points": points} if grade else metadata


def nbgrader_notebook(notebook, name="notebook", points=POINTS):
    """A copy of an instructor notebook for nbgrader's source folder: solutions kept, each check cell
    graded (`points` each) and locked, the other code cells locked, outputs stripped.

    Raises ValueError, naming `name`, when the solutions and the check cells name different functions.
    """
    notebook = copy.deepcopy(notebook)
    solutions, checks = [], []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        call = CHECK_CALL.fullmatch(cell.source.strip())
        if cell.metadata.get("nbgrader", {}).get("solution"):
            solutions += re.findall(r"^def (\w+)\(", cell.source, flags=re.MULTILINE)[:1]
        elif call:
            checks.append(call[2])
            cell.source = graded_source(call[0], call[2])
            cell.metadata["nbgrader"] = nbgrader_metadata(f"{call[1]}_{call[2]}", grade=True, points=points)
        else:
            cell.metadata["nbgrader"] = nbgrader_metadata(f"setup_{index}")
    if solutions != checks:
        raise ValueError(f"{name}: the solutions define {solutions} but the check cells check {checks}")
    return notebook


def notebook_paths(notebooks=None):
    """The given notebooks (default: every exercise notebook) as paths; ValueError for one that is not there."""
    notebooks = [Path(p) for p in (notebooks or sorted(EXERCISES_DIR.glob("*.ipynb")))]
    missing = [str(p) for p in notebooks if p.suffix != ".ipynb" or not p.is_file()]
    if missing:
        raise ValueError(f"notebooks must be existing .ipynb files; not found: {', '.join(missing)}")
    return notebooks


def build(notebooks=None, output_dir=OUTPUT_DIR):
    """Write the student copy of each notebook (default: every exercise notebook) to `output_dir`.

    Returns the paths written.
    """
    import nbformat

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebook_paths(notebooks):
        student = student_notebook(nbformat.read(path, as_version=4), name=path.name)
        target = output_dir / path.name
        nbformat.write(student, target)
        written.append(target)
        print(f"wrote {target}")
    return written


def build_nbgrader(course_dir, notebooks=None):
    """Write nbgrader's source folder into `course_dir`: source/<assignment>/<notebook>.ipynb, one
    assignment per notebook (default: every exercise notebook), named after it.

    Returns the paths written.
    """
    import nbformat

    written = []
    for path in notebook_paths(notebooks):
        graded = nbgrader_notebook(nbformat.read(path, as_version=4), name=path.name)
        target = Path(course_dir) / "source" / path.stem / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(graded, target)
        written.append(target)
        print(f"wrote {target}")
    print(f"next, in {course_dir}: nbgrader generate_assignment <assignment>, and once the submissions are "
          f"collected, nbgrader autograde <assignment>")
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m lecturekit.exercises",
                                     description="Build the student copies of the exercise notebooks, or an nbgrader "
                                                 "course folder.")
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="write the student notebooks, solutions replaced by stubs")
    build_parser.add_argument("notebooks", nargs="*", help="instructor notebooks (default: notebooks/exercises/*.ipynb)")
    target = build_parser.add_mutually_exclusive_group()
    target.add_argument("--output-dir", default=str(OUTPUT_DIR), help="default: _build/exercises")
    target.add_argument("--nbgrader", metavar="DIR",
                        help="write an nbgrader course folder instead: DIR/source/<assignment>/<notebook>.ipynb, "
                             f"one graded, locked test cell per exercise ({POINTS} point each)")
    args = parser.parse_args(argv)
    if args.nbgrader:
        build_nbgrader(args.nbgrader, args.notebooks)
    else:
        build(args.notebooks, args.output_dir)
