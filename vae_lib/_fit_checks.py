"""The argument checks of :func:`vae_lib.train.fit` (private): each error says what to change.

>>> positive_int("epochs", 3, "epochs=10"), is_finite_number(float("nan"))
(3, False)
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from vae_lib._checking import is_positive_int


def positive_int(name: str, value: object, example: str) -> int:
    """``value`` as an ``int`` if it is a whole number >= 1; else a ValueError naming ``name``."""
    if not is_positive_int(value):
        raise ValueError(f"{name} must be a whole number >= 1 (e.g. {example}), got {value!r}.")
    return int(value)


def is_finite_number(value: object) -> bool:
    """True for a finite ``int`` or ``float`` (not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


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
