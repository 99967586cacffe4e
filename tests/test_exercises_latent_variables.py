"""Chapter 2's exercises: the solutions pass their checks, and chapter and checks state the same data.

The generic tests of every self-check (right answer, known mistakes, no leaks) are in test_checks.py.
"""

from __future__ import annotations

import ast
import math

import numpy as np
import pytest
from scipy import optimize, stats

from chapter_exercises import REPO, blocks, code_cells, run_solution
from vae_lib.exercises import latent_variables as exercises

CHAPTER = REPO / "chapters" / "02_latent_variables.md"

CHECKS = {
    "ex-latent-umbrella": exercises.check_umbrella_posterior,
    "ex-latent-parameters": exercises.check_chain_parameters,
    "ex-latent-loglik": exercises.check_height_log_likelihood,
    "ex-latent-mle": exercises.check_height_mle_variance,
}


@pytest.mark.parametrize("label", CHECKS)
def test_the_solution_code_passes_its_own_check(label):
    namespace = {"np": np, "stats": stats, "optimize": optimize, "math": math, "exercises": exercises,
                 "weather_prior": dict(exercises.WEATHER_PRIOR), "p_rain": dict(exercises.P_RAIN_GIVEN_WEATHER),
                 "p_umbrella": dict(exercises.P_UMBRELLA_GIVEN_RAIN)}
    printed = run_solution(CHAPTER, label, namespace)
    assert "✓ Correct" in printed and "✗" not in printed, printed


def test_every_exercise_has_its_check_cell_and_solution():
    exercise_blocks, solution_blocks = blocks(CHAPTER, "exercise"), blocks(CHAPTER, "solution")
    assert set(exercise_blocks) == set(solution_blocks) == set(CHECKS)
    text = CHAPTER.read_text(encoding="utf-8")
    for label, check in CHECKS.items():
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
