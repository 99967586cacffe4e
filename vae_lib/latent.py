"""Exploring a trained VAE's latent space: encode a set, decode a grid, interpolate, count active units.

The chapter on exploring the latent space defines everything here:

- :func:`encode_set` runs the encoder over a whole set and returns the parameters of every
  q(z|x) (the means μ(x) and log-variances log σ²(x)).
- :func:`decode` turns latent codes into images in [0, 1] (the decoder's mean image).
- :func:`normal_grid` and :func:`decoded_grid` lay a grid over a 2-D latent space, spaced by
  the prior's quantiles, and decode every point of it: the learned "manifold" of digits.
- :func:`interpolate` walks in a straight line from one code to another.
- :func:`kl_per_dimension` splits the KL term of the ELBO into one number per latent
  dimension; :func:`activity` and :func:`active_units` measure which dimensions the model
  uses, with the definition of Burda, Grosse & Salakhutdinov (*Importance Weighted
  Autoencoders*, 2016): dimension j is active when Cov_x(E_q[z_j | x]) > 0.01.

>>> import torch
>>> from vae_lib.models import VAE
>>> model = VAE(latent_dim=2, hidden_dim=16)
>>> codes = encode_set(model, torch.rand(10, 1, 28, 28))
>>> codes.mu.shape, kl_per_dimension(codes.mu, codes.logvar).shape
(torch.Size([10, 2]), torch.Size([2]))
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor
from torch.distributions import Normal

from vae_lib._checking import is_positive_int
from vae_lib.models import VAE

__all__ = [
    "ACTIVITY_THRESHOLD",
    "Encodings",
    "encode_set",
    "decode",
    "normal_grid",
    "decoded_grid",
    "interpolate",
    "kl_per_dimension",
    "activity",
    "active_units",
]

#: Burda et al. (2016) call dimension j active when the variance over the data of E_q[z_j | x] exceeds this.
ACTIVITY_THRESHOLD = 0.01


class Encodings(NamedTuple):
    """The encoder's output for a set of images: ``mu`` and ``logvar``, each ``[N, latent_dim]`` on the CPU."""

    mu: Tensor
    logvar: Tensor

    @property
    def sigma(self) -> Tensor:
        """The posterior standard deviations σ = exp(½ log σ²)."""
        return (0.5 * self.logvar).exp()


def _as_unit_floats(images: Tensor) -> Tensor:
    if images.dtype == torch.uint8:
        return images.float() / 255.0
    return images


@torch.no_grad()
def encode_set(model: VAE, images: Tensor, batch_size: int = 1000) -> Encodings:
    """The parameters of q(z|x) for every image of a set, in eval mode, without gradients.

    Args:
        model: a :class:`~vae_lib.models.VAE`.
        images: ``[N, 1, 28, 28]`` or ``[N, 784]`` in [0, 1] (uint8 is divided by 255). Grey
            levels are encoded as they are: the posterior mean of a grey image is what the
            chapters plot.
        batch_size: images per forward pass.

    Returns:
        :class:`Encodings` ``(mu, logvar)`` on the CPU.

    >>> import torch
    >>> from vae_lib.models import VAE
    >>> encode_set(VAE(latent_dim=3), torch.rand(5, 784), batch_size=2).mu.shape
    torch.Size([5, 3])
    """
    if not is_positive_int(batch_size):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    images = _as_unit_floats(torch.as_tensor(images))
    was_training = model.training
    model.eval()
    try:
        parts = [model.encode(batch.to(device=model.device, dtype=model.dtype))
                 for batch in images.split(batch_size)]
    finally:
        model.train(was_training)
    mu = torch.cat([m for m, _ in parts]).cpu()
    logvar = torch.cat([v for _, v in parts]).cpu()
    return Encodings(mu, logvar)


@torch.no_grad()
def decode(model: VAE, z: Tensor) -> Tensor:
    """Images in [0, 1] for latent codes ``z`` ``[..., latent_dim]``: the decoder's mean image, on the CPU.

    For the Bernoulli likelihood each pixel is the probability that it is on, sigmoid(logit).

    >>> import torch
    >>> from vae_lib.models import VAE
    >>> decode(VAE(latent_dim=2), torch.zeros(3, 2)).shape
    torch.Size([3, 1, 28, 28])
    """
    z = torch.as_tensor(z, dtype=model.dtype).to(model.device)
    if z.shape[-1] != model.config.latent_dim:
        raise ValueError(f"z has {z.shape[-1]} coordinates in its last dimension; this model's latent "
                         f"space has {model.config.latent_dim}.")
    return model.to_images(model.decode(z)).cpu()


def normal_grid(n: int, outer_probability: float = 0.05) -> Tensor:
    """``n`` values of one latent coordinate, evenly spaced in *probability* under the prior N(0, 1).

    The values are Φ⁻¹(p) for p evenly spaced from ``outer_probability`` to
    1 − ``outer_probability`` (as in Kingma & Welling's figure of the learned MNIST manifold), so
    each grid cell holds about the same prior mass: dense near 0, sparse in the tails.

    >>> normal_grid(3)
    tensor([-1.6449,  0.0000,  1.6449])
    """
    if not is_positive_int(n) or n < 2:
        raise ValueError(f"n must be an integer of at least 2, got {n!r}.")
    if not 0.0 < outer_probability < 0.5:
        raise ValueError(f"outer_probability must lie strictly between 0 and 0.5, got {outer_probability!r}.")
    probabilities = torch.linspace(outer_probability, 1.0 - outer_probability, n, dtype=torch.float64)
    return Normal(0.0, 1.0).icdf(probabilities).float()


def decoded_grid(model: VAE, n: int = 15, outer_probability: float = 0.05) -> tuple[Tensor, Tensor]:
    """Decode a ``n × n`` grid over a 2-D latent space: ``(images [n, n, H, W], values [n])``.

    Row ``i`` holds z₂ = ``values[n − 1 − i]`` (the top row has the largest z₂, as on a plot's
    y axis) and column ``j`` holds z₁ = ``values[j]``; the values come from :func:`normal_grid`.

    >>> from vae_lib.models import VAE
    >>> images, values = decoded_grid(VAE(latent_dim=2), n=4)
    >>> images.shape, values.shape
    (torch.Size([4, 4, 28, 28]), torch.Size([4]))
    """
    if model.config.latent_dim != 2:
        raise ValueError(f"decoded_grid needs a 2-D latent space; this model has {model.config.latent_dim} "
                         "dimensions (train one with latent_dim=2).")
    values = normal_grid(n, outer_probability)
    z1, z2 = torch.meshgrid(values, values.flip(0), indexing="xy")
    z = torch.stack([z1, z2], dim=-1)  # [row, column, 2]
    images = decode(model, z.reshape(-1, 2))
    _, height, width = model.config.image_shape
    return images.reshape(n, n, height, width), values


def interpolate(z_start: Tensor, z_end: Tensor, steps: int) -> Tensor:
    """``steps`` codes on the straight line from ``z_start`` to ``z_end``: z(ω) = (1 − ω) z_start + ω z_end.

    ω runs evenly from 0 to 1, so the first and last rows are the two codes themselves.

    >>> import torch
    >>> interpolate(torch.tensor([0.0, 2.0]), torch.tensor([4.0, 0.0]), steps=3)
    tensor([[0., 2.],
            [2., 1.],
            [4., 0.]])
    """
    z_start, z_end = torch.as_tensor(z_start), torch.as_tensor(z_end)
    if z_start.shape != z_end.shape:
        raise ValueError(f"The two codes must have the same shape, got {list(z_start.shape)} and {list(z_end.shape)}.")
    if not is_positive_int(steps) or steps < 2:
        raise ValueError(f"steps must be an integer of at least 2 (the two ends), got {steps!r}.")
    omega = torch.linspace(0.0, 1.0, steps, dtype=z_start.dtype).reshape(-1, *([1] * z_start.dim()))
    return (1.0 - omega) * z_start + omega * z_end


def kl_per_dimension(mu: Tensor, logvar: Tensor) -> Tensor:
    """The KL term of the ELBO split by latent dimension, averaged over the images (nats).

    KL(q(z|x) ‖ N(0, I)) is a sum over dimensions of ½(μ_j² + σ_j² − log σ_j² − 1), because
    both distributions factorize over dimensions; this returns the mean over images of each
    term, so the entries add up to the mean KL per image.

    >>> import torch
    >>> kl_per_dimension(torch.tensor([[0.0, 1.0], [0.0, 3.0]]), torch.zeros(2, 2))
    tensor([0.0000, 2.5000])
    """
    if mu.shape != logvar.shape or mu.dim() != 2:
        raise ValueError(f"mu and logvar must both be [N, latent_dim], got {list(mu.shape)} and {list(logvar.shape)}.")
    return (0.5 * (mu.pow(2) + logvar.exp() - logvar - 1.0)).mean(0)


def activity(mu: Tensor) -> Tensor:
    """How much each dimension's posterior mean varies across the data: Var_x(E_q[z_j | x]), ``[latent_dim]``.

    The variance over the images (dividing by N) of the encoder's means. A dimension the
    decoder ignores has the same posterior, the prior, for every image: its activity is ~0.

    >>> import torch
    >>> activity(torch.tensor([[1.0, 0.5], [-1.0, 0.5]]))
    tensor([1., 0.])
    """
    if mu.dim() != 2 or mu.shape[0] < 2:
        raise ValueError(f"mu must be [N, latent_dim] with at least two images, got {list(mu.shape)}.")
    return mu.var(0, unbiased=False)


def active_units(mu: Tensor, threshold: float = ACTIVITY_THRESHOLD) -> Tensor:
    """Which dimensions are active (Burda et al., 2016): ``activity(mu) > threshold``, a bool ``[latent_dim]``.

    >>> import torch
    >>> int(active_units(torch.tensor([[1.0, 0.5], [-1.0, 0.5]])).sum())
    1
    """
    return activity(mu) > threshold
