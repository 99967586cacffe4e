"""Train a VAE: the training loop :func:`fit`, its :class:`Settings` and its :class:`FitResult`.

The whole dataset stays on the device as one tensor; each batch is an index into a seeded
random permutation (no per-image Python, no ``DataLoader``), and nothing waits for the
device inside an epoch except a progress-bar refresh. Losses are in nats per image (summed
over pixels, averaged over images; "loss" means −ELBO). Checkpoint files and resuming are in
:mod:`vae_lib.checkpoints`, the display in :mod:`vae_lib.progress`, the cache of trained
models in :mod:`vae_lib.model_cache`.

>>> import torch
>>> from vae_lib.models import VAE
>>> model, history = fit(VAE(latent_dim=2, hidden_dim=16), torch.rand(64, 1, 28, 28),
...                      epochs=2, batch_size=32, progress="none")
>>> len(history), sorted(history[-1])[:3]
(2, ['epoch', 'seconds', 'train_elbo'])
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from vae_lib._fit_checks import (check_model, checked_seed, divergence_message, elbo_bound, images_of, implausible,
                                 is_finite_number, positive_int)
from vae_lib._adam import FLUSH_EVERY, TINY_MOMENT  # noqa: F401 (read here: tests set train.FLUSH_EVERY)
from vae_lib._adam import flush_tiny_moments as _flush_tiny_moments
from vae_lib._adam import fused_adam as _adam
from vae_lib._checkpoint_format import check_metadata
from vae_lib._interrupt import DeferredInterrupt
from vae_lib._output_lock import holding
from vae_lib._sampling import derived_seed
from vae_lib.checkpoints import Position, SaveInterrupted, check_writable, data_signature, resume_run, save_run
from vae_lib.data import bernoulli_sample, binarization, binarize
from vae_lib.device import pick_device
from vae_lib.evaluate import TEST_BATCH_SIZE, NonFiniteScore, test_elbo
from vae_lib.history import History, name_of_test_split
from vae_lib.models import VAE, ELBOTerms
from vae_lib.progress import ProgressDisplay, progress_mode

__all__ = ["FitResult", "Settings", "TrainingDiverged", "fit"]
_METRICS = ("elbo", "reconstruction", "kl")


class TrainingDiverged(FloatingPointError):
    """Training diverged: a metric or the weights became NaN, infinite or implausibly large. The message
    says where, what to try and what the checkpoint holds (the last good epoch, never the diverged one)."""


@dataclass
class FitResult:
    """What :func:`fit` returns; unpacks as ``model, history = fit(...)``.

    Attributes:
        model: the trained model (on the training device, in eval mode).
        history: a :class:`~vae_lib.history.History`, one dict per completed epoch.
        interrupted: True if training was stopped early with Ctrl-C / "interrupt kernel".
        checkpoint: the checkpoint path, if one was written.
        new_epochs: the epochs completed by this call (0 when a resumed run had nothing left to do).
    """

    model: VAE
    history: History
    interrupted: bool = False
    checkpoint: Path | None = None
    new_epochs: int = 0

    def __iter__(self) -> Iterator[Any]:
        yield self.model
        yield self.history


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Settings:
    """The settings of a training run (as in :func:`fit`), checked when built; ``"auto"`` becomes a device.

    ``epochs`` to ``seed`` shape the result: checkpoints keep them, cached models are named by
    them. :func:`~vae_lib.model_cache.trained_vae` builds one (its cache key needs the checked
    values) and passes it on as ``fit(..., settings=...)``.

    >>> Settings(epochs=2, lr=1e-2, device="cpu")
    Settings(epochs=2, batch_size=128, lr=0.01, beta=1.0, binarize='none', seed=0, device=device(type='cpu'))
    """

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    beta: float = 1.0
    binarize: str | None = None
    seed: int = 0
    device: str | torch.device | None = "auto"

    def __post_init__(self) -> None:
        epochs = positive_int("epochs", self.epochs, "epochs=10")
        batch_size = positive_int("batch_size", self.batch_size, "batch_size=128")
        if not is_finite_number(self.lr) or not self.lr > 0:
            raise ValueError(f"lr (the learning rate) must be a number > 0 (e.g. lr=1e-3), got {self.lr!r}.")
        if not is_finite_number(self.beta) or not self.beta >= 0:
            raise ValueError(f"beta (the KL weight) must be a number >= 0 (1 gives the ELBO), got {self.beta!r}.")
        checked = {"epochs": epochs, "batch_size": batch_size, "lr": float(self.lr), "beta": float(self.beta),
                   "binarize": binarization(self.binarize), "seed": checked_seed(self.seed),
                   "device": pick_device(self.device)}
        for name, value in checked.items():
            object.__setattr__(self, name, value)  # frozen: the checked values are set here, once

    def training_dict(self) -> dict:
        """The settings a resumed run must share with its checkpoint (all but epochs and device)."""
        return {"batch_size": self.batch_size, "lr": self.lr, "beta": self.beta,
                "binarize": self.binarize, "seed": self.seed}


_SETTING_DEFAULTS = {field.name: field.default for field in dataclasses.fields(Settings)}


def _chosen_settings(settings: Settings | None, given: dict[str, Any]) -> Settings:
    """``Settings(**given)``, or the caller's ``settings`` (then ``given`` must all be fit's defaults)."""
    if settings is None:
        return Settings(**given)
    also = [name for name, value in given.items() if not _is_default(value, _SETTING_DEFAULTS[name])]
    if not isinstance(settings, Settings):
        raise TypeError(f"settings must be a vae_lib.train.Settings (or left out), got {type(settings).__name__}.")
    if also:
        raise ValueError(f"fit() got settings= and also {', '.join(also)}=: pass each setting once.")
    return settings


def _is_default(value: object, default: object) -> bool:
    return value is default or (type(value) is type(default) and value == default)


# --------------------------------------------------------------------------- random streams


def _generator(device: torch.device, seed: int, stream: str) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(derived_seed(seed, stream))


# --------------------------------------------------------------------------- fit


def fit(model: VAE, data: Tensor | tuple, *,
        epochs: int = 10, batch_size: int = 128, lr: float = 1e-3, beta: float = 1.0, binarize: str | None = None,
        seed: int = 0, device: str | torch.device | None = "auto",
        test_data: Tensor | tuple | None = None, checkpoint: str | os.PathLike | None = None, resume: bool = False,
        progress: str | bool = "auto", test_batch_size: int = TEST_BATCH_SIZE, metadata: Mapping[str, Any] | None = None,
        on_epoch: Callable[[dict], None] | None = None, settings: Settings | None = None) -> FitResult:
    """Train ``model`` with Adam on the negative (β-)ELBO; return ``(model, history)``.

    Each epoch visits every training image once in a seeded random order, in batches of
    ``batch_size``; the last batch is smaller when ``batch_size`` does not divide the number
    of images (no image is dropped). The loss of a batch is its mean −objective per image.

    Args:
        model: a :class:`~vae_lib.models.VAE`; it is moved to ``device`` and trained in place.
        data: training images ``[N, 1, 28, 28]`` in [0, 1] (or an ``(images, labels)`` tuple).
        epochs: the total number of epochs of the run (when resuming, including those done).
        batch_size: images per optimizer step.
        lr: Adam's learning rate.
        beta: weight of the KL term (β-VAE); 1 trains on the ELBO itself.
        binarize: one of :data:`vae_lib.data.BINARIZATIONS`: ``"none"`` (or ``None``) uses the
            pixel values as targets; ``"dynamic"`` draws a fresh binary image (pixel = 1 with
            probability x) for every batch, on the device; ``"static"`` draws one fixed binary
            sample of the data before training; ``"threshold"`` uses pixel > 0.5. The test data
            are scored as :func:`vae_lib.evaluate.test_elbo` scores them with this ``binarize``
            and ``seed`` (one seeded binary sample), so the command line's ``evaluate`` repeats
            the last test ELBO exactly.
        seed: seeds the order of the batches and the noise (z samples, binarization), a whole
            number from 0 to 2**63 - 1. The same seed gives the same numbers on the same kind of device.
        device: ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"``, ``"mps"``...
        test_data: optional images to report the test ELBO on after every epoch.
        checkpoint: a file to save the run to after every good epoch and on interruption; its
            folder is checked for writing before training starts, and the run holds its lock
            until it ends (a second run writing the same file at the same time is refused).
        resume: continue the run saved in ``checkpoint`` (it must come from the same model
            configuration, settings and data); without that file, start from scratch.
        progress: ``"auto"`` (a bar in a terminal or live notebook, else one line per epoch),
            ``"bar"``, ``"lines"`` or ``"none"``. The environment variable
            ``VAE_LIB_PROGRESS=lines`` (set by the book build) forces lines.
        test_batch_size: images per forward pass when evaluating ``test_data``.
        metadata: extra JSON-like facts to store in the checkpoint (e.g. which data set). When it
            records the data's sources (``data_source``, as the command line and the model cache
            do), a held-out split that is not a test set is named so in every epoch's line.
        on_epoch: called with each epoch's record (a dict) after it is saved, e.g. to plot.
        settings: a :class:`Settings` built beforehand, instead of ``epochs`` to ``device``.

    Returns:
        A :class:`FitResult` that unpacks as ``model, history``. Ctrl-C (or "interrupt
        kernel") stops at the next batch, saves the checkpoint and returns what there is,
        with ``interrupted=True``; the history lists complete epochs only. A second Ctrl-C during
        that save raises :class:`~vae_lib.checkpoints.SaveInterrupted` (the file on disk is intact).

    Raises:
        ValueError: bad arguments or data (the message says what to change).
        OSError: ``checkpoint`` cannot be written (checked before training), another run is writing
            it (``OutputInUse``), or the disk is full ("Disk full", the last checkpoint intact).
        CheckpointError: ``resume=True`` with a checkpoint from another model or run.
        TrainingDiverged: a training or test metric became NaN, infinite or implausible (beyond ±100
            nats per pixel, see ``_fit_checks.elbo_bound``): raised at the first such epoch, never saved.

    >>> import torch
    >>> from vae_lib.models import VAE
    >>> model, history = fit(VAE(latent_dim=2, hidden_dim=16), torch.rand(50, 1, 28, 28),
    ...                      epochs=1, batch_size=16, seed=0, progress="none")
    >>> history[0]["epoch"], history[0]["train_elbo"] < 0
    (1, True)
    """
    settings = _chosen_settings(settings, dict(epochs=epochs, batch_size=batch_size, lr=lr, beta=beta,
                                               binarize=binarize, seed=seed, device=device))
    mode = progress_mode(progress)
    check_model(model)
    check_metadata(metadata)  # what the checkpoint will hold must load again
    test_batch_size = positive_int("test_batch_size", test_batch_size, f"test_batch_size={TEST_BATCH_SIZE}")
    if resume and checkpoint is None:
        raise ValueError("resume=True needs checkpoint=PATH: the file to continue the run from.")
    checkpoint = None if checkpoint is None else check_writable(checkpoint)  # before any work, not at the first save
    with contextlib.nullcontext() if checkpoint is None else holding(checkpoint):  # one run per file, all along
        train_images = images_of(data, "data")
        test_images = None if test_data is None else images_of(test_data, "test_data")
        model.to(settings.device)
        x, test_x = _training_tensors(model, train_images, test_images, settings)
        extra = {"training": {**settings.training_dict(), "epochs": settings.epochs},
                 "data": data_signature(train_images), "metadata": dict(metadata or {})}
        run = _Run(model, settings, len(x), mode, checkpoint, extra, name_of_test_split(metadata))
        if resume:
            resume_run(run)
            run.on_disk = (run.position.epoch, run.position.batch) if checkpoint.exists() else None
        first_epoch = run.position.epoch
        interrupted = _train_epochs(run, x, test_x, test_batch_size, on_epoch)
    model.eval()
    written = run.checkpoint if run.checkpoint is not None and run.checkpoint.exists() else None
    return FitResult(model, run.history, interrupted, written, len(run.history) - first_epoch)


def _train_epochs(run: _Run, x: Tensor, test_x: Tensor | None, test_batch_size: int,
                  on_epoch: Callable[[dict], None] | None) -> bool:
    """The loop of :func:`fit`: the epochs still to run; True when Ctrl-C stopped it (and the run was saved)."""
    model, settings, pos, optimizer, b_size = run.model, run.settings, run.position, run.optimizer, run.settings.batch_size
    with DeferredInterrupt() as interrupt:
        run.display.start(pos.epoch, pos.batch)
        try:
            model.train()
            while pos.epoch < settings.epochs:
                order = run.start_epoch()  # a seeded permutation of the images
                for b in range(pos.batch, run.n_batches):
                    pos.noise_state = run.noise_gen.get_state()  # a resume replays this batch's noise
                    if interrupt.requested:
                        raise KeyboardInterrupt
                    batch = torch.index_select(x, 0, order[b * b_size:(b + 1) * b_size])  # faster than x[idx]
                    if settings.binarize == "dynamic":
                        batch = bernoulli_sample(batch, generator=run.noise_gen)
                    terms = model.elbo(batch, beta=settings.beta, generator=run.noise_gen, validate=False)
                    loss = -terms.objective.mean()
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    run.updating_batch = b  # a Ctrl-C from here on may find the update half done
                    optimizer.step()
                    run.count_batch(terms)  # running sums, position, moment flush, bar
                record = run.finish_epoch(test_x, test_batch_size)  # checks, evaluates, records
                if run.checkpoint is not None:
                    run.save()
                run.show_epoch(record)  # after the save: an output that fails (a closed pipe) loses no epoch
                if on_epoch is not None:
                    on_epoch(dict(record))
        except SaveInterrupted:  # a second Ctrl-C while saving: stop now, the file on disk is intact
            raise
        except KeyboardInterrupt:
            run.stop_cleanly()
            return True
        finally:
            run.display.close()
    return False


def _training_tensors(model: VAE, train_images: Tensor, test_images: Tensor | None,
                      settings: Settings) -> tuple[Tensor, Tensor | None]:
    """Training and test images on the device in the model's dtype, checked; the training set
    binarized once for "static" and "threshold" (the test set is binarized when it is scored)."""
    x = _on_device(model, train_images, settings)
    test_x = None if test_images is None else _on_device(model, test_images, settings)
    if settings.binarize in ("static", "threshold"):
        x = binarize(x, settings.binarize, seed=derived_seed(settings.seed, "static-binarize"))
    return x, test_x


def _on_device(model: VAE, images: Tensor, settings: Settings) -> Tensor:
    x = images.to(device=settings.device, dtype=model.dtype).contiguous()
    model.check_input(x)
    return x


def _test_metrics(model: VAE, test_x: Tensor, batch_size: int, settings: Settings) -> dict:
    """Test ELBO and its parts, the same binary sample and z noise every epoch (epochs compare fairly)."""
    result = test_elbo(model, test_x, batch_size=batch_size, binarize=settings.binarize, seed=settings.seed)
    return {f"test_{name}": result[name] for name in _METRICS}


# --------------------------------------------------------------------------- the run


class _Run:
    """One training run: all that the loop in :func:`fit` changes, so Ctrl-C can report and save it.

    ``checkpoint`` is the file to save it to (or ``None``), ``extra`` the facts saved with it,
    ``test_name`` what its test split is called in its lines (``"held-out"`` for the bundled subset's).
    """

    def __init__(self, model: VAE, settings: Settings, n_images: int, mode: str,
                 checkpoint: Path | None, extra: dict, test_name: str = "test"):
        self.model, self.settings, self.n_images = model, settings, n_images
        self.checkpoint, self.extra = checkpoint, extra
        self.n_batches = math.ceil(n_images / settings.batch_size)
        self.display = ProgressDisplay(mode, settings.epochs, self.n_batches, test_name)
        self.perm_gen = _generator(settings.device, settings.seed, "permutation")
        self.noise_gen = _generator(settings.device, settings.seed, "noise")
        self.position = Position(epoch=0, batch=0, sums=torch.zeros(2, device=settings.device), seconds=0.0,
                                 perm_state=self.perm_gen.get_state(), noise_state=self.noise_gen.get_state())
        self.optimizer = _adam(model, settings.lr)
        self.history = History(test_name=test_name)
        self.updating_batch: int | None = None  # set while a weight update runs: it may be half done
        self.clock: float | None = None  # when the timing of the current epoch (re)started
        self.bound = elbo_bound(model.config)  # |metric| per image beyond this: diverged
        self.on_disk: tuple[int, int] | None = None  # (epoch, batch) the checkpoint holds from this run

    def save(self) -> None:
        """Save the run to its checkpoint and remember where it stood (for an honest divergence message)."""
        save_run(self)
        self.on_disk = (self.position.epoch, self.position.batch)

    def start_epoch(self) -> Tensor:
        """Start the epoch's clock; return its order of the images (the same again after a resume)."""
        self.clock = time.perf_counter()
        self.perm_gen.set_state(self.position.perm_state)
        return torch.randperm(self.n_images, generator=self.perm_gen, device=self.settings.device)

    def count_batch(self, terms: ELBOTerms) -> None:
        """After the update of batch ``updating_batch``: add its terms to the sums, move on."""
        pos = self.position
        pos.sums += torch.stack((terms.reconstruction.detach(), terms.kl.detach())).sum(1)
        pos.batch = self.updating_batch + 1
        self.updating_batch = None
        if pos.sums.device.type == "cpu" and (pos.epoch * self.n_batches + pos.batch) % FLUSH_EVERY == 0:
            _flush_tiny_moments(self.optimizer)
        if self.display.due():
            self._refresh_bar()

    def _refresh_bar(self) -> None:
        pos = self.position
        elbo = self._running_elbo()  # the one wait for the device, twice a second at most
        problem = implausible({"the running train ELBO": elbo}, self.bound)
        if problem:
            raise self._diverged(f" at batch {pos.batch}/{self.n_batches}", problem)
        self.display.refresh(pos.epoch, pos.epoch * self.n_batches + pos.batch, elbo)

    def _running_elbo(self) -> float:
        """The mean train ELBO per image over the batches of the current epoch so far."""
        reconstruction, kl = self.position.sums.tolist()
        seen = min(self.position.batch * self.settings.batch_size, self.n_images)
        return (reconstruction - kl) / max(seen, 1)

    def finish_epoch(self, test_x: Tensor | None, test_batch_size: int) -> dict:
        """Read the epoch's sums (one wait for the device), check them, evaluate, record; return the record."""
        pos, n = self.position, self.n_images
        parameter_sum = torch.stack([p.detach().sum() for p in self.model.parameters()]).sum()
        reconstruction, kl, weights = torch.cat([pos.sums, parameter_sum.reshape(1).to(pos.sums.dtype)]).tolist()
        pos.seconds += time.perf_counter() - self.clock  # after the wait: the device has finished
        self.clock = None
        if not math.isfinite(weights):
            raise self._diverged("", "the weights hold NaN or infinite values")
        record = {"epoch": pos.epoch + 1, "train_elbo": (reconstruction - kl) / n,
                  "train_reconstruction": reconstruction / n, "train_kl": kl / n, "seconds": pos.seconds}
        self._check_good(record)
        if test_x is not None:
            try:
                record.update(_test_metrics(self.model, test_x, test_batch_size, self.settings))
            except NonFiniteScore:
                raise self._diverged("", f"the {self.display.test_name} ELBO is not a number") from None
            self._check_good(record)
        self.history.append(record)
        pos.epoch, pos.batch, pos.seconds = pos.epoch + 1, 0, 0.0
        pos.sums.zero_()
        pos.perm_state, pos.noise_state = self.perm_gen.get_state(), self.noise_gen.get_state()
        self.model.train()
        return record

    def show_epoch(self, record: dict) -> None:
        """Show a finished epoch's line (after it was saved)."""
        self.display.epoch_end(record, record["epoch"] * self.n_batches)

    def _check_good(self, record: dict) -> None:
        """Raise :class:`TrainingDiverged` unless the epoch's metrics are finite and plausible."""
        metrics = {key: value for key, value in record.items() if key.startswith(("train_", "test_"))}
        problem = implausible(metrics, self.bound)
        if problem:
            raise self._diverged("", problem)

    def _diverged(self, where: str, problem: str) -> TrainingDiverged:
        return TrainingDiverged(divergence_message(f"epoch {self.position.epoch + 1}{where}", problem,
                                                   self.settings.lr, self.checkpoint, self.on_disk))

    def stop_cleanly(self) -> None:
        """After Ctrl-C: say where training stopped, save the checkpoint, keep what there is."""
        pos, torn = self.position, self.updating_batch is not None
        if self.clock is not None:
            pos.seconds += time.perf_counter() - self.clock
        if torn:  # the update has (most likely) gone through: count the batch as done
            pos.batch, pos.noise_state = self.updating_batch + 1, self.noise_gen.get_state()
        self.clock = self.updating_batch = None
        done, epochs = len(self.history), self.settings.epochs
        where = (f"after {pos.batch}/{self.n_batches} batches of epoch {pos.epoch + 1}/{epochs}"
                 if pos.batch else f"after epoch {pos.epoch}/{epochs}")
        message = [f"Training interrupted {where}: returning the model as it is now "
                   f"and the history of the {done} complete epoch{'s' if done != 1 else ''}."]
        if self.checkpoint is not None and implausible({"elbo": self._running_elbo()}, self.bound) is None:
            self.save()
            message.append(f"Checkpoint saved to {self.checkpoint}; fit(..., checkpoint=..., resume=True) "
                           "(or the command line's --resume) continues exactly from here.")
            if torn:
                message.append("(The interruption came during a weight update, so the continued run may "
                               "differ slightly from an uninterrupted one.)")
        elif self.checkpoint is not None:
            message.append(f"The checkpoint {self.checkpoint} was not updated: the loss had diverged.")
        self.display.note(" ".join(message))

    def reseed(self, position: str) -> None:
        """Fresh random streams for ``position`` ("epoch:batch"), when a saved state cannot be restored."""
        self.perm_gen.manual_seed(derived_seed(self.settings.seed, f"permutation-{position}"))
        self.noise_gen.manual_seed(derived_seed(self.settings.seed, f"noise-{position}"))
