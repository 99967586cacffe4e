"""Tests of vae_lib.train: the training loop, its settings, Ctrl-C, divergence and bad input.

Checkpoints and resuming: test_checkpoints.py; the progress display: test_progress.py;
the trained-model cache: test_model_cache.py. Shared helpers: training_helpers.py.
"""

from __future__ import annotations

import doctest
import math
import os
import signal

import numpy as np

import pytest
import torch

from training_helpers import (  # noqa: F401 (fixtures)
    ElboSpy,
    _no_progress_override,
    assert_same_weights,
    images,
    press_ctrl_c,
    raise_keyboard_interrupt,
    run,
    test_images,
    tiny_model,
    without_seconds,
)
from vae_lib import progress, train
from vae_lib.checkpoints import load_checkpoint
from vae_lib.evaluate import NonFiniteScore
from vae_lib.history import History
from vae_lib.train import FitResult, Settings, TrainingDiverged, fit


# --------------------------------------------------------------------------- the loop


def test_fit_returns_model_and_history(images, test_images):
    model, history = result = run(images, epochs=2, test_data=(test_images, None))
    assert isinstance(result, FitResult) and not result.interrupted and result.checkpoint is None
    assert isinstance(history, History) and [r["epoch"] for r in history] == [1, 2]
    for record in history:
        for split in ("train", "test"):
            elbo, rec, kl = (record[f"{split}_{k}"] for k in ("elbo", "reconstruction", "kl"))
            assert elbo < 0 and kl >= 0 and math.isclose(elbo, rec - kl, rel_tol=1e-4)
        assert record["seconds"] > 0
    assert history[1]["train_elbo"] > history[0]["train_elbo"]  # it learns
    assert not model.training
    columns = history.as_columns()
    assert columns["epoch"] == [1, 2] and len(columns["test_elbo"]) == 2
    assert str(history).splitlines()[0].startswith("epoch 1/2  train ELBO")


def test_batches_cover_every_image_once_per_epoch_with_a_partial_last_batch(images):
    model = tiny_model()
    spy = ElboSpy(model)
    run(images, epochs=2, model=model, batch_size=32)
    assert [c["batch"] for c in spy.calls] == [32, 32, 6, 32, 32, 6]
    assert all(c["validate"] is False and c["generator"] is not None for c in spy.calls)  # no per-batch syncs


def test_same_seed_same_numbers_other_seed_other_numbers(images):
    a, b = run(images, seed=3), run(images, seed=3)
    c = run(images, seed=4)
    assert_same_weights(a.model, b.model)
    assert without_seconds(a.history) == without_seconds(b.history)
    assert without_seconds(a.history) != without_seconds(c.history)


def test_adam_moments_of_unused_weights_decay_into_subnormals_and_the_flush_removes_them():
    """Why fit flushes: a weight whose gradient stays zero (a weight fed by a blank border
    pixel) keeps a first moment that shrinks ×0.9 per step until it is subnormal."""
    weight = torch.nn.Parameter(torch.ones(2))
    optimizer = torch.optim.Adam([weight], lr=1e-3)
    weight.grad = torch.tensor([1.0, 0.0])
    optimizer.step()
    weight.grad = torch.zeros(2)
    for _ in range(830):  # 0.1 · 0.9^830 ≈ 1e-39: below the smallest normal float32, 1.18e-38
        optimizer.step()
    first_moment = optimizer.state[weight]["exp_avg"]
    smallest_normal = torch.finfo(torch.float32).tiny
    assert 0 < first_moment[0].item() < smallest_normal  # subnormal: slow on x86 CPUs
    before = weight.detach().clone()
    assert train._flush_tiny_moments(optimizer) == 1
    assert first_moment.tolist() == [0.0, 0.0]
    assert optimizer.state[weight]["exp_avg_sq"][0].item() > 0  # 1e-3 · 0.999^830: normal, kept
    optimizer.step()  # ... and the flush changed nothing Adam would have done
    assert torch.equal(weight.detach(), before)


def test_fit_flushes_tiny_adam_moments_every_few_steps_on_the_cpu(images, monkeypatch):
    calls = []
    flush = train._flush_tiny_moments
    monkeypatch.setattr(train, "FLUSH_EVERY", 4)
    monkeypatch.setattr(train, "_flush_tiny_moments", lambda optimizer: calls.append(optimizer) or flush(optimizer))
    run(images, epochs=3)  # 3 batches per epoch: steps 4 and 8 of 9 flush
    assert len(calls) == 2 and all(isinstance(c, torch.optim.Adam) for c in calls)


def test_data_as_images_labels_tuple(images):
    labels = torch.zeros(len(images), dtype=torch.int64)
    a, b = run(images, seed=1), run((images, labels), seed=1)
    assert without_seconds(a.history) == without_seconds(b.history)


@pytest.mark.parametrize("binarize", ["dynamic", "static"])
def test_binarize_modes_are_seeded_and_change_the_targets(images, binarize):
    a, b = run(images, binarize=binarize), run(images, binarize=binarize)
    grey = run(images, binarize=None)
    assert without_seconds(a.history) == without_seconds(b.history)
    assert a.history[0]["train_elbo"] != grey.history[0]["train_elbo"]


def test_dynamic_binarize_feeds_binary_batches_that_change_between_epochs(images):
    model = tiny_model()
    seen = []
    original = model.elbo
    model.elbo = lambda x, **kw: (seen.append(x.clone()), original(x, **kw))[1]
    run(images, epochs=2, model=model, batch_size=70, binarize="dynamic")
    assert all(set(batch.unique().tolist()) <= {0.0, 1.0} for batch in seen)
    first, second = (batch.sum(dim=(1, 2, 3)).sort().values for batch in seen)  # same images, new sample
    assert not torch.equal(first, second)


def test_on_epoch_callback_gets_each_record(images):
    records = []
    run(images, epochs=3, on_epoch=records.append)
    assert [r["epoch"] for r in records] == [1, 2, 3]


def test_settings_after_data_are_keyword_only(images):
    with pytest.raises(TypeError):
        fit(tiny_model(), images, 2)


def test_settings_built_beforehand_train_the_same_and_are_not_given_twice(images):
    settings = Settings(epochs=2, batch_size=32, seed=3, device="cpu")
    assert (settings.binarize, settings.device) == ("none", torch.device("cpu"))
    built = fit(tiny_model(), images, settings=settings, progress="none")
    assert without_seconds(built.history) == without_seconds(run(images, epochs=2, seed=3).history)
    with pytest.raises(ValueError, match="also epochs="):
        fit(tiny_model(), images, epochs=3, settings=settings, progress="none")
    with pytest.raises(TypeError, match="Settings"):
        fit(tiny_model(), images, settings={"epochs": 2})


# --------------------------------------------------------------------------- Ctrl-C


@pytest.mark.parametrize("interrupt", [press_ctrl_c, raise_keyboard_interrupt], ids=["sigint", "raised"])
def test_interrupt_returns_progress_saves_checkpoint_and_resumes_exactly(images, tmp_path, capsys, interrupt,
                                                                         monkeypatch):
    monkeypatch.setattr(train, "FLUSH_EVERY", 2)
    straight = run(images, epochs=3, binarize="dynamic")
    path = tmp_path / "run.pt"
    model = tiny_model()
    ElboSpy(model, at=5, action=interrupt)  # batch 2 of epoch 2 (3 batches per epoch)
    result = run(images, epochs=3, model=model, checkpoint=path, binarize="dynamic")
    assert result.interrupted and result.model is model and not model.training
    assert len(result.history) == 1  # only the complete epoch
    out = capsys.readouterr().out
    assert "interrupted" in out and "epoch 2/3" in out and str(path) in out
    saved_model, state = load_checkpoint(path)
    assert state["epoch"] == 1 and len(state["history"]) == 1
    if interrupt is press_ctrl_c:  # deferred to the batch boundary: batch 2 was completed
        assert state["position"]["batch"] == 2
        assert_same_weights(saved_model, model)
    else:  # raised inside batch 2, before its update
        assert state["position"]["batch"] == 1
    resumed = run(images, epochs=3, model=tiny_model(seed=7), checkpoint=path, resume=True, binarize="dynamic")
    assert not resumed.interrupted
    assert_same_weights(straight.model, resumed.model)
    assert without_seconds(straight.history) == without_seconds(resumed.history)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored


def test_interrupt_without_checkpoint_still_returns(images, capsys):
    model = tiny_model()
    ElboSpy(model, at=1, action=raise_keyboard_interrupt)
    result = run(images, epochs=2, model=model)
    assert result.interrupted and len(result.history) == 0 and result.checkpoint is None
    assert "interrupted" in capsys.readouterr().out


# --------------------------------------------------------------------------- divergence


def test_nan_loss_stops_with_hints_and_keeps_the_checkpoint(images, tmp_path):
    path = tmp_path / "run.pt"
    model = run(images, epochs=1, checkpoint=path).model
    with torch.no_grad():
        model.decoder.out.bias[0] = float("nan")
    with pytest.raises(TrainingDiverged) as err:
        fit(model, images, epochs=2, batch_size=32, progress="none", device="cpu", checkpoint=path)
    message = str(err.value)
    assert isinstance(err.value, FloatingPointError)
    assert "epoch 1" in message and "learning rate" in message and "[0, 1]" in message
    assert "log-variance" in message
    assert load_checkpoint(path)[1]["epoch"] == 1  # the diverged epoch was not saved


def test_huge_learning_rate_is_caught(images):
    with pytest.raises(FloatingPointError, match="diverged"):
        run(images, epochs=20, lr=1e12, batch_size=8)


def test_a_finite_but_implausible_elbo_is_divergence_caught_at_the_first_epoch(images, tmp_path):
    """lr=1e6 used to report ELBOs down to -1.2e29 nats without complaint and checkpoint them."""
    path = tmp_path / "run.pt"
    with pytest.raises(TrainingDiverged) as err:
        run(images, epochs=3, lr=1e6, checkpoint=path)
    message = str(err.value)
    assert "epoch 1:" in message and "train_elbo" in message and "±78,400" in message
    assert "No checkpoint was written" in message and not path.exists()


def test_a_nan_test_elbo_is_a_bad_epoch_and_the_checkpoint_keeps_the_last_good_one(images, test_images,
                                                                                   tmp_path, monkeypatch):
    calls = []
    real_test_metrics = train._test_metrics

    def nan_from_epoch_2(*args, **kwargs):
        calls.append(1)
        metrics = real_test_metrics(*args, **kwargs)
        return {key: float("nan") for key in metrics} if len(calls) >= 2 else metrics

    monkeypatch.setattr(train, "_test_metrics", nan_from_epoch_2)
    path = tmp_path / "run.pt"
    with pytest.raises(TrainingDiverged) as err:
        run(images, epochs=3, test_data=test_images, checkpoint=path)
    assert "epoch 2:" in str(err.value) and "test_elbo is nan" in str(err.value)
    assert f"The checkpoint {path} keeps epoch 1, the last good state." in str(err.value)
    state = load_checkpoint(path)[1]
    assert state["epoch"] == 1 and [r["epoch"] for r in state["history"]] == [1]
    assert math.isfinite(state["history"][0]["test_elbo"])


def test_a_test_elbo_that_evaluate_refuses_as_not_a_number_is_a_bad_epoch(images, test_images, monkeypatch):
    def refuse(*args, **kwargs):
        raise NonFiniteScore("The model's test ELBO is not a number")

    monkeypatch.setattr(train, "test_elbo", refuse)
    with pytest.raises(TrainingDiverged, match="epoch 1: the test ELBO is not a number") as err:
        run(images, epochs=2, test_data=test_images)
    assert "learning rate" in str(err.value)


def test_the_divergence_message_says_what_a_resumed_checkpoint_holds(images, tmp_path):
    path = tmp_path / "run.pt"
    run(images, epochs=1, checkpoint=path)
    model = tiny_model()

    def poison_the_weights():
        with torch.no_grad():
            model.decoder.out.bias[0] = float("nan")

    ElboSpy(model, at=1, action=poison_the_weights)  # the first batch of epoch 2, after the resume
    with pytest.raises(TrainingDiverged) as err:
        run(images, epochs=3, model=model, checkpoint=path, resume=True)
    assert "epoch 2:" in str(err.value) and f"The checkpoint {path} keeps epoch 1, the last good" in str(err.value)
    assert load_checkpoint(path)[1]["epoch"] == 1


def test_nan_is_caught_by_the_progress_bar_refresh_too(images, monkeypatch):
    monkeypatch.setattr(progress, "BAR_REFRESH_SECONDS", 0.0)
    model = tiny_model()
    with torch.no_grad():
        model.encoder.mu.weight[0, 0] = float("inf")
    with pytest.raises(TrainingDiverged, match="at batch 1/3"):
        run(images, model=model, progress="bar")


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"epochs": 0}, "epochs must be"),
        ({"epochs": -1}, "epochs must be"),
        ({"epochs": 2.5}, "epochs must be"),
        ({"batch_size": 0}, "batch_size must be"),
        ({"lr": 0.0}, "lr"),
        ({"lr": -1e-3}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"beta": -1.0}, "beta"),
        ({"binarize": "sometimes"}, "Unknown binarization"),
        ({"progress": "loud"}, "progress must be"),
        ({"device": "tpu"}, "Unknown device"),
        ({"resume": True}, "needs checkpoint"),
        ({"test_batch_size": 0}, "test_batch_size"),
    ],
)
def test_bad_arguments_are_clear_value_errors(images, kwargs, match):
    with pytest.raises(ValueError, match=match):
        run(images, **kwargs)


def test_unavailable_device_is_a_clear_error(images):
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(RuntimeError, match="not available"):
        run(images, device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_fit_on_cuda_resumes_and_its_checkpoint_continues_on_the_cpu(images, test_images, tmp_path, capsys):
    straight = run(images, epochs=2, device="cuda", test_data=test_images, binarize="dynamic")
    assert next(straight.model.parameters()).device.type == "cuda"
    assert all(math.isfinite(r["test_elbo"]) for r in straight.history)
    path = tmp_path / "gpu.pt"
    run(images, epochs=1, device="cuda", checkpoint=path, binarize="dynamic")
    resumed = run(images, epochs=2, device="cuda", checkpoint=path, resume=True, binarize="dynamic",
                  model=tiny_model(seed=3))
    for a, b in zip(straight.model.parameters(), resumed.model.parameters()):
        torch.testing.assert_close(a, b)  # the same run, continued from the checkpoint
    model, state = load_checkpoint(path)  # saved from the GPU, read on the CPU
    assert next(model.parameters()).device.type == "cpu" and state["epoch"] == 2
    capsys.readouterr()
    on_cpu = run(images, epochs=3, device="cpu", checkpoint=path, resume=True, binarize="dynamic",
                 model=tiny_model())
    assert len(on_cpu.history) == 3 and "cannot be restored here" in capsys.readouterr().out


@pytest.mark.parametrize(
    "data, match",
    [
        (torch.rand(0, 1, 28, 28), "empty"),
        ((), "empty"),
        (torch.rand(4, 28, 28), "unsqueeze"),
        (torch.rand(4, 1, 28, 28) * 255, "divide by 255"),
        (torch.full((4, 1, 28, 28), float("nan")), "NaN"),
        ("images", "tensor of images"),
    ],
)
def test_bad_data_is_a_clear_value_error(data, match):
    with pytest.raises(ValueError, match=match):
        run(data)


def test_seeds_must_fit_64_bits_and_numpy_integers_are_whole_numbers(images):
    for seed in (10**23, -1, 2**63, 1.5, "3", True):
        with pytest.raises(ValueError, match=r"seed must be a whole number from 0 to 2\*\*63 - 1"):
            Settings(seed=seed, device="cpu")
    assert Settings(seed=np.int64(3), device="cpu").seed == 3 and Settings(seed=2**63 - 1, device="cpu").seed


# --------------------------------------------------------------------------- unwritable checkpoints


def test_a_checkpoint_under_a_file_is_refused_before_any_training(images, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    model = tiny_model()
    spy = ElboSpy(model)
    with pytest.raises(NotADirectoryError, match="a_file is a file, not a folder"):
        run(images, model=model, checkpoint=blocker / "runs" / "run.pt")
    with pytest.raises(IsADirectoryError, match="is a folder; give a file name"):
        run(images, model=model, checkpoint=tmp_path)
    assert spy.calls == []  # refused before the first batch, not at the first save


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write to read-only folders")
def test_a_checkpoint_in_a_read_only_folder_is_refused_before_any_training(images, tmp_path):
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(0o555)
    model = tiny_model()
    spy = ElboSpy(model)
    try:
        with pytest.raises(PermissionError, match="Cannot write the checkpoint"):
            run(images, model=model, checkpoint=folder / "run.pt")
    finally:
        folder.chmod(0o755)
    assert spy.calls == []


def test_bad_test_data_and_non_models_are_refused(images):
    with pytest.raises(ValueError, match="empty"):
        run(images, test_data=torch.rand(0, 784))
    with pytest.raises(TypeError, match="vae_lib VAE"):
        fit(torch.nn.Linear(2, 2), images)


# --------------------------------------------------------------------------- docs


def test_docstring_examples_run():
    result = doctest.testmod(train, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 5
