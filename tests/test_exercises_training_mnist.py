"""Chapter 9's exercises: the chapter states the data its checks use; the checks agree with the library.

The generic properties of every self-check (right answers pass, known mistakes are named, nothing
leaks, the solutions pass) are tested for all chapters in tests/test_checks.py.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import jupytext
import pytest
import torch
from torch.distributions import Normal, kl_divergence

from vae_lib import expected, recipes
from vae_lib.exercises import training_mnist as exercises
from vae_lib.models import VAE

CHAPTER = Path(__file__).resolve().parents[1] / "chapters" / "09_training_mnist.md"
TEXT = CHAPTER.read_text(encoding="utf-8")


def exercise_text(label: str) -> str:
    start = TEXT.index(f":label: {label}")
    return TEXT[start:TEXT.index("```", start)]


def quiet(check, answer):
    with contextlib.redirect_stdout(io.StringIO()):
        return check(answer)


def test_chapter_is_a_notebook_with_the_exercise_module():
    notebook = jupytext.reads(TEXT, fmt="md:myst")
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert "from vae_lib.exercises import training_mnist as exercises" in code
    assert TEXT.count("```{exercise}") == 4


def test_exercise_texts_state_the_module_data():
    parameters = " ".join(exercise_text("ex-mnist-parameters").split())
    assert f"{exercises.PIXELS} pixels" in parameters and f"{exercises.BIG_HIDDEN} units" in parameters
    assert f"{exercises.BIG_LATENT}-dimensional" in parameters
    steps = " ".join(exercise_text("ex-mnist-steps").split())
    assert f"{exercises.N_TRAIN:,} images" in steps and f"batches of {exercises.BATCH_SIZE}" in steps
    assert f"{exercises.EPOCHS} epochs" in steps
    assert f"{exercises.BURDA_NLL_NATS} nats" in exercise_text("ex-mnist-bits")
    kl = exercise_text("ex-mnist-kl")
    as_text = lambda values: "(" + ", ".join(f"{v:g}" for v in values) + ")"  # noqa: E731
    assert f"\\mu = {as_text(exercises.ENCODER_MU)}" in kl
    assert f"\\log\\sigma^2 = {as_text(exercises.ENCODER_LOGVAR)}" in kl
    assert f"{len(exercises.ENCODER_MU)}-dimensional" in kl.replace("three-dimensional", "3-dimensional")


def test_the_literature_value_is_the_one_the_chapter_prints():
    assert expected.LITERATURE["burda2016_vae"]["nll_nats"] == exercises.BURDA_NLL_NATS


def test_the_prose_describes_the_recipe_architecture():
    config = recipes.mnist_recipe(device="cpu").config
    prose = " ".join(TEXT.split())
    assert f"the $D = {config.pixels}$ pixels go through a layer of {config.hidden_dim} units" in prose
    assert f"$d = {config.latent_dim}$" in prose and f"through {config.hidden_dim} ReLU units to {config.pixels}" in prose


def test_parameter_check_counts_the_library_network():
    model = VAE(latent_dim=exercises.BIG_LATENT, hidden_dim=exercises.BIG_HIDDEN)
    assert quiet(exercises.check_parameter_count, sum(p.numel() for p in model.parameters())).correct


def test_kl_check_agrees_with_torch_distributions():
    mu = torch.tensor(exercises.ENCODER_MU, dtype=torch.float64)
    sd = torch.exp(0.5 * torch.tensor(exercises.ENCODER_LOGVAR, dtype=torch.float64))
    assert quiet(exercises.check_closed_form_kl, kl_divergence(Normal(mu, sd), Normal(0.0, 1.0)).sum()).correct


@pytest.mark.parametrize("check", [exercises.check_parameter_count, exercises.check_adam_steps,
                                   exercises.check_bits_per_dim, exercises.check_closed_form_kl])
def test_unknown_wrong_answers_all_get_the_same_reply(check):
    whole = check in (exercises.check_parameter_count, exercises.check_adam_steps)
    replies = {quiet(check, value).message for value in ((7, 12345, 99) if whole else (7, 12345, 0.123, 99.5))}
    assert len(replies) == 1 and next(iter(replies)).startswith("✗ Not quite.")
    assert quiet(check, None).correct is None


def test_the_notes_sigma_slip_is_named():
    mu, logvar = torch.tensor(exercises.ENCODER_MU), torch.tensor(exercises.ENCODER_LOGVAR)
    slip = float(0.5 * (mu**2 + torch.exp(0.5 * logvar) - 1 - logvar).sum())
    assert re.search("σ where the formula has σ²", quiet(exercises.check_closed_form_kl, slip).message)
