"""What happened in training: :class:`History`, one dict per completed epoch.

:func:`~vae_lib.train.fit` returns one, and checkpoints keep one (as a plain list of dicts).
It lives in a module of its own because both :mod:`vae_lib.train` and
:mod:`vae_lib.checkpoints` hand it out, and the training loop saves checkpoints.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from vae_lib.progress import format_epoch

__all__ = ["History", "name_of_test_split"]


def name_of_test_split(metadata: Mapping | None) -> str:
    """What a run's test split is called in every line that shows its numbers: ``"held-out"`` for the
    bundled subset's held-out images (they come from the official *training* set), else ``"test"``.

    ``metadata`` is what the run recorded (``{"data_source": {"test": {"kind": ...}}}``).

    >>> name_of_test_split({"data_source": {"test": {"kind": "bundled"}}}), name_of_test_split(None)
    ('held-out', 'test')
    """
    sources = (metadata or {}).get("data_source") if isinstance(metadata, Mapping) else None
    test = sources.get("test") if isinstance(sources, Mapping) else None
    return "held-out" if isinstance(test, Mapping) and test.get("kind") == "bundled" else "test"


class History(list):
    """What happened in training: a list with one dict per completed epoch.

    Each dict has ``epoch`` (1-based); ``train_elbo``, ``train_reconstruction`` and
    ``train_kl`` (nats per image, averaged over the epoch's batches as the model learned);
    ``seconds`` (training time of that epoch, evaluation excluded); and ``test_elbo``,
    ``test_reconstruction``, ``test_kl`` when test data were given (one z sample per image,
    at the end of the epoch). ``test_name`` is what the test split is called when printed
    (``"held-out"`` for the bundled subset's, see :func:`name_of_test_split`).

    >>> h = History([{"epoch": 1, "train_elbo": -120.0}, {"epoch": 2, "train_elbo": -110.0}])
    >>> h.as_columns()["train_elbo"]
    [-120.0, -110.0]
    >>> h.column("epoch")
    [1, 2]
    """

    def __init__(self, records: Iterable[dict] = (), test_name: str = "test"):
        super().__init__(records)
        self.test_name = test_name

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
        return "\n".join(format_epoch(record, total, self.test_name) for record in self)
