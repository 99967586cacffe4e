"""Where vae_lib keeps files: one cache folder for downloaded data and trained models.

The folder is ``$VAE_LIB_CACHE`` when set, else the user's cache directory
(``~/.cache/vae_lib`` on Linux, ``~/Library/Caches/vae_lib`` on macOS, ...). When it cannot
be written (read-only, or the path is a file), :func:`cache_dir` says so once and uses a
temporary folder of the user's instead, so that nothing fails for want of a cache.

>>> from vae_lib.paths import cache_dir
>>> cache_dir("models").name
'models'
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import platformdirs

__all__ = ["CacheUnavailableError", "cache_dir", "cache_problem"]

_SAID: set[Path] = set()  # unusable folders already reported in this process (each is said once)
_TEMPORARY_ROOTS: dict[str, Path] = {}  # system temporary folder -> this process's fallback cache in it


class CacheUnavailableError(OSError):
    """Neither the cache folder nor a temporary folder can be written; the message says what to do."""


def cache_dir(*parts: str, create: bool = True) -> Path:
    """The cache folder (or a sub-folder of it, e.g. ``cache_dir("mnist")``), created if missing.

    Args:
        parts: sub-folders of the cache, e.g. ``"mnist"`` or ``"models"``.
        create: ``True`` returns an existing, writable folder: the configured one, or, when
            that cannot be written (read-only, under a file...), the same sub-folder of a
            temporary folder of the user's, after saying so once on stderr. ``False`` returns
            the configured path as it is, creating and checking nothing (for diagnostics).

    Raises:
        CacheUnavailableError: (an ``OSError``) with ``create=True``, when neither the
            configured folder nor a temporary folder can be written.

    >>> cache_dir("mnist", create=False).name
    'mnist'
    """
    path = _configured_root().joinpath(*parts)
    if not create:
        return path
    problem = cache_problem(path)
    if problem is None:
        try:
            path.mkdir(parents=True, exist_ok=True)
            return path
        except OSError as err:  # e.g. a race, a full disk, a file system that refuses it
            problem = (path, err.strerror or str(err))
    return _fallback(parts, *problem)


def cache_problem(path: Path) -> tuple[Path, str] | None:
    """Why ``path`` cannot be (or become) a writable folder: ``(the culprit, the reason)``, or None.

    Only looks: creates, changes and deletes nothing.

    >>> cache_problem(Path(tempfile.gettempdir())) is None
    True
    """
    existing = path
    try:
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            return existing, "it is a file, not a folder"
    except OSError as err:  # a parent we may not even look into
        return existing, err.strerror or str(err)
    if not os.access(existing, os.W_OK | os.X_OK):
        return existing, "it is not writable"
    return None


def _configured_root() -> Path:
    root = os.environ.get("VAE_LIB_CACHE") or platformdirs.user_cache_dir("vae_lib", appauthor=False)
    return Path(root).expanduser()


def _fallback(parts: tuple[str, ...], culprit: Path, reason: str) -> Path:
    """The sub-folder ``parts`` of a temporary cache, after saying once why the real one is not used."""
    try:
        root = _temporary_root()
        path = root.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise CacheUnavailableError(
            f"No writable cache folder: not {culprit} ({reason}), nor a temporary folder ({err.strerror or err}). "
            "Set VAE_LIB_CACHE to a folder you can write to."
        ) from None
    if culprit not in _SAID:
        _SAID.add(culprit)
        print(f"vae_lib: cannot use the cache folder {culprit} ({reason}); using {root} instead. "
              "Set VAE_LIB_CACHE to a writable folder to keep downloads and trained models.", file=sys.stderr)
    return path


def _temporary_root() -> Path:
    """A per-user folder in the system's temporary folder, shared by this user's processes (so
    that the next notebook finds what this one downloaded or trained).

    Someone else's folder of that name (or a link) is not trusted: then a fresh private one.
    """
    system_temporary = tempfile.gettempdir()
    if system_temporary not in _TEMPORARY_ROOTS:
        user = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
        shared = Path(system_temporary) / f"vae_lib-cache-{user}"
        try:
            shared.mkdir(mode=0o700, exist_ok=True)
            mine = not shared.is_symlink() and (not hasattr(os, "getuid") or shared.stat().st_uid == os.getuid())
            usable = mine and cache_problem(shared) is None
        except OSError:
            usable = False
        _TEMPORARY_ROOTS[system_temporary] = shared if usable else Path(tempfile.mkdtemp(prefix="vae_lib-cache-"))
    return _TEMPORARY_ROOTS[system_temporary]
