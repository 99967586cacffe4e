"""Tests of vae_lib.checkpoints: files loadable with weights_only, atomic writes, clear errors, exact resume."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import torch

from training_helpers import (  # noqa: F401 (fixtures)
    TINY,
    ElboSpy,
    _no_progress_override,
    assert_same_weights,
    images,
    run,
    test_images,
    tiny_model,
    without_seconds,
)
from vae_lib import checkpoints, train
from vae_lib._atomic_files import STALE_TEMPORARY_SECONDS, atomic_write
from vae_lib.checkpoints import CheckpointContentError, CheckpointError, load_checkpoint, save_checkpoint
from vae_lib.models import VAEConfig


# --------------------------------------------------------------------------- resume


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


# --------------------------------------------------------------------------- files


def test_checkpoint_loads_with_weights_only(images, tmp_path):
    path = tmp_path / "run.pt"
    run(images, epochs=1, checkpoint=path)
    payload = torch.load(path, weights_only=True)
    assert payload["format"] == "vae_lib.checkpoint" and payload["format_version"] == checkpoints.CHECKPOINT_VERSION
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
    payload["format_version"] = checkpoints.CHECKPOINT_VERSION + 1
    torch.save(payload, future)
    with pytest.raises(CheckpointError, match="upgrade vae_lib"):
        load_checkpoint(future)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_checkpoint(tmp_path / "missing.pt")


# --------------------------------------------------------------------------- safe loading, safe words


class _MakesAFolderWhenUnpickled:
    """A malicious pickle: unpickling it would call os.mkdir (any code could run instead)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_a_pickle_weights_only_refuses_is_called_foreign_never_corrupt_and_never_runs(tmp_path):
    marker = tmp_path / "the_payload_ran"
    path = tmp_path / "evil.pt"
    torch.save({"format": "vae_lib.checkpoint", "payload": _MakesAFolderWhenUnpickled(marker)}, path)
    with pytest.raises(CheckpointContentError) as err:
        load_checkpoint(path)
    message = str(err.value).replace(str(path), "PATH")
    assert "is not a checkpoint this library wrote" in message and "mkdir" in message and "could run code" in message
    assert "weights_only" not in message and "False" not in message  # never suggests disabling the safe loader
    assert "truncated" not in message and not marker.exists()


def test_a_whole_module_saved_with_torch_save_is_not_a_checkpoint_this_library_wrote(tmp_path):
    path = tmp_path / "module.pt"
    torch.save(tiny_model(), path)
    with pytest.raises(CheckpointContentError, match="asks for the Python object vae_lib.models.VAE") as err:
        load_checkpoint(path)
    message = str(err.value).replace(str(path), "PATH")
    assert len(message) < 400 and "weights_only" not in message


def test_a_read_failure_is_an_os_error_that_leaves_the_file_alone(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "m.pt", tiny_model())
    before = path.read_bytes()
    real_open = os.open

    def permission_denied(file, *args, **kwargs):  # root ignores chmod: refuse the file here
        if Path(file) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", permission_denied)
    with pytest.raises(PermissionError, match="Cannot read the checkpoint .*left as it is") as err:
        load_checkpoint(path)
    assert not isinstance(err.value, CheckpointError) and "corrupted" not in str(err.value)
    monkeypatch.undo()
    assert path.read_bytes() == before


def test_weights_that_do_not_fit_the_configuration_name_the_keys_and_shapes(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", tiny_model())
    payload = torch.load(path, weights_only=True)
    payload["config"]["hidden_dim"] = 8
    del payload["model_state"]["encoder.mu.bias"]
    torch.save(payload, path)
    with pytest.raises(CheckpointContentError) as err:
        load_checkpoint(path)
    message = str(err.value)
    assert "do not fit its configuration" in message and "missing encoder.mu.bias" in message
    assert "[16, 784] (its configuration needs [8, 784])" in message


# --------------------------------------------------------------------------- temporary files


def test_stale_temporary_files_of_the_same_checkpoint_are_removed_by_the_next_write(tmp_path):
    """kill -9 during a write leaves .NAME.XXXXXXXX.tmp; the next write to NAME removes those no writer holds:
    without the lock, those older than STALE_TEMPORARY_SECONDS; holding it (save_checkpoint does), all."""
    path = tmp_path / "m.pt"
    stale, fresh = tmp_path / ".m.pt.k2j4x8_q.tmp", tmp_path / ".m.pt.w0rking1.tmp"
    other_target, other_file = tmp_path / ".other.pt.k2j4x8_q.tmp", tmp_path / ".m.pt.notes.txt"
    for file in (stale, fresh, other_target, other_file):
        file.write_bytes(b"half a checkpoint")
    long_ago = time.time() - 2 * STALE_TEMPORARY_SECONDS
    for file in (stale, other_target, other_file):
        os.utime(file, (long_ago, long_ago))
    atomic_write(path, lambda stream: stream.write(b"x"))  # no lock: a young one may have a live writer
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".m.pt.notes.txt", ".m.pt.w0rking1.tmp", ".other.pt.k2j4x8_q.tmp", "m.pt"])
    save_checkpoint(path, tiny_model())  # holds the lock: no one else can be writing m.pt
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([".m.pt.notes.txt", ".other.pt.k2j4x8_q.tmp", "m.pt"])
    assert load_checkpoint(path)[1]["epoch"] == 0
