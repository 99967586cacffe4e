"""Chapter 8 (amortized inference): its problem data and exercise self-checks.

Every expected value and known mistake is computed from the data below: parameter counts from
the networks themselves, log-likelihoods with ``torch.distributions`` and ``torch.nn.functional``,
never typed in.

>>> from vae_lib.exercises import amortized_inference as exercises
>>> exercises.check_table_size(None).correct is None
• Not answered yet: replace None with your computation and run the cell.
True
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch.distributions import Bernoulli, Normal

from vae_lib.checks import Check, CheckResult, Mistake
from vae_lib.models import VAE

__all__ = [
    "TABLE_HIDDEN",
    "TABLE_LATENT",
    "GAUSSIAN_SIGMA",
    "GAUSSIAN_PIXELS",
    "GAUSSIAN_MSE",
    "REDUCTION_BATCH",
    "REDUCTION_PIXELS",
    "GREY_PIXELS",
    "check_table_size",
    "check_gaussian_log_likelihood",
    "check_reduction_weight",
    "check_grey_floor",
]

# ----------------------------------------------------------------------------- problem data

#: Exercise ex-amortized-table: an MLP encoder 784 → TABLE_HIDDEN → (μ, log σ²) of size TABLE_LATENT.
TABLE_HIDDEN, TABLE_LATENT = 500, 20

#: Exercise ex-amortized-gaussian: a Gaussian decoder with fixed σ_x, images of this many pixels,
#: reconstructed with this mean squared error per pixel (F.mse_loss's default "mean" reduction).
GAUSSIAN_SIGMA, GAUSSIAN_PIXELS, GAUSSIAN_MSE = 0.1, 784, 0.02

#: Exercise ex-amortized-reduction: batch size and pixels per image.
REDUCTION_BATCH, REDUCTION_PIXELS = 128, 784

#: Exercise ex-amortized-grey-floor: the grey levels of a tiny eight-pixel "image".
GREY_PIXELS = (0.0, 0.1, 0.5, 0.9, 1.0, 0.3, 0.7, 0.05)


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# ----------------------------------------------------------------------------- ex-amortized-table


def _first_larger(per_image: int, fixed: int) -> int:
    """The smallest N with N · per_image > fixed."""
    return fixed // per_image + 1


@lru_cache(maxsize=None)
def _table_size_check() -> Check:
    model = VAE(latent_dim=TABLE_LATENT, hidden_dim=TABLE_HIDDEN)
    encoder, decoder = _count(model.encoder), _count(model.decoder)
    first_layer = _count(model.encoder.hidden)
    per_image = 2 * TABLE_LATENT
    return Check(
        "images before the table outgrows the encoder",
        _first_larger(per_image, encoder),
        [
            Mistake(_first_larger(TABLE_LATENT, encoder),
                    "Each image needs a mean and a log-variance for every latent dimension, not only a mean."),
            Mistake(_first_larger(per_image, first_layer),
                    "You counted only the hidden layer; the μ and log σ² output layers have weights and biases too."),
            Mistake(_first_larger(per_image, encoder + decoder),
                    "That compares with the encoder and the decoder together; the table replaces only the encoder."),
            Mistake(encoder, "That is the number of encoder parameters, not a number of images."),
        ],
        kind="integer",
        hint="Count the encoder's weights and biases layer by layer, count the table's numbers per image, "
             "and find the first N for which the table holds more.",
        correct_message="Beyond a few thousand images, the table is the bigger object, and it keeps growing.",
    )


def check_table_size(answer: object) -> CheckResult:
    """Exercise ex-amortized-table: the smallest N for which per-image parameters outnumber the encoder's.

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _table_size_check()(answer)


# ----------------------------------------------------------------------------- ex-amortized-gaussian


@lru_cache(maxsize=None)
def _gaussian_check() -> Check:
    sigma, pixels, mse = GAUSSIAN_SIGMA, GAUSSIAN_PIXELS, GAUSSIAN_MSE
    # An image and a reconstruction whose per-pixel squared error averages to exactly `mse`.
    x = torch.zeros(pixels, dtype=torch.float64)
    x_hat = torch.full((pixels,), math.sqrt(mse), dtype=torch.float64)
    assert math.isclose(F.mse_loss(x_hat, x).item(), mse)
    squared_error = F.mse_loss(x_hat, x, reduction="sum").item()
    constant = -0.5 * pixels * math.log(2 * math.pi * sigma**2)
    right = Normal(x_hat, sigma).log_prob(x).sum().item()
    assert math.isclose(right, constant - squared_error / (2 * sigma**2))
    return Check(
        "log p(x|z) in nats",
        right,
        [
            Mistake(Normal(x_hat[0], sigma).log_prob(x[0]).item(),
                    "That is the log-density of one pixel: F.mse_loss averages over the pixels, "
                    "but log p(x|z) sums over all of them."),
            Mistake(Normal(x_hat, math.sqrt(sigma)).log_prob(x).sum().item(),
                    "You used σ_x where the formula needs σ_x²: σ_x is the standard deviation, and the density has "
                    "the variance σ_x² in both places."),
            Mistake(-squared_error / (2 * sigma**2),
                    "You dropped the normalizing constant −(D/2) log(2πσ_x²): it does not move the optimum, but it "
                    "is part of log p(x|z)."),
            Mistake(constant - squared_error / sigma**2, "The squared error is divided by 2σ_x², not σ_x²."),
            Mistake(-right, "Check the sign: this is a log-likelihood, not a loss."),
        ],
        kind="number",
        hint="Write log N(x; x̂, σ_x² I) as a sum over pixels, and turn the mean squared error into a sum of "
             "squared errors first.",
        correct_message="A log-density can be positive: densities of a narrow Gaussian exceed 1.",
    )


def check_gaussian_log_likelihood(answer: object) -> CheckResult:
    """Exercise ex-amortized-gaussian: log p(x|z) of a Gaussian decoder, from a per-pixel mean squared error.

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _gaussian_check()(answer)


# ----------------------------------------------------------------------------- ex-amortized-reduction


@lru_cache(maxsize=None)
def _reduction_check() -> Check:
    """The weight the KL gets, relative to the ELBO's, when BCE is averaged over all entries and the KL summed.

    Measured on random numbers: the mixed loss times B·D equals (summed BCE) + weight · (summed KL).
    """
    batch, pixels = REDUCTION_BATCH, REDUCTION_PIXELS
    generator = torch.Generator().manual_seed(0)
    probs = torch.rand(batch, pixels, generator=generator, dtype=torch.float64).clamp(0.01, 0.99)
    x = torch.rand(batch, pixels, generator=generator, dtype=torch.float64).round()
    kl = torch.rand(batch, generator=generator, dtype=torch.float64)
    bce_sum = F.binary_cross_entropy(probs, x, reduction="sum")
    mixed = F.binary_cross_entropy(probs, x) + kl.sum()        # the bug
    scale = bce_sum / F.binary_cross_entropy(probs, x)         # what turns the mixed loss back into nats
    weight = ((mixed * scale - bce_sum) / kl.sum()).item()
    return Check(
        "the KL's effective weight β",
        round(weight),
        [
            Mistake(pixels, "That is the weight if the KL were averaged over the batch; here it is summed over "
                            "the batch as well."),
            Mistake(batch, "That is only the batch's share; the mean also runs over every pixel."),
            Mistake(1, "The two terms are reduced differently, so the KL is not weighted as in the ELBO."),
        ],
        kind="integer",
        hint="Multiply the mixed loss by the factor that turns the averaged BCE back into a sum over the batch "
             "and the pixels; the KL's factor is then the answer.",
        correct_message="That is far beyond any β one would choose: the KL dominates, and the latent code collapses.",
    )


def check_reduction_weight(answer: object) -> CheckResult:
    """Exercise ex-amortized-reduction: the effective β of a BCE averaged over all entries plus a summed KL.

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _reduction_check()(answer)


# ----------------------------------------------------------------------------- ex-amortized-grey-floor


@lru_cache(maxsize=None)
def _grey_floor_check() -> Check:
    x = torch.tensor(GREY_PIXELS, dtype=torch.float64)
    floor = F.binary_cross_entropy(x, x, reduction="sum").item()  # the best reconstruction is x itself
    entropies = Bernoulli(probs=x).entropy()
    return Check(
        "the smallest BCE this image allows, in nats",
        floor,
        [
            Mistake(0.0, "A perfect reconstruction x̂ = x does not give zero here: the grey pixels are not 0 or 1."),
            Mistake(floor / math.log(2), "That is in bits (log base 2); the book's unit is nats (natural log)."),
            Mistake(floor / len(GREY_PIXELS), "That is the mean over the pixels; the loss sums over them."),
            Mistake(-(x * torch.log(x.clamp_min(1e-300))).sum().item(),
                    "You kept only the x log x̂ half of the cross-entropy; the (1 − x) log(1 − x̂) half is missing."),
            Mistake(entropies.max().item(), "That is the largest single-pixel term; add up all the pixels."),
        ],
        kind="number",
        hint="Find the x̂ that minimizes the BCE of each pixel, and add up the BCE at those values.",
        correct_message="Every grey pixel adds its entropy to the loss, however good the model.",
    )


def check_grey_floor(answer: object) -> CheckResult:
    """Exercise ex-amortized-grey-floor: the smallest possible BCE (summed over pixels) for a grey image.

    Args:
        answer: the student's number (``None`` while not answered yet).
    """
    return _grey_floor_check()(answer)
