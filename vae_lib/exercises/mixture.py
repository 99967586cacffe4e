"""Chapter 3 (the mixture of Gaussians): its problem data and exercise self-checks.

The exercises use a one-dimensional mixture of two Gaussians, small enough to work by hand.
Every expected value and known mistake is computed from the data below with
:mod:`vae_lib.mixture` (and, for the mistakes, with the typical wrong formulas).

>>> from vae_lib.exercises import mixture as exercises
>>> exercises.EXERCISE_WEIGHTS, exercises.EXERCISE_MEANS, exercises.EXERCISE_SDS
((0.3, 0.7), (-1.0, 2.0), (1.0, 0.5))
>>> exercises.check_marginal_density(None).correct is None
• Not answered yet: replace None with your computation and run the cell.
True
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import stats

from vae_lib.checks import Check, CheckResult, Mistake
from vae_lib.mixture import MixtureOfGaussians, em_step

__all__ = [
    "EXERCISE_WEIGHTS",
    "EXERCISE_MEANS",
    "EXERCISE_SDS",
    "EXERCISE_POINT",
    "EM_DATA",
    "BINARY_UNITS",
    "CLASSES",
    "exercise_mixture",
    "check_responsibility",
    "check_marginal_density",
    "check_em_mean",
    "check_binary_terms",
]

# ----------------------------------------------------------------------------- problem data

#: A 1-D mixture of two Gaussians: weights π_1, π_2 ...
EXERCISE_WEIGHTS = (0.3, 0.7)
#: ... means μ_1, μ_2 ...
EXERCISE_MEANS = (-1.0, 2.0)
#: ... and standard deviations σ_1, σ_2 (not variances).
EXERCISE_SDS = (1.0, 0.5)
#: Exercises ex-mixture-responsibility and ex-mixture-density: the point x.
EXERCISE_POINT = 0.8
#: Exercise ex-mixture-em-mean: five data points for one EM step from the mixture above.
EM_DATA = (-2.0, -0.5, 0.8, 1.9, 2.3)
#: Exercise ex-mixture-binary-terms: a latent code of this many binary units ...
BINARY_UNITS = 30
#: ... together with one class out of this many.
CLASSES = 10


def exercise_mixture() -> MixtureOfGaussians:
    """The exercises' mixture as a :class:`~vae_lib.mixture.MixtureOfGaussians` (variances = σ²).

    >>> exercise_mixture().covariances.ravel()
    array([1.  , 0.25])
    """
    sds = np.array(EXERCISE_SDS)
    return MixtureOfGaussians(list(EXERCISE_WEIGHTS), np.array(EXERCISE_MEANS)[:, None], (sds**2)[:, None, None])


def _component_densities(sds) -> np.ndarray:
    """N(x; μ_k, σ_k²) at the exercises' point, for each component k, with standard deviations ``sds``."""
    return stats.norm.pdf(EXERCISE_POINT, np.array(EXERCISE_MEANS), np.array(sds))


# ----------------------------------------------------------------------------- ex-mixture-responsibility


@lru_cache(maxsize=None)
def _responsibility_check() -> Check:
    weights = np.array(EXERCISE_WEIGHTS)
    densities = _component_densities(EXERCISE_SDS)
    joint = weights * densities
    variance_as_sd = weights * _component_densities(np.sqrt(EXERCISE_SDS))
    without_scale = weights * np.exp(-0.5 * ((EXERCISE_POINT - np.array(EXERCISE_MEANS)) / EXERCISE_SDS) ** 2)
    right = exercise_mixture().responsibilities(np.array([[EXERCISE_POINT]]))[0, 0]
    return Check(
        "p(z = 1 | x)",
        right,
        [
            Mistake(densities[0] / densities.sum(),
                    "You left out the weights π_k: the responsibility is a posterior, prior times likelihood."),
            Mistake(joint[0], "That is the joint p(x, z = 1): divide by p(x), the sum over both components."),
            Mistake(joint[1] / joint.sum(), "That is the responsibility of the second component."),
            Mistake(weights[0], "That is the prior π_1: you have not used the point x yet."),
            Mistake(densities[0], "That is the density N(x; μ_1, σ_1²), not a posterior probability."),
            Mistake(variance_as_sd[0] / variance_as_sd.sum(),
                    "The numbers given are standard deviations σ_k, not variances: check the Gaussians' scales."),
            Mistake(without_scale[0] / without_scale.sum(),
                    "The Gaussian's normalizing factor 1/(σ_k √(2π)) does not cancel here, "
                    "because the two σ_k differ: the narrower component's density peaks higher."),
        ],
        hint="Compute π_k N(x; μ_k, σ_k²) for both components, then divide the first by their sum.",
        correct_message="Neither component owns this point: a soft assignment.",
    )


def check_responsibility(answer: object) -> CheckResult:
    """Exercise ex-mixture-responsibility: the responsibility p(z = 1 | x) of the first component.

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _responsibility_check()(answer)


# ----------------------------------------------------------------------------- ex-mixture-density


@lru_cache(maxsize=None)
def _marginal_density_check() -> Check:
    weights = np.array(EXERCISE_WEIGHTS)
    densities = _component_densities(EXERCISE_SDS)
    right = float(np.exp(exercise_mixture().log_prob(np.array([[EXERCISE_POINT]]))[0]))
    return Check(
        "p(x)",
        right,
        [
            Mistake(densities.sum(), "You added the two densities without their weights π_k."),
            Mistake(densities.mean(), "You averaged the two densities; the components have different weights."),
            Mistake(np.log(right), "That is log p(x); the question asks for the density itself."),
            Mistake((weights * densities).max(), "That is only the larger of the two terms π_k N(x; μ_k, σ_k²)."),
            Mistake((weights * _component_densities(np.sqrt(EXERCISE_SDS))).sum(),
                    "The numbers given are standard deviations σ_k, not variances: check the Gaussians' scales."),
        ],
        kind="number",
        hint="p(x) = Σ_k π_k N(x; μ_k, σ_k²): the sum rule over the hidden component z.",
        correct_message="A density, not a probability: it could exceed 1 for narrow components.",
    )


def check_marginal_density(answer: object) -> CheckResult:
    """Exercise ex-mixture-density: the mixture's density p(x) at the exercises' point.

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _marginal_density_check()(answer)


# ----------------------------------------------------------------------------- ex-mixture-em-mean


@lru_cache(maxsize=None)
def _em_mean_check() -> Check:
    x = np.array(EM_DATA)[:, None]
    start = exercise_mixture()
    resp = start.responsibilities(x)[:, 0]
    hard = start.responsibilities(x).argmax(axis=1) == 0
    unweighted = MixtureOfGaussians([0.5, 0.5], start.means, start.covariances).responsibilities(x)[:, 0]
    data = x[:, 0]
    return Check(
        "μ_1 after one EM step",
        em_step(start, x, ridge=0.0).means[0, 0],
        [
            Mistake(data[hard].mean(),
                    "That is a hard assignment (k-means): EM weights every point by its responsibility."),
            Mistake(data.mean(), "That is the mean of all the points, ignoring the responsibilities."),
            Mistake((resp * data).sum() / len(data),
                    "You divided by the number of points; divide by the sum of the responsibilities, N_1."),
            Mistake((resp * data).sum(), "You forgot to divide by N_1, the sum of the responsibilities."),
            Mistake(em_step(start, x, ridge=0.0).means[1, 0], "That is the new mean of the second component."),
            Mistake((unweighted * data).sum() / unweighted.sum(),
                    "Your responsibilities left out the weights π_k of the E-step."),
        ],
        kind="number",
        hint="E-step: r_i1 = p(z = 1 | x_i) for each point x_i. M-step: μ_1 = Σ_i r_i1 x_i / N_1, "
             "with N_1 = Σ_i r_i1.",
        correct_message="The new mean is a responsibility-weighted average of the points.",
    )


def check_em_mean(answer: object) -> CheckResult:
    """Exercise ex-mixture-em-mean: the first component's mean after one EM step on the five points.

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _em_mean_check()(answer)


# ----------------------------------------------------------------------------- ex-mixture-binary-terms


@lru_cache(maxsize=None)
def _binary_terms_check() -> Check:
    d, classes = BINARY_UNITS, CLASSES
    return Check(
        "terms in the sum over z",
        classes * 2**d,
        [
            Mistake(2**d, "That counts the binary units only; every class pairs with every binary pattern."),
            Mistake(2**d + classes, "The binary pattern and the class are chosen together: multiply, do not add."),
            Mistake(2 * d + classes, "That counts the values of each variable; the sum runs over all combinations."),
            Mistake(classes**d, "The binary units have two values each, not ten."),
            Mistake(2 ** (d + classes), "A class is one of ten values, not ten binary units."),
        ],
        kind="integer",
        hint="Count the combinations: (values of unit 1) × (values of unit 2) × ... × (number of classes).",
        correct_message="Each term needs p(x | z), and this is for a single x: hopeless for a data set.",
    )


def check_binary_terms(answer: object) -> CheckResult:
    """Exercise ex-mixture-binary-terms: the number of terms of p(x) = Σ_z p(x, z) for the given z.

    Args:
        answer: the student's whole number (``None`` while not answered yet).
    """
    return _binary_terms_check()(answer)
