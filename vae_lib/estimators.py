"""Monte Carlo estimates of the evidence p(x): importance sampling, log-mean-exp, ESS and the IWAE bound.

For any proposal r(z) that is positive wherever the posterior is,

    p(x) = ∫ p(x, z) dz = E_{z ~ r}[ w(z) ],   w(z) = p(x, z) / r(z),

so the mean of k importance weights w_i = w(z_i), z_i ~ r, is an unbiased estimate of p(x).
With the prior as proposal the weights are the likelihoods p(x|z_i) (naive Monte Carlo); with
the exact posterior p(z|x) every weight equals p(x) (zero variance). The *log* of the estimate
is biased low (Jensen's inequality), by less as k grows. Weights are handled as logs
throughout, because p(x) of an image underflows a float. Defined in the chapter on the
marginal likelihood and importance sampling.

For a VAE the proposal is the encoder q(z|x); the expected log of the estimate is the IWAE
bound L_k (L_1 is the ELBO), computed here by :func:`log_importance_weights`,
:func:`importance_log_sums` and :func:`iwae_bound`.

>>> import torch
>>> from torch.distributions import Normal
>>> x = torch.tensor(1.0)                                # one observation of z ~ N(0, 1), x|z ~ N(z, 1)
>>> log_joint = lambda z: Normal(0.0, 1.0).log_prob(z) + Normal(z, 1.0).log_prob(x)
>>> exact_posterior = Normal(x / 2, 0.5 ** 0.5)          # p(z|x) = N(x/2, 1/2)
>>> result = monte_carlo_log_evidence(log_joint, exact_posterior, k=10, generator=torch.Generator().manual_seed(0))
>>> round(result.log_evidence.item(), 4), round(Normal(0.0, 2 ** 0.5).log_prob(x).item(), 4)  # log p(x) exactly
(-1.5155, -1.5155)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor
from torch.distributions import Distribution, Independent, Normal

from vae_lib import _sampling
from vae_lib._checking import is_positive_int

if TYPE_CHECKING:  # for annotations only: keeps this module free of the VAE's machinery
    from vae_lib.models import VAE

__all__ = [
    "log_mean_exp",
    "effective_sample_size",
    "EvidenceEstimate",
    "monte_carlo_log_evidence",
    "log_importance_weights",
    "importance_log_sums",
    "iwae_bound",
]


def _check_k(k: object) -> int:
    if not is_positive_int(k):
        raise ValueError(f"k (the number of importance samples) must be an integer >= 1, got {k!r}.")
    return int(k)


# --------------------------------------------------------------------------- averaging weights kept as logs


def log_mean_exp(log_values: Tensor, dim: int = 0) -> Tensor:
    """log((1/k) Σ_i exp(a_i)) over ``dim``, without overflow or underflow: the log of a mean weight.

    Subtracts the largest a_i before exponentiating (the "max trick"), so at least one term is
    exp(0) = 1 and nothing overflows; equal to ``torch.logsumexp(a, dim) − log k``.
    Defined in the chapter on the marginal likelihood and importance sampling.

    Args:
        log_values: the logs a_i (e.g. log-weights), any shape.
        dim: the dimension to average over (of size k ≥ 1).

    >>> import torch
    >>> log_mean_exp(torch.tensor([1000.0, 1000.0]))  # exp(1000) overflows a float; this does not
    tensor(1000.)
    """
    if log_values.shape[dim] == 0:
        raise ValueError(f"log_mean_exp needs at least one value along dim={dim}, got shape {list(log_values.shape)}.")
    shift = log_values.detach().amax(dim, keepdim=True)
    shift = torch.where(torch.isfinite(shift), shift, torch.zeros_like(shift))  # all −inf (or +inf): no shift
    mean = torch.exp(log_values - shift).mean(dim, keepdim=True)
    return (shift + mean.log()).squeeze(dim)


def effective_sample_size(log_weights: Tensor, dim: int = 0) -> Tensor:
    """(Σ w_i)² / Σ w_i², from log-weights: k for equal weights, 1 when one weight dominates.

    Roughly the number of draws from the target that the k weighted draws are worth; far
    below k means a few samples carry the estimate and it is unreliable.
    Defined in the chapter on the marginal likelihood and importance sampling.

    >>> import torch
    >>> effective_sample_size(torch.zeros(10)), effective_sample_size(torch.tensor([0.0, -50.0, -50.0]))
    (tensor(10.), tensor(1.))
    """
    return torch.exp(2.0 * torch.logsumexp(log_weights, dim) - torch.logsumexp(2.0 * log_weights, dim))


# --------------------------------------------------------------------------- any model: importance sampling


@dataclass
class EvidenceEstimate:
    """An importance-sampling estimate of p(x), with its weights and diagnostics.

    Attributes:
        log_evidence: log of the mean weight, log p̂(x) (shape: the batch shape). p̂(x) is
            unbiased for p(x); its log is biased low, less so as k grows.
        log_weights: ``[k, *batch]`` log w_i = log p(x, z_i) − log r(z_i).
        ess: effective sample size (Σw)²/Σw², between 1 and k.
        standard_error: Monte Carlo standard error of p̂(x) on the p(x) scale, std(w)/√k
            (NaN for k = 1). ``standard_error / exp(log_evidence)`` approximates the standard
            error of ``log_evidence`` (delta method). It measures the spread of p̂(x) from
            these k weights only: with a poor proposal it can look small while missing mass.
    """

    log_evidence: Tensor
    log_weights: Tensor
    ess: Tensor
    standard_error: Tensor

    @property
    def evidence(self) -> Tensor:
        """p̂(x) = exp(log_evidence) (underflows to 0 for high-dimensional x such as images)."""
        return self.log_evidence.exp()


def _relative_standard_error(ess: Tensor, k: int) -> Tensor:
    """std(w) / (√k · mean(w)) from the ESS: √((k/ESS − 1)/(k − 1)), NaN for k = 1."""
    if k == 1:
        return torch.full_like(ess, float("nan"))
    return ((k / ess - 1.0).clamp_min(0.0) / (k - 1)).sqrt()


def monte_carlo_log_evidence(log_joint: Callable[[Tensor], Tensor], proposal: Distribution, k: int,
                             generator: torch.Generator | None = None) -> EvidenceEstimate:
    """Estimate log p(x) from k draws z_i ~ r (the proposal): log of the mean of w_i = p(x, z_i) / r(z_i).

    With ``proposal`` = the prior p(z) this is naive Monte Carlo (the weights are p(x|z_i));
    with the exact posterior p(z|x) every weight is p(x). Defined in the chapter on the
    marginal likelihood and importance sampling.

    Args:
        log_joint: maps z of shape ``[k, *batch, *event]`` to log p(x, z), shape ``[k, *batch]``
            (x is fixed inside it).
        proposal: a ``torch.distributions`` object to draw z from, with ``sample`` and ``log_prob``.
        k: number of draws.
        generator: makes the draws reproducible (``torch.distributions`` takes none, so the draws
            happen under a forked global RNG seeded from it; the global RNG is left untouched).

    >>> import torch
    >>> from torch.distributions import Normal
    >>> prior = Normal(0.0, 1.0)                         # z ~ N(0, 1), x|z ~ N(z, 1), x = 1
    >>> log_joint = lambda z: prior.log_prob(z) + Normal(z, 1.0).log_prob(torch.tensor(1.0))
    >>> naive = monte_carlo_log_evidence(log_joint, prior, k=1000, generator=torch.Generator().manual_seed(0))
    >>> naive.log_weights.shape, bool(naive.ess < 1000)
    (torch.Size([1000]), True)
    """
    k = _check_k(k)
    if not isinstance(proposal, Distribution):
        raise TypeError(
            f"proposal must be a torch.distributions object (e.g. Normal(0.0, 1.0)), got {type(proposal).__name__}."
        )
    z = _sampling.sample(proposal, k, generator)
    log_p = log_joint(z)
    if not isinstance(log_p, Tensor) or log_p.dim() == 0 or log_p.shape[0] != k:
        raise ValueError(
            f"log_joint(z) must return one log p(x, z) per draw, shape [k={k}, ...]; got "
            f"{list(log_p.shape) if isinstance(log_p, Tensor) else type(log_p).__name__}."
        )
    log_weights = log_p - proposal.log_prob(z)
    log_evidence = log_mean_exp(log_weights, dim=0)
    ess = effective_sample_size(log_weights, dim=0)
    standard_error = log_evidence.exp() * _relative_standard_error(ess, k)
    return EvidenceEstimate(log_evidence, log_weights, ess, standard_error)


# --------------------------------------------------------------------------- a VAE: the encoder as proposal


def log_importance_weights(model: VAE, x: Tensor, k: int = 1, generator: torch.Generator | None = None,
                           posterior: tuple[Tensor, Tensor] | None = None) -> Tensor:
    """log w_i = log p(x|z_i) + log p(z_i) − log q(z_i|x) for k draws z_i ~ q(z|x); shape ``[k, B]``.

    The mean of the w_i estimates p(x) without bias; the mean of the log w_i estimates the ELBO.
    This is the one place a VAE's importance weights are computed: :func:`iwae_bound` and
    :func:`vae_lib.evaluate.log_px` build on it. Defined in the chapter on the marginal
    likelihood and importance sampling (the proposal q(z|x): the chapter on amortized inference).

    Args:
        model: a :class:`~vae_lib.models.VAE`.
        x: images ``[B, C, H, W]`` or ``[B, C·H·W]``.
        k: number of samples per image.
        generator: makes the draws reproducible; sample i is the same whatever chunks the
            k samples are drawn in.
        posterior: ``(mu, logvar)`` if already computed for ``x`` (saves re-encoding).

    >>> import torch
    >>> from vae_lib.models import VAE
    >>> log_importance_weights(VAE(latent_dim=2), torch.rand(3, 784), k=5).shape
    torch.Size([5, 3])
    """
    k = _check_k(k)
    mu, logvar = model.encode(x) if posterior is None else posterior
    z = model.reparameterize(mu, logvar, samples=k, generator=generator)
    q = Independent(Normal(mu, torch.exp(0.5 * logvar), validate_args=False), 1)
    return model.log_px_given_z(x, z) + model.prior().log_prob(z) - q.log_prob(z)


def importance_log_sums(model: VAE, x: Tensor, k: int, chunk_size: int | None = None,
                        generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
    """``(log Σ_i w_i, log Σ_i w_i²)`` over k importance samples per image, each ``[B]``.

    Samples are processed ``chunk_size`` at a time with a running logsumexp, so memory stays
    at ``chunk_size × B`` decoder outputs whatever k is. From these two sums follow the
    IWAE bound / log p(x) estimate ``log Σ w − log k`` and the effective sample size
    ``(Σ w)² / Σ w²``. Defined in the chapter on the marginal likelihood and importance sampling.

    >>> import torch
    >>> from vae_lib.models import VAE
    >>> s1, s2 = importance_log_sums(VAE(latent_dim=2), torch.rand(3, 784), k=10, chunk_size=4)
    >>> s1.shape
    torch.Size([3])
    """
    k = _check_k(k)
    chunk_size = k if chunk_size is None else chunk_size
    if not is_positive_int(chunk_size):
        raise ValueError(f"chunk_size must be an integer >= 1, got {chunk_size!r}.")
    posterior = model.encode(x)
    log_sum_w = log_sum_w2 = None
    for start in range(0, k, chunk_size):
        log_w = log_importance_weights(model, x, min(chunk_size, k - start), generator, posterior)
        chunk_sum_w, chunk_sum_w2 = torch.logsumexp(log_w, dim=0), torch.logsumexp(2.0 * log_w, dim=0)
        if log_sum_w is None:
            log_sum_w, log_sum_w2 = chunk_sum_w, chunk_sum_w2
        else:
            log_sum_w = torch.logaddexp(log_sum_w, chunk_sum_w)
            log_sum_w2 = torch.logaddexp(log_sum_w2, chunk_sum_w2)
    return log_sum_w, log_sum_w2


def iwae_bound(model: VAE, x: Tensor, k: int = 100, generator: torch.Generator | None = None,
               chunk_size: int | None = None) -> Tensor:
    """The importance-weighted bound L_k = E[log (1/k) Σ_i w_i] per image (one estimate), ``[B]``.

    L_1 is the ELBO; L_k grows with k towards log p(x) (Burda et al., 2016). Defined in the
    chapter on the marginal likelihood and importance sampling (the bound as a training
    objective: the chapter beyond the basic VAE).

    >>> import torch
    >>> from vae_lib.models import VAE
    >>> iwae_bound(VAE(latent_dim=2), torch.rand(3, 784), k=10).shape
    torch.Size([3])
    """
    log_sum_w, _ = importance_log_sums(model, x, k, chunk_size=chunk_size, generator=generator)
    return log_sum_w - math.log(k)
