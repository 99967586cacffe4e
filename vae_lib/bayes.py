"""Discrete Bayes' rule: prior × likelihood → evidence and posterior.

A *belief* over a few named hypotheses is a dict ``{hypothesis: probability}``; plain
sequences (lists, numpy arrays) work too, with hypotheses identified by position.

An example in the spirit of chapter 1 (whose own problem data live in
:mod:`vae_lib.exercises.bayes`): a machine that makes a strange noise is either clogged (prior
0.3) or low on water (prior 0.7); a clogged machine makes the noise 90 % of the time, one low
on water 20 % of the time.

>>> from vae_lib import bayes
>>> prior = {"clogged": 0.3, "low water": 0.7}
>>> p_noise = {"clogged": 0.9, "low water": 0.2}     # P(noise | hypothesis)
>>> round(bayes.evidence(prior, p_noise), 4)          # P(noise)
0.41
>>> round(bayes.posterior(prior, p_noise)["clogged"], 4)
0.6585

Two mornings with a noise, one update at a time or both at once, give the same belief:

>>> beliefs = bayes.update_sequentially(prior, [p_noise, p_noise])
>>> both = bayes.posterior(prior, bayes.combine_likelihoods(p_noise, p_noise))
>>> abs(beliefs[-1]["clogged"] - both["clogged"]) < 1e-12
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Union

import numpy as np

__all__ = [
    "ImpossibleObservationError",
    "joint",
    "evidence",
    "posterior",
    "combine_likelihoods",
    "update_sequentially",
    "evidence_on_grid",
    "format_belief",
]

Belief = Union[Mapping[str, float], Sequence[float], np.ndarray]

_SUM_TOLERANCE = 1e-6


class ImpossibleObservationError(ValueError):
    """The observation has probability zero under every hypothesis that the prior allows."""


# --------------------------------------------------------------------------- validation


def _as_array(values: Belief, what: str) -> tuple[np.ndarray, list[str] | None]:
    """Return (values as a 1-D float array, hypothesis names or None)."""
    if isinstance(values, Mapping):
        names = list(values)
        array = np.array([values[name] for name in names], dtype=float)
    else:
        names = None
        try:
            array = np.asarray(values, dtype=float)
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"The {what} must be a dict {{hypothesis: probability}} or a sequence of numbers, "
                f"got {type(values).__name__}."
            ) from err
        if array.ndim != 1:
            raise ValueError(f"The {what} must be one-dimensional (one number per hypothesis), got shape {array.shape}.")
    if array.size == 0:
        raise ValueError(f"The {what} is empty: give at least one hypothesis.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"The {what} contains NaN or infinity: every entry must be a finite number.")
    return array, names


def _check_prior(values: Belief) -> tuple[np.ndarray, list[str] | None]:
    prior, names = _as_array(values, "prior")
    bad = _first_outside(prior, 0.0, 1.0)
    if bad is not None:
        raise ValueError(
            f"Prior entry {_label(names, bad)} is {prior[bad]:g}, but a probability lies in [0, 1]."
        )
    total = float(prior.sum())
    if abs(total - 1.0) > _SUM_TOLERANCE:
        raise ValueError(
            f"The prior must sum to 1 over the hypotheses, but it sums to {total:g}. "
            "Normalise it (divide every entry by the total) or add the missing hypothesis."
        )
    return prior, names


def _check_prior_and_likelihood(prior: Belief, likelihood: Belief,
                                density: bool) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    """Both checked and aligned: ``(prior_array, likelihood_array, names)``."""
    prior_array, names = _check_prior(prior)
    return prior_array, _check_likelihood(likelihood, names, prior_array.size, density), names


def _check_likelihood(values: Belief, names: list[str] | None, size: int, density: bool) -> np.ndarray:
    """Likelihood values aligned with the prior's hypotheses."""
    if isinstance(values, Mapping) and names is not None:
        missing = [n for n in names if n not in values]
        extra = [n for n in values if n not in names]
        if missing or extra:
            raise ValueError(
                "The likelihood must give one number for each hypothesis of the prior; "
                f"missing: {missing or 'none'}, not in the prior: {extra or 'none'}."
            )
        values = [values[n] for n in names]
    elif isinstance(values, Mapping) != (names is not None):
        raise TypeError("Give the prior and the likelihood in the same form: both dicts or both sequences.")
    likelihood, _ = _as_array(values, "likelihood")
    if likelihood.size != size:
        raise ValueError(
            f"The likelihood has {likelihood.size} entries but the prior has {size} hypotheses: "
            "give P(observation | hypothesis) for each hypothesis."
        )
    high = math.inf if density else 1.0
    bad = _first_outside(likelihood, 0.0, high)
    if bad is not None:
        hint = (
            " If these are probability densities of a continuous observation, pass density=True."
            if likelihood[bad] > 1
            else ""
        )
        raise ValueError(
            f"Likelihood entry {_label(names, bad)} is {likelihood[bad]:g}, but P(observation | hypothesis) "
            f"lies in [0, 1].{hint}"
        )
    return likelihood


def _first_outside(array: np.ndarray, low: float, high: float) -> int | None:
    outside = np.flatnonzero((array < low) | (array > high))
    return int(outside[0]) if outside.size else None


def _label(names: list[str] | None, index: int) -> str:
    return repr(names[index]) if names is not None else f"#{index}"


def _wrap(array: np.ndarray, names: list[str] | None) -> Belief:
    """Return the result in the form the caller used: a dict by name, else an array."""
    if names is None:
        return array
    return {name: float(value) for name, value in zip(names, array)}


# --------------------------------------------------------------------------- Bayes' rule


def joint(prior: Belief, likelihood: Belief, *, density: bool = False) -> Belief:
    """P(observation, hypothesis) = P(observation | hypothesis) · P(hypothesis), for each hypothesis.

    Args:
        prior: P(hypothesis), non-negative, summing to 1.
        likelihood: P(observation | hypothesis) for the same hypotheses.
        density: allow likelihood values above 1 (densities of a continuous observation).

    >>> both = joint({"clogged": 0.3, "low water": 0.7}, {"clogged": 0.9, "low water": 0.2})
    >>> {h: round(p, 4) for h, p in both.items()}
    {'clogged': 0.27, 'low water': 0.14}
    """
    prior_array, likelihood_array, names = _check_prior_and_likelihood(prior, likelihood, density)
    return _wrap(prior_array * likelihood_array, names)


def evidence(prior: Belief, likelihood: Belief, *, density: bool = False) -> float:
    """P(observation) = Σ_h P(observation | h) P(h): the sum rule over all hypotheses.

    >>> round(evidence([0.3, 0.7], [0.9, 0.2]), 10)
    0.41
    """
    prior_array, likelihood_array, names = _check_prior_and_likelihood(prior, likelihood, density)
    return float(np.dot(prior_array, likelihood_array))


def posterior(prior: Belief, likelihood: Belief, *, density: bool = False) -> Belief:
    """P(hypothesis | observation) = P(observation | hypothesis) P(hypothesis) / P(observation).

    Args:
        prior: P(hypothesis): a dict ``{name: probability}`` or a sequence, summing to 1.
        likelihood: P(observation | hypothesis) for the same hypotheses (same keys, or
            same order for sequences). It need *not* sum to 1.
        density: allow likelihood values above 1 (densities of a continuous observation).

    Returns:
        The posterior, in the form of ``prior`` (dict by name, or numpy array).

    Raises:
        ImpossibleObservationError: the evidence is zero, i.e. every hypothesis with prior
            probability above zero says the observation cannot happen.
        ValueError, TypeError: malformed inputs; the message says which entry and why.

    >>> post = posterior({"clogged": 0.3, "low water": 0.7}, {"clogged": 0.9, "low water": 0.2})
    >>> {h: round(p, 4) for h, p in post.items()}
    {'clogged': 0.6585, 'low water': 0.3415}
    """
    prior_array, likelihood_array, names = _check_prior_and_likelihood(prior, likelihood, density)
    joint_array = prior_array * likelihood_array
    total = float(joint_array.sum())
    if total <= 0.0:
        raise ImpossibleObservationError(
            "The evidence P(observation) is 0: every hypothesis the prior allows gives this observation "
            "probability 0, so it cannot be explained and the posterior is undefined. Check the likelihood "
            "values, or give some prior probability to a hypothesis under which the observation can happen."
        )
    return _wrap(joint_array / total, names)


def combine_likelihoods(*likelihoods: Belief) -> Belief:
    """Likelihood of several observations together: the product, hypothesis by hypothesis.

    This assumes the observations are *conditionally independent given the hypothesis*
    (once you know the machine is clogged, Monday's noise tells you nothing more about Tuesday's).

    >>> combine_likelihoods({"a": 0.9, "b": 0.2}, {"a": 0.5, "b": 0.5})
    {'a': 0.45, 'b': 0.1}
    """
    if not likelihoods:
        raise ValueError("Give at least one likelihood to combine.")
    first = likelihoods[0]
    if isinstance(first, Mapping):
        names = list(first)
        product = np.ones(len(names))
        for number, likelihood in enumerate(likelihoods):
            if not isinstance(likelihood, Mapping) or set(likelihood) != set(names):
                raise ValueError(
                    f"Likelihood #{number} does not have the same hypotheses as the first one ({names})."
                )
            product *= _as_array([likelihood[n] for n in names], "likelihood")[0]
        return _wrap(product, names)
    arrays = [_as_array(likelihood, "likelihood")[0] for likelihood in likelihoods]
    if len({a.size for a in arrays}) != 1:
        raise ValueError(f"The likelihoods have different lengths {[a.size for a in arrays]}: one entry per hypothesis each.")
    return np.prod(arrays, axis=0)


def update_sequentially(prior: Belief, likelihoods: Sequence[Belief], *, density: bool = False) -> list[Belief]:
    """Update a belief one observation at a time: each posterior becomes the next prior.

    Args:
        prior: the belief before any observation.
        likelihoods: one P(observation_t | hypothesis) per observation, in the order seen.

    Returns:
        The list of beliefs ``[prior, after 1st, after 2nd, ...]``; the last is the final posterior.

    >>> beliefs = update_sequentially([0.3, 0.7], [[0.9, 0.2], [0.9, 0.2]])
    >>> [round(float(b[0]), 4) for b in beliefs]
    [0.3, 0.6585, 0.8967]
    """
    current, names = _check_prior(prior)
    beliefs: list[Belief] = [_wrap(current, names)]
    for likelihood in likelihoods:
        belief = posterior(_wrap(current, names), likelihood, density=density)
        current, _ = _as_array(belief, "posterior")
        beliefs.append(belief)
    return beliefs


def format_belief(belief: Belief, decimals: int = 4) -> str:
    """A belief as one readable line, e.g. ``clogged 0.6585 · low water 0.3415``.

    >>> format_belief({"clogged": 0.3, "low water": 0.7}, decimals=2)
    'clogged 0.30 · low water 0.70'
    >>> format_belief([0.25, 0.75], decimals=2)
    '#0 0.25 · #1 0.75'
    """
    array, names = _as_array(belief, "belief")
    labels = names if names is not None else [f"#{i}" for i in range(array.size)]
    return " · ".join(f"{label} {value:.{decimals}f}" for label, value in zip(labels, array))


# --------------------------------------------------------------------------- continuous hidden causes


def evidence_on_grid(
    likelihood: Callable[[np.ndarray], np.ndarray],
    nodes: Sequence[float],
    weights: Sequence[float],
    dim: int,
    *,
    chunk_size: int = 200_000,
    max_points: int = 10**9,
) -> float:
    """Approximate p(x) = ∫ p(x | z) p(z) dz by a sum over a grid of z in ``dim`` dimensions.

    The prior of each coordinate is replaced by a discrete distribution: the values ``nodes``
    with probabilities ``weights``. The grid is every combination of nodes, so it has
    ``len(nodes) ** dim`` points, and the sum visits each of them once: the cost grows
    exponentially with ``dim``. Memory stays bounded (``chunk_size`` points at a time).

    Args:
        likelihood: maps an array of points ``z`` of shape ``(n, dim)`` to ``p(x | z)``, shape ``(n,)``.
        nodes: grid values of one coordinate of z.
        weights: prior probability of each node (non-negative, summing to 1).
        dim: the dimension of z.
        chunk_size: how many grid points to evaluate at once.
        max_points: refuse grids larger than this (they would run for hours or longer).

    >>> nodes, weights = [-1.0, 1.0], [0.5, 0.5]               # z_i = ±1 with equal chance
    >>> evidence_on_grid(lambda z: (z.sum(axis=1) == 2) * 1.0, nodes, weights, dim=2)
    0.25
    """
    nodes_array = np.asarray(nodes, dtype=float)
    weights_array, _ = _check_prior(weights)
    if nodes_array.shape != weights_array.shape:
        raise ValueError(f"nodes ({nodes_array.size}) and weights ({weights_array.size}) must have the same length.")
    if int(dim) != dim or dim < 1:
        raise ValueError(f"dim must be a positive whole number, got {dim!r}.")
    per_axis = nodes_array.size
    n_points = per_axis**dim
    if n_points > max_points:
        raise ValueError(
            f"A grid of {per_axis} points in {dim} dimensions has {n_points:.3g} points, more than "
            f"max_points={max_points:.3g}; the sum would take too long. Lower dim, or raise max_points "
            "if you really mean it."
        )
    place_values = per_axis ** np.arange(dim)  # flat index -> one digit (node index) per coordinate
    total = 0.0
    for start in range(0, n_points, chunk_size):
        flat = np.arange(start, min(start + chunk_size, n_points))
        digits = (flat[:, None] // place_values) % per_axis
        z = nodes_array[digits]
        prior_weight = weights_array[digits].prod(axis=1)
        total += float(np.dot(prior_weight, likelihood(z)))
    return total
