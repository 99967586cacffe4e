"""The command line: ``python -m vae_lib train | evaluate | info`` (also installed as ``vae-lib``).

Run ``python -m vae_lib --help`` (or ``python -m vae_lib train --help``) for the options.
Mistakes in the arguments or files end with exit code 2 and a one-line message.
"""

from __future__ import annotations

import argparse
import math
import platform
import sys
from pathlib import Path

EXAMPLES = """\
examples:
  python -m vae_lib info
  python -m vae_lib train --data mnist --latent-dim 20 --epochs 10 --output runs/vae.pt
  python -m vae_lib train --data mnist --epochs 20 --output runs/vae.pt --resume   # 10 more epochs
  python -m vae_lib train --data synthetic --latent-dim 2 --hidden-dim 64 --epochs 3 --output /tmp/toy.pt
  python -m vae_lib evaluate runs/vae.pt --samples 1000

Losses are in nats per image (log-likelihoods summed over the 784 pixels, averaged over
images); bits/dim divides by 784 ln 2. Ctrl-C during training saves the checkpoint; run the
same command with --resume to continue exactly where it stopped.
"""

EXIT_USAGE = 2
EXIT_DIVERGED = 1
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A mistake in the command's arguments or files: reported in one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, but argument errors print one line (and the hint to use --help), exit code 2."""

    def error(self, message: str):  # noqa: D401 - argparse's hook
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


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


def _positive_float(text: str) -> float:
    return _finite_float(text, allow_zero=False)


def _nonnegative_float(text: str) -> float:
    return _finite_float(text, allow_zero=True)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m vae_lib`` (exposed for the docs and the tests)."""
    from vae_lib.models import ARCHITECTURES, LIKELIHOODS
    from vae_lib.progress import PROGRESS_CHOICES
    from vae_lib.train import BINARIZE_CHOICES

    parser = _Parser(
        prog="python -m vae_lib",
        description="Train and evaluate the variational autoencoders of the VAE book.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True
    defaults = argparse.ArgumentDefaultsHelpFormatter

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
    train.add_argument("--binarize", choices=BINARIZE_CHOICES, default="dynamic",
                       help="binary targets: a fresh sample per batch (dynamic), one fixed sample "
                            "(static), or the grey values (none)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")
    train.add_argument("--output", type=Path, default=Path("runs/vae.pt"), help="checkpoint file")
    group = train.add_mutually_exclusive_group()
    group.add_argument("--resume", action="store_true", help="continue the run saved in --output")
    group.add_argument("--force", action="store_true", help="overwrite an existing --output")
    train.add_argument("--progress", choices=PROGRESS_CHOICES, default="auto",
                       help="a progress bar, one line per epoch, or nothing")

    evaluate = commands.add_parser("evaluate", help="test ELBO and importance-sampled log p(x) of a checkpoint",
                                   epilog=EXAMPLES, formatter_class=defaults,
                                   description="Evaluate a checkpoint on the test split of the data it was "
                                   "trained on (binarized the same way).")
    evaluate.add_argument("checkpoint", type=Path, help="a checkpoint written by 'train'")
    evaluate.add_argument("--samples", type=_positive_int, default=1000,
                          help="importance samples per image for log p(x)")
    evaluate.add_argument("--data", choices=("mnist", "synthetic"), default=None,
                          help="test data (default: what the checkpoint was trained on)")
    evaluate.add_argument("--limit", type=_positive_int, default=None, metavar="N",
                          help="evaluate on the first N test images only")
    evaluate.add_argument("--batch-size", type=_positive_int, default=100)
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps")

    commands.add_parser("info", help="the device, the data source and the versions", epilog=EXAMPLES,
                        formatter_class=argparse.RawDescriptionHelpFormatter,
                        description="Print the device training would use, where MNIST would come from "
                        "(without downloading) and the versions of Python, PyTorch, NumPy and vae_lib.")
    return parser


# --------------------------------------------------------------------------- commands


def _device(name: str):
    from vae_lib.device import describe_device, pick_device

    try:
        device = pick_device(name)
    except (ValueError, RuntimeError) as err:
        raise UsageError(str(err)) from None
    print(describe_device(name))
    return device


def _load(data: str, split: str, limit: int | None):
    """Images of one split of the named data, cut to ``limit``."""
    from vae_lib.data import load_mnist, synthetic_digits
    from vae_lib.model_cache import SYNTHETIC_SIZES

    if data == "mnist":
        images = load_mnist(split)[0]
    else:
        size = SYNTHETIC_SIZES[0 if split == "train" else 1]
        images = synthetic_digits(size, seed=0 if split == "train" else 1)[0]
        print(f"Synthetic digits {split}: {size} images (vae_lib.data.synthetic_digits)")
    return images if limit is None else images[:limit]


def _train(args) -> int:
    from vae_lib.models import VAEConfig, build_vae
    from vae_lib.train import fit

    if args.output.exists() and not (args.resume or args.force):
        raise UsageError(f"{args.output} exists: pass --resume to continue that run, --force to start "
                         "again over it, or choose another --output.")
    if args.output.is_dir():
        raise UsageError(f"--output {args.output} is a folder; give a file name such as {args.output / 'vae.pt'}.")
    config = VAEConfig(latent_dim=args.latent_dim, hidden_dim=args.hidden_dim, architecture=args.architecture,
                       likelihood=args.likelihood, sigma=args.sigma)
    device = _device(args.device)
    train_images = _load(args.data, "train", args.limit)
    test_images = _load(args.data, "test", None)
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(args.seed)
        model = build_vae(config)
    print(f"Model: {_describe_config(config.to_dict())}; {sum(p.numel() for p in model.parameters()):,} parameters")
    result = fit(model, train_images, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                 device=device, seed=args.seed, test_data=test_images, beta=args.beta,
                 binarize=args.binarize, checkpoint=args.output, resume=args.resume, progress=args.progress,
                 metadata={"data": args.data, "limit": args.limit})
    if result.interrupted:
        return EXIT_INTERRUPTED
    print(f"Saved the checkpoint to {args.output}")
    return 0


def _describe_config(config: dict) -> str:
    text = (f"{config['architecture']} VAE, latent_dim {config['latent_dim']}, hidden_dim {config['hidden_dim']}, "
            f"{config['likelihood']} likelihood")
    if config.get("sigma") is not None:
        text += f" (sigma {config['sigma']:g})"
    return text


def _evaluate(args) -> int:
    import torch

    from vae_lib.data import dynamic_binarize
    from vae_lib.checkpoints import load_checkpoint
    from vae_lib.evaluate import log_px, test_elbo

    device = _device(args.device)
    model, state = load_checkpoint(args.checkpoint, device=device)
    metadata = state.get("metadata") or {}
    training = state.get("training") or {}
    data = args.data or metadata.get("data") or "mnist"
    binarize = training.get("binarize", "none")
    print(f"Checkpoint {args.checkpoint}: {_describe_config(state['config'])}; trained {state['epoch']} epochs "
          f"on {metadata.get('data', 'unknown data')} (binarize {binarize})")
    images = _load(data, "test", args.limit)
    if binarize != "none":  # score binary images, as the model was trained on (one seeded sample)
        images = dynamic_binarize(images, generator=torch.Generator().manual_seed(args.seed))
    elbo = test_elbo(model, images, batch_size=max(args.batch_size, 500), seed=args.seed)
    print(f"Test ELBO: {elbo['elbo']:.2f} nats/image ({elbo['bits_per_dim']:.4f} bits/dim); "
          f"reconstruction {elbo['reconstruction']:.2f}, KL {elbo['kl']:.2f} ({elbo['n_images']:,} images)")
    result = log_px(model, images, k=args.samples, batch_size=args.batch_size, seed=args.seed)
    print(f"log p(x) by importance sampling (k={args.samples}): {result.mean:.2f} ± {result.mean_standard_error:.2f} "
          f"nats/image ({result.bits_per_dim:.4f} bits/dim); mean effective sample size "
          f"{result.mean_ess:.1f} of {args.samples}")
    return 0


def _info(args) -> int:
    import numpy
    import torch

    import vae_lib
    from vae_lib.data import MnistDataError, mnist_source
    from vae_lib.paths import cache_dir

    print(f"vae_lib {vae_lib.__version__}  python {platform.python_version()}  torch {torch.__version__}  "
          f"numpy {numpy.__version__}")
    _device("auto")
    try:
        print(mnist_source("train", download=False).describe())
    except MnistDataError as err:
        print(f"MNIST: not available without a download ({str(err).splitlines()[0]})")
    print(f"Cache: {cache_dir(create=False)}")
    return 0


COMMANDS = {"train": _train, "evaluate": _evaluate, "info": _info}


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code.

    >>> main(["info"])  # doctest: +SKIP
    vae_lib 0.1.0  python 3.11.7  torch 2.13.0  numpy 2.4.6
    """
    args = build_parser().parse_args(argv)
    from vae_lib.data import MnistDataError
    from vae_lib.train import TrainingDiverged

    try:
        return COMMANDS[args.command](args)
    except (UsageError, ValueError, FileNotFoundError, MnistDataError) as err:
        # CheckpointError is a ValueError: unreadable or mismatched checkpoints are the user's to fix.
        print(f"python -m vae_lib {args.command}: error: {_one_line(err)}", file=sys.stderr)
        return EXIT_USAGE
    except TrainingDiverged as err:
        print(f"python -m vae_lib {args.command}: {_one_line(err)}", file=sys.stderr)
        return EXIT_DIVERGED


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split()) or type(err).__name__


if __name__ == "__main__":
    sys.exit(main())
