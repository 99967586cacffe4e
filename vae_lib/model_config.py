"""A VAE's configuration: everything that defines its architecture (not its weights).

:class:`VAEConfig` is hashable and JSON-friendly, so a trained model can be cached by a hash of
its configuration and a checkpoint can record it. It sits below :mod:`vae_lib.models` (which
re-exports it) and above :mod:`vae_lib.networks`, whose table of networks names the valid
architectures.

>>> from vae_lib.model_config import VAEConfig
>>> VAEConfig(latent_dim=2).pixels
784
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass

from vae_lib._checking import is_positive_int
from vae_lib.networks import NETWORKS

__all__ = ["ARCHITECTURES", "LIKELIHOODS", "VAEConfig"]

ARCHITECTURES = tuple(NETWORKS)  # ("mlp", "conv", "linear")
LIKELIHOODS = ("bernoulli", "gaussian")


# --------------------------------------------------------------------------- configuration


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
        for name, value in _checked_config_fields(self).items():
            object.__setattr__(self, name, value)  # a frozen dataclass: normalise in place once

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

    @classmethod
    def coerce(cls, config: VAEConfig | Mapping | None = None, **overrides) -> VAEConfig:
        """The one way to make a config from a config, a dict of its fields or None (defaults), plus overrides.

        Raises TypeError for anything else, ValueError for an unknown key or a bad value.

        >>> VAEConfig.coerce({"latent_dim": 2}, hidden_dim=64) == VAEConfig(latent_dim=2, hidden_dim=64)
        True
        """
        if config is None:
            return cls.from_dict(overrides)
        if isinstance(config, VAEConfig):
            return cls.from_dict({**config.to_dict(), **overrides}) if overrides else config
        if isinstance(config, Mapping):
            return cls.from_dict({**config, **overrides})
        raise TypeError(
            f"config must be a VAEConfig or a dict of its fields (None gives the defaults), "
            f"got {type(config).__name__}."
        )


# --------------------------------------------------------------------------- checks of the fields


def _check_positive_int(name: str, value: object) -> None:
    if not is_positive_int(value):
        raise ValueError(f"VAEConfig.{name} must be an integer >= 1, got {value!r}.")


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"VAEConfig.{name} must be one of {', '.join(map(repr, choices))}, got {value!r}.")


def _checked_sigma(sigma: object, likelihood: str) -> float | None:
    if sigma is None:
        return None
    if likelihood != "gaussian":
        raise ValueError(
            f"VAEConfig.sigma={sigma!r} only applies to likelihood='gaussian'; "
            "leave sigma=None for likelihood='bernoulli'."
        )
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)):
        raise ValueError(f"VAEConfig.sigma must be a number > 0 or None, got {sigma!r}.")
    if not (math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"VAEConfig.sigma must be > 0 (e.g. 0.1) or None to learn it, got {sigma!r}.")
    return float(sigma)


def _checked_image_shape(shape: object, architecture: str) -> tuple[int, int, int]:
    if not isinstance(shape, (tuple, list)) or len(shape) != 3 or any(not is_positive_int(s) for s in shape):
        raise ValueError(
            "VAEConfig.image_shape must be three positive integers (channels, height, width), "
            f"e.g. (1, 28, 28); got {shape!r}."
        )
    if architecture == "conv" and (shape[1] % 4 or shape[2] % 4):
        raise ValueError(
            f"VAEConfig.image_shape={tuple(shape)} does not suit architecture='conv': its two "
            "stride-2 layers need height and width divisible by 4 (e.g. 28 × 28); "
            "use architecture='mlp' or pad the images."
        )
    return tuple(int(s) for s in shape)


def _checked_config_fields(config: VAEConfig) -> dict[str, object]:
    """Check every field of a new config; return the fields that need normalising, normalised.

    NumPy integers become plain ints and lists tuples, so that equal configs hash equal.
    """
    _check_positive_int("latent_dim", config.latent_dim)
    _check_positive_int("hidden_dim", config.hidden_dim)
    _check_choice("architecture", config.architecture, ARCHITECTURES)
    _check_choice("likelihood", config.likelihood, LIKELIHOODS)
    return {
        "latent_dim": int(config.latent_dim),
        "hidden_dim": int(config.hidden_dim),
        "sigma": _checked_sigma(config.sigma, config.likelihood),
        "image_shape": _checked_image_shape(config.image_shape, config.architecture),
    }
