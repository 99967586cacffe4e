"""Printed lines and code lines fit a book page's boxes, checked without a browser (CONTRIBUTING.md, "The chapter pattern").

tests/test_site_overflow.py measures every output and code block of the built site in Chromium,
but the site is built on full MNIST: the lines that only the offline build prints (the bundled
subset's data-source lines, its "held-out" epoch and cache lines) never reach it. These tests
print those lines as the offline build does (conftest.py: ``VAE_LIB_OFFLINE=1``, an empty
cache) and check their width, and check the chapters' code lines on the sources, so that a
long line fails in seconds instead of after a book build.
"""

from __future__ import annotations

import re

import pytest
from notation_math import CHAPTERS
from training_helpers import TINY, _no_progress_override  # noqa: F401 (fixture)

from vae_lib import _mnist_files as files
from vae_lib import data
from vae_lib.model_cache import MESSAGE_WIDTH, trained_vae
from vae_lib.progress import format_epoch

#: A printed line's limit (an output box holds about 76 characters at the site test's 1280 px).
PRINTED = 76
#: A code line's limit in a code cell, and in a solution's code (which sits in an indented dropdown).
CODE, SOLUTION_CODE = 77, 75
#: What a failed download leaves in the data-source note: requests' error for a name that does not resolve.
DOWNLOAD_ERROR = ("tried 2 mirror(s) for train-images-idx3-ubyte.gz, last error: "
                  "HTTPSConnectionPool(host='ossci-datasets.s3.amazonaws.com', port=443): Max retries exceeded "
                  "with url: /mnist/train-images-idx3-ubyte.gz (Caused by NameResolutionError(\"<urllib3."
                  "connection.HTTPSConnection object at 0x7f3a2c1b5d50>: Failed to resolve "
                  "'ossci-datasets.s3.amazonaws.com' ([Errno -3] Temporary failure in name resolution)\"))")


def _too_long(printed: str, limit: int = PRINTED, *, paths: tuple[str, ...] = ()) -> list[str]:
    """The printed lines longer than ``limit``, except a line that only holds a long path (it may not be broken)."""
    return [line for line in printed.splitlines()
            if len(line) > limit and not any(path in line and len(line.replace(path, "")) <= limit for path in paths)]


def test_the_offline_data_source_lines_fit_the_page(capsys):
    data.load_mnist("train")
    data.load_mnist("test")
    printed = capsys.readouterr().out
    assert "offline fallback" in printed and "MNIST held-out" in printed   # the lines the site never shows
    assert not _too_long(printed)


def test_the_lines_after_a_failed_download_fit_the_page(monkeypatch, capsys):
    """Offline without VAE_LIB_OFFLINE: the note quotes the download's error, a long one."""
    monkeypatch.delenv("VAE_LIB_OFFLINE")

    def unreachable(name, folder):
        raise files.DownloadFailed(DOWNLOAD_ERROR)

    monkeypatch.setattr(files, "download", unreachable)
    data.load_mnist_splits()
    printed = capsys.readouterr().out
    assert "download failed" in printed
    assert not _too_long(printed)


def test_the_offline_training_and_loading_lines_fit_the_page(capsys):
    """What a chapter's model prints on the bundled subset: training (held-out epoch lines), then loading."""
    first = trained_vae(TINY, epochs=2, data="mnist", device="cpu", progress="lines")
    loaded = trained_vae(TINY, epochs=2, data="mnist", device="cpu", progress="lines")
    printed = capsys.readouterr().out
    # what chapter 10 prints its numbers as, trained or loaded from the cache
    assert first.history.test_name == loaded.history.test_name == "held-out"
    assert "held-out ELBO" in printed and "Loaded the trained VAE" in printed
    assert not _too_long(printed, paths=(str(first.checkpoint.parent),))


def _code_lines(page) -> list[tuple[int, str, int]]:
    """``(line number, line, limit)`` for every line of code a reader sees on the page.

    That is the code cells without their options (``:tags:`` lines, a YAML header between
    ``---`` lines), and the Python blocks of the prose, with the narrower limit of a dropdown
    for those inside a solution.
    """
    found, fence, limit, state, solutions = [], None, CODE, "code", []
    for number, line in enumerate(page.read_text(encoding="utf-8").split("\n"), 1):
        stripped = line.strip()
        if fence is None:
            opening = re.match(r"^(`{3,})(\{code-cell\}|python|\{solution\})", stripped)
            if opening and opening.group(2) == "{solution}":
                solutions.append(opening.group(1))
            elif opening:
                fence, state = opening.group(1), "options" if opening.group(2) == "{code-cell}" else "code"
                limit = SOLUTION_CODE if solutions and opening.group(2) == "python" else CODE
            elif solutions and stripped == solutions[-1]:
                solutions.pop()
            continue
        if stripped == fence:
            fence = None
        elif state == "options" and stripped == "---":
            state = "yaml"
        elif state == "yaml":
            state = "options" if stripped == "---" else "yaml"
        elif state == "options" and line.startswith(":"):
            continue
        else:
            state = "code"
            found.append((number, line, limit))
    return found


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda page: page.name)
def test_code_lines_fit_their_box(page):
    too_long = [f"{page.name}:{number}: {len(line)} > {limit}: {line}"
                for number, line, limit in _code_lines(page) if len(line) > limit]
    assert not too_long, "code lines wider than the page's code box:\n" + "\n".join(too_long)


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda page: page.name)
def test_a_chapter_names_the_test_split_as_its_data_source_does(page):
    """A printed number of the test split says "test" only where it is the official test set (offline: "held-out")."""
    hard_coded = [f"{page.name}:{number}: {line.strip()}" for number, line, _ in _code_lines(page)
                  if re.search(r"""print\(.*["']test (ELBO|codes|digits|images)|^\s*f?["'][^"']*\btest ELBO""", line)]
    assert not hard_coded, ("say the split's name (history.test_name, or 'held-out' for the bundled subset):\n"
                            + "\n".join(hard_coded))


def test_the_code_check_reads_cells_and_solutions(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("```{code-cell} ipython3\n:tags: [hide-input]\n" + "x" * 78 + "\n```\n\n"
                    "```{code-cell} ipython3\n---\nmystnb:\n  image:\n    alt: long\n---\nx = 1\n```\n\n"
                    "````{solution} ex\n```python\n" + "y" * 76 + "\n```\n````\n\nprose " + "z" * 100 + "\n"
                    "```python\nshown = 1\n```\n")
    assert [(number, limit) for number, _, limit in _code_lines(page)] == [
        (3, CODE), (12, CODE), (17, SOLUTION_CODE), (23, CODE)]
