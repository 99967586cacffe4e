"""Per-student variants (issue 18.1): every variant is a sound exercise, the chapter keeps the
book's, and a roster gives each student a notebook and sheet of their own."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import math
import re
import types

import matplotlib
import matplotlib.pyplot as plt
import nbformat
import numpy as np
import pytest
import torch
from scipy import optimize, stats

from vae_lib import assign, bayes, variants
from vae_lib._book_sources import python_source, read_book
from vae_lib._notebook_export import META
from vae_lib._variant import variant_key
from vae_lib.assign import cell_names
from vae_lib.exercises import bayes as bayes_exercises

matplotlib.use("Agg")

ALL_VARIANTS = [variant for module in variants.VARIANT_MODULES for variant in module.VARIANTS]
SEEDS = [f"student-{number}" for number in range(60)]
EXERCISES = {exercise.label: exercise for chapter in read_book() for exercise in chapter.exercises}


def test_every_exercise_has_variants_or_is_declared_fixed():
    varied = {variant.label for variant in ALL_VARIANTS}
    for label, exercise in EXERCISES.items():
        fixed = exercise.chapter in variants.FIXED_EXERCISES or label in variants.FIXED_EXERCISES
        assert (label in varied) != fixed, \
            f"{label}: either variants or declared fixed (its chapter or its label), not both or neither"
        assert (variants.variant_of(label) is None) == fixed
    known = {exercise.chapter for exercise in EXERCISES.values()} | set(EXERCISES)
    assert set(variants.FIXED_EXERCISES) <= known, "FIXED_EXERCISES names a chapter or exercise the book does not have"
    assert len(varied) >= 4


@pytest.mark.parametrize("variant", ALL_VARIANTS, ids=lambda variant: variant.label)
def test_every_variant_is_a_sound_exercise(variant):
    """For many seeds: a finite answer, every known mistake of the book kept and farther from the
    answer than the check's tolerance, and the numbers differ from the book's."""
    book = variant.check(None)
    answers = set()
    for seed in SEEDS:
        key = variant_key(seed, variant.label)
        check = variant.check(key)
        assert math.isfinite(check._expected)
        assert variant.data(key) != dict(variant.book)
        assert len(check._mistakes) == len(book._mistakes), f"{key}: a known mistake lost its diagnosis"
        for mistake in check._mistakes:
            assert math.isfinite(mistake.value)
            assert not check._near(float(mistake.value), check._expected), f"{key}: {mistake.message}"
            with contextlib.redirect_stdout(io.StringIO()):
                assert check(mistake.value).correct is False
        answers.add(round(check._expected, 6))
    assert len(answers) >= len(SEEDS) // 4, "variants should differ from student to student"


@functools.lru_cache(maxsize=None)
def _chapter_setup(label: str) -> dict:
    """What a student's notebook defines before exercise ``label``: the chapter's setup cells, as
    an assignment copies them (for solutions that use the chapter's own functions and tensors)."""
    exercise = EXERCISES[label]
    chapter = next(chapter for chapter in read_book() if chapter.docname == exercise.chapter)
    magics = types.SimpleNamespace(run_line_magic=lambda *args: None)  # %matplotlib inline: nothing to do here
    namespace: dict = {"get_ipython": lambda: magics}
    threads = torch.get_num_threads()  # a chapter may set its own
    with contextlib.redirect_stdout(io.StringIO()):
        for index in assign.context_cells(chapter, [exercise]):
            source = python_source(chapter.cells[index].source)
            exec(compile(source, f"<{exercise.chapter} cell {index}>", "exec"), namespace)  # noqa: S102
    plt.close("all")
    torch.set_num_threads(threads)
    return namespace


def _solution_answer(variant, key) -> float:
    """The chapter's own solution code, with the variant's numbers, run on the variant's data."""
    exercise = EXERCISES[variant.label]
    code = variant.render(exercise.solution_code, key, code=True)
    module = next(module for module in variants.VARIANT_MODULES if variant in module.VARIANTS)
    namespace = {"np": np, "stats": stats, "optimize": optimize, "math": math, "bayes": bayes, "exercises": module}
    if cell_names(code)[1] - set(namespace):  # the solution uses what its chapter's setup defines
        namespace = {**_chapter_setup(variant.label), **namespace}
    namespace.update(variant.names(variant.data(key)) if variant.names else {})
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, f"<solution {variant.label}>", "exec"), namespace)  # noqa: S102 - the book's code
    return namespace["my_answer"]


@pytest.mark.parametrize("variant", ALL_VARIANTS, ids=lambda variant: variant.label)
def test_the_chapter_solution_passes_the_check_of_every_variant(variant):
    for seed in SEEDS[:25]:
        key = variant_key(seed, variant.label)
        with contextlib.redirect_stdout(io.StringIO()):
            assert variant.check(key)(_solution_answer(variant, key)).correct, key
    with contextlib.redirect_stdout(io.StringIO()):
        assert variant.check(None)(_solution_answer(variant, None)).correct, "the book's variant too"


@pytest.mark.parametrize("variant", ALL_VARIANTS, ids=lambda variant: variant.label)
def test_statements_show_the_variant_numbers_and_the_chapter_keeps_the_book(variant):
    exercise = EXERCISES[variant.label]
    assert variant.render(exercise.body, None) == exercise.body, "the book's statement is the chapter's"
    key = variant_key("s001", variant.label)
    rendered = variant.render(exercise.body, key)
    assert rendered != exercise.body
    shown = re.findall(r"\d+(?:\.\d+)?", rendered)
    book = dict(_leaves(variant.book))
    varied = [value for path, value in _leaves(variant.data(key)) if book.get(path) != value]
    assert varied
    # the signs are left out: a statement may write a minus as − or put it before the $ of a formula
    assert all(f"{abs(value):g}" in shown or str(abs(value)) in shown for value in varied), (varied, rendered)


def _leaves(data, path=()):
    """(path, number) for every number in nested dicts and lists."""
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for name, value in items:
        if isinstance(value, (dict, list, tuple)):
            yield from _leaves(value, (*path, name))
        else:
            yield (*path, name), value


def test_a_self_check_takes_the_variant_key_and_defaults_to_the_book():
    key = variant_key("s001", "ex-bayes-grid")
    book, own = bayes_exercises.GRID.check(None)._expected, bayes_exercises.GRID.check(key)._expected
    with contextlib.redirect_stdout(io.StringIO()):
        assert bayes_exercises.check_grid_dimension(book).correct
        assert bayes_exercises.check_grid_dimension(own, variant=key).correct
        if own != book:
            assert not bayes_exercises.check_grid_dimension(book, variant=key).correct


def test_variants_come_from_the_roster_seed_and_the_label_only():
    assert variant_key("s001", "ex-bayes-grid") == variant_key("s001", "ex-bayes-grid")
    keys = {variant_key(seed, "ex-bayes-grid") for seed in SEEDS}
    assert len(keys) == len(SEEDS)
    assert variant_key("s001", "ex-bayes-grid") != variant_key("s001", "ex-bayes-silence")
    student = variants.Student("s001", "Ada", seed="secret-1")
    assert variants.key_for(student, "ex-bayes-grid") == variant_key("secret-1", "ex-bayes-grid")
    assert variants.key_for(variants.Student("s001"), "ex-bayes-grid") == variant_key("s001", "ex-bayes-grid")
    assert variants.key_for(student, "ex-mnist-parameters") is None, "a fixed exercise has no key"


def test_the_roster_is_read_and_checked(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,seed\ns001,Ada Lovelace,x1\ns002,Alan Turing,\n", encoding="utf-8")
    assert variants.read_roster(roster) == [variants.Student("s001", "Ada Lovelace", "x1"),
                                            variants.Student("s002", "Alan Turing", "")]
    for text, words in [("name\nAda\n", "'id' column"), ("id\ns1\ns1\n", "listed twice"),
                        ("id\n../x\n", "letters, digits"), ("id\n\n", "no students")]:
        roster.write_text(text, encoding="utf-8")
        with pytest.raises(variants.RosterError, match=re.escape(words)):
            variants.read_roster(roster)


def test_a_roster_gives_each_student_a_notebook_and_sheet_of_their_own(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name\n" + "".join(f"s{n:02d},Student {n}\n" for n in range(1, 6)), encoding="utf-8")
    labels = ["ex-bayes-silence", "ex-bayes-loaded-die", "ex-mnist-parameters"]
    out = tmp_path / "hw1"
    assert assign.main(["--exercises", ",".join(labels), "--roster", str(roster), "--out", str(out),
                        "--no-pdf"]) == 0
    assert json.loads((out / "assignment.json").read_text())["exercises"] == labels
    statements, sheets = set(), set()
    for student in variants.read_roster(roster):
        notebook = nbformat.read(out / student.id / "assignment.ipynb", as_version=4)
        nbformat.validate(notebook)
        sheet = (out / student.id / "sheet.html").read_text(encoding="utf-8")
        sheets.add(sheet)
        assert student.name in sheet
        assert notebook.metadata[META]["student"] == {"id": student.id, "name": student.name}
        by_id = {cell.get("id"): cell for cell in notebook.cells}
        for label in labels[:2]:
            key = variants.key_for(student, label)
            assert f'variant="{key}"' in by_id[f"{label}-check"].source
            assert by_id[f"{label}-written"].cell_type == "markdown"
        data = variants.variant_of("ex-bayes-silence").data(variants.key_for(student, "ex-bayes-silence"))
        assert repr(data["prior"]) in by_id["ex-bayes-silence-data"].source
        die = variants.variant_of("ex-bayes-loaded-die").data(variants.key_for(student, "ex-bayes-loaded-die"))
        assert f"shows {die['sixes']} sixes in {die['rolls']} rolls" in by_id["ex-bayes-loaded-die"].source
        assert f"shows {die['sixes']} sixes in {die['rolls']} rolls" in sheet
        assert "variant=" not in by_id["ex-mnist-parameters-check"].source, "a fixed exercise keeps the book's check"
        statements.add(by_id["ex-bayes-loaded-die"].source)
    assert len(statements) >= 4 and len(sheets) == 5, "the students' variants differ"


def test_the_assignment_without_a_roster_is_the_book_variant(tmp_path):
    notebook = assign.assignment_notebook(assign.select(["ex-bayes-loaded-die"]), requirement="")
    text = "\n".join(cell.source for cell in notebook.cells)
    assert "4 sixes in 12 rolls" in text and "variant=" not in text


def test_a_draw_the_check_cannot_be_built_on_is_drawn_again():
    """A draw whose check overflows (an optimizer thrown far off, say) is not a variant: the next one is."""
    from vae_lib._variant import Variant
    from vae_lib.checks import Check, Mistake

    def build(data):
        if data["x"] > 0.5:
            raise OverflowError("math range error")
        return Check("x", data["x"], [Mistake(data["x"] + 1, "one too many")])

    variant = Variant("ex-test", {"x": 0.1}, lambda rng: {"x": round(float(rng.uniform(0, 1)), 3)}, build)
    for seed in range(20):
        assert variant.data(variant_key(f"s{seed}", "ex-test"))["x"] <= 0.5
