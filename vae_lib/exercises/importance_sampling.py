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

import numpy as np
import torch
from scipy import stats

from vae_lib._variant import Variant
from vae_lib.checks import Check, CheckResult, Mistake
from vae_lib.i18n import tr
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
    "VARIANTS",
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


_WEIGHT_BOOK = {"z": WEIGHT_Z, "q_mean": WEIGHT_PROPOSAL_MEAN, "q_sd": WEIGHT_PROPOSAL_STD}


def _weight_variant(rng: np.random.Generator) -> dict:
    """Another proposal and draw for the chapter's model (posterior N(1.2, 0.1)): q's mean in
    [0.5, 1.8], its sd in [0.3, 0.9] (never 1, so σ and σ² differ), and z a typical draw of q,
    within 1.5 sd of its mean; one decimal each."""
    q_mean, q_sd = round(float(rng.uniform(0.5, 1.8)), 1), round(float(rng.uniform(0.3, 0.9)), 1)
    z = round(q_mean + q_sd * float(rng.uniform(-1.5, 1.5)), 1) + 0.0  # + 0.0: never a -0 in a statement
    return {"z": z, "q_mean": q_mean, "q_sd": q_sd}


def _log_densities(data=_WEIGHT_BOOK) -> dict[str, float]:
    """log p(z), log p(x|z) and log q(z) at the exercise's draw."""
    z = data["z"]
    return {
        "prior": stats.norm.logpdf(z),
        "likelihood": stats.norm.logpdf(OBSERVED_X, SLOPE * z + OFFSET, NOISE_STD),
        "proposal": stats.norm.logpdf(z, data["q_mean"], data["q_sd"]),
    }


def _importance_weight_check(data=_WEIGHT_BOOK) -> Check:
    log = _log_densities(data)
    log_joint = log["prior"] + log["likelihood"]
    weight = math.exp(log_joint - log["proposal"])
    variance_as_std = stats.norm.logpdf(data["z"], data["q_mean"], data["q_sd"] ** 2)
    evidence = math.exp(chapter_model().log_evidence(torch.tensor([OBSERVED_X])).item())
    return Check(
        "importance weight p(x, z) / q(z)",
        weight,
        [
            Mistake(math.exp(log["likelihood"] - log["proposal"]),
                    tr("You divided the likelihood p(x|z) by q(z) and left out the prior p(z): the weight "
                       "needs the joint p(x, z) = p(x|z) p(z).")),
            Mistake(math.exp(log_joint),
                    tr("That is the joint p(x, z) alone: divide it by the proposal's density q(z).")),
            Mistake(math.exp(log["proposal"] - log_joint),
                    tr("You inverted the ratio: the weight is p(x, z) / q(z).")),
            Mistake(log_joint - log["proposal"],
                    tr("That is the log of the weight; the question asks for w itself.")),
            Mistake(math.exp(log["likelihood"]),
                    tr("That is p(x|z), the weight when the proposal is the prior; here the draw came from q.")),
            Mistake(math.exp(log_joint - variance_as_std),
                    tr("q = N(μ, σ²) has standard deviation σ, not σ²: scipy's scale= takes the standard "
                       "deviation.")),
            Mistake(evidence,
                    tr("That is p(x) itself, the average of the weights over many draws; the question asks "
                       "for the weight of this one draw.")),
        ],
        kind="number",
        rel_tol=1e-3,
        hint=tr("Evaluate the three densities at the draw: the prior p(z), the likelihood p(x|z) and the "
                "proposal q(z); the weight is p(x|z) p(z) / q(z)."),
        correct_message=tr("Compare it with p(x): w / p(x) = p(z|x) / q(z) says whether q under- or "
                           "over-represents this z."),
    )


WEIGHT = Variant(
    "ex-importance-weight", _WEIGHT_BOOK, _weight_variant, _importance_weight_check,
    text=lambda d: [("$q = \\N(0.8,\\ 0.5^2)$ produced the draw $z = 1$",
                     f"$q = \\N({d['q_mean']:g},\\ {d['q_sd']:g}^2)$ produced the draw $z = {d['z']:g}$")],
    code=lambda d: [("a, sigma_x, x, z = 3.0, 1.0, 4.0, 1.0", f"a, sigma_x, x, z = 3.0, 1.0, 4.0, {float(d['z'])!r}"),
                    ("stats.norm.pdf(z, 0.8, 0.5)", f"stats.norm.pdf(z, {float(d['q_mean'])!r}, {float(d['q_sd'])!r})")])


def check_importance_weight(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-importance-weight: the importance weight w = p(x, z) / q(z) of one draw.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key (an assignment's data cell says which); ``None``: the book's.
    """
    return WEIGHT.check(variant)(answer)


# ----------------------------------------------------------------------------- ex-importance-ess


_ESS_BOOK = {"log_weights": list(LOG_WEIGHTS)}


def _ess(log_weights) -> float:
    weights = np.exp(np.array(log_weights, dtype=float))
    return float(weights.sum() ** 2 / (weights**2).sum())


def _ess_variant(rng: np.random.Generator) -> dict:
    """Six other log-weights in [-7, -0.1] (one decimal) whose ESS is 1.5 to 3.5: a few of the
    six draws carry the estimate, as in the book."""
    while True:
        log_weights = [round(float(value), 1) for value in rng.uniform(-7.0, -0.1, size=len(LOG_WEIGHTS))]
        if 1.5 <= _ess(log_weights) <= 3.5:
            return {"log_weights": log_weights}


def _effective_sample_size_check(data=_ESS_BOOK) -> Check:
    log_weights = np.array(data["log_weights"], dtype=float)
    weights = np.exp(log_weights)
    ess = weights.sum() ** 2 / (weights**2).sum()
    return Check(
        "effective sample size of the weights",
        ess,
        [
            Mistake(len(weights),
                    tr("That is k, the number of draws: the ESS equals k only when all the weights are equal.")),
            Mistake(log_weights.sum() ** 2 / (log_weights**2).sum(),
                    tr("You put the log-weights into the formula: exponentiate them first (w = exp(log w)).")),
            Mistake((weights**2).sum() / weights.sum() ** 2, tr("You inverted the formula: ESS = (Σ w)² / Σ w².")),
            Mistake(ess / len(weights),
                    tr("That is the ESS divided by k (you used means instead of sums): the fraction of "
                       "the draws that count, not their number.")),
            Mistake(weights.sum(),
                    tr("That is Σ w, the sum of the weights; the ESS is (Σ w)² / Σ w².")),
        ],
        kind="number",
        rel_tol=1e-3,
        hint=tr("Turn the log-weights into weights with exp, then compute (Σ w)² / Σ w²."),
        # Every variant's ESS is at most 3.5 of 6 (see _ess_variant).
        correct_message=tr("Only a few of the six draws carry the estimate: the largest weights dominate."),
    )


def _log_weights_text(log_weights, separator: str) -> str:
    return separator.join(f"{value:.1f}" for value in log_weights)


ESS = Variant(
    "ex-importance-ess", _ESS_BOOK, _ess_variant, _effective_sample_size_check,
    text=lambda d: [("$\\log w = (-3.2,\\ -1.1,\\ -0.4,\\ -2.5,\\ -6.0,\\ -0.9)$",
                     "$\\log w = (" + _log_weights_text(d["log_weights"], ",\\ ") + ")$")],
    code=lambda d: [("[-3.2, -1.1, -0.4, -2.5, -6.0, -0.9]", f"[{_log_weights_text(d['log_weights'], ', ')}]")])


def check_effective_sample_size(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-importance-ess: the effective sample size (Σ w)² / Σ w² of six given log-weights.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key; ``None``: the book's.
    """
    return ESS.check(variant)(answer)


# ----------------------------------------------------------------------------- ex-importance-bias


def _smallest_k(relative_variance: float, threshold: float) -> int:
    """The smallest k with relative_variance / (2 k) < threshold."""
    k = math.floor(relative_variance / (2 * threshold)) + 1
    return max(k, 1)


_BIAS_BOOK = {"q_mean": BIAS_PROPOSAL_MEAN, "q_sd": BIAS_PROPOSAL_STD, "threshold": BIAS_THRESHOLD}
#: The largest relative variance a variant's proposal may have: beyond it the delta method's
#: prediction is unreliable (and k runs into the thousands).
_MAX_RELATIVE_VARIANCE = 5.0


def _bias_variant(rng: np.random.Generator) -> dict:
    """Another proposal for the chapter's posterior N(1.2, 0.1): mean in [0.6, 1.9], sd in [0.3, 1.0]
    (one decimal), with a relative variance of its weights between 0.05 and 5, and a threshold of
    0.005, 0.01 or 0.02 nats."""
    while True:
        data = {"q_mean": round(float(rng.uniform(0.6, 1.9)), 1), "q_sd": round(float(rng.uniform(0.3, 1.0)), 1),
                "threshold": float(rng.choice([0.005, 0.01, 0.02]))}
        variance = relative_second_moment(data["q_mean"], data["q_sd"]) - 1
        if 0.05 <= variance <= _MAX_RELATIVE_VARIANCE:
            return data


def _samples_for_small_bias_check(data=_BIAS_BOOK) -> Check:
    threshold = data["threshold"]
    second_moment = relative_second_moment(data["q_mean"], data["q_sd"])
    variance = second_moment - 1
    k = _smallest_k(variance, threshold)
    return Check(
        "smallest k with a predicted bias below the threshold",
        k,
        [
            Mistake(_smallest_k(2 * variance, threshold),
                    tr("You left out the factor 2: the predicted bias is Var[w] / (2 k p(x)²).")),
            Mistake(_smallest_k(second_moment, threshold),
                    tr("You used E[(w/p)²] in place of the variance: subtract 1, since E[w/p] = 1.")),
            Mistake(_smallest_k(math.sqrt(variance), threshold),
                    tr("You used the standard deviation of w/p(x) in place of its variance.")),
            Mistake(k - 1,
                    tr("At that k the predicted bias is still at or above the threshold: take the next whole number.")),
            Mistake(_smallest_k(relative_second_moment(0.0, 1.0) - 1, threshold),
                    tr("That is the k for the prior as proposal (naive Monte Carlo); use the exercise's q.")),
        ],
        kind="integer",
        hint=tr("Compute Var_q[w] / p(x)² = ∫ p(z|x)² / q(z) dz − 1 (the chapter's relative_variance), then "
                "find the smallest whole k for which that divided by 2k is below the threshold."),
        # A claim about the book's proposal; a variant's may need more draws.
        correct_message=(tr("A proposal this close to the posterior needs only a few dozen draws.")
                         if data == _BIAS_BOOK else ""),
    )


BIAS = Variant(
    "ex-importance-bias", _BIAS_BOOK, _bias_variant, _samples_for_small_bias_check,
    text=lambda d: [("the proposal $q = \\N(1.5,\\ 0.6^2)$",
                     f"the proposal $q = \\N({d['q_mean']:g},\\ {d['q_sd']:g}^2)$"),
                    ("smaller than $0.01$ nats", f"smaller than ${d['threshold']:g}$ nats")],
    code=lambda d: [("q_mean, q_sd = 1.5, 0.6", f"q_mean, q_sd = {float(d['q_mean'])!r}, {float(d['q_sd'])!r}"),
                    ("while variance / (2 * k) >= 0.01:", f"while variance / (2 * k) >= {d['threshold']!r}:")])


def check_samples_for_small_bias(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-importance-bias: the smallest k whose predicted bias of log p̂(x) is below the threshold.

    Args:
        answer: the student's whole number (``None`` while not answered yet).
        variant: a student's variant key; ``None``: the book's.
    """
    return BIAS.check(variant)(answer)


#: The exercises of this chapter whose problem data varies from student to student (all of them).
VARIANTS = (WEIGHT, ESS, BIAS)
