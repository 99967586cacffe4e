"""Private: reproducible random draws with a ``torch.Generator``, on any device.

Two problems a student need not read about: ``torch.distributions`` objects cannot take a
generator, and a CPU generator should give the same draws whatever device the model is on.
"""

from __future__ import annotations

import hashlib

import torch
from torch import Tensor
from torch.distributions import Distribution


def derived_seed(seed: int, stream: str) -> int:
    """An independent seed for one random stream of a run (``"permutation"``, ``"noise"``, ...).

    >>> derived_seed(0, "noise") == derived_seed(0, "noise") != derived_seed(0, "permutation")
    True
    """
    digest = hashlib.sha256(f"vae_lib:{seed}:{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def standard_normal(samples: int, shape: tuple[int, ...], like: Tensor,
                    generator: torch.Generator | None) -> Tensor:
    """``samples`` draws of N(0, I) noise of ``shape``: ``[samples, *shape]`` on ``like``'s device and dtype.

    With a generator, each sample is drawn by its own call, so the s-th sample is the same
    however the samples are split into chunks (and the first sample is the one a
    single-sample call draws). A generator on another device than ``like`` (e.g. a CPU
    generator for a CUDA model) is allowed: the noise is drawn there and moved, so a seeded
    CPU generator gives the same draws whatever device the model is on.
    """
    if generator is None:
        return torch.randn((samples, *shape), device=like.device, dtype=like.dtype)
    draws = [torch.randn(shape, generator=generator, device=generator.device, dtype=like.dtype)
             for _ in range(samples)]
    noise = draws[0].unsqueeze(0) if samples == 1 else torch.stack(draws)
    return noise.to(like.device)


def sample(distribution: Distribution, samples: int, generator: torch.Generator | None) -> Tensor:
    """``distribution.sample((samples,))``, made reproducible by ``generator`` when one is given.

    The draws happen under a forked global RNG seeded from the generator, so the global RNG
    state is left untouched and the generator advances by one draw.
    """
    if generator is None:
        return distribution.sample((samples,))
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device).item())
    try:
        device = distribution.mean.device
    except NotImplementedError:  # a distribution without a mean: assume its parameters are on the CPU
        device = torch.device("cpu")
    if device.type == "cpu":
        with torch.random.fork_rng(devices=[]):
            torch.random.default_generator.manual_seed(seed)
            return distribution.sample((samples,))
    index = device.index if device.index is not None else 0
    with torch.random.fork_rng(devices=[index], device_type=device.type):
        torch.random.default_generator.manual_seed(seed)
        if device.type == "cuda":
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)
        elif device.type == "mps":
            torch.mps.manual_seed(seed)
        return distribution.sample((samples,))
