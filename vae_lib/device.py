"""Pick the device to compute on: CUDA if there is one, else Apple MPS, else the CPU.

>>> from vae_lib.device import pick_device
>>> pick_device("cpu")
device(type='cpu')
>>> describe_device(pick_device("cpu"))  # doctest: +ELLIPSIS
'Using cpu: ...'
"""

from __future__ import annotations

import torch

__all__ = ["pick_device", "describe_device", "available_devices"]


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def available_devices() -> list[str]:
    """Names of the devices this machine can compute on, e.g. ``['cuda:0', 'cpu']``."""
    names = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    if _mps_available():
        names.append("mps")
    names.append("cpu")
    return names


def pick_device(device: str | torch.device | None = "auto") -> torch.device:
    """Return the :class:`torch.device` to use.

    Args:
        device: ``"auto"`` (or ``None``) picks CUDA, then Apple MPS, then the CPU.
            An explicit ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or ``"mps"`` (or a
            ``torch.device``) is checked and returned.

    Raises:
        ValueError: the name is not a device type PyTorch knows.
        RuntimeError: the device is not available here; the message lists those that are.

    >>> pick_device("auto").type in {"cuda", "mps", "cpu"}
    True
    """
    if device is None or (isinstance(device, str) and device.strip().lower() == "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")

    try:
        chosen = torch.device(device.strip().lower() if isinstance(device, str) else device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"Unknown device {device!r}: use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'."
        ) from err

    available = available_devices()
    if chosen.type == "cpu":
        return chosen
    if chosen.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = 0 if chosen.index is None else chosen.index
        if index < count:
            return chosen
        what = "no CUDA GPU is visible" if count == 0 else f"only {count} CUDA device(s) exist"
        raise RuntimeError(
            f"Device {str(chosen)!r} is not available ({what}). "
            f"Available here: {', '.join(available)}. Use device='auto' to pick the best one."
        )
    if chosen.type == "mps":
        if _mps_available():
            return chosen
        raise RuntimeError(
            "Device 'mps' is not available (it needs Apple silicon and a PyTorch build with MPS). "
            f"Available here: {', '.join(available)}. Use device='auto' to pick the best one."
        )
    raise ValueError(
        f"Unsupported device type {chosen.type!r}: use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'."
    )


def describe_device(device: str | torch.device | None = "auto", task: str = "training") -> str:
    """One line saying which device is used and why, e.g. ``Using cuda: NVIDIA H100``; ``task`` is
    what a missing GPU slows down (``"training"``, ``"evaluation"``).

    >>> describe_device("cpu").startswith("Using cpu")
    True
    """
    chosen = pick_device(device)
    if chosen.type == "cuda":
        return f"Using {chosen}: {torch.cuda.get_device_name(chosen)}"
    if chosen.type == "mps":
        return "Using mps: Apple silicon GPU"
    if device in (None, "auto") or (isinstance(device, str) and device.strip().lower() == "auto"):
        return f"Using cpu: no GPU found — {task} will be slower ({torch.get_num_threads()} threads)"
    return f"Using cpu: asked for explicitly ({torch.get_num_threads()} threads)"
