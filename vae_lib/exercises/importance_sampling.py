"""Chapter 4 (the marginal likelihood and importance sampling): its problem data and exercise self-checks.

The chapter's running example is a linear-Gaussian model with one latent and one observed
number, z ~ N(0, 1) and x | z ~ N(a z, σ_x²), observed at x = 4, whose evidence and
posterior are known exactly (:class:`vae_lib.linear_gaussian.LinearGaussian`). The chapter and
its exercises state their numbers from the constants below, and a test checks that they do;
every expected value and every known mistake is computed from them, by the right method and
by the typical wrong ones.

>>> from vae_lib.exercises import importance_sampling as exercises
>>> exercises.SLOPE, exercises.OFFSET, exercises.NOISE_STD, exercises.OBSERVED_X
(3.0, 0.0, 1.0, 4.0)
>>> exercises.check_effective_sample_size(len(exercises.LOG_WEIGHTS)).correct
✗ That is k, the number of draws: the ESS equals k only when all the weights are equal.
False
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import torch
from scipy import stats

from vae_lib.checks import Check, CheckResult, Mistake
from vae_lib.linear_gaussian import LinearGaussian

__all__ = [
    "SLOPE",
    "OFFSET",
    "NOISE_STD",
    "OBSERVED_X",
    "WEIGHT_Z",
    "WEIGHT_PROPOSAL_MEAN",
    "WEIGHT_PROPOSAL_STD",
    "LOG_WEIGHTS",
    "BIAS_PROPOSAL_MEAN",
    "BIAS_PROPOSAL_STD",
    "BIAS_THRESHOLD",
    "chapter_model",
    "relative_second_moment",
    "check_importance_weight",
    "check_effective_sample_size",
    "check_samples_for_small_bias",
]

# ----------------------------------------------------------------------------- problem data

#: The chapter's model x | z ~ N(a z, σ_x²) with z ~ N(0, 1): the slope a ...
SLOPE = 3.0
#: ... no offset (the library's ``LinearGaussian`` adds an offset ``b``, zero here) ...
OFFSET = 0.0
#: ... the noise's standard deviation σ_x ...
NOISE_STD = 1.0
#: ... and the observation x whose evidence p(x) the chapter estimates.
OBSERVED_X = 4.0

#: Exercise ex-importance-weight: one draw z from the proposal q = N(mean, std²) below.
WEIGHT_Z = 1.0
WEIGHT_PROPOSAL_MEAN = 0.8
WEIGHT_PROPOSAL_STD = 0.5

#: Exercise ex-importance-ess: the log-weights log w_l of k = 6 draws.
LOG_WEIGHTS = (-3.2, -1.1, -0.4, -2.5, -6.0, -0.9)

#: Exercise ex-importance-bias: the proposal q = N(mean, std²) and the largest bias allowed (nats).
BIAS_PROPOSAL_MEAN = 1.5
BIAS_PROPOSAL_STD = 0.6
BIAS_THRESHOLD = 0.01


def chapter_model() -> LinearGaussian:
    """The chapter's model, z ~ N(0, 1), x | z ~ N(a z, σ_x²), with the constants above.

    >>> chapter_model()
    LinearGaussian(d=1, D=1, sigma=1)
    """
    return LinearGaussian(A=[[SLOPE]], b=[OFFSET], sigma=NOISE_STD)


def relative_second_moment(proposal_mean: float, proposal_std: float) -> float:
    """E_q[(w / p(x))²] = ∫ p(z|x)² / q(z) dz for the chapter's model and x, in closed form.

    With p(z|x) = N(m, s²) and q = N(μ, σ²), completing the square gives
    σ² / (s √(2σ² − s²)) · exp((m − μ)² / (2σ² − s²)), infinite when 2σ² ≤ s². Its excess
    over 1 is Var_q[w] / p(x)², the relative variance of one importance weight.

    >>> posterior = chapter_model().posterior(torch.tensor([OBSERVED_X]))
    >>> round(relative_second_moment(posterior.mean.item(), posterior.stddev.item()), 12)  # q = p(z|x)
    1.0
    """
    posterior = chapter_model().posterior(torch.tensor([OBSERVED_X]))
    mean, std = posterior.mean.item(), posterior.stddev.item()
    spread = 2 * proposal_std**2 - std**2
    if spread <= 0:
        return math.inf
    return proposal_std**2 / (std * math.sqrt(spread)) * math.exp((mean - proposal_mean) ** 2 / spread)


# ----------------------------------------------------------------------------- ex-importance-weight


def _log_densities() -> dict[str, float]:
    """log p(z), log p(x|z) and log q(z) at the exercise's draw."""
    z = WEIGHT_Z
    return {
        "prior": stats.norm.logpdf(z),
        "likelihood": stats.norm.logpdf(OBSERVED_X, SLOPE * z + OFFSET, NOISE_STD),
        "proposal": stats.norm.logpdf(z, WEIGHT_PROPOSAL_MEAN, WEIGHT_PROPOSAL_STD),
    }


@lru_cache(maxsize=None)
def _importance_weight_check() -> Check:
    log = _log_densities()
    log_joint = log["prior"] + log["likelihood"]
    weight = math.exp(log_joint - log["proposal"])
    variance_as_std = stats.norm.logpdf(WEIGHT_Z, WEIGHT_PROPOSAL_MEAN, WEIGHT_PROPOSAL_STD**2)
    evidence = math.exp(chapter_model().log_evidence(torch.tensor([OBSERVED_X])).item())
    return Check(
        "importance weight p(x, z) / q(z)",
        weight,
        [
            Mistake(math.exp(log["likelihood"] - log["proposal"]),
                    "You divided the likelihood p(x|z) by q(z) and left out the prior p(z): the weight "
                    "needs the joint p(x, z) = p(x|z) p(z)."),
            Mistake(math.exp(log_joint),
                    "That is the joint p(x, z) alone: divide it by the proposal's density q(z)."),
            Mistake(math.exp(log["proposal"] - log_joint), "You inverted the ratio: the weight is p(x, z) / q(z)."),
            Mistake(log_joint - log["proposal"], "That is the log of the weight; the question asks for w itself."),
            Mistake(math.exp(log["likelihood"]),
                    "That is p(x|z), the weight when the proposal is the prior; here the draw came from q."),
            Mistake(math.exp(log_joint - variance_as_std),
                    "q = N(μ, σ²) has standard deviation σ, not σ²: scipy's scale= takes the standard deviation."),
            Mistake(evidence,
                    "That is p(x) itself, the average of the weights over many draws; the question asks "
                    "for the weight of this one draw."),
        ],
        kind="number",
        rel_tol=1e-3,
        hint="Evaluate the three densities at the draw: the prior p(z), the likelihood p(x|z) and the "
             "proposal q(z); the weight is p(x|z) p(z) / q(z).",
        correct_message="Compare it with p(x): w / p(x) = p(z|x) / q(z) says whether q under- or over-represents this z.",
    )


def check_importance_weight(answer: object) -> CheckResult:
    """Exercise ex-importance-weight: the importance weight w = p(x, z) / q(z) of one draw.

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _importance_weight_check()(answer)


# ----------------------------------------------------------------------------- ex-importance-ess


@lru_cache(maxsize=None)
def _effective_sample_size_check() -> Check:
    log_weights = np.array(LOG_WEIGHTS)
    weights = np.exp(log_weights)
    ess = weights.sum() ** 2 / (weights**2).sum()
    return Check(
        "effective sample size of the weights",
        ess,
        [
            Mistake(len(weights),
                    "That is k, the number of draws: the ESS equals k only when all the weights are equal."),
            Mistake(log_weights.sum() ** 2 / (log_weights**2).sum(),
                    "You put the log-weights into the formula: exponentiate them first (w = exp(log w))."),
            Mistake((weights**2).sum() / weights.sum() ** 2, "You inverted the formula: ESS = (Σ w)² / Σ w²."),
            Mistake(ess / len(weights),
                    "That is the ESS divided by k (you used means instead of sums): the fraction of "
                    "the draws that count, not their number."),
            Mistake(weights.sum(),
                    "That is Σ w, the sum of the weights; the ESS is (Σ w)² / Σ w²."),
        ],
        kind="number",
        rel_tol=1e-3,
        hint="Turn the log-weights into weights with exp, then compute (Σ w)² / Σ w².",
        correct_message="Only a few of the six draws carry the estimate: the largest weights dominate.",
    )


def check_effective_sample_size(answer: object) -> CheckResult:
    """Exercise ex-importance-ess: the effective sample size (Σ w)² / Σ w² of six given log-weights.

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _effective_sample_size_check()(answer)


# ----------------------------------------------------------------------------- ex-importance-bias


def _smallest_k(relative_variance: float, threshold: float) -> int:
    """The smallest k with relative_variance / (2 k) < threshold."""
    k = math.floor(relative_variance / (2 * threshold)) + 1
    return max(k, 1)


@lru_cache(maxsize=None)
def _samples_for_small_bias_check() -> Check:
    second_moment = relative_second_moment(BIAS_PROPOSAL_MEAN, BIAS_PROPOSAL_STD)
    variance = second_moment - 1
    k = _smallest_k(variance, BIAS_THRESHOLD)
    return Check(
        "smallest k with a predicted bias below the threshold",
        k,
        [
            Mistake(_smallest_k(2 * variance, BIAS_THRESHOLD),
                    "You left out the factor 2: the predicted bias is Var[w] / (2 k p(x)²)."),
            Mistake(_smallest_k(second_moment, BIAS_THRESHOLD),
                    "You used E[(w/p)²] in place of the variance: subtract 1, since E[w/p] = 1."),
            Mistake(_smallest_k(math.sqrt(variance), BIAS_THRESHOLD),
                    "You used the standard deviation of w/p(x) in place of its variance."),
            Mistake(k - 1,
                    "At that k the predicted bias is still at or above the threshold: take the next whole number."),
            Mistake(_smallest_k(relative_second_moment(0.0, 1.0) - 1, BIAS_THRESHOLD),
                    "That is the k for the prior as proposal (naive Monte Carlo); use the exercise's q."),
        ],
        kind="integer",
        hint="Compute Var_q[w] / p(x)² = ∫ p(z|x)² / q(z) dz − 1 (the chapter's relative_variance), then find "
             "the smallest whole k for which that divided by 2k is below the threshold.",
        correct_message="A proposal this close to the posterior needs only a few dozen draws.",
    )


def check_samples_for_small_bias(answer: object) -> CheckResult:
    """Exercise ex-importance-bias: the smallest k whose predicted bias of log p̂(x) is below the threshold.

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _samples_for_small_bias_check()(answer)
