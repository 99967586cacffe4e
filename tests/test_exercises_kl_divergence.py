"""The KL chapter's exercise checks: solutions pass, known mistakes are diagnosed, the answer never leaks,
and the chapter states its exercises with the module's numbers."""

from __future__ import annotations

import contextlib
import io
import math
import re
from pathlib import Path

import jupytext
import numpy as np
import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence

from vae_lib.divergences import GaussianMixture1D, fit_gaussian
from vae_lib.exercises import kl_divergence as exercises

CHAPTER = Path(__file__).resolve().parents[1] / "chapters" / "06_kl_divergence.md"

# Each single-number check: (public function, the Check it uses).
SINGLE_CHECKS = {
    "ex-kl-closed-form": (exercises.check_closed_form_kl, exercises._closed_form_check),
    "ex-kl-moment-matching": (exercises.check_moment_matching_variance, exercises._moment_matching_check),
    "ex-kl-reverse-fit": (exercises.check_reverse_fit_kl, exercises._reverse_fit_check),
}


def run(check, answer):
    """Call a check; return (result, printed text)."""
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        result = check(answer)
    return result, buffer.getvalue()


# --------------------------------------------------------------------------- the solutions, computed independently


def solution_both_ways() -> tuple[float, float]:
    p, q = np.array(exercises.FORECAST_P), np.array(exercises.FORECAST_Q)
    return float(np.sum(p * np.log(p / q))), float(np.sum(q * np.log(q / p)))


def solution(label: str) -> float:
    if label == "ex-kl-closed-form":
        mu, sigma = np.array(exercises.ENCODER_MU), np.array(exercises.ENCODER_SIGMA)
        return float(0.5 * np.sum(mu**2 + sigma**2 - np.log(sigma**2) - 1))
    if label == "ex-kl-moment-matching":
        w, mu, sd = (np.array(v) for v in (exercises.MIXTURE_WEIGHTS, exercises.MIXTURE_MEANS, exercises.MIXTURE_STDS))
        return float(w @ (sd**2 + mu**2) - (w @ mu) ** 2)
    if label == "ex-kl-reverse-fit":
        target = GaussianMixture1D(exercises.REVERSE_WEIGHTS, exercises.REVERSE_MEANS, exercises.REVERSE_STDS)
        return min(fit_gaussian(target, "reverse", start=(m, 1.0)).kl for m in np.linspace(-5, 5, 11))
    raise KeyError(label)


def test_closed_form_solution_matches_torch():
    mu, sigma = (torch.tensor(v, dtype=torch.float64) for v in (exercises.ENCODER_MU, exercises.ENCODER_SIGMA))
    prior = Independent(Normal(torch.zeros_like(mu), torch.ones_like(sigma)), 1)
    assert solution("ex-kl-closed-form") == pytest.approx(kl_divergence(Independent(Normal(mu, sigma), 1), prior).item())


# --------------------------------------------------------------------------- single-number checks


@pytest.mark.parametrize("label", SINGLE_CHECKS)
def test_solution_passes(label):
    check, _ = SINGLE_CHECKS[label]
    value = solution(label)
    for answer in (value, np.float64(value), torch.tensor(value)):
        result, printed = run(check, answer)
        assert result.correct is True, (label, result.message)
        assert printed.startswith("✓")


@pytest.mark.parametrize("label", SINGLE_CHECKS)
def test_none_means_not_answered(label):
    check, _ = SINGLE_CHECKS[label]
    result, printed = run(check, None)
    assert result.correct is None and "Not answered yet" in printed


@pytest.mark.parametrize("label", SINGLE_CHECKS)
def test_each_known_mistake_is_diagnosed(label):
    check, make = SINGLE_CHECKS[label]
    mistakes = make()._mistakes
    assert len(mistakes) >= 3, "each exercise should know at least three typical mistakes"
    for mistake in mistakes:
        result, _ = run(check, mistake.value)
        assert result.correct is False and result.message == f"✗ {mistake.message}"


def test_the_mistakes_the_chapter_warns_about_are_known():
    closed_form = " ".join(m.message for m in exercises._closed_form_check()._mistakes)
    assert "σ where the formula has σ²" in closed_form and "other direction" in closed_form
    matching = " ".join(m.message for m in exercises._moment_matching_check()._mistakes)
    assert "weighted *sum*" in matching and "within the components" in matching
    reverse = exercises._reverse_fit_check()._mistakes
    assert sum("local optimum" in m.message for m in reverse) == len(exercises.reverse_fit_optima()) - 1 == 2


@pytest.mark.parametrize("label", SINGLE_CHECKS)
def test_other_wrong_answers_get_one_constant_message(label):
    check, make = SINGLE_CHECKS[label]
    rng = np.random.default_rng(0)
    messages = {run(check, value)[0].message for value in rng.uniform(20, 30, size=5)}
    assert len(messages) == 1 and messages.pop().startswith("✗ Not quite.")


@pytest.mark.parametrize("label", SINGLE_CHECKS)
def test_the_answer_never_leaks(label):
    check, make = SINGLE_CHECKS[label]
    value = solution(label)
    spellings = {f"{value:.{d}f}" for d in range(2, 8)}
    texts = [repr(make())] + [run(check, a)[0].message for a in (None, 0.0, 1.0, 25.0, value, "x", [1, 2])]
    for text in texts:
        assert not any(s in text for s in spellings), (text, spellings)


# --------------------------------------------------------------------------- the pair check


def test_both_ways_accepts_the_solution_and_spots_a_swap():
    forward, backward = solution_both_ways()
    assert forward != pytest.approx(backward)
    result, printed = run(exercises.check_kl_both_ways, (forward, backward))
    assert result.correct is True and printed.startswith("✓")
    result, _ = run(exercises.check_kl_both_ways, [np.float64(forward), torch.tensor(backward)])
    assert result.correct is True
    result, _ = run(exercises.check_kl_both_ways, (backward, forward))
    assert result.correct is False and "swapped" in result.message


def test_both_ways_diagnoses_each_component_and_pending():
    forward, backward = solution_both_ways()
    assert run(exercises.check_kl_both_ways, None)[0].correct is None
    assert run(exercises.check_kl_both_ways, (None, None))[0].correct is None
    assert "Give two numbers" in run(exercises.check_kl_both_ways, forward)[0].message
    in_bits = forward / math.log(2)
    result, _ = run(exercises.check_kl_both_ways, (in_bits, backward))
    assert result.correct is False
    assert "KL(p || q): ✗" in result.message and "bits" in result.message and "KL(q || p): ✓" in result.message
    first, second = exercises._both_ways_checks()
    assert len(first._mistakes) >= 3 and len(second._mistakes) >= 3
    for mistake in second._mistakes:
        result, _ = run(exercises.check_kl_both_ways, (forward, mistake.value))
        assert result.correct is False and mistake.message in result.message


def test_both_ways_never_leaks():
    spellings = {f"{v:.{d}f}" for v in solution_both_ways() for d in range(2, 8)}
    for answer in [None, 1.0, (0.0, 0.0), (1.0, 2.0), ("a", "b"), solution_both_ways()]:
        message = run(exercises.check_kl_both_ways, answer)[0].message
        assert not any(s in message for s in spellings), message


# --------------------------------------------------------------------------- the chapter states the same problems


def exercise_texts() -> dict[str, str]:
    """Each exercise's statement, self-check and solution, by label, from the chapter."""
    notebook = jupytext.reads(CHAPTER.read_text(), fmt="md:myst")
    text = "\n".join(cell.source for cell in notebook.cells)
    labels = re.findall(r":label: (ex-kl-[\w-]+)", text)
    blocks = {}
    for label, following in zip(labels, labels[1:] + [None]):
        start = text.index(f":label: {label}")
        end = text.index(f":label: {following}") if following else len(text)
        blocks[label] = text[start:end]
    return blocks


def test_chapter_states_the_modules_numbers():
    blocks = exercise_texts()
    assert set(blocks) == {"ex-kl-both-ways", *SINGLE_CHECKS}

    both = blocks["ex-kl-both-ways"]
    assert f"p = {exercises.FORECAST_P}" in both and f"q = {exercises.FORECAST_Q}" in both
    assert str(list(exercises.FORECAST_P)) in both and str(list(exercises.FORECAST_Q)) in both
    assert "exercises.check_kl_both_ways(my_answer)" in both

    closed = blocks["ex-kl-closed-form"]
    assert f"\\mu = {exercises.ENCODER_MU}" in closed and f"\\sigma = {exercises.ENCODER_SIGMA}" in closed
    assert str(list(exercises.ENCODER_MU)) in closed and str(list(exercises.ENCODER_SIGMA)) in closed
    assert "exercises.check_closed_form_kl(my_answer)" in closed

    matching = blocks["ex-kl-moment-matching"]
    for values in (exercises.MIXTURE_WEIGHTS, exercises.MIXTURE_MEANS, exercises.MIXTURE_STDS):
        assert f"${values}$" in matching and str(list(values)) in matching
    assert "exercises.check_moment_matching_variance(my_answer)" in matching

    reverse = blocks["ex-kl-reverse-fit"]
    (w1, w2), (m1, m2), (s1, s2) = exercises.REVERSE_WEIGHTS, exercises.REVERSE_MEANS, exercises.REVERSE_STDS
    assert f"{w1}\\,\\N({m1}, {s1}^2) + {w2}\\,\\N({m2}, {s2}^2)" in reverse
    assert (f"GaussianMixture1D({exercises.REVERSE_WEIGHTS}, {exercises.REVERSE_MEANS}, "
            f"{exercises.REVERSE_STDS})") in reverse
    assert "exercises.check_reverse_fit_kl(my_answer)" in reverse


def test_exercise_titles_carry_difficulty_and_time():
    text = CHAPTER.read_text()
    titles = re.findall(r"```\{exercise\} (.+)\n:label: ex-kl-", text)
    assert len(titles) == 4
    assert all(re.search(r"\((★{1,3}), \d+ min\)$", title) for title in titles), titles
