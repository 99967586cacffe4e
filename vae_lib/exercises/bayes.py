"""Chapter 1 (Bayes' rule and the coffee machine): its problem data and exercise self-checks.

The chapter states its problems with the numbers below and a test checks that it does; every
expected value and every known mistake is computed from them, by the right method and by the
typical wrong ones.

>>> from vae_lib.exercises import bayes as exercises
>>> dict(exercises.COFFEE_PRIOR)
{'clogged': 0.3, 'low water': 0.7}
>>> exercises.check_loaded_die_mle(1 / 6).correct
✗ That is a fair die's chance of a six: the hypothesis you are testing, not the value that explains the rolls best.
False
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.stats import binom

from vae_lib._variant import Variant
from vae_lib.bayes import combine_likelihoods, evidence, joint, posterior
from vae_lib.checks import Check, CheckResult, Mistake
from vae_lib.i18n import tr

__all__ = [
    "COFFEE_PRIOR",
    "COFFEE_P_NOISE",
    "CHAPTER_DIE_ROLLS",
    "CHAPTER_DIE_SIXES",
    "FRIEND_DIE_ROLLS",
    "FRIEND_DIE_SIXES",
    "COARSE_GRID_POINTS",
    "GRID_TERMS_PER_SECOND",
    "GRID_SECONDS_ALLOWED",
    "GRID_POINTS_PER_DIMENSION",
    "CHAPTER_LATENT_DIM",
    "check_silent_machine",
    "check_noise_then_silence",
    "check_loaded_die_mle",
    "check_grid_dimension",
    "VARIANTS",
]

# ----------------------------------------------------------------------------- problem data

#: The coffee machine: the prior belief about why it failed, P(h) ...
COFFEE_PRIOR = MappingProxyType({"clogged": 0.3, "low water": 0.7})
#: ... and the chance of the strange noise under each hypothesis, P(noise | h).
COFFEE_P_NOISE = MappingProxyType({"clogged": 0.9, "low water": 0.2})

#: The die of the chapter's likelihood section: this many rolls ...
CHAPTER_DIE_ROLLS = 10
#: ... showed a six this many times.
CHAPTER_DIE_SIXES = 3
#: Exercise ex-bayes-loaded-die: a friend's die rolled this many times ...
FRIEND_DIE_ROLLS = 12
#: ... showed a six this many times.
FRIEND_DIE_SIXES = 4
#: Grids of ρ a student may search, ``np.linspace(0, 1, points)`` (steps 0.1 and 0.01): too
#: coarse for this check. Only these two: every extra known mistake near the answer is a hint.
COARSE_GRID_POINTS = (11, 101)

#: Exercise ex-bayes-grid: terms a computer evaluates per second, the time allowed, grid size.
GRID_TERMS_PER_SECOND = 10**9
GRID_SECONDS_ALLOWED = 24 * 60 * 60
GRID_POINTS_PER_DIMENSION = 10
#: The dimension of the latent vector z of the chapter's VAE.
CHAPTER_LATENT_DIM = 20


def _p_silence(p_noise=COFFEE_P_NOISE) -> dict[str, float]:
    """P(silence | h) = 1 - P(noise | h): a failure either makes the noise or it does not."""
    return {h: 1.0 - p for h, p in p_noise.items()}


def _coffee_variant(rng: np.random.Generator) -> dict:
    """Another coffee machine: a prior of a clog in [0.1, 0.6], a clog noisy in [0.6, 0.95] of
    failures, low water in [0.05, 0.4] (a noise still favors a clog), two decimals each."""
    clogged = round(float(rng.uniform(0.1, 0.6)), 2)
    return {"prior": {"clogged": clogged, "low water": round(1 - clogged, 2)},
            "p_noise": {"clogged": round(float(rng.uniform(0.6, 0.95)), 2),
                        "low water": round(float(rng.uniform(0.05, 0.4)), 2)}}


_COFFEE_BOOK = {"prior": dict(COFFEE_PRIOR), "p_noise": dict(COFFEE_P_NOISE)}


def _coffee_names(data) -> dict:
    return {"prior": data["prior"], "p_noise": data["p_noise"]}


def _coffee_numbers(data) -> str:
    """The variant's machine in words, for its statements."""
    prior, noise = data["prior"], data["p_noise"]
    return (f"a prior P(clogged) = {prior['clogged']}, P(low water) = {prior['low water']} and "
            f"P(noise | clogged) = {noise['clogged']}, P(noise | low water) = {noise['low water']}")


# ----------------------------------------------------------------------------- ex-bayes-silence


def _silent_machine_check(data=_COFFEE_BOOK) -> Check:
    prior, noise = data["prior"], data["p_noise"]
    silence = _p_silence(noise)
    after_noise = posterior(prior, noise)
    after_silence = posterior(prior, silence)
    flat_prior = {h: 1 / len(prior) for h in prior}
    return Check(
        "P(clogged | silence)",
        after_silence["clogged"],
        [
            Mistake(after_noise["clogged"],
                    tr("That is P(clogged | noise), the posterior after a noise; "
                       "this morning the machine was silent.")),
            Mistake(after_noise["low water"],
                    tr("That is P(low water | noise) = 1 − P(clogged | noise). Conditioning on silence is not "
                       "the same as taking 1 − the posterior after a noise: recompute with P(silence | h).")),
            Mistake(silence["clogged"],
                    tr("That is the likelihood P(silence | clogged), not the posterior: combine it with the prior.")),
            Mistake(joint(prior, silence)["clogged"],
                    tr("That is the joint P(silence, clogged): you forgot to divide by the evidence P(silence).")),
            Mistake(evidence(prior, silence),
                    tr("That is the evidence P(silence), the denominator; "
                       "the question asks for the posterior of 'clogged'.")),
            Mistake(after_silence["low water"], tr("That is P(low water | silence), the other hypothesis.")),
            Mistake(prior["clogged"], tr("That is the prior P(clogged): you have not used the observation yet.")),
            Mistake(posterior(flat_prior, silence)["clogged"],
                    tr("You normalized the likelihoods over the hypotheses and left out the prior "
                       "(that is the answer for a 50/50 prior).")),
            Mistake(noise["clogged"] * prior["clogged"] / evidence(prior, silence),
                    tr("You mixed the two observations: the numerator uses P(noise | clogged) "
                       "but the denominator P(silence).")),
        ],
        # A claim about the book's numbers; a variant's may not bear it out.
        correct_message=tr("A silent machine makes 'clogged' much less likely than before.") if data == _COFFEE_BOOK else "",
    )


SILENCE = Variant("ex-bayes-silence", _COFFEE_BOOK, _coffee_variant, _silent_machine_check, names=_coffee_names,
                  text=lambda data: [("Compute it from `prior` and `p_noise`.",
                                      f"Your machine has {_coffee_numbers(data)}: your data cell binds them to "
                                      "`prior` and `p_noise`. Compute it from these.")])


def check_silent_machine(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-bayes-silence: P(clogged | silence) for the chapter's coffee machine.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key (an assignment's data cell says which); ``None``: the book's.
    """
    return SILENCE.check(variant)(answer)


# ----------------------------------------------------------------------------- ex-bayes-two-mornings


def _noise_then_silence_check(data=_COFFEE_BOOK) -> Check:
    prior, noise = data["prior"], data["p_noise"]
    silence = _p_silence(noise)
    both = combine_likelihoods(noise, silence)
    right = posterior(prior, both)
    after_noise = posterior(prior, noise)["clogged"]
    after_silence = posterior(prior, silence)["clogged"]
    return Check(
        "P(clogged | noise, then silence)",
        right["clogged"],
        [
            Mistake(after_noise,
                    tr("That is the belief after the first morning only: "
                       "update it again with the second morning's silence.")),
            Mistake(after_silence,
                    tr("That is the belief after the silence alone: the second update should start from "
                       "the first morning's posterior, not from the original prior.")),
            Mistake(posterior(prior, combine_likelihoods(noise, noise))["clogged"],
                    tr("That is the belief after two noisy mornings; the second morning was silent.")),
            Mistake(joint(prior, both)["clogged"],
                    tr("That is the joint P(noise, silence, clogged): divide by the evidence of both mornings.")),
            Mistake(evidence(prior, both), tr("That is the evidence P(noise, silence), the denominator.")),
            Mistake(right["low water"], tr("That is P(low water | noise, silence), the other hypothesis.")),
            Mistake((after_noise + after_silence) / 2,
                    tr("You averaged two one-morning posteriors. Beliefs are updated by multiplying "
                       "likelihoods, not by averaging posteriors.")),
        ],
        # A claim about the book's numbers; a variant's may not bear it out.
        correct_message=tr("The noise and the silence pull in opposite directions; the silence wins.") if data == _COFFEE_BOOK else "",
    )


TWO_MORNINGS = Variant("ex-bayes-two-mornings", _COFFEE_BOOK, _coffee_variant, _noise_then_silence_check,
                       names=_coffee_names,
                       text=lambda data: [("starting from the\nchapter's prior",
                                           f"for a machine with {_coffee_numbers(data)} (your data cell binds them "
                                           "to `prior` and `p_noise`), starting from that prior")])


def check_noise_then_silence(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-bayes-two-mornings: P(clogged | noise on day 1, silence on day 2).

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key; ``None``: the book's.
    """
    return TWO_MORNINGS.check(variant)(answer)


# ----------------------------------------------------------------------------- ex-bayes-loaded-die


def _maximum_likelihood(sixes: int, rolls: int) -> float:
    """The ρ = P(six) that maximizes the binomial likelihood, found numerically (no formula typed in)."""
    return float(minimize_scalar(lambda rho: -binom.logpmf(sixes, rolls, rho), bounds=(1e-9, 1 - 1e-9),
                                 method="bounded", options={"xatol": 1e-12}).x)


def _grid_search(sixes: int, rolls: int, points: int) -> float:
    """The best ρ on the grid ``np.linspace(0, 1, points)``, as a student's grid search finds it."""
    grid = np.linspace(0.0, 1.0, points)
    return float(grid[np.argmax(binom.pmf(sixes, rolls, grid))])


_DIE_BOOK = {"rolls": FRIEND_DIE_ROLLS, "sixes": FRIEND_DIE_SIXES}


def _die_variant(rng: np.random.Generator) -> dict:
    """Another friend's die: 8 to 30 rolls, at least one six and at least two non-sixes."""
    rolls = int(rng.integers(8, 31))
    return {"rolls": rolls, "sixes": int(rng.integers(1, rolls - 1))}


def _loaded_die_check(data=_DIE_BOOK) -> Check:
    n, n_6 = data["rolls"], data["sixes"]  # n rolls with n_6 sixes, as in the chapter
    best = _maximum_likelihood(n_6, n)
    coarse_grid = (tr("Your ρ grid is too coarse: its step is larger than the tolerance of this check. "
                      "Use a finer grid, or solve it exactly."))
    return Check(
        "maximum-likelihood ρ = P(six)",
        best,
        [
            Mistake(1 / 6,
                    tr("That is a fair die's chance of a six: the hypothesis you are testing, "
                       "not the value that explains the rolls best.")),
            Mistake(_maximum_likelihood(CHAPTER_DIE_SIXES, CHAPTER_DIE_ROLLS),
                    tr("That is the chapter's die, {sixes} sixes in {rolls} rolls, "
                       "not your friend's: use your friend's rolls.",
                       sixes=CHAPTER_DIE_SIXES, rolls=CHAPTER_DIE_ROLLS)),
            Mistake((n_6 + 1) / (n + 2),
                    tr("That is the mean of the posterior under a uniform prior (Laplace's rule of succession), "
                       "not the maximum of the likelihood.")),
            Mistake(n_6 / (n - n_6), tr("That is the odds of a six (sixes per non-six), not a probability.")),
            Mistake((n - n_6) / n, tr("That is the fraction of rolls that were NOT sixes.")),
            Mistake(float(binom.pmf(n_6, n, best)),
                    tr("That is the height of the likelihood at its peak; the question asks where the peak is.")),
            *(Mistake(_grid_search(n_6, n, points), coarse_grid) for points in COARSE_GRID_POINTS),
        ],
        rel_tol=2e-3,
        hint=tr("Write the likelihood of the rolls, p(n_6 | ρ) with n_6 sixes in n rolls, as a function of "
                "ρ = P(six), then find the ρ where it is largest (a fine grid and np.argmax will do)."),
        correct_message=tr("The best-fitting ρ is simply the observed fraction of sixes."),
    )


LOADED_DIE = Variant(
    "ex-bayes-loaded-die", _DIE_BOOK, _die_variant, _loaded_die_check,
    text=lambda d: [("shows 4 sixes in 12 rolls", f"shows {d['sixes']} sixes in {d['rolls']} rolls"),
                    ("$p(n_6 = 4 \\mid \\rho)$ for $n = 12$", f"$p(n_6 = {d['sixes']} \\mid \\rho)$ for $n = {d['rolls']}$")],
    code=lambda d: [("binom.pmf(4, 12,", f"binom.pmf({d['sixes']}, {d['rolls']},")])


def check_loaded_die_mle(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-bayes-loaded-die: the ρ = P(six) that maximizes the likelihood of the friend's rolls.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key; ``None``: the book's.
    """
    return LOADED_DIE.check(variant)(answer)


# ----------------------------------------------------------------------------- ex-bayes-grid


def _largest_dimension(points: int, budget: float) -> int:
    """The largest d with points**d <= budget."""
    d = 0
    while points ** (d + 1) <= budget:
        d += 1
    return d


_GRID_BOOK = {"rate_exponent": 9, "points": GRID_POINTS_PER_DIMENSION}
assert 10 ** _GRID_BOOK["rate_exponent"] == GRID_TERMS_PER_SECOND


def _grid_variant(rng: np.random.Generator) -> dict:
    """Another computer and grid: 10^6 to 10^12 terms per second, 3 to 12 points per dimension."""
    return {"rate_exponent": int(rng.integers(6, 13)), "points": int(rng.integers(3, 13))}


def _grid_dimension_check(data=_GRID_BOOK) -> Check:
    points, rate = data["points"], 10 ** data["rate_exponent"]
    largest = _largest_dimension(points, rate * GRID_SECONDS_ALLOWED)
    return Check(
        "largest latent dimension for a one-day grid sum",
        largest,
        [
            Mistake(_largest_dimension(points, rate * 24),
                    tr("That is what fits in 24 seconds: a day has 24 hours of 60 minutes of 60 seconds.")),
            Mistake(_largest_dimension(points, rate),
                    tr("That is what fits in one second; you have a whole day.")),
            Mistake(CHAPTER_LATENT_DIM,
                    tr("That is the latent dimension of the VAE in this chapter, which is far out of reach.")),
        ],
        kind="integer",
        hint=tr("The grid has (points per dimension)^d terms; find the largest d for which that is at most "
                "(terms per second) × (seconds in a day)."),
        # A claim about the book's numbers; a variant's may not bear it out.
        correct_message=tr("A day of computing buys only a handful of dimensions more than a second does.") if data == _GRID_BOOK else "",
    )


GRID = Variant(
    "ex-bayes-grid", _GRID_BOOK, _grid_variant, _grid_dimension_check,
    text=lambda d: [("$10^9$ terms", f"$10^{{{d['rate_exponent']}}}$ terms"),
                    ("With 10 grid points per\ndimension", f"With {d['points']} grid points per\ndimension")],
    code=lambda d: [("10**9 * 24", f"10**{d['rate_exponent']} * 24"),
                    ("while 10 ** (d + 1)", f"while {d['points']} ** (d + 1)")])

#: The exercises of this chapter whose problem data varies from student to student (all of them).
VARIANTS = (SILENCE, TWO_MORNINGS, LOADED_DIE, GRID)


def check_grid_dimension(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-bayes-grid: the largest d whose 10-points-per-axis grid sum finishes in a day.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key; ``None``: the book's.
    """
    return GRID.check(variant)(answer)
