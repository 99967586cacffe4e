"""An assignment as an nbgrader *source* notebook (``python -m vae_lib.assign --format nbgrader``).

nbgrader (https://nbgrader.readthedocs.io) runs a course from a folder: the lecturer writes
``source/<assignment>/<assignment>.ipynb`` with solutions and tests in it, and
``nbgrader generate_assignment`` makes the students' copy from it (solutions and hidden tests cut
out), ``autograde`` re-runs each submission with the tests put back, ``formgrader`` shows the
written answers for grading by hand, and ``export`` writes the grades CSV. This module turns the
notebook :func:`vae_lib.assign.assignment_notebook` builds into such a source notebook, cell by
cell, through the cell metadata nbgrader reads (``metadata.nbgrader``, schema version 3):

========================  =======================================================================
cell                      nbgrader kind (``solution`` / ``grade`` / ``locked``, points)
========================  =======================================================================
install, introduction,    read-only (``locked``): restored from the source on autograding, so a
setup, exercise text      student's edits to them cannot change what the tests see
answer (code)             autograded answer (``solution``): ``my_answer = None``, then the book's
                          solution code between ``### BEGIN SOLUTION`` and ``### END SOLUTION``,
                          which ``generate_assignment`` replaces by nbgrader's code stub
self-check                read-only: the book's self-check call, for the student to run
test                      autograder test (``grade``, ``locked``, the exercise's points): the
                          exercise's check run on ``my_answer`` as an ``assert``, between
                          ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` (cut from the
                          students' copy, put back by ``autograde``)
written answer (Markdown) manually graded answer (``solution`` and ``grade``), for each exercise
                          that asks for an explanation (:func:`asks_for_explanation`); the book's
                          solution prose is kept as the reference answer between solution markers
========================  =======================================================================

Points (:class:`Points`) come from an exercise's difficulty, in this table, and can be
overridden from the command line (``--points 3=5,written=2,ex-bayes-grid=4``):

=============================  ======
part                           points
=============================  ======
autograded answer, ★           1
autograded answer, ★★          2
autograded answer, ★★★         3
no difficulty given            1
each written explanation       1
=============================  ======

An exercise without a self-check becomes one written answer, graded by hand, worth its
difficulty's points.

nbgrader itself is not needed to write the notebook (it is the optional extra ``grading``);
``tests/test_nbgrader_export.py`` runs nbgrader's own commands on what this writes.

>>> Points().autograded_points(2), Points.parse("2=5,written=0.5").autograded_points(2)
(2.0, 5.0)
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from vae_lib._atomic_files import atomic_write
from vae_lib._book_sources import Chapter, Exercise, check_function, python_source
from vae_lib._myst_markdown import Links
from vae_lib._notebook_export import META, export_markdown

__all__ = ["Points", "POINTS_BY_DIFFICULTY", "WRITTEN_POINTS", "UNRATED_POINTS", "asks_for_explanation",
           "assignment_name", "nbgrader_notebook", "prepare_source_folder", "write_source_notebook", "source_path",
           "SCHEMA_VERSION"]

#: Points of an exercise's autograded answer, by its difficulty (stars).
POINTS_BY_DIFFICULTY = {1: 1.0, 2: 2.0, 3: 3.0}
#: Points of an exercise whose title gives no difficulty.
UNRATED_POINTS = 1.0
#: Points of each written explanation (graded by hand).
WRITTEN_POINTS = 1.0
#: The version of nbgrader's cell metadata this module writes.
SCHEMA_VERSION = 3

# nbgrader's delimiters (its defaults): a line holding one of these words starts or ends a region.
_BEGIN_SOLUTION, _END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
_BEGIN_HIDDEN, _END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
_DELIMITER_WORDS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
                    "BEGIN MARK SCHEME", "END MARK SCHEME")

#: What marks an exercise that asks for a written explanation besides its number.
_EXPLANATION = re.compile(r"\b(explain|why)\b", re.IGNORECASE)
_CODE_FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*\S*")


@dataclass(frozen=True)
class Points:
    """How many points each part of an exercise is worth (the table in the module's docstring).

    Attributes:
        by_difficulty: points of the autograded answer, by the number of stars.
        unrated: points of the autograded answer of an exercise without a difficulty.
        written: points of each written explanation.
        by_exercise: points of one exercise's autograded answer, by label (wins over the rest).
    """

    by_difficulty: dict[int, float] = field(default_factory=lambda: dict(POINTS_BY_DIFFICULTY))
    unrated: float = UNRATED_POINTS
    written: float = WRITTEN_POINTS
    by_exercise: dict[str, float] = field(default_factory=dict)

    @classmethod
    def parse(cls, spec: str | None) -> Points:
        """Points from ``"KEY=N,KEY=N"``: KEY is a difficulty (``2`` or ``★★``), ``written`` or an exercise label.

        >>> points = Points.parse("★★★=5, written=2, ex-bayes-grid=4")
        >>> points.by_difficulty[3], points.written, points.by_exercise
        (5.0, 2.0, {'ex-bayes-grid': 4.0})
        >>> Points.parse("hard=5")
        Traceback (most recent call last):
        ...
        ValueError: --points: 'hard' is neither a difficulty (1, 2, 3 or ★, ★★, ★★★), 'written', nor an exercise label (ex-...).
        """
        points = cls()
        for item in filter(None, (part.strip() for part in (spec or "").split(","))):
            key, equals, value = (text.strip() for text in item.partition("="))
            if not equals:
                raise ValueError(f"--points: {item!r} is not KEY=N (e.g. 2=3, written=1, ex-bayes-grid=4).")
            try:
                number = float(value)
            except ValueError:
                raise ValueError(f"--points: {value!r} (for {key}) is not a number.") from None
            if not number >= 0 or number == float("inf"):
                raise ValueError(f"--points: {key}={value}: points are a finite number, 0 or more.")
            if key in {"1", "2", "3"} or (key and set(key) == {"★"} and len(key) <= 3):
                points.by_difficulty[int(key) if key.isdigit() else len(key)] = number
            elif key == "written":
                object.__setattr__(points, "written", number)
            elif key.startswith("ex-"):
                points.by_exercise[key] = number
            else:
                raise ValueError(f"--points: {key!r} is neither a difficulty (1, 2, 3 or ★, ★★, ★★★), "
                                 "'written', nor an exercise label (ex-...).")
        return points

    def autograded_points(self, difficulty: int | None, label: str = "") -> float:
        """Points of an exercise's autograded answer."""
        if label in self.by_exercise:
            return self.by_exercise[label]
        return float(self.by_difficulty.get(difficulty, self.unrated) if difficulty else self.unrated)


def asks_for_explanation(exercise: Exercise) -> bool:
    """Whether an exercise asks for a written explanation ("explain", "why") besides its number.

    Such an exercise gets a manually graded answer cell in the nbgrader export.

    >>> from vae_lib._book_sources import read_book
    >>> [e.label for e in read_book()[0].exercises if asks_for_explanation(e)]
    ['ex-bayes-loaded-die']
    """
    return bool(_EXPLANATION.search(exercise.body))


def assignment_name(title: str) -> str:
    """The assignment's name in nbgrader's folders: the title in lower case, words joined by ``-``.

    >>> assignment_name("Homework 1: Bayes' rule"), assignment_name("ps1")
    ('homework-1-bayes-rule', 'ps1')
    """
    name = re.sub(r"[^a-z0-9_]+", "-", title.lower().replace("'", "")).strip("-_")
    if not name:
        raise ValueError(f"The title {title!r} gives no assignment name: use letters or digits (e.g. --title ps1).")
    return name


def source_path(course: Path, name: str) -> Path:
    """Where nbgrader expects the source notebook: ``course/source/<name>/<name>.ipynb``."""
    return Path(course) / "source" / name / f"{name}.ipynb"


# ------------------------------------------------------------------- cells

def _nbgrader(grade_id: str, *, solution: bool = False, grade: bool = False, locked: bool = False,
              points: float | None = None) -> dict:
    meta = {"schema_version": SCHEMA_VERSION, "grade": grade, "solution": solution, "locked": locked,
            "grade_id": grade_id}
    if grade:
        meta["points"] = points
    return meta


def _locked(cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
    cell = copy.deepcopy(cell)
    cell.metadata["nbgrader"] = _nbgrader(cell.id, locked=True)
    return cell


def _split_check_cell(source: str, function: str) -> tuple[str, str]:
    """(the lines that set up the answer, the lines that import and run the self-check).

    >>> _split_check_cell("from m import c as checks\\nmy_answer = None  # replace\\nchecks.check_x(my_answer)",
    ...                   "checks.check_x")
    ('my_answer = None  # replace', 'from m import c as checks\\nchecks.check_x(my_answer)')
    """
    lines = source.splitlines()
    to_check: set[int] = set()
    for statement in ast.parse(python_source(source)).body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)) or _calls(statement, function):
            to_check.update(range(statement.lineno - 1, statement.end_lineno))
    answer = [line for number, line in enumerate(lines) if number not in to_check]
    return "\n".join(answer).strip("\n"), "\n".join(lines[number] for number in sorted(to_check))


def _calls(statement: ast.stmt, function: str) -> bool:
    """Whether a statement is a bare call of ``function`` (``checks.check_x(my_answer)``)."""
    return (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)
            and ast.unparse(statement.value.func) == function)


def _without_check_calls(code: str, function: str) -> str:
    """The solution's code without its calls of the self-check (the self-check cell runs it)."""
    lines = code.splitlines()
    try:
        tree = ast.parse(python_source(code))
    except SyntaxError:
        return code
    drop = {number for statement in tree.body if _calls(statement, function)
            for number in range(statement.lineno - 1, statement.end_lineno)}
    return "\n".join(line for number, line in enumerate(lines) if number not in drop).strip("\n")


def _answer_variable(check_source: str, function: str) -> str:
    """The name the self-check is called on (``my_answer``)."""
    for statement in ast.parse(python_source(check_source)).body:
        if _calls(statement, function) and statement.value.args and isinstance(statement.value.args[0], ast.Name):
            return statement.value.args[0].id
    raise ValueError(f"the self-check {function}(...) is not called on a variable; nbgrader's test needs one")


def _prose(solution: str | None) -> str:
    """A solution's text without its code blocks (the reference answer for a written explanation)."""
    kept, fence = [], None
    for line in (solution or "").splitlines():
        match = _CODE_FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)
        elif fence is not None and line.strip().startswith(fence) and set(line.strip()) == {fence[0]}:
            fence = None
        elif fence is None:
            kept.append(line)
    return "\n".join(kept).strip()


def _no_delimiters(text: str, where: str) -> str:
    found = [word for word in _DELIMITER_WORDS if word in text]
    if found:
        raise ValueError(f"{where} holds nbgrader's delimiter {found[0]!r}, which would cut the cell; reword it.")
    return text


def _points_line(auto: float, written: float | None) -> str:
    if written is None:
        return f"**Points:** {_points(auto)}, autograded."
    return (f"**Points:** {_number(auto + written)}: {_points(auto)} autograded, "
            f"{_points(written)} for the explanation, graded by hand.")


def _number(value: float) -> str:
    return f"{value:g}"


def _points(value: float) -> str:
    """``"1 point"``, ``"2 points"``, ``"0.5 points"``."""
    return f"{_number(value)} point{'' if value == 1 else 's'}"


def _check_binding(chapter: Chapter, exercise: Exercise, self_check: str) -> str:
    """The hidden test's first lines: bind ``_check`` to the exercise's check, imported afresh.

    A check function of a module is imported from it by name (a student's reassignment of
    ``exercises`` does not reach it); a check the chapter defines itself is bound as the
    self-check cell calls it.
    """
    checker = check_function(chapter, exercise)
    module, name = getattr(checker, "__module__", None), getattr(checker, "__qualname__", None)
    if module and name and name.isidentifier():
        return f"from {module} import {name} as _check"
    imports = [line for line in self_check.splitlines() if not line.lstrip().startswith(exercise.check_function or "")]
    return "\n".join([*imports, f"_check = {exercise.check_function}"])


def _exercise_cells(exercise: Exercise, chapter: Chapter, check_cell, points: Points, links: Links) -> list:
    """The cells that replace one exercise's self-check cell: answer, self-check, test, written answer."""
    function = exercise.check_function or ""
    setup, self_check = _split_check_cell(check_cell.source, function)
    variable = _answer_variable(check_cell.source, function)
    solution = _no_delimiters(_without_check_calls(exercise.solution_code, function),
                              f"{exercise.label}'s solution code")
    if not solution.strip():
        raise ValueError(f"{exercise.label} has no solution code: nbgrader's source notebook needs the answer. "
                         "Give the exercise a solution with a code block, or leave it out.")
    auto = points.autograded_points(exercise.difficulty, exercise.label)
    label = exercise.label
    # `my_answer = None` first: a blank answer (nbgrader's stub raises) is None, never the previous exercise's.
    blank = f"{variable} = None  # set {variable} to your result, in place of the two lines below"
    lines = [blank if line.startswith(f"{variable} = None") else line for line in setup.splitlines()]
    answer = "\n".join([*(lines if blank in lines else [blank, *lines]), _BEGIN_SOLUTION, solution, _END_SOLUTION])
    cells = [
        nbformat.v4.new_code_cell(
            answer,
            id=f"{label}-answer",
            metadata={"nbgrader": _nbgrader(f"{label}-answer", solution=True),
                      META: {"role": "answer", "exercise": label}}),
        nbformat.v4.new_code_cell(
            self_check, id=f"{label}-check",
            metadata={"nbgrader": _nbgrader(f"{label}-check", locked=True),
                      META: {"role": "self-check", "exercise": label}}),
        nbformat.v4.new_code_cell(
            f"# Autograded, {_points(auto)}: a hidden test runs this exercise's check on {variable}.\n"
            f"{_BEGIN_HIDDEN}\n"
            f"{_check_binding(chapter, exercise, self_check)}\n"
            f"_verdict = _check({variable})\n"
            f"assert _verdict.correct is True, {f'Exercise {exercise.number}: {variable} does not pass the check.'!r}\n"
            f"del _check, _verdict\n"
            f"{_END_HIDDEN}",
            id=f"{label}-test",
            metadata={"nbgrader": _nbgrader(f"{label}-test", grade=True, locked=True, points=auto),
                      META: {"role": "test", "exercise": label}}),
    ]
    if asks_for_explanation(exercise):
        reference = _no_delimiters(export_markdown(_prose(exercise.solution), links, keep_solutions=True,
                                                   where=f"{chapter.path.name}: {label}'s solution"),
                                   f"{label}'s solution")
        cells.append(nbformat.v4.new_markdown_cell(
            f"**Your explanation** ({_points(points.written)}, graded by hand): write it here, "
            "in words and formulas.\n\n"
            f"<!-- {_BEGIN_SOLUTION[4:]} -->\n"
            f"*Reference answer, from the book's solution (cut from the students' copy):*\n\n{reference}\n"
            f"<!-- {_END_SOLUTION[4:]} -->",
            id=f"{label}-written",
            metadata={"nbgrader": _nbgrader(f"{label}-written", solution=True, grade=True, points=points.written),
                      META: {"role": "written", "exercise": label}}))
    return cells


def _written_only_cells(exercise: Exercise, links: Links, points: Points) -> list:
    """An exercise without a self-check: one answer cell graded by hand, with the solution as reference."""
    label = exercise.label
    reference = _no_delimiters(export_markdown(_prose(exercise.solution), links, keep_solutions=True,
                                               where=f"{label}'s solution"), f"{label}'s solution")
    auto = points.autograded_points(exercise.difficulty, label)
    return [nbformat.v4.new_markdown_cell(
        f"**Your answer** ({_points(auto)}, graded by hand):\n\n"
        f"<!-- {_BEGIN_SOLUTION[4:]} -->\n*Reference answer, from the book's solution:*\n\n{reference}\n"
        f"<!-- {_END_SOLUTION[4:]} -->",
        id=f"{label}-written",
        metadata={"nbgrader": _nbgrader(f"{label}-written", solution=True, grade=True, points=auto),
                  META: {"role": "written", "exercise": label}})]


def _introduction(title: str, exercises: list[Exercise], points: Points) -> str:
    rows = []
    total = 0.0
    for exercise in exercises:
        auto = points.autograded_points(exercise.difficulty, exercise.label)
        written = points.written if exercise.check_source and asks_for_explanation(exercise) else None
        total += auto + (written or 0)
        rows.append(f"| {exercise.heading} | {_number(auto + (written or 0))} |")
    table = "\n".join(["| exercise | points |", "| --- | --- |", *rows, f"| **total** | **{_number(total)}** |"])
    return (f"# {title}\n\n{table}\n\n"
            "Run the cells from the top: the first one installs the book's library, `vae_lib`, where it is "
            "missing, and the setup cells copied from the book's chapters define what the exercises use. "
            "Under each exercise, write your computation in the **answer cell**, in place of the lines "
            "`# YOUR CODE HERE` and `raise NotImplementedError()`, and end it with `my_answer = ...`; then run "
            "the **self-check** cell below it, which says whether your answer is right. Your answers are graded "
            "by hidden tests that run the same checks on `my_answer`, in a fresh run of your notebook from the "
            "top, so make sure it runs from the top without errors. Where an exercise asks you to explain, "
            "write the explanation in the cell that says so: it is graded by hand.")


def nbgrader_notebook(notebook: nbformat.NotebookNode, exercises: list[tuple[Exercise, Chapter]], *,
                      title: str, links: Links, points: Points | None = None) -> nbformat.NotebookNode:
    """The assignment notebook (from :func:`vae_lib.assign.assignment_notebook`) as an nbgrader source notebook.

    Every cell gets nbgrader metadata (see the module's docstring); each self-check cell becomes
    an answer cell holding the book's solution, a read-only self-check and a hidden test, plus a
    manually graded cell where the exercise asks for an explanation.
    """
    points = points or Points()
    by_label = {exercise.label: (exercise, chapter) for exercise, chapter in exercises}
    unknown = sorted(set(points.by_exercise) - set(by_label))
    if unknown:
        raise ValueError(f"--points names exercise(s) not in the assignment: {', '.join(unknown)}.")
    cells = []
    for cell in notebook.cells:
        role = cell.metadata.get(META, {}).get("role")
        label = cell.metadata.get(META, {}).get("exercise")
        if cell.id == "introduction":
            intro = nbformat.v4.new_markdown_cell(_introduction(title, [e for e, _ in exercises], points),
                                                  id="introduction")
            cells.append(_locked(intro))
        elif role == "exercise":
            exercise, _ = by_label[label]
            auto = points.autograded_points(exercise.difficulty, label)
            written = points.written if exercise.check_source and asks_for_explanation(exercise) else None
            line = (_points_line(auto, written) if exercise.check_source
                    else f"**Points:** {_points(auto)}, graded by hand.")
            statement = _locked(cell)
            statement.source = _no_delimiters(f"{cell.source}\n\n{line}", f"{label}'s text")
            cells.append(statement)
        elif role == "self-check":
            exercise, chapter = by_label[label]
            cells += _exercise_cells(exercise, chapter, cell, points, links)
        elif role == "answer":
            cells += _written_only_cells(by_label[label][0], links, points)
        else:
            cells.append(_locked(cell))
            _no_delimiters(cell.source, f"cell {cell.id}")
    result = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(notebook.metadata))
    result.metadata.setdefault(META, {}).update({
        "format": "nbgrader",
        "points": {exercise.label: points.autograded_points(exercise.difficulty, exercise.label)
                   for exercise, _ in exercises},
        "written_points": points.written})
    nbformat.validate(result)
    return result


def prepare_source_folder(path: Path, *, force: bool = False) -> Path:
    """Check (and create) the folder of the source notebook ``path``, before anything is written.

    A new or empty ``source/<name>/`` is used as it is; one that holds files (the same assignment,
    perhaps edited) is refused unless ``force``, which replaces the notebook and keeps the rest.
    The rest of the course folder is never looked at.

    Raises:
        ValueError: with a one-line message that says what to do.
    """
    folder = Path(path).expanduser().parent
    blocking = next((parent for parent in (folder, *folder.parents) if parent.exists() and not parent.is_dir()), None)
    if blocking is not None:
        raise ValueError(f"{blocking} is a file, not a folder; name a course folder elsewhere with --out.")
    present = sorted(child.name for child in folder.iterdir()) if folder.is_dir() else []
    if present and not force:
        shown = ", ".join(present[:4]) + (", ..." if len(present) > 4 else "")
        raise ValueError(f"{folder} already holds an assignment ({shown}); choose another --title, or pass --force "
                         f"to replace {Path(path).name} there.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(f"{folder} cannot be created ({error.strerror or error}); "
                         "name a course folder you can write to.") from None
    return folder


def write_source_notebook(notebook: nbformat.NotebookNode, path: Path) -> Path:
    """Write the source notebook to ``path`` (atomically); return the path."""
    atomic_write(Path(path), lambda stream: stream.write(nbformat.writes(notebook).encode("utf-8")))
    return Path(path)
