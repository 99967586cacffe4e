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

import numpy as np
from scipy import stats

from vae_lib._variant import Variant
from vae_lib.checks import Check, CheckResult, Mistake
from vae_lib.i18n import tr
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
    "VARIANTS",
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


def exercise_mixture(data=None) -> MixtureOfGaussians:
    """The exercises' mixture as a :class:`~vae_lib.mixture.MixtureOfGaussians` (variances = σ²);
    with ``data``, a variant's mixture (its ``weights``, ``means`` and ``sds``).

    >>> exercise_mixture().covariances.ravel()
    array([1.  , 0.25])
    """
    data = _MIXTURE_BOOK if data is None else data
    sds = np.array(data["sds"], dtype=float)
    return MixtureOfGaussians(list(data["weights"]), np.array(data["means"], dtype=float)[:, None],
                              (sds**2)[:, None, None])


_MIXTURE_BOOK = {"weights": list(EXERCISE_WEIGHTS), "means": list(EXERCISE_MEANS), "sds": list(EXERCISE_SDS),
                 "point": EXERCISE_POINT}


def _component_densities(data, sds) -> np.ndarray:
    """N(x; μ_k, σ_k²) at the exercise's point, for each component k, with standard deviations ``sds``."""
    return stats.norm.pdf(data["point"], np.array(data["means"]), np.array(sds))


def _responsibility(data) -> float:
    """p(z = 1 | x) at the data's point."""
    return float(exercise_mixture(data).responsibilities(np.array([[data["point"]]]))[0, 0])


def _draw_mixture(rng: np.random.Generator) -> dict:
    """Another two-component mixture and point: π_1 in [0.2, 0.8] (two decimals), μ_1 in [-2.5, 0.5]
    and μ_2 1.5 to 4 to its right, σ_k in [0.4, 1.5] and at least 0.2 apart (one decimal), the point
    between the means where neither component owns it (a responsibility in [0.25, 0.75])."""
    while True:
        first = round(float(rng.uniform(0.2, 0.8)), 2)
        low = round(float(rng.uniform(-2.5, 0.5)), 1) + 0.0  # + 0.0: never a -0 in a statement
        high = round(low + float(rng.uniform(1.5, 4.0)), 1) + 0.0
        sds = [round(float(rng.uniform(0.4, 1.5)), 1) for _ in range(2)]
        data = {"weights": [first, round(1 - first, 2)], "means": [low, high], "sds": sds,
                "point": round(float(rng.uniform(low, high)), 1) + 0.0}
        if abs(sds[0] - sds[1]) >= 0.2 - 1e-9 and 0.25 <= _responsibility(data) <= 0.75:
            return data


def _mixture_in_words(data) -> str:
    """The variant's mixture as the chapter states its own, for a statement."""
    (w1, w2), (m1, m2), (s1, s2) = data["weights"], data["means"], data["sds"]
    return (f"the mixture with weights $\\pi = ({w1:g}, {w2:g})$, means $\\mu = ({m1:g}, {m2:g})$ and "
            f"**standard deviations** $\\sigma = ({s1:g}, {s2:g})$ (your own mixture, not the chapter's)")


def _mixture_code(data, *, distances: bool = False) -> list:
    """The chapter's solution code with the variant's mixture and point (``distances``: the
    responsibility's solution, which also prints the point's distances)."""
    return [("np.array([0.3, 0.7])", "np.array([{:g}, {:g}])".format(*data["weights"])),
            ("np.array([-1.0, 2.0])", "np.array([{!r}, {!r}])".format(*map(float, data["means"]))),
            ("np.array([1.0, 0.5])", "np.array([{!r}, {!r}])".format(*map(float, data["sds"]))),
            ("pdf(0.8,", f"pdf({data['point']!r},"),
            *([("np.abs(0.8 -", f"np.abs({data['point']!r} -")] if distances else [])]


# ----------------------------------------------------------------------------- ex-mixture-responsibility


def _responsibility_check(data=_MIXTURE_BOOK) -> Check:
    weights, sds, point = np.array(data["weights"]), np.array(data["sds"]), data["point"]
    densities = _component_densities(data, sds)
    joint = weights * densities
    variance_as_sd = weights * _component_densities(data, np.sqrt(sds))
    without_scale = weights * np.exp(-0.5 * ((point - np.array(data["means"])) / sds) ** 2)
    return Check(
        "p(z = 1 | x)",
        _responsibility(data),
        [
            Mistake(densities[0] / densities.sum(),
                    tr("You left out the weights π_k: the responsibility is a posterior, prior times likelihood.")),
            Mistake(joint[0], tr("That is the joint p(x, z = 1): divide by p(x), the sum over both components.")),
            Mistake(joint[1] / joint.sum(), tr("That is the responsibility of the second component.")),
            Mistake(weights[0], tr("That is the prior π_1: you have not used the point x yet.")),
            Mistake(densities[0], tr("That is the density N(x; μ_1, σ_1²), not a posterior probability.")),
            Mistake(variance_as_sd[0] / variance_as_sd.sum(),
                    tr("The numbers given are standard deviations σ_k, not variances: check the Gaussians' scales.")),
            Mistake(without_scale[0] / without_scale.sum(),
                    tr("The Gaussian's normalizing factor 1/(σ_k √(2π)) does not cancel here, "
                       "because the two σ_k differ: the narrower component's density peaks higher.")),
        ],
        hint=tr("Compute π_k N(x; μ_k, σ_k²) for both components, then divide the first by their sum."),
        # Every variant's point lies where neither component owns it (see _draw_mixture).
        correct_message=tr("Neither component owns this point: a soft assignment."),
    )


RESPONSIBILITY = Variant(
    "ex-mixture-responsibility", _MIXTURE_BOOK, _draw_mixture, _responsibility_check,
    text=lambda d: [("For the mixture above", f"For {_mixture_in_words(d)}"),
                    ("x = 0.8", f"x = {d['point']:g}")],
    code=lambda d: _mixture_code(d, distances=True))


def check_responsibility(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-mixture-responsibility: the responsibility p(z = 1 | x) of the first component.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key (an assignment's data cell says which); ``None``: the book's.
    """
    return RESPONSIBILITY.check(variant)(answer)


# ----------------------------------------------------------------------------- ex-mixture-density


def _marginal_density_check(data=_MIXTURE_BOOK) -> Check:
    weights, sds = np.array(data["weights"]), np.array(data["sds"])
    densities = _component_densities(data, sds)
    right = float(np.exp(exercise_mixture(data).log_prob(np.array([[data["point"]]]))[0]))
    return Check(
        "p(x)",
        right,
        [
            Mistake(densities.sum(), tr("You added the two densities without their weights π_k.")),
            Mistake(densities.mean(),
                    tr("You averaged the two densities; the components have different weights.")),
            Mistake(np.log(right), tr("That is log p(x); the question asks for the density itself.")),
            Mistake((weights * densities).max(),
                    tr("That is only the larger of the two terms π_k N(x; μ_k, σ_k²).")),
            Mistake((weights * _component_densities(data, np.sqrt(sds))).sum(),
                    tr("The numbers given are standard deviations σ_k, not variances: check the Gaussians' scales.")),
        ],
        kind="number",
        hint=tr("p(x) = Σ_k π_k N(x; μ_k, σ_k²): the sum rule over the hidden component z."),
        correct_message=tr("A density, not a probability: it could exceed 1 for narrow components."),
    )


DENSITY = Variant(
    "ex-mixture-density", _MIXTURE_BOOK, _draw_mixture, _marginal_density_check,
    text=lambda d: [("For the same mixture", f"For {_mixture_in_words(d)}"),
                    ("x = 0.8", f"x = {d['point']:g}")],
    code=_mixture_code)


def check_marginal_density(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-mixture-density: the mixture's density p(x) at the exercises' point.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key; ``None``: the book's.
    """
    return DENSITY.check(variant)(answer)


# ----------------------------------------------------------------------------- ex-mixture-em-mean


_EM_BOOK = {**_MIXTURE_BOOK, "points": list(EM_DATA)}
del _EM_BOOK["point"]  # this exercise has five points of its own


def _draw_em(rng: np.random.Generator) -> dict:
    """Another mixture (as :func:`_draw_mixture`) and five distinct points (one decimal) from 1.5 left
    of μ_1 to 1 right of μ_2, at least one of them closer to each component (a hard assignment
    gives each a point)."""
    while True:
        data = {key: value for key, value in _draw_mixture(rng).items() if key != "point"}
        low, high = data["means"]
        points = sorted(round(float(p), 1) + 0.0 for p in rng.uniform(low - 1.5, high + 1.0, size=5))
        owner = exercise_mixture(data).responsibilities(np.array(points)[:, None]).argmax(axis=1)
        if len(set(points)) == 5 and 0 < (owner == 0).sum() < 5:
            return {**data, "points": points}


def _em_mean_check(data=_EM_BOOK) -> Check:
    x = np.array(data["points"], dtype=float)[:, None]
    start = exercise_mixture(data)
    resp = start.responsibilities(x)[:, 0]
    hard = start.responsibilities(x).argmax(axis=1) == 0
    unweighted = MixtureOfGaussians([0.5, 0.5], start.means, start.covariances).responsibilities(x)[:, 0]
    points = x[:, 0]
    step = em_step(start, x, ridge=0.0)
    return Check(
        "μ_1 after one EM step",
        step.means[0, 0],
        [
            Mistake(points[hard].mean(),
                    tr("That is a hard assignment (k-means): EM weights every point by its responsibility.")),
            Mistake(points.mean(), tr("That is the mean of all the points, ignoring the responsibilities.")),
            Mistake((resp * points).sum() / len(points),
                    tr("You divided by the number of points; divide by the sum of the responsibilities, N_1.")),
            Mistake((resp * points).sum(), tr("You forgot to divide by N_1, the sum of the responsibilities.")),
            Mistake(step.means[1, 0], tr("That is the new mean of the second component.")),
            Mistake((unweighted * points).sum() / unweighted.sum(),
                    tr("Your responsibilities left out the weights π_k of the E-step.")),
        ],
        kind="number",
        hint=tr("E-step: r_i1 = p(z = 1 | x_i) for each point x_i. M-step: μ_1 = Σ_i r_i1 x_i / N_1, "
                "with N_1 = Σ_i r_i1."),
        correct_message=tr("The new mean is a responsibility-weighted average of the points."),
    )


def _em_code(data) -> list:
    points = ", ".join(repr(float(p)) for p in data["points"])
    return [*_mixture_code({**data, "point": EXERCISE_POINT})[:3],
            ("np.array([-2.0, -0.5, 0.8, 1.9, 2.3])", f"np.array([{points}])")]


EM_MEAN = Variant(
    "ex-mixture-em-mean", _EM_BOOK, _draw_em, _em_mean_check,
    text=lambda d: [("Starting from the same mixture", f"Starting from {_mixture_in_words(d)}"),
                    ("$-2$, $-0.5$, $0.8$, $1.9$, $2.3$", ", ".join(f"${p:g}$" for p in d["points"]))],
    code=_em_code)


def check_em_mean(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-mixture-em-mean: the first component's mean after one EM step on the five points.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key; ``None``: the book's.
    """
    return EM_MEAN.check(variant)(answer)


# ----------------------------------------------------------------------------- ex-mixture-binary-terms


_BINARY_BOOK = {"units": BINARY_UNITS, "classes": CLASSES}


def _draw_binary(rng: np.random.Generator) -> dict:
    """Another latent code: 20 to 40 binary units (still a hopeless sum) and 3 to 26 classes."""
    return {"units": int(rng.integers(20, 41)), "classes": int(rng.integers(3, 27))}


def _binary_terms_check(data=_BINARY_BOOK) -> Check:
    d, classes = data["units"], data["classes"]
    return Check(
        "terms in the sum over z",
        classes * 2**d,
        [
            Mistake(2**d, tr("That counts the binary units only; every class pairs with every binary pattern.")),
            Mistake(2**d + classes,
                    tr("The binary pattern and the class are chosen together: multiply, do not add.")),
            Mistake(2 * d + classes,
                    tr("That counts the values of each variable; the sum runs over all combinations.")),
            Mistake(classes**d, tr("The binary units have two values each, not {classes}.", classes=str(classes))),
            Mistake(2 ** (d + classes),
                    tr("A class is one of {classes} values, not {classes} binary units.", classes=str(classes))),
        ],
        kind="integer",
        hint=tr("Count the combinations: (values of unit 1) × (values of unit 2) × ... × (number of classes)."),
        correct_message=tr("Each term needs p(x | z), and this is for a single x: hopeless for a data set."),
    )


BINARY_TERMS = Variant(
    "ex-mixture-binary-terms", _BINARY_BOOK, _draw_binary, _binary_terms_check,
    # A class out of 10 is the digit in an image; out of another number, some other kind of object.
    # From "consists of": a catalogue message of the Chinese rendering starts with words, not a number.
    text=lambda d: [("consists of 30 binary features together with one class out of 10 (the digit in\nan image, say)",
                     f"consists of {d['units']} binary features together with one class out of {d['classes']} "
                     "(the kind of\nobject in an image, say)")],
    code=lambda d: [("my_answer = 10 * 2**30", f"my_answer = {d['classes']} * 2**{d['units']}")])


def check_binary_terms(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-mixture-binary-terms: the number of terms of p(x) = Σ_z p(x, z) for the given z.

    Args:
        answer: the student's whole number (``None`` while not answered yet).
        variant: a student's variant key; ``None``: the book's.
    """
    return BINARY_TERMS.check(variant)(answer)


#: The exercises of this chapter whose problem data varies from student to student (all of them).
VARIANTS = (RESPONSIBILITY, DENSITY, EM_MEAN, BINARY_TERMS)
