"""Assignments: chosen exercises in one notebook, with what they need to run and their self-checks.

    python -m vae_lib.assign --exercises ex-bayes-silence,ex-bayes-grid --out assignment/
    make assignment EXERCISES=ex-bayes-silence,ex-bayes-grid OUT=assignment

writes into the output folder (a new or empty one; ``--force`` replaces the files this command
writes in a folder that has some, and keeps every other file)

- ``assignment.ipynb``: an install cell (``vae_lib`` where it is missing), then for each chapter
  the exercises come from, the setup cells the exercises need (copied from the chapter: its
  imports and the cells defining the names the exercise's self-check and solution use), then
  each exercise with its self-check cell. No solution is copied; the students replace ``None``
  with their computation. The text is portable Markdown (the notebook exporter,
  :mod:`vae_lib._notebook_export`), and each self-check cell imports its own chapter's checks,
  so any check can be run again after a later chapter's setup.
- ``sheet.html`` and ``sheet.pdf``: a printable sheet of the same exercises, math typeset
  (the PDF needs Chromium; without it only the HTML is written, and the command says so).

With ``--format nbgrader`` the output folder is an nbgrader course folder instead, and the command
writes the assignment's source notebook, ``source/<name>/<name>.ipynb`` (``<name>`` from
``--title``), with the book's solutions, hidden tests and points for nbgrader's
``generate_assignment``, ``autograde`` and ``export`` (:mod:`vae_lib._nbgrader_export`;
``--points`` overrides the points table).

With ``--roster roster.csv`` (columns ``id``, ``name``, optionally ``seed``) it writes one
folder per student, ``<id>/assignment.ipynb`` and ``<id>/sheet.html``, each with the student's
own variant of every exercise that has variants (:mod:`vae_lib.variants`), and
``assignment.json``, the exercises that ``python -m vae_lib.grade`` grades.

With ``--lang zh_CN`` everything a student reads is in Chinese: the statements, titles and hints
from the chapters' page catalogues (the ones the Chinese edition is built from;
:mod:`vae_lib._exercise_language`, which also renders a student's variant into the translated
statement), the notebook's and the sheet's own words through :func:`vae_lib.i18n.tr`, and the
self-checks, because the notebook's second cell sets ``VAE_LIB_LANG`` before ``vae_lib`` is
imported (a plain ``os.environ`` line, so it works in Jupyter, Colab and VS Code alike).

Which cells an exercise needs is found by reading the chapter's code (see :func:`context_cells`),
so an assignment stays right as chapters change. The exercise labels are listed in the book's
exercise index and by ``python -m vae_lib.assign --list``.
"""

from __future__ import annotations

import argparse
import ast
import builtins
import dataclasses
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from vae_lib import _assignment_sheet, _exercise_language, _nbgrader_export, variants
from vae_lib._atomic_files import atomic_write
from vae_lib._book_sources import REPO, Chapter, Exercise, import_statement, python_source, read_book
from vae_lib.i18n import LANGUAGES, normalize_language, tr
from vae_lib._notebook_export import META, book_links, export_markdown, install_requirement, new_notebook

__all__ = ["Assignment", "select", "localized", "context_cells", "assignment_notebook", "write_assignment",
           "write_nbgrader_source", "prepare_output_folder", "OutputFolderError", "WRITTEN_FILES",
           "write_roster_assignments", "main"]

#: The files an assignment folder gets (``--force`` replaces these, and only these).
WRITTEN_FILES = ("assignment.ipynb", "sheet.html", "sheet.pdf", "sheet.source.html")


@dataclass(frozen=True)
class Assignment:
    """The chosen exercises, in the order given, with the chapters they come from."""

    title: str
    exercises: tuple[Exercise, ...]
    chapters: dict[str, Chapter]
    repo: Path = REPO
    #: The language the students read (``"en"`` or ``"zh_CN"``).
    language: str = "en"

    def chapter_of(self, exercise: Exercise) -> Chapter:
        return self.chapters[exercise.chapter]


def select(labels: list[str], *, title: str | None = None, repo: Path = REPO, language: str = "en") -> Assignment:
    """Look up exercises by label in the book; a clear error names any unknown or repeated label.

    >>> select(["ex-bayes-grid"]).exercises[0].chapter
    'chapters/01_bayes'
    """
    chapters = {chapter.docname: chapter for chapter in read_book(repo)}
    known = {exercise.label: exercise for chapter in chapters.values() for exercise in chapter.exercises}
    unknown = [label for label in labels if label not in known]
    if unknown:
        raise ValueError(f"Unknown exercise label(s): {', '.join(unknown)}.\n"
                         "List the labels with `python -m vae_lib.assign --list` (or see the book's exercise index).")
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise ValueError(f"Exercise(s) listed twice: {', '.join(repeated)}. Name each once.")
    if not labels:
        raise ValueError("No exercises chosen: pass --exercises ex-a,ex-b.")
    chosen = normalize_language(language)
    if chosen not in LANGUAGES:
        raise ValueError(f"--lang {language}: the assignments speak {', '.join(LANGUAGES)}.")
    return Assignment(title or tr("Assignment", language=chosen), tuple(known[label] for label in labels),
                      chapters, Path(repo), chosen)


def localized(assignment: Assignment, student=None) -> Assignment:
    """The assignment with its statements in its language and, for a ``student`` of a roster, with
    the student's variant of each exercise that has variants (:mod:`vae_lib.variants`)."""
    exercises = []
    for exercise in assignment.exercises:
        variant = variants.variant_of(exercise.label) if student is not None else None
        key = variants.key_for(student, exercise.label) if variant is not None else None
        exercises.append(_exercise_language.localized_exercise(exercise, assignment.language, assignment.repo,
                                                               variant=variant, key=key))
    return dataclasses.replace(assignment, exercises=tuple(exercises))


# ------------------------------------------------------------------- which cells are needed

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda,
           ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _bound(statement: ast.stmt) -> set[str]:
    """Names a top-level statement binds in the cell's (global) scope."""
    names, stack = set(), [statement]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {alias.asname or alias.name.split(".")[0] for alias in node.names}
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        if not isinstance(node, _SCOPES):
            stack.extend(ast.iter_child_nodes(node))
    return names


def _read(statement: ast.stmt) -> set[str]:
    """Names a top-level statement reads from before it (names local to it left out)."""
    if isinstance(statement, (ast.Assign, ast.AnnAssign)) and statement.value is not None:
        # `x = x + 1` reads the x defined before it; `d[k] = v` reads d.
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        return _loads(statement.value) | set().union(*(_loads(target) for target in targets))
    if isinstance(statement, ast.AugAssign):
        return _loads(statement.value) | _loads(statement.target) | {getattr(statement.target, "id", "")}
    # Inside loops and branches: names bound there are local to the statement, except the
    # targets of `total += ...`, which read the value from before.
    updated = {node.target.id for node in ast.walk(statement)
               if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name)}
    return (_loads(statement) - _bound(statement)) | updated


def _loads(node: ast.AST) -> set[str]:
    """Names read in ``node``, leaving out those local to functions and comprehensions inside it."""
    loads = {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    local = set()
    for scope in ast.walk(node):
        if isinstance(scope, _SCOPES):
            local |= {arg.arg for arg in ast.walk(scope) if isinstance(arg, ast.arg)}
            local |= {n.id for n in ast.walk(scope) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    return loads - local


def cell_names(source: str) -> tuple[set[str], set[str]]:
    """(names a code cell defines, names it uses that must be defined before it).

    >>> defined, needed = cell_names("import numpy as np\\nx = np.ones(3)\\ny = x + z")
    >>> sorted(defined), sorted(needed)
    (['np', 'x', 'y'], ['z'])
    """
    try:
        tree = ast.parse(python_source(source))
    except SyntaxError:
        return set(), set()
    defined: set[str] = set()
    needed: set[str] = set()
    for statement in tree.body:
        needed |= _read(statement) - defined
        defined |= _bound(statement)
    return defined, needed - set(dir(builtins)) - {"get_ipython"}


def context_cells(chapter: Chapter, exercises: list[Exercise]) -> list[int]:
    """Indexes of the chapter's code cells the exercises need, in chapter order.

    The chapter's first code cell (its imports) always; then, for every name that an
    exercise's self-check or solution code uses, the last code cell before the exercise that
    defines it, and in turn the cells those need. Names in the exercise's text are not
    followed: a statement that mentions `model` does not need the cells that train one unless
    its solution uses it. Self-check cells and cells tagged ``solution`` are never copied.
    """
    excluded = {index for exercise in chapter.exercises for index, cell in enumerate(chapter.cells)
                if cell.cell_type == "code" and cell.source == exercise.check_source}
    code = {index: cell_names(cell.source) for index, cell in enumerate(chapter.cells)
            if cell.cell_type == "code" and index not in excluded
            and "solution" not in cell.metadata.get("tags", [])}
    if not code:
        return []
    chosen = {min(code)}
    wanted = [(name, min(code)) for name in code[min(code)][1]]
    for exercise in exercises:
        uses: set[str] = set()
        for source in (exercise.check_source or "", exercise.solution_code):
            uses |= cell_names(source)[1]
        wanted += [(name, exercise.cell) for name in uses]
    while wanted:
        name, before = wanted.pop()
        definers = [index for index, (defined, _) in code.items() if index < before and name in defined]
        if definers and max(definers) not in chosen:
            chosen.add(max(definers))
            wanted += [(used, max(definers)) for used in code[max(definers)][1]]
    return sorted(chosen)


# ------------------------------------------------------------------- the notebook

def _blocks(exercises: tuple[Exercise, ...]) -> list[list[Exercise]]:
    """Consecutive exercises of the same chapter, together (one setup per block)."""
    blocks: list[list[Exercise]] = []
    for exercise in exercises:
        if blocks and blocks[-1][0].chapter == exercise.chapter:
            blocks[-1].append(exercise)
        else:
            blocks.append([exercise])
    return blocks


def _introduction(assignment: Assignment) -> str:
    language = assignment.language
    listed = "\n".join(f"- {_exercise_language.exercise_heading(exercise, language, assignment.repo)}"
                       for exercise in assignment.exercises)
    return (f"# {assignment.title}\n\n{listed}\n\n"
            + tr("Run the cells from the top: the first one installs the book's library, `vae_lib`, where it is "
                 "missing, and the setup cells copied from the book's chapters define what the exercises use. Each "
                 "exercise is followed by a **self-check** cell: replace `None` with your computation and run it. "
                 "The check says whether your answer is right and, if not, what kind of mistake it looks like, "
                 "without giving the answer away.", language=language))


def _language_cell(language: str) -> nbformat.NotebookNode:
    """The cell that makes the self-checks answer in ``language``: before any import of vae_lib."""
    comment = tr("The self-checks answer in the assignment's language (set before vae_lib is imported).",
                 language=language)
    return nbformat.v4.new_code_cell(f'import os\nos.environ["VAE_LIB_LANG"] = "{language}"  # {comment}',
                                     id="language", metadata={META: {"role": "language", "language": language}})


def assignment_notebook(assignment: Assignment, *, requirement: str | None = None) -> nbformat.NotebookNode:
    """The assignment as a notebook: install cell, introduction, then per chapter block its setup and exercises.

    ``requirement`` is what the install cell installs (default: from ``book/_config.yml``). The
    statements are written as they are in ``assignment.exercises`` (:func:`localized` puts them in
    the assignment's language); the headings and the notebook's own words are made here in it.
    """
    language = assignment.language
    links = _exercise_language.localized_links(book_links(assignment.repo), language, assignment.repo)
    cells = [nbformat.v4.new_markdown_cell(_introduction(assignment), id="introduction")]
    if language != "en":
        cells.append(_language_cell(language))
    for number, block in enumerate(_blocks(assignment.exercises), start=1):
        chapter = assignment.chapter_of(block[0])
        title = _exercise_language.chapter_title(chapter, language, assignment.repo)
        where = (tr("Setup from Chapter {number}:", language=language, number=chapter.number) if chapter.number
                 else tr("Setup from the chapter:", language=language))
        cells.append(nbformat.v4.new_markdown_cell(
            f"## {_exercise_language.join_label(where, title)}\n\n"
            + tr("These cells are copied from the chapter: run them first, they define what the exercises below use.",
                 language=language), id=f"setup-{number}"))
        for index in context_cells(chapter, block):
            source = chapter.cells[index]
            cells.append(nbformat.v4.new_code_cell(
                source.source, id=f"setup-{number}-{index}",
                metadata={**source.metadata, META: {"role": "setup", "chapter": chapter.docname}}))
        for exercise in block:
            cells += _exercise_cells(exercise, chapter, links, language, assignment.repo)
    return new_notebook(cells, requirement=install_requirement(assignment.repo) if requirement is None else requirement,
                        metadata={META: {"title": assignment.title,
                                         "exercises": [exercise.label for exercise in assignment.exercises]}})


def _check_source(exercise: Exercise, chapter: Chapter, language: str = "en") -> str:
    """The self-check cell, led by the import of its own chapter's checks.

    A later chapter's setup binds the same name (``exercises``) to its own checks; with the
    import in the cell, going back to an earlier exercise still runs the right check.
    """
    alias = (exercise.check_function or "").partition(".")[0]
    statement = import_statement(chapter, alias) if alias else None
    if statement is None or statement in exercise.check_source:
        return exercise.check_source
    comment = tr("this exercise's self-check", language=language)
    return f"{statement}  # {comment}\n{exercise.check_source}"


def _exercise_cells(exercise: Exercise, chapter: Chapter, links, language: str = "en", repo: Path = REPO) -> list:
    text = export_markdown(exercise.body, links, keep_solutions=False, where=f"{chapter.path.name}: {exercise.label}")
    heading = _exercise_language.exercise_heading(exercise, language, repo)
    cells = [nbformat.v4.new_markdown_cell(
        f"## {heading}\n\n{text}", id=exercise.label,
        metadata={META: {"role": "exercise", "exercise": exercise.label}})]
    if exercise.check_source:
        cells.append(nbformat.v4.new_code_cell(_check_source(exercise, chapter, language), id=f"{exercise.label}-check",
                                               metadata={META: {"role": "self-check", "exercise": exercise.label}}))
    else:
        cells.append(nbformat.v4.new_code_cell("# " + tr("Your answer here.", language=language), id=f"{exercise.label}-answer",
                                               metadata={META: {"role": "answer", "exercise": exercise.label}}))
    return cells


# ------------------------------------------------------------------- writing

class OutputFolderError(ValueError):
    """The output folder cannot be used (a file, under a file, not writable, or holding files)."""


def prepare_output_folder(out: Path, *, force: bool = False) -> Path:
    """Check (and create) the folder an assignment is written into, before anything is written.

    A new or empty folder is used as it is. A folder that holds files (say, a lecturer's edited
    assignment) is refused unless ``force``; with ``force`` the files this command writes
    (:data:`WRITTEN_FILES`) are removed first, so no stale ``sheet.pdf`` survives, and every
    other file is kept.

    Raises:
        OutputFolderError: with a one-line message that says what to do.
    """
    out = Path(out).expanduser()
    if out.exists() and not out.is_dir():
        raise OutputFolderError(f"--out {out} is a file; name a folder (a new one, or an empty one).")
    blocking = next((parent for parent in out.parents if parent.exists() and not parent.is_dir()), None)
    if blocking is not None:
        raise OutputFolderError(f"--out {out}: {blocking} is a file, not a folder; name a folder elsewhere.")
    if out.is_dir():
        present = sorted(path.name for path in out.iterdir())
        if present and not force:
            shown = ", ".join(present[:4]) + (", ..." if len(present) > 4 else "")
            raise OutputFolderError(f"--out {out} already holds files ({shown}); name a new folder, or pass --force "
                                    f"to replace the assignment's own files there ({', '.join(WRITTEN_FILES[:3])}).")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".vae-assign-{os.getpid()}.probe"
        probe.write_bytes(b"")
        probe.unlink()
        for name in WRITTEN_FILES:
            (out / name).unlink(missing_ok=True)
    except OSError as error:
        raise OutputFolderError(f"--out {out} cannot be written ({error.strerror or error}); "
                                "name a folder you can write to.") from None
    return out


def write_assignment(assignment: Assignment, out: Path, *, pdf: bool = True, force: bool = False) -> list[Path]:
    """Write the notebook and the sheet into ``out``; return the files written.

    ``out`` is checked first (:func:`prepare_output_folder`): nothing is written when it cannot be used.
    """
    out = prepare_output_folder(out, force=force)
    assignment = localized(assignment)
    notebook = assignment_notebook(assignment)
    nbformat.validate(notebook)
    written = [out / "assignment.ipynb"]
    atomic_write(written[0], lambda stream: stream.write(nbformat.writes(notebook).encode("utf-8")))
    exercises = [(exercise, assignment.chapter_of(exercise)) for exercise in assignment.exercises]
    written += _assignment_sheet.write_sheet(assignment.title, exercises, book_links(assignment.repo), out, pdf=pdf,
                                             language=assignment.language, repo=assignment.repo)
    return written


def write_nbgrader_source(assignment: Assignment, course: Path, *, points: str | None = None,
                          force: bool = False) -> list[Path]:
    """Write the assignment as an nbgrader source notebook into the course folder ``course``.

    The notebook goes to ``course/source/<name>/<name>.ipynb`` (:mod:`vae_lib._nbgrader_export`);
    a folder ``source/<name>/`` that holds files is refused unless ``force``, and the rest of the
    course folder (other assignments, nbgrader's database and configuration) is left alone.
    """
    name = _nbgrader_export.assignment_name(assignment.title)
    points_table = _nbgrader_export.Points.parse(points)
    path = _nbgrader_export.source_path(course, name)
    _nbgrader_export.prepare_source_folder(path, force=force)
    assignment = localized(assignment)
    notebook = _nbgrader_export.nbgrader_notebook(
        assignment_notebook(assignment), [(exercise, assignment.chapter_of(exercise)) for exercise in assignment.exercises],
        title=assignment.title, links=book_links(assignment.repo), points=points_table)
    return [_nbgrader_export.write_source_notebook(notebook, path)]


def write_roster_assignments(assignment: Assignment, students: list, out: Path, *, pdf: bool = True,
                             force: bool = False) -> list[Path]:
    """One folder per student under ``out``, with the student's variant (:mod:`vae_lib.variants`),
    and ``out/assignment.json`` naming the exercises; return the files written."""
    out = prepare_output_folder(out, force=force)
    manifest = out / "assignment.json"
    atomic_write(manifest, lambda stream: stream.write(json.dumps(
        {"title": assignment.title, "exercises": [exercise.label for exercise in assignment.exercises],
         "students": [student.id for student in students]}, indent=1).encode("utf-8")))
    written = [manifest]
    for student in students:
        own = dataclasses.replace(localized(assignment, student), title=f"{assignment.title}: {student.name or student.id}")
        folder = prepare_output_folder(out / student.id, force=force)
        notebook = _in_language(variants.personalize(assignment_notebook(own), student), student, own.language)
        atomic_write(folder / "assignment.ipynb", lambda stream: stream.write(nbformat.writes(notebook).encode("utf-8")))
        exercises = [(exercise, own.chapter_of(exercise)) for exercise in own.exercises]
        written += [folder / "assignment.ipynb",
                    *_assignment_sheet.write_sheet(own.title, exercises, book_links(own.repo), folder, pdf=pdf,
                                                   language=own.language, repo=own.repo)]
    return written


def _in_language(notebook: nbformat.NotebookNode, student, language: str) -> nbformat.NotebookNode:
    """A personalized notebook (:func:`vae_lib.variants.personalize`, which writes English) with the
    cells it adds in ``language``: the student's line, the data cells' comment, the written answers."""
    if language == "en":
        return notebook
    who = f"{student.name} ({student.id})" if student.name else student.id
    for cell in notebook.cells:
        role = cell.metadata.get(META, {}).get("role")
        if role == "written-answer" and cell.source == variants.WRITTEN_PLACEHOLDER:
            cell.source = _exercise_language.written_placeholder(language)
        elif cell.get("id") == "student":
            cell.source = tr("**Student:** {who}. These exercises are your own variant: use the numbers stated "
                             "here, not the chapter's.", language=language, who=who)
        elif role == "data":
            first, _, rest = cell.source.partition("\n")
            cell.source = "# " + tr("Your data for this exercise (it replaces the chapter's values of these names)",
                                    language=language) + "\n" + rest
    return notebook


def _list_exercises(repo: Path) -> str:
    lines = []
    for chapter in read_book(repo):
        for exercise in chapter.exercises:
            check = "self-check" if exercise.check_source else "no self-check"
            lines.append(f"{exercise.label:<32} {exercise.heading}  [{check}]")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """The command line: ``python -m vae_lib.assign --exercises ex-a,ex-b --out DIR [--force]``."""
    parser = argparse.ArgumentParser(prog="python -m vae_lib.assign", description=__doc__.split("\n\n")[0])
    parser.add_argument("--exercises", help="comma-separated exercise labels, e.g. ex-bayes-silence,ex-bayes-grid")
    parser.add_argument("--out", type=Path, help="the folder to write into (a new or empty one)")
    parser.add_argument("--force", action="store_true",
                        help="write into a folder that holds files: replace the assignment's own files there, keep the rest")
    parser.add_argument("--title", help="the title of the notebook and the sheet (default: Assignment, in --lang)")
    parser.add_argument("--no-pdf", action="store_true", help="write the HTML sheet only")
    parser.add_argument("--roster", type=Path,
                        help="a CSV file (id, name, optionally seed): one notebook and sheet per student, "
                             "each with the student's own variant")
    parser.add_argument("--lang", default="en", choices=LANGUAGES,
                        help="the language the students read: statements, sheet and self-checks (default: en)")
    parser.add_argument("--list", action="store_true", help="list every exercise of the book and exit")
    parser.add_argument("--format", choices=("notebook", "nbgrader"), default="notebook",
                        help="notebook: a notebook and a sheet; nbgrader: the source notebook of an nbgrader course "
                             "folder, OUT/source/NAME/NAME.ipynb (NAME from --title)")
    parser.add_argument("--points", help="nbgrader points, overriding the table: e.g. 3=5,written=2,ex-bayes-grid=4")
    parser.add_argument("--repo", type=Path, default=REPO, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.list:
        print(_list_exercises(args.repo))
        return 0
    if not args.exercises or not args.out:
        parser.error("give --exercises ex-a,ex-b and --out DIR (or --list to see the labels)")
    if args.points and args.format != "nbgrader":
        parser.error("--points sets nbgrader points: add --format nbgrader")
    try:
        # nbgrader names the assignment's folder after the title: an English default keeps it a plain name.
        title = args.title or ("Assignment" if args.format == "nbgrader" else None)
        assignment = select([label.strip() for label in args.exercises.split(",") if label.strip()],
                            title=title, repo=args.repo, language=args.lang)
        if args.format == "nbgrader":
            if args.roster:
                raise ValueError("--roster writes one notebook per student; nbgrader's assignments are one source "
                                 "notebook for the class: leave out --format nbgrader or --roster")
            written = write_nbgrader_source(assignment, args.out, points=args.points, force=args.force)
        else:
            students = variants.read_roster(args.roster) if args.roster else None
            prepare_output_folder(args.out, force=args.force)  # before the (slow) notebook and sheet
            if students is not None:
                written = write_roster_assignments(assignment, students, args.out, pdf=not args.no_pdf, force=True)
            else:
                written = write_assignment(assignment, args.out, pdf=not args.no_pdf, force=True)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: could not write the assignment into {args.out}: {error.strerror or error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
