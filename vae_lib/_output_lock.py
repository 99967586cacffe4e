"""Private: one run at a time per output file, by a lock held for the run's whole life.

Two trainings writing the same checkpoint would each save over the other's epochs, and both
report success. So a run takes its output's lock before any work and keeps it to the end:
:func:`~vae_lib.train.fit` (and the command line's ``train``) refuse at once, in one line, when
another run holds it; the trained-model cache waits for that run instead, then loads its model.
The lock is a file in ``cache_dir("locks")`` named after the output's absolute path (beside the
output when no cache folder can be written), so a user's folders get no lock files. The
operating system releases it when its process ends, however it ends: a killed run never
blocks the next one. Within one thread the lock is re-entrant, so the model cache can hold it
around the training it starts. Whoever takes the lock owns the output: no one else can be
writing it, so the temporary files a killed writer left beside it are removed at once.

>>> import tempfile, pathlib
>>> output = pathlib.Path(tempfile.mkdtemp()) / "vae.pt"
>>> with holding(output):
...     with holding(output):  # the same thread: re-entrant
...         print("writing", output.name)
writing vae.pt
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from vae_lib._atomic_files import remove_stale_temporaries
from vae_lib.paths import cache_dir

__all__ = ["OutputInUse", "holding", "lock_file"]


class OutputInUse(OSError):
    """Another run (another process, or another thread) holds the lock of this output."""


def lock_file(output: Path) -> Path:
    """Where the lock of ``output`` lives: ``cache_dir("locks")/NAME-HASH.lock``, HASH from its absolute path.

    >>> lock_file(Path("/runs/vae.pt")).name.startswith("vae.pt-")
    True
    """
    absolute = Path(os.path.abspath(Path(output).expanduser()))
    with contextlib.suppress(OSError):
        absolute = absolute.resolve()  # one lock for a file however it is named (links, "..")
    digest = hashlib.sha256(os.fsencode(absolute)).hexdigest()[:16]
    name = f"{os.fsdecode(os.fsencode(absolute.name)[:100])}-{digest}.lock"
    try:
        return cache_dir("locks") / name
    except OSError:  # no writable cache folder at all: beside the output (its folder is writable)
        return absolute.with_name(f".{name}")


@contextlib.contextmanager
def holding(output: Path, *, wait: bool = False, waiting_note: str | None = None) -> Iterator[None]:
    """Hold the lock of ``output`` for the ``with`` block (first removing the temporary files that a
    killed writer of ``output`` left, see :func:`vae_lib._atomic_files.remove_stale_temporaries`).

    Args:
        output: the file a run writes.
        wait: when another run holds the lock, wait for it (printing ``waiting_note``, if any)
            instead of refusing.

    Raises:
        OutputInUse: another run holds it and ``wait`` is False.
    """
    lock = FileLock(lock_file(output), is_singleton=True)  # one object per file: re-entrant in a thread
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if not wait:
            raise _in_use(output) from None
        if waiting_note:
            print(waiting_note, flush=True)
        lock.acquire()
    try:
        remove_stale_temporaries(Path(output), older_than=0)
        yield
    finally:
        lock.release()


def _in_use(output: Path) -> OutputInUse:
    error = OutputInUse(f"Another run is writing {output} right now (it holds the file's lock): wait for it to "
                        "finish, or write to another file (the command line's --output).")
    error.errno = errno.EBUSY
    return error
