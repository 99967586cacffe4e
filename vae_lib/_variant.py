"""One exercise's per-student variants: its problem data drawn from a seeded generator.

A chapter's exercises module declares, for an exercise that has variants, a :class:`Variant`:
the book's data (the chapter's fixed variant), how to draw other data within ranges that keep
the exercise meaningful, how to build the exercise's :class:`~vae_lib.checks.Check` from any
data, and how to render a variant's numbers into the statement, the solution's code and the
names a student's notebook binds. The self-check then takes a ``variant`` key:

>>> from vae_lib.exercises import bayes
>>> bayes.check_loaded_die_mle(1 / 3).correct     # the book's die: 4 sixes in 12 rolls
✓ Correct. The best-fitting ρ is simply the observed fraction of sixes.
True

A key is a short hexadecimal string derived from a student's seed and the exercise's label
(:func:`variant_key`), so a lecturer recomputes every student's variant from the roster and
never needs to read it from a submission. Draws are rejected until the variant's check keeps
every known mistake the book's check keeps (each far enough from the answer to be told apart
from it), so no variant loses a diagnosis.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vae_lib.i18n import current_language

__all__ = ["Variant", "variant_key", "BOOK"]

#: The key of the book's own variant (the chapter's numbers).
BOOK = None
#: Draws tried before giving up on a key (a spec whose ranges rarely give a valid variant is a bug).
_MAX_DRAWS = 200


def variant_key(seed: str, label: str) -> str:
    """The variant of exercise ``label`` for the student whose roster seed (or id) is ``seed``.

    >>> variant_key("s001", "ex-bayes-grid")
    'b858b6baf4902b67'
    >>> variant_key("s001", "ex-bayes-grid") != variant_key("s002", "ex-bayes-grid")
    True
    """
    return hashlib.sha256(f"{seed}\x1f{label}".encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Variant:
    """How exercise ``label`` varies from student to student.

    Attributes:
        label: the exercise's label.
        book: the book's data (a dict of plain Python values); the chapter states these.
        draw: ``draw(rng) -> data``, a candidate variant from a NumPy generator.
        build: ``build(data) -> Check``, the exercise's check for any data.
        names: ``names(data) -> {name: value}``, what the student's data cell binds (the chapter's
            setup defines these names with the book's values); ``None`` when nothing needs binding.
        text: ``text(data) -> [(book text, variant text)]``, replacements in the statement.
        code: ``code(data) -> [(book code, variant code)]``, replacements in the solution's code
            (so that a test can run the chapter's own solution on a variant).
    """

    label: str
    book: Mapping[str, Any]
    draw: Callable[[np.random.Generator], dict]
    build: Callable[[Mapping[str, Any]], Any]
    names: Callable[[Mapping[str, Any]], dict] | None = None
    text: Callable[[Mapping[str, Any]], list] = lambda data: []
    code: Callable[[Mapping[str, Any]], list] = lambda data: []
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def data(self, key: str | None = BOOK) -> Mapping[str, Any]:
        """The problem data of variant ``key`` (the book's for ``None``)."""
        if key is None:
            return self.book
        return self._drawn(key)[0]

    def check(self, key: str | None = BOOK):
        """The check of variant ``key``, built once per key and language (its messages are translated)."""
        cached = (key, current_language())
        if cached not in self._cache:
            self._cache[cached] = self.build(self.book) if key is None else self._drawn(key)[1]
        return self._cache[cached]

    def cache_clear(self) -> None:
        """Forget the checks built so far (they are rebuilt on the next call)."""
        self._cache.clear()

    def _drawn(self, key: str):
        if not isinstance(key, str) or not key:
            raise ValueError(f"A variant key is a string such as 'b858b6baf4902b67', got {key!r}.")
        wanted = len(self.check(BOOK)._mistakes)
        rng = np.random.default_rng(int(hashlib.sha256(f"{self.label}\x1f{key}".encode()).hexdigest()[:16], 16))
        for _ in range(_MAX_DRAWS):
            data = self.draw(rng)
            try:
                check = self.build(data)
            except ArithmeticError:  # numbers an optimizer or a formula overflows on: not a variant
                continue
            if len(check._mistakes) == wanted and data != dict(self.book):
                return data, check
        raise RuntimeError(f"{self.label}: no valid variant in {_MAX_DRAWS} draws for key {key!r}; "
                           "widen the ranges of its draw.")

    def render(self, text: str, key: str | None, *, code: bool = False) -> str:
        """``text`` (the statement, or with ``code`` the solution's code) with variant ``key``'s numbers.

        Every book fragment must be found (else the chapter changed: a ``ValueError`` says which).
        """
        if key is None:
            return text
        for book, variant in (self.code if code else self.text)(self.data(key)):
            if book not in text:
                raise ValueError(f"{self.label}: the {'solution code' if code else 'statement'} no longer "
                                 f"contains {book!r}; update the exercise's Variant.")
            text = text.replace(book, variant)
        return text

    def data_cell(self, key: str | None) -> str | None:
        """Python source binding the names of variant ``key`` (``None`` when it binds none)."""
        if self.names is None:
            return None
        lines = [f"{name} = {value!r}" for name, value in self.names(self.data(key)).items()]
        return "\n".join(lines)
