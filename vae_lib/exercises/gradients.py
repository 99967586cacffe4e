"""Chapter 7 (gradients of expectations): its problem data and exercise self-checks.

Every expected value and known mistake is computed from the data below, with the library's
estimators evaluated at Gauss–Hermite nodes (exact averages over ε) or by autograd through
quadrature: never typed in, and never by the closed forms the exercises ask the student to find.
Each exercise also has per-student variants (:data:`VARIANTS`): other values of μ, σ, ζ and ε,
drawn within ranges that keep its point.

>>> from vae_lib.exercises import gradients as exercises
>>> exercises.check_exp_gradient(None).correct is None
• Not answered yet: replace None with your computation and run the cell.
True
"""

from __future__ import annotations

import math
import numpy as np
import torch

from vae_lib._variant import Variant
from vae_lib.checks import Check, CheckResult, Mistake
from vae_lib.estimators import (
    gauss_hermite_expectation,
    gauss_hermite_rule,
    reparameterized_gradients,
    score_function_gradients,
)
from vae_lib.i18n import tr

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
    "VARIANTS",
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


def _one_decimal(rng: np.random.Generator, low: float, high: float) -> float:
    """A number in [low, high] with one decimal, as a statement would print it."""
    return round(float(rng.uniform(low, high)), 1)


_EXP_BOOK = {"mu": EXP_MU, "sigma": EXP_SIGMA, "zeta": EXP_A}


def _exp_variant(rng: np.random.Generator) -> dict:
    """Another q and ζ: μ in [0.1, 1.5], σ in [0.3, 1.2], ζ in [0.5, 2.0] but not 1 (a factor ζ
    missing must show), one decimal each; the answer stays below a few hundred."""
    zeta = 1.0
    while abs(zeta - 1.0) < 0.2:
        zeta = _one_decimal(rng, 0.5, 2.0)
    return {"mu": _one_decimal(rng, 0.1, 1.5), "sigma": _one_decimal(rng, 0.3, 1.2), "zeta": zeta}


def _exp_gradient_check(data=_EXP_BOOK) -> Check:
    mu, sigma, zeta = data["mu"], data["sigma"], data["zeta"]
    f = lambda z: torch.exp(zeta * z)  # noqa: E731
    expectation, d_mu, d_sigma = _gradient(f, mu, sigma)
    return Check(
        "∂/∂σ E[exp(ζz)]",
        d_sigma,
        [
            Mistake(d_mu, tr("That is the derivative with respect to μ; the question asks for σ.")),
            Mistake(expectation, tr("That is the expectation E[exp(ζz)] itself, not its derivative.")),
            Mistake(d_sigma / (2 * sigma),
                    tr("That is the derivative with respect to the variance σ², not the standard deviation σ "
                       "(d/dσ = 2σ · d/dσ²).")),
            Mistake(d_sigma / zeta,
                    tr("One factor ζ is missing: the exponent holds ζ²σ²/2, and its σ-derivative is ζ²σ.")),
            Mistake(zeta**2 * sigma * math.exp(zeta * mu),
                    tr("You used exp(ζμ) for E[exp(ζz)]: the mean of exp is not exp of the mean "
                       "(Jensen's inequality); the σ² term in the exponent is missing.")),
        ],
        kind="number",
        hint=tr("Write E[exp(ζz)] for z ~ N(μ, σ²) as a formula (the moment-generating function of a normal), "
                "then differentiate it with respect to σ."),
        correct_message=tr("The spread σ raises the expectation of a convex function, "
                           "so its derivative is positive."),
    )


EXP_GRADIENT = Variant(
    "ex-gradients-exp", _EXP_BOOK, _exp_variant, _exp_gradient_check,
    text=lambda d: [("$\\mu = 0.5$ and $\\sigma = 0.8$", f"$\\mu = {d['mu']}$ and $\\sigma = {d['sigma']}$"),
                    ("$\\zeta = 1.5$", f"$\\zeta = {d['zeta']}$")],
    code=lambda d: [("zeta_ex, mu_ex, sigma_ex = 1.5, 0.5, 0.8",
                     f"zeta_ex, mu_ex, sigma_ex = {d['zeta']}, {d['mu']}, {d['sigma']}")])


def check_exp_gradient(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-gradients-exp: ∂/∂σ of E[exp(ζz)] for z ~ N(μ, σ²) at the exercise's μ, σ, ζ.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key (an assignment's data cell says which); ``None``: the book's.
    """
    return EXP_GRADIENT.check(variant)(answer)


# ----------------------------------------------------------------------------- ex-gradients-one-sample

_ONE_SAMPLE_BOOK = {"mu": ONE_SAMPLE_MU, "sigma": ONE_SAMPLE_SIGMA, "eps": ONE_SAMPLE_EPS}


def _one_sample_variant(rng: np.random.Generator) -> dict:
    """Another q and draw: μ in [0, 1.5] (below the target z* = 2), σ in [0.4, 1.2], ε in [0.2, 1.8]
    away from 1 (where the estimate vanishes), one decimal each."""
    eps = 1.0
    while abs(eps - 1.0) < 0.2:
        eps = _one_decimal(rng, 0.2, 1.8)
    return {"mu": _one_decimal(rng, 0.0, 1.5), "sigma": _one_decimal(rng, 0.4, 1.2), "eps": eps}


def _one_sample_check(data=_ONE_SAMPLE_BOOK) -> Check:
    mu, sigma, eps_value = data["mu"], data["sigma"], data["eps"]
    eps = torch.tensor([eps_value], dtype=torch.float64)
    score = score_function_gradients(_running_example, mu, sigma, noise=eps)
    reparam = reparameterized_gradients(_running_example, mu, sigma, noise=eps)
    _, _, exact = _gradient(_running_example, mu, sigma)
    z = mu + sigma * eps_value
    value = _running_example(torch.tensor(z)).item()
    return Check(
        "one REINFORCE sample of ∂/∂σ",
        score.d_sigma.item(),
        [
            Mistake(score.d_mu.item(), tr("That is the REINFORCE sample of ∂/∂μ; the question asks for ∂/∂σ.")),
            Mistake(reparam.d_sigma.item(),
                    tr("That is the reparameterized sample f'(z)·ε; the question asks for the score function one.")),
            Mistake(reparam.d_mu.item(), tr("That is f'(z), the reparameterized sample of ∂/∂μ.")),
            Mistake(score.d_sigma.item() / (2 * sigma),
                    tr("You used the score with respect to the variance σ², ((z − μ)² − σ²)/(2σ⁴); differentiate "
                       "log q with respect to σ itself.")),
            Mistake(value * eps_value**2 / sigma,
                    tr("The score with respect to σ has two terms: −1/σ from the normalizer and (z − μ)²/σ³ from "
                       "the exponent. One of them is missing.")),
            Mistake(value * (z**2 - 1) / sigma,
                    tr("You put z where ε = (z − μ)/σ belongs in the score.")),
            Mistake(exact,
                    tr("That is the exact gradient (the average over all draws), not this one draw's estimate.")),
        ],
        kind="number",
        hint=tr("Compute z = μ + σε and f(z), then multiply f(z) by ∂ log q(z)/∂σ, the score with respect to σ."),
        correct_message=tr("A single REINFORCE sample can even have the wrong sign: only the average is right."),
    )


ONE_SAMPLE = Variant(
    "ex-gradients-one-sample", _ONE_SAMPLE_BOOK, _one_sample_variant, _one_sample_check,
    text=lambda d: [("$\\mu = 1.0$ and $\\sigma = 0.8$", f"$\\mu = {d['mu']}$ and $\\sigma = {d['sigma']}$"),
                    ("$\\varepsilon = 0.6$", f"$\\varepsilon = {d['eps']}$")],
    code=lambda d: [("mu_ex, sigma_ex, eps_ex = 1.0, 0.8, 0.6",
                     f"mu_ex, sigma_ex, eps_ex = {d['mu']}, {d['sigma']}, {d['eps']}")])


def check_one_sample(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-gradients-one-sample: the REINFORCE estimate of ∂/∂σ E[(z − z*)²] from one draw ε.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key; ``None``: the book's.
    """
    return ONE_SAMPLE.check(variant)(answer)


# ----------------------------------------------------------------------------- ex-gradients-samples


def _samples_to_match(ratio: float) -> int:
    """The smallest whole L with variance / L at most the target: ⌈ratio⌉ (guarding float noise)."""
    return math.ceil(ratio - 1e-9)


_SAMPLES_BOOK = {"mu": SAMPLES_MU, "sigma": SAMPLES_SIGMA}


def _samples_variant(rng: np.random.Generator) -> dict:
    """Another q: μ in [0, 1.5] (below the target z* = 2), σ in [0.3, 1.0], one decimal each, so
    that REINFORCE needs from a few to a few hundred draws."""
    return {"mu": _one_decimal(rng, 0.0, 1.5), "sigma": _one_decimal(rng, 0.3, 1.0)}


def _samples_needed_check(data=_SAMPLES_BOOK) -> Check:
    mu, sigma = data["mu"], data["sigma"]
    score_mu, score_sigma = _variances(score_function_gradients, _running_example, mu, sigma)
    reparam_mu, reparam_sigma = _variances(reparameterized_gradients, _running_example, mu, sigma)
    return Check(
        "samples L for REINFORCE to match one reparameterized sample (∂/∂μ)",
        _samples_to_match(score_mu / reparam_mu),
        [
            Mistake(_samples_to_match(math.sqrt(score_mu / reparam_mu)),
                    tr("That matches the standard deviations; averaging L samples divides the variance by L "
                       "(the standard deviation only by √L).")),
            Mistake(_samples_to_match(score_sigma / reparam_sigma),
                    tr("That is the count for ∂/∂σ; the question is about ∂/∂μ.")),
            Mistake(1, tr("The two estimators do not have the same variance: compare them.")),
        ],
        kind="integer",
        hint=tr("Find the variance of one sample of each estimator of ∂/∂μ (exactly, or with many draws), "
                "then the smallest whole L for which the REINFORCE variance divided by L is no larger."),
        correct_message=tr("Every reparameterized sample is worth that many REINFORCE samples here."),
    )


SAMPLES = Variant(
    "ex-gradients-samples", _SAMPLES_BOOK, _samples_variant, _samples_needed_check,
    text=lambda d: [("$\\mu = 1.0$ and $\\sigma = 0.5$", f"$\\mu = {d['mu']}$ and $\\sigma = {d['sigma']}$")],
    code=lambda d: [("mu_ex, sigma_ex = 1.0, 0.5", f"mu_ex, sigma_ex = {d['mu']}, {d['sigma']}")])


def check_samples_needed(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-gradients-samples: how many REINFORCE samples match one reparameterized sample's variance.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key; ``None``: the book's.
    """
    return SAMPLES.check(variant)(answer)


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


_BASELINE_BOOK = {"mu": BASELINE_MU, "sigma": BASELINE_SIGMA}


def _baseline_variant(rng: np.random.Generator) -> dict:
    """Another q: μ in [0.3, 2.0] (away from 0, where f(μ) and no baseline would agree), σ in
    [0.3, 1.2], one decimal each."""
    return {"mu": _one_decimal(rng, 0.3, 2.0), "sigma": _one_decimal(rng, 0.3, 1.2)}


def _optimal_baseline_check(data=_BASELINE_BOOK) -> Check:
    mu, sigma = data["mu"], data["sigma"]
    expectation, _, _ = _gradient(_square, mu, sigma)
    return Check(
        "the variance-minimizing baseline for the REINFORCE estimate of ∂/∂μ",
        _best_baseline(mu, sigma, which=0),
        [
            Mistake(expectation,
                    tr("That is E_q[f], the usual choice and a good one, but not the minimum: the best constant "
                       "weights f by the squared score.")),
            Mistake(mu**2, tr("That is f(μ), f at the mean; the best constant is an average over q.")),
            Mistake(_best_baseline(mu, sigma, which=1), tr("That is the best baseline for ∂/∂σ, not for ∂/∂μ.")),
            Mistake(0.0,
                    tr("No baseline at all is not the minimum here: differentiate the variance with respect to b.")),
        ],
        kind="number",
        hint=tr("Write the variance of (f(z) − b)·S(z), with S the score for μ, as a quadratic in b and "
                "find where its derivative is zero."),
        correct_message=tr("Note how it differs from E_q[f]: the best baseline favours draws with a large score."),
    )


BASELINE = Variant(
    "ex-gradients-baseline", _BASELINE_BOOK, _baseline_variant, _optimal_baseline_check,
    text=lambda d: [("$\\mu = 1.2$ and $\\sigma = 0.7$", f"$\\mu = {d['mu']}$ and $\\sigma = {d['sigma']}$")],
    code=lambda d: [("mu_ex, sigma_ex = 1.2, 0.7", f"mu_ex, sigma_ex = {d['mu']}, {d['sigma']}")])

#: The exercises of this chapter whose problem data varies from student to student (all of them).
VARIANTS = (EXP_GRADIENT, ONE_SAMPLE, SAMPLES, BASELINE)


def check_optimal_baseline(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-gradients-baseline: the constant b that minimizes the variance of REINFORCE for ∂/∂μ E[z²].

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key; ``None``: the book's.
    """
    return BASELINE.check(variant)(answer)
