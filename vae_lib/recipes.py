"""The book's MNIST VAE recipes: what to train on a GPU and on a 2-core CPU, from one piece of code.

The chapters on training a VAE on MNIST and on exploring its latent space use the same trained
models: they ask for them by recipe, and :func:`vae_lib.model_cache.trained_vae` trains each
one once and caches it. A recipe is the model configuration plus the training settings.

On a GPU the chapters train the full configuration; on a CPU a configuration chosen by
measurement (``bench/cpu_budget.py``) to finish in about two minutes on two cores: the
benchmark trains several batch sizes and learning rates for :data:`CPU_BUDGET_SECONDS` each,
and :data:`CPU_SETTINGS` copies its winner (a test checks that they agree). The chapter on
training a VAE on MNIST reads the committed result with :func:`cpu_budget_result`.

A recipe's epochs are epochs of full MNIST (60,000 images). On a smaller training set, such as
the 4,000 images of the bundled offline subset, :meth:`Recipe.scaled_to` (and ``n_train`` of
:func:`mnist_recipe`) scales them so that the run takes as many optimizer steps: the same
recipe then trains as long on any data, instead of fifteen times less on the subset.

>>> recipe = mnist_recipe(device="cpu")
>>> recipe.config.latent_dim, recipe.device_kind, recipe.epochs
(20, 'cpu', 25)
>>> mnist_recipe(device="cpu", latent_dim=2).config.latent_dim
2
>>> mnist_recipe(device="cpu", n_train=4_000).epochs   # the bundled subset: 15 times the epochs
375
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import statistics
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from vae_lib.data import bernoulli_sample
from vae_lib.device import pick_device
from vae_lib.model_cache import trained_vae
from vae_lib.models import VAE, VAEConfig
from vae_lib.train import FitResult

__all__ = ["Recipe", "mnist_recipe", "GPU_SETTINGS", "CPU_SETTINGS", "CPU_BUDGET_SECONDS", "cpu_budget_result",
           "cpu_budget_summary", "cpu_budget_table", "epochs_for_steps", "seconds_per_step", "FULL_MNIST_TRAIN"]

#: A GPU trains the PyTorch example's configuration (784-400-20, ReLU, Adam at 1e-3, batch 128)
#: for long enough to be close to converged. (Kingma & Welling's own MNIST model had 500 tanh
#: hidden units and was trained with Adagrad.)
GPU_SETTINGS = {"epochs": 50, "batch_size": 128, "lr": 1e-3}
#: A 2-core CPU trains for about two minutes, with the batch size and learning rate that
#: reached the best test ELBO in that time: the winner of bench/cpu_budget.py, whose result
#: is committed as :data:`CPU_BUDGET_RESULT`.
CPU_SETTINGS = {"epochs": 25, "batch_size": 256, "lr": 1e-3}
#: The CPU chapter's training budget in seconds (wall clock on a quiet 2-core CPU, per-epoch
#: evaluation included): what bench/cpu_budget.py gives every setting.
CPU_BUDGET_SECONDS = 120.0
#: The committed result of bench/cpu_budget.py (in the repository, not in an installed package).
CPU_BUDGET_RESULT = Path(__file__).resolve().parents[1] / "bench" / "results" / "cpu_budget_cpu_2core.json"


@dataclass(frozen=True)
class Recipe:
    """A model configuration and how to train it (dynamically binarized MNIST by default).

    Attributes:
        config: the architecture (:class:`~vae_lib.models.VAEConfig`).
        epochs, batch_size, lr, beta, binarize, seed: the training settings, as in
            :func:`~vae_lib.train.fit`.
        device_kind: ``"cuda"``, ``"mps"`` or ``"cpu"``: the kind of device the recipe is for.
    """

    config: VAEConfig
    epochs: int
    batch_size: int
    lr: float
    beta: float = 1.0
    binarize: str = "dynamic"
    seed: int = 0
    device_kind: str = "cpu"

    def settings(self) -> dict:
        """The training settings as keyword arguments of ``trained_vae`` / ``fit``."""
        return {"epochs": self.epochs, "batch_size": self.batch_size, "lr": self.lr, "beta": self.beta,
                "binarize": self.binarize, "seed": self.seed}

    def replace(self, **changes) -> Recipe:
        """A copy with some settings changed, e.g. ``recipe.replace(beta=4.0)``."""
        return dataclasses.replace(self, **changes)

    def scaled_to(self, n_train: int) -> Recipe:
        """This recipe for a training set of ``n_train`` images: as many optimizer steps as its epochs on full MNIST.

        >>> mnist_recipe(device="cpu").scaled_to(4_000).epochs, mnist_recipe(device="cpu").scaled_to(60_000).epochs
        (375, 25)
        """
        return self.replace(epochs=epochs_for_steps(self.epochs, n_train))

    def optimizer_steps(self, n_train: int) -> int:
        """How many optimizer steps the run takes on ``n_train`` images (the last batch of an epoch may be smaller).

        >>> mnist_recipe(device="cpu").optimizer_steps(60_000)   # 25 epochs of 235 batches of 256
        5875
        """
        return self.epochs * math.ceil(n_train / self.batch_size)

    def train(self, *, device: str | torch.device | None = "auto", progress: str | bool = "auto",
              data: str = "mnist") -> FitResult:
        """The trained model: from the cache, or trained (and cached) the first time."""
        return trained_vae(self.config, data=data, device=device, progress=progress, **self.settings())

    def describe(self) -> str:
        """One line for the page, e.g. ``784-400-20 MLP VAE, 20 epochs of batch 128, lr 0.001, ...``."""
        config = self.config
        return (f"{config.pixels}-{config.hidden_dim}-{config.latent_dim} {config.architecture.upper()} VAE "
                f"({config.likelihood} likelihood), {self.epochs} epochs, batch size {self.batch_size}, "
                f"Adam lr {self.lr:g}, beta {self.beta:g}, {self.binarize} binarization, seed {self.seed}")


def mnist_recipe(device: str | torch.device | None = "auto", *, latent_dim: int = 20,
                 hidden_dim: int = 400, n_train: int | None = None) -> Recipe:
    """The recipe for this machine: the full one on a GPU, the two-minute one on a CPU.

    Args:
        device: the device that will train (``"auto"`` picks CUDA, then MPS, then the CPU).
        latent_dim: the size of z (20 for good digits, 2 for pictures of the latent space).
        hidden_dim: the width of the hidden layers.
        n_train: the number of training images the run will see (``None``: full MNIST's 60,000).
            On fewer images the epochs are scaled up to keep the optimizer steps
            (:meth:`Recipe.scaled_to`).
    """
    kind = pick_device(device).type
    settings = CPU_SETTINGS if kind == "cpu" else GPU_SETTINGS
    config = VAEConfig(latent_dim=latent_dim, hidden_dim=hidden_dim)
    recipe = Recipe(config, device_kind=kind, **settings)
    return recipe if n_train is None else recipe.scaled_to(n_train)


#: The number of images in the official MNIST training set.
FULL_MNIST_TRAIN = 60_000


def epochs_for_steps(epochs_on_full_mnist: int, n_train: int) -> int:
    """Epochs that give a run on ``n_train`` images as many optimizer steps as ``epochs_on_full_mnist`` on full MNIST.

    Every run is measured in *steps*: on the 4,000 images of the bundled offline subset, an
    epoch is fifteen times fewer steps than on full MNIST, so the recipes' epochs would train
    fifteen times less. Scaling the epochs keeps runs on different data comparable.

    >>> epochs_for_steps(3, 60_000), epochs_for_steps(3, 4_000), epochs_for_steps(3, 200_000)
    (3, 45, 1)
    """
    if epochs_on_full_mnist < 1 or n_train < 1:
        raise ValueError(f"epochs_on_full_mnist and n_train must be at least 1, got {epochs_on_full_mnist} and {n_train}.")
    return max(1, round(epochs_on_full_mnist * FULL_MNIST_TRAIN / n_train))


def cpu_budget_result(path: str | Path = CPU_BUDGET_RESULT) -> dict:
    """The committed result of ``bench/cpu_budget.py``: every setting's test ELBO within the budget, the winner.

    Args:
        path: the JSON file (default: :data:`CPU_BUDGET_RESULT`, in the repository's bench/results).

    >>> sorted(cpu_budget_result()["winner"]["settings"])
    ['batch_size', 'epochs', 'lr']
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No benchmark result at {path}: run `python bench/cpu_budget.py > {path}` "
                                "from the repository (the file is not part of an installed package).")
    return json.loads(path.read_text())


def seconds_per_step(model: VAE, images: torch.Tensor, batch_size: int, *, lr: float = 1e-3, samples: int = 1,
                     steps: int = 15) -> float:
    """Median wall-clock seconds of one optimizer step (forward, backward, Adam) of a copy of ``model``.

    The copy trains on the first ``batch_size`` images (binarized once), so ``model`` is left
    as it is. Three warm-up steps are not counted. Times on a busy machine are longer; the
    median resists a few slow steps.

    Args:
        model: a :class:`~vae_lib.models.VAE` (its device is used).
        images: ``[N, 1, 28, 28]`` in [0, 1], with ``N >= batch_size``.
        batch_size: images per step.
        lr: Adam's learning rate (it does not change the time).
        samples: z samples per image (the ``L`` of the ELBO estimate).
        steps: timed steps.

    >>> from vae_lib.models import VAE
    >>> seconds_per_step(VAE(latent_dim=2, hidden_dim=8), torch.rand(4, 1, 28, 28), 4, steps=2) > 0
    True
    """
    if len(images) < batch_size:
        raise ValueError(f"seconds_per_step needs at least batch_size={batch_size} images, got {len(images)}.")
    trial = copy.deepcopy(model).train()
    optimizer = torch.optim.Adam(trial.parameters(), lr=lr)
    x = bernoulli_sample(images[:batch_size].to(trial.device), torch.Generator().manual_seed(0))
    times = []
    for _ in range(steps + 3):
        started = time.perf_counter()
        loss = -trial.elbo(x, samples=samples, validate=False).elbo.mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss.detach().item()  # wait for the device
        times.append(time.perf_counter() - started)
    return statistics.median(times[3:])


def cpu_budget_summary(result: dict, width: int = 76) -> str:
    """What the committed ``bench/cpu_budget.py`` result says, as lines of at most ``width`` characters.

    When, where and how it was measured; whether its timings count; the best setting and its
    lead over the PyTorch example's; and, when the timings do not count, why the ranking holds.

    >>> print(cpu_budget_summary(cpu_budget_result()).splitlines()[0])  # doctest: +ELLIPSIS
    measured ... on ..., 2 thread(s), torch ...
    """
    fill = dict(width=width, break_long_words=False, break_on_hyphens=False)
    validity = result["validity"]
    lines = [f"measured {result['date'][:10]} on {result['machine']}, {result['threads']} thread(s), "
             f"torch {result['torch']}",
             f"{result['budget_seconds']:g} s per setting, {result['n_train']:,} training images",
             f"timings count as a result: {validity['timings_are_a_result']}"]
    for reason in validity["why_not"]:
        lines.append(textwrap.fill(f"not counted: {reason}", initial_indent="  ", subsequent_indent="    ", **fill))
    best, reference = result["winner"]["settings"], result["reference"]
    lines.append(textwrap.fill(
        f"best: batch {best['batch_size']}, lr {best['lr']:g}, {best['epochs']} epochs; it beats the PyTorch "
        f"example's batch {reference['batch_size']}, lr {reference['lr']:g} by "
        f"{result['winner']['beats_reference_by_nats']:.2f} nats in the same time.", **fill))
    if result["quick"]:
        lines.append(textwrap.fill("This committed result is a quick smoke run: the CPU recipe keeps its settings "
                                   "until a full run on a quiet 2-core machine replaces it.", **fill))
    elif not validity["timings_are_a_result"]:
        lines.append(textwrap.fill(
            "The epoch times were not steady enough for the seconds themselves to count as a speed result. "
            "The settings took turns epoch by epoch, so whatever slowed the machine slowed them alike and the "
            "comparison holds; but an epoch more or less within the budget moves a result by about a tenth "
            "of a nat, so settings a few tenths apart are a tie.", **fill))
    return "\n".join(lines)


def cpu_budget_table(result: dict) -> str:
    """The settings of the committed ``bench/cpu_budget.py`` result as a Markdown table.

    >>> cpu_budget_table(cpu_budget_result()).splitlines()[0]
    '| batch size | learning rate | epochs in the budget | test ELBO reached |'
    """
    rows = ["| batch size | learning rate | epochs in the budget | test ELBO reached |", "| --- | --- | --- | --- |"]
    for s in result["settings"]:
        rows.append(f"| {s['batch_size']} | {s['lr']:g} | {s['epochs_within_budget']} "
                    f"| {s['test_elbo_within_budget']:.2f} |")
    return "\n".join(rows)
