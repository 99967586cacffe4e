"""Private: read a file only if it is a regular file no larger than a limit known in advance.

A name can point at something that is not a file (a folder, a FIFO that blocks the reader until
someone writes, ``/dev/zero`` that never ends) or at a file far larger than anything vae_lib
writes or reads (a truncated download is small; a malicious or mistaken one can be huge). Both
are refused here, before a byte is read, with the reason in words; the callers turn it into
their own error (a damaged checkpoint, a damaged MNIST file).

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "note.bin"
>>> _ = path.write_bytes(b"12345")
>>> read_regular_file(path, max_bytes=5)
b'12345'
>>> try:
...     read_regular_file(path, max_bytes=4)
... except RefusedFile as err:
...     print(err.reason)
it is 5 bytes, more than the 4 bytes any such file can be
>>> try:
...     read_regular_file(path.parent, max_bytes=4)
... except RefusedFile as err:
...     print(err.reason)
it is a folder, not a file
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["RefusedFile", "file_kind", "human_size", "read_regular_file"]

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device (such as /dev/zero)"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


class RefusedFile(ValueError):
    """A file that was not read: not a regular file, or larger than the limit. ``reason`` says which."""

    def __init__(self, path: Path, reason: str, *, too_large: bool):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason, self.too_large = path, reason, too_large


def file_kind(mode: int) -> str | None:
    """What a non-regular file is, in words (``"a folder"``, ``"a FIFO (named pipe)"`` ...); None for a file.

    >>> file_kind(stat.S_IFIFO), file_kind(stat.S_IFREG)
    ('a FIFO (named pipe)', None)
    """
    if stat.S_ISREG(mode):
        return None
    return next((words for test, words in _KINDS if test(mode)), "not a regular file")


def human_size(n_bytes: int) -> str:
    """A size in words: bytes below a mebibyte, else MiB or GiB with one decimal.

    >>> human_size(5), human_size(3 * 2**20), human_size(5 * 2**30)
    ('5 bytes', '3.0 MiB', '5.0 GiB')
    """
    if n_bytes < 2**20:
        return f"{n_bytes:,} byte{'s' if n_bytes != 1 else ''}"
    if n_bytes < 2**30:
        return f"{n_bytes / 2**20:.1f} MiB"
    return f"{n_bytes / 2**30:.1f} GiB"


def read_regular_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``max_bytes``; never blocks, never reads more.

    The file is opened without blocking (a FIFO would wait for a writer) and checked on the open
    handle, so a file swapped in between cannot slip through.

    Raises:
        RefusedFile: not a regular file, or larger than ``max_bytes`` (``too_large`` says which).
        OSError: it cannot be opened or read (missing, no permission, a disk error).
    """
    path = Path(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    handle = os.open(path, flags)
    try:
        info = os.fstat(handle)
        kind = file_kind(info.st_mode)
        if kind is not None:
            raise RefusedFile(path, f"it is {kind}, not a file", too_large=False)
        if info.st_size > max_bytes:
            raise RefusedFile(path, _too_large(info.st_size, max_bytes), too_large=True)
        with os.fdopen(handle, "rb") as stream:
            handle = None  # the stream closes it
            content = stream.read(info.st_size + 1)  # (a read allocates what it asks for: ask for the size)
            if len(content) > info.st_size:  # it grows while being read
                content += stream.read(max_bytes + 1 - len(content))
    finally:
        if handle is not None:
            os.close(handle)
    if len(content) > max_bytes:  # it grew while being read
        raise RefusedFile(path, _too_large(len(content), max_bytes, "at least "), too_large=True)
    return content


def _too_large(size: int, max_bytes: int, prefix: str = "") -> str:
    return f"it is {prefix}{human_size(size)}, more than the {human_size(max_bytes)} any such file can be"
