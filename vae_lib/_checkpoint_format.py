"""Private: what a vae_lib checkpoint file holds, read safely and checked field by field.

:mod:`vae_lib.checkpoints` writes and reads checkpoints; this module is the part of reading a
student need not open: unpickling with ``weights_only`` (and saying why a file was refused),
and :func:`check_payload`, which checks the whole dict *before* any of it is used, so that a
damaged or hand-edited file is refused in one line naming the bad field (``training.seed is a
str ...``) instead of failing later, e.g. after an epoch of resumed training.

>>> check_payload({"config": {}, "model_state": {}, "epoch": 0, "history": [7]}, Path("x.pt"))
Traceback (most recent call last):
...
vae_lib._checkpoint_format.CheckpointContentError: The checkpoint x.pt is damaged or was not written by vae_lib: \
config.latent_dim is missing. Train again, or pass another file.
"""

from __future__ import annotations

import dataclasses
import io
import math
import numbers
import pickle
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from vae_lib.data import BINARIZATIONS
from vae_lib.models import VAEConfig

__all__ = ["CheckpointContentError", "CheckpointError", "check_metadata", "check_payload", "first_sentence",
           "unpickled"]

#: The numbers fit records for every epoch (test_* too when it had test data).
_EPOCH_NUMBERS = ("train_elbo", "train_reconstruction", "train_kl", "seconds")


class CheckpointError(ValueError):
    """A checkpoint cannot be used: unreadable, not a vae_lib checkpoint, or from another run."""


class CheckpointContentError(CheckpointError):
    """The file was read, and its content proves it unusable: truncated, corrupted, not a checkpoint
    this library wrote, incomplete, or weights that do not fit its configuration.

    Only such a file may be replaced (the trained-model cache sets it aside, then trains again);
    a file that merely cannot be read now raises an ``OSError`` instead.
    """


# --------------------------------------------------------------------------- unpickling


def unpickled(content: bytes, path: Path) -> Any:
    """``torch.load(..., weights_only=True)`` of the bytes of ``path``, with errors that say what the file is."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's remarks on odd pickles: the error below says it all
            return torch.load(io.BytesIO(content), map_location="cpu", weights_only=True)
    except MemoryError:
        raise
    except pickle.UnpicklingError as err:
        if "weights only" in str(err).lower():  # torch refused what a vae_lib checkpoint never holds
            raise CheckpointContentError(_refused_pickle_message(path, str(err))) from None
        reason = first_sentence(err)
    except Exception as err:  # noqa: BLE001 - whatever torch raises on bytes it cannot parse
        reason = first_sentence(err)
    raise CheckpointContentError(
        f"Cannot read the checkpoint {path}: it is truncated, corrupted or not a PyTorch file "
        f"({reason}). Delete it and train again, or pass another file."
    )


def _refused_pickle_message(path: Path, torch_message: str) -> str:
    """Why bytes that ``weights_only`` refused were not loaded (never: how to load them anyway).

    A pickle asking for a Python object (``GLOBAL os.system``, a ``torch.nn.Module``) is named as
    such; other refusals (an unknown instruction) also come from junk bytes, so they say both.
    """
    wanted = re.search(r"GLOBAL ([\w.]+)", torch_message)
    if wanted:
        return (f"{path} is not a checkpoint this library wrote: it is a pickle that asks for the Python object "
                f"{wanted.group(1)}, which a vae_lib checkpoint never holds, so it was not loaded (loading it "
                "could run code). Use a file written by vae_lib (python -m vae_lib train, fit or save_checkpoint).")
    after = torch_message.split("WeightsUnpickler error:", 1)[1] if "WeightsUnpickler error:" in torch_message else ""
    detail = next((line.strip() for line in after.splitlines() if line.strip()), "an unknown instruction")
    return (f"Cannot read the checkpoint {path}: it is not a checkpoint this library wrote (truncated, corrupted, or "
            f"a pickle with instructions a vae_lib checkpoint never holds: {detail[:80]}), so it was not loaded. "
            "Delete it and train again, or pass another file.")


def first_sentence(err: BaseException, limit: int = 120) -> str:
    """The first sentence of an error's message, at most ``limit`` characters (its type's name if empty)."""
    text = " ".join(str(err).split())
    if not text:
        return type(err).__name__
    sentence = text.split(". ")[0]
    return sentence if len(sentence) <= limit else sentence[:limit - 3] + "..."


# --------------------------------------------------------------------------- the schema


class _Bad(Exception):
    """One field of a payload is wrong; the message names it."""


def check_payload(payload: dict, path: Path) -> None:
    """Check every field a vae_lib checkpoint may hold (after its format and version were checked).

    Raises:
        CheckpointContentError: naming the first bad field and what it should be.
    """
    try:
        _check_config(_field(payload, "config", dict))
        _check_weights(_field(payload, "model_state", dict))
        epoch = _whole(payload, "epoch", "epoch")
        _check_history(_field(payload, "history", list), epoch, fit_wrote_it=payload.get("position") is not None)
        _check_optimizer(payload.get("optimizer_state"))
        _check_position(payload.get("position"), epoch)
        _check_rng(payload.get("rng"))
        _check_training(payload.get("training"))
        _check_data(payload.get("data"))
        _check_metadata(payload.get("metadata"))
        if "vae_lib_version" in payload and not isinstance(payload["vae_lib_version"], str):
            raise _Bad(f"vae_lib_version is {_shown(payload['vae_lib_version'])}, not a version string")
    except _Bad as bad:
        raise CheckpointContentError(f"The checkpoint {path} is damaged or was not written by vae_lib: {bad}. "
                                     "Train again, or pass another file.") from None


def _shown(value: object) -> str:
    """``a str ('abc')``: a value's type and a short repr, for a message."""
    name = type(value).__name__
    text = repr(value) if not isinstance(value, Tensor) else f"shape {list(value.shape)}"
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name} ({text})"


def _field(mapping: Mapping, key: str, kind: type, where: str = "") -> Any:
    name = f"{where}{key}"
    if key not in mapping:
        raise _Bad(f"{name} is missing")
    value = mapping[key]
    if not isinstance(value, kind):
        raise _Bad(f"{name} is {_shown(value)}, not {'a dict' if kind is dict else 'a list'}")
    return value


def _optional(mapping: Mapping, key: str, kind: type, where: str) -> Any:
    value = mapping.get(key)
    if value is not None and not isinstance(value, kind):
        raise _Bad(f"{where}{key} is {_shown(value)}, not {'a dict' if kind is dict else 'a list'}")
    return value


def _is_whole(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def _whole(mapping: Mapping, key: str, name: str, low: int = 0, high: int | None = None,
           required: bool = True) -> int | None:
    if key not in mapping and not required:
        return None
    if key not in mapping:
        raise _Bad(f"{name} is missing")
    value = mapping[key]
    if not _is_whole(value) or value < low or (high is not None and value > high):
        upper = f" to {high}" if high is not None else " or more"
        raise _Bad(f"{name} is {_shown(value)}, not a whole number from {low}{upper}")
    return int(value)


def _number(mapping: Mapping, key: str, name: str, *, low: float | None = None, above: bool = False) -> None:
    if key not in mapping:
        return
    value = mapping[key]
    if not _is_number(value) or (low is not None and (value <= low if above else value < low)):
        bound = "" if low is None else f" {'>' if above else '>='} {low:g}"
        raise _Bad(f"{name} is {_shown(value)}, not a finite number{bound}")


def _check_config(config: dict) -> None:
    for field in dataclasses.fields(VAEConfig):
        if field.name not in config:
            raise _Bad(f"config.{field.name} is missing")
    try:
        VAEConfig.from_dict(config)
    except (ValueError, TypeError) as err:
        raise _Bad(f"config is not a valid model configuration ({first_sentence(err, 200)})") from None


def _check_weights(weights: dict) -> None:
    for key, value in weights.items():
        if not isinstance(key, str) or not isinstance(value, Tensor):
            raise _Bad(f"model_state[{key!r}] is {_shown(value)}, not a tensor of weights")
        if value.is_meta or value.layout != torch.strided or not value.is_floating_point():
            raise _Bad(f"model_state[{key!r}] is not a dense floating-point tensor with values "
                       f"({value.dtype}, {value.layout}, on {value.device.type})")


def _check_history(history: list, epoch: int, *, fit_wrote_it: bool) -> None:
    if len(history) != epoch:
        raise _Bad(f"history has {len(history)} records for epoch {epoch} (one per completed epoch)")
    for index, record in enumerate(history):
        where = f"history[{index}]"
        if not isinstance(record, dict):
            raise _Bad(f"{where} is {_shown(record)}, not a dict of the epoch's numbers")
        for key, value in record.items():
            if not isinstance(key, str) or not (value is None or isinstance(value, (str, bool, numbers.Real))):
                raise _Bad(f"{where}[{key!r}] is {_shown(value)}, not a number")
        if "epoch" in record or fit_wrote_it:
            _whole(record, "epoch", f"{where}.epoch", low=1)
        if fit_wrote_it:  # fit's records always hold these numbers (test_* when it had test data)
            for key in (*_EPOCH_NUMBERS, *(k for k in record if k.startswith("test_"))):
                if key not in record:
                    raise _Bad(f"{where}.{key} is missing")
                _number(record, key, f"{where}.{key}")


def _check_optimizer(state: object) -> None:
    if state is None:
        return
    if not isinstance(state, dict):
        raise _Bad(f"optimizer_state is {_shown(state)}, not a dict")
    per_weight = _field(state, "state", dict, "optimizer_state.")
    groups = _field(state, "param_groups", list, "optimizer_state.")
    for index, group in enumerate(groups):
        if not isinstance(group, dict) or not isinstance(group.get("params"), list):
            raise _Bad(f"optimizer_state.param_groups[{index}] is {_shown(group)}, not a dict with a list of params")
        if not all(_is_whole(p) for p in group["params"]):
            raise _Bad(f"optimizer_state.param_groups[{index}].params holds something other than whole numbers")
    for key, entry in per_weight.items():
        if not isinstance(entry, dict) or not all(isinstance(v, (Tensor, numbers.Real)) for v in entry.values()):
            raise _Bad(f"optimizer_state.state[{key!r}] is {_shown(entry)}, not a dict of tensors")


def _check_position(position: object, epoch: int) -> None:
    if position is None:
        return
    if not isinstance(position, dict):
        raise _Bad(f"position is {_shown(position)}, not a dict")
    _whole(position, "epoch", "position.epoch", low=epoch, high=epoch)
    _whole(position, "batch", "position.batch")
    sums = _field(position, "sums", list, "position.")
    if len(sums) != 2 or not all(_is_number(value) for value in sums):
        raise _Bad(f"position.sums is {_shown(sums)}, not two finite numbers (reconstruction and KL sums)")
    _number(position, "seconds", "position.seconds", low=0)


def _check_rng(rng: object) -> None:
    if rng is None:
        return
    if not isinstance(rng, dict):
        raise _Bad(f"rng is {_shown(rng)}, not a dict")
    if not isinstance(rng.get("device_type"), str):
        raise _Bad(f"rng.device_type is {_shown(rng.get('device_type'))}, not a device name")
    for key in ("permutation", "noise"):
        state = rng.get(key)
        if not (isinstance(state, Tensor) and state.dtype == torch.uint8 and state.dim() == 1 and not state.is_meta):
            raise _Bad(f"rng.{key} is {_shown(state)}, not a random generator's state (a 1-D uint8 tensor)")


def _check_training(training: object) -> None:
    if training is None:
        return
    if not isinstance(training, dict):
        raise _Bad(f"training is {_shown(training)}, not a dict")
    _whole(training, "batch_size", "training.batch_size", low=1, required=False)
    _whole(training, "epochs", "training.epochs", low=1, required=False)
    _whole(training, "seed", "training.seed", high=2**63 - 1, required=False)
    _number(training, "lr", "training.lr", low=0, above=True)
    _number(training, "beta", "training.beta", low=0)
    if "binarize" in training and training["binarize"] not in BINARIZATIONS:
        raise _Bad(f"training.binarize is {_shown(training['binarize'])}, not one of {', '.join(BINARIZATIONS)}")


def _check_data(data: object) -> None:
    if data is None:
        return
    if not isinstance(data, dict):
        raise _Bad(f"data is {_shown(data)}, not a dict")
    _whole(data, "n_images", "data.n_images", required=False)
    _number(data, "sum", "data.sum")


def check_metadata(metadata: object) -> None:
    """Check a run's metadata as a checkpoint must hold it (fit checks it before training, too).

    Anything JSON-like may be stored; what vae_lib itself reads back must have its shape: the
    record of the data's sources (``data_source``, written by the command line and the model cache).

    >>> check_metadata({"data": "mnist", "data_source": {"test": {"kind": "cache", "n_images": 10_000}}})
    >>> check_metadata({"data_source": "the cache"})
    Traceback (most recent call last):
    ...
    ValueError: metadata.data_source is a str ('the cache'), not a dict: a checkpoint holding it would not load again.

    Raises:
        ValueError: naming the field.
    """
    try:
        _check_metadata(metadata)
    except _Bad as bad:
        raise ValueError(f"{bad}: a checkpoint holding it would not load again.") from None


def _check_metadata(metadata: object) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise _Bad(f"metadata is {_shown(metadata)}, not a dict")
    sources = _optional(metadata, "data_source", dict, "metadata.")
    for split in ("train", "test"):
        record = _optional(sources or {}, split, dict, "metadata.data_source.")
        for key in ("kind", "location", "fingerprint", "description"):
            if record and record.get(key) is not None and not isinstance(record[key], str):
                raise _Bad(f"metadata.data_source.{split}.{key} is {_shown(record[key])}, not text")
        if record and record.get("n_images") is not None:
            _whole(record, "n_images", f"metadata.data_source.{split}.n_images")
