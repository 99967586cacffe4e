"""Argument checks the modules share (private: each module keeps its own error message).

>>> from vae_lib._checking import is_positive_int
>>> import numpy as np
>>> [is_positive_int(v) for v in (1, 20, np.int64(3), 0, -3, True, 2.0, "3")]
[True, True, True, False, False, False, False, False]
"""

from __future__ import annotations

import numbers


def is_positive_int(value: object) -> bool:
    """True for a whole number >= 1: a Python or NumPy integer (``True``, ``2.0`` and ``"3"`` do not count)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and bool(value >= 1)
