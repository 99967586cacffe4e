"""Shared pieces of the training tests (test_train, test_checkpoints, test_progress, test_model_cache).

Everything runs on the CPU with tiny models (hidden_dim 16, latent_dim 2) on a few dozen
synthetic images, seeded, so each file takes seconds. The fixtures are imported by the test
files that use them.
"""

from __future__ import annotations

import os
import signal

import pytest
import torch

from vae_lib.data import synthetic_digits
from vae_lib.models import VAE
from vae_lib.train import FitResult, fit

TINY = {"latent_dim": 2, "hidden_dim": 16}


@pytest.fixture(autouse=True)
def _no_progress_override(monkeypatch):
    """The book build sets VAE_LIB_PROGRESS; the tests choose the mode themselves."""
    monkeypatch.delenv("VAE_LIB_PROGRESS", raising=False)


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return synthetic_digits(70, seed=0)[0]  # 70 = 2 × 32 + 6: the last batch is partial


@pytest.fixture(scope="module")
def test_images() -> torch.Tensor:
    return synthetic_digits(20, seed=1)[0]


def tiny_model(seed: int = 0, **overrides) -> VAE:
    torch.manual_seed(seed)
    return VAE(**{**TINY, **overrides})


def run(images, epochs=2, **kwargs) -> FitResult:
    kwargs.setdefault("batch_size", 32)
    kwargs.setdefault("progress", "none")
    kwargs.setdefault("device", "cpu")
    model = kwargs.pop("model", None) or tiny_model()
    return fit(model, images, epochs=epochs, **kwargs)


def without_seconds(history) -> list[dict]:
    return [{k: v for k, v in record.items() if k != "seconds"} for record in history]


def assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    state_a, state_b = a.state_dict(), b.state_dict()
    assert state_a.keys() == state_b.keys()
    for name in state_a:
        assert torch.equal(state_a[name], state_b[name]), name


class ElboSpy:
    """Wraps model.elbo: records each call, and can act (e.g. interrupt) at call number ``at``."""

    def __init__(self, model: VAE, at: int | None = None, action=None):
        self.original = model.elbo
        self.calls: list[dict] = []
        self.at, self.action = at, action
        model.elbo = self

    def __call__(self, x, **kwargs):
        self.calls.append({"batch": x.shape[0], **kwargs})
        if self.at is not None and len(self.calls) == self.at:
            self.action()
        return self.original(x, **kwargs)


def raise_keyboard_interrupt():
    raise KeyboardInterrupt


def press_ctrl_c():
    os.kill(os.getpid(), signal.SIGINT)
