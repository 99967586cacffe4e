"""Kullback–Leibler divergences: the Gaussian closed form, Monte Carlo, and forward/reverse KL fits.

KL(q || p) = E_q[log q(z) - log p(z)] measures how many extra nats it costs, on average, to
describe samples of q with a code built for p. It is never negative, is zero only when q = p,
and is not symmetric. The book's chapter on the KL divergence (``chap-kl``) derives all of it.

- :func:`gaussian_kl`, :func:`kl_standard_normal`: the closed form for diagonal Gaussians,
  which is what a VAE uses for its KL term; :func:`kl_monte_carlo` checks it by sampling.
- Fitting one Gaussian q = N(m, s²) to a 1-D target p (e.g. a bimodal mixture from
  :func:`gaussian_mixture_1d`, a :class:`~vae_lib.mixture.MixtureOfGaussians`): :func:`forward_kl` KL(p || q) and :func:`reverse_kl` KL(q || p)
  by quadrature (:func:`reverse_kl_grid`: a whole landscape at once), :func:`moment_matching`
  (the forward-KL optimum in closed form) and :func:`fit_gaussian` (either optimum, numerically).

>>> import torch
>>> from vae_lib.divergences import kl_standard_normal
>>> kl_standard_normal(torch.zeros(1, 2), torch.zeros(1, 2))  # q = p: no divergence
tensor([0.])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import torch
from scipy import optimize
from torch import Tensor
from torch.distributions import Distribution

from vae_lib import _sampling
from vae_lib.mixture import MixtureOfGaussians

__all__ = [
    "gaussian_kl",
    "kl_standard_normal",
    "kl_monte_carlo",
    "MonteCarloKL",
    "gaussian_mixture_1d",
    "gaussian_expectation",
    "forward_kl",
    "reverse_kl",
    "reverse_kl_grid",
    "GaussianFit",
    "moment_matching",
    "fit_gaussian",
]


def _as_tensor_like(value: Tensor | float, like: Tensor) -> Tensor:
    return torch.as_tensor(value, dtype=like.dtype, device=like.device)


def gaussian_kl(
    mu_q: Tensor,
    logvar_q: Tensor,
    mu_p: Tensor | float = 0.0,
    logvar_p: Tensor | float = 0.0,
) -> Tensor:
    """Closed-form KL(q || p) between diagonal Gaussians, summed over the last dimension.

    KL = ½ Σ_j [ log σ²_p − log σ²_q + (σ²_q + (μ_q − μ_p)²) / σ²_p − 1 ].

    Args:
        mu_q, logvar_q: mean and log-variance of q, shape ``[..., d]``.
        mu_p, logvar_p: mean and log-variance of p; tensors broadcastable to ``[..., d]`` or
            numbers (the defaults give p = N(0, I), the VAE prior).

    Returns:
        Tensor of shape ``[...]`` (nats).

    >>> import torch
    >>> gaussian_kl(torch.tensor([1.0]), torch.tensor([0.0]))  # N(1, 1) vs N(0, 1): ½ · 1²
    tensor(0.5000)
    """
    mu_p = _as_tensor_like(mu_p, mu_q)
    logvar_p = _as_tensor_like(logvar_p, mu_q)
    variance_ratio = torch.exp(logvar_q - logvar_p)
    mahalanobis = (mu_q - mu_p).pow(2) * torch.exp(-logvar_p)
    return 0.5 * (logvar_p - logvar_q + variance_ratio + mahalanobis - 1.0).sum(-1)


def kl_standard_normal(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(μ, diag σ²) || N(0, I)) = ½ Σ_j (μ_j² + σ_j² − log σ_j² − 1): the VAE's KL term.

    Computed from the log-variance directly (no square root, no log of a variance), which is
    what the encoder outputs.

    Args:
        mu, logvar: encoder outputs, shape ``[..., latent_dim]``.

    Returns:
        Tensor of shape ``[...]``: one KL (nats) per image.

    >>> import torch
    >>> kl_standard_normal(torch.tensor([[0.0, 2.0]]), torch.tensor([[0.0, 0.0]]))
    tensor([2.])
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0).sum(-1)


class MonteCarloKL(NamedTuple):
    """A Monte Carlo KL estimate and its standard error (both shaped like ``q.batch_shape``)."""

    estimate: Tensor
    standard_error: Tensor


def kl_monte_carlo(
    q: Distribution,
    p: Distribution,
    samples: int = 1000,
    generator: torch.Generator | None = None,
) -> MonteCarloKL:
    """Estimate KL(q || p) = E_q[log q(z) − log p(z)] by averaging over samples z ~ q.

    Works for any pair of ``torch.distributions`` objects with ``sample`` and ``log_prob`` and
    the same event shape — also where no closed form exists.

    Args:
        q: the distribution samples are drawn from (e.g. ``Independent(Normal(mu, std), 1)``).
        p: the reference distribution.
        samples: number of draws; the standard error shrinks like 1/√samples.
        generator: makes the draws reproducible. ``torch.distributions`` cannot take a
            generator, so the draws happen under a forked global RNG seeded from it; the global
            RNG state is left untouched.

    Returns:
        ``MonteCarloKL(estimate, standard_error)``.

    >>> import torch
    >>> from torch.distributions import Normal
    >>> g = torch.Generator().manual_seed(0)
    >>> est = kl_monte_carlo(Normal(1.0, 1.0), Normal(0.0, 1.0), samples=20_000, generator=g)
    >>> abs(est.estimate.item() - 0.5) < 4 * est.standard_error.item()
    True
    """
    if int(samples) != samples or samples < 2:
        raise ValueError(f"samples must be an integer >= 2 (to estimate a standard error), got {samples!r}.")
    if q.event_shape != p.event_shape:
        raise ValueError(
            f"q and p must have the same event shape, got {tuple(q.event_shape)} and "
            f"{tuple(p.event_shape)}; wrap diagonal Gaussians as Independent(Normal(mu, std), 1)."
        )
    z = _sampling.sample(q, int(samples), generator)
    log_ratio = q.log_prob(z) - p.log_prob(z)
    estimate = log_ratio.mean(0)
    standard_error = log_ratio.std(0) / math.sqrt(samples)
    return MonteCarloKL(estimate, standard_error)


# =========================================================================== fitting one Gaussian
# A 1-D target p, here a mixture of Gaussians (vae_lib.mixture, chapter 3), and one Gaussian
# q = N(m, s²): the forward KL(p || q) and the reverse KL(q || p) are expectations under a
# Gaussian of smooth functions, computed by quadrature (NumPy: fast enough to fit dozens of
# times on a page).

LogDensity = Callable[[np.ndarray], np.ndarray]

#: Quadrature for E[f(z)], z ~ N(m, s²): z = m + s·u on a uniform grid of u in [-U, U]. For the
#: smooth log-densities met here the rule converges geometrically (tests compare it with
#: scipy.integrate.quad); N(0, 1) puts less than 1e-22 of its mass beyond U = 10.
QUADRATURE_HALF_WIDTH = 10.0
QUADRATURE_POINTS = 2001


def gaussian_mixture_1d(weights: Sequence[float], means: Sequence[float], stds: Sequence[float]) -> MixtureOfGaussians:
    """The 1-D mixture Σ_k w_k N(μ_k, σ_k²), given by standard deviations, as a :class:`MixtureOfGaussians`.

    >>> target = gaussian_mixture_1d([0.3, 0.7], [-3.0, 3.0], [1.0, 1.0])
    >>> target.dim, target.covariances.ravel().tolist()
    (1, [1.0, 1.0])
    """
    stds = np.asarray(stds, dtype=float).reshape(-1)
    if np.any(~np.isfinite(stds)) or np.any(stds <= 0):
        raise ValueError(f"Standard deviations must be finite and positive, got {stds.tolist()}.")
    means = np.asarray(means, dtype=float).reshape(-1, 1)
    return MixtureOfGaussians(np.asarray(weights, dtype=float), means, (stds**2)[:, None, None])


def _components(target: MixtureOfGaussians) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weights, means, standard deviations) of a 1-D mixture; a clear error for any other target."""
    if not isinstance(target, MixtureOfGaussians) or target.dim != 1:
        kind = f"a {target.dim}-D mixture" if isinstance(target, MixtureOfGaussians) else type(target).__name__
        raise ValueError(f"The target must be a 1-D MixtureOfGaussians (see gaussian_mixture_1d), got {kind}.")
    return target.weights, target.means[:, 0], np.sqrt(target.covariances[:, 0, 0])


def _log_density(target: MixtureOfGaussians | LogDensity) -> LogDensity:
    """log p as a function of an array of points of any shape."""
    if not isinstance(target, MixtureOfGaussians):
        return target
    _components(target)

    def log_p(z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        return target.log_prob(z.reshape(-1, 1)).reshape(z.shape)

    return log_p


class GaussianFit(NamedTuple):
    """The Gaussian q = N(mean, std²) a fit found, and the divergence it reaches there (nats)."""

    mean: float
    std: float
    kl: float


def gaussian_expectation(f: LogDensity, mean: float, std: float) -> float:
    """E[f(z)] for z ~ N(mean, std²), by quadrature on a fine grid.

    Args:
        f: a function of a NumPy array of points, applied elementwise (e.g. a ``log_prob``).
        mean, std: the Gaussian's parameters.

    >>> round(gaussian_expectation(lambda z: z**2, mean=1.0, std=2.0), 9)  # μ² + σ²
    5.0
    """
    u, weights = _standard_normal_grid()
    return float(np.dot(weights, f(mean + std * u)))


@lru_cache(maxsize=1)
def _standard_normal_grid() -> tuple[np.ndarray, np.ndarray]:
    u = np.linspace(-QUADRATURE_HALF_WIDTH, QUADRATURE_HALF_WIDTH, QUADRATURE_POINTS)
    weights = np.exp(-0.5 * u**2)
    weights /= weights.sum()  # the trapezoid rule: the end points carry no mass
    u.flags.writeable = weights.flags.writeable = False  # cached and shared
    return u, weights


def _check_gaussian(mean: float, std: float) -> None:
    if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
        raise ValueError(f"q = N(mean, std²) needs a finite mean and a finite std > 0, got mean={mean}, std={std}.")


def _normal_log_prob(z: np.ndarray, mean: float, std: float) -> np.ndarray:
    return -0.5 * ((z - mean) / std) ** 2 - math.log(std) - 0.5 * math.log(2 * math.pi)


def forward_kl(target: MixtureOfGaussians, mean: float, std: float) -> float:
    """KL(p || q) = E_p[log p(z) − log q(z)] from a 1-D mixture p to q = N(mean, std²), in nats.

    It averages over p, so p must be known well enough to average over: here by its components,
    each an expectation under a Gaussian.

    >>> round(forward_kl(gaussian_mixture_1d([1], [0.0], [1.0]), mean=1.0, std=1.0), 9)  # ½ (1 − 0)²
    0.5
    """
    _check_gaussian(mean, std)
    weights, means, stds = _components(target)
    log_p = _log_density(target)

    def log_ratio(z: np.ndarray) -> np.ndarray:
        return log_p(z) - _normal_log_prob(z, mean, std)

    return float(sum(w * gaussian_expectation(log_ratio, m, s) for w, m, s in zip(weights, means, stds)))


def reverse_kl(target: MixtureOfGaussians | LogDensity, mean: float, std: float) -> float:
    """KL(q || p) = E_q[log q(z) − log p(z)] from q = N(mean, std²) to a 1-D target p, in nats.

    Needs only expectations under q and values of log p: E_q[log q] = −½ log(2πe·std²) in
    closed form, E_q[log p] by quadrature. So ``target`` may also be a function returning
    log p(z) for an array z — even an unnormalized one, log p + c, which shifts the result by
    −c and leaves the best q where it was.

    >>> round(reverse_kl(gaussian_mixture_1d([1], [0.0], [1.0]), mean=0.0, std=2.0), 6)  # log ½ + (4 − 1)/2
    0.806853
    """
    _check_gaussian(mean, std)
    log_p = _log_density(target)
    negative_entropy = -0.5 * math.log(2 * math.pi * math.e * std**2)
    return negative_entropy - gaussian_expectation(log_p, mean, std)


def reverse_kl_grid(target: MixtureOfGaussians | LogDensity, means: np.ndarray, stds: np.ndarray) -> np.ndarray:
    """KL(N(m, s²) || p) for every mean m in ``means`` and std s in ``stds``: the reverse KL's landscape.

    Returns:
        An array of shape ``[len(means), len(stds)]`` (nats), the same numbers as
        :func:`reverse_kl` gives one at a time, computed in one vectorized sweep per std.

    >>> target = gaussian_mixture_1d([1], [0.0], [1.0])
    >>> grid = reverse_kl_grid(target, means=[0.0, 1.0], stds=[1.0, 2.0])
    >>> np.allclose(grid, [[reverse_kl(target, m, s) for s in (1.0, 2.0)] for m in (0.0, 1.0)])
    True
    """
    means, stds = np.asarray(means, dtype=float).reshape(-1), np.asarray(stds, dtype=float).reshape(-1)
    for std in stds:
        _check_gaussian(0.0, float(std))
    log_p = _log_density(target)
    u, weights = _standard_normal_grid()
    landscape = np.empty((len(means), len(stds)))
    for column, std in enumerate(stds):
        expected_log_p = log_p(means[:, None] + std * u) @ weights
        landscape[:, column] = -0.5 * np.log(2 * math.pi * math.e * std**2) - expected_log_p
    return landscape


def moment_matching(target: MixtureOfGaussians) -> GaussianFit:
    """The Gaussian minimizing the forward KL(p || q): the one with p's mean and variance (closed form).

    For a mixture, E_p[z] = Σ_k w_k μ_k and Var_p(z) = Σ_k w_k σ_k² + (Σ_k w_k μ_k² − (E_p[z])²):
    the spread within the components plus the spread between them.

    >>> fit = moment_matching(gaussian_mixture_1d([0.5, 0.5], [-2.0, 2.0], [1.0, 1.0]))
    >>> fit.mean, round(fit.std**2, 12)  # 0, and 1 + 2²
    (0.0, 5.0)
    """
    weights, means, stds = _components(target)
    mean = float(weights @ means)
    variance = float(weights @ stds**2 + (weights @ means**2 - mean**2))
    return GaussianFit(mean, math.sqrt(variance), forward_kl(target, mean, math.sqrt(variance)))


def fit_gaussian(target: MixtureOfGaussians | LogDensity, divergence: str = "reverse",
                 start: tuple[float, float] = (0.0, 1.0)) -> GaussianFit:
    """The Gaussian q = N(m, s²) minimizing ``"forward"`` KL(p || q) or ``"reverse"`` KL(q || p), numerically.

    Minimizes over (m, log s) with Nelder–Mead, which needs no derivatives. The reverse KL can
    have several local minima (e.g. one per well-separated mode of p): the fit returns one
    downhill from ``start``, so try several starts and keep the smallest ``kl``.

    Args:
        target: the 1-D target p (for ``"reverse"``, a log-density function will also do).
        divergence: ``"forward"`` or ``"reverse"``.
        start: the starting (mean, std) of q.

    >>> target = gaussian_mixture_1d([0.5, 0.5], [-4.0, 4.0], [1.0, 1.0])
    >>> left = fit_gaussian(target, "reverse", start=(-3.0, 1.0))  # settles on the left mode
    >>> round(left.mean, 2), round(left.std, 2)
    (-4.0, 1.0)
    """
    if divergence not in ("forward", "reverse"):
        raise ValueError(f"divergence must be 'forward' (KL(p || q)) or 'reverse' (KL(q || p)), got {divergence!r}.")
    if divergence == "forward" and not isinstance(target, MixtureOfGaussians):
        raise ValueError("The forward KL averages over the target, so it needs a MixtureOfGaussians, not a function.")
    _log_density(target)  # a clear error now for a target that is not 1-D
    _check_gaussian(*map(float, start))
    kl = forward_kl if divergence == "forward" else reverse_kl

    def objective(params: np.ndarray) -> float:
        return kl(target, params[0], math.exp(params[1]))

    # BFGS (finite-difference gradients of a smooth quadrature) is quick; Nelder–Mead, slower
    # but derivative-free, finishes the rare run that BFGS ends with a loss of precision.
    result = optimize.minimize(objective, x0=[start[0], math.log(start[1])], method="BFGS", options={"gtol": 1e-7})
    if not result.success:
        result = optimize.minimize(objective, x0=result.x, method="Nelder-Mead",
                                   options={"xatol": 1e-9, "fatol": 1e-14, "maxiter": 4000})
    if not result.success:
        raise RuntimeError(f"The {divergence}-KL fit from start={start} did not converge: {result.message}")
    mean, log_std = (float(v) for v in result.x)
    return GaussianFit(mean, math.exp(log_std), float(result.fun))
