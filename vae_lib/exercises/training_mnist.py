"""Chapter 9 (training a VAE on MNIST): its problem data and exercise self-checks.

Every expected value and every known mistake is computed from the data below, by the right
method and by the typical wrong ones; a test checks that the chapter states the same data.

>>> from vae_lib.exercises import training_mnist as exercises
>>> exercises.PIXELS, exercises.BIG_HIDDEN, exercises.BIG_LATENT
(784, 500, 50)
>>> exercises.check_adam_steps(exercises.EPOCHS * (exercises.N_TRAIN // exercises.BATCH_SIZE)).correct
✗ That drops the last, smaller batch of every epoch (or rounds the total): fit keeps it, so every epoch has one more step.
False
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
from torch.distributions import Normal, kl_divergence

from vae_lib.checks import Check, CheckResult, Mistake
from vae_lib.i18n import current_language, tr
from vae_lib.evaluate import bits_per_dim
from vae_lib.models import VAE, VAEConfig

__all__ = [
    "PIXELS",
    "BIG_HIDDEN",
    "BIG_LATENT",
    "N_TRAIN",
    "BATCH_SIZE",
    "EPOCHS",
    "BURDA_NLL_NATS",
    "ENCODER_MU",
    "ENCODER_LOGVAR",
    "check_parameter_count",
    "check_adam_steps",
    "check_bits_per_dim",
    "check_closed_form_kl",
]

# ----------------------------------------------------------------------------- problem data

#: ex-mnist-parameters: an MLP VAE for MNIST's 784 pixels with wider layers and more latents.
PIXELS, BIG_HIDDEN, BIG_LATENT = 784, 500, 50
#: ex-mnist-steps: training images (the bundled offline subset), batch size and epochs.
N_TRAIN, BATCH_SIZE, EPOCHS = 4_000, 256, 20
#: ex-mnist-bits: the test negative log-likelihood of the VAE of Burda et al. (2016), in nats per image.
BURDA_NLL_NATS = 86.76
#: ex-mnist-kl: what an encoder returned for one image: the mean and the log-variance of q(z|x).
ENCODER_MU = (0.5, -1.0, 0.0)
ENCODER_LOGVAR = (0.0, -1.0, 0.7)


# ----------------------------------------------------------------------------- ex-mnist-parameters


def _layer(inputs: int, outputs: int, bias: bool = True) -> int:
    return inputs * outputs + (outputs if bias else 0)


@lru_cache(maxsize=None)
def _parameter_check(language: str | None = None) -> Check:  # one per language (messages translated)
    d_in, h, d = PIXELS, BIG_HIDDEN, BIG_LATENT
    model = VAE(VAEConfig(latent_dim=d, hidden_dim=h))
    right = sum(p.numel() for p in model.parameters())  # the library's network, counted
    return Check(
        "parameters of a 784-500-50 MLP VAE",
        right,
        [
            Mistake(_layer(d_in, h) + _layer(h, d) + _layer(d, h) + _layer(h, d_in),
                    tr("The encoder has two heads, one for μ and one for log σ²: you counted one.")),
            Mistake(_layer(d_in, h) + 2 * _layer(h, d),
                    tr("That is the encoder alone: the decoder z → hidden → pixels has parameters too.")),
            Mistake(_layer(d, h) + _layer(h, d_in), tr("That is the decoder alone: add the encoder.")),
        ],
        kind="integer",
        hint=tr("Add up the layers: a linear layer has inputs × outputs weights and one bias per output "
                "(forgetting the biases is the most common slip)."),
        correct_message=tr("Most of them sit in the two layers that touch the 784 pixels."),
    )


def check_parameter_count(answer: object) -> CheckResult:
    """Exercise ex-mnist-parameters: the number of parameters of a 784-500-50 MLP VAE.

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _parameter_check(current_language())(answer)


# ----------------------------------------------------------------------------- ex-mnist-steps


@lru_cache(maxsize=None)
def _steps_check(language: str | None = None) -> Check:  # one per language (messages translated)
    per_epoch = math.ceil(N_TRAIN / BATCH_SIZE)  # fit keeps the last, smaller batch
    right = EPOCHS * per_epoch
    return Check(
        "Adam steps in the whole run",
        right,
        [
            Mistake(EPOCHS * (N_TRAIN // BATCH_SIZE),
                    tr("That drops the last, smaller batch of every epoch (or rounds the total): fit keeps it, "
                       "so every epoch has one more step.")),
            Mistake(math.ceil(EPOCHS * N_TRAIN / BATCH_SIZE),
                    tr("You divided all the images of all epochs by the batch size at once; each epoch ends with "
                       "its own smaller batch.")),
            Mistake(per_epoch, tr("That is one epoch: the run has several.")),
            Mistake(EPOCHS * N_TRAIN, tr("That counts images, not steps: one step uses a whole batch.")),
        ],
        kind="integer",
        hint=tr("Count the batches of one epoch (the last one may be smaller), then multiply by the epochs."),
        correct_message=tr("One Adam step per batch, the smaller last batch included."),
    )


def check_adam_steps(answer: object) -> CheckResult:
    """Exercise ex-mnist-steps: the number of Adam steps of a run with vae_lib's fit.

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _steps_check(current_language())(answer)


# ----------------------------------------------------------------------------- ex-mnist-bits


@lru_cache(maxsize=None)
def _bits_check(language: str | None = None) -> Check:  # one per language (messages translated)
    nats = BURDA_NLL_NATS
    return Check(
        "bits per dimension",
        float(bits_per_dim(nats, PIXELS)),
        [
            Mistake(nats / PIXELS, tr("That is nats per pixel: convert nats to bits too (1 bit = ln 2 nats).")),
            Mistake(nats / math.log(2), tr("That is bits per image: divide by the number of pixels as well.")),
            Mistake(nats * math.log(2) / PIXELS,
                    tr("You multiplied by ln 2: a nat is less than a bit, so the number of bits is larger "
                       "than the number of nats.")),
            Mistake(nats / (PIXELS * math.log10(2)),
                    tr("You used log10(2); the conversion from nats to bits needs the natural logarithm of 2.")),
        ],
        kind="number",
        hint=tr("bits = nats / ln 2, and 'per dimension' means per pixel."),
        correct_message=tr("A fraction of a bit per pixel: most pixels are easy to predict."),
    )


def check_bits_per_dim(answer: object) -> CheckResult:
    """Exercise ex-mnist-bits: a negative log-likelihood in nats per image, converted to bits per pixel.

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _bits_check(current_language())(answer)


# ----------------------------------------------------------------------------- ex-mnist-kl


def _half_sum(terms: torch.Tensor) -> float:
    return float(0.5 * terms.sum())


@lru_cache(maxsize=None)
def _kl_check(language: str | None = None) -> Check:  # one per language (messages translated)
    mu = torch.tensor(ENCODER_MU, dtype=torch.float64)
    logvar = torch.tensor(ENCODER_LOGVAR, dtype=torch.float64)
    q = Normal(mu, torch.exp(0.5 * logvar))
    right = float(kl_divergence(q, Normal(torch.zeros(3, dtype=torch.float64), 1.0)).sum())
    return Check(
        "KL(q(z|x) || N(0, I))",
        right,
        [
            Mistake(_half_sum(mu**2 + torch.exp(2 * logvar) - 1 - 2 * logvar),
                    tr("You read the encoder's output as log σ; it is log σ², the log-variance.")),
            Mistake(_half_sum(mu**2 + torch.exp(0.5 * logvar) - 1 - logvar),
                    tr("You wrote σ where the formula has σ², the variance: σ² = exp(log σ²).")),
            Mistake(2 * right, tr("You dropped the factor 1/2.")),
            Mistake(-right, tr("The sign is flipped: a KL divergence is never negative.")),
            Mistake(_half_sum(mu**2 + torch.exp(logvar) - 1 + logvar),
                    tr("The log-variance enters with a minus sign: −log σ² penalises a variance that is too small.")),
        ],
        kind="number",
        hint=tr("KL = ½ Σ_j (μ_j² + σ_j² − 1 − log σ_j²), with σ_j² = exp(log σ_j²)."),
        correct_message=tr("Each dimension pays for a mean away from 0 and a variance away from 1."),
    )


def check_closed_form_kl(answer: object) -> CheckResult:
    """Exercise ex-mnist-kl: the closed-form KL term of one image, from the encoder's μ and log σ².

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _kl_check(current_language())(answer)
