"""Benchmark: how good is the book's default VAE on full MNIST? Test ELBO and log p(x).

Prints ONE JSON object to stdout (everything else goes to stderr). See bench/README.md.

    VAE_LIB_DATA=/path/to/mnist python bench/quality.py --epochs 10 --k 1000
    python bench/quality.py --quick                     # a smoke run: 1 epoch, 500 test images, k = 100

It trains (or loads from the cache, see vae_lib.model_cache.trained_vae) the default 784-400-20 MLP
VAE twice and evaluates each on the MNIST test set:

- "grey": trained and scored on the grey levels as Bernoulli targets, like the PyTorch
  example (its test loss after 10 epochs is about 105.6 nats). With non-binary targets the
  "likelihood" is not a normalised density, so log p(x) here is a score, not a probability.
- "dynamic_binarized": trained on a fresh binary sample of each batch and scored on one
  seeded binary sample of the test set: a proper Bernoulli likelihood, comparable with the
  literature (a VAE reaches 86.76 nats in Burda et al. 2015, with two 200-unit layers,
  50 latents and thousands of epochs; expect a few nats worse after 10 epochs).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import sys
import time

import torch

import vae_lib
from vae_lib.data import load_mnist, mnist_source
from vae_lib.device import describe_device, pick_device
from vae_lib.evaluate import log_px, test_elbo
from vae_lib.model_cache import trained_vae

REFERENCE_VALUES = {
    "pytorch_example_grey_test_loss_after_10_epochs_nats": 105.6,
    "burda_2015_vae_test_nll_nats": 86.76,
    "burda_2015_setup": "VAE, 1 stochastic layer (50 latents, two deterministic layers of 200 tanh units), "
                        "dynamically binarized MNIST, 3,280 epochs, NLL by importance sampling with k = 5000",
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--k", type=int, default=1000, help="importance samples per test image for log p(x)")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N test images")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--retrain", action="store_true", help="train again even if a cached model exists")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 epoch, 500 test images, k = 100")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.k, args.limit = min(args.epochs, 1), min(args.k, 100), min(args.limit or 500, 500)
    return args


def train_and_score(args, binarize: str | None, test_images: torch.Tensor, device: torch.device) -> dict:
    printed = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(printed):
        model, history = trained_vae(epochs=args.epochs, data="mnist", binarize=binarize, seed=args.seed,
                                     device=device, progress="lines", retrain=args.retrain)
    print(printed.getvalue(), end="", file=sys.stderr)
    obtained_seconds = time.perf_counter() - started
    # Scored as fit scored its test set: one seeded binary sample for a binarized model.
    elbo = test_elbo(model, test_images, binarize=binarize, seed=args.seed)
    started = time.perf_counter()
    likelihood = log_px(model, test_images, k=args.k, binarize=binarize, seed=args.seed)
    scoring_seconds = time.perf_counter() - started
    print(f"{binarize or 'grey'}: test ELBO {elbo['elbo']:.2f}, log p(x) {likelihood.mean:.2f}", file=sys.stderr)
    return {
        "binarize": binarize or "none",
        "loaded_from_cache": "Loaded the trained VAE from the cache" in printed.getvalue(),
        "training_seconds": round(sum(history.column("seconds")), 1),
        "train_or_load_seconds": round(obtained_seconds, 1),
        "test_elbo": round(elbo["elbo"], 2),
        "test_loss": round(-elbo["elbo"], 2),
        "test_reconstruction": round(elbo["reconstruction"], 2),
        "test_kl": round(elbo["kl"], 2),
        "elbo_bits_per_dim": round(elbo["bits_per_dim"], 4),
        "log_px": round(likelihood.mean, 2),
        "log_px_standard_error": round(likelihood.mean_standard_error, 3),
        "nll": round(-likelihood.mean, 2),
        "nll_bits_per_dim": round(likelihood.bits_per_dim, 4),
        "mean_ess": round(likelihood.mean_ess, 1),
        "iwae_gap_nats": round(likelihood.mean - elbo["elbo"], 2),
        "log_px_seconds": round(scoring_seconds, 1),
    }


def run(args) -> dict:
    device = pick_device(args.device)
    print(describe_device(args.device), file=sys.stderr)
    test_images, _ = load_mnist("test")
    if args.limit:
        test_images = test_images[: args.limit]
    results = {name: train_and_score(args, binarize, test_images, device)
               for name, binarize in (("grey", None), ("dynamic_binarized", "dynamic"))}
    return {
        "benchmark": "quality",
        "device": describe_device(args.device),
        "torch": torch.__version__,
        "vae_lib_version": vae_lib.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "data": mnist_source("train").describe(),
        "model": "784-400-20 MLP VAE, Bernoulli likelihood (vae_lib.models.VAEConfig() defaults)",
        "training": {"epochs": args.epochs, "batch_size": 128, "lr": 1e-3, "seed": args.seed},
        "n_test": len(test_images),
        "k": args.k,
        "units": "nats per image (log-likelihoods summed over 784 pixels, averaged over images)",
        **results,
        "reference_values": REFERENCE_VALUES,
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    with contextlib.redirect_stdout(sys.stderr):  # keep stdout for the one JSON object
        result = run(args)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
