"""Ctrl-C during training, made safe (private): the first one stops at the next batch boundary.

Used by :func:`vae_lib.train.fit`, which then saves the checkpoint and returns what there is.
"""

from __future__ import annotations

import signal
import threading


class DeferredInterrupt:
    """Turn the first Ctrl-C into a request to stop at the next batch boundary.

    A KeyboardInterrupt raised in the middle of an optimizer step could leave half the
    weights updated; deferring it keeps every checkpoint resumable exactly. A second Ctrl-C
    raises at once. Only installed from the main thread over Python's default handler (the
    one Jupyter uses while a cell runs); elsewhere Ctrl-C simply raises as usual.
    """

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def __enter__(self) -> DeferredInterrupt:
        if threading.current_thread() is threading.main_thread() and (
            signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc_info) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
