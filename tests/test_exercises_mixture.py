"""Chapter 3's exercises: solutions pass their checks, known mistakes are diagnosed, the data agree."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats
from sklearn.mixture import GaussianMixture as SklearnGaussianMixture

from chapter_exercises import REPO, blocks, code_cells, generic_message, run, run_solution
from vae_lib import mixture
from vae_lib.exercises import mixture as exercises
from vae_lib.mixture import MixtureOfGaussians

CHAPTER = REPO / "chapters" / "03_mixture_of_gaussians.md"

# label: (public check, the cached builder of its Check)
CHECKS = {
    "ex-mixture-responsibility": (exercises.check_responsibility, exercises._responsibility_check),
    "ex-mixture-density": (exercises.check_marginal_density, exercises._marginal_density_check),
    "ex-mixture-em-mean": (exercises.check_em_mean, exercises._em_mean_check),
    "ex-mixture-binary-terms": (exercises.check_binary_terms, exercises._binary_terms_check),
}


def independent_answers() -> dict[str, float]:
    """Each expected answer, computed another way than the exercises module does."""
    weights, means, sds = map(np.array, (exercises.EXERCISE_WEIGHTS, exercises.EXERCISE_MEANS, exercises.EXERCISE_SDS))
    x = exercises.EXERCISE_POINT
    joint = weights * np.exp(-0.5 * ((x - means) / sds) ** 2) / (sds * np.sqrt(2 * np.pi))
    # One EM step by scikit-learn, started from the exercises' mixture (no ridge).
    points = np.array(exercises.EM_DATA)[:, None]
    one_step = SklearnGaussianMixture(2, max_iter=1, tol=0.0, reg_covar=0.0, weights_init=weights,
                                      means_init=means[:, None], precisions_init=(1 / sds**2)[:, None, None])
    with pytest.warns(Warning):                          # one step does not converge, by design
        one_step.fit(points)
    terms = sum(1 for _ in itertools.product([0, 1], repeat=10)) * 2 ** (exercises.BINARY_UNITS - 10)
    return {
        "ex-mixture-responsibility": joint[0] / joint.sum(),
        "ex-mixture-density": joint.sum(),
        "ex-mixture-em-mean": float(one_step.means_[0, 0]),
        "ex-mixture-binary-terms": terms * exercises.CLASSES,
    }


@pytest.mark.parametrize("label", CHECKS)
def test_right_answer_is_accepted(label):
    check, _ = CHECKS[label]
    result, printed = run(check, independent_answers()[label])
    assert result.correct is True and printed.startswith("✓"), result.message


@pytest.mark.parametrize("label", CHECKS)
def test_the_solution_code_passes_its_own_check(label):
    namespace = {"np": np, "stats": stats, "exercises": exercises, "mixture": mixture,
                 "MixtureOfGaussians": MixtureOfGaussians}
    printed = run_solution(CHAPTER, label, namespace)
    assert "✓ Correct" in printed and "✗" not in printed, printed


@pytest.mark.parametrize("label", CHECKS)
def test_each_known_mistake_is_diagnosed(label):
    check, make = CHECKS[label]
    mistakes = make()._mistakes
    assert len(mistakes) >= 3, "each exercise should know at least three typical mistakes"
    for mistake in mistakes:
        result, printed = run(check, mistake.value)
        assert result.correct is False and result.message == f"✗ {mistake.message}"
        assert printed.strip() == result.message


@pytest.mark.parametrize("label", CHECKS)
def test_none_means_not_answered(label):
    result, printed = run(CHECKS[label][0], None)
    assert result.correct is None and "Not answered yet" in printed


@pytest.mark.parametrize("label", CHECKS)
def test_other_wrong_answers_all_get_the_same_message(label):
    check, make = CHECKS[label]
    right = independent_answers()[label]
    far = {"probability": [0.013, 0.991], "integer": [17, 123_456],
           "number": [3.7 * right + 11.3, -5.3 * right - 17.9]}[make().kind]
    messages = generic_message(check, far)
    assert len(messages) == 1
    assert messages.pop() not in {f"✗ {m.message}" for m in make()._mistakes}


def test_the_library_mixture_is_the_stated_one():
    mog = exercises.exercise_mixture()
    np.testing.assert_allclose(mog.covariances.ravel(), np.array(exercises.EXERCISE_SDS) ** 2)
    density = stats.norm.pdf(exercises.EXERCISE_POINT, exercises.EXERCISE_MEANS, exercises.EXERCISE_SDS)
    expected = np.log(np.dot(exercises.EXERCISE_WEIGHTS, density))
    assert mog.log_prob(np.array([[exercises.EXERCISE_POINT]]))[0] == pytest.approx(expected, rel=1e-12)


def test_every_exercise_has_its_check_cell_and_solution():
    exercise_blocks, solution_blocks = blocks(CHAPTER, "exercise"), blocks(CHAPTER, "solution")
    assert set(exercise_blocks) == set(solution_blocks) == set(CHECKS)
    text = CHAPTER.read_text(encoding="utf-8")
    for label, (check, _) in CHECKS.items():
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
    stated = (f"weights, means, sds = np.array([{w[0]!r}, {w[1]!r}]), np.array([{m[0]!r}, {m[1]!r}]), "
              f"np.array([{s[0]!r}, {s[1]!r}])")
    for label in ("ex-mixture-responsibility", "ex-mixture-density", "ex-mixture-em-mean"):
        assert stated in solutions[label], label
    assert f"np.array([{', '.join(repr(p) for p in exercises.EM_DATA)}])" in solutions["ex-mixture-em-mean"]
