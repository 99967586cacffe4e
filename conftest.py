"""Shared test set-up (tests/ and the docstring examples in vae_lib/): offline, deterministic, private cache."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent

#: Lines the site test reports (page weights, execution times), printed after the test run.
SITE_REPORT = pytest.StashKey[list]()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    lines = config.stash.get(SITE_REPORT, [])
    if lines:
        terminalreporter.section("the built site: page weights and execution times")
        for line in lines:
            terminalreporter.write_line(line)


# The environment pytest started with. Tests that build the book pass it on, so that the
# chapters see the user's real model cache rather than the per-test temporary one.
ORIGINAL_ENV = dict(os.environ)


def book_build_env() -> dict[str, str]:
    """Environment for a subprocess that builds the book (line-mode progress, real cache, English outputs)."""
    return {**ORIGINAL_ENV, "VAE_LIB_PROGRESS": "lines", "VAE_LIB_LANG": "en"}

#: The translated editions the book fixture builds besides the English one (book/_ext/editions.py).
TRANSLATED_EDITIONS = ("zh_CN",)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Point vae_lib's cache at a fresh folder so tests never touch (or trust) the user's."""
    monkeypatch.setenv("VAE_LIB_CACHE", str(tmp_path_factory.mktemp("vae_lib_cache")))
    monkeypatch.setenv("VAE_LIB_OFFLINE", "1")
    # CI points VAE_LIB_DATA at the full MNIST for the book build; unit tests choose their
    # data sources themselves.
    monkeypatch.delenv("VAE_LIB_DATA", raising=False)
    # Library messages in English unless a test asks for another language.
    monkeypatch.delenv("VAE_LIB_LANG", raising=False)
    torch.manual_seed(0)


#: The front matter of a chapter source (MyST Markdown read by jupytext), for tests that write small books.
MYST_FRONT_MATTER = """\
---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""

@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> Path:
    """The output folder (``--path-output``) of one full build of the book, shared by the tests
    that need it: the site test reads its HTML; the PDF, student-edition and exercise-index
    tests reuse its execution cache, so no chapter is executed twice in one test run.

    Both editions: the English site in ``_build/html``, then each translated edition, built from
    the English build's execution cache (``book/translate.py build``), in ``_build/html/<lang>``.
    Built from scratch with warnings as errors; ``VAE_BOOK_SITE=/path/to/_build/html`` reuses an
    existing build instead (faster while editing).
    """
    if os.environ.get("VAE_BOOK_SITE"):
        return Path(os.environ["VAE_BOOK_SITE"]).resolve().parents[1]
    out = tmp_path_factory.mktemp("book")
    command = [
        str(Path(sys.executable).with_name("jupyter-book")), "build", ".",
        "--config", "book/_config.yml", "--toc", "book/_toc.yml",
        "--path-output", str(out), "-W", "--keep-going", "--all",
    ]
    result = subprocess.run(command, cwd=REPO, env=book_build_env(), capture_output=True, text=True)
    log = result.stdout + result.stderr
    (out / "build.log").write_text(log)
    # Sphinx's own warnings ("file:line: WARNING: ..."); -W also turns them into a non-zero exit.
    # (Kernels log "[IPKernelApp] WARNING | ..." to the terminal; that is not a page problem.)
    warnings = [line for line in log.splitlines() if re.search(r"\b(WARNING|ERROR|CRITICAL):", line)]
    assert result.returncode == 0 and not warnings, (
        "The book build failed or warned (full log in " + str(out / "build.log") + "):\n"
        + "\n".join(warnings[:30] or log.splitlines()[-30:])
    )
    for language in TRANSLATED_EDITIONS:
        command = [sys.executable, "book/translate.py", "build", language, "--path-output", str(out), "--all"]
        result = subprocess.run(command, cwd=REPO, env=book_build_env(), capture_output=True, text=True)
        log = result.stdout + result.stderr
        (out / f"build-{language}.log").write_text(log)
        warnings = [line for line in log.splitlines() if re.search(r"\b(WARNING|ERROR|CRITICAL):", line)]
        assert result.returncode == 0 and not warnings, (
            f"The {language} edition's build failed or warned (full log in {out / f'build-{language}.log'}):\n"
            + "\n".join(warnings[:30] or log.splitlines()[-30:])
        )
    return out


@pytest.fixture(scope="session")
def student_site(built_book) -> tuple[subprocess.CompletedProcess, Path]:
    """One build of the student edition (``book/student_edition.py`` into ``student/``), from the
    session's execution cache, shared by the tests that check it (no solutions left, the axe-core
    scan): ``(the finished build process, the site's HTML folder)``. A test that needs the site
    asserts the process succeeded."""
    result = subprocess.run(
        [sys.executable, str(REPO / "book" / "student_edition.py"),
         "--cache-from", str(built_book / "_build" / ".jupyter_cache")],
        cwd=REPO, env=book_build_env(), capture_output=True, text=True,
    )
    return result, REPO / "student" / "book" / "_build" / "html"
