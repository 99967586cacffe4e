"""Solutions: cut them from chapter sources, and search output files for any that slipped through.

What counts as a solution, so that chapter authors can rely on it:

- a ``{solution}`` directive (backtick or colon fence, any fence length, nested blocks inside);
- everything between ``{solution-start}`` and ``{solution-end}``;
- a code cell tagged ``solution`` (``:tags: [solution]``).

A text without solutions does not say it has them: the sentence "Solutions are folded under
each exercise." (:data:`SOLUTION_MENTIONS`) goes too.

The student edition and assignments are built from sources with these cut out
(:func:`strip_solutions`). :func:`find_leaks` then checks the files they produced: it takes
every line that the cut removed (and that appears nowhere else in the chapter): a line of at
least :data:`MIN_FRAGMENT_WORDS` words, and **every answer line whatever its length** (an
assignment to a self-check's answer, ``my_answer = best.kl``, see :data:`ANSWER_LINE`, also
without its trailing comment). It reduces each line and
each output file to a plain sequence of lower-case words and numbers (so HTML tags, syntax
highlighting, JSON escaping and line wrapping do not hide a match), and reports any file that
contains one.

>>> chapter = "Task.\\n```{solution} ex-1\\nThe answer is forty two, computed as six times seven.\\n```\\n"
>>> strip_solutions(chapter)
'Task.\\n'
>>> sorted(solution_fragments(chapter))
['the answer is forty two computed as six times seven']
"""

from __future__ import annotations

import difflib
import html
import json
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

__all__ = ["strip_solutions", "solution_fragments", "find_leaks", "words", "SOLUTION_MENTIONS", "ANSWER_LINE"]

#: A removed line must have at least this many words to count as a recognizable fragment
#: (short prose or code, ``d = 0``, would match any page by chance) ...
MIN_FRAGMENT_WORDS = 6
#: ... unless it computes an answer: an assignment to ``my_answer`` (or another ``my_...`` name a
#: self-check reads) with anything but ``None``. However short (``my_answer = best.kl``), it is
#: the line a leak would give away, and ``my answer ...`` does not occur by chance.
ANSWER_LINE = re.compile(r"^\s*(?P<code>my_\w+\s*=(?!=)\s*(?!None\b)[^#\s][^#]*)")
#: Files not searched: images, fonts and archives hold no text a solution could leak into.
BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".ico", ".woff", ".woff2", ".ttf", ".eot",
                   ".otf", ".zip", ".gz", ".sqlite", ".db"}

#: Sentences that promise solutions, removed with them (they may wrap across lines).
SOLUTION_MENTIONS = (re.compile(r"[ \t]*Solutions\s+are\s+folded\s+under\s+each\s+exercise\."),)

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|:{3,})\s*(?P<info>.*)$")
# Latin words and numbers, and each CJK character on its own (Chinese has no spaces between words,
# and a translated solution must be found however a page wraps it).
_WORD = re.compile(r"[a-z0-9]+|[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {fence[0]}


def _end_of_block(lines: list[str], start: int, fence: str) -> int:
    """Index of the line closing the fenced block opened at ``start``."""
    for index in range(start + 1, len(lines)):
        if _closes(lines[index], fence):
            return index
    raise ValueError(f"unclosed {fence} block opened on line {start + 1}")


def _is_tagged_solution_cell(lines: list[str], start: int) -> bool:
    """Whether the code cell opening at lines[start] carries the tag ``solution``."""
    for line in lines[start + 1:start + 8]:
        match = re.match(r"\s*:?tags:\s*\[(.*)\]", line)
        if match:
            return "solution" in [tag.strip().strip("'\"") for tag in match.group(1).split(",")]
        if line.strip() and not line.strip().startswith((":", "---")) and ":" not in line:
            return False
    return False


def strip_solutions(text: str) -> str:
    """Return MyST text with every solution removed (see the module docstring).

    >>> strip_solutions("a\\n```{solution} ex-1\\nsecret\\n```\\nb. Solutions are folded\\nunder each exercise.\\n")
    'a\\nb.\\n'
    """
    text = _strip_blocks(text)
    for mention in SOLUTION_MENTIONS:
        text = mention.sub("", text)
    return text


def _strip_blocks(text: str) -> str:
    """The text without its solution blocks and cells (the sentences about them kept)."""
    lines = text.splitlines(keepends=True)
    kept: list[str] = []
    index = 0
    skipping_until_end_marker = False
    while index < len(lines):
        line = lines[index]
        match = _FENCE.match(line)
        if skipping_until_end_marker:
            if match and match.group("info").startswith("{solution-end}"):
                skipping_until_end_marker = False
                index = _end_of_block(lines, index, match.group("fence"))
            index += 1
            continue
        if match:
            info, fence = match.group("info"), match.group("fence")
            if info.startswith("{solution-start}"):
                skipping_until_end_marker = True
                index = _end_of_block(lines, index, fence) + 1
                continue
            if info.startswith("{solution}") or (
                info.startswith("{code-cell}") and _is_tagged_solution_cell(lines, index)
            ):
                index = _end_of_block(lines, index, fence) + 1
                # Drop one blank line after the removed block, so gaps do not pile up.
                if index < len(lines) and not lines[index].strip() and kept and not kept[-1].strip():
                    index += 1
                continue
        kept.append(line)
        index += 1
    return "".join(kept)


def words(text: str) -> str:
    """Text reduced to its lower-case words and numbers, one space apart.

    >>> words('<span class="n">my_answer</span> = <b>P(clogged)</b>')
    'span class n my answer span b p clogged b'
    """
    # NFKC undoes typographic ligatures (a PDF's "ﬁ" is "fi").
    return " ".join(_WORD.findall(unicodedata.normalize("NFKC", text).lower()))


def solution_fragments(text: str) -> set[str]:
    """The recognizable lines of a chapter's solutions (as :func:`words`), found nowhere else in it.

    >>> sorted(solution_fragments("```{solution} ex-1\\nd = 0\\nmy_answer = d  # the largest\\n```\\n"))
    ['my answer d']
    """
    original, stripped = text.splitlines(), _strip_blocks(text).splitlines()
    removed = []
    for tag, start, end, _, _ in difflib.SequenceMatcher(None, original, stripped, autojunk=False).get_opcodes():
        if tag in ("delete", "replace"):
            removed += original[start:end]
    elsewhere = f" {words(strip_solutions(text))} "
    fragments = {words(line) for line in removed if len(words(line).split()) >= MIN_FRAGMENT_WORDS}
    fragments |= {words(answer.group("code")) for answer in map(ANSWER_LINE.match, removed) if answer}
    return {f for f in fragments if f and f" {f} " not in elsewhere}


def _file_words(path: Path) -> str:
    """The words of one output file (PDF text through pypdf; HTML without its tags; notebooks decoded)."""
    if path.suffix == ".pdf":
        import pypdf  # only PDFs need it (a dev dependency): a slow import kept out of the module's

        return words(" ".join(page.extract_text() or "" for page in pypdf.PdfReader(path).pages))
    text = path.read_bytes().decode("utf-8", errors="ignore")
    if path.suffix in (".html", ".htm", ".xml"):
        text = html.unescape(re.sub(r"<[^>]*>", " ", text))
    elif path.suffix in (".ipynb", ".json"):
        try:
            text = json.dumps(json.loads(text), ensure_ascii=False).replace("\\n", "\n")
        except ValueError:
            pass
    return words(text)


def find_leaks(fragments: Iterable[str], folder: Path) -> list[str]:
    """``"file: fragment"`` for every solution fragment found in a file under ``folder`` (or ``folder`` itself)."""
    fragments = [f for f in set(fragments) if f]
    folder = Path(folder)
    files = [folder] if folder.is_file() else sorted(p for p in folder.rglob("*") if p.is_file())
    leaks = []
    for path in files:
        if path.suffix.lower() in BINARY_SUFFIXES:
            continue
        text = f" {_file_words(path)} "
        vocabulary = set(text.split())
        for fragment in fragments:
            # The word-set test is cheap and rules out most fragments before the substring search.
            if vocabulary.issuperset(fragment.split()) and f" {fragment} " in text:
                leaks.append(f"{path}: {fragment[:80]}")
    return leaks
