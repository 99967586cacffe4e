"""Per-student variants for lecturers: a roster, each student's variant of each exercise, and
the student's own notebook.

An exercise with variants (a :class:`~vae_lib._variant.Variant` in its chapter's exercises
module) gets, for each student, problem data drawn from a generator seeded by the student's
roster seed (or id) and the exercise's label (:func:`key_for`). The statement is rendered with
that data, a data cell binds the names the chapter defined with the book's numbers, and the
self-check checks that variant. The chapter itself keeps the book's variant.

Every other exercise is **fixed** (:data:`FIXED_EXERCISES`): every student gets the book's
numbers, so an answer shared between students is the same answer. Grading (``vae_lib.grade``)
recomputes each student's variant from the roster, never from a submission.

>>> sorted(variant_of(label).label for label in ("ex-bayes-grid", "ex-bayes-silence"))
['ex-bayes-grid', 'ex-bayes-silence']
>>> variant_of("ex-mnist-parameters") is None
True
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, replace
from pathlib import Path

import nbformat

from vae_lib._book_sources import Exercise
from vae_lib._notebook_export import META
from vae_lib._variant import Variant, variant_key
from vae_lib.exercises import (amortized_inference, bayes, beyond, elbo, gradients, importance_sampling,
                               kl_divergence, latent_variables, mixture)

__all__ = ["Student", "read_roster", "variant_of", "key_for", "FIXED_EXERCISES", "VARIANT_MODULES",
           "personal_exercises", "personalize", "WRITTEN_PLACEHOLDER", "RosterError"]

#: The exercise modules whose exercises have variants (each lists them in ``VARIANTS``).
VARIANT_MODULES = (bayes, latent_variables, mixture, importance_sampling, elbo, kl_divergence, gradients,
                   amortized_inference, beyond)

#: Exercises that are the same for every student, and why: a key is a chapter (all its exercises)
#: or one exercise's label (an exercise whose data cannot vary and keep its point, say why).
#: Every exercise of chapters 1 to 8 and 11 has variants, but one named below. Chapters 9 and 10's
#: exercises give their own numbers (a network's sizes, a run's length, an encoder's outputs) and
#: could vary; their exercises modules do not declare variants yet.
FIXED_EXERCISES = {
    "chapters/09_training_mnist": "not given variants yet",
    "chapters/10_latent_space": "not given variants yet",
    "ex-beyond-blur": "two images' best blur costs ln 2 per pixel they disagree on: its answer, −k ln 2, "
                      "takes a handful of values, which students would share",
}

#: The text of a student's written-answer cell before it is answered.
WRITTEN_PLACEHOLDER = "*Your written answer (explanations, formulas): replace this line.*"

_VARIANTS = {variant.label: variant for module in VARIANT_MODULES for variant in module.VARIANTS}
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class RosterError(ValueError):
    """The roster cannot be used (no ``id`` column, an empty or repeated id, an unsafe id)."""


@dataclass(frozen=True)
class Student:
    """One row of the roster: ``id`` (also the file name of the student's notebook), ``name``, ``seed``."""

    id: str
    name: str = ""
    seed: str = ""

    @property
    def variant_seed(self) -> str:
        """The seed of the student's variants: the roster's ``seed`` column, else the id."""
        return self.seed or self.id


def read_roster(path: Path) -> list[Student]:
    """The students of a roster CSV with columns ``id`` and, optionally, ``name`` and ``seed``.

    A ``seed`` column (any text the students do not see) makes the variants independent of the
    ids; without it a student's id seeds the variants.

    Raises:
        RosterError: with a one-line message that names the row.
    """
    try:
        with Path(path).open(newline="", encoding="utf-8-sig") as stream:
            reader = csv.DictReader(stream)
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise RosterError(f"--roster {path}: cannot be read as a CSV file ({error}).") from None
    if "id" not in (reader.fieldnames or []):
        raise RosterError(f"--roster {path}: needs a header line with an 'id' column (and optionally name, seed).")
    if not rows:
        raise RosterError(f"--roster {path}: lists no students (one line per student under the header).")
    students, seen = [], set()
    for line, row in enumerate(rows, start=2):
        student = Student(*((row.get(column) or "").strip() for column in ("id", "name", "seed")))
        if not _SAFE_ID.match(student.id):
            raise RosterError(f"--roster {path}, line {line}: the id {student.id!r} must be 1-64 letters, digits, "
                              "'_', '.' or '-' (it names the student's files).")
        if student.id in seen:
            raise RosterError(f"--roster {path}, line {line}: the id {student.id!r} is listed twice.")
        seen.add(student.id)
        students.append(student)
    return students


def variant_of(label: str) -> Variant | None:
    """The variants of exercise ``label``, or ``None`` for a fixed exercise."""
    return _VARIANTS.get(label)


def key_for(student: Student, label: str) -> str | None:
    """The key of ``student``'s variant of exercise ``label`` (``None`` for a fixed exercise)."""
    return variant_key(student.variant_seed, label) if label in _VARIANTS else None


def personal_exercises(exercises: tuple[Exercise, ...], student: Student) -> tuple[Exercise, ...]:
    """The exercises with their statements rendered with ``student``'s numbers."""
    personal = []
    for exercise in exercises:
        variant = variant_of(exercise.label)
        if variant is not None:
            exercise = replace(exercise, body=variant.render(exercise.body, key_for(student, exercise.label)))
        personal.append(exercise)
    return tuple(personal)


_CALL = re.compile(r"\b(check_\w+)\((\s*[A-Za-z_]\w*\s*)\)")


def personalize(notebook: nbformat.NotebookNode, student: Student) -> nbformat.NotebookNode:
    """An assignment notebook (statements already rendered) made ``student``'s own.

    Adds a line naming the student, after each varied statement a data cell binding the names the
    chapter's setup defines with the book's numbers, points each varied self-check at the
    student's variant (``check_...(my_answer, variant="...")``), and adds a written-answer cell
    after every exercise. The notebook records the student and the variant keys in its metadata
    for the student's information only: grading recomputes them from the roster.
    """
    notebook = nbformat.from_dict(notebook)
    who = f"{student.name} ({student.id})" if student.name else student.id
    cells = [nbformat.v4.new_markdown_cell(f"**Student:** {who}. These exercises are your own variant: "
                                           "use the numbers stated here, not the chapter's.", id="student")]
    keys = {}
    for cell in notebook.cells:
        info = cell.metadata.get(META, {})
        label, role = info.get("exercise"), info.get("role")
        variant = variant_of(label) if label else None
        key = key_for(student, label) if variant else None
        if role == "self-check" and key:
            source, count = _CALL.subn(lambda m: f'{m.group(1)}({m.group(2).strip()}, variant="{key}")', cell.source)
            if count != 1:
                raise ValueError(f"{label}: its self-check cell does not call check_...(my_answer) once.")
            cell.source = source
            keys[label] = key
        cells.append(cell)
        if role == "exercise" and key and variant.data_cell(key):
            cells.append(nbformat.v4.new_code_cell(
                "# Your data for this exercise (it replaces the chapter's values of these names)\n"
                + variant.data_cell(key), id=f"{label}-data", metadata={META: {"role": "data", "exercise": label}}))
        if role in ("self-check", "answer"):
            cells.append(nbformat.v4.new_markdown_cell(WRITTEN_PLACEHOLDER, id=f"{label}-written",
                                                       metadata={META: {"role": "written-answer", "exercise": label}}))
    # The install cell stays first, the student's line right after it.
    install = [cell for cell in cells if cell.metadata.get(META, {}).get("role") == "install"]
    notebook.cells = install + [cell for cell in cells if cell.metadata.get(META, {}).get("role") != "install"]
    notebook.metadata.setdefault(META, {})
    notebook.metadata[META] = {**notebook.metadata[META], "student": {"id": student.id, "name": student.name},
                               "variants": keys}
    nbformat.validate(notebook)
    return notebook
