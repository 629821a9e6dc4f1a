"""The exercises: every solution passes its checker, every stub reads "not attempted yet",
every listed mistake (mutant) is named in the feedback, and the built student notebooks hold
no solution and run top to bottom."""
import importlib
import pkgutil
import re
from pathlib import Path

import nbformat
import pytest
import torch

import lecturekit.exercises
from lecturekit.exercises._feedback import NOT_ATTEMPTED
from lecturekit.exercises.build import BEGIN, END, STUB, build, main, strip_solutions

ROOT = Path(__file__).resolve().parent.parent
INSTRUCTOR = sorted((ROOT / "notebooks" / "exercises").glob("*.ipynb"))
CHECKERS = {name[len("check_"):]: importlib.import_module(f"lecturekit.exercises.{name}")
            for _, name, _ in pkgutil.iter_modules(lecturekit.exercises.__path__) if name.startswith("check_")}
EXERCISES = [(lecture, exercise) for lecture, module in sorted(CHECKERS.items()) for exercise in module.EXERCISES]
IDS = [f"{lecture}-{exercise.name}" for lecture, exercise in EXERCISES]
MUTANTS = [(lecture, exercise, mutant) for lecture, exercise in EXERCISES for mutant in exercise.mutants]


def _code_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def _notebook(lecture):
    (path,) = [p for p in INSTRUCTOR if p.name.startswith(f"{lecture}_")]
    return path


def _define(lecture, name, student=False):
    """The function `name` as the exercise notebook of `lecture` defines it (solution or stub)."""
    cells = _code_cells(_notebook(lecture))
    namespace = {}
    exec(cells[0].source, namespace)  # the imports
    (cell,) = [c for c in cells if re.match(rf"def {name}\(", c.source)]
    exec(strip_solutions(cell.source) if student else cell.source, namespace)
    return namespace[name]


def _run(notebook, tmp_path):
    """Execute an nbformat notebook in a fresh kernel; return each check cell's printed feedback."""
    from nbclient import NotebookClient

    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    return ["".join(o.get("text", "") for o in c.outputs if o.output_type == "stream")
            for c in notebook.cells if c.cell_type == "code" and c.source.startswith("check_")]


def test_two_exercises_with_a_notebook_for_every_lecture():
    lectures = [p.name[:2] for p in INSTRUCTOR]
    assert lectures == sorted(CHECKERS)
    for lecture, module in CHECKERS.items():
        assert len(module.EXERCISES) >= 2, f"lecture {lecture} has fewer than 2 exercises"
        solutions = [c for c in _code_cells(_notebook(lecture)) if BEGIN in c.source]
        assert [re.match(r"def (\w+)\(", c.source)[1] for c in solutions] == [e.name for e in module.EXERCISES]


@pytest.mark.parametrize(("lecture", "exercise"), EXERCISES, ids=IDS)
def test_the_solution_passes(lecture, exercise, capsys):
    assert exercise.check(_define(lecture, exercise.name))
    assert capsys.readouterr().out.startswith(f"✓ {exercise.name}")


@pytest.mark.parametrize(("lecture", "exercise"), EXERCISES, ids=IDS)
def test_the_stub_is_not_attempted_yet(lecture, exercise, capsys):
    assert not exercise.check(_define(lecture, exercise.name, student=True))
    assert capsys.readouterr().out == f"… {exercise.name}: {NOT_ATTEMPTED}\n"


@pytest.mark.parametrize(("lecture", "exercise"), EXERCISES, ids=IDS)
def test_every_exercise_lists_a_mutant(lecture, exercise):
    assert exercise.mutants


@pytest.mark.parametrize(("lecture", "exercise", "mutant"), MUTANTS,
                         ids=[f"{lecture}-{exercise.name}-{mutant.name}" for lecture, exercise, mutant in MUTANTS])
def test_every_mutant_fails_with_its_name(lecture, exercise, mutant, capsys):
    assert not exercise.check(mutant.function)
    out = capsys.readouterr().out
    assert out.startswith(f"✗ {exercise.name}, case «") and "expected:" in out and "got:" in out
    assert f"Hint: this looks like {mutant.name}." in out


def test_an_error_is_feedback_not_a_traceback(capsys):
    exercise = CHECKERS["03"].KL

    def broken(mu, logvar):
        return mu @ logvar  # (n, k) @ (n, k): a shape error

    assert not exercise.check(broken)
    out = capsys.readouterr().out
    assert "your function raised RuntimeError" in out and "Hint:" in out


def test_an_unknown_mistake_gets_the_general_hint(capsys):
    exercise = CHECKERS["03"].KL
    assert not exercise.check(lambda mu, logvar: (mu**2).sum(dim=-1))
    assert f"Hint: {exercise.hint}" in capsys.readouterr().out


def test_the_gradient_penalty_reference_agrees_with_lecturekit():
    from lecturekit.gan import gradient_penalty

    check_06 = CHECKERS["06"]
    for seed, shape in ((0, (4, 2)), (1, (3, 2, 3))):
        critic, real, fake, eps = check_06._batch(shape, seed=seed)
        expected = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(seed + 100))
        torch.testing.assert_close(check_06._reference_penalty(critic, real, fake, eps), expected)


def test_the_frechet_reference_agrees_with_lecturekit():
    from lecturekit.metrics import frechet_distance

    args = CHECKERS["07"]._gaussians(d=6, seed=1)
    assert CHECKERS["07"]._reference_distance(*args) == pytest.approx(frechet_distance(*args), rel=1e-6)


def test_the_08_references_agree_with_lecturekit():
    from lecturekit.autoregressive import MADE, autoregressive_mask

    check_08 = CHECKERS["08"]
    model = MADE(dim=5, levels=4, hidden=(7,))
    _, x = check_08._batch()
    torch.testing.assert_close(check_08._reference_nll(model.logits(x), x), -model.log_prob(x))
    degrees = check_08._degrees(6, 9, seed=0)
    hidden_mask, output_mask = check_08._reference_masks(degrees, 6)
    torch.testing.assert_close(hidden_mask, autoregressive_mask(degrees, torch.arange(1, 7), strict=False))
    torch.testing.assert_close(output_mask, autoregressive_mask(torch.arange(1, 7), degrees, strict=True))


def test_the_09_references_agree_with_lecturekit():
    from lecturekit.diffusion import NoiseSchedule, flow_matching_loss, q_sample

    check_09 = CHECKERS["09"]
    betas, x0, t, eps = check_09._draws(NoiseSchedule.cosine(50).betas[1:], [50, 1, 25, 7, 40], d=3)
    expected = q_sample(NoiseSchedule(betas), x0, t, eps).double()  # lecturekit rounds x0 to float32
    torch.testing.assert_close(check_09._reference_q_sample(betas, x0, t, eps), expected, rtol=1e-5, atol=1e-6)
    v, _, x1, _ = check_09._flow_batch(4, 3)
    generator = torch.Generator().manual_seed(0)  # draws x0 and t as flow_matching_loss does
    noise, times = torch.randn(x1.shape, generator=generator).to(x1), torch.rand(4, generator=generator).to(x1)
    expected = flow_matching_loss(v, x1, generator=torch.Generator().manual_seed(0))
    assert check_09._reference_flow_loss(v, noise, x1, times) == pytest.approx(float(expected), rel=1e-5)


def test_the_10_references_agree_with_lecturekit():
    from lecturekit.metrics import density_coverage, precision_recall

    check_10 = CHECKERS["10"]
    real, fake, k = check_10._sets(30, 20, d=3, k=5, spread=2.0, seed=1)
    assert check_10._reference_precision(real, fake, k) == pytest.approx(precision_recall(real, fake, k)[0])
    assert check_10._reference_density_coverage(real, fake, k) == pytest.approx(density_coverage(real, fake, k))


def test_strip_solutions_keeps_the_indentation():
    source = f"def f(x):\n    {BEGIN}\n    y = x + 1\n    return y\n    {END}\n\nprint(1)"
    assert strip_solutions(source) == f"def f(x):\n    {STUB}\n\nprint(1)"


@pytest.mark.parametrize("source", [f"{BEGIN}\nx = 1", f"x = 1\n{END}", f"{BEGIN}\n{BEGIN}\n{END}"])
def test_strip_solutions_rejects_unbalanced_markers(source):
    with pytest.raises(ValueError, match="SOLUTION"):
        strip_solutions(source, where="here")


@pytest.fixture(scope="module")
def student_notebooks(tmp_path_factory):
    return build(output_dir=tmp_path_factory.mktemp("student"))


def test_the_command_line_builds_every_notebook(tmp_path, capsys):
    main(["build", "--output-dir", str(tmp_path)])
    assert sorted(p.name for p in tmp_path.glob("*.ipynb")) == [p.name for p in INSTRUCTOR]
    assert capsys.readouterr().out.count("wrote ") == len(INSTRUCTOR)


def test_the_command_line_needs_a_command():
    with pytest.raises(SystemExit):
        main([])


@pytest.mark.parametrize("path", INSTRUCTOR, ids=lambda p: p.name)
def test_the_student_copy_holds_no_solution(path, student_notebooks):
    (student,) = [p for p in student_notebooks if p.name == path.name]
    student_lines = {line.strip() for cell in _code_cells(student) for line in cell.source.splitlines()}
    solution_lines = []
    for cell in _code_cells(path):
        inside = False
        for line in cell.source.splitlines():
            inside = (inside or line.strip() == BEGIN) and line.strip() != END
            if inside and line.strip() and line.strip() != BEGIN:
                solution_lines.append(line.strip())
    assert solution_lines
    assert not [line for line in solution_lines if line in student_lines]
    assert all(not c.outputs and c.execution_count is None for c in _code_cells(student))


@pytest.mark.parametrize("path", INSTRUCTOR, ids=lambda p: p.name)
def test_the_student_copy_runs_then_the_solutions_pass(path, student_notebooks, tmp_path):
    """One kernel per lecture, to halve the start-up cost: the student copy runs top to bottom in
    it, every check reading "not attempted yet"; then the instructor notebook, whose cells define
    everything they use, runs after it with every check passing."""
    (student,) = [p for p in student_notebooks if p.name == path.name]
    combined = nbformat.read(student, as_version=4)
    combined.cells += nbformat.read(path, as_version=4).cells
    feedback = _run(combined, tmp_path)
    half = len(feedback) // 2
    assert half and all(out.endswith(f": {NOT_ATTEMPTED}\n") for out in feedback[:half]), feedback
    assert all(out.startswith("✓ ") for out in feedback[half:]), feedback
