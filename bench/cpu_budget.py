"""Benchmark: which batch size and learning rate give the best VAE in the CPU chapter's time budget?

Prints ONE JSON object to stdout (everything else goes to stderr). See bench/README.md.

    VAE_LIB_DATA=/path/to/mnist python bench/cpu_budget.py > bench/results/cpu_budget_cpu_2core.json
    python bench/cpu_budget.py --quick          # a smoke run: 10,000 images, 10 s per setting

Every setting trains the chapter's model (the 784-400-20 MLP VAE of vae_lib.recipes, dynamically
binarized MNIST, seed 0) for the same wall-clock budget, as the chapter pays it: training, the
test ELBO after every epoch and the checkpoint. The settings take turns one epoch at a time
(each continues its run from a checkpoint, which is exact), so load from other programs hits
them alike. A setting's result is its test ELBO after the last epoch that ended within the
budget; the PyTorch example's setting (batch 128, lr 1e-3) runs in the same process as the
reference. The winner's batch size, learning rate and number of epochs are what
vae_lib.recipes.CPU_SETTINGS should say (tests/test_recipes.py checks it).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

import vae_lib
from train_speed import MAX_EPOCH_SPREAD, OtherLoad, busy_machine_reasons, spread
from vae_lib import recipes
from vae_lib._sampling import derived_seed
from vae_lib.data import load_mnist_splits, mnist_sources
from vae_lib.device import describe_device
from vae_lib.models import build_vae
from vae_lib.train import fit

DEFAULT = (128, 1e-3)  # the PyTorch example's batch size and learning rate: the reference
BATCH_SIZES = (64, 128, 256, 512)
LEARNING_RATES = (1e-3, 3e-3)
QUICK = {"images": (10_000, 2_000), "budget": 10.0, "batch_sizes": (128, 256), "lrs": (1e-3, 3e-3)}


@dataclass
class Setting:
    """One batch size and learning rate, its model, and its run so far."""

    batch_size: int
    lr: float
    checkpoint: Path
    model: torch.nn.Module = None
    wall_seconds: list = field(default_factory=list)  # per epoch: training + test ELBO + checkpoint
    history: list = field(default_factory=list)

    @property
    def spent(self) -> float:
        return sum(self.wall_seconds)

    def epochs_within(self, budget: float) -> int:
        elapsed, count = 0.0, 0
        for seconds in self.wall_seconds:
            elapsed += seconds
            if elapsed > budget:
                break
            count += 1
        return count


def model_for(seed: int) -> torch.nn.Module:
    """The chapter's model, initialised as vae_lib.model_cache.trained_vae initialises it."""
    config = recipes.mnist_recipe(device="cpu").config
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derived_seed(seed, "init"))
        return build_vae(config)


def train_one_epoch(setting: Setting, train_x, test_x, device, seed: int) -> None:
    epoch = len(setting.history) + 1
    started = time.perf_counter()
    setting.model, history = fit(setting.model, train_x, epochs=epoch, batch_size=setting.batch_size,
                                 lr=setting.lr, binarize="dynamic", seed=seed, device=device, test_data=test_x,
                                 checkpoint=setting.checkpoint, resume=True, progress="none")
    setting.wall_seconds.append(time.perf_counter() - started)
    setting.history = list(history)
    last = history[-1]
    print(f"batch {setting.batch_size:4d}, lr {setting.lr:g}: epoch {epoch} in {setting.wall_seconds[-1]:.1f} s "
          f"(spent {setting.spent:.0f} s), test ELBO {last['test_elbo']:.2f}", file=sys.stderr)


def summary(setting: Setting, budget: float) -> dict:
    epochs = setting.epochs_within(budget)
    reached = setting.history[epochs - 1]["test_elbo"] if epochs else None
    return {
        "batch_size": setting.batch_size,
        "lr": setting.lr,
        "epochs_within_budget": epochs,
        "test_elbo_within_budget": None if reached is None else round(reached, 2),
        "seconds_within_budget": round(sum(setting.wall_seconds[:epochs]), 1),
        "median_epoch_seconds": round(statistics.median(setting.wall_seconds), 2),
        "epoch_seconds": [round(s, 2) for s in setting.wall_seconds],
        "test_elbo_per_epoch": [round(r["test_elbo"], 2) for r in setting.history],
    }


def validity(load: OtherLoad, cpu_count: int, settings: list[Setting]) -> dict:
    """Whether the timings count, by the rules of bench/train_speed.py: a quiet machine, steady epochs."""
    reasons = busy_machine_reasons(load, cpu_count)
    start, others = load.load_average_at_start, load.cores_used_by_others()
    spreads = {f"{s.batch_size}/{s.lr:g}": round(spread(s.wall_seconds), 3) for s in settings if len(s.wall_seconds) > 1}
    unsteady = [name for name, value in spreads.items() if value > MAX_EPOCH_SPREAD]
    if unsteady:
        reasons.append(f"epoch times vary by more than {MAX_EPOCH_SPREAD:.0%} for {', '.join(unsteady)}")
    return {"timings_are_a_result": not reasons, "why_not": reasons,
            "load_average_at_start": None if start is None else round(start, 2),
            "cores_used_by_other_processes": None if others is None else round(others, 3),
            "epoch_spread": spreads}


def machine() -> str:
    """The CPU model (Linux), else what platform says."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=None,
                        help=f"wall-clock seconds of training per setting (default: the chapter's budget, "
                             f"{recipes.CPU_BUDGET_SECONDS:g} s; {QUICK['budget']:g} s with --quick)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=BATCH_SIZES)
    parser.add_argument("--lrs", type=float, nargs="+", default=LEARNING_RATES)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (e.g. 2 to act as a 2-core CPU)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 10,000/2,000 images, 10 s per setting (unless --budget), 4 settings")
    args = parser.parse_args(argv)
    if args.quick:
        args.batch_sizes, args.lrs = QUICK["batch_sizes"], QUICK["lrs"]
    if args.budget is None:
        args.budget = QUICK["budget"] if args.quick else recipes.CPU_BUDGET_SECONDS
    return args


def run(args) -> dict:
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cpu")  # the budget is the CPU chapter's
    train_source, test_source = mnist_sources()
    (train_x, _), (test_x, _) = load_mnist_splits()
    if args.quick:
        train_x, test_x = train_x[:QUICK["images"][0]], test_x[:QUICK["images"][1]]
    grid = sorted({(b, lr) for b in args.batch_sizes for lr in args.lrs} | {DEFAULT})
    load = OtherLoad().__enter__()
    with tempfile.TemporaryDirectory() as folder:
        settings = [Setting(b, lr, Path(folder) / f"b{b}-lr{lr:g}.pt", model_for(args.seed)) for b, lr in grid]
        while True:
            waiting = [s for s in settings if s.spent <= args.budget]
            if not waiting:
                break
            for setting in waiting:  # one epoch each, in turn
                train_one_epoch(setting, train_x, test_x, device, args.seed)
    load.__exit__(None, None, None)
    results = [summary(s, args.budget) for s in settings]
    return {
        "benchmark": "cpu_budget",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "device": describe_device(device),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "vae_lib_version": vae_lib.__version__,
        "python": platform.python_version(),
        "quick": bool(args.quick),
        "validity": validity(load, os.cpu_count() or 1, settings),
        "data": f"{train_source.describe()}; {test_source.describe()}" + (" (quick: first 10,000 / 2,000)" if args.quick else ""),
        "n_train": len(train_x),
        "n_test": len(test_x),
        "model": recipes.mnist_recipe(device="cpu").describe().split(",")[0],
        "binarize": "dynamic",
        "seed": args.seed,
        "budget_seconds": args.budget,
        "budget_counts": "wall-clock time per epoch: training, the test ELBO after the epoch and the checkpoint",
        "units": "test ELBO in nats per image, one z sample per image, on one seeded binary sample of the test set",
        "settings": results,
        **winner_and_reference(results),
    }


def winner_and_reference(results: list[dict]) -> dict:
    """The reference setting's result, and the setting with the best test ELBO within the budget."""
    reference = next(r for r in results if (r["batch_size"], r["lr"]) == DEFAULT)
    scored = [r for r in results if r["test_elbo_within_budget"] is not None]
    if not scored:
        raise RuntimeError("No setting finished an epoch within the budget: give a larger --budget.")
    best = max(scored, key=lambda r: r["test_elbo_within_budget"])
    beats = (None if reference["test_elbo_within_budget"] is None
             else round(best["test_elbo_within_budget"] - reference["test_elbo_within_budget"], 2))
    return {
        "reference": {key: reference[key] for key in ("batch_size", "lr", "epochs_within_budget",
                                                     "test_elbo_within_budget")},
        "winner": {"settings": {"epochs": best["epochs_within_budget"], "batch_size": best["batch_size"],
                                "lr": best["lr"]},
                   "test_elbo_within_budget": best["test_elbo_within_budget"],
                   "beats_reference_by_nats": beats},
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    with contextlib.redirect_stdout(sys.stderr):  # keep stdout for the one JSON object
        result = run(args)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
