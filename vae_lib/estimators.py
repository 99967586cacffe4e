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

The last part holds the gradient estimators of the chapter on gradients of expectations: for a
Gaussian q = N(μ, σ²) and a function f, two unbiased Monte Carlo estimates of
∇_(μ,σ) E_q[f(z)], returned one per sample so that their means and variances can be measured:
the score function (REINFORCE) estimator and the reparameterized one, plus Gauss–Hermite
quadrature, a deterministic reference for the expectation and (by autograd) its gradient.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
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
    "GradientSamples",
    "score_function_gradients",
    "reparameterized_gradients",
    "gauss_hermite_rule",
    "gauss_hermite_expectation",
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


# --------------------------------------------------------------------------- gradients of E_q[f(z)] (chapter 7)


class GradientSamples(NamedTuple):
    """Estimates of ∇ E_q[f(z)] for q = N(μ, σ²), one per sample: their mean is the L-sample estimate.

    Attributes:
        d_mu: ``[L, *shape]`` estimates of ∂/∂μ E_q[f(z)].
        d_sigma: ``[L, *shape]`` estimates of ∂/∂σ E_q[f(z)].
    """

    d_mu: Tensor
    d_sigma: Tensor


def _gaussian(mu: Tensor | float, sigma: Tensor | float, noise: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """μ and σ as tensors of one floating dtype and device (float64 on the CPU for Python numbers)."""
    like = next((t for t in (mu, sigma, noise) if isinstance(t, Tensor) and t.is_floating_point()), None)
    dtype, device = (like.dtype, like.device) if like is not None else (torch.float64, torch.device("cpu"))
    mu, sigma = (torch.as_tensor(v, dtype=dtype, device=device) for v in (mu, sigma))
    if not bool((sigma.detach() > 0).all()):
        raise ValueError("sigma, the standard deviation of q = N(mu, sigma²), must be > 0 everywhere.")
    return mu, sigma


def _gaussian_and_noise(mu: Tensor | float, sigma: Tensor | float, samples: int | None,
                        generator: torch.Generator | None, noise: Tensor | None) -> tuple[Tensor, Tensor, Tensor]:
    """μ and σ as tensors (see :func:`_gaussian`), and the noise ε to use: ``noise``, or L fresh draws."""
    mu, sigma = _gaussian(mu, sigma, noise)
    dtype, device = mu.dtype, mu.device
    shape = torch.broadcast_shapes(mu.shape, sigma.shape)
    if noise is not None:
        noise = torch.as_tensor(noise, dtype=dtype, device=device)
        if noise.dim() == 0:
            raise ValueError("noise must hold one ε per sample, shape [L, *shape]; got a single number.")
        return mu, sigma, noise
    if not is_positive_int(samples):
        raise ValueError(f"samples (the number L of draws of ε) must be an integer >= 1, got {samples!r}; "
                         "or pass the ε values themselves as noise=.")
    noise_device = generator.device if generator is not None else device
    noise = torch.randn((int(samples), *shape), generator=generator, dtype=dtype, device=noise_device)
    return mu, sigma, noise.to(device)


def _values(f: Callable[[Tensor], Tensor], z: Tensor) -> Tensor:
    values = f(z)
    if not isinstance(values, Tensor) or values.shape != z.shape:
        got = list(values.shape) if isinstance(values, Tensor) else type(values).__name__
        raise ValueError(f"f must act elementwise on a tensor z, returning z's shape {list(z.shape)}; got {got}. "
                         "Write it with torch operations, e.g. f = lambda z: (z - 1) ** 2.")
    return values


def score_function_gradients(f: Callable[[Tensor], Tensor], mu: Tensor | float, sigma: Tensor | float,
                             samples: int | None = None, *, baseline: Tensor | float = 0.0,
                             generator: torch.Generator | None = None, noise: Tensor | None = None) -> GradientSamples:
    """The score function (REINFORCE) estimates of ∇_(μ,σ) E_q[f(z)], q = N(μ, σ²), one per draw z = μ + σε.

    ∇ E_q[f] = ∫ f ∇q dz = E_q[f(z) ∇ log q(z)] (the log-derivative trick), and for a Gaussian
    ∂ log q/∂μ = (z − μ)/σ² = ε/σ and ∂ log q/∂σ = ((z − μ)² − σ²)/σ³ = (ε² − 1)/σ. Only values
    of f are needed, never its derivative. Because E_q[∇ log q] = 0, subtracting a constant
    ``baseline`` b from f leaves the estimate unbiased and can shrink its variance a lot.
    Defined in the chapter on gradients of expectations.

    Args:
        f: an elementwise function of a tensor z (its values only are used).
        mu, sigma: the parameters of q (numbers or broadcastable tensors; σ > 0).
        samples: the number L of draws (not needed with ``noise``).
        baseline: b, a number or a tensor broadcastable to μ; it must not depend on the draws.
        generator: makes the draws reproducible (the same seed gives the same ε in
            :func:`reparameterized_gradients`).
        noise: the ε values to use instead of drawing them, shape ``[L, *shape]``.

    Returns:
        :class:`GradientSamples`, each ``[L, *shape]``.

    >>> import torch
    >>> g = score_function_gradients(lambda z: z**2, mu=1.0, sigma=2.0, noise=torch.tensor([1.0]))
    >>> g.d_mu.tolist(), g.d_sigma.tolist()  # z = 3, f = 9: 9·1/2 and 9·(1 − 1)/2
    ([4.5], [0.0])
    """
    mu, sigma, eps = _gaussian_and_noise(mu, sigma, samples, generator, noise)
    with torch.no_grad():
        weight = _values(f, mu + sigma * eps) - baseline
        return GradientSamples(weight * eps / sigma, weight * (eps**2 - 1.0) / sigma)


def reparameterized_gradients(f: Callable[[Tensor], Tensor], mu: Tensor | float, sigma: Tensor | float,
                              samples: int | None = None, *, generator: torch.Generator | None = None,
                              noise: Tensor | None = None) -> GradientSamples:
    """The reparameterized estimates of ∇_(μ,σ) E_q[f(z)], q = N(μ, σ²): f'(z) and f'(z)·ε for z = μ + σε.

    Writing z = μ + σε with ε ~ N(0, 1) moves the parameters inside f, so the gradient moves
    inside the expectation: ∂/∂μ E = E[f'(z)], ∂/∂σ E = E[f'(z) ε]. f' comes from autograd. An f
    that autograd cannot differentiate (a step, a comparison, a rounding) is flat wherever its
    derivative exists, so the estimates are zeros: biased. Use the score function for such f,
    and for discrete z. Defined in the chapter on gradients of expectations.

    Args:
        f: an elementwise, differentiable function of a tensor z, written with torch operations.
        mu, sigma: the parameters of q (numbers or broadcastable tensors; σ > 0).
        samples: the number L of draws (not needed with ``noise``).
        generator: makes the draws reproducible.
        noise: the ε values to use instead of drawing them, shape ``[L, *shape]``.

    Returns:
        :class:`GradientSamples`, each ``[L, *shape]``.

    >>> import torch
    >>> g = reparameterized_gradients(lambda z: z**2, mu=1.0, sigma=2.0, noise=torch.tensor([1.0]))
    >>> g.d_mu.tolist(), g.d_sigma.tolist()  # z = 3: f'(z) = 6, and 6·ε
    ([6.0], [6.0])
    >>> nodes, weights = gauss_hermite_rule(10)  # averaging over all ε exactly: the true gradient (2μ, 2σ)
    >>> g = reparameterized_gradients(lambda z: z**2, mu=1.0, sigma=2.0, noise=nodes)
    >>> round(float(weights @ g.d_mu), 10), round(float(weights @ g.d_sigma), 10)
    (2.0, 4.0)
    """
    mu, sigma, eps = _gaussian_and_noise(mu, sigma, samples, generator, noise)
    with torch.enable_grad():
        z = (mu + sigma * eps).detach().requires_grad_(True)
        values = _values(f, z)
        if values.requires_grad:
            (df_dz,) = torch.autograd.grad(values.sum(), z)
        else:  # f is piecewise constant as far as autograd can see
            df_dz = torch.zeros_like(z)
    return GradientSamples(df_dz, df_dz * eps)


def gauss_hermite_rule(points: int = 64, dtype: torch.dtype = torch.float64) -> tuple[Tensor, Tensor]:
    """Nodes ε_i and weights w_i (summing to 1) with E[h(ε)] ≈ Σ w_i h(ε_i) for ε ~ N(0, 1).

    Gauss–Hermite quadrature: exact for polynomials h of degree below 2 · ``points``, and very
    accurate for smooth h that grow no faster than exp(a ε). Defined in the chapter on
    gradients of expectations, as a deterministic reference for Monte Carlo estimates.

    >>> nodes, weights = gauss_hermite_rule(5)
    >>> round(float(weights.sum()), 12), round(float(weights @ nodes**4), 12)  # E[ε⁴] = 3
    (1.0, 3.0)
    """
    if not is_positive_int(points):
        raise ValueError(f"points must be an integer >= 1, got {points!r}.")
    nodes, weights = np.polynomial.hermite_e.hermegauss(int(points))
    return torch.as_tensor(nodes, dtype=dtype), torch.as_tensor(weights / weights.sum(), dtype=dtype)


def gauss_hermite_expectation(f: Callable[[Tensor], Tensor], mu: Tensor | float, sigma: Tensor | float,
                              points: int = 64) -> Tensor:
    """E_q[f(z)] for q = N(μ, σ²) by Gauss–Hermite quadrature: deterministic, and differentiable in μ and σ.

    Autograd through it gives ∇ E_q[f] without sampling noise (exactly, for polynomial f), the
    reference the gradient estimators are measured against. Defined in the chapter on
    gradients of expectations.

    Args:
        f: an elementwise function of a tensor z, written with torch operations.
        mu, sigma: the parameters of q (numbers or broadcastable tensors; σ > 0).
        points: the number of quadrature nodes.

    >>> import torch
    >>> mu = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    >>> expectation = gauss_hermite_expectation(lambda z: z**2, mu, 2.0)  # μ² + σ²
    >>> expectation.backward()
    >>> round(expectation.item(), 10), round(mu.grad.item(), 10)   # and ∂/∂μ = 2μ
    (5.0, 2.0)
    """
    mu, sigma = _gaussian(mu, sigma)
    nodes, weights = gauss_hermite_rule(points, dtype=mu.dtype)
    shape = torch.broadcast_shapes(mu.shape, sigma.shape)
    column = (-1,) + (1,) * len(shape)
    z = mu + sigma * nodes.to(mu.device).view(column)
    return (weights.to(mu.device).view(column) * _values(f, z)).sum(0)
