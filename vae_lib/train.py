"""Train a VAE: in-memory batches on the device, progress, history, checkpoints and a model cache.

The loop keeps the whole dataset as one tensor on the device and takes each batch by
indexing a seeded random permutation, so there is no per-image Python and no ``DataLoader``.
It never waits for the device inside an epoch (the running sums stay on the device) except
to refresh the progress bar, and it uses the fused Adam kernel where PyTorch has one.

- :func:`fit` trains a model and returns ``(model, history)``.
- :func:`save_checkpoint` / :func:`load_checkpoint` write and read checkpoints (atomically,
  loadable with ``torch.load(..., weights_only=True)``); ``fit(..., checkpoint=path, resume=True)``
  continues a run exactly where it stopped, bit for bit on the CPU.
- :func:`trained_vae` returns a trained model from the cache, training it only the first time.

Losses follow the book's convention: log-likelihoods summed over pixels, averaged over images,
in nats per image (the ELBO is negative; "loss" means −ELBO).

>>> import torch
>>> from vae_lib.models import VAE
>>> from vae_lib.train import fit
>>> model, history = fit(VAE(latent_dim=2, hidden_dim=16), torch.rand(64, 1, 28, 28),
...                      epochs=2, batch_size=32, progress="none")
>>> len(history), sorted(history[-1])[:3]
(2, ['epoch', 'seconds', 'train_elbo'])
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from filelock import FileLock, Timeout
from torch import Tensor, nn

from vae_lib.device import pick_device
from vae_lib.models import VAE, VAEConfig, build_vae
from vae_lib.paths import cache_dir
from vae_lib._checking import is_positive_int

__all__ = [
    "BINARIZE_CHOICES",
    "CheckpointError",
    "FitResult",
    "History",
    "PROGRESS_CHOICES",
    "TrainingDiverged",
    "fit",
    "format_epoch",
    "load_checkpoint",
    "save_checkpoint",
    "trained_vae",
]

CHECKPOINT_FORMAT = "vae_lib.checkpoint"
CHECKPOINT_VERSION = 1
PROGRESS_ENV = "VAE_LIB_PROGRESS"
PROGRESS_CHOICES = ("auto", "bar", "lines", "none")
BINARIZE_CHOICES = ("none", "dynamic", "static")
#: Seconds between progress-bar refreshes; each refresh waits for the device once.
BAR_REFRESH_SECONDS = 0.5
_TRAINING_KEYS = ("batch_size", "lr", "beta", "binarize", "seed")
_METRICS = ("elbo", "reconstruction", "kl")


class CheckpointError(ValueError):
    """A checkpoint cannot be used: unreadable, not a vae_lib checkpoint, or from another run."""


class TrainingDiverged(FloatingPointError):
    """The loss or the weights became NaN or infinite during training."""


# --------------------------------------------------------------------------- history and result


class History(list):
    """What happened in training: a list with one dict per completed epoch.

    Each dict has ``epoch`` (1-based); ``train_elbo``, ``train_reconstruction`` and
    ``train_kl`` (nats per image, averaged over the epoch's batches as the model learned);
    ``seconds`` (training time of that epoch, evaluation excluded); and ``test_elbo``,
    ``test_reconstruction``, ``test_kl`` when test data were given (one z sample per image,
    at the end of the epoch).

    >>> h = History([{"epoch": 1, "train_elbo": -120.0}, {"epoch": 2, "train_elbo": -110.0}])
    >>> h.as_columns()["train_elbo"]
    [-120.0, -110.0]
    >>> h.column("epoch")
    [1, 2]
    """

    def column(self, key: str) -> list:
        """The values of one field over the epochs (``None`` where an epoch lacks it)."""
        return [record.get(key) for record in self]

    def as_columns(self) -> dict[str, list]:
        """``{field: [value per epoch]}``: ready for plotting or ``pandas.DataFrame(...)``."""
        keys: dict[str, None] = {}
        for record in self:
            keys.update(dict.fromkeys(record))
        return {key: self.column(key) for key in keys}

    def __str__(self) -> str:
        if not self:
            return "History (no complete epochs)"
        total = self[-1].get("epoch", len(self))
        return "\n".join(format_epoch(record, total) for record in self)


def format_epoch(record: Mapping[str, Any], total_epochs: int) -> str:
    """One line for an epoch, e.g. ``epoch  3/10  train ELBO -104.2  test ELBO -105.1  (recon -80.1, KL 25.0)  4.1 s``.

    The reconstruction and KL shown are the test ones when there are test data.

    >>> format_epoch({"epoch": 3, "train_elbo": -104.2, "train_reconstruction": -79.0,
    ...               "train_kl": 25.2, "seconds": 4.1}, 10)
    'epoch  3/10  train ELBO -104.2  (recon -79.0, KL 25.2)  4.1 s'
    """
    width = len(str(total_epochs))
    parts = [f"epoch {record['epoch']:>{width}}/{total_epochs}", f"train ELBO {record['train_elbo']:.1f}"]
    split = "train"
    if record.get("test_elbo") is not None:
        parts.append(f"test ELBO {record['test_elbo']:.1f}")
        split = "test"
    parts.append(f"(recon {record[f'{split}_reconstruction']:.1f}, KL {record[f'{split}_kl']:.1f})")
    parts.append(f"{record['seconds']:.1f} s")
    return "  ".join(parts)


@dataclass
class FitResult:
    """What :func:`fit` returns; unpacks as ``model, history = fit(...)``.

    Attributes:
        model: the trained model (on the training device, in eval mode).
        history: a :class:`History`, one dict per completed epoch.
        interrupted: True if training was stopped early with Ctrl-C / "interrupt kernel".
        checkpoint: the checkpoint path, if one was written.
    """

    model: VAE
    history: History
    interrupted: bool = False
    checkpoint: Path | None = None

    def __iter__(self) -> Iterator[Any]:
        yield self.model
        yield self.history


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class _Settings:
    """The training settings a checkpoint and the cache key depend on (validated)."""

    epochs: int
    batch_size: int
    lr: float
    beta: float
    binarize: str
    seed: int

    def training_dict(self) -> dict:
        return {"batch_size": self.batch_size, "lr": self.lr, "beta": self.beta,
                "binarize": self.binarize, "seed": self.seed}


def _positive_int(name: str, value: object, example: str) -> int:
    if not is_positive_int(value):
        raise ValueError(f"{name} must be a whole number >= 1 (e.g. {example}), got {value!r}.")
    return int(value)


def _settings(epochs, batch_size, lr, beta, binarize, seed) -> _Settings:
    epochs = _positive_int("epochs", epochs, "epochs=10")
    batch_size = _positive_int("batch_size", batch_size, "batch_size=128")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr (the learning rate) must be a number > 0 (e.g. lr=1e-3), got {lr!r}.")
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not (math.isfinite(beta) and beta >= 0):
        raise ValueError(f"beta (the KL weight) must be a number >= 0 (1 gives the ELBO), got {beta!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be a whole number, got {seed!r}.")
    return _Settings(epochs, batch_size, float(lr), float(beta), _binarize_mode(binarize), seed)


def _binarize_mode(binarize: str | None) -> str:
    mode = "none" if binarize is None else binarize
    if mode not in BINARIZE_CHOICES:
        raise ValueError(
            f"binarize must be None/'none' (use the grey values as targets), 'dynamic' (a fresh "
            f"binary sample every batch) or 'static' (one fixed binary sample), got {binarize!r}."
        )
    return mode


def _progress_mode(progress: str | bool) -> str:
    """Resolve ``progress`` against the environment: ``"bar"``, ``"lines"`` or ``"none"``.

    ``VAE_LIB_PROGRESS`` decides for ``"auto"`` and turns ``"bar"`` into the quieter mode it
    names: the book build sets it to ``lines`` so executed pages get no widgets or ``\\r`` spam.
    """
    if progress is True:
        progress = "auto"
    elif progress is False or progress is None:
        progress = "none"
    if progress not in PROGRESS_CHOICES:
        raise ValueError(f"progress must be one of {', '.join(map(repr, PROGRESS_CHOICES))}, got {progress!r}.")
    forced = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if forced and forced not in PROGRESS_CHOICES:
        raise ValueError(
            f"The environment variable {PROGRESS_ENV}={forced!r} is not one of "
            f"{', '.join(PROGRESS_CHOICES)}; fix or unset it."
        )
    if progress == "auto":
        if forced and forced != "auto":
            return forced
        return "bar" if _in_notebook() or _is_terminal(sys.stderr) else "lines"
    if progress == "bar" and forced in ("lines", "none"):
        return forced
    return progress


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (where tqdm.auto draws a widget)."""
    if "ipykernel" not in sys.modules:
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# --------------------------------------------------------------------------- progress display


class _Progress:
    """The three display modes behind one interface: a bar, one line per epoch, or nothing."""

    def __init__(self, mode: str, total_epochs: int, n_batches: int):
        self.mode = mode
        self.total_epochs = total_epochs
        self.n_batches = n_batches
        self.bar = None
        self._next_refresh = 0.0
        self._shown = 0  # batches counted on the bar, from the start of the run

    def start(self, epoch: int, batch: int) -> None:
        """Open the bar (bar mode) for the batches still to run, from ``epoch`` (0-based) and ``batch``."""
        if self.mode != "bar":
            return
        from tqdm.auto import tqdm

        self._shown = epoch * self.n_batches + batch
        remaining = max(0, self.total_epochs * self.n_batches - self._shown)
        self.bar = tqdm(total=remaining, unit="batch", dynamic_ncols=True,
                        desc=self._desc(epoch), leave=True)

    def _desc(self, epoch: int) -> str:
        return f"epoch {epoch + 1}/{self.total_epochs}"

    def due(self) -> bool:
        """True when the bar should be refreshed now (a refresh waits for the device)."""
        return self.bar is not None and time.perf_counter() >= self._next_refresh

    def refresh(self, epoch: int, batches_done_total: int, running_elbo: float) -> None:
        self.bar.set_description(self._desc(epoch), refresh=False)
        self.bar.set_postfix_str(f"ELBO {running_elbo:.1f}", refresh=False)
        self.bar.update(batches_done_total - self._shown)
        self._shown = batches_done_total
        self._next_refresh = time.perf_counter() + BAR_REFRESH_SECONDS

    def epoch_end(self, record: Mapping[str, Any], batches_done_total: int) -> None:
        line = format_epoch(record, self.total_epochs)
        if self.bar is not None:
            self.refresh(record["epoch"] - 1, batches_done_total, record["train_elbo"])
            self.bar.write(line, file=sys.stdout)
        elif self.mode == "lines":
            print(line, flush=True)

    def note(self, message: str) -> None:
        """Messages that matter (interrupted, resumed) are shown in every mode."""
        if self.bar is not None:
            self.bar.write(message, file=sys.stdout)
        else:
            print(message, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


# --------------------------------------------------------------------------- Ctrl-C


class _DeferredInterrupt:
    """Turn the first Ctrl-C into a request to stop at the next batch boundary.

    A KeyboardInterrupt raised in the middle of an optimizer step could leave half the
    weights updated; deferring it keeps every checkpoint resumable exactly. A second Ctrl-C
    raises at once. Only installed from the main thread over Python's default handler (the
    one Jupyter uses while a cell runs); elsewhere Ctrl-C simply raises as usual.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def __enter__(self) -> _DeferredInterrupt:
        if threading.current_thread() is threading.main_thread() and (
            signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc_info) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


# --------------------------------------------------------------------------- random streams


def _derived_seed(seed: int, stream: str) -> int:
    """Independent seeds for the run's random streams (permutation, noise, ...) from one seed."""
    digest = hashlib.sha256(f"vae_lib:{seed}:{stream}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def _generator(device: torch.device, seed: int, stream: str) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(_derived_seed(seed, stream))


# --------------------------------------------------------------------------- the run's state


@dataclass
class _Position:
    """Where a run is: enough to continue it exactly (saved in every checkpoint).

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

    def to_dict(self) -> dict:
        return {"epoch": self.epoch, "batch": self.batch, "sums": self.sums.detach().cpu().tolist(),
                "seconds": self.seconds}


@dataclass
class _Run:
    """Everything the training loop changes, so an interruption can report and save it."""

    model: VAE
    optimizer: torch.optim.Optimizer
    history: History
    position: _Position
    perm_gen: torch.Generator
    noise_gen: torch.Generator
    updating_batch: int | None = None  # set while a weight update runs: it may be half done
    clock: float | None = None  # when the timing of the current epoch (re)started


def _adam(model: nn.Module, lr: float, device: torch.device) -> torch.optim.Adam:
    """Adam with the fastest implementation for the device.

    The fused kernel (one call for all parameters) exists on CUDA, the CPU and MPS in recent
    PyTorch; on the CPU it measured ~4× faster per step than ``foreach`` (see bench/README.md).
    """
    try:
        return torch.optim.Adam(model.parameters(), lr=lr, fused=True)
    except (RuntimeError, ValueError, TypeError):  # a device without the fused kernel
        return torch.optim.Adam(model.parameters(), lr=lr)


TINY_MOMENT = 1e-30  # Adam moments below this are set to zero on the CPU (see _flush_tiny_moments)
FLUSH_EVERY = 50  # optimizer steps between two such flushes


def _flush_tiny_moments(optimizer: torch.optim.Optimizer) -> int:
    """Set Adam moments smaller than :data:`TINY_MOMENT` to exactly zero; return how many.

    Why: weights fed by pixels that are almost always blank (MNIST's border) get a zero
    gradient at most steps, so their moments shrink by ×0.9 (first) and ×0.999 (second)
    per step until they are subnormal floats, which x86 CPUs process many times more slowly.
    Measured here: Adam's step took twice as long from the second epoch on, 80,000 moments
    being subnormal. Flush-to-zero mode would avoid it, but ``torch.set_flush_denormal``
    sets it for the calling thread only, not for the worker threads that run the kernels.

    The flush changes no update measurably: Adam moves a weight by lr · m̂ / (√v̂ + 1e-8). A
    first moment below 1e-30 moves it by less than 1e-25; a second moment below 1e-30 adds
    less than 4e-14 to √v̂ (bias correction included), next to the 1e-8 always there.

    >>> import torch
    >>> w = torch.nn.Parameter(torch.ones(4))
    >>> opt = torch.optim.Adam([w])
    >>> w.grad = torch.tensor([1.0, 1e-20, 1e-32, 0.0]); opt.step()  # m = 0.1·g, v = 0.001·g²
    >>> _flush_tiny_moments(opt)  # m = 1e-33 and v = 1e-43 (a subnormal) are tiny
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


# --------------------------------------------------------------------------- data


def _images_of(data: object, name: str) -> Tensor:
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


def _data_signature(images: Tensor) -> dict:
    """A cheap identity of the training data (count and float64 sum), checked when resuming."""
    source = images if images.device.type != "mps" else images.cpu()  # MPS has no float64
    return {"n_images": int(images.shape[0]), "sum": float(source.sum(dtype=torch.float64))}


def _binarize_once(images: Tensor, generator: torch.Generator) -> Tensor:
    from vae_lib.data import dynamic_binarize

    return dynamic_binarize(images, generator=generator)


# --------------------------------------------------------------------------- fit


def fit(
    model: VAE,
    data: Tensor | tuple,
    epochs: int = 10,
    batch_size: int = 128,
    lr: float = 1e-3,
    device: str | torch.device | None = "auto",
    seed: int = 0,
    test_data: Tensor | tuple | None = None,
    beta: float = 1.0,
    binarize: str | None = None,
    checkpoint: str | os.PathLike | None = None,
    resume: bool = False,
    progress: str | bool = "auto",
    *,
    test_batch_size: int = 1000,
    metadata: Mapping[str, Any] | None = None,
    on_epoch: Callable[[dict], None] | None = None,
) -> FitResult:
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
        device: ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"``, ``"mps"``...
        seed: seeds the order of the batches and the noise (z samples, binarization).
            The same seed gives the same numbers on the same kind of device.
        test_data: optional images to report the test ELBO on after every epoch.
        beta: weight of the KL term (β-VAE); 1 trains on the ELBO itself.
        binarize: ``None``/``"none"`` uses the pixel values as targets; ``"dynamic"`` draws a
            fresh binary image (pixel = 1 with probability x) for every batch, on the device;
            ``"static"`` draws one fixed binary sample of the data before training. Test data
            are binarized once (seeded) whenever ``binarize`` is not ``"none"``.
        checkpoint: a file to save the run to after every epoch and on interruption.
        resume: continue the run saved in ``checkpoint`` (it must come from the same model
            configuration, settings and data); without that file, start from scratch.
        progress: ``"auto"`` (a bar in a terminal or live notebook, else one line per epoch),
            ``"bar"``, ``"lines"`` or ``"none"``. The environment variable
            ``VAE_LIB_PROGRESS=lines`` (set by the book build) forces lines.
        test_batch_size: images per forward pass when evaluating ``test_data``.
        metadata: extra JSON-like facts to store in the checkpoint (e.g. which data set).
        on_epoch: called with each epoch's record (a dict) after it is saved, e.g. to plot.

    Returns:
        A :class:`FitResult` that unpacks as ``model, history``. Ctrl-C (or "interrupt
        kernel") stops at the next batch, saves the checkpoint and returns what there is,
        with ``interrupted=True``; the history lists complete epochs only.

    Raises:
        ValueError: bad arguments or data (the message says what to change).
        CheckpointError: ``resume=True`` with a checkpoint from another model or run.
        TrainingDiverged: the loss became NaN or infinite (a ``FloatingPointError``).

    >>> import torch
    >>> from vae_lib.models import VAE
    >>> model, history = fit(VAE(latent_dim=2, hidden_dim=16), torch.rand(50, 1, 28, 28),
    ...                      epochs=1, batch_size=16, seed=0, progress="none")
    >>> history[0]["epoch"], history[0]["train_elbo"] < 0
    (1, True)
    """
    settings = _settings(epochs, batch_size, lr, beta, binarize, seed)
    mode = _progress_mode(progress)
    _check_model(model)
    test_batch_size = _positive_int("test_batch_size", test_batch_size, "test_batch_size=1000")
    train_images = _images_of(data, "data")
    test_images = None if test_data is None else _images_of(test_data, "test_data")
    if resume and checkpoint is None:
        raise ValueError("resume=True needs checkpoint=PATH: the file to continue the run from.")
    checkpoint_path = None if checkpoint is None else Path(checkpoint).expanduser()
    target = pick_device(device)

    model.to(target)
    x = train_images.to(device=target, dtype=model.dtype).contiguous()
    model.check_input(x)
    test_x = None
    if test_images is not None:
        test_x = test_images.to(device=target, dtype=model.dtype).contiguous()
        model.check_input(test_x)
    signature = _data_signature(train_images)

    if settings.binarize == "static":
        x = _binarize_once(x, _generator(target, seed, "static-binarize"))
    if test_x is not None and settings.binarize != "none":
        test_x = _binarize_once(test_x, _generator(target, seed, "test-binarize"))

    run = _new_run(model, settings, target)
    n_batches = math.ceil(x.shape[0] / settings.batch_size)
    progress_display = _Progress(mode, settings.epochs, n_batches)
    if resume:
        _resume(run, checkpoint_path, settings, signature, n_batches, progress_display)

    payload_extra = {"training": {**settings.training_dict(), "epochs": settings.epochs}, "data": signature,
                     "metadata": dict(metadata or {})}
    interrupted = False
    with _DeferredInterrupt() as interrupt:
        progress_display.start(run.position.epoch, run.position.batch)
        try:
            _train(run, x, test_x, settings, n_batches, test_batch_size, interrupt,
                   progress_display, checkpoint_path, payload_extra, on_epoch)
        except KeyboardInterrupt:
            interrupted = True
            _stop_cleanly(run, settings, n_batches, progress_display, checkpoint_path, payload_extra)
        finally:
            progress_display.close()
    model.eval()
    written = checkpoint_path if checkpoint_path is not None and checkpoint_path.exists() else None
    return FitResult(model, run.history, interrupted, written)


def _check_model(model: object) -> None:
    if not isinstance(model, nn.Module) or not all(hasattr(model, a) for a in ("config", "elbo", "check_input")):
        raise TypeError(
            f"fit() trains a vae_lib VAE (VAE(...) or build_vae(config)), got {type(model).__name__}."
        )


def _new_run(model: VAE, settings: _Settings, device: torch.device) -> _Run:
    perm_gen = _generator(device, settings.seed, "permutation")
    noise_gen = _generator(device, settings.seed, "noise")
    position = _Position(epoch=0, batch=0, sums=torch.zeros(2, device=device), seconds=0.0,
                         perm_state=perm_gen.get_state(), noise_state=noise_gen.get_state())
    optimizer = _adam(model, settings.lr, device)
    return _Run(model, optimizer, History(), position, perm_gen, noise_gen)


def _train(run: _Run, x: Tensor, test_x: Tensor | None, settings: _Settings, n_batches: int,
           test_batch_size: int, interrupt: _DeferredInterrupt, display: _Progress,
           checkpoint_path: Path | None, payload_extra: dict, on_epoch) -> None:
    """The epochs still to run. Inside an epoch nothing waits for the device (except the bar)."""
    model, optimizer, pos = run.model, run.optimizer, run.position
    n_images, batch_size = x.shape[0], settings.batch_size
    dynamic = settings.binarize == "dynamic"
    on_cpu = x.device.type == "cpu"
    if dynamic:
        from vae_lib.data import dynamic_binarize
    model.train()
    while pos.epoch < settings.epochs:
        run.clock = time.perf_counter()
        run.perm_gen.set_state(pos.perm_state)
        order = torch.randperm(n_images, generator=run.perm_gen, device=x.device)
        for b in range(pos.batch, n_batches):
            pos.noise_state = run.noise_gen.get_state()
            if interrupt.requested:
                raise KeyboardInterrupt
            batch = torch.index_select(x, 0, order[b * batch_size:(b + 1) * batch_size])  # faster than x[idx]
            if dynamic:
                batch = dynamic_binarize(batch, generator=run.noise_gen)
            terms = model.elbo(batch, beta=settings.beta, generator=run.noise_gen, validate=False)
            loss = -terms.objective.mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            batch_sums = torch.stack((terms.reconstruction.detach(), terms.kl.detach())).sum(1)
            run.updating_batch = b
            optimizer.step()
            if on_cpu and (pos.epoch * n_batches + b + 1) % FLUSH_EVERY == 0:
                _flush_tiny_moments(optimizer)
            pos.sums += batch_sums
            pos.batch = b + 1
            run.updating_batch = None
            if display.due():
                _refresh_bar(run, display, n_batches, n_images, batch_size, settings)
        _finish_epoch(run, test_x, settings, n_images, test_batch_size, display, n_batches)
        if checkpoint_path is not None:
            _save_run(checkpoint_path, run, payload_extra)
        if on_epoch is not None:
            on_epoch(dict(run.history[-1]))


def _refresh_bar(run: _Run, display: _Progress, n_batches: int, n_images: int, batch_size: int,
                 settings: _Settings) -> None:
    pos = run.position
    reconstruction, kl = pos.sums.tolist()  # the one wait for the device, twice a second at most
    elbo_sum = reconstruction - kl
    if not math.isfinite(elbo_sum):
        raise _diverged(settings, pos.epoch, f"at batch {pos.batch}/{n_batches}")
    seen = min(pos.batch * batch_size, n_images)
    display.refresh(pos.epoch, pos.epoch * n_batches + pos.batch, elbo_sum / seen)


def _finish_epoch(run: _Run, test_x: Tensor | None, settings: _Settings, n_images: int,
                  test_batch_size: int, display: _Progress, n_batches: int) -> None:
    """Read the epoch's sums (one wait for the device), check them, evaluate, record."""
    pos = run.position
    parameter_sum = torch.stack([p.detach().sum() for p in run.model.parameters()]).sum()
    reconstruction, kl, weights = torch.cat([pos.sums, parameter_sum.reshape(1).to(pos.sums.dtype)]).tolist()
    pos.seconds += time.perf_counter() - run.clock  # after the wait: the device has finished
    run.clock = None
    if not all(math.isfinite(v) for v in (reconstruction, kl, weights)):
        raise _diverged(settings, pos.epoch, "")
    record = {"epoch": pos.epoch + 1, "train_elbo": (reconstruction - kl) / n_images,
              "train_reconstruction": reconstruction / n_images, "train_kl": kl / n_images}
    record["seconds"] = pos.seconds
    if test_x is not None:
        record.update(_test_metrics(run.model, test_x, test_batch_size, settings.seed))
    run.history.append(record)
    pos.epoch += 1
    pos.batch = 0
    pos.sums.zero_()
    pos.seconds = 0.0
    pos.perm_state = run.perm_gen.get_state()
    pos.noise_state = run.noise_gen.get_state()
    display.epoch_end(record, pos.epoch * n_batches)
    run.model.train()


def _test_metrics(model: VAE, test_x: Tensor, batch_size: int, seed: int) -> dict:
    """Test ELBO and its parts with the same z noise every epoch (so epochs compare fairly)."""
    from vae_lib.evaluate import test_elbo

    result = test_elbo(model, test_x, batch_size=batch_size, seed=_derived_seed(seed, "test-noise"))
    return {f"test_{name}": result[name] for name in _METRICS}


def _diverged(settings: _Settings, epoch: int, where: str) -> TrainingDiverged:
    where = f" {where}" if where else ""
    return TrainingDiverged(
        f"Training diverged: the ELBO or the weights became NaN or infinite in epoch {epoch + 1}{where} "
        f"(lr={settings.lr:g}, batch_size={settings.batch_size}). Try a smaller learning rate "
        f"(e.g. lr={settings.lr / 10:g}); clamp the encoder's log-variance to a sane range "
        "(e.g. logvar.clamp(-10, 10)) in a custom model; check the inputs are finite and in "
        "[0, 1] (model.check_input(x)); for likelihood='gaussian' try a fixed sigma. "
        "Any checkpoint keeps the last good epoch."
    )


def _stop_cleanly(run: _Run, settings: _Settings, n_batches: int, display: _Progress,
                  checkpoint_path: Path | None, payload_extra: dict) -> None:
    """After Ctrl-C: say where training stopped, save the checkpoint, keep what there is."""
    pos = run.position
    if run.clock is not None:
        pos.seconds += time.perf_counter() - run.clock
        run.clock = None
    torn = run.updating_batch is not None
    if torn:  # the update has (most likely) gone through: count the batch as done
        pos.batch = run.updating_batch + 1
        pos.noise_state = run.noise_gen.get_state()
        run.updating_batch = None
    done = len(run.history)
    where = (f"after {pos.batch}/{n_batches} batches of epoch {pos.epoch + 1}/{settings.epochs}"
             if pos.batch else f"after epoch {pos.epoch}/{settings.epochs}")
    message = [f"Training interrupted {where}: returning the model as it is now "
               f"and the history of the {done} complete epoch{'s' if done != 1 else ''}."]
    finite = all(math.isfinite(v) for v in pos.sums.tolist())
    if checkpoint_path is not None and finite:
        _save_run(checkpoint_path, run, payload_extra)
        message.append(f"Checkpoint saved to {checkpoint_path}; fit(..., checkpoint=..., resume=True) "
                       "(or the command line's --resume) continues exactly from here.")
        if torn:
            message.append("(The interruption came during a weight update, so the continued run may "
                           "differ slightly from an uninterrupted one.)")
    elif checkpoint_path is not None:
        message.append(f"The checkpoint {checkpoint_path} was not updated: the loss had become NaN.")
    display.note(" ".join(message))


# --------------------------------------------------------------------------- checkpoints


def _atomic_save(payload: dict, path: Path) -> None:
    """Write with ``torch.save`` to a temporary file beside ``path``, then rename it over ``path``.

    A crash or Ctrl-C while writing leaves the previous file untouched and no temporary file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            torch.save(payload, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _payload(model: VAE, *, optimizer=None, history=(), position: _Position | None = None,
             rng: dict | None = None, extra: Mapping | None = None) -> dict:
    """A checkpoint as plain data (tensors, dicts, lists, numbers, strings) for weights_only loading."""
    from vae_lib import __version__

    payload = {
        "format": CHECKPOINT_FORMAT,
        "format_version": CHECKPOINT_VERSION,
        "vae_lib_version": __version__,
        "config": model.config.to_dict(),
        "model_state": model.state_dict(),
        "optimizer_state": None if optimizer is None else optimizer.state_dict(),
        "epoch": len(history) if position is None else position.epoch,
        "position": None if position is None else position.to_dict(),
        "rng": rng,
        "history": [dict(record) for record in history],
    }
    payload.update(extra or {})
    return payload


def _save_run(path: Path, run: _Run, extra: dict) -> None:
    rng = {"device_type": run.position.sums.device.type,
           "permutation": run.position.perm_state.clone(), "noise": run.position.noise_state.clone()}
    payload = _payload(run.model, optimizer=run.optimizer, history=run.history,
                       position=run.position, rng=rng, extra=extra)
    _atomic_save(payload, path)


def save_checkpoint(path: str | os.PathLike, model: VAE, *, optimizer: torch.optim.Optimizer | None = None,
                    history: list | None = None, metadata: Mapping[str, Any] | None = None) -> Path:
    """Save a model (and optionally its optimizer and history) as a vae_lib checkpoint, atomically.

    :func:`fit` saves richer checkpoints itself (with the random state for an exact resume);
    this is for keeping a model you have, e.g. after fine-tuning it yourself. The file loads
    with :func:`load_checkpoint`, or ``torch.load(path, weights_only=True)``.

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
    _check_model(model)
    path = Path(path).expanduser()
    _atomic_save(_payload(model, optimizer=optimizer, history=history or (),
                          extra={"metadata": dict(metadata or {})}), path)
    return path


def _read_checkpoint(path: str | os.PathLike) -> dict:
    """Load and sanity-check a checkpoint file; every failure names the file and what to do."""
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"No checkpoint at {path}: check the path (train one with fit(..., checkpoint=...)).")
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder, not a checkpoint file.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # any failure to read means the file cannot be trusted
        reason = str(err).strip().splitlines()[0][:200] if str(err).strip() else type(err).__name__
        raise CheckpointError(
            f"Cannot read the checkpoint {path}: it is truncated, corrupted or not a PyTorch "
            f"file ({reason}). Delete it and train again, or pass another file."
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path} is not a vae_lib checkpoint (it lacks format={CHECKPOINT_FORMAT!r}). If it is a "
            "bare state_dict, build the model yourself and call model.load_state_dict(torch.load(path))."
        )
    version = payload.get("format_version")
    if not isinstance(version, int) or version > CHECKPOINT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {version!r}, newer than this vae_lib understands "
            f"({CHECKPOINT_VERSION}); upgrade vae_lib to read it."
        )
    missing = [key for key in ("config", "model_state", "history") if not isinstance(payload.get(key), (dict, list))]
    if missing:
        raise CheckpointError(f"The checkpoint {path} is incomplete (no valid {', '.join(missing)}); train again.")
    return payload


def _model_from_payload(payload: dict, path: Path) -> VAE:
    try:
        with torch.random.fork_rng(devices=[]):  # building initialises weights: leave the global RNG alone
            model = build_vae(payload["config"])
        model.load_state_dict(payload["model_state"])
    except (ValueError, TypeError, RuntimeError, KeyError) as err:
        first_line = str(err).strip().splitlines()[0][:300] if str(err).strip() else type(err).__name__
        raise CheckpointError(f"The checkpoint {path} does not hold a usable model ({first_line}).") from None
    return model


def load_checkpoint(path: str | os.PathLike, device: str | torch.device | None = "cpu") -> tuple[VAE, dict]:
    """Load a checkpoint: ``(model, state)`` with the model rebuilt from its saved configuration.

    Args:
        path: a file written by :func:`fit` or :func:`save_checkpoint`.
        device: where to put the model (``"auto"`` for the best available).

    Returns:
        The model (in eval mode) and a dict with ``config``, ``epoch`` (completed epochs),
        ``history`` (a :class:`History`), ``metadata``, ``training`` (the settings of the run,
        if saved by :func:`fit`) and ``optimizer_state``.

    Raises:
        FileNotFoundError: no file there.
        CheckpointError: the file is truncated, corrupted, not a vae_lib checkpoint, or too new.

    >>> model, state = load_checkpoint("runs/vae.pt")  # doctest: +SKIP
    >>> state["epoch"], state["history"][-1]["test_elbo"]  # doctest: +SKIP
    (10, -98.7)
    """
    path = Path(path).expanduser()
    payload = _read_checkpoint(path)
    model = _model_from_payload(payload, path).to(pick_device(device)).eval()
    state = {key: value for key, value in payload.items() if key != "model_state"}
    state["history"] = History(payload["history"])
    state.setdefault("metadata", {})
    return model, state


def _differences(saved: Mapping, wanted: Mapping) -> list[str]:
    def normal(value):
        return list(value) if isinstance(value, tuple) else value

    keys = list(dict.fromkeys([*saved, *wanted]))
    return [f"{key}: checkpoint {saved.get(key)!r}, now {wanted.get(key)!r}"
            for key in keys if normal(saved.get(key)) != normal(wanted.get(key))]


def _resume(run: _Run, path: Path, settings: _Settings, signature: dict, n_batches: int,
            display: _Progress) -> None:
    """Load the run saved at ``path`` into ``run`` (after checking it is the same run)."""
    if not path.exists():
        display.note(f"No checkpoint at {path} yet: starting from scratch.")
        return
    payload = _read_checkpoint(path)
    config_diff = _differences(payload["config"], run.model.config.to_dict())
    if config_diff:
        raise CheckpointError(
            f"The checkpoint {path} was written for a different model configuration "
            f"({'; '.join(config_diff)}). Use a new checkpoint path for this model, or build the "
            f"model with the checkpoint's configuration (load_checkpoint(path) returns it)."
        )
    training = payload.get("training")
    if isinstance(training, Mapping):
        setting_diff = _differences({k: training.get(k) for k in _TRAINING_KEYS}, settings.training_dict())
        if setting_diff:
            raise CheckpointError(
                f"The checkpoint {path} comes from a run with other settings ({'; '.join(setting_diff)}), "
                "so resuming would not continue it. Pass the checkpoint's settings, or use a new "
                "checkpoint path (to fine-tune with new settings, load the weights with "
                "load_checkpoint() and call fit() without resume)."
            )
    saved_data = payload.get("data")
    if isinstance(saved_data, Mapping) and not _same_data(saved_data, signature):
        raise CheckpointError(
            f"The checkpoint {path} was trained on other data ({saved_data.get('n_images')} images, "
            f"pixel sum {saved_data.get('sum')!r}; now {signature['n_images']} images, pixel sum "
            f"{signature['sum']!r}). Resume with the same training data, or use a new checkpoint path."
        )
    run.model.load_state_dict(payload["model_state"])
    _restore_optimizer(run, payload.get("optimizer_state"), path)
    run.history[:] = History(payload["history"])
    _restore_position(run, payload, path, n_batches, display)
    pos = run.position
    where = f"epoch {pos.epoch + 1}, batch {pos.batch}/{n_batches}" if pos.batch else f"epoch {pos.epoch + 1}"
    if pos.epoch >= settings.epochs:
        display.note(f"Checkpoint {path} already has {pos.epoch} epochs (epochs={settings.epochs}): nothing to train.")
    else:
        display.note(f"Resuming from {path} at {where} of {settings.epochs}.")


def _same_data(saved: Mapping, now: dict) -> bool:
    if saved.get("n_images") != now["n_images"]:
        return False
    saved_sum = saved.get("sum")
    return isinstance(saved_sum, float) and math.isclose(saved_sum, now["sum"], rel_tol=1e-9, abs_tol=1e-6)


def _restore_optimizer(run: _Run, state: dict | None, path: Path) -> None:
    if state is None:
        return
    chosen = {key: run.optimizer.param_groups[0].get(key) for key in ("fused", "foreach")}
    try:
        run.optimizer.load_state_dict(state)
    except (ValueError, KeyError, RuntimeError) as err:
        raise CheckpointError(f"The optimizer state in {path} does not fit this model ({err}).") from None
    for group in run.optimizer.param_groups:  # keep the implementation chosen for this device
        group.update(chosen)


def _restore_position(run: _Run, payload: dict, path: Path, n_batches: int, display: _Progress) -> None:
    pos, saved = run.position, payload.get("position")
    if not isinstance(saved, Mapping):  # a checkpoint from save_checkpoint: weights only
        pos.epoch = int(payload.get("epoch") or len(run.history))
        display.note(f"{path} holds no random state: continuing with fresh random streams.")
        return
    pos.epoch, pos.batch = int(saved["epoch"]), int(saved["batch"])
    pos.seconds = float(saved.get("seconds", 0.0))
    pos.sums = torch.tensor(saved["sums"], dtype=pos.sums.dtype, device=pos.sums.device)
    if pos.batch > n_batches:
        raise CheckpointError(f"The checkpoint {path} stopped at batch {pos.batch}, beyond this run's "
                              f"{n_batches} batches per epoch; it belongs to another run.")
    rng = payload.get("rng") or {}
    try:
        if rng.get("device_type") != pos.sums.device.type:
            raise ValueError(f"it was saved on {rng.get('device_type')}")
        run.perm_gen.set_state(rng["permutation"])
        run.noise_gen.set_state(rng["noise"])
    except (ValueError, KeyError, RuntimeError, TypeError) as err:
        # Random states are device-specific: reseed per position, not bit-identical any more.
        seed_base = f"{pos.epoch}:{pos.batch}"
        run.perm_gen.manual_seed(_derived_seed(int(payload["training"]["seed"]), f"permutation-{seed_base}"))
        run.noise_gen.manual_seed(_derived_seed(int(payload["training"]["seed"]), f"noise-{seed_base}"))
        display.note(f"The random state in {path} cannot be restored here ({err}); continuing with fresh "
                     "random streams, so the run will not match an uninterrupted one exactly.")
    pos.perm_state = run.perm_gen.get_state()
    pos.noise_state = run.noise_gen.get_state()


# --------------------------------------------------------------------------- the trained-model cache


def _as_config(config: VAEConfig | Mapping | None) -> VAEConfig:
    if config is None:
        return VAEConfig()
    if isinstance(config, VAEConfig):
        return config
    if isinstance(config, Mapping):
        return VAEConfig.from_dict(config)
    raise TypeError(f"config must be a VAEConfig, a dict or None, got {type(config).__name__}.")


@dataclass
class _DataChoice:
    name: str
    fingerprint: str
    description: str
    load: Callable[[], tuple[Tensor, Tensor]]  # -> (train images, test images)


def _data_choice(data: str) -> _DataChoice:
    """The named data set: its fingerprint and description without loading it (MNIST)."""
    if data == "mnist":
        from vae_lib.data import load_mnist, mnist_source

        train, test = mnist_source("train"), mnist_source("test")
        return _DataChoice(
            "mnist", f"{train.fingerprint}+{test.fingerprint}", train.describe(),
            lambda: (load_mnist("train")[0], load_mnist("test")[0]),
        )
    if data == "synthetic":
        from vae_lib.data import synthetic_digits

        def load() -> tuple[Tensor, Tensor]:
            return synthetic_digits(SYNTHETIC_SIZES[0], seed=0)[0], synthetic_digits(SYNTHETIC_SIZES[1], seed=1)[0]

        return _DataChoice("synthetic", f"synthetic-{SYNTHETIC_SIZES[0]}-{SYNTHETIC_SIZES[1]}-v1",
                           f"Synthetic digits: {SYNTHETIC_SIZES[0]} train / {SYNTHETIC_SIZES[1]} test images "
                           "(vae_lib.data.synthetic_digits, seeds 0 and 1)", load)
    raise ValueError(f"data must be 'mnist' or 'synthetic', got {data!r}.")


#: Train and test sizes of ``data="synthetic"`` (for tests and quick demos).
SYNTHETIC_SIZES = (512, 128)


def _cache_key(config: VAEConfig, settings: _Settings, data: _DataChoice) -> dict:
    return {"config": config.to_dict(), "epochs": settings.epochs, **settings.training_dict(),
            "data": data.name, "data_fingerprint": data.fingerprint, "format_version": CHECKPOINT_VERSION}


def _cache_path(key: dict, config: VAEConfig) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    name = f"vae-{config.architecture}-{config.likelihood}-z{config.latent_dim}-e{key['epochs']}-{digest}.pt"
    return cache_dir("models") / name


def trained_vae(
    config: VAEConfig | Mapping | None = None,
    epochs: int = 10,
    data: str = "mnist",
    binarize: str | None = "dynamic",
    seed: int = 0,
    device: str | torch.device | None = "auto",
    *,
    batch_size: int = 128,
    lr: float = 1e-3,
    beta: float = 1.0,
    progress: str | bool = "auto",
    retrain: bool = False,
) -> FitResult:
    """A trained VAE from the cache, trained (and cached) only the first time it is asked for.

    The cache file in ``cache_dir("models")`` is named by a hash of everything that shapes the
    result: the model configuration, epochs, batch size, learning rate, β, binarization, seed
    and the exact data (``mnist_source(...).fingerprint``). So several chapters asking for the
    same model share one file, rebuilding the book does not retrain, and changing anything
    trains a new model. The device is not part of the key. A cached file that cannot be read
    is trained again; an interrupted training is resumed the next time. While one process
    trains a model, another asking for the same one waits for it and then loads it.

    Args:
        config: a :class:`~vae_lib.models.VAEConfig` or dict (``None``: the default 784-400-20 MLP).
        epochs, batch_size, lr, beta, seed, binarize: as in :func:`fit`.
        data: ``"mnist"`` (train split for training, test split for the history) or
            ``"synthetic"`` (:data:`SYNTHETIC_SIZES` toy images, for tests).
        device: where to train and where the returned model lives.
        progress: as in :func:`fit`.
        retrain: train again even if a cached model exists.

    Returns:
        A :class:`FitResult`: ``model, history = trained_vae(...)``.

    >>> model, history = trained_vae(epochs=10)  # doctest: +SKIP
    MNIST train: 60,000 images from /home/you/.cache/vae_lib/mnist (cache)
    Loaded the trained VAE from the cache: vae-mlp-bernoulli-z20-e10-....pt (10 epochs, test ELBO -99.1)
    """
    model_config = _as_config(config)
    settings = _settings(epochs, batch_size, lr, beta, binarize, seed)
    target = pick_device(device)
    choice = _data_choice(data)
    key = _cache_key(model_config, settings, choice)
    path = _cache_path(key, model_config)
    with _exclusive(path):  # another process training the same model: wait, then load its result
        resume = False
        if path.exists() and not retrain:
            cached = _cached_run(path, key, target)
            if isinstance(cached, FitResult):
                print(choice.description)
                last = cached.history[-1] if cached.history else {}
                score = f", test ELBO {last['test_elbo']:.1f}" if last.get("test_elbo") is not None else ""
                print(f"Loaded the trained VAE from the cache: {path} ({len(cached.history)} epochs{score})")
                return cached
            resume = cached == "partial"
        elif retrain and path.exists():
            path.unlink()

        action = "Continuing the interrupted training of" if resume else "Training"
        print(f"{action} the VAE ({settings.epochs} epochs on {target.type}); it will be cached as {path}")
        train_images, test_images = choice.load()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(_derived_seed(settings.seed, "init"))
            model = build_vae(model_config)
        result = fit(model, train_images, epochs=settings.epochs, batch_size=settings.batch_size, lr=settings.lr,
                     device=target, seed=settings.seed, test_data=test_images, beta=settings.beta,
                     binarize=settings.binarize, checkpoint=path, resume=resume, progress=progress,
                     metadata={"cache_key": json.dumps(key, sort_keys=True), "data": choice.name})
        if result.interrupted:
            print("The interrupted model is not cached as finished; asking for it again continues the training.")
        return result


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold a lock on the cached model at ``path`` while it is checked, trained and saved.

    The lock file lives in ``cache_dir("locks")``, so the models folder holds models only.
    The operating system releases the lock when its process ends, however it ends, so a
    crashed or killed training never blocks the next one.
    """
    lock = FileLock(cache_dir("locks") / f"{path.name}.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"Another process is training or saving {path.name}; waiting for it to finish...", flush=True)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _cached_run(path: Path, key: dict, device: torch.device) -> FitResult | str:
    """The cached run at ``path`` if finished; else ``"partial"`` (resumable) or ``"unusable"``."""
    try:
        payload = _read_checkpoint(path)
        model = _model_from_payload(payload, path)
    except CheckpointError as err:
        print(f"Ignoring the unusable cached model ({err}); training it again.")
        path.unlink(missing_ok=True)
        return "unusable"
    if payload.get("metadata", {}).get("cache_key") != json.dumps(key, sort_keys=True):
        print(f"The cached model {path} was made for other settings; training it again.")
        path.unlink(missing_ok=True)
        return "unusable"
    position = payload.get("position") or {}
    if payload.get("epoch") != key["epochs"] or position.get("batch", 0) != 0:
        return "partial"
    model.to(device).eval()
    return FitResult(model, History(payload["history"]), False, path)
