"""The encoder and decoder networks of a VAE: MLP, convolutional and linear.

Every encoder maps images to ``(mu, logvar)``, the parameters of the diagonal Gaussian
q(z|x); every decoder maps latent codes z to one output per pixel (logits or means).
What those outputs *mean* (the prior, the likelihood, the ELBO) lives in
:mod:`vae_lib.models`; this module holds only the networks and the table that picks them:

- ``"mlp"``: the network of the PyTorch example, 784 → 400 → (μ, log σ²) and
  z → 400 → 784, with ReLU (Kingma & Welling, 2013, used one hidden layer of 500 tanh units,
  trained with Adagrad).
- ``"conv"``: two stride-2 convolutions (32, 64 channels) → a hidden layer → (μ, log σ²);
  the decoder mirrors it with transposed convolutions.
- ``"linear"``: a linear encoder and a linear decoder, for teaching and testing. With the
  Gaussian likelihood it is probabilistic PCA, whose log p(x) is known exactly, so the ELBO
  and the importance-sampled estimates can be checked against the truth.

Defined in the chapter on amortized inference (the encoder) and the chapter on training a VAE
on MNIST (the architectures).

>>> from vae_lib.models import VAEConfig
>>> encoder_class, decoder_class = NETWORKS["mlp"]
>>> encoder_class(VAEConfig(latent_dim=2)).mu.out_features
2
"""

from __future__ import annotations

from typing import Protocol

import torch.nn.functional as F
from torch import Tensor, nn


class NetworkSizes(Protocol):
    """The sizes a network is built from; a :class:`vae_lib.model_config.VAEConfig` has them.

    Typed this way so that this module, at the bottom of the library, imports nothing of it.
    """

    latent_dim: int
    hidden_dim: int
    image_shape: tuple[int, int, int]

    @property
    def pixels(self) -> int: ...


__all__ = [
    "NETWORKS",
    "MLPEncoder",
    "MLPDecoder",
    "ConvEncoder",
    "ConvDecoder",
    "LinearEncoder",
    "LinearDecoder",
]

_CONV_CHANNELS = (32, 64)


class MLPEncoder(nn.Module):
    """x → ReLU(Linear) → (μ, log σ²): the encoder of the PyTorch example.

    >>> import torch
    >>> from vae_lib.models import VAEConfig
    >>> [t.shape for t in MLPEncoder(VAEConfig(latent_dim=2))(torch.rand(3, 784))]
    [torch.Size([3, 2]), torch.Size([3, 2])]
    """

    def __init__(self, config: NetworkSizes):
        super().__init__()
        self.hidden = nn.Linear(config.pixels, config.hidden_dim)
        self.mu = nn.Linear(config.hidden_dim, config.latent_dim)
        self.logvar = nn.Linear(config.hidden_dim, config.latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = F.relu(self.hidden(x.flatten(1)))
        return self.mu(h), self.logvar(h)


class MLPDecoder(nn.Module):
    """z → ReLU(Linear) → Linear: one output per pixel (flat).

    >>> import torch
    >>> from vae_lib.models import VAEConfig
    >>> MLPDecoder(VAEConfig(latent_dim=2))(torch.zeros(3, 2)).shape
    torch.Size([3, 784])
    """

    def __init__(self, config: NetworkSizes):
        super().__init__()
        self.hidden = nn.Linear(config.latent_dim, config.hidden_dim)
        self.out = nn.Linear(config.hidden_dim, config.pixels)

    def forward(self, z: Tensor) -> Tensor:
        return self.out(F.relu(self.hidden(z)))


class ConvEncoder(nn.Module):
    """Two stride-2 4×4 convolutions (28 → 14 → 7), a hidden layer, then (μ, log σ²).

    >>> import torch
    >>> from vae_lib.models import VAEConfig
    >>> [t.shape for t in ConvEncoder(VAEConfig(latent_dim=2))(torch.rand(3, 1, 28, 28))]
    [torch.Size([3, 2]), torch.Size([3, 2])]
    """

    def __init__(self, config: NetworkSizes):
        super().__init__()
        channels, height, width = config.image_shape
        c1, c2 = _CONV_CHANNELS
        self.conv1 = nn.Conv2d(channels, c1, kernel_size=4, stride=2, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, kernel_size=4, stride=2, padding=1)
        self.hidden = nn.Linear(c2 * (height // 4) * (width // 4), config.hidden_dim)
        self.mu = nn.Linear(config.hidden_dim, config.latent_dim)
        self.logvar = nn.Linear(config.hidden_dim, config.latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = F.relu(self.conv2(F.relu(self.conv1(x))))
        h = F.relu(self.hidden(h.flatten(1)))
        return self.mu(h), self.logvar(h)


class ConvDecoder(nn.Module):
    """The mirror of :class:`ConvEncoder`: z → hidden → 64×7×7 → two stride-2 transposed convolutions.

    >>> import torch
    >>> from vae_lib.models import VAEConfig
    >>> ConvDecoder(VAEConfig(latent_dim=2))(torch.zeros(3, 2)).shape
    torch.Size([3, 1, 28, 28])
    """

    def __init__(self, config: NetworkSizes):
        super().__init__()
        channels, height, width = config.image_shape
        c1, c2 = _CONV_CHANNELS
        self.grid = (c2, height // 4, width // 4)
        self.hidden = nn.Linear(config.latent_dim, config.hidden_dim)
        self.expand = nn.Linear(config.hidden_dim, c2 * (height // 4) * (width // 4))
        self.deconv1 = nn.ConvTranspose2d(c2, c1, kernel_size=4, stride=2, padding=1)
        self.deconv2 = nn.ConvTranspose2d(c1, channels, kernel_size=4, stride=2, padding=1)

    def forward(self, z: Tensor) -> Tensor:
        h = F.relu(self.expand(F.relu(self.hidden(z))))
        h = F.relu(self.deconv1(h.view(-1, *self.grid)))
        return self.deconv2(h)


class LinearEncoder(nn.Module):
    """μ = A x + a and log σ² = C x + c: enough to hold the exact posterior of probabilistic PCA.

    >>> import torch
    >>> from vae_lib.models import VAEConfig
    >>> [t.shape for t in LinearEncoder(VAEConfig(latent_dim=2))(torch.rand(3, 784))]
    [torch.Size([3, 2]), torch.Size([3, 2])]
    """

    def __init__(self, config: NetworkSizes):
        super().__init__()
        self.mu = nn.Linear(config.pixels, config.latent_dim)
        self.logvar = nn.Linear(config.pixels, config.latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x = x.flatten(1)
        return self.mu(x), self.logvar(x)


class LinearDecoder(nn.Module):
    """x̂ = W z + b: with the Gaussian likelihood, p(x) = N(b, W Wᵀ + σ² I) exactly.

    >>> import torch
    >>> from vae_lib.models import VAEConfig
    >>> LinearDecoder(VAEConfig(latent_dim=2))(torch.zeros(3, 2)).shape
    torch.Size([3, 784])
    """

    def __init__(self, config: NetworkSizes):
        super().__init__()
        self.out = nn.Linear(config.latent_dim, config.pixels)

    def forward(self, z: Tensor) -> Tensor:
        return self.out(z)


NETWORKS: dict[str, tuple[type[nn.Module], type[nn.Module]]] = {
    "mlp": (MLPEncoder, MLPDecoder),
    "conv": (ConvEncoder, ConvDecoder),
    "linear": (LinearEncoder, LinearDecoder),
}
"""``architecture`` name → ``(encoder class, decoder class)``; each class takes a ``VAEConfig``."""
