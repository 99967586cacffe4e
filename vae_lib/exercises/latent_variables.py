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
from types import MappingProxyType

import numpy as np
from scipy import stats

from vae_lib._variant import Variant
from vae_lib.checks import Check, CheckResult, Mistake
from vae_lib.i18n import tr

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
    "VARIANTS",
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
    return _weather_joint(WEATHER_PRIOR, P_RAIN_GIVEN_WEATHER, P_UMBRELLA_GIVEN_RAIN)


def _weather_joint(weather_prior, rain_given_weather, umbrella_given_rain) -> np.ndarray:
    """:func:`weather_joint` for any tables (a variant's)."""
    p_weather = np.array(list(weather_prior.values()))
    p_rain = np.array(list(rain_given_weather.values()))
    rain_given_weather = np.stack([p_rain, 1 - p_rain], axis=1)             # (weather, rain)
    p_umbrella = np.array(list(umbrella_given_rain.values()))
    umbrella_given_rain = np.stack([p_umbrella, 1 - p_umbrella], axis=1)    # (rain, umbrella)
    return np.einsum("w,wr,ru->wru", p_weather, rain_given_weather, umbrella_given_rain)


# ----------------------------------------------------------------------------- ex-latent-umbrella


def _normalized(values: np.ndarray) -> np.ndarray:
    return values / values.sum()


_WEATHER_BOOK = {"weather_prior": dict(WEATHER_PRIOR), "p_rain": dict(P_RAIN_GIVEN_WEATHER),
                 "p_umbrella": dict(P_UMBRELLA_GIVEN_RAIN)}


def _weather_variant(rng: np.random.Generator) -> dict:
    """Another town: sunny 0.3-0.6, cloudy 0.15-0.4, the rest stormy; rain more likely the worse the
    weather; an umbrella far more likely in the rain. Two decimals each."""
    sunny, cloudy = (round(float(rng.uniform(*bounds)), 2) for bounds in ((0.3, 0.6), (0.15, 0.4)))
    return {"weather_prior": {"sunny": sunny, "cloudy": cloudy, "stormy": round(1 - sunny - cloudy, 2)},
            "p_rain": {"sunny": round(float(rng.uniform(0.01, 0.15)), 2),
                       "cloudy": round(float(rng.uniform(0.25, 0.6)), 2),
                       "stormy": round(float(rng.uniform(0.7, 0.95)), 2)},
            "p_umbrella": {"rain": round(float(rng.uniform(0.6, 0.95)), 2),
                           "no rain": round(float(rng.uniform(0.02, 0.2)), 2)}}


def _weather_text(data) -> list:
    prior, rain, umbrella = data["weather_prior"], data["p_rain"], data["p_umbrella"]
    return [("= 0.5 sunny, 0.3 cloudy,\n0.2 stormy",
             f"= {prior['sunny']} sunny, {prior['cloudy']} cloudy,\n{prior['stormy']} stormy"),
            ("= 0.05, 0.4 and 0.9, and", f"= {rain['sunny']}, {rain['cloudy']} and {rain['stormy']}, and"),
            ("\\text{rain}) = 0.8$", f"\\text{{rain}}) = {umbrella['rain']}$"),
            ("\\text{no rain}) = 0.1$", f"\\text{{no rain}}) = {umbrella['no rain']}$")]


def _umbrella_posterior_check(data=_WEATHER_BOOK) -> Check:
    names = list(data["weather_prior"])
    stormy = names.index("stormy")
    prior = np.array(list(data["weather_prior"].values()))
    p_rain = np.array(list(data["p_rain"].values()))
    yes, no = data["p_umbrella"]["rain"], data["p_umbrella"]["no rain"]
    joint_with_umbrella = _weather_joint(data["weather_prior"], data["p_rain"],
                                         data["p_umbrella"])[:, :, 0].sum(axis=1)  # P(weather, umbrella)
    likelihood = joint_with_umbrella / prior                                  # P(umbrella | weather)
    only_rain_branch = yes * p_rain                                           # forgot "umbrella without rain"
    return Check(
        "P(stormy | umbrella)",
        _normalized(joint_with_umbrella)[stormy],
        [
            Mistake(prior[stormy], tr("That is the prior P(stormy): you have not used the umbrella yet.")),
            Mistake(joint_with_umbrella[stormy],
                    tr("That is the joint P(stormy, umbrella): divide by the evidence P(umbrella).")),
            Mistake(likelihood[stormy],
                    tr("That is the likelihood P(umbrella | stormy), not the posterior: combine it with the prior.")),
            Mistake(joint_with_umbrella.sum(), tr("That is the evidence P(umbrella), the denominator.")),
            Mistake(_normalized(prior * only_rain_branch)[stormy],
                    tr("That is P(stormy | rain): you counted only the rainy way of carrying an umbrella. "
                       "People also carry one when it does not rain: sum over both values of the rain.")),
            Mistake(_normalized(likelihood)[stormy],
                    tr("You normalized the likelihoods over the weather and left out the prior "
                       "(that is the answer for equally likely weathers).")),
        ],
        hint=tr("P(umbrella | weather) sums over rain and no rain; then apply Bayes' rule with the weather prior."),
        # A claim about the book's numbers; a variant's may not bear it out.
        correct_message=(tr("The umbrella makes a storm more likely than before, but far from certain.")
                         if data == _WEATHER_BOOK else ""),
    )


UMBRELLA = Variant("ex-latent-umbrella", _WEATHER_BOOK, _weather_variant, _umbrella_posterior_check,
                   names=lambda data: dict(data), text=_weather_text)


def check_umbrella_posterior(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-latent-umbrella: P(weather = stormy | umbrella) in the chapter's weather graph.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key; ``None``: the book's.
    """
    return UMBRELLA.check(variant)(answer)


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


_CHAIN_BOOK = {"sizes": list(CHAIN_SIZES.values())}


def _chain_variant(rng: np.random.Generator) -> dict:
    """Another chain: 2-6 seasons, 2-5 weathers, 2-3 kinds of rain and of umbrella-carrying."""
    return {"sizes": [int(rng.integers(2, 7)), int(rng.integers(2, 6)), int(rng.integers(2, 4)),
                      int(rng.integers(2, 4))]}


def _chain_parameters_check(data=_CHAIN_BOOK) -> Check:
    sizes = list(data["sizes"])
    entries = sizes[0] + sum(parent * child for parent, child in zip(sizes, sizes[1:]))
    full_table = math.prod(sizes)
    return Check(
        "free parameters of the season → weather → rain → umbrella chain",
        chain_parameters(sizes),
        [
            Mistake(entries,
                    tr("That counts every entry of the tables. Each distribution sums to 1, so one entry "
                       "of each is fixed by the others: subtract one per distribution.")),
            Mistake(full_table - 1, tr("That is the full joint table, which ignores the graph's independences.")),
            Mistake(full_table, tr("That is the number of entries of the full joint table.")),
            Mistake(chain_parameters(sizes[1:]),
                    tr("That is the weather → rain → umbrella chain alone, without the season.")),
        ],
        kind="integer",
        hint=tr("For each variable, count (values of its parent) × (its own values − 1); the first variable "
                "has no parent."),
        correct_message=tr("Far fewer numbers than the full table, because of the graph's independences."),
    )


CHAIN = Variant(
    "ex-latent-parameters", _CHAIN_BOOK, _chain_variant, _chain_parameters_check,
    # Up to the full stop: a catalogue message of the Chinese rendering ends with words, not a number.
    text=lambda d: [("takes 4 values, the weather 3, rain 2 and umbrella 2.",
                     "takes {} values, the weather {}, rain {} and umbrella {}.".format(*d["sizes"]))],
    code=lambda d: [("sizes = [4, 3, 2, 2]", f"sizes = {list(d['sizes'])}")])


def check_chain_parameters(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-latent-parameters: free parameters of the chain season → weather → rain → umbrella.

    Args:
        answer: the student's whole number (``None`` while not answered yet).
        variant: a student's variant key; ``None``: the book's.
    """
    return CHAIN.check(variant)(answer)


# ----------------------------------------------------------------------------- ex-latent-loglik


_HEIGHTS_BOOK = {"heights": list(HEIGHTS_CM), "mean": HEIGHT_MODEL_MEAN, "sd": HEIGHT_MODEL_SD}


def _heights_variant(rng: np.random.Generator) -> dict:
    """Six other people, 150-195 cm (whole cm), and a model N(mean, sd²) with mean 160-180 cm and sd 6-15 cm."""
    return {"heights": [float(h) for h in rng.integers(150, 196, size=6)],
            "mean": float(rng.integers(160, 181)), "sd": float(rng.integers(6, 16))}


def _heights_in_words(heights) -> str:
    whole = [f"{h:g}" for h in heights]
    return f"{', '.join(whole[:-1])} and {whole[-1]}"


def _heights_code(heights) -> str:
    return f"heights = np.array([{', '.join(f'{h:.1f}' for h in heights)}])"


_BOOK_HEIGHTS_CODE = "heights = np.array([172.0, 165.0, 181.0, 158.0, 177.0, 169.0])"
assert _heights_code(HEIGHTS_CM) == _BOOK_HEIGHTS_CODE


def _height_log_likelihood_check(data=_HEIGHTS_BOOK) -> Check:
    x, mean, sd = np.array(data["heights"]), data["mean"], data["sd"]
    log_densities = stats.norm.logpdf(x, mean, sd)
    squared = -0.5 * ((x - mean) / sd) ** 2
    return Check(
        "log-likelihood of the six heights",
        log_densities.sum(),
        [
            Mistake(log_densities.mean(),
                    tr("That is the average over the six heights; the log-likelihood of the data set is the sum.")),
            Mistake(-log_densities.sum(), tr("That is the negative log-likelihood (a loss): flip the sign.")),
            Mistake(stats.norm.logpdf(x, mean, sd**2).sum(),
                    tr("You used the variance σ² = {variance} as the standard deviation.", variance=f"{sd**2:g}")),
            Mistake(stats.norm.logpdf(x, mean, math.sqrt(sd)).sum(),
                    tr("You used σ = {sd} as the variance: the standard deviation is {sd} cm.", sd=f"{sd:g}")),
            Mistake(log_densities.sum() / math.log(10),
                    tr("That is in base 10. Use the natural logarithm (nats), np.log.")),
            Mistake(squared.sum(),
                    tr("You kept only the squared-distance term: the normalizing constant of the Gaussian, "
                       "−log(σ √(2π)) per height, is missing.")),
            Mistake((squared - math.log(sd)).sum(),
                    tr("The −½ log 2π of each height's normalizing constant is missing.")),
        ],
        kind="number",
        hint=tr("Sum log N(x_i; μ, σ²) over the six heights, with μ and σ in cm and the natural logarithm."),
        correct_message=tr("A sum of six logs, each a modest negative number: no underflow in sight."),
    )


LOG_LIKELIHOOD = Variant(
    "ex-latent-loglik", _HEIGHTS_BOOK, _heights_variant, _height_log_likelihood_check,
    text=lambda d: [("measure 172, 165, 181, 158, 177 and 169 cm", f"measure {_heights_in_words(d['heights'])} cm"),
                    ("$\\mu = 170$ cm", f"$\\mu = {d['mean']:g}$ cm"),
                    ("$\\sigma = 10$ cm", f"$\\sigma = {d['sd']:g}$ cm")],
    code=lambda d: [(_BOOK_HEIGHTS_CODE, _heights_code(d["heights"])),
                    ("loc=170.0, scale=10.0", f"loc={d['mean']:.1f}, scale={d['sd']:.1f}")])


def check_height_log_likelihood(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-latent-loglik: the log-likelihood (nats) of the six heights under N(170, 10²).

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key; ``None``: the book's.
    """
    return LOG_LIKELIHOOD.check(variant)(answer)


# ----------------------------------------------------------------------------- ex-latent-mle


def _height_mle_variance_check(data=_HEIGHTS_BOOK) -> Check:
    x = np.array(data["heights"])
    return Check(
        "maximum-likelihood variance of the heights",
        float(np.var(x)),
        [
            Mistake(float(np.var(x, ddof=1)),
                    tr("That divides by n − 1: the unbiased estimate, not the maximum-likelihood one.")),
            Mistake(float(np.std(x)), tr("That is a standard deviation; the question asks for the variance σ².")),
            Mistake(float(np.std(x, ddof=1)), tr("That is the unbiased standard deviation, not the ML variance.")),
            Mistake(HEIGHT_MODEL_SD**2,
                    tr("That is the variance of the model given in the previous exercise, not the one that fits "
                       "the data best.") if data == _HEIGHTS_BOOK else
                    tr("That is {variance} cm², the variance of the book's model of heights, "
                       "not the one that fits your data best.", variance=f"{HEIGHT_MODEL_SD**2:g}")),
        ],
        kind="number",
        hint=tr("Maximize Σ log N(x_i; μ, σ²) over μ and σ², numerically or by setting the derivatives "
                "to zero."),
        correct_message=tr("The maximum-likelihood variance divides by n, not n − 1."),
    )


def _mle_variant(rng: np.random.Generator) -> dict:
    """Six other heights (the model's mean and sd are not part of this exercise: the book's)."""
    return {**_HEIGHTS_BOOK, "heights": _heights_variant(rng)["heights"]}


MLE_VARIANCE = Variant(
    "ex-latent-mle", _HEIGHTS_BOOK, _mle_variant, _height_mle_variance_check,
    text=lambda d: [("For the same six heights", f"For the six heights {_heights_in_words(d['heights'])} cm")],
    code=lambda d: [(_BOOK_HEIGHTS_CODE, _heights_code(d["heights"]))])

#: The exercises of this chapter whose problem data varies from student to student (all of them).
VARIANTS = (UMBRELLA, CHAIN, LOG_LIKELIHOOD, MLE_VARIANCE)


def check_height_mle_variance(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-latent-mle: the maximum-likelihood variance σ² (cm²) of the six heights.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key; ``None``: the book's.
    """
    return MLE_VARIANCE.check(variant)(answer)
