"""The trained-model cache: :func:`trained_vae` trains a model the first time, then loads it.

Cached models are checkpoints in ``cache_dir("models")``, named by a hash of everything that
shapes the result, so the chapters that need the same model share one file and rebuilding
the book does not train again. A file lock per model lets one process train it while the
others wait and then load it.

Nothing is deleted behind the user's back: a cached file is replaced only when its content
proves it unusable (:class:`~vae_lib.checkpoints.CheckpointContentError`: damaged, foreign, larger
than any checkpoint), and even then it is set aside as ``NAME.corrupt-<date-time>`` and kept, as
damaged data files are. A file that cannot be read now (a permission error, or something that is
no file) is left as it is; so is a cache folder that cannot be written: the model is then trained
without being cached, and the output says so. Only ``retrain=True`` replaces a sound cached model,
keeping it aside (``.NAME.set-aside``) until the new one is finished.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import textwrap
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from vae_lib._atomic_files import set_aside
from vae_lib._output_lock import holding
from vae_lib._sampling import derived_seed
from vae_lib.checkpoints import (CHECKPOINT_VERSION, CheckpointContentError, CheckpointError, check_writable,
                                 load_checkpoint)
from vae_lib.data import load_source, mnist_sources, synthetic_digits
from vae_lib.models import VAEConfig, build_vae
from vae_lib.paths import cache_dir
from vae_lib.train import FitResult, Settings, fit

__all__ = ["SYNTHETIC_SIZES", "trained_vae"]

#: Train and test sizes of ``data="synthetic"`` (for tests and quick demos).
SYNTHETIC_SIZES = (512, 128)
#: Messages are wrapped to this many characters, so that they fit the output box of a book page.
MESSAGE_WIDTH = 76


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
    trains a new model. The device is not part of the key. A cached file whose content is
    unusable is set aside and trained again; one that cannot be read now, or a cache folder
    that cannot be written, leaves the cache as it is and trains without caching. An
    interrupted training is resumed the next time. While one process trains a model, another
    asking for the same one waits for it and then loads it.

    Args:
        config: a :class:`~vae_lib.models.VAEConfig` or dict (``None``: the default 784-400-20 MLP).
        epochs, batch_size, lr, beta, seed, binarize: as in :func:`~vae_lib.train.fit`.
        data: ``"mnist"`` (train split for training, test split for the history) or
            ``"synthetic"`` (:data:`SYNTHETIC_SIZES` toy images, for tests).
        device: where to train and where the returned model lives.
        progress: as in :func:`~vae_lib.train.fit`.
        retrain: train again even if a cached model exists (it is kept aside until the new one is finished).

    Returns:
        A :class:`~vae_lib.train.FitResult`: ``model, history = trained_vae(...)``.

    >>> model, history = trained_vae(epochs=10)  # doctest: +SKIP
    MNIST train: 60,000 images from /home/you/.cache/vae_lib/mnist (cache)
    MNIST test: 10,000 images from /home/you/.cache/vae_lib/mnist (cache)
    Loaded the trained VAE from the cache (10 epochs, test ELBO -99.1):
      vae-mlp-bernoulli-z20-e10-....pt
      in the folder /home/you/.cache/vae_lib/models
    """
    model_config = VAEConfig.coerce(config)
    # Checked (and the device picked) once, here: the cache key needs the checked values, and fit uses them as they are.
    settings = Settings(epochs=epochs, batch_size=batch_size, lr=lr, beta=beta, binarize=binarize, seed=seed,
                        device=device)
    choice = _data_choice(data)
    key = _cache_key(model_config, settings, choice)
    try:
        path = _cache_path(key, model_config)
    except OSError as err:
        return _uncached(err, model_config, settings, choice, key, progress)
    try:
        check_writable(path)
    except OSError as err:  # a read-only cache may still hold the model: load it, but train nothing into it
        cached = _cached_run(path, key, settings.device) if path.exists() and not retrain else None
        if isinstance(cached, FitResult):
            return _loaded(cached, path, choice)
        return _uncached(err, model_config, settings, choice, key, progress)
    with _exclusive(path):  # another process training the same model: wait, then load its result
        cached = _cached_run(path, key, settings.device) if path.exists() and not retrain else None
        if isinstance(cached, FitResult):
            return _loaded(cached, path, choice)
        if cached == "unreadable":
            return _train(model_config, settings, choice, key, None, False, progress)
        replaced = retrain and path.exists()
        if replaced:
            os.replace(path, _aside_path(path))
            print(f"Retraining: the cached model is kept aside as {_aside_path(path).name} until the new one is "
                  "finished.")
        result = _train(model_config, settings, choice, key, path, cached == "partial", progress)
        if not result.interrupted and (replaced or _aside_path(path).exists()):
            _aside_path(path).unlink(missing_ok=True)  # retrained as asked: the sound old model may go
        return result


def _loaded(cached: FitResult, path: Path, choice: _DataChoice) -> FitResult:
    print(choice.description)
    last = cached.history[-1] if cached.history else {}
    score = f", {cached.history.test_name} ELBO {last['test_elbo']:.1f}" if last.get("test_elbo") is not None else ""
    print(f"Loaded the trained VAE from the cache ({len(cached.history)} epochs{score}):\n{_in_the_cache(path)}")
    return cached


def _in_the_cache(path: Path) -> str:
    """A cached model's file name and folder on lines of their own: short enough for a book page's output box."""
    return f"  {path.name}\n  in the folder {path.parent}"


def _uncached(problem: OSError, config: VAEConfig, settings: Settings, choice: _DataChoice, key: dict,
              progress: str | bool) -> FitResult:
    print(f"The trained-model cache cannot be written ({problem}); training anyway, without caching this model.")
    return _train(config, settings, choice, key, None, False, progress)


def _train(config: VAEConfig, settings: Settings, choice: _DataChoice, key: dict, path: Path | None,
           resume: bool, progress: str | bool) -> FitResult:
    """Train the model of ``key`` (continuing the run in ``path`` if ``resume``), cached at ``path`` (or not)."""
    action = "Continuing the interrupted training of" if resume else "Training"
    where = "it will be cached as" if path is not None else "it will not be cached"
    print(textwrap.fill(f"{action} the VAE ({settings.epochs} epochs on {settings.device.type}); {where}",
                        MESSAGE_WIDTH))
    if path is not None:
        print(_in_the_cache(path))
    print(choice.description)
    train_images, test_images = choice.load()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derived_seed(settings.seed, "init"))
        model = build_vae(config)
    result = fit(model, train_images, settings=settings, test_data=test_images, checkpoint=path, resume=resume,
                 progress=progress, metadata={"cache_key": json.dumps(key, sort_keys=True), **choice.metadata})
    if result.interrupted and path is not None:
        print("The interrupted model is not cached as finished; asking for it again continues the training.")
    return result


# --------------------------------------------------------------------------- the data


@dataclass
class _DataChoice:
    """The data of one run, found but not loaded: both splits always come from one source."""

    name: str
    fingerprint: str  # part of the cache key
    description: str  # one line per split, as loading would print them
    sources: dict  # split -> the record of its source (MnistSource.to_dict() for MNIST)
    load: Callable[[], tuple[Tensor, Tensor]]  # -> (train images, test images), silently

    @property
    def metadata(self) -> dict:
        """What a run records about its data: ``{"data": name, "data_source": {"train": ..., "test": ...}}``."""
        return {"data": self.name, "data_source": self.sources}


def _data_choice(data: str) -> _DataChoice:
    """The named data set: its fingerprint, description and sources without loading it (MNIST)."""
    if data == "mnist":
        train, test = mnist_sources()  # both official or both the bundled subset, never a mix
        return _DataChoice(
            "mnist", f"{train.fingerprint}+{test.fingerprint}",
            f"{train.describe(MESSAGE_WIDTH)}\n{test.describe(MESSAGE_WIDTH)}",
            {"train": train.to_dict(), "test": test.to_dict()},
            lambda: (load_source(train, verbose=False)[0], load_source(test, verbose=False)[0]),
        )
    if data == "synthetic":
        n_train, n_test = SYNTHETIC_SIZES
        return _DataChoice("synthetic", f"synthetic-{n_train}-{n_test}-v1",
                           f"Synthetic digits: {n_train} train / {n_test} test images\n"
                           "  (vae_lib.data.synthetic_digits, seeds 0 and 1)",
                           {"train": _synthetic_source("train", n_train, 0),
                            "test": _synthetic_source("test", n_test, 1)},
                           lambda: (synthetic_digits(n_train, seed=0)[0], synthetic_digits(n_test, seed=1)[0]))
    raise ValueError(f"data must be 'mnist' or 'synthetic', got {data!r}.")


def _synthetic_source(split: str, n_images: int, seed: int) -> dict:
    """The record of a synthetic split, with the keys of :meth:`vae_lib.data.MnistSource.to_dict`."""
    drawn_by = f"vae_lib.data.synthetic_digits({n_images}, seed={seed})"
    return {"kind": "synthetic", "location": drawn_by, "n_images": n_images,
            "fingerprint": f"synthetic-{n_images}-seed{seed}-v1", "split": split, "official_test_set": False,
            "description": f"Synthetic digits {split}: {n_images} images ({drawn_by})"}


# --------------------------------------------------------------------------- the cache file


#: Bumped when the numbers a cached run records change meaning (2: the test set's binary sample
#: is the one vae_lib.evaluate.test_elbo draws, so the command line repeats them).
HISTORY_VERSION = 2


def _cache_key(config: VAEConfig, settings: Settings, data: _DataChoice) -> dict:
    return {"config": config.to_dict(), "epochs": settings.epochs, **settings.training_dict(),
            "data": data.name, "data_fingerprint": data.fingerprint, "format_version": CHECKPOINT_VERSION,
            "history_version": HISTORY_VERSION}


def _cache_path(key: dict, config: VAEConfig) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    name = f"vae-{config.architecture}-{config.likelihood}-z{config.latent_dim}-e{key['epochs']}-{digest}.pt"
    return cache_dir("models") / name


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold the lock of the cached model at ``path`` while it is checked, trained and saved; when another
    process (or thread) holds it, wait for it to finish, then load its model (see :mod:`vae_lib._output_lock`)."""
    with holding(path, wait=True,
                 waiting_note=f"Another process is training or saving {path.name}; waiting for it to finish..."):
        yield


def _aside_path(path: Path) -> Path:
    """Where ``retrain=True`` keeps the sound cached model until the new one is finished."""
    return path.with_name(f".{path.name}.set-aside")


def _cached_run(path: Path, key: dict, device: torch.device) -> FitResult | str:
    """The cached run at ``path`` if finished; else ``"partial"`` (resumable), ``"replace"`` (set aside:
    its content proved it unusable) or ``"unreadable"`` (left as it is: it cannot be read now)."""
    try:
        model, state = load_checkpoint(path)
        if state["metadata"].get("cache_key") != json.dumps(key, sort_keys=True):
            raise CheckpointContentError(f"{path} was made for other settings")
    except CheckpointContentError as err:
        return _replaceable(path, err)
    except (OSError, CheckpointError) as err:  # a permission error, a newer vae_lib: no proof of damage
        return _left_alone(path, err)
    position = state.get("position") or {}
    if state.get("epoch") != key["epochs"] or position.get("batch", 0) != 0:
        return "partial"
    return FitResult(model.to(device), state["history"], False, path)


def _replaceable(path: Path, problem: Exception) -> str:
    """Set the unusable cached model aside, to be trained again: ``"replace"`` (or ``"unreadable"``)."""
    try:
        aside = set_aside(path)  # NAME.corrupt-<date-time>, kept: never deleted
    except OSError as err:
        return _left_alone(path, err)
    print(f"Setting aside the unusable cached model as {aside.name} ({problem}); training it again.")
    return "replace"


def _left_alone(path: Path, problem: Exception) -> str:
    print(f"Cannot use the cached model {path} ({problem}); it is left as it is, and this model is trained again "
          "without caching.")
    return "unreadable"
