"""Measure the rows of vae_lib.expected: what each of the book's MNIST recipes reaches.

Prints ONE JSON object to stdout (progress goes to stderr): one row per recipe, with the test
ELBO, the KL term, log p(x) by importance sampling (the protocol of vae_lib.expected for the
device) and the number of active units, on the data the environment provides:

    VAE_LIB_DATA=/path/to/mnist python bench/expected_values.py            # the "full" rows
    VAE_LIB_OFFLINE=1 VAE_LIB_CACHE=$(mktemp -d) python bench/expected_values.py   # the "bundled" rows
    ... python bench/expected_values.py --seeds 0 1 2    # also the spread over seeds (the tolerances)

Models come from the model cache (vae_lib.model_cache.trained_vae), so recipes a chapter has
already trained are only loaded. Copy the printed rows of seed 0 into vae_lib/expected.py, and
cite the printed spread over seeds where expected.TOLERANCES are justified.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import platform
import sys
import time

import torch

from vae_lib import data, evaluate, expected, recipes
from vae_lib.device import describe_device, pick_device

#: The recipes the chapters train on a CPU: (name, changes to the 20-D recipe). All epochs are
#: epochs of full MNIST: on other data they become as many optimizer steps
#: (vae_lib.recipes.Recipe.scaled_to), as the chapters train them.
BOOK_RECIPES = {
    "20-D (chapters 9-11)": {},
    "2-D (chapter 10)": {"latent_dim": 2, "epochs": 5},
    "20-D, beta 0.25 (chapter 10)": {"beta": 0.25, "epochs": 3},
    "20-D, beta 1 (chapter 10)": {"beta": 1.0, "epochs": 3},
    "20-D, beta 8 (chapter 10)": {"beta": 8.0, "epochs": 3},
}


def recipe_for(device: str, changes: dict, n_train: int = recipes.FULL_MNIST_TRAIN, seed: int = 0) -> recipes.Recipe:
    """The recipe ``changes`` describes, for a training set of ``n_train`` images."""
    changes = dict(changes)
    latent_dim = changes.pop("latent_dim", 20)
    recipe = recipes.mnist_recipe(device, latent_dim=latent_dim).replace(seed=seed, **changes)
    return recipe.scaled_to(n_train)


def active_units(model, images: torch.Tensor) -> int:
    """Latent dimensions whose posterior mean varies across the images (Burda et al., 2016)."""
    with torch.no_grad():
        mu, _ = model.encode(data.binarize(images, "dynamic", seed=0).to(model.device))
    return int((mu.var(0) > expected.ACTIVE_UNIT_THRESHOLD).sum())


def measure(name: str, recipe: recipes.Recipe, test_images: torch.Tensor, data_kind: str) -> dict:
    started = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):
        model, history = recipe.train(progress="lines")
    protocol = expected.LOG_PX_PROTOCOL[recipe.device_kind]
    scored = test_images[:protocol["images"]]
    log_px = evaluate.log_px(model, scored, k=protocol["k"], binarize=recipe.binarize, seed=recipe.seed)
    last = history[-1]
    row = {"name": name, "recipe": expected.recipe_fields(recipe), "data": data_kind,
           "test_elbo": round(last["test_elbo"], 2), "log_px": round(log_px.mean, 2), "kl": round(last["test_kl"], 2),
           "active_units": active_units(model, test_images), "log_px_k": protocol["k"],
           "log_px_images": len(scored), "seconds": round(time.perf_counter() - started, 1)}
    print(json.dumps(row), file=sys.stderr)
    return row


def spread_over_seeds(rows: list[dict]) -> dict:
    """For each recipe measured with several seeds: the largest minus the smallest value of each quantity."""
    by_name: dict[str, list[dict]] = {}
    for row in rows:
        by_name.setdefault(row["name"], []).append(row)
    spread = {}
    for name, group in by_name.items():
        if len(group) < 2:
            continue
        spread[name] = {"seeds": [row["recipe"]["seed"] for row in group]}
        for quantity in expected.QUANTITIES:
            values = [row[quantity] for row in group]
            spread[name][quantity] = {"values": values, "range": round(max(values) - min(values), 2)}
    return spread


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--only", nargs="*", default=None, help="names of BOOK_RECIPES to measure (default: all)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (1 is faster on a crowded machine)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0],
                        help="training seeds (the book's rows use 0; more seeds measure the spread the tolerances allow for)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    train_source, test_source = data.mnist_sources()
    with contextlib.redirect_stdout(sys.stderr):
        test_images, _ = data.load_source(test_source)
        n_train = len(data.load_source(train_source)[0])
    kind = expected.data_kind(train_source)
    names = args.only or list(BOOK_RECIPES)
    rows = [measure(name, recipe_for(device.type, BOOK_RECIPES[name], n_train, seed), test_images, kind)
            for seed in args.seeds for name in names]
    print(json.dumps({
        "benchmark": "expected_values",
        "date": datetime.date.today().isoformat(),
        "device": describe_device(args.device),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "data": f"{train_source.describe()}; {test_source.describe()}",
        "rows": rows,
        "spread_over_seeds": spread_over_seeds(rows),
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
