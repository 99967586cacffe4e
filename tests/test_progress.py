"""Tests of vae_lib.progress: the bar, the lines and the VAE_LIB_PROGRESS override, seen through fit."""

from __future__ import annotations

import sys
import types

import pytest

from training_helpers import _no_progress_override, images, run, test_images  # noqa: F401 (fixtures)
from vae_lib.progress import progress_mode


def test_lines_mode_prints_one_line_per_epoch_to_stdout_only(images, test_images, capsys):
    run(images, epochs=3, progress="lines", test_data=test_images)
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 3 and captured.err == ""
    assert lines[0].startswith("epoch 1/3  train ELBO -") and "  test ELBO -" in lines[0] and "KL" in lines[0]
    assert lines[0].endswith(" s")


def test_an_epoch_line_fits_a_book_page():
    """Chapters print these lines; a page's output box holds about 76 characters (tests/test_site_overflow.py)."""
    from vae_lib.progress import format_epoch
    record = {"epoch": 375, "train_elbo": -196.04, "train_reconstruction": -170.0, "train_kl": 26.0,
              "seconds": 11.37, "test_elbo": -188.7, "test_reconstruction": -161.1, "test_kl": 27.6}
    for name in ("test", "held-out"):
        line = format_epoch(record, 375, test_name=name)
        assert line == f"epoch 375/375  train ELBO -196.0  {name} ELBO -188.7  KL 27.6  11.4 s"
        assert len(line) <= 76


def test_environment_forces_lines_over_bar_and_auto(images, monkeypatch, capsys):
    monkeypatch.setenv("VAE_LIB_PROGRESS", "lines")
    for progress in ("bar", "auto"):
        run(images, epochs=2, progress=progress)
        captured = capsys.readouterr()
        assert len(captured.out.splitlines()) == 2 and captured.err == ""
    run(images, epochs=2, progress="none")
    assert capsys.readouterr().out == ""
    monkeypatch.setenv("VAE_LIB_PROGRESS", "fancy")
    with pytest.raises(ValueError, match="VAE_LIB_PROGRESS"):
        run(images)


def test_auto_mode_without_terminal_prints_lines_and_bar_mode_draws_on_stderr(images, capsys):
    run(images, epochs=2, progress="auto")  # pytest captures: not a terminal, not a notebook
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 2 and captured.err == ""
    run(images, epochs=2, progress="bar")
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 2 and "batch" in captured.err
    run(images, epochs=2, progress="none")
    assert capsys.readouterr() == ("", "")


def test_auto_mode_in_a_jupyter_kernel_draws_a_bar(monkeypatch):
    class Shell:
        config = {"IPKernelApp": {}}

    ipython = types.SimpleNamespace(get_ipython=lambda: Shell())
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    assert progress_mode("auto") == "bar"
    monkeypatch.setattr(ipython, "get_ipython", lambda: None)  # IPython loaded, but no kernel running
    assert progress_mode("auto") == "lines"


def test_a_run_of_many_epochs_prints_at_most_about_25_lines(capsys):
    """Offline, chapter 9 trains 375 short epochs: its page shows every 15th and the last."""
    from vae_lib.progress import MAX_EPOCH_LINES, ProgressDisplay
    display = ProgressDisplay("lines", total_epochs=375, n_batches=16)
    for epoch in range(1, 376):
        display.epoch_end({"epoch": epoch, "train_elbo": -100.0, "train_reconstruction": -80.0,
                           "train_kl": 20.0, "seconds": 0.5}, epoch * 16)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("(one line every 15 epochs of 375")
    epochs = [line.split()[1] for line in lines[1:]]
    assert len(epochs) == MAX_EPOCH_LINES and epochs[0] == "15/375" and epochs[-1] == "375/375"
    short = ProgressDisplay("lines", total_epochs=25, n_batches=16)
    assert all(short.shows_epoch(epoch) for epoch in range(1, 26))
