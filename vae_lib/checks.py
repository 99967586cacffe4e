"""The self-check machinery: say whether an answer is right, and what a wrong one looks like,
without ever revealing the right answer or confirming the digits of a guess.

A :class:`Check` knows the expected value (computed from the problem data, never typed in)
and a table of :class:`Mistake` values: the numbers that typical wrong computations produce,
each with a message explaining the slip. Calling the check on a student's answer prints one
friendly line (✓ or ✗) and returns a :class:`CheckResult` with ``.correct`` and ``.message``.
Neither the printed line, the result, nor its ``repr`` contains the expected value, and a check
never raises: an answer of any type (a string, bytes, a dict, an array, a tensor on the meta
device, an object whose ``__float__`` raises, 10**400 ...) gets a one-line message.

A wrong answer that matches no known mistake always gets the same message, however close it
is. Saying "close" or "rounded to 2 decimals" would confirm the leading digits of a guess,
and a student could then find any answer digit by digit in a few dozen tries.

>>> from vae_lib.checks import Check, Mistake
>>> half = Check("one half", expected=1 / 2, mistakes=[Mistake(2.0, "You inverted the fraction.")],
...              kind="number")
>>> half(None).correct is None
• Not answered yet: replace None with your computation and run the cell.
True
>>> half(2.0).correct
✗ You inverted the fraction.
False
>>> half(0.5).correct
✓ Correct.
True

Adding a chapter's self-checks
------------------------------
Each chapter has one module ``vae_lib/exercises/<chapter>.py`` (chapter 1:
:mod:`vae_lib.exercises.bayes`) that holds

1. the chapter's **problem data** as module constants (the prior, the rolls of a die, ...),
   which the chapter's text and code use and a test compares with the chapter;
2. for each exercise, a cached builder that computes the expected value *and* each mistake's
   value from that data by running the wrong method (a coarse grid, a forgotten division),
   never by typing a number, and returns a :class:`Check`;
3. for each exercise, a public function ``check_<what>(answer)`` whose docstring starts with
   ``"Exercise <label>:"``, the label of the chapter's ``{exercise}`` block. The chapter's
   self-check cell calls it; :func:`checks_by_exercise` finds it by that docstring.

Mistake messages may name a known slip ("that is the prior"); they must never state, or hint
at, digits of the right answer.
"""

from __future__ import annotations

import inspect
import math
import numbers
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import ModuleType

import numpy as np

from vae_lib.i18n import N_, tr

__all__ = ["Check", "CheckResult", "Mistake", "checks_by_exercise"]

CORRECT_MARK, WRONG_MARK, PENDING_MARK = "✓", "✗", "•"

#: Told to every wrong, unexplained answer of a non-integer check (so it confirms nothing).
ROUNDING_ADVICE = N_("If you rounded, pass the full-precision number your code computes.")

_EXERCISE_DOCSTRING = re.compile(r"Exercise ([\w-]+):")


@dataclass(frozen=True)
class Mistake:
    """A value a typical wrong computation gives, and what to tell the student who gets it.

    Args:
        value: the number the mistaken computation produces (computed from the problem).
        message: what the mistake looks like, e.g. ``"This is the likelihood P(noise | clogged),
            not the posterior."``. It must not contain the right answer.
    """

    value: float
    message: str


@dataclass
class CheckResult:
    """The verdict on one answer.

    Attributes:
        correct: ``True``, ``False``, or ``None`` when there is no answer yet.
        message: the one-line explanation that was printed.
    """

    correct: bool | None
    message: str
    _printed: bool = field(default=False, repr=False, compare=False)

    def __bool__(self) -> bool:
        return bool(self.correct)

    def __str__(self) -> str:
        return self.message

    def _ipython_display_(self) -> None:
        # The check already printed its line; showing the result again as the cell's
        # value would print it twice, so Jupyter displays it only if it was not printed.
        if not self._printed:
            print(self.message)


class Check:
    """Compare an answer with an expected value; diagnose known mistakes; never reveal the answer.

    Args:
        name: what is being checked, used in the repr (e.g. ``"P(clogged | silence)"``).
        expected: the right answer, computed from the problem data.
        mistakes: values that typical wrong computations give, each with a message.
            Mistakes indistinguishable from the right answer are ignored, and so are, for a whole
            number, mistakes one away from it: naming them would point at the answer.
        kind: ``"probability"`` (must lie in [0, 1]), ``"number"`` or ``"integer"``
            (a whole number, compared exactly).
        rel_tol, abs_tol: how close counts as correct (as in :func:`math.isclose`).
        hint: a nudge printed after every wrong answer that matches no known mistake (the
            same text for all of them, so that it says nothing about how close a guess is).
        correct_message: printed after ``✓`` for a right answer, e.g. why it makes sense.

    >>> third = Check("a third", 1 / 3, kind="probability")
    >>> third(0.3333).correct
    ✓ Correct.
    True
    >>> third(1.5, quiet=True).message.startswith("✗ Out of range")
    True
    >>> third(0.34, quiet=True).message == third(0.9, quiet=True).message   # no "close"
    True
    """

    def __init__(
        self,
        name: str,
        expected: float,
        mistakes: Iterable[Mistake] = (),
        *,
        kind: str = "probability",
        rel_tol: float = 1e-3,
        abs_tol: float = 1e-9,
        hint: str | None = None,
        correct_message: str = "",
    ) -> None:
        if kind not in {"probability", "number", "integer"}:
            raise ValueError(f"kind must be 'probability', 'number' or 'integer', got {kind!r}.")
        if not isinstance(expected, numbers.Real) or not math.isfinite(expected):
            raise ValueError(f"The expected value of check {name!r} must be a finite real number.")
        self.name = name
        self.kind = kind
        self.rel_tol = 0.0 if kind == "integer" else rel_tol
        self.abs_tol = 0.0 if kind == "integer" else abs_tol
        self.hint = hint or tr("Write down the formula you need, then compute each term from the problem data.")
        self.correct_message = correct_message
        self._expected = float(expected)
        # A mistake that gives (nearly) the right answer cannot be diagnosed: drop it. So is a
        # whole-number mistake one away from the answer: naming it would point at the answer.
        self._mistakes = [m for m in mistakes if not self._near(float(m.value), self._expected, loose=True)
                          and not (kind == "integer" and abs(float(m.value) - self._expected) <= 1)]

    def __repr__(self) -> str:  # never show the expected value
        return f"Check({self.name!r}, kind={self.kind!r}, {len(self._mistakes)} known mistakes)"

    # ----------------------------------------------------------------- comparing

    def _near(self, a: float, b: float, *, loose: bool = False) -> bool:
        rel = max(self.rel_tol, 5e-3) if loose else self.rel_tol
        return math.isclose(a, b, rel_tol=rel, abs_tol=self.abs_tol)

    def _matching_mistakes(self, value: float, *, loose: bool) -> list[Mistake]:
        return [m for m in self._mistakes if self._near(value, float(m.value), loose=loose)]

    def _unexplained_message(self) -> str:
        """The one message for every wrong answer that matches no known mistake."""
        advice = "" if self.kind == "integer" else f" {tr(ROUNDING_ADVICE)}"
        return f"{WRONG_MARK} {tr('Not quite.')} {self.hint}{advice}"

    def _diagnose(self, answer: object) -> tuple[bool | None, str]:
        if answer is None:
            return None, f"{PENDING_MARK} " + tr("Not answered yet: replace None with your computation and run the cell.")
        value, problem = _as_number(answer)
        if problem:
            return False, f"{WRONG_MARK} {problem}"
        if math.isnan(value):
            return False, f"{WRONG_MARK} " + tr("Your answer is NaN (not a number): look for 0/0 or the log of 0.")
        if math.isinf(value):
            return False, f"{WRONG_MARK} " + tr("Your answer is infinite: look for a division by zero.")
        if self.kind == "probability" and not 0.0 <= value <= 1.0:
            return False, f"{WRONG_MARK} {_out_of_range_advice(value)}"
        if self.kind == "integer" and value != round(value):
            return False, f"{WRONG_MARK} " + tr("The answer is a whole number: yours has a fractional part.")
        if self._near(value, self._expected):
            return True, f"{CORRECT_MARK} {tr('Correct.')}" + (f" {self.correct_message}" if self.correct_message else "")
        # A known mistake hit (almost) exactly beats one the student may have rounded. Nothing
        # else is said about a wrong answer: any "close" would confirm digits of a guess.
        mistakes = self._matching_mistakes(value, loose=False) or self._matching_mistakes(value, loose=True)
        if mistakes:
            return False, f"{WRONG_MARK} " + f" {tr('Or:')} ".join(dict.fromkeys(m.message for m in mistakes))
        return False, self._unexplained_message()

    def __call__(self, answer: object, *, quiet: bool = False) -> CheckResult:
        """Check ``answer``; print the verdict (unless ``quiet``) and return it as a :class:`CheckResult`."""
        correct, message = self._diagnose(answer)
        if not quiet:
            print(message)
        return CheckResult(correct=correct, message=message, _printed=not quiet)


def _out_of_range_advice(value: float) -> str:
    """What to say of a "probability" outside [0, 1]; the same words for every such value of a range.

    >>> _out_of_range_advice(75.0)
    'Out of range: a probability lies in [0, 1]. If that is a percentage, give a probability between 0 and 1 instead (divide by 100).'
    """
    if 1 < value <= 100:
        advice = tr("If that is a percentage, give a probability between 0 and 1 instead (divide by 100).")
    elif value > 100:
        advice = tr("A value above 1 often means a sum or product that was never normalized (divided by its total).")
    else:
        advice = tr("A negative value often means a sign slip.")
    return f"{tr('Out of range: a probability lies in [0, 1].')} {advice}"


#: How deep an answer is unwrapped (a 0-d array holding an array holding ...) before giving up.
_MAX_UNWRAP = 4


def _as_number(answer: object, depth: int = 0) -> tuple[float, str | None]:
    """Turn a student's answer into a float, or explain why it is not a single number. Never raises.

    A huge whole number (10**400) becomes the largest float of its sign: wrong, but a number.

    >>> _as_number(np.float32(0.5)), _as_number(10**400)[0] > 1e308
    ((0.5, None), True)
    >>> _as_number(b"0.5")[1]
    'Expected a number, got bytes: pass the number itself, not its text.'
    """
    try:
        return _read_number(answer, depth)
    except Exception as err:  # noqa: BLE001 - the answer's own methods (__float__, .shape, .item) raised
        return math.nan, tr("Expected a number, but your answer, of type {kind}, could not be read as one: "
                            "reading it raised {error}.", kind=_type_name(answer), error=type(err).__name__)


def _read_number(answer: object, depth: int) -> tuple[float, str | None]:
    if isinstance(answer, (bool, np.bool_)):
        return math.nan, tr("Expected a number, got True/False.")
    if isinstance(answer, str):
        return math.nan, tr("Expected a number, got a string: remove the quotes.")
    if isinstance(answer, (bytes, bytearray, memoryview)):
        return math.nan, tr("Expected a number, got bytes: pass the number itself, not its text.")
    if isinstance(answer, Mapping):
        return math.nan, _dict_message(answer)
    if isinstance(answer, numbers.Complex) and not isinstance(answer, numbers.Real):
        return math.nan, tr("Expected a real number, got a complex number.")
    if isinstance(answer, (numbers.Real, Decimal)):
        return _real(answer), None
    if hasattr(answer, "shape") and hasattr(answer, "item"):  # numpy / torch scalars and arrays
        return _array_item(answer, depth)
    if isinstance(answer, (list, tuple, set, frozenset)):
        kind, count = _type_name(answer), len(answer)
        if count == 1:
            return math.nan, tr("Expected a single number, got a {kind} of 1 item: pass the value itself, "
                                "not a {kind} holding it.", kind=kind)
        return math.nan, tr("Expected a single number, got a {kind} of {count} items: "
                            "pass the one value the exercise asks for.", kind=kind, count=count)
    try:
        return _real(answer), None
    except (TypeError, ValueError):
        return math.nan, tr("Expected a number, got an answer of type {kind}.", kind=_type_name(answer))


def _array_item(array: object, depth: int) -> tuple[float, str | None]:
    """The number in a one-entry array or tensor (then checked like any answer), or why there is none."""
    if getattr(array, "is_meta", False) is True:
        return math.nan, tr("Expected a number, got a tensor on the meta device, which holds no values: "
                            "compute it on a real device (e.g. the CPU).")
    count = math.prod(int(size) for size in array.shape)
    if count != 1:
        return math.nan, tr("Expected a single number, got an array with {count} entries: "
                            "pick the one the exercise asks for.", count=count)
    if depth >= _MAX_UNWRAP:
        return math.nan, tr("Expected a number, got an array nested in itself.")
    return _as_number(array.item(), depth + 1)


def _real(answer: object) -> float:
    """``float(answer)``, with a finite number too large for a float as the largest float of its sign."""
    try:
        return float(answer)
    except OverflowError:
        return sys.float_info.max if answer > 0 else -sys.float_info.max


def _dict_message(mapping: Mapping) -> str:
    """Why a dict is not an answer, naming its keys (at most four, each shortened); never raises.

    >>> _dict_message({"mu": 1.0})
    "Expected a single number, got a dict with the key 'mu': pass the one value the exercise asks for, not the whole dict."
    """
    try:
        keys = [repr(key)[:24] for _, key in zip(range(5), mapping)]
    except Exception:  # noqa: BLE001 - a mapping whose keys cannot be listed or shown
        return tr("Expected a single number, got a dict: pass the one value the exercise asks for, not the whole dict.")
    if not keys:
        return tr("Expected a single number, got a dict with no keys: pass the one value the exercise asks for.")
    shown = ", ".join(keys[:4]) + (", ..." if len(keys) > 4 else "")
    if len(keys) == 1:
        return tr("Expected a single number, got a dict with the key {keys}: "
                  "pass the one value the exercise asks for, not the whole dict.", keys=shown)
    return tr("Expected a single number, got a dict with the keys {keys}: "
              "pass the one value the exercise asks for, not the whole dict.", keys=shown)


def _type_name(answer: object) -> str:
    return getattr(type(answer), "__name__", "object")


def checks_by_exercise(module: ModuleType) -> dict[str, Callable[[object], CheckResult]]:
    """The self-check functions of a chapter's exercise module, by exercise label.

    A self-check is a public function of ``module`` whose docstring starts with
    ``"Exercise <label>:"``, where ``<label>`` is the label of the chapter's exercise.

    Args:
        module: a chapter's exercise module, e.g. :mod:`vae_lib.exercises.bayes`.

    >>> from vae_lib.exercises import bayes
    >>> checks_by_exercise(bayes)["ex-bayes-silence"].__name__
    'check_silent_machine'
    """
    found: dict[str, Callable[[object], CheckResult]] = {}
    for name, function in inspect.getmembers(module, inspect.isfunction):
        match = _EXERCISE_DOCSTRING.match(inspect.getdoc(function) or "")
        if name.startswith("_") or function.__module__ != module.__name__ or not match:
            continue
        label = match.group(1)
        if label in found:
            raise ValueError(f"Two self-checks in {module.__name__} claim exercise {label!r}: "
                             f"{found[label].__name__} and {name}. Give each exercise one check.")
        found[label] = function
    return found
