"""Importance sampling for a VAE: the encoder q(z|x) as proposal, the IWAE bound L_k.

With k draws z_i ~ q(z|x), the mean of the weights w_i = p(x|z_i) p(z_i) / q(z_i|x) is an
unbiased estimate of p(x); the expected log of that mean is the IWAE bound L_k (L_1 is the
ELBO). Weights are handled as logs throughout, because p(x) of an image underflows a float.
Defined in the chapter on the marginal likelihood and importance sampling.

>>> import torch
>>> from vae_lib.models import VAE
>>> iwae_bound(VAE(latent_dim=2), torch.rand(3, 784), k=10).shape
torch.Size([3])
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import Tensor
from torch.distributions import Independent, Normal

from vae_lib._checking import is_positive_int

if TYPE_CHECKING:  # for annotations only: keeps this module free of the VAE's machinery
    from vae_lib.models import VAE

__all__ = ["log_importance_weights", "importance_log_sums", "iwae_bound"]


def _check_k(k: object) -> int:
    if not is_positive_int(k):
        raise ValueError(f"k (the number of importance samples) must be an integer >= 1, got {k!r}.")
    return int(k)


# --------------------------------------------------------------------------- a VAE: the encoder as proposal


def log_importance_weights(model: VAE, x: Tensor, k: int = 1, generator: torch.Generator | None = None,
                           posterior: tuple[Tensor, Tensor] | None = None) -> Tensor:
    """log w_i = log p(x|z_i) + log p(z_i) − log q(z_i|x) for k draws z_i ~ q(z|x); shape ``[k, B]``.

    The mean of the w_i estimates p(x) without bias; the mean of the log w_i estimates the ELBO.
    This is the one place a VAE's importance weights are computed: :func:`iwae_bound` and
    :func:`vae_lib.evaluate.log_likelihood` build on it. Defined in the chapter on the marginal
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
