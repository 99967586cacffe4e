"""Private: the VAE's input checks, each error saying what was wrong and what to do.

Kept out of :mod:`vae_lib.models` so that the model reads as the math it implements. A
``model`` here is a :class:`vae_lib.models.VAE` (anything with a ``config`` and parameters);
this module sits below it and does not import it.
Shape, dtype and device checks read only metadata (free); the value checks read the data
back to the host, so training loops run them once, not on every batch.
"""

from __future__ import annotations

import math
import torch
from torch import Tensor, nn

from vae_lib._checking import is_positive_int
from vae_lib.model_config import VAEConfig


# --------------------------------------------------------------------------- the images


def expected_shape(config: VAEConfig) -> str:
    """The shapes a model with this config accepts, for error messages."""
    return f"[B, {', '.join(map(str, config.image_shape))}] (or flat [B, {config.pixels}])"


def _shape_hint(config: VAEConfig, x: Tensor) -> str:
    channels, height, width = config.image_shape
    if x.dim() == 3 and tuple(x.shape[1:]) == (height, width) and channels == 1:
        return "add the channel dimension with x.unsqueeze(1)"
    if x.dim() == 3 and tuple(x.shape) == config.image_shape:
        return "add the batch dimension with x.unsqueeze(0)"
    return f"reshape it with x.view(-1, {', '.join(map(str, config.image_shape))})"


def _to_image_shape(config: VAEConfig, x: Tensor) -> Tensor:
    """x as ``[B, C, H, W]``, or a ValueError with a hint on how to reshape it."""
    if x.dim() == 4 and tuple(x.shape[1:]) == config.image_shape:
        return x
    if x.dim() == 2 and x.shape[1] == config.pixels:
        return x.view(-1, *config.image_shape) if x.is_contiguous() else x.reshape(-1, *config.image_shape)
    raise ValueError(
        f"Expected images of shape {expected_shape(config)}, got {list(x.shape)}; {_shape_hint(config, x)}."
    )


def _check_tensor_of_floats(config: VAEConfig, x: object) -> None:
    if not isinstance(x, Tensor):
        raise ValueError(
            f"Expected a torch.Tensor of images shaped {expected_shape(config)}, got {type(x).__name__}; "
            "convert with torch.as_tensor(x, dtype=torch.float32)."
        )
    if not x.is_floating_point():
        hint = " (e.g. x.float() / 255 for uint8 pixels)" if x.dtype == torch.uint8 else ""
        raise ValueError(
            f"Expected float images with values in [0, 1], got dtype {x.dtype}; "
            f"convert them{hint}."
        )


def _check_dtype_and_device(model: nn.Module, images: Tensor) -> None:
    parameter = next(model.parameters())
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


def as_images(model: nn.Module, x: Tensor) -> Tensor:
    """Check shape, dtype and device (no device sync) and return x as ``[B, C, H, W]``."""
    _check_tensor_of_floats(model.config, x)
    images = _to_image_shape(model.config, x)
    if images.shape[0] == 0:
        raise ValueError(f"Got an empty batch (shape {list(x.shape)}); pass at least one image.")
    _check_dtype_and_device(model, images)
    return images


def check_values(model: nn.Module, images: Tensor) -> None:
    """Finite values, and in [0, 1] for the Bernoulli likelihood (this waits for the device)."""
    lowest, highest = torch.aminmax(images.detach())
    lowest, highest = float(lowest), float(highest)
    if not (math.isfinite(lowest) and math.isfinite(highest)):
        raise ValueError("Images contain NaN or infinite values; clean the data before training.")
    if model.config.likelihood == "bernoulli" and (lowest < 0.0 or highest > 1.0):
        scale_hint = " (pixels in 0..255? divide by 255)" if highest > 1.0 else ""
        raise ValueError(
            f"The Bernoulli likelihood needs pixel values in [0, 1], got values in "
            f"[{lowest:g}, {highest:g}]{scale_hint}; rescale the images, or use likelihood='gaussian'."
        )


def check_input(model: nn.Module, x: Tensor) -> None:
    """Shape, dtype, device and values: everything :meth:`VAE.check_input` promises."""
    check_values(model, as_images(model, x))


# --------------------------------------------------------------------------- other arguments


def check_elbo_arguments(beta: float | Tensor, samples: int) -> None:
    """β ≥ 0 (a tensor β is trusted: checking it would wait for the device) and samples ≥ 1."""
    if not isinstance(beta, Tensor) and not (beta >= 0):
        raise ValueError(f"beta must be >= 0 (1 gives the ELBO), got {beta!r}.")
    if not is_positive_int(samples):
        raise ValueError(f"samples must be an integer >= 1, got {samples!r}.")
