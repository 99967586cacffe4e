"""Grading for lecturers: re-execute every submitted notebook, check each answer against the
student's own variant, and write a gradebook and one feedback page per student.

    python -m vae_lib.grade SUBMISSIONS/ --roster roster.csv --assignment hw1 --out grades/

``SUBMISSIONS/`` holds one notebook per student, named by the roster id: ``s001.ipynb``, or a
folder ``s001/`` with one ``.ipynb`` in it. ``--assignment`` is the folder ``python -m
vae_lib.assign --roster`` wrote (its ``assignment.json`` names the exercises); ``--exercises
ex-a,ex-b`` names them instead. For every student of the roster:

1. the notebook is executed again from the top in a fresh kernel (saved outputs are never
   read), in a temporary folder, each cell within ``--timeout`` seconds;
2. after each exercise's self-check cell, a probe reads the answer the cell passed to its check;
3. the answer is checked here, on the lecturer's side, against the student's variant recomputed
   from the roster (the variant a notebook names is only compared with it, never used);
4. each exercise gets a row of ``gradebook.csv``: student, name, exercise, points, max_points,
   verdict, mistake (the known mistake the check named, or what else was wrong), detail;
5. ``feedback/<id>.html`` shows the student each verdict and the written answers, which are
   collected there for grading by hand.

Verdicts: ``correct``, ``wrong``, ``blank`` (still ``None``), ``error`` (the self-check cell
raised), ``timeout`` (a cell ran past the limit; exercises after it were not reached),
``not run`` (the kernel died or an earlier failure stopped the run), ``missing`` (the self-check
cell was deleted), ``not a notebook``, ``no submission``. A submission that fails in any of
these ways gets its rows; nothing stops the batch. Points come from an exercise's difficulty
(one per star) unless ``--points ex-a=3,ex-b=1`` says otherwise; a right answer earns them all.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import csv
import html
import io
import json
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from vae_lib._atomic_files import atomic_write
from vae_lib._book_sources import REPO, Exercise, import_statement, read_book
from vae_lib._notebook_export import META
from vae_lib.checks import checks_by_exercise
from vae_lib._exercise_language import written_placeholders
from vae_lib.i18n import LANGUAGE_VARIABLE
from vae_lib.variants import RosterError, Student, key_for, read_roster, variant_of

__all__ = ["Row", "grade_submission", "grade_all", "write_gradebook", "points_for", "main", "VERDICTS"]

VERDICTS = ("correct", "wrong", "blank", "error", "timeout", "not run", "missing", "not a notebook",
            "no submission")
GRADEBOOK_COLUMNS = ("student", "name", "exercise", "points", "max_points", "verdict", "mistake", "detail")
_PROBE_MARK = "VAE-GRADE-PROBE "
_PROBE_HELPER = '''\
def __vae_grade_probe(label, read):
    """Print the answer an exercise's self-check was given, as the grader reads it."""
    import json
    import os
    from vae_lib.checks import _as_number
    os.environ["VAE_LIB_LANG"] = "en"  # the probe's problem text goes into the (English) gradebook
    try:
        answer = read()
    except BaseException as error:  # noqa: BLE001 - a probe never raises
        print("%s" + json.dumps({"label": label, "unset": type(error).__name__}))
        return
    if answer is None:
        print("%s" + json.dumps({"label": label, "none": True}))
        return
    value, problem = _as_number(answer)
    print("%s" + json.dumps({"label": label, "value": value.hex(), "problem": problem}))
''' % (_PROBE_MARK, _PROBE_MARK, _PROBE_MARK)


@dataclass
class Row:
    """One line of the gradebook: one student's result on one exercise."""

    student: str
    name: str
    exercise: str
    points: float
    max_points: float
    verdict: str
    mistake: str = ""
    detail: str = ""
    written: str = field(default="", repr=False)


# ------------------------------------------------------------------- the exercises and their checks


def points_for(exercise: Exercise, overrides: dict[str, float]) -> float:
    """The exercise's points: ``overrides[label]``, else one per star of difficulty (1 without stars)."""
    return float(overrides.get(exercise.label, exercise.difficulty or 1))


def _check_functions(exercises: list[Exercise]) -> dict:
    """The self-check function of each exercise, found in its chapter's exercises module."""
    import importlib

    found = {}
    for exercise in exercises:
        module_name = _exercises_module(exercise)
        module = importlib.import_module(module_name)
        found[exercise.label] = checks_by_exercise(module)[exercise.label]
    return found


def _exercises_module(exercise: Exercise) -> str:
    """``vae_lib.exercises.bayes``: the module the exercise's chapter imports its self-checks from."""
    chapter = next(c for c in read_book(_book_repo()) if c.docname == exercise.chapter)
    alias = (exercise.check_function or "").partition(".")[0]
    match = re.match(r"from (vae_lib\.exercises) import (\w+) as \w+$", import_statement(chapter, alias) or "")
    if not match:
        raise ValueError(f"{exercise.label}: its chapter does not import its checks from vae_lib.exercises.")
    return f"{match.group(1)}.{match.group(2)}"


def _book_repo() -> Path:
    return REPO


def _lecturer_verdict(check, exercise: Exercise, student: Student, probe: dict) -> tuple[str, str]:
    """(verdict, mistake) for a probed answer, checked against the student's own variant."""
    if probe.get("none"):
        return "blank", ""
    if "unset" in probe:
        return "blank", f"no answer was set ({probe['unset']})"
    value = float.fromhex(probe["value"])
    if probe.get("problem"):
        return "wrong", probe["problem"]
    key = key_for(student, exercise.label)
    # The gradebook is written in English, whatever language the lecturer's shell (VAE_LIB_LANG)
    # or the submission speaks: the verdict's text is read below ("Not quite." is no known mistake).
    with contextlib.redirect_stdout(io.StringIO()), _english():
        result = check(value, variant=key) if key else check(value)
    if result.correct:
        return "correct", ""
    message = result.message.removeprefix("✗").strip()
    return "wrong", "" if message.startswith("Not quite.") else message


@contextlib.contextmanager
def _english():
    """Make the library's messages in English inside the block (``VAE_LIB_LANG=en``), then restore it."""
    import os

    before = os.environ.get(LANGUAGE_VARIABLE)
    os.environ[LANGUAGE_VARIABLE] = "en"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(LANGUAGE_VARIABLE, None)
        else:
            os.environ[LANGUAGE_VARIABLE] = before


# ------------------------------------------------------------------- reading a submission


def _find_cell(cells, exercise: Exercise, role: str, id_suffix: str) -> int | None:
    """Index of the exercise's cell of ``role`` (by metadata, by id, or for a self-check by its call)."""
    for index, cell in enumerate(cells):
        info = cell.get("metadata", {}).get(META, {})
        if (info.get("exercise") == exercise.label and info.get("role") == role) or \
                cell.get("id") == f"{exercise.label}-{id_suffix}":
            return index
    if role == "self-check" and exercise.check_function:
        name = exercise.check_function.rpartition(".")[2]
        for index, cell in enumerate(cells):
            if cell.get("cell_type") == "code" and re.search(rf"\b{name}\s*\(", cell.get("source", "")):
                return index
    return None


def _answer_expression(source: str, exercise: Exercise) -> str:
    """The expression the self-check cell passes to its check (``my_answer`` when it cannot tell)."""
    name = (exercise.check_function or "").rpartition(".")[2]
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return "my_answer"
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == name \
                and node.args:
            return ast.unparse(node.args[0])
    return "my_answer"


def _named_variant(source: str) -> str | None:
    match = re.search(r"variant\s*=\s*['\"]([0-9a-f]+)['\"]", source)
    return match.group(1) if match else None


def _written_answer(cells, exercise: Exercise) -> str:
    index = _find_cell(cells, exercise, "written-answer", "written")
    if index is None:
        return "(the written-answer cell was deleted)"
    text = cells[index].get("source", "").strip()
    return "" if text == "" or text in written_placeholders() else text


# ------------------------------------------------------------------- executing


def _execute(notebook, timeout: float, workdir: Path) -> str | None:
    """Execute ``notebook`` in place in a fresh kernel; return why it stopped early, or ``None``."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(workdir)}}, startup_timeout=120,
                            record_timing=False, interrupt_on_timeout=False)
    try:
        client.execute()
    except CellTimeoutError:
        return "timeout"
    except DeadKernelError:
        return "the kernel died"
    except Exception as error:  # noqa: BLE001 - any failure of one submission is its own row
        return f"{type(error).__name__}: {str(error).splitlines()[0][:200] if str(error) else ''}"
    return None


def _probe_cell(label: str, expression: str):
    return nbformat.v4.new_code_cell(f"__vae_grade_probe({label!r}, lambda: ({expression}))",
                                     metadata={"vae_grade": "probe"})


def grade_submission(path: Path | None, student: Student, exercises: list[Exercise], *, timeout: float = 120,
                     points: dict[str, float] | None = None, checks: dict | None = None,
                     others: dict | None = None) -> list[Row]:
    """The gradebook rows of one student's submission (``path`` ``None``: nothing was submitted).

    ``others`` maps (exercise label, variant key) to the roster id whose variant it is, to say
    whose notebook a student handed in.
    """
    points, checks, others = points or {}, checks or _check_functions(exercises), others or {}

    def rows(verdict: str, detail: str = "", results: dict | None = None, written: dict | None = None) -> list[Row]:
        out = []
        for exercise in exercises:
            full = points_for(exercise, points)
            ex_verdict, mistake, ex_detail = (results or {}).get(exercise.label, (verdict, "", detail))
            out.append(Row(student.id, student.name, exercise.label, full if ex_verdict == "correct" else 0.0,
                           full, ex_verdict, mistake, ex_detail, (written or {}).get(exercise.label, "")))
        return out

    if path is None:
        return rows("no submission", "no notebook named after this id was found")
    try:
        submitted = nbformat.read(path, as_version=4)
        cells = list(submitted.cells)
        if not isinstance(cells, list):
            raise ValueError("no cells")
    except Exception as error:  # noqa: BLE001 - a corrupted file, a PDF, anything: one row each
        return rows("not a notebook", f"{path.name} could not be read as a notebook ({type(error).__name__})")

    written = {exercise.label: _written_answer(cells, exercise) for exercise in exercises}
    run_cells = [nbformat.v4.new_code_cell(_PROBE_HELPER, metadata={"vae_grade": "probe"})]
    results, check_positions, notes = {}, {}, {}
    for exercise in exercises:
        if _find_cell(cells, exercise, "self-check", "check") is None:
            results[exercise.label] = ("missing", "", "the self-check cell of this exercise was deleted")
    for position, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            run_cells.append(nbformat.v4.new_markdown_cell(cell.get("source", "")))
            continue
        run_cells.append(nbformat.v4.new_code_cell(cell.get("source", "")))  # outputs dropped, metadata too
        for exercise in exercises:
            if exercise.label in results or exercise.label in check_positions:
                continue
            if _find_cell(cells, exercise, "self-check", "check") == position:
                check_positions[exercise.label] = len(run_cells) - 1
                run_cells.append(_probe_cell(exercise.label, _answer_expression(cell.source, exercise)))
                named, own = _named_variant(cell.source), key_for(student, exercise.label)
                if own and named and named != own:
                    whose = others.get((exercise.label, named))
                    notes[exercise.label] = (f"this notebook was made for {'student ' + whose if whose else 'another'}"
                                             f" variant ({named}); graded against {student.id}'s own")
    notebook = nbformat.v4.new_notebook(cells=run_cells, metadata={"kernelspec": {
        "display_name": "Python 3", "language": "python", "name": "python3"}})
    with tempfile.TemporaryDirectory(prefix=f"vae-grade-{student.id}-") as workdir:
        stopped = _execute(notebook, timeout, Path(workdir))
    probes = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines() if output.get("output_type") == "stream" else []:
                if line.startswith(_PROBE_MARK):
                    probe = json.loads(line[len(_PROBE_MARK):])
                    probes[probe["label"]] = probe
    for exercise in exercises:
        if exercise.label in results:
            continue
        check_cell = notebook.cells[check_positions[exercise.label]]
        error = next((o for o in check_cell.get("outputs", []) if o.get("output_type") == "error"), None)
        note = notes.get(exercise.label, "")
        if error is not None:
            results[exercise.label] = ("error", "", f"the self-check cell raised {error.get('ename')}: "
                                                    f"{error.get('evalue', '')[:160]}")
        elif exercise.label in probes:
            verdict, mistake = _lecturer_verdict(checks[exercise.label], exercise, student, probes[exercise.label])
            results[exercise.label] = (verdict, mistake, note)
        elif stopped == "timeout":
            results[exercise.label] = ("timeout", "", f"a cell ran longer than {timeout:g} s; "
                                                      "this exercise was not reached")
        else:
            results[exercise.label] = ("not run", "", f"the run stopped before this exercise ({stopped})")
    return rows("", results=results, written=written)


# ------------------------------------------------------------------- a class at once


def _submission_of(folder: Path, student: Student) -> Path | None:
    direct = folder / f"{student.id}.ipynb"
    if direct.is_file():
        return direct
    inside = sorted((folder / student.id).glob("*.ipynb")) if (folder / student.id).is_dir() else []
    return inside[0] if inside else None


def grade_all(submissions: Path, students: list[Student], exercises: list[Exercise], *, timeout: float = 120,
              points: dict[str, float] | None = None, progress=print) -> list[Row]:
    """Grade every student of the roster (a missing submission gets its rows too)."""
    checks = _check_functions(exercises)
    ids = {student.id for student in students}
    strangers = sorted(path.name for path in Path(submissions).iterdir()
                       if (path.stem if path.is_file() else path.name) not in ids)
    if strangers:
        progress(f"not on the roster, not graded: {', '.join(strangers)}")
    others = {(exercise.label, key_for(student, exercise.label)): student.id
              for student in students for exercise in exercises if variant_of(exercise.label)}
    rows = []
    for number, student in enumerate(students, start=1):
        start = time.perf_counter()
        student_rows = grade_submission(_submission_of(Path(submissions), student), student, exercises,
                                        timeout=timeout, points=points, checks=checks, others=others)
        rows += student_rows
        total = sum(row.points for row in student_rows)
        progress(f"[{number}/{len(students)}] {student.id}: {total:g}/{sum(r.max_points for r in student_rows):g} "
                 f"points ({time.perf_counter() - start:.1f} s)")
    return rows


def write_gradebook(rows: list[Row], out: Path, *, title: str = "Assignment") -> list[Path]:
    """``out/gradebook.csv`` and ``out/feedback/<id>.html``; return the files written."""
    out = Path(out)
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(GRADEBOOK_COLUMNS)
    for row in rows:
        writer.writerow([getattr(row, column) if column not in ("points", "max_points")
                         else f"{getattr(row, column):g}" for column in GRADEBOOK_COLUMNS])
    written = [out / "gradebook.csv"]
    atomic_write(written[0], lambda stream: stream.write(buffer.getvalue().encode("utf-8")))
    for student in dict.fromkeys(row.student for row in rows):
        page = _feedback_page([row for row in rows if row.student == student], title)
        path = out / "feedback" / f"{student}.html"
        atomic_write(path, lambda stream, page=page: stream.write(page.encode("utf-8")))
        written.append(path)
    return written


def _feedback_page(rows: list[Row], title: str) -> str:
    escape = html.escape
    who = f"{rows[0].name} ({rows[0].student})" if rows[0].name else rows[0].student
    total, full = sum(row.points for row in rows), sum(row.max_points for row in rows)
    lines = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}: {escape(who)}</title>"
             "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}td,th{border:1px solid #999;"
             "padding:.3em .5em;vertical-align:top}table{border-collapse:collapse}"
             ".written{white-space:pre-wrap;border-left:3px solid #999;padding-left:1em}</style></head><body>",
             f"<h1>{escape(title)}: {escape(who)}</h1>",
             f"<p>Automatically checked points: <strong>{total:g} of {full:g}</strong>. Written answers are "
             "graded by hand.</p>",
             "<table><tr><th>exercise</th><th>points</th><th>verdict</th><th>what the check says</th></tr>"]
    for row in rows:
        lines.append(f"<tr><td>{escape(row.exercise)}</td><td>{row.points:g} / {row.max_points:g}</td>"
                     f"<td>{escape(row.verdict)}</td><td>{escape(row.mistake)}"
                     f"{'<br>' if row.mistake and row.detail else ''}{escape(row.detail)}</td></tr>")
    lines.append("</table><h2>Written answers (for grading by hand)</h2>")
    for row in rows:
        lines.append(f"<h3>{escape(row.exercise)}</h3><div class='written'>"
                     f"{escape(row.written) if row.written else '<em>(no written answer)</em>'}</div>")
    lines.append("</body></html>")
    return "\n".join(lines)


# ------------------------------------------------------------------- the command line


def _parse_points(text: str | None) -> dict[str, float]:
    points = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        label, _, value = item.partition("=")
        try:
            points[label.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--points: {item!r} is not label=number (e.g. ex-bayes-grid=2).") from None
    return points


def _exercises(labels: list[str]) -> list[Exercise]:
    known = {exercise.label: exercise for chapter in read_book(_book_repo()) for exercise in chapter.exercises}
    unknown = [label for label in labels if label not in known]
    if unknown or not labels:
        raise ValueError(f"Unknown exercise label(s): {', '.join(unknown) or '(none given)'}; "
                         "see `python -m vae_lib.assign --list`.")
    without = [label for label in labels if not known[label].check_source]
    if without:
        raise ValueError(f"{', '.join(without)}: no self-check to grade automatically.")
    return [known[label] for label in labels]


def main(argv: list[str] | None = None) -> int:
    """``python -m vae_lib.grade SUBMISSIONS/ --roster roster.csv (--assignment DIR | --exercises ...) --out DIR``."""
    parser = argparse.ArgumentParser(prog="python -m vae_lib.grade", description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", type=Path, help="the folder of submitted notebooks, <id>.ipynb or <id>/*.ipynb")
    parser.add_argument("--roster", type=Path, required=True, help="the roster CSV the assignment was made from")
    parser.add_argument("--assignment", type=Path, help="the folder `python -m vae_lib.assign --roster` wrote")
    parser.add_argument("--exercises", help="comma-separated exercise labels (instead of --assignment)")
    parser.add_argument("--out", type=Path, required=True, help="where to write gradebook.csv and feedback/")
    parser.add_argument("--timeout", type=float, default=120, help="seconds one cell may run (default 120)")
    parser.add_argument("--points", help="points per exercise, e.g. ex-bayes-grid=2,ex-bayes-silence=1 "
                                         "(default: one per star)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        if args.exercises:
            labels = [label.strip() for label in args.exercises.split(",") if label.strip()]
        elif args.assignment:
            labels = json.loads((args.assignment / "assignment.json").read_text(encoding="utf-8"))["exercises"]
        else:
            raise ValueError("name the exercises: --assignment DIR (written by assign --roster) or --exercises ex-a,ex-b")
        exercises = _exercises(labels)
        students = read_roster(args.roster)
        points = _parse_points(args.points)
        if not args.submissions.is_dir():
            raise ValueError(f"{args.submissions} is not a folder of submissions.")
        rows = grade_all(args.submissions, students, exercises, timeout=args.timeout, points=points)
        written = write_gradebook(rows, args.out)
    except (ValueError, RosterError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {written[0]} and {len(written) - 1} feedback pages in {args.out / 'feedback'} "
          f"({len(students)} students, {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
