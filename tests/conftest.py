"""Shared test set-up: every test runs offline, deterministic, with a private cache."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Point vae_lib's cache at a fresh folder so tests never touch (or trust) the user's."""
    monkeypatch.setenv("VAE_LIB_CACHE", str(tmp_path_factory.mktemp("vae_lib_cache")))
    monkeypatch.setenv("VAE_LIB_OFFLINE", "1")
    torch.manual_seed(0)
