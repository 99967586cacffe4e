"""Chapter 4's exercise module: its numbers are the chapter's, its checks know the chapter's method.

The generic properties of every self-check (right answers in any numeric type, known mistakes
diagnosed, nothing leaked, a solution that passes) are tested for all chapters in
tests/test_checks.py; this file checks what is particular to this chapter.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats
from chapter_exercises import REPO, blocks, code_cells, run_solution
from test_chapters import _literal_assignments

from vae_lib.checks import ROUNDING_ADVICE
from vae_lib.estimators import effective_sample_size
from vae_lib.exercises import importance_sampling as exercises

CHAPTER = REPO / "chapters" / "04_importance_sampling.md"
CHECKS = {
    "ex-importance-weight": exercises.check_importance_weight,
    "ex-importance-ess": exercises.check_effective_sample_size,
    "ex-importance-bias": exercises.check_samples_for_small_bias,
}


def exercise_text(label: str) -> str:
    """The exercise block and its solution, as typed in the chapter."""
    return blocks(CHAPTER, "exercise")[label] + blocks(CHAPTER, "solution")[label]


def test_the_chapter_computes_with_the_modules_model():
    typed = _literal_assignments(CHAPTER)
    assert typed["a"] == [exercises.SLOPE] and typed["sigma_x"] == [exercises.NOISE_STD]
    assert typed["x_observed"] == [exercises.OBSERVED_X]
    # The chapter's model has no offset: the library's argument b is the module's OFFSET, zero.
    assert exercises.OFFSET == 0.0 and "LinearGaussian(A=[[a]], b=[0.0], sigma=sigma_x)" in code_cells(CHAPTER)
    model = exercises.chapter_model()
    assert model.A.item() == exercises.SLOPE and model.sigma == exercises.NOISE_STD


def test_exercise_texts_state_the_modules_data():
    model_text = f"$a = {exercises.SLOPE:g}$, $\\sigma_x = {exercises.NOISE_STD:g}$"
    weight = exercise_text("ex-importance-weight")
    assert model_text in weight and f"observation $x = {exercises.OBSERVED_X:g}$" in weight
    assert f"$q = \\N({exercises.WEIGHT_PROPOSAL_MEAN:g},\\ {exercises.WEIGHT_PROPOSAL_STD:g}^2)$" in weight
    assert f"the draw $z = {exercises.WEIGHT_Z:g}$" in weight
    assert (f"a, sigma_x, x, z = {exercises.SLOPE}, {exercises.NOISE_STD}, "
            f"{exercises.OBSERVED_X}, {exercises.WEIGHT_Z}") in weight
    assert f"stats.norm.pdf(z, {exercises.WEIGHT_PROPOSAL_MEAN}, {exercises.WEIGHT_PROPOSAL_STD})" in weight

    ess = exercise_text("ex-importance-ess")
    as_tex = ",\\ ".join(f"{v:.1f}" for v in exercises.LOG_WEIGHTS)
    assert f"$\\log w = ({as_tex})$" in ess
    assert f"np.array([{', '.join(str(v) for v in exercises.LOG_WEIGHTS)}])" in ess

    bias = exercise_text("ex-importance-bias")
    assert f"$q = \\N({exercises.BIAS_PROPOSAL_MEAN:g},\\ {exercises.BIAS_PROPOSAL_STD:g}^2)$" in bias
    assert f"smaller than ${exercises.BIAS_THRESHOLD:g}$ nats" in bias
    assert f"q_mean, q_sd = {exercises.BIAS_PROPOSAL_MEAN}, {exercises.BIAS_PROPOSAL_STD}" in bias
    assert (f"a, sigma_x, x = {exercises.SLOPE}, {exercises.NOISE_STD}, "
            f"{exercises.OBSERVED_X}") in bias
    assert f"variance / (2 * k) >= {exercises.BIAS_THRESHOLD}" in bias


def test_relative_second_moment_matches_integration_and_sampling():
    posterior = exercises.chapter_model().posterior(torch.tensor([exercises.OBSERVED_X]))
    m, s = posterior.mean.item(), posterior.stddev.item()
    for q_mean, q_sd in [(0.0, 1.0), (0.8, 0.5), (1.5, 0.6), (2.4, 0.3)]:
        integral, _ = integrate.quad(
            lambda z, mu=q_mean, t=q_sd: math.exp(2 * stats.norm.logpdf(z, m, s) - stats.norm.logpdf(z, mu, t)),
            -40, 40, points=[m], limit=200)
        assert exercises.relative_second_moment(q_mean, q_sd) == pytest.approx(integral, rel=1e-6)
    z = 1.5 + 0.6 * torch.randn(400_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ratio = torch.exp(torch.distributions.Normal(m, s).log_prob(z) - torch.distributions.Normal(1.5, 0.6).log_prob(z))
    assert ratio.pow(2).mean().item() == pytest.approx(exercises.relative_second_moment(1.5, 0.6), rel=0.02)
    assert exercises.relative_second_moment(m, 0.7 * s) == math.inf


def test_ess_answer_is_the_librarys():
    expected = effective_sample_size(torch.tensor(exercises.LOG_WEIGHTS, dtype=torch.float64)).item()
    assert exercises.check_effective_sample_size(expected).correct


def test_the_bias_answer_is_the_first_k_below_the_threshold():
    variance = exercises.relative_second_moment(exercises.BIAS_PROPOSAL_MEAN, exercises.BIAS_PROPOSAL_STD) - 1
    ks = np.arange(1, 1000)
    first = int(ks[variance / (2 * ks) < exercises.BIAS_THRESHOLD][0])
    assert exercises.check_samples_for_small_bias(first).correct
    assert not exercises.check_samples_for_small_bias(first - 1).correct


def test_a_wrong_value_gets_the_generic_message():
    for check, wrong in [(exercises.check_importance_weight, 0.123), (exercises.check_effective_sample_size, 4.4),
                         (exercises.check_samples_for_small_bias, 57)]:
        result = check(wrong)
        assert result.correct is False and result.message.startswith("✗ Not quite.")
        assert (ROUNDING_ADVICE in result.message) == (check is not exercises.check_samples_for_small_bias)


@pytest.mark.parametrize("label", CHECKS)
def test_the_solution_code_passes_its_own_check(label):
    """The solutions import what they use; ``exercises`` is the chapter's module, as on the page."""
    printed = run_solution(CHAPTER, label, {"exercises": exercises})
    assert "✓ Correct" in printed and "✗" not in printed, printed


def test_every_exercise_has_its_check_and_solution():
    exercise_blocks, solution_blocks = blocks(CHAPTER, "exercise"), blocks(CHAPTER, "solution")
    assert set(exercise_blocks) == set(solution_blocks) == set(CHECKS)
