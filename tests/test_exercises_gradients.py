"""Chapter 7's exercises: the solutions pass their checks, known mistakes are named, and the chapter
states the problem data of vae_lib.exercises.gradients.

(The generic properties of every chapter's checks, such as never confirming digits of a guess,
are tested in tests/test_checks.py.)
"""

from __future__ import annotations

import math

import pytest
import torch

from chapter_exercises import REPO, blocks, code_cells, run, run_solution
from vae_lib import estimators
from vae_lib.checks import checks_by_exercise
from vae_lib.exercises import gradients as exercises

CHAPTER = REPO / "chapters" / "07_gradients.md"
CHECKS = checks_by_exercise(exercises)
BUILDERS = {
    "ex-gradients-exp": exercises._exp_gradient_check,
    "ex-gradients-one-sample": exercises._one_sample_check,
    "ex-gradients-samples": exercises._samples_needed_check,
    "ex-gradients-baseline": exercises._optimal_baseline_check,
}


def chapter_namespace() -> dict:
    """What the chapter defines before its exercises and the solutions use."""
    nodes, weights = estimators.gauss_hermite_rule()
    return {"math": math, "torch": torch, "estimators": estimators, "exercises": exercises,
            "f": lambda z: (z - exercises.TARGET) ** 2, "nodes": nodes, "weights": weights}


def test_every_check_has_an_exercise_and_a_solution():
    assert set(CHECKS) == set(BUILDERS) == set(blocks(CHAPTER, "exercise")) == set(blocks(CHAPTER, "solution"))


@pytest.mark.parametrize("label", BUILDERS)
def test_the_solution_passes_its_check(label):
    namespace = chapter_namespace()
    printed = run_solution(CHAPTER, label, namespace)
    assert "✓ Correct" in printed and "✗" not in printed, printed


@pytest.mark.parametrize("label", BUILDERS)
def test_known_mistakes_none_and_other_answers(label):
    check, built = CHECKS[label], BUILDERS[label]()
    assert len(built._mistakes) >= 3
    for mistake in built._mistakes:
        result, _ = run(check, mistake.value)
        assert result.correct is False and mistake.message in result.message
    result, printed = run(check, None)
    assert result.correct is None and "Not answered yet" in printed
    generic = {run(check, value)[0].message for value in (1234.0, -987.0, 31.0)}
    assert generic == {built._unexplained_message()}


def test_the_answers_agree_with_closed_forms():
    """Closed forms derived by hand (in the solutions) against the module's quadrature-based values."""
    mu, sigma, a = exercises.EXP_MU, exercises.EXP_SIGMA, exercises.EXP_A
    assert run(CHECKS["ex-gradients-exp"], a**2 * sigma * math.exp(a * mu + a**2 * sigma**2 / 2))[0].correct
    mu, sigma, eps = exercises.ONE_SAMPLE_MU, exercises.ONE_SAMPLE_SIGMA, exercises.ONE_SAMPLE_EPS
    z = mu + sigma * eps
    assert run(CHECKS["ex-gradients-one-sample"], (z - exercises.TARGET) ** 2 * (eps**2 - 1) / sigma)[0].correct
    d, sigma = exercises.SAMPLES_MU - exercises.TARGET, exercises.SAMPLES_SIGMA
    ratio = (d**4 + 14 * d**2 * sigma**2 + 15 * sigma**4) / (4 * sigma**4)
    assert run(CHECKS["ex-gradients-samples"], math.ceil(ratio))[0].correct
    mu, sigma = exercises.BASELINE_MU, exercises.BASELINE_SIGMA
    assert run(CHECKS["ex-gradients-baseline"], mu**2 + 3 * sigma**2)[0].correct
    assert run(CHECKS["ex-gradients-baseline"], mu**2 + 5 * sigma**2)[0].message.startswith("✗ That is the best baseline for ∂/∂σ")


def test_the_chapter_states_the_problem_data():
    assert f"z_star = {exercises.TARGET}" in code_cells(CHAPTER)
    exercise = blocks(CHAPTER, "exercise")
    target = f"(z - {exercises.TARGET:g})^2"
    assert (f"$\\mu = {exercises.EXP_MU}$ and $\\sigma = {exercises.EXP_SIGMA}$" in exercise["ex-gradients-exp"]
            and f"$\\zeta = {exercises.EXP_A}$" in exercise["ex-gradients-exp"])
    one = exercise["ex-gradients-one-sample"]
    assert f"$\\mu = {exercises.ONE_SAMPLE_MU}$ and $\\sigma = {exercises.ONE_SAMPLE_SIGMA}$" in one
    assert f"$\\varepsilon = {exercises.ONE_SAMPLE_EPS}$" in one and target in one
    samples = exercise["ex-gradients-samples"]
    assert f"$\\mu = {exercises.SAMPLES_MU}$ and $\\sigma = {exercises.SAMPLES_SIGMA}$" in samples and target in samples
    assert (f"$\\mu = {exercises.BASELINE_MU}$ and $\\sigma = {exercises.BASELINE_SIGMA}$"
            in exercise["ex-gradients-baseline"])
    assert "f(z) = z^2" in exercise["ex-gradients-baseline"]
