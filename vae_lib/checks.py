"""Self-checks for the exercises: they say whether an answer is right, and what a wrong one
looks like, without ever revealing the right answer.

The mechanism is one small class. A :class:`Check` knows the expected value (computed from
the problem data, never typed in) and a table of :class:`Mistake` values: the numbers that
typical wrong computations produce, each with a message explaining the slip. Calling the
check on a student's answer prints one friendly line (✓ or ✗) and returns a
:class:`CheckResult` with ``.correct`` and ``.message``. Neither the printed line, the result,
its ``repr`` nor any exception contains the expected value.

>>> from vae_lib.checks import Check, Mistake
>>> half = Check("one half", expected=1 / 2, mistakes=[Mistake(2.0, "You inverted the fraction.")],
...              kind="number")
>>> half(None).correct is None
• Not answered yet: replace None with your computation and run the cell.
True
>>> half(2.0).correct
✗ You inverted the fraction.
False
>>> half(0.5).correct
✓ Correct.
True

Later chapters add their own checks with the same mechanism: compute ``expected`` and the
mistaken values from the problem, then wrap them in a :class:`Check`. The exercise checks of
chapter 1 are at the end of this module.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

__all__ = [
    "Check",
    "CheckResult",
    "Mistake",
    "check_silent_machine",
    "check_noise_then_silence",
    "check_loaded_die_mle",
    "check_grid_dimension",
]

CORRECT_MARK, WRONG_MARK, PENDING_MARK = "✓", "✗", "•"


@dataclass(frozen=True)
class Mistake:
    """A value a typical wrong computation gives, and what to tell the student who gets it.

    Args:
        value: the number the mistaken computation produces (computed from the problem).
        message: what the mistake looks like, e.g. ``"This is the likelihood P(noise | clogged),
            not the posterior."``. It must not contain the right answer.
    """

    value: float
    message: str


@dataclass
class CheckResult:
    """The verdict on one answer.

    Attributes:
        correct: ``True``, ``False``, or ``None`` when there is no answer yet.
        message: the one-line explanation that was printed.
    """

    correct: bool | None
    message: str
    _printed: bool = field(default=False, repr=False, compare=False)

    def __bool__(self) -> bool:
        return bool(self.correct)

    def __str__(self) -> str:
        return self.message

    def _ipython_display_(self) -> None:
        # The check already printed its line; showing the result again as the cell's
        # value would print it twice, so Jupyter displays it only if it was not printed.
        if not self._printed:
            print(self.message)


class Check:
    """Compare an answer with an expected value; diagnose known mistakes; never reveal the answer.

    Args:
        name: what is being checked, used in the repr (e.g. ``"P(clogged | silence)"``).
        expected: the right answer, computed from the problem data.
        mistakes: values that typical wrong computations give, each with a message.
            Mistakes indistinguishable from the right answer are ignored.
        kind: ``"probability"`` (must lie in [0, 1]), ``"number"`` or ``"integer"``
            (a whole number, compared exactly).
        rel_tol, abs_tol: how close counts as correct (as in :func:`math.isclose`).
        hint: a nudge printed after a wrong answer that matches no known mistake.
        correct_message: printed after ``✓`` for a right answer, e.g. why it makes sense.

    >>> third = Check("a third", 1 / 3, kind="probability")
    >>> third(0.3333).correct
    ✓ Correct.
    True
    >>> third(1.5, quiet=True).message.startswith("✗ Out of range")
    True
    """

    def __init__(
        self,
        name: str,
        expected: float,
        mistakes: Iterable[Mistake] = (),
        *,
        kind: str = "probability",
        rel_tol: float = 1e-3,
        abs_tol: float = 1e-9,
        hint: str | None = None,
        correct_message: str = "",
    ) -> None:
        if kind not in {"probability", "number", "integer"}:
            raise ValueError(f"kind must be 'probability', 'number' or 'integer', got {kind!r}.")
        if not isinstance(expected, numbers.Real) or not math.isfinite(expected):
            raise ValueError(f"The expected value of check {name!r} must be a finite real number.")
        self.name = name
        self.kind = kind
        self.rel_tol = 0.0 if kind == "integer" else rel_tol
        self.abs_tol = 0.0 if kind == "integer" else abs_tol
        self.hint = hint or "Write down the formula you need, then compute each term from the problem data."
        self.correct_message = correct_message
        self._expected = float(expected)
        # A mistake that gives (nearly) the right answer cannot be diagnosed: drop it.
        self._mistakes = [m for m in mistakes if not self._near(float(m.value), self._expected, loose=True)]

    def __repr__(self) -> str:  # never show the expected value
        return f"Check({self.name!r}, kind={self.kind!r}, {len(self._mistakes)} known mistakes)"

    # ----------------------------------------------------------------- comparing

    def _near(self, a: float, b: float, *, loose: bool = False) -> bool:
        rel = max(self.rel_tol, 5e-3) if loose else self.rel_tol
        return math.isclose(a, b, rel_tol=rel, abs_tol=self.abs_tol)

    def _rounded_decimals(self, value: float) -> int | None:
        """The number of decimals d such that ``value`` is the expected value rounded to d places."""
        if self.kind == "integer":
            return None
        for decimals in range(1, 7):
            if math.isclose(value, round(self._expected, decimals), rel_tol=0.0, abs_tol=1e-12):
                return decimals
        return None

    def _matching_mistake(self, value: float, *, loose: bool) -> Mistake | None:
        return next((m for m in self._mistakes if self._near(value, float(m.value), loose=loose)), None)

    def _diagnose(self, answer: object) -> tuple[bool | None, str]:
        if answer is None:
            return None, f"{PENDING_MARK} Not answered yet: replace None with your computation and run the cell."
        value, problem = _as_number(answer)
        if problem:
            return False, f"{WRONG_MARK} {problem}"
        if math.isnan(value):
            return False, f"{WRONG_MARK} Your answer is NaN (not a number): look for 0/0 or the log of 0."
        if math.isinf(value):
            return False, f"{WRONG_MARK} Your answer is infinite: look for a division by zero."
        if self.kind == "probability" and not 0.0 <= value <= 1.0:
            return False, (
                f"{WRONG_MARK} Out of range: a probability lies in [0, 1]. "
                "A value above 1 often means a missing division by the evidence; a negative one, a sign slip."
            )
        if self.kind == "integer" and value != round(value):
            return False, f"{WRONG_MARK} The answer is a whole number: yours has a fractional part."
        if self._near(value, self._expected):
            return True, f"{CORRECT_MARK} Correct." + (f" {self.correct_message}" if self.correct_message else "")
        # A known mistake hit (almost) exactly beats every other explanation; rounding comes
        # next, and only then a known mistake that the student may have rounded.
        mistake = self._matching_mistake(value, loose=False)
        if mistake:
            return False, f"{WRONG_MARK} {mistake.message}"
        decimals = self._rounded_decimals(value)
        if decimals is not None:
            places = "1 decimal place" if decimals == 1 else f"{decimals} decimal places"
            return False, (
                f"{WRONG_MARK} Close, but it looks rounded to {places}, which is too coarse to tell "
                "right from wrong here. Pass the unrounded number your code computes."
            )
        mistake = self._matching_mistake(value, loose=True)
        if mistake:
            return False, f"{WRONG_MARK} {mistake.message}"
        if self.kind != "integer" and math.isclose(value, self._expected, rel_tol=0.05):
            return False, (
                f"{WRONG_MARK} Close, but not within tolerance. Did you round an intermediate result? "
                "Keep full precision until the end."
            )
        return False, f"{WRONG_MARK} Not quite. {self.hint}"

    def __call__(self, answer: object, *, quiet: bool = False) -> CheckResult:
        """Check ``answer``; print the verdict (unless ``quiet``) and return it as a :class:`CheckResult`."""
        correct, message = self._diagnose(answer)
        if not quiet:
            print(message)
        return CheckResult(correct=correct, message=message, _printed=not quiet)


def _as_number(answer: object) -> tuple[float, str | None]:
    """Turn a student's answer into a float, or explain why it is not a single number."""
    if isinstance(answer, bool):
        return math.nan, "Expected a number, got True/False."
    if isinstance(answer, str):
        return math.nan, "Expected a number, got a string: remove the quotes."
    if isinstance(answer, Mapping):
        return math.nan, "Expected a single number, got a dict: pick the entry for the hypothesis asked about."
    if hasattr(answer, "item") and hasattr(answer, "shape"):  # numpy / torch scalars and arrays
        count = math.prod(answer.shape)
        if count != 1:
            return math.nan, f"Expected a single number, got an array with {count} entries: pick the one asked about."
        answer = answer.item()
    elif isinstance(answer, (list, tuple, set)):
        kind, count = type(answer).__name__, len(answer)
        return math.nan, f"Expected a single number, got a {kind} of {count} items: pick the one asked about."
    try:
        return float(answer), None
    except (TypeError, ValueError):
        return math.nan, f"Expected a number, got a {type(answer).__name__}."


# =========================================================================== chapter 1: Bayes
# The problems' data live here, next to their checks, so that expected values and mistakes
# are computed from the same numbers the exercises state.

#: Exercise ex-bayes-loaded-die: a die rolled this many times ...
LOADED_DIE_ROLLS = 12
#: ... showed a six this many times.
LOADED_DIE_SIXES = 4
#: Exercise ex-bayes-grid: terms a computer evaluates per second, the time allowed, grid size.
GRID_TERMS_PER_SECOND = 10**9
GRID_SECONDS_ALLOWED = 24 * 60 * 60
GRID_POINTS_PER_DIMENSION = 10


def _coffee_machine():
    """The chapter's coffee machine: prior, P(noise | h) and P(silence | h) = 1 - P(noise | h)."""
    from vae_lib.bayes import COFFEE_P_NOISE, COFFEE_PRIOR

    silence = {h: 1.0 - p for h, p in COFFEE_P_NOISE.items()}
    return COFFEE_PRIOR, COFFEE_P_NOISE, silence


@lru_cache(maxsize=None)
def _silent_machine_check() -> Check:
    from vae_lib.bayes import evidence, joint, posterior

    prior, noise, silence = _coffee_machine()
    after_noise = posterior(prior, noise)
    after_silence = posterior(prior, silence)
    flat_prior = {h: 1 / len(prior) for h in prior}
    return Check(
        "P(clogged | silence)",
        after_silence["clogged"],
        [
            Mistake(after_noise["clogged"],
                    "That is P(clogged | noise), the posterior after a noise; "
                    "this morning the machine was silent."),
            Mistake(after_noise["low water"],
                    "That is P(low water | noise) = 1 − P(clogged | noise). Conditioning on silence is not "
                    "the same as taking 1 − the posterior after a noise: recompute with P(silence | h)."),
            Mistake(silence["clogged"],
                    "That is the likelihood P(silence | clogged), not the posterior: combine it with the prior."),
            Mistake(joint(prior, silence)["clogged"],
                    "That is the joint P(silence, clogged): you forgot to divide by the evidence P(silence)."),
            Mistake(evidence(prior, silence),
                    "That is the evidence P(silence), the denominator; "
                    "the question asks for the posterior of 'clogged'."),
            Mistake(after_silence["low water"], "That is P(low water | silence), the other hypothesis."),
            Mistake(prior["clogged"], "That is the prior P(clogged): you have not used the observation yet."),
            Mistake(posterior(flat_prior, silence)["clogged"],
                    "You normalised the likelihoods over the hypotheses and left out the prior "
                    "(that is the answer for a 50/50 prior)."),
            Mistake(noise["clogged"] * prior["clogged"] / evidence(prior, silence),
                    "You mixed the two observations: the numerator uses P(noise | clogged) "
                    "but the denominator P(silence)."),
        ],
        correct_message="A silent machine makes 'clogged' much less likely than before.",
    )


def check_silent_machine(answer: object) -> CheckResult:
    """Exercise ex-bayes-silence: P(clogged | silence) for the chapter's coffee machine."""
    return _silent_machine_check()(answer)


@lru_cache(maxsize=None)
def _noise_then_silence_check() -> Check:
    from vae_lib.bayes import combine_likelihoods, evidence, joint, posterior

    prior, noise, silence = _coffee_machine()
    both = combine_likelihoods(noise, silence)
    right = posterior(prior, both)
    after_noise = posterior(prior, noise)["clogged"]
    after_silence = posterior(prior, silence)["clogged"]
    return Check(
        "P(clogged | noise, then silence)",
        right["clogged"],
        [
            Mistake(after_noise,
                    "That is the belief after the first morning only: "
                    "update it again with the second morning's silence."),
            Mistake(after_silence,
                    "That is the belief after the silence alone: the second update should start from "
                    "the first morning's posterior, not from the original prior."),
            Mistake(posterior(prior, combine_likelihoods(noise, noise))["clogged"],
                    "That is the belief after two noisy mornings; the second morning was silent."),
            Mistake(joint(prior, both)["clogged"],
                    "That is the joint P(noise, silence, clogged): divide by the evidence of both mornings."),
            Mistake(evidence(prior, both), "That is the evidence P(noise, silence), the denominator."),
            Mistake(right["low water"], "That is P(low water | noise, silence), the other hypothesis."),
            Mistake((after_noise + after_silence) / 2,
                    "You averaged two one-morning posteriors. Beliefs are updated by multiplying "
                    "likelihoods, not by averaging posteriors."),
        ],
        correct_message="The noise and the silence pull in opposite directions; the silence wins.",
    )


def check_noise_then_silence(answer: object) -> CheckResult:
    """Exercise ex-bayes-two-mornings: P(clogged | noise on day 1, silence on day 2)."""
    return _noise_then_silence_check()(answer)


@lru_cache(maxsize=None)
def _loaded_die_check() -> Check:
    from scipy.optimize import minimize_scalar
    from scipy.stats import binom

    n, k = LOADED_DIE_ROLLS, LOADED_DIE_SIXES
    # The maximiser of the likelihood, found numerically (no formula typed in).
    best = minimize_scalar(lambda t: -binom.logpmf(k, n, t), bounds=(1e-9, 1 - 1e-9),
                           method="bounded", options={"xatol": 1e-12}).x
    return Check(
        "maximum-likelihood P(six)",
        best,
        [
            Mistake(1 / 6,
                    "That is a fair die's chance of a six: the hypothesis you are testing, "
                    "not the value that explains the rolls best."),
            Mistake((k + 1) / (n + 2),
                    "That is the mean of the posterior under a uniform prior (Laplace's rule of succession), "
                    "not the maximum of the likelihood."),
            Mistake(k / (n - k), "That is the odds of a six (sixes per non-six), not a probability."),
            Mistake((n - k) / n, "That is the fraction of rolls that were NOT sixes."),
            Mistake(float(binom.pmf(k, n, best)),
                    "That is the height of the likelihood at its peak; the question asks where the peak is."),
        ],
        rel_tol=2e-3,
        hint="Write the likelihood L(θ) of the rolls as a function of θ = P(six), then find the θ where "
             "it is largest (a fine grid and np.argmax will do).",
        correct_message="The best-fitting θ is simply the observed fraction of sixes.",
    )


def check_loaded_die_mle(answer: object) -> CheckResult:
    """Exercise ex-bayes-loaded-die: the θ = P(six) that maximises the likelihood of the rolls."""
    return _loaded_die_check()(answer)


def _largest_dimension(points: int, budget: float) -> int:
    """The largest d with points**d <= budget."""
    d = 0
    while points ** (d + 1) <= budget:
        d += 1
    return d


@lru_cache(maxsize=None)
def _grid_dimension_check() -> Check:
    points = GRID_POINTS_PER_DIMENSION
    largest = _largest_dimension(points, GRID_TERMS_PER_SECOND * GRID_SECONDS_ALLOWED)
    return Check(
        "largest latent dimension for a one-day grid sum",
        largest,
        [
            Mistake(largest + 1,
                    "Too big: that grid has more terms than fit in the time allowed. Check whether you "
                    "found the first d that does not fit instead of the last one that does."),
            Mistake(_largest_dimension(points, GRID_TERMS_PER_SECOND),
                    "That is what fits in one second; you have a whole day."),
            Mistake(20, "That is the latent dimension of the VAE in this chapter, which is far out of reach."),
        ],
        kind="integer",
        hint="The grid has (points per dimension)^d terms; find the largest d for which that is at most "
             "(terms per second) × (seconds in a day).",
        correct_message="A day of computing buys only a handful of dimensions more than a second does.",
    )


def check_grid_dimension(answer: object) -> CheckResult:
    """Exercise ex-bayes-grid: the largest d whose 10-points-per-axis grid sum finishes in a day."""
    return _grid_dimension_check()(answer)
