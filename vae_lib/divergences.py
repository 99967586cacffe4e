"""Kullback–Leibler divergences: the Gaussian closed form, and a Monte Carlo check of it.

KL(q || p) = E_q[log q(z) - log p(z)] measures how many extra nats it costs, on average, to
describe samples of q with a code built for p. It is never negative, is zero only when q = p,
and is not symmetric.

For diagonal Gaussians the expectation has a closed form (derived in the book, chapter on the
ELBO), which is what a VAE uses for its KL term:

>>> import torch
>>> from vae_lib.divergences import kl_standard_normal
>>> kl_standard_normal(torch.zeros(1, 2), torch.zeros(1, 2))  # q = p: no divergence
tensor([0.])
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor
from torch.distributions import Distribution

from vae_lib import _sampling

__all__ = ["gaussian_kl", "kl_standard_normal", "kl_monte_carlo", "MonteCarloKL"]


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

