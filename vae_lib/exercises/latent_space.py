"""The chapter on exploring the latent space: its problem data and exercise self-checks.

The chapter states its problems with the numbers below and a test checks that it does; every
expected value and every known mistake is computed from them, by the right method and by the
typical wrong ones.

>>> from vae_lib.exercises import latent_space as exercises
>>> exercises.ONE_DIM_MU, exercises.ONE_DIM_SIGMA
(1.2, 0.5)
>>> exercises.check_active_units(len(exercises.ACTIVITY)).correct
✗ You used the average posterior variance E[σ_j²], which is large exactly for the dimensions that are switched off. Activity measures how much the posterior *mean* moves from one image to the next.
False
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from torch.distributions import Normal, kl_divergence

from vae_lib.checks import Check, CheckResult, Mistake
from vae_lib.i18n import current_language, tr
from vae_lib.latent import ACTIVITY_THRESHOLD

__all__ = [
    "ONE_DIM_MU",
    "ONE_DIM_SIGMA",
    "CODE_A",
    "CODE_B",
    "ACTIVITY",
    "MEAN_POSTERIOR_VARIANCE",
    "check_kl_one_dimension",
    "check_midpoint_length",
    "check_active_units",
]

# ----------------------------------------------------------------------------- problem data

#: Exercise ex-latent-space-kl: one latent dimension of q(z|x) has this mean ...
ONE_DIM_MU = 1.2
#: ... and this standard deviation (not variance).
ONE_DIM_SIGMA = 0.5

#: Exercise ex-latent-space-midpoint: the posterior means of two digits in a 4-D latent space.
CODE_A = (1.8, -0.6, 1.1, 0.4)
CODE_B = (-1.5, 0.9, 1.3, -1.7)

#: Exercise ex-latent-space-active-units: a colleague's 20-D VAE on a test set. For each dimension
#: j, Var_x(μ_j(x)), the variance over the images of the posterior mean ...
ACTIVITY = (0.92, 0.00004, 0.71, 0.002, 0.35, 0.0031, 0.018, 0.55, 0.87, 0.0009,
            0.064, 0.43, 0.00002, 0.78, 0.026, 0.0052, 0.61, 0.00007, 0.29, 0.0004)
#: ... and E_x[σ_j²(x)], the average posterior variance.
MEAN_POSTERIOR_VARIANCE = (0.07, 0.99, 0.27, 0.98, 0.62, 0.99, 0.95, 0.44, 0.12, 0.99,
                           0.91, 0.55, 1.0, 0.2, 0.96, 0.98, 0.38, 0.99, 0.69, 0.99)


# ----------------------------------------------------------------------------- ex-latent-space-kl


def _kl_one_dimension(mu: float, variance: float) -> float:
    """KL(N(μ, variance) ‖ N(0, 1)) by torch.distributions (the library, not the formula the student writes)."""
    q = Normal(torch.tensor(mu, dtype=torch.float64), torch.tensor(math.sqrt(variance), dtype=torch.float64))
    return float(kl_divergence(q, Normal(torch.tensor(0.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64))))


@lru_cache(maxsize=None)
def _kl_one_dimension_check(language: str | None = None) -> Check:  # one per language (messages translated)
    mu, sigma = ONE_DIM_MU, ONE_DIM_SIGMA
    variance = sigma**2
    right = _kl_one_dimension(mu, variance)
    reverse = float(kl_divergence(Normal(torch.tensor(0.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)),
                                  Normal(torch.tensor(mu, dtype=torch.float64), torch.tensor(sigma, dtype=torch.float64))))
    return Check(
        "KL of one latent dimension (nats)",
        right,
        [
            Mistake(_kl_one_dimension(mu, sigma),
                    tr("You put σ where the formula has σ² (a slip the source notes make too): "
                       "the formula needs the variance, σ squared.")),
            Mistake(2 * right, tr("You forgot the factor ½ in front of the bracket.")),
            Mistake(0.5 * (mu**2 + variance - math.log(sigma) - 1),
                    tr("The log term is log σ², the log of the variance, not log σ.")),
            Mistake(0.5 * (mu**2 + variance + math.log(variance) - 1),
                    tr("Check the sign of the log term: the KL subtracts log σ².")),
            Mistake(0.5 * (mu**2 + variance - math.log(variance)),
                    tr("You dropped the −1 in the bracket: without it the KL of q = p would not be 0.")),
            Mistake(reverse, tr("That is KL(p ‖ q), the divergence the other way round; the ELBO has KL(q ‖ p).")),
        ],
        kind="number",
        hint=tr("Write KL(N(μ, σ²) ‖ N(0, 1)) for one dimension, then put in μ and σ² (σ squared)."),
        correct_message=tr("This one dimension costs that many nats in every ELBO of this image."),
    )


def check_kl_one_dimension(answer: object) -> CheckResult:
    """Exercise ex-latent-space-kl: KL(N(μ, σ²) ‖ N(0, 1)) for the exercise's μ and σ, in nats.

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _kl_one_dimension_check(current_language())(answer)


# ----------------------------------------------------------------------------- ex-latent-space-midpoint


@lru_cache(maxsize=None)
def _midpoint_check(language: str | None = None) -> Check:  # one per language (messages translated)
    a, b = np.array(CODE_A), np.array(CODE_B)
    midpoint = (a + b) / 2
    return Check(
        "length of the midpoint code",
        float(np.linalg.norm(midpoint)),
        [
            Mistake(float(np.linalg.norm(b - a) / 2),
                    tr("That is half the distance between the two codes, ‖z_b − z_a‖ / 2, not the length of "
                       "the code halfway between them.")),
            Mistake(float((np.linalg.norm(a) + np.linalg.norm(b)) / 2),
                    tr("That is the average of the two codes' lengths. Average the codes first, coordinate by "
                       "coordinate, then take the length.")),
            Mistake(float(np.linalg.norm(a + b)), tr("You added the codes but did not halve the sum.")),
            Mistake(float(midpoint @ midpoint), tr("That is the squared length: take the square root.")),
        ],
        kind="number",
        hint=tr("The midpoint is z(½) = ½ z_a + ½ z_b, coordinate by coordinate; its length is the square root "
                "of the sum of its squared coordinates."),
        correct_message=tr("Shorter than both codes: the straight line cuts through the middle of the latent space."),
    )


def check_midpoint_length(answer: object) -> CheckResult:
    """Exercise ex-latent-space-midpoint: the length ‖z_mid‖ of the code halfway between CODE_A and CODE_B.

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _midpoint_check(current_language())(answer)


# ----------------------------------------------------------------------------- ex-latent-space-active-units


def _count_above(values, threshold: float) -> int:
    return int(np.sum(np.asarray(values) > threshold))


@lru_cache(maxsize=None)
def _active_units_check(language: str | None = None) -> Check:  # one per language (messages translated)
    threshold, activity = ACTIVITY_THRESHOLD, np.array(ACTIVITY)
    active = _count_above(activity, threshold)
    return Check(
        "number of active units",
        active,
        [
            Mistake(len(activity) - active,
                    tr("That is the number of inactive dimensions, those whose posterior mean hardly moves.")),
            Mistake(_count_above(MEAN_POSTERIOR_VARIANCE, threshold),
                    tr("You used the average posterior variance E[σ_j²], which is large exactly for the "
                       "dimensions that are switched off. Activity measures how much the posterior *mean* "
                       "moves from one image to the next.")),
            Mistake(_count_above(np.sqrt(activity), threshold),
                    tr("You compared a standard deviation with the threshold; Burda et al. compare the variance.")),
            Mistake(_count_above(activity, 10 * threshold), tr("Check the threshold: it is 0.01.")),
        ],
        kind="integer",
        hint=tr("A dimension is active when the variance over the images of its posterior mean exceeds 0.01."),
        correct_message=tr("The other dimensions have collapsed to the prior: the decoder ignores them."),
    )


def check_active_units(answer: object) -> CheckResult:
    """Exercise ex-latent-space-active-units: how many of the colleague's 20 dimensions are active (Burda et al.).

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _active_units_check(current_language())(answer)
