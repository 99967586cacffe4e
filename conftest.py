"""Shared test set-up (tests/ and the docstring examples in vae_lib/): offline, deterministic, private cache."""

from __future__ import annotations

import os

import pytest
import torch

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
    """Environment for a subprocess that builds the book (line-mode progress, real cache)."""
    return {**ORIGINAL_ENV, "VAE_LIB_PROGRESS": "lines"}


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Point vae_lib's cache at a fresh folder so tests never touch (or trust) the user's."""
    monkeypatch.setenv("VAE_LIB_CACHE", str(tmp_path_factory.mktemp("vae_lib_cache")))
    monkeypatch.setenv("VAE_LIB_OFFLINE", "1")
    # CI points VAE_LIB_DATA at the full MNIST for the book build; unit tests choose their
    # data sources themselves.
    monkeypatch.delenv("VAE_LIB_DATA", raising=False)
    torch.manual_seed(0)
