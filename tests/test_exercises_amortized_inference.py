"""Chapter 8's exercises: the solutions pass their checks, known mistakes are named, and the chapter
states the problem data of vae_lib.exercises.amortized_inference.

(The generic properties of every chapter's checks are tested in tests/test_checks.py.)
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Bernoulli, Normal

from chapter_exercises import REPO, blocks, run, run_solution
from vae_lib.checks import checks_by_exercise
from vae_lib.exercises import amortized_inference as exercises
from vae_lib.models import VAE

CHAPTER = REPO / "chapters" / "08_amortized_inference.md"
CHECKS = checks_by_exercise(exercises)
BUILDERS = {
    "ex-amortized-table": exercises._table_size_check,
    "ex-amortized-gaussian": exercises._gaussian_check,
    "ex-amortized-reduction": exercises._reduction_check,
    "ex-amortized-grey-floor": exercises._grey_floor_check,
}


def test_every_check_has_an_exercise_and_a_solution():
    assert set(CHECKS) == set(BUILDERS) == set(blocks(CHAPTER, "exercise")) == set(blocks(CHAPTER, "solution"))


@pytest.mark.parametrize("label", BUILDERS)
def test_the_solution_passes_its_check(label):
    namespace = {"math": math, "torch": torch, "F": F, "Bernoulli": Bernoulli, "Normal": Normal, "VAE": VAE,
                 "exercises": exercises}
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


def test_the_answers_agree_with_hand_computations():
    hidden, latent = exercises.TABLE_HIDDEN, exercises.TABLE_LATENT
    encoder = 784 * hidden + hidden + 2 * (hidden * latent + latent)
    assert run(CHECKS["ex-amortized-table"], encoder // (2 * latent) + 1)[0].correct
    sigma, pixels, mse = exercises.GAUSSIAN_SIGMA, exercises.GAUSSIAN_PIXELS, exercises.GAUSSIAN_MSE
    by_hand = -pixels / 2 * math.log(2 * math.pi * sigma**2) - pixels * mse / (2 * sigma**2)
    assert run(CHECKS["ex-amortized-gaussian"], by_hand)[0].correct
    assert run(CHECKS["ex-amortized-reduction"], exercises.REDUCTION_BATCH * exercises.REDUCTION_PIXELS)[0].correct
    entropy = sum(-p * math.log(p) - (1 - p) * math.log(1 - p) for p in exercises.GREY_PIXELS if 0 < p < 1)
    assert run(CHECKS["ex-amortized-grey-floor"], entropy)[0].correct


def test_the_chapter_states_the_problem_data():
    exercise = blocks(CHAPTER, "exercise")
    table = exercise["ex-amortized-table"]
    assert f"784 inputs, {exercises.TABLE_HIDDEN} hidden units" in table
    assert f"of size {exercises.TABLE_LATENT}" in table and f"a {exercises.TABLE_LATENT}-dimensional $z$" in table
    gaussian = exercise["ex-amortized-gaussian"]
    assert f"$\\sigma_x = {exercises.GAUSSIAN_SIGMA}$" in gaussian and f"{exercises.GAUSSIAN_PIXELS}-pixel" in gaussian
    assert f"error of {exercises.GAUSSIAN_MSE} per pixel" in gaussian
    reduction = exercise["ex-amortized-reduction"]
    assert f"$B = {exercises.REDUCTION_BATCH}$ images of $D = {exercises.REDUCTION_PIXELS}$ pixels" in reduction
    grey = exercise["ex-amortized-grey-floor"]
    values = [f"{v}" for v in exercises.GREY_PIXELS]
    assert ", ".join(values[:-1]) + f" and {values[-1]}" in " ".join(grey.split())

