"""Private: IDX files (the format of MNIST), read with limits known in advance.

An IDX file is a header (a magic number, then the size of each dimension) followed by exactly
as many unsigned bytes as the sizes multiply to. So the header says how much must follow: the
content is read (and, for a ``.gz`` file, decompressed) only up to that many bytes plus one, the
one that proves a file too long. A gzip bomb (a small file that decompresses to gigabytes) is
found out after at most that many bytes, and no file larger than the largest MNIST file
(:data:`MAX_IDX_BYTES`) is read at all. Every problem is a :class:`MnistDataError` that names
the file and says what to do.

>>> import gzip, io
>>> header = (2049).to_bytes(4, "big") + (3).to_bytes(4, "big")
>>> parse_idx(Path("labels.gz"), gzip.compress(header + bytes([7, 1, 4])), 2049).tolist()
[7, 1, 4]
"""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path

import numpy as np

from vae_lib._file_limits import RefusedFile, human_size, read_regular_file

__all__ = ["GZIP_ERRORS", "IMAGE_MAGIC", "IMAGE_SIZE", "LABEL_MAGIC", "MAX_IDX_BYTES", "MnistDataError",
           "bounded_content", "count_items", "parse_idx", "read_stored"]

IMAGE_MAGIC = 2051  # IDX: unsigned bytes, 3 dimensions (count, rows, columns)
LABEL_MAGIC = 2049  # IDX: unsigned bytes, 1 dimension (count)
_MAGIC_MEANING = {IMAGE_MAGIC: "an image file", LABEL_MAGIC: "a label file"}
IMAGE_SIZE = 28

#: The largest MNIST file, decompressed: the 60,000 training images (16 header bytes + 60,000 × 28 × 28).
#: No MNIST file, stored or decompressed, is larger, so nothing larger is ever read.
MAX_IDX_BYTES = 16 + 60_000 * IMAGE_SIZE * IMAGE_SIZE

GZIP_MAGIC = b"\x1f\x8b"
GZIP_ERRORS = (OSError, EOFError, zlib.error)  # what a damaged or truncated gzip stream raises
_FIX = "Replace it with a fresh copy of the official MNIST file."


class MnistDataError(RuntimeError):
    """An MNIST file is missing, damaged or not the official one; the message says how to fix it."""


def read_stored(path: Path) -> bytes:
    """The stored bytes of an MNIST file: a regular file of at most :data:`MAX_IDX_BYTES`.

    Raises:
        MnistDataError: not a regular file, or larger than any MNIST file.
        OSError: it cannot be read now (permissions, the disk).
    """
    try:
        return read_regular_file(path, MAX_IDX_BYTES)
    except RefusedFile as refused:
        raise MnistDataError(f"{path} is not an MNIST file: {refused.reason} ({human_size(MAX_IDX_BYTES)}, "
                             f"the training images). {_FIX}") from None


def bounded_content(stored: bytes) -> bytes:
    """The content of an IDX file's bytes (decompressed if gzipped), read no further than its header
    announces plus one byte (which proves a file too long), and only the header if it announces
    more than :data:`MAX_IDX_BYTES`. A gzip bomb is thus decompressed a few bytes past its header.

    >>> header = (2049).to_bytes(4, "big") + (3).to_bytes(4, "big")
    >>> len(bounded_content(gzip.compress(header + bytes(10**6))))  # 8 + 3 + 1
    12

    Raises:
        OSError, EOFError, zlib.error: a ``.gz`` file that is not a complete gzip stream (:data:`GZIP_ERRORS`).
    """
    is_gzip = stored.startswith(GZIP_MAGIC)
    with (gzip.GzipFile(fileobj=io.BytesIO(stored)) if is_gzip else io.BytesIO(stored)) as stream:
        start = stream.read(4)
        if len(start) < 4:
            return start
        header = start + stream.read(4 * start[3])
        if len(header) < 4 + 4 * start[3]:
            return header
        announced = _announced_bytes(header)
        if len(header) + announced > MAX_IDX_BYTES:
            return header
        return header + stream.read(announced + 1)


def _announced_bytes(header: bytes) -> int:
    sizes = np.frombuffer(header, dtype=">u4", offset=4).astype(np.int64)
    return int(np.prod(sizes))


def parse_idx(path: Path, stored: bytes, expected_magic: int) -> np.ndarray:
    """The array an IDX file holds (gzipped or not), with the shape its header gives, e.g. (N, 28, 28).

    Reads the header first, then the bytes it announces plus one, never more (:func:`bounded_content`).
    """
    try:
        content = bounded_content(stored)
    except GZIP_ERRORS as err:
        raise MnistDataError(
            f"{path} is not a complete gzip file ({err or type(err).__name__}): it was probably truncated by an "
            "interrupted download or copy. Replace it with a fresh copy of the official file."
        ) from None
    if len(content) < 4:
        raise MnistDataError(f"{path} is truncated: {len(content)} bytes, too short for an IDX header. {_FIX}")
    magic = int.from_bytes(content[:4], "big")
    if magic != expected_magic:
        found = _MAGIC_MEANING.get(magic, "not an MNIST IDX file")
        raise MnistDataError(
            f"{path} starts with the magic number {magic} ({found}), but {_MAGIC_MEANING[expected_magic]} "
            f"must start with {expected_magic}. Check that the image and label files are not swapped; "
            f"otherwise the file is damaged. {_FIX}"
        )
    header_size = 4 + 4 * content[3]
    if len(content) < header_size:
        raise MnistDataError(f"{path} is truncated inside its IDX header ({len(content)} bytes). {_FIX}")
    shape = tuple(int(d) for d in np.frombuffer(content, dtype=">u4", count=content[3], offset=4))
    expected_bytes, actual_bytes = _announced_bytes(content[:header_size]), len(content) - header_size
    if header_size + expected_bytes > MAX_IDX_BYTES:
        raise MnistDataError(
            f"{path} announces {shape[0]:,} items ({expected_bytes:,} bytes), more than any MNIST file holds "
            f"({human_size(MAX_IDX_BYTES)}): it is not an MNIST file. {_FIX}")
    if actual_bytes < expected_bytes:
        raise MnistDataError(
            f"{path} is truncated: its header says {shape[0]:,} items ({expected_bytes:,} bytes of data) "
            f"but only {actual_bytes:,} bytes follow (an interrupted download or copy?). {_FIX}"
        )
    if actual_bytes > expected_bytes:
        extra = ("holds more bytes" if stored.startswith(GZIP_MAGIC)
                 else f"has {len(stored) - header_size - expected_bytes:,} bytes more")
        raise MnistDataError(
            f"{path} {extra} than its header announces ({shape[0]:,} items): the file is damaged. {_FIX}")
    return np.frombuffer(content, dtype=np.uint8, count=expected_bytes, offset=header_size).reshape(shape)


def count_items(path: Path) -> int:
    """The item count in an IDX header, read without loading the file."""
    with path.open("rb") as raw:
        is_gzip = raw.read(2) == GZIP_MAGIC
    with (gzip.open(path, "rb") if is_gzip else path.open("rb")) as stream:
        return int.from_bytes(stream.read(8)[4:8], "big")
