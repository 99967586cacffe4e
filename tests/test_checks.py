"""vae_lib.checks: right answers pass, known mistakes are diagnosed, the answer never leaks."""

from __future__ import annotations

import contextlib
import io
import math
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from vae_lib import bayes, checks
from vae_lib.checks import Check, CheckResult, Mistake

CHAPTER = Path(__file__).resolve().parents[1] / "chapters" / "01_bayes.md"

# Each chapter-1 check: (public function, the Check it uses).
CHAPTER_CHECKS = {
    "ex-bayes-silence": (checks.check_silent_machine, checks._silent_machine_check),
    "ex-bayes-two-mornings": (checks.check_noise_then_silence, checks._noise_then_silence_check),
    "ex-bayes-loaded-die": (checks.check_loaded_die_mle, checks._loaded_die_check),
    "ex-bayes-grid": (checks.check_grid_dimension, checks._grid_dimension_check),
}


def run(check, answer):
    """Call a check; return (result, printed text)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        result = check(answer)
    return result, buffer.getvalue()


def answer_spellings(value: float) -> list[str]:
    """Ways the expected value could show up in text."""
    spellings = {repr(value), str(value)}
    if float(value).is_integer():
        spellings.add(str(int(value)))
    else:
        for decimals in range(2, 8):
            spellings.add(f"{value:.{decimals}f}")
        spellings.add(f"{100 * value:.0f}%")
        spellings.add(f"{100 * value:.1f}%")
    return sorted(spellings)


def expected_values():
    from vae_lib.bayes import COFFEE_P_NOISE, COFFEE_PRIOR

    silence = {h: 1 - p for h, p in COFFEE_P_NOISE.items()}
    return {
        "ex-bayes-silence": COFFEE_PRIOR["clogged"] * silence["clogged"] / bayes.evidence(COFFEE_PRIOR, silence),
        "ex-bayes-two-mornings": bayes.update_sequentially(COFFEE_PRIOR, [COFFEE_P_NOISE, silence])[-1]["clogged"],
        "ex-bayes-loaded-die": checks.LOADED_DIE_SIXES / checks.LOADED_DIE_ROLLS,
        "ex-bayes-grid": max(d for d in range(40)
                             if 10**d <= checks.GRID_TERMS_PER_SECOND * checks.GRID_SECONDS_ALLOWED),
    }



# ----------------------------------------------------------------------------- the chapter-1 checks


@pytest.mark.parametrize("label", CHAPTER_CHECKS)
def test_right_answer_is_accepted(label):
    check, _ = CHAPTER_CHECKS[label]
    value = expected_values()[label]
    for answer in (value, np.float64(value), torch.tensor(value), np.array([value])):
        result, printed = run(check, answer)
        assert result.correct is True, (label, answer, result.message)
        assert bool(result) and printed.startswith("✓")


@pytest.mark.parametrize("label", CHAPTER_CHECKS)
def test_none_means_not_answered(label):
    check, _ = CHAPTER_CHECKS[label]
    result, printed = run(check, None)
    assert result.correct is None and not result
    assert "Not answered yet" in printed and "Not answered yet" in result.message


@pytest.mark.parametrize("label", CHAPTER_CHECKS)
def test_each_known_mistake_is_diagnosed(label):
    check, make = CHAPTER_CHECKS[label]
    mistakes = make()._mistakes
    assert len(mistakes) >= 3, "each exercise should know at least three typical mistakes"
    for mistake in mistakes:
        result, printed = run(check, mistake.value)
        assert result.correct is False
        assert result.message == f"✗ {mistake.message}"
        assert printed.strip() == result.message


def test_mistake_messages_name_the_error():
    messages = {m.message for m in checks._silent_machine_check()._mistakes}
    text = " ".join(messages)
    assert "likelihood P(silence | clogged)" in text
    assert "joint P(silence, clogged)" in text and "forgot to divide by the evidence" in text
    assert "normalised the likelihoods" in text
    assert "prior" in text


@pytest.mark.parametrize("label", ["ex-bayes-silence", "ex-bayes-two-mornings", "ex-bayes-loaded-die"])
def test_out_of_range_and_rounding_are_diagnosed(label):
    check, _ = CHAPTER_CHECKS[label]
    value = expected_values()[label]
    for bad in (1.7, -0.2):
        result, _ = run(check, bad)
        assert result.correct is False and "Out of range: a probability lies in [0, 1]" in result.message
    coarse = round(value, 2)
    result, _ = run(check, coarse)
    assert result.correct is False and "rounded" in result.message


@pytest.mark.parametrize(
    "answer, fragment",
    [("0.5", "string"), ([0.1, 0.2], "list of 2"), ({"clogged": 0.1}, "dict"), (np.array([0.1, 0.2]), "2 entries"),
     (True, "True/False"), (float("nan"), "NaN"), (float("inf"), "infinite"), (1 + 2j, "complex")],
)
def test_malformed_answers_get_a_helpful_message(answer, fragment):
    result, _ = run(checks.check_silent_machine, answer)
    assert result.correct is False and fragment in result.message


def test_integer_check_wants_a_whole_number():
    result, _ = run(checks.check_grid_dimension, 12.5)
    assert result.correct is False and "whole number" in result.message


# ----------------------------------------------------------------------------- the answer never leaks


WRONG_ANSWERS = [None, 0.0, 1.0, 0.5, 1.7, -1, "x", [1, 2], float("nan"), 1e9, 7, 0.9, 0.3]


@pytest.mark.parametrize("label", CHAPTER_CHECKS)
def test_the_answer_never_leaks(label):
    check, make = CHAPTER_CHECKS[label]
    value = expected_values()[label]
    spellings = answer_spellings(value)
    near_misses = [m.value for m in make()._mistakes] + [round(value, 2), round(value, 1), value * 1.02]
    texts = [repr(make()), str(make())]
    for answer in WRONG_ANSWERS + near_misses + [value]:
        result, printed = run(check, answer)
        texts += [printed, result.message, repr(result), str(result)]
    for text in texts:
        for spelling in spellings:
            # whole-token match, so that e.g. "13" is not found inside "0.13"
            assert not re.search(rf"(?<![\d.]){re.escape(spelling)}(?!\d)", text), (label, spelling, text)


def test_construction_errors_do_not_leak_the_value():
    with pytest.raises(ValueError) as info:
        Check("secret", 0.123456, kind="fraction")
    assert "0.123" not in str(info.value)
    with pytest.raises(ValueError) as info:
        Check("secret", float("nan"))
    assert "nan" not in str(info.value).lower().replace("finite", "")


def test_result_repr_has_no_expected_value():
    check = Check("a third", 1 / 3)
    result = check(0.5, quiet=True)
    assert "0.333" not in repr(result) and "0.333" not in repr(check)


# ----------------------------------------------------------------------------- the generic mechanism


def test_generic_check_tolerance_and_kinds():
    third = Check("a third", 1 / 3, kind="number", rel_tol=1e-3)
    assert third(Fraction(1, 3), quiet=True).correct
    assert third(0.3334, quiet=True).correct
    assert not third(0.335, quiet=True).correct
    assert third(0.33, quiet=True).message.startswith("✗ Close, but it looks rounded to 2 decimal places")
    assert third(0.345, quiet=True).message.startswith("✗ Close, but not within tolerance")
    assert third(5.0, quiet=True).message.startswith("✗ Not quite.")
    assert third(5.0, quiet=True).correct is False  # a "number" has no range check
    count = Check("count", 13, kind="integer")
    assert count(13.0, quiet=True).correct and not count(13.0000001, quiet=True).correct


def test_mistake_equal_to_the_answer_is_ignored():
    check = Check("x", 0.25, [Mistake(0.25, "never shown"), Mistake(0.5, "doubled")])
    assert check(0.25, quiet=True).correct
    assert len(check._mistakes) == 1


def test_an_exact_mistake_beats_the_rounding_diagnosis():
    # 0.1 is both the answer rounded to one decimal and a known mistake: the mistake explains it better.
    check = Check("x", 0.0508, [Mistake(0.1, "the likelihood")])
    assert check(0.1, quiet=True).message == "✗ the likelihood"


def test_quiet_mode_and_display_print_once():
    check = Check("x", 0.25, kind="probability")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        loud = check(0.25)
        loud._ipython_display_()  # already printed: Jupyter shows nothing more
        quiet = check(0.25, quiet=True)
    assert buffer.getvalue().count("✓") == 1
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        quiet._ipython_display_()
    assert buffer.getvalue().startswith("✓")
    assert isinstance(loud, CheckResult) and loud.correct and quiet.correct


def test_bad_kind_is_refused():
    with pytest.raises(ValueError, match="kind must be"):
        Check("x", 0.5, kind="percent")


# ----------------------------------------------------------------------------- the chapter's exercises


def chapter_blocks(directive: str) -> dict[str, str]:
    """``{label: body}`` of every ```` ```{exercise} ```` / ```` ````{solution} ```` block in chapter 1."""
    text = CHAPTER.read_text(encoding="utf-8")
    if directive == "solution":
        pattern = r"^````\{solution\} (\S+)\n(.*?)^````$"
    else:
        pattern = r"^```\{exercise\}[^\n]*\n:label: (\S+)\n(.*?)^```$"
    return dict(re.findall(pattern, text, flags=re.S | re.M))


def test_every_chapter_check_has_an_exercise_and_a_solution():
    exercises, solutions = chapter_blocks("exercise"), chapter_blocks("solution")
    assert set(exercises) == set(CHAPTER_CHECKS) == set(solutions)
    text = CHAPTER.read_text(encoding="utf-8")
    for label, (check, _) in CHAPTER_CHECKS.items():
        assert f"checks.{check.__name__}(my_answer)" in text, label


@pytest.mark.parametrize("label", CHAPTER_CHECKS)
def test_the_solution_code_passes_its_own_check(label):
    body = chapter_blocks("solution")[label]
    code_blocks = re.findall(r"```python\n(.*?)```", body, flags=re.S)
    assert code_blocks, f"solution {label} has no python code"
    namespace = {"np": np, "stats": stats, "bayes": bayes, "checks": checks,
                 "prior": dict(bayes.COFFEE_PRIOR), "p_noise": dict(bayes.COFFEE_P_NOISE)}
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        for code in code_blocks:
            exec(compile(code, f"<solution {label}>", "exec"), namespace)  # noqa: S102 - our own chapter
    printed = buffer.getvalue()
    assert "✓ Correct" in printed and "✗" not in printed, printed


def test_exercise_texts_state_the_data_the_checks_use():
    exercises = chapter_blocks("exercise")
    assert f"{checks.LOADED_DIE_SIXES} sixes in {checks.LOADED_DIE_ROLLS} rolls" in exercises["ex-bayes-loaded-die"]
    grid = exercises["ex-bayes-grid"]
    assert f"$10^{round(math.log10(checks.GRID_TERMS_PER_SECOND))}$ terms" in grid
    assert checks.GRID_SECONDS_ALLOWED == 24 * 60 * 60 and "one whole day" in grid
    assert f"{checks.GRID_POINTS_PER_DIMENSION} grid points per" in grid
