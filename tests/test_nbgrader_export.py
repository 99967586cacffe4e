"""The nbgrader export (``python -m vae_lib.assign --format nbgrader``): the source notebook has
nbgrader's cell metadata, the book's solutions and hidden checks, and points from the table; and
nbgrader's own commands (generate_assignment, autograde, export) grade three fake submissions
(all right, one wrong, blank) to the expected points."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from conftest import MYST_FRONT_MATTER

from vae_lib import _nbgrader_export, assign
from vae_lib._book_sources import read_book
from vae_lib._nbgrader_export import Points
from vae_lib._solutions import find_leaks, solution_fragments

REPO = Path(__file__).resolve().parents[1]

# One exercise asking for an explanation (★★), two without (★): chapters 1-3, nothing trained.
EXERCISES = ["ex-bayes-loaded-die", "ex-latent-parameters", "ex-mixture-responsibility"]
WRITTEN = "ex-bayes-loaded-die"
WRONG = "ex-latent-parameters"


def _exercises() -> dict:
    return {exercise.label: exercise for chapter in read_book() for exercise in chapter.exercises}


def _export(out: Path, *extra: str, title: str = "ps1") -> Path:
    code = assign.main(["--exercises", ",".join(EXERCISES), "--format", "nbgrader", "--title", title,
                        "--out", str(out), *extra])
    assert code == 0
    return out / "source" / "ps1" / "ps1.ipynb"


def _cells(notebook) -> dict[str, nbformat.NotebookNode]:
    return {cell.metadata["nbgrader"]["grade_id"]: cell for cell in notebook.cells}


def _solution_region(source: str) -> str:
    return re.search(r"### BEGIN SOLUTION\n(.*)\n### END SOLUTION", source, flags=re.S).group(1)


# ----------------------------------------------------------------------------- the points table


def test_points_come_from_difficulty_and_can_be_overridden():
    default = Points()
    assert [default.autograded_points(stars) for stars in (1, 2, 3, None)] == [1, 2, 3, 1]
    assert default.written == 1
    custom = Points.parse("1=0.5, ★★=4, written=2, ex-bayes-grid=7")
    assert [custom.autograded_points(stars) for stars in (1, 2, 3)] == [0.5, 4, 3]
    assert custom.autograded_points(1, "ex-bayes-grid") == 7 and custom.written == 2
    for bad, message in [("2", "not KEY=N"), ("2=many", "not a number"), ("2=-1", "0 or more"),
                         ("hard=3", "neither a difficulty")]:
        with pytest.raises(ValueError, match=message):
            Points.parse(bad)


def test_an_exercise_that_asks_why_gets_a_written_answer_and_one_that_does_not_gets_none():
    exercises = _exercises()
    assert _nbgrader_export.asks_for_explanation(exercises[WRITTEN])
    assert not any(_nbgrader_export.asks_for_explanation(exercises[label]) for label in EXERCISES[1:])


# ----------------------------------------------------------------------------- the source notebook


def test_the_source_notebook_has_solutions_hidden_tests_points_and_locked_setup(tmp_path):
    notebook = nbformat.read(_export(tmp_path / "course"), as_version=4)
    nbformat.validate(notebook)
    cells = _cells(notebook)  # every cell has nbgrader metadata, and grade ids are unique
    assert len(cells) == len(notebook.cells)
    exercises = _exercises()
    for label in EXERCISES:
        exercise = exercises[label]
        answer, check, test = cells[f"{label}-answer"], cells[f"{label}-check"], cells[f"{label}-test"]
        assert answer.metadata.nbgrader == {"schema_version": 3, "grade": False, "solution": True, "locked": False,
                                            "grade_id": f"{label}-answer"}
        # the book's solution, without its self-check call (the locked self-check cell runs it)
        solution = _solution_region(answer.source)
        assert "my_answer =" in solution and "check_" not in solution
        assert answer.source.startswith("my_answer = None")
        assert check.metadata.nbgrader["locked"] and exercise.check_function.split(".")[-1] in check.source
        assert test.metadata.nbgrader["grade"] and test.metadata.nbgrader["locked"]
        assert test.metadata.nbgrader["points"] == exercise.difficulty  # ★ = 1, ★★ = 2
        hidden = re.search(r"### BEGIN HIDDEN TESTS\n(.*)\n### END HIDDEN TESTS", test.source, flags=re.S).group(1)
        assert f"import {exercise.check_function.split('.')[-1]} as _check" in hidden
        assert "assert _verdict.correct is True" in hidden
        assert f"{_points_word(exercise.difficulty)}" in cells[label].source  # the statement says its points
    written = cells[f"{WRITTEN}-written"]
    assert written.cell_type == "markdown"
    assert written.metadata.nbgrader == {"schema_version": 3, "grade": True, "solution": True, "locked": False,
                                         "grade_id": f"{WRITTEN}-written", "points": 1.0}
    assert "n_6/n" in written.source  # the book's solution prose is the reference answer
    assert not any(grade_id.endswith("-written") for grade_id in cells if not grade_id.startswith(WRITTEN))
    # Everything else is read-only: the install cell, the introduction, the setup, the statements.
    others = [cell for grade_id, cell in cells.items()
              if not grade_id.endswith(("-answer", "-check", "-test", "-written"))]
    assert {cell.metadata.nbgrader["locked"] for cell in others} == {True}
    locked_ids = {cell.metadata.nbgrader["grade_id"] for cell in others}
    assert {"install-vae-lib", "introduction", "setup-1-1", *EXERCISES} <= locked_ids
    assert "| **total** | **5** |" in cells["introduction"].source


def _points_word(points: float) -> str:
    return f"{points:g} point" + ("" if points == 1 else "s")


def test_points_can_be_overridden_from_the_command_line(tmp_path):
    notebook = nbformat.read(_export(tmp_path / "course", "--points", "2=5,written=0.5,ex-mixture-responsibility=3"),
                             as_version=4)
    cells = _cells(notebook)
    assert cells[f"{WRITTEN}-test"].metadata.nbgrader["points"] == 5
    assert cells[f"{WRITTEN}-written"].metadata.nbgrader["points"] == 0.5
    assert cells["ex-latent-parameters-test"].metadata.nbgrader["points"] == 1
    assert cells["ex-mixture-responsibility-test"].metadata.nbgrader["points"] == 3
    assert "| **total** | **9.5** |" in cells["introduction"].source


def test_the_command_line_refuses_bad_points_and_keeps_an_assignment_it_would_overwrite(tmp_path, capsys):
    with pytest.raises(SystemExit):
        assign.main(["--exercises", EXERCISES[0], "--points", "2=3", "--out", str(tmp_path / "a")])
    assert "--format nbgrader" in capsys.readouterr().err
    course = tmp_path / "course"
    args = ["--exercises", EXERCISES[0], "--format", "nbgrader", "--title", "ps1", "--out", str(course)]
    assert assign.main([*args, "--points", "ex-bayes-grid=2"]) == 2  # not in this assignment
    assert "ex-bayes-grid" in capsys.readouterr().err
    assert assign.main(args) == 0
    (course / "source" / "ps1" / "ps1.ipynb").write_text("{}")  # the lecturer's edits
    assert assign.main(args) == 2 and "--force" in capsys.readouterr().err
    (tmp_path / "a-file").write_text("")
    assert assign.main([*args[:-1], str(tmp_path / "a-file")]) == 2
    assert "is a file" in capsys.readouterr().err
    assert (course / "source" / "ps1" / "ps1.ipynb").read_text() == "{}"
    # A second assignment goes into the same course folder without --force.
    assert assign.main([*args[:4], "--title", "ps2", "--out", str(course)]) == 0
    assert (course / "source" / "ps2" / "ps2.ipynb").is_file()
    assert assign.main([*args, "--force"]) == 0
    assert "BEGIN SOLUTION" in (course / "source" / "ps1" / "ps1.ipynb").read_text()


def test_the_command_line_refuses_a_roster_with_the_nbgrader_format(tmp_path, capsys):
    """nbgrader's assignment is one source notebook for the class; variants need one per student."""
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\ns1,Ada\n")
    code = assign.main(["--exercises", EXERCISES[0], "--format", "nbgrader", "--roster", str(roster),
                        "--out", str(tmp_path / "course")])
    assert code == 2 and "--roster" in capsys.readouterr().err
    assert not (tmp_path / "course").exists()


SMALL_CHAPTER = MYST_FRONT_MATTER + """\

(chap-small)=
# A small chapter

```{code-cell} ipython3
from vae_lib.checks import Check
scale = 3
check_ten = Check("ten", expected=scale * 10, kind="number")
```

```{exercise} Ten times the scale (★★★, 5 min)
:label: ex-small-ten

Multiply `scale` by ten.
```

```{code-cell} ipython3
answer_here = None  # replace None with your computation
check_ten(answer_here)
```

````{solution} ex-small-ten
:class: dropdown

```python
answer_here = scale * 10
check_ten(answer_here)
```
````

```{exercise} Why ten? (★★, 5 min)
:label: ex-small-why

Explain in words why the scale is multiplied.
```

````{solution} ex-small-why
:class: dropdown

Because the chapter asks for ten of them.
````
"""


def test_a_check_the_chapter_defines_and_an_exercise_without_a_check_are_exported(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "chapters").mkdir()
    (tmp_path / "book" / "_config.yml").write_text((REPO / "book" / "_config.yml").read_text())
    (tmp_path / "book" / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n  - numbered: true\n    chapters:\n"
        "      - file: chapters/01_small\n")
    (tmp_path / "chapters" / "01_small.md").write_text(SMALL_CHAPTER)
    assignment = assign.select(["ex-small-ten", "ex-small-why"], title="Small one", repo=tmp_path)
    [path] = assign.write_nbgrader_source(assignment, tmp_path / "course", points="written=4")
    assert path == tmp_path / "course" / "source" / "small-one" / "small-one.ipynb"
    cells = _cells(nbformat.read(path, as_version=4))
    # The answer variable is the one the self-check is called on; the check is called as the chapter does.
    assert cells["ex-small-ten-answer"].source.startswith("answer_here = None")
    assert "answer_here = scale * 10" in _solution_region(cells["ex-small-ten-answer"].source)
    assert "_check = check_ten\n_verdict = _check(answer_here)" in cells["ex-small-ten-test"].source
    assert cells["ex-small-ten-test"].metadata.nbgrader["points"] == 3
    assert "ex-small-ten-written" not in cells
    # Without a self-check, the exercise is one written answer, worth its difficulty's points.
    written = cells["ex-small-why-written"]
    assert written.cell_type == "markdown" and written.metadata.nbgrader["points"] == 2
    assert "Because the chapter asks for ten of them." in written.source
    assert "**Points:** 2 points, graded by hand." in cells["ex-small-why"].source
    assert "**Points:** 3 points, autograded." in cells["ex-small-ten"].source
    assert not any(grade_id.startswith("ex-small-why-") and grade_id != "ex-small-why-written" for grade_id in cells)
    assert "| **total** | **5** |" in cells["introduction"].source


def test_nbgrader_accepts_the_metadata():
    validator = pytest.importorskip("nbgrader.nbgraderformat", reason="nbgrader is the optional extra [grading]")
    notebook = assign.assignment_notebook(assign.select(EXERCISES))
    exercises = _exercises()
    chapters = {chapter.docname: chapter for chapter in read_book()}
    source = _nbgrader_export.nbgrader_notebook(
        notebook, [(exercises[label], chapters[exercises[label].chapter]) for label in EXERCISES],
        title="ps1", links=assign.book_links())
    validator.MetadataValidator().validate_nb(source)


# ----------------------------------------------------------------------------- nbgrader's own commands


def _nbgrader(course: Path, env: dict, *arguments: str) -> str:
    """Run ``nbgrader ARGUMENTS`` in the course folder; fail with its log if it fails."""
    result = subprocess.run([sys.executable, "-m", "nbgrader", *arguments], cwd=course, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, f"nbgrader {' '.join(arguments)} failed:\n{result.stdout}\n{result.stderr}"
    # nbgrader logs an error for a notebook it could not process and goes on: that is a failure here.
    assert "| ERROR]" not in result.stderr, result.stderr
    return result.stderr


def _submission(release: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """The released notebook with some cells (by grade id) written by a student."""
    notebook = nbformat.from_dict(release)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return notebook


@pytest.mark.slow
def test_nbgrader_generates_autogrades_and_exports_the_expected_grades(tmp_path):
    pytest.importorskip("nbgrader", reason="nbgrader is the optional extra [grading] (pulled in by [dev])")
    from nbgrader.api import Gradebook

    course = tmp_path / "course"
    source = nbformat.read(_export(course), as_version=4)
    env = {**os.environ,
           # nbgrader runs the `alembic` command of its environment
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           # no user configuration, kernels or nbgrader_config.py from outside the test
           "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"), "JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"), "MPLBACKEND": "Agg"}
    _nbgrader(course, env, "generate_assignment", "ps1")

    # The students' copy: no solution, no hidden test, no reference answer.
    release = nbformat.read(course / "release" / "ps1" / "ps1.ipynb", as_version=4)
    released = nbformat.writes(release)
    source_cells = _cells(source)
    solutions = {label: _solution_region(source_cells[f"{label}-answer"].source) for label in EXERCISES}
    for label, solution in solutions.items():
        assert all(line.strip() not in released for line in solution.splitlines() if "=" in line)
    assert "HIDDEN TESTS" not in released and "_verdict" not in released and "BEGIN SOLUTION" not in released
    assert "n_6/n" not in released and "YOUR ANSWER HERE" in released
    assert all(_cells(release)[f"{label}-answer"].source.endswith("# YOUR CODE HERE\nraise NotImplementedError()")
               for label in EXERCISES)
    # The book's leak search finds the solutions in the source, and none in the students' copy.
    fragments = {fragment for chapter in sorted((REPO / "chapters").glob("0[123]_*.md"))
                 for fragment in solution_fragments(chapter.read_text(encoding="utf-8"))}
    assert find_leaks(fragments, course / "source") and find_leaks(fragments, course / "release") == []

    # Three students: all right, one wrong answer (a known mistake: the full joint table), nothing done.
    right = {f"{label}-answer": f"my_answer = None\n{solution}" for label, solution in solutions.items()}
    right[f"{WRITTEN}-written"] = "The log likelihood 4 log(rho) + 8 log(1 - rho) peaks where 4/rho = 8/(1 - rho)."
    wrong = {**right, f"{WRONG}-answer": "sizes = [4, 3, 2, 2]\nmy_answer = 4 * 3 * 2 * 2 - 1"}
    for student, answers in {"right": right, "wrong": wrong, "blank": {}}.items():
        folder = course / "submitted" / student / "ps1"
        folder.mkdir(parents=True)
        nbformat.write(_submission(release, answers), folder / "ps1.ipynb")

    _nbgrader(course, env, "autograde", "ps1", "--create")
    for student in ("right", "wrong", "blank"):
        assert (course / "autograded" / student / "ps1" / "ps1.ipynb").is_file()

    # What the autograder gave each cell, then the written explanations graded by hand.
    exercises = _exercises()
    points = {label: float(exercises[label].difficulty) for label in EXERCISES}  # the table: ★ = 1, ★★ = 2
    expected_auto = {"right": points, "wrong": {**points, WRONG: 0.0}, "blank": dict.fromkeys(EXERCISES, 0.0)}
    manual = {"right": 1.0, "wrong": 0.5}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student, expected in expected_auto.items():
            for label, score in expected.items():
                grade = gradebook.find_grade(f"{label}-test", "ps1", "ps1", student)
                assert (grade.auto_score, grade.max_score) == (score, points[label]), (student, label)
            written = gradebook.find_grade(f"{WRITTEN}-written", "ps1", "ps1", student)
            assert written.max_score == _nbgrader_export.WRITTEN_POINTS
            if student == "blank":  # an unanswered explanation gets 0 without a grader
                assert written.auto_score == 0 and not written.needs_manual_grade
            else:
                assert written.auto_score is None and written.needs_manual_grade
                written.manual_score = manual[student]
        gradebook.db.commit()

    _nbgrader(course, env, "export", "--to", "grades.csv")
    with open(course / "grades.csv", newline="") as stream:
        rows = {row["student_id"]: row for row in csv.DictReader(stream)}
    total = sum(points.values()) + _nbgrader_export.WRITTEN_POINTS
    assert total == 5  # ★★ (2) + its explanation (1) + ★ (1) + ★ (1)
    expected_scores = {student: sum(auto.values()) + manual.get(student, 0.0)
                       for student, auto in expected_auto.items()}
    assert expected_scores == {"right": 5.0, "wrong": 3.5, "blank": 0.0}
    assert {student: (float(row["score"]), float(row["max_score"])) for student, row in rows.items()} == {
        student: (score, total) for student, score in expected_scores.items()}
    assert {row["assignment"] for row in rows.values()} == {"ps1"}
