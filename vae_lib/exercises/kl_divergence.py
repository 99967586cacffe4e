"""Chapter on the KL divergence (``chap-kl``): its problem data and exercise self-checks.

The chapter states its exercises with the numbers below (a test checks that it does); every
expected value and every known mistake is computed from them, by the right method and by the
typical wrong ones. Each exercise has per-student variants (``VARIANTS``): another climate and
forecast, another encoder output, another three-component mixture, another bimodal target.

>>> from vae_lib.exercises import kl_divergence as exercises
>>> exercises.check_moment_matching_variance(None).correct is None
• Not answered yet: replace None with your computation and run the cell.
True
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from scipy.special import rel_entr
from torch.distributions import Independent, Normal, kl_divergence

from vae_lib._variant import Variant
from vae_lib.checks import Check, CheckResult, Mistake
from vae_lib.divergences import GaussianFit, fit_gaussian, forward_kl, gaussian_mixture_1d, moment_matching, reverse_kl
from vae_lib.i18n import tr
from vae_lib.mixture import MixtureOfGaussians

__all__ = [
    "FORECAST_P",
    "FORECAST_Q",
    "ENCODER_MU",
    "ENCODER_SIGMA",
    "MIXTURE_WEIGHTS",
    "MIXTURE_MEANS",
    "MIXTURE_STDS",
    "REVERSE_WEIGHTS",
    "REVERSE_MEANS",
    "REVERSE_STDS",
    "check_forecast_kl",
    "check_forecast_kl_reverse",
    "check_closed_form_kl",
    "check_moment_matching_variance",
    "check_reverse_fit_kl",
    "VARIANTS",
]

#: Exercises ex-kl-forecast and ex-kl-forecast-reverse: a town's climate p and a forecaster's
#: model q of it, over (sunny, cloudy, rain).
FORECAST_P = (0.5, 0.3, 0.2)
FORECAST_Q = (0.8, 0.1, 0.1)

#: Exercise ex-kl-closed-form: an encoder's mean and standard deviation for one image.
ENCODER_MU = (0.5, -1.0, 0.0, 2.0)
ENCODER_SIGMA = (1.0, 0.5, 2.0, 0.2)

#: Exercise ex-kl-moment-matching: a mixture of three 1-D Gaussians.
MIXTURE_WEIGHTS = (0.2, 0.5, 0.3)
MIXTURE_MEANS = (-3.0, 0.5, 2.5)
MIXTURE_STDS = (0.5, 1.0, 0.8)

#: Exercise ex-kl-reverse-fit: a bimodal target whose reverse KL has several local optima.
REVERSE_WEIGHTS = (0.6, 0.4)
REVERSE_MEANS = (-2.5, 3.0)
REVERSE_STDS = (0.7, 1.2)


def _tuple_text(values) -> str:
    """A tuple as the statements print it: ``(0.5, -1.0, 0.0)``."""
    return f"({', '.join(str(v) for v in values)})"


def _one_decimal(rng: np.random.Generator, low: float, high: float) -> float:
    return round(float(rng.uniform(low, high)), 1) + 0.0  # + 0.0: no -0.0


# --------------------------------------------------------------------------- ex-kl-forecast(-reverse)


def _kl_nats(a, b) -> float:
    return float(rel_entr(np.asarray(a, float), np.asarray(b, float)).sum())


_FORECAST_BOOK = {"p": FORECAST_P, "q": FORECAST_Q}


def _forecast_variant(rng: np.random.Generator) -> dict:
    """Another town and forecaster: a climate p with P(sunny) in 0.3 to 0.6 and each other kind of
    weather at least 0.1 (one decimal), and an over-optimistic q that gives sunny days 0.2 or 0.3
    more and splits the rest between cloud and rain in steps of 0.05 (at least 0.05 each)."""
    sunny = float(rng.choice([0.3, 0.4, 0.5, 0.6]))
    cloudy = round(0.1 * int(rng.integers(1, round((1 - sunny) / 0.1))), 1)
    p = (sunny, cloudy, round(1 - sunny - cloudy, 2))
    q_sunny = round(sunny + float(rng.choice([0.2, 0.3])), 1)
    steps = round((1 - q_sunny) / 0.05)
    q_cloudy = round(0.05 * int(rng.integers(1, steps)), 2)
    return {"p": p, "q": (q_sunny, q_cloudy, round(1 - q_sunny - q_cloudy, 2))}


def _forecast_check(first, second, name: str, other: str) -> Check:
    """KL(first || second) for the forecasts, with the slips typical of a discrete KL."""
    a, b = np.array(first), np.array(second)
    right = _kl_nats(a, b)
    return Check(
        name,
        right,
        [
            Mistake(right / math.log(2), tr("That is the right idea in bits (log base 2); the chapter measures in nats "
                                            "(natural log).")),
            Mistake(_kl_nats(b, a), tr("That is {other}, the other direction: the weights come from the first "
                                       "distribution, the one before the bars.", other=other)),
            Mistake(-right, tr("A KL divergence is never negative: the ratio inside the log is upside down.")),
            Mistake(float(np.sum(np.log(a / b))),
                    tr("You summed the log-ratios without weighting each by its probability.")),
            Mistake(float(-np.sum(a * np.log(b))), tr("That is the cross-entropy; subtract the entropy of the first "
                                                      "distribution.")),
            Mistake(float(-np.sum(a * np.log(a))), tr("That is the entropy of the first distribution, not a KL.")),
            Mistake(float(np.sum(b * np.log(a / b))), tr("The weights must be the distribution in the numerator of the "
                                                         "log-ratio.")),
        ],
        kind="number",
        hint=tr("Sum, over the three kinds of weather, the first probability times the log of the ratio first/second."),
    )


def _forecast_kl_check(data=_FORECAST_BOOK) -> Check:
    return _forecast_check(data["p"], data["q"], "KL(p || q) of the forecasts", "KL(q || p)")


def _forecast_kl_reverse_check(data=_FORECAST_BOOK) -> Check:
    return _forecast_check(data["q"], data["p"], "KL(q || p) of the forecasts", "KL(p || q)")


def _forecast_code(d) -> list:
    return [("p_climate = np.array([0.5, 0.3, 0.2])", f"p_climate = np.array({list(d['p'])})"),
            ("q_forecast = np.array([0.8, 0.1, 0.1])", f"q_forecast = np.array({list(d['q'])})")]


FORECAST = Variant(
    "ex-kl-forecast", _FORECAST_BOOK, _forecast_variant, _forecast_kl_check,
    text=lambda d: [("$p = (0.5, 0.3, 0.2)$", f"$p = {_tuple_text(d['p'])}$"),
                    ("$q = (0.8, 0.1, 0.1)$", f"$q = {_tuple_text(d['q'])}$")],
    code=_forecast_code)

FORECAST_REVERSE = Variant(
    "ex-kl-forecast-reverse", _FORECAST_BOOK, _forecast_variant, _forecast_kl_reverse_check,
    text=lambda d: [("For the same $p$ and $q$",
                     f"For the climate $p = {_tuple_text(d['p'])}$ of (sunny, cloudy, rain) and the forecaster's "
                     f"$q = {_tuple_text(d['q'])}$")],
    code=_forecast_code)


def check_forecast_kl(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-kl-forecast: KL(p || q) in nats for the climate p and the forecast q.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key (an assignment's data cell says which); ``None``: the book's.
    """
    return FORECAST.check(variant)(answer)


def check_forecast_kl_reverse(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-kl-forecast-reverse: KL(q || p) in nats, the other direction.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key; ``None``: the book's.
    """
    return FORECAST_REVERSE.check(variant)(answer)


# --------------------------------------------------------------------------- ex-kl-closed-form


def _closed_form(mu: np.ndarray, sigma: np.ndarray, *, variance=None, log_variance=None,
                 half: float = 0.5, one: float = 1.0) -> float:
    """½ Σ (μ² + σ² − log σ² − 1), with parts swappable to reproduce typical slips."""
    variance = sigma**2 if variance is None else variance
    log_variance = np.log(sigma**2) if log_variance is None else log_variance
    return float(half * np.sum(mu**2 + variance - log_variance - one))


_ENCODER_BOOK = {"mu": ENCODER_MU, "sigma": ENCODER_SIGMA}


def _encoder_variant(rng: np.random.Generator) -> dict:
    """Another encoder output in four dimensions: means in −2.5 to 2.5 and standard deviations in
    0.2 to 2.0, one decimal each."""
    return {"mu": tuple(_one_decimal(rng, -2.5, 2.5) for _ in range(4)),
            "sigma": tuple(_one_decimal(rng, 0.2, 2.0) for _ in range(4))}


def _closed_form_check(data=_ENCODER_BOOK) -> Check:
    mu, sigma = np.array(data["mu"]), np.array(data["sigma"])
    q = Independent(Normal(torch.tensor(mu), torch.tensor(sigma)), 1)
    p = Independent(Normal(torch.zeros(len(mu), dtype=torch.float64), torch.ones(len(mu), dtype=torch.float64)), 1)
    right = float(kl_divergence(q, p))
    return Check(
        "KL(q || N(0, I)) for the encoder's output",
        right,
        [
            Mistake(_closed_form(mu, sigma, variance=sigma, log_variance=np.log(sigma)),
                    tr("You used σ where the formula has σ²: the numbers given are standard deviations.")),
            Mistake(_closed_form(mu, sigma, log_variance=np.log(sigma)),
                    tr("The log term is log σ² = 2 log σ, not log σ.")),
            Mistake(_closed_form(mu, sigma, half=1.0), tr("The whole sum is multiplied by one half.")),
            Mistake(_closed_form(mu, sigma, one=0.0),
                    tr("Each dimension also contributes −1 (so that q = p gives zero).")),
            Mistake(_closed_form(mu, sigma, one=-1.0), tr("The constant per dimension is −1, not +1.")),
            Mistake(-right, tr("A KL divergence is never negative: check the sign in front of the sum.")),
            Mistake(_closed_form(np.zeros_like(mu), sigma), tr("You dropped the μ² term: the means matter too.")),
            Mistake(right / len(mu), tr("The KL of independent dimensions is their sum, not their mean.")),
            Mistake(float(kl_divergence(p, q)),
                    tr("That is KL(N(0, I) || q), the other direction; the VAE's term is KL(q || N(0, I)).")),
        ],
        kind="number",
        hint=tr("Apply ½ Σ_j (μ_j² + σ_j² − log σ_j² − 1), dimension by dimension, with σ_j² the variance."),
        # A claim about the book's numbers; a variant's may not bear it out.
        correct_message=(tr("The fourth dimension, with its small σ and large μ, pays most of it.")
                         if data == _ENCODER_BOOK else ""),
    )


CLOSED_FORM = Variant(
    "ex-kl-closed-form", _ENCODER_BOOK, _encoder_variant, _closed_form_check,
    text=lambda d: [("$\\mu = (0.5, -1.0, 0.0, 2.0)$", f"$\\mu = {_tuple_text(d['mu'])}$"),
                    ("$\\sigma = (1.0, 0.5, 2.0, 0.2)$", f"$\\sigma = {_tuple_text(d['sigma'])}$")],
    code=lambda d: [("mu = np.array([0.5, -1.0, 0.0, 2.0])", f"mu = np.array({list(d['mu'])})"),
                    ("sigma = np.array([1.0, 0.5, 2.0, 0.2])", f"sigma = np.array({list(d['sigma'])})")])


def check_closed_form_kl(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-kl-closed-form: KL(N(μ, diag σ²) || N(0, I)) for the encoder output ENCODER_MU, ENCODER_SIGMA.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key; ``None``: the book's.
    """
    return CLOSED_FORM.check(variant)(answer)


# --------------------------------------------------------------------------- ex-kl-moment-matching


_MIXTURE_BOOK = {"weights": MIXTURE_WEIGHTS, "means": MIXTURE_MEANS, "stds": MIXTURE_STDS}


def exercise_mixture(data=_MIXTURE_BOOK) -> MixtureOfGaussians:
    """The mixture of exercise ex-kl-moment-matching (the book's, or a variant's ``data``)."""
    return gaussian_mixture_1d(data["weights"], data["means"], data["stds"])


def _mixture_variant(rng: np.random.Generator) -> dict:
    """Another mixture of three: weights of at least 0.1 (one decimal), means in −4.5 to 4.5 (one
    decimal, increasing) at least 2.5 apart, standard deviations in 0.3 to 1.0 (one decimal), so
    the reverse-KL fit still hugs one mode."""
    first = round(0.1 * int(rng.integers(1, 8)), 1)
    second = round(0.1 * int(rng.integers(1, round((1 - first) / 0.1))), 1)
    weights = (first, second, round(1 - first - second, 2))
    while True:
        means = tuple(sorted(_one_decimal(rng, -4.5, 4.5) for _ in range(3)))
        if min(np.diff(means)) >= 2.5:
            break
    return {"weights": weights, "means": means, "stds": tuple(_one_decimal(rng, 0.3, 1.0) for _ in range(3))}


def _moment_matching_check(data=_MIXTURE_BOOK) -> Check:
    w, mu, sd = (np.array(data[name]) for name in ("weights", "means", "stds"))
    target = exercise_mixture(data)
    # The right answer from the numerical optimum of the forward KL (not from the formula).
    right = fit_gaussian(target, "forward", start=(0.0, 1.0)).std ** 2
    mean = float(w @ mu)
    reverse_fits = [fit_gaussian(target, "reverse", start=(m, 1.0)) for m in data["means"]]
    best_reverse = min(reverse_fits, key=lambda fit: fit.kl)
    return Check(
        "variance of the forward-KL Gaussian",
        right,
        [
            Mistake(float(w @ sd**2),
                    tr("That is only the spread within the components: the means are spread out too.")),
            Mistake(float(w @ mu**2 - mean**2),
                    tr("That is only the spread of the component means: each component has its own width too.")),
            Mistake(float(w @ (sd**2 + mu**2)), tr("That is E[z²]; the variance subtracts (E[z])².")),
            Mistake(math.sqrt(right), tr("That is a standard deviation; the question asks for the variance.")),
            Mistake(float(w**2 @ sd**2),
                    tr("That is the variance of a weighted *sum* of Gaussians. "
                       "A mixture picks one component at random.")),
            Mistake(mean, tr("That is the mean of the mixture; the question asks for its variance.")),
            Mistake(float(np.var(mu) + np.mean(sd**2)),
                    tr("The components have different weights: weight each term.")),
            Mistake(best_reverse.std**2,
                    tr("That is the variance of the reverse-KL fit, which hugs one mode; "
                       "the question is about the forward KL.")),
        ],
        kind="number",
        hint=tr("The forward-KL Gaussian matches the mixture's mean and variance. Var = E[z²] − (E[z])², and "
                "E[z²] of a component is its σ² + μ²."),
        correct_message=tr("Moment matching: the fit spreads over all three components."),
    )


MOMENT_MATCHING = Variant(
    "ex-kl-moment-matching", _MIXTURE_BOOK, _mixture_variant, _moment_matching_check,
    text=lambda d: [("weights $(0.2, 0.5, 0.3)$", f"weights ${_tuple_text(d['weights'])}$"),
                    ("$(-3.0, 0.5, 2.5)$", f"${_tuple_text(d['means'])}$"),
                    ("standard deviations $(0.5, 1.0, 0.8)$", f"standard deviations ${_tuple_text(d['stds'])}$")],
    code=lambda d: [("pi = np.array([0.2, 0.5, 0.3])", f"pi = np.array({list(d['weights'])})"),
                    ("mu = np.array([-3.0, 0.5, 2.5])", f"mu = np.array({list(d['means'])})"),
                    ("sd = np.array([0.5, 1.0, 0.8])", f"sd = np.array({list(d['stds'])})")])


def check_moment_matching_variance(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-kl-moment-matching: the variance of the Gaussian minimizing KL(p || q) for the mixture p.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key; ``None``: the book's.
    """
    return MOMENT_MATCHING.check(variant)(answer)


# --------------------------------------------------------------------------- ex-kl-reverse-fit


_REVERSE_BOOK = {"weights": REVERSE_WEIGHTS, "means": REVERSE_MEANS, "stds": REVERSE_STDS}


def reverse_target(data=_REVERSE_BOOK) -> MixtureOfGaussians:
    """The bimodal target of exercise ex-kl-reverse-fit (the book's, or a variant's ``data``)."""
    return gaussian_mixture_1d(data["weights"], data["means"], data["stds"])


def reverse_fit_optima(data=_REVERSE_BOOK) -> list[GaussianFit]:
    """The distinct local optima of the reverse KL for :func:`reverse_target`, best first.

    Found from starts spread over the target (a broad "bridging" optimum exists besides one per mode).
    """
    return list(_reverse_fit_optima(tuple(data["weights"]), tuple(data["means"]), tuple(data["stds"])))


@lru_cache(maxsize=256)
def _reverse_fit_optima(weights: tuple, means: tuple, stds: tuple) -> tuple[GaussianFit, ...]:
    """:func:`reverse_fit_optima`, kept: a variant's check is built again for its data and in each language."""
    target = reverse_target({"weights": weights, "means": means, "stds": stds})
    starts = np.linspace(min(means) - 2, max(means) + 2, 12)
    optima: list[GaussianFit] = []
    for fit in sorted((fit_gaussian(target, "reverse", start=(m, 1.0)) for m in starts), key=lambda f: f.kl):
        if all(abs(fit.mean - known.mean) > 1e-3 for known in optima):
            optima.append(fit)
    return tuple(optima)


def _reverse_variant(rng: np.random.Generator) -> dict:
    """Another bimodal target: a left mode in −3.2 to −2.0 and a right one 5.0 to 6.0 further on,
    standard deviations in 0.6 to 1.2 and the left weight 0.5, 0.6 or 0.7 (one decimal each), as in
    the book far enough apart for a bridging optimum. A draw counts only where the reverse KL has as
    many local optima as the book's (one per mode, one bridging)."""
    left_weight = float(rng.choice([0.5, 0.6, 0.7]))
    left = _one_decimal(rng, -3.2, -2.0)
    return {"weights": (left_weight, round(1 - left_weight, 1)),
            "means": (left, round(left + float(rng.uniform(5.0, 6.0)), 1)),
            "stds": (_one_decimal(rng, 0.6, 1.2), _one_decimal(rng, 0.6, 1.2))}


def _reverse_fit_check(data=_REVERSE_BOOK) -> Check:
    target = reverse_target(data)
    best, *others = reverse_fit_optima(data)
    matched = moment_matching(target)
    return Check(
        "smallest reverse KL of a Gaussian",
        best.kl,
        [*(Mistake(other.kl, tr("That is a local optimum, not the best one: try starting the fit elsewhere."))
           for other in others),
         Mistake(reverse_kl(target, matched.mean, matched.std),
                 tr("That is the reverse KL of the moment-matched Gaussian, "
                    "which is not where the reverse KL is smallest.")),
         Mistake(matched.kl, tr("That is the forward KL at its own optimum (moment matching); the question is about "
                                "the reverse KL(q || p).")),
         Mistake(forward_kl(target, best.mean, best.std),
                 tr("That is the forward KL(p || q) of the right Gaussian; the question asks for KL(q || p)."))],
        kind="number",
        rel_tol=2e-3,
        hint=tr("Minimize KL(q || p) over the mean and standard deviation of q, from several starting points, "
                "and keep the smallest value."),
        correct_message=tr("The best Gaussian sits on one mode and ignores the other."),
    )


def _reverse_text(d) -> str:
    (w1, w2), (m1, m2), (s1, s2) = d["weights"], d["means"], d["stds"]
    return f"${w1}\\,\\N({m1}, {s1}^2) + {w2}\\,\\N({m2}, {s2}^2)$"


REVERSE_FIT = Variant(
    "ex-kl-reverse-fit", _REVERSE_BOOK, _reverse_variant, _reverse_fit_check,
    text=lambda d: [("$0.6\\,\\N(-2.5, 0.7^2) + 0.4\\,\\N(3.0, 1.2^2)$", _reverse_text(d))],
    code=lambda d: [("gaussian_mixture_1d([0.6, 0.4], [-2.5, 3.0], [0.7, 1.2])",
                     f"gaussian_mixture_1d({list(d['weights'])}, {list(d['means'])}, {list(d['stds'])})")])


def check_reverse_fit_kl(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-kl-reverse-fit: the smallest KL(q || p) over Gaussians q, for the bimodal target.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key; ``None``: the book's.
    """
    return REVERSE_FIT.check(variant)(answer)


VARIANTS = (FORECAST, FORECAST_REVERSE, CLOSED_FORM, MOMENT_MATCHING, REVERSE_FIT)
