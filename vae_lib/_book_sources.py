"""The book's chapters as data: their order, titles and exercises, read from the sources.

Everything a lecturer's tool shows about the exercises (the exercise index, the instructor
guide, assignments) comes from here, so it grows with the chapters by itself. A chapter is a
MyST-Markdown notebook; an exercise is a ``{exercise}`` directive whose title ends with its
difficulty and time, ``(★★, 15 min)``, and whose ``:label:`` is stable; its self-check is the
first code cell after it (before the next exercise) that calls a ``check_...(`` function; its
solution is the ``{solution}`` directive naming its label.

>>> first = read_book()[0]
>>> first.docname, first.number, first.exercises[0].number
('chapters/01_bayes', 1, '1.1')
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import yaml
from IPython.core.inputtransformer2 import TransformerManager

__all__ = ["Chapter", "Exercise", "read_book", "read_chapter", "find_exercises", "check_summary", "check_function",
           "imported_names", "import_statement", "python_source", "REPO"]

#: The repository root (the folder holding ``chapters/`` and ``book/``).
REPO = Path(__file__).resolve().parents[1]

_FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|:{3,})\s*(?P<info>.*?)\s*$")
_DIFFICULTY = re.compile(r"^(?P<title>.*?)\s*\(\s*(?P<stars>★{1,3})\s*,\s*(?P<minutes>\d+)\s*min\s*\)\s*$")
_CHECK_CALL = re.compile(r"\b(?P<function>(?:[A-Za-z_]\w*\.)*check_\w+)\s*\(")
_CODE_FENCE_LANGUAGES = ("python", "ipython", "ipython3", "{code-block} python", "{code-cell} ipython3",
                         "{code-cell} python", "{code} python")


@dataclass(frozen=True)
class Exercise:
    """One exercise, as its chapter's source states it.

    Attributes:
        label: the stable label, e.g. ``"ex-bayes-silence"``.
        title: the title without the difficulty, e.g. ``"A silent failure"``.
        difficulty: 1 to 3 stars, or ``None`` when the title does not say.
        minutes: the estimated time, or ``None`` when the title does not say.
        body: the task, in MyST Markdown.
        number: ``"1.2"`` (chapter number and place in the chapter), as the book numbers it;
            ``""`` for an exercise marked ``:nonumber:``.
        chapter: the chapter's docname, e.g. ``"chapters/01_bayes"``.
        cell: index of the notebook cell holding the exercise.
        check_source: the self-check cell's source, or ``None`` without a self-check.
        check_function: the called function as written there, e.g. ``"checks.check_silent_machine"``.
        solution: the solution's MyST text (``None`` if it has none).
        solution_code: the Python code of the solution's code blocks.
    """

    label: str
    title: str
    difficulty: int | None
    minutes: int | None
    body: str
    number: str
    chapter: str
    cell: int
    check_source: str | None = None
    check_function: str | None = None
    solution: str | None = field(default=None, repr=False)
    solution_code: str = field(default="", repr=False)

    @property
    def stars(self) -> str:
        """The difficulty as stars, or ``"—"`` when the title does not give it."""
        return "★" * self.difficulty if self.difficulty else "—"

    @property
    def heading(self) -> str:
        """``"Exercise 1.2: Title (★★, 15 min)"``, the way a sheet names it."""
        cost = f" ({self.stars}, {self.minutes} min)" if self.difficulty and self.minutes else ""
        return f"Exercise {self.number}: {self.title}{cost}" if self.number else f"Exercise: {self.title}{cost}"


@dataclass(frozen=True)
class Chapter:
    """One chapter: where it is, its place in the book, its cells and exercises."""

    path: Path
    docname: str
    number: int | None
    title: str
    label: str | None
    cells: tuple = field(repr=False)
    exercises: tuple[Exercise, ...] = field(repr=False)


def read_toc(repo: Path = REPO) -> list[tuple[str, int | None]]:
    """The chapters' docnames in the order of ``book/_toc.yml``, with their chapter numbers.

    Numbered parts count on across parts (the book uses ``use_multitoc_numbering``).

    >>> read_toc()[0]
    ('chapters/01_bayes', 1)
    """
    toc = yaml.safe_load((repo / "book" / "_toc.yml").read_text(encoding="utf-8"))
    entries: list[tuple[str, int | None]] = []
    number = 0
    for part in toc.get("parts", [{"chapters": toc.get("chapters", [])}]):
        for entry in part.get("chapters", []):
            docname = entry.get("file", "")
            if not docname.startswith("chapters/"):
                continue
            if part.get("numbered"):
                number += 1
            entries.append((docname, number if part.get("numbered") else None))
    return entries


def read_book(repo: Path = REPO) -> list[Chapter]:
    """Every chapter of the table of contents, in book order, with its exercises."""
    return [read_chapter(repo / f"{docname}.md", number, docname) for docname, number in read_toc(repo)]


def read_chapter(path: Path, number: int | None = None, docname: str | None = None) -> Chapter:
    """Read one chapter file (a MyST notebook) and find its title, label and exercises."""
    text = Path(path).read_text(encoding="utf-8")
    cells = tuple(jupytext.reads(text, fmt="md:myst").cells)
    markdown = "\n".join(cell.source for cell in cells if cell.cell_type == "markdown")
    title = re.search(r"^# (.+)$", markdown, flags=re.M)
    label = re.search(r"^\((chap-[\w-]+)\)=", markdown, flags=re.M)
    docname = docname or f"chapters/{Path(path).stem}"
    return Chapter(
        path=Path(path), docname=docname, number=number,
        title=title.group(1).strip() if title else Path(path).stem, label=label.group(1) if label else None,
        cells=cells, exercises=tuple(find_exercises(cells, number, docname)),
    )


def find_exercises(cells, chapter_number: int | None, docname: str) -> list[Exercise]:
    """The exercises of a chapter's notebook cells, numbered as the book numbers them."""
    blocks = [(index, block) for index, cell in enumerate(cells) if cell.cell_type == "markdown"
              for block in _directives(cell.source)]
    solutions = {block["argument"]: block["body"] for _, block in blocks if block["name"] == "solution"}
    found = [(index, block) for index, block in blocks if block["name"] == "exercise"]
    exercises, counter = [], 0
    for position, (index, block) in enumerate(found):
        if not block["options"].get("label"):
            raise ValueError(f"{docname}: the exercise {block['argument']!r} has no :label:; "
                             "give it a stable one, e.g. ':label: ex-<chapter>-<name>'.")
        numbered = "nonumber" not in block["options"]
        counter += numbered
        number = (f"{chapter_number}.{counter}" if chapter_number else str(counter)) if numbered else ""
        # The cells after this exercise and before the next one (none if the next shares its cell).
        next_index = found[position + 1][0] if position + 1 < len(found) else len(cells)
        following = cells[index + 1:max(next_index, index + 1)]
        exercises.append(_exercise(block, number, docname, index, following, solutions))
    return exercises


def _exercise(block: dict, number: str, docname: str, cell: int, following, solutions: dict) -> Exercise:
    """One exercise from its directive, the cells that follow it, and the chapter's solutions."""
    label = block["options"]["label"]
    check = next((c for c in following if c.cell_type == "code" and _CHECK_CALL.search(c.source)), None)
    tagged = [c.source for c in following if c.cell_type == "code" and "solution" in c.metadata.get("tags", [])]
    solution = solutions.get(label)
    title, difficulty, minutes = _split_title(block["argument"])
    return Exercise(
        label=label, title=title, difficulty=difficulty, minutes=minutes, body=block["body"].strip("\n"),
        number=number, chapter=docname, cell=cell,
        check_source=check.source if check else None,
        check_function=_CHECK_CALL.search(check.source).group("function") if check else None,
        solution=solution,
        solution_code="\n".join([*(_code_blocks(solution) if solution else []), *tagged]),
    )


def _split_title(argument: str) -> tuple[str, int | None, int | None]:
    """``"Title (★★, 15 min)"`` → ``("Title", 2, 15)``; without the suffix, ``(argument, None, None)``."""
    match = _DIFFICULTY.match(argument)
    if not match:
        return argument.strip(), None, None
    return match.group("title").strip(), len(match.group("stars")), int(match.group("minutes"))


def _directives(text: str) -> list[dict]:
    """The top-level fenced directives of a Markdown text: name, argument, options and body."""
    lines = text.splitlines()
    blocks, index = [], 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        end = _closing_line(lines, index, match.group("fence"))
        directive = re.match(r"\{([\w-]+)\}\s*(.*)", match.group("info"))
        if directive:
            options, body_start = _options(lines, index + 1, end)
            blocks.append({"name": directive.group(1), "argument": directive.group(2).strip(),
                           "options": options, "body": "\n".join(lines[body_start:end])})
        index = end + 1
    return blocks


def _closing_line(lines: list[str], start: int, fence: str) -> int:
    for index in range(start + 1, len(lines)):
        stripped = lines[index].strip()
        if len(stripped) >= len(fence) and set(stripped) == {fence[0]}:
            return index
    raise ValueError(f"unclosed {fence} block: {lines[start].strip()!r}")


def _options(lines: list[str], start: int, end: int) -> tuple[dict[str, str], int]:
    """The ``:key: value`` lines that open a directive's body, and where the body starts."""
    options, index = {}, start
    while index < end:
        match = re.match(r"^\s*:([\w-]+):\s*(.*?)\s*$", lines[index])
        if not match:
            break
        options[match.group(1)] = match.group(2)
        index += 1
    return options, index


def _code_blocks(text: str) -> list[str]:
    """The contents of the Python code blocks inside a directive body."""
    lines = text.splitlines()
    code, index = [], 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if match:
            end = _closing_line(lines, index, match.group("fence"))
            if match.group("info") in _CODE_FENCE_LANGUAGES:
                body = [line for line in lines[index + 1:end] if not re.match(r"^\s*:[\w-]+:", line)]
                code.append("\n".join(body).strip("\n"))
            index = end
        index += 1
    return code


def check_summary(chapter: Chapter, exercise: Exercise) -> str | None:
    """What an exercise's self-check verifies: its docstring's first line, after ``Exercise ex-...:``.

    The function is looked up the way the chapter imports it (``from vae_lib import checks``,
    ``from vae_lib.exercises import bayes as exercises``), so this imports that module.

    >>> chapter = read_book()[0]
    >>> check_summary(chapter, chapter.exercises[0]).startswith("Exercise")  # the label is cut off
    False
    """
    function = check_function(chapter, exercise)
    if function is None:
        return None
    first = (inspect.getdoc(function) or "").strip().splitlines()
    summary = first[0] if first else ""
    return re.sub(r"^Exercise\s+[\w-]+:\s*", "", summary).strip() or None


def check_function(chapter: Chapter, exercise: Exercise):
    """The self-check function an exercise's check cell calls (``None`` if it cannot be found)."""
    if not exercise.check_function:
        return None
    first, _, rest = exercise.check_function.partition(".")
    bound = imported_names(chapter).get(first)
    if bound is None:
        return None
    return _resolve(f"{bound}.{rest}" if rest else bound)


def _resolve(dotted: str):
    """The object a dotted path names, importing the longest module prefix it starts with."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attribute in parts[cut:]:
            target = getattr(target, attribute, None)
        return target
    return None


def python_source(source: str) -> str:
    """A code cell's source as plain Python (IPython magics such as ``%matplotlib`` turned into calls)."""
    return TransformerManager().transform_cell(source)


def imported_names(chapter: Chapter) -> dict[str, str]:
    """What the chapter's imports bind: ``{"checks": "vae_lib.checks", "np": "numpy", ...}``.

    >>> imported_names(read_book()[0])["np"]
    'numpy'
    """
    names: dict[str, str] = {}
    for cell in chapter.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(python_source(cell.source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    names[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def import_statement(chapter: Chapter, name: str) -> str | None:
    """The import that binds ``name`` as the chapter binds it (``None`` if no import does).

    >>> import_statement(read_book()[0], "exercises")
    'from vae_lib.exercises import bayes as exercises'
    """
    dotted = imported_names(chapter).get(name)
    if dotted is None:
        return None
    module, _, attribute = dotted.rpartition(".")
    if not module:
        return f"import {dotted}" if dotted == name else f"import {dotted} as {name}"
    return f"from {module} import {attribute}" + ("" if attribute == name else f" as {name}")
