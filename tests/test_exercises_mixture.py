"""Chapter 3's exercises: the solutions pass their checks, and chapter and checks state the same data.

The generic tests of every self-check (right answer, known mistakes, no leaks) are in test_checks.py.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from chapter_exercises import REPO, blocks, code_cells, run_solution
from vae_lib import mixture
from vae_lib.exercises import mixture as exercises
from vae_lib.mixture import MixtureOfGaussians

CHAPTER = REPO / "chapters" / "03_mixture_of_gaussians.md"

CHECKS = {
    "ex-mixture-responsibility": exercises.check_responsibility,
    "ex-mixture-density": exercises.check_marginal_density,
    "ex-mixture-em-mean": exercises.check_em_mean,
    "ex-mixture-binary-terms": exercises.check_binary_terms,
}


@pytest.mark.parametrize("label", CHECKS)
def test_the_solution_code_passes_its_own_check(label):
    namespace = {"np": np, "stats": stats, "exercises": exercises, "mixture": mixture,
                 "MixtureOfGaussians": MixtureOfGaussians}
    printed = run_solution(CHAPTER, label, namespace)
    assert "✓ Correct" in printed and "✗" not in printed, printed


def test_the_library_mixture_is_the_stated_one():
    mog = exercises.exercise_mixture()
    np.testing.assert_allclose(mog.covariances.ravel(), np.array(exercises.EXERCISE_SDS) ** 2)
    density = stats.norm.pdf(exercises.EXERCISE_POINT, exercises.EXERCISE_MEANS, exercises.EXERCISE_SDS)
    expected = np.log(np.dot(exercises.EXERCISE_WEIGHTS, density))
    assert mog.log_prob(np.array([[exercises.EXERCISE_POINT]]))[0] == pytest.approx(expected, rel=1e-12)


def test_the_em_exercise_agrees_with_one_step_of_scikit_learn():
    weights, means, sds = map(np.array, (exercises.EXERCISE_WEIGHTS, exercises.EXERCISE_MEANS, exercises.EXERCISE_SDS))
    one_step = SklearnGaussianMixture(2, max_iter=1, tol=0.0, reg_covar=0.0, weights_init=weights,
                                      means_init=means[:, None], precisions_init=(1 / sds**2)[:, None, None])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)   # one step does not converge, by design
        one_step.fit(np.array(exercises.EM_DATA)[:, None])
    assert exercises.check_em_mean(one_step.means_[0, 0]).correct


def test_every_exercise_has_its_check_cell_and_solution():
    exercise_blocks, solution_blocks = blocks(CHAPTER, "exercise"), blocks(CHAPTER, "solution")
    assert set(exercise_blocks) == set(solution_blocks) == set(CHECKS)
    text = CHAPTER.read_text(encoding="utf-8")
    for label, check in CHECKS.items():
        assert check.__doc__.startswith(f"Exercise {label}:")
        assert f"exercises.{check.__name__}(my_answer)" in text, label
    assert "from vae_lib.exercises import mixture as exercises" in code_cells(CHAPTER)


def test_the_chapter_states_the_problem_data():
    text = " ".join(CHAPTER.read_text(encoding="utf-8").split())
    intro = text[text.index("## Exercises"):]
    w, m, s = exercises.EXERCISE_WEIGHTS, exercises.EXERCISE_MEANS, exercises.EXERCISE_SDS
    assert f"weights $\\pi = ({w[0]:g}, {w[1]:g})$" in intro
    assert f"means $\\mu = ({m[0]:g}, {m[1]:g})$" in intro
    assert f"$\\sigma = ({s[0]:g}, {s[1]:g})$" in intro
    exercise_text = {label: " ".join(body.split()) for label, body in blocks(CHAPTER, "exercise").items()}
    for label in ("ex-mixture-responsibility", "ex-mixture-density"):
        assert f"$x = {exercises.EXERCISE_POINT:g}$" in exercise_text[label]
    points = [f"${p:g}$" for p in exercises.EM_DATA]
    assert ", ".join(points[:-1]) + f", {points[-1]}" in exercise_text["ex-mixture-em-mean"]
    binary = exercise_text["ex-mixture-binary-terms"]
    assert f"{exercises.BINARY_UNITS} binary features" in binary and f"one class out of {exercises.CLASSES}" in binary
    solutions = {label: " ".join(body.split()) for label, body in blocks(CHAPTER, "solution").items()}
    stated = (f"weights = np.array([{w[0]!r}, {w[1]!r}]) means = np.array([{m[0]!r}, {m[1]!r}]) "
              f"sds = np.array([{s[0]!r}, {s[1]!r}])")
    for label in ("ex-mixture-responsibility", "ex-mixture-density", "ex-mixture-em-mean"):
        assert stated in solutions[label], label
    assert f"np.array([{', '.join(repr(p) for p in exercises.EM_DATA)}])" in solutions["ex-mixture-em-mean"]
