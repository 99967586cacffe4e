"""Amortized inference: one set of variational parameters per image (SVI) versus one encoder for all.

Without an encoder, each image x_i gets its own variational parameters φ_i = (μ_i, log σ²_i),
and training alternates between improving the φ_i of a batch and improving the decoder θ:
stochastic variational inference (:func:`svi`). Its table of parameters grows with the data,
and a new image needs an optimization of its own. A VAE's encoder *amortizes* that work: one
network maps any image to its (μ, log σ²) in a single pass. The price is the **amortization
gap**: the encoder's q(z|x) can be worse than the best Gaussian for that image under the same
decoder (:func:`amortization_gap`; Cremer, Li & Duvenaud, 2018).

Also here: the exact posterior of a two-dimensional z on a grid (:func:`log_joint_on_grid`) and
a deterministic :class:`Autoencoder` with the VAE's networks, for comparison. Defined in the
chapter on amortized inference.

>>> import torch
>>> from vae_lib.models import VAE
>>> model = VAE(latent_dim=2, hidden_dim=16)
>>> x = torch.rand(3, 784).bernoulli()
>>> mu, logvar = torch.zeros(3, 2), torch.zeros(3, 2)       # q = the prior, for every image
>>> elbo_with_posterior(model, x, mu, logvar, samples=4, generator=torch.Generator().manual_seed(0)).shape
torch.Size([3])
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import Tensor

from vae_lib._checking import is_positive_int
from vae_lib.data import bernoulli_sample, binarization
from vae_lib.divergences import kl_standard_normal
from vae_lib.estimators import effective_sample_size, log_importance_weights, log_mean_exp
from vae_lib.history import History
from vae_lib.models import VAE, ELBOTerms

__all__ = [
    "elbo_with_posterior",
    "PosteriorFit",
    "fit_posteriors",
    "SVIResult",
    "svi",
    "AmortizationGap",
    "amortization_gap",
    "log_joint_on_grid",
    "Autoencoder",
]


def _positive_int(name: str, value: object) -> int:
    if not is_positive_int(value):
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}.")
    return int(value)


def _generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --------------------------------------------------------------------------- the ELBO for any q


def elbo_with_posterior(model: VAE, x: Tensor, mu: Tensor, logvar: Tensor, samples: int = 1,
                        generator: torch.Generator | None = None) -> Tensor:
    """The ELBO of each image under ``model``'s decoder and prior, for q = N(μ, diag exp(log σ²)) given directly.

    E_q[log p(x|z)] by ``samples`` reparameterized draws, minus KL(q || p(z)) in closed form: the
    same ELBO as :meth:`VAE.elbo`, with q taken from anywhere (a table, an optimizer) instead
    of the encoder. Shape ``[B]``, nats. Defined in the chapter on amortized inference.

    >>> import torch
    >>> from vae_lib.models import VAE
    >>> model, x = VAE(latent_dim=2, hidden_dim=8), torch.rand(2, 784)
    >>> mu, logvar = model.encode(x)
    >>> a = elbo_with_posterior(model, x, mu, logvar, generator=torch.Generator().manual_seed(0))
    >>> b = model.elbo(x, generator=torch.Generator().manual_seed(0)).elbo
    >>> bool(torch.allclose(a, b))
    True
    """
    z = model.reparameterize(mu, logvar, samples=_positive_int("samples", samples), generator=generator)
    return model.log_px_given_z(x, z).mean(0) - kl_standard_normal(mu, logvar)


# --------------------------------------------------------------------------- one q per image, optimized


@dataclass
class PosteriorFit:
    """Per-image variational parameters after optimization, and how the ELBO improved.

    Attributes:
        mu, logvar: ``[B, latent_dim]``, the optimized parameters (detached).
        elbo_trace: ``[steps, B]``, the single-draw ELBO estimate of each image at each step
            (before that step's update).
        snapshots: ``{step: (mu, logvar)}`` at the steps asked for in ``record_at``.
    """

    mu: Tensor
    logvar: Tensor
    elbo_trace: Tensor
    snapshots: dict[int, tuple[Tensor, Tensor]]


def fit_posteriors(model: VAE, x: Tensor, mu: Tensor, logvar: Tensor, steps: int, lr: float = 0.05,
                   samples: int = 1, generator: torch.Generator | None = None,
                   record_at: tuple[int, ...] = (), final_lr: float | None = None) -> PosteriorFit:
    """Maximize each image's ELBO over its own (μ_i, log σ²_i) with Adam, the decoder held fixed.

    This is the inner loop of stochastic variational inference and the per-image optimum of
    the amortization gap. Gradients go to the variational parameters only, through the
    reparameterization z = μ + σ ε. Defined in the chapter on amortized inference.

    Args:
        model: supplies the decoder p(x|z) and the prior; its weights are not changed.
        x: images ``[B, ...]``.
        mu, logvar: the starting parameters ``[B, latent_dim]`` (e.g. zeros, or the encoder's).
        steps: Adam steps.
        lr: Adam's learning rate.
        samples: draws of z per image and step.
        generator: makes the draws reproducible.
        record_at: steps (0 to ``steps``) at which to keep a copy of (μ, log σ²).
        final_lr: if given, the learning rate falls linearly from ``lr`` to this value over the
            steps, so that the noisy steps settle near the optimum instead of hovering around it.

    >>> import torch
    >>> from vae_lib.models import VAE
    >>> model, x = VAE(latent_dim=2, hidden_dim=8), torch.rand(4, 784).bernoulli()
    >>> fit = fit_posteriors(model, x, torch.zeros(4, 2), torch.zeros(4, 2), steps=5, record_at=(0, 5))
    >>> fit.mu.shape, fit.elbo_trace.shape, sorted(fit.snapshots)
    (torch.Size([4, 2]), torch.Size([5, 4]), [0, 5])
    """
    steps = _positive_int("steps", steps)
    mu = mu.detach().clone().requires_grad_(True)
    logvar = logvar.detach().clone().requires_grad_(True)
    optimizer = torch.optim.Adam([mu, logvar], lr=lr)
    snapshots, trace = {}, []
    for step in range(steps + 1):
        if step in record_at:
            snapshots[step] = (mu.detach().clone(), logvar.detach().clone())
        if step == steps:
            break
        if final_lr is not None:
            optimizer.param_groups[0]["lr"] = lr + (final_lr - lr) * step / max(steps - 1, 1)
        elbo = elbo_with_posterior(model, x, mu, logvar, samples, generator)
        trace.append(elbo.detach())
        optimizer.zero_grad(set_to_none=True)
        mu.grad, logvar.grad = torch.autograd.grad(-elbo.sum(), (mu, logvar))
        optimizer.step()
    return PosteriorFit(mu.detach(), logvar.detach(), torch.stack(trace), snapshots)


# --------------------------------------------------------------------------- stochastic variational inference


@dataclass
class SVIResult:
    """What :func:`svi` returns.

    Attributes:
        model: the model, its decoder trained (its encoder is never used).
        mu, logvar: the table of per-image variational parameters, ``[N, latent_dim]`` each.
        history: one dict per epoch: ``epoch``, ``train_elbo`` (mean single-draw ELBO of the
            batches, after their inner steps), ``seconds``.
    """

    model: VAE
    mu: Tensor
    logvar: Tensor
    history: History

    def __iter__(self):
        yield from (self.model, self.mu, self.logvar, self.history)


def svi(model: VAE, images: Tensor, *, epochs: int, batch_size: int = 100, inner_steps: int = 5,
        lr: float = 1e-3, inner_lr: float = 0.05, binarize: str | None = "dynamic", seed: int = 0) -> SVIResult:
    """Train the decoder with one (μ_i, log σ²_i) per image, by stochastic variational inference.

    For each batch of images: ``inner_steps`` Adam steps on the batch's variational parameters
    (:func:`fit_posteriors`, warm-started from the table), written back to the table; then one
    Adam step on the decoder θ for the ELBO at those parameters. The table holds
    2 · latent_dim numbers per image. Defined in the chapter on amortized inference.

    Args:
        model: a :class:`~vae_lib.models.VAE` on the CPU; only its decoder (and a learned σ) is trained.
        images: ``[N, 1, 28, 28]`` in [0, 1].
        epochs: passes over the images.
        batch_size: images per decoder step.
        inner_steps: variational steps per batch before each decoder step.
        lr, inner_lr: Adam's learning rates for θ and for the φ_i.
        binarize: ``"dynamic"`` (a fresh binary sample per batch) or ``"none"``.
        seed: seeds the order of the images and all draws.

    >>> import torch
    >>> from vae_lib.models import VAE
    >>> result = svi(VAE(latent_dim=2, hidden_dim=8), torch.rand(20, 1, 28, 28), epochs=1, batch_size=10)
    >>> result.mu.shape, len(result.history)
    (torch.Size([20, 2]), 1)
    """
    epochs, batch_size = _positive_int("epochs", epochs), _positive_int("batch_size", batch_size)
    mode = binarization(binarize)
    if mode not in ("none", "dynamic"):
        raise ValueError(f"svi supports binarize='dynamic' or 'none', got {binarize!r}.")
    model.check_input(images)
    n, generator = len(images), _generator(seed)
    mu = torch.zeros(n, model.config.latent_dim, dtype=model.dtype)
    logvar = torch.zeros_like(mu)
    decoder_parameters = [p for name, p in model.named_parameters() if not name.startswith("encoder.")]
    optimizer = torch.optim.Adam(decoder_parameters, lr=lr)
    history = History()
    for epoch in range(epochs):
        start, total = time.perf_counter(), 0.0
        for rows in torch.randperm(n, generator=generator).split(batch_size):
            x = images[rows]
            if mode == "dynamic":
                x = bernoulli_sample(x, generator=generator)
            inner = fit_posteriors(model, x, mu[rows], logvar[rows], inner_steps, inner_lr, generator=generator)
            mu[rows], logvar[rows] = inner.mu, inner.logvar
            elbo = elbo_with_posterior(model, x, inner.mu, inner.logvar, generator=generator)
            optimizer.zero_grad(set_to_none=True)
            (-elbo.mean()).backward()
            optimizer.step()
            total += float(elbo.detach().sum())
        history.append({"epoch": epoch + 1, "train_elbo": total / n, "seconds": time.perf_counter() - start})
    model.zero_grad(set_to_none=True)
    return SVIResult(model, mu, logvar, history)


# --------------------------------------------------------------------------- the amortization gap


@dataclass
class AmortizationGap:
    """The encoder's ELBO, the per-image optimum's ELBO and (optionally) log p(x), per image (nats).

    Attributes:
        encoder_elbo: ELBO with the encoder's q(z|x).
        optimized_elbo: ELBO with the best Gaussian found for each image (same decoder).
        log_px: importance-sampled log p(x) with the optimized q as proposal, or ``None``.
        log_px_error: its approximate standard error, √((k/ESS − 1)/(k − 1)) (the delta method), or ``None``.
        mu, logvar: the optimized parameters.
    """

    encoder_elbo: Tensor
    optimized_elbo: Tensor
    log_px: Tensor | None
    log_px_error: Tensor | None
    mu: Tensor
    logvar: Tensor

    @property
    def amortization(self) -> Tensor:
        """ELBO lost by using one encoder for all images instead of optimizing each q."""
        return self.optimized_elbo - self.encoder_elbo

    @property
    def approximation(self) -> Tensor:
        """ELBO lost because the best q is a Gaussian and the posterior is not: log p(x) − optimized ELBO."""
        if self.log_px is None:
            raise ValueError("This gap was measured without log p(x): pass importance_samples > 0.")
        return self.log_px - self.optimized_elbo


@torch.no_grad()
def _importance_log_px(model: VAE, x: Tensor, mu: Tensor, logvar: Tensor, k: int, generator: torch.Generator,
                       chunk: int = 100) -> tuple[Tensor, Tensor]:
    """log p(x) by importance sampling from q = N(mu, exp(logvar)), and its delta-method standard error."""
    log_w = torch.cat([log_importance_weights(model, x, min(chunk, k - start), generator, posterior=(mu, logvar))
                       for start in range(0, k, chunk)])
    ess = effective_sample_size(log_w, dim=0)
    return log_mean_exp(log_w, dim=0), ((k / ess - 1.0).clamp_min(0.0) / max(k - 1, 1)).sqrt()


def amortization_gap(model: VAE, x: Tensor, *, steps: int = 200, lr: float = 0.05, samples: int = 4,
                     eval_samples: int = 200, importance_samples: int = 0, seed: int = 0) -> AmortizationGap:
    """Measure the amortization gap of ``model``'s encoder on images ``x`` (binary for a Bernoulli decoder).

    Starts each image's q at the encoder's output, optimizes it with :func:`fit_posteriors`
    (the learning rate falling to a twentieth of ``lr`` so that the last steps settle), then
    scores both q's with the same ``eval_samples`` draws of ε (so the difference is precise).
    The optimum is only approached, so the measured gap is, if anything, an underestimate.
    Defined in the chapter on amortized inference.

    Args:
        model: a trained VAE (its weights are not changed).
        x: images ``[B, ...]``.
        steps, lr, samples: the per-image optimization (see :func:`fit_posteriors`).
        eval_samples: draws of z per image for the two final ELBO estimates.
        importance_samples: k for log p(x) by importance sampling (0 skips it).
        seed: seeds every draw.

    >>> import torch
    >>> from vae_lib.models import VAE
    >>> gap = amortization_gap(VAE(latent_dim=2, hidden_dim=8), torch.rand(3, 784).bernoulli(), steps=20)
    >>> gap.amortization.shape
    torch.Size([3])
    """
    model.eval()
    with torch.no_grad():
        mu0, logvar0 = model.encode(x)
    fit = fit_posteriors(model, x, mu0, logvar0, steps, lr, samples, _generator(seed), final_lr=lr / 20)
    with torch.no_grad():
        scores = [elbo_with_posterior(model, x, mu, logvar, eval_samples, _generator(seed + 1))
                  for mu, logvar in ((mu0, logvar0), (fit.mu, fit.logvar))]
    log_px = log_px_error = None
    if importance_samples:
        k = _positive_int("importance_samples", importance_samples)
        log_px, log_px_error = _importance_log_px(model, x, fit.mu, fit.logvar, k, _generator(seed + 2))
    return AmortizationGap(scores[0], scores[1], log_px, log_px_error, fit.mu, fit.logvar)


# --------------------------------------------------------------------------- the exact posterior of a 2-D z


@torch.no_grad()
def log_joint_on_grid(model: VAE, x: Tensor, axis: Tensor, center: Tensor | None = None) -> Tensor:
    """log p(x, z) = log p(x|z) + log p(z) for z on the square grid ``axis × axis``: ``[B, G, G]``.

    For a two-dimensional z this is the whole posterior up to its normalizer: a softmax over
    the grid gives p(z|x), and logsumexp plus log(cell area) gives log p(x). Entry
    ``[b, i, j]`` is at z = center[b] + (axis[j], axis[i]) (rows go up the second
    coordinate). Defined in the chapter on amortized inference.

    Args:
        model: a VAE with ``latent_dim=2``.
        x: images ``[B, ...]``.
        axis: the grid's offsets along each axis, ``[G]``.
        center: ``[B, 2]``, where each image's grid is centred (default: the origin).

    >>> import torch
    >>> from vae_lib.models import VAE
    >>> log_joint_on_grid(VAE(latent_dim=2, hidden_dim=8), torch.rand(3, 784), torch.linspace(-3, 3, 5)).shape
    torch.Size([3, 5, 5])
    """
    if model.config.latent_dim != 2:
        raise ValueError(f"log_joint_on_grid needs a model with latent_dim=2, got {model.config.latent_dim}.")
    axis = axis.to(dtype=model.dtype)
    second, first = torch.meshgrid(axis, axis, indexing="ij")
    offsets = torch.stack([first.flatten(), second.flatten()], dim=-1)  # [G², 2]
    center = torch.zeros(len(x), 2, dtype=model.dtype) if center is None else center.to(model.dtype)
    z = offsets[:, None, :] + center[None, :, :]  # one grid per image: [G², B, 2]
    log_joint = model.log_px_given_z(x, z) + model.prior().log_prob(z)
    return log_joint.T.reshape(len(x), len(axis), len(axis))


# --------------------------------------------------------------------------- an autoencoder, for comparison


class Autoencoder(VAE):
    """The VAE's networks trained as a plain autoencoder: z = μ(x), no noise, no KL term.

    The encoder's log σ² head is ignored. Its "ELBO" terms are the reconstruction log-likelihood
    log p(x | z = μ(x)) with a KL of zero, so :func:`vae_lib.train.fit` trains it as it is (the
    "elbo" it reports is then not a bound on anything). Defined in the chapter on amortized
    inference.

    >>> import torch
    >>> model = Autoencoder(latent_dim=2, hidden_dim=8)
    >>> terms = model.elbo(torch.rand(3, 784))
    >>> bool(torch.equal(terms.kl, torch.zeros(3))), bool(torch.equal(terms.elbo, terms.reconstruction))
    (True, True)
    """

    def elbo(self, x: Tensor, beta: float = 1.0, samples: int = 1, generator: torch.Generator | None = None,
             validate: bool = True) -> ELBOTerms:
        if validate:
            self.check_input(x)
        mu, _ = self.encode(x)
        reconstruction = self.log_px_given_z(x, mu)
        zero = torch.zeros_like(reconstruction)
        return ELBOTerms(elbo=reconstruction, objective=reconstruction, reconstruction=reconstruction, kl=zero)
