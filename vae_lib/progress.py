"""How training shows its progress: a bar, one line per epoch, or nothing.

``progress="auto"`` draws a bar (``tqdm.auto``: a widget in a live notebook) when someone is
watching (a terminal or a notebook) and prints one line per epoch elsewhere. The environment
variable ``VAE_LIB_PROGRESS`` (``auto``, ``bar``, ``lines`` or ``none``) decides for ``"auto"``
and turns ``"bar"`` into the quieter mode it names: the book build sets it to ``lines`` so
executed pages get no widgets or ``\\r`` spam.

>>> display = ProgressDisplay("lines", total_epochs=10, n_batches=469)
>>> display.epoch_end({"epoch": 3, "train_elbo": -104.2, "train_reconstruction": -79.0,
...                    "train_kl": 25.2, "seconds": 4.1}, batches_done_total=3 * 469)
epoch  3/10  train ELBO -104.2  KL 25.2  4.1 s
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
#: Lines mode prints at most about this many epoch lines: a run of hundreds of short epochs (the
#: bundled subset takes as many optimizer steps as full MNIST) prints every k-th epoch and the last.
MAX_EPOCH_LINES = 25


def format_epoch(record: Mapping[str, Any], total_epochs: int, test_name: str = "test") -> str:
    """One line for an epoch, e.g. ``epoch  3/10  train ELBO -104.2  test ELBO -105.1  KL 25.0  4.1 s``.

    The KL shown is the test split's when there are test data (the reconstruction term is the
    ELBO plus the KL). ``test_name`` names the test split as its source does: ``"held-out"`` for
    the bundled subset's held-out images, which are not the official test set. The line fits a
    book page's output box (76 characters) even for hundreds of epochs.

    >>> format_epoch({"epoch": 3, "train_elbo": -104.2, "train_reconstruction": -79.0,
    ...               "train_kl": 25.2, "seconds": 4.1}, 10)
    'epoch  3/10  train ELBO -104.2  KL 25.2  4.1 s'
    >>> format_epoch({"epoch": 375, "train_elbo": -196.0, "test_elbo": -188.7, "test_reconstruction": -161.1,
    ...               "test_kl": 27.6, "seconds": 11.4}, 375, test_name="held-out")
    'epoch 375/375  train ELBO -196.0  held-out ELBO -188.7  KL 27.6  11.4 s'
    """
    width = len(str(total_epochs))
    parts = [f"epoch {record['epoch']:>{width}}/{total_epochs}", f"train ELBO {record['train_elbo']:.1f}"]
    split = "train"
    if record.get("test_elbo") is not None:
        parts.append(f"{test_name} ELBO {record['test_elbo']:.1f}")
        split = "test"
    parts.append(f"KL {record[f'{split}_kl']:.1f}")
    parts.append(f"{record['seconds']:.1f} s")
    return "  ".join(parts)


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
        test_name: what the test split is called (see :func:`format_epoch`).

    >>> ProgressDisplay("none", total_epochs=2, n_batches=5).note("Resuming from run.pt")
    Resuming from run.pt
    >>> [e for e in range(1, 376) if ProgressDisplay("lines", 375, 16).shows_epoch(e)][:3]
    [15, 30, 45]
    """

    def __init__(self, mode: str, total_epochs: int, n_batches: int, test_name: str = "test"):
        self.mode = mode
        self.test_name = test_name
        self.total_epochs = total_epochs
        self.n_batches = n_batches
        self.bar = None
        self._next_refresh = 0.0
        self._shown = 0  # batches counted on the bar, from the start of the run
        self._told_thinning = False

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

    @property
    def epochs_per_line(self) -> int:
        """Lines mode shows every k-th epoch (and the last), so that a run prints at most about
        :data:`MAX_EPOCH_LINES` lines."""
        return max(1, -(-self.total_epochs // MAX_EPOCH_LINES))

    def shows_epoch(self, epoch: int) -> bool:
        """Whether lines mode prints the line of ``epoch`` (1-based)."""
        return epoch % self.epochs_per_line == 0 or epoch == self.total_epochs

    def epoch_end(self, record: Mapping[str, Any], batches_done_total: int) -> None:
        """Show the line of a finished epoch (above the bar, or printed in lines mode)."""
        line = format_epoch(record, self.total_epochs, self.test_name)
        if self.bar is not None:
            self.refresh(record["epoch"] - 1, batches_done_total, record["train_elbo"])
            self.bar.write(line, file=sys.stdout)
        elif self.mode == "lines" and self.shows_epoch(record["epoch"]):
            if not self._told_thinning and self.epochs_per_line > 1:
                print(f"(one line every {self.epochs_per_line} epochs of {self.total_epochs}; "
                      "the history records them all)", flush=True)
                self._told_thinning = True
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
