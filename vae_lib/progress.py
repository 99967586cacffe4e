"""How training shows its progress: a bar, one line per epoch, or nothing.

``progress="auto"`` draws a bar (``tqdm.auto``: a widget in a live notebook) when someone is
watching (a terminal or a notebook) and prints one line per epoch elsewhere. The environment
variable ``VAE_LIB_PROGRESS`` (``auto``, ``bar``, ``lines`` or ``none``) decides for ``"auto"``
and turns ``"bar"`` into the quieter mode it names: the book build sets it to ``lines`` so
executed pages get no widgets or ``\\r`` spam.

>>> display = ProgressDisplay("lines", total_epochs=10, n_batches=469)
>>> display.epoch_end({"epoch": 3, "train_elbo": -104.2, "train_reconstruction": -79.0,
...                    "train_kl": 25.2, "seconds": 4.1}, batches_done_total=3 * 469)
epoch  3/10  train ELBO -104.2 (recon -79.0, KL 25.2) 4.1 s
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from typing import Any

from tqdm.auto import tqdm  # imported at the top: it costs under a millisecond once torch is loaded

__all__ = ["BAR_REFRESH_SECONDS", "PROGRESS_CHOICES", "PROGRESS_ENV", "ProgressDisplay", "format_epoch",
           "progress_mode"]

PROGRESS_ENV = "VAE_LIB_PROGRESS"
PROGRESS_CHOICES = ("auto", "bar", "lines", "none")
#: Seconds between progress-bar refreshes; each refresh waits for the device once.
BAR_REFRESH_SECONDS = 0.5


def format_epoch(record: Mapping[str, Any], total_epochs: int) -> str:
    """One line for an epoch, e.g. ``epoch  3/10  train ELBO -104.2  test -105.1 (recon -80.1, KL 25.0) 4.1 s``.

    The reconstruction and KL shown are the test ones (in the parentheses after the test ELBO)
    when there are test data. The line is short enough for a book page's output box (about 76
    characters) even for hundreds of epochs.

    >>> format_epoch({"epoch": 3, "train_elbo": -104.2, "train_reconstruction": -79.0,
    ...               "train_kl": 25.2, "seconds": 4.1}, 10)
    'epoch  3/10  train ELBO -104.2 (recon -79.0, KL 25.2) 4.1 s'
    """
    width = len(str(total_epochs))
    line = f"epoch {record['epoch']:>{width}}/{total_epochs}  train ELBO {record['train_elbo']:.1f}"
    split = "train"
    if record.get("test_elbo") is not None:
        line += f"  test {record['test_elbo']:.1f}"
        split = "test"
    line += f" (recon {record[f'{split}_reconstruction']:.1f}, KL {record[f'{split}_kl']:.1f})"
    return f"{line} {record['seconds']:.1f} s"


def progress_mode(progress: str | bool | None) -> str:
    """Resolve ``progress`` against the environment: ``"bar"``, ``"lines"`` or ``"none"``.

    Args:
        progress: ``"auto"``/``True``, ``"bar"``, ``"lines"``, or ``"none"``/``False``/``None``.

    >>> progress_mode("none"), progress_mode(False)
    ('none', 'none')
    """
    if progress is True:
        progress = "auto"
    elif progress is False or progress is None:
        progress = "none"
    if progress not in PROGRESS_CHOICES:
        raise ValueError(f"progress must be one of {', '.join(map(repr, PROGRESS_CHOICES))}, got {progress!r}.")
    forced = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if forced and forced not in PROGRESS_CHOICES:
        raise ValueError(
            f"The environment variable {PROGRESS_ENV}={forced!r} is not one of "
            f"{', '.join(PROGRESS_CHOICES)}; fix or unset it."
        )
    if progress == "auto":
        if forced and forced != "auto":
            return forced
        return "bar" if _in_notebook() or _is_terminal(sys.stderr) else "lines"
    if progress == "bar" and forced in ("lines", "none"):
        return forced
    return progress


def _in_notebook() -> bool:
    """True inside a Jupyter kernel (where tqdm.auto draws a widget)."""
    ipython = sys.modules.get("IPython") if "ipykernel" in sys.modules else None  # a kernel has loaded both
    shell = None if ipython is None else ipython.get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def _is_terminal(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class ProgressDisplay:
    """The three display modes behind one interface: a bar, one line per epoch, or nothing.

    Args:
        mode: ``"bar"``, ``"lines"`` or ``"none"`` (see :func:`progress_mode`).
        total_epochs: the epochs of the whole run (shown as ``epoch 3/10``).
        n_batches: batches per epoch (the bar counts batches).

    >>> ProgressDisplay("none", total_epochs=2, n_batches=5).note("Resuming from run.pt")
    Resuming from run.pt
    """

    def __init__(self, mode: str, total_epochs: int, n_batches: int):
        self.mode = mode
        self.total_epochs = total_epochs
        self.n_batches = n_batches
        self.bar = None
        self._next_refresh = 0.0
        self._shown = 0  # batches counted on the bar, from the start of the run

    def start(self, epoch: int, batch: int) -> None:
        """Open the bar (bar mode) for the batches still to run, from ``epoch`` (0-based) and ``batch``."""
        if self.mode != "bar":
            return
        self._shown = epoch * self.n_batches + batch
        remaining = max(0, self.total_epochs * self.n_batches - self._shown)
        self.bar = tqdm(total=remaining, unit="batch", dynamic_ncols=True, desc=self._desc(epoch), leave=True)

    def _desc(self, epoch: int) -> str:
        return f"epoch {epoch + 1}/{self.total_epochs}"

    def due(self) -> bool:
        """True when the bar should be refreshed now (a refresh waits for the device)."""
        return self.bar is not None and time.perf_counter() >= self._next_refresh

    def refresh(self, epoch: int, batches_done_total: int, running_elbo: float) -> None:
        """Move the bar to ``batches_done_total`` and show the running ELBO."""
        self.bar.set_description(self._desc(epoch), refresh=False)
        self.bar.set_postfix_str(f"ELBO {running_elbo:.1f}", refresh=False)
        self.bar.update(batches_done_total - self._shown)
        self._shown = batches_done_total
        self._next_refresh = time.perf_counter() + BAR_REFRESH_SECONDS

    def epoch_end(self, record: Mapping[str, Any], batches_done_total: int) -> None:
        """Show the line of a finished epoch (above the bar, or printed in lines mode)."""
        line = format_epoch(record, self.total_epochs)
        if self.bar is not None:
            self.refresh(record["epoch"] - 1, batches_done_total, record["train_elbo"])
            self.bar.write(line, file=sys.stdout)
        elif self.mode == "lines":
            print(line, flush=True)

    def note(self, message: str) -> None:
        """Show a message that matters (interrupted, resumed) in every mode."""
        if self.bar is not None:
            self.bar.write(message, file=sys.stdout)
        else:
            print(message, flush=True)

    def close(self) -> None:
        """Close the bar, if one is open."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
