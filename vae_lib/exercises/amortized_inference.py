"""Chapter 8 (amortized inference): its problem data and exercise self-checks.

Every expected value and known mistake is computed from the data below: parameter counts from
the networks themselves, log-likelihoods with ``torch.distributions`` and ``torch.nn.functional``,
never typed in. None of them needs a trained network, so each has per-student variants
(:data:`VARIANTS`): other layer sizes, noise levels, batch shapes and grey levels, drawn within
ranges that keep its point.

>>> from vae_lib.exercises import amortized_inference as exercises
>>> exercises.check_table_size(None).correct is None
• Not answered yet: replace None with your computation and run the cell.
True
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch.distributions import Bernoulli, Normal

from vae_lib._variant import Variant
from vae_lib.checks import Check, CheckResult, Mistake
from vae_lib.i18n import tr
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
    "VARIANTS",
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


_TABLE_BOOK = {"hidden": TABLE_HIDDEN, "latent": TABLE_LATENT}


def _table_variant(rng: np.random.Generator) -> dict:
    """Another encoder: 200 to 1000 hidden units (a multiple of 50) and a latent dimension of 2 to 50."""
    return {"hidden": int(rng.integers(4, 21)) * 50, "latent": int(rng.integers(2, 51))}


def _table_size_check(data=_TABLE_BOOK) -> Check:
    hidden, latent = data["hidden"], data["latent"]
    model = VAE(latent_dim=latent, hidden_dim=hidden)
    encoder, decoder = _count(model.encoder), _count(model.decoder)
    first_layer = _count(model.encoder.hidden)
    per_image = 2 * latent
    return Check(
        "images before the table outgrows the encoder",
        _first_larger(per_image, encoder),
        [
            Mistake(_first_larger(latent, encoder),
                    tr("Each image needs a mean and a log-variance for every latent dimension, not only a mean.")),
            Mistake(_first_larger(per_image, first_layer),
                    tr("You counted only the hidden layer; the μ and log σ² output layers have weights and "
                       "biases too.")),
            Mistake(_first_larger(per_image, encoder + decoder),
                    tr("That compares with the encoder and the decoder together; the table replaces only "
                       "the encoder.")),
            Mistake(encoder, tr("That is the number of encoder parameters, not a number of images.")),
        ],
        kind="integer",
        hint=tr("Count the encoder's weights and biases layer by layer, count the table's numbers per image, "
                "and find the first N for which the table holds more."),
        # A claim about the book's numbers; a variant's may not bear it out.
        correct_message=tr("Beyond a few thousand images, the table is the bigger object, and it keeps growing.")
        if data == _TABLE_BOOK else "",
    )


TABLE = Variant(
    "ex-amortized-table", _TABLE_BOOK, _table_variant, _table_size_check,
    text=lambda d: [("784 inputs, 500 hidden units", f"784 inputs, {d['hidden']} hidden units"),
                    ("of size 20 (the means and the log-variances of a 20-dimensional $z$)",
                     f"of size {d['latent']} (the means and the log-variances of a {d['latent']}-dimensional $z$)"),
                    ("`VAE(latent_dim=20, hidden_dim=500).encoder`",
                     f"`VAE(latent_dim={d['latent']}, hidden_dim={d['hidden']}).encoder`")],
    code=lambda d: [("784 * 500 + 500 + 2 * (500 * 20 + 20)",
                     f"784 * {d['hidden']} + {d['hidden']} + 2 * ({d['hidden']} * {d['latent']} + {d['latent']})"),
                    ("VAE(latent_dim=20, hidden_dim=500)", f"VAE(latent_dim={d['latent']}, hidden_dim={d['hidden']})"),
                    ("encoder_count // 40 + 1   # the first N: 40 N",
                     f"encoder_count // {2 * d['latent']} + 1   # the first N: {2 * d['latent']} N")])


def check_table_size(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-amortized-table: the smallest N for which per-image parameters outnumber the encoder's.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key (an assignment's data cell says which); ``None``: the book's.
    """
    return TABLE.check(variant)(answer)


# ----------------------------------------------------------------------------- ex-amortized-gaussian


def _gaussian_log_likelihood(sigma: float, pixels: int, mse: float) -> float:
    """log N(x; x̂, σ² I) summed over the pixels, for a per-pixel mean squared error ``mse``."""
    return -0.5 * pixels * math.log(2 * math.pi * sigma**2) - pixels * mse / (2 * sigma**2)


_GAUSSIAN_BOOK = {"sigma": GAUSSIAN_SIGMA, "pixels": GAUSSIAN_PIXELS, "mse": GAUSSIAN_MSE}


def _gaussian_variant(rng: np.random.Generator) -> dict:
    """Another decoder and image: σ_x in [0.05, 0.3] (two decimals), 256 to 4096 pixels, a mean
    squared error in [0.002, 0.06] (three decimals); drawn until log p(x|z) is clearly positive
    (the exercise's point: a log-density can be)."""
    while True:
        data = {"sigma": round(float(rng.uniform(0.05, 0.3)), 2),
                "pixels": int(rng.choice([256, 784, 1024, 3072, 4096])),
                "mse": round(float(rng.uniform(0.002, 0.06)), 3)}
        if _gaussian_log_likelihood(**data) > 0.05 * data["pixels"]:
            return data


def _gaussian_check(data=_GAUSSIAN_BOOK) -> Check:
    sigma, pixels, mse = data["sigma"], data["pixels"], data["mse"]
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
                    tr("That is the log-density of one pixel: F.mse_loss averages over the pixels, "
                       "but log p(x|z) sums over all of them.")),
            Mistake(Normal(x_hat, math.sqrt(sigma)).log_prob(x).sum().item(),
                    tr("You used σ_x where the formula needs σ_x²: σ_x is the standard deviation, and the density "
                       "has the variance σ_x² in both places.")),
            Mistake(-squared_error / (2 * sigma**2),
                    tr("You dropped the normalizing constant −(D/2) log(2πσ_x²): it does not move the optimum, "
                       "but it is part of log p(x|z).")),
            Mistake(constant - squared_error / sigma**2, tr("The squared error is divided by 2σ_x², not σ_x².")),
            Mistake(-right, tr("Check the sign: this is a log-likelihood, not a loss.")),
        ],
        kind="number",
        hint=tr("Write log N(x; x̂, σ_x² I) as a sum over pixels, and turn the mean squared error into a sum of "
                "squared errors first."),
        correct_message=tr("A log-density can be positive: densities of a narrow Gaussian exceed 1."),
    )


GAUSSIAN = Variant(
    "ex-amortized-gaussian", _GAUSSIAN_BOOK, _gaussian_variant, _gaussian_check,
    text=lambda d: [("$\\sigma_x = 0.1$ reconstructs a 784-pixel image",
                     f"$\\sigma_x = {d['sigma']}$ reconstructs a {d['pixels']}-pixel image"),
                    ("squared error of 0.02 per pixel", f"squared error of {d['mse']} per pixel")],
    code=lambda d: [("pixels_ex, sigma_ex, mse_ex = 784, 0.1, 0.02",
                     f"pixels_ex, sigma_ex, mse_ex = {d['pixels']}, {d['sigma']}, {d['mse']}")])


def check_gaussian_log_likelihood(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-amortized-gaussian: log p(x|z) of a Gaussian decoder, from a per-pixel mean squared error.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key; ``None``: the book's.
    """
    return GAUSSIAN.check(variant)(answer)


# ----------------------------------------------------------------------------- ex-amortized-reduction

_REDUCTION_BOOK = {"batch": REDUCTION_BATCH, "pixels": REDUCTION_PIXELS}


def _reduction_variant(rng: np.random.Generator) -> dict:
    """Another batch shape: a batch of 16 to 512 images, of 256 to 4096 pixels."""
    return {"batch": int(rng.choice([16, 24, 32, 48, 50, 64, 96, 100, 128, 200, 256, 500, 512])),
            "pixels": int(rng.choice([256, 784, 1024, 3072, 4096]))}


def _reduction_check(data=_REDUCTION_BOOK) -> Check:
    """The weight the KL gets, relative to the ELBO's, when BCE is averaged over all entries and the KL summed.

    Measured on random numbers: the mixed loss times B·D equals (summed BCE) + weight · (summed KL).
    """
    batch, pixels = data["batch"], data["pixels"]
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
            Mistake(pixels, tr("That is the weight if the KL were averaged over the batch; here it is summed over "
                               "the batch as well.")),
            Mistake(batch, tr("That is only the batch's share; the mean also runs over every pixel.")),
            Mistake(1, tr("The two terms are reduced differently, so the KL is not weighted as in the ELBO.")),
        ],
        kind="integer",
        hint=tr("Multiply the mixed loss by the factor that turns the averaged BCE back into a sum over the batch "
                "and the pixels; the KL's factor is then the answer."),
        correct_message=tr("That is far beyond any β one would choose: the KL dominates, and the latent code "
                           "collapses."),
    )


REDUCTION = Variant(
    "ex-amortized-reduction", _REDUCTION_BOOK, _reduction_variant, _reduction_check,
    text=lambda d: [("$B = 128$ images of $D = 784$ pixels", f"$B = {d['batch']}$ images of $D = {d['pixels']}$ pixels")],
    code=lambda d: [("my_answer = 128 * 784", f"my_answer = {d['batch']} * {d['pixels']}")])


def check_reduction_weight(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-amortized-reduction: the effective β of a BCE averaged over all entries plus a summed KL.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key; ``None``: the book's.
    """
    return REDUCTION.check(variant)(answer)


# ----------------------------------------------------------------------------- ex-amortized-grey-floor

_GREY_BOOK = {"pixels": list(GREY_PIXELS)}


def _grey_variant(rng: np.random.Generator) -> dict:
    """Another eight-pixel image: one or two pure black or white pixels (0.0 or 1.0, which cost
    nothing) and grey levels that are multiples of 0.05 in [0.05, 0.95], in a random order."""
    ends = [float(value) for value in rng.choice([0.0, 1.0], size=int(rng.integers(1, 3)))]
    greys = [round(0.05 * int(step), 2) for step in rng.integers(1, 20, size=8 - len(ends))]
    pixels = ends + greys
    return {"pixels": [pixels[i] for i in rng.permutation(len(pixels))]}


def _grey_floor_check(data=_GREY_BOOK) -> Check:
    x = torch.tensor(data["pixels"], dtype=torch.float64)
    floor = F.binary_cross_entropy(x, x, reduction="sum").item()  # the best reconstruction is x itself
    entropies = Bernoulli(probs=x).entropy()
    return Check(
        "the smallest BCE this image allows, in nats",
        floor,
        [
            Mistake(0.0, tr("A perfect reconstruction x̂ = x does not give zero here: the grey pixels are not 0 or 1.")),
            Mistake(floor / math.log(2), tr("That is in bits (log base 2); the book's unit is nats (natural log).")),
            Mistake(floor / len(x), tr("That is the mean over the pixels; the loss sums over them.")),
            Mistake(-(x * torch.log(x.clamp_min(1e-300))).sum().item(),
                    tr("You kept only the x log x̂ half of the cross-entropy; the (1 − x) log(1 − x̂) half is "
                       "missing.")),
            Mistake(entropies.max().item(), tr("That is the largest single-pixel term; add up all the pixels.")),
        ],
        kind="number",
        hint=tr("Find the x̂ that minimizes the BCE of each pixel, and add up the BCE at those values."),
        correct_message=tr("Every grey pixel adds its entropy to the loss, however good the model."),
    )


def _grey_in_words(pixels) -> str:
    """``"0.0, 0.1, ... and 0.05"``, as the statement lists the grey levels."""
    return ", ".join(str(value) for value in pixels[:-1]) + f" and {pixels[-1]}"


GREY_FLOOR = Variant(
    "ex-amortized-grey-floor", _GREY_BOOK, _grey_variant, _grey_floor_check,
    text=lambda d: [("has the grey levels 0.0, 0.1, 0.5, 0.9, 1.0, 0.3, 0.7 and 0.05",
                     f"has the grey levels {_grey_in_words(d['pixels'])}")],
    code=lambda d: [("torch.tensor([0.0, 0.1, 0.5, 0.9, 1.0, 0.3, 0.7, 0.05],",
                     f"torch.tensor({list(d['pixels'])},")])

#: The exercises of this chapter whose problem data varies from student to student (all of them:
#: none of their numbers comes from a trained network).
VARIANTS = (TABLE, GAUSSIAN, REDUCTION, GREY_FLOOR)


def check_grey_floor(answer: object, variant: str | None = None) -> CheckResult:
    """Exercise ex-amortized-grey-floor: the smallest possible BCE (summed over pixels) for a grey image.

    Args:
        answer: the student's number (``None`` while not answered yet).
        variant: a student's variant key; ``None``: the book's.
    """
    return GREY_FLOOR.check(variant)(answer)
