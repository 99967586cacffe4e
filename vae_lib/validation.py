"""Small argument checks shared by the modules (each keeps its own error message)."""

from __future__ import annotations


def is_positive_int(value: object) -> bool:
    """True for a whole number >= 1 given as an ``int`` (``True``, ``2.0`` and ``"3"`` do not count).

    >>> [is_positive_int(v) for v in (1, 20, 0, -3, True, 2.0, "3")]
    [True, True, False, False, False, False, False]
    """
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1
