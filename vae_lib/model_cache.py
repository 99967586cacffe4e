"""The trained-model cache: :func:`trained_vae` trains a model the first time, then loads it.

Cached models are checkpoints in ``cache_dir("models")``, named by a hash of everything that
shapes the result, so the chapters that need the same model share one file and rebuilding
the book does not train again. A file lock per model lets one process train it while the
others wait and then load it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from filelock import FileLock, Timeout
from torch import Tensor

from vae_lib.checkpoints import CHECKPOINT_VERSION, CheckpointError, load_checkpoint
from vae_lib.data import load_mnist, mnist_source, synthetic_digits
from vae_lib.models import VAEConfig, build_vae
from vae_lib.paths import cache_dir
from vae_lib.train import FitResult, Settings, derived_seed, fit

__all__ = ["SYNTHETIC_SIZES", "trained_vae"]

#: Train and test sizes of ``data="synthetic"`` (for tests and quick demos).
SYNTHETIC_SIZES = (512, 128)


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
        epochs, batch_size, lr, beta, seed, binarize: as in :func:`~vae_lib.train.fit`.
        data: ``"mnist"`` (train split for training, test split for the history) or
            ``"synthetic"`` (:data:`SYNTHETIC_SIZES` toy images, for tests).
        device: where to train and where the returned model lives.
        progress: as in :func:`~vae_lib.train.fit`.
        retrain: train again even if a cached model exists.

    Returns:
        A :class:`~vae_lib.train.FitResult`: ``model, history = trained_vae(...)``.

    >>> model, history = trained_vae(epochs=10)  # doctest: +SKIP
    MNIST train: 60,000 images from /home/you/.cache/vae_lib/mnist (cache)
    Loaded the trained VAE from the cache: vae-mlp-bernoulli-z20-e10-....pt (10 epochs, test ELBO -99.1)
    """
    model_config = _as_config(config)
    # Checked (and the device picked) once, here: the cache key needs the checked values, and fit uses them as they are.
    settings = Settings(epochs=epochs, batch_size=batch_size, lr=lr, beta=beta, binarize=binarize, seed=seed,
                        device=device)
    choice = _data_choice(data)
    key = _cache_key(model_config, settings, choice)
    path = _cache_path(key, model_config)
    with _exclusive(path):  # another process training the same model: wait, then load its result
        resume = False
        if path.exists() and not retrain:
            cached = _cached_run(path, key, settings.device)
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
        print(f"{action} the VAE ({settings.epochs} epochs on {settings.device.type}); it will be cached as {path}")
        train_images, test_images = choice.load()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(derived_seed(settings.seed, "init"))
            model = build_vae(model_config)
        result = fit(model, train_images, settings=settings, test_data=test_images, checkpoint=path, resume=resume,
                     progress=progress, metadata={"cache_key": json.dumps(key, sort_keys=True), "data": choice.name})
        if result.interrupted:
            print("The interrupted model is not cached as finished; asking for it again continues the training.")
        return result


def _as_config(config: VAEConfig | Mapping | None) -> VAEConfig:
    if config is None:
        return VAEConfig()
    if isinstance(config, VAEConfig):
        return config
    if isinstance(config, Mapping):
        return VAEConfig.from_dict(config)
    raise TypeError(f"config must be a VAEConfig, a dict or None, got {type(config).__name__}.")


# --------------------------------------------------------------------------- the data


@dataclass
class _DataChoice:
    name: str
    fingerprint: str
    description: str
    load: Callable[[], tuple[Tensor, Tensor]]  # -> (train images, test images)


def _data_choice(data: str) -> _DataChoice:
    """The named data set: its fingerprint and description without loading it (MNIST)."""
    if data == "mnist":
        train, test = mnist_source("train"), mnist_source("test")
        return _DataChoice(
            "mnist", f"{train.fingerprint}+{test.fingerprint}", train.describe(),
            lambda: (load_mnist("train")[0], load_mnist("test")[0]),
        )
    if data == "synthetic":
        n_train, n_test = SYNTHETIC_SIZES
        return _DataChoice("synthetic", f"synthetic-{n_train}-{n_test}-v1",
                           f"Synthetic digits: {n_train} train / {n_test} test images "
                           "(vae_lib.data.synthetic_digits, seeds 0 and 1)",
                           lambda: (synthetic_digits(n_train, seed=0)[0], synthetic_digits(n_test, seed=1)[0]))
    raise ValueError(f"data must be 'mnist' or 'synthetic', got {data!r}.")


# --------------------------------------------------------------------------- the cache file


def _cache_key(config: VAEConfig, settings: Settings, data: _DataChoice) -> dict:
    return {"config": config.to_dict(), "epochs": settings.epochs, **settings.training_dict(),
            "data": data.name, "data_fingerprint": data.fingerprint, "format_version": CHECKPOINT_VERSION}


def _cache_path(key: dict, config: VAEConfig) -> Path:
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    name = f"vae-{config.architecture}-{config.likelihood}-z{config.latent_dim}-e{key['epochs']}-{digest}.pt"
    return cache_dir("models") / name


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
        model, state = load_checkpoint(path)
    except CheckpointError as err:
        print(f"Ignoring the unusable cached model ({err}); training it again.")
        path.unlink(missing_ok=True)
        return "unusable"
    if state["metadata"].get("cache_key") != json.dumps(key, sort_keys=True):
        print(f"The cached model {path} was made for other settings; training it again.")
        path.unlink(missing_ok=True)
        return "unusable"
    position = state.get("position") or {}
    if state.get("epoch") != key["epochs"] or position.get("batch", 0) != 0:
        return "partial"
    return FitResult(model.to(device), state["history"], False, path)
