"""The MNIST chapters also run offline: with no MNIST files and no network they train on the
bundled subset, say so, check themselves against that subset's expected values, and train their
main model as long as on full MNIST.

CI's book build uses the full MNIST; this test runs chapters 9-11 the way a reader without a
network does (``VAE_LIB_OFFLINE=1``, an empty cache), one after the other in one cache, as the
book runs them (chapter 10 loads chapter 9's model).
"""

from __future__ import annotations

import time
from pathlib import Path

import jupytext
import numpy as np
import pytest
from nbclient import NotebookClient

from vae_lib import data, recipes

CHAPTERS_DIR = Path(__file__).resolve().parents[1] / "chapters"
MNIST_CHAPTERS = ("09_training_mnist", "10_latent_space", "11_beyond")
#: The main model has finished learning when, over the last tenth of its epochs, its held-out
#: ELBO rises by less than this per epoch (nats; an epoch of the bundled subset is 16 steps).
#: Trained with the steps of 25 epochs of full MNIST, it rose 0.001-0.002 nats per epoch at the
#: end; with the unscaled 25 epochs of 4,000 images (400 steps) it rose 1.2 nats per epoch.
STILL_LEARNING_NATS_PER_EPOCH = 0.02
#: ... and it has not overfitted either: its last held-out ELBO is within this of its best (nats).
PAST_ITS_BEST_NATS = 1.0


def _printed(notebook) -> str:
    """Everything the executed notebook's code cells printed or displayed as text."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append("".join(output.get("text", "")))
            parts.append("".join(output.get("data", {}).get("text/plain", "")))
            parts.append("".join(output.get("data", {}).get("text/markdown", "")))
    return "\n".join(parts)


def improvement_per_epoch_at_the_end(history, key: str = "test_elbo", share: float = 0.1) -> float:
    """Least-squares slope of ``key`` over the last ``share`` of the epochs (at least 5): nats per epoch.

    >>> round(improvement_per_epoch_at_the_end([{"test_elbo": -100.0 + 0.5 * e} for e in range(20)]), 6)
    0.5
    """
    values = np.array([record[key] for record in history], dtype=float)
    last = max(5, round(share * len(values)))
    if len(values) < last:
        raise ValueError(f"need at least {last} epochs to measure the end of a run, got {len(values)}")
    return float(np.polyfit(np.arange(last), values[-last:], 1)[0])


def test_the_end_of_a_run_is_measured_by_a_fitted_slope():
    still_learning = [{"test_elbo": -130.0 + 1.2 * e} for e in range(25)]
    converged = [{"test_elbo": -108.7 + 0.1 * (-1) ** e} for e in range(375)]
    assert improvement_per_epoch_at_the_end(still_learning) == pytest.approx(1.2)
    assert abs(improvement_per_epoch_at_the_end(converged)) < STILL_LEARNING_NATS_PER_EPOCH
    with pytest.raises(ValueError, match="at least 5 epochs"):
        improvement_per_epoch_at_the_end(still_learning[:3])


@pytest.mark.slow
def test_the_mnist_chapters_run_offline_on_the_bundled_subset(tmp_path, monkeypatch):
    monkeypatch.delenv("VAE_LIB_DATA", raising=False)
    monkeypatch.setenv("VAE_LIB_OFFLINE", "1")
    monkeypatch.setenv("VAE_LIB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("VAE_LIB_PROGRESS", "lines")
    for name in MNIST_CHAPTERS:
        notebook = jupytext.read(CHAPTERS_DIR / f"{name}.md")
        started = time.perf_counter()
        NotebookClient(notebook, timeout=900, kernel_name="python3",
                       resources={"metadata": {"path": str(CHAPTERS_DIR)}}).execute()
        print(f"{name} executed offline in {time.perf_counter() - started:.0f} s")  # for a report, not a check
        printed = _printed(notebook)
        assert "bundled subset" in printed, f"{name} does not say that it used the bundled subset"
        assert "OUTSIDE the tolerance" not in printed, name
        if name != "11_beyond":
            assert "within the tolerance" in printed, f"{name} did not check itself against vae_lib.expected"

    # The main model of the chapters, as chapter 9 trained it: from the cache, with its history.
    n_train = len(data.load_mnist("train", verbose=False)[0])
    history = recipes.mnist_recipe(n_train=n_train).train(progress="none").history  # loaded, not trained
    rising = improvement_per_epoch_at_the_end(history)
    best = max(record["test_elbo"] for record in history)
    assert rising < STILL_LEARNING_NATS_PER_EPOCH, (
        f"the main model was still learning at the end of its {len(history)} epochs: its held-out ELBO rose "
        f"{rising:.3f} nats per epoch over the last tenth (allowed: {STILL_LEARNING_NATS_PER_EPOCH})")
    assert history[-1]["test_elbo"] > best - PAST_ITS_BEST_NATS, "the main model overfitted its 4,000 images"
