"""Tests of vae_lib.model_cache: trained_vae trains once, then loads; one trains while others wait."""

from __future__ import annotations

import builtins
import io
import os
import threading
import time
from pathlib import Path

import pytest

from training_helpers import TINY, _no_progress_override, assert_same_weights  # noqa: F401 (fixtures)
from vae_lib import checkpoints, model_cache, train
from vae_lib.checkpoints import load_checkpoint
from vae_lib.model_cache import trained_vae
from vae_lib.paths import cache_dir


def test_unknown_likelihood_is_a_clear_error():
    with pytest.raises(ValueError, match="likelihood"):
        trained_vae({"likelihood": "poisson"}, data="synthetic", epochs=1)


def test_trained_vae_trains_once_then_loads(monkeypatch, capsys):
    first_model, first_history = trained_vae(TINY, epochs=2, data="synthetic", device="cpu", progress="none")
    out = capsys.readouterr().out
    assert "Training the VAE" in out and len(first_history) == 2
    models = [p.name for p in cache_dir("models").glob("*.pt")]
    assert len(models) == 1 and models[0].startswith("vae-mlp-bernoulli-z2-e2-")

    def no_training(*args, **kwargs):
        raise AssertionError("fit() should not be called for a cached model")

    monkeypatch.setattr(model_cache, "fit", no_training)
    model, history = trained_vae(TINY, epochs=2, data="synthetic", device="cpu", progress="none")
    out = capsys.readouterr().out
    assert "Loaded the trained VAE from the cache" in out and "Synthetic digits" in out
    assert_same_weights(first_model, model)
    assert history == first_history and not model.training


def test_trained_vae_asked_twice_at_once_trains_once_and_the_second_waits(monkeypatch, capsys):
    """Two notebooks (or book builds) asking for the same uncached model: one trains, one waits."""
    training_started, may_finish = threading.Event(), threading.Event()
    fit_calls = []
    real_fit = model_cache.fit

    def slow_fit(*args, **kwargs):
        fit_calls.append(threading.current_thread().name)
        training_started.set()
        assert may_finish.wait(60)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(model_cache, "fit", slow_fit)
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
    assert len(list(cache_dir("models").iterdir())) == 4


def test_trained_vae_retrains_a_corrupt_cache_file(capsys):
    trained_vae(TINY, epochs=1, data="synthetic", device="cpu", progress="none")
    (path,) = cache_dir("models").iterdir()
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


def test_trained_vae_checks_its_settings_and_picks_the_device_once(monkeypatch):
    picked = []
    real_pick = train.pick_device
    monkeypatch.setattr(train, "pick_device", lambda device: picked.append(device) or real_pick(device))
    trained_vae(TINY, epochs=1, data="synthetic", device="cpu", progress="none")
    assert picked == ["cpu"]  # by Settings in trained_vae; fit uses those settings as they are


# --------------------------------------------------------------------------- nothing deleted behind the user's back


@pytest.fixture
def cached_model_path(capsys) -> Path:
    trained_vae(TINY, epochs=1, data="synthetic", device="cpu", progress="none")
    capsys.readouterr()
    (path,) = cache_dir("models").glob("*.pt")
    return path


def _unreadable(monkeypatch, path: Path) -> None:
    """Opening ``path`` fails with a permission error, however it is opened (root ignores chmod)."""
    real_open, real_os_open = builtins.open, os.open

    def guarded_open(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and Path(file) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    def guarded_os_open(file, *args, **kwargs):
        if Path(file) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return real_os_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    monkeypatch.setattr(io, "open", guarded_open)
    monkeypatch.setattr(os, "open", guarded_os_open)


def test_a_transient_read_failure_keeps_the_cached_model(cached_model_path, monkeypatch, capsys):
    """A permission error says nothing about the file: it used to be called unusable and deleted."""
    before = cached_model_path.read_bytes()
    _unreadable(monkeypatch, cached_model_path)
    result = trained_vae(TINY, epochs=1, data="synthetic", device="cpu", progress="none")
    monkeypatch.undo()
    out = capsys.readouterr().out
    assert "Permission denied" in out and "left as it is" in out and "without caching" in out
    assert "Training the VAE" in out and "it will not be cached" in out
    assert result.checkpoint is None and len(result.history) == 1
    assert cached_model_path.read_bytes() == before
    assert sorted(p.name for p in cached_model_path.parent.iterdir()) == [cached_model_path.name]


@pytest.mark.parametrize("content", ["truncated", "garbage", "a pickle that runs code"])
def test_a_corrupt_cached_model_is_set_aside_and_never_deleted(cached_model_path, capsys, content):
    """Issue 21, item 2: it was renamed .NAME.set-aside, the model retrained, then the file unlinked."""
    bad = {"truncated": cached_model_path.read_bytes()[:100], "garbage": b"not a checkpoint",
           "a pickle that runs code": b"cos\nsystem\n(S'echo owned'\ntR."}[content]
    cached_model_path.write_bytes(bad)
    model, history = trained_vae(TINY, epochs=1, data="synthetic", device="cpu", progress="none")
    out = capsys.readouterr().out
    [aside] = cached_model_path.parent.glob(f"{cached_model_path.name}.corrupt-*")
    assert f"Setting aside the unusable cached model as {aside.name}" in out
    assert aside.read_bytes() == bad  # kept, byte for byte, after the new model was written
    assert load_checkpoint(cached_model_path)[1]["epoch"] == 1 and len(history) == 1
    assert not cached_model_path.with_name(f".{cached_model_path.name}.set-aside").exists()


def test_an_oversize_cached_model_is_set_aside_unread(cached_model_path, capsys):
    """Issue 21, item 7: a file larger than any checkpoint is proof enough: set aside, never read."""
    with cached_model_path.open("r+b") as sparse:  # a hole: no disk space used, nothing to read
        sparse.truncate(checkpoints.MAX_CHECKPOINT_BYTES + 1)
    result = trained_vae(TINY, epochs=1, data="synthetic", device="cpu", progress="none")
    out = capsys.readouterr().out
    [aside] = cached_model_path.parent.glob(f"{cached_model_path.name}.corrupt-*")
    assert aside.stat().st_size == checkpoints.MAX_CHECKPOINT_BYTES + 1
    assert "Setting aside the unusable cached model" in out and "1.0 GiB, more than the 1.0 GiB" in out
    assert "Training the VAE" in out and len(result.history) == 1 and result.checkpoint == cached_model_path


def test_an_interrupted_retraining_keeps_the_old_model_aside(cached_model_path, monkeypatch, capsys):
    good = cached_model_path.read_bytes()
    real_test_metrics = train._test_metrics
    monkeypatch.setattr(train, "_test_metrics", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    result = trained_vae(TINY, epochs=1, data="synthetic", device="cpu", progress="none", retrain=True)
    assert result.interrupted
    aside = cached_model_path.with_name(f".{cached_model_path.name}.set-aside")
    assert aside.read_bytes() == good and "kept aside" in capsys.readouterr().out
    monkeypatch.setattr(train, "_test_metrics", real_test_metrics)
    trained_vae(TINY, epochs=1, data="synthetic", device="cpu", progress="none")  # continues, then finishes
    assert not aside.exists()


@pytest.mark.parametrize("broken", ["under a file", "no cache folder at all"])
def test_an_unwritable_models_folder_trains_anyway_without_caching(tmp_path, monkeypatch, capsys, broken):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")

    def unwritable_cache_dir(*parts, create=True):
        if broken == "no cache folder at all":
            raise OSError("No writable cache folder: set VAE_LIB_CACHE to a folder you can write to.")
        return blocker.joinpath(*parts)

    monkeypatch.setattr(model_cache, "cache_dir", unwritable_cache_dir)
    model, history = result = trained_vae(TINY, epochs=1, data="synthetic", device="cpu", progress="none")
    out = capsys.readouterr().out
    assert "The trained-model cache cannot be written" in out and "without caching this model" in out
    assert "it will not be cached" in out
    assert len(history) == 1 and result.checkpoint is None and blocker.read_text() == "not a folder"


def test_a_read_only_cache_still_serves_the_models_it_holds(cached_model_path, monkeypatch, capsys):
    def cannot_write(path):
        raise PermissionError(f"Cannot write the checkpoint {path} (Permission denied).")

    monkeypatch.setattr(model_cache, "check_writable", cannot_write)
    monkeypatch.setattr(model_cache, "fit", lambda *a, **k: pytest.fail("a cached model must load, not train"))
    result = trained_vae(TINY, epochs=1, data="synthetic", device="cpu", progress="none")
    assert "Loaded the trained VAE from the cache" in capsys.readouterr().out
    assert result.checkpoint == cached_model_path and len(result.history) == 1
