"""Chapter 5's exercise module: its numbers are the chapter's, its mistakes say true things.

The generic properties of every self-check are tested for all chapters in tests/test_checks.py.
"""

from __future__ import annotations

import math

import pytest
import torch
from chapter_exercises import REPO, blocks, code_cells, run_solution
from test_chapters import _literal_assignments

from vae_lib.exercises import elbo as exercises
from vae_lib.exercises import importance_sampling

CHAPTER = REPO / "chapters" / "05_elbo.md"
CHECKS = {
    "ex-elbo-gaussian": exercises.check_elbo_of_gaussian,
    "ex-elbo-gap": exercises.check_gap,
    "ex-elbo-entropy": exercises.check_gaussian_entropy,
}


def exercise_text(label: str) -> str:
    """The exercise block and its solution, as typed in the chapter."""
    return blocks(CHAPTER, "exercise")[label] + blocks(CHAPTER, "solution")[label]


def test_the_chapter_keeps_chapter_4s_model():
    typed = _literal_assignments(CHAPTER)
    assert typed["a"] == [exercises.SLOPE] and typed["sigma_x"] == [exercises.NOISE_STD]
    assert typed["x_observed"] == [exercises.OBSERVED_X]
    assert exercises.OFFSET == 0.0 and "LinearGaussian(A=[[a]], b=[0.0], sigma=sigma_x)" in code_cells(CHAPTER)
    assert exercises.SLOPE == importance_sampling.SLOPE and exercises.OBSERVED_X == importance_sampling.OBSERVED_X


def test_exercise_texts_state_the_modules_data():
    model_text = (f"$a = {exercises.SLOPE:g}$, $\\sigma_x = {exercises.NOISE_STD:g}$, "
                  f"observation $x = {exercises.OBSERVED_X:g}$")
    code = f"a, sigma_x, x, mu, sigma = {exercises.SLOPE}, {exercises.NOISE_STD}, {exercises.OBSERVED_X}"
    elbo = exercise_text("ex-elbo-gaussian")
    assert model_text in elbo and f"$q = \\N({exercises.ELBO_Q_MEAN:.1f},\\ {exercises.ELBO_Q_STD:g}^2)$" in elbo
    assert f"{code}, {exercises.ELBO_Q_MEAN}, {exercises.ELBO_Q_STD}" in elbo
    gap = exercise_text("ex-elbo-gap")
    assert f"$q = \\N({exercises.GAP_Q_MEAN:g},\\ {exercises.GAP_Q_STD:g}^2)$" in gap
    assert f"{code}, {exercises.GAP_Q_MEAN}, {exercises.GAP_Q_STD}" in gap
    entropy = exercise_text("ex-elbo-entropy")
    first, second = exercises.ENTROPY_STDS
    assert f"standard deviations ${first:g}$ and ${second:.1f}$" in entropy
    assert f"for sd in {exercises.ENTROPY_STDS}" in entropy


def test_the_elbo_answer_is_the_librarys_closed_form():
    model = importance_sampling.chapter_model()
    mean = torch.tensor([exercises.ELBO_Q_MEAN], dtype=torch.float64)
    std = torch.tensor([exercises.ELBO_Q_STD], dtype=torch.float64)
    assert exercises.check_elbo_of_gaussian(model.elbo(torch.tensor([exercises.OBSERVED_X]), mean, std)).correct


def test_forgetting_the_spread_term_gives_an_impossible_elbo():
    """The mistake message claims the no-spread 'ELBO' lies above log p(x): it must."""
    model, x = importance_sampling.chapter_model(), torch.tensor([exercises.OBSERVED_X])
    mean = torch.tensor([exercises.ELBO_Q_MEAN], dtype=torch.float64)
    at_the_mean = model.likelihood(mean).log_prob(x) - model.kl_to_prior(mean, torch.tensor([exercises.ELBO_Q_STD]))
    assert at_the_mean.item() > model.log_evidence(x).item()
    assert "above log p(x)" in exercises.check_elbo_of_gaussian(at_the_mean.item()).message


def test_the_gap_answer_is_log_evidence_minus_elbo():
    model, x = importance_sampling.chapter_model(), torch.tensor([exercises.OBSERVED_X])
    mean = torch.tensor([exercises.GAP_Q_MEAN], dtype=torch.float64)
    std = torch.tensor([exercises.GAP_Q_STD], dtype=torch.float64)
    assert exercises.check_gap((model.log_evidence(x) - model.elbo(x, mean, std)).item()).correct


def test_entropy_answer_and_a_wrong_value():
    expected = sum(0.5 * math.log(2 * math.pi * math.e * s**2) for s in exercises.ENTROPY_STDS)
    assert exercises.check_gaussian_entropy(expected).correct
    result = exercises.check_gaussian_entropy(1.234)
    assert result.correct is False and result.message.startswith("✗ Not quite.")


@pytest.mark.parametrize("label", CHECKS)
def test_the_solution_code_passes_its_own_check(label):
    """The solutions import what they use; ``exercises`` is the chapter's module, as on the page."""
    printed = run_solution(CHAPTER, label, {"exercises": exercises})
    assert "✓ Correct" in printed and "✗" not in printed, printed


def test_every_exercise_has_its_check_and_solution():
    exercise_blocks, solution_blocks = blocks(CHAPTER, "exercise"), blocks(CHAPTER, "solution")
    assert set(exercise_blocks) == set(solution_blocks) == set(CHECKS)
