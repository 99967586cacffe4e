"""Variational autoencoders: a prior p(z) = N(0, I), an encoder q(z|x), a decoder p(x|z), and their ELBO.

The :class:`VAE` class reads in the order the book teaches it: the prior, the encoder q(z|x),
the reparameterization trick, the decoder p(x|z), the ELBO (reconstruction − KL), the training
loss, and finally sampling and reconstructing with a trained model.

Three architectures share one interface: ``"mlp"`` (the PyTorch example's network),
``"conv"`` and ``"linear"`` (probabilistic PCA, whose log p(x) is known exactly: see
:func:`vae_lib.linear_gaussian.linear_gaussian_vae`); :mod:`vae_lib.networks` holds and describes them.

Two likelihoods p(x|z), ``"bernoulli"`` (the decoder outputs logits) and ``"gaussian"`` (it
outputs means), are described at :meth:`VAE.log_px_given_z`. Every log-likelihood is summed
over pixels and reported per image, in nats. Importance sampling with a VAE (the IWAE bound,
log p(x) estimates) lives in :mod:`vae_lib.estimators`.

>>> import torch
>>> from vae_lib.models import VAE
>>> model = VAE(latent_dim=2)
>>> terms = model.elbo(torch.rand(3, 1, 28, 28), generator=torch.Generator().manual_seed(0))
>>> terms.elbo.shape
torch.Size([3])
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Independent, Normal

from vae_lib import _model_checks, _sampling
from vae_lib._checking import is_positive_int
from vae_lib.divergences import kl_standard_normal
from vae_lib.model_config import ARCHITECTURES, LIKELIHOODS, VAEConfig
from vae_lib.networks import NETWORKS

__all__ = ["ARCHITECTURES", "LIKELIHOODS", "VAEConfig", "ELBOTerms", "VAE", "build_vae"]


# --------------------------------------------------------------------------- the model


@dataclass
class ELBOTerms:
    """The ELBO and its parts, one value per image (shape ``[B]``, nats). Defined in the chapter on the ELBO.

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
        config = VAEConfig.coerce(config, **overrides)
        self.config = config
        encoder_class, decoder_class = NETWORKS[config.architecture]
        self.encoder = encoder_class(config)
        self.decoder = decoder_class(config)
        if config.likelihood == "gaussian" and config.sigma is None:
            # One global log σ: a per-pixel σ collapses towards 0 on MNIST's always-black border
            # pixels, which sends log p(x|z) to +∞ without the model learning anything.
            self.log_sigma = nn.Parameter(torch.zeros(()))
        else:
            self.log_sigma = None

    # ----------------------------------------------------------------- the prior p(z)

    def prior(self) -> Independent:
        """p(z) = N(0, I) as a ``torch.distributions`` object on the model's device.

        Defined in the chapter on latent variable models.

        >>> VAE(latent_dim=2).prior().sample().shape
        torch.Size([2])
        """
        zeros = torch.zeros(self.config.latent_dim, device=self.device, dtype=self.dtype)
        return Independent(Normal(zeros, torch.ones_like(zeros), validate_args=False), 1)

    # ----------------------------------------------------------------- the encoder q(z|x)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """The parameters of q(z|x): ``(mu, logvar)``, each ``[B, latent_dim]``.

        Defined in the chapter on amortized inference.

        >>> import torch
        >>> [t.shape for t in VAE(latent_dim=2).encode(torch.rand(5, 784))]
        [torch.Size([5, 2]), torch.Size([5, 2])]
        """
        return self.encoder(_model_checks.as_images(self, x))

    def posterior(self, x: Tensor) -> Independent:
        """q(z|x) = N(μ(x), diag σ²(x)) as a ``torch.distributions`` object (batch shape ``[B]``).

        Defined in the chapter on amortized inference.

        >>> import torch
        >>> VAE(latent_dim=2).posterior(torch.rand(3, 784)).batch_shape
        torch.Size([3])
        """
        mu, logvar = self.encode(x)
        return Independent(Normal(mu, (0.5 * logvar).exp(), validate_args=False), 1)

    # ----------------------------------------------------------------- the reparameterization trick

    def reparameterize(self, mu: Tensor, logvar: Tensor, samples: int | None = None,
                       generator: torch.Generator | None = None) -> Tensor:
        """Draw z = μ + σ ⊙ ε with ε ~ N(0, I): differentiable in μ and log σ².

        Defined in the chapter on REINFORCE vs reparameterization.

        Args:
            mu, logvar: ``[B, latent_dim]``.
            samples: ``None`` gives z of shape ``[B, latent_dim]``; an integer S gives ``[S, B, latent_dim]``.
            generator: a ``torch.Generator`` for reproducible draws; with one, the s-th sample is
                the same whatever the number of samples drawn.

        >>> import torch
        >>> VAE(latent_dim=2).reparameterize(torch.zeros(4, 2), torch.zeros(4, 2), samples=3).shape
        torch.Size([3, 4, 2])
        """
        eps = _sampling.standard_normal(1 if samples is None else samples, tuple(mu.shape), mu, generator)
        if samples is None:
            eps = eps[0]
        return mu + torch.exp(0.5 * logvar) * eps

    # ----------------------------------------------------------------- the decoder p(x|z)

    def decode(self, z: Tensor) -> Tensor:
        """The decoder output for latent codes ``z`` of shape ``[..., latent_dim]``.

        Returns ``[..., C, H, W]``: per-pixel logits (Bernoulli) or means (Gaussian);
        :meth:`to_images` maps them to [0, 1]. Defined in the chapter on latent variable models.

        >>> import torch
        >>> VAE(latent_dim=2).decode(torch.zeros(3, 2)).shape
        torch.Size([3, 1, 28, 28])
        """
        image_shape = self.config.image_shape
        if z.dim() == 2:
            return self.decoder(z).view(z.shape[0], *image_shape)
        leading = z.shape[:-1]
        return self.decoder(z.reshape(-1, z.shape[-1])).view(*leading, *image_shape)

    def observation_sigma(self) -> Tensor | float:
        """The Gaussian likelihood's σ (a float if fixed, a scalar tensor if learned).

        Raises:
            ValueError: the model has a Bernoulli likelihood.

        >>> VAE(likelihood="gaussian", sigma=0.1).observation_sigma()
        0.1
        """
        if self.config.likelihood == "bernoulli":
            raise ValueError("observation_sigma() applies to likelihood='gaussian' only.")
        if self.log_sigma is None:
            return self.config.sigma
        return self.log_sigma.exp()

    def log_px_given_z(self, x: Tensor, z: Tensor) -> Tensor:
        """log p(x|z), summed over pixels: ``[B]`` for z ``[B, latent]``, ``[S, B]`` for z ``[S, B, latent]``.

        - ``"bernoulli"``: log p(x|z) = −BCE-with-logits(logits, x) summed over pixels. For grey
          values in [0, 1] (not binarised) this is the usual "soft target" objective, not a
          normalised density.
        - ``"gaussian"``: N(mean, σ²) per pixel, σ fixed (``sigma=0.1``) or learned (one global
          log σ). A density over continuous x: for small σ it is positive, and it is not
          comparable to a Bernoulli log-likelihood.

        Defined in the chapter on latent variable models (the two likelihoods: the chapter on
        training a VAE on MNIST).

        >>> import torch
        >>> VAE(latent_dim=2).log_px_given_z(torch.rand(3, 784), torch.zeros(5, 3, 2)).shape
        torch.Size([5, 3])
        """
        return self._log_px_given_output(_model_checks.as_images(self, x), self.decode(z))

    def _log_px_given_output(self, images: Tensor, decoder_output: Tensor) -> Tensor:
        pixel_dims = (-3, -2, -1)
        if self.config.likelihood == "bernoulli":
            target = images.expand_as(decoder_output)
            return -F.binary_cross_entropy_with_logits(decoder_output, target, reduction="none").sum(pixel_dims)
        sigma = self.observation_sigma()
        return Normal(decoder_output, sigma, validate_args=False).log_prob(images).sum(pixel_dims)

    # ----------------------------------------------------------------- the ELBO and the training loss

    def elbo(self, x: Tensor, beta: float = 1.0, samples: int = 1,
             generator: torch.Generator | None = None, validate: bool = True) -> ELBOTerms:
        """The ELBO of each image, with its reconstruction and KL terms (see :class:`ELBOTerms`).

        Defined in the chapter on the ELBO (the KL in closed form: the chapter on KL divergence;
        β: the chapter beyond the basic VAE).

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
        _model_checks.check_elbo_arguments(beta, samples)
        images = _model_checks.as_images(self, x)
        if validate:
            _model_checks.check_values(self, images)
        mu, logvar = self.encoder(images)
        z = self.reparameterize(mu, logvar, samples=samples, generator=generator)
        reconstruction = self._log_px_given_output(images, self.decode(z)).mean(0)
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
        :meth:`check_input` once. Defined in the chapter on training a VAE on MNIST.

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

    def to_images(self, decoder_output: Tensor) -> Tensor:
        """Map decoder outputs to images in [0, 1]: sigmoid of logits, or the clamped Gaussian mean.

        >>> import torch
        >>> VAE().to_images(torch.tensor([-100.0, 0.0, 100.0]))
        tensor([0.0000, 0.5000, 1.0000])
        """
        if self.config.likelihood == "bernoulli":
            return torch.sigmoid(decoder_output)
        return decoder_output.clamp(0.0, 1.0)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None,
               device: str | torch.device | None = None) -> Tensor:
        """Generate ``n`` new images in [0, 1]: z ~ N(0, I), then the decoder's mean image.

        Defined in the chapter on exploring the latent space.

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
        z = _sampling.standard_normal(1, (n, self.config.latent_dim), parameter, generator)[0]
        images = self.to_images(self.decode(z))
        return images if device is None else images.to(device)

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """Encode, take the posterior mean μ (no noise), decode: images in [0, 1], shaped ``[B, C, H, W]``.

        Defined in the chapter on exploring the latent space.

        >>> import torch
        >>> VAE(latent_dim=2).reconstruct(torch.rand(3, 1, 28, 28)).shape
        torch.Size([3, 1, 28, 28])
        """
        mu, _ = self.encode(x)
        return self.to_images(self.decode(mu))

    # ----------------------------------------------------------------- plumbing

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
        _model_checks.check_input(self, x)


def build_vae(config: VAEConfig | Mapping | None) -> VAE:
    """Build a freshly initialised :class:`VAE` from a config or its dict (as saved with a checkpoint).

    >>> build_vae({"latent_dim": 2}).config.latent_dim
    2
    """
    return VAE(VAEConfig.coerce(config))

