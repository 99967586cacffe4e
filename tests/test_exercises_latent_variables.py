"""Chapter 2's exercises: solutions pass their checks, known mistakes are diagnosed, the data agree."""

from __future__ import annotations

import ast
import math

import numpy as np
import pytest
from scipy import optimize, stats

from chapter_exercises import REPO, blocks, code_cells, generic_message, run, run_solution
from vae_lib.exercises import latent_variables as exercises

CHAPTER = REPO / "chapters" / "02_latent_variables.md"

# label: (public check, the cached builder of its Check)
CHECKS = {
    "ex-latent-umbrella": (exercises.check_umbrella_posterior, exercises._umbrella_posterior_check),
    "ex-latent-parameters": (exercises.check_chain_parameters, exercises._chain_parameters_check),
    "ex-latent-loglik": (exercises.check_height_log_likelihood, exercises._height_log_likelihood_check),
    "ex-latent-mle": (exercises.check_height_mle_variance, exercises._height_mle_variance_check),
}


def independent_answers() -> dict[str, float]:
    """Each expected answer, computed another way than the exercises module does."""
    names = list(exercises.WEATHER_PRIOR)
    p_umbrella_given_w = {w: sum(exercises.P_UMBRELLA_GIVEN_RAIN["rain" if rains else "no rain"]
                                 * (p if rains else 1 - p) for rains in (True, False))
                          for w, p in exercises.P_RAIN_GIVEN_WEATHER.items()}
    evidence = sum(p_umbrella_given_w[w] * exercises.WEATHER_PRIOR[w] for w in names)
    sizes = list(exercises.CHAIN_SIZES.values())
    tables = [sizes[0]] + [parent * child for parent, child in zip(sizes, sizes[1:])]
    distributions = [1] + sizes[:-1]              # one distribution per value of the parent
    heights = np.array(exercises.HEIGHTS_CM)
    mu, sd = exercises.HEIGHT_MODEL_MEAN, exercises.HEIGHT_MODEL_SD
    _, scale = stats.norm.fit(heights)            # scipy's maximum-likelihood fit
    return {
        "ex-latent-umbrella": p_umbrella_given_w["stormy"] * exercises.WEATHER_PRIOR["stormy"] / evidence,
        "ex-latent-parameters": sum(tables) - sum(distributions),
        "ex-latent-loglik": float(np.sum(-np.log(sd * np.sqrt(2 * np.pi)) - (heights - mu) ** 2 / (2 * sd**2))),
        "ex-latent-mle": scale**2,
    }


@pytest.mark.parametrize("label", CHECKS)
def test_right_answer_is_accepted(label):
    check, _ = CHECKS[label]
    result, printed = run(check, independent_answers()[label])
    assert result.correct is True and printed.startswith("✓"), result.message


@pytest.mark.parametrize("label", CHECKS)
def test_the_solution_code_passes_its_own_check(label):
    namespace = {"np": np, "stats": stats, "optimize": optimize, "math": math, "exercises": exercises,
                 "weather_prior": dict(exercises.WEATHER_PRIOR), "p_rain": dict(exercises.P_RAIN_GIVEN_WEATHER),
                 "p_umbrella": dict(exercises.P_UMBRELLA_GIVEN_RAIN)}
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
    far = [round(3.7 * right + 11), round(-5.3 * right - 17)] if make().kind == "integer" else \
        [3.7 * right + 11.3, -5.3 * right - 17.9]
    if make().kind == "probability":
        far = [0.013, 0.991]
    messages = generic_message(check, far)
    assert len(messages) == 1
    assert messages.pop() not in {f"✗ {m.message}" for m in make()._mistakes}


def test_every_exercise_has_its_check_cell_and_solution():
    exercise_blocks, solution_blocks = blocks(CHAPTER, "exercise"), blocks(CHAPTER, "solution")
    assert set(exercise_blocks) == set(solution_blocks) == set(CHECKS)
    text = CHAPTER.read_text(encoding="utf-8")
    for label, (check, _) in CHECKS.items():
        assert check.__doc__.startswith(f"Exercise {label}:")
        assert f"exercises.{check.__name__}(my_answer)" in text, label


def _literal(code: str, name: str):
    """The value of the (single) top-level ``name = <literal>`` in the chapter's code."""
    source = "\n".join(line for line in code.splitlines() if not line.startswith("%"))
    values = [ast.literal_eval(node.value) for node in ast.parse(source).body
              if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == [name]]
    assert len(values) == 1, f"{name} should be assigned a literal exactly once"
    return values[0]


def test_the_chapter_code_uses_the_problem_data():
    code = code_cells(CHAPTER)
    assert _literal(code, "weather_prior") == dict(exercises.WEATHER_PRIOR)
    assert _literal(code, "p_rain") == dict(exercises.P_RAIN_GIVEN_WEATHER)
    assert _literal(code, "p_umbrella") == dict(exercises.P_UMBRELLA_GIVEN_RAIN)
    assert "from vae_lib.exercises import latent_variables as exercises" in code


def test_the_exercise_texts_state_the_problem_data():
    text = {label: " ".join(body.split()) for label, body in blocks(CHAPTER, "exercise").items()}
    umbrella = text["ex-latent-umbrella"]
    prior = ", ".join(f"{p:g} {w}" for w, p in exercises.WEATHER_PRIOR.items())
    assert prior in umbrella
    rain = list(exercises.P_RAIN_GIVEN_WEATHER.values())
    assert f"= {rain[0]:g}, {rain[1]:g} and {rain[2]:g}" in umbrella
    assert (f"p(\\text{{umbrella}} \\mid \\text{{rain}}) = {exercises.P_UMBRELLA_GIVEN_RAIN['rain']:g}$, "
            f"$p(\\text{{umbrella}} \\mid \\text{{no rain}}) = {exercises.P_UMBRELLA_GIVEN_RAIN['no rain']:g}$"
            in umbrella)
    season, weather, rain_values, umbrella_values = exercises.CHAIN_SIZES.values()
    assert (f"takes {season} values, the weather {weather}, rain {rain_values} and umbrella {umbrella_values}"
            in text["ex-latent-parameters"])
    heights = [f"{h:g}" for h in exercises.HEIGHTS_CM]
    stated = ", ".join(heights[:-1]) + f" and {heights[-1]} cm"
    assert stated in text["ex-latent-loglik"]
    assert f"$\\mu = {exercises.HEIGHT_MODEL_MEAN:g}$ cm" in text["ex-latent-loglik"]
    assert f"$\\sigma = {exercises.HEIGHT_MODEL_SD:g}$ cm" in text["ex-latent-loglik"]
    solutions = blocks(CHAPTER, "solution")
    for label in ("ex-latent-loglik", "ex-latent-mle"):
        assert f"np.array([{', '.join(f'{h!r}' for h in exercises.HEIGHTS_CM)}])" in solutions[label]
