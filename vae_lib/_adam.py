"""Private: Adam for the training loop, with the fastest implementation, and the flush of tiny moments.

Used by :func:`vae_lib.train.fit` (``vae_lib.train`` re-exports these names; the tests set
``train.FLUSH_EVERY``, which the loop reads there). The measurements behind both choices are in
bench/README.md.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["FLUSH_EVERY", "TINY_MOMENT", "flush_tiny_moments", "fused_adam"]


def fused_adam(model: nn.Module, lr: float) -> torch.optim.Adam:
    """Adam with the fastest implementation for the device.

    The fused kernel (one call for all parameters) exists on CUDA, the CPU and MPS in recent
    PyTorch; on the CPU it measured ~4× faster per step than ``foreach`` (see bench/README.md).
    """
    try:
        return torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    except (RuntimeError, ValueError, TypeError):  # a device without the fused kernel
        return torch.optim.Adam(model.parameters(), lr=lr)


TINY_MOMENT = 1e-30  # Adam moments below this are set to zero on the CPU (see flush_tiny_moments)
FLUSH_EVERY = 50  # optimizer steps between two such flushes


def flush_tiny_moments(optimizer: torch.optim.Optimizer) -> int:
    """Set Adam moments smaller than :data:`TINY_MOMENT` to exactly zero; return how many.

    Why: moments of weights that rarely get a gradient decay into subnormal floats, which
    x86 CPUs process many times more slowly; zeroing them changes no update measurably
    (the measurements and the bound: bench/README.md, "Subnormal Adam moments").

    >>> import torch
    >>> w = torch.nn.Parameter(torch.ones(4))
    >>> opt = torch.optim.Adam([w])
    >>> w.grad = torch.tensor([1.0, 1e-20, 1e-32, 0.0]); opt.step()  # m = 0.1·g, v = 0.001·g²
    >>> flush_tiny_moments(opt)  # m = 1e-33 and v = 1e-43 (a subnormal) are tiny
    2
    >>> (opt.state[w]["exp_avg"] == 0).tolist(), (opt.state[w]["exp_avg_sq"] == 0).tolist()
    ([False, False, True, True], [False, True, True, True])
    """
    flushed = 0
    with torch.no_grad():
        for state in optimizer.state.values():
            for key in ("exp_avg", "exp_avg_sq"):
                moment = state.get(key)
                if moment is None:
                    continue
                tiny = (moment.abs() < TINY_MOMENT) & (moment != 0)
                flushed += int(tiny.sum())
                moment.masked_fill_(tiny, 0.0)
    return flushed
