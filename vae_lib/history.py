"""What happened in training: :class:`History`, one dict per completed epoch.

:func:`~vae_lib.train.fit` returns one, and checkpoints keep one (as a plain list of dicts).
It lives in a module of its own because both :mod:`vae_lib.train` and
:mod:`vae_lib.checkpoints` hand it out, and the training loop saves checkpoints.
"""

from __future__ import annotations

from vae_lib.progress import format_epoch

__all__ = ["History"]


class History(list):
    """What happened in training: a list with one dict per completed epoch.

    Each dict has ``epoch`` (1-based); ``train_elbo``, ``train_reconstruction`` and
    ``train_kl`` (nats per image, averaged over the epoch's batches as the model learned);
    ``seconds`` (training time of that epoch, evaluation excluded); and ``test_elbo``,
    ``test_reconstruction``, ``test_kl`` when test data were given (one z sample per image,
    at the end of the epoch).

    >>> h = History([{"epoch": 1, "train_elbo": -120.0}, {"epoch": 2, "train_elbo": -110.0}])
    >>> h.as_columns()["train_elbo"]
    [-120.0, -110.0]
    >>> h.column("epoch")
    [1, 2]
    """

    def column(self, key: str) -> list:
        """The values of one field over the epochs (``None`` where an epoch lacks it)."""
        return [record.get(key) for record in self]

    def as_columns(self) -> dict[str, list]:
        """``{field: [value per epoch]}``: ready for plotting or ``pandas.DataFrame(...)``."""
        keys: dict[str, None] = {}
        for record in self:
            keys.update(dict.fromkeys(record))
        return {key: self.column(key) for key in keys}

    def __str__(self) -> str:
        if not self:
            return "History (no complete epochs)"
        total = self[-1].get("epoch", len(self))
        return "\n".join(format_epoch(record, total) for record in self)
