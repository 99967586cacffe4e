"""The command line: ``python -m vae_lib train | evaluate | info`` (also installed as ``vae-lib``).

Run ``python -m vae_lib --help`` (or ``python -m vae_lib train --help``) for the options.
Mistakes in the arguments or files end with exit code 2 and a one-line message; a diverged
training or a lack of memory, with exit code 1 and a one-line message; Ctrl-C, with exit code
130 and a one-line message (training saves first). Output piped into a command that stops
reading (``| head -1``) ends the command quietly, with exit code 141 as a SIGPIPE would.

``evaluate`` scores the test split the run was tested on: a checkpoint records where its data
came from (``metadata["data_source"]``), and evaluating on other test data is refused unless
``--allow-other-test-data`` is given, which then marks every line with a number.
"""

# The imports are at the top: the parser (vae_lib._cli_parser) needs choices defined next to
# torch code, so torch is imported either way, and importing vae_lib's modules inside the
# functions saved nothing measurable (torch is ~95% of the import time).

from __future__ import annotations

import errno
import math
import os
import platform
import re
import sys
from collections.abc import Mapping

import numpy
import torch

import vae_lib
from vae_lib._cli_parser import EXAMPLES, EXIT_USAGE, build_parser  # noqa: F401 (EXAMPLES: for the tests)
from vae_lib._output_lock import holding
from vae_lib.checkpoints import SaveInterrupted, check_writable, load_checkpoint
from vae_lib.data import MnistDataError, MnistSource, load_source, mnist_report, mnist_source
from vae_lib.device import describe_device, pick_device
from vae_lib.evaluate import log_px, test_elbo
from vae_lib.model_cache import _data_choice  # the one definition of a run's data, shared with trained_vae
from vae_lib.models import VAEConfig, build_vae
from vae_lib.paths import cache_dir
from vae_lib.train import TrainingDiverged, fit

EXIT_DIVERGED = 1  # also: out of memory
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what a shell reports for a command whose reader went away
#: The mark on every line of results computed on other test data than the run's (--allow-other-test-data).
OTHER_DATA_MARK = "[NOT the run's test data]"


class UsageError(Exception):
    """A mistake in the command's arguments or files: reported in one line, exit code 2."""


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
    check_writable(args.output)  # now, not at the first save after a whole epoch
    with holding(args.output):  # from the start: a second run on the same --output is refused at once
        if args.output.exists() and not (args.resume or args.force):
            raise UsageError(f"{args.output} exists: pass --resume to continue that run, --force to start "
                             "again over it, or choose another --output.")
        return _train_holding_the_output(args)


def _train_holding_the_output(args) -> int:
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
    print(f"Checkpoint {args.checkpoint}: {_describe_config(state['config'])}; trained {_trained(state)} "
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


def _trained(state: Mapping) -> str:
    """How much a checkpoint was trained: ``3 epochs``, or ``1 epoch and 5 of 8 batches of epoch 2
    (stopped mid-epoch ...)`` for a run that Ctrl-C stopped inside an epoch."""
    epoch, batch = state["epoch"], (state.get("position") or {}).get("batch", 0)
    done = f"{epoch} epoch{'s' if epoch != 1 else ''}"
    if not batch:
        return done
    training, data = state.get("training") or {}, state.get("data") or {}
    if training.get("batch_size") and data.get("n_images"):
        batch = f"{batch} of {math.ceil(data['n_images'] / training['batch_size'])}"
    return (f"{done} and {batch} batches of epoch {epoch + 1} (stopped mid-epoch; train --resume finishes it, "
            "and these numbers are those of the model as it stopped)")


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
    except BrokenPipeError:  # the reader of our output went away (`| head -1`): nothing is wrong here
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt as err:  # fit saves on the first Ctrl-C itself; this one came elsewhere
        print(f"{prefix}: {_one_line(err) if isinstance(err, SaveInterrupted) else _interrupted(args.command)}",
              file=sys.stderr)
        return EXIT_INTERRUPTED
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
    then = " (--resume continues from the last saved epoch)" if command == "train" else ""
    if err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)) and len(err.args) < 2:
        return then and f"{then}."  # vae_lib's "Disk full" message says what to do; add how to go on
    if len(err.args) < 2:
        return ""
    return f". Check the path, its permissions and the free disk space, then run again{then}."


def _interrupted(command: str) -> str:
    if command == "train":
        return "interrupted (Ctrl-C) before training began; nothing was written."
    return "interrupted (Ctrl-C)."


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's final flush of it finds no broken pipe either."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real stdout (captured by a test, a notebook)
        pass


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


if __name__ == "__main__":
    sys.exit(main())
