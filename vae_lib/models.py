"""Variational autoencoders: an encoder q(z|x), a decoder p(x|z), a prior p(z) = N(0, I), and their ELBO.

Three architectures share one interface:

- ``"mlp"``: the network of Kingma & Welling (2013) and the PyTorch example,
  784 → 400 → (μ, log σ²) and z → 400 → 784, with ReLU.
- ``"conv"``: two stride-2 convolutions (32, 64 channels) → a hidden layer → (μ, log σ²);
  the decoder mirrors it with transposed convolutions.
- ``"linear"``: a linear encoder and a linear decoder, for teaching and testing. With the
  Gaussian likelihood it is probabilistic PCA, whose log p(x) is known exactly, so the ELBO
  and the importance-sampled estimates can be checked against the truth.

Two likelihoods:

- ``"bernoulli"``: the decoder outputs one logit per pixel;
  log p(x|z) = −BCE-with-logits(logits, x) summed over pixels. For grey values in [0, 1]
  (not binarised) this is the usual "soft target" objective, not a normalised density.
- ``"gaussian"``: the decoder outputs the mean of N(mean, σ²) per pixel (unconstrained), with
  σ fixed (``sigma=0.1``) or learned (``sigma=None``: one global log σ shared by all pixels).
  It is a density over continuous x, so for small σ log p(x|z) is positive, and it is not
  comparable to a Bernoulli log-likelihood.

Every log-likelihood is summed over pixels and reported per image, in nats.

>>> import torch
>>> from vae_lib.models import VAE
>>> model = VAE(latent_dim=2)
>>> terms = model.elbo(torch.rand(3, 1, 28, 28), generator=torch.Generator().manual_seed(0))
>>> terms.elbo.shape
torch.Size([3])
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Independent, MultivariateNormal, Normal

from vae_lib.divergences import kl_standard_normal
from vae_lib._checking import is_positive_int

__all__ = [
    "ARCHITECTURES",
    "LIKELIHOODS",
    "VAEConfig",
    "ELBOTerms",
    "VAE",
    "build_vae",
    "linear_gaussian_vae",
]

ARCHITECTURES = ("mlp", "conv", "linear")
LIKELIHOODS = ("bernoulli", "gaussian")
_CONV_CHANNELS = (32, 64)


# --------------------------------------------------------------------------- configuration


def _check_positive_int(name: str, value: object) -> None:
    if not is_positive_int(value):
        raise ValueError(f"VAEConfig.{name} must be an integer >= 1, got {value!r}.")


@dataclass(frozen=True)
class VAEConfig:
    """Everything that defines a VAE's architecture (not its weights), hashable and JSON-friendly.

    Args:
        latent_dim: size of z (2 for pictures of the latent space, 20 for good digits).
        hidden_dim: width of the hidden layer(s); ignored by ``architecture="linear"``.
        architecture: ``"mlp"``, ``"conv"`` or ``"linear"`` (teaching/testing; see the module doc).
        likelihood: ``"bernoulli"`` (decoder outputs logits) or ``"gaussian"`` (decoder outputs means).
        sigma: Gaussian only: the fixed observation standard deviation, or ``None`` to learn one
            global σ (a scalar parameter ``log_sigma``, initialised to σ = 1).
        image_shape: ``(channels, height, width)`` of one image; ``"conv"`` needs height and
            width divisible by 4.

    >>> VAEConfig(latent_dim=2).to_dict()["latent_dim"]
    2
    >>> VAEConfig.from_dict(VAEConfig(latent_dim=2).to_dict()) == VAEConfig(latent_dim=2)
    True
    """

    latent_dim: int = 20
    hidden_dim: int = 400
    architecture: str = "mlp"
    likelihood: str = "bernoulli"
    sigma: float | None = None
    image_shape: tuple[int, int, int] = (1, 28, 28)

    def __post_init__(self) -> None:
        _check_positive_int("latent_dim", self.latent_dim)
        _check_positive_int("hidden_dim", self.hidden_dim)
        object.__setattr__(self, "latent_dim", int(self.latent_dim))  # NumPy integers become plain ints
        object.__setattr__(self, "hidden_dim", int(self.hidden_dim))
        if self.architecture not in ARCHITECTURES:
            raise ValueError(
                f"VAEConfig.architecture must be one of {', '.join(map(repr, ARCHITECTURES))}, "
                f"got {self.architecture!r}."
            )
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(
                f"VAEConfig.likelihood must be one of {', '.join(map(repr, LIKELIHOODS))}, "
                f"got {self.likelihood!r}."
            )
        if self.sigma is not None:
            if self.likelihood != "gaussian":
                raise ValueError(
                    f"VAEConfig.sigma={self.sigma!r} only applies to likelihood='gaussian'; "
                    "leave sigma=None for likelihood='bernoulli'."
                )
            if isinstance(self.sigma, bool) or not isinstance(self.sigma, (int, float)):
                raise ValueError(f"VAEConfig.sigma must be a number > 0 or None, got {self.sigma!r}.")
            if not (math.isfinite(self.sigma) and self.sigma > 0):
                raise ValueError(
                    f"VAEConfig.sigma must be > 0 (e.g. 0.1) or None to learn it, got {self.sigma!r}."
                )
            object.__setattr__(self, "sigma", float(self.sigma))
        shape = self.image_shape
        if (
            not isinstance(shape, (tuple, list))
            or len(shape) != 3
            or any(not is_positive_int(s) for s in shape)
        ):
            raise ValueError(
                "VAEConfig.image_shape must be three positive integers (channels, height, width), "
                f"e.g. (1, 28, 28); got {shape!r}."
            )
        object.__setattr__(self, "image_shape", tuple(int(s) for s in shape))
        if self.architecture == "conv" and (shape[1] % 4 or shape[2] % 4):
            raise ValueError(
                f"VAEConfig.image_shape={tuple(shape)} does not suit architecture='conv': its two "
                "stride-2 layers need height and width divisible by 4 (e.g. 28 × 28); "
                "use architecture='mlp' or pad the images."
            )

    @property
    def pixels(self) -> int:
        """Number of values per image (784 for MNIST): the ``dims`` of bits per dimension."""
        channels, height, width = self.image_shape
        return channels * height * width

    def to_dict(self) -> dict:
        """A JSON-serialisable dict (``image_shape`` as a list) that :meth:`from_dict` reads back.

        >>> VAEConfig().to_dict()["image_shape"]
        [1, 28, 28]
        """
        d = dataclasses.asdict(self)
        d["image_shape"] = list(self.image_shape)
        return d

    @classmethod
    def from_dict(cls, d: Mapping) -> VAEConfig:
        """Build a config from a dict (e.g. read from JSON); missing keys take their defaults.

        Raises:
            ValueError: a key is unknown (the message lists the known ones) or a value is bad.

        >>> VAEConfig.from_dict({"latent_dim": 2, "likelihood": "gaussian", "sigma": 0.1}).sigma
        0.1
        """
        if not isinstance(d, Mapping):
            raise ValueError(f"VAEConfig.from_dict needs a dict, got {type(d).__name__}.")
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(d) - set(known), key=str)
        if unknown:
            raise ValueError(
                f"Unknown VAEConfig key(s) {', '.join(map(repr, unknown))}; the known keys are "
                f"{', '.join(known)}."
            )
        return cls(**d)


# --------------------------------------------------------------------------- networks


class MLPEncoder(nn.Module):
    """x → ReLU(Linear) → (μ, log σ²): the encoder of the PyTorch example.

    >>> import torch
    >>> [t.shape for t in MLPEncoder(VAEConfig(latent_dim=2))(torch.rand(3, 784))]
    [torch.Size([3, 2]), torch.Size([3, 2])]
    """

    def __init__(self, config: VAEConfig):
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
    >>> MLPDecoder(VAEConfig(latent_dim=2))(torch.zeros(3, 2)).shape
    torch.Size([3, 784])
    """

    def __init__(self, config: VAEConfig):
        super().__init__()
        self.hidden = nn.Linear(config.latent_dim, config.hidden_dim)
        self.out = nn.Linear(config.hidden_dim, config.pixels)

    def forward(self, z: Tensor) -> Tensor:
        return self.out(F.relu(self.hidden(z)))


class ConvEncoder(nn.Module):
    """Two stride-2 4×4 convolutions (28 → 14 → 7), a hidden layer, then (μ, log σ²).

    >>> import torch
    >>> [t.shape for t in ConvEncoder(VAEConfig(latent_dim=2))(torch.rand(3, 1, 28, 28))]
    [torch.Size([3, 2]), torch.Size([3, 2])]
    """

    def __init__(self, config: VAEConfig):
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
    >>> ConvDecoder(VAEConfig(latent_dim=2))(torch.zeros(3, 2)).shape
    torch.Size([3, 1, 28, 28])
    """

    def __init__(self, config: VAEConfig):
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
    >>> [t.shape for t in LinearEncoder(VAEConfig(latent_dim=2))(torch.rand(3, 784))]
    [torch.Size([3, 2]), torch.Size([3, 2])]
    """

    def __init__(self, config: VAEConfig):
        super().__init__()
        self.mu = nn.Linear(config.pixels, config.latent_dim)
        self.logvar = nn.Linear(config.pixels, config.latent_dim)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        x = x.flatten(1)
        return self.mu(x), self.logvar(x)


class LinearDecoder(nn.Module):
    """x̂ = W z + b: with the Gaussian likelihood, p(x) = N(b, W Wᵀ + σ² I) exactly.

    >>> import torch
    >>> LinearDecoder(VAEConfig(latent_dim=2))(torch.zeros(3, 2)).shape
    torch.Size([3, 784])
    """

    def __init__(self, config: VAEConfig):
        super().__init__()
        self.out = nn.Linear(config.latent_dim, config.pixels)

    def forward(self, z: Tensor) -> Tensor:
        return self.out(z)


_NETWORKS = {
    "mlp": (MLPEncoder, MLPDecoder),
    "conv": (ConvEncoder, ConvDecoder),
    "linear": (LinearEncoder, LinearDecoder),
}


# --------------------------------------------------------------------------- the model


@dataclass
class ELBOTerms:
    """The ELBO and its parts, one value per image (shape ``[B]``, nats).

    Attributes:
        elbo: the true evidence lower bound, ``reconstruction − kl`` (β = 1), ≤ log p(x).
        objective: ``reconstruction − β · kl``: what training maximises (equals ``elbo`` at β = 1).
        reconstruction: E_q[log p(x|z)], summed over pixels, averaged over the z samples drawn.
        kl: KL(q(z|x) || p(z)) in closed form.
    """

    elbo: Tensor
    objective: Tensor
    reconstruction: Tensor
    kl: Tensor

    def means(self) -> dict[str, float]:
        """Batch means as Python floats, e.g. for logging (this waits for the device).

        >>> import torch
        >>> t = torch.tensor([1.0, 3.0])
        >>> ELBOTerms(t, t, t, t).means()["elbo"]
        2.0
        """
        return {f.name: float(getattr(self, f.name).detach().mean()) for f in dataclasses.fields(self)}


class VAE(nn.Module):
    """A variational autoencoder with prior N(0, I), a diagonal-Gaussian encoder and a chosen likelihood.

    Args:
        config: a :class:`VAEConfig` (or a dict of one); ``None`` means the defaults.
        **overrides: config fields to change, e.g. ``VAE(latent_dim=2)``.

    Inputs ``x`` are float images of shape ``[B, C, H, W]`` (``[B, 1, 28, 28]`` for MNIST);
    flat ``[B, C·H·W]`` (``[B, 784]``) works too. Values lie in [0, 1] for the Bernoulli likelihood.

    >>> import torch
    >>> model = VAE(latent_dim=2, architecture="conv")
    >>> mu, logvar = model.encode(torch.rand(4, 1, 28, 28))
    >>> mu.shape, model.decode(mu).shape
    (torch.Size([4, 2]), torch.Size([4, 1, 28, 28]))
    """

    def __init__(self, config: VAEConfig | Mapping | None = None, **overrides):
        super().__init__()
        if config is None:
            config = VAEConfig.from_dict(overrides)
        elif isinstance(config, VAEConfig):
            if overrides:
                config = VAEConfig.from_dict({**config.to_dict(), **overrides})
        elif isinstance(config, Mapping):
            config = VAEConfig.from_dict({**config, **overrides})
        else:
            raise TypeError(f"config must be a VAEConfig, a dict or None, got {type(config).__name__}.")
        self.config = config
        encoder_cls, decoder_cls = _NETWORKS[config.architecture]
        self.encoder = encoder_cls(config)
        self.decoder = decoder_cls(config)
        if config.likelihood == "gaussian" and config.sigma is None:
            # One global log σ: a per-pixel σ collapses towards 0 on MNIST's always-black border
            # pixels, which sends log p(x|z) to +∞ without the model learning anything.
            self.log_sigma = nn.Parameter(torch.zeros(()))
        else:
            self.log_sigma = None
        self._image_shape = config.image_shape
        self._pixels = config.pixels
        self._bernoulli = config.likelihood == "bernoulli"

    # ----------------------------------------------------------------- small helpers

    @property
    def device(self) -> torch.device:
        """The device the parameters live on.

        >>> VAE().device
        device(type='cpu')
        """
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        """The floating dtype of the parameters (inputs must match it).

        >>> VAE().dtype
        torch.float32
        """
        return next(self.parameters()).dtype

    def observation_sigma(self) -> Tensor | float:
        """The Gaussian likelihood's σ (a float if fixed, a scalar tensor if learned).

        Raises:
            ValueError: the model has a Bernoulli likelihood.

        >>> VAE(likelihood="gaussian", sigma=0.1).observation_sigma()
        0.1
        """
        if self._bernoulli:
            raise ValueError("observation_sigma() applies to likelihood='gaussian' only.")
        if self.log_sigma is None:
            return self.config.sigma
        return self.log_sigma.exp()

    def prior(self) -> Independent:
        """p(z) = N(0, I) as a ``torch.distributions`` object on the model's device.

        >>> VAE(latent_dim=2).prior().sample().shape
        torch.Size([2])
        """
        zeros = torch.zeros(self.config.latent_dim, device=self.device, dtype=self.dtype)
        return Independent(Normal(zeros, torch.ones_like(zeros), validate_args=False), 1)

    def posterior(self, x: Tensor) -> Independent:
        """q(z|x) = N(μ(x), diag σ²(x)) as a ``torch.distributions`` object (batch shape ``[B]``).

        >>> import torch
        >>> VAE(latent_dim=2).posterior(torch.rand(3, 784)).batch_shape
        torch.Size([3])
        """
        mu, logvar = self.encode(x)
        return Independent(Normal(mu, (0.5 * logvar).exp(), validate_args=False), 1)

    def _standard_normal(self, samples: int, shape: tuple[int, ...], like: Tensor,
                         generator: torch.Generator | None) -> Tensor:
        """``samples`` draws of N(0, I) noise of ``shape``: ``[samples, *shape]`` on ``like``'s device and dtype.

        With a generator, each sample is drawn by its own call, so the s-th sample is the same
        however the samples are split into chunks (and the first sample is the one a
        single-sample call draws). A generator on another device than the model (e.g. a CPU
        generator for a CUDA model) is allowed: the noise is drawn there and moved, so a seeded
        CPU generator gives the same draws whatever device the model is on.
        """
        if generator is None:
            return torch.randn((samples, *shape), device=like.device, dtype=like.dtype)
        draws = [torch.randn(shape, generator=generator, device=generator.device, dtype=like.dtype)
                 for _ in range(samples)]
        noise = draws[0].unsqueeze(0) if samples == 1 else torch.stack(draws)
        return noise.to(like.device)

    def _expected_shape(self) -> str:
        return f"[B, {', '.join(map(str, self._image_shape))}] (or flat [B, {self._pixels}])"

    def _as_images(self, x: Tensor) -> Tensor:
        """Check shape, dtype and device (no device sync) and return x as ``[B, C, H, W]``."""
        if not isinstance(x, Tensor):
            raise ValueError(
                f"Expected a torch.Tensor of images shaped {self._expected_shape()}, got {type(x).__name__}; "
                "convert with torch.as_tensor(x, dtype=torch.float32)."
            )
        if not x.is_floating_point():
            hint = " (e.g. x.float() / 255 for uint8 pixels)" if x.dtype == torch.uint8 else ""
            raise ValueError(
                f"Expected float images with values in [0, 1], got dtype {x.dtype}; "
                f"convert them{hint}."
            )
        if x.dim() == 4 and tuple(x.shape[1:]) == self._image_shape:
            images = x
        elif x.dim() == 2 and x.shape[1] == self._pixels:
            images = x.view(-1, *self._image_shape) if x.is_contiguous() else x.reshape(-1, *self._image_shape)
        else:
            channels, height, width = self._image_shape
            if x.dim() == 3 and tuple(x.shape[1:]) == (height, width) and channels == 1:
                hint = "add the channel dimension with x.unsqueeze(1)"
            elif x.dim() == 3 and tuple(x.shape) == self._image_shape:
                hint = "add the batch dimension with x.unsqueeze(0)"
            else:
                hint = f"reshape it with x.view(-1, {', '.join(map(str, self._image_shape))})"
            raise ValueError(
                f"Expected images of shape {self._expected_shape()}, got {list(x.shape)}; {hint}."
            )
        if images.shape[0] == 0:
            raise ValueError(f"Got an empty batch (shape {list(x.shape)}); pass at least one image.")
        parameter = next(self.parameters())
        if images.dtype != parameter.dtype:
            raise ValueError(
                f"Images have dtype {images.dtype} but the model's parameters are {parameter.dtype}; "
                f"use x.to({parameter.dtype}) (or convert the model with model.to({images.dtype}))."
            )
        if images.device != parameter.device:
            raise ValueError(
                f"Images are on {images.device} but the model is on {parameter.device}; "
                f"move them with x.to(model.device)."
            )
        return images

    def check_input(self, x: Tensor) -> None:
        """Raise a ValueError saying what to fix if ``x`` is not a batch this model can score.

        Checks shape, dtype and device, that values are finite, and for the Bernoulli likelihood
        that they lie in [0, 1]. The value checks read the data back to the host, so a training
        loop calls this once on its data rather than on every batch.

        >>> import torch
        >>> VAE().check_input(torch.rand(2, 1, 28, 28))  # fine: no error
        >>> VAE().check_input(torch.rand(2, 28, 28))
        Traceback (most recent call last):
        ...
        ValueError: Expected images of shape [B, 1, 28, 28] (or flat [B, 784]), got [2, 28, 28]; add the channel dimension with x.unsqueeze(1).
        """
        images = self._as_images(x)
        lowest, highest = torch.aminmax(images.detach())
        lowest, highest = float(lowest), float(highest)
        if not (math.isfinite(lowest) and math.isfinite(highest)):
            raise ValueError("Images contain NaN or infinite values; clean the data before training.")
        if self._bernoulli and (lowest < 0.0 or highest > 1.0):
            scale_hint = " (pixels in 0..255? divide by 255)" if highest > 1.0 else ""
            raise ValueError(
                f"The Bernoulli likelihood needs pixel values in [0, 1], got values in "
                f"[{lowest:g}, {highest:g}]{scale_hint}; rescale the images, or use likelihood='gaussian'."
            )

    # ----------------------------------------------------------------- the model itself

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The parameters of q(z|x): ``(mu, logvar)``, each ``[B, latent_dim]``.

        >>> import torch
        >>> [t.shape for t in VAE(latent_dim=2).encode(torch.rand(5, 784))]
        [torch.Size([5, 2]), torch.Size([5, 2])]
        """
        return self.encoder(self._as_images(x))

    def decode(self, z: Tensor) -> Tensor:
        """The decoder output for latent codes ``z`` of shape ``[..., latent_dim]``.

        Returns ``[..., C, H, W]``: per-pixel logits (Bernoulli) or means (Gaussian);
        :meth:`to_images` maps them to [0, 1].

        >>> import torch
        >>> VAE(latent_dim=2).decode(torch.zeros(3, 2)).shape
        torch.Size([3, 1, 28, 28])
        """
        if z.dim() == 2:
            return self.decoder(z).view(z.shape[0], *self._image_shape)
        leading = z.shape[:-1]
        return self.decoder(z.reshape(-1, z.shape[-1])).view(*leading, *self._image_shape)

    def to_images(self, decoder_output: Tensor) -> Tensor:
        """Map decoder outputs to images in [0, 1]: sigmoid of logits, or the clamped Gaussian mean.

        >>> import torch
        >>> VAE().to_images(torch.tensor([-100.0, 0.0, 100.0]))
        tensor([0.0000, 0.5000, 1.0000])
        """
        if self._bernoulli:
            return torch.sigmoid(decoder_output)
        return decoder_output.clamp(0.0, 1.0)

    def reparameterize(self, mu: Tensor, logvar: Tensor, samples: int | None = None,
                       generator: torch.Generator | None = None) -> Tensor:
        """Draw z = μ + σ ⊙ ε with ε ~ N(0, I): differentiable in μ and log σ².

        Args:
            mu, logvar: ``[B, latent_dim]``.
            samples: ``None`` gives z of shape ``[B, latent_dim]``; an integer S gives ``[S, B, latent_dim]``.
            generator: a ``torch.Generator`` for reproducible draws.

        >>> import torch
        >>> VAE(latent_dim=2).reparameterize(torch.zeros(4, 2), torch.zeros(4, 2), samples=3).shape
        torch.Size([3, 4, 2])
        """
        eps = self._standard_normal(1 if samples is None else samples, tuple(mu.shape), mu, generator)
        if samples is None:
            eps = eps[0]
        return mu + torch.exp(0.5 * logvar) * eps

    def log_likelihood_given_z(self, x: Tensor, z: Tensor) -> Tensor:
        """log p(x|z), summed over pixels: ``[B]`` for z ``[B, latent]``, ``[S, B]`` for z ``[S, B, latent]``.

        >>> import torch
        >>> VAE(latent_dim=2).log_likelihood_given_z(torch.rand(3, 784), torch.zeros(5, 3, 2)).shape
        torch.Size([5, 3])
        """
        images = self._as_images(x)
        output = self.decode(z)
        return self._log_likelihood(images, output)

    def _log_likelihood(self, images: Tensor, output: Tensor) -> Tensor:
        pixel_dims = (-3, -2, -1)
        if self._bernoulli:
            target = images.expand_as(output)
            return -F.binary_cross_entropy_with_logits(output, target, reduction="none").sum(pixel_dims)
        sigma = self.observation_sigma()
        return Normal(output, sigma, validate_args=False).log_prob(images).sum(pixel_dims)

    def _check_beta_samples(self, beta: float, samples: int = 1) -> None:
        if not isinstance(beta, Tensor) and not (beta >= 0):
            raise ValueError(f"beta must be >= 0 (1 gives the ELBO), got {beta!r}.")
        if not is_positive_int(samples):
            raise ValueError(f"samples must be an integer >= 1, got {samples!r}.")

    def elbo(self, x: Tensor, beta: float = 1.0, samples: int = 1,
             generator: torch.Generator | None = None, validate: bool = True) -> ELBOTerms:
        """The ELBO of each image, with its reconstruction and KL terms (see :class:`ELBOTerms`).

        Args:
            x: images ``[B, C, H, W]`` or ``[B, C·H·W]``.
            beta: weight of the KL term in ``objective`` (β-VAE); ``elbo`` always uses β = 1.
            samples: z samples per image for the reconstruction term (the KL is exact).
            generator: makes the z samples reproducible.
            validate: also check the values (finite, in [0, 1] for Bernoulli); this waits for the
                device, so training loops pass ``validate=False`` after one :meth:`check_input`.

        >>> import torch
        >>> t = VAE(latent_dim=2).elbo(torch.rand(3, 784), generator=torch.Generator().manual_seed(0))
        >>> bool(torch.allclose(t.elbo, t.reconstruction - t.kl))
        True
        """
        self._check_beta_samples(beta, samples)
        if validate:
            self.check_input(x)
        images = self._as_images(x)
        mu, logvar = self.encoder(images)
        z = self.reparameterize(mu, logvar, samples=samples, generator=generator)
        reconstruction = self._log_likelihood(images, self.decode(z)).mean(0)
        kl = kl_standard_normal(mu, logvar)
        return ELBOTerms(
            elbo=reconstruction - kl,
            objective=reconstruction - beta * kl,
            reconstruction=reconstruction,
            kl=kl,
        )

    def loss(self, x: Tensor, beta: float = 1.0, generator: torch.Generator | None = None,
             validate: bool = False) -> Tensor:
        """The training loss: ``−objective`` summed over pixels, averaged over the batch (nats per image).

        Equal to ``-model.elbo(x, beta).objective.mean()`` with one z sample: the same math,
        reduced to the scalar an optimizer needs. Shape, dtype and device are always checked
        (free); the value check is off by default here because it waits for the device: call
        :meth:`check_input` once.

        >>> import torch
        >>> loss = VAE(latent_dim=2).loss(torch.rand(8, 1, 28, 28))
        >>> loss.shape, loss.requires_grad
        (torch.Size([]), True)
        """
        return -self.elbo(x, beta=beta, generator=generator, validate=validate).objective.mean()

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """One pass as in the PyTorch example: ``(decoder_output, mu, logvar)`` with one z sample.

        >>> import torch
        >>> [t.shape for t in VAE(latent_dim=2)(torch.rand(3, 784))]
        [torch.Size([3, 1, 28, 28]), torch.Size([3, 2]), torch.Size([3, 2])]
        """
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar

    # ----------------------------------------------------------------- using a trained model

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None,
               device: str | torch.device | None = None) -> Tensor:
        """Generate ``n`` new images in [0, 1]: z ~ N(0, I), then the decoder's mean image.

        Args:
            n: number of images.
            generator: makes the draw reproducible (a CPU generator gives the same images on any device).
            device: where the returned images go (default: the model's device).

        >>> import torch
        >>> model = VAE(latent_dim=2)
        >>> a = model.sample(4, generator=torch.Generator().manual_seed(1))
        >>> b = model.sample(4, generator=torch.Generator().manual_seed(1))
        >>> a.shape, bool(torch.equal(a, b)), 0 <= a.min().item() <= a.max().item() <= 1
        (torch.Size([4, 1, 28, 28]), True, True)
        """
        if not is_positive_int(n):
            raise ValueError(f"n must be a positive integer, got {n!r}.")
        parameter = next(self.parameters())
        z = self._standard_normal(1, (n, self.config.latent_dim), parameter, generator)[0]
        images = self.to_images(self.decode(z))
        return images if device is None else images.to(device)

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """Encode, take the posterior mean μ (no noise), decode: images in [0, 1], shaped ``[B, C, H, W]``.

        >>> import torch
        >>> VAE(latent_dim=2).reconstruct(torch.rand(3, 1, 28, 28)).shape
        torch.Size([3, 1, 28, 28])
        """
        mu, _ = self.encode(x)
        return self.to_images(self.decode(mu))

    # ----------------------------------------------------------------- importance sampling

    def log_importance_weights(self, x: Tensor, k: int = 1, generator: torch.Generator | None = None,
                               posterior: tuple[Tensor, Tensor] | None = None) -> Tensor:
        """log w_i = log p(x|z_i) + log p(z_i) − log q(z_i|x) for k draws z_i ~ q(z|x); shape ``[k, B]``.

        The mean of the w_i estimates p(x) without bias; the mean of the log w_i estimates the ELBO.
        This is the one place the importance weights are computed: :meth:`iwae_bound` and
        :func:`vae_lib.evaluate.log_likelihood` build on it.

        Args:
            x: images ``[B, C, H, W]`` or ``[B, C·H·W]``.
            k: number of samples per image.
            generator: makes the draws reproducible; sample i is the same whatever chunks the
                k samples are drawn in.
            posterior: ``(mu, logvar)`` if already computed for ``x`` (saves re-encoding).

        >>> import torch
        >>> VAE(latent_dim=2).log_importance_weights(torch.rand(3, 784), k=5).shape
        torch.Size([5, 3])
        """
        images = self._as_images(x)
        mu, logvar = self.encoder(images) if posterior is None else posterior
        std = torch.exp(0.5 * logvar)
        eps = self._standard_normal(k, tuple(mu.shape), mu, generator)
        z = mu + std * eps
        log_px_given_z = self._log_likelihood(images, self.decode(z))
        log_prior = Normal(torch.zeros_like(mu), torch.ones_like(mu), validate_args=False).log_prob(z).sum(-1)
        log_posterior = Normal(mu, std, validate_args=False).log_prob(z).sum(-1)
        return log_px_given_z + log_prior - log_posterior

    def importance_log_sums(self, x: Tensor, k: int, chunk_size: int | None = None,
                            generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """``(log Σ_i w_i, log Σ_i w_i²)`` over k importance samples per image, each ``[B]``.

        Samples are processed ``chunk_size`` at a time with a running logsumexp, so memory stays
        at ``chunk_size × B`` decoder outputs whatever k is. From these two sums follow the
        IWAE bound / log p(x) estimate ``log Σ w − log k`` and the effective sample size
        ``(Σ w)² / Σ w²``.

        >>> import torch
        >>> s1, s2 = VAE(latent_dim=2).importance_log_sums(torch.rand(3, 784), k=10, chunk_size=4)
        >>> s1.shape
        torch.Size([3])
        """
        if not is_positive_int(k):
            raise ValueError(f"k (the number of importance samples) must be an integer >= 1, got {k!r}.")
        if chunk_size is None:
            chunk_size = k
        if not is_positive_int(chunk_size):
            raise ValueError(f"chunk_size must be an integer >= 1, got {chunk_size!r}.")
        images = self._as_images(x)
        posterior = self.encoder(images)
        log_sum_w = log_sum_w2 = None
        for start in range(0, k, chunk_size):
            log_w = self.log_importance_weights(images, min(chunk_size, k - start), generator, posterior)
            chunk_sum_w = torch.logsumexp(log_w, dim=0)
            chunk_sum_w2 = torch.logsumexp(2.0 * log_w, dim=0)
            if log_sum_w is None:
                log_sum_w, log_sum_w2 = chunk_sum_w, chunk_sum_w2
            else:
                log_sum_w = torch.logaddexp(log_sum_w, chunk_sum_w)
                log_sum_w2 = torch.logaddexp(log_sum_w2, chunk_sum_w2)
        return log_sum_w, log_sum_w2

    def iwae_bound(self, x: Tensor, k: int = 100, generator: torch.Generator | None = None,
                   chunk_size: int | None = None) -> Tensor:
        """The importance-weighted bound L_k = E[log (1/k) Σ_i w_i] per image (one estimate), ``[B]``.

        L_1 is the ELBO; L_k grows with k towards log p(x) (Burda et al., 2016).

        >>> import torch
        >>> VAE(latent_dim=2).iwae_bound(torch.rand(3, 784), k=10).shape
        torch.Size([3])
        """
        log_sum_w, _ = self.importance_log_sums(x, k, chunk_size=chunk_size, generator=generator)
        return log_sum_w - math.log(k)


def linear_gaussian_vae(latent_dim: int = 3, image_shape: tuple[int, int, int] = (1, 4, 4), sigma: float = 0.5,
                        encoder_error: float = 0.0, seed: int = 0,
                        dtype: torch.dtype = torch.float64) -> tuple[VAE, MultivariateNormal]:
    """A VAE whose log p(x) is known exactly: probabilistic PCA, with its exact (or a perturbed) posterior.

    The decoder is x = W z + b + σ ε with ε ~ N(0, I) and p(z) = N(0, I), so
    p(x) = N(b, W Wᵀ + σ² I). W has orthogonal columns (W = Q · diag(s)), which makes the
    true posterior diagonal, p(z|x) = N(Σ Wᵀ (x − b) / σ², Σ) with Σ = diag(1 / (1 + s²/σ²)),
    so the ``"linear"`` encoder can represent it exactly. Then log p(x, z) − log q(z|x) = log p(x)
    for *every* z: the ELBO gap is zero. ``encoder_error > 0`` perturbs the encoder (its mean
    weights by that much noise, its log-variances by +encoder_error · 5), opening a gap.

    Args:
        latent_dim: size of z (at most the number of pixels).
        image_shape: ``(channels, height, width)``; keep it small, the exact covariance is dense.
        sigma: observation noise σ.
        encoder_error: 0 for the exact posterior; larger values give a worse q(z|x).
        seed: seeds W, b and the perturbation.
        dtype: float64 by default, so that exact comparisons hold to many digits.

    Returns:
        ``(model, marginal)``: the VAE and ``MultivariateNormal`` p(x) over flat images.

    >>> import torch
    >>> model, marginal = linear_gaussian_vae()
    >>> x = marginal.sample((5,))
    >>> bool(torch.allclose(model.iwae_bound(x, k=1), marginal.log_prob(x)))  # no gap at all
    True
    """
    config = VAEConfig(latent_dim=latent_dim, architecture="linear", likelihood="gaussian", sigma=sigma,
                       image_shape=image_shape)
    pixels = config.pixels
    if latent_dim > pixels:
        raise ValueError(f"latent_dim={latent_dim} must not exceed the number of pixels ({pixels}).")
    generator = torch.Generator().manual_seed(seed)
    orthonormal, _ = torch.linalg.qr(torch.randn(pixels, latent_dim, generator=generator, dtype=dtype))
    scales = torch.linspace(2.0, 0.5, latent_dim, dtype=dtype)
    weight = orthonormal * scales
    bias = 0.3 * torch.randn(pixels, generator=generator, dtype=dtype)
    posterior_var = 1.0 / (1.0 + scales.pow(2) / sigma**2)
    posterior_mean_weight = posterior_var[:, None] * weight.T / sigma**2

    model = VAE(config).to(dtype)
    with torch.no_grad():
        model.decoder.out.weight.copy_(weight)
        model.decoder.out.bias.copy_(bias)
        model.encoder.mu.weight.copy_(posterior_mean_weight)
        model.encoder.mu.bias.copy_(-posterior_mean_weight @ bias)
        model.encoder.logvar.weight.zero_()
        model.encoder.logvar.bias.copy_(posterior_var.log())
        if encoder_error:
            noise = torch.randn(latent_dim, pixels, generator=generator, dtype=dtype)
            model.encoder.mu.weight.add_(encoder_error * noise)
            model.encoder.logvar.bias.add_(5.0 * encoder_error)
    covariance = weight @ weight.T + sigma**2 * torch.eye(pixels, dtype=dtype)
    return model, MultivariateNormal(bias, covariance_matrix=covariance)


def build_vae(config: VAEConfig | Mapping) -> VAE:
    """Build a freshly initialised :class:`VAE` from a config or its dict (as saved with a checkpoint).

    >>> build_vae({"latent_dim": 2}).config.latent_dim
    2
    """
    if isinstance(config, VAEConfig):
        return VAE(config)
    if isinstance(config, Mapping):
        return VAE(VAEConfig.from_dict(config))
    raise TypeError(f"build_vae needs a VAEConfig or a dict, got {type(config).__name__}.")
