"""Exercises in the reader's language, for assignments: statements, titles and hints from the
chapters' page catalogues, with a student's variant rendered into the translated statement.

The chapters are written in English; the Chinese edition's page catalogues
(``book/locales/<language>/LC_MESSAGES/<docname>.po``, the ones Sphinx builds the Chinese site
from) translate them paragraph by paragraph. An assignment in another language takes each
exercise's MyST text and writes, for each paragraph, list item and directive title, its page
catalogue's translation (:func:`translate_myst`). A paragraph with no translation is an error that
names it: an assignment must not mix languages, and ``make test`` keeps every page translated.

**Variants in a translated statement.** A :class:`~vae_lib._variant.Variant` renders a student's
numbers into the *English* statement by replacing fragments of it (``"shows 4 sixes in 12
rolls"`` → ``"shows 5 sixes in 15 rolls"``). Those fragments are not in the Chinese text, so
:func:`translate_statement` translates the book's statement first and then renders each
replacement into the translation, paragraph by paragraph (:func:`render_fragment`):

- when the two fragments differ only in their numbers (the usual case): where the translation
  has the English fragment as it is (a formula, or part of one), it is replaced as in English;
  otherwise by number: each math
  span (``$...$``) or inline code span of the English fragment that changes is replaced by its
  counterpart wherever the translation has it, and each number of the fragment's prose by its
  new value in the translation's prose, provided the translation's prose has that number as many
  times as the English paragraph's prose and all of those are in the fragment (else the place is
  ambiguous, and an error says so). In math and code a number's sign is part of it (a student's
  $z = -0.4$ where the book has $z = 1$); in prose it is not. Where the numbers cannot be told apart
  (``"rain 2 and umbrella 2"`` → ``"rain 2 and umbrella 3"``), the words route below renders the
  fragment if its messages are in the catalogue; otherwise the error stands (a number is never guessed);
- when the variant adds words (a student's machine described in a sentence), through the
  library's catalogue: the book fragment and the variant fragment, its numbers written
  ``{n0}``, ``{n1}``, ... in reading order, are messages of this module (:data:`VARIANT_FRAGMENTS`);
  the translation of the book fragment is replaced by the translation of the variant's, its
  numbers filled in. A variant whose words are not there yet is an error that names the message.

Both are tested on every variant of every chapter (``tests/test_assign_zh.py``). A message starts and
ends with words (``tests/test_i18n.py``) and holds no braces of its own: a variant whose fragment
would (``$10^{-3}$``) splits it, so that the formula goes by number and the words by message.
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace
from pathlib import Path

from vae_lib.i18n import N_, catalogue, normalize_language, tr

__all__ = ["page_messages", "translate_myst", "translate_statement", "render_fragment", "localized_exercise",
           "exercise_heading", "chapter_title", "localized_links", "UntranslatedError", "VARIANT_FRAGMENTS",
           "join_label", "WRITTEN_PLACEHOLDER", "written_placeholder", "written_placeholders"]

#: The words variants add to a statement (English fragments with their numbers as ``{n0}``, ...),
#: and the book fragments they replace: messages of the library's catalogue, so that a translated
#: assignment can say them (see the module's docstring). Chapter 1's coffee machine:
VARIANT_FRAGMENTS = (
    N_("Compute it from `prior` and `p_noise`."),
    N_("Your machine has a prior P(clogged) = {n0}, P(low water) = {n1} and P(noise | clogged) = {n2}, "
       "P(noise | low water) = {n3}: your data cell binds them to `prior` and `p_noise`. Compute it from these."),
    N_("starting from the chapter's prior"),
    N_("for a machine with a prior P(clogged) = {n0}, P(low water) = {n1} and P(noise | clogged) = {n2}, "
       "P(noise | low water) = {n3} (your data cell binds them to `prior` and `p_noise`), starting from that prior"),
    # Chapter 2's heights.
    N_("For the same six heights"),
    N_("For the six heights {n0}, {n1}, {n2}, {n3}, {n4} and {n5} cm"),
    # Chapter 2's hidden season: the words route, since a 2 that stays and a 2 that changes cannot
    # be told apart by number.
    N_("takes 4 values, the weather 3, rain 2 and umbrella 2."),
    N_("takes {n0} values, the weather {n1}, rain {n2} and umbrella {n3}."),
    # Chapter 3's mixture, and its latent code.
    N_("For the mixture above"),
    N_("For the same mixture"),
    N_("For the mixture with weights $\\pi = ({n0}, {n1})$, means $\\mu = ({n2}, {n3})$ and **standard deviations** "
       "$\\sigma = ({n4}, {n5})$ (your own mixture, not the chapter's)"),
    N_("Starting from the same mixture"),
    N_("Starting from the mixture with weights $\\pi = ({n0}, {n1})$, means $\\mu = ({n2}, {n3})$ and "
       "**standard deviations** $\\sigma = ({n4}, {n5})$ (your own mixture, not the chapter's)"),
    N_("consists of 30 binary features together with one class out of 10 (the digit in an image, say)"),
    N_("consists of {n0} binary features together with one class out of {n1} (the kind of object in an image, say)"),
    # Chapter 5's model and observation, with the student's numbers.
    N_("In this chapter's model ($a = 3$, $\\sigma_x = 1$, observation $x = 4$)"),
    N_("In the chapter's model with your numbers ($a = {n0}$, $\\sigma_x = {n1}$, observation $x = {n2}$)"),
    N_("For the same model and observation"),
    N_("For the chapter's model with your numbers ($a = {n0}$, $\\sigma_x = {n1}$, observation $x = {n2}$)"),
    # Chapter 6's forecaster, stated again for the other direction.
    N_("For the same $p$ and $q$"),
    N_("For the climate $p = ({n0}, {n1}, {n2})$ of (sunny, cloudy, rain) and the forecaster's "
       "$q = ({n3}, {n4}, {n5})$"),
    # Chapter 11's schedule: a student's fraction left is not the chapter's toy's (the Chinese puts
    # "the fraction" after the formula, so these words translate as 这一比例).
    N_("of the signal's variance is left (the value of this chapter's toy)"),
    N_("of the signal's variance is left"),
)

_NUMBER = re.compile(r"(?<![A-Za-z_\d.])\d+(?:\.\d+)?(?:[eE]-?\d+)?(?![A-Za-z_\d])")
_SIGNED_NUMBER = re.compile(r"-?" + _NUMBER.pattern)
_SPAN = re.compile(r"\$\$.+?\$\$|\$[^$]+\$|`[^`]+`")
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,}|:{3,})(.*)$")
_LIST_ITEM = re.compile(r"^(\s*)([-*+]|\d+[.)])\s+(.*)$")
_OPTION = re.compile(r"^\s*:[\w-]+:")


class UntranslatedError(ValueError):
    """A text of an exercise has no translation in its page's catalogue (or a variant cannot be rendered)."""


def _words(text: str) -> str:
    """``text`` with its runs of white space (line breaks too) as one space, as a catalogue's messages."""
    return " ".join(text.split())


_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


def _key(text: str) -> str:
    """How a text is looked up in a page's catalogue: white space normalized, and typographic quotes
    as straight ones (Sphinx's smart quotes curl them in some messages, an exercise's title say)."""
    return _words(text).translate(_QUOTES)


@functools.lru_cache(maxsize=None)
def page_messages(repo: Path, language: str, docname: str) -> dict[str, str]:
    """``{English message: translation}`` of a page's catalogue, keys with their white space normalized.

    The same catalogue the edition's Sphinx build and ``book/_ext/editions.page_messages`` read
    (translated, non-fuzzy entries only); ``{}`` for English or a page with none.
    """
    path = Path(repo) / "book" / "locales" / language / "LC_MESSAGES" / f"{docname}.po"
    if language == "en" or not path.is_file():
        return {}
    from babel.messages.pofile import read_po

    with path.open("rb") as file:
        entries = read_po(file)
    return {_key(message.id): message.string for message in entries
            if message.id and isinstance(message.id, str) and message.string and not message.fuzzy}


def _lookup(messages: dict[str, str], text: str, where: str) -> str:
    found = messages.get(_key(text))
    if found is None:
        raise UntranslatedError(f"{where}: no translation of {_words(text)[:120]!r} in its page's catalogue "
                                "(run `book/translate.py update` and translate it).")
    return found


#: Directives whose content is code or data, never prose: copied as they are.
VERBATIM_DIRECTIVES = ("code-cell", "code", "code-block", "math", "raw", "bibliography", "glue", "literalinclude")


def translate_myst(text: str, messages: dict[str, str], *, where: str, paragraph=None, strict: bool = True) -> str:
    """MyST Markdown ``text`` with each paragraph, list item, heading and directive title translated.

    Code blocks, code cells, display math, directive options and a front matter stay as they
    are. ``paragraph(english, translation)`` may change each translated paragraph (a variant's
    numbers); it gets the English paragraph with its white space normalized. Without ``strict``
    a text the catalogue lacks stays as it is (a whole chapter, whose labels and tables are not
    messages), instead of raising :class:`UntranslatedError`.

    >>> translate_myst("One.\\nTwo.\\n\\n- a b\\n- c", {"One. Two.": "一二。", "a b": "甲乙", "c": "丙"}, where="x")
    '一二。\\n\\n- 甲乙\\n- 丙'
    """
    lines = text.split("\n")
    out: list[str] = []
    chunk: list[str] = []
    paragraph = paragraph or (lambda english, translated: translated)

    def one(english: str, original: list[str]) -> list[str]:
        if not strict and _key(english) not in messages:
            return original
        return [paragraph(_words(english), _lookup(messages, english, where))]

    def flush() -> None:
        if not chunk:
            return
        if _LIST_ITEM.match(chunk[0][0]):
            items: list[tuple[str, list[str], list[str]]] = []
            for line, raw in chunk:
                match = _LIST_ITEM.match(line)
                if match:
                    items.append((f"{match.group(1)}{match.group(2)} ", [match.group(3)], [raw]))
                else:
                    items[-1][1].append(line)
                    items[-1][2].append(raw)
            for marker, body, raw in items:
                translated = one(" ".join(body), raw)
                out.extend(translated if translated is raw else [marker + translated[0]])
        else:
            out.extend(one(" ".join(line for line, _ in chunk), [raw for _, raw in chunk]))
        chunk.clear()

    index = 0
    if lines and lines[0].strip() == "---":  # a front matter: verbatim
        end = next((number for number in range(1, len(lines)) if lines[number].strip() == "---"), 0)
        out.extend(lines[:end + 1])
        index = end + 1
    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        directive_name = re.match(r"^\{([\w:-]+)\}", fence.group(3).strip()) if fence else None
        verbatim = fence and (directive_name is None and fence.group(3).strip() != ""
                              or directive_name is not None and directive_name.group(1) in VERBATIM_DIRECTIVES)
        heading = re.match(r"^(#{1,6}) (.+)$", line)
        if heading:
            flush()
            out.append(f"{heading.group(1)} {messages.get(_key(heading.group(2)), heading.group(2))}")
        elif re.match(r"^\([\w:.-]+\)=\s*$", line) or line.lstrip().startswith("<!--"):
            flush()  # a label, a comment
            out.append(line)
        elif line.startswith("|") and not chunk:
            # A table row: each cell is a message (the separator row has none).
            cells = line.strip().strip("|").split("|")
            out.append("| " + " | ".join(messages.get(_key(cell), cell.strip()) for cell in cells) + " |")
        elif verbatim:
            # A code block (```python): verbatim to its closing fence.
            flush()
            marker = fence.group(2)
            out.append(line)
            index += 1
            while index < len(lines) and lines[index].strip() != marker:
                out.append(lines[index])
                index += 1
            if index < len(lines):
                out.append(lines[index])
        elif fence:
            flush()
            head = fence.group(3)
            directive = re.match(r"^(\s*\{[\w:-]+\})\s*(.*)$", head)
            if directive and directive.group(2).strip():
                title = directive.group(2).strip()
                translated = messages.get(_key(title), title)
                line = f"{fence.group(1)}{fence.group(2)}{directive.group(1)} {translated}"
            out.append(line)
        elif line.strip() == "$$":
            flush()
            out.append(line)
            index += 1
            while index < len(lines) and lines[index].strip() != "$$":
                out.append(lines[index])
                index += 1
            if index < len(lines):
                out.append(lines[index])
        elif line.strip().startswith("$$") and line.strip().endswith("$$") and len(line.strip()) > 4:
            flush()
            out.append(line)
        elif not line.strip() or (_OPTION.match(line) and not chunk):
            flush()
            out.append(line)
        else:
            chunk.append((line.strip(), line))
        index += 1
    flush()
    return "\n".join(out)


# ----------------------------------------------------------------------------- variants


def _shape(text: str) -> str:
    """``text`` with its numbers (and the braces around one) as ``#``: equal shapes differ in numbers only.

    In math and code a number's sign counts as part of it (a student's mean of $-1.6$ where the book
    has $0.8$), since a span is replaced as a whole; in prose it does not.

    >>> _shape("$z = -0.4$ and rain 2") == _shape("$z = 1$ and rain 3") != _shape("$z = 1$ and rain -3")
    True
    """
    text = re.sub(r"\{(\d+(?:\.\d+)?)\}", r"\1", text)
    text = _SPAN.sub(lambda match: _SIGNED_NUMBER.sub("#", match.group(0)), text)
    return _NUMBER.sub("#", text)


def _prose(text: str) -> str:
    return _SPAN.sub(" ", text)


def _masked(text: str) -> tuple[str, list[str]]:
    """(``text`` with its numbers as ``{n0}``, ``{n1}``, ..., and its braces doubled, the numbers).

    In math and code a number's sign is part of it (as in :func:`_shape`), so that one message
    serves a student's negative means and another's positive ones.

    >>> _masked("$10^{-3}$ left, $m = (-1.6, 2)$ and 3-4")
    ('${n0}^{{{n1}}}$ left, $m = ({n2}, {n3})$ and {n4}-{n5}', ['10', '-3', '-1.6', '2', '3', '4'])
    """
    numbers: list[str] = []

    def mask(match: re.Match) -> str:
        numbers.append(match.group(0))
        return f"{{n{len(numbers) - 1}}}"

    pieces = re.split(f"({_SPAN.pattern})", text.replace("{", "{{").replace("}", "}}"))  # spans at odd indexes
    return "".join((_SIGNED_NUMBER if index % 2 else _NUMBER).sub(mask, piece)
                   for index, piece in enumerate(pieces)), numbers


#: The first private-use character: a replacement already made in a paragraph waits as one such
#: character until the paragraph's last replacement is made (:func:`settle`), so that a later
#: replacement never takes the numbers an earlier one wrote for the book's.
_TOKEN = 0xE000


def settle(text: str, pending: list[str]) -> str:
    """``text`` with the replacements ``pending`` (see :func:`render_fragment`) written in."""
    for index, new in enumerate(pending):
        text = text.replace(chr(_TOKEN + index), new)
    return text


def render_fragment(book: str, variant: str, english: str, translated: str, language: str, *, where: str,
                    pending: list[str] | None = None) -> str:
    """The translated paragraph with the replacement ``book`` → ``variant`` of its English
    paragraph ``english`` rendered into it (see the module's docstring).

    With ``pending`` (a list shared by the replacements of one paragraph), what is written stays a
    token appended to it, for :func:`settle` to write in after the paragraph's last replacement.

    >>> render_fragment("shows 4 sixes in 12 rolls", "shows 5 sixes in 15 rolls",
    ...                 "A die shows 4 sixes in 12 rolls: $n = 12$.", "骰子掷了 12 次，出现 4 次六点：$n = 12$。",
    ...                 "zh_CN", where="x")
    '骰子掷了 15 次，出现 5 次六点：$n = 12$。'
    """
    if pending is None:
        pending = []
        return settle(render_fragment(book, variant, english, translated, language, where=where, pending=pending),
                      pending)

    def token(new: str) -> str:
        pending.append(new)
        return chr(_TOKEN + len(pending) - 1)

    book, variant = _words(book), _words(variant)
    if book in translated and _SIGNED_NUMBER.sub("#", book) == _SIGNED_NUMBER.sub("#", variant):
        # math or code the translation kept as it is (part of a formula too): replaced as in English
        return translated.replace(book, token(variant))
    if _shape(book) == _shape(variant):
        start = len(pending)
        try:
            return _by_number(book, variant, english, translated, where=where, token=token)
        except UntranslatedError as error:
            # The numbers cannot be told apart (a 2 that stays and a 2 that changes, say): the words
            # route says it when its messages are there; a number is never guessed.
            del pending[start:]
            if not _in_catalogue(book, variant, language):
                raise error
    return _by_words(book, variant, translated, language, where=where, token=token)


def _in_catalogue(book: str, variant: str, language: str) -> bool:
    """Whether the library's catalogue has both messages of the replacement ``book`` → ``variant``."""
    words = catalogue(language)
    return book.replace("{", "{{").replace("}", "}}") in words and _masked(variant)[0] in words


def _by_number(book: str, variant: str, english: str, translated: str, *, where: str, token) -> str:
    """:func:`render_fragment` for fragments that differ in their numbers only."""
    if book in translated:  # math or code the translation kept as it is (part of a formula too)
        return translated.replace(book, token(variant))
    for old, new in zip(_SPAN.findall(book), _SPAN.findall(variant)):
        if old != new:
            if old not in translated:
                raise UntranslatedError(f"{where}: the translation has no {old!r} to render the variant into.")
            translated = translated.replace(old, token(new))
    mapping: dict[str, str] = {}
    for old, new in zip(_NUMBER.findall(_prose(book)), _NUMBER.findall(_prose(variant))):
        # Unchanged numbers count too: "rain 2 and umbrella 2" → "rain 2 and umbrella 3" names
        # two 2s that part ways, which a translation's word order cannot tell apart.
        if mapping.setdefault(old, new) != new:
            raise UntranslatedError(f"{where}: the number {old} of {book!r} becomes two different numbers.")
    mapping = {old: new for old, new in mapping.items() if old != new}
    if not mapping:
        return translated
    pieces = re.split(f"({_SPAN.pattern})", translated)  # prose at even indexes, spans at odd ones
    for old in mapping:
        counts = [_NUMBER.findall(_prose(text)).count(old) for text in (book, english)]
        counts.append(sum(_NUMBER.findall(piece).count(old) for piece in pieces[::2]))
        if len(set(counts)) != 1:
            raise UntranslatedError(f"{where}: cannot tell which {old} of the translation {book!r} names "
                                    f"(in the fragment, the English and the translation: {counts} times).")
    tokens = {old: token(new) for old, new in mapping.items()}
    for position in range(0, len(pieces), 2):
        pieces[position] = _NUMBER.sub(lambda m: tokens.get(m.group(0), m.group(0)), pieces[position])
    return "".join(pieces)


def _by_words(book: str, variant: str, translated: str, language: str, *, where: str, token) -> str:
    """:func:`render_fragment` through the library's catalogue (:data:`VARIANT_FRAGMENTS`)."""
    words = catalogue(language)
    template, numbers = _masked(variant)
    escaped = book.replace("{", "{{").replace("}", "}}")  # messages are format strings: braces doubled
    if escaped not in words or template not in words:
        missing = template if escaped in words else escaped
        raise UntranslatedError(f"{where}: the variant's words {missing!r} are not in the library's catalogue: add "
                                "them to vae_lib/_exercise_language.VARIANT_FRAGMENTS and translate them in vae_lib.po.")
    book_translated = words[escaped].format()
    if book_translated not in translated:
        raise UntranslatedError(f"{where}: the translation has no {book_translated!r} (the translation of {book!r}).")
    return translated.replace(book_translated,
                              token(words[template].format(**{f"n{i}": n for i, n in enumerate(numbers)})))


def translate_statement(body: str, docname: str, language: str, *, repo: Path, label: str,
                        variant=None, key: str | None = None) -> str:
    """An exercise's statement (MyST) in ``language``, with variant ``key``'s numbers when given."""
    messages = page_messages(Path(repo), language, docname)
    if variant is None or key is None:
        return translate_myst(body, messages, where=f"{docname}: {label}")
    variant.render(body, key)  # the English fragments must still be in the statement (else a ValueError says which)
    pairs = [(_words(book), _words(new)) for book, new in variant.text(variant.data(key))]

    def paragraph(english: str, translated: str) -> str:
        pending: list[str] = []
        for book, new in pairs:
            if book in english:
                translated = render_fragment(book, new, english, translated, language, where=f"{docname}: {label}",
                                             pending=pending)
        return settle(translated, pending)

    return translate_myst(body, messages, where=f"{docname}: {label}", paragraph=paragraph)


# ----------------------------------------------------------------------------- titles


def chapter_title(chapter, language: str, repo: Path) -> str:
    """The chapter's title in ``language`` (its page catalogue's; the English one when it has none)."""
    return page_messages(Path(repo), language, chapter.docname).get(_key(chapter.title), chapter.title)


def exercise_heading(exercise, language: str, repo: Path) -> str:
    """``"Exercise 1.2: Title (★★, 15 min)"`` in ``language``, the title from the chapter's catalogue.

    The title with its cost is the exercise directive's title, a message of the page's catalogue.
    """
    if language == "en":
        return exercise.heading
    cost = f" ({exercise.stars}, {exercise.minutes} min)" if exercise.difficulty and exercise.minutes else ""
    messages = page_messages(Path(repo), language, exercise.chapter)
    title = messages.get(_key(f"{exercise.title}{cost}")) or messages.get(_key(exercise.title), exercise.title)
    if exercise.number:
        return join_label(tr("Exercise {number}:", language=language, number=exercise.number), title)
    return join_label(tr("Exercise:", language=language), title)


def join_label(label: str, title: str) -> str:
    """``"Exercise 1.2:"`` and a title, with a space after an ASCII colon only (``"习题 1.2：标题"``).

    >>> join_label("Exercise 1.2:", "Title"), join_label("习题 1.2：", "标题")
    ('Exercise 1.2: Title', '习题 1.2：标题')
    """
    return f"{label}{'' if label.endswith('：') else ' '}{title}"


#: The text of a student's written-answer cell before it is answered (as :data:`vae_lib.variants.WRITTEN_PLACEHOLDER`).
WRITTEN_PLACEHOLDER = N_("*Your written answer (explanations, formulas): replace this line.*")


def written_placeholder(language: str) -> str:
    """:data:`WRITTEN_PLACEHOLDER` in ``language``."""
    return WRITTEN_PLACEHOLDER if language == "en" else catalogue(language).get(WRITTEN_PLACEHOLDER, WRITTEN_PLACEHOLDER)


def written_placeholders() -> set[str]:
    """The unanswered written-answer text in every language (what grading counts as no answer)."""
    from vae_lib.i18n import LANGUAGES

    return {written_placeholder(language) for language in LANGUAGES}


def localized_exercise(exercise, language: str, repo: Path, *, variant=None, key: str | None = None):
    """``exercise`` with its statement in ``language`` (and variant ``key``'s numbers), or rendered
    in English with the variant (:meth:`Variant.render`) when ``language`` is English."""
    language = normalize_language(language) or "en"
    if language == "en":
        return exercise if variant is None or key is None else replace(exercise, body=variant.render(exercise.body, key))
    body = translate_statement(exercise.body, exercise.chapter, language, repo=repo, label=exercise.label,
                               variant=variant, key=key)
    return replace(exercise, body=body)


def localized_links(links, language: str, repo: Path):
    """``links`` (:class:`vae_lib._myst_markdown.Links`) with the titles references show in ``language``:
    sections and pages from their page's catalogue, exercises as ``Exercise 1.4`` in that language."""
    if language == "en":
        return links
    titles = {}
    for label, title in links.titles.items():
        page = links.pages.get(label, "")
        docname = page.split("#")[0].removesuffix(".html") if page else label
        number = re.fullmatch(r"Exercise (\S+)", title)
        if number:
            titles[label] = f"{tr('Exercise', language=language)} {number.group(1)}"
        else:
            titles[label] = page_messages(Path(repo), language, docname).get(_key(title), title)
    return replace(links, titles=titles)
