"""Where vae_lib keeps files: one cache folder for downloaded data and trained models.

The folder is ``$VAE_LIB_CACHE`` when set, else the user's cache directory
(``~/.cache/vae_lib`` on Linux, ``~/Library/Caches/vae_lib`` on macOS, ...).

>>> from vae_lib.paths import cache_dir
>>> cache_dir("models").name
'models'
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["cache_dir"]


def cache_dir(*parts: str, create: bool = True) -> Path:
    """The cache folder (or a sub-folder of it, e.g. ``cache_dir("mnist")``), created if missing."""
    root = os.environ.get("VAE_LIB_CACHE") or platformdirs.user_cache_dir("vae_lib", appauthor=False)
    path = Path(root).expanduser().joinpath(*parts)
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return path
