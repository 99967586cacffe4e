"""Chapter 7 (gradients of expectations): its problem data and exercise self-checks.

Every expected value and known mistake is computed from the data below, with the library's
estimators evaluated at Gauss–Hermite nodes (exact averages over ε) or by autograd through
quadrature: never typed in, and never by the closed forms the exercises ask the student to find.

>>> from vae_lib.exercises import gradients as exercises
>>> exercises.check_exp_gradient(None).correct is None
• Not answered yet: replace None with your computation and run the cell.
True
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch

from vae_lib.checks import Check, CheckResult, Mistake
from vae_lib.estimators import (
    gauss_hermite_expectation,
    gauss_hermite_rule,
    reparameterized_gradients,
    score_function_gradients,
)

__all__ = [
    "TARGET",
    "EXP_MU",
    "EXP_SIGMA",
    "EXP_A",
    "ONE_SAMPLE_MU",
    "ONE_SAMPLE_SIGMA",
    "ONE_SAMPLE_EPS",
    "SAMPLES_MU",
    "SAMPLES_SIGMA",
    "BASELINE_MU",
    "BASELINE_SIGMA",
    "check_exp_gradient",
    "check_one_sample",
    "check_samples_needed",
    "check_optimal_baseline",
]

# ----------------------------------------------------------------------------- problem data

#: The chapter's running example is f(z) = (z − z*)² with this target z*; exercises
#: ex-gradients-one-sample and ex-gradients-samples use the same f.
TARGET = 2.0

#: Exercise ex-gradients-exp: ∂/∂σ of E[exp(ζz)] under N(μ, σ²), at these values (EXP_A is ζ).
EXP_MU, EXP_SIGMA, EXP_A = 0.5, 0.8, 1.5

#: Exercise ex-gradients-one-sample: q = N(μ, σ²) and one draw ε.
ONE_SAMPLE_MU, ONE_SAMPLE_SIGMA, ONE_SAMPLE_EPS = 1.0, 0.8, 0.6

#: Exercise ex-gradients-samples: q = N(μ, σ²) for f(z) = (z − TARGET)².
SAMPLES_MU, SAMPLES_SIGMA = 1.0, 0.5

#: Exercise ex-gradients-baseline: q = N(μ, σ²) for f(z) = z².
BASELINE_MU, BASELINE_SIGMA = 1.2, 0.7

_NODES = 64  # Gauss–Hermite nodes: exact for every polynomial f used here


def _running_example(z: torch.Tensor) -> torch.Tensor:
    return (z - TARGET) ** 2


def _square(z: torch.Tensor) -> torch.Tensor:
    return z**2


def _gradient(f, mu: float, sigma: float) -> tuple[float, float, float]:
    """(E_q[f], ∂/∂μ, ∂/∂σ) by autograd through quadrature."""
    mu_t, sigma_t = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (mu, sigma))
    expectation = gauss_hermite_expectation(f, mu_t, sigma_t, points=_NODES)
    d_mu, d_sigma = torch.autograd.grad(expectation, (mu_t, sigma_t))
    return expectation.item(), d_mu.item(), d_sigma.item()


def _variances(estimator, f, mu: float, sigma: float, baseline: float = 0.0) -> tuple[float, float]:
    """Exact variances of one sample of the estimator of ∂/∂μ and of ∂/∂σ (quadrature over ε)."""
    nodes, weights = gauss_hermite_rule(_NODES)
    kwargs = {"baseline": baseline} if estimator is score_function_gradients else {}
    result = []
    for values in estimator(f, mu, sigma, noise=nodes, **kwargs):
        mean = weights @ values
        result.append(float(weights @ (values - mean) ** 2))
    return result[0], result[1]


# ----------------------------------------------------------------------------- ex-gradients-exp


@lru_cache(maxsize=None)
def _exp_gradient_check() -> Check:
    mu, sigma, zeta = EXP_MU, EXP_SIGMA, EXP_A
    f = lambda z: torch.exp(zeta * z)  # noqa: E731
    expectation, d_mu, d_sigma = _gradient(f, mu, sigma)
    return Check(
        "∂/∂σ E[exp(ζz)]",
        d_sigma,
        [
            Mistake(d_mu, "That is the derivative with respect to μ; the question asks for σ."),
            Mistake(expectation, "That is the expectation E[exp(ζz)] itself, not its derivative."),
            Mistake(d_sigma / (2 * sigma),
                    "That is the derivative with respect to the variance σ², not the standard deviation σ "
                    "(d/dσ = 2σ · d/dσ²)."),
            Mistake(d_sigma / zeta, "One factor ζ is missing: the exponent holds ζ²σ²/2, and its σ-derivative is ζ²σ."),
            Mistake(zeta**2 * sigma * math.exp(zeta * mu),
                    "You used exp(ζμ) for E[exp(ζz)]: the mean of exp is not exp of the mean "
                    "(Jensen's inequality); the σ² term in the exponent is missing."),
        ],
        kind="number",
        hint="Write E[exp(ζz)] for z ~ N(μ, σ²) as a formula (the moment-generating function of a normal), "
             "then differentiate it with respect to σ.",
        correct_message="The spread σ raises the expectation of a convex function, so its derivative is positive.",
    )


def check_exp_gradient(answer: object) -> CheckResult:
    """Exercise ex-gradients-exp: ∂/∂σ of E[exp(ζz)] for z ~ N(μ, σ²) at the exercise's μ, σ, ζ.

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _exp_gradient_check()(answer)


# ----------------------------------------------------------------------------- ex-gradients-one-sample


@lru_cache(maxsize=None)
def _one_sample_check() -> Check:
    mu, sigma, eps = ONE_SAMPLE_MU, ONE_SAMPLE_SIGMA, torch.tensor([ONE_SAMPLE_EPS], dtype=torch.float64)
    score = score_function_gradients(_running_example, mu, sigma, noise=eps)
    reparam = reparameterized_gradients(_running_example, mu, sigma, noise=eps)
    _, _, exact = _gradient(_running_example, mu, sigma)
    z = mu + sigma * ONE_SAMPLE_EPS
    value = _running_example(torch.tensor(z)).item()
    return Check(
        "one REINFORCE sample of ∂/∂σ",
        score.d_sigma.item(),
        [
            Mistake(score.d_mu.item(), "That is the REINFORCE sample of ∂/∂μ; the question asks for ∂/∂σ."),
            Mistake(reparam.d_sigma.item(),
                    "That is the reparameterized sample f'(z)·ε; the question asks for the score function one."),
            Mistake(reparam.d_mu.item(), "That is f'(z), the reparameterized sample of ∂/∂μ."),
            Mistake(score.d_sigma.item() / (2 * sigma),
                    "You used the score with respect to the variance σ², ((z − μ)² − σ²)/(2σ⁴); differentiate "
                    "log q with respect to σ itself."),
            Mistake(value * ONE_SAMPLE_EPS**2 / sigma,
                    "The score with respect to σ has two terms: −1/σ from the normalizer and (z − μ)²/σ³ from "
                    "the exponent. One of them is missing."),
            Mistake(value * (z**2 - 1) / sigma,
                    "You put z where ε = (z − μ)/σ belongs in the score."),
            Mistake(exact, "That is the exact gradient (the average over all draws), not this one draw's estimate."),
        ],
        kind="number",
        hint="Compute z = μ + σε and f(z), then multiply f(z) by ∂ log q(z)/∂σ, the score with respect to σ.",
        correct_message="A single REINFORCE sample can even have the wrong sign: only the average is right.",
    )


def check_one_sample(answer: object) -> CheckResult:
    """Exercise ex-gradients-one-sample: the REINFORCE estimate of ∂/∂σ E[(z − z*)²] from one draw ε.

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _one_sample_check()(answer)


# ----------------------------------------------------------------------------- ex-gradients-samples


def _samples_to_match(ratio: float) -> int:
    """The smallest whole L with variance / L at most the target: ⌈ratio⌉ (guarding float noise)."""
    return math.ceil(ratio - 1e-9)


@lru_cache(maxsize=None)
def _samples_needed_check() -> Check:
    mu, sigma = SAMPLES_MU, SAMPLES_SIGMA
    score_mu, score_sigma = _variances(score_function_gradients, _running_example, mu, sigma)
    reparam_mu, reparam_sigma = _variances(reparameterized_gradients, _running_example, mu, sigma)
    return Check(
        "samples L for REINFORCE to match one reparameterized sample (∂/∂μ)",
        _samples_to_match(score_mu / reparam_mu),
        [
            Mistake(_samples_to_match(math.sqrt(score_mu / reparam_mu)),
                    "That matches the standard deviations; averaging L samples divides the variance by L "
                    "(the standard deviation only by √L)."),
            Mistake(_samples_to_match(score_sigma / reparam_sigma),
                    "That is the count for ∂/∂σ; the question is about ∂/∂μ."),
            Mistake(1, "The two estimators do not have the same variance: compare them."),
        ],
        kind="integer",
        hint="Find the variance of one sample of each estimator of ∂/∂μ (exactly, or with many draws), "
             "then the smallest whole L for which the REINFORCE variance divided by L is no larger.",
        correct_message="Every reparameterized sample is worth that many REINFORCE samples here.",
    )


def check_samples_needed(answer: object) -> CheckResult:
    """Exercise ex-gradients-samples: how many REINFORCE samples match one reparameterized sample's variance.

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _samples_needed_check()(answer)


# ----------------------------------------------------------------------------- ex-gradients-baseline


def _best_baseline(mu: float, sigma: float, which: int) -> float:
    """The constant b minimizing the variance of (f − b)·score for f = z², by quadrature.

    The variance is a quadratic in b: Var(b) = Var(0) − 2b·E[f S²] + b²·E[S²], so its
    minimum is at E[f S²] / E[S²]; both moments come from the estimator at the nodes.
    """
    nodes, weights = gauss_hermite_rule(_NODES)
    scores = score_function_gradients(lambda z: torch.ones_like(z), mu, sigma, noise=nodes)[which]
    values = score_function_gradients(_square, mu, sigma, noise=nodes)[which]  # f · score
    return float((weights @ (values * scores)) / (weights @ scores**2))


@lru_cache(maxsize=None)
def _optimal_baseline_check() -> Check:
    mu, sigma = BASELINE_MU, BASELINE_SIGMA
    expectation, _, _ = _gradient(_square, mu, sigma)
    return Check(
        "the variance-minimizing baseline for the REINFORCE estimate of ∂/∂μ",
        _best_baseline(mu, sigma, which=0),
        [
            Mistake(expectation,
                    "That is E_q[f], the usual choice and a good one, but not the minimum: the best constant "
                    "weights f by the squared score."),
            Mistake(mu**2, "That is f(μ), f at the mean; the best constant is an average over q."),
            Mistake(_best_baseline(mu, sigma, which=1), "That is the best baseline for ∂/∂σ, not for ∂/∂μ."),
            Mistake(0.0, "No baseline at all is not the minimum here: differentiate the variance with respect to b."),
        ],
        kind="number",
        hint="Write the variance of (f(z) − b)·S(z), with S the score for μ, as a quadratic in b and "
             "find where its derivative is zero.",
        correct_message="Note how it differs from E_q[f]: the best baseline favours draws with a large score.",
    )


def check_optimal_baseline(answer: object) -> CheckResult:
    """Exercise ex-gradients-baseline: the constant b that minimizes the variance of REINFORCE for ∂/∂μ E[z²].

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _optimal_baseline_check()(answer)
