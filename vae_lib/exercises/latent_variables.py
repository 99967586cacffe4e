"""Chapter 2 (generative models and latent variables): its problem data and exercise self-checks.

The chapter states its problems with the numbers below, and a test checks that it does; every
expected value and every known mistake is computed from them, by the right method and by the
typical wrong ones (see :mod:`vae_lib.checks`).

>>> from vae_lib.exercises import latent_variables as exercises
>>> dict(exercises.WEATHER_PRIOR)
{'sunny': 0.5, 'cloudy': 0.3, 'stormy': 0.2}
>>> exercises.check_umbrella_posterior(None).correct is None
• Not answered yet: replace None with your computation and run the cell.
True
"""

from __future__ import annotations

import math
from functools import lru_cache
from types import MappingProxyType

import numpy as np
from scipy import stats

from vae_lib.checks import Check, CheckResult, Mistake

__all__ = [
    "WEATHER_PRIOR",
    "P_RAIN_GIVEN_WEATHER",
    "P_UMBRELLA_GIVEN_RAIN",
    "CHAIN_SIZES",
    "HEIGHTS_CM",
    "HEIGHT_MODEL_MEAN",
    "HEIGHT_MODEL_SD",
    "weather_joint",
    "check_umbrella_posterior",
    "check_chain_parameters",
    "check_height_log_likelihood",
    "check_height_mle_variance",
]

# ----------------------------------------------------------------------------- problem data

#: The weather graph, weather → rain → umbrella: the prior over the (hidden) weather ...
WEATHER_PRIOR = MappingProxyType({"sunny": 0.5, "cloudy": 0.3, "stormy": 0.2})
#: ... the chance of rain for each kind of weather, P(rain | weather) ...
P_RAIN_GIVEN_WEATHER = MappingProxyType({"sunny": 0.05, "cloudy": 0.4, "stormy": 0.9})
#: ... and the chance that someone carries an umbrella, P(umbrella | rain or no rain).
P_UMBRELLA_GIVEN_RAIN = MappingProxyType({"rain": 0.8, "no rain": 0.1})

#: Exercise ex-latent-parameters: a chain season → weather → rain → umbrella, with the number
#: of values each variable takes.
CHAIN_SIZES = MappingProxyType({"season": 4, "weather": 3, "rain": 2, "umbrella": 2})

#: Exercises ex-latent-loglik and ex-latent-mle: six measured heights in cm ...
HEIGHTS_CM = (172.0, 165.0, 181.0, 158.0, 177.0, 169.0)
#: ... and a Gaussian model of heights, N(mean, sd²), in cm.
HEIGHT_MODEL_MEAN = 170.0
HEIGHT_MODEL_SD = 10.0


def weather_joint() -> np.ndarray:
    """The joint table P(weather, rain, umbrella) of the weather graph, shape (3, 2, 2).

    Axes: weather in the order of :data:`WEATHER_PRIOR`; rain (rain, no rain); umbrella (yes, no).

    >>> float(weather_joint().sum())
    1.0
    """
    p_weather = np.array(list(WEATHER_PRIOR.values()))
    p_rain = np.array(list(P_RAIN_GIVEN_WEATHER.values()))
    rain_given_weather = np.stack([p_rain, 1 - p_rain], axis=1)             # (weather, rain)
    p_umbrella = np.array(list(P_UMBRELLA_GIVEN_RAIN.values()))
    umbrella_given_rain = np.stack([p_umbrella, 1 - p_umbrella], axis=1)    # (rain, umbrella)
    return np.einsum("w,wr,ru->wru", p_weather, rain_given_weather, umbrella_given_rain)


# ----------------------------------------------------------------------------- ex-latent-umbrella


def _normalized(values: np.ndarray) -> np.ndarray:
    return values / values.sum()


@lru_cache(maxsize=None)
def _umbrella_posterior_check() -> Check:
    names = list(WEATHER_PRIOR)
    stormy = names.index("stormy")
    prior = np.array(list(WEATHER_PRIOR.values()))
    p_rain = np.array(list(P_RAIN_GIVEN_WEATHER.values()))
    yes, no = P_UMBRELLA_GIVEN_RAIN["rain"], P_UMBRELLA_GIVEN_RAIN["no rain"]
    joint_with_umbrella = weather_joint()[:, :, 0].sum(axis=1)               # P(weather, umbrella)
    likelihood = joint_with_umbrella / prior                                  # P(umbrella | weather)
    only_rain_branch = yes * p_rain                                           # forgot "umbrella without rain"
    return Check(
        "P(stormy | umbrella)",
        _normalized(joint_with_umbrella)[stormy],
        [
            Mistake(prior[stormy], "That is the prior P(stormy): you have not used the umbrella yet."),
            Mistake(joint_with_umbrella[stormy],
                    "That is the joint P(stormy, umbrella): divide by the evidence P(umbrella)."),
            Mistake(likelihood[stormy],
                    "That is the likelihood P(umbrella | stormy), not the posterior: combine it with the prior."),
            Mistake(joint_with_umbrella.sum(), "That is the evidence P(umbrella), the denominator."),
            Mistake(_normalized(prior * only_rain_branch)[stormy],
                    "That is P(stormy | rain): you counted only the rainy way of carrying an umbrella. "
                    "People also carry one when it does not rain: sum over both values of the rain."),
            Mistake(_normalized(likelihood)[stormy],
                    "You normalized the likelihoods over the weather and left out the prior "
                    "(that is the answer for equally likely weathers)."),
        ],
        hint="P(umbrella | weather) sums over rain and no rain; then apply Bayes' rule with the weather prior.",
        correct_message="The umbrella makes a storm more likely than before, but far from certain.",
    )


def check_umbrella_posterior(answer: object) -> CheckResult:
    """Exercise ex-latent-umbrella: P(weather = stormy | umbrella) in the chapter's weather graph.

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _umbrella_posterior_check()(answer)


# ----------------------------------------------------------------------------- ex-latent-parameters


def chain_parameters(sizes: list[int]) -> int:
    """Free parameters of a chain of variables, each drawn given the one before it.

    ``sizes[i]`` is the number of values of the i-th variable. Each conditional table has one
    distribution per value of the parent, and a distribution has one free number fewer than it
    has values (the last is 1 minus the others): (sizes[0] − 1) + Σ sizes[i−1] · (sizes[i] − 1).

    >>> chain_parameters([3, 2, 2])      # the chapter's weather → rain → umbrella
    7
    """
    return (sizes[0] - 1) + sum(parent * (child - 1) for parent, child in zip(sizes, sizes[1:]))


@lru_cache(maxsize=None)
def _chain_parameters_check() -> Check:
    sizes = list(CHAIN_SIZES.values())
    entries = sizes[0] + sum(parent * child for parent, child in zip(sizes, sizes[1:]))
    full_table = math.prod(sizes)
    return Check(
        "free parameters of the season → weather → rain → umbrella chain",
        chain_parameters(sizes),
        [
            Mistake(entries,
                    "That counts every entry of the tables. Each distribution sums to 1, so one entry "
                    "of each is fixed by the others: subtract one per distribution."),
            Mistake(full_table - 1, "That is the full joint table, which ignores the graph's independences."),
            Mistake(full_table, "That is the number of entries of the full joint table."),
            Mistake(chain_parameters(sizes[1:]),
                    "That is the chapter's weather → rain → umbrella graph, without the season."),
        ],
        kind="integer",
        hint="For each variable, count (values of its parent) × (its own values − 1); the first variable "
             "has no parent.",
        correct_message="Far fewer numbers than the full table, because of the graph's independences.",
    )


def check_chain_parameters(answer: object) -> CheckResult:
    """Exercise ex-latent-parameters: free parameters of the chain season → weather → rain → umbrella.

    Args:
        answer: the student's whole number (``None`` while not answered yet).
    """
    return _chain_parameters_check()(answer)


# ----------------------------------------------------------------------------- ex-latent-loglik


@lru_cache(maxsize=None)
def _height_log_likelihood_check() -> Check:
    x, mean, sd = np.array(HEIGHTS_CM), HEIGHT_MODEL_MEAN, HEIGHT_MODEL_SD
    log_densities = stats.norm.logpdf(x, mean, sd)
    squared = -0.5 * ((x - mean) / sd) ** 2
    return Check(
        "log-likelihood of the six heights",
        log_densities.sum(),
        [
            Mistake(log_densities.mean(),
                    "That is the average over the six heights; the log-likelihood of the data set is the sum."),
            Mistake(-log_densities.sum(), "That is the negative log-likelihood (a loss): flip the sign."),
            Mistake(stats.norm.logpdf(x, mean, sd**2).sum(),
                    "You used the variance σ² = 100 as the standard deviation."),
            Mistake(stats.norm.logpdf(x, mean, math.sqrt(sd)).sum(),
                    "You used σ = 10 as the variance: the standard deviation is 10 cm."),
            Mistake(log_densities.sum() / math.log(10),
                    "That is in base 10. Use the natural logarithm (nats), np.log."),
            Mistake(squared.sum(),
                    "You kept only the squared-distance term: the normalizing constant of the Gaussian, "
                    "−log(σ √(2π)) per height, is missing."),
            Mistake((squared - math.log(sd)).sum(),
                    "The −½ log 2π of each height's normalizing constant is missing."),
        ],
        kind="number",
        hint="Sum log N(x_i; μ, σ²) over the six heights, with μ and σ in cm and the natural logarithm.",
        correct_message="A sum of six logs, each a modest negative number: no underflow in sight.",
    )


def check_height_log_likelihood(answer: object) -> CheckResult:
    """Exercise ex-latent-loglik: the log-likelihood (nats) of the six heights under N(170, 10²).

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _height_log_likelihood_check()(answer)


# ----------------------------------------------------------------------------- ex-latent-mle


@lru_cache(maxsize=None)
def _height_mle_variance_check() -> Check:
    x = np.array(HEIGHTS_CM)
    return Check(
        "maximum-likelihood variance of the heights",
        float(np.var(x)),
        [
            Mistake(float(np.var(x, ddof=1)),
                    "That divides by n − 1: the unbiased estimate, not the maximum-likelihood one."),
            Mistake(float(np.std(x)), "That is a standard deviation; the question asks for the variance σ²."),
            Mistake(float(np.std(x, ddof=1)), "That is the unbiased standard deviation, not the ML variance."),
            Mistake(HEIGHT_MODEL_SD**2, "That is the variance of the model given in the previous exercise, "
                                        "not the one that fits the data best."),
        ],
        kind="number",
        hint="Maximize Σ log N(x_i; μ, σ²) over μ and σ², numerically or by setting the derivatives to zero.",
        correct_message="The maximum-likelihood variance divides by n, not n − 1.",
    )


def check_height_mle_variance(answer: object) -> CheckResult:
    """Exercise ex-latent-mle: the maximum-likelihood variance σ² (cm²) of the six heights.

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _height_mle_variance_check()(answer)
