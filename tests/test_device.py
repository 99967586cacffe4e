"""vae_lib.device: CUDA → MPS → CPU, explicit names, and clear errors for what is missing."""

from __future__ import annotations

import pytest
import torch

from vae_lib import device as device_module
from vae_lib.device import available_devices, describe_device, pick_device


def _pretend(monkeypatch, cuda_count: int = 0, mps: bool = False):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda_count > 0)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: cuda_count)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *_: "NVIDIA H100")
    monkeypatch.setattr(device_module, "_mps_available", lambda: mps)


def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch):
    _pretend(monkeypatch, cuda_count=1, mps=True)
    assert pick_device("auto") == torch.device("cuda")
    _pretend(monkeypatch, cuda_count=0, mps=True)
    assert pick_device("auto") == torch.device("mps")
    _pretend(monkeypatch, cuda_count=0, mps=False)
    assert pick_device("auto") == torch.device("cpu")
    assert pick_device(None) == torch.device("cpu")


def test_explicit_devices_are_accepted_when_present(monkeypatch):
    _pretend(monkeypatch, cuda_count=2, mps=False)
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("cuda") == torch.device("cuda")
    assert pick_device("cuda:1") == torch.device("cuda", 1)
    assert pick_device(" CUDA:1 ") == torch.device("cuda", 1)
    assert pick_device(torch.device("cuda", 0)) == torch.device("cuda", 0)


def test_unavailable_device_names_what_is_available(monkeypatch):
    _pretend(monkeypatch, cuda_count=1, mps=False)
    with pytest.raises(RuntimeError, match=r"'cuda:1' is not available.*only 1 CUDA device.*cuda:0, cpu"):
        pick_device("cuda:1")
    _pretend(monkeypatch, cuda_count=0, mps=False)
    with pytest.raises(RuntimeError, match=r"no CUDA GPU is visible.*Available here: cpu"):
        pick_device("cuda")
    with pytest.raises(RuntimeError, match=r"'mps' is not available.*Available here: cpu"):
        pick_device("mps")


def test_unknown_device_names_are_rejected_with_the_valid_choices():
    with pytest.raises(ValueError, match=r"Unknown device 'gpu'.*'auto', 'cpu', 'cuda'"):
        pick_device("gpu")
    with pytest.raises(ValueError, match=r"Unsupported device type 'meta'"):
        pick_device("meta")


def test_available_devices_lists_cpu_last(monkeypatch):
    _pretend(monkeypatch, cuda_count=2, mps=False)
    assert available_devices() == ["cuda:0", "cuda:1", "cpu"]


def test_describe_device_says_what_and_why(monkeypatch):
    _pretend(monkeypatch, cuda_count=1)
    assert describe_device("auto") == "Using cuda: NVIDIA H100"
    _pretend(monkeypatch, cuda_count=0, mps=True)
    assert describe_device("auto") == "Using mps: Apple silicon GPU"
    _pretend(monkeypatch, cuda_count=0, mps=False)
    assert describe_device("auto").startswith("Using cpu: no GPU found — training will be slower")
    assert describe_device("cpu").startswith("Using cpu: asked for explicitly")


def test_the_real_machine_gives_a_working_device():
    chosen = pick_device("auto")
    assert torch.ones(2, device=chosen).sum().item() == 2.0
    assert describe_device().startswith(f"Using {chosen.type}")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_cuda_when_present():
    assert pick_device("auto").type == "cuda"
    assert "cuda" in describe_device()
