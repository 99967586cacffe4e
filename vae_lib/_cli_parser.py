"""Private: the argument parser of ``python -m vae_lib`` (see :mod:`vae_lib.__main__`).

Every argument is checked as it is parsed: a mistake ends in one line (and the hint to use
``--help``) with exit code 2, never a traceback; a path is checked against the file system's
limits on names here too (a 300-character file name used to raise inside argparse).
"""

# The imports are at the top: building the parser (even for --help) needs the choices defined
# next to torch code (vae_lib.models), so torch is imported either way.

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from vae_lib._atomic_files import check_path_length
from vae_lib._fit_checks import checked_seed
from vae_lib.data import BINARIZATIONS
from vae_lib.models import ARCHITECTURES, LIKELIHOODS
from vae_lib.progress import PROGRESS_CHOICES

__all__ = ["EXAMPLES", "EXIT_USAGE", "build_parser"]

EXAMPLES = """\
examples:
  python -m vae_lib info
  python -m vae_lib train --data mnist --latent-dim 20 --epochs 10 --output runs/vae.pt
  python -m vae_lib train --data mnist --epochs 20 --output runs/vae.pt --resume   # 10 more epochs
  python -m vae_lib train --data synthetic --latent-dim 2 --hidden-dim 64 --epochs 3 --output /tmp/toy.pt
  python -m vae_lib evaluate runs/vae.pt --samples 1000

Losses are in nats per image (log-likelihoods summed over the 784 pixels, averaged over
images); bits/dim divides by 784 ln 2. Ctrl-C during training saves the checkpoint; run the
same command with --resume to continue exactly where it stopped. evaluate scores the test
split the run recorded, and refuses other test data unless --allow-other-test-data is given.
"""

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but argument errors print one line (and the hint to use --help), exit code 2."""

    def error(self, message: str):  # noqa: D401 - argparse's hook
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _HelpFormatter(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default and keeps the examples' line breaks (one example per line)."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _finite_float(text: str, *, allow_zero: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and (value > 0 or (allow_zero and value == 0))):
        raise argparse.ArgumentTypeError(f"must be a number {'>=' if allow_zero else '>'} 0, got {text}")
    return value


def _seed(text: str) -> int:
    try:
        return checked_seed(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to 2**63 - 1, got {text!r}") from None


def _file_path(text: str) -> Path:
    """A path the file system can hold (a name of 300 characters is refused here, in one line)."""
    try:
        check_path_length(text)
    except OSError as err:
        raise argparse.ArgumentTypeError(str(err).rstrip(".")) from None
    return Path(text)


def _output_file(text: str) -> Path:
    path = _file_path(text)
    try:
        is_folder = path.is_dir()
    except OSError:  # cannot be looked at: check_writable says why, before training
        is_folder = False
    if text.endswith(("/", os.sep)) or is_folder:
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name such as {path / 'vae.pt'}")
    return path


def _positive_float(text: str) -> float:
    return _finite_float(text, allow_zero=False)


def _nonnegative_float(text: str) -> float:
    return _finite_float(text, allow_zero=True)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m vae_lib`` (exposed for the docs and the tests)."""
    parser = _Parser(
        prog="python -m vae_lib",
        description="Train and evaluate the variational autoencoders of the VAE book.",
        epilog=EXAMPLES,
        formatter_class=_HelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    defaults = _HelpFormatter

    train = commands.add_parser("train", help="train a VAE and save a checkpoint", epilog=EXAMPLES,
                                formatter_class=defaults, description="Train a VAE, printing one line per epoch; "
                                "the checkpoint is saved after every epoch and on Ctrl-C.")
    train.add_argument("--data", choices=("mnist", "synthetic"), default="mnist",
                       help="MNIST (found, downloaded or the bundled subset) or tiny synthetic digits")
    train.add_argument("--limit", type=_positive_int, default=None, metavar="N",
                       help="train on the first N training images only (quick runs)")
    train.add_argument("--architecture", choices=ARCHITECTURES, default="mlp")
    train.add_argument("--latent-dim", type=_positive_int, default=20)
    train.add_argument("--hidden-dim", type=_positive_int, default=400)
    train.add_argument("--likelihood", choices=LIKELIHOODS, default="bernoulli")
    train.add_argument("--sigma", type=_positive_float, default=None,
                       help="Gaussian likelihood: fixed observation std (default: learned)")
    train.add_argument("--epochs", type=_positive_int, default=10, help="total epochs (including resumed ones)")
    train.add_argument("--batch-size", type=_positive_int, default=128)
    train.add_argument("--lr", type=_positive_float, default=1e-3, help="Adam learning rate")
    train.add_argument("--beta", type=_nonnegative_float, default=1.0, help="KL weight (1 = the ELBO)")
    train.add_argument("--binarize", choices=BINARIZATIONS, default="dynamic",
                       help="binary targets: a fresh sample per batch (dynamic), one fixed sample "
                            "(static), pixel > 0.5 (threshold), or the grey values (none)")
    train.add_argument("--seed", type=_seed, default=0, help="seeds everything random (0 to 2**63 - 1)")
    train.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    train.add_argument("--output", type=_output_file, default=Path("runs/vae.pt"),
                       help="checkpoint file (its folder is checked for writing before training)")
    group = train.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_true", help="continue the run saved in --output")
    group.add_argument("--force", action="store_true", help="overwrite an existing --output")
    train.add_argument("--progress", choices=PROGRESS_CHOICES, default="auto",
                       help="a progress bar, one line per epoch, or nothing")

    evaluate = commands.add_parser("evaluate", help="test ELBO and importance-sampled log p(x) of a checkpoint",
                                   epilog=EXAMPLES, formatter_class=defaults,
                                   description="Evaluate a checkpoint on the test split the run recorded "
                                   "(binarized the same way); other test data are refused unless "
                                   "--allow-other-test-data is given.")
    evaluate.add_argument("checkpoint", type=_file_path, help="a checkpoint written by 'train'")
    evaluate.add_argument("--samples", type=_positive_int, default=1000,
                          help="importance samples per image for log p(x)")
    evaluate.add_argument("--data", choices=("mnist", "synthetic"), default=None,
                          help="test data (default: what the checkpoint was trained on)")
    evaluate.add_argument("--limit", type=_positive_int, default=None, metavar="N",
                          help="evaluate on the first N test images only")
    evaluate.add_argument("--batch-size", type=_positive_int, default=100)
    evaluate.add_argument("--seed", type=_seed, default=None,
                          help="seeds the binary test sample and z draws (default: the run's own seed)")
    evaluate.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    evaluate.add_argument("--allow-other-test-data", action="store_true",
                          help="score the test split found now even if it is not the one the run recorded "
                               "(every line with a number is then marked)")

    commands.add_parser("info", help="the device, the data source and the versions", epilog=EXAMPLES,
                        formatter_class=_HelpFormatter,
                        description="Print the device training would use, where MNIST would come from "
                        "(without downloading) and the versions of Python, PyTorch, NumPy and vae_lib.")
    return parser
