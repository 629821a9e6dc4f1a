"""Grading the exercises with nbgrader: `python -m lecturekit.exercises build --nbgrader DIR` writes
a course folder in which every exercise has one graded, locked test cell; a graded cell passes the
solution and fails the stub, and never raises in the student's copy; and the whole round trip
(nbgrader generate_assignment, submissions with right and wrong answers, nbgrader autograde) gives
the scores it should, read from the gradebook.

The round trip needs nbgrader (`pip install -e ".[grading]"`): without it that test is skipped with
a message, and under CI=true it fails instead, since .ci/run installs it.
"""
import importlib
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from lecturekit.exercises.build import BEGIN_HIDDEN, END_HIDDEN, build_nbgrader, main, nbgrader_notebook, strip_solutions

ROOT = Path(__file__).resolve().parent.parent
INSTRUCTOR = sorted((ROOT / "notebooks" / "exercises").glob("*.ipynb"))
INSTALL_HINT = 'nbgrader is not installed: pip install -e ".[grading]" (the grading extra)'


def _exercises(path):
    return importlib.import_module(f"lecturekit.exercises.check_{path.name[:2]}").EXERCISES


def _graded(notebook):
    return [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")]


def _solution_cells(notebook):
    return [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("solution")]


def _visible(source):
    """What nbgrader's generate_assignment leaves of a cell: its source without the hidden tests."""
    before, _, rest = source.partition(BEGIN_HIDDEN)
    return before + rest.partition(END_HIDDEN)[2]


@pytest.mark.parametrize("path", INSTRUCTOR, ids=lambda p: p.name)
def test_every_exercise_gets_one_graded_locked_cell(path):
    instructor = nbformat.read(path, as_version=4)
    source = nbgrader_notebook(instructor, name=path.name)
    graded = _graded(source)
    assert [c.metadata.nbgrader.grade_id for c in graded] == [f"check_{path.name[:2]}_{e.name}"
                                                             for e in _exercises(path)]
    assert all(c.metadata.nbgrader.locked and c.metadata.nbgrader.points == 1 for c in graded)
    assert all(c.cell_type == "markdown" or "nbgrader" in c.metadata for c in source.cells)  # the rest is locked
    assert [c.source for c in _solution_cells(source)] == [c.source for c in _solution_cells(instructor)]
    assert all(not c.outputs for c in source.cells if c.cell_type == "code")


@pytest.mark.parametrize("path", INSTRUCTOR, ids=lambda p: p.name)
def test_a_graded_cell_passes_the_solution_fails_the_stub_and_never_raises_for_the_student(path, capsys):
    notebook = nbgrader_notebook(nbformat.read(path, as_version=4), name=path.name)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    namespace = {}
    exec(code[0].source, namespace)  # the imports
    for solution, graded in zip(_solution_cells(notebook), _graded(notebook)):
        exec(solution.source, namespace)
        exec(graded.source, namespace)
        exec(strip_solutions(solution.source), namespace)
        exec(_visible(graded.source), namespace)
        with pytest.raises(AssertionError, match="does not pass its checker"):
            exec(graded.source, namespace)
    out = capsys.readouterr().out
    assert out.count("✓ ") == len(_exercises(path)) and out.count("not attempted yet") == 2 * len(_exercises(path))


def test_the_command_line_writes_one_assignment_per_lecture(tmp_path, capsys):
    main(["build", "--nbgrader", str(tmp_path)])
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*.ipynb"))
    assert written == [Path("source", p.stem, p.name) for p in INSTRUCTOR]
    assert capsys.readouterr().out.count("wrote ") == len(INSTRUCTOR)


def test_the_command_line_writes_either_student_copies_or_an_nbgrader_folder(tmp_path):
    with pytest.raises(SystemExit):
        main(["build", "--nbgrader", str(tmp_path), "--output-dir", str(tmp_path)])


def test_a_solution_without_its_check_cell_is_refused():
    notebook = nbformat.read(INSTRUCTOR[0], as_version=4)
    notebook.cells = [c for c in notebook.cells if not c.source.startswith("check_00.log_posterior")]
    with pytest.raises(ValueError, match=r"00_x.ipynb: the solutions define \['log_joint', 'log_posterior'\]"):
        nbgrader_notebook(notebook, name="00_x.ipynb")


@pytest.fixture(scope="module")
def nbgrader():
    """A function running this environment's nbgrader in a folder; fails the test when nbgrader fails."""
    try:
        import nbgrader  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(INSTALL_HINT)  # CI installs the grading extra, so its absence there is a failure
        pytest.skip(INSTALL_HINT)
    # nbgrader runs its `alembic` tool by name when it creates a gradebook: put this environment's on PATH
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}

    def run(*args, cwd):
        result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0 and "ERROR" not in result.stdout + result.stderr, result.stderr[-4000:]
        return result

    return run


ASSIGNMENT = "03_variational_autoencoder"
RIGHT_KL = '''def gaussian_kl(mu, logvar):
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    return torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).sum(dim=-1)'''
RIGHT_SAMPLE = '''def reparameterize(mu, logvar, eps):
    return mu + torch.exp(logvar / 2) * eps'''
WRONG_SAMPLE = '''def reparameterize(mu, logvar, eps):
    return mu + logvar.exp() * eps'''
SUBMISSIONS = {  # student: the functions written into the released notebook (none: handed in as released)
    "ada": {"gaussian_kl": RIGHT_KL, "reparameterize": WRONG_SAMPLE},
    "bo": {},
    "cy": {"gaussian_kl": RIGHT_KL, "reparameterize": RIGHT_SAMPLE},
}
SCORES = {
    "ada": {"check_03_gaussian_kl": 1.0, "check_03_reparameterize": 0.0},
    "bo": {"check_03_gaussian_kl": 0.0, "check_03_reparameterize": 0.0},
    "cy": {"check_03_gaussian_kl": 1.0, "check_03_reparameterize": 1.0},
}


def _submit(release, functions, target):
    """The released notebook with each function of `functions` written into its solution cell."""
    notebook = nbformat.read(release, as_version=4)
    for cell in _solution_cells(notebook):
        name = cell.metadata.nbgrader.grade_id.removeprefix("03_")
        cell.source = functions.get(name, cell.source)
    target.parent.mkdir(parents=True)
    nbformat.write(notebook, target)


def test_the_nbgrader_round_trip_scores_every_exercise(nbgrader, tmp_path):
    from nbclient import NotebookClient
    from nbgrader.api import Gradebook

    course = tmp_path / "course"
    (source,) = build_nbgrader(course, [ROOT / "notebooks" / "exercises" / f"{ASSIGNMENT}.ipynb"])
    nbgrader("generate_assignment", ASSIGNMENT, cwd=course)

    release = course / "release" / ASSIGNMENT / source.name
    student = nbformat.read(release, as_version=4)
    graded = _graded(student)
    assert [c.source for c in graded] == ["passed = check_03.gaussian_kl(gaussian_kl)",
                                          "passed = check_03.reparameterize(reparameterize)"]
    assert all(c.metadata.editable is False and c.metadata.deletable is False for c in graded)
    assert all("NotImplementedError" in c.source and "return" not in c.source for c in _solution_cells(student))
    NotebookClient(student, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # Run All reaches the end
    assert ["".join(o.text for o in c.outputs) for c in graded] == ["… gaussian_kl: not attempted yet\n",
                                                                    "… reparameterize: not attempted yet\n"]

    for name, functions in SUBMISSIONS.items():
        _submit(release, functions, course / "submitted" / name / ASSIGNMENT / source.name)
    nbgrader("autograde", ASSIGNMENT, cwd=course)

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {name: {grade.name: grade.score
                         for grade in gradebook.find_submission_notebook(source.stem, ASSIGNMENT, name).grades}
                  for name in SUBMISSIONS}
        totals = {name: (gradebook.find_submission(ASSIGNMENT, name).score,
                         gradebook.find_submission(ASSIGNMENT, name).max_score) for name in SUBMISSIONS}
    assert scores == SCORES
    assert totals == {"ada": (1.0, 2.0), "bo": (0.0, 2.0), "cy": (2.0, 2.0)}

    autograded = nbformat.read(course / "autograded" / "ada" / ASSIGNMENT / source.name, as_version=4)
    (wrong,) = [c for c in _graded(autograded) if c.metadata.nbgrader.grade_id == "check_03_reparameterize"]
    assert "this looks like exp(logvar) used as the standard deviation" in wrong.outputs[0].text
    assert wrong.outputs[-1].ename == "AssertionError"
