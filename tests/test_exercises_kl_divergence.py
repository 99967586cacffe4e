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


def _one_dimension_negative_elbo(variance, pull):
    """-ELBO of a one-pixel decoder's q as a function of σ² (mean at its optimum): the chapter's
    reconstruction pull times σ² plus the KL's width penalty, through the library's KL."""
    logvar = torch.log(variance).reshape(1)
    return pull * variance + divergences.kl_standard_normal(torch.zeros(1, dtype=variance.dtype), logvar)


def _variance_after_one_step(start, pull, parameter, optimizer_class, lr=1e-3):
    value = torch.tensor(start if parameter == "variance" else math.log(start), dtype=torch.float64,
                         requires_grad=True)
    optimizer = optimizer_class([value], lr=lr)
    variance = value if parameter == "variance" else value.exp()
    _one_dimension_negative_elbo(variance, pull).sum().backward()
    optimizer.step()
    return value.item() if parameter == "variance" else math.exp(value.item())


def test_a_step_on_the_variance_overshoots_and_a_step_on_the_log_variance_does_not():
    """Chapter 6, "Why encoders output log σ²": the KL's own step raises σ² = 1e-4 to about 5; with the
    reconstruction's pull (noise sd 0.01) steps on σ² overshoot or go below zero (SGD and Adam alike),
    steps on log σ² change σ² by under 1 %, and the stable plain step sizes are 4σ⁴ and 4."""
    assert 4 < _variance_after_one_step(1e-4, 0.0, "variance", torch.optim.SGD) < 6
    pull = 1 / (2 * 0.01**2)
    best = 1 / (1 + 2 * pull)
    assert _variance_after_one_step(best / 2, pull, "variance", torch.optim.SGD) > 1
    assert _variance_after_one_step(2 * best, pull, "variance", torch.optim.SGD) < 0
    assert _variance_after_one_step(2 * best, pull, "variance", torch.optim.Adam) < 0
    for start in (best / 2, 2 * best):
        for optimizer_class in (torch.optim.SGD, torch.optim.Adam):
            after = _variance_after_one_step(start, pull, "log variance", optimizer_class)
            assert abs(after / start - 1) < 0.01
    in_variance = torch.autograd.functional.hessian(
        lambda v: _one_dimension_negative_elbo(v, pull).sum(), torch.tensor(best, dtype=torch.float64))
    in_log_variance = torch.autograd.functional.hessian(
        lambda u: _one_dimension_negative_elbo(u.exp(), pull).sum(), torch.tensor(math.log(best), dtype=torch.float64))
    assert 2 / in_variance.item() == pytest.approx(4 * best**2) and 2 / in_log_variance.item() == pytest.approx(4)


def test_the_log_variance_gradient_is_bounded_below_only():
    """"Never below -1/2" for sharp codes, but growing like σ²/2 for wide ones (not "never blows up")."""
    logvar = torch.linspace(-30, 10, 81, dtype=torch.float64, requires_grad=True)
    divergences.kl_standard_normal(torch.zeros(81, 1, dtype=torch.float64), logvar[:, None]).sum().backward()
    assert logvar.grad.min() > -0.5 and logvar.grad[-1] == pytest.approx(0.5 * (math.exp(10) - 1))


def test_a_dimension_the_decoder_ignores_has_the_prior_as_its_best_q():
    """Posterior collapse in the chapter's one-pixel example: the best q for decoder weight 0 is N(0, 1)."""
    mean = torch.full((1, 1), 0.7, dtype=torch.float64, requires_grad=True)
    logvar = torch.full((1, 1), -2.0, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([mean, logvar], lr=0.05)
    for _ in range(2000):   # -ELBO with w = 0: the reconstruction does not depend on q; only the KL is left
        optimizer.zero_grad()
        divergences.kl_standard_normal(mean, logvar).sum().backward()
        optimizer.step()
    assert abs(mean.item()) < 1e-3 and abs(logvar.item()) < 1e-3
    assert divergences.kl_standard_normal(mean, logvar).item() < 1e-6


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
