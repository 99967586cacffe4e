"""Grading (issue 18.2): a class of fake submissions of every kind the issue lists, graded in one
command; each gets the right rows, and nothing stops the batch.

The assignment is small and needs no training: two exercises of chapter 1 with variants and one
of chapter 3 that this test makes fixed (every exercise of chapters 1-4 has variants; the fixed
ones that remain need a trained model), so that grading a fixed exercise is tested too. One batch
grades every kind once (the kernels are the slow part).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import re

import nbformat
import pytest

from vae_lib import assign, grade, variants
from vae_lib._notebook_export import META

LABELS = ["ex-bayes-silence", "ex-bayes-grid", "ex-mixture-density"]
FIXED = "ex-mixture-density"  # fixed for this test: its variants are set aside while the batch is made and graded
KINDS = {  # roster id: what the student handed in
    "s01": "right", "s02": "wrong", "s03": "named mistake", "s04": "blank", "s05": "edited outputs",
    "s06": "infinite loop", "s07": "corrupted", "s08": "another student's notebook", "s09": "deleted check cell",
    "s10": "nothing", "s11": "error in the check cell",
}
TIMEOUT = 30  # seconds per cell: chapter 1's first cell imports the library (slow on a busy machine)


def _answer_code(label: str, student: variants.Student) -> str:
    """Code that computes the right answer of the student's variant (the chapter's solution, rendered)."""
    exercise = assign.select([label]).exercises[0]
    variant = variants.variant_of(label)
    code = exercise.solution_code if variant is None else \
        variant.render(exercise.solution_code, variants.key_for(student, label), code=True)
    return "\n".join(line for line in code.splitlines() if "check_" not in line)


def _unexplained(label: str, student: variants.Student) -> str:
    """A wrong answer to the student's variant that matches no known mistake (found by trying a few)."""
    check = assign.select([label]).exercises[0]
    function = grade._check_functions([check])[label]
    key = variants.key_for(student, label)
    for value in (0.123456, 0.654321, 0.876543, 0.234567):
        with contextlib.redirect_stdout(io.StringIO()):
            result = function(value, variant=key) if key else function(value)
        if "Not quite" in result.message or "whole number" in result.message:
            return f"my_answer = {value}"
    raise AssertionError(f"no unexplained wrong answer found for {label}")


def _fill(notebook, answers: dict[str, str]):
    """Replace the ``my_answer = None`` line of each exercise's self-check cell by ``answers[label]``."""
    for cell in notebook.cells:
        info = cell.metadata.get(META, {})
        if info.get("role") == "self-check" and info["exercise"] in answers:
            cell.source = re.sub(r"^my_answer = None.*$", lambda _: answers[info["exercise"]], cell.source,
                                 count=1, flags=re.M)
    return notebook


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.delitem(variants._VARIANTS, FIXED)
        assert variants.variant_of(FIXED) is None
        return _grade_a_batch(tmp_path_factory.mktemp("grading"))


def _grade_a_batch(root):
    roster = root / "roster.csv"
    roster.write_text("id,name\n" + "".join(f"{sid},Student {sid}\n" for sid in KINDS), encoding="utf-8")
    students = {student.id: student for student in variants.read_roster(roster)}
    assert assign.main(["--exercises", ",".join(LABELS), "--roster", str(roster), "--out", str(root / "hw1"),
                        "--no-pdf"]) == 0
    submissions = root / "submissions"
    submissions.mkdir()

    def own(sid):
        return nbformat.read(root / "hw1" / sid / "assignment.ipynb", as_version=4)

    def right(sid, of=None):
        return _fill(own(of or sid), {label: _answer_code(label, students[of or sid]) for label in LABELS})

    def save(sid, notebook, name=None):
        target = submissions / (name or f"{sid}.ipynb")
        target.parent.mkdir(exist_ok=True)
        nbformat.write(notebook, target)

    save("s01", right("s01"))
    save("s02", _fill(own("s02"), {label: _unexplained(label, students["s02"]) for label in LABELS}))
    save("s03", _fill(own("s03"), {"ex-bayes-silence": 'my_answer = prior["clogged"]'}))
    save("s04", own("s04"))
    edited = _fill(own("s05"), {label: _unexplained(label, students["s05"]) for label in LABELS})
    for cell in edited.cells:  # outputs claiming success: never read
        if cell.metadata.get(META, {}).get("role") == "self-check":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="✓ Correct.\n")]
    save("s05", edited)
    looping = right("s06")
    looping.cells.insert(5, nbformat.v4.new_code_cell("while True:\n    pass"))
    save("s06", looping)
    (submissions / "s07.ipynb").write_text('{"cells": [ not json', encoding="utf-8")
    save("s08", right("s01"), name="s08/my homework.ipynb")  # s01's notebook, handed in by s08
    deleted = right("s09")
    deleted.cells = [cell for cell in deleted.cells if cell.get("id") != "ex-bayes-grid-check"]
    for cell in deleted.cells:
        if cell.get("id") == "ex-bayes-silence-written":
            cell.source = "P(silence | h) = 1 - P(noise | h), then Bayes' rule."
    save("s09", deleted)
    save("s11", _fill(own("s11"), {"ex-bayes-silence": "my_answer = undefined_name * 2"}))

    out = root / "grades"
    assert grade.main([str(submissions), "--roster", str(roster), "--assignment", str(root / "hw1"),
                       "--out", str(out), "--timeout", str(TIMEOUT)]) == 0
    with (out / "gradebook.csv").open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    return {(row["student"], row["exercise"]): row for row in rows}, out


def _verdicts(rows, sid):
    return [rows[(sid, label)]["verdict"] for label in LABELS]


def test_every_student_gets_a_row_per_exercise_and_a_feedback_page(graded):
    rows, out = graded
    assert len(rows) == len(KINDS) * len(LABELS)
    assert sorted(path.stem for path in (out / "feedback").glob("*.html")) == sorted(KINDS)
    assert set(grade.GRADEBOOK_COLUMNS) <= set(next(iter(rows.values())))


def test_right_answers_earn_the_points_of_their_difficulty(graded):
    rows, _ = graded
    assert _verdicts(rows, "s01") == ["correct"] * 3
    assert [rows[("s01", label)]["points"] for label in LABELS] == ["1", "1", "1"]
    assert rows[("s01", "ex-bayes-silence")]["max_points"] == "1"


def test_wrong_answers_and_edited_outputs_earn_nothing(graded):
    rows, _ = graded
    for sid in ("s02", "s05"):
        assert _verdicts(rows, sid) == ["wrong"] * 3, sid
        assert {rows[(sid, label)]["points"] for label in LABELS} == {"0"}
        # An unexplained wrong answer names no mistake; a fraction for a whole number is said to be one.
        assert [bool(rows[(sid, label)]["mistake"]) for label in LABELS] == [False, True, False]
        assert "whole number" in rows[(sid, "ex-bayes-grid")]["mistake"]


def test_a_known_mistake_is_named(graded):
    rows, _ = graded
    row = rows[("s03", "ex-bayes-silence")]
    assert row["verdict"] == "wrong" and "prior P(clogged)" in row["mistake"]
    assert _verdicts(rows, "s03")[1:] == ["blank", "blank"]


def test_blank_and_missing_submissions(graded):
    rows, _ = graded
    assert _verdicts(rows, "s04") == ["blank"] * 3
    assert _verdicts(rows, "s10") == ["no submission"] * 3


def test_a_hang_is_stopped_and_said(graded):
    rows, _ = graded
    assert _verdicts(rows, "s06") == ["timeout"] * 3
    assert f"{TIMEOUT} s" in rows[("s06", "ex-bayes-grid")]["detail"]


def test_a_corrupted_file_is_not_a_notebook(graded):
    rows, _ = graded
    assert _verdicts(rows, "s07") == ["not a notebook"] * 3


def test_another_students_notebook_is_graded_against_the_students_own_variant(graded):
    rows, _ = graded
    assert _verdicts(rows, "s08")[:2] == ["wrong", "wrong"], "s01's answers are not s08's"
    assert rows[("s08", FIXED)]["verdict"] == "correct", "a fixed exercise has one answer"
    assert "student s01" in rows[("s08", "ex-bayes-silence")]["detail"]


def test_a_deleted_check_cell_and_an_error_get_their_rows(graded):
    rows, out = graded
    assert _verdicts(rows, "s09") == ["correct", "missing", "correct"]
    feedback = (out / "feedback" / "s09.html").read_text(encoding="utf-8")
    assert "P(silence | h) = 1 - P(noise | h), then Bayes&#x27; rule." in feedback, "written answers collected"
    assert rows[("s11", "ex-bayes-silence")]["verdict"] == "error"
    assert "NameError" in rows[("s11", "ex-bayes-silence")]["detail"]


def test_points_can_be_overridden():
    exercise = assign.select(["ex-bayes-loaded-die"]).exercises[0]
    assert grade.points_for(exercise, {}) == 2.0
    assert grade.points_for(exercise, grade._parse_points("ex-bayes-loaded-die=5")) == 5.0
    with pytest.raises(ValueError, match="label=number"):
        grade._parse_points("ex-bayes-loaded-die")


def test_the_command_line_says_what_is_missing(tmp_path, capsys):
    (tmp_path / "roster.csv").write_text("id\ns01\n", encoding="utf-8")
    assert grade.main([str(tmp_path), "--roster", str(tmp_path / "roster.csv"), "--out", str(tmp_path / "g")]) == 2
    assert "--assignment" in capsys.readouterr().err
    (tmp_path / "hw").mkdir()
    (tmp_path / "hw" / "assignment.json").write_text(json.dumps({"exercises": ["ex-nope"]}))
    assert grade.main([str(tmp_path), "--roster", str(tmp_path / "roster.csv"), "--assignment",
                       str(tmp_path / "hw"), "--out", str(tmp_path / "g")]) == 2
    assert "ex-nope" in capsys.readouterr().err
