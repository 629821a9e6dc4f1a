"""The feedback machinery shared by every lecture's checkers.

An `Exercise` calls the student's function on a few small cases and compares each answer with
a reference answer from `lecturekit` itself or from an independent library. On the first failure
it prints which case, what went wrong and a hint:

- the function raised: the error, the line of the student's code that raised it, and a hint;
- the function changed one of its arguments in place: which one, by its name;
- the answer has the wrong form (not a tensor, another shape, floats for integer labels):
  that, with a hint about the form and no formula;
- the values differ: what was expected, what came back, and the formula.

When the student's function gives the same answer as a known typical mistake (a `Mutant`) on
every case, the hint names that mistake; an answer that agrees with a mutant on one case only
gets the general hint. The checker prints and never raises, so a student notebook runs top to
bottom whatever is done, and it returns True or False.
"""
import inspect
import traceback
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

NOT_ATTEMPTED = "not attempted yet"

CHANGED_HINT = ("Compute new tensors instead of changing your inputs: x = x - mean, not x -= mean; mu.pow(2), not "
                "mu.pow_(2) (a method ending in _ works in place); y = y.clone() before y[...] = .... The caller "
                "still needs its tensors: in a training loop, a changed batch spoils every later step.")
IN_PLACE_HINT = ("An in-place operation (a method ending in _, +=, *=, x[...] = ...) changed a tensor that autograd "
                 "needs: write it out of place, x = x * 2 instead of x *= 2.")
NOT_IMPLEMENTED_HINT = ("Every case must work: the checker tries other sizes and values, so that an answer written "
                        "for the first case only does not pass.")
NONE_HINT = "Did your function forget its `return`?"
TENSOR_HINT = ("Return a torch tensor, as the exercise asks: stay with torch operations (no .item(), float() or "
               ".numpy()), so that the answer keeps its gradient and its device.")
NUMBER_HINT = "Return one number: a float, or a tensor holding a single value."
TUPLE_HINT = "Return the values the exercise lists, in its order, as a tuple: return a, b."
ONE_VALUE_HINT = "Return one value, as the exercise asks, not a tuple or a list: add up the terms if they are its parts."
SHAPE_HINT = ("Values are compared once the shape is right: check the shape the exercise asks for, the dimension "
              "you sum or average over (dim=..., keepdim=...), and for a transpose or a missing [:, None].")
INTEGER_HINT = ("Labels and indices keep their integer dtype, which F.cross_entropy and indexing need: a float such "
                "as -1.0, or torch.full(..., -1.0), makes the whole tensor float, and .int() makes it int32; "
                "torch.full_like(y, -1) keeps y's dtype.")


@dataclass(frozen=True)
class Case:
    """One input: a description a student can read, and a function making fresh arguments
    (fresh, so that a function that changes its input cannot spoil the next call)."""

    description: str
    make_args: Callable[[], tuple]


@dataclass(frozen=True)
class Mutant:
    """A typical wrong answer: its name (printed in the hint), the wrong function, and advice."""

    name: str
    function: Callable
    advice: str


@dataclass(frozen=True)
class Difference:
    """How an answer differs from the expected one: a sentence, and for an answer of the wrong form
    (type, dtype, shape) a hint about that form; `hint` is None when only the values differ."""

    text: str
    hint: str = None


class Malformed(Exception):
    """Raised by an `observe` function when the answer has the wrong form, before it is transformed
    into what is compared; it carries the `Difference` to report."""

    def __init__(self, difference):
        super().__init__(difference.text)
        self.difference = difference


@dataclass(frozen=True)
class Exercise:
    """A function to write, checked against `reference` on `cases`.

    `observe(fn, args)` turns a call into what is compared (by default fn(*args));
    when it returns a tuple, `parts` names its items in the feedback. Answers are compared with
    a relative and absolute tolerance `rtol`, `atol`.
    """

    name: str
    reference: Callable
    cases: tuple
    hint: str
    mutants: tuple = ()
    observe: Callable = field(default=lambda fn, args: fn(*args))
    parts: tuple = ()
    rtol: float = 1e-4
    atol: float = 1e-5

    def check(self, student):
        """Run every case; print the verdict and return True when all pass."""
        passed, feedback = self.feedback(student)
        print(feedback)
        return passed

    def feedback(self, student):
        """(whether `student` passes every case, the text a student reads)."""
        if not callable(student):
            return False, f"✗ {self.name}: pass your function itself, not {type(student).__name__}"
        for index, case in enumerate(self.cases):
            args = case.make_args()
            before = snapshot(args)
            try:
                got = self.observe(student, args)
            except Malformed as malformed:
                return False, self.failure(case, malformed.difference.text,
                                           self.hint_for_answer(student, malformed.difference, index))
            except NotImplementedError:
                if index == 0:
                    return False, f"… {self.name}: {NOT_ATTEMPTED}"
                return False, self.failure(case, f"your function raised NotImplementedError here, after passing "
                                                 f"{plural(index, 'case')} before this one", NOT_IMPLEMENTED_HINT)
            except Exception as error:  # noqa: BLE001 - any mistake becomes feedback, not a traceback
                return False, self.failure(case, f"your function raised {type(error).__name__}: {error}"
                                                 f"{line_that_raised(student, error)}", self.hint_for_error(student, error))
            changed = changed_arguments(args, before, argument_names(student, self.reference, len(args)))
            if changed:
                return False, self.failure(case, f"your function changed its argument{'s' if len(changed) > 1 else ''} "
                                                 f"{' and '.join(f'`{name}`' for name in changed)}", CHANGED_HINT)
            expected = self.observe(self.reference, case.make_args())
            difference = compare(expected, got, self.rtol, self.atol, self.parts)
            if difference:
                expected_part, got_part = first_differing_parts(expected, got, self.rtol, self.atol)
                return False, self.failure(case, f"{difference.text}\n  expected: {show(expected_part)}\n"
                                                 f"  got:      {show(got_part)}",
                                           self.hint_for_answer(student, difference, index))
        return True, f"✓ {self.name}: all {len(self.cases)} cases pass"

    def failure(self, case, what, hint):
        return f"✗ {self.name}, case «{case.description}»: {what}\n  Hint: {hint}"

    def hint_for_answer(self, student, difference, passed_before):
        """The named mistake, else the hint about the answer's form, else the formula."""
        mutant = self.recognise(student)
        if mutant:
            return f"this looks like {mutant.name}. {mutant.advice}"
        if difference.hint:
            return difference.hint
        if passed_before:
            return (f"{self.hint} (Your function passed {plural(passed_before, 'case')} before this one: look at "
                    f"what this case changes, such as a size written into your code as a number.)")
        return self.hint

    def hint_for_error(self, student, error):
        """The named mistake, else a hint about in-place operations when autograd complains of one, else the formula."""
        mutant = self.recognise(student)
        if mutant:
            return f"this looks like {mutant.name}. {mutant.advice}"
        if "in-place" in str(error) or "inplace" in str(error):
            return IN_PLACE_HINT
        return self.hint

    def recognise(self, student):
        """The first mutant that does what `student` does on every case, else None.

        On every case both must return the same answer or raise the same type of error, and on one
        case at least both must return an answer: an answer that matches a mistake on one case only
        (where several mistakes happen to give the same number) names none of them.
        """
        outcomes = [self.outcome(student, case) for case in self.cases]
        for mutant in self.mutants:
            pairs = [(self.outcome(mutant.function, case), outcome) for case, outcome in zip(self.cases, outcomes)]
            answered = [isinstance(a, Answer) and isinstance(b, Answer) for a, b in pairs]
            if any(answered) and all(self.same(a, b) for a, b in pairs):
                return mutant
        return None

    def outcome(self, fn, case):
        try:
            return Answer(self.observe(fn, case.make_args()))
        except Exception as error:  # noqa: BLE001 - an error is an outcome to compare, like an answer
            return Raised(type(error), str(error) if isinstance(error, Malformed) else "")

    def same(self, a, b):
        if isinstance(a, Raised) or isinstance(b, Raised):
            return a == b
        return compare(a.value, b.value, self.rtol, self.atol) is None


@dataclass(frozen=True)
class Answer:
    value: object


@dataclass(frozen=True)
class Raised:
    error_type: type
    detail: str  # what was malformed; '' for other errors, which match by their type


def plural(count, noun):
    return f"{count} {noun}{'' if count == 1 else 's'}"


def line_that_raised(student, error):
    """The line of the student's own code in the traceback of `error`, as a sentence ('' when unknown)."""
    code = getattr(student, "__code__", None)
    frames = [frame for frame in traceback.extract_tb(error.__traceback__)
              if code is not None and frame.filename == code.co_filename and frame.line]
    return f"\n  in your line: {frames[-1].line.strip()}" if frames else ""


def snapshot(value):
    """A copy of the tensors in `value` (a tensor, a module's state, arrays, tuples and lists of them);
    None for anything else, which is not compared."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, torch.nn.Module):
        return [tensor.detach().clone() for tensor in value.state_dict().values()]
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (tuple, list)):
        return [snapshot(item) for item in value]
    return None


def unchanged(value, before):
    """Whether `value` still holds what `snapshot` recorded in `before`: shapes, dtypes and values."""
    if before is None:
        return True
    if isinstance(value, torch.nn.Module):
        value = list(value.state_dict().values())
    if isinstance(before, list):
        return (isinstance(value, (tuple, list)) and len(value) == len(before)
                and all(unchanged(v, b) for v, b in zip(value, before)))
    if isinstance(before, np.ndarray):
        return isinstance(value, np.ndarray) and value.dtype == before.dtype and np.array_equal(value, before)
    return (isinstance(value, torch.Tensor) and value.shape == before.shape and value.dtype == before.dtype
            and torch.equal(value.detach(), before))


def changed_arguments(args, before, names):
    """The names of the arguments that differ from their snapshot `before`."""
    return [name for name, value, old in zip(names, args, before) if not unchanged(value, old)]


def argument_names(student, reference, count):
    """The names of the first `count` positional parameters, from the student's signature, else the
    reference's, else 'number i'."""
    for function in (student, reference):
        try:
            parameters = list(inspect.signature(function).parameters.values())
        except (TypeError, ValueError):
            continue
        positional = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        if len(positional) >= count:
            return positional[:count]
    return [f"number {i + 1}" for i in range(count)]


def compare(expected, got, rtol, atol, parts=()):
    """None when `got` matches `expected`, else a `Difference` saying how it differs.
    Infinities and nans match only themselves, so a mutant that overflows is recognised."""
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return Difference(f"expected a tuple of {len(expected)} values, got {describe(got)}",
                              NONE_HINT if got is None else TUPLE_HINT)
        for i, (e, g) in enumerate(zip(expected, got)):
            difference = compare(e, g, rtol, atol)
            if difference:
                return Difference(f"{parts[i] if i < len(parts) else f'value {i}'}: {difference.text}",
                                  difference.hint)
        return None
    if got is None:
        return Difference("your function returned None", NONE_HINT)
    if isinstance(expected, torch.Tensor):
        if isinstance(got, (tuple, list)):
            return Difference(f"expected one tensor, got {describe(got)}", ONE_VALUE_HINT)
        if not isinstance(got, torch.Tensor):
            return Difference(f"expected a tensor, got {describe(got)}", TENSOR_HINT)
        if got.shape != expected.shape:
            return Difference(f"expected shape {tuple(expected.shape)}, got shape {tuple(got.shape)}", SHAPE_HINT)
        if not expected.dtype.is_floating_point and expected.dtype != torch.bool and got.dtype != expected.dtype:
            return Difference(f"expected integers of dtype {expected.dtype}, got dtype {got.dtype}", INTEGER_HINT)
        got, expected = got.detach().double(), expected.detach().double()
    else:
        if isinstance(got, (tuple, list)):
            return Difference(f"expected one number, got {describe(got)}", ONE_VALUE_HINT)
        try:
            got, expected = torch.as_tensor(float(got)), torch.as_tensor(float(expected))
        except (TypeError, ValueError, RuntimeError):  # a string, a tensor of several numbers...
            return Difference(f"expected one number, got {show(got)}", NUMBER_HINT)
    if torch.isfinite(expected).all() and not torch.isfinite(got).all():
        return Difference("your answer has nan or inf values")
    if not torch.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True):
        return Difference("the values differ")
    return None


def describe(value):
    """A value's type in words: 'a float', 'a tuple of 3 values', 'a NumPy array', 'None'."""
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {plural(len(value), 'value')}"
    if isinstance(value, np.ndarray):
        return "a NumPy array"
    if isinstance(value, torch.Tensor):
        return "a tensor"
    name = type(value).__name__
    return "None" if value is None else f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def first_differing_parts(expected, got, rtol, atol):
    """The first items of two tuples that differ (the values themselves when not tuples)."""
    if isinstance(expected, (tuple, list)) and isinstance(got, (tuple, list)) and len(got) == len(expected):
        for e, g in zip(expected, got):
            if compare(e, g, rtol, atol):
                return e, g
    return expected, got


def show(value):
    """A short printable form of an answer."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu()
        array = value.double().numpy().round(4) if value.dtype.is_floating_point else value.numpy()
        return str(array).replace("\n", "\n            ")
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(show(v) for v in value) + ")"
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)
