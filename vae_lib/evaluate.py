"""How good is a trained VAE? Test ELBO, importance-sampled log p(x), and bits per dimension.

The ELBO is a lower bound on log p(x). Importance sampling with the encoder q(z|x) as proposal
tightens it: with k samples,

    log p(x) ≈ log (1/k) Σ_i p(x|z_i) p(z_i) / q(z_i|x),   z_i ~ q(z|x),

whose expectation is the IWAE bound L_k: L_1 is the ELBO, and L_k rises to log p(x) as k grows
(Burda et al., 2016). How far below log p(x) it stays depends on how close q(z|x) is to the
true posterior: a fraction of a nat for a good encoder, several nats for a poor one, and the
reported standard error does not see this gap (see :class:`LogPxResult`). The weights come
from :mod:`vae_lib.estimators`. All numbers are in nats per image (log-likelihoods summed over
pixels, averaged over images) unless they say bits per dimension. Defined in the chapter on
training a VAE on MNIST (the estimator itself: the chapter on the marginal likelihood and
importance sampling).

>>> import torch
>>> from vae_lib.models import VAE
>>> from vae_lib import evaluate
>>> images = torch.rand(8, 1, 28, 28)
>>> result = evaluate.log_px(VAE(latent_dim=2), images, k=20, seed=0)
>>> result.log_px.shape, 1 <= result.mean_ess <= 20
(torch.Size([8]), True)
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor

from vae_lib._checking import is_positive_int
from vae_lib._sampling import derived_seed
from vae_lib.data import binarize as binarize_set
from vae_lib.device import pick_device
from vae_lib.estimators import importance_log_sums
from vae_lib.models import VAE

#: Images per forward pass when scoring a test set (fit and the command line use the same).
TEST_BATCH_SIZE = 1000
#: Random streams of an evaluation, derived from its seed (fit and the command line share them).
TEST_BINARIZE_STREAM, TEST_NOISE_STREAM = "test-binarize", "test-noise"

__all__ = ["bits_per_dim", "test_elbo", "log_px", "LogPxResult", "iwae_gap", "NonFiniteScore"]


class NonFiniteScore(ValueError):
    """A score came out NaN or infinite: the model's weights or outputs are not finite (its training
    diverged, most likely). Raised instead of returning a NaN as if it were a result."""


def bits_per_dim(nats_per_image: float | Tensor, dims: int = 784) -> float | Tensor:
    """Convert a cost in nats per image (a negative log-likelihood, e.g. −ELBO) to bits per dimension.

    bits/dim = nats / (dims · ln 2). For a Bernoulli likelihood this is a code length for the
    binary pixels. For a Gaussian likelihood it refers to a *density* over continuous pixel
    values: it can be negative and is not comparable with discrete bits/dim unless the data
    were dequantised (uniform noise added to 8-bit values, then the 256-bin offset accounted for).
    Defined in the chapter on training a VAE on MNIST.

    Args:
        nats_per_image: −log p(x) (or −ELBO) per image, a number or tensor.
        dims: values per image (784 for MNIST).

    >>> round(bits_per_dim(784 * math.log(2)), 6)
    1.0
    """
    if not is_positive_int(dims):
        raise ValueError(f"dims must be a positive integer (784 for MNIST), got {dims!r}.")
    return nats_per_image / (dims * math.log(2))


# --------------------------------------------------------------------------- shared plumbing


@contextmanager
def _evaluation_mode(model: VAE, device: str | torch.device | None) -> Iterator[torch.device]:
    """Eval mode, no gradients, on ``device``; the model's mode and device are restored afterwards."""
    was_training = model.training
    original_device = model.device
    target = original_device if device is None else pick_device(device)
    model.eval()
    model.to(target)
    try:
        with torch.no_grad():
            yield target
    finally:
        model.to(original_device)
        model.train(was_training)


def _check_images(images: Tensor) -> Tensor:
    if not isinstance(images, Tensor):
        images = torch.as_tensor(images)
    if images.dim() < 2 or images.shape[0] == 0:
        raise ValueError(
            f"images must be a non-empty batch shaped [N, 1, 28, 28] or [N, 784], got shape {list(images.shape)}."
        )
    return images


def _check_positive(name: str, value: object) -> int:
    if not is_positive_int(value):
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return value


def _prepared(images: Tensor, binarize: str | None, seed: int) -> Tensor:
    """The whole set as floats in [0, 1] (uint8 is divided by 255), binarized as ``binarize`` says.

    The binary sample depends only on ``seed``, not on the batch size or the device, so the
    command line scores exactly the set :func:`~vae_lib.train.fit` reported on.
    """
    if images.dtype == torch.uint8:
        images = images.float() / 255.0
    return binarize_set(images, binarize, seed=derived_seed(seed, TEST_BINARIZE_STREAM))


def _refuse_non_finite(model: VAE, what: str, values: dict[str, float]) -> None:
    """Raise :class:`NonFiniteScore` if any of ``values`` is NaN or infinite, saying why and what to do."""
    if all(math.isfinite(value) for value in values.values()):
        return
    weights_finite = all(bool(torch.isfinite(p).all()) for p in model.parameters())
    why = "its outputs overflow on these images" if weights_finite else "its weights hold NaN or infinite values"
    shown = ", ".join(f"{name} {value:.4g}" for name, value in values.items())
    raise NonFiniteScore(
        f"The model's {what} is not a number ({shown}): {why}, so there is no score to report. Its training "
        "probably diverged: use a checkpoint from before it did, or train again with a smaller learning rate."
    )


def _batches(images: Tensor, batch_size: int) -> Iterator[Tensor]:
    for start in range(0, images.shape[0], batch_size):
        yield images[start:start + batch_size]


# --------------------------------------------------------------------------- test ELBO


def test_elbo(model: VAE, images: Tensor, batch_size: int = TEST_BATCH_SIZE,
              device: str | torch.device | None = None, binarize: str | None = "none",
              seed: int = 0) -> dict[str, float]:
    """Mean ELBO, reconstruction and KL (nats per image) and bits/dim on a set of images.

    Runs in eval mode without gradients, one z sample per image (the KL is exact). The ELBO is
    defined in the chapter on the ELBO; scoring a test set, in the chapter on training a VAE on MNIST.

    Args:
        model: a :class:`~vae_lib.models.VAE`.
        images: ``[N, C, H, W]`` or ``[N, C·H·W]``, floats in [0, 1] (uint8 is divided by 255).
        batch_size: images per forward pass.
        device: where to compute (default: where the model is); the model is moved back afterwards.
        binarize: one of :data:`vae_lib.data.BINARIZATIONS`, as the model was trained:
            ``"none"`` scores the values as given, ``"threshold"`` pixel > 0.5, ``"dynamic"`` and
            ``"static"`` one seeded binary sample of the set (the same one :func:`~vae_lib.train.fit`
            reports its test ELBO on, for the same ``seed``).
        seed: the run's seed; the binary sample and the z samples come from streams derived from
            it, the same on every device. The binary sample does not depend on ``batch_size``; the
            z samples do (they are drawn batch by batch): keep the default to reproduce fit's numbers.

    Returns:
        ``{"elbo", "reconstruction", "kl", "bits_per_dim", "n_images"}``; ``bits_per_dim`` is −ELBO
        in bits per pixel.

    Raises:
        NonFiniteScore: the ELBO came out NaN or infinite (the model diverged): never returned as a result.

    >>> import torch
    >>> from vae_lib.models import VAE
    >>> sorted(test_elbo(VAE(latent_dim=2), torch.rand(4, 784)))
    ['bits_per_dim', 'elbo', 'kl', 'n_images', 'reconstruction']
    """
    images = _prepared(_check_images(images), binarize, seed)
    batch_size = _check_positive("batch_size", batch_size)
    totals = {"elbo": 0.0, "reconstruction": 0.0, "kl": 0.0}
    with _evaluation_mode(model, device) as target:
        generator = torch.Generator().manual_seed(derived_seed(seed, TEST_NOISE_STREAM))
        for batch in _batches(images, batch_size):
            batch = batch.to(device=target, dtype=model.dtype)
            terms = model.elbo(batch, generator=generator, validate=True)
            for name in totals:
                totals[name] += float(getattr(terms, name).double().sum())
    n_images = images.shape[0]
    result = {name: total / n_images for name, total in totals.items()}
    _refuse_non_finite(model, "test ELBO", result)
    result["bits_per_dim"] = float(bits_per_dim(-result["elbo"], model.config.pixels))
    result["n_images"] = n_images
    return result


test_elbo.__test__ = False  # a library function, not a pytest test, even when imported by name


# --------------------------------------------------------------------------- log p(x)


@dataclass
class LogPxResult:
    """Importance-sampled log p(x) with diagnostics (all per-image tensors on the CPU).

    What the standard error covers, and what it does not: ``standard_error`` measures the Monte
    Carlo spread of the estimate around its own expectation, the IWAE bound L_k, i.e. how much
    the number would move with another seed. It says nothing about the bias L_k − log p(x),
    which is small only when q(z|x) is close to the true posterior: for a poor encoder it can
    be several nats while the standard error is a few hundredths of a nat. A low ESS
    (compared with k) is the warning sign; rising estimates as k grows are another.
    Defined in the chapter on the marginal likelihood and importance sampling.

    Attributes:
        log_px: ``[N]`` estimates of log p(x) (nats). Each is the log of an unbiased estimate of
            p(x), so on average it lies below log p(x): its expectation is the IWAE bound L_k,
            below log p(x) by a gap that shrinks with k and with a better encoder.
        mean: mean of ``log_px`` (nats per image).
        ess: ``[N]`` effective sample size (Σw)²/Σw² of the k importance weights, between 1 and k.
            Near 1 means one sample dominated and the estimate is unreliable.
        mean_ess: mean of ``ess``.
        standard_error: ``[N]`` Monte Carlo standard error of ``log_px`` by the delta method,
            √((1/ESS − 1/k) · k/(k−1)); NaN for k = 1. Too optimistic when weights are
            heavy-tailed, and blind to the gap L_k − log p(x) (see above).
        mean_standard_error: standard error of ``mean`` (images independent); the same caveats.
        k: importance samples per image.
        bits_per_dim: −``mean`` in bits per dimension.
    """

    log_px: Tensor
    mean: float
    ess: Tensor
    mean_ess: float
    standard_error: Tensor
    mean_standard_error: float
    k: int
    bits_per_dim: float


def _importance_sums(model: VAE, images: Tensor, k: int, chunk_size: int, batch_size: int,
                     generator: torch.Generator, device: torch.device) -> tuple[Tensor, Tensor]:
    """(log Σw, log Σw²) for every image, batch by batch, via :func:`vae_lib.estimators.importance_log_sums`."""
    sums_w, sums_w2 = [], []
    for batch in _batches(images, batch_size):
        batch = batch.to(device=device, dtype=model.dtype)
        model.check_input(batch)
        log_sum_w, log_sum_w2 = importance_log_sums(model, batch, k, chunk_size=chunk_size, generator=generator)
        sums_w.append(log_sum_w.double().cpu())
        sums_w2.append(log_sum_w2.double().cpu())
    return torch.cat(sums_w), torch.cat(sums_w2)


def log_px(model: VAE, images: Tensor, k: int = 1000, chunk_size: int = 100, batch_size: int = 100,
           seed: int = 0, generator: torch.Generator | None = None,
           device: str | torch.device | None = None,
           binarize: str | None = "none") -> LogPxResult:
    """Estimate log p(x) per image by importance sampling with q(z|x) as the proposal.

    log p(x) ≈ logsumexp_i [log p(x|z_i) + log p(z_i) − log q(z_i|x)] − log k, z_i ~ q(z|x),
    accumulated ``chunk_size`` samples at a time with a running logsumexp, so memory stays at
    ``chunk_size × batch_size`` decoder outputs even for k in the thousands. The weights come
    from :func:`vae_lib.estimators.log_importance_weights`, the same code as
    :func:`vae_lib.estimators.iwae_bound`. The estimate lies below log p(x) on average, by a
    gap its standard error does not measure (see :class:`LogPxResult`). Defined in the chapter
    on the marginal likelihood and importance sampling.

    Args:
        model: a :class:`~vae_lib.models.VAE`.
        images: ``[N, C, H, W]`` or ``[N, C·H·W]`` in [0, 1] (uint8 is divided by 255).
        k: importance samples per image (the literature reports k = 5000 for MNIST).
        chunk_size: samples per forward pass; only changes memory and speed, not the result.
        batch_size: images per forward pass.
        seed: seeds a CPU generator for z (the same draws on any device) when ``generator`` is None.
        generator: a ``torch.Generator`` to use instead of ``seed``.
        device: where to compute (default: where the model is); the model is moved back afterwards.
        binarize: as in :func:`test_elbo` (the same binary sample for the same ``seed``).

    Raises:
        NonFiniteScore: the estimate came out NaN or infinite (the model diverged).

    >>> import torch
    >>> from vae_lib.models import VAE
    >>> r = log_px(VAE(latent_dim=2), torch.rand(4, 784), k=10, chunk_size=3)
    >>> r.log_px.shape, r.k
    (torch.Size([4]), 10)
    """
    images = _prepared(_check_images(images), binarize, seed)
    k = _check_positive("k", k)
    chunk_size = _check_positive("chunk_size", chunk_size)
    batch_size = _check_positive("batch_size", batch_size)
    if generator is None:
        generator = torch.Generator().manual_seed(seed)
    with _evaluation_mode(model, device) as target:
        log_sum_w, log_sum_w2 = _importance_sums(model, images, k, chunk_size, batch_size, generator, target)
    estimates = log_sum_w - math.log(k)
    ess = torch.exp(2.0 * log_sum_w - log_sum_w2).clamp(1.0, float(k))
    if k > 1:
        standard_error = ((1.0 / ess - 1.0 / k).clamp_min(0.0) * k / (k - 1)).sqrt()
    else:
        standard_error = torch.full_like(estimates, float("nan"))
    n_images = estimates.shape[0]
    mean = float(estimates.mean())
    _refuse_non_finite(model, "log p(x) estimate", {"log p(x)": mean})
    return LogPxResult(
        log_px=estimates.float(),
        mean=mean,
        ess=ess.float(),
        mean_ess=float(ess.mean()),
        standard_error=standard_error.float(),
        mean_standard_error=float(standard_error.pow(2).sum().sqrt() / n_images),
        k=k,
        bits_per_dim=float(bits_per_dim(-mean, model.config.pixels)),
    )


def iwae_gap(model: VAE, images: Tensor, ks: Sequence[int] = (1, 10, 100, 1000), seed: int = 0,
             chunk_size: int = 100, batch_size: int = 100, device: str | torch.device | None = None,
             binarize: str | None = "none") -> dict[int, float]:
    """The mean IWAE bound L_k (nats per image) for each k: the gap to log p(x) closing as k grows.

    Every k uses the same seed, so the k = 10 samples are the first 10 of the k = 100 ones
    (common random numbers make the trend easier to see). L_1 is an estimate of the ELBO.
    Defined in the chapter on the marginal likelihood and importance sampling.

    >>> import torch
    >>> from vae_lib.models import VAE
    >>> sorted(iwae_gap(VAE(latent_dim=2), torch.rand(4, 784), ks=(1, 10)))
    [1, 10]
    """
    images = _check_images(images)
    if not ks:
        raise ValueError("ks must list at least one number of samples, e.g. (1, 10, 100).")
    bounds = {}
    for k in ks:
        result = log_px(model, images, k=k, chunk_size=chunk_size, batch_size=batch_size,
                        seed=seed, device=device, binarize=binarize)
        bounds[int(k)] = result.mean
    return bounds
