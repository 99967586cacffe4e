"""Private: files written atomically, folders checked for writing before any work, clear ``OSError``\\ s.

A file is written to a temporary file beside its destination and renamed over it, so a crash
while writing leaves the previous file as it was. A ``kill -9`` leaves the temporary file; the
next write to the same destination removes it once it is old, and a run that holds the
destination's lock (:mod:`vae_lib._output_lock`) removes it at once (see
:func:`remove_stale_temporaries`). A full disk is said in words ("Disk full"), with the
previous file intact; a name longer than the file system allows is refused before anything is
written (:func:`check_path_length`).

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "note.txt"
>>> atomic_write(path, lambda stream: stream.write(b"hello"))
>>> path.read_bytes(), sorted(p.name for p in path.parent.iterdir())
(b'hello', ['note.txt'])
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
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
_RANDOM_PART = 8 + len(".tmp")  # what mkstemp adds to a temporary file's prefix (8 random characters)
_DISK_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call ``write(stream)`` on a temporary file beside ``path``, flush it to disk, rename it over ``path``.

    A crash or Ctrl-C while writing leaves the previous file untouched and no temporary file;
    a ``kill -9`` leaves a temporary file, which the next write to ``path`` removes.

    Raises:
        OSError: the file cannot be written; a full disk (or quota) says "Disk full" and that the
            previous file is intact.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    handle, temporary = tempfile.mkstemp(prefix=_temporary_prefix(path), suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException as err:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(err, OSError) and err.errno in _DISK_FULL:
            raise reworded(err, f"Disk full: cannot write {path} ({err.strerror or err}); the previous file there "
                                "is intact. Free disk space and try again.") from None
        raise


def _temporary_prefix(path: Path) -> str:
    """``.NAME.``, the prefix of ``path``'s temporary files; for a name too long to take the random part
    and ``.tmp`` too, a shortened name and a hash of the full one (a 245-character name is legal).

    >>> _temporary_prefix(Path("runs/vae.pt"))
    '.vae.pt.'
    >>> len(_temporary_prefix(Path("x" * 245))) + 12 <= 255
    True
    """
    name = path.name
    if len(os.fsencode(name)) + 2 + _RANDOM_PART <= 255:
        return f".{name}."
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:12]
    return f".{os.fsdecode(os.fsencode(name)[:200])}~{digest}."


def remove_stale_temporaries(path: Path, older_than: float = STALE_TEMPORARY_SECONDS) -> list[Path]:
    """Remove the temporary files ``.NAME.XXXXXXXX.tmp`` of ``path`` that no live writer holds; return them.

    The rule: a writer modifies its temporary file for a few seconds (``torch.save`` and
    ``fsync`` of a few megabytes), so one unmodified for :data:`STALE_TEMPORARY_SECONDS` was left
    by a writer that died (``kill -9``, a power cut) and is removed. A younger one may belong to
    a writer at work, and is left, unless the caller holds the destination's lock (then no other
    writer can be at work, and it passes ``older_than=0``). Only this destination's files are
    considered: the name must be ``.NAME.``, then the random part ``mkstemp`` adds (letters,
    digits, ``_``; no dot), then ``.tmp``.

    >>> import tempfile, pathlib, os
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> for name in (".vae.pt.k2j4x8_q.tmp", ".vae.pt.fresh123.tmp", ".other.pt.k2j4x8_q.tmp"):
    ...     _ = (folder / name).write_bytes(b"")
    >>> os.utime(folder / ".vae.pt.k2j4x8_q.tmp", (0, 0)); os.utime(folder / ".other.pt.k2j4x8_q.tmp", (0, 0))
    >>> [p.name for p in remove_stale_temporaries(folder / "vae.pt")]
    ['.vae.pt.k2j4x8_q.tmp']
    >>> [p.name for p in remove_stale_temporaries(folder / "vae.pt", older_than=0)]
    ['.vae.pt.fresh123.tmp']
    """
    pattern = re.compile(re.escape(_temporary_prefix(path)) + r"[A-Za-z0-9_]+\.tmp")
    now, removed = time.time(), []
    with contextlib.suppress(OSError):  # a folder that cannot be listed: nothing to clean
        for candidate in path.parent.iterdir():
            if not pattern.fullmatch(candidate.name):
                continue
            with contextlib.suppress(OSError):  # gone meanwhile, or not ours to remove
                if now - candidate.stat().st_mtime >= older_than:
                    candidate.unlink()
                    removed.append(candidate)
    return removed


def check_path_length(path: str | os.PathLike) -> None:
    """Raise a one-line ``OSError`` (errno ``ENAMETOOLONG``) if the file system cannot hold ``path``'s name.

    A name (one part of the path) may have at most ``NAME_MAX`` bytes (255 on common file
    systems), the whole path at most ``PATH_MAX`` - 1 (4095 on Linux).

    >>> check_path_length("runs/" + "x" * 245 + ".pt")
    >>> try:
    ...     check_path_length("runs/" + "x" * 300)
    ... except OSError as err:
    ...     print(err.errno == errno.ENAMETOOLONG, "is 300 characters long" in str(err))
    True True
    """
    path = Path(os.fspath(path)).expanduser()
    existing = next((folder for folder in [path, *path.parents] if _exists(folder)), Path("."))
    name_max, path_max = _limit(existing, "PC_NAME_MAX", 255), _limit(existing, "PC_PATH_MAX", 4096)
    size = len(os.fsencode(os.path.abspath(path)))
    if size >= path_max:
        raise _too_long(f"The path {str(path)[:40]}... is {size:,} characters long (as an absolute path); this "
                        f"system allows at most {path_max - 1:,}. Choose a shorter path.")
    for part in path.parts:
        if len(os.fsencode(part)) > name_max:
            raise _too_long(f"The file name {part[:40]}... is {len(os.fsencode(part)):,} characters long; this file "
                            f"system allows at most {name_max} per name. Choose a shorter name.")


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a name too long to look up, a folder that cannot be searched
        return False


def _limit(folder: Path, name: str, default: int) -> int:
    try:
        return int(os.pathconf(folder, name))
    except (OSError, ValueError, AttributeError):  # no such limit here (or no pathconf, on Windows)
        return default


def _too_long(message: str) -> OSError:
    error = OSError(message)
    error.errno = errno.ENAMETOOLONG
    return error


def check_writable(path: str | os.PathLike) -> Path:
    """Check, before any training, that a checkpoint can be written at ``path``; return it as a ``Path``.

    Creates the missing folders and a nameless temporary file in the last one, then removes
    them all: the file system itself answers (read-only mounts, folders under a file, a name
    too long), and a run that fails later has left no folders behind. The checkpoint's folders
    are created again at its first save.

    Raises:
        IsADirectoryError: ``path`` is a folder.
        NotADirectoryError: a folder on the way to ``path`` is a file.
        OSError: the name is too long, or the folder cannot be created or written (the same kind,
            e.g. ``PermissionError``, with a message that says what to do).

    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> check_writable(folder / "runs" / "vae.pt").name, (folder / "runs").exists()
    ('vae.pt', False)
    """
    path = Path(path).expanduser()
    check_path_length(path)
    if path.is_dir():
        raise IsADirectoryError(f"The checkpoint path {path} is a folder; give a file name such as {path / 'vae.pt'}.")
    nearest = next((folder for folder in path.parents if folder.exists()), None)
    if nearest is not None and not nearest.is_dir():
        raise NotADirectoryError(f"Cannot write the checkpoint {path}: {nearest} is a file, not a folder. "
                                 "Choose a path in a folder you can write to.")
    created: list[Path] = []
    try:
        for folder in reversed(path.parents):
            if not folder.exists():
                with contextlib.suppress(FileExistsError):  # (made by someone else meanwhile: not ours)
                    folder.mkdir()
                    created.append(folder)
        with tempfile.TemporaryFile(dir=path.parent):  # nameless where the system allows: no name to be too long
            pass
    except OSError as err:
        raise reworded(err, f"Cannot write the checkpoint {path} ({err.strerror or err}). "
                            "Choose a path in a folder you can write to.") from None
    finally:
        for folder in reversed(created):
            with contextlib.suppress(OSError):
                folder.rmdir()
    return path


def set_aside(path: Path) -> Path:
    """Rename a damaged file to ``NAME.corrupt-<date-time>`` (never delete it: it may be someone's); return
    the new path. A second damaged file in the same second gets ``-1``, ``-2``... added.

    Raises:
        OSError: it cannot be renamed (then it is left as it is).

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "vae.pt"
    >>> _ = path.write_bytes(b"junk")
    >>> aside = set_aside(path)
    >>> aside.name.startswith("vae.pt.corrupt-"), aside.read_bytes(), path.exists()
    (True, b'junk', False)
    """
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target, n = path.with_name(f"{path.name}.corrupt-{stamp}"), 1
    while target.exists():
        target, n = path.with_name(f"{path.name}.corrupt-{stamp}-{n}"), n + 1
    path.rename(target)
    return target


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
