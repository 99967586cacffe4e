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

In a translated edition the tables come out in its language: their interface text goes through
the library's catalogue (``vae_lib.i18n.tr``; ``book/translate.py`` extracts these messages from
this file too), and the chapters' and exercises' titles come from the chapters' own catalogues
(``editions.page_messages``), as the chapters themselves show them. English is unchanged.
"""

from __future__ import annotations

import inspect
import os
import re
from pathlib import Path

import torch
from docutils import nodes
from myst_nb.sphinx_ import NbMetadataCollector
from sphinx.addnodes import pending_xref
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective

from vae_lib._book_sources import Chapter, Exercise, check_function, check_summary, read_book
from vae_lib.i18n import tr

try:
    from editions import SOURCE_LANGUAGE, page_messages
except ImportError:  # imported as the module book._ext.exercise_pages, without book/_ext on the path
    from book._ext.editions import SOURCE_LANGUAGE, page_messages

#: An exercise title's difficulty and time as a translation writes it: "（★，10 分钟）" or " (★, 10 min)".
_COST_SUFFIX = re.compile(r"\s*[（(][^（）()]*★[^（）()]*[）)]\s*$")


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


def _messages(chapter: Chapter, language: str) -> dict[str, str]:
    """The chapter page's catalogue (its source is ``<repo>/<docname>.md``)."""
    repo = Path(chapter.path).resolve().parents[len(Path(chapter.docname).parts) - 1]
    return page_messages(repo, language, chapter.docname)


def chapter_title(chapter: Chapter, language: str) -> str:
    """The chapter's title as its page shows it in ``language`` (English where untranslated)."""
    if language == SOURCE_LANGUAGE:
        return chapter.title
    return _messages(chapter, language).get(chapter.title, chapter.title)


def exercise_title(chapter: Chapter, exercise: Exercise, language: str) -> str:
    """The exercise's title (without its difficulty) as its chapter shows it in ``language``.

    The chapter's catalogue holds the whole title line ("A silent failure (★, 10 min)"); the
    difficulty and time are dropped from its translation, as the table shows them in columns.
    """
    if language == SOURCE_LANGUAGE:
        return exercise.title
    messages = _messages(chapter, language)
    if exercise.difficulty and exercise.minutes:
        found = messages.get(f"{exercise.title} ({exercise.stars}, {exercise.minutes} min)")
        if found:
            return _COST_SUFFIX.sub("", found) or exercise.title
    return messages.get(exercise.title, exercise.title)


def _exercise_link(docname: str, chapter: Chapter, exercise: Exercise, language: str) -> nodes.paragraph:
    """"Exercise 1.2", linked (an unnumbered exercise shows its title instead)."""
    if exercise.number:
        return _link(docname, exercise.label, exercise.label, "numref")
    return _link(docname, exercise.label, exercise_title(chapter, exercise, language), "ref")


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


def _cost(exercise: Exercise, language: str) -> list[nodes.Node]:
    minutes = tr("{minutes} min", language=language, minutes=exercise.minutes) if exercise.minutes else "—"
    return [_text(exercise.stars), _text(minutes)]


def _chapter_link(docname: str, chapter: Chapter, language: str, *, strong: bool = False) -> nodes.paragraph:
    title = chapter_title(chapter, language)
    name = tr("Chapter {number}: {title}", language=language, number=chapter.number, title=title) \
        if chapter.number else title
    return _link(docname, chapter.docname, name, "doc", strong=strong)


def _count_sentence(exercises: int, chapters: int, language: str) -> str:
    # One whole template per English plural form (the Chinese has one form for all four).
    values = {"count": exercises, "chapters": chapters, "language": language}
    if exercises == 1 and chapters == 1:
        return tr("{count} exercise in {chapters} chapter", **values)
    if exercises == 1:
        return tr("{count} exercise in {chapters} chapters", **values)
    if chapters == 1:
        return tr("{count} exercises in {chapters} chapter", **values)
    return tr("{count} exercises in {chapters} chapters", **values)


def _summary(chapters: list[Chapter], language: str) -> nodes.paragraph:
    exercises = [exercise for chapter in chapters for exercise in chapter.exercises]
    timed = [exercise.minutes for exercise in exercises if exercise.minutes]
    chapter_count = sum(1 for chapter in chapters if chapter.exercises)
    text = _count_sentence(len(exercises), chapter_count, language)
    if timed:
        text += tr(", about {minutes} minutes of work", language=language, minutes=sum(timed))
    if len(timed) < len(exercises):
        text += tr(" ({missing} without a time estimate yet)", language=language,
                   missing=len(exercises) - len(timed))
    return _text(text + tr(".", language=language))


def exercise_index(docname: str, chapters: list[Chapter], language: str = SOURCE_LANGUAGE) -> list[nodes.Node]:
    """The index: per chapter (a link), one row per exercise, in the edition's ``language``."""
    if not any(chapter.exercises for chapter in chapters):
        return [_text(tr("The book has no exercises yet.", language=language))]
    found: list[nodes.Node] = [_summary(chapters, language)]
    header = [tr("Exercise", language=language), tr("Title", language=language),
              tr("Difficulty", language=language), tr("Time", language=language),
              tr("Self-check", language=language), tr("Label", language=language)]
    for chapter in chapters:
        if not chapter.exercises:
            continue
        rows = [[_exercise_link(docname, chapter, exercise, language),
                 _text(exercise_title(chapter, exercise, language)),
                 *_cost(exercise, language), _text(tr("yes", language=language) if exercise.check_source else "—"),
                 nodes.paragraph("", "", nodes.literal(text=exercise.label))]
                for exercise in chapter.exercises]
        heading = _chapter_link(docname, chapter, language, strong=True)
        found += [heading, _table(header, rows, ["exercise-index"])]
    return found


def _device_sentence(language: str = SOURCE_LANGUAGE) -> tuple[str, str]:
    """Which column this build's times belong in, and a sentence saying what machine measured them."""
    if torch.cuda.is_available():
        return "gpu", tr("Execution times are those of each chapter's last run, as this build's execution "
                         "cache records it, on a machine with a GPU ({gpu}).", language=language,
                         gpu=torch.cuda.get_device_name(0))
    return "cpu", tr("Execution times are those of each chapter's last run, as this build's execution "
                     "cache records it, on a CPU ({cores} cores, no GPU).", language=language, cores=os.cpu_count())


def _seconds(env, docname: str, language: str = SOURCE_LANGUAGE) -> str:
    data = NbMetadataCollector.get_exec_data(env, docname) or {}
    runtime = data.get("runtime")
    return tr("not executed", language=language) if runtime is None else \
        tr("{n} s", language=language, n=f"{runtime:.0f}")


def chapter_overview(env, docname: str, chapters: list[Chapter],
                     language: str = SOURCE_LANGUAGE) -> list[nodes.Node]:
    """Per chapter: execution time in this build, and its exercises with what each self-check verifies."""
    column, sentence = _device_sentence(language)
    not_measured = tr("not measured", language=language)
    timing_rows, exercise_rows = [], []
    for chapter in chapters:
        measured = _seconds(env, chapter.docname, language)
        timing_rows.append([
            _chapter_link(docname, chapter, language),
            _text(measured if column == "cpu" else not_measured),
            _text(measured if column == "gpu" else not_measured),
            _text(str(len(chapter.exercises))),
        ])
        for exercise in chapter.exercises:
            verifies = check_summary(chapter, exercise) if exercise.check_source else None
            exercise_rows.append([
                _exercise_link(docname, chapter, exercise, language),
                _text(exercise_title(chapter, exercise, language)),
                *_cost(exercise, language),
                _text(verifies or (tr("a self-check (its docstring says nothing)", language=language)
                                   if exercise.check_source else tr("no self-check", language=language))),
            ])
    return [
        _text(sentence),
        _table([tr("Chapter", language=language), tr("Execution time, CPU", language=language),
                tr("Execution time, GPU", language=language), tr("Exercises", language=language)],
               timing_rows, ["chapter-timings"]),
        _text(tr("The exercises, and what each self-check verifies (without revealing the answer):",
                 language=language)),
        _table([tr("Exercise", language=language), tr("Title", language=language),
                tr("Difficulty", language=language), tr("Time", language=language),
                tr("The self-check verifies", language=language)], exercise_rows, ["exercise-checks"]),
    ]


class FillExercisePages(SphinxPostTransform):
    """Replace each placeholder with its table, once every chapter has been read and executed."""

    default_priority = 8  # before the references (priority 10) are resolved

    def run(self, **kwargs) -> None:
        placeholders = list(self.document.findall(ExercisesPlaceholder))
        if not placeholders:
            return
        chapters = read_book(Path(self.env.srcdir))
        language = getattr(self.config, "vae_edition", SOURCE_LANGUAGE)
        for placeholder in placeholders:
            if placeholder["kind"] == "index":
                placeholder.replace_self(exercise_index(self.env.docname, chapters, language))
            else:
                placeholder.replace_self(chapter_overview(self.env, self.env.docname, chapters, language))


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
