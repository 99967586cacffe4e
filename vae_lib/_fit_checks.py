"""The checks of :func:`vae_lib.train.fit` (private): its arguments, and whether an epoch is good.

Each argument error says what to change. An epoch is good when its metrics are finite and
plausible: see :func:`elbo_bound` for the bound and why.

>>> positive_int("epochs", 3, "epochs=10"), is_finite_number(float("nan"))
(3, False)
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import Tensor, nn

from vae_lib._checking import is_positive_int

#: Seeds are whole numbers from 0 to this (they must fit the 64-bit seeds of torch.Generator).
MAX_SEED = 2**63 - 1
#: The most a pixel may cost a model that has not diverged, in nats (see :func:`elbo_bound`).
NATS_PER_PIXEL_BOUND = 100.0


def positive_int(name: str, value: object, example: str) -> int:
    """``value`` as an ``int`` if it is a whole number >= 1; else a ValueError naming ``name``."""
    if not is_positive_int(value):
        raise ValueError(f"{name} must be a whole number >= 1 (e.g. {example}), got {value!r}.")
    return int(value)


def is_finite_number(value: object) -> bool:
    """True for a finite ``int`` or ``float`` (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def checked_seed(value: object, name: str = "seed") -> int:
    """``value`` as an ``int`` if it is a whole number from 0 to :data:`MAX_SEED`; else a ValueError naming ``name``.

    >>> checked_seed(7)
    7
    >>> checked_seed(10**23)
    Traceback (most recent call last):
    ValueError: seed must be a whole number from 0 to 2**63 - 1 (e.g. seed=0), got 100000000000000000000000.
    """
    try:
        seed = operator.index(value)  # int and NumPy integers; not floats or strings
    except TypeError:
        seed = None
    if seed is None or isinstance(value, bool) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"{name} must be a whole number from 0 to 2**63 - 1 (e.g. {name}=0), got {value!r}.")
    return seed


def elbo_bound(config) -> float:
    """The largest |ELBO|, reconstruction or KL (nats per image) a model that has not diverged shows.

    :data:`NATS_PER_PIXEL_BOUND` nats per pixel. Why that bound: a Bernoulli pixel costs ln 2 ≈
    0.69 nats under a coin flip and less once the model learns; a cost of 100 nats means the
    model gave the observed value a probability e^-100 ≈ 4e-44, below the smallest normal
    float32, which only runaway logits produce. A Gaussian pixel with σ ≥ 1 and a mean within
    ten of a pixel value in [0, 1] costs under 100 nats too; for a fixed σ < 1 the same mean
    error costs up to 1/σ² times more, so the bound grows by that factor (a learned σ follows
    the errors, so needs no allowance). With ``--lr 1e6`` the ELBO reached -1.2e29 nats, far
    beyond any of these: divergence, caught at its first epoch.

    >>> from vae_lib.models import VAEConfig
    >>> elbo_bound(VAEConfig()), elbo_bound(VAEConfig(likelihood="gaussian", sigma=0.5))
    (78400.0, 313600.0)
    """
    per_pixel = NATS_PER_PIXEL_BOUND
    if config.likelihood == "gaussian" and config.sigma is not None and config.sigma < 1:
        per_pixel /= config.sigma**2
    return per_pixel * config.pixels


def implausible(metrics: Mapping[str, float], bound: float) -> str | None:
    """Why these per-image metrics cannot come from a working model (not finite, or beyond ±bound), or None.

    >>> implausible({"train_elbo": -95.0, "train_kl": 25.0}, 78400.0) is None
    True
    >>> implausible({"train_elbo": -1.2e29}, 78400.0)
    'train_elbo is -1.2e+29 nats per image, beyond the ±78,400 a working model stays within'
    >>> implausible({"test_elbo": float("nan")}, 78400.0)
    'test_elbo is nan'
    """
    for name, value in metrics.items():
        if not math.isfinite(value):
            return f"{name} is {value}"
        if abs(value) > bound:
            return f"{name} is {value:.3g} nats per image, beyond the ±{bound:,.0f} a working model stays within"
    return None


def divergence_message(where: str, problem: str, lr: float, checkpoint: Path | None,
                       on_disk: tuple[int, int] | None) -> str:
    """The message of :class:`~vae_lib.train.TrainingDiverged`: where, what, what to try, and what the
    checkpoint holds now (``on_disk``: the (epoch, batch) this run saved or resumed from, if any).

    >>> divergence_message("epoch 3", "train_elbo is nan", 1.0, Path("run.pt"), (2, 0)).split(". ")[-1]
    'The checkpoint run.pt keeps epoch 2, the last good state.'
    """
    message = (f"Training diverged in {where}: {problem} (lr={lr:g}). Try a smaller learning rate (e.g. "
               f"lr={lr / 10:g}), inputs finite and in [0, 1] (model.check_input(x)), a clamped log-variance in a "
               "custom model or a fixed sigma for likelihood='gaussian'.")
    if checkpoint is None:
        return message
    if on_disk is not None:
        epoch, batch = on_disk
        kept = f"epoch {epoch}" if not batch else f"epoch {epoch} and {batch} batches of epoch {epoch + 1}"
        return f"{message} The checkpoint {checkpoint} keeps {kept}, the last good state."
    if checkpoint.exists():
        return f"{message} {checkpoint} was not written (no epoch of this run was good); it holds an earlier run."
    return f"{message} No checkpoint was written to {checkpoint}: no epoch of this run was good."


def check_model(model: object) -> None:
    """A TypeError unless ``model`` is a vae_lib VAE (or behaves like one)."""
    if not isinstance(model, nn.Module) or not all(hasattr(model, a) for a in ("config", "elbo", "check_input")):
        raise TypeError(
            f"fit() trains a vae_lib VAE (VAE(...) or build_vae(config)), got {type(model).__name__}."
        )


def images_of(data: object, name: str) -> Tensor:
    """The images of ``data`` (a tensor, or an ``(images, labels)`` tuple), as a tensor."""
    if isinstance(data, (tuple, list)):
        if not data:
            raise ValueError(f"{name} is an empty {type(data).__name__}; pass images [N, 1, 28, 28] "
                             "or an (images, labels) tuple.")
        data = data[0]
    if not isinstance(data, Tensor):
        try:
            data = torch.as_tensor(data)
        except (TypeError, ValueError, RuntimeError) as err:
            raise ValueError(
                f"{name} must be a tensor of images [N, 1, 28, 28] or an (images, labels) tuple, "
                f"got {type(data).__name__}."
            ) from err
    if data.dim() == 0 or data.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {list(data.shape)}): pass at least one image.")
    return data
