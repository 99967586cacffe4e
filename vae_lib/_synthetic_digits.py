"""How :func:`vae_lib.data.synthetic_digits` draws its 10 toy shape classes.

Each image is a shape (ring, bars, diagonals, plus, cross, disk, figure eight, square) given
as a distance field, drawn with a random shift, size, rotation, stroke width and ink.

>>> images, labels = draw(4, seed=0)
>>> images.shape, labels.dtype
(torch.Size([4, 1, 28, 28]), torch.int64)
"""

from __future__ import annotations

import torch

from vae_lib._mnist_files import IMAGE_SIZE


def draw(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` shape images (float32 N×1×28×28 in [0, 1]) and their balanced classes (int64 N)."""
    generator = torch.Generator().manual_seed(seed)

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, 1, 1, generator=generator)

    labels = (torch.arange(n) % 10)[torch.randperm(n, generator=generator)]
    shift_x, shift_y = uniform(-3, 3), uniform(-3, 3)
    scale, angle = uniform(0.8, 1.2), uniform(-0.3, 0.3)
    half_width, ink = uniform(0.8, 1.6), uniform(0.8, 1.0)

    pixel = torch.arange(IMAGE_SIZE, dtype=torch.float32) - (IMAGE_SIZE - 1) / 2
    dx, dy = pixel.view(1, 1, -1) - shift_x, pixel.view(1, -1, 1) - shift_y
    # Shape coordinates: the pixel grid un-shifted, un-rotated and un-scaled.
    u = (torch.cos(angle) * dx + torch.sin(angle) * dy) / scale
    v = (-torch.sin(angle) * dx + torch.cos(angle) * dy) / scale

    distance = torch.empty(n, IMAGE_SIZE, IMAGE_SIZE)
    for digit, shape in enumerate(_SHAPES):
        rows = labels == digit
        distance[rows] = shape(u[rows], v[rows])
    # Full ink within the stroke, fading to 0 over one pixel (anti-aliased edges).
    images = (half_width + 0.5 - distance * scale).clamp(0, 1) * ink
    return images.unsqueeze(1), labels


# Distances from each class's shape, in pixels of a 28×28 image centred at (0, 0).
def _segment(along: torch.Tensor, across: torch.Tensor, half_length: float) -> torch.Tensor:
    return torch.sqrt(across**2 + (along.abs() - half_length).clamp(min=0) ** 2)


def _ring(u: torch.Tensor, v: torch.Tensor, radius: float = 8.0, centre_v: float = 0.0) -> torch.Tensor:
    return (torch.sqrt(u**2 + (v - centre_v) ** 2) - radius).abs()


def _diagonal_down(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:  # "\" (v grows downwards)
    return _segment((u + v) / 2**0.5, (u - v) / 2**0.5, 9.0)


def _diagonal_up(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:  # "/"
    return _segment((u - v) / 2**0.5, (u + v) / 2**0.5, 9.0)


_SHAPES = [
    _ring,
    lambda u, v: _segment(v, u, 9.0),  # vertical bar
    lambda u, v: _segment(u, v, 9.0),  # horizontal bar
    _diagonal_down,
    _diagonal_up,
    lambda u, v: torch.minimum(_segment(v, u, 8.0), _segment(u, v, 8.0)),  # plus
    lambda u, v: torch.minimum(_diagonal_down(u, v), _diagonal_up(u, v)),  # cross
    lambda u, v: (torch.sqrt(u**2 + v**2) - 5.0).clamp(min=0),  # filled disk
    lambda u, v: torch.minimum(_ring(u, v, 4.5, -4.5), _ring(u, v, 4.5, 4.5)),  # figure eight
    lambda u, v: (torch.maximum(u.abs(), v.abs()) - 7.0).abs(),  # square
]
