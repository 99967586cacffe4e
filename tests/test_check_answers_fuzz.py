"""Every chapter's self-checks against every kind of answer a student (or a stray variable) can pass.

Issue 21, item 8: a check must never raise. Each answer below gets a one-line message, never an
exception, never the expected value, and "correct" only when it is the right number. The table
is fixed and the random part is seeded, so the test is deterministic; it runs in ``make test``.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import re
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
import torch

from test_checks import CHAPTER_CHECKS, answer_spellings, expected_values

expected_values = functools.lru_cache(maxsize=None)(expected_values)  # Monte Carlo inside: compute once
MARKS = ("✓ ", "✗ ", "• ")


class Raising:
    """An object whose every conversion raises (as a broken library object might)."""

    def __init__(self, error=RuntimeError):
        self.error = error

    def _raise(self, *args, **kwargs):
        raise self.error("broken")

    __float__ = __int__ = __index__ = __complex__ = __bool__ = __len__ = __iter__ = __array__ = _raise
    __eq__ = __lt__ = __gt__ = __le__ = __ge__ = _raise
    __hash__ = object.__hash__


class BrokenShape:
    item = staticmethod(lambda: 0.5)

    @property
    def shape(self):
        raise ValueError("no shape")


class ShapeOfStrings:
    shape = ("a", "b")

    def item(self):
        return 0.5


class ItemRaises:
    shape = ()

    def item(self):
        raise RuntimeError("no item")


class BadRepr:
    def __repr__(self):
        raise RuntimeError("no repr")

    __hash__ = object.__hash__


class LiesAboutItsClass:
    @property
    def __class__(self):
        raise RuntimeError("no class")


class FloatSubclass(float):
    pass


class IntSubclass(int):
    pass


class BadLengthList(list):
    def __len__(self):
        raise RuntimeError("no len")


def _self_holding_array() -> np.ndarray:
    array = np.empty((), dtype=object)
    array[()] = array
    return array


NUMPY_SCALARS = [np.bool_(True), np.int8(-3), np.int16(7), np.int32(7), np.int64(2**62), np.uint8(200),
                 np.uint64(2**64 - 1), np.float16(0.5), np.float32(1e-30), np.float64(-0.0), np.longdouble(0.25),
                 np.complex64(1 + 1j), np.complex128(0.5), np.str_("0.5"), np.bytes_(b"0.5"),
                 np.datetime64("2024-01-01"), np.timedelta64(3, "s"), np.void(b"\x00\x01")]
NUMPY_ARRAYS = [np.array(value) for value in NUMPY_SCALARS] + [
    np.array([0.5]), np.array([[7]]), np.zeros(3), np.zeros((0,)), np.zeros((2, 0)), np.array([None], dtype=object),
    np.array(["0.5"]), np.array([1 + 2j]), np.array([np.nan]), np.array([True]), np.ma.masked_array([0.5], mask=[True]),
    _self_holding_array(), np.array([[0.1, 0.2], [0.3, 0.4]])]
TORCH_TENSORS = [torch.tensor(0.5), torch.tensor([0.5]), torch.tensor([[3]]), torch.tensor(7, dtype=torch.int64),
                 torch.tensor(200, dtype=torch.uint8), torch.tensor(True), torch.tensor(0.5, dtype=torch.float16),
                 torch.tensor(0.5, dtype=torch.bfloat16), torch.tensor(1 + 2j), torch.tensor(0.5, requires_grad=True),
                 torch.tensor(0.5, requires_grad=True) * 2, torch.zeros(()).to("meta"), torch.zeros(2, device="meta"),
                 torch.zeros(3), torch.zeros(0), torch.tensor(float("nan")), torch.tensor(float("-inf")),
                 torch.zeros(1).to_sparse(), torch.nn.Parameter(torch.tensor(0.5))]
PYTHON_ANSWERS = [
    None, True, False, 0, 1, -1, 7, 2**63, 10**400, -(10**400), IntSubclass(3),
    0.0, -0.0, 0.5, 5e-324, 1e308, -1e308, float("nan"), float("inf"), float("-inf"), FloatSubclass(0.5),
    1 + 2j, complex(0.5, 0), Fraction(1, 3), Fraction(10**400, 7), Fraction(-(10**400), 3),
    Decimal("0.5"), Decimal("NaN"), Decimal("sNaN"), Decimal("1e400"), Decimal("-Infinity"), Decimal("-1e-400"),
    "0.5", "", "nan", "7", b"0.5", b"16", bytearray(b"7"), memoryview(b"0.5"),
    [], [0.5], [[0.5]], (0.5,), (0.1, 0.2), {0.5}, frozenset(), range(3), BadLengthList([0.5]),
    {}, {"clogged": 0.5}, {BadRepr(): 1}, {i: i for i in range(50)},
    object(), Raising(), Raising(OverflowError), Raising(TypeError), Raising(ValueError), BrokenShape(), ShapeOfStrings(),
    ItemRaises(), BadRepr(), LiesAboutItsClass(), float, int, lambda: 0.5, (x for x in [0.5]), Ellipsis,
    NotImplemented, slice(1, 2), math, type("Empty", (), {})(),
]
ANSWERS = PYTHON_ANSWERS + NUMPY_SCALARS + NUMPY_ARRAYS + TORCH_TENSORS


def _call(check, answer):
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        result = check(answer)
    return result, buffer.getvalue()


def _real_value(answer) -> float | None:
    """The number an answer stands for when it plainly is one (a real scalar or a one-entry array), else None."""
    with contextlib.suppress(Exception):
        if isinstance(answer, (bool, np.bool_, str, bytes)) or answer is None:
            return None
        if hasattr(answer, "shape") and hasattr(answer, "item"):
            if math.prod(answer.shape) != 1 or getattr(answer, "is_meta", False):
                return None
            answer = answer.item()
            if isinstance(answer, (bool, str, bytes, complex)):
                return None
        if isinstance(answer, complex):
            return None
        return float(answer)
    return None


def _assert_sound(label, answer, result, printed):
    expected = expected_values()[label]
    message = result.message
    assert result.correct in (True, False, None), (label, answer)
    assert isinstance(message, str) and message.startswith(MARKS) and "\n" not in message, (label, message)
    assert printed == message + "\n", (label, printed)
    assert (result.correct is None) == (answer is None), (label, message)
    if result.correct:
        value = _real_value(answer)
        assert value is not None and math.isclose(value, expected, rel_tol=1e-3, abs_tol=1e-9), (label, answer)
    for spelling in answer_spellings(expected):
        assert not re.search(rf"(?<![\d.]){re.escape(spelling)}(?!\d)", message), (label, spelling, message)


@pytest.mark.parametrize("label", CHAPTER_CHECKS)
def test_no_answer_makes_a_self_check_raise(label):
    check, _ = CHAPTER_CHECKS[label]
    for answer in ANSWERS:
        try:
            result, printed = _call(check, answer)
        except Exception as err:  # noqa: BLE001 - the failure to report
            pytest.fail(f"{label} raised {type(err).__name__} on {type(answer).__name__}: {err}")
        _assert_sound(label, answer, result, printed)


def _half(value: float) -> np.ndarray:
    with np.errstate(over="ignore"):  # beyond 65504 a float16 is infinite: a fine answer to check too
        return np.array(value, dtype=np.float16)


WRAPPERS = [float, np.float32, np.float64, lambda v: np.array([v]), _half,
            torch.tensor, lambda v: torch.tensor([v], dtype=torch.float64), Fraction, lambda v: Decimal(repr(v)),
            lambda v: [v], str, lambda v: {"answer": v}, lambda v: int(v) if abs(v) < 1e18 else v]


@pytest.mark.parametrize("label", CHAPTER_CHECKS)
def test_random_numbers_in_random_wrappings_are_right_only_when_they_are_the_answer(label):
    """Seeded: numbers at every scale (and the answer itself, perturbed or not) in every wrapping."""
    check, _ = CHAPTER_CHECKS[label]
    expected = expected_values()[label]
    rng = np.random.default_rng(sum(map(ord, label)))
    values = [float(v) for v in 10.0 ** rng.uniform(-12, 12, 60) * rng.choice([-1, 1], 60)]
    values += [float(v) for v in (expected, expected * (1 + 1e-6), expected * 1.01, expected + 1, -expected)]
    for value in values:
        for index in rng.permutation(len(WRAPPERS))[:4]:
            answer = WRAPPERS[index](value)
            result, printed = _call(check, answer)
            _assert_sound(label, answer, result, printed)
