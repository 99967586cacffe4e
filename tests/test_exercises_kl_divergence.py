"""The KL chapter's exercises: the solutions pass their checks, chapter and checks state the same
data, and the mistakes the chapter warns about are known to the checks.

The generic tests of every self-check (right answer, known mistakes, no leaks) are in test_checks.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence

from chapter_exercises import REPO, blocks, code_cells, run, run_solution
from vae_lib import divergences
from vae_lib.divergences import gaussian_mixture_1d
from vae_lib.exercises import kl_divergence as exercises

CHAPTER = REPO / "chapters" / "06_kl_divergence.md"

CHECKS = {
    "ex-kl-forecast": exercises.check_forecast_kl,
    "ex-kl-forecast-reverse": exercises.check_forecast_kl_reverse,
    "ex-kl-closed-form": exercises.check_closed_form_kl,
    "ex-kl-moment-matching": exercises.check_moment_matching_variance,
    "ex-kl-reverse-fit": exercises.check_reverse_fit_kl,
}


@pytest.mark.parametrize("label", CHECKS)
def test_the_solution_code_passes_its_own_check(label):
    namespace = {"np": np, "torch": torch, "Independent": Independent, "Normal": Normal,
                 "kl_divergence": kl_divergence, "divergences": divergences,
                 "gaussian_mixture_1d": gaussian_mixture_1d, "exercises": exercises}
    printed = run_solution(CHAPTER, label, namespace)
    assert "✓ Correct" in printed and "✗" not in printed, printed


def test_every_exercise_has_its_check_cell_and_solution():
    exercise_blocks, solution_blocks = blocks(CHAPTER, "exercise"), blocks(CHAPTER, "solution")
    assert set(exercise_blocks) == set(solution_blocks) == set(CHECKS)
    text = CHAPTER.read_text(encoding="utf-8")
    for label, check in CHECKS.items():
        assert check.__doc__.startswith(f"Exercise {label}:")
        assert f"exercises.{check.__name__}(my_answer)" in text, label
    assert "from vae_lib.exercises import kl_divergence as exercises" in code_cells(CHAPTER)


def test_exercise_titles_carry_difficulty_and_time():
    titles = [line for line in CHAPTER.read_text(encoding="utf-8").splitlines() if line.startswith("```{exercise}")]
    assert len(titles) == len(CHECKS)
    assert all(line.endswith(("min)",)) and ("(★, " in line or "(★★, " in line or "(★★★, " in line)
               for line in titles), titles


def test_the_chapter_states_the_problem_data():
    exercise_text = {label: " ".join(body.split()) for label, body in blocks(CHAPTER, "exercise").items()}
    solutions = {label: " ".join(body.split()) for label, body in blocks(CHAPTER, "solution").items()}

    p, q = exercises.FORECAST_P, exercises.FORECAST_Q
    assert f"$p = {p}$" in exercise_text["ex-kl-forecast"] and f"$q = {q}$" in exercise_text["ex-kl-forecast"]
    for label in ("ex-kl-forecast", "ex-kl-forecast-reverse"):
        assert f"np.array({list(p)})" in solutions[label] and f"np.array({list(q)})" in solutions[label]

    closed = exercise_text["ex-kl-closed-form"]
    assert f"$\\mu = {exercises.ENCODER_MU}$" in closed and f"$\\sigma = {exercises.ENCODER_SIGMA}$" in closed
    assert f"np.array({list(exercises.ENCODER_MU)})" in solutions["ex-kl-closed-form"]
    assert f"np.array({list(exercises.ENCODER_SIGMA)})" in solutions["ex-kl-closed-form"]

    for values in (exercises.MIXTURE_WEIGHTS, exercises.MIXTURE_MEANS, exercises.MIXTURE_STDS):
        assert f"${values}$" in exercise_text["ex-kl-moment-matching"]
        assert f"np.array({list(values)})" in solutions["ex-kl-moment-matching"]

    (w1, w2), (m1, m2), (s1, s2) = exercises.REVERSE_WEIGHTS, exercises.REVERSE_MEANS, exercises.REVERSE_STDS
    assert f"{w1}\\,\\N({m1}, {s1}^2) + {w2}\\,\\N({m2}, {s2}^2)" in exercise_text["ex-kl-reverse-fit"]
    stated = (f"gaussian_mixture_1d({list(exercises.REVERSE_WEIGHTS)}, {list(exercises.REVERSE_MEANS)}, "
              f"{list(exercises.REVERSE_STDS)})")
    assert stated in solutions["ex-kl-reverse-fit"]


def test_the_solutions_claims_hold():
    p, q = np.array(exercises.FORECAST_P), np.array(exercises.FORECAST_Q)
    assert np.sum(p * np.log(p / q)) > np.sum(q * np.log(q / p))           # "KL(p || q) is the larger"
    mu, sigma = np.array(exercises.ENCODER_MU), np.array(exercises.ENCODER_SIGMA)
    per_dimension = 0.5 * (mu**2 + sigma**2 - np.log(sigma**2) - 1)
    assert np.argmax(per_dimension) == 3                                   # "the fourth ... costs the most"
    optima = exercises.reverse_fit_optima()                                # "three different places"
    assert len(optima) == 3 and optima[0].mean < min(exercises.REVERSE_MEANS) + 0.5   # the best: the left mode


def test_the_reverse_direction_solution_states_the_right_costs():
    """The folded solution's per-day costs: cloudy and rain cost log 3 and log 2 nats under p's
    weights; a sunny day costs log 1.6 under q's, less than a cloudy one; the underrated days count
    little in KL(q || p)."""
    p, q = np.array(exercises.FORECAST_P), np.array(exercises.FORECAST_Q)
    assert np.allclose(np.log(p / q)[1:], [math.log(3), math.log(2)])
    assert p[1] + p[2] == pytest.approx(0.5) and q[0] == pytest.approx(4 / 5)
    assert math.log(q[0] / p[0]) == pytest.approx(math.log(1.6)) and math.log(1.6) < math.log(3)
    underrated = q[1:] * np.log(q[1:] / p[1:])
    assert underrated.sum() < 0 and abs(underrated.sum()) < q[0] * math.log(1.6) / 2


def test_the_closed_form_answer_is_torchs():
    mu, sigma = (torch.tensor(v, dtype=torch.float64) for v in (exercises.ENCODER_MU, exercises.ENCODER_SIGMA))
    prior = Independent(Normal(torch.zeros_like(mu), torch.ones_like(sigma)), 1)
    reference = kl_divergence(Independent(Normal(mu, sigma), 1), prior).item()
    assert exercises.check_closed_form_kl(reference).correct


def test_the_mistakes_the_chapter_warns_about_are_known():
    mu, sigma = np.array(exercises.ENCODER_MU), np.array(exercises.ENCODER_SIGMA)
    sigma_for_variance = 0.5 * np.sum(mu**2 + sigma - np.log(sigma) - 1)   # σ written where σ² is meant
    result, _ = run(exercises.check_closed_form_kl, sigma_for_variance)
    assert result.correct is False and "σ where the formula has σ²" in result.message

    w, sd = np.array(exercises.MIXTURE_WEIGHTS), np.array(exercises.MIXTURE_STDS)
    result, _ = run(exercises.check_moment_matching_variance, float(w**2 @ sd**2))   # a weighted *sum*
    assert result.correct is False and "weighted *sum*" in result.message

    p, q = np.array(exercises.FORECAST_P), np.array(exercises.FORECAST_Q)
    result, _ = run(exercises.check_forecast_kl, float(np.sum(q * np.log(q / p))))
    assert result.correct is False and "other direction" in result.message
    result, _ = run(exercises.check_forecast_kl, float(np.sum(p * np.log2(p / q))))
    assert result.correct is False and "bits" in result.message


def test_every_local_optimum_but_the_best_is_a_known_mistake():
    best, *others = exercises.reverse_fit_optima()
    for other in others:
        result, _ = run(exercises.check_reverse_fit_kl, other.kl)
        assert result.correct is False and "local optimum" in result.message
    assert math.isclose(exercises.check_reverse_fit_kl(best.kl).message.count("✓"), 1)
