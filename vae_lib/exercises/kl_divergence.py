"""Chapter on the KL divergence (``chap-kl``): its problem data and exercise self-checks.

The chapter states its exercises with the numbers below (a test checks that it does); every
expected value and every known mistake is computed from them, by the right method and by the
typical wrong ones.

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

from vae_lib.checks import Check, CheckResult, Mistake
from vae_lib.divergences import GaussianFit, fit_gaussian, forward_kl, gaussian_mixture_1d, moment_matching, reverse_kl
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


# --------------------------------------------------------------------------- ex-kl-forecast(-reverse)


def _kl_nats(a, b) -> float:
    return float(rel_entr(np.asarray(a, float), np.asarray(b, float)).sum())


def _forecast_check(first, second, name: str, other: str) -> Check:
    """KL(first || second) for the forecasts, with the slips typical of a discrete KL."""
    a, b = np.array(first), np.array(second)
    right = _kl_nats(a, b)
    return Check(
        name,
        right,
        [
            Mistake(right / math.log(2), "That is the right idea in bits (log base 2); the chapter measures in nats "
                                         "(natural log)."),
            Mistake(_kl_nats(b, a), f"That is {other}, the other direction: the weights come from the first "
                                    "distribution, the one before the bars."),
            Mistake(-right, "A KL divergence is never negative: the ratio inside the log is upside down."),
            Mistake(float(np.sum(np.log(a / b))), "You summed the log-ratios without weighting each by its probability."),
            Mistake(float(-np.sum(a * np.log(b))), "That is the cross-entropy; subtract the entropy of the first "
                                                   "distribution."),
            Mistake(float(-np.sum(a * np.log(a))), "That is the entropy of the first distribution, not a KL."),
            Mistake(float(np.sum(b * np.log(a / b))), "The weights must be the distribution in the numerator of the "
                                                      "log-ratio."),
        ],
        kind="number",
        hint="Sum, over the three kinds of weather, the first probability times the log of the ratio first/second.",
    )


@lru_cache(maxsize=None)
def _forecast_kl_check() -> Check:
    return _forecast_check(FORECAST_P, FORECAST_Q, "KL(p || q) of the forecasts", "KL(q || p)")


@lru_cache(maxsize=None)
def _forecast_kl_reverse_check() -> Check:
    return _forecast_check(FORECAST_Q, FORECAST_P, "KL(q || p) of the forecasts", "KL(p || q)")


def check_forecast_kl(answer: object) -> CheckResult:
    """Exercise ex-kl-forecast: KL(p || q) in nats for the climate p and the forecast q."""
    return _forecast_kl_check()(answer)


def check_forecast_kl_reverse(answer: object) -> CheckResult:
    """Exercise ex-kl-forecast-reverse: KL(q || p) in nats, the other direction."""
    return _forecast_kl_reverse_check()(answer)


# --------------------------------------------------------------------------- ex-kl-closed-form


def _closed_form(mu: np.ndarray, sigma: np.ndarray, *, variance=None, log_variance=None,
                 half: float = 0.5, one: float = 1.0) -> float:
    """½ Σ (μ² + σ² − log σ² − 1), with parts swappable to reproduce typical slips."""
    variance = sigma**2 if variance is None else variance
    log_variance = np.log(sigma**2) if log_variance is None else log_variance
    return float(half * np.sum(mu**2 + variance - log_variance - one))


@lru_cache(maxsize=None)
def _closed_form_check() -> Check:
    mu, sigma = np.array(ENCODER_MU), np.array(ENCODER_SIGMA)
    q = Independent(Normal(torch.tensor(mu), torch.tensor(sigma)), 1)
    p = Independent(Normal(torch.zeros(len(mu), dtype=torch.float64), torch.ones(len(mu), dtype=torch.float64)), 1)
    right = float(kl_divergence(q, p))
    return Check(
        "KL(q || N(0, I)) for the encoder's output",
        right,
        [
            Mistake(_closed_form(mu, sigma, variance=sigma, log_variance=np.log(sigma)),
                    "You used σ where the formula has σ²: the numbers given are standard deviations."),
            Mistake(_closed_form(mu, sigma, log_variance=np.log(sigma)),
                    "The log term is log σ² = 2 log σ, not log σ."),
            Mistake(_closed_form(mu, sigma, half=1.0), "The whole sum is multiplied by one half."),
            Mistake(_closed_form(mu, sigma, one=0.0), "Each dimension also contributes −1 (so that q = p gives zero)."),
            Mistake(_closed_form(mu, sigma, one=-1.0), "The constant per dimension is −1, not +1."),
            Mistake(-right, "A KL divergence is never negative: check the sign in front of the sum."),
            Mistake(_closed_form(np.zeros_like(mu), sigma), "You dropped the μ² term: the means matter too."),
            Mistake(right / len(mu), "The KL of independent dimensions is their sum, not their mean."),
            Mistake(float(kl_divergence(p, q)),
                    "That is KL(N(0, I) || q), the other direction; the VAE's term is KL(q || N(0, I))."),
        ],
        kind="number",
        hint="Apply ½ Σ_j (μ_j² + σ_j² − log σ_j² − 1), dimension by dimension, with σ_j² the variance.",
        correct_message="The fourth dimension, with its small σ and large μ, pays most of it.",
    )


def check_closed_form_kl(answer: object) -> CheckResult:
    """Exercise ex-kl-closed-form: KL(N(μ, diag σ²) || N(0, I)) for the encoder output ENCODER_MU, ENCODER_SIGMA."""
    return _closed_form_check()(answer)


# --------------------------------------------------------------------------- ex-kl-moment-matching


def exercise_mixture() -> MixtureOfGaussians:
    """The mixture of exercise ex-kl-moment-matching."""
    return gaussian_mixture_1d(MIXTURE_WEIGHTS, MIXTURE_MEANS, MIXTURE_STDS)


@lru_cache(maxsize=None)
def _moment_matching_check() -> Check:
    w, mu, sd = (np.array(v) for v in (MIXTURE_WEIGHTS, MIXTURE_MEANS, MIXTURE_STDS))
    target = exercise_mixture()
    # The right answer from the numerical optimum of the forward KL (not from the formula).
    right = fit_gaussian(target, "forward", start=(0.0, 1.0)).std ** 2
    mean = float(w @ mu)
    reverse_fits = [fit_gaussian(target, "reverse", start=(m, 1.0)) for m in MIXTURE_MEANS]
    best_reverse = min(reverse_fits, key=lambda fit: fit.kl)
    return Check(
        "variance of the forward-KL Gaussian",
        right,
        [
            Mistake(float(w @ sd**2), "That is only the spread within the components: the means are spread out too."),
            Mistake(float(w @ mu**2 - mean**2),
                    "That is only the spread of the component means: each component has its own width too."),
            Mistake(float(w @ (sd**2 + mu**2)), "That is E[z²]; the variance subtracts (E[z])²."),
            Mistake(math.sqrt(right), "That is a standard deviation; the question asks for the variance."),
            Mistake(float(w**2 @ sd**2),
                    "That is the variance of a weighted *sum* of Gaussians. A mixture picks one component at random."),
            Mistake(mean, "That is the mean of the mixture; the question asks for its variance."),
            Mistake(float(np.var(mu) + np.mean(sd**2)), "The components have different weights: weight each term."),
            Mistake(best_reverse.std**2,
                    "That is the variance of the reverse-KL fit, which hugs one mode; the question is about the forward KL."),
        ],
        kind="number",
        hint="The forward-KL Gaussian matches the mixture's mean and variance. Var = E[z²] − (E[z])², and "
             "E[z²] of a component is its σ² + μ².",
        correct_message="Moment matching: the fit spreads over all three components.",
    )


def check_moment_matching_variance(answer: object) -> CheckResult:
    """Exercise ex-kl-moment-matching: the variance of the Gaussian minimizing KL(p || q) for the mixture p."""
    return _moment_matching_check()(answer)


# --------------------------------------------------------------------------- ex-kl-reverse-fit


def reverse_target() -> MixtureOfGaussians:
    """The bimodal target of exercise ex-kl-reverse-fit."""
    return gaussian_mixture_1d(REVERSE_WEIGHTS, REVERSE_MEANS, REVERSE_STDS)


def reverse_fit_optima() -> list[GaussianFit]:
    """The distinct local optima of the reverse KL for :func:`reverse_target`, best first.

    Found from starts spread over the target (a broad "bridging" optimum exists besides one per mode).
    """
    target = reverse_target()
    starts = np.linspace(min(REVERSE_MEANS) - 2, max(REVERSE_MEANS) + 2, 12)
    optima: list[GaussianFit] = []
    for fit in sorted((fit_gaussian(target, "reverse", start=(m, 1.0)) for m in starts), key=lambda f: f.kl):
        if all(abs(fit.mean - known.mean) > 1e-3 for known in optima):
            optima.append(fit)
    return optima


@lru_cache(maxsize=None)
def _reverse_fit_check() -> Check:
    target = reverse_target()
    best, *others = reverse_fit_optima()
    matched = moment_matching(target)
    return Check(
        "smallest reverse KL of a Gaussian",
        best.kl,
        [*(Mistake(other.kl, "That is a local optimum, not the best one: try starting the fit elsewhere.")
           for other in others),
         Mistake(reverse_kl(target, matched.mean, matched.std),
                 "That is the reverse KL of the moment-matched Gaussian, which is not where the reverse KL is smallest."),
         Mistake(matched.kl, "That is the forward KL at its own optimum (moment matching); the question is about "
                             "the reverse KL(q || p)."),
         Mistake(forward_kl(target, best.mean, best.std),
                 "That is the forward KL(p || q) of the right Gaussian; the question asks for KL(q || p).")],
        kind="number",
        rel_tol=2e-3,
        hint="Minimize KL(q || p) over the mean and standard deviation of q, from several starting points, "
             "and keep the smallest value.",
        correct_message="The best Gaussian sits on one mode and ignores the other.",
    )


def check_reverse_fit_kl(answer: object) -> CheckResult:
    """Exercise ex-kl-reverse-fit: the smallest KL(q || p) over Gaussians q, for the bimodal target."""
    return _reverse_fit_check()(answer)
