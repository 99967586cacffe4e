"""The command line: ``python -m vae_lib train | evaluate | info`` (also installed as ``vae-lib``).

Run ``python -m vae_lib --help`` (or ``python -m vae_lib train --help``) for the options.
Mistakes in the arguments or files end with exit code 2 and a one-line message; a diverged
training or a lack of memory, with exit code 1 and a one-line message.

``evaluate`` scores the test split the run was tested on: a checkpoint records where its data
came from (``metadata["data_source"]``), and evaluating on other test data is refused unless
``--allow-other-test-data`` is given, which then marks every line with a number.
"""

# The imports are at the top: building the parser (even for --help) needs the choices defined
# next to torch code (vae_lib.models), so torch is imported either way, and importing vae_lib's
# modules inside the functions saved nothing measurable (torch is ~95% of the import time).

from __future__ import annotations

import argparse
import math
import os
import platform
import re
import sys
from collections.abc import Mapping
from pathlib import Path

import numpy
import torch

import vae_lib
from vae_lib._fit_checks import checked_seed
from vae_lib.checkpoints import check_writable, load_checkpoint
from vae_lib.data import BINARIZATIONS, MnistDataError, MnistSource, load_source, mnist_report, mnist_source
from vae_lib.device import describe_device, pick_device
from vae_lib.evaluate import log_px, test_elbo
from vae_lib.model_cache import _data_choice  # the one definition of a run's data, shared with trained_vae
from vae_lib.models import ARCHITECTURES, LIKELIHOODS, VAEConfig, build_vae
from vae_lib.paths import cache_dir
from vae_lib.progress import PROGRESS_CHOICES
from vae_lib.train import TrainingDiverged, fit

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
EXIT_DIVERGED = 1  # also: out of memory
EXIT_INTERRUPTED = 130
#: The mark on every line of results computed on other test data than the run's (--allow-other-test-data).
OTHER_DATA_MARK = "[NOT the run's test data]"


class UsageError(Exception):
    """A mistake in the command's arguments or files: reported in one line, exit code 2."""


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


def _output_file(text: str) -> Path:
    path = Path(text)
    if text.endswith(("/", os.sep)) or path.is_dir():
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
    evaluate.add_argument("checkpoint", type=Path, help="a checkpoint written by 'train'")
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


# --------------------------------------------------------------------------- commands


def _device(name: str, task: str = "training") -> torch.device:
    try:
        device = pick_device(name)
    except (ValueError, RuntimeError) as err:
        raise UsageError(str(err)) from None
    print(describe_device(name, task=task))
    return device


def _load_run_data(data: str, limit: int | None):
    """The training images (cut to ``limit``) and test images of one run, both from one source, and
    the metadata recording that source (``{"data": ..., "data_source": {"train": ..., "test": ...}}``)."""
    choice = _data_choice(data)
    print(choice.description)
    train_images, test_images = choice.load()
    return (train_images if limit is None else train_images[:limit]), test_images, choice.metadata


def _train(args) -> int:
    if args.output.exists() and not (args.resume or args.force):
        raise UsageError(f"{args.output} exists: pass --resume to continue that run, --force to start "
                         "again over it, or choose another --output.")
    check_writable(args.output)  # now, not at the first save after a whole epoch
    config = VAEConfig(latent_dim=args.latent_dim, hidden_dim=args.hidden_dim, architecture=args.architecture,
                       likelihood=args.likelihood, sigma=args.sigma)
    device = _device(args.device)
    train_images, test_images, data_metadata = _load_run_data(args.data, args.limit)

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(args.seed)
        model = build_vae(config)
    print(f"Model: {_describe_config(config.to_dict())}; {sum(p.numel() for p in model.parameters()):,} parameters")
    result = fit(model, train_images, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                 device=device, seed=args.seed, test_data=test_images, beta=args.beta,
                 binarize=args.binarize, checkpoint=args.output, resume=args.resume, progress=args.progress,
                 metadata={**data_metadata, "limit": args.limit})
    if result.interrupted:
        return EXIT_INTERRUPTED
    if result.new_epochs == 0:
        print(f"Nothing was trained, so {args.output} is unchanged.")
    else:
        print(f"Saved the checkpoint to {args.output}")
    return 0


def _describe_config(config: dict) -> str:
    text = (f"{config['architecture']} VAE, latent_dim {config['latent_dim']}, hidden_dim {config['hidden_dim']}, "
            f"{config['likelihood']} likelihood")
    if config.get("sigma") is not None:
        text += f" (sigma {config['sigma']:g})"
    return text


def _evaluate(args) -> int:
    device = _device(args.device, task="evaluation")
    model, state = load_checkpoint(args.checkpoint, device=device)
    metadata = state.get("metadata") or {}
    training = state.get("training") or {}
    data = args.data or metadata.get("data") or "mnist"
    binarize = training.get("binarize", "none")
    # The run's own seed by default: the same binary test sample and z noise as fit's test ELBO.
    seed = training.get("seed", 0) if args.seed is None else args.seed
    epochs = f"{state['epoch']} epoch{'s' if state['epoch'] != 1 else ''}"
    print(f"Checkpoint {args.checkpoint}: {_describe_config(state['config'])}; trained {epochs} "
          f"on {metadata.get('data', 'unknown data')} (binarize {binarize}, seed {seed})")
    images, source, mark = _test_images(args, data, metadata.get("data_source"))
    caveat = _bits_caveat(state["config"], binarize, source)
    name = "Held-out ELBO (bundled subset, not the official test set)" if source["kind"] == "bundled" else "Test ELBO"
    elbo = test_elbo(model, images, binarize=binarize, seed=seed)
    print(f"{mark}{name}: {elbo['elbo']:.2f} nats/image ({elbo['bits_per_dim']:.4f} bits/dim{caveat}); "
          f"reconstruction {elbo['reconstruction']:.2f}, KL {elbo['kl']:.2f} ({elbo['n_images']:,} images)")
    result = log_px(model, images, k=args.samples, batch_size=args.batch_size, binarize=binarize, seed=seed)
    for line in _log_px_lines(result, caveat):
        print(f"{mark}{line}")
    return 0


def _log_px_lines(result, caveat: str) -> list[str]:
    """The log p(x) result, with what its ± covers (and why there is none for k = 1)."""
    k = result.k
    spread = f" ± {result.mean_standard_error:.2f}" if k > 1 else ""
    first = (f"log p(x) by importance sampling (k={k}): {result.mean:.2f}{spread} nats/image "
             f"({result.bits_per_dim:.4f} bits/dim{caveat}); mean effective sample size {result.mean_ess:.1f} of {k}")
    if k == 1:
        return [first, "  (no standard error with k = 1: one importance weight per image shows no spread; "
                       "use --samples 2 or more)"]
    return [first, "  (± is the Monte Carlo standard error only: the estimate lies below log p(x) by a gap "
                   "it does not include; a low effective sample size warns of a large gap)"]


def _bits_caveat(config: Mapping, binarize: str, source: Mapping) -> str:
    """Why these bits/dim are not comparable with published figures ("" when they are)."""
    if config.get("likelihood") == "gaussian":
        return "; not comparable with published bits/dim: a Gaussian density on pixels that were not dequantised"
    if binarize == "none":
        return "; not comparable with published bits/dim: a Bernoulli likelihood scored on grey levels"
    if source["kind"] == "bundled":
        return "; not comparable with published bits/dim: not the official test set"
    return ""


# --------------------------------------------------------------------------- which test data


#: How a data source is named in messages (the kinds of vae_lib.data.MnistSource, and synthetic digits).
_SOURCE_WORDS = {"directory": "a folder given as root", "env": "the folder in VAE_LIB_DATA", "cache": "the cache",
                 "download": "a download into the cache", "synthetic": "synthetic digits",
                 "bundled": "the bundled subset (images of the official training set)"}


def _test_images(args, data: str, recorded: object):
    """The images to score, the record of their source and the mark for each line of results ("" when none).

    The run's own test split when it can be found (the data found now, or the folder the run
    recorded); else a UsageError, unless ``--allow-other-test-data``.
    """
    now, load_now = _test_split_now(data)
    if not (isinstance(recorded, Mapping) and isinstance(recorded.get("test"), Mapping)):
        print(f"Warning: {args.checkpoint} does not record which data it was trained on (an older run), so the "
              "test images below cannot be checked against its training data.")
        return _first(load_now(), args.limit), now, ""
    run_test = recorded["test"]
    if _same_data(run_test, now):
        return _first(load_now(), args.limit), now, ""
    in_recorded_folder = _test_split_in_recorded_folder(run_test)
    if in_recorded_folder is not None:
        return _first(load_source(in_recorded_folder)[0], args.limit), in_recorded_folder.to_dict(), ""
    if not args.allow_other_test_data:
        raise UsageError(
            f"{args.checkpoint} was tested on {_described(run_test)}, but the test split found now is "
            f"{_described(now)}: its numbers would not be the run's, and may count images it trained on. "
            "Make the run's data findable again (e.g. VAE_LIB_DATA=FOLDER), or pass --allow-other-test-data."
        )
    print(f"{OTHER_DATA_MARK} --allow-other-test-data: scoring {_described(now)}, not the run's test split "
          f"({_described(run_test)}); these numbers may count images the model trained on.")
    return _first(load_now(), args.limit), now, f"{OTHER_DATA_MARK} "


def _first(images, limit: int | None):
    return images if limit is None else images[:limit]


def _test_split_now(data: str):
    """The record of the test split of ``data`` found now, and a loader of exactly those images
    (which prints the line saying what they are)."""
    if data == "synthetic":
        choice = _data_choice("synthetic")
        return choice.sources["test"], lambda: print(choice.sources["test"]["description"]) or choice.load()[1]
    source = mnist_source("test")
    return source.to_dict(), lambda: load_source(source)[0]


def _same_data(recorded: Mapping, now: Mapping) -> bool:
    return recorded.get("fingerprint") is not None and recorded.get("fingerprint") == now.get("fingerprint")


def _test_split_in_recorded_folder(recorded: Mapping) -> MnistSource | None:
    """The run's test split in the folder it recorded, if the same files are still there."""
    folder = recorded.get("location")
    if recorded.get("kind") not in ("directory", "env", "cache", "download") or not folder:
        return None
    try:
        found = mnist_source("test", root=folder, download=False)
    except (MnistDataError, OSError, ValueError):
        return None
    return found if _same_data(recorded, found.to_dict()) else None


def _described(source: Mapping) -> str:
    kind = source.get("kind")
    n_images = source.get("n_images")
    count = f"{n_images:,} images" if isinstance(n_images, int) else "an unknown number of images"
    return f"{_SOURCE_WORDS.get(kind, repr(kind))} ({count}, fingerprint {source.get('fingerprint')})"


def _info(args) -> int:
    print(f"vae_lib {vae_lib.__version__}  python {platform.python_version()}  torch {torch.__version__}  "
          f"numpy {numpy.__version__}")
    _device("auto")
    print(mnist_report())  # looks only: creates, changes, deletes and downloads nothing
    print(f"Cache (downloads and trained models): {cache_dir(create=False)}")
    return 0


COMMANDS = {"train": _train, "evaluate": _evaluate, "info": _info}


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code.

    >>> main(["info"])  # doctest: +SKIP
    vae_lib 0.1.0  python 3.11.7  torch 2.13.0  numpy 2.4.6
    """
    args = build_parser().parse_args(argv)
    prefix = f"python -m vae_lib {args.command}"
    try:
        return COMMANDS[args.command](args)
    except (UsageError, ValueError, FileNotFoundError, MnistDataError) as err:
        # CheckpointError is a ValueError: unreadable or mismatched checkpoints are the user's to fix.
        print(f"{prefix}: error: {_one_line(err)}", file=sys.stderr)
        return EXIT_USAGE
    except TrainingDiverged as err:
        print(f"{prefix}: {_one_line(err)}", file=sys.stderr)
        return EXIT_DIVERGED
    except (MemoryError, RuntimeError) as err:
        if not _out_of_memory(err):
            raise
        smaller = "--hidden-dim, --latent-dim or --batch-size" if args.command == "train" else "--batch-size"
        print(f"{prefix}: error: out of memory ({_memory_detail(err)}): use a smaller {smaller}, or another "
              "--device.", file=sys.stderr)
        return EXIT_DIVERGED
    except OSError as err:  # a folder that cannot be written, a full disk...
        print(f"{prefix}: error: {_one_line(err)}{_os_error_hint(err, args.command)}", file=sys.stderr)
        return EXIT_USAGE


def _out_of_memory(err: BaseException) -> bool:
    """A MemoryError, or torch's allocation failure (a RuntimeError, CUDA's OutOfMemoryError)."""
    text = str(err).lower()
    return isinstance(err, MemoryError) or "can't allocate memory" in text or "out of memory" in text


def _memory_detail(err: BaseException) -> str:
    asked = re.search(r"allocate (\d+) bytes", str(err))
    if asked:
        return f"{int(asked.group(1)) / 2**30:,.1f} GiB asked for at once"
    return " ".join(str(err).split(". ")[0].split())[:100] or type(err).__name__


def _os_error_hint(err: OSError, command: str) -> str:
    """What to do after an OSError whose message is the operating system's own (vae_lib's say it already)."""
    if len(err.args) < 2:
        return ""
    then = " (--resume continues from the last saved epoch)" if command == "train" else ""
    return f". Check the path, its permissions and the free disk space, then run again{then}."


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


if __name__ == "__main__":
    sys.exit(main())
