"""vae_lib.recipes: one piece of code gives the GPU and the CPU configuration; a recipe trains through the cache."""

from __future__ import annotations

import pytest
import torch

from vae_lib import recipes
from vae_lib.models import VAE, VAEConfig


def test_cpu_and_gpu_recipes_come_from_the_same_code(monkeypatch):
    cpu = recipes.mnist_recipe(device="cpu")
    assert cpu.device_kind == "cpu" and cpu.settings()["epochs"] == recipes.CPU_SETTINGS["epochs"]
    monkeypatch.setattr(recipes, "pick_device", lambda device: torch.device("cuda"))
    gpu = recipes.mnist_recipe(device="cuda")
    assert gpu.device_kind == "cuda" and gpu.settings()["epochs"] == recipes.GPU_SETTINGS["epochs"]
    assert gpu.config == cpu.config == VAEConfig(latent_dim=20, hidden_dim=400)


def test_describe_states_every_setting():
    text = recipes.mnist_recipe(device="cpu", latent_dim=2).describe()
    for part in ("784-400-2 MLP VAE", "bernoulli", "epochs", "batch size", "lr", "beta 1", "dynamic", "seed 0"):
        assert part in text


def test_replace_and_train_go_through_trained_vae(monkeypatch):
    calls = []
    monkeypatch.setattr(recipes, "trained_vae", lambda config, **kwargs: calls.append((config, kwargs)) or "model")
    recipe = recipes.mnist_recipe(device="cpu").replace(beta=4.0, epochs=1)
    assert recipe.train(device="cpu", progress="none", data="synthetic") == "model"
    config, kwargs = calls[0]
    assert config.latent_dim == 20 and kwargs["beta"] == 4.0 and kwargs["epochs"] == 1
    assert kwargs["data"] == "synthetic" and kwargs["binarize"] == "dynamic"


def test_a_tiny_recipe_really_trains_and_caches():
    recipe = recipes.Recipe(VAEConfig(latent_dim=2, hidden_dim=8), epochs=1, batch_size=256, lr=1e-3)
    first = recipe.train(device="cpu", progress="none", data="synthetic")
    second = recipe.train(device="cpu", progress="none", data="synthetic")
    assert len(first.history) == 1
    assert second.history[-1]["test_elbo"] == pytest.approx(first.history[-1]["test_elbo"])


# ----------------------------------------------------------------------------- the CPU settings are measured


def test_the_committed_benchmark_result_is_complete():
    result = recipes.cpu_budget_result()
    assert result["benchmark"] == "cpu_budget" and result["budget_seconds"] > 0
    for key in ("date", "machine", "threads", "validity", "settings", "reference", "winner", "quick"):
        assert key in result, key
    assert set(result["winner"]["settings"]) == set(recipes.CPU_SETTINGS)
    reference = [s for s in result["settings"] if (s["batch_size"], s["lr"]) == (128, 1e-3)]
    assert len(reference) == 1, "the PyTorch example's setting runs in the same benchmark as the reference"
    best = max(s["test_elbo_within_budget"] for s in result["settings"] if s["test_elbo_within_budget"] is not None)
    assert result["winner"]["test_elbo_within_budget"] == best


def test_cpu_settings_are_the_winner_of_the_committed_benchmark_run():
    result = recipes.cpu_budget_result()
    if result["quick"]:
        pytest.skip("bench/results/cpu_budget_cpu_2core.json is a --quick smoke run: run bench/cpu_budget.py on "
                    "a quiet 2-core machine, commit its JSON and copy its winner into recipes.CPU_SETTINGS")
    assert recipes.CPU_SETTINGS == result["winner"]["settings"]
    assert recipes.CPU_BUDGET_SECONDS == result["budget_seconds"]


def test_a_missing_result_file_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="run `python bench/cpu_budget.py >"):
        recipes.cpu_budget_result(tmp_path / "nothing.json")


# ----------------------------------------------------------------------------- short runs on smaller data


def test_short_runs_keep_their_optimizer_steps_on_smaller_data():
    assert recipes.epochs_for_steps(5, recipes.FULL_MNIST_TRAIN) == 5
    assert recipes.epochs_for_steps(3, 4_000) == 45  # the bundled subset: 15 times fewer images
    full_steps = 3 * recipes.FULL_MNIST_TRAIN
    assert abs(recipes.epochs_for_steps(3, 7_000) * 7_000 - full_steps) <= 7_000 / 2


@pytest.mark.parametrize("epochs, n_train", [(0, 100), (3, 0)])
def test_short_runs_need_positive_sizes(epochs, n_train):
    with pytest.raises(ValueError, match="at least 1"):
        recipes.epochs_for_steps(epochs, n_train)


def test_a_recipe_keeps_its_optimizer_steps_on_any_data():
    """The same recipe trains as long on the bundled subset (4,000 images) as on full MNIST: in steps, not epochs."""
    recipe = recipes.mnist_recipe(device="cpu")
    on_full = recipe.optimizer_steps(recipes.FULL_MNIST_TRAIN)
    for n_train in (4_000, 7_000, 60_000):
        scaled = recipes.mnist_recipe(device="cpu", n_train=n_train)
        assert scaled == recipe.scaled_to(n_train) and scaled.replace(epochs=recipe.epochs) == recipe
        assert abs(scaled.optimizer_steps(n_train) - on_full) / on_full < 0.05, n_train
    assert recipes.mnist_recipe(device="cpu", n_train=recipes.FULL_MNIST_TRAIN) == recipe
    assert recipe.optimizer_steps(4_000) == recipe.epochs * 16  # 15 full batches of 256 and one of 160


def test_seconds_per_step_times_a_copy_and_leaves_the_model_alone():
    vae = VAE(VAEConfig(latent_dim=2, hidden_dim=8))
    before = {name: p.clone() for name, p in vae.state_dict().items()}
    images = torch.rand(8, 1, 28, 28)
    seconds = recipes.seconds_per_step(vae, images, 8, steps=2, samples=2)
    assert seconds > 0
    assert all((before[name] == p).all() for name, p in vae.state_dict().items())
    with pytest.raises(ValueError, match="at least batch_size=16 images"):
        recipes.seconds_per_step(vae, images, 16)


def test_the_budget_summary_fits_a_page_and_states_the_winner():
    result = recipes.cpu_budget_result()
    summary = recipes.cpu_budget_summary(result)
    assert all(len(line) <= 76 for line in summary.splitlines())
    best = result["winner"]["settings"]
    assert f"best: batch {best['batch_size']}, lr {best['lr']:g}, {best['epochs']} epochs" in summary
    assert f"{result['winner']['beats_reference_by_nats']:.2f} nats" in summary
    table = recipes.cpu_budget_table(result).splitlines()
    assert len(table) == 2 + len(result["settings"])
