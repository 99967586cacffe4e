"""Sphinx extension: the exercise index and the instructor guide's chapter table, made at build time.

Two directives, both filled from the chapter sources (``vae_lib._book_sources``), so they list
every exercise of the book as it is, with nothing typed by hand:

``{exercise-index}``
    every exercise: its number (a link to it), title, chapter, difficulty, estimated time,
    label and whether it has a self-check.

``{chapter-overview}``
    per chapter: how long it took to execute in this build (from myst-nb's execution data, on
    this machine's CPU or GPU), and its exercises with what each self-check verifies (the first
    line of the check function's docstring).

The directives leave a placeholder that a post-transform replaces once every chapter has been
read and executed (as myst-nb's own ``nb-exec-table`` does), so execution times are those of the
same build; pages holding a directive are rebuilt whenever a chapter is re-executed or edited.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import torch
from docutils import nodes
from myst_nb.sphinx_ import NbMetadataCollector
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective

from vae_lib._book_sources import Chapter, Exercise, check_function, check_summary, read_book


def _pages(env) -> set[str]:
    """The pages holding one of these directives (kept on the build environment, so pickled with it)."""
    if not hasattr(env, "vae_exercise_pages"):
        env.vae_exercise_pages = set()
    return env.vae_exercise_pages


class ExercisesPlaceholder(nodes.General, nodes.Element):
    """Where a table goes; ``kind`` is ``"index"`` or ``"overview"``."""


class _PlaceholderDirective(SphinxDirective):
    kind = ""

    def run(self) -> list[nodes.Node]:
        repo = Path(self.env.srcdir)
        self.env.note_dependency(str(repo / "book" / "_toc.yml"))
        for chapter in read_book(repo):
            self.env.note_dependency(str(chapter.path))
            for exercise in chapter.exercises:
                source = _source_file(chapter, exercise)
                if source:
                    self.env.note_dependency(source)
        _pages(self.env).add(self.env.docname)
        return [ExercisesPlaceholder(kind=self.kind)]


class ExerciseIndex(_PlaceholderDirective):
    kind = "index"


class ChapterOverview(_PlaceholderDirective):
    kind = "overview"


def _source_file(chapter: Chapter, exercise: Exercise) -> str | None:
    function = check_function(chapter, exercise)
    try:
        return inspect.getsourcefile(function) if function else None
    except TypeError:
        return None


# ----------------------------------------------------------------------------- nodes


def _text(value: str) -> nodes.paragraph:
    return nodes.paragraph(text=value)


def _link(fromdoc: str, target: str, text: str, reftype: str, *, strong: bool = False) -> nodes.paragraph:
    """A paragraph holding a cross-reference (``doc``, ``ref`` or ``numref``) resolved by Sphinx."""
    if reftype == "doc":
        target = "/" + target
    xref = pending_xref("", refdoc=fromdoc, reftarget=target, reftype=reftype, refdomain="std",
                        refexplicit=reftype != "numref", refwarn=True)
    xref += nodes.strong(text=text) if strong else nodes.inline(text=text)
    paragraph = nodes.paragraph()
    paragraph += xref
    return paragraph


def _exercise_link(docname: str, exercise: Exercise) -> nodes.paragraph:
    """"Exercise 1.2", linked (an unnumbered exercise shows its title instead)."""
    if exercise.number:
        return _link(docname, exercise.label, exercise.label, "numref")
    return _link(docname, exercise.label, exercise.title, "ref")


def _table(header: list[str], rows: list[list[nodes.Node]], classes: list[str]) -> nodes.table:
    table = nodes.table(classes=["colwidths-auto", *classes])
    group = nodes.tgroup(cols=len(header))
    table += group
    group += [nodes.colspec(colwidth=1) for _ in header]
    head = nodes.thead()
    head += nodes.row("", *[nodes.entry("", _text(title)) for title in header])
    body = nodes.tbody()
    for row in rows:
        body += nodes.row("", *[nodes.entry("", cell) for cell in row])
    group += [head, body]
    return table


def _cost(exercise: Exercise) -> list[nodes.Node]:
    return [_text(exercise.stars), _text(f"{exercise.minutes} min" if exercise.minutes else "—")]


def _chapter_link(docname: str, chapter: Chapter, *, strong: bool = False) -> nodes.paragraph:
    name = f"Chapter {chapter.number}: {chapter.title}" if chapter.number else chapter.title
    return _link(docname, chapter.docname, name, "doc", strong=strong)


def _summary(chapters: list[Chapter]) -> nodes.paragraph:
    exercises = [exercise for chapter in chapters for exercise in chapter.exercises]
    timed = [exercise.minutes for exercise in exercises if exercise.minutes]
    chapter_count = sum(1 for chapter in chapters if chapter.exercises)
    text = (f"{len(exercises)} exercise{'s' * (len(exercises) != 1)} in {chapter_count} "
            f"chapter{'s' * (chapter_count != 1)}")
    if timed:
        text += f", about {sum(timed)} minutes of work"
    if len(timed) < len(exercises):
        text += f" ({len(exercises) - len(timed)} without a time estimate yet)"
    return _text(text + ".")


def exercise_index(docname: str, chapters: list[Chapter]) -> list[nodes.Node]:
    """The index: per chapter (a link), one row per exercise."""
    if not any(chapter.exercises for chapter in chapters):
        return [_text("The book has no exercises yet.")]
    found: list[nodes.Node] = [_summary(chapters)]
    header = ["Exercise", "Title", "Difficulty", "Time", "Self-check", "Label"]
    for chapter in chapters:
        if not chapter.exercises:
            continue
        rows = [[_exercise_link(docname, exercise), _text(exercise.title),
                 *_cost(exercise), _text("yes" if exercise.check_source else "—"),
                 nodes.paragraph("", "", nodes.literal(text=exercise.label))]
                for exercise in chapter.exercises]
        heading = _chapter_link(docname, chapter, strong=True)
        found += [heading, _table(header, rows, ["exercise-index"])]
    return found


def _device_sentence() -> tuple[str, str]:
    """Which column this build's times belong in, and a sentence saying what machine measured them."""
    recorded = "Execution times are those of each chapter's last run, as this build's execution cache records it"
    if torch.cuda.is_available():
        return "gpu", f"{recorded}, on a machine with a GPU ({torch.cuda.get_device_name(0)})."
    return "cpu", f"{recorded}, on a CPU ({os.cpu_count()} cores, no GPU)."


def _seconds(env, docname: str) -> str:
    data = NbMetadataCollector.get_exec_data(env, docname) or {}
    runtime = data.get("runtime")
    return "not executed" if runtime is None else f"{runtime:.0f} s"


def chapter_overview(env, docname: str, chapters: list[Chapter]) -> list[nodes.Node]:
    """Per chapter: execution time in this build, and its exercises with what each self-check verifies."""
    column, sentence = _device_sentence()
    timing_rows, exercise_rows = [], []
    for chapter in chapters:
        measured = _seconds(env, chapter.docname)
        timing_rows.append([
            _chapter_link(docname, chapter),
            _text(measured if column == "cpu" else "not measured"),
            _text(measured if column == "gpu" else "not measured"),
            _text(str(len(chapter.exercises))),
        ])
        for exercise in chapter.exercises:
            verifies = check_summary(chapter, exercise) if exercise.check_source else None
            exercise_rows.append([
                _exercise_link(docname, exercise),
                _text(exercise.title),
                *_cost(exercise),
                _text(verifies or ("a self-check (its docstring says nothing)" if exercise.check_source
                                   else "no self-check")),
            ])
    return [
        _text(sentence),
        _table(["Chapter", "Execution time, CPU", "Execution time, GPU", "Exercises"], timing_rows,
               ["chapter-timings"]),
        _text("The exercises, and what each self-check verifies (without revealing the answer):"),
        _table(["Exercise", "Title", "Difficulty", "Time", "The self-check verifies"], exercise_rows,
               ["exercise-checks"]),
    ]


class FillExercisePages(SphinxPostTransform):
    """Replace each placeholder with its table, once every chapter has been read and executed."""

    default_priority = 8  # before the references (priority 10) are resolved

    def run(self, **kwargs) -> None:
        placeholders = list(self.document.findall(ExercisesPlaceholder))
        if not placeholders:
            return
        chapters = read_book(Path(self.env.srcdir))
        for placeholder in placeholders:
            if placeholder["kind"] == "index":
                placeholder.replace_self(exercise_index(self.env.docname, chapters))
            else:
                placeholder.replace_self(chapter_overview(self.env, self.env.docname, chapters))


def _pages_to_update(app: Sphinx, env) -> list[str]:
    """Rewrite the pages holding these tables in every build (cheap), so they show this build's data."""
    if not env.found_docs:
        return []
    return sorted(_pages(env) & env.found_docs)


def _forget(app: Sphinx, env, docname: str) -> None:
    _pages(env).discard(docname)


def _merge(app: Sphinx, env, docnames, other) -> None:
    _pages(env).update(_pages(other))


def setup(app: Sphinx) -> dict:
    app.add_node(ExercisesPlaceholder)
    app.add_directive("exercise-index", ExerciseIndex)
    app.add_directive("chapter-overview", ChapterOverview)
    app.add_post_transform(FillExercisePages)
    app.connect("env-updated", _pages_to_update)
    app.connect("env-purge-doc", _forget)
    app.connect("env-merge-info", _merge)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
