"""The MNIST chapters also run offline: with no MNIST files and no network they train on the
bundled subset, say so, and check themselves against that subset's expected values.

CI's book build uses the full MNIST; this test runs chapters 9-11 the way a reader without a
network does (``VAE_LIB_OFFLINE=1``, an empty cache), one after the other in one cache, as the
book runs them (chapter 10 loads chapter 9's model).
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import pytest
from nbclient import NotebookClient

CHAPTERS_DIR = Path(__file__).resolve().parents[1] / "chapters"
MNIST_CHAPTERS = ("09_training_mnist", "10_latent_space", "11_beyond")


def _printed(notebook) -> str:
    """Everything the executed notebook's code cells printed or displayed as text."""
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append("".join(output.get("text", "")))
            parts.append("".join(output.get("data", {}).get("text/plain", "")))
            parts.append("".join(output.get("data", {}).get("text/markdown", "")))
    return "\n".join(parts)


@pytest.mark.slow
def test_the_mnist_chapters_run_offline_on_the_bundled_subset(tmp_path, monkeypatch):
    monkeypatch.delenv("VAE_LIB_DATA", raising=False)
    monkeypatch.setenv("VAE_LIB_OFFLINE", "1")
    monkeypatch.setenv("VAE_LIB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("VAE_LIB_PROGRESS", "lines")
    for name in MNIST_CHAPTERS:
        notebook = jupytext.read(CHAPTERS_DIR / f"{name}.md")
        NotebookClient(notebook, timeout=900, kernel_name="python3",
                       resources={"metadata": {"path": str(CHAPTERS_DIR)}}).execute()
        printed = _printed(notebook)
        assert "bundled subset" in printed, f"{name} does not say that it used the bundled subset"
        assert "OUTSIDE the tolerance" not in printed, name
        if name != "11_beyond":
            assert "within the tolerance" in printed, f"{name} did not check itself against vae_lib.expected"
