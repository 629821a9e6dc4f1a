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
from torch.nn import functional as F

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
    assert out.startswith(f"✗ {exercise.name}, case «")
    assert ("expected:" in out and "got:" in out) or "your function raised" in out
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


def _feedback(lecture, name, function):
    """What the checker of exercise `name` of `lecture` prints for `function`, after asserting it fails."""
    (exercise,) = [e for e in CHECKERS[lecture].EXERCISES if e.name == name]
    passed, out = exercise.feedback(function)
    assert not passed, out
    return exercise, out


def _hide_labels_in_place(y, labelled):
    keep = torch.zeros(len(y), dtype=torch.bool)
    keep[labelled] = True
    y[~keep] = -1
    return y


def _clip_then_penalise(critic, real, fake, eps):
    """WGAN's weight clipping mixed into WGAN-GP's penalty: it changes the caller's critic."""
    for parameter in critic.parameters():
        parameter.data.clamp_(-0.01, 0.01)
    return CHECKERS["06"]._reference_penalty(critic, real, fake, eps)


def _centred_in_place_precision(real, fake, k):
    centre = real.mean(dim=0)
    real -= centre
    fake -= centre
    radius = torch.cdist(real, real).kthvalue(k + 1, dim=1).values
    return float((torch.cdist(real, fake) <= radius[:, None]).any(dim=0).double().mean())


def _q_sample_into_x0(betas, x0, t, eps):
    alpha_bar = torch.cumprod(1 - betas, dim=0)[t - 1][:, None]
    return x0.mul_(alpha_bar.sqrt()) + (1 - alpha_bar).sqrt() * eps


def _coupling_in_place(x, scale_and_shift):
    half = x.shape[1] // 2
    s, t = scale_and_shift(x[:, :half])
    x[:, half:] = x[:, half:] * s.exp() + t
    return x, s.sum(dim=1)


def _components_centring_x(x, k):
    x -= x.mean(dim=0)
    return torch.linalg.svd(x, full_matrices=False).Vh[:k]


def _posterior_into_joint(joint):
    joint -= torch.logsumexp(joint, dim=1, keepdim=True)
    return joint


# Functions that change their input (issue 30), each with its right answer: the argument must be named.
CHANGING_THEIR_INPUT = [
    ("03", "gaussian_kl", lambda mu, logvar: 0.5 * (mu.pow_(2) + logvar.exp() - 1 - logvar).sum(dim=-1), "argument `mu`"),
    ("00", "log_posterior", _posterior_into_joint, "argument `joint`"),
    ("10", "q_sample", _q_sample_into_x0, "argument `x0`"),
    ("09", "affine_coupling", _coupling_in_place, "argument `x`"),
    ("01", "pca_components", _components_centring_x, "argument `x`"),
    ("11", "precision", _centred_in_place_precision, "arguments `real` and `fake`"),
    ("03", "reparameterize", lambda mu, logvar, eps: mu + eps.mul_((0.5 * logvar).exp()), "argument `eps`"),
    ("04", "hide_labels", _hide_labels_in_place, "argument `y`"),
    ("06", "gradient_penalty", _clip_then_penalise, "argument `critic`"),
]


@pytest.mark.parametrize(("lecture", "name", "function", "arguments"), CHANGING_THEIR_INPUT,
                         ids=[f"{lecture}-{name}" for lecture, name, _, _ in CHANGING_THEIR_INPUT])
def test_a_function_that_changes_its_input_fails_naming_the_argument(lecture, name, function, arguments):
    _, out = _feedback(lecture, name, function)
    assert f"your function changed its {arguments}\n" in out, out
    assert "Hint: Compute new tensors instead of changing your inputs" in out


def test_the_changed_argument_is_named_by_the_reference_when_the_student_takes_args():
    _, out = _feedback("00", "log_posterior", lambda *args: _posterior_into_joint(*args))
    assert "changed its argument `joint`" in out


def test_an_in_place_operation_on_a_tensor_that_needs_gradients_gets_its_own_hint():
    _, out = _feedback("03", "reparameterize", lambda mu, logvar, eps: mu.add_((0.5 * logvar).exp() * eps))
    assert "your function raised RuntimeError" in out and "in your line: " in out, out
    assert "Hint: An in-place operation" in out


def _components_of_five_columns(x, k):
    return torch.linalg.svd(x - x.mean(dim=0), full_matrices=False).Vh[:k, :5]


def _error_times_five(x, mean, components):
    f = x - mean
    return ((f @ components.T @ components - f) ** 2).mean() * len(x) * 5


# Answers with a size written in as a number (issue 30): right on the lectures' first cases only.
HARD_CODED = [
    ("02", "sparse_loss", lambda x_hat, x, z, penalty: F.mse_loss(x_hat, x) * 6 + penalty * z.abs().mean() * 3,
     "4 pixels"),
    ("04", "semi_supervised_loss", lambda x_hat, x, logits, y, lam: F.mse_loss(x_hat, x) * 5
     + lam * F.cross_entropy(logits, y), "7 pixels"),
    ("01", "reconstruction_error", _error_times_five, "7-D"),
    ("01", "pca_components", _components_of_five_columns, "7-D"),
]


@pytest.mark.parametrize(("lecture", "name", "function", "size"), HARD_CODED,
                         ids=[f"{lecture}-{name}" for lecture, name, _, _ in HARD_CODED])
def test_a_hard_coded_size_fails_on_a_case_of_another_size(lecture, name, function, size):
    _, out = _feedback(lecture, name, function)
    case = re.match(r"✗ \w+, case «([^»]*)»", out)[1]
    assert size in case, out
    assert "the values differ" in out or "expected shape (k, d) = (3, 7)" in out, out


# Axes that keep one size on purpose: (lecture, exercise, argument, axis).
FIXED_AXES = {("00", "log_joint", 1, 2)}  # log_pixel's 17 levels, the constant N_LEVELS of lecturekit.naive_bayes


@pytest.mark.parametrize(("lecture", "exercise"), EXERCISES, ids=IDS)
def test_every_size_varies_across_the_cases(lecture, exercise):
    """So that an answer with a size written in as a number fails on some case."""
    arguments = list(zip(*(case.make_args() for case in exercise.cases)))
    for index, values in enumerate(arguments):
        if not all(isinstance(v, torch.Tensor) for v in values):
            continue
        shapes = [tuple(v.shape) for v in values]
        assert len(set(shapes)) > 1, f"argument {index} has the shape {shapes[0]} in every case"
        if len({len(shape) for shape in shapes}) == 1:
            fixed = [axis for axis, sizes in enumerate(zip(*shapes)) if len(set(sizes)) == 1
                     and (lecture, exercise.name, index, axis) not in FIXED_AXES]
            assert not fixed, f"argument {index}: axes {fixed} keep one size in every case: {shapes}"


def test_float_labels_are_rejected_as_floats():
    exercise, out = _feedback("04", "hide_labels", lambda y, labelled: torch.full(y.shape, -1.0).index_put(
        (torch.as_tensor(labelled),), y[labelled].float()))
    assert "expected integers of dtype torch.int64, got dtype torch.float32" in out, out
    assert "Labels and indices keep their integer dtype" in out and exercise.hint not in out


def test_a_wrong_shape_in_pca_components_reports_the_shape_asked_for():
    _, out = _feedback("01", "pca_components",
                       lambda x, k: torch.linalg.svd(x - x.mean(dim=0), full_matrices=False).Vh[:k].T)
    assert "expected shape (k, d) = (1, 5), one principal direction per row, got shape (5, 1)" in out, out
    assert "(5, 5)" not in out


def test_a_penalty_rebuilt_from_item_is_said_to_have_no_grad_fn():
    def gradient_penalty(critic, real, fake, eps):
        x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
        return torch.tensor(((grad.flatten(start_dim=1).norm(dim=1) - 1) ** 2).mean().item())

    _, out = _feedback("06", "gradient_penalty", gradient_penalty)
    assert "this looks like a penalty with the right value but no grad_fn" in out, out
    assert "without create_graph=True, or when the value leaves torch (.item()" in out


def test_a_penalty_that_runs_backward_itself_is_told_so():
    def gradient_penalty(critic, real, fake, eps):
        penalty = CHECKERS["06"]._reference_penalty(critic, real, fake, eps)
        penalty.backward()
        return penalty

    _, out = _feedback("06", "gradient_penalty", gradient_penalty)
    assert "its graph was freed, as a .backward() inside your function frees it" in out, out
    assert "Hint: Return the penalty without calling .backward()" in out


def _radius(real, k):
    return torch.cdist(real, real).kthvalue(k + 1, dim=1).values


# Three wrong precisions that give the same number (0.6) on the first case (issue 30).
PRECISIONS_WITH_ANOTHER_MISTAKE = {
    "squared distances against plain radii": lambda real, fake, k: float(
        (torch.cdist(real, fake) ** 2 <= _radius(real, k)[:, None]).any(dim=0).double().mean()),
    "one radius for every ball": lambda real, fake, k: float(
        (torch.cdist(real, fake) <= _radius(real, k).mean()).any(dim=0).double().mean()),
    "the L1 distance to the fake points": lambda real, fake, k: float(
        (torch.cdist(real, fake, p=1.0) <= _radius(real, k)[:, None]).any(dim=0).double().mean()),
}


@pytest.mark.parametrize("precision", PRECISIONS_WITH_ANOTHER_MISTAKE.values(), ids=PRECISIONS_WITH_ANOTHER_MISTAKE)
def test_a_mistake_that_matches_a_mutant_on_one_case_only_is_not_named(precision):
    exercise, out = _feedback("11", "precision", precision)
    counting_itself = exercise.mutants[0]
    first_case = exercise.cases[0].make_args
    assert precision(*first_case()) == counting_itself.function(*first_case()) != exercise.reference(*first_case())
    assert "this looks like" not in out and exercise.hint in out, out


def test_the_flow_loss_summed_and_divided_by_d_is_not_named_the_sum_over_coordinates():
    def flow_matching_loss(v, x0, x1, t):
        x_t = (1 - t[:, None]) * x0 + t[:, None] * x1
        return ((v(x_t, t) - (x1 - x0)) ** 2).sum() / x0.shape[1]

    exercise, out = _feedback("10", "flow_matching_loss", flow_matching_loss)
    summed = exercise.mutants[3]
    (square,) = [case for case in exercise.cases if case.description == "3 points in 3-D"]  # n = d: no difference
    assert flow_matching_loss(*square.make_args()) == pytest.approx(summed.function(*square.make_args()))
    assert "this looks like" not in out and exercise.hint in out, out


def test_a_float_where_a_tensor_is_asked_gets_a_hint_about_the_type_not_the_formula():
    def sparse_loss(x_hat, x, z, penalty):
        return float(((x_hat - x) ** 2).sum(dim=1).mean() + penalty * z.abs().sum(dim=1).mean())

    exercise, out = _feedback("02", "sparse_loss", sparse_loss)
    assert "expected a tensor, got a float" in out and "Hint: Return a torch tensor" in out, out
    assert exercise.hint not in out


@pytest.mark.parametrize(("answer", "said"), [(lambda *args: None, "your function returned None"),
                                              (lambda mu, logvar: [0.0] * len(mu), "expected one tensor, got a list of 2 values"),
                                              (lambda mu, logvar: (mu + logvar)[:, :1], "expected shape (")])
def test_the_form_of_an_answer_gets_its_own_hint(answer, said):
    exercise, out = _feedback("03", "gaussian_kl", answer)
    assert said in out and exercise.hint not in out, out


def test_not_implemented_on_a_later_case_says_which_case_raised():
    reference = _define("08", "made_masks")

    def made_masks(hidden_degrees, dim):
        if dim > 3:
            raise NotImplementedError("only for 3 pixels")
        return reference(hidden_degrees, dim)

    _, out = _feedback("08", "made_masks", made_masks)
    assert out.startswith("✗ made_masks, case «dim = 4, hidden degrees 1, 2, 3, 1, 2, 3 (the lecture's tiny MADE)»: "
                          "your function raised NotImplementedError here, after passing 1 case before this one"), out
    assert NOT_ATTEMPTED not in out


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


def test_the_09_references_agree_with_torch_distributions_and_lecturekit():
    """The change of variables against torch.distributions.TransformedDistribution for every map, and the
    coupling against flows.AffineCoupling and against slogdet of autograd's Jacobian."""
    from torch import distributions

    from lecturekit.flows import AffineCoupling

    check_09 = CHECKERS["09"]
    for name in check_09.MAPS:
        x, f, f_prime = check_09._points(name, 7, seed=5)
        base = distributions.Normal(torch.tensor(0.0, dtype=torch.float64), 1.0)
        expected = distributions.TransformedDistribution(base, check_09._reference_transforms(name)).log_prob(x)
        torch.testing.assert_close(check_09._reference_log_density(x, f, f_prime), expected, rtol=1e-6, atol=1e-6)
    torch.manual_seed(0)
    for n, d in ((4, 2), (3, 8)):
        layer = AffineCoupling(d, hidden=(5,)).double()
        torch.nn.init.normal_(layer.network[-1].weight)  # a fresh coupling is the identity
        x = torch.randn(n, d, dtype=torch.float64)
        z, log_det = check_09._reference_coupling(x, layer.scale_and_shift)
        assert log_det.abs().min() > 1e-3
        for ours, theirs in zip((z, log_det), layer(x)):
            torch.testing.assert_close(ours, theirs)
        x, network = check_09._coupling_case(n, d, seed=7)
        z, log_det = check_09._reference_coupling(x, network)
        jacobian = torch.autograd.functional.jacobian(lambda v: check_09._reference_coupling(v[None], network)[0][0],
                                                      x[0])
        torch.testing.assert_close(log_det[0], torch.linalg.slogdet(jacobian).logabsdet)


def test_the_10_references_agree_with_lecturekit():
    from lecturekit.diffusion import NoiseSchedule, flow_matching_loss, q_sample

    check_10 = CHECKERS["10"]
    betas, x0, t, eps = check_10._draws(NoiseSchedule.cosine(50).betas[1:], [50, 1, 25, 7, 40], d=3)
    expected = q_sample(NoiseSchedule(betas), x0, t, eps).double()  # lecturekit rounds x0 to float32
    torch.testing.assert_close(check_10._reference_q_sample(betas, x0, t, eps), expected, rtol=1e-5, atol=1e-6)
    v, _, x1, _ = check_10._flow_batch(4, 3)
    generator = torch.Generator().manual_seed(0)  # draws x0 and t as flow_matching_loss does
    noise, times = torch.randn(x1.shape, generator=generator).to(x1), torch.rand(4, generator=generator).to(x1)
    expected = flow_matching_loss(v, x1, generator=torch.Generator().manual_seed(0))
    assert check_10._reference_flow_loss(v, noise, x1, times) == pytest.approx(float(expected), rel=1e-5)


def test_the_11_references_agree_with_lecturekit():
    from lecturekit.metrics import density_coverage, precision_recall

    check_11 = CHECKERS["11"]
    real, fake, k = check_11._sets(30, 20, d=3, k=5, spread=2.0, seed=1)
    assert check_11._reference_precision(real, fake, k) == pytest.approx(precision_recall(real, fake, k)[0])
    assert check_11._reference_density_coverage(real, fake, k) == pytest.approx(density_coverage(real, fake, k))


def test_the_11_density_coverage_reference_agrees_with_lecturekit_on_every_case():
    from lecturekit.metrics import density_coverage

    exercise = CHECKERS["11"].DENSITY_COVERAGE
    for case in exercise.cases:
        assert exercise.reference(*case.make_args()) == pytest.approx(density_coverage(*case.make_args())), case


def test_11_density_coverage_with_closed_balls_fails_on_the_ties_only_naming_the_mistake():
    """Naeem et al. (2020) count y_j in B_i when || y_j - x_i || < NND_k(x_i): <= gives the same numbers
    on the random cases and other ones, both density and coverage, on the integer grid."""
    check_11 = CHECKERS["11"]
    exercise = check_11.DENSITY_COVERAGE
    (closed,) = [m for m in exercise.mutants if m.name.startswith("<=")]
    ties = [case for case in exercise.cases if "grid" in case.description]
    assert ties
    for case in exercise.cases:
        (density, coverage), (closed_density, closed_coverage) = (exercise.reference(*case.make_args()),
                                                                  closed.function(*case.make_args()))
        if case in ties:
            assert closed_density != pytest.approx(density) and closed_coverage != pytest.approx(coverage), case
        else:
            assert (closed_density, closed_coverage) == pytest.approx((density, coverage)), case
    _, out = _feedback("11", "density_coverage", closed.function)
    assert f"case «{ties[0].description}»" in out and f"Hint: this looks like {closed.name}." in out, out
    assert exercise.reference(*check_11._copy(9, k=3)) == pytest.approx((1.0, 1.0))  # as the mutant's advice says


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
