"""Checkpoint files: a VAE and its training state in one plain dict, written atomically.

A checkpoint is a dict saved with ``torch.save``, holding only tensors, dicts, lists, numbers
and strings, so ``torch.load(path, weights_only=True)`` reads it. It always has the model's
configuration and weights; when :func:`~vae_lib.train.fit` wrote it, also the optimizer state,
the history, the position in the run and the random state, so that
``fit(..., checkpoint=path, resume=True)`` continues the run bit for bit (on the same kind of
device). A file is written beside its destination and renamed over it, so a crash while
saving leaves the previous checkpoint as it was; temporary files that a killed writer left
behind are removed by the next write to the same destination (:mod:`vae_lib._atomic_files`).

Reading tells three failures apart: a file that cannot be read now (an ``OSError``: permissions,
the disk), whose content says nothing about it; a file whose content proves it unusable
(:class:`CheckpointContentError`: truncated, corrupted, not written by this library, weights
that do not fit its configuration); and a checkpoint from a newer vae_lib (:class:`CheckpointError`).

>>> import tempfile, pathlib
>>> from vae_lib.models import VAE
>>> path = save_checkpoint(pathlib.Path(tempfile.mkdtemp()) / "vae.pt", VAE(latent_dim=2))
>>> model, state = load_checkpoint(path)
>>> model.config.latent_dim, state["epoch"], state["history"]
(2, 0, [])
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from vae_lib import __version__
from vae_lib._atomic_files import atomic_write, check_writable, reworded
from vae_lib._checkpoint_format import CheckpointContentError, CheckpointError, check_payload, first_sentence, unpickled
from vae_lib._file_limits import RefusedFile, human_size, read_regular_file
from vae_lib._output_lock import holding
from vae_lib.device import pick_device
from vae_lib.history import History, name_of_test_split
from vae_lib.models import VAE, build_vae

__all__ = ["CHECKPOINT_VERSION", "MAX_CHECKPOINT_BYTES", "CheckpointContentError", "CheckpointError", "Position",
           "SaveInterrupted", "check_writable", "data_signature", "load_checkpoint", "resume_run", "save_checkpoint",
           "save_run"]

CHECKPOINT_FORMAT = "vae_lib.checkpoint"
CHECKPOINT_VERSION = 1
#: The largest checkpoint written or read (the book's models take a few MB): anything larger is refused
#: unread, so a wrong file (a disk image, /dev/zero) cannot exhaust memory.
MAX_CHECKPOINT_BYTES = 2**30
_TRAINING_KEYS = ("batch_size", "lr", "beta", "binarize", "seed")


class SaveInterrupted(KeyboardInterrupt):
    """A second Ctrl-C came while a checkpoint was being saved: the save stopped, the file on disk is intact."""


@dataclass
class Position:
    """Where a training run is: enough to continue it exactly (saved in every checkpoint of ``fit``).

    ``perm_state`` is the permutation generator's state at the start of the current epoch
    and ``noise_state`` the noise generator's state before batch ``batch``: restoring them
    replays the same permutation and the same noise.
    """

    epoch: int  # completed epochs
    batch: int  # batches applied in the current epoch
    sums: Tensor  # [2] running sums (reconstruction, kl) over the images of those batches
    seconds: float  # training time of the current epoch so far
    perm_state: Tensor
    noise_state: Tensor


# --------------------------------------------------------------------------- writing


def _payload(model: VAE, history=(), **entries: Any) -> dict:
    """A checkpoint as a plain dict; ``entries`` add to it or replace the defaults below."""
    return {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_VERSION,
        "vae_lib_version": __version__,
        "config": model.config.to_dict(),
        "model_state": model.state_dict(),
        "optimizer_state": None,
        "epoch": len(history),
        "position": None,  # where fit() stopped, for resuming (see save_run)
        "rng": None,
        "history": [dict(record) for record in history],
        **entries,
    }


def _save_payload(payload: dict, path: Path) -> None:
    """``torch.save`` to ``path`` atomically (see :func:`vae_lib._atomic_files.atomic_write`).

    Serialised in memory first: a failing write (a full disk) is then a plain ``OSError`` of our own
    write, which torch's zip writer would otherwise hide behind a ``RuntimeError`` of its own.
    """
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    content = buffer.getbuffer()
    if len(content) > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"The checkpoint {path} would take {human_size(len(content))}, more than the "
                              f"{human_size(MAX_CHECKPOINT_BYTES)} a vae_lib checkpoint may (MAX_CHECKPOINT_BYTES).")
    atomic_write(path, lambda stream: stream.write(content))


def save_checkpoint(path: str | os.PathLike, model: VAE, *, optimizer: torch.optim.Optimizer | None = None,
                    history: list | None = None, metadata: Mapping[str, Any] | None = None) -> Path:
    """Save a model (and optionally its optimizer and history) as a vae_lib checkpoint, atomically.

    :func:`~vae_lib.train.fit` saves richer checkpoints itself (with the random state for an
    exact resume); this is for keeping a model you have, e.g. after fine-tuning it yourself.
    The file loads with :func:`load_checkpoint`, or ``torch.load(path, weights_only=True)``.

    Args:
        path: where to write (folders are created).
        model: a :class:`~vae_lib.models.VAE`.
        optimizer: its optimizer, to continue training later.
        history: its history (a list of per-epoch dicts).
        metadata: extra JSON-like facts to store (e.g. ``{"data": "mnist"}``).

    Returns:
        The path written.

    >>> import tempfile, pathlib
    >>> from vae_lib.models import VAE
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "vae.pt"
    >>> save_checkpoint(path, VAE(latent_dim=2)).name
    'vae.pt'
    >>> load_checkpoint(path)[0].config.latent_dim
    2
    """
    if not isinstance(model, nn.Module) or not hasattr(model, "config"):
        raise TypeError(f"save_checkpoint() saves a vae_lib VAE (VAE(...) or build_vae(config)), "
                        f"got {type(model).__name__}.")
    path = Path(path).expanduser()
    optimizer_state = None if optimizer is None else optimizer.state_dict()
    with holding(path):  # not while a training writes the same file
        _save_payload(_payload(model, history or (), optimizer_state=optimizer_state, metadata=dict(metadata or {})),
                      path)
    return path


def save_run(run) -> None:
    """Save a training run of :func:`~vae_lib.train.fit` to ``run.checkpoint``, atomically.

    Besides the weights it keeps what an exact resume needs: the optimizer state, the
    history, the position (epoch, batch, running sums) and the random generators' states,
    with ``run.extra`` (the settings, the data's signature, the caller's metadata).
    """
    pos = run.position
    position = {"epoch": pos.epoch, "batch": pos.batch, "sums": pos.sums.detach().cpu().tolist(),
                "seconds": pos.seconds}
    rng = {"device_type": pos.sums.device.type, "permutation": pos.perm_state.clone(),
           "noise": pos.noise_state.clone()}
    payload = _payload(run.model, run.history, optimizer_state=run.optimizer.state_dict(), epoch=pos.epoch,
                       position=position, rng=rng, **run.extra)
    try:
        _save_payload(payload, run.checkpoint)
    except KeyboardInterrupt:  # a second Ctrl-C: the temporary file is gone, the file on disk untouched
        raise SaveInterrupted(f"Interrupted during the save; {_what_is_on_disk(run)}.") from None


def _what_is_on_disk(run) -> str:
    """After a failed save: what the checkpoint file holds (the last good save of this run, or older)."""
    if not run.checkpoint.exists():
        return f"nothing was written to {run.checkpoint}"
    if run.on_disk is None:
        return f"the checkpoint {run.checkpoint} is intact"
    epochs, batches = run.on_disk
    mid_epoch = f" and {batches} batches of epoch {epochs + 1}" if batches else ""
    return f"the last checkpoint, {run.checkpoint} ({epochs} epoch{'s' if epochs != 1 else ''}{mid_epoch}), is intact"


def data_signature(images: Tensor) -> dict:
    """A cheap identity of the training data (count and float64 sum), checked when resuming.

    >>> data_signature(torch.ones(3, 1, 2, 2))
    {'n_images': 3, 'sum': 12.0}
    """
    source = images if images.device.type != "mps" else images.cpu()  # MPS has no float64
    return {"n_images": int(images.shape[0]), "sum": float(source.sum(dtype=torch.float64))}


# --------------------------------------------------------------------------- reading


def _read_checkpoint(path: Path) -> dict:
    """Load and check a whole checkpoint file; every failure names the file (and the field) and what to do."""
    try:
        content = read_regular_file(path, MAX_CHECKPOINT_BYTES)
    except FileNotFoundError:
        raise FileNotFoundError(f"No checkpoint at {path}: check the path (train one with fit(..., checkpoint=...)).")
    except RefusedFile as refused:
        if refused.too_large:  # content: larger than anything vae_lib writes
            raise CheckpointContentError(f"{path} is not a checkpoint vae_lib wrote: {refused.reason}. Pass "
                                         "another file.") from None
        raise CheckpointError(f"{path} is not a checkpoint file: {refused.reason}.") from None
    except OSError as err:  # a permission or disk problem now says nothing about the content
        raise reworded(err, f"Cannot read the checkpoint {path} ({err.strerror or err}); the file was left "
                             "as it is. Check its permissions (or the disk) and try again.") from None
    payload = unpickled(content, path)
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointContentError(
            f"{path} is not a vae_lib checkpoint (it lacks format={CHECKPOINT_FORMAT!r}). If it is a "
            "bare state_dict, build the model yourself and call model.load_state_dict(torch.load(path))."
        )
    version = payload.get("format_version")
    if not isinstance(version, int) or version > CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {version!r}, newer than this vae_lib understands "
            f"({CHECKPOINT_VERSION}); upgrade vae_lib to read it."
        )
    check_payload(payload, path)  # every field, before any is used
    return payload


def _model_from_payload(payload: dict, path: Path) -> VAE:
    try:
        with torch.random.fork_rng(devices=[]):  # building initialises weights: leave the global RNG alone
            model = build_vae(payload["config"])
    except (ValueError, TypeError, KeyError) as err:
        raise CheckpointContentError(f"The checkpoint {path} holds an unusable model configuration "
                                     f"({first_sentence(err, 300)}).") from None
    differences = _weight_differences(model.state_dict(), payload["model_state"])
    if differences:
        raise CheckpointContentError(
            f"The weights in {path} do not fit its configuration ({differences}): the file was damaged or "
            "edited. Train again, or pass another file."
        )
    try:
        model.load_state_dict(payload["model_state"])
    except (ValueError, TypeError, RuntimeError, KeyError) as err:
        raise CheckpointContentError(f"The checkpoint {path} does not hold a usable model "
                                     f"({first_sentence(err, 300)}).") from None
    return model


def _weight_differences(expected: Mapping[str, Tensor], saved: Mapping) -> str:
    """Which weights a checkpoint lacks, has in excess, or has in another shape ("" when they fit).

    >>> _weight_differences({"w": torch.zeros(2, 3), "b": torch.zeros(2)}, {"w": torch.zeros(3, 3), "c": 1})
    'missing b; unexpected c; other shapes: w [3, 3] (its configuration needs [2, 3])'
    """
    missing = [key for key in expected if key not in saved]
    unexpected = [str(key) for key in saved if key not in expected]
    shapes = [f"{key} {list(saved[key].shape) if isinstance(saved[key], Tensor) else type(saved[key]).__name__} "
              f"(its configuration needs {list(wanted.shape)})"
              for key, wanted in expected.items()
              if key in saved and not (isinstance(saved[key], Tensor) and saved[key].shape == wanted.shape)]
    parts = [f"{label} {_listed(keys)}" for label, keys in
             (("missing", missing), ("unexpected", unexpected), ("other shapes:", shapes)) if keys]
    return "; ".join(parts)


def _listed(items: list[str], most: int = 3) -> str:
    shown = ", ".join(items[:most])
    return shown if len(items) <= most else f"{shown} and {len(items) - most} more"


def load_checkpoint(path: str | os.PathLike, device: str | torch.device | None = "cpu") -> tuple[VAE, dict]:
    """Load a checkpoint: ``(model, state)`` with the model rebuilt from its saved configuration.

    Args:
        path: a file written by :func:`~vae_lib.train.fit` or :func:`save_checkpoint`.
        device: where to put the model (``"auto"`` for the best available).

    Returns:
        The model (in eval mode) and a dict with ``config``, ``epoch`` (completed epochs),
        ``history`` (a :class:`~vae_lib.history.History`), ``metadata``, ``training`` (the
        settings of the run, if saved by ``fit``) and ``optimizer_state``.

    Raises:
        FileNotFoundError: no file there.
        OSError: the file cannot be read now (e.g. ``PermissionError``); it is left as it is.
        CheckpointContentError: the file is truncated, corrupted, not a checkpoint this library
            wrote (a pickle that ``weights_only`` refused is never loaded), or its weights do not
            fit its configuration (the message names the keys and shapes that differ).
        CheckpointError: the file comes from a newer vae_lib.

    >>> model, state = load_checkpoint("runs/vae.pt")  # doctest: +SKIP
    >>> state["epoch"], state["history"][-1]["test_elbo"]  # doctest: +SKIP
    (10, -98.7)
    """
    path = Path(path).expanduser()
    payload = _read_checkpoint(path)
    model = _model_from_payload(payload, path).to(pick_device(device)).eval()
    state = {key: value for key, value in payload.items() if key != "model_state"}
    state["metadata"] = payload.get("metadata") or {}
    state["history"] = History(payload["history"], test_name=name_of_test_split(state["metadata"]))
    return model, state


# --------------------------------------------------------------------------- resuming a run


def resume_run(run) -> None:
    """Load the run saved in ``run.checkpoint`` into ``run``, after checking it is the same run.

    ``run`` is the training run of :func:`~vae_lib.train.fit`: its weights, optimizer state,
    history, position and random generators are restored, so training continues exactly.
    Without a file there, the run starts from scratch.

    Raises:
        CheckpointError: the file is from another model configuration, other settings or other data.
    """
    path, display = run.checkpoint, run.display
    if not path.exists():
        display.note(f"No checkpoint at {path} yet: starting from scratch.")
        return
    payload = _read_checkpoint(path)
    _check_same_run(payload, run, path)
    run.model.load_state_dict(payload["model_state"])
    _restore_optimizer(run.optimizer, payload.get("optimizer_state"), path)
    run.history[:] = payload["history"]
    _restore_position(run, payload, path)
    pos, epochs = run.position, run.settings.epochs
    where = f"epoch {pos.epoch + 1}, batch {pos.batch}/{run.n_batches}" if pos.batch else f"epoch {pos.epoch + 1}"
    if pos.epoch >= epochs:
        display.note(f"Checkpoint {path} already has {pos.epoch} epochs (epochs={epochs}): nothing to train.")
    else:
        display.note(f"Resuming from {path} at {where} of {epochs}.")


def _check_same_run(payload: dict, run, path: Path) -> None:
    """Refuse a checkpoint from another model configuration, other settings or other data."""
    config_diff = _differences(payload["config"], run.model.config.to_dict())
    if config_diff:
        raise CheckpointError(
            f"The checkpoint {path} was written for a different model configuration ({'; '.join(config_diff)}). "
            "Use a new checkpoint path for this model, or build the model with the checkpoint's configuration "
            "(load_checkpoint(path) returns it)."
        )
    training = payload.get("training")
    if isinstance(training, Mapping):
        setting_diff = _differences({k: training.get(k) for k in _TRAINING_KEYS}, run.settings.training_dict())
        if setting_diff:
            raise CheckpointError(
                f"The checkpoint {path} comes from a run with other settings ({'; '.join(setting_diff)}), so "
                "resuming would not continue it. Pass the checkpoint's settings, or use a new checkpoint path "
                "(to fine-tune, load the weights with load_checkpoint() and call fit() without resume)."
            )
    saved, now = payload.get("data"), run.extra["data"]
    if isinstance(saved, Mapping) and not _same_data(saved, now):
        raise CheckpointError(
            f"The checkpoint {path} was trained on other data ({saved.get('n_images')} images, pixel sum "
            f"{saved.get('sum')!r}; now {now['n_images']} images, pixel sum {now['sum']!r}). "
            "Resume with the same training data, or use a new checkpoint path."
        )


def _differences(saved: Mapping, wanted: Mapping) -> list[str]:
    def normal(value):
        return list(value) if isinstance(value, tuple) else value

    keys = list(dict.fromkeys([*saved, *wanted]))
    return [f"{key}: checkpoint {saved.get(key)!r}, now {wanted.get(key)!r}"
            for key in keys if normal(saved.get(key)) != normal(wanted.get(key))]


def _same_data(saved: Mapping, now: dict) -> bool:
    if saved.get("n_images") != now["n_images"]:
        return False
    saved_sum = saved.get("sum")
    return isinstance(saved_sum, float) and math.isclose(saved_sum, now["sum"], rel_tol=1e-9, abs_tol=1e-6)


def _restore_optimizer(optimizer: torch.optim.Optimizer, state: dict | None, path: Path) -> None:
    if state is None:
        return
    chosen = {key: optimizer.param_groups[0].get(key) for key in ("fused", "foreach")}
    try:
        optimizer.load_state_dict(state)
    except (ValueError, KeyError, RuntimeError, TypeError, IndexError) as err:
        raise CheckpointError(f"The optimizer state in {path} does not fit this model ({first_sentence(err)}).") from None
    for group in optimizer.param_groups:  # keep the implementation chosen for this device
        group.update(chosen)


def _restore_position(run, payload: dict, path: Path) -> None:
    pos, saved = run.position, payload.get("position")
    if not isinstance(saved, Mapping):  # a checkpoint from save_checkpoint: weights only
        pos.epoch = int(payload.get("epoch") or len(run.history))
        run.display.note(f"{path} holds no random state: continuing with fresh random streams.")
        return
    pos.epoch, pos.batch = int(saved["epoch"]), int(saved["batch"])
    pos.seconds = float(saved.get("seconds", 0.0))
    pos.sums = torch.tensor(saved["sums"], dtype=pos.sums.dtype, device=pos.sums.device)
    if pos.batch > run.n_batches:
        raise CheckpointError(f"The checkpoint {path} stopped at batch {pos.batch}, beyond this run's "
                              f"{run.n_batches} batches per epoch; it belongs to another run.")
    _restore_random_state(run, payload.get("rng") or {}, path)


def _restore_random_state(run, rng: Mapping, path: Path) -> None:
    pos = run.position
    try:
        if rng.get("device_type") != pos.sums.device.type:
            raise ValueError(f"it was saved on {rng.get('device_type')}")
        run.perm_gen.set_state(rng["permutation"])
        run.noise_gen.set_state(rng["noise"])
    except (ValueError, KeyError, RuntimeError, TypeError) as err:
        # Random states are device-specific: reseed per position, not bit-identical any more.
        run.reseed(f"{pos.epoch}:{pos.batch}")
        run.display.note(f"The random state in {path} cannot be restored here ({err}); continuing with fresh "
                         "random streams, so the run will not match an uninterrupted one exactly.")
    pos.perm_state = run.perm_gen.get_state()
    pos.noise_state = run.noise_gen.get_state()
