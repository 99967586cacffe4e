"""The latent-space chapter's exercises: the solutions pass their checks, and chapter and checks state the same data.

The generic tests of every self-check (right answer, known mistakes, None, a guess that gets
the generic message, no leaks) are in test_checks.py, whose table lists these checks too.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from chapter_exercises import REPO, blocks, code_cells, run, run_solution
from vae_lib import latent
from vae_lib.exercises import latent_space as exercises

CHAPTER = REPO / "chapters" / "10_latent_space.md"
TEXT = CHAPTER.read_text(encoding="utf-8")

CHECKS = {
    "ex-latent-space-kl": exercises.check_kl_one_dimension,
    "ex-latent-space-midpoint": exercises.check_midpoint_length,
    "ex-latent-space-active-units": exercises.check_active_units,
}


def test_every_exercise_has_a_check_and_a_solution():
    assert set(blocks(CHAPTER, "exercise")) == set(blocks(CHAPTER, "solution")) == set(CHECKS)


@pytest.mark.parametrize("label", CHECKS)
def test_the_solution_code_passes_its_own_check(label):
    namespace = {"np": np, "torch": torch, "latent": latent, "exercises": exercises}
    printed = run_solution(CHAPTER, label, namespace)
    assert "✓ Correct" in printed and "✗" not in printed, printed


@pytest.mark.parametrize("label", CHECKS)
def test_none_and_a_random_wrong_value(label):
    check = CHECKS[label]
    result, printed = run(check, None)
    assert result.correct is None and "Not answered yet" in printed
    first, _ = run(check, 1234.0)
    second, _ = run(check, 777.0)
    assert first.correct is False and first.message == second.message  # one generic reply


def test_each_known_slip_is_named():
    mu, sigma = exercises.ONE_DIM_MU, exercises.ONE_DIM_SIGMA
    slip = 0.5 * (mu**2 + sigma - math.log(sigma) - 1)  # σ where σ² belongs
    assert "σ where the formula has σ²" in run(exercises.check_kl_one_dimension, slip)[0].message
    a, b = np.array(exercises.CODE_A), np.array(exercises.CODE_B)
    average_length = (np.linalg.norm(a) + np.linalg.norm(b)) / 2
    assert "average of the two codes' lengths" in run(exercises.check_midpoint_length, average_length)[0].message
    sigma_count = int(np.sum(np.array(exercises.MEAN_POSTERIOR_VARIANCE) > 0.01))
    assert "average posterior variance" in run(exercises.check_active_units, sigma_count)[0].message


def test_the_exercise_data_tell_the_story_the_solutions_tell():
    a, b = np.array(exercises.CODE_A), np.array(exercises.CODE_B)
    assert np.linalg.norm((a + b) / 2) < min(np.linalg.norm(a), np.linalg.norm(b)) and a @ b < 0
    totals = np.array(exercises.ACTIVITY) + np.array(exercises.MEAN_POSTERIOR_VARIANCE)
    assert np.all(np.abs(totals - 1) < 0.05)  # "every sum is close to 1"
    assert len(exercises.ACTIVITY) == len(exercises.MEAN_POSTERIOR_VARIANCE) == 20


def test_the_chapter_states_the_data_of_the_exercise_module():
    kl = TEXT[TEXT.index(":label: ex-latent-space-kl"):TEXT.index("````{solution} ex-latent-space-kl")]
    assert f"$\\mu = {exercises.ONE_DIM_MU:g}$" in kl and f"$\\sigma = {exercises.ONE_DIM_SIGMA:g}$" in kl
    solution = TEXT[TEXT.index("````{solution} ex-latent-space-kl"):]
    mu, sigma = exercises.ONE_DIM_MU, exercises.ONE_DIM_SIGMA
    assert f"\\sigma^2 = {sigma**2:g}$" in solution and f"({mu**2:g} + {sigma**2:g} - \\log {sigma**2:g} - 1" in solution

    def vector(values):
        return "(" + ", ".join(f"{v:g}" for v in values) + ")"

    midpoint = TEXT[TEXT.index(":label: ex-latent-space-midpoint"):TEXT.index("````{solution} ex-latent-space-midpoint")]
    assert f"$z_a = {vector(exercises.CODE_A)}$" in midpoint and f"$z_b = {vector(exercises.CODE_B)}$" in midpoint
    active = TEXT[TEXT.index(":label: ex-latent-space-active-units"):TEXT.index("```{code-cell}", TEXT.index(
        ":label: ex-latent-space-active-units"))]
    assert f"{len(exercises.ACTIVITY)}-dimensional" in active and "`exercises.ACTIVITY`" in active
    for name, values in (("Var", exercises.ACTIVITY), ("sigma", exercises.MEAN_POSTERIOR_VARIANCE)):
        line = active[active.index("- $\\operatorname{Var}" if name == "Var" else "- $\\E_x[\\sigma"):]
        line = line[line.index(":") + 1:line.index(";" if name == "Var" else ".\n")]
        typed = [float(number) for number in line.replace("\n", " ").split(",")]
        assert typed == list(values), name


def test_the_chapter_imports_its_exercise_module_once():
    assert code_cells(CHAPTER).count("from vae_lib.exercises import latent_space as exercises") == 1
