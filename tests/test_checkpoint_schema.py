"""Checkpoints checked whole, before any work (issue 21, item 5), and read with limits (item 7).

A loadable checkpoint with one field wrong used to fail later, as an AttributeError, KeyError,
RuntimeError or TypeError traceback, one of them after a full epoch of resumed training. Each
case below edits one field of a real checkpoint (as a damaged or hand-edited file would) and
expects one line naming that field, from load_checkpoint, from fit(..., resume=True) before its
first batch, and from the command line's evaluate (exit code 2).
"""

from __future__ import annotations

import os
import threading

import pytest
import torch

from training_helpers import ElboSpy, _no_progress_override, images, run, tiny_model  # noqa: F401 (fixtures)
from vae_lib import checkpoints
from vae_lib.__main__ import main
from vae_lib.checkpoints import CheckpointContentError, CheckpointError, load_checkpoint


def _edit(payload: dict, where: str, value) -> None:
    """Set (or delete, for value ``...``) the field at the dotted path ``where`` of a payload."""
    *parents, last = where.split(".")
    target = payload
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    if value is ...:
        del target[last]
    else:
        target[int(last) if isinstance(target, list) else last] = value


# (field edited, the value put there (... deletes it), what the message must say)
DAMAGE = [
    ("metadata", "mnist", "metadata is a str ('mnist'), not a dict"),
    ("epoch", ..., "epoch is missing"),
    ("epoch", True, "epoch is a bool (True), not a whole number"),
    ("config.architecture", ..., "config.architecture is missing"),
    ("config.latent_dim", "2", "config is not a valid model configuration"),
    ("training.seed", "0", "training.seed is a str ('0'), not a whole number from 0 to 9223372036854775807"),
    ("training.lr", float("nan"), "training.lr is a float (nan), not a finite number > 0"),
    ("training.binarize", "sometimes", "training.binarize is a str ('sometimes'), not one of none, dynamic"),
    ("position.sums", [1.0, 2.0, 3.0], "position.sums is a list ([1.0, 2.0, 3.0]), not two finite numbers"),
    ("position.epoch", 7, "position.epoch is an int (7), not a whole number from 1 to 1"),
    ("position.batch", -1, "position.batch is an int (-1), not a whole number from 0 or more"),
    ("history", [1], "history[0] is an int (1), not a dict of the epoch's numbers"),
    ("history", [], "history has 0 records for epoch 1"),
    ("history.0.train_elbo", ..., "history[0].train_elbo is missing"),
    ("history.0.train_elbo", "-90", "history[0].train_elbo is a str ('-90'), not a finite number"),
    ("rng.noise", "state", "rng.noise is a str ('state'), not a random generator's state"),
    ("rng", [1, 2], "rng is a list ([1, 2]), not a dict"),
    ("optimizer_state.param_groups", {"lr": 1}, "optimizer_state.param_groups is a dict"),
    ("optimizer_state.state", [], "optimizer_state.state is a list ([]), not a dict"),
    ("model_state.encoder.hidden.weight", [[0.0]], "model_state['encoder.hidden.weight'] is a list"),
    ("data.sum", "12", "data.sum is a str ('12'), not a finite number"),
    ("metadata.data_source", "cache", "metadata.data_source is a str ('cache'), not a dict"),
    ("metadata.data_source.test", {"location": 5}, "metadata.data_source.test.location is an int (5), not text"),
    ("vae_lib_version", 1, "vae_lib_version is an int (1), not a version string"),
]


@pytest.fixture
def good_checkpoint(images, tmp_path):
    path = tmp_path / "run.pt"
    run(images, epochs=1, checkpoint=path,
        metadata={"data": "synthetic", "data_source": {"test": {"kind": "synthetic", "location": "x"}}})
    return path


def _damaged(path, where, value):
    payload = torch.load(path, weights_only=True)
    if where.startswith("model_state.") and where != "model_state":
        key = where.removeprefix("model_state.")
        assert key in payload["model_state"], sorted(payload["model_state"])
        payload["model_state"][key] = value
    else:
        _edit(payload, where, value)
    torch.save(payload, path)
    return path


@pytest.mark.parametrize("where, value, message", DAMAGE, ids=[f"{w}={v!r}"[:40] for w, v, _ in DAMAGE])
def test_a_damaged_field_is_named_on_load_before_any_work(good_checkpoint, images, capsys, where, value, message):
    path = _damaged(good_checkpoint, where, value)
    with pytest.raises(CheckpointContentError) as err:
        load_checkpoint(path)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).startswith(f"The checkpoint {path} is damaged or was not written by vae_lib: ")

    model = tiny_model()
    spy = ElboSpy(model)
    with pytest.raises(CheckpointContentError, match=message.split(" (")[0].replace("[", r"\[").replace("]", r"\]")):
        run(images, epochs=3, checkpoint=path, resume=True, model=model)
    assert spy.calls == []  # refused before the first batch, not after an epoch

    capsys.readouterr()
    assert main(["evaluate", str(path), "--samples", "2"]) == 2
    err_text = capsys.readouterr().err
    assert message in err_text and len(err_text.strip().splitlines()) == 1 and "Traceback" not in err_text


def test_fit_refuses_metadata_it_could_not_load_again(images, tmp_path):
    with pytest.raises(ValueError, match="metadata.data_source is a list"):
        run(images, epochs=1, checkpoint=tmp_path / "run.pt", metadata={"data_source": ["cache"]})
    assert not (tmp_path / "run.pt").exists()


def test_the_checkpoints_fit_and_save_checkpoint_write_pass_the_check(images, tmp_path):
    run(images, epochs=2, checkpoint=tmp_path / "a.pt", test_data=images[:10], binarize="static")
    checkpoints.save_checkpoint(tmp_path / "b.pt", tiny_model(), history=[{"epoch": 1, "train_elbo": -500.0}])
    checkpoints.save_checkpoint(tmp_path / "c.pt", tiny_model(), optimizer=torch.optim.Adam(tiny_model().parameters()))
    for name in ("a.pt", "b.pt", "c.pt"):
        load_checkpoint(tmp_path / name)


# --------------------------------------------------------------------------- what is read at all (item 7)


def test_a_fifo_is_refused_at_once_not_waited_on(tmp_path, capsys):
    """`evaluate` on a FIFO hung (the open waited for a writer)."""
    fifo = tmp_path / "run.pt"
    os.mkfifo(fifo)
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.update(code=main(["evaluate", str(fifo)])), daemon=True)
    worker.start()
    worker.join(60)
    if worker.is_alive():  # unblock the reader, then fail
        with open(fifo, "wb"):
            pass
        pytest.fail("evaluate waited on a FIFO")
    err = capsys.readouterr().err
    assert outcome["code"] == 2 and "is not a checkpoint file: it is a FIFO (named pipe), not a file" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_dev_zero_is_refused_without_reading_it(capsys):
    """`evaluate /dev/zero` grew to 5 GB before running out of memory."""
    with pytest.raises(CheckpointError, match="it is a character device"):
        load_checkpoint("/dev/zero")
    assert main(["evaluate", "/dev/zero"]) == 2
    assert "character device (such as /dev/zero), not a file" in capsys.readouterr().err


def test_a_folder_is_refused_as_not_a_checkpoint_file(tmp_path):
    with pytest.raises(CheckpointError, match="it is a folder, not a file"):
        load_checkpoint(tmp_path)


def test_a_file_larger_than_any_checkpoint_is_refused_unread(tmp_path, capsys):
    path = tmp_path / "huge.pt"
    with path.open("wb") as sparse:  # a hole: no disk space, and nothing may be read from it
        sparse.truncate(checkpoints.MAX_CHECKPOINT_BYTES + 1)
    with pytest.raises(CheckpointContentError, match="is not a checkpoint vae_lib wrote: it is 1.0 GiB, more than"):
        load_checkpoint(path)


def test_a_checkpoint_larger_than_the_limit_is_never_written(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "MAX_CHECKPOINT_BYTES", 1000)
    with pytest.raises(CheckpointError, match="would take .* more than the 1,000 bytes"):
        checkpoints.save_checkpoint(tmp_path / "m.pt", tiny_model())
    assert list(tmp_path.iterdir()) == []
