"""Chapter 5 (the ELBO, two ways): its problem data and exercise self-checks.

The chapter keeps the previous chapter's model, z ~ N(0, 1), x | z ~ N(a z, σ_x²), observed
at x = 4 (the constants come from :mod:`vae_lib.exercises.importance_sampling`), whose
evidence, posterior and ELBO are exact (:class:`vae_lib.linear_gaussian.LinearGaussian`). Every
expected value and every known mistake below is computed from the problem data, by the right
method and by the typical wrong ones.

>>> from vae_lib.exercises import elbo as exercises
>>> exercises.ELBO_Q_MEAN, exercises.ELBO_Q_STD
(1.0, 0.5)
>>> exercises.check_gap(-1.0).correct
✗ Not quite. The gap is KL(q ‖ p(z|x)); find the exact posterior's mean and variance, then use the KL between two Gaussians (or compute log p(x) − ELBO). If you rounded, pass the full-precision number your code computes.
False
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
from torch.distributions import Normal, kl_divergence

from vae_lib.checks import Check, CheckResult, Mistake
from vae_lib.exercises.importance_sampling import NOISE_STD, OBSERVED_X, OFFSET, SLOPE, chapter_model

__all__ = [
    "SLOPE",
    "OFFSET",
    "NOISE_STD",
    "OBSERVED_X",
    "ELBO_Q_MEAN",
    "ELBO_Q_STD",
    "GAP_Q_MEAN",
    "GAP_Q_STD",
    "ENTROPY_STDS",
    "check_elbo_of_gaussian",
    "check_gap",
    "check_gaussian_entropy",
]

# ----------------------------------------------------------------------------- problem data

#: Exercise ex-elbo-gaussian: q = N(mean, std²) whose ELBO is asked for.
ELBO_Q_MEAN = 1.0
ELBO_Q_STD = 0.5
#: Exercise ex-elbo-gap: q = N(mean, std²) whose gap log p(x) − ELBO is asked for.
GAP_Q_MEAN = 1.5
GAP_Q_STD = 0.2
#: Exercise ex-elbo-entropy: the standard deviations of a two-dimensional diagonal Gaussian.
ENTROPY_STDS = (0.5, 3.0)


def _x() -> torch.Tensor:
    return torch.tensor([OBSERVED_X])


def _as_codes(value: float) -> torch.Tensor:
    return torch.tensor([value], dtype=torch.float64)


def _exact_terms(mean: float, std: float) -> dict[str, float]:
    """log p(x), E_q[log p(x|z)], KL(q ‖ p(z)) and KL(q ‖ p(z|x)) for q = N(mean, std²), exactly."""
    model, x = chapter_model(), _x()
    q_mean, q_std = _as_codes(mean), _as_codes(std)
    posterior = model.posterior(x)
    q = Normal(q_mean, q_std)
    exact_posterior = Normal(posterior.mean, posterior.stddev)
    return {
        "log_evidence": model.log_evidence(x).item(),
        "reconstruction": model.expected_log_likelihood(x, q_mean, q_std).item(),
        "kl_prior": model.kl_to_prior(q_mean, q_std).item(),
        "kl_posterior": kl_divergence(q, exact_posterior).sum().item(),
        "kl_reverse": kl_divergence(exact_posterior, q).sum().item(),
    }


# ----------------------------------------------------------------------------- ex-elbo-gaussian


@lru_cache(maxsize=None)
def _elbo_of_gaussian_check() -> Check:
    model, x = chapter_model(), _x()
    terms = _exact_terms(ELBO_Q_MEAN, ELBO_Q_STD)
    elbo = terms["reconstruction"] - terms["kl_prior"]
    at_the_mean = model.likelihood(_as_codes(ELBO_Q_MEAN)).log_prob(x).item()  # log p(x | z = μ): no spread
    wrong_stds = (math.sqrt(ELBO_Q_STD), ELBO_Q_STD**2)  # σ read as a variance, or σ² used as the std
    confused = [model.elbo(x, _as_codes(ELBO_Q_MEAN), _as_codes(std)).item() for std in wrong_stds]
    return Check(
        "ELBO of q",
        elbo,
        [
            Mistake(at_the_mean - terms["kl_prior"],
                    "You evaluated log p(x|z) at z = μ only. Under q, z spreads around μ, which adds "
                    "a² σ² to the expected squared error (and your 'ELBO' is above log p(x), which no ELBO can be)."),
            Mistake(terms["reconstruction"] + terms["kl_prior"],
                    "You added KL(q ‖ p(z)); the ELBO subtracts it."),
            Mistake(terms["reconstruction"], "That is the reconstruction term alone: subtract KL(q ‖ p(z))."),
            Mistake(terms["log_evidence"], "That is log p(x), the quantity the ELBO bounds from below."),
            Mistake(terms["kl_posterior"], "That is the gap KL(q ‖ p(z|x)), not the ELBO."),
            *(Mistake(value, "You used σ where σ² belongs (or the other way round): q = N(μ, σ²) has variance σ².")
              for value in confused),
        ],
        kind="number",
        rel_tol=1e-3,
        hint="ELBO = E_q[log p(x|z)] − KL(q ‖ p(z)); the first term is −½ log(2πσ_x²) − ((x − aμ)² + a²σ²) / (2σ_x²).",
        correct_message="It sits below log p(x), as every ELBO does.",
    )


def check_elbo_of_gaussian(answer: object) -> CheckResult:
    """Exercise ex-elbo-gaussian: the ELBO of a given Gaussian q in the chapter's one-dimensional model.

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _elbo_of_gaussian_check()(answer)


# ----------------------------------------------------------------------------- ex-elbo-gap


@lru_cache(maxsize=None)
def _gap_check() -> Check:
    terms = _exact_terms(GAP_Q_MEAN, GAP_Q_STD)
    gap = terms["kl_posterior"]
    elbo = terms["reconstruction"] - terms["kl_prior"]
    return Check(
        "gap log p(x) − ELBO",
        gap,
        [
            Mistake(terms["kl_prior"],
                    "That is KL(q ‖ p(z)), the regularizer inside the ELBO; the gap is the KL to the posterior p(z|x)."),
            Mistake(terms["kl_reverse"],
                    "That is KL(p(z|x) ‖ q), the other direction: the gap is KL(q ‖ p(z|x)), an average under q."),
            Mistake(-gap, "Wrong sign: the gap log p(x) − ELBO is never negative."),
            Mistake(elbo, "That is the ELBO itself; the gap is how far it sits below log p(x)."),
            Mistake(terms["log_evidence"], "That is log p(x); subtract the ELBO from it."),
        ],
        kind="number",
        rel_tol=1e-3,
        hint="The gap is KL(q ‖ p(z|x)); find the exact posterior's mean and variance, then use the KL between "
             "two Gaussians (or compute log p(x) − ELBO).",
        correct_message="A q narrower than the posterior pays for it in the gap.",
    )


def check_gap(answer: object) -> CheckResult:
    """Exercise ex-elbo-gap: the gap log p(x) − ELBO for a given Gaussian q in the chapter's model.

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _gap_check()(answer)


# ----------------------------------------------------------------------------- ex-elbo-entropy


def _entropy(stds: tuple[float, ...]) -> float:
    return Normal(torch.zeros(len(stds), dtype=torch.float64), torch.tensor(stds, dtype=torch.float64)).entropy().sum().item()


@lru_cache(maxsize=None)
def _gaussian_entropy_check() -> Check:
    entropy = _entropy(ENTROPY_STDS)
    dims = len(ENTROPY_STDS)
    without_e = entropy - dims / 2  # ½ log(2π σ²) per coordinate: the ½ from E[(z − μ)²] / (2σ²) forgotten
    std_for_variance = _entropy(tuple(math.sqrt(s) for s in ENTROPY_STDS))
    return Check(
        "entropy of the diagonal Gaussian",
        entropy,
        [
            Mistake(without_e,
                    "You left out the e inside the log (the ½ that E[(z − μ)²] / (2σ²) contributes per coordinate)."),
            Mistake(std_for_variance, "You used σ where σ² belongs: the entropy is ½ log(2π e σ²) per coordinate."),
            Mistake(entropy / math.log(2), "That is the entropy in bits; the book measures it in nats (natural log)."),
            Mistake(-entropy, "Wrong sign: H(q) = −E_q[log q(z)], with the minus sign."),
            *(Mistake(_entropy((s,)), "That is the entropy of one coordinate only: the entropies of independent "
                                      "coordinates add.") for s in ENTROPY_STDS),
        ],
        kind="number",
        rel_tol=1e-3,
        hint="The entropy of N(μ, σ²) is ½ log(2π e σ²) nats, and the entropies of independent coordinates add.",
        correct_message="The mean plays no part: entropy measures spread only.",
    )


def check_gaussian_entropy(answer: object) -> CheckResult:
    """Exercise ex-elbo-entropy: the entropy of a two-dimensional diagonal Gaussian, in nats.

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _gaussian_entropy_check()(answer)
