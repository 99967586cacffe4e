"""Tests of the command line ``python -m vae_lib``: train, evaluate, info, --help and user errors.

Most tests call ``main(argv)`` in-process (fast); one runs the real module in a subprocess to
check the entry point, the exit code and that errors print no traceback.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

from vae_lib.__main__ import main
from vae_lib.checkpoints import load_checkpoint

TINY = ["--data", "synthetic", "--latent-dim", "2", "--hidden-dim", "16", "--batch-size", "64"]


@pytest.fixture(autouse=True)
def _quiet_progress(monkeypatch):
    monkeypatch.delenv("VAE_LIB_PROGRESS", raising=False)


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_train_prints_one_line_per_epoch_and_saves_then_resumes(tmp_path, capsys):
    output = tmp_path / "runs" / "toy.pt"
    code, out, err = cli(capsys, "train", *TINY, "--epochs", "2", "--output", output, "--progress", "lines")
    assert code == 0 and err == ""
    epoch_lines = [line for line in out.splitlines() if line.startswith("epoch")]
    assert [line.split()[1] for line in epoch_lines] == ["1/2", "2/2"]
    assert "Using cpu" in out and "Saved the checkpoint" in out
    model, state = load_checkpoint(output)
    assert state["epoch"] == 2 and model.config.latent_dim == 2
    assert state["metadata"]["data"] == "synthetic" and state["training"]["binarize"] == "dynamic"

    code, out, _ = cli(capsys, "train", *TINY, "--epochs", "3", "--output", output, "--resume", "--progress", "lines")
    assert code == 0 and "Resuming" in out and "epoch 3/3" in out
    assert load_checkpoint(output)[1]["epoch"] == 3


def test_evaluate_prints_elbo_and_log_px(tmp_path, capsys):
    output = tmp_path / "toy.pt"
    assert cli(capsys, "train", *TINY, "--epochs", "1", "--output", output, "--progress", "none")[0] == 0
    code, out, err = cli(capsys, "evaluate", output, "--samples", "20", "--limit", "30")
    assert code == 0 and err == ""
    assert "Test ELBO: -" in out and "bits/dim" in out
    assert "log p(x) by importance sampling (k=20): -" in out and "effective sample size" in out
    assert "(30 images)" in out


def test_info_prints_device_data_source_and_versions(capsys):
    code, out, err = cli(capsys, "info")
    assert code == 0 and err == ""
    assert "Using cpu" in out or "Using cuda" in out or "Using mps" in out
    assert "MNIST train:" in out or "MNIST: not available" in out
    assert f"torch {torch.__version__}" in out and "numpy" in out and "python" in out and "vae_lib" in out


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "examples:" in out and "train" in out and "evaluate" in out and "info" in out
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "--binarize" in out and "--resume" in out and "examples:" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--epochs", "0"], "--epochs: must be at least 1"),
        (["train", "--lr", "-1"], "--lr: must be a number > 0"),
        (["train", "--binarize", "sometimes"], "invalid choice"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_argument_mistakes_exit_2_with_one_line(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_user_mistakes_exit_2_with_one_line(tmp_path, capsys):
    existing = tmp_path / "exists.pt"
    existing.write_bytes(b"junk")
    cases = [
        (["evaluate", tmp_path / "missing.pt"], "No checkpoint at"),
        (["evaluate", existing], "Cannot read the checkpoint"),
        (["train", *TINY, "--output", existing], "--resume"),
        (["train", *TINY, "--device", "tpu", "--output", tmp_path / "new.pt"], "Unknown device"),
        (["train", "--data", "synthetic", "--likelihood", "bernoulli", "--sigma", "0.1",
          "--output", tmp_path / "new.pt"], "sigma"),
    ]
    for argv, message in cases:
        code, _, err = cli(capsys, *argv)
        assert code == 2, argv
        assert message in err and len(err.strip().splitlines()) == 1, err


def test_resume_with_other_settings_exits_2(tmp_path, capsys):
    output = tmp_path / "toy.pt"
    assert cli(capsys, "train", *TINY, "--epochs", "1", "--output", output, "--progress", "none")[0] == 0
    code, _, err = cli(capsys, "train", *TINY, "--latent-dim", "3", "--epochs", "2", "--output", output,
                       "--resume", "--progress", "none")
    assert code == 2 and "latent_dim" in err


def test_module_entry_point_in_a_subprocess(tmp_path):
    env = {**os.environ, "VAE_LIB_PROGRESS": "lines"}
    help_run = subprocess.run([sys.executable, "-m", "vae_lib", "--help"], capture_output=True, text=True,
                              env=env, timeout=120)
    assert help_run.returncode == 0 and "examples:" in help_run.stdout
    error_run = subprocess.run([sys.executable, "-m", "vae_lib", "evaluate", str(tmp_path / "missing.pt")],
                               capture_output=True, text=True, env=env, timeout=120)
    assert error_run.returncode == 2
    assert "Traceback" not in error_run.stderr and len(error_run.stderr.strip().splitlines()) == 1
