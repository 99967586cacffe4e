"""Chapter 5 (the ELBO, two ways): its problem data and exercise self-checks.

The chapter keeps the previous chapter's model, z ~ N(0, 1), x | z ~ N(a z, σ_x²), observed
at x = 4 (the constants come from :mod:`vae_lib.exercises.importance_sampling`), whose
evidence, posterior and ELBO are exact (:class:`vae_lib.linear_gaussian.LinearGaussian`). Every
expected value and every known mistake below is computed from the problem data, by the right
method and by the typical wrong ones. Each exercise has per-student variants (``VARIANTS``):
other slopes, noise levels, observations and q's for the first two, other widths for the third.

>>> from vae_lib.exercises import elbo as exercises
>>> exercises.ELBO_Q_MEAN, exercises.ELBO_Q_STD
(1.0, 0.5)
>>> exercises.check_gap(-1.0).correct
✗ Not quite. The gap is KL(q ‖ p(z|x)); find the exact posterior's mean and variance, then use the KL between two Gaussians (or compute log p(x) − ELBO). If you rounded, pass the full-precision number your code computes.
False
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.distributions import Normal, kl_divergence

from vae_lib._variant import Variant
from vae_lib.checks import Check, CheckResult, Mistake
from vae_lib.exercises.importance_sampling import NOISE_STD, OBSERVED_X, OFFSET, SLOPE
from vae_lib.i18n import tr
from vae_lib.linear_gaussian import LinearGaussian

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
    "VARIANTS",
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

# The exercises' formulas (and their solutions) leave out the offset: the chapter's is zero.
assert OFFSET == 0.0

_ELBO_BOOK = {"a": SLOPE, "sigma_x": NOISE_STD, "x": OBSERVED_X, "mean": ELBO_Q_MEAN, "std": ELBO_Q_STD}
_GAP_BOOK = {"a": SLOPE, "sigma_x": NOISE_STD, "x": OBSERVED_X, "mean": GAP_Q_MEAN, "std": GAP_Q_STD}
_ENTROPY_BOOK = {"stds": ENTROPY_STDS}


def _model(data) -> LinearGaussian:
    """z ~ N(0, 1), x | z ~ N(a z, σ_x²) with the data's a and σ_x."""
    return LinearGaussian(A=[[data["a"]]], b=[0.0], sigma=data["sigma_x"])


def _x(data) -> torch.Tensor:
    return torch.tensor([data["x"]])


def _as_codes(value: float) -> torch.Tensor:
    return torch.tensor([value], dtype=torch.float64)


def _posterior_moments(data) -> tuple[float, float]:
    """The exact posterior's mean m and variance s² (chapter 4's formulas)."""
    s2 = 1 / (1 + data["a"] ** 2 / data["sigma_x"] ** 2)
    return s2 * data["a"] * data["x"] / data["sigma_x"] ** 2, s2


def _exact_terms(data) -> dict[str, float]:
    """log p(x), E_q[log p(x|z)], KL(q ‖ p(z)) and KL(q ‖ p(z|x)) for q = N(mean, std²), exactly."""
    model, x = _model(data), _x(data)
    q_mean, q_std = _as_codes(data["mean"]), _as_codes(data["std"])
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


def _draw_model(rng: np.random.Generator) -> dict:
    """Another slope a in 1 to 4 (steps of 0.5), noise σ_x in 0.5 to 2 (steps of 0.5) and an
    observation x in 1 to 6 (whole numbers): the model of the chapter with other numbers."""
    return {"a": float(rng.choice(np.arange(1.0, 4.01, 0.5))), "sigma_x": float(rng.choice([0.5, 1.0, 1.5, 2.0])),
            "x": float(rng.integers(1, 7))}


def _model_in_words(data) -> str:
    return f"$a = {data['a']:g}$, $\\sigma_x = {data['sigma_x']:g}$, observation $x = {data['x']:g}$"


def _q_in_tex(data) -> str:
    return f"$q = \\N({data['mean']},\\ {data['std']}^2)$"


def _code_numbers(data) -> str:
    return (f"a, sigma_x, x, mu, sigma = {data['a']}, {data['sigma_x']}, {data['x']}, "
            f"{data['mean']}, {data['std']}")


# ----------------------------------------------------------------------------- ex-elbo-gaussian


def _elbo_variant(rng: np.random.Generator) -> dict:
    """Another model (see :func:`_draw_model`) and q = N(μ, σ²) with μ in 0.1 to 2.5 and σ in
    0.2 to 1.5, one decimal each."""
    return {**_draw_model(rng), "mean": round(float(rng.uniform(0.1, 2.5)), 1),
            "std": round(float(rng.uniform(0.2, 1.5)), 1)}


def _elbo_of_gaussian_check(data=_ELBO_BOOK) -> Check:
    model, x = _model(data), _x(data)
    terms = _exact_terms(data)
    elbo = terms["reconstruction"] - terms["kl_prior"]
    at_the_mean = model.likelihood(_as_codes(data["mean"])).log_prob(x).item()  # log p(x | z = μ): no spread
    wrong_stds = (math.sqrt(data["std"]), data["std"] ** 2)  # σ read as a variance, or σ² used as the std
    confused = [model.elbo(x, _as_codes(data["mean"]), _as_codes(std)).item() for std in wrong_stds]
    if at_the_mean - terms["kl_prior"] > terms["log_evidence"]:
        no_spread = tr("You evaluated log p(x|z) at z = μ only. Under q, z spreads around μ, which adds "
                       "a² σ² to the expected squared error (and your 'ELBO' is above log p(x), which no ELBO can be).")
    else:
        no_spread = tr("You evaluated log p(x|z) at z = μ only. Under q, z spreads around μ, which adds "
                       "a² σ² to the expected squared error.")
    return Check(
        "ELBO of q",
        elbo,
        [
            Mistake(at_the_mean - terms["kl_prior"], no_spread),
            Mistake(terms["reconstruction"] + terms["kl_prior"],
                    tr("You added KL(q ‖ p(z)); the ELBO subtracts it.")),
            Mistake(terms["reconstruction"], tr("That is the reconstruction term alone: subtract KL(q ‖ p(z)).")),
            Mistake(terms["log_evidence"], tr("That is log p(x), the quantity the ELBO bounds from below.")),
            Mistake(terms["kl_posterior"], tr("That is the gap KL(q ‖ p(z|x)), not the ELBO.")),
            *(Mistake(value, tr("You used σ where σ² belongs (or the other way round): q = N(μ, σ²) has variance σ²."))
              for value in confused),
        ],
        kind="number",
        rel_tol=1e-3,
        hint=tr("ELBO = E_q[log p(x|z)] − KL(q ‖ p(z)); the first term is "
                "−½ log(2πσ_x²) − ((x − aμ)² + a²σ²) / (2σ_x²)."),
        correct_message=tr("It sits below log p(x), as every ELBO does."),
    )


ELBO_OF_GAUSSIAN = Variant(
    "ex-elbo-gaussian", _ELBO_BOOK, _elbo_variant, _elbo_of_gaussian_check,
    text=lambda d: [("In this chapter's model ($a = 3$, $\\sigma_x = 1$, observation $x = 4$)",
                     f"In the chapter's model with your numbers ({_model_in_words(d)})"),
                    ("$q = \\N(1.0,\\ 0.5^2)$", _q_in_tex(d))],
    code=lambda d: [("a, sigma_x, x, mu, sigma = 3.0, 1.0, 4.0, 1.0, 0.5", _code_numbers(d))])


def check_elbo_of_gaussian(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-elbo-gaussian: the ELBO of a given Gaussian q in the chapter's one-dimensional model.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key (an assignment's data cell says which); ``None``: the book's.
    """
    return ELBO_OF_GAUSSIAN.check(variant)(answer)


# ----------------------------------------------------------------------------- ex-elbo-gap


def _gap_variant(rng: np.random.Generator) -> dict:
    """Another model (see :func:`_draw_model`) and a q narrower than its posterior (σ between
    30% and 80% of the posterior's s, two decimals, at least 0.05) and off-centre (μ at least
    0.2 from the posterior mean m, in 0.1 to 3.0, one decimal)."""
    while True:
        data = _draw_model(rng)
        m, s2 = _posterior_moments(data)
        std = round(float(rng.uniform(0.3, 0.8)) * math.sqrt(s2), 2)
        mean = round(float(rng.uniform(0.1, 3.0)), 1)
        if 0.05 <= std < math.sqrt(s2) and abs(mean - m) >= 0.2:
            return {**data, "mean": mean, "std": std}


def _gap_check(data=_GAP_BOOK) -> Check:
    terms = _exact_terms(data)
    gap = terms["kl_posterior"]
    elbo = terms["reconstruction"] - terms["kl_prior"]
    return Check(
        "gap log p(x) − ELBO",
        gap,
        [
            Mistake(terms["kl_prior"],
                    tr("That is KL(q ‖ p(z)), the regularizer inside the ELBO; "
                       "the gap is the KL to the posterior p(z|x).")),
            Mistake(terms["kl_reverse"],
                    tr("That is KL(p(z|x) ‖ q), the other direction: the gap is KL(q ‖ p(z|x)), an average under q.")),
            Mistake(-gap, tr("Wrong sign: the gap log p(x) − ELBO is never negative.")),
            Mistake(elbo, tr("That is the ELBO itself; the gap is how far it sits below log p(x).")),
            Mistake(terms["log_evidence"], tr("That is log p(x); subtract the ELBO from it.")),
        ],
        kind="number",
        rel_tol=1e-3,
        hint=tr("The gap is KL(q ‖ p(z|x)); find the exact posterior's mean and variance, then use the KL between "
                "two Gaussians (or compute log p(x) − ELBO)."),
        correct_message=tr("A q narrower than the posterior pays for it in the gap."),
    )


GAP = Variant(
    "ex-elbo-gap", _GAP_BOOK, _gap_variant, _gap_check,
    text=lambda d: [("For the same model and observation",
                     f"For the chapter's model with your numbers ({_model_in_words(d)})"),
                    ("$q = \\N(1.5,\\ 0.2^2)$", _q_in_tex(d))],
    code=lambda d: [("a, sigma_x, x, mu, sigma = 3.0, 1.0, 4.0, 1.5, 0.2", _code_numbers(d))])


def check_gap(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-elbo-gap: the gap log p(x) − ELBO for a given Gaussian q in the chapter's model.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key; ``None``: the book's.
    """
    return GAP.check(variant)(answer)


# ----------------------------------------------------------------------------- ex-elbo-entropy


def _entropy(stds: tuple[float, ...]) -> float:
    return Normal(torch.zeros(len(stds), dtype=torch.float64), torch.tensor(stds, dtype=torch.float64)).entropy().sum().item()


def _entropy_variant(rng: np.random.Generator) -> dict:
    """A narrow coordinate (σ in 0.3 to 0.9) and a wide one (σ in 1.5 to 4.0), one decimal each:
    both above 1/√(2πe) ≈ 0.24, so each coordinate's entropy stays positive, as the solution says."""
    return {"stds": (round(float(rng.uniform(0.3, 0.9)), 1), round(float(rng.uniform(1.5, 4.0)), 1))}


def _gaussian_entropy_check(data=_ENTROPY_BOOK) -> Check:
    stds = tuple(data["stds"])
    entropy = _entropy(stds)
    dims = len(stds)
    without_e = entropy - dims / 2  # ½ log(2π σ²) per coordinate: the ½ from E[(z − μ)²] / (2σ²) forgotten
    std_for_variance = _entropy(tuple(math.sqrt(s) for s in stds))
    one_coordinate = tr("That is the entropy of one coordinate only: the entropies of independent coordinates add.")
    return Check(
        "entropy of the diagonal Gaussian",
        entropy,
        [
            Mistake(without_e,
                    tr("You left out the e inside the log "
                       "(the ½ that E[(z − μ)²] / (2σ²) contributes per coordinate).")),
            Mistake(std_for_variance,
                    tr("You used σ where σ² belongs: the entropy is ½ log(2π e σ²) per coordinate.")),
            Mistake(entropy / math.log(2),
                    tr("That is the entropy in bits; the book measures it in nats (natural log).")),
            Mistake(-entropy, tr("Wrong sign: H(q) = −E_q[log q(z)], with the minus sign.")),
            *(Mistake(_entropy((s,)), one_coordinate) for s in stds),
        ],
        kind="number",
        rel_tol=1e-3,
        hint=tr("The entropy of N(μ, σ²) is ½ log(2π e σ²) nats, and the entropies of independent coordinates add."),
        correct_message=tr("The mean plays no part: entropy measures spread only."),
    )


ENTROPY = Variant(
    "ex-elbo-entropy", _ENTROPY_BOOK, _entropy_variant, _gaussian_entropy_check,
    text=lambda d: [("standard deviations $0.5$ and $3.0$",
                     f"standard deviations ${d['stds'][0]}$ and ${d['stds'][1]}$")],
    code=lambda d: [("for sd in (0.5, 3.0)", f"for sd in ({d['stds'][0]}, {d['stds'][1]})")])


def check_gaussian_entropy(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-elbo-entropy: the entropy of a two-dimensional diagonal Gaussian, in nats.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key; ``None``: the book's.
    """
    return ENTROPY.check(variant)(answer)


VARIANTS = (ELBO_OF_GAUSSIAN, GAP, ENTROPY)
