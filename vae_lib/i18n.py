"""The library speaks the reader's language: English by default, Chinese with ``VAE_LIB_LANG=zh_CN``.

Messages a reader sees (self-check verdicts, widget labels) are written in English in the code
and passed through :func:`tr`, which looks them up in the library's gettext catalogue
(``vae_lib/locales/<language>/LC_MESSAGES/vae_lib.po``) and fills in their ``{placeholders}``::

    tr("That is the prior {name}: you have not used the observation yet.", name="P(clogged)")

The language comes from the environment variable ``VAE_LIB_LANG`` (``en`` when unset), read
when a message is made, so a notebook started with ``VAE_LIB_LANG=zh_CN`` answers in Chinese.

The book's chapters execute once, in English. The Chinese site shows their outputs through
:func:`translate_output`, which finds every English message of the catalogue in an executed
output (its placeholders matched as wildcards) and writes it in the other language, with the
same values filled in. For that to be unambiguous, a message must begin and end with literal
text, use plain ``{name}`` placeholders (format numbers before passing them), and keep the same
placeholders in every translation; ``tests/test_i18n.py`` checks each of these.
Messages made only by the book's extensions (located under ``book/`` in the catalogue: the
exercise index's tables) are written after execution, never in an output, so they are not
searched for and those rules do not bind them (``"{minutes} min"`` may start with a placeholder).

>>> tr("Correct.", language="en")
'Correct.'
>>> tr("Correct.", language="zh_CN")
'正确。'
>>> translate_output("✓ Correct. Well done", "zh_CN")
'✓ 正确。 Well done'
"""

from __future__ import annotations

import functools
import os
import re
import string
import warnings
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LANGUAGES", "LANGUAGE_VARIABLE", "current_language", "tr", "N_", "catalogue", "translate_output", "placeholders"]

#: The languages the library speaks: English (the source) and those with a catalogue.
LANGUAGES = ("en", "zh_CN")
#: The environment variable that picks the language.
LANGUAGE_VARIABLE = "VAE_LIB_LANG"
LOCALES = Path(__file__).resolve().parent / "locales"
#: Messages with less literal text than this are not searched for in outputs (too likely to
#: match something else); they are translated live only.
MIN_OUTPUT_MESSAGE = 8
#: A placeholder never matches across a line break or an HTML tag.
_PLACEHOLDER_TEXT = r"[^\n<>]+?"
_ALIASES = {"": "en", "en": "en", "en_us": "en", "en_gb": "en", "c": "en", "posix": "en",
            "zh": "zh_CN", "zh_cn": "zh_CN", "zh_hans": "zh_CN", "zh_hans_cn": "zh_CN"}


def normalize_language(name: str | None) -> str:
    """The library's name for a language tag (``"zh-CN"``, ``"zh_CN.UTF-8"`` → ``"zh_CN"``), or ``""``.

    >>> normalize_language("zh-CN"), normalize_language("en_US.UTF-8"), normalize_language("fr")
    ('zh_CN', 'en', '')
    """
    key = (name or "").split(".")[0].strip().replace("-", "_").lower()
    return _ALIASES.get(key, "")


def current_language() -> str:
    """The language messages are made in now: ``VAE_LIB_LANG``, or English when it is unset.

    An unknown value warns once and falls back to English.
    """
    raw = os.environ.get(LANGUAGE_VARIABLE, "")
    found = normalize_language(raw)
    if not found:
        _warn_unknown(raw)
        return "en"
    return found


@functools.lru_cache(maxsize=None)
def _warn_unknown(raw: str) -> None:
    warnings.warn(f"{LANGUAGE_VARIABLE}={raw!r} is not a language vae_lib speaks ({', '.join(LANGUAGES)}): "
                  "using English.", stacklevel=3)


def catalogue_path(language_name: str) -> Path:
    """Where the library's catalogue for a language lives."""
    return LOCALES / language_name / "LC_MESSAGES" / "vae_lib.po"


@functools.lru_cache(maxsize=None)
def catalogue(language_name: str) -> dict[str, str]:
    """``{English message: translation}`` of a language: translated, non-fuzzy entries only.

    >>> catalogue("zh_CN")["Correct."]
    '正确。'
    """
    if language_name == "en":
        return {}
    path = catalogue_path(language_name)
    if not path.is_file():
        raise ValueError(f"vae_lib has no catalogue for {language_name!r} (looked for {path}).")
    from babel.messages.pofile import read_po  # only needed when a translation is asked for

    with path.open("rb") as file:
        entries = read_po(file)
    return {message.id: message.string for message in entries
            if message.id and isinstance(message.id, str) and message.string and not message.fuzzy}


def tr(message: str, /, *, language: str | None = None, **values: object) -> str:
    """``message`` in the reader's language, with its ``{placeholders}`` filled from ``values``.

    Args:
        message: the English text, a literal string (the catalogue is extracted from the code).
        language: override ``VAE_LIB_LANG`` (``"en"`` or ``"zh_CN"``).
        values: the placeholders' values (already formatted as text where it matters).

    >>> tr("That is the prior {name}: you have not used the observation yet.", language="en", name="P(a)")
    'That is the prior P(a): you have not used the observation yet.'
    """
    chosen = normalize_language(language) if language else current_language()
    template = catalogue(chosen).get(message, message) if chosen != "en" else message
    return template.format(**values) if values else template


def N_(message: str) -> str:
    """Mark a literal for the catalogue without translating it yet (``tr(CONSTANT)`` translates it later).

    >>> N_("Correct.")
    'Correct.'
    """
    return message


def placeholders(message: str) -> list[str]:
    """The placeholder names of a message, in order (repeats included).

    >>> placeholders("{a} and {b}, then {a}")
    ['a', 'b', 'a']
    """
    return [field for _, field, _, _ in string.Formatter().parse(message) if field is not None]


@dataclass(frozen=True)
class _Pattern:
    """An English message compiled to find its rendered form in output text."""

    regex: re.Pattern
    anchor: str  # its longest literal piece: a cheap test before the regex runs
    translation: str


def _compile(message: str, translation: str) -> _Pattern:
    parts, seen, literals = [], set(), []
    for literal, field, _, _ in string.Formatter().parse(message):
        parts.append(re.escape(literal))
        literals.append(literal)
        if field is not None:
            parts.append(f"(?P={field})" if field in seen else f"(?P<{field}>{_PLACEHOLDER_TEXT})")
            seen.add(field)
    return _Pattern(re.compile("".join(parts)), max(literals, key=len), translation)


@functools.lru_cache(maxsize=None)
def interface_messages(language_name: str) -> frozenset[str]:
    """The messages made only by the book's extensions (every location under ``book/``): never in
    an executed output, so never searched for there."""
    if language_name == "en":
        return frozenset()
    from babel.messages.pofile import read_po

    with catalogue_path(language_name).open("rb") as file:
        entries = read_po(file)
    return frozenset(message.id for message in entries if message.id and isinstance(message.id, str)
                     and message.locations and all(place.startswith("book/") for place, _ in message.locations))


@functools.lru_cache(maxsize=None)
def _patterns(language_name: str) -> tuple[_Pattern, ...]:
    # Longest messages first, so a message is never translated piecewise by a shorter one.
    ordered = sorted(catalogue(language_name).items(), key=lambda item: -len(item[0]))
    interface = interface_messages(language_name)
    return tuple(_compile(message, translation) for message, translation in ordered
                 if len(_literal_text(message)) >= MIN_OUTPUT_MESSAGE and message not in interface)


def _literal_text(message: str) -> str:
    return "".join(literal for literal, _, _, _ in string.Formatter().parse(message))


def translate_output(text: str, language_name: str) -> str:
    """Rewrite every English library message found in ``text`` in ``language_name``.

    Used by the book's build of a second edition on outputs that were executed in English; text
    that holds no catalogue message comes back unchanged.

    >>> translate_output("• Not answered yet: replace None with your computation and run the cell.", "zh_CN")
    '• 尚未作答：把 None 换成你的计算，再运行这个单元格。'
    >>> translate_output("print(42)", "zh_CN")
    'print(42)'
    """
    if language_name == "en" or not text:
        return text
    for pattern in _patterns(language_name):
        if pattern.anchor in text:
            text = pattern.regex.sub(lambda match: pattern.translation.format(**match.groupdict()), text)
    return text
