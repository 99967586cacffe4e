"""Tests of vae_lib.train: the training loop, exact resume, interruption, checkpoints, the cache.

Everything runs on the CPU with tiny models (hidden_dim 16, latent_dim 2) on a few dozen
synthetic images, seeded, so the whole file takes seconds.
"""

from __future__ import annotations

import doctest
import math
import os
import signal
import threading
import time

import pytest
import torch

from vae_lib import train
from vae_lib.data import synthetic_digits
from vae_lib.models import VAE, VAEConfig
from vae_lib.train import (
    CheckpointError,
    FitResult,
    History,
    TrainingDiverged,
    fit,
    load_checkpoint,
    save_checkpoint,
    trained_vae,
)

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


# --------------------------------------------------------------------------- checkpoints and resume


def test_resume_continues_bit_for_bit(images, test_images, tmp_path, monkeypatch):
    monkeypatch.setattr(train, "FLUSH_EVERY", 2)  # flushes on both sides of the resume point
    common = {"test_data": test_images, "binarize": "dynamic", "seed": 5}
    straight = run(images, epochs=4, **common)
    path = tmp_path / "run.pt"
    first = run(images, epochs=2, checkpoint=path, **common)
    assert len(first.history) == 2 and first.checkpoint == path
    resumed = run(images, epochs=4, checkpoint=path, resume=True, model=tiny_model(seed=99), **common)
    assert_same_weights(straight.model, resumed.model)
    assert without_seconds(straight.history) == without_seconds(resumed.history)
    model, state = load_checkpoint(path)
    assert state["epoch"] == 4 and len(state["history"]) == 4


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


def test_checkpoint_loads_with_weights_only(images, tmp_path):
    path = tmp_path / "run.pt"
    run(images, epochs=1, checkpoint=path)
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == "vae_lib.checkpoint" and payload["format_version"] == train.CHECKPOINT_VERSION
    assert payload["config"] == VAEConfig(**TINY).to_dict()
    assert {"model_state", "optimizer_state", "history", "rng", "position", "training"} <= payload.keys()
    assert payload["rng"]["permutation"].dtype == torch.uint8


def test_save_and_load_checkpoint_round_trip(tmp_path):
    model = tiny_model(latent_dim=3)
    path = save_checkpoint(tmp_path / "sub" / "m.pt", model, history=[{"epoch": 1, "train_elbo": -1.0}],
                           metadata={"note": "hi"})
    loaded, state = load_checkpoint(path)
    assert_same_weights(model, loaded)
    assert loaded.config == model.config and not loaded.training
    assert state["history"] == [{"epoch": 1, "train_elbo": -1.0}] and state["metadata"] == {"note": "hi"}


def test_crash_while_saving_keeps_the_old_checkpoint_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "m.pt"
    good = tiny_model()
    save_checkpoint(path, good)
    before = path.read_bytes()
    real_save = torch.save

    def crash_midway(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash_midway)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, tiny_model(seed=1))
    monkeypatch.setattr(torch, "save", real_save)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]
    assert_same_weights(load_checkpoint(path)[0], good)


def test_crash_while_saving_during_fit_keeps_last_epoch(images, tmp_path, monkeypatch):
    path = tmp_path / "run.pt"
    run(images, epochs=1, checkpoint=path)
    monkeypatch.setattr(torch, "save", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        run(images, epochs=2, checkpoint=path, resume=True)
    monkeypatch.undo()
    assert load_checkpoint(path)[1]["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["run.pt"]


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", "truncated"])
def test_unreadable_checkpoint_is_a_clear_error(tmp_path, content):
    path = tmp_path / "bad.pt"
    if content == "truncated":
        save_checkpoint(path, tiny_model())
        content = path.read_bytes()[: path.stat().st_size // 2]
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="bad.pt") as err:
        load_checkpoint(path)
    assert "truncated, corrupted" in str(err.value)


def test_foreign_or_future_checkpoints_are_refused(tmp_path):
    path = tmp_path / "state_dict.pt"
    torch.save(tiny_model().state_dict(), path)
    with pytest.raises(CheckpointError, match="not a vae_lib checkpoint"):
        load_checkpoint(path)
    future = tmp_path / "future.pt"
    save_checkpoint(future, tiny_model())
    payload = torch.load(future, weights_only=True)
    payload["format_version"] = train.CHECKPOINT_VERSION + 1
    torch.save(payload, future)
    with pytest.raises(CheckpointError, match="upgrade vae_lib"):
        load_checkpoint(future)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_checkpoint(tmp_path / "missing.pt")


def test_resume_from_other_configuration_names_the_keys(images, tmp_path):
    path = tmp_path / "run.pt"
    run(images, epochs=1, checkpoint=path)
    with pytest.raises(CheckpointError) as err:
        run(images, epochs=2, checkpoint=path, resume=True, model=tiny_model(latent_dim=3, hidden_dim=8))
    message = str(err.value)
    assert "latent_dim" in message and "hidden_dim" in message and "new checkpoint path" in message
    with pytest.raises(CheckpointError, match="batch_size"):
        run(images, epochs=2, checkpoint=path, resume=True, batch_size=16)
    with pytest.raises(CheckpointError, match="other data"):
        run(images[:60], epochs=2, checkpoint=path, resume=True)


def test_resume_without_a_file_starts_fresh_and_when_done_trains_nothing(images, tmp_path, capsys):
    path = tmp_path / "run.pt"
    first = run(images, epochs=1, checkpoint=path, resume=True)
    assert "starting from scratch" in capsys.readouterr().out
    model = tiny_model(seed=3)
    spy = ElboSpy(model)
    again = run(images, epochs=1, checkpoint=path, resume=True, model=model)
    assert spy.calls == [] and "nothing to train" in capsys.readouterr().out
    assert_same_weights(first.model, again.model)


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


def test_nan_is_caught_by_the_progress_bar_refresh_too(images, monkeypatch):
    monkeypatch.setattr(train, "BAR_REFRESH_SECONDS", 0.0)
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
        ({"binarize": "sometimes"}, "binarize must be"),
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


def test_bad_test_data_and_non_models_are_refused(images):
    with pytest.raises(ValueError, match="empty"):
        run(images, test_data=torch.rand(0, 784))
    with pytest.raises(TypeError, match="vae_lib VAE"):
        fit(torch.nn.Linear(2, 2), images)


def test_unknown_likelihood_is_a_clear_error():
    with pytest.raises(ValueError, match="likelihood"):
        trained_vae({"likelihood": "poisson"}, data="synthetic", epochs=1)


# --------------------------------------------------------------------------- progress display


def test_lines_mode_prints_one_line_per_epoch_to_stdout_only(images, test_images, capsys):
    run(images, epochs=3, progress="lines", test_data=test_images)
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 3 and captured.err == ""
    assert lines[0].startswith("epoch 1/3  train ELBO -") and "test ELBO" in lines[0] and "KL" in lines[0]
    assert lines[0].endswith(" s")


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


# --------------------------------------------------------------------------- the cache


def test_trained_vae_trains_once_then_loads(monkeypatch, capsys):
    first_model, first_history = trained_vae(TINY, epochs=2, data="synthetic", device="cpu", progress="none")
    out = capsys.readouterr().out
    assert "Training the VAE" in out and len(first_history) == 2
    models = [p.name for p in train.cache_dir("models").glob("*.pt")]
    assert len(models) == 1 and models[0].startswith("vae-mlp-bernoulli-z2-e2-")

    def no_training(*args, **kwargs):
        raise AssertionError("fit() should not be called for a cached model")

    monkeypatch.setattr(train, "fit", no_training)
    model, history = trained_vae(TINY, epochs=2, data="synthetic", device="cpu", progress="none")
    out = capsys.readouterr().out
    assert "Loaded the trained VAE from the cache" in out and "Synthetic digits" in out
    assert_same_weights(first_model, model)
    assert history == first_history and not model.training


def test_trained_vae_asked_twice_at_once_trains_once_and_the_second_waits(monkeypatch, capsys):
    """Two notebooks (or book builds) asking for the same uncached model: one trains, one waits."""
    training_started, may_finish = threading.Event(), threading.Event()
    fit_calls = []
    real_fit = train.fit

    def slow_fit(*args, **kwargs):
        fit_calls.append(threading.current_thread().name)
        training_started.set()
        assert may_finish.wait(60)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(train, "fit", slow_fit)
    results = {}

    def ask(name):
        results[name] = trained_vae(TINY, epochs=1, data="synthetic", device="cpu", progress="none")

    first = threading.Thread(target=ask, args=("first",), name="first")
    first.start()
    assert training_started.wait(60)
    second = threading.Thread(target=ask, args=("second",), name="second")
    second.start()
    out = ""
    for _ in range(600):  # up to 60 s for the second to find the lock taken
        out += capsys.readouterr().out
        if "waiting for it to finish" in out:
            break
        time.sleep(0.1)
    assert "Another process is training or saving vae-mlp-bernoulli-z2-e1-" in out
    assert second.is_alive()  # blocked on the lock, not training
    may_finish.set()
    first.join(60)
    second.join(60)
    out += capsys.readouterr().out
    assert fit_calls == ["first"]
    assert "Loaded the trained VAE from the cache" in out
    assert_same_weights(results["first"].model, results["second"].model)


def test_trained_vae_changed_settings_train_a_new_model(capsys):
    trained_vae(TINY, epochs=1, data="synthetic", device="cpu", progress="none")
    trained_vae({**TINY, "latent_dim": 3}, epochs=1, data="synthetic", device="cpu", progress="none")
    trained_vae(TINY, epochs=1, data="synthetic", device="cpu", progress="none", binarize=None)
    trained_vae(TINY, epochs=1, data="synthetic", device="cpu", progress="none", seed=1)
    assert capsys.readouterr().out.count("Training the VAE") == 4
    assert len(list(train.cache_dir("models").iterdir())) == 4


def test_trained_vae_retrains_a_corrupt_cache_file(capsys):
    trained_vae(TINY, epochs=1, data="synthetic", device="cpu", progress="none")
    (path,) = train.cache_dir("models").iterdir()
    path.write_bytes(path.read_bytes()[:100])
    capsys.readouterr()
    model, history = trained_vae(TINY, epochs=1, data="synthetic", device="cpu", progress="none")
    out = capsys.readouterr().out
    assert "unusable cached model" in out and "Training the VAE" in out
    assert len(history) == 1 and load_checkpoint(path)[1]["epoch"] == 1


def test_trained_vae_continues_an_interrupted_training(monkeypatch, capsys):
    calls = {"n": 0}
    real_test_metrics = train._test_metrics

    def interrupt_after_first_epoch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real_test_metrics(*args, **kwargs)

    monkeypatch.setattr(train, "_test_metrics", interrupt_after_first_epoch)
    result = trained_vae(TINY, epochs=3, data="synthetic", device="cpu", progress="none")
    assert result.interrupted and len(result.history) == 1
    monkeypatch.setattr(train, "_test_metrics", real_test_metrics)
    capsys.readouterr()
    model, history = trained_vae(TINY, epochs=3, data="synthetic", device="cpu", progress="none")
    assert "Continuing the interrupted training" in capsys.readouterr().out
    assert [r["epoch"] for r in history] == [1, 2, 3]


# --------------------------------------------------------------------------- docs


def test_docstring_examples_run():
    result = doctest.testmod(train, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 5
