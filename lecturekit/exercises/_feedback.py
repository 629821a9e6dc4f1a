"""The feedback machinery shared by every lecture's checkers.

An `Exercise` calls the student's function on a few small cases and compares each answer with
a reference answer from `lecturekit` itself or from an independent library. On the first failure
it prints which case, what was expected, what came back, and a hint; when the answer matches a
known typical mistake (a `Mutant`), the hint names that mistake. It prints and never raises, so a
student notebook runs top to bottom whatever is done, and it returns True or False.
"""
from dataclasses import dataclass, field
from typing import Callable

import torch

NOT_ATTEMPTED = "not attempted yet"


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
        if not callable(student):
            print(f"✗ {self.name}: pass your function itself, not {type(student).__name__}")
            return False
        for case in self.cases:
            expected = self.observe(self.reference, case.make_args())
            try:
                got = self.observe(student, case.make_args())
            except NotImplementedError:
                print(f"… {self.name}: {NOT_ATTEMPTED}")
                return False
            except Exception as error:  # noqa: BLE001 - any mistake becomes feedback, not a traceback
                print(f"✗ {self.name}, case «{case.description}»: your function raised "
                      f"{type(error).__name__}: {error}\n  Hint: {self.hint}")
                return False
            difference = compare(expected, got, self.rtol, self.atol, self.parts)
            if difference:
                expected_part, got_part = first_differing_parts(expected, got, self.rtol, self.atol)
                print(f"✗ {self.name}, case «{case.description}»: {difference}\n"
                      f"  expected: {show(expected_part)}\n  got:      {show(got_part)}\n"
                      f"  Hint: {self.diagnose(case, got)}")
                return False
        print(f"✓ {self.name}: all {len(self.cases)} cases pass")
        return True

    def diagnose(self, case, got):
        """The advice of the first mutant that gives the same answer on this case, else the hint."""
        for mutant in self.mutants:
            try:
                answer = self.observe(mutant.function, case.make_args())
            except Exception:  # noqa: BLE001 - a mutant that fails here is simply not this mistake
                continue
            if not compare(answer, got, self.rtol, self.atol):
                return f"this looks like {mutant.name}. {mutant.advice}"
        return self.hint


def compare(expected, got, rtol, atol, parts=()):
    """None when `got` matches `expected`, else a sentence saying how it differs.
    Infinities and nans match only themselves, so a mutant that overflows is recognised."""
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"expected a tuple of {len(expected)} values, got {type(got).__name__}"
        for i, (e, g) in enumerate(zip(expected, got)):
            difference = compare(e, g, rtol, atol)
            if difference:
                return f"{parts[i] if i < len(parts) else f'value {i}'}: {difference}"
        return None
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            return f"expected a tensor, got {type(got).__name__}"
        if got.shape != expected.shape:
            return f"expected shape {tuple(expected.shape)}, got shape {tuple(got.shape)}"
        got, expected = got.detach().double(), expected.detach().double()
    else:
        try:
            got, expected = torch.as_tensor(float(got)), torch.as_tensor(float(expected))
        except (TypeError, ValueError, RuntimeError):  # None, a string, a tensor of several numbers...
            return f"expected a number, got {show(got)}"
    if torch.isfinite(expected).all() and not torch.isfinite(got).all():
        return "your answer has nan or inf values"
    if not torch.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True):
        return "the values differ"
    return None


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
        return str(value.detach().double().numpy().round(4)).replace("\n", "\n            ")
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(show(v) for v in value) + ")"
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)
