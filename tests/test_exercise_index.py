"""Exercises as the lecturer's tools see them: read from the chapter sources, listed on the
exercise index page and in the instructor guide, every one of them."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from conftest import MYST_FRONT_MATTER

from vae_lib import _book_sources
from vae_lib._book_sources import read_book, read_chapter

REPO = Path(__file__).resolve().parents[1]
BOOK = read_book()
EXERCISES = [(chapter, exercise) for chapter in BOOK for exercise in chapter.exercises]

SAMPLE = MYST_FRONT_MATTER + """\

(chap-sample)=
# A sample chapter

```{code-cell} ipython3
from vae_lib.exercises import bayes as exercises
```

```{exercise} Timed (★★★, 45 min)
:label: ex-sample-timed

Compute `x`.
```

```{code-cell} ipython3
my_answer = None
exercises.check_silent_machine(my_answer)
```

````{solution} ex-sample-timed
:class: dropdown

```python
my_answer = 1 + 1
```
````

:::{exercise} Untimed, with no check
:label: ex-sample-untimed
:nonumber:

Think about it.
:::

```{exercise} Third in the same cell
:label: ex-sample-third

Think again.
```

```{code-cell} ipython3
:tags: [solution]
my_answer = 3
```
"""


@pytest.fixture
def sample(tmp_path):
    path = tmp_path / "09_sample.md"
    path.write_text(SAMPLE)
    return read_chapter(path, number=9)


def test_an_exercise_is_read_with_its_title_difficulty_time_check_and_solution(sample):
    timed = sample.exercises[0]
    assert (sample.title, sample.label) == ("A sample chapter", "chap-sample")
    assert (timed.label, timed.title, timed.difficulty, timed.minutes) == ("ex-sample-timed", "Timed", 3, 45)
    assert (timed.number, timed.stars, timed.heading) == ("9.1", "★★★", "Exercise 9.1: Timed (★★★, 45 min)")
    assert timed.check_function == "exercises.check_silent_machine"
    assert timed.solution_code == "my_answer = 1 + 1"
    assert timed.body == "Compute `x`."


def test_missing_difficulty_shows_a_dash_and_unnumbered_exercises_do_not_count(sample):
    untimed, third = sample.exercises[1], sample.exercises[2]
    assert (untimed.difficulty, untimed.minutes, untimed.stars) == (None, None, "—")
    assert (untimed.number, untimed.heading) == ("", "Exercise: Untimed, with no check")
    assert third.number == "9.2", "a :nonumber: exercise must not take a number"


def test_the_self_check_is_the_check_cell_before_the_next_exercise(sample):
    untimed, third = sample.exercises[1], sample.exercises[2]
    # The untimed exercise shares its cell with the third: the cells after belong to the third.
    assert untimed.check_source is None
    assert third.check_source is None, "a code cell without a check_...( call is not a self-check"
    assert third.solution_code == "my_answer = 3", "a code cell tagged solution belongs to the exercise"


def test_an_exercise_without_a_label_is_refused(tmp_path):
    path = tmp_path / "x.md"
    path.write_text("# X\n\n```{exercise} No label\nText.\n```\n")
    with pytest.raises(ValueError, match="no :label:"):
        read_chapter(path)


def test_the_check_summary_is_the_docstring_line_after_the_label(sample):
    summary = _book_sources.check_summary(sample, sample.exercises[0])
    assert summary and not summary.startswith("Exercise"), summary
    assert _book_sources.check_summary(sample, sample.exercises[1]) is None


# ----------------------------------------------------------------------------- the book itself


def test_the_book_has_exercises():
    assert EXERCISES, "no exercise found in the chapters of book/_toc.yml"


def test_labels_are_unique_and_name_their_chapter():
    labels = [exercise.label for _, exercise in EXERCISES]
    assert len(labels) == len(set(labels)), f"repeated labels: {sorted({l for l in labels if labels.count(l) > 1})}"
    for chapter, exercise in EXERCISES:
        assert re.fullmatch(r"ex-[a-z0-9]+(-[a-z0-9]+)+", exercise.label), (
            f"{chapter.docname}: label {exercise.label!r} is not of the form ex-<chapter>-<name>")


@pytest.mark.parametrize("chapter, exercise", EXERCISES, ids=[e.label for _, e in EXERCISES])
def test_every_exercise_states_its_difficulty_and_time(chapter, exercise):
    assert exercise.difficulty and exercise.minutes, (
        f"{chapter.docname}: the title of {exercise.label} must end with its difficulty and time, "
        f"e.g. '{exercise.title} (★★, 15 min)'")


@pytest.mark.parametrize("chapter, exercise", EXERCISES, ids=[e.label for _, e in EXERCISES])
def test_every_self_check_names_its_exercise_and_says_what_it_verifies(chapter, exercise):
    if exercise.check_source is None:
        pytest.skip(f"{exercise.label} has no self-check")
    function = _book_sources.check_function(chapter, exercise)
    assert function is not None, f"{exercise.label}: cannot find {exercise.check_function} from the chapter's imports"
    first_line = (function.__doc__ or "").strip().splitlines()[0]
    assert first_line.startswith(f"Exercise {exercise.label}:"), (
        f"{function.__qualname__}'s docstring must start with 'Exercise {exercise.label}: <what it checks>'")
    assert _book_sources.check_summary(chapter, exercise)


@pytest.mark.parametrize("chapter, exercise", EXERCISES, ids=[e.label for _, e in EXERCISES])
def test_every_exercise_has_a_solution(chapter, exercise):
    assert exercise.solution, f"{chapter.docname}: {exercise.label} has no {{solution}} block"


# ----------------------------------------------------------------------------- the built pages


def _text(page: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8")))


@pytest.mark.slow
def test_the_exercise_index_lists_every_exercise_with_its_chapter_and_number(built_book):
    site = built_book / "_build" / "html"
    page = (site / "book" / "exercises.html").read_text(encoding="utf-8")
    for chapter in BOOK:
        if not chapter.exercises:
            continue
        # Each chapter heading links to the chapter; its exercises follow it, in order.
        start = page.index(f'href="../{chapter.docname}.html"')
        for exercise in chapter.exercises:
            link = re.search(rf'<a [^>]*href="../{chapter.docname}.html#{exercise.label}"[^>]*>(.*?)</a>', page[start:], re.S)
            assert link, f"the index has no link to {exercise.label} after its chapter's heading"
            number = re.sub(r"<[^>]+>|\s+", " ", link.group(1)).strip()
            assert number == f"Exercise {exercise.number}", (
                f"{exercise.label}: the book numbers it {number!r}, the sources say {exercise.number}")
            row = page[start + link.start():].split("</tr>")[0]
            for cell in (exercise.title, exercise.stars, f"{exercise.minutes} min", exercise.label):
                assert html.escape(cell, quote=False) in row, f"{exercise.label}: {cell!r} missing from its row"
            assert ("yes" if exercise.check_source else "—") in row


@pytest.mark.slow
def test_the_instructor_guide_lists_times_exercises_and_what_each_check_verifies(built_book):
    text = " ".join(_text(built_book / "_build" / "html" / "book" / "instructor_guide.html").split())
    for chapter in BOOK:
        assert re.search(rf"{re.escape(chapter.title)} (\d+ s|not measured) (\d+ s|not measured) "
                         rf"{len(chapter.exercises)}", text), f"no timing row for {chapter.docname}"
        for exercise in chapter.exercises:
            summary = _book_sources.check_summary(chapter, exercise) if exercise.check_source else "no self-check"
            assert " ".join(summary.split()) in text, f"{exercise.label}: what its check verifies is missing"
    assert "not executed" not in text, "a chapter's execution time is missing from the build's records"
