"""The book's MNIST VAE recipes: what to train on a GPU and on a 2-core CPU, from one piece of code.

The chapters on training a VAE on MNIST and on exploring its latent space use the same trained
models: they ask for them by recipe, and :func:`vae_lib.model_cache.trained_vae` trains each
one once and caches it. A recipe is the model configuration plus the training settings.

On a GPU the chapters train the full configuration; on a CPU a configuration chosen by
measurement (``bench/cpu_budget.py``) to finish in about two minutes on two cores: the
benchmark trains several batch sizes and learning rates for :data:`CPU_BUDGET_SECONDS` each,
and :data:`CPU_SETTINGS` copies its winner (a test checks that they agree). The chapter on
training a VAE on MNIST reads the committed result with :func:`cpu_budget_result`.

>>> recipe = mnist_recipe(device="cpu")
>>> recipe.config.latent_dim, recipe.device_kind
(20, 'cpu')
>>> mnist_recipe(device="cpu", latent_dim=2).config.latent_dim
2
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import torch

from vae_lib.device import pick_device
from vae_lib.model_cache import trained_vae
from vae_lib.models import VAEConfig
from vae_lib.train import FitResult

__all__ = ["Recipe", "mnist_recipe", "GPU_SETTINGS", "CPU_SETTINGS", "CPU_BUDGET_SECONDS", "cpu_budget_result",
           "epochs_for_steps", "FULL_MNIST_TRAIN"]

#: A GPU trains the configuration of Kingma & Welling (2013) and the PyTorch example for long
#: enough to be close to converged.
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
                 hidden_dim: int = 400) -> Recipe:
    """The recipe for this machine: the full one on a GPU, the two-minute one on a CPU.

    Args:
        device: the device that will train (``"auto"`` picks CUDA, then MPS, then the CPU).
        latent_dim: the size of z (20 for good digits, 2 for pictures of the latent space).
        hidden_dim: the width of the hidden layers.
    """
    kind = pick_device(device).type
    settings = CPU_SETTINGS if kind == "cpu" else GPU_SETTINGS
    config = VAEConfig(latent_dim=latent_dim, hidden_dim=hidden_dim)
    return Recipe(config, device_kind=kind, **settings)


#: The number of images in the official MNIST training set.
FULL_MNIST_TRAIN = 60_000


def epochs_for_steps(epochs_on_full_mnist: int, n_train: int) -> int:
    """Epochs that give a run on ``n_train`` images as many optimizer steps as ``epochs_on_full_mnist`` on full MNIST.

    Short runs (a few epochs, as in the chapter on the latent space) are short in *steps*: on the
    4,000 images of the bundled offline subset, three epochs are fifteen times fewer steps than
    on full MNIST, too few to train anything. Scaling the epochs keeps the runs comparable.

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
