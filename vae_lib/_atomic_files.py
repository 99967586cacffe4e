"""Private: files written atomically, folders checked for writing before any work, clear ``OSError``\\ s.

A file is written to a temporary file beside its destination and renamed over it, so a crash
while writing leaves the previous file as it was. A ``kill -9`` leaves the temporary file; the
next write to the same destination removes it (see :func:`remove_stale_temporaries`).

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "note.txt"
>>> atomic_write(path, lambda stream: stream.write(b"hello"))
>>> path.read_bytes(), sorted(p.name for p in path.parent.iterdir())
(b'hello', ['note.txt'])
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

#: A temporary file unmodified for this long has no live writer (a write takes seconds), so the
#: next write to the same destination removes it. See :func:`remove_stale_temporaries`.
STALE_TEMPORARY_SECONDS = 600


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(stream)`` on a temporary file beside ``path``, flush it to disk, rename it over ``path``.

    A crash or Ctrl-C while writing leaves the previous file untouched and no temporary file;
    a ``kill -9`` leaves a temporary file, which the next write to ``path`` removes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove the temporary files ``.NAME.XXXXXXXX.tmp`` of ``path`` that no live writer holds; return them.

    The rule: a writer modifies its temporary file for a few seconds (``torch.save`` and
    ``fsync`` of a few megabytes), so one unmodified for :data:`STALE_TEMPORARY_SECONDS` was left
    by a writer that died (``kill -9``, a power cut) and is removed. A younger one may belong to
    a writer at work, and is left. Only this destination's files are considered: the name must be
    ``.NAME.``, then the random part ``mkstemp`` adds (letters, digits, ``_``; no dot), then ``.tmp``.

    >>> import tempfile, pathlib, os
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for name in (".vae.pt.k2j4x8_q.tmp", ".vae.pt.fresh123.tmp", ".other.pt.k2j4x8_q.tmp"):
    ...     _ = (folder / name).write_bytes(b"")
    >>> os.utime(folder / ".vae.pt.k2j4x8_q.tmp", (0, 0)); os.utime(folder / ".other.pt.k2j4x8_q.tmp", (0, 0))
    >>> [p.name for p in remove_stale_temporaries(folder / "vae.pt")]
    ['.vae.pt.k2j4x8_q.tmp']
    """
    pattern = re.compile(re.escape(f".{path.name}.") + r"[A-Za-z0-9_]+\.tmp")
    now, removed = time.time(), []
    with contextlib.suppress(OSError):  # a folder that cannot be listed: nothing to clean
        for candidate in path.parent.iterdir():
            if not pattern.fullmatch(candidate.name):
                continue
            with contextlib.suppress(OSError):  # gone meanwhile, or not ours to remove
                if now - candidate.stat().st_mtime > STALE_TEMPORARY_SECONDS:
                    candidate.unlink()
                    removed.append(candidate)
    return removed


def check_writable(path: str | os.PathLike) -> Path:
    """Check, before any training, that a checkpoint can be written at ``path``; return it as a ``Path``.

    Creates the missing folders, then writes and removes a temporary file beside ``path``: the
    file system itself answers, so read-only mounts and folders under a file are caught too.

    Raises:
        IsADirectoryError: ``path`` is a folder.
        NotADirectoryError: a folder on the way to ``path`` is a file.
        OSError: the folder cannot be created or written (the same kind, e.g. ``PermissionError``,
            with a message that says what to do).

    >>> import tempfile, pathlib
    >>> check_writable(pathlib.Path(tempfile.mkdtemp()) / "runs" / "vae.pt").name
    'vae.pt'
    """
    path = Path(path).expanduser()
    if path.is_dir():
        raise IsADirectoryError(f"The checkpoint path {path} is a folder; give a file name such as {path / 'vae.pt'}.")
    nearest = next((folder for folder in path.parents if folder.exists()), None)
    if nearest is not None and not nearest.is_dir():
        raise NotADirectoryError(f"Cannot write the checkpoint {path}: {nearest} is a file, not a folder. "
                                 "Choose a path in a folder you can write to.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent):
            pass
    except OSError as err:
        raise reworded(err, f"Cannot write the checkpoint {path} ({err.strerror or err}). "
                            "Choose a path in a folder you can write to.") from None
    return path


def reworded(err: OSError, message: str) -> OSError:
    """An ``OSError`` of the same kind as ``err`` (``PermissionError``, ...) and errno, saying ``message``.

    >>> err = reworded(PermissionError(13, "Permission denied"), "Cannot write x: choose another folder.")
    >>> type(err).__name__, err.errno, str(err)
    ('PermissionError', 13, 'Cannot write x: choose another folder.')
    """
    try:
        clear = type(err)(message)
    except TypeError:  # an OSError subclass with another constructor
        clear = OSError(message)
    clear.errno = err.errno
    return clear
